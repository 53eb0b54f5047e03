/* Integrity at start: damage on disk is detected when the files are opened,
 * and reported in one line; the open fails, so the node refuses to start
 * rather than serve corrupt state (reliability S18). The damage is done to
 * the closed files, byte by byte, as a failing disk would. */
#define _GNU_SOURCE /* memmem */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "persist/snapshot.h"
#include "state_fixture.h"

#define PAGE 4096 /* SQLite's default page size, used by both databases */

/* Reads a whole file into memory; *len gets its size. */
static unsigned char *slurp(const char *path, size_t *len)
{
	struct stat sb;
	unsigned char *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	buf = malloc((size_t)sb.st_size);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)sb.st_size), sb.st_size);
	close(fd);
	*len = (size_t)sb.st_size;
	return buf;
}

/* XORs mask into len bytes of the file at offset. */
static void damage(const char *path, size_t offset, size_t len, unsigned char mask)
{
	size_t size;
	unsigned char *buf = slurp(path, &size);
	int fd = open(path, O_WRONLY);

	assert_true(offset + len <= size);
	for (size_t i = 0; i < len; i++) {
		buf[offset + i] ^= mask;
	}
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf + offset, len, (off_t)offset), (ssize_t)len);
	close(fd);
	free(buf);
}

/* Offset of the first occurrence of needle in the file at path. */
static size_t find(const char *path, const void *needle, size_t n)
{
	size_t size;
	unsigned char *buf = slurp(path, &size);
	unsigned char *at = memmem(buf, size, needle, n);
	size_t off;

	assert_non_null(at);
	off = (size_t)(at - buf);
	free(buf);
	return off;
}

/* A stable copy of fx_path(f, name) in buf (512 bytes). */
static const char *path_of(const struct fx *f, const char *name, char *buf)
{
	snprintf(buf, 512, "%s", fx_path(f, name));
	return buf;
}

static void assert_one_line(const struct persist_error *err, const char *what)
{
	print_message("refused: %s\n", err->msg); /* what an operator would read */
	assert_non_null(strstr(err->msg, what));
	assert_null(strchr(err->msg, '\n'));
}

/* raft.db with entries 1..60 whose payloads are findable, closed (closing
 * the last connection checkpoints the WAL into raft.db). */
static void write_log(struct fx *f, const struct persist_hardstate *hs)
{
	struct persist_entry e[60];
	char bufs[60][32];
	struct persist_write w = {.hardstate = hs, .entries = e, .n_entries = 60};
	struct persist_log_state s;
	struct persist_log *log;

	for (int i = 0; i < 60; i++) {
		int n = snprintf(bufs[i], sizeof(bufs[i]), "payload-of-entry-%04d", i + 1);

		e[i] = (struct persist_entry){
		    .index = (uint64_t)i + 1, .term = 1, .data = bufs[i], .len = (size_t)n};
	}
	assert_int_equal(persist_log_open(f->dir, &log, &s, &f->err), 0);
	assert_int_equal(persist_log_write(log, &w, &f->err), 0);
	persist_log_state_free(&s);
	persist_log_close(log);
	assert_int_not_equal(access(fx_path(f, "raft.db-wal"), F_OK), 0);
}

static int open_log(struct fx *f)
{
	struct persist_log_state s;
	struct persist_log *log = NULL;
	int rv = persist_log_open(f->dir, &log, &s, &f->err);

	assert_true(rv != 0 || log != NULL);
	persist_log_close(log);
	persist_log_state_free(&s);
	return rv;
}

static void test_flipped_entry_byte_refuses_open(void **state)
{
	struct fx *f = *state;
	char buf[512];
	const char *path = path_of(f, "raft.db", buf);
	size_t at;

	write_log(f, NULL);
	at = find(path, "payload-of-entry-0042", 21);
	damage(path, at + 20, 1, 0x01); /* "...0042" becomes "...0043" */
	assert_int_equal(open_log(f), PERSIST_ECORRUPT);
	assert_one_line(&f->err, "entry 42 fails its checksum");
}

static void test_flipped_term_refuses_open(void **state)
{
	struct fx *f = *state;
	/* A term whose big-endian bytes (SQLite's integer encoding) are unique. */
	struct persist_hardstate hs = {.term = 0x0102030405060708ull, .vote = 3};
	const unsigned char be[] = {1, 2, 3, 4, 5, 6, 7, 8};
	char buf[512];
	const char *path = path_of(f, "raft.db", buf);

	write_log(f, &hs);
	damage(path, find(path, be, sizeof(be)) + 7, 1, 0x10);
	assert_int_equal(open_log(f), PERSIST_ECORRUPT);
	assert_one_line(&f->err, "hard state (term, vote) fails its checksum");
}

