/* state.db (persist/state.h): applying committed entries together with the
 * applied index (safety rule 6), and read-only handles for stale reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "state_fixture.h"

static struct persist_state *open_state(struct fx *f)
{
	struct persist_state *st;

	assert_int_equal(persist_state_open(f->dir, &st, &f->err), 0);
	sm_schema(st);
	return st;
}

static void test_fresh_state_applied_nothing(void **state)
{
	struct fx *f = *state;
	struct persist_state *st = open_state(f);

	assert_int_equal(persist_state_applied_index(st), 0);
	assert_int_equal(persist_state_applied_term(st), 0);
	assert_int_equal(sm_rows(persist_state_db(st)), 0);
	assert_ptr_equal(persist_state_dir(st), f->dir);
	persist_state_close(st);
}

static void test_apply_batch_records_applied_index(void **state)
{
	struct fx *f = *state;
	struct persist_state *st = open_state(f);

	sm_apply_range(st, 1, 25);
	sm_apply_range(st, 26, 5);
	assert_int_equal(persist_state_applied_index(st), 30);
	persist_state_close(st);

	st = open_state(f);
	assert_int_equal(persist_state_applied_index(st), 30);
	assert_int_equal(persist_state_applied_term(st), 1);
	assert_int_equal(sm_rows(persist_state_db(st)), 30);
	persist_state_close(st);
}

/* A failing entry rolls back the whole batch, its applied index included. */
static void test_failed_callback_rolls_back_batch(void **state)
{
	struct fx *f = *state;
	struct persist_state *st = open_state(f);
	struct persist_entry e[3] = {
	    {.index = 4, .term = 1}, {.index = 5, .term = 1}, {.index = 6, .term = 1}};

	sm_apply_range(st, 1, 3);
	e[2].type = SM_TYPE_FAIL;
	assert_int_equal(persist_state_apply(st, e, 3, sm_apply, NULL, &f->err), PERSIST_EAPPLY);
	assert_non_null(strstr(f->err.msg, "entry 6"));
	assert_int_equal(persist_state_applied_index(st), 3);
	assert_int_equal(sm_rows(persist_state_db(st)), 3);
	/* The same entries apply once the failure is gone. */
	e[2].type = 0;
	assert_int_equal(persist_state_apply(st, e, 3, sm_apply, NULL, &f->err), 0);
	assert_int_equal(sm_rows(persist_state_db(st)), 6);
	persist_state_close(st);
}

static void test_reader_sees_commits_and_cannot_write(void **state)
{
	struct fx *f = *state;
	struct persist_state *st = open_state(f);
	sqlite3 *reader;

	assert_int_equal(persist_state_open_reader(f->dir, &reader, &f->err), 0);
	assert_int_equal(sm_rows(reader), 0);
	sm_apply_range(st, 1, 7);
	assert_int_equal(sm_rows(reader), 7);
	assert_int_not_equal(sqlite3_exec(reader, "DELETE FROM kv", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sm_rows(reader), 7);
	sqlite3_close_v2(reader);
	persist_state_close(st);
}

/* Watched, the WAL is no longer checkpointed inside commits: it grows until
 * the owner checkpoints it (the bulk through another handle, the rest on
 * its own), and then starts again from its head at the next commit; the
 * data is all there throughout. */
static void test_watched_wal_is_checkpointed_by_the_owner(void **state)
{
	struct fx *f = *state;
	struct persist_state *st = open_state(f);
	int grown;

	persist_state_watch_wal(st);
	for (uint64_t i = 0; i < 40; i++)
		sm_apply_range(st, 1 + 50 * i, 50);
	grown = persist_state_wal_pages(st);
	assert_true(grown > 40); /* one commit or more per batch, none copied back */
	assert_int_equal(persist_state_checkpoint(f->dir, &f->err), 0);
	assert_int_equal(persist_state_checkpoint_tail(st, &f->err), 0);
	sm_apply_range(st, 2001, 1);
	assert_true(persist_state_wal_pages(st) < grown);
	assert_int_equal(sm_rows(persist_state_db(st)), 2001);
	assert_int_equal(persist_state_applied_index(st), 2001);
	persist_state_close(st);
}

/* Safety rule 7: a failed commit fails the handle; nothing of the batch,
 * nor its applied index, is kept. */
static void test_write_error_fails_handle(void **state)
{
	struct fx *f = *state;
	struct persist_state *st = open_state(f);
	static char big[32][16384];
	struct persist_entry e[32];
	int rv;

	sm_apply_range(st, 1, 2);
	for (int i = 0; i < 32; i++) {
		e[i] = (struct persist_entry){
		    .index = 3 + (uint64_t)i, .term = 1, .data = big[i], .len = sizeof(big[i])};
	}
	fx_limit_file_size(256 * 1024);
	rv = persist_state_apply(st, e, 32, sm_apply, NULL, &f->err);
	fx_unlimit_file_size();
	assert_int_equal(rv, PERSIST_EIO);
	assert_non_null(strstr(f->err.msg, "state.db"));
	assert_int_equal(persist_state_apply(st, e, 32, sm_apply, NULL, &f->err), PERSIST_EFAILED);
	persist_state_close(st);

	st = open_state(f);
	assert_int_equal(persist_state_applied_index(st), 2);
	assert_int_equal(sm_rows(persist_state_db(st)), 2);
	persist_state_close(st);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_fresh_state_applied_nothing),
	    T(test_apply_batch_records_applied_index),
	    T(test_failed_callback_rolls_back_batch),
	    T(test_reader_sees_commits_and_cannot_write),
	    T(test_write_error_fails_handle),
	    T(test_watched_wal_is_checkpointed_by_the_owner),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
