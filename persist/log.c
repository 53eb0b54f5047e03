/* persist/log.c: opening and closing raft.db.
 *
 * Schema (format version 1, stored in PRAGMA user_version):
 *   hardstate(id=0, term, vote, crc)      term and vote in one row: rule 1
 *   snapshot(id=0, idx, term, crc)        what the log was compacted behind
 *   config(id=0, idx, data, crc)          membership configuration blob
 *   entries(idx PRIMARY KEY, term, type, data, crc)
 * uint64 values are stored as SQLite's signed 64-bit integers and cast back.
 */
#include <stdlib.h>
#include <string.h>

#include "persist/log_impl.h"

static const char schema[] = "BEGIN IMMEDIATE;"
                             "CREATE TABLE hardstate(id INTEGER PRIMARY KEY CHECK (id = 0),"
                             " term INTEGER NOT NULL, vote INTEGER NOT NULL, crc INTEGER NOT NULL);"
                             "CREATE TABLE snapshot(id INTEGER PRIMARY KEY CHECK (id = 0),"
                             " idx INTEGER NOT NULL, term INTEGER NOT NULL, crc INTEGER NOT NULL);"
                             "CREATE TABLE config(id INTEGER PRIMARY KEY CHECK (id = 0),"
                             " idx INTEGER NOT NULL, data BLOB NOT NULL, crc INTEGER NOT NULL);"
                             "CREATE TABLE entries(idx INTEGER PRIMARY KEY, term INTEGER NOT NULL,"
                             " type INTEGER NOT NULL, data BLOB NOT NULL, crc INTEGER NOT NULL);"
                             "PRAGMA user_version = 1;"
                             "COMMIT;";

static const struct {
	size_t offset;
	const char *sql;
} statements[] = {
#define S(field, sql)                                                                              \
	{                                                                                          \
		offsetof(struct persist_log, stmt.field), sql                                      \
	}
    S(begin, "BEGIN IMMEDIATE"),
    S(begin_read, "BEGIN"),
    S(commit, "COMMIT"),
    S(rollback, "ROLLBACK"),
    S(sync_lazy, "PRAGMA synchronous=NORMAL"),
    S(sync_full, "PRAGMA synchronous=FULL"),
    S(put_hardstate, "INSERT OR REPLACE INTO hardstate VALUES (0, ?1, ?2, ?3)"),
    S(put_snapshot, "INSERT OR REPLACE INTO snapshot VALUES (0, ?1, ?2, ?3)"),
    S(put_config, "INSERT OR REPLACE INTO config VALUES (0, ?1, ?2, ?3)"),
    S(insert, "INSERT INTO entries VALUES (?1, ?2, ?3, ?4, ?5)"),
    S(truncate, "DELETE FROM entries WHERE idx >= ?1"),
    S(delete_upto, "DELETE FROM entries WHERE idx <= ?1"),
    S(delete_all, "DELETE FROM entries"),
    S(term_at, "SELECT term FROM entries WHERE idx = ?1"),
    S(read_size, "SELECT count(*), total(length(data)) FROM"
                 " (SELECT data FROM entries WHERE idx >= ?1 ORDER BY idx LIMIT ?2)"),
    S(read_rows, "SELECT idx, term, type, data, crc FROM entries"
                 " WHERE idx >= ?1 ORDER BY idx LIMIT ?2"),
    S(get_hardstate, "SELECT term, vote, crc FROM hardstate"),
    S(get_snapshot, "SELECT idx, term, crc FROM snapshot"),
    S(get_config, "SELECT idx, data, crc FROM config"),
#undef S
};

static sqlite3_stmt **logStmt(struct persist_log *log, size_t i)
{
	return (sqlite3_stmt **)(void *)((char *)log + statements[i].offset);
}

/* Creates the schema in a new file; refuses a file of another format. */
static int logSchema(struct persist_log *log, struct persist_error *err)
{
	sqlite3_stmt *stmt;
	int version = -1;
	int rc;

	rc = sqlite3_prepare_v2(log->db, "PRAGMA user_version", -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		return persist_db_error(log->db, rc, log->path, "read format version", err);
	}
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		version = sqlite3_column_int(stmt, 0);
	}
	sqlite3_finalize(stmt);
	if (version == 0) {
		return persist_db_run(log->db, log->path, schema, err);
	}
	if (version != LOG_FORMAT_VERSION) {
		return persist_errf(err, PERSIST_ECORRUPT, "%s: unknown format version %d",
		                    log->path, version);
	}
	return 0;
}

