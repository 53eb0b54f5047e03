/* The lease keeper (lease.h, L-1 and L-2; DESIGN.md rule 8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lease.h"

#define TTL 1000u

/* Session N as an id; N spreads over the bytes the hash reads. */
static struct coord_session_id sid(unsigned n)
{
	struct coord_session_id id;

	memset(&id, 0, sizeof(id));
	memcpy(id.bytes, &n, sizeof(n));
	return id;
}

static int leaseSetup(void **state)
{
	struct coord_lease *l = malloc(sizeof(*l));

	assert_non_null(l);
	assert_int_equal(coord_lease_init(l, 64), 0);
	*state = l;
	return 0;
}

static int leaseTeardown(void **state)
{
	coord_lease_free(*state);
	free(*state);
	return 0;
}

static size_t due(struct coord_lease *l, uint64_t now, struct coord_session_id *out)
{
	return coord_lease_due(l, now, out, 64);
}

static void test_deadline_is_ttl_after_add(void **state)
{
	struct coord_lease *l = *state;
	struct coord_session_id out[64], one = sid(1);
	uint64_t at;

	assert_int_equal(coord_lease_add(l, &one, TTL, 100), 0);
	assert_int_equal(coord_lease_add(l, &one, TTL, 100), COORD_EEXIST);
	assert_true(coord_lease_next_deadline(l, &at));
	assert_int_equal(at, 100 + TTL);
	assert_int_equal(due(l, 100 + TTL - 1, out), 0);
	assert_int_equal(due(l, 100 + TTL, out), 1);
	assert_true(coord_session_id_equal(&out[0], &one));
}

static void test_keepalive_moves_deadline_before_ack(void **state)
{
	struct coord_lease *l = *state;
	struct coord_session_id out[64], one = sid(1);
	uint64_t deadline;

	coord_lease_add(l, &one, TTL, 0);
	assert_int_equal(coord_lease_keepalive(l, &one, 900, &deadline), 0);
	assert_int_equal(deadline, 900 + TTL);
	assert_int_equal(due(l, 1500, out), 0);
	assert_int_equal(due(l, 900 + TTL, out), 1);
}

static void test_keepalive_never_moves_deadline_back(void **state)
{
	struct coord_lease *l = *state;
	struct coord_session_id one = sid(1);
	uint64_t deadline;

	coord_lease_add(l, &one, TTL, 0);
	coord_lease_reset_all(l, 5000);
	assert_int_equal(coord_lease_keepalive(l, &one, 10, &deadline), 0);
	assert_int_equal(deadline, 5000 + TTL);
}

static void test_due_returns_each_session_once_and_refuses_keepalive(void **state)
{
	struct coord_lease *l = *state;
	struct coord_session_id out[64], one = sid(1);
	uint64_t at;

	coord_lease_add(l, &one, TTL, 0);
	assert_int_equal(due(l, TTL, out), 1);
	assert_int_equal(due(l, 10 * TTL, out), 0); /* proposed once */
	assert_false(coord_lease_next_deadline(l, &at));
	assert_int_equal(coord_lease_keepalive(l, &one, TTL, NULL), COORD_EEXPIRING);
	assert_int_equal(coord_lease_remove(l, &one), 0); /* the expiry applied */
	assert_int_equal(coord_lease_keepalive(l, &one, TTL, NULL), COORD_ENOTFOUND);
	assert_int_equal(coord_lease_count(l), 0);
}

static void test_reset_on_leadership_restarts_every_deadline(void **state)
{
	struct coord_lease *l = *state;
	struct coord_session_id out[64], one = sid(1), two = sid(2);
	uint64_t at;

	coord_lease_add(l, &one, TTL, 0);
	coord_lease_add(l, &two, 3 * TTL, 0);
	assert_int_equal(due(l, TTL, out), 1); /* one is expiring */
	coord_lease_reset_all(l, 50000);
	assert_true(coord_lease_next_deadline(l, &at));
	assert_int_equal(at, 50000 + TTL);
	/* The new term may acknowledge keepalives for one again. */
	assert_int_equal(coord_lease_keepalive(l, &one, 50000, NULL), 0);
	assert_int_equal(due(l, 50000 + TTL - 1, out), 0);
	assert_int_equal(due(l, 50000 + 3 * TTL, out), 2);
	assert_true(coord_session_id_equal(&out[0], &one)); /* earliest first */
	assert_true(coord_session_id_equal(&out[1], &two));
}

