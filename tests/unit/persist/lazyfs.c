/* tests/unit/persist/lazyfs.c: see lazyfs.h. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "lazyfs.h"

#define UNDO_SUFFIX  ".undo"
#define NAME_MAX_LEN 1024

/* One undo record: restore `len` bytes at `off`, then set the size. */
struct undo_head {
	uint64_t off;
	uint64_t len;
	uint64_t size;
};

struct lazy_file {
	sqlite3_file base;
	sqlite3_file *real; /* follows this struct in the same allocation */
	int undo;           /* -1 for files whose durability we do not track */
};

static sqlite3_vfs *realVfs;
static sqlite3_vfs lazyVfs;
static sqlite3_io_methods lazyIo;

static sqlite3_file *real(sqlite3_file *f)
{
	return ((struct lazy_file *)f)->real;
}

/* Appends the pre-image of [off, off+amt) and the current size. */
static int undoRecord(struct lazy_file *lf, int64_t off, int64_t amt)
{
	struct undo_head h;
	sqlite3_int64 size;
	unsigned char *old;
	int rc;

	rc = lf->real->pMethods->xFileSize(lf->real, &size);
	if (rc != SQLITE_OK) {
		return rc;
	}
	h.off = (uint64_t)off;
	h.size = (uint64_t)size;
	h.len = off >= size ? 0 : (uint64_t)((off + amt < size ? off + amt : size) - off);
	/* One write per record: with O_APPEND it lands whole, also when
	 * another connection of the process logs the same file meanwhile. */
	old = malloc(sizeof(h) + h.len);
	if (old == NULL) {
		return SQLITE_NOMEM;
	}
	memcpy(old, &h, sizeof(h));
	if (h.len > 0) {
		rc = lf->real->pMethods->xRead(lf->real, old + sizeof(h), (int)h.len, off);
	}
	if ((rc == SQLITE_OK || rc == SQLITE_IOERR_SHORT_READ) &&
	    write(lf->undo, old, sizeof(h) + h.len) != (ssize_t)(sizeof(h) + h.len)) {
		rc = SQLITE_IOERR_WRITE;
	} else if (rc == SQLITE_IOERR_SHORT_READ) {
		rc = SQLITE_OK;
	}
	free(old);
	return rc;
}

static int lazyClose(sqlite3_file *f)
{
	struct lazy_file *lf = (struct lazy_file *)f;

	if (lf->undo >= 0) {
		close(lf->undo); /* the log stays: a clean close is not a sync */
	}
	return lf->real->pMethods->xClose(lf->real);
}

static int lazyRead(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
	return real(f)->pMethods->xRead(real(f), buf, amt, off);
}

static int lazyWrite(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
	struct lazy_file *lf = (struct lazy_file *)f;

	if (lf->undo >= 0) {
		int rc = undoRecord(lf, off, amt);

		if (rc != SQLITE_OK) {
			return rc;
		}
	}
	return lf->real->pMethods->xWrite(lf->real, buf, amt, off);
}

static int lazyTruncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct lazy_file *lf = (struct lazy_file *)f;

	if (lf->undo >= 0) {
		int rc = undoRecord(lf, size, INT64_MAX / 2);

		if (rc != SQLITE_OK) {
			return rc;
		}
	}
	return lf->real->pMethods->xTruncate(lf->real, size);
}

static int (*lyingDisk)(void);

void lazyfs_set_lying(int (*lying)(void))
{
	lyingDisk = lying;
}

static int lazySync(sqlite3_file *f, int flags)
{
	struct lazy_file *lf = (struct lazy_file *)f;
	int rc;

	if (lyingDisk != NULL && lyingDisk()) {
		return SQLITE_OK; /* says synced, syncs nothing: all stays undoable */
	}
	rc = lf->real->pMethods->xSync(lf->real, flags);

	/* Durable now: nothing before this point may be undone. */
	if (rc == SQLITE_OK && lf->undo >= 0 && ftruncate(lf->undo, 0) != 0) {
		rc = SQLITE_IOERR_FSYNC;
	}
	return rc;
}

#define FORWARD(name, proto, args)                                                                 \
	static int lazy##name proto                                                                \
	{                                                                                          \
		return real(f)->pMethods->x##name args;                                            \
	}
FORWARD(FileSize, (sqlite3_file * f, sqlite3_int64 *size), (real(f), size))
FORWARD(Lock, (sqlite3_file * f, int l), (real(f), l))
FORWARD(Unlock, (sqlite3_file * f, int l), (real(f), l))
FORWARD(CheckReservedLock, (sqlite3_file * f, int *out), (real(f), out))
FORWARD(FileControl, (sqlite3_file * f, int op, void *arg), (real(f), op, arg))
FORWARD(SectorSize, (sqlite3_file * f), (real(f)))
FORWARD(DeviceCharacteristics, (sqlite3_file * f), (real(f)))
FORWARD(ShmMap, (sqlite3_file * f, int pg, int sz, int ext, void volatile **pp),
        (real(f), pg, sz, ext, pp))