/* Runs sql on the closed database at path, as a buggy tool would. */
static void tamper(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* Rows that each pass their checksum but do not form a log: a hole, or a
 * log that no longer reaches the snapshot. */
static void test_missing_entry_refuses_open(void **state)
{
	struct fx *f = *state;
	char buf[512];
	const char *path = path_of(f, "raft.db", buf);

	write_log(f, NULL);
	tamper(path, "DELETE FROM entries WHERE idx = 30");
	assert_int_equal(open_log(f), PERSIST_ECORRUPT);
	assert_one_line(&f->err, "entry 31 follows entry 29");
}

static void test_log_detached_from_snapshot_refuses_open(void **state)
{
	struct fx *f = *state;
	char buf[512];
	const char *path = path_of(f, "raft.db", buf);

	write_log(f, NULL);
	tamper(path, "DELETE FROM entries WHERE idx <= 10");
	assert_int_equal(open_log(f), PERSIST_ECORRUPT);
	assert_one_line(&f->err, "entries 1..10 are missing after snapshot 0");
}

/* A damaged b-tree page of raft.db (the entries table's root). */
static void test_damaged_log_page_refuses_open(void **state)
{
	struct fx *f = *state;
	char buf[512];
	const char *path = path_of(f, "raft.db", buf);

	write_log(f, NULL);
	damage(path, find(path, "payload-of-entry-0001", 21) / PAGE * PAGE, 12, 0xA5);
	assert_int_equal(open_log(f), PERSIST_ECORRUPT);
	assert_one_line(&f->err, "raft.db");
}

/* A damaged page of state.db: the page header of the table the state
 * machine wrote. */
static void test_damaged_state_page_refuses_open(void **state)
{
	struct fx *f = *state;
	char buf[512];
	const char *path = path_of(f, "state.db", buf);
	struct persist_state *st;

	assert_int_equal(persist_state_open(f->dir, &st, &f->err), 0);
	sm_schema(st);
	sm_apply_range(st, 1, 200);
	persist_state_close(st);
	assert_int_not_equal(access(fx_path(f, "state.db-wal"), F_OK), 0);
	{
		size_t size;

		free(slurp(path, &size));
		assert_true(size >= 4 * PAGE);
		damage(path, 3 * PAGE, 12, 0xA5); /* page 4: a page of table kv */
	}
	st = NULL;
	assert_int_equal(persist_state_open(f->dir, &st, &f->err), PERSIST_ECORRUPT);
	assert_null(st);
	assert_one_line(&f->err, "state.db");
}

/* A snapshot whose bytes changed on disk is refused at start: the CRC in
 * its name no longer matches, whether the damage hit a page header or
 * only the data in a row. */
static void damage_snapshot_and_open(struct fx *f, size_t offset)
{
	struct persist_snapshot_meta m;
	struct persist_state *st;
	char name[96];

	assert_int_equal(persist_state_open(f->dir, &st, &f->err), 0);
	sm_schema(st);
	sm_apply_range(st, 1, 200);
	assert_int_equal(persist_snapshot_create(st, NULL, 0, &m, &f->err), 0);
	persist_state_close(st);
	snprintf(name, sizeof(name), "snap-%020d-%020d-%08x.db", 200, 1, (unsigned)m.crc);
	damage(fx_path(f, name), offset, 1, 0x04);
	persist_snapshot_meta_free(&m);
	assert_int_equal(persist_snapshot_latest(f->dir, &m, &f->err), PERSIST_ECORRUPT);
	assert_one_line(&f->err, "fails its checksum");
	/* ... and so is the node: opening state.db checks the newest snapshot. */
	assert_int_equal(persist_state_open(f->dir, &st, &f->err), PERSIST_ECORRUPT);
}

static void test_damaged_snapshot_page_refuses_open(void **state)
{
	damage_snapshot_and_open(*state, 3 * PAGE);
}

static void test_damaged_snapshot_row_refuses_open(void **state)
{
	damage_snapshot_and_open(*state, 4 * PAGE - 3); /* the end of page 4: row data */
}

static void test_not_a_database_refuses_open(void **state)
{
	struct fx *f = *state;
	char buf[512];
	const char *path = path_of(f, "raft.db", buf);

	write_log(f, NULL);
	damage(path, 0, 16, 0xFF); /* the "SQLite format 3" magic */
	assert_int_equal(open_log(f), PERSIST_ECORRUPT);
	assert_one_line(&f->err, "raft.db");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_flipped_entry_byte_refuses_open),
	    T(test_flipped_term_refuses_open),
	    T(test_missing_entry_refuses_open),
	    T(test_log_detached_from_snapshot_refuses_open),
	    T(test_damaged_log_page_refuses_open),
	    T(test_damaged_state_page_refuses_open),
	    T(test_damaged_snapshot_page_refuses_open),
	    T(test_damaged_snapshot_row_refuses_open),
	    T(test_not_a_database_refuses_open),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