/* A new leader with bounded leases (L-1, rule 8's L-3): a session its
 * anchors hold gets the anchor's deadline (applied its last ALIVE entry +
 * ttl) + slack, however late the reset comes; one they do not hold a fresh
 * ttl; expiring ones are live again, and ALIVE times are forgotten. */
static void test_reset_from_anchors_counts_from_the_last_alive_entry(void **state)
{
	struct coord_lease *l = *state, anchors;
	struct coord_session_id out[64], one = sid(1), two = sid(2), three = sid(3);
	uint64_t at;

	assert_int_equal(coord_lease_init(&anchors, 8), 0);
	coord_lease_add(l, &one, TTL, 0);
	coord_lease_add(l, &two, TTL, 0);
	coord_lease_add(l, &three, TTL, 0);
	coord_lease_set_alive(l, &two, 700);
	assert_true(coord_lease_alive_ms(l, &two, &at));
	assert_int_equal(at, 700);
	coord_lease_set_alive(l, &two, 600); /* never back */
	assert_true(coord_lease_alive_ms(l, &two, &at));
	assert_int_equal(at, 700);
	assert_int_equal(due(l, TTL, out), 3); /* all expiring */
	/* Anchors: one applied at 100 and again at 900; two at 5000. */
	coord_lease_add(&anchors, &one, TTL, 100);
	assert_int_equal(coord_lease_keepalive(&anchors, &one, 900, NULL), 0);
	coord_lease_add(&anchors, &two, TTL, 5000);
	/* Elections come and go: a reset at 20000 still counts from them. */
	coord_lease_reset_from(l, &anchors, 250, 20000);
	assert_false(coord_lease_alive_ms(l, &two, &at));
	assert_true(coord_lease_remaining(l, &one, 0, &at));
	assert_int_equal(at, 900 + TTL + 250);
	assert_true(coord_lease_remaining(l, &two, 0, &at));
	assert_int_equal(at, 5000 + TTL + 250);
	assert_true(coord_lease_remaining(l, &three, 20000, &at));
	assert_int_equal(at, TTL);               /* no anchor: a fresh ttl */
	assert_int_equal(due(l, 20000, out), 2); /* one and two: long dead */
	assert_int_equal(coord_lease_keepalive(l, &three, 20500, NULL), 0);
	coord_lease_free(&anchors);
}

/* A stall of the leader's loop is given back to every session that is not
 * expiring, in the same order; one already expiring stays so (L-1, L-2). */
static void test_extend_all_moves_every_live_deadline_out_and_keeps_the_order(void **state)
{
	struct coord_lease *l = *state;
	struct coord_session_id out[64], one = sid(1), two = sid(2), three = sid(3);
	uint64_t at;

	coord_lease_add(l, &one, TTL, 0);
	coord_lease_add(l, &two, 2 * TTL, 0);
	coord_lease_add(l, &three, 3 * TTL, 0);
	assert_int_equal(due(l, TTL, out), 1); /* one is expiring */
	coord_lease_extend_all(l, 5000);
	assert_true(coord_lease_next_deadline(l, &at));
	assert_int_equal(at, 2 * TTL + 5000);
	assert_int_equal(due(l, 2 * TTL + 4999, out), 0);
	assert_int_equal(coord_lease_keepalive(l, &one, 2 * TTL, NULL), COORD_EEXPIRING);
	assert_int_equal(due(l, 3 * TTL + 5000, out), 2);
	assert_true(coord_session_id_equal(&out[0], &two)); /* earliest first */
	assert_true(coord_session_id_equal(&out[1], &three));
}

static void test_due_respects_max_and_keeps_the_rest(void **state)
{
	struct coord_lease *l = *state;
	struct coord_session_id out[2], first = sid(1), third = sid(3);

	for (unsigned n = 1; n <= 5; n++) {
		struct coord_session_id id = sid(n);

		coord_lease_add(l, &id, TTL, n);
	}
	assert_int_equal(coord_lease_due(l, 100 * TTL, out, 2), 2);
	assert_true(coord_session_id_equal(&out[0], &first));
	assert_int_equal(coord_lease_due(l, 100 * TTL, out, 2), 2);
	assert_true(coord_session_id_equal(&out[0], &third));
	assert_int_equal(coord_lease_due(l, 100 * TTL, out, 2), 1);
	assert_int_equal(coord_lease_due(l, 100 * TTL, out, 2), 0);
}

/* A full keeper grows: every session it held keeps its deadline and stays
 * findable, and the sessions beyond the first capacity are tracked too. */
