/* faultdisk: an LD_PRELOAD shim that makes one data folder's disk slow or
 * failing, for the cluster tests of disk faults (issue 23, S16 and S17). It
 * is built for the tests only and never linked into coordd.
 *
 * coordd and SQLite reach the disk through these libc calls, which a shim
 * loaded first interposes (libsqlite3 is linked dynamically, so its calls
 * go through the same symbols): fdatasync (SQLite's every sync, of files
 * and of the folder), fsync (coordd's own: the data folder, received
 * snapshots), pwrite64 (SQLite's writes), pwrite and write (coordd's own
 * files, SQLite's few plain writes). A call is affected only when its file
 * descriptor names a path under $FAULTDISK_DIR (read from
 * /proc/self/fd); every other call, sockets and the log included, goes
 * straight to libc.
 *
 * What happens is read at run time from the file $FAULTDISK_CTL, which
 * the test rewrites (atomically: write another file, rename it over). It is
 * looked at again at most every FD_RECHECK_NS, by its inode, size and
 * modification time. No file, or an empty one, means no fault. Otherwise
 * it holds words KEY=VALUE:
 *
 *   sync_delay_ms=A or A-B  every sync under the folder first sleeps A ms,
 *                           or a uniform draw from A..B (seeded by seed=)
 *   sync_errno=EIO          a sync fails with EIO and syncs nothing
 *   sync_fail=N             only the next N syncs fail (default: every one)
 *   write_errno=ENOSPC|EIO  a write fails so and writes nothing
 *   write_fail=N            only the next N writes fail (default: every one)
 *   match=TEXT              only paths that contain TEXT are affected
 *   seed=N                  the delays' seed
 *
 * Counts restart whenever the file changes. sync_fail=1 is the Linux
 * behaviour that made retrying an fsync unsafe: the error is reported once,
 * the dirty pages are dropped, and the next fsync succeeds.
 *
 * Every fault it injects is one line on standard error ("faultdisk: ...").
 * A sync of a file whose sync failed before, in the same process, is
 * logged as "faultdisk: SYNC AFTER FAILURE ...": a node that fails-stop
 * never makes one (DESIGN.md safety rule 7). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FD_RECHECK_NS (20 * 1000 * 1000) /* the control file, at most this often */
#define FD_CTL_MAX    1024               /* bytes of the control file read */
#define FD_PATH_MAX   4096
#define FD_FAILED_MAX 32 /* files whose sync failed, remembered */
#define FD_DELAY_MAX  60000u

struct fd_rule {
	unsigned delay_lo, delay_hi; /* ms; 0-0: none */
	int sync_errno, write_errno; /* 0: none */
	long sync_fail, write_fail;  /* left to fail; -1: every one */
	char match[256];
	uint64_t seed;
};

static struct {
	pthread_mutex_t mu;
	char dir[FD_PATH_MAX]; /* empty: the shim does nothing */
	char ctl[FD_PATH_MAX];
	struct stat ctl_st; /* of the file last read; st_ino 0: none */
	uint64_t next_check_ns;
	struct fd_rule rule;
	bool armed;
	char failed[FD_FAILED_MAX][FD_PATH_MAX];
	size_t n_failed;
} fd_state = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static pthread_once_t fd_once = PTHREAD_ONCE_INIT;

static void fd_resolve(void)
{
	const char *dir = getenv("FAULTDISK_DIR"), *ctl = getenv("FAULTDISK_CTL");

	real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	real_pwrite = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
	real_pwrite64 =
	    (ssize_t(*)(int, const void *, size_t, off64_t))dlsym(RTLD_NEXT, "pwrite64");
	if (real_fsync == NULL || real_fdatasync == NULL || real_write == NULL ||
	    real_pwrite == NULL || real_pwrite64 == NULL)
		abort(); /* a test tool that cannot work must not pass quietly */
	if (dir == NULL || ctl == NULL || strlen(dir) >= FD_PATH_MAX || strlen(ctl) >= FD_PATH_MAX)
		return;
	/* The folder may not exist yet (coordd makes it): then as given. */
	if (realpath(dir, fd_state.dir) == NULL)
		snprintf(fd_state.dir, sizeof(fd_state.dir), "%s", dir);
	snprintf(fd_state.ctl, sizeof(fd_state.ctl), "%s", ctl);
}

__attribute__((constructor)) static void fd_init(void)
{
	pthread_once(&fd_once, fd_resolve);
}

enum fd_event { FD_FAILED, FD_DELAYED, FD_SYNC_AFTER_FAILURE };

