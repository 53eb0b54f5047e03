/* libcoord's snapshot download (GET /v1/snapshot) into a file: streamed to a
 * temporary file beside the target, fsynced, checked, then given the
 * target's name in one step and the folder fsynced, so the target is either
 * absent or a whole snapshot, also after a crash (libcoord.h). */
#include "libcoord.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SAVE_TMP_TEMPLATE ".XXXXXX" /* mkstemp's template, after the target's name */

/* Turns REPLY into a definite error ERROR with a formatted message. */
static void __attribute__((format(printf, 3, 4)))
refuse(struct coordc_reply *reply, const char *error, const char *fmt, ...)
{
	va_list ap;

	json_decref(reply->body);
	reply->body = NULL;
	reply->kind = COORDC_DONE_ERROR;
	snprintf(reply->error, sizeof(reply->error), "%s", error);
	va_start(ap, fmt);
	vsnprintf(reply->message, sizeof(reply->message), fmt, ap);
	va_end(ap);
}

/* A local file operation WHAT on PATH failed with errno E. */
static int io_failed(struct coordc_reply *reply, const char *what, const char *path, int e)
{
	refuse(reply, "write_failed", "cannot %s %.160s: %s", what, path, strerror(e));
	return COORDC_ERR_IO;
}

/* fsync()s the folder holding PATH, so a rename in it is durable. */
static int sync_parent(const char *path)
{
	char copy[PATH_MAX];
	int fd, rc, e;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	rc = fsync(fd);
	e = errno;
	close(fd);
	return rc == 0 ? 0 : e;
}

/* Gives TMP the name PATH: replacing what is there when OVERWRITE, else
 * refusing a PATH that exists now (link() fails on one, atomically). */
static int publish(const char *tmp, const char *path, bool overwrite, struct coordc_reply *reply)
{
	if (overwrite || link(tmp, path) != 0) {
		if (!overwrite && errno == EEXIST) {
			refuse(reply, "file_exists", "%.200s exists", path);
			return COORDC_ERR_EXISTS;
		}
		/* A file system without hard links: check, then rename. */
		if (!overwrite && access(path, F_OK) == 0) {
			refuse(reply, "file_exists", "%.200s exists", path);
			return COORDC_ERR_EXISTS;
		}
		if (rename(tmp, path) != 0)
			return io_failed(reply, "rename to", path, errno);
		return COORDC_OK;
	}
	unlink(tmp); /* linked: PATH holds the file now */
	return COORDC_OK;
}

/* Downloads into the open FD (TMP) and checks it; on ok the file is synced
 * and *INDEX set. */
static int fetch(struct coordc *c, int fd, const char *tmp, const struct coordc_snapshot_opts *o,
                 uint64_t *index, uint64_t *size, struct coordc_reply *reply)
{
	char msg[COORDC_MESSAGE_MAX] = "";
	int rc;

	rc = coordc_download(c, "/v1/snapshot", fd, COORDC_DOWNLOAD_TIMEOUT_MS, size, reply);
	if (rc != COORDC_OK || reply->kind != COORDC_DONE_OK)
		return rc;
	if (reply->index == 0) {
		refuse(reply, "bad_snapshot", "the answer carries no X-Coord-Index");
		return COORDC_OK;
	}
	if (fsync(fd) != 0)
		return io_failed(reply, "fsync", tmp, errno);
	if (o != NULL && o->check != NULL && !o->check(o->check_arg, tmp, reply->index, msg)) {
		refuse(reply, "bad_snapshot", "%s", msg);
		return COORDC_OK;
	}
	*index = reply->index;
	return COORDC_OK;
}

int coordc_snapshot_save(struct coordc *c, const char *path,
                         const struct coordc_snapshot_opts *opts, uint64_t *index, uint64_t *size,
                         struct coordc_reply *reply)
{
	bool overwrite = opts != NULL && opts->overwrite;
	char tmp[PATH_MAX];
	int fd, rc, n;

	memset(reply, 0, sizeof(*reply));
	*index = *size = 0;
	n = snprintf(tmp, sizeof(tmp), "%s" SAVE_TMP_TEMPLATE, path);
	if (path[0] == '\0' || n < 0 || (size_t)n >= sizeof(tmp))
		return COORDC_ERR_INVALID;
	/* Early, so nothing is fetched for nothing; publish() checks again. */
	if (!overwrite && access(path, F_OK) == 0) {
		refuse(reply, "file_exists", "%.200s exists", path);
		return COORDC_ERR_EXISTS;
	}
	fd = mkstemp(tmp);
	if (fd < 0)
		return io_failed(reply, "create a file beside", path, errno);
	rc = fetch(c, fd, tmp, opts, index, size, reply);
	if (close(fd) != 0 && rc == COORDC_OK && reply->kind == COORDC_DONE_OK)
		rc = io_failed(reply, "close", tmp, errno);
	if (rc == COORDC_OK && reply->kind == COORDC_DONE_OK)
		rc = publish(tmp, path, overwrite, reply);
	if (rc == COORDC_OK && reply->kind == COORDC_DONE_OK && (n = sync_parent(path)) != 0)
		rc = io_failed(reply, "fsync the folder of", path, n);
	if (rc != COORDC_OK || reply->kind != COORDC_DONE_OK) {
		unlink(tmp);
		*index = *size = 0;
	}
	return rc;
}
