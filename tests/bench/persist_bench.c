/* persist-bench: how fast raft.db makes entries durable, beside how fast the
 * same disk can fsync at all.
 *
 * Usage: persist-bench [folder] [seconds-per-figure]
 * Works in a fresh folder made inside `folder` (default /tmp, so on the disk
 * that holds it) and removes it afterwards. Prints, for one run:
 *   - raw: write(4 KiB) + fdatasync() per iteration, appending to one file,
 *     then overwriting a preallocated one;
 *   - raft.db: persist_log_write() of batches of 1, 16 and 256 entries of
 *     ENTRY_BYTES each, every batch one transaction and one fsync (group
 *     commit), with entries/s, batches/s and batches per raw fsync.
 * Asserts nothing: figures depend on the machine and on its other load. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "persist/dir.h"
#include "persist/log.h"

#define ENTRY_BYTES         100
#define RAW_BYTES           4096
#define BATCH_MAX           256
#define RAW_PREALLOC_BLOCKS 1024 /* 4 MiB overwritten in place */
#define DEFAULT_SECS        2.0

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "persist-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Writes RAW_BYTES and fdatasyncs, for secs; returns syncs per second.
 * Appending also makes the file size durable each time; overwriting a
 * preallocated file does not, which is how SQLite reuses its WAL after the
 * first checkpoint. Both are shown, since they bracket what SQLite pays. */
static double bench_raw(const char *folder, int append, double secs)
{
	char path[1100];
	static char block[RAW_BYTES];
	double start;
	double elapsed;
	long n = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/raw", folder);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		die("create raw file");
	}
	memset(block, 'r', sizeof(block));
	for (int i = 0; !append && i < RAW_PREALLOC_BLOCKS; i++) {
		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block)) {
			die("preallocate");
		}
	}
	if (fsync(fd) != 0) {
		die("fsync");
	}
	start = now();
	do {
		off_t at =
		    append ? (off_t)n * RAW_BYTES : (off_t)(n % RAW_PREALLOC_BLOCKS) * RAW_BYTES;

		if (pwrite(fd, block, sizeof(block), at) != (ssize_t)sizeof(block) ||
		    fdatasync(fd) != 0) {
			die("raw write");
		}
		n++;
		elapsed = now() - start;
	} while (elapsed < secs);
	close(fd);
	unlink(path);
	return (double)n / elapsed;
}

/* Appends batches of `batch` entries for secs; returns batches per second. */
static double bench_log(struct persist_log *log, size_t batch, double secs, long *entries)
{
	static struct persist_entry e[BATCH_MAX];
	static char payload[ENTRY_BYTES];
	struct persist_error err;
	uint64_t next = persist_log_last_index(log) + 1;
	double start;
	double elapsed;
	long batches = 0;

	memset(payload, 'e', sizeof(payload));
	start = now();
	do {
		struct persist_write w = {.entries = e, .n_entries = batch};

		for (size_t i = 0; i < batch; i++) {
			e[i] = (struct persist_entry){
			    .index = next + i, .term = 1, .data = payload, .len = ENTRY_BYTES};
		}
		if (persist_log_write(log, &w, &err) != 0) {
			fprintf(stderr, "persist-bench: %s\n", err.msg);
			exit(1);
		}
		next += batch;
		batches++;
		elapsed = now() - start;
	} while (elapsed < secs);
	*entries = batches * (long)batch;
	return (double)batches / elapsed;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(int argc, char **argv)
{
	const size_t batches[] = {1, 16, 256};
	const char *base = argc > 1 ? argv[1] : "/tmp";
	double secs = argc > 2 ? atof(argv[2]) : DEFAULT_SECS;
	char folder[1024];
	char data[1100];
	struct persist_log_state s;
	struct persist_log *log;
	struct persist_dir *dir;
	struct persist_error err;
	double raw;
	double raw_inplace;

	snprintf(folder, sizeof(folder), "%s/persist-bench-XXXXXX", base);
	if (secs <= 0 || mkdtemp(folder) == NULL) {
		fprintf(stderr, "usage: persist-bench [folder] [seconds-per-figure]\n");
		return 2;
	}
	snprintf(data, sizeof(data), "%s/data", folder);
	if (persist_dir_open(data, &dir, &err) != 0 || persist_log_open(dir, &log, &s, &err) != 0) {
		fprintf(stderr, "persist-bench: %s\n", err.msg);
		return 1;
	}
	persist_log_state_free(&s);
	raw = bench_raw(folder, 1, secs);
	raw_inplace = bench_raw(folder, 0, secs);
	printf("folder %s, %.1f s per figure, entries of %d bytes\n", folder, secs, ENTRY_BYTES);
	printf("raw write(4 KiB)+fdatasync, appending:   %8.0f syncs/s\n", raw);
	printf("raw write(4 KiB)+fdatasync, overwriting: %8.0f syncs/s\n", raw_inplace);
	for (size_t i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
		long entries = 0;
		double per_s = bench_log(log, batches[i], secs, &entries);

		printf(
		    "raft.db batch %3zu: %9.0f entries/s %6.0f batches/s (%.2f x appending rate)\n",
		    batches[i], per_s * (double)batches[i], per_s, per_s / raw);
	}
	persist_log_close(log);
	persist_dir_close(dir);
	nftw(folder, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
