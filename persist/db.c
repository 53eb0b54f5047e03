/* persist/db.c: opening an SQLite database the way persist needs it.
 *
 * Invariants for every database in the data folder:
 *  1. The file is created 0600 by us before SQLite opens it; SQLite gives its
 *     -wal and -shm files the mode of the database file, so they are 0600 too.
 *  2. journal_mode is WAL (checked, not assumed: a read-only file system or a
 *     VFS without shared memory would silently keep a rollback journal).
 *  3. Extended result codes are on, so an I/O error says which system call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "persist/internal.h"

#define DB_BUSY_TIMEOUT_MS 5000 /* readers wait this long for a checkpoint */

static int dbCreateFile(const char *path, struct persist_error *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		return persist_errf(err, PERSIST_EIO, "cannot create %s: %s", path,
		                    strerror(errno));
	}
	if (fchmod(fd, 0600) != 0) {
		close(fd);
		return persist_errf(err, PERSIST_EIO, "cannot make %s mode 0600: %s", path,
		                    strerror(errno));
	}
	close(fd);
	return 0;
}

int persist_db_error(sqlite3 *db, int rc, const char *file, const char *what,
                     struct persist_error *err)
{
	int code = PERSIST_EIO;

	switch (rc & 0xFF) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		code = PERSIST_ECORRUPT;
		break;
	case SQLITE_NOMEM:
		code = PERSIST_ENOMEM;
		break;
	default:
		break;
	}
	return persist_errf(err, code, "%s: %s: %s (sqlite error %d)", file, what,
	                    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
}

int persist_db_prepare(sqlite3 *db, const char *file, const char *sql, sqlite3_stmt **out,
                       struct persist_error *err)
{
	int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);

	if (rc != SQLITE_OK) {
		return persist_db_error(db, rc, file, "prepare", err);
	}
	return 0;
}

int persist_db_exec(sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? SQLITE_MISUSE : rc;
}

int persist_db_run(sqlite3 *db, const char *file, const char *sql, struct persist_error *err)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK) {
		return persist_db_error(db, rc, file, sql, err);
	}
	return 0;
}

/* PRAGMA journal_mode answers with the mode in force; anything but "wal"
 * means durability assumptions elsewhere in this module would be wrong. */
static int dbEnableWal(sqlite3 *db, const char *file, int readonly, struct persist_error *err)
{
	sqlite3_stmt *stmt;
	int rc;
	int rv = 0;

	rc = sqlite3_prepare_v2(db, readonly ? "PRAGMA journal_mode" : "PRAGMA journal_mode=WAL",
	                        -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		return persist_db_error(db, rc, file, "set journal_mode", err);
	}
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		rv = persist_db_error(db, rc, file, "set journal_mode", err);
	} else if (strcmp((const char *)sqlite3_column_text(stmt, 0), "wal") != 0) {
		rv = persist_errf(err, PERSIST_EIO, "%s: cannot use WAL mode (journal_mode is %s)",
		                  file, (const char *)sqlite3_column_text(stmt, 0));
	}
	sqlite3_finalize(stmt);
	return rv;
}

/* quick_check verifies every page's structure (it skips only index/content
 * cross-checks), enough to refuse a file with a damaged page at start. Its
 * first complaint becomes the one-line error. */
static int dbQuickCheck(sqlite3 *db, const char *file, struct persist_error *err)
{
	sqlite3_stmt *stmt;
	int rc;
	int rv = 0;

	rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		return persist_db_error(db, rc, file, "integrity check", err);
	}
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		rv = persist_db_error(db, rc, file, "integrity check", err);
	} else if (strcmp((const char *)sqlite3_column_text(stmt, 0), "ok") != 0) {
		rv = persist_errf(err, PERSIST_ECORRUPT, "%s: database is corrupt: %s", file,
		                  (const char *)sqlite3_column_text(stmt, 0));
	}
	sqlite3_finalize(stmt);
	return rv;
}

static int dbConfigure(sqlite3 *db, const char *path, const struct persist_db_opts *o,
                       struct persist_error *err)
{
	char sql[64];
	int rv;
	int rc;

	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, DB_BUSY_TIMEOUT_MS);
	/* Refuse a file that is not a database before anything writes to it. */
	rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		return persist_db_error(db, rc, path, "read schema", err);
	}
	rv = dbEnableWal(db, path, o->readonly, err);
	if (rv == 0) {
		snprintf(sql, sizeof(sql), "PRAGMA synchronous=%s", o->synchronous);
		rv = persist_db_run(db, path, sql, err);
	}
	if (rv == 0 && o->check) {
		rv = dbQuickCheck(db, path, err);
	}
	return rv;
}

int persist_db_open(const struct persist_dir *dir, const struct persist_db_opts *o, sqlite3 **out,
                    struct persist_error *err)
{
	char path[PERSIST_PATH_MAX];
	sqlite3 *db = NULL;
	int flags = o->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	int rc;
	int rv;

	rv = persist_dir_join(dir, o->name, path, sizeof(path), err);
	if (rv == 0 && !o->readonly) {
		rv = dbCreateFile(path, err);
	}
	/* SQLite fsyncs the folder when it creates a WAL, not when it finds the
	 * database file already there (we made it, for its mode): make the
	 * name durable, or a power loss could keep a WAL without its database. */
	if (rv == 0 && !o->readonly) {
		rv = persist_dir_sync(dir, err);
	}
	if (rv != 0) {
		return rv;
	}
	/* Each handle is used by one thread at a time (the node loop, or the
	 * thread that opened a reader): SQLite's per-call mutexes only cost. */
	rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rv = persist_db_error(db, rc, path, "open", err);
		goto err_close;
	}
	rv = dbConfigure(db, path, o, err);
	if (rv != 0) {
		goto err_close;
	}
	*out = db;
	return 0;

err_close:
	sqlite3_close_v2(db);
	return rv;
}

static int walHook(void *ctx, sqlite3 *db, const char *name, int pages)
{
	(void)db;
	(void)name;
	*(int *)ctx = pages;
	return SQLITE_OK;
}

void persist_db_watch_wal(sqlite3 *db, int *pages)
{
	*pages = 0;
	sqlite3_wal_hook(db, walHook, pages);
}

int persist_db_checkpoint(const struct persist_dir *dir, const char *name,
                          struct persist_error *err)
{
	char path[PERSIST_PATH_MAX];
	sqlite3 *db = NULL;
	int rv;
	int rc;

	rv = persist_dir_join(dir, name, path, sizeof(path), err);
	if (rv != 0) {
		return rv;
	}
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	}
	if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
		rv = persist_db_error(db, rc, path, "checkpoint", err);
	}
	sqlite3_close_v2(db);
	return rv;
}

int persist_db_checkpoint_tail(sqlite3 *db, const char *file, struct persist_error *err)
{
	int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);

	if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
		return persist_db_error(db, rc, file, "checkpoint", err);
	}
	return 0;
}