static int logPrepare(struct persist_log *log, struct persist_error *err)
{
	for (size_t i = 0; i < sizeof(statements) / sizeof(statements[0]); i++) {
		int rv =
		    persist_db_prepare(log->db, log->path, statements[i].sql, logStmt(log, i), err);
		if (rv != 0) {
			return rv;
		}
	}
	return 0;
}

/* Sets first/last from what was loaded and checks invariant L1 on disk data:
 * contiguity was verified entry by entry; here the tail must reach the
 * snapshot, else entries after it were lost. */
static int logBounds(struct persist_log *log, const struct persist_log_state *s,
                     struct persist_error *err)
{
	const struct persist_entries *e = &s->entries;

	if (e->n == 0) {
		log->first = log->snap_index + 1;
		log->last = log->snap_index;
		return 0;
	}
	log->first = e->v[0].index;
	log->last = e->v[e->n - 1].index;
	if (log->first > log->snap_index + 1) {
		return persist_errf(
		    err, PERSIST_ECORRUPT, "%s: entries %llu..%llu are missing after snapshot %llu",
		    log->path, (unsigned long long)log->snap_index + 1,
		    (unsigned long long)log->first - 1, (unsigned long long)log->snap_index);
	}
	if (log->last < log->snap_index) {
		return persist_errf(
		    err, PERSIST_ECORRUPT, "%s: log ends at %llu, before snapshot %llu", log->path,
		    (unsigned long long)log->last, (unsigned long long)log->snap_index);
	}
	return 0;
}

static int logLoad(struct persist_log *log, struct persist_log_state *s, struct persist_error *err)
{
	int rv = persist_log_load_meta(log, s, err);

	/* Asking for one more than the limit makes an oversized log an error
	 * (persist_log_read refuses more than PERSIST_LOAD_MAX) rather than a
	 * silently shortened one. */
	if (rv == 0) {
		rv = persist_log_read(log, 0, (size_t)PERSIST_LOAD_MAX + 1, &s->entries, err);
	}
	if (rv == 0) {
		rv = logBounds(log, s, err);
	}
	return rv;
}

int persist_log_open(struct persist_dir *dir, struct persist_log **out,
                     struct persist_log_state *loaded, struct persist_error *err)
{
	const struct persist_db_opts opts = {
	    .name = LOG_FILE, .synchronous = "FULL", .readonly = 0, .check = 1};
	struct persist_log *log;
	int rv;

	assert(dir != NULL && out != NULL && loaded != NULL);
	memset(loaded, 0, sizeof(*loaded));
	log = calloc(1, sizeof(*log));
	if (log == NULL) {
		return persist_errf(err, PERSIST_ENOMEM, "no memory for %s", LOG_FILE);
	}
	rv = persist_dir_join(dir, LOG_FILE, log->path, sizeof(log->path), err);
	if (rv == 0) {
		rv = persist_db_open(dir, &opts, &log->db, err);
	}
	if (rv == 0) {
		rv = logSchema(log, err);
	}
	if (rv == 0) {
		rv = logPrepare(log, err);
	}
	if (rv == 0) {
		rv = logLoad(log, loaded, err);
	}
	if (rv != 0) {
		persist_log_state_free(loaded);
		persist_log_close(log);
		return rv;
	}
	*out = log;
	return 0;
}

void persist_log_close(struct persist_log *log)
{
	if (log == NULL) {
		return;
	}
	for (size_t i = 0; i < sizeof(statements) / sizeof(statements[0]); i++) {
		sqlite3_finalize(*logStmt(log, i));
	}
	sqlite3_close_v2(log->db);
	free(log);
}

void persist_log_state_free(struct persist_log_state *s)
{
	free((void *)(uintptr_t)s->config.data);
	persist_entries_free(&s->entries);
	memset(s, 0, sizeof(*s));
}

uint64_t persist_log_first_index(const struct persist_log *log)
{
	return log->first;
}

uint64_t persist_log_last_index(const struct persist_log *log)
{
	return log->last;
}

struct persist_hardstate persist_log_hardstate(const struct persist_log *log)
{
	return log->hs;
}

uint64_t persist_log_snap_index(const struct persist_log *log)
{
	return log->snap_index;
}

void persist_log_watch_wal(struct persist_log *log)
{
	persist_db_watch_wal(log->db, &log->wal_pages);
}

int persist_log_wal_pages(const struct persist_log *log)
{
	return log->wal_pages;
}

int persist_log_checkpoint(struct persist_dir *dir, struct persist_error *err)
{
	return persist_db_checkpoint(dir, LOG_FILE, err);
}

int persist_log_checkpoint_tail(struct persist_log *log, struct persist_error *err)
{
	return persist_db_checkpoint_tail(log->db, log->path, err);
}
