/* Locks: grants, fencing tokens, FIFO queues, shared and exclusive modes,
 * release, cancel and retries (API.md, Locks; sm.h SM-2, SM-3, SM-5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sm_fixture.h"

#define EX COORD_MODE_EXCLUSIVE
#define SH COORD_MODE_SHARED

/* Sessions 1..N open with the default TTL and no lock-delay. */
static void openSessions(struct fx *f, unsigned n)
{
	for (unsigned s = 1; s <= n; s++)
		assert_int_equal(fx_open(f, s, FX_TTL, 0), COORD_ST_OK);
}

static void test_grant_token_is_entry_index(void **state)
{
	struct fx *f = *state;

	openSessions(f, 1);
	assert_int_equal(fx_lock(f, 1, "a", EX, false), COORD_ST_OK);
	assert_int_equal(f->r.token, f->index);
	assert_int_equal(fx_token(f, 1, "a"), f->index);
	assert_int_equal(f->r.n_grants, 0); /* its own grant is the answer */
}

static void test_try_lock_on_held_lock_answers_holders(void **state)
{
	struct fx *f = *state;
	uint64_t token;

	openSessions(f, 2);
	fx_lock(f, 1, "a", EX, false);
	token = f->r.token;
	assert_int_equal(fx_lock(f, 2, "a", EX, false), COORD_ST_LOCK_HELD);
	assert_int_equal(f->r.n_holders, 1);
	assert_int_equal(f->r.holders[0].token, token);
	assert_false(fx_waiting(f, 2, "a")); /* a try-lock never queues */
}

static void test_waiters_are_granted_in_fifo_order(void **state)
{
	struct fx *f = *state;

	openSessions(f, 4);
	fx_lock(f, 1, "a", EX, false);
	assert_int_equal(fx_lock(f, 3, "a", EX, true), COORD_ST_QUEUED);
	assert_int_equal(fx_lock(f, 2, "a", EX, true), COORD_ST_QUEUED);
	assert_int_equal(fx_lock(f, 4, "a", EX, true), COORD_ST_QUEUED);

	fx_unlock(f, 1, "a");
	assert_true(fx_granted(f, 3, "a"));
	assert_int_equal(f->r.n_grants, 1);
	fx_unlock(f, 3, "a");
	assert_true(fx_granted(f, 2, "a"));
	fx_unlock(f, 2, "a");
	assert_true(fx_granted(f, 4, "a"));
}

static void test_release_grants_next_waiter_in_same_entry(void **state)
{
	struct fx *f = *state;

	openSessions(f, 2);
	fx_lock(f, 1, "a", EX, false);
	fx_lock(f, 2, "a", EX, true);
	assert_int_equal(fx_unlock(f, 1, "a"), COORD_ST_OK);
	assert_true(f->r.released);
	assert_int_equal(f->r.n_grants, 1);
	assert_true(fx_granted(f, 2, "a"));
	assert_int_equal(f->r.grants[0].kind, COORD_KIND_LOCK);
	assert_int_equal(f->r.grants[0].mode, EX);
	assert_int_equal(fx_token(f, 2, "a"), f->index);
}

static void test_shared_holders_coexist(void **state)
{
	struct fx *f = *state;

	openSessions(f, 3);
	assert_int_equal(fx_lock(f, 1, "a", SH, false), COORD_ST_OK);
	assert_int_equal(fx_lock(f, 2, "a", SH, false), COORD_ST_OK);
	assert_int_equal(fx_lock(f, 3, "a", EX, false), COORD_ST_LOCK_HELD);
	assert_int_equal(f->r.n_holders, 2);
}

static void test_shared_request_waits_behind_queued_exclusive(void **state)
{
	struct fx *f = *state;

	openSessions(f, 3);
	fx_lock(f, 1, "a", SH, false);
	assert_int_equal(fx_lock(f, 2, "a", EX, true), COORD_ST_QUEUED);
	/* Compatible with the shared holder, but no writer starvation. */
	assert_int_equal(fx_lock(f, 3, "a", SH, false), COORD_ST_LOCK_HELD);
	assert_int_equal(fx_lock(f, 3, "a", SH, true), COORD_ST_QUEUED);
	fx_unlock(f, 1, "a");
	assert_true(fx_granted(f, 2, "a"));
	assert_false(fx_granted(f, 3, "a"));
	fx_unlock(f, 2, "a");
	assert_true(fx_granted(f, 3, "a"));
}

