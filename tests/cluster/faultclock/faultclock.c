/* faultclock: an LD_PRELOAD shim for fault tests (issue 23, S12) that
 * jumps a process's view of wall-clock time. Nothing in coordd knows of
 * it.
 *
 * Every read of the wall clock (clock_gettime of CLOCK_REALTIME and its
 * coarse and TAI variants, gettimeofday, time) answers the real time plus
 * an offset read from the file $FAULTCLOCK_CTL, which the test rewrites
 * (atomically: write another file, rename it over), at most every
 * FC_RECHECK_NS by its inode, size and modification time. The file holds
 * one word, offset_ms=N (N may be negative); no file, or an empty one,
 * means no offset. The monotonic clocks (CLOCK_MONOTONIC, CLOCK_BOOTTIME,
 * what libuv's timers and uv_hrtime read) are never touched: a jump of the
 * wall clock is what an operator's NTP step or a bad RTC does, and it does
 * not move them.
 *
 * Each change of the offset the process sees is one line on standard
 * error: "faultclock: wall clock offset now N ms". */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define FC_RECHECK_NS (10 * 1000 * 1000)              /* the control file, at most this often */
#define FC_CTL_MAX    256                             /* bytes of the control file read */
#define FC_OFFSET_MAX (10LL * 365 * 24 * 3600 * 1000) /* |offset|: ten years */

static struct {
	pthread_mutex_t mu;
	char ctl[4096]; /* empty: the shim adds nothing */
	struct stat ctl_st;
	uint64_t next_check_ns;
	long long offset_ms;
} fc_state = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int (*real_clock_gettime)(clockid_t, struct timespec *);
static pthread_once_t fc_once = PTHREAD_ONCE_INIT;

static void fc_resolve(void)
{
	const char *ctl = getenv("FAULTCLOCK_CTL");

	real_clock_gettime =
	    (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	if (real_clock_gettime == NULL)
		abort(); /* a test tool that cannot work must not pass quietly */
	if (ctl != NULL && strlen(ctl) < sizeof(fc_state.ctl))
		snprintf(fc_state.ctl, sizeof(fc_state.ctl), "%s", ctl);
}

__attribute__((constructor)) static void fc_init(void)
{
	pthread_once(&fc_once, fc_resolve);
}

static long long fc_parse(const char *text)
{
	const char *p = strstr(text, "offset_ms=");
	long long v;

	if (p == NULL)
		return 0;
	v = strtoll(p + strlen("offset_ms="), NULL, 10);
	return v > FC_OFFSET_MAX ? FC_OFFSET_MAX : v < -FC_OFFSET_MAX ? -FC_OFFSET_MAX : v;
}

/* The offset in force, the control file looked at again if it is time. */
static long long fc_offset(void)
{
	struct timespec mono;
	struct stat st;
	uint64_t now;
	long long off;

	pthread_once(&fc_once, fc_resolve);
	if (fc_state.ctl[0] == '\0')
		return 0;
	real_clock_gettime(CLOCK_MONOTONIC, &mono);
	now = (uint64_t)mono.tv_sec * 1000000000u + (uint64_t)mono.tv_nsec;
	pthread_mutex_lock(&fc_state.mu);
	if (now >= fc_state.next_check_ns) {
		fc_state.next_check_ns = now + FC_RECHECK_NS;
		if (stat(fc_state.ctl, &st) != 0) {
			memset(&fc_state.ctl_st, 0, sizeof(fc_state.ctl_st));
			st.st_ino = 0;
		}
		if (st.st_ino == 0) {
			off = 0;
		} else if (st.st_ino != fc_state.ctl_st.st_ino ||
		           st.st_size != fc_state.ctl_st.st_size ||
		           st.st_mtim.tv_sec != fc_state.ctl_st.st_mtim.tv_sec ||
		           st.st_mtim.tv_nsec != fc_state.ctl_st.st_mtim.tv_nsec) {
			char buf[FC_CTL_MAX + 1] = {0};
			FILE *f = fopen(fc_state.ctl, "r");

			fc_state.ctl_st = st;
			if (f != NULL) {
				size_t k = fread(buf, 1, FC_CTL_MAX, f);
				buf[k] = '\0';
				fclose(f);
			}
			off = fc_parse(buf);
		} else {
			off = fc_state.offset_ms;
		}
		if (off != fc_state.offset_ms) {
			char line[96];
			int n = snprintf(line, sizeof(line),
			                 "faultclock: wall clock offset now %lld ms\n", off);
			fc_state.offset_ms = off;
			if (n > 0)
				(void)!write(2, line, (size_t)n);
		}
	}
	off = fc_state.offset_ms;
	pthread_mutex_unlock(&fc_state.mu);
	return off;
}

static int fc_is_wall(clockid_t id)
{
	return id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE || id == CLOCK_TAI;
}

static void fc_shift(struct timespec *ts, long long off_ms)
{
	long long ns = (long long)ts->tv_nsec + (off_ms % 1000) * 1000000LL;

	ts->tv_sec += (time_t)(off_ms / 1000);
	if (ns < 0) {
		ns += 1000000000LL;
		ts->tv_sec -= 1;
	} else if (ns >= 1000000000LL) {
		ns -= 1000000000LL;
		ts->tv_sec += 1;
	}
	ts->tv_nsec = (long)ns;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	int rc;

	pthread_once(&fc_once, fc_resolve);
	rc = real_clock_gettime(id, ts);
	if (rc == 0 && fc_is_wall(id))
		fc_shift(ts, fc_offset());
	return rc;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;

	(void)tz;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return -1;
	tv->tv_sec = ts.tv_sec; /* glibc declares TV non-null */
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t time(time_t *out)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return (time_t)-1;
	if (out != NULL)
		*out = ts.tv_sec;
	return ts.tv_sec;
}
