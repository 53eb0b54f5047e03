/* The cluster clock (node_clock.h): what stamps entries, and why a jump of
 * a wall clock never shortens a lock-delay (C-1). Times are in ms; "mono"
 * is a node's own monotonic clock, whose zero is its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "node_clock.h"

#define FOUNDED_AT 1796400000000ull /* a founding node's wall clock */

static void a_founding_node_stamps_its_wall_clock_once_then_runs_on_monotonic_time(void **state)
{
	struct node_clock c = {0};
	uint64_t first;

	(void)state;
	first = node_clock_now(&c, 500, FOUNDED_AT);
	assert_int_equal(first, FOUNDED_AT);
	node_clock_follow(&c, 0, first, 500); /* what node_stamp_ms() does */
	/* The wall clock jumps an hour ahead, then a day back: no stamp sees it. */
	assert_int_equal(node_clock_now(&c, 1500, FOUNDED_AT + 3600000 + 1000), FOUNDED_AT + 1000);
	assert_int_equal(node_clock_now(&c, 2500, FOUNDED_AT - 86400000), FOUNDED_AT + 2000);
}

static void
a_follower_goes_on_from_the_last_stamp_it_took_counted_from_when_it_took_it(void **state)
{
	struct node_clock c = {0};

	(void)state;
	node_clock_follow(&c, 7, FOUNDED_AT + 40, 9000);
	assert_int_equal(node_clock_now(&c, 9000, 0), FOUNDED_AT + 40);
	assert_int_equal(node_clock_now(&c, 9250, 0), FOUNDED_AT + 290);
	/* A monotonic time read before the follow gives the stamp itself. */
	assert_int_equal(node_clock_now(&c, 8999, 0), FOUNDED_AT + 40);
	assert_int_equal(c.index, 7);
}

static void following_a_lower_stamp_moves_the_clock_back(void **state)
{
	struct node_clock c = {0};

	(void)state;
	/* A node that led (its clock far along) takes an entry of a new leader
	 * whose clock runs behind: it goes on from that entry, not from the
	 * higher of the two, so that its own next stamps cannot run ahead of
	 * the entries before them (C-1). */
	node_clock_follow(&c, 10, FOUNDED_AT + 60000, 100);
	node_clock_follow(&c, 11, FOUNDED_AT + 30000, 200);
	assert_int_equal(node_clock_now(&c, 300, 0), FOUNDED_AT + 30100);
}

/* C-1 over a failover: leader A, whose wall clock is right, expires a
 * session with a 1 s lock-delay; B, whose wall clock is 10 minutes ahead,
 * took the expiry 3 ms after A proposed it and leads 1.5 s later. B's first
 * stamps are at most the true time since the expiry after it: the
 * lock-delay lasts at least its second of true time. With wall-clock
 * stamps B would have granted the lock at once. */
static void over_a_failover_stamps_never_run_ahead_of_true_time(void **state)
{
	const uint64_t a_mono0 = 1000, b_mono0 = 777000; /* true time 0 on each */
	const uint64_t delay = 1000, b_ahead = 600000;
	struct node_clock a = {0}, b = {0};
	uint64_t expire, grant;

	(void)state;
	node_clock_follow(&a, 0, node_clock_now(&a, a_mono0, FOUNDED_AT), a_mono0);
	expire = node_clock_now(&a, a_mono0 + 5000, FOUNDED_AT + 5000); /* true 5.000 s */
	node_clock_follow(&b, 42, expire, b_mono0 + 5003);              /* true 5.003 s */
	/* True 6.500 s: B leads; the lock-delay ends at true 6.000 s at the
	 * earliest, and B's stamp may say so, but never more. */
	grant = node_clock_now(&b, b_mono0 + 6500, FOUNDED_AT + 6500 + b_ahead);
	assert_true(grant - expire <= 1500);
	assert_true(grant >= expire + delay); /* and the lock-delay did end */
	/* True 5.500 s: had B led then, its stamp would still be in the delay. */
	assert_true(node_clock_now(&b, b_mono0 + 5500, FOUNDED_AT + 5500 + b_ahead) <
	            expire + delay);
}

static void a_restart_goes_on_from_the_newer_of_the_log_and_the_state(void **state)
{
	struct node_clock c = {0};

	(void)state;
	/* The log holds an entry past what state.db applied: its stamp. */
	node_clock_start(&c, 12, FOUNDED_AT + 900, 10, FOUNDED_AT + 800, 50);
	assert_int_equal(c.index, 12);
	assert_int_equal(node_clock_now(&c, 60, 0), FOUNDED_AT + 910);
	/* The log compacted behind the state: the state's stamp. */
	node_clock_start(&c, 7, FOUNDED_AT + 500, 10, FOUNDED_AT + 800, 50);
	assert_int_equal(c.index, 10);
	assert_int_equal(node_clock_now(&c, 50, 0), FOUNDED_AT + 800);
	/* Nothing stamped anywhere: unset, the founding node's case. */
	node_clock_start(&c, 0, 0, 0, 0, 50);
	assert_false(c.set);
	/* An install moves a clock that follows an older entry, not a newer. */
	node_clock_start(&c, 5, FOUNDED_AT, 5, FOUNDED_AT, 0);
	node_clock_installed(&c, 40, FOUNDED_AT + 7000, 100);
	assert_int_equal(node_clock_now(&c, 100, 0), FOUNDED_AT + 7000);
	node_clock_installed(&c, 30, FOUNDED_AT + 5000, 200);
	assert_int_equal(c.index, 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        a_founding_node_stamps_its_wall_clock_once_then_runs_on_monotonic_time),
	    cmocka_unit_test(
	        a_follower_goes_on_from_the_last_stamp_it_took_counted_from_when_it_took_it),
	    cmocka_unit_test(following_a_lower_stamp_moves_the_clock_back),
	    cmocka_unit_test(over_a_failover_stamps_never_run_ahead_of_true_time),
	    cmocka_unit_test(a_restart_goes_on_from_the_newer_of_the_log_and_the_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