static void test_full_keeper_grows_and_keeps_every_deadline(void **state)
{
	struct coord_lease *l = *state;
	struct coord_session_id out[8];
	uint64_t deadline;

	for (unsigned n = 0; n < 1000; n++) {
		struct coord_session_id id = sid(n);

		assert_int_equal(coord_lease_add(l, &id, TTL, n), 0); /* deadline TTL + n */
	}
	assert_int_equal(coord_lease_count(l), 1000);
	for (unsigned n = 0; n < 1000; n += 37) {
		struct coord_session_id id = sid(n);

		assert_int_equal(coord_lease_keepalive(l, &id, 0, &deadline), 0);
		assert_int_equal(deadline, TTL + n); /* never earlier (L-1) */
	}
	assert_int_equal(coord_lease_due(l, TTL + 2, out, 8), 3);
	for (unsigned n = 0; n < 3; n++) {
		struct coord_session_id id = sid(n);

		assert_true(coord_session_id_equal(&out[n], &id));
	}
}

/* Removed entries are reused and a cleared keeper (leadership lost) forgets
 * every session: either way the full room is there again, and each session
 * added afterwards is found with its own deadline. */
static void test_removed_and_cleared_entries_are_reused(void **state)
{
	struct coord_lease *l = *state;
	uint64_t left;

	for (unsigned round = 0; round < 3; round++) {
		for (unsigned n = 0; n < 64; n++) {
			struct coord_session_id id = sid(1000 * round + n);

			assert_int_equal(coord_lease_add(l, &id, TTL + n, 0), 0);
		}
		for (unsigned n = 0; n < 64; n += 2) {
			struct coord_session_id id = sid(1000 * round + n);

			assert_int_equal(coord_lease_remove(l, &id), 0);
		}
		for (unsigned n = 0; n < 64; n += 2) {
			struct coord_session_id id = sid(1000 * round + 500 + n);

			assert_int_equal(coord_lease_add(l, &id, TTL, 0), 0);
		}
		assert_int_equal(coord_lease_count(l), 64);
		for (unsigned n = 1; n < 64; n += 2) {
			struct coord_session_id id = sid(1000 * round + n);

			assert_true(coord_lease_remaining(l, &id, 0, &left));
			assert_int_equal(left, TTL + n);
		}
		coord_lease_clear(l);
		assert_int_equal(coord_lease_count(l), 0);
		for (unsigned n = 1; n < 64; n += 2) {
			struct coord_session_id id = sid(1000 * round + n);

			assert_false(coord_lease_remaining(l, &id, 0, &left));
		}
	}
}

/* The keeper's named limit, COORD_LEASE_MAX, is where growing stops. */
static void test_capacity_is_a_limit(void **state)
{
	struct coord_lease *l = *state;
	struct coord_session_id extra = sid(COORD_LEASE_MAX);

	for (unsigned n = 0; n < COORD_LEASE_MAX; n++) {
		struct coord_session_id id = sid(n);

		assert_int_equal(coord_lease_add(l, &id, TTL, 0), 0);
	}
	assert_int_equal(coord_lease_add(l, &extra, TTL, 0), COORD_ELIMIT);
	assert_int_equal(coord_lease_count(l), COORD_LEASE_MAX);
}

/* L-1 against a model: random adds, keepalives, removals and resets, and at
 * every step no session is due sooner than TTL after the last keepalive
 * accepted for it (or its add, or the last reset), and every session whose
 * deadline passed is due. */
