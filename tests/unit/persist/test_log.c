/* raft.db: the durable Raft log (persist/log.h), as a specification.
 * Each test: a scenario, an action, the outcome after reopening the file,
 * since only what survives a reopen counts as persisted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "persist/log.h"

/* Closes log and opens it again, returning what the reopen loaded. */
static struct persist_log *reopen(struct fx *f, struct persist_log *log,
                                  struct persist_log_state *s)
{
	persist_log_close(log);
	persist_log_state_free(s);
	assert_int_equal(persist_log_open(f->dir, &log, s, &f->err), 0);
	return log;
}

static void assert_loaded_range(const struct persist_log_state *s, uint64_t first, uint64_t last,
                                uint64_t term)
{
	assert_int_equal(s->entries.n, last + 1 - first);
	for (size_t i = 0; i < s->entries.n; i++) {
		fx_assert_entry(&s->entries.v[i], first + i, term);
	}
}

static void test_fresh_log_is_empty(void **state)
{
	struct fx *f = *state;
	struct persist_log_state s;
	struct persist_log *log;

	assert_int_equal(persist_log_open(f->dir, &log, &s, &f->err), 0);
	assert_int_equal(s.hardstate.term, 0);
	assert_int_equal(s.hardstate.vote, 0);
	assert_int_equal(s.snap_index, 0);
	assert_null(s.config.data);
	assert_int_equal(s.entries.n, 0);
	assert_int_equal(persist_log_first_index(log), 1);
	assert_int_equal(persist_log_last_index(log), 0);
	persist_log_state_free(&s);
	persist_log_close(log);
}

static void test_batch_with_hardstate_survives_reopen(void **state)
{
	struct fx *f = *state;
	struct persist_hardstate hs = {.term = 3, .vote = 2};
	struct persist_entry e[40];
	char bufs[40][FX_PAYLOAD_MAX];
	struct persist_write w = {.hardstate = &hs, .entries = e, .n_entries = 40};
	struct persist_log_state s;
	struct persist_log *log;

	assert_int_equal(persist_log_open(f->dir, &log, &s, &f->err), 0);
	for (int i = 0; i < 40; i++) {
		fx_entry(&e[i], (uint64_t)i + 1, 3, bufs[i]);
	}
	assert_int_equal(persist_log_write(log, &w, &f->err), 0);
	assert_int_equal(persist_log_last_index(log), 40);

	log = reopen(f, log, &s);
	assert_int_equal(s.hardstate.term, 3);
	assert_int_equal(s.hardstate.vote, 2);
	assert_loaded_range(&s, 1, 40, 3);
	assert_int_equal(persist_log_last_index(log), 40);
	persist_log_state_free(&s);
	persist_log_close(log);
}

/* Safety rule 1: a new term with no vote replaces term and vote together. */
static void test_hardstate_alone_replaces_term_and_vote(void **state)
{
	struct fx *f = *state;
	struct persist_hardstate voted = {.term = 5, .vote = 1};
	struct persist_hardstate newterm = {.term = 6, .vote = 0};
	struct persist_write w = {.hardstate = &voted};
	struct persist_log_state s;
	struct persist_log *log;

	assert_int_equal(persist_log_open(f->dir, &log, &s, &f->err), 0);
	assert_int_equal(persist_log_write(log, &w, &f->err), 0);
	w.hardstate = &newterm;
	assert_int_equal(persist_log_write(log, &w, &f->err), 0);

	log = reopen(f, log, &s);
	assert_int_equal(s.hardstate.term, 6);
	assert_int_equal(s.hardstate.vote, 0);
	assert_int_equal(persist_log_hardstate(log).term, 6);
	persist_log_state_free(&s);
	persist_log_close(log);
}

/* A follower's conflicting suffix is replaced in the same transaction as
 * the leader's entries (thesis §3.5). */
static void test_truncate_suffix_and_append(void **state)
{
	struct fx *f = *state;
	struct persist_entry e[3];
	char bufs[3][FX_PAYLOAD_MAX];
	struct persist_write w = {.truncate_from = 6, .entries = e, .n_entries = 3};
	struct persist_log_state s;
	struct persist_log *log;

	assert_int_equal(persist_log_open(f->dir, &log, &s, &f->err), 0);
	fx_append(log, 1, 10, 1);
	for (int i = 0; i < 3; i++) {
		fx_entry(&e[i], 6 + (uint64_t)i, 2, bufs[i]);
	}
	assert_int_equal(persist_log_write(log, &w, &f->err), 0);
	assert_int_equal(persist_log_last_index(log), 8);

	log = reopen(f, log, &s);
	assert_int_equal(s.entries.n, 8);
	for (int i = 0; i < 8; i++) {
		fx_assert_entry(&s.entries.v[i], (uint64_t)i + 1, i < 5 ? 1 : 2);
	}
	persist_log_state_free(&s);
	persist_log_close(log);
}

