/* persist/log_write.c: the group commit, compaction and reset of raft.db.
 *
 * Each public call here is one SQLite transaction on a connection with
 * synchronous=FULL, so it costs one fsync of the WAL however many entries it
 * carries: that is the group commit the node runtime relies on (one call per
 * Raft ready). A failure anywhere rolls back and marks the handle failed
 * (invariant L4): after an fsync error the kernel may have dropped the dirty
 * pages, so nothing written since the last success can be trusted, and the
 * only safe move is to stop (DESIGN.md safety rule 7; "fsyncgate").
 */
#include <string.h>

#include "persist/log_impl.h"

static const unsigned char emptyBlob[1];

/* Binds a blob that is never SQL NULL, even when empty. */
static void bindBlob(sqlite3_stmt *stmt, int col, const void *data, size_t len)
{
	sqlite3_bind_blob64(stmt, col, len > 0 ? data : emptyBlob, len, SQLITE_STATIC);
}

/* Ends a failed transaction and fails the handle for good (L4). */
static int logFail(struct persist_log *log, int rc, const char *what, struct persist_error *err)
{
	int rv = persist_db_error(log->db, rc, log->path, what, err);

	log->failed = true;
	if (!sqlite3_get_autocommit(log->db)) {
		persist_db_exec(log->stmt.rollback);
	}
	return rv;
}

static int logCheckUsable(struct persist_log *log, struct persist_error *err)
{
	if (log->failed) {
		return persist_errf(err, PERSIST_EFAILED,
		                    "%s: a write failed earlier; stop the node", log->path);
	}
	return 0;
}

static int putHardstate(struct persist_log *log, const struct persist_hardstate *hs)
{
	sqlite3_stmt *stmt = log->stmt.put_hardstate;

	sqlite3_bind_int64(stmt, 1, (int64_t)hs->term);
	sqlite3_bind_int64(stmt, 2, (int64_t)hs->vote);
	sqlite3_bind_int64(stmt, 3,
	                   persist_log_row_crc(LOG_TAG_HARDSTATE, hs->term, hs->vote, NULL, 0));
	return persist_db_exec(stmt);
}

static int putSnapshot(struct persist_log *log, uint64_t index, uint64_t term)
{
	sqlite3_stmt *stmt = log->stmt.put_snapshot;

	sqlite3_bind_int64(stmt, 1, (int64_t)index);
	sqlite3_bind_int64(stmt, 2, (int64_t)term);
	sqlite3_bind_int64(stmt, 3, persist_log_row_crc(LOG_TAG_SNAPSHOT, index, term, NULL, 0));
	return persist_db_exec(stmt);
}

static int putConfig(struct persist_log *log, const struct persist_config *c)
{
	sqlite3_stmt *stmt = log->stmt.put_config;

	sqlite3_bind_int64(stmt, 1, (int64_t)c->index);
	bindBlob(stmt, 2, c->data, c->len);
	sqlite3_bind_int64(stmt, 3,
	                   persist_log_row_crc(LOG_TAG_CONFIG, c->index, c->len, c->data, c->len));
	return persist_db_exec(stmt);
}

static int putEntry(struct persist_log *log, const struct persist_entry *e)
{
	sqlite3_stmt *stmt = log->stmt.insert;

	sqlite3_bind_int64(stmt, 1, (int64_t)e->index);
	sqlite3_bind_int64(stmt, 2, (int64_t)e->term);
	sqlite3_bind_int(stmt, 3, e->type);
	bindBlob(stmt, 4, e->data, e->len);
	sqlite3_bind_int64(stmt, 5, persist_log_entry_crc(e));
	return persist_db_exec(stmt);
}

static int deleteWhere(sqlite3_stmt *stmt, uint64_t index)
{
	sqlite3_bind_int64(stmt, 1, (int64_t)index);
	return persist_db_exec(stmt);
}

/* Limits are operating errors (a too-large proposal), checked before the
 * transaction so that refusing one never fails the handle. */