/* One line on standard error, in one write. */
static void fd_say(enum fd_event ev, const char *call, const char *path, const char *what)
{
	char line[FD_PATH_MAX + 256];
	int n;

	if (ev == FD_FAILED)
		n = snprintf(line, sizeof(line), "faultdisk: %s %s: failed with %s (injected)\n",
		             call, path, what);
	else if (ev == FD_DELAYED)
		n = snprintf(line, sizeof(line), "faultdisk: %s %s: delayed %s ms\n", call, path,
		             what);
	else
		n = snprintf(line, sizeof(line),
		             "faultdisk: SYNC AFTER FAILURE: %s %s, whose sync failed before\n",
		             call, path);
	if (n > 0)
		(void)real_write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static uint64_t fd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *fd_errno_name(int e)
{
	return e == EIO ? "EIO" : e == ENOSPC ? "ENOSPC" : "EDQUOT";
}

static int fd_errno_named(const char *v)
{
	if (strcmp(v, "EIO") == 0)
		return EIO;
	if (strcmp(v, "ENOSPC") == 0)
		return ENOSPC;
	if (strcmp(v, "EDQUOT") == 0)
		return EDQUOT;
	return 0;
}

static void fd_parse_word(struct fd_rule *r, const char *w)
{
	const char *v = strchr(w, '=');
	size_t k;

	if (v == NULL)
		return;
	k = (size_t)(v - w);
	v++;
	if (k == 13 && strncmp(w, "sync_delay_ms", k) == 0) {
		char *end;

		r->delay_lo = (unsigned)strtoul(v, &end, 10);
		r->delay_hi = *end == '-' ? (unsigned)strtoul(end + 1, NULL, 10) : r->delay_lo;
		if (r->delay_hi > FD_DELAY_MAX)
			r->delay_hi = FD_DELAY_MAX;
		if (r->delay_lo > r->delay_hi)
			r->delay_lo = r->delay_hi;
	} else if (k == 10 && strncmp(w, "sync_errno", k) == 0) {
		r->sync_errno = fd_errno_named(v);
	} else if (k == 11 && strncmp(w, "write_errno", k) == 0) {
		r->write_errno = fd_errno_named(v);
	} else if (k == 9 && strncmp(w, "sync_fail", k) == 0) {
		r->sync_fail = strtol(v, NULL, 10);
	} else if (k == 10 && strncmp(w, "write_fail", k) == 0) {
		r->write_fail = strtol(v, NULL, 10);
	} else if (k == 5 && strncmp(w, "match", k) == 0) {
		snprintf(r->match, sizeof(r->match), "%s", v);
	} else if (k == 4 && strncmp(w, "seed", k) == 0) {
		r->seed = strtoull(v, NULL, 10);
	}
}

/* Reads the control file into fd_state.rule; with the lock held. */
static void fd_reload(void)
{
	struct fd_rule r = {.sync_fail = -1, .write_fail = -1, .seed = 1};
	char buf[FD_CTL_MAX + 1];
	struct stat st;
	ssize_t got;
	int fd;

	if (stat(fd_state.ctl, &st) != 0) {
		fd_state.armed = false;
		memset(&fd_state.ctl_st, 0, sizeof(fd_state.ctl_st));
		return;
	}
	if (st.st_ino == fd_state.ctl_st.st_ino && st.st_size == fd_state.ctl_st.st_size &&
	    st.st_mtim.tv_sec == fd_state.ctl_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == fd_state.ctl_st.st_mtim.tv_nsec)
		return;
	fd_state.ctl_st = st;
	fd = open(fd_state.ctl, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fd_state.armed = false;
		return;
	}
	got = read(fd, buf, FD_CTL_MAX);
	close(fd);
	buf[got > 0 ? got : 0] = '\0';
	for (char *save = NULL, *w = strtok_r(buf, " \t\r\n", &save); w != NULL;
	     w = strtok_r(NULL, " \t\r\n", &save))
		fd_parse_word(&r, w);
	if (r.seed == 0)
		r.seed = 1;
	fd_state.rule = r;
	fd_state.armed = r.delay_hi > 0 || r.sync_errno != 0 || r.write_errno != 0;
}

/* Whether FD's path lies under the folder (and contains match=); PATH gets
 * it. With the lock held, the rule armed. */
static bool fd_targets(int fd, char *path, size_t cap)
{
	char link[64];
	size_t n = strlen(fd_state.dir);
	ssize_t k;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	k = readlink(link, path, cap - 1);
	if (k <= 0)
		return false;
	path[k] = '\0';
	if (strncmp(path, fd_state.dir, n) != 0 || (path[n] != '/' && path[n] != '\0'))
		return false;
	return fd_state.rule.match[0] == '\0' || strstr(path, fd_state.rule.match) != NULL;
}

/* With the lock held: the rule in force, looked at again if it is time. */
static bool fd_armed(void)
{
	uint64_t now;

	pthread_once(&fd_once, fd_resolve);
	if (fd_state.dir[0] == '\0')
		return false;
	now = fd_now_ns();
	if (now >= fd_state.next_check_ns) {
		fd_state.next_check_ns = now + FD_RECHECK_NS;
		fd_reload();
	}
	return fd_state.armed;
}

static bool fd_was_failed(const char *path)
{
	for (size_t i = 0; i < fd_state.n_failed; i++)
		if (strcmp(fd_state.failed[i], path) == 0)
			return true;
	return false;
}

static unsigned fd_draw_delay(struct fd_rule *r)
{
	uint64_t x = r->seed;

	if (r->delay_hi == r->delay_lo)
		return r->delay_lo;
	x ^= x << 13; /* xorshift64 */
	x ^= x >> 7;
	x ^= x << 17;
	r->seed = x;
	return r->delay_lo + (unsigned)(x % (r->delay_hi - r->delay_lo + 1));
}

/* The sync CALL of FD: delayed, failed, or passed on to REAL. */
static int fd_sync(const char *call, int (*real)(int), int fd)
{
	char path[FD_PATH_MAX] = "", ms[16];
	unsigned delay = 0;
	int err = 0;

	pthread_mutex_lock(&fd_state.mu);
	if (!fd_armed() || !fd_targets(fd, path, sizeof(path))) {
		pthread_mutex_unlock(&fd_state.mu);
		return real(fd);
	}
	if (fd_was_failed(path))
		fd_say(FD_SYNC_AFTER_FAILURE, call, path, NULL);
	if (fd_state.rule.sync_errno != 0 && fd_state.rule.sync_fail != 0) {
		err = fd_state.rule.sync_errno;
		if (fd_state.rule.sync_fail > 0)
			fd_state.rule.sync_fail--;
		if (!fd_was_failed(path) && fd_state.n_failed < FD_FAILED_MAX)
			memcpy(fd_state.failed[fd_state.n_failed++], path, sizeof(path));
	}
	delay = fd_draw_delay(&fd_state.rule);
	pthread_mutex_unlock(&fd_state.mu);
	if (delay > 0) {
		struct timespec ts = {delay / 1000, (long)(delay % 1000) * 1000000};

		snprintf(ms, sizeof(ms), "%u", delay);
		fd_say(FD_DELAYED, call, path, ms);
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	if (err != 0) {
		fd_say(FD_FAILED, call, path, fd_errno_name(err));
		errno = err;
		return -1;
	}
	return real(fd);
}

/* Whether a write of FD fails; *ERR gets the errno. */
static bool fd_write_fails(const char *call, int fd, int *err)
{
	char path[FD_PATH_MAX] = "";
	bool fail = false;

	pthread_mutex_lock(&fd_state.mu);
	if (fd_armed() && fd_state.rule.write_errno != 0 && fd_state.rule.write_fail != 0 &&
	    fd_targets(fd, path, sizeof(path))) {
		fail = true;
		*err = fd_state.rule.write_errno;
		if (fd_state.rule.write_fail > 0)
			fd_state.rule.write_fail--;
	}
	pthread_mutex_unlock(&fd_state.mu);
	if (fail)
		fd_say(FD_FAILED, call, path, fd_errno_name(*err));
	return fail;
}

int fsync(int fd)
{
	pthread_once(&fd_once, fd_resolve);
	return fd_sync("fsync", real_fsync, fd);
}

int fdatasync(int fd)
{
	pthread_once(&fd_once, fd_resolve);
	return fd_sync("fdatasync", real_fdatasync, fd);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	int err;

	pthread_once(&fd_once, fd_resolve);
	if (fd > 2 && fd_write_fails("write", fd, &err)) {
		errno = err;
		return -1;
	}
	return real_write(fd, buf, len);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	int err;

	pthread_once(&fd_once, fd_resolve);
	if (fd_write_fails("pwrite", fd, &err)) {
		errno = err;
		return -1;
	}
	return real_pwrite(fd, buf, len, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
	int err;

	pthread_once(&fd_once, fd_resolve);
	if (fd_write_fails("pwrite64", fd, &err)) {
		errno = err;
		return -1;
	}
	return real_pwrite64(fd, buf, len, off);
}
