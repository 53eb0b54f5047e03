/* persist/snapshot_file.c: naming, checking, finding, reading and pruning
 * snapshot files. A snapshot file is trusted only after inspection: a CRC32C
 * over every byte equal to the one in its name, the database check, and its
 * own metadata agreeing with its name (DESIGN.md safety rule 11). */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "persist/snapshot_impl.h"

#define SNAPSHOT_IO_BUF   (64u << 10) /* read buffer for checksumming */
#define SNAPSHOT_NAME_MAX 96          /* longer than any name we make */

int persist_snapshot_path(const struct persist_dir *dir, const struct persist_snapshot_meta *m,
                          char *buf, struct persist_error *err)
{
	char name[SNAPSHOT_NAME_MAX];

	/* Zero-padded, so names sort like the numbers they carry. */
	snprintf(name, sizeof(name), SNAPSHOT_PREFIX "%020llu-%020llu-%08x" SNAPSHOT_SUFFIX,
	         (unsigned long long)m->index, (unsigned long long)m->term, (unsigned)m->crc);
	return persist_dir_join(dir, name, buf, PERSIST_PATH_MAX, err);
}

int persist_snapshot_tmp_path(const struct persist_dir *dir, uint64_t index, uint64_t term,
                              const char *suffix, char *buf, struct persist_error *err)
{
	char name[SNAPSHOT_NAME_MAX];

	snprintf(name, sizeof(name), SNAPSHOT_PREFIX "%020llu-%020llu%s", (unsigned long long)index,
	         (unsigned long long)term, suffix);
	return persist_dir_join(dir, name, buf, PERSIST_PATH_MAX, err);
}

/* Parses a final snapshot file name into m's index, term and crc; 0 if the
 * name is anything else. Only the exact form we write is accepted: the
 * parsed values must print back to the same name. */
static int snapshotParse(const char *name, struct persist_snapshot_meta *m)
{
	char again[SNAPSHOT_NAME_MAX];
	unsigned long long i;
	unsigned long long t;
	unsigned c;

	if (strlen(name) >= sizeof(again) ||
	    sscanf(name, SNAPSHOT_PREFIX "%20llu-%20llu-%8x", &i, &t, &c) != 3) {
		return 0;
	}
	snprintf(again, sizeof(again), SNAPSHOT_PREFIX "%020llu-%020llu-%08x" SNAPSHOT_SUFFIX, i, t,
	         c);
	if (strcmp(again, name) != 0) {
		return 0;
	}
	m->index = i;
	m->term = t;
	m->crc = c;
	return 1;
}

int persist_snapshot_file_crc(const char *path, uint64_t *size, uint32_t *crc,
                              struct persist_error *err)
{
	unsigned char *buf;
	struct stat sb;
	ssize_t n = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		int e = errno;

		if (fd >= 0) {
			close(fd);
		}
		return persist_errf(err, e == ENOENT ? PERSIST_ENOENT : PERSIST_EIO,
		                    "cannot open snapshot %s: %s", path, strerror(e));
	}
	buf = malloc(SNAPSHOT_IO_BUF);
	if (buf == NULL) {
		close(fd);
		return persist_errf(err, PERSIST_ENOMEM, "no memory to check %s", path);
	}
	*size = (uint64_t)sb.st_size;
	*crc = 0;
	while ((n = read(fd, buf, SNAPSHOT_IO_BUF)) > 0) {
		*crc = persist_crc32c(*crc, buf, (size_t)n);
	}
	if (n < 0) {
		n = -errno;
	}
	close(fd);
	free(buf);
	if (n < 0) {
		return persist_errf(err, PERSIST_EIO, "cannot read snapshot %s: %s", path,
		                    strerror((int)-n));
	}
	return 0;
}