static int writeCheckLimits(struct persist_log *log, const struct persist_write *w,
                            struct persist_error *err)
{
	if (w->n_entries > PERSIST_BATCH_MAX) {
		return persist_errf(err, PERSIST_ELIMIT, "%s: batch of %zu entries exceeds %d",
		                    log->path, w->n_entries, PERSIST_BATCH_MAX);
	}
	if (w->config != NULL && w->config->len > PERSIST_CONFIG_MAX) {
		return persist_errf(err, PERSIST_ELIMIT,
		                    "%s: configuration of %zu bytes exceeds %u", log->path,
		                    w->config->len, PERSIST_CONFIG_MAX);
	}
	for (size_t i = 0; i < w->n_entries; i++) {
		if (w->entries[i].len > PERSIST_ENTRY_DATA_MAX) {
			return persist_errf(err, PERSIST_ELIMIT,
			                    "%s: entry %llu of %zu bytes exceeds %u", log->path,
			                    (unsigned long long)w->entries[i].index,
			                    w->entries[i].len, PERSIST_ENTRY_DATA_MAX);
		}
	}
	return 0;
}

/* The caller's Raft core guarantees these; a violation is a bug in it. */
static void writeAssertShape(const struct persist_log *log, const struct persist_write *w)
{
	uint64_t next = log->last + 1;

	if (w->truncate_from != 0) {
		/* A compacted prefix is never a conflict (reliability P6). */
		assert(w->truncate_from > log->snap_index);
		assert(w->truncate_from >= log->first && w->truncate_from <= log->last + 1);
		next = w->truncate_from;
	}
	for (size_t i = 0; i < w->n_entries; i++) {
		assert(w->entries[i].index == next + i);
		assert(w->entries[i].len == 0 || w->entries[i].data != NULL);
		assert(i == 0 || w->entries[i].term >= w->entries[i - 1].term);
	}
	if (w->hardstate != NULL) {
		/* The current term never decreases (thesis §3.3). */
		assert(w->hardstate->term >= log->hs.term);
	}
}

static int writeRows(struct persist_log *log, const struct persist_write *w, const char **what)
{
	int rc = SQLITE_DONE;

	*what = "write hard state";
	if (w->hardstate != NULL) {
		rc = putHardstate(log, w->hardstate);
	}
	if (rc == SQLITE_DONE && w->truncate_from != 0) {
		*what = "truncate";
		rc = deleteWhere(log->stmt.truncate, w->truncate_from);
	}
	if (rc == SQLITE_DONE && w->config != NULL) {
		*what = "write configuration";
		rc = putConfig(log, w->config);
	}
	*what = "append entries";
	for (size_t i = 0; rc == SQLITE_DONE && i < w->n_entries; i++) {
		rc = putEntry(log, &w->entries[i]);
	}
	return rc;
}

int persist_log_write(struct persist_log *log, const struct persist_write *w,
                      struct persist_error *err)
{
	const char *what = "begin";
	int rv;
	int rc;

	assert(log != NULL && w != NULL);
	rv = logCheckUsable(log, err);
	if (rv == 0) {
		rv = writeCheckLimits(log, w, err);
	}
	if (rv != 0) {
		return rv;
	}
	writeAssertShape(log, w);
	if (w->hardstate == NULL && w->truncate_from == 0 && w->config == NULL &&
	    w->n_entries == 0) {
		return 0; /* an empty ready: nothing to make durable, no fsync */
	}
	rc = persist_db_exec(log->stmt.begin);
	if (rc == SQLITE_DONE) {
		rc = writeRows(log, w, &what);
	}
	if (rc == SQLITE_DONE) {
		what = "commit (WAL write and fsync)";
		rc = persist_db_exec(log->stmt.commit);
	}
	if (rc != SQLITE_DONE) {
		return logFail(log, rc, what, err);
	}
	/* Durable: only now does the in-memory view move (L3). */
	if (w->hardstate != NULL) {
		log->hs = *w->hardstate;
	}
	if (w->truncate_from != 0) {
		log->last = w->truncate_from - 1;
	}
	if (w->n_entries > 0) {
		log->last = w->entries[w->n_entries - 1].index;
	}
	return 0;
}

/* Asserts that the entry at index, if still stored, has the given term: a
 * snapshot recorded with the wrong term would break log matching on restart. */
static void assertTermAt(struct persist_log *log, uint64_t index, uint64_t term)
{
	sqlite3_stmt *stmt = log->stmt.term_at;

	sqlite3_bind_int64(stmt, 1, (int64_t)index);
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		assert((uint64_t)sqlite3_column_int64(stmt, 0) == term);
	}
	sqlite3_reset(stmt);
	(void)term;
}

