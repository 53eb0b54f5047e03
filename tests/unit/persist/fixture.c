/* tests/unit/persist/fixture.c: see fixture.h. */
#define _GNU_SOURCE
#include <ftw.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "state_fixture.h"

int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->root, "/tmp/persist-test-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->data, sizeof(f->data), "%s/data", f->root);
	assert_int_equal(persist_dir_open(f->data, &f->dir, &f->err), 0);
	*state = f;
	return 0;
}

int fx_teardown(void **state)
{
	struct fx *f = *state;

	persist_dir_close(f->dir);
	fx_rmtree(f->root);
	free(f);
	return 0;
}

void fx_reopen_dir(struct fx *f)
{
	persist_dir_close(f->dir);
	f->dir = NULL;
	assert_int_equal(persist_dir_open(f->data, &f->dir, &f->err), 0);
}

static size_t payload(char *buf, uint64_t index, uint64_t term)
{
	/* Lengths vary with the index (including 0) to exercise every size. */
	size_t len = (size_t)((index * 37) % FX_PAYLOAD_MAX);

	for (size_t i = 0; i < len; i++) {
		buf[i] = (char)('a' + (index + term * 7 + i) % 26);
	}
	return len;
}

void fx_entry(struct persist_entry *e, uint64_t index, uint64_t term, char *buf)
{
	e->index = index;
	e->term = term;
	e->type = (uint8_t)(index % 3);
	e->len = payload(buf, index, term);
	e->data = e->len > 0 ? buf : NULL;
}

void fx_assert_entry(const struct persist_entry *e, uint64_t index, uint64_t term)
{
	char buf[FX_PAYLOAD_MAX];
	size_t len = payload(buf, index, term);

	assert_int_equal(e->index, index);
	assert_int_equal(e->term, term);
	assert_int_equal(e->type, index % 3);
	assert_int_equal(e->len, len);
	if (len > 0) {
		assert_memory_equal(e->data, buf, len);
	}
}

void fx_append(struct persist_log *log, uint64_t first, size_t n, uint64_t term)
{
	struct persist_entry *e = calloc(n, sizeof(*e));
	char(*bufs)[FX_PAYLOAD_MAX] = calloc(n, FX_PAYLOAD_MAX);
	struct persist_write w = {.entries = e, .n_entries = n};
	struct persist_error err;

	assert_non_null(e);
	assert_non_null(bufs);
	for (size_t i = 0; i < n; i++) {
		fx_entry(&e[i], first + i, term, bufs[i]);
	}
	assert_int_equal(persist_log_write(log, &w, &err), 0);
	free(bufs);
	free(e);
}

const char *fx_path(const struct fx *f, const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", f->data, name);
	return path;
}

static struct rlimit savedFsize;

void fx_limit_file_size(size_t bytes)
{
	struct rlimit low;

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &savedFsize), 0);
	low = savedFsize;
	low.rlim_cur = bytes;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
}

void fx_unlimit_file_size(void)
{
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &savedFsize), 0);
}

static int rmOne(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void fx_rmtree(const char *path)
{
	nftw(path, rmOne, 16, FTW_DEPTH | FTW_PHYS);
}

/* The state machine of state_fixture.h. */

void sm_schema(struct persist_state *st)
{
	assert_int_equal(sqlite3_exec(persist_state_db(st),
	                              "CREATE TABLE IF NOT EXISTS kv(idx INTEGER PRIMARY KEY,"
	                              " v BLOB NOT NULL)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
}

int sm_apply(void *ctx, sqlite3 *db, const struct persist_entry *e)
{
	sqlite3_stmt *stmt;
	int rc;

	(void)ctx;
	rc = sqlite3_prepare_v2(db, "INSERT INTO kv VALUES (?1, ?2)", -1, &stmt, NULL);
	assert_int_equal(rc, SQLITE_OK);
	sqlite3_bind_int64(stmt, 1, (int64_t)e->index);
	sqlite3_bind_blob(stmt, 2, e->len > 0 ? e->data : "", (int)e->len, SQLITE_TRANSIENT);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		return 1;
	}
	return e->type == SM_TYPE_FAIL;
}

void sm_apply_range(struct persist_state *st, uint64_t first, uint64_t n)
{
	struct persist_entry *e = calloc(n, sizeof(*e));
	char(*bufs)[FX_PAYLOAD_MAX] = calloc(n, FX_PAYLOAD_MAX);
	struct persist_error err;

	assert_non_null(e);
	assert_non_null(bufs);
	for (uint64_t i = 0; i < n; i++) {
		fx_entry(&e[i], first + i, 1, bufs[i]);
	}
	assert_int_equal(persist_state_apply(st, e, n, sm_apply, NULL, &err), 0);
	free(bufs);
	free(e);
}

int64_t sm_rows(sqlite3 *db)
{
	sqlite3_stmt *stmt;
	int64_t n;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM kv", -1, &stmt, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return n;
}