/* Reads and checks the snapshot's own metadata row and applied index. */
static int inspectRows(sqlite3 *db, const char *path, uint64_t index, uint64_t term,
                       struct persist_snapshot_meta *out, struct persist_error *err)
{
	static const char sql[] =
	    "SELECT s.idx, s.term, s.config, m.applied_index FROM " PERSIST_SNAPSHOT_TABLE
	    " s, persist_meta m";
	sqlite3_stmt *stmt;
	size_t len;
	int rv = 0;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		return persist_errf(err, PERSIST_ECORRUPT, "snapshot %s: no metadata: %s", path,
		                    sqlite3_errmsg(db));
	}
	rc = sqlite3_step(stmt);
	len = rc == SQLITE_ROW ? (size_t)sqlite3_column_bytes(stmt, 2) : 0;
	if (rc != SQLITE_ROW || (uint64_t)sqlite3_column_int64(stmt, 0) != index ||
	    (uint64_t)sqlite3_column_int64(stmt, 1) != term ||
	    (uint64_t)sqlite3_column_int64(stmt, 3) != index || len > PERSIST_CONFIG_MAX) {
		rv = persist_errf(err, PERSIST_ECORRUPT,
		                  "snapshot %s: its metadata does not say index %llu term %llu",
		                  path, (unsigned long long)index, (unsigned long long)term);
	} else if ((out->config = malloc(len + 1)) == NULL) {
		rv = persist_errf(err, PERSIST_ENOMEM, "no memory for a configuration");
	} else {
		if (len > 0) { /* an empty blob reads back as NULL */
			memcpy(out->config, sqlite3_column_blob(stmt, 2), len);
		}
		out->config_len = len;
	}
	sqlite3_finalize(stmt);
	return rv;
}

/* The database half of an inspection: a sound database whose metadata says
 * (index, term); fills out->config. With CONTENT, also the content checksum
 * recorded inside (for a file whose name does not carry its CRC32C). */
static int inspectDb(const char *path, uint64_t index, uint64_t term, bool content,
                     struct persist_snapshot_meta *out, struct persist_error *err)
{
	bool recorded = false;
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int rv = 0;
	int rc;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &stmt, NULL);
	}
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(stmt);
	}
	if (rc != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(stmt, 0), "ok") != 0) {
		rv = persist_errf(err, PERSIST_ECORRUPT, "snapshot %s is not a sound database: %s",
		                  path,
		                  rc == SQLITE_ROW ? (const char *)sqlite3_column_text(stmt, 0)
		                                   : sqlite3_errmsg(db));
	}
	sqlite3_finalize(stmt);
	if (rv == 0) {
		rv = inspectRows(db, path, index, term, out, err);
	}
	if (rv == 0 && content) {
		rv = persist_content_check(db, path, &recorded, err);
	}
	sqlite3_close_v2(db);
	return rv;
}

int persist_snapshot_inspect(const char *path, uint64_t index, uint64_t term, uint32_t crc,
                             struct persist_snapshot_meta *out, struct persist_error *err)
{
	int rv;

	memset(out, 0, sizeof(*out));
	out->index = index;
	out->term = term;
	rv = persist_snapshot_file_crc(path, &out->size, &out->crc, err);
	if (rv != 0) {
		return rv;
	}
	if (out->crc != crc) {
		return persist_errf(err, PERSIST_ECORRUPT,
		                    "snapshot %s fails its checksum (content %08x, name %08x)",
		                    path, (unsigned)out->crc, (unsigned)crc);
	}
	rv = inspectDb(path, index, term, false, out, err);
	if (rv != 0) {
		persist_snapshot_meta_free(out);
	}
	return rv;
}

/* Reads the index and term a snapshot file records of itself. */
static int recordedPosition(const char *path, uint64_t *index, uint64_t *term,
                            struct persist_error *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int rv = 0;
	int rc;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_prepare_v2(db, "SELECT idx, term FROM " PERSIST_SNAPSHOT_TABLE, -1,
		                        &stmt, NULL);
	}
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(stmt);
	}
	if (rc == SQLITE_ROW) {
		*index = (uint64_t)sqlite3_column_int64(stmt, 0);
		*term = (uint64_t)sqlite3_column_int64(stmt, 1);
	} else {
		rv = persist_errf(err, PERSIST_ECORRUPT, "%s is not a coord snapshot: %s", path,
		                  rc == SQLITE_DONE ? "no snapshot metadata" : sqlite3_errmsg(db));
	}
	sqlite3_finalize(stmt);
	sqlite3_close_v2(db);
	return rv;
}

int persist_snapshot_check_file(const char *path, struct persist_snapshot_meta *out,
                                bool *crc_checked, struct persist_error *err)
{
	const char *base = strrchr(path, '/');
	struct persist_snapshot_meta named = {0};
	uint64_t index = 0;
	uint64_t term = 0;
	int rv;

	memset(out, 0, sizeof(*out));
	*crc_checked = snapshotParse(base ? base + 1 : path, &named) != 0;
	if (*crc_checked) {
		return persist_snapshot_inspect(path, named.index, named.term, named.crc, out, err);
	}
	rv = persist_snapshot_file_crc(path, &out->size, &out->crc, err);
	if (rv == 0) {
		rv = recordedPosition(path, &index, &term, err);
	}
	if (rv == 0) {
		out->index = index;
		out->term = term;
		rv = inspectDb(path, index, term, true, out, err);
	}
	if (rv != 0) {
		persist_snapshot_meta_free(out);
	}
	return rv;
}

