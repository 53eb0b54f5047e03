/* persist/state.c: state.db: open, apply, readers.
 *
 * Invariants:
 *  S1. persist_meta.applied_index changes only in the transaction that
 *      applies the entries up to it (DESIGN.md safety rule 6).
 *  S2. applied_index never decreases: apply asserts contiguity, and a
 *      snapshot restore refuses an index at or below it (reliability P10).
 */
#include <stdlib.h>
#include <string.h>

#include "persist/snapshot.h"
#include "persist/state_impl.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS persist_meta(id INTEGER PRIMARY KEY CHECK (id = 0),"
    " applied_index INTEGER NOT NULL, applied_term INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO persist_meta VALUES (0, 0, 0);"
    "CREATE TABLE IF NOT EXISTS " PERSIST_SNAPSHOT_TABLE "(id INTEGER PRIMARY KEY"
    " CHECK (id = 0), idx INTEGER NOT NULL, term INTEGER NOT NULL, config BLOB NOT NULL);";

static int statePrepare(struct persist_state *st, struct persist_error *err)
{
	const char *sql[] = {
	    "BEGIN IMMEDIATE",
	    "COMMIT",
	    "ROLLBACK",
	    "UPDATE persist_meta SET applied_index = ?1, applied_term = ?2",
	    "SELECT applied_index, applied_term FROM persist_meta",
	};
	sqlite3_stmt **stmt[] = {&st->stmt.begin, &st->stmt.commit, &st->stmt.rollback,
	                         &st->stmt.set_applied, &st->stmt.get_applied};
	int rv = 0;

	for (size_t i = 0; rv == 0 && i < sizeof(sql) / sizeof(sql[0]); i++) {
		rv = persist_db_prepare(st->db, st->path, sql[i], stmt[i], err);
	}
	return rv;
}

int persist_state_load_applied(struct persist_state *st, struct persist_error *err)
{
	sqlite3_stmt *stmt = st->stmt.get_applied;
	int rc = sqlite3_step(stmt);
	int rv = 0;

	if (rc == SQLITE_ROW) {
		st->applied_index = (uint64_t)sqlite3_column_int64(stmt, 0);
		st->applied_term = (uint64_t)sqlite3_column_int64(stmt, 1);
	} else if (rc == SQLITE_DONE) {
		rv = persist_errf(err, PERSIST_ECORRUPT, "%s: persist_meta has no row", st->path);
	} else {
		rv = persist_db_error(st->db, rc, st->path, "read applied index", err);
	}
	sqlite3_reset(stmt);
	return rv;
}

/* A snapshot newer than state.db means state.db lost applies that raft.db
 * may no longer hold (compacted behind that snapshot): restore it. */
static int stateCatchUp(struct persist_state *st, struct persist_error *err)
{
	struct persist_snapshot_meta m;
	int rv = persist_snapshot_latest(st->dir, &m, err);

	if (rv == PERSIST_ENOENT) {
		return 0;
	}
	if (rv == 0 && m.index > st->applied_index) {
		rv = persist_snapshot_restore(st, &m, err);
	}
	persist_snapshot_meta_free(&m);
	return rv;
}

int persist_state_open(struct persist_dir *dir, struct persist_state **out,
                       struct persist_error *err)
{
	const struct persist_db_opts opts = {
	    .name = PERSIST_STATE_FILE, .synchronous = "NORMAL", .readonly = 0, .check = 1};
	struct persist_state *st;
	int rv;

	assert(dir != NULL && out != NULL);
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		return persist_errf(err, PERSIST_ENOMEM, "no memory for %s", PERSIST_STATE_FILE);
	}
	st->dir = dir;
	rv = persist_dir_join(dir, PERSIST_STATE_FILE, st->path, sizeof(st->path), err);
	if (rv == 0) {
		rv = persist_db_open(dir, &opts, &st->db, err);
	}
	if (rv == 0) {
		rv = persist_db_run(st->db, st->path, schema, err);
	}
	if (rv == 0) {
		rv = statePrepare(st, err);
	}
	if (rv == 0) {
		rv = persist_state_load_applied(st, err);
	}
	if (rv == 0) {
		rv = stateCatchUp(st, err);
	}
	if (rv != 0) {
		persist_state_close(st);
		return rv;
	}
	*out = st;
	return 0;
}