static void test_run_of_shared_waiters_granted_together(void **state)
{
	struct fx *f = *state;

	openSessions(f, 5);
	fx_lock(f, 1, "a", EX, false);
	fx_lock(f, 2, "a", SH, true);
	fx_lock(f, 3, "a", SH, true);
	fx_lock(f, 4, "a", EX, true);
	fx_lock(f, 5, "a", SH, true);
	fx_unlock(f, 1, "a");
	assert_int_equal(f->r.n_grants, 2);
	assert_true(fx_granted(f, 2, "a"));
	assert_true(fx_granted(f, 3, "a"));
	assert_true(fx_waiting(f, 4, "a"));
	assert_true(fx_waiting(f, 5, "a")); /* behind the exclusive one */
}

static void test_tokens_increase_across_locks(void **state)
{
	struct fx *f = *state;
	uint64_t last = 0;

	openSessions(f, 2);
	for (int round = 0; round < 5; round++) {
		const char *name = round % 2 ? "b" : "a";

		fx_lock(f, 1, name, EX, false);
		assert_true(f->r.token > last);
		last = f->r.token;
		fx_lock(f, 2, name, EX, true);
		fx_unlock(f, 1, name);
		assert_true(f->r.grants[0].token > last);
		last = f->r.grants[0].token;
		fx_unlock(f, 2, name);
	}
}

static void test_reacquire_in_same_mode_answers_same_grant(void **state)
{
	struct fx *f = *state;
	uint64_t token, hash;

	openSessions(f, 2);
	fx_lock(f, 1, "a", EX, false);
	token = f->r.token;
	hash = fx_hash(f);
	assert_int_equal(fx_lock(f, 1, "a", EX, true), COORD_ST_OK);
	assert_int_equal(f->r.token, token);
	assert_int_equal(fx_hash(f), hash); /* a retry changes nothing */
	/* A retried queued acquire stays where it is in the queue. */
	fx_lock(f, 2, "a", EX, true);
	hash = fx_hash(f);
	assert_int_equal(fx_lock(f, 2, "a", EX, true), COORD_ST_QUEUED);
	assert_int_equal(fx_hash(f), hash);
}

static void test_acquire_in_other_mode_by_holder_is_refused(void **state)
{
	struct fx *f = *state;

	openSessions(f, 1);
	fx_lock(f, 1, "a", SH, false);
	assert_int_equal(fx_lock(f, 1, "a", EX, false), COORD_ST_LOCK_HELD);
	assert_int_equal(fx_token(f, 1, "a"), f->index - 1);
}

static void test_release_by_non_holder_is_ok_and_not_released(void **state)
{
	struct fx *f = *state;
	uint64_t hash;

	openSessions(f, 2);
	fx_lock(f, 1, "a", EX, false);
	hash = fx_hash(f);
	assert_int_equal(fx_unlock(f, 2, "a"), COORD_ST_OK);
	assert_false(f->r.released);
	assert_int_equal(fx_hash(f), hash);
	assert_int_equal(fx_unlock(f, 1, "a"), COORD_ST_OK);
	assert_true(f->r.released);
	assert_int_equal(fx_unlock(f, 1, "a"), COORD_ST_OK); /* retried */
	assert_false(f->r.released);
	assert_null(fx_lock_json(f, "a")); /* a free lock does not exist */
}

static void test_release_by_waiter_withdraws_the_wait(void **state)
{
	struct fx *f = *state;

	openSessions(f, 2);
	fx_lock(f, 1, "a", EX, false);
	fx_lock(f, 2, "a", EX, true);
	assert_int_equal(fx_unlock(f, 2, "a"), COORD_ST_OK);
	assert_false(f->r.released);
	assert_false(fx_waiting(f, 2, "a"));
}

