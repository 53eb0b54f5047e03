/* The client's own lease: it counts from the SEND time of the last
 * acknowledged keepalive (API.md, Sessions), warns a margin before the
 * deadline, and the kill schedule of coordctl lands before the deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lease.h"

#define TTL    10000
#define MARGIN 3000
#define T0     1000000 /* an arbitrary monotonic time */

static void lease_counts_from_the_send_time(void **state)
{
	struct coordc_lease l;

	(void)state;
	coordc_lease_init(&l, TTL, MARGIN, T0);
	assert_int_equal(coordc_lease_deadline(&l), T0 + TTL);
	/* Sent at T0+3000, answered much later: the deadline still counts from
	 * the send. */
	coordc_lease_renewed(&l, T0 + 3000);
	assert_int_equal(coordc_lease_deadline(&l), T0 + 3000 + TTL);
}

static void late_answer_of_an_older_keepalive_never_moves_the_lease_back(void **state)
{
	struct coordc_lease l;

	(void)state;
	coordc_lease_init(&l, TTL, MARGIN, T0);
	coordc_lease_renewed(&l, T0 + 6000);
	coordc_lease_renewed(&l, T0 + 3000);
	assert_int_equal(coordc_lease_deadline(&l), T0 + 6000 + TTL);
}

static void states_change_at_the_margin_and_at_the_deadline(void **state)
{
	struct coordc_lease l;

	(void)state;
	coordc_lease_init(&l, TTL, MARGIN, T0);
	assert_int_equal(coordc_lease_state_at(&l, T0), COORDC_LEASE_LIVE);
	assert_int_equal(coordc_lease_state_at(&l, T0 + TTL - MARGIN - 1), COORDC_LEASE_LIVE);
	assert_int_equal(coordc_lease_state_at(&l, T0 + TTL - MARGIN), COORDC_LEASE_EXPIRING);
	assert_int_equal(coordc_lease_state_at(&l, T0 + TTL - 1), COORDC_LEASE_EXPIRING);
	assert_int_equal(coordc_lease_state_at(&l, T0 + TTL), COORDC_LEASE_LOST);
}

static void session_not_found_ends_the_lease_at_once(void **state)
{
	struct coordc_lease l;

	(void)state;
	coordc_lease_init(&l, TTL, MARGIN, T0);
	coordc_lease_end(&l);
	assert_int_equal(coordc_lease_state_at(&l, T0 + 1), COORDC_LEASE_LOST);
	coordc_lease_renewed(&l, T0 + 2);
	assert_int_equal(coordc_lease_state_at(&l, T0 + 3), COORDC_LEASE_LOST);
}

static void keepalives_go_every_third_of_ttl_and_retry_fast_after_failure(void **state)
{
	struct coordc_lease l;

	(void)state;
	coordc_lease_init(&l, TTL, MARGIN, T0);
	assert_int_equal(coordc_lease_next_send(&l, T0 + 10, false), T0 + TTL / 3);
	/* After a failure: a gap after that attempt, however late it is now. */
	assert_int_equal(coordc_lease_next_send(&l, T0 + 4000, true), T0 + 4000 + TTL / 10);
	coordc_lease_init(&l, 100, 30, T0);
	assert_int_equal(coordc_lease_next_send(&l, T0, true), T0 + COORDC_RETRY_MIN_MS);
}

static void keepalive_never_waits_past_the_next_change_of_state(void **state)
{
	struct coordc_lease l;

	(void)state;
	coordc_lease_init(&l, TTL, MARGIN, T0);
	assert_int_equal(coordc_lease_attempt_timeout(&l, T0), TTL / 5);
	/* LIVE: until the margin point (T0 + 7000). */
	assert_int_equal(coordc_lease_attempt_timeout(&l, T0 + 6000), 1000);
	/* EXPIRING: until the deadline. */
	assert_int_equal(coordc_lease_attempt_timeout(&l, T0 + TTL - MARGIN), TTL / 5);
	assert_int_equal(coordc_lease_attempt_timeout(&l, T0 + TTL - 1500), 1500);
	assert_int_equal(coordc_lease_attempt_timeout(&l, T0 + TTL - 500), 500);
	assert_int_equal(coordc_lease_attempt_timeout(&l, T0 + TTL + 5), 1);
}

static void kill_schedule_lands_before_the_deadline_for_every_ttl(void **state)
{
	(void)state;
	for (uint32_t ttl = 1000; ttl <= 3600 * 1000; ttl += 997) {
		uint32_t grace, margin;

		coordc_lease_plan(ttl, &grace, &margin);
		/* SIGTERM at deadline - margin, SIGKILL a grace later: still a
		 * safety slack before the deadline. */
		assert_true(grace > 0 && grace <= COORDC_GRACE_MAX_MS);
		assert_true(margin - grace >= COORDC_SAFETY_MIN_MS);
		assert_true(margin - grace <= COORDC_SAFETY_MAX_MS);
		/* And at least one keepalive (at ttl/3) happens before the warning. */
		assert_true(margin < ttl - ttl / 3);
	}
}

static void kill_schedule_for_the_default_ttl(void **state)
{
	uint32_t grace, margin;

	(void)state;
	coordc_lease_plan(10000, &grace, &margin);
	assert_int_equal(grace, 2000);
	assert_int_equal(margin, 3000);
	coordc_lease_plan(1000, &grace, &margin);
	assert_int_equal(grace, 200);
	assert_int_equal(margin, 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(lease_counts_from_the_send_time),
	    cmocka_unit_test(late_answer_of_an_older_keepalive_never_moves_the_lease_back),
	    cmocka_unit_test(states_change_at_the_margin_and_at_the_deadline),
	    cmocka_unit_test(session_not_found_ends_the_lease_at_once),
	    cmocka_unit_test(keepalives_go_every_third_of_ttl_and_retry_fast_after_failure),
	    cmocka_unit_test(keepalive_never_waits_past_the_next_change_of_state),
	    cmocka_unit_test(kill_schedule_lands_before_the_deadline_for_every_ttl),
	    cmocka_unit_test(kill_schedule_for_the_default_ttl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
