/* libcoord's retry policy: every attempt is classified ok / definite error /
 * unknown (DESIGN.md, safety rule 12), and retries back off exponentially
 * with jitter, capped, never sooner than a server's Retry-After. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "policy.h"

static struct coordc_verdict answered(long status, bool idempotent)
{
	return coordc_classify(COORDC_ANSWERED, status, idempotent);
}

static void success_statuses_are_ok_and_final(void **state)
{
	(void)state;
	for (long s = 200; s < 300; s++) {
		assert_int_equal(answered(s, false).kind, COORDC_DONE_OK);
		assert_false(answered(s, true).retry);
	}
}

static void refusals_are_definite_and_not_retried(void **state)
{
	const long refused[] = {400, 404, 405, 409, 413, 423, 429, 500};

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct coordc_verdict v = answered(refused[i], true);

		assert_int_equal(v.kind, COORDC_DONE_ERROR);
		assert_false(v.retry);
	}
}

static void no_leader_503_is_definite_and_retried_after_rediscovery(void **state)
{
	struct coordc_verdict v = answered(503, false);

	(void)state;
	assert_int_equal(v.kind, COORDC_DONE_ERROR);
	assert_true(v.retry);
	assert_true(v.rediscover);
}

static void timeout_504_is_unknown_and_retried_only_when_idempotent(void **state)
{
	(void)state;
	assert_int_equal(answered(504, false).kind, COORDC_DONE_UNKNOWN);
	assert_false(answered(504, false).retry);
	assert_int_equal(answered(504, true).kind, COORDC_DONE_UNKNOWN);
	assert_true(answered(504, true).retry);
}

static void unsent_request_is_definite_and_retried_elsewhere(void **state)
{
	struct coordc_verdict v = coordc_classify(COORDC_NOT_SENT, 0, false);

	(void)state;
	assert_int_equal(v.kind, COORDC_DONE_ERROR);
	assert_true(v.retry);
	assert_true(v.rediscover);
}

static void answer_lost_after_send_is_unknown(void **state)
{
	(void)state;
	assert_int_equal(coordc_classify(COORDC_LOST_AFTER_SEND, 0, false).kind,
	                 COORDC_DONE_UNKNOWN);
	assert_false(coordc_classify(COORDC_LOST_AFTER_SEND, 0, false).retry);
	assert_true(coordc_classify(COORDC_LOST_AFTER_SEND, 0, true).retry);
	assert_true(coordc_classify(COORDC_LOST_AFTER_SEND, 0, true).rediscover);
}

static void backoff_doubles_within_jitter_and_stops_at_the_cap(void **state)
{
	uint64_t rng = 42;

	(void)state;
	for (int round = 0; round < 200; round++) {
		uint64_t ceiling = 100;

		for (unsigned a = 1; a <= 10; a++) {
			uint64_t d = coordc_backoff_ms(a, 100, 3000, 0, &rng);

			/* Equal jitter: within [ceiling/2, ceiling]. */
			assert_in_range(d, ceiling / 2, ceiling);
			ceiling = ceiling * 2 > 3000 ? 3000 : ceiling * 2;
		}
	}
}

static void backoff_jitter_spreads_clients_apart(void **state)
{
	uint64_t rng = 7, seen_low = UINT64_MAX, seen_high = 0;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		uint64_t d = coordc_backoff_ms(4, 100, 10000, 0, &rng);

		seen_low = d < seen_low ? d : seen_low;
		seen_high = d > seen_high ? d : seen_high;
	}
	/* Attempt 4 waits within [400, 800]: the draws cover most of it. */
	assert_in_range(seen_low, 400, 450);
	assert_in_range(seen_high, 750, 800);
}

static void backoff_honours_retry_after_but_not_beyond_the_cap(void **state)
{
	uint64_t rng = 9;

	(void)state;
	assert_int_equal(coordc_backoff_ms(1, 50, 2000, 1000, &rng), 1000);
	assert_int_equal(coordc_backoff_ms(1, 50, 2000, 60000, &rng), 2000);
}

static void same_seed_gives_the_same_schedule(void **state)
{
	uint64_t a = 1234, b = 1234;

	(void)state;
	for (unsigned i = 1; i < 20; i++)
		assert_int_equal(coordc_backoff_ms(i, 10, 5000, 0, &a),
		                 coordc_backoff_ms(i, 10, 5000, 0, &b));
}

/* A session's numbers rise past the client's last and the server's, and
 * keep up with the clock, so one process after another numbers upwards. */
static void seq_rises_past_last_and_server_and_follows_the_clock(void **state)
{
	(void)state;
	assert_int_equal(coordc_seq_after(0, 0, 1000), 1000);
	assert_int_equal(coordc_seq_after(1000, 0, 1000), 1001); /* the same microsecond */
	assert_int_equal(coordc_seq_after(1000, 0, 999), 1001);  /* the clock stepped back */
	assert_int_equal(coordc_seq_after(1000, 5000, 2000), 5001);
	assert_int_equal(coordc_seq_after(7, 3, 2000), 2000);
	assert_int_equal(coordc_seq_after(0, 0, COORDC_SEQ_MAX + 5), COORDC_SEQ_MAX);
	assert_int_equal(coordc_seq_after(COORDC_SEQ_MAX, 0, 1), COORDC_SEQ_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(success_statuses_are_ok_and_final),
	    cmocka_unit_test(refusals_are_definite_and_not_retried),
	    cmocka_unit_test(no_leader_503_is_definite_and_retried_after_rediscovery),
	    cmocka_unit_test(timeout_504_is_unknown_and_retried_only_when_idempotent),
	    cmocka_unit_test(unsent_request_is_definite_and_retried_elsewhere),
	    cmocka_unit_test(answer_lost_after_send_is_unknown),
	    cmocka_unit_test(backoff_doubles_within_jitter_and_stops_at_the_cap),
	    cmocka_unit_test(backoff_jitter_spreads_clients_apart),
	    cmocka_unit_test(backoff_honours_retry_after_but_not_beyond_the_cap),
	    cmocka_unit_test(same_seed_gives_the_same_schedule),
	    cmocka_unit_test(seq_rises_past_last_and_server_and_follows_the_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