static void test_cancel_withdraws_wait_and_answers_holders(void **state)
{
	struct fx *f = *state;

	openSessions(f, 2);
	fx_lock(f, 1, "a", EX, false);
	fx_lock(f, 2, "a", EX, true);
	assert_int_equal(fx_cancel(f, 2, COORD_KIND_LOCK, "a"), COORD_ST_LOCK_HELD);
	assert_int_equal(f->r.n_holders, 1);
	assert_false(fx_waiting(f, 2, "a"));
	fx_unlock(f, 1, "a");
	assert_int_equal(f->r.n_grants, 0);
}

static void test_cancel_after_grant_answers_the_grant(void **state)
{
	struct fx *f = *state;
	uint64_t token;

	openSessions(f, 2);
	fx_lock(f, 1, "a", EX, false);
	fx_lock(f, 2, "a", EX, true);
	fx_unlock(f, 1, "a");
	token = f->index;
	assert_int_equal(fx_cancel(f, 2, COORD_KIND_LOCK, "a"), COORD_ST_OK);
	assert_int_equal(f->r.token, token);
	assert_int_equal(fx_token(f, 2, "a"), token); /* still held */
	assert_int_equal(fx_cancel(f, 1, COORD_KIND_LOCK, "a"), COORD_ST_NOT_FOUND);
}

static void test_cancel_of_queued_exclusive_lets_shared_through(void **state)
{
	struct fx *f = *state;

	openSessions(f, 3);
	fx_lock(f, 1, "a", SH, false);
	fx_lock(f, 2, "a", EX, true);
	fx_lock(f, 3, "a", SH, true);
	fx_cancel(f, 2, COORD_KIND_LOCK, "a");
	assert_true(fx_granted(f, 3, "a"));
	assert_int_equal(fx_token(f, 3, "a"), f->index);
}

static void test_unknown_session_is_refused(void **state)
{
	struct fx *f = *state;
	uint64_t hash = fx_hash(f);

	assert_int_equal(fx_lock(f, 9, "a", EX, false), COORD_ST_SESSION_NOT_FOUND);
	assert_int_equal(fx_unlock(f, 9, "a"), COORD_ST_SESSION_NOT_FOUND);
	assert_int_equal(fx_cancel(f, 9, COORD_KIND_LOCK, "a"), COORD_ST_SESSION_NOT_FOUND);
	assert_int_equal(fx_hash(f), hash);
}

static void test_locks_and_elections_are_separate_namespaces(void **state)
{
	struct fx *f = *state;

	openSessions(f, 2);
	fx_lock(f, 1, "x", EX, false);
	assert_int_equal(fx_campaign(f, 2, "x", "v", false), COORD_ST_OK);
	assert_int_equal(fx_token(f, 1, "x"), f->index - 1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_grant_token_is_entry_index),
	    T(test_try_lock_on_held_lock_answers_holders),
	    T(test_waiters_are_granted_in_fifo_order),
	    T(test_release_grants_next_waiter_in_same_entry),
	    T(test_shared_holders_coexist),
	    T(test_shared_request_waits_behind_queued_exclusive),
	    T(test_run_of_shared_waiters_granted_together),
	    T(test_tokens_increase_across_locks),
	    T(test_reacquire_in_same_mode_answers_same_grant),
	    T(test_acquire_in_other_mode_by_holder_is_refused),
	    T(test_release_by_non_holder_is_ok_and_not_released),
	    T(test_release_by_waiter_withdraws_the_wait),
	    T(test_cancel_withdraws_wait_and_answers_holders),
	    T(test_cancel_after_grant_answers_the_grant),
	    T(test_cancel_of_queued_exclusive_lets_shared_through),
	    T(test_unknown_session_is_refused),
	    T(test_locks_and_elections_are_separate_namespaces),
	};

	return cmocka_run_group_tests_name("coord_sm_locks", tests, NULL, NULL);
}