static void test_truncate_without_entries_shortens_log(void **state)
{
	struct fx *f = *state;
	struct persist_write w = {.truncate_from = 4};
	struct persist_log_state s;
	struct persist_log *log;

	assert_int_equal(persist_log_open(f->dir, &log, &s, &f->err), 0);
	fx_append(log, 1, 7, 1);
	assert_int_equal(persist_log_write(log, &w, &f->err), 0);
	assert_int_equal(persist_log_last_index(log), 3);
	fx_append(log, 4, 1, 2); /* the next append follows the cut */

	log = reopen(f, log, &s);
	assert_int_equal(s.entries.n, 4);
	fx_assert_entry(&s.entries.v[3], 4, 2);
	persist_log_state_free(&s);
	persist_log_close(log);
}

static void test_config_blob_roundtrip(void **state)
{
	struct fx *f = *state;
	static const char blob[] = "voters=1,2,3;learners=4";
	struct persist_config c = {.index = 9, .data = blob, .len = sizeof(blob)};
	struct persist_write w = {.config = &c};
	struct persist_log_state s;
	struct persist_log *log;

	assert_int_equal(persist_log_open(f->dir, &log, &s, &f->err), 0);
	assert_int_equal(persist_log_write(log, &w, &f->err), 0);

	log = reopen(f, log, &s);
	assert_int_equal(s.config.index, 9);
	assert_int_equal(s.config.len, sizeof(blob));
	assert_memory_equal(s.config.data, blob, sizeof(blob));
	persist_log_state_free(&s);
	persist_log_close(log);
}

static void test_read_range(void **state)
{
	struct fx *f = *state;
	struct persist_log_state s;
	struct persist_entries got;
	struct persist_log *log;

	assert_int_equal(persist_log_open(f->dir, &log, &s, &f->err), 0);
	fx_append(log, 1, 30, 4);
	assert_int_equal(persist_log_read(log, 11, 5, &got, &f->err), 0);
	assert_int_equal(got.n, 5);
	for (size_t i = 0; i < got.n; i++) {
		fx_assert_entry(&got.v[i], 11 + i, 4);
	}
	persist_entries_free(&got);
	assert_int_equal(persist_log_read(log, 31, 5, &got, &f->err), 0);
	assert_int_equal(got.n, 0);
	persist_entries_free(&got);
	persist_log_state_free(&s);
	persist_log_close(log);
}

/* Compaction behind a snapshot keeps a tail for slow followers, and
 * records the configuration as of the snapshot in the same transaction. */
static void test_compact_keeps_tail(void **state)
{
	static const char conf[] = "voters=1,2,3";
	const struct persist_config pc = {.index = 80, .data = conf, .len = sizeof(conf)};
	struct fx *f = *state;
	struct persist_log_state s;
	struct persist_log *log;

	assert_int_equal(persist_log_open(f->dir, &log, &s, &f->err), 0);
	fx_append(log, 1, 100, 2);
	assert_int_equal(persist_log_compact(log, 80, 2, 10, &pc, &f->err), 0);
	assert_int_equal(persist_log_first_index(log), 71);
	assert_int_equal(persist_log_last_index(log), 100);

	log = reopen(f, log, &s);
	assert_int_equal(s.snap_index, 80);
	assert_int_equal(s.snap_term, 2);
	assert_int_equal(s.config.index, 80);
	assert_int_equal(s.config.len, sizeof(conf));
	assert_memory_equal(s.config.data, conf, sizeof(conf));
	assert_loaded_range(&s, 71, 100, 2);
	assert_int_equal(persist_log_first_index(log), 71);
	persist_log_state_free(&s);
	persist_log_close(log);
}

static void test_compact_everything_then_append(void **state)
{
	struct fx *f = *state;
	struct persist_log_state s;
	struct persist_log *log;

	assert_int_equal(persist_log_open(f->dir, &log, &s, &f->err), 0);
	fx_append(log, 1, 20, 1);
	assert_int_equal(persist_log_compact(log, 20, 1, 0, NULL, &f->err), 0);
	assert_int_equal(persist_log_first_index(log), 21);
	assert_int_equal(persist_log_last_index(log), 20);
	fx_append(log, 21, 2, 1);

	log = reopen(f, log, &s);
	assert_loaded_range(&s, 21, 22, 1);
	persist_log_state_free(&s);
	persist_log_close(log);
}

/* Snapshot metadata never goes backwards (reliability P10, hashicorp #248). */
static void test_compact_backwards_refused(void **state)
{
	struct fx *f = *state;
	struct persist_log_state s;
	struct persist_log *log;

	assert_int_equal(persist_log_open(f->dir, &log, &s, &f->err), 0);
	fx_append(log, 1, 50, 1);
	assert_int_equal(persist_log_compact(log, 40, 1, 5, NULL, &f->err), 0);
	assert_int_equal(persist_log_compact(log, 30, 1, 5, NULL, &f->err), PERSIST_ESTALE);
	assert_non_null(strstr(f->err.msg, "behind"));
	assert_int_equal(persist_log_reset(log, 39, 1, NULL, &f->err), PERSIST_ESTALE);
	assert_int_equal(persist_log_snap_index(log), 40);
	persist_log_state_free(&s);
	persist_log_close(log);
}

