/* persist/snapshot_create.c: writing a snapshot of state.db, and restoring
 * state.db from one.
 *
 * Both directions use SQLite's online backup API, which copies every page
 * inside one read transaction of the source: the copy is exactly state.db as
 * of one commit, so its applied index and its data agree (safety rule 6).
 * The copy is then switched from WAL to a rollback journal, so the file is
 * self-contained (no -wal beside it) and can be sent byte for byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "persist/snapshot_impl.h"

/* Copies every page of src into dst in one step; SQLITE_OK or the failure. */
static int backupAll(sqlite3 *dst, sqlite3 *src)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	int rc;

	if (b == NULL) {
		return sqlite3_errcode(dst);
	}
	rc = sqlite3_backup_step(b, -1);
	if (sqlite3_backup_finish(b) != SQLITE_OK && rc == SQLITE_DONE) {
		rc = sqlite3_errcode(dst);
	}
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Makes the copy a plain rollback-journal file and stamps its metadata. */
static int stampCopy(sqlite3 *db, const struct persist_state *st, const void *config,
                     size_t config_len)
{
	sqlite3_stmt *stmt;
	int rc;

	rc = sqlite3_exec(db, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		return rc;
	}
	rc = sqlite3_prepare_v2(
	    db, "INSERT OR REPLACE INTO " PERSIST_SNAPSHOT_TABLE " VALUES (0, ?1, ?2, ?3)", -1,
	    &stmt, NULL);
	if (rc != SQLITE_OK) {
		return rc;
	}
	sqlite3_bind_int64(stmt, 1, (int64_t)st->applied_index);
	sqlite3_bind_int64(stmt, 2, (int64_t)st->applied_term);
	sqlite3_bind_blob64(stmt, 3, config_len > 0 ? config : "", config_len, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int writeCopy(struct persist_state *st, const char *tmp, const void *config,
                     size_t config_len, struct persist_error *err)
{
	sqlite3 *db = NULL;
	int fd;
	int rc;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		return persist_errf(err, PERSIST_EIO, "cannot create %s: %s", tmp, strerror(errno));
	}
	close(fd);
	rc = sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK) {
		rc = backupAll(db, st->db);
	}
	if (rc == SQLITE_OK) {
		rc = stampCopy(db, st, config, config_len);
	}
	if (rc != SQLITE_OK) {
		int rv = persist_db_error(db, rc, tmp, "write snapshot", err);

		sqlite3_close_v2(db);
		return rv;
	}
	rc = sqlite3_close(db);
	if (rc != SQLITE_OK) {
		return persist_errf(err, PERSIST_EIO, "%s: close failed (sqlite error %d)", tmp,
		                    rc);
	}
	return 0;
}

int persist_snapshot_create(struct persist_state *st, const void *config, size_t config_len,
                            struct persist_snapshot_meta *out, struct persist_error *err)
{
	char path[PERSIST_PATH_MAX];
	char tmp[PERSIST_PATH_MAX];
	int rv;

	assert(st != NULL && out != NULL && st->applied_index > 0);
	memset(out, 0, sizeof(*out));
	if (config_len > PERSIST_CONFIG_MAX) {
		return persist_errf(err, PERSIST_ELIMIT, "configuration of %zu bytes exceeds %u",
		                    config_len, PERSIST_CONFIG_MAX);
	}
	if (st->failed) {
		return persist_errf(err, PERSIST_EFAILED, "%s: a write failed earlier", st->path);
	}
	rv = persist_snapshot_tmp_path(st->dir, st->applied_index, st->applied_term,
	                               SNAPSHOT_TMP_SUFFIX, tmp, err);
	if (rv == 0) {
		rv = writeCopy(st, tmp, config, config_len, err);
	}
	/* Durable before it exists under its final name (reliability P10). */
	if (rv == 0) {
		rv = persist_file_sync(tmp, err);
	}
	if (rv == 0) {
		out->index = st->applied_index;
		out->term = st->applied_term;
		rv = persist_snapshot_file_crc(tmp, &out->size, &out->crc, err);
	}
	if (rv == 0) {
		rv = persist_snapshot_path(st->dir, out, path, err);
	}
	if (rv == 0 && rename(tmp, path) != 0) {
		rv = persist_errf(err, PERSIST_EIO, "cannot rename %s: %s", tmp, strerror(errno));
	}
	if (rv == 0) {
		rv = persist_dir_sync(st->dir, err);
	}
	if (rv != 0) {
		unlink(tmp);
		memset(out, 0, sizeof(*out));
		return rv;
	}
	return persist_snapshot_inspect(path, out->index, out->term, out->crc, out, err);
}

int persist_snapshot_restore(struct persist_state *st, const struct persist_snapshot_meta *m,
                             struct persist_error *err)
{
	char path[PERSIST_PATH_MAX];
	sqlite3 *src = NULL;
	int rv;
	int rc;

	if (st->failed) {
		return persist_errf(err, PERSIST_EFAILED, "%s: a write failed earlier", st->path);
	}
	if (m->index <= st->applied_index) {
		return persist_errf(
		    err, PERSIST_ESTALE, "snapshot %llu is not ahead of applied index %llu",
		    (unsigned long long)m->index, (unsigned long long)st->applied_index);
	}
	rv = persist_snapshot_path(st->dir, m, path, err);
	if (rv != 0) {
		return rv;
	}
	rc = sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK) {
		rc = backupAll(st->db, src);
	}
	sqlite3_close_v2(src);
	if (rc != SQLITE_OK) {
		return persist_state_fail(st, rc, "restore snapshot", err);
	}
	rv = persist_state_load_applied(st, err);
	if (rv == 0 && st->applied_index != m->index) {
		st->failed = true;
		rv = persist_errf(
		    err, PERSIST_ECORRUPT, "%s: restored applied index %llu, not %llu", st->path,
		    (unsigned long long)st->applied_index, (unsigned long long)m->index);
	}
	/* synchronous=NORMAL leaves the restore in the WAL; a FULL checkpoint
	 * syncs it into the database. Readers may keep it from completing
	 * (SQLITE_BUSY): then the snapshot file, which is durable and never
	 * pruned while newest, is restored again by persist_state_open(). */
	rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_FULL, NULL, NULL);
	if (rv == 0 && rc != SQLITE_OK && rc != SQLITE_BUSY) {
		rv = persist_state_fail(st, rc, "checkpoint restored snapshot", err);
	}
	return rv;
}
