/* persist/snapshot_create.c: writing a snapshot of state.db, and restoring
 * state.db from one.
 *
 * Both directions use SQLite's online backup API, which copies every page
 * inside one read transaction of the source: the copy is exactly state.db as
 * of one commit, so its applied index and its data agree (safety rule 6).
 * A snapshot is copied from a reader handle whose read transaction the loop
 * opened between two applies, so the copy can run on another thread while
 * the writer goes on (WAL mode keeps the reader's view).
 * The copy is then switched from WAL to a rollback journal, so the file is
 * self-contained (no -wal beside it) and can be sent byte for byte.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "persist/snapshot_impl.h"

#define SNAPSHOT_BACKUP_PAGES 1024 /* pages per backup step between cancel checks */

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

struct persist_snapshot_job {
	struct persist_dir *dir;
	sqlite3 *src; /* a reader of state.db inside one read transaction */
	uint64_t index, term;
	void *config;
	size_t config_len;
	atomic_bool cancel;
	struct persist_snapshot_meta meta; /* made by persist_snapshot_job_run() */
	int rv;
};

/* Makes the copy a plain rollback-journal file and stamps its metadata. */
static int stampCopy(sqlite3 *db, const struct persist_snapshot_job *job)
{
	sqlite3_stmt *stmt;
	int rc;

	rc = sqlite3_exec(db, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
	if (rc == SQLITE_OK) {
		rc = persist_content_stamp(db);
	}
	if (rc != SQLITE_OK) {
		return rc;
	}
	rc = sqlite3_prepare_v2(
	    db, "INSERT OR REPLACE INTO " PERSIST_SNAPSHOT_TABLE " VALUES (0, ?1, ?2, ?3)", -1,
	    &stmt, NULL);
	if (rc != SQLITE_OK) {
		return rc;
	}
	sqlite3_bind_int64(stmt, 1, (int64_t)job->index);
	sqlite3_bind_int64(stmt, 2, (int64_t)job->term);
	sqlite3_bind_blob64(stmt, 3, job->config_len > 0 ? job->config : "", job->config_len,
	                    SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Copies the job's read view into dst a step at a time, so that a cancel
 * is seen within one step. The source stays inside its read transaction
 * throughout, so every step reads the same commit (safety rule 6). */
static int backupView(sqlite3 *dst, struct persist_snapshot_job *job, bool *cancelled)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", job->src, "main");
	int rc;

	if (b == NULL) {
		return sqlite3_errcode(dst);
	}
	do {
		rc = sqlite3_backup_step(b, SNAPSHOT_BACKUP_PAGES);
		*cancelled = atomic_load(&job->cancel);
	} while (rc == SQLITE_OK && !*cancelled);
	if (sqlite3_backup_finish(b) != SQLITE_OK && rc == SQLITE_DONE) {
		rc = sqlite3_errcode(dst);
	}
	return rc == SQLITE_DONE || *cancelled ? SQLITE_OK : rc;
}

static int writeCopy(struct persist_snapshot_job *job, const char *tmp, struct persist_error *err)
{
	bool cancelled = false;
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
		rc = backupView(db, job, &cancelled);
	}
	if (rc == SQLITE_OK && !cancelled) {
		rc = stampCopy(db, job);
	}
	if (rc != SQLITE_OK) {
		int rv = persist_db_error(db, rc, tmp, "write snapshot", err);

		sqlite3_close_v2(db);
		return rv;
	}
	rc = sqlite3_close(db);
	if (cancelled) {
		return persist_errf(err, PERSIST_ECANCELED, "snapshot %llu cancelled",
		                    (unsigned long long)job->index);
	}
	if (rc != SQLITE_OK) {
		return persist_errf(err, PERSIST_EIO, "%s: close failed (sqlite error %d)", tmp,
		                    rc);
	}
	return 0;
}

/* Reads the applied index and term the reader's view holds. */
static int viewApplied(sqlite3 *db, uint64_t *index, uint64_t *term)
{
	sqlite3_stmt *stmt;
	int rc;

	rc = sqlite3_prepare_v2(db, "SELECT applied_index, applied_term FROM persist_meta", -1,
	                        &stmt, NULL);
	if (rc != SQLITE_OK) {
		return rc;
	}
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*index = (uint64_t)sqlite3_column_int64(stmt, 0);
		*term = (uint64_t)sqlite3_column_int64(stmt, 1);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* A job that will write into dir with a copy of config, and no view yet;
 * *out stays NULL when it fails. */
static int jobNew(struct persist_dir *dir, const void *config, size_t config_len,
                  struct persist_snapshot_job **out, struct persist_error *err)
{
	struct persist_snapshot_job *job;

	*out = NULL;
	if (config_len > PERSIST_CONFIG_MAX) {
		return persist_errf(err, PERSIST_ELIMIT, "configuration of %zu bytes exceeds %u",
		                    config_len, PERSIST_CONFIG_MAX);
	}
	job = calloc(1, sizeof(*job));
	if (job == NULL || (job->config = malloc(config_len + 1)) == NULL) {
		free(job);
		return persist_errf(err, PERSIST_ENOMEM, "no memory for a snapshot");
	}
	memcpy(job->config, config_len > 0 ? config : "", config_len);
	job->config_len = config_len;
	job->dir = dir;
	atomic_init(&job->cancel, false);
	*out = job;
	return 0;
}

int persist_snapshot_job_begin(struct persist_state *st, const void *config, size_t config_len,
                               struct persist_snapshot_job **out, struct persist_error *err)
{
	struct persist_snapshot_job *job = NULL;
	int rv;
	int rc;

	assert(st != NULL && out != NULL && st->applied_index > 0);
	*out = NULL;
	if (st->failed) {
		return persist_errf(err, PERSIST_EFAILED, "%s: a write failed earlier", st->path);
	}
	rv = jobNew(st->dir, config, config_len, &job, err);
	if (job == NULL) {
		return rv;
	}
	rv = persist_state_open_reader(st->dir, &job->src, err);
	if (rv != 0) {
		persist_snapshot_job_free(job);
		return rv;
	}
	/* Pin the view now, on the writer's thread, between two applies: the
	 * read transaction starts at the first read, which must see exactly
	 * what st has applied. */
	rc = sqlite3_exec(job->src, "BEGIN", NULL, NULL, NULL);
	if (rc == SQLITE_OK) {
		rc = viewApplied(job->src, &job->index, &job->term);
	}
	if (rc != SQLITE_OK) {
		rv = persist_db_error(job->src, rc, st->path, "pin a snapshot view", err);
	} else if (job->index != st->applied_index || job->term != st->applied_term) {
		rv = persist_errf(err, PERSIST_EIO,
		                  "%s: a reader sees applied index %llu, the writer %llu", st->path,
		                  (unsigned long long)job->index,
		                  (unsigned long long)st->applied_index);
	}
	if (rv != 0) {
		persist_snapshot_job_free(job);
		return rv;
	}
	*out = job;
	return 0;
}

int persist_snapshot_job_run(struct persist_snapshot_job *job, struct persist_error *err)
{
	char path[PERSIST_PATH_MAX];
	char tmp[PERSIST_PATH_MAX];
	struct persist_snapshot_meta *out = &job->meta;
	int rv;

	rv = persist_snapshot_tmp_path(job->dir, job->index, job->term, SNAPSHOT_TMP_SUFFIX, tmp,
	                               err);
	if (rv == 0) {
		rv = writeCopy(job, tmp, err);
	}
	/* Durable before it exists under its final name (reliability P10). */
	if (rv == 0) {
		rv = persist_file_sync(tmp, err);
	}
	if (rv == 0) {
		out->index = job->index;
		out->term = job->term;
		rv = persist_snapshot_file_crc(tmp, &out->size, &out->crc, err);
	}
	if (rv == 0) {
		rv = persist_snapshot_path(job->dir, out, path, err);
	}
	if (rv == 0 && rename(tmp, path) != 0) {
		rv = persist_errf(err, PERSIST_EIO, "cannot rename %s: %s", tmp, strerror(errno));
	}
	if (rv == 0) {
		rv = persist_dir_sync(job->dir, err);
	}
	if (rv != 0) {
		unlink(tmp);
		memset(out, 0, sizeof(*out));
	} else {
		rv = persist_snapshot_inspect(path, out->index, out->term, out->crc, out, err);
	}
	/* The view is no longer needed: let checkpoints pass it. */
	sqlite3_exec(job->src, "ROLLBACK", NULL, NULL, NULL);
	job->rv = rv;
	return rv;
}

void persist_snapshot_job_cancel(struct persist_snapshot_job *job)
{
	atomic_store(&job->cancel, true);
}

int persist_snapshot_job_take(struct persist_snapshot_job *job, struct persist_snapshot_meta *out)
{
	*out = job->meta;
	memset(&job->meta, 0, sizeof(job->meta));
	return job->rv;
}

void persist_snapshot_job_free(struct persist_snapshot_job *job)
{
	if (job == NULL) {
		return;
	}
	sqlite3_close_v2(job->src);
	persist_snapshot_meta_free(&job->meta);
	free(job->config);
	free(job);
}

int persist_snapshot_create(struct persist_state *st, const void *config, size_t config_len,
                            struct persist_snapshot_meta *out, struct persist_error *err)
{
	struct persist_snapshot_job *job = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	rv = persist_snapshot_job_begin(st, config, config_len, &job, err);
	if (rv != 0) {
		return rv;
	}
	rv = persist_snapshot_job_run(job, err);
	persist_snapshot_job_take(job, out);
	persist_snapshot_job_free(job);
	return rv;
}

int persist_snapshot_import(struct persist_dir *dir, const char *path, const void *config,
                            size_t config_len, struct persist_snapshot_meta *out,
                            struct persist_error *err)
{
	struct persist_snapshot_job *job = NULL;
	int rv;
	int rc;

	memset(out, 0, sizeof(*out));
	rv = jobNew(dir, config, config_len, &job, err);
	if (job == NULL) {
		return rv;
	}
	/* The same copy as a snapshot of state.db, from a view of the file. */
	rc = sqlite3_open_v2(path, &job->src, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_exec(job->src, "BEGIN", NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK) {
		rc = viewApplied(job->src, &job->index, &job->term);
	}
	if (rc != SQLITE_OK || job->index == 0) {
		rv = persist_errf(err, PERSIST_ECORRUPT, "%s is not a snapshot: %s", path,
		                  rc != SQLITE_OK ? sqlite3_errmsg(job->src) : "nothing applied");
	} else {
		rv = persist_snapshot_job_run(job, err);
		persist_snapshot_job_take(job, out);
	}
	persist_snapshot_job_free(job);
	return rv;
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