static void test_never_early_against_a_model(void **state)
{
	struct coord_lease *l = *state;
	struct model {
		bool live, expiring;
		uint32_t ttl;
		uint64_t floor; /* the latest time + ttl the keeper promised */
	} m[64];
	struct coord_session_id out[64];
	uint64_t now = 0, seed = 12345;

	memset(m, 0, sizeof(m));
	for (int step = 0; step < 20000; step++) {
		unsigned n;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		n = (unsigned)(seed >> 33) % 64;
		now += (seed >> 20) % 50;
		struct coord_session_id id = sid(n);
		switch ((seed >> 40) % 8) {
		case 0:
			if (!m[n].live) {
				m[n].ttl = 200 + (uint32_t)((seed >> 45) % 800);
				assert_int_equal(coord_lease_add(l, &id, m[n].ttl, now), 0);
				m[n] = (struct model){true, false, m[n].ttl, now + m[n].ttl};
			}
			break;
		case 1:
			if (m[n].live) {
				assert_int_equal(coord_lease_remove(l, &id), 0);
				m[n].live = false;
			}
			break;
		case 2:
			if ((seed >> 50) % 50 == 0) {
				coord_lease_reset_all(l, now);
				for (unsigned k = 0; k < 64; k++)
					if (m[k].live) {
						m[k].expiring = false;
						m[k].floor = now + m[k].ttl;
					}
			}
			break;
		default:
			if (m[n].live) {
				int rv = coord_lease_keepalive(l, &id, now, NULL);

				assert_int_equal(rv, m[n].expiring ? COORD_EEXPIRING : 0);
				if (rv == 0 && now + m[n].ttl > m[n].floor)
					m[n].floor = now + m[n].ttl;
			}
			break;
		}
		size_t k = coord_lease_due(l, now, out, 64);
		for (size_t i = 0; i < k; i++) {
			unsigned e;

			memcpy(&e, out[i].bytes, sizeof(e));
			assert_true(e < 64 && m[e].live && !m[e].expiring);
			assert_true(now >= m[e].floor); /* never early */
			m[e].expiring = true;
		}
		for (unsigned e = 0; e < 64; e++) /* and never late */
			assert_false(m[e].live && !m[e].expiring && now >= m[e].floor);
	}
}

/* expires_in_ms (API.md, Sessions): the deadline minus now, never below 0;
 * a keepalive puts it back to the ttl, a new term restarts it at the ttl,
 * and a session whose expiry is proposed has none left. */
static void test_remaining_counts_down_to_zero_and_a_keepalive_restores_it(void **state)
{
	struct coord_lease *l = *state;
	struct coord_session_id out[64], one = sid(1), two = sid(2);
	uint64_t left = 12345;

	assert_false(coord_lease_remaining(l, &one, 0, &left)); /* not tracked */
	assert_int_equal(left, 12345);
	coord_lease_add(l, &one, TTL, 100);
	assert_true(coord_lease_remaining(l, &one, 100, &left));
	assert_int_equal(left, TTL);
	assert_true(coord_lease_remaining(l, &one, 100 + 400, &left));
	assert_int_equal(left, TTL - 400);
	assert_int_equal(coord_lease_keepalive(l, &one, 700, NULL), 0);
	assert_true(coord_lease_remaining(l, &one, 700, &left));
	assert_int_equal(left, TTL);
	assert_true(coord_lease_remaining(l, &one, 700 + TTL, &left));
	assert_int_equal(left, 0);
	assert_true(coord_lease_remaining(l, &one, 700 + 5 * TTL, &left)); /* never negative */
	assert_int_equal(left, 0);
	/* Due, its expiry proposed: none left, also when asked "earlier". */
	assert_int_equal(due(l, 700 + TTL, out), 1);
	assert_true(coord_lease_remaining(l, &one, 0, &left));
	assert_int_equal(left, 0);
	/* A new term: every session has its whole ttl again. */
	coord_lease_add(l, &two, 3 * TTL, 0);
	coord_lease_reset_all(l, 9000);
	assert_true(coord_lease_remaining(l, &one, 9000, &left));
	assert_int_equal(left, TTL);
	assert_true(coord_lease_remaining(l, &two, 9000 + 10, &left));
	assert_int_equal(left, 3 * TTL - 10);
	assert_int_equal(coord_lease_remove(l, &two), 0);
	assert_false(coord_lease_remaining(l, &two, 9000, &left));
}

#define T(name) cmocka_unit_test_setup_teardown(name, leaseSetup, leaseTeardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_deadline_is_ttl_after_add),
	    T(test_keepalive_moves_deadline_before_ack),
	    T(test_keepalive_never_moves_deadline_back),
	    T(test_due_returns_each_session_once_and_refuses_keepalive),
	    T(test_reset_on_leadership_restarts_every_deadline),
	    T(test_reset_from_anchors_counts_from_the_last_alive_entry),
	    T(test_extend_all_moves_every_live_deadline_out_and_keeps_the_order),
	    T(test_due_respects_max_and_keeps_the_rest),
	    T(test_full_keeper_grows_and_keeps_every_deadline),
	    T(test_removed_and_cleared_entries_are_reused),
	    T(test_capacity_is_a_limit),
	    T(test_never_early_against_a_model),
	    T(test_remaining_counts_down_to_zero_and_a_keepalive_restores_it),
	};

	return cmocka_run_group_tests_name("coord_lease", tests, NULL, NULL);
}