int persist_snapshot_latest(struct persist_dir *dir, struct persist_snapshot_meta *out,
                            struct persist_error *err)
{
	char path[PERSIST_PATH_MAX];
	struct persist_snapshot_meta best = {0};
	struct dirent *de;
	int found = 0;
	DIR *d;
	int rv;

	memset(out, 0, sizeof(*out));
	d = opendir(persist_dir_path(dir));
	if (d == NULL) {
		return persist_errf(err, PERSIST_EIO, "cannot list %s: %s", persist_dir_path(dir),
		                    strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		struct persist_snapshot_meta m;

		if (snapshotParse(de->d_name, &m) && (!found || m.index > best.index)) {
			best = m;
			found = 1;
		}
	}
	closedir(d);
	if (!found) {
		return persist_errf(err, PERSIST_ENOENT, "no snapshot in %s",
		                    persist_dir_path(dir));
	}
	rv = persist_snapshot_path(dir, &best, path, err);
	if (rv == 0) {
		rv = persist_snapshot_inspect(path, best.index, best.term, best.crc, out, err);
	}
	return rv;
}

int persist_snapshot_open(struct persist_dir *dir, const struct persist_snapshot_meta *m, int *fd,
                          struct persist_error *err)
{
	char path[PERSIST_PATH_MAX];
	int rv = persist_snapshot_path(dir, m, path, err);

	if (rv != 0) {
		return rv;
	}
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		return persist_errf(err, errno == ENOENT ? PERSIST_ENOENT : PERSIST_EIO,
		                    "cannot open snapshot %s: %s", path, strerror(errno));
	}
	return 0;
}

int persist_snapshot_read(struct persist_dir *dir, const struct persist_snapshot_meta *m,
                          uint64_t offset, void *buf, size_t len, size_t *got,
                          struct persist_error *err)
{
	ssize_t n;
	int fd;
	int rv;

	assert(len <= PERSIST_SNAPSHOT_CHUNK_MAX && got != NULL);
	*got = 0;
	rv = persist_snapshot_open(dir, m, &fd, err);
	if (rv != 0) {
		return rv;
	}
	n = pread(fd, buf, len, (off_t)offset);
	close(fd);
	if (n < 0) {
		return persist_errf(err, PERSIST_EIO, "cannot read snapshot %llu: %s",
		                    (unsigned long long)m->index, strerror(errno));
	}
	*got = (size_t)n;
	return 0;
}

static int isTemporary(const char *name)
{
	size_t n = strlen(name);
	size_t s = sizeof(SNAPSHOT_TMP_SUFFIX) - 1;

	return strncmp(name, SNAPSHOT_PREFIX, sizeof(SNAPSHOT_PREFIX) - 1) == 0 && n > s &&
	       strcmp(name + n - s, SNAPSHOT_TMP_SUFFIX) == 0;
}

int persist_snapshot_prune(struct persist_dir *dir, uint64_t keep_index, bool temporaries,
                           struct persist_error *err)
{
	struct dirent *de;
	int removed = 0;
	int rv = 0;
	DIR *d;

	d = opendir(persist_dir_path(dir));
	if (d == NULL) {
		return persist_errf(err, PERSIST_EIO, "cannot list %s: %s", persist_dir_path(dir),
		                    strerror(errno));
	}
	while (rv == 0 && (de = readdir(d)) != NULL) {
		struct persist_snapshot_meta m;

		if ((snapshotParse(de->d_name, &m) && m.index < keep_index) ||
		    (temporaries && isTemporary(de->d_name))) {
			if (unlinkat(dirfd(d), de->d_name, 0) != 0) {
				rv = persist_errf(err, PERSIST_EIO, "cannot remove %s/%s: %s",
				                  persist_dir_path(dir), de->d_name,
				                  strerror(errno));
			}
			removed++;
		}
	}
	closedir(d);
	if (rv == 0 && removed > 0) {
		rv = persist_dir_sync(dir, err);
	}
	return rv;
}

void persist_snapshot_meta_free(struct persist_snapshot_meta *m)
{
	free(m->config);
	memset(m, 0, sizeof(*m));
}