FORWARD(ShmLock, (sqlite3_file * f, int off, int n, int flags), (real(f), off, n, flags))
FORWARD(ShmUnmap, (sqlite3_file * f, int del), (real(f), del))
#undef FORWARD

static void lazyShmBarrier(sqlite3_file *f)
{
	real(f)->pMethods->xShmBarrier(real(f));
}

static int lazyOpen(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *out)
{
	struct lazy_file *lf = (struct lazy_file *)f;
	char undo[NAME_MAX_LEN];
	int rc;

	(void)vfs;
	lf->real = (sqlite3_file *)(lf + 1);
	lf->undo = -1;
	rc = realVfs->xOpen(realVfs, name, lf->real, flags, out);
	if (rc != SQLITE_OK) {
		f->pMethods = NULL;
		return rc;
	}
	f->pMethods = &lazyIo;
	if (name != NULL && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) != 0) {
		snprintf(undo, sizeof(undo), "%s" UNDO_SUFFIX, name);
		lf->undo = open(undo, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (lf->undo < 0) {
			lf->real->pMethods->xClose(lf->real);
			f->pMethods = NULL;
			return SQLITE_CANTOPEN;
		}
	}
	return SQLITE_OK;
}

int lazyfs_register(void)
{
	if (realVfs != NULL) {
		return SQLITE_OK;
	}
	realVfs = sqlite3_vfs_find(NULL);
	lazyVfs = *realVfs;
	lazyVfs.zName = "lazyfs";
	lazyVfs.szOsFile = (int)sizeof(struct lazy_file) + realVfs->szOsFile;
	lazyVfs.xOpen = lazyOpen;
	lazyIo = (sqlite3_io_methods){
	    .iVersion = 2, /* with shared memory (WAL), without mmap */
	    .xClose = lazyClose,
	    .xRead = lazyRead,
	    .xWrite = lazyWrite,
	    .xTruncate = lazyTruncate,
	    .xSync = lazySync,
	    .xFileSize = lazyFileSize,
	    .xLock = lazyLock,
	    .xUnlock = lazyUnlock,
	    .xCheckReservedLock = lazyCheckReservedLock,
	    .xFileControl = lazyFileControl,
	    .xSectorSize = lazySectorSize,
	    .xDeviceCharacteristics = lazyDeviceCharacteristics,
	    .xShmMap = lazyShmMap,
	    .xShmLock = lazyShmLock,
	    .xShmBarrier = lazyShmBarrier,
	    .xShmUnmap = lazyShmUnmap,
	};
	return sqlite3_vfs_register(&lazyVfs, 1);
}

/* Undoes the log at undo_path on target, newest record first. */
static long undoFile(const char *undo_path, const char *target)
{
	FILE *in = fopen(undo_path, "rb");
	struct undo_head *heads = NULL;
	unsigned char **bytes = NULL;
	long n = 0;
	int fd;

	if (in == NULL) {
		return 0;
	}
	for (;;) {
		struct undo_head h;

		if (fread(&h, sizeof(h), 1, in) != 1) {
			break;
		}
		heads = realloc(heads, (size_t)(n + 1) * sizeof(*heads));
		bytes = realloc(bytes, (size_t)(n + 1) * sizeof(*bytes));
		bytes[n] = malloc(h.len + 1);
		if (fread(bytes[n], 1, h.len, in) != h.len) {
			free(bytes[n]); /* torn last record: its write never started */
			break;
		}
		heads[n++] = h;
	}
	fclose(in);
	fd = open(target, O_WRONLY);
	for (long i = n - 1; fd >= 0 && i >= 0; i--) {
		if (pwrite(fd, bytes[i], heads[i].len, (off_t)heads[i].off) !=
		        (ssize_t)heads[i].len ||
		    ftruncate(fd, (off_t)heads[i].size) != 0) {
			abort();
		}
	}
	if (fd >= 0) {
		close(fd);
	}
	for (long i = 0; i < n; i++) {
		free(bytes[i]);
	}
	free(heads);
	free(bytes);
	return n;
}

static int hasSuffix(const char *s, const char *suffix)
{
	size_t n = strlen(s);
	size_t k = strlen(suffix);

	return n > k && strcmp(s + n - k, suffix) == 0;
}

long lazyfs_power_loss(const char *folder)
{
	char path[NAME_MAX_LEN];
	char target[NAME_MAX_LEN];
	struct dirent *de;
	long undone = 0;
	DIR *d = opendir(folder);

	if (d == NULL) {
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", folder, de->d_name);
		if (hasSuffix(de->d_name, UNDO_SUFFIX)) {
			snprintf(target, sizeof(target), "%.*s",
			         (int)(strlen(path) - strlen(UNDO_SUFFIX)), path);
			undone += undoFile(path, target);
			unlink(path);
		} else if (hasSuffix(de->d_name, "-shm")) {
			unlink(path); /* an index of the WAL; SQLite rebuilds it */
		}
	}
	closedir(d);
	return undone;
}