void persist_state_close(struct persist_state *st)
{
	if (st == NULL) {
		return;
	}
	sqlite3_finalize(st->stmt.begin);
	sqlite3_finalize(st->stmt.commit);
	sqlite3_finalize(st->stmt.rollback);
	sqlite3_finalize(st->stmt.set_applied);
	sqlite3_finalize(st->stmt.get_applied);
	sqlite3_close_v2(st->db);
	free(st);
}

sqlite3 *persist_state_db(struct persist_state *st)
{
	return st->db;
}

struct persist_dir *persist_state_dir(struct persist_state *st)
{
	return st->dir;
}

uint64_t persist_state_applied_index(const struct persist_state *st)
{
	return st->applied_index;
}

uint64_t persist_state_applied_term(const struct persist_state *st)
{
	return st->applied_term;
}

int persist_state_fail(struct persist_state *st, int rc, const char *what,
                       struct persist_error *err)
{
	int rv = persist_db_error(st->db, rc, st->path, what, err);

	st->failed = true;
	if (!sqlite3_get_autocommit(st->db)) {
		persist_db_exec(st->stmt.rollback);
	}
	return rv;
}

static bool stateIoError(int rc)
{
	switch (rc & 0xFF) {
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_CANTOPEN:
		return true;
	default:
		return false;
	}
}

static int applyEntries(struct persist_state *st, const struct persist_entry *entries, size_t n,
                        persist_apply_fn fn, void *ctx, size_t *failed_at)
{
	for (size_t i = 0; i < n; i++) {
		if (fn(ctx, st->db, &entries[i]) != 0) {
			*failed_at = i;
			return -1;
		}
	}
	return 0;
}

int persist_state_apply(struct persist_state *st, const struct persist_entry *entries, size_t n,
                        persist_apply_fn fn, void *ctx, struct persist_error *err)
{
	const struct persist_entry *last;
	size_t failed_at = 0;
	int rc;

	assert(st != NULL && fn != NULL && n > 0 && n <= PERSIST_BATCH_MAX);
	for (size_t i = 0; i < n; i++) {
		assert(entries[i].index == st->applied_index + 1 + i); /* S2 */
	}
	if (st->failed) {
		return persist_errf(err, PERSIST_EFAILED, "%s: a write failed earlier", st->path);
	}
	last = &entries[n - 1];
	rc = persist_db_exec(st->stmt.begin);
	if (rc != SQLITE_DONE) {
		return persist_state_fail(st, rc, "begin apply", err);
	}
	if (applyEntries(st, entries, n, fn, ctx, &failed_at) != 0) {
		/* The callback may have failed because SQLite could not write:
		 * that is an I/O error like any other (rule 7), not a refusal. */
		if (stateIoError(sqlite3_extended_errcode(st->db))) {
			return persist_state_fail(st, sqlite3_extended_errcode(st->db),
			                          "apply (write failed inside the callback)", err);
		}
		rc = persist_db_exec(st->stmt.rollback);
		if (rc != SQLITE_DONE) {
			return persist_state_fail(st, rc, "roll back apply", err);
		}
		return persist_errf(
		    err, PERSIST_EAPPLY, "%s: applying entry %llu failed (last SQLite message: %s)",
		    st->path, (unsigned long long)entries[failed_at].index, sqlite3_errmsg(st->db));
	}
	/* S1: the applied index moves in the same transaction as the data. */
	sqlite3_bind_int64(st->stmt.set_applied, 1, (int64_t)last->index);
	sqlite3_bind_int64(st->stmt.set_applied, 2, (int64_t)last->term);
	rc = persist_db_exec(st->stmt.set_applied);
	if (rc == SQLITE_DONE) {
		rc = persist_db_exec(st->stmt.commit);
	}
	if (rc != SQLITE_DONE) {
		return persist_state_fail(st, rc, "commit apply", err);
	}
	st->applied_index = last->index;
	st->applied_term = last->term;
	return 0;
}

