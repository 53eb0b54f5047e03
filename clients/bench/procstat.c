/* CPU time and memory of processes: the servers under test (from /proc, by
 * the pids the caller passes) and coord-bench itself (getrusage), so every
 * report shows whether the load generator had CPU to spare. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

uint64_t bench_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

double bench_self_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* utime and stime are fields 14 and 15 of /proc/PID/stat; the command name
 * (field 2) may hold spaces, so counting starts after its closing ')'. */
static int read_cpu(int pid, double *cpu_s)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return BENCH_EPROC;
	}
	size_t n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	const char *p = strrchr(line, ')');
	unsigned long utime = 0, stime = 0;
	/* After ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime(14) stime(15). */
	if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	                        &utime, &stime) != 2) {
		return BENCH_EPROC;
	}
	*cpu_s = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

static int read_mem(int pid, long *hwm_kib, long *rss_kib)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return BENCH_EPROC;
	}
	*hwm_kib = *rss_kib = -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		sscanf(line, "VmHWM: %ld", hwm_kib);
		sscanf(line, "VmRSS: %ld", rss_kib);
	}
	fclose(f);
	return *hwm_kib < 0 || *rss_kib < 0 ? BENCH_EPROC : 0;
}

int bench_proc_read(int pid, struct bench_proc *p)
{
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	int rc = read_cpu(pid, &p->cpu_s);
	if (rc == 0) {
		rc = read_mem(pid, &p->hwm_kib, &p->rss_kib);
	}
	return rc;
}

void bench_window_mark(const struct bench_options *o, struct bench_result *r, int end)
{
	double self = bench_self_cpu_s();
	r->self_cpu_s = end ? self - r->self_cpu_s : self;
	r->n_server = o->n_pids;
	for (int i = 0; i < o->n_pids; i++) {
		struct bench_proc now;
		if (bench_proc_read(o->pids[i], &now) != 0) {
			now.pid = o->pids[i];
			now.hwm_kib = now.rss_kib = -1;
			now.cpu_s = r->server[i].cpu_s; /* gone: report no CPU */
		}
		if (end) {
			now.cpu_s -= r->server[i].cpu_s;
		}
		r->server[i] = now;
	}
}