static int checkForward(struct persist_log *log, uint64_t snap_index, struct persist_error *err)
{
	if (snap_index < log->snap_index) {
		return persist_errf(
		    err, PERSIST_ESTALE, "%s: snapshot %llu is behind the recorded snapshot %llu",
		    log->path, (unsigned long long)snap_index, (unsigned long long)log->snap_index);
	}
	return 0;
}

int persist_log_compact(struct persist_log *log, uint64_t snap_index, uint64_t snap_term,
                        uint64_t keep_tail, const struct persist_config *config,
                        struct persist_error *err)
{
	uint64_t upto = snap_index > keep_tail ? snap_index - keep_tail : 0;
	const char *what = "begin";
	int rv;
	int rc;

	rv = logCheckUsable(log, err);
	if (rv == 0) {
		rv = checkForward(log, snap_index, err);
	}
	if (rv == 0 && config != NULL && config->len > PERSIST_CONFIG_MAX) {
		rv = persist_errf(err, PERSIST_ELIMIT, "%s: configuration of %zu bytes exceeds %u",
		                  log->path, config->len, PERSIST_CONFIG_MAX);
	}
	if (rv != 0) {
		return rv;
	}
	assert(snap_index <= log->last); /* beyond the log: persist_log_reset() */
	assertTermAt(log, snap_index, snap_term);
	/* Lazy (L3): committed without an fsync of its own. */
	rc = persist_db_exec(log->stmt.sync_lazy);
	if (rc == SQLITE_DONE) {
		rc = persist_db_exec(log->stmt.begin);
	}
	if (rc == SQLITE_DONE) {
		what = "record snapshot";
		rc = putSnapshot(log, snap_index, snap_term);
	}
	if (rc == SQLITE_DONE && config != NULL) {
		what = "record configuration";
		rc = putConfig(log, config);
	}
	if (rc == SQLITE_DONE) {
		what = "delete compacted entries";
		rc = deleteWhere(log->stmt.delete_upto, upto);
	}
	if (rc == SQLITE_DONE) {
		what = "commit";
		rc = persist_db_exec(log->stmt.commit);
	}
	if (rc == SQLITE_DONE) {
		what = "restore synchronous=FULL";
		rc = persist_db_exec(log->stmt.sync_full);
	}
	if (rc != SQLITE_DONE) {
		return logFail(log, rc, what, err);
	}
	log->snap_index = snap_index;
	log->snap_term = snap_term;
	if (upto >= log->first) {
		log->first = upto + 1;
	}
	return 0;
}

int persist_log_reset(struct persist_log *log, uint64_t snap_index, uint64_t snap_term,
                      const struct persist_config *config, struct persist_error *err)
{
	const char *what = "begin";
	int rv;
	int rc;

	rv = logCheckUsable(log, err);
	if (rv == 0) {
		rv = checkForward(log, snap_index, err);
	}
	if (rv == 0 && config != NULL && config->len > PERSIST_CONFIG_MAX) {
		rv = persist_errf(err, PERSIST_ELIMIT, "%s: configuration of %zu bytes exceeds %u",
		                  log->path, config->len, PERSIST_CONFIG_MAX);
	}
	if (rv != 0) {
		return rv;
	}
	rc = persist_db_exec(log->stmt.begin);
	if (rc == SQLITE_DONE) {
		what = "record snapshot";
		rc = putSnapshot(log, snap_index, snap_term);
	}
	if (rc == SQLITE_DONE && config != NULL) {
		what = "write configuration";
		rc = putConfig(log, config);
	}
	if (rc == SQLITE_DONE) {
		what = "delete entries";
		rc = persist_db_exec(log->stmt.delete_all);
	}
	if (rc == SQLITE_DONE) {
		what = "commit (WAL write and fsync)";
		rc = persist_db_exec(log->stmt.commit);
	}
	if (rc != SQLITE_DONE) {
		return logFail(log, rc, what, err);
	}
	log->snap_index = snap_index;
	log->snap_term = snap_term;
	log->first = snap_index + 1;
	log->last = snap_index;
	return 0;
}
