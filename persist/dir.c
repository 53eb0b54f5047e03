/* persist/dir.c: create, protect and lock the data folder.
 *
 * The lock is flock(2) on LOCK, not on a database: SQLite's own locks allow
 * several readers and writers, which is exactly what two servers sharing one
 * folder must not get. flock() belongs to the open file description, so the
 * kernel drops it when the process dies (even by SIGKILL) and a restart never
 * finds a stale lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "persist/dir.h"
#include "persist/internal.h"

#define DIR_MODE  0700
#define LOCK_NAME "LOCK"

static int dirCreate(const char *path, struct persist_error *err)
{
	if (mkdir(path, DIR_MODE) == 0 || errno == EEXIST) {
		return 0;
	}
	return persist_errf(err, PERSIST_EIO, "cannot create data folder %s: %s", path,
	                    strerror(errno));
}

/* Opens the folder itself and makes it private whatever umask or an earlier
 * run left behind. */
static int dirOpenFd(struct persist_dir *d, struct persist_error *err)
{
	struct stat st;

	d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0) {
		return persist_errf(err, PERSIST_EIO, "cannot open data folder %s: %s", d->path,
		                    strerror(errno));
	}
	if (fstat(d->fd, &st) != 0 ||
	    ((st.st_mode & 07777) != DIR_MODE && fchmod(d->fd, DIR_MODE) != 0)) {
		return persist_errf(err, PERSIST_EIO, "cannot make data folder %s mode 0700: %s",
		                    d->path, strerror(errno));
	}
	return 0;
}

static int dirLock(struct persist_dir *d, struct persist_error *err)
{
	char path[PERSIST_PATH_MAX];
	char pid[32];
	int rv;
	int n;

	rv = persist_dir_join(d, LOCK_NAME, path, sizeof(path), err);
	if (rv != 0) {
		return rv;
	}
	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0) {
		return persist_errf(err, PERSIST_EIO, "cannot open %s: %s", path, strerror(errno));
	}
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK) {
			return persist_errf(
			    err, PERSIST_ELOCKED,
			    "data folder %s is in use by another server (%s is locked)", d->path,
			    path);
		}
		return persist_errf(err, PERSIST_EIO, "cannot lock %s: %s", path, strerror(errno));
	}
	/* The holder's pid, for whoever reads LOCK while diagnosing; not durable
	 * on purpose: the lock, not the content, is what protects the folder. */
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(d->lock_fd, 0) != 0 || pwrite(d->lock_fd, pid, (size_t)n, 0) != n) {
		return persist_errf(err, PERSIST_EIO, "cannot write %s: %s", path, strerror(errno));
	}
	return 0;
}

int persist_dir_open(const char *path, struct persist_dir **out, struct persist_error *err)
{
	struct persist_dir *d;
	int rv;

	assert(path != NULL && out != NULL);
	if (strlen(path) + 1 > PERSIST_PATH_MAX / 2) {
		return persist_errf(err, PERSIST_ELIMIT, "data folder path longer than %d bytes",
		                    PERSIST_PATH_MAX / 2);
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		return persist_errf(err, PERSIST_ENOMEM, "no memory for the data folder");
	}
	d->fd = -1;
	d->lock_fd = -1;
	strcpy(d->path, path);
	rv = dirCreate(path, err);
	if (rv == 0) {
		rv = dirOpenFd(d, err);
	}
	if (rv == 0) {
		rv = dirLock(d, err);
	}
	if (rv != 0) {
		persist_dir_close(d);
		return rv;
	}
	*out = d;
	return 0;
}

void persist_dir_close(struct persist_dir *d)
{
	if (d == NULL) {
		return;
	}
	if (d->lock_fd >= 0) {
		close(d->lock_fd); /* drops the flock */
	}
	if (d->fd >= 0) {
		close(d->fd);
	}
	free(d);
}

const char *persist_dir_path(const struct persist_dir *d)
{
	return d->path;
}

int persist_dir_join(const struct persist_dir *d, const char *name, char *buf, size_t size,
                     struct persist_error *err)
{
	int n = snprintf(buf, size, "%s/%s", d->path, name);

	if (n < 0 || (size_t)n >= size) {
		return persist_errf(err, PERSIST_ELIMIT, "path %s/%s is too long", d->path, name);
	}
	return 0;
}

int persist_dir_sync(const struct persist_dir *d, struct persist_error *err)
{
	if (fsync(d->fd) != 0) {
		return persist_errf(err, PERSIST_EIO, "fsync of data folder %s failed: %s", d->path,
		                    strerror(errno));
	}
	return 0;
}

int persist_file_sync(const char *path, struct persist_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rv = 0;

	if (fd < 0) {
		return persist_errf(err, PERSIST_EIO, "cannot open %s to fsync it: %s", path,
		                    strerror(errno));
	}
	if (fsync(fd) != 0) {
		rv =
		    persist_errf(err, PERSIST_EIO, "fsync of %s failed: %s", path, strerror(errno));
	}
	close(fd);
	return rv;
}