int persist_state_open_reader(struct persist_dir *dir, sqlite3 **out, struct persist_error *err)
{
	const struct persist_db_opts opts = {
	    .name = PERSIST_STATE_FILE, .synchronous = "NORMAL", .readonly = 1, .check = 0};

	return persist_db_open(dir, &opts, out, err);
}

struct persist_state_reader {
	sqlite3 *db;
	sqlite3_stmt *begin, *end, *applied;
	char path[PERSIST_PATH_MAX];
};

void persist_state_reader_close(struct persist_state_reader *r)
{
	if (!r)
		return;
	sqlite3_finalize(r->begin);
	sqlite3_finalize(r->end);
	sqlite3_finalize(r->applied);
	sqlite3_close_v2(r->db);
	free(r);
}

int persist_state_reader_open(struct persist_dir *dir, struct persist_state_reader **out,
                              struct persist_error *err)
{
	struct persist_state_reader *r = calloc(1, sizeof(*r));
	int rv;

	if (!r)
		return persist_errf(err, PERSIST_ENOMEM, "no memory for a state.db reader");
	rv = persist_dir_join(dir, PERSIST_STATE_FILE, r->path, sizeof(r->path), err);
	if (rv == 0)
		rv = persist_state_open_reader(dir, &r->db, err);
	if (rv == 0)
		rv = persist_db_prepare(r->db, r->path, "BEGIN", &r->begin, err);
	if (rv == 0)
		rv = persist_db_prepare(r->db, r->path, "COMMIT", &r->end, err);
	if (rv == 0)
		rv = persist_db_prepare(r->db, r->path, "SELECT applied_index FROM persist_meta",
		                        &r->applied, err);
	if (rv != 0) {
		persist_state_reader_close(r);
		return rv;
	}
	*out = r;
	return 0;
}

sqlite3 *persist_state_reader_db(struct persist_state_reader *r)
{
	return r->db;
}

int persist_state_reader_begin(struct persist_state_reader *r, uint64_t *applied,
                               struct persist_error *err)
{
	int rc = persist_db_exec(r->begin);

	if (rc != SQLITE_DONE)
		return persist_db_error(r->db, rc, r->path, "begin a read", err);
	/* The first read fixes the state the transaction sees. */
	rc = sqlite3_step(r->applied);
	if (rc == SQLITE_ROW)
		*applied = (uint64_t)sqlite3_column_int64(r->applied, 0);
	sqlite3_reset(r->applied);
	if (rc != SQLITE_ROW) {
		int rv = persist_db_error(r->db, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc, r->path,
		                          "read the applied index", err);

		persist_state_reader_end(r);
		return rv;
	}
	return 0;
}

void persist_state_reader_end(struct persist_state_reader *r)
{
	/* A failed read may have ended it already. */
	if (!sqlite3_get_autocommit(r->db))
		(void)persist_db_exec(r->end);
}

void persist_state_watch_wal(struct persist_state *st)
{
	persist_db_watch_wal(st->db, &st->wal_pages);
}

int persist_state_wal_pages(const struct persist_state *st)
{
	return st->wal_pages;
}

int persist_state_checkpoint(struct persist_dir *dir, struct persist_error *err)
{
	return persist_db_checkpoint(dir, PERSIST_STATE_FILE, err);
}

int persist_state_checkpoint_tail(struct persist_state *st, struct persist_error *err)
{
	return persist_db_checkpoint_tail(st->db, st->path, err);
}