/* After installing a leader's snapshot the old log is discarded entirely. */
static void test_reset_discards_log(void **state)
{
	struct fx *f = *state;
	static const char blob[] = "cfg";
	struct persist_config c = {.index = 500, .data = blob, .len = 3};
	struct persist_log_state s;
	struct persist_log *log;

	assert_int_equal(persist_log_open(f->dir, &log, &s, &f->err), 0);
	fx_append(log, 1, 10, 1);
	assert_int_equal(persist_log_reset(log, 500, 7, &c, &f->err), 0);
	assert_int_equal(persist_log_last_index(log), 500);
	fx_append(log, 501, 3, 7);

	log = reopen(f, log, &s);
	assert_int_equal(s.snap_index, 500);
	assert_int_equal(s.snap_term, 7);
	assert_int_equal(s.config.index, 500);
	assert_loaded_range(&s, 501, 503, 7);
	persist_log_state_free(&s);
	persist_log_close(log);
}

/* An empty ready (nothing to persist) is accepted and changes nothing. */
static void test_empty_write_is_a_no_op(void **state)
{
	struct fx *f = *state;
	struct persist_write empty = {0};
	struct persist_log_state s;
	struct persist_log *log;

	assert_int_equal(persist_log_open(f->dir, &log, &s, &f->err), 0);
	fx_append(log, 1, 3, 2);
	assert_int_equal(persist_log_write(log, &empty, &f->err), 0);
	assert_int_equal(persist_log_last_index(log), 3);

	log = reopen(f, log, &s);
	assert_loaded_range(&s, 1, 3, 2);
	persist_log_state_free(&s);
	persist_log_close(log);
}

static void test_limits_refused_without_failing(void **state)
{
	struct fx *f = *state;
	static struct persist_entry e[PERSIST_BATCH_MAX + 1];
	struct persist_write w = {.entries = e, .n_entries = PERSIST_BATCH_MAX + 1};
	struct persist_entry big = {.index = 1, .term = 1, .len = PERSIST_ENTRY_DATA_MAX + 1};
	struct persist_log_state s;
	struct persist_log *log;

	big.data = &big; /* never read: the length is refused first */
	assert_int_equal(persist_log_open(f->dir, &log, &s, &f->err), 0);
	assert_int_equal(persist_log_write(log, &w, &f->err), PERSIST_ELIMIT);
	w.entries = &big;
	w.n_entries = 1;
	assert_int_equal(persist_log_write(log, &w, &f->err), PERSIST_ELIMIT);
	assert_non_null(strstr(f->err.msg, "exceeds"));
	fx_append(log, 1, 1, 1); /* still usable */
	persist_log_state_free(&s);
	persist_log_close(log);
}

/* Safety rule 7: a write error is fatal, and nothing of the batch is
 * durable. */
static void test_write_error_fails_handle(void **state)
{
	struct fx *f = *state;
	struct persist_log_state s;
	struct persist_log *log;
	struct persist_entry e[64];
	static char big[64][16384];
	struct persist_write w = {.entries = e, .n_entries = 64};
	int rv;

	assert_int_equal(persist_log_open(f->dir, &log, &s, &f->err), 0);
	fx_append(log, 1, 5, 1);
	for (int i = 0; i < 64; i++) {
		e[i] = (struct persist_entry){
		    .index = 6 + (uint64_t)i, .term = 1, .data = big[i], .len = sizeof(big[i])};
	}
	fx_limit_file_size(256 * 1024);
	rv = persist_log_write(log, &w, &f->err);
	fx_unlimit_file_size();
	assert_int_equal(rv, PERSIST_EIO);
	assert_non_null(strstr(f->err.msg, "raft.db"));
	assert_int_equal(persist_log_write(log, &w, &f->err), PERSIST_EFAILED);
	assert_int_equal(persist_log_last_index(log), 5);

	log = reopen(f, log, &s); /* nothing of the failed batch is there */
	assert_loaded_range(&s, 1, 5, 1);
	persist_log_state_free(&s);
	persist_log_close(log);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_fresh_log_is_empty),
	    T(test_batch_with_hardstate_survives_reopen),
	    T(test_hardstate_alone_replaces_term_and_vote),
	    T(test_truncate_suffix_and_append),
	    T(test_truncate_without_entries_shortens_log),
	    T(test_config_blob_roundtrip),
	    T(test_read_range),
	    T(test_compact_keeps_tail),
	    T(test_compact_everything_then_append),
	    T(test_compact_backwards_refused),
	    T(test_reset_discards_log),
	    T(test_empty_write_is_a_no_op),
	    T(test_limits_refused_without_failing),
	    T(test_write_error_fails_handle),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
