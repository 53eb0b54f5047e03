/* Sessions: open, close, expire; what a session's end does to its locks and
 * waits; lock-delay and the wake command; named limits (API.md, Sessions;
 * sm.h SM-4, SM-6, SM-7; DESIGN.md rule 9). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sm_fixture.h"

#define EX COORD_MODE_EXCLUSIVE
#define SH COORD_MODE_SHARED

static void test_open_twice_is_refused(void **state)
{
	struct fx *f = *state;

	assert_int_equal(fx_open(f, 1, FX_TTL, 0), COORD_ST_OK);
	assert_int_equal(fx_open(f, 1, FX_TTL, 0), COORD_ST_EXISTS);
}

static void test_close_releases_locks_and_grants_waiters_without_delay(void **state)
{
	struct fx *f = *state;

	fx_open(f, 1, FX_TTL, 5000);
	fx_open(f, 2, FX_TTL, 0);
	fx_lock(f, 1, "a", EX, false);
	fx_lock(f, 1, "b", EX, false);
	fx_lock(f, 2, "a", EX, true);
	assert_int_equal(fx_close(f, 1), COORD_ST_OK);
	assert_true(f->r.session_ended);
	assert_int_equal(f->r.n_released, 2);
	assert_string_equal(f->r.released_locks[0].name, "a");
	assert_string_equal(f->r.released_locks[1].name, "b");
	/* Granted in the same entry; a close sets no lock-delay. */
	assert_true(fx_granted(f, 2, "a"));
	assert_null(fx_lock_json(f, "b"));
	fx_open(f, 3, FX_TTL, 0);
	assert_int_equal(fx_lock(f, 3, "b", EX, false), COORD_ST_OK);
}

static void test_close_is_idempotent(void **state)
{
	struct fx *f = *state;

	fx_open(f, 1, FX_TTL, 0);
	fx_close(f, 1);
	assert_int_equal(fx_close(f, 1), COORD_ST_OK);
	assert_false(f->r.session_ended);
	assert_int_equal(fx_expire(f, 1), COORD_ST_SESSION_NOT_FOUND);
}

static void test_end_drops_waits(void **state)
{
	struct fx *f = *state;

	fx_open(f, 1, FX_TTL, 0);
	fx_open(f, 2, FX_TTL, 0);
	fx_lock(f, 1, "a", EX, false);
	fx_lock(f, 2, "a", EX, true);
	fx_close(f, 2);
	assert_int_equal(f->r.n_released, 0);
	assert_false(fx_waiting(f, 2, "a"));
	fx_unlock(f, 1, "a");
	assert_int_equal(f->r.n_grants, 0);
	assert_null(fx_lock_json(f, "a"));
}

static void test_expiry_frees_lock_into_lock_delay(void **state)
{
	struct fx *f = *state;

	fx_open(f, 1, FX_TTL, 5000);
	fx_open(f, 2, FX_TTL, 0);
	fx_lock(f, 1, "a", EX, false);
	assert_int_equal(fx_expire(f, 1), COORD_ST_OK);
	assert_true(f->r.session_ended);
	assert_int_equal(f->r.n_released, 1);
	assert_null(fx_lock_json(f, "a")); /* nobody holds or waits */
	f->now_ms += 2000;
	assert_int_equal(fx_lock(f, 2, "a", EX, true), COORD_ST_LOCK_DELAY);
	assert_int_equal(f->r.retry_after_ms, 3000);
	f->now_ms += 3000; /* the delay ends at expiry time + 5000 */
	assert_int_equal(fx_lock(f, 2, "a", EX, false), COORD_ST_OK);
}

static void test_lock_delay_holds_queued_waiters_until_wake(void **state)
{
	struct fx *f = *state;
	uint64_t at;
	bool has;

	fx_open(f, 1, FX_TTL, 5000);
	fx_open(f, 2, FX_TTL, 0);
	fx_lock(f, 1, "a", EX, false);
	fx_lock(f, 2, "a", EX, true);
	fx_expire(f, 1);
	assert_int_equal(f->r.n_grants, 0);
	assert_true(fx_waiting(f, 2, "a"));
	assert_int_equal(coord_sm_next_wake(f->db, &has, &at), 0);
	assert_true(has);
	assert_int_equal(at, f->now_ms + 5000);

	f->now_ms += 4999; /* a wake stamped too early grants nothing */
	fx_wake(f);
	assert_int_equal(f->r.n_grants, 0);
	f->now_ms += 1;
	assert_int_equal(fx_wake(f), COORD_ST_OK);
	assert_true(fx_granted(f, 2, "a"));
	assert_int_equal(coord_sm_next_wake(f->db, &has, &at), 0);
	assert_false(has);
}

static void test_wake_drops_delay_only_locks(void **state)
{
	struct fx *f = *state;
	uint64_t at;
	bool has;

	fx_open(f, 1, FX_TTL, 1000);
	fx_lock(f, 1, "a", EX, false);
	fx_expire(f, 1);
	f->now_ms += 1000;
	fx_wake(f);
	assert_int_equal(coord_sm_next_wake(f->db, &has, &at), 0);
	assert_false(has);
}

static void test_expiry_with_zero_lock_delay_grants_at_once(void **state)
{
	struct fx *f = *state;

	fx_open(f, 1, FX_TTL, 0);
	fx_open(f, 2, FX_TTL, 0);
	fx_lock(f, 1, "a", EX, false);
	fx_lock(f, 2, "a", EX, true);
	fx_expire(f, 1);
	assert_true(fx_granted(f, 2, "a"));
}

static void test_no_grant_to_a_dead_session(void **state)
{
	struct fx *f = *state;

	for (unsigned s = 1; s <= 3; s++)
		fx_open(f, s, FX_TTL, 0);
	fx_lock(f, 1, "a", EX, false);
	fx_lock(f, 2, "a", EX, true);
	fx_lock(f, 3, "a", EX, true);
	fx_expire(f, 2);
	fx_unlock(f, 1, "a");
	assert_false(fx_granted(f, 2, "a"));
	assert_true(fx_granted(f, 3, "a"));
	assert_int_equal(f->r.n_grants, 1);
}

/* Rule 9's re-check at the head of the queue: even tables in which a dead
 * session still waits (its row removed behind the state machine's back)
 * never yield a grant to it; the wait is dropped and the next one served. */
static void test_waiter_is_rechecked_when_its_turn_comes(void **state)
{
	struct fx *f = *state;

	for (unsigned s = 1; s <= 3; s++)
		fx_open(f, s, FX_TTL, 0);
	fx_lock(f, 1, "a", EX, false);
	fx_lock(f, 2, "a", EX, true);
	fx_lock(f, 3, "a", EX, true);
	assert_int_equal(sqlite3_exec(f->db,
	                              "DELETE FROM coord_sessions WHERE id = "
	                              "x'c0000000000000000000000000000002'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	fx_unlock(f, 1, "a");
	assert_false(fx_granted(f, 2, "a"));
	assert_false(fx_waiting(f, 2, "a"));
	assert_true(fx_granted(f, 3, "a"));
}

static void test_session_limit(void **state)
{
	struct fx *f = *state;
	uint64_t hash;

	assert_int_equal(sqlite3_exec(f->db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	for (unsigned s = 1; s <= COORD_DEFAULT_MAX_SESSIONS; s++) {
		struct coord_cmd c = {.type = COORD_CMD_OPEN,
		                      .now_ms = f->now_ms,
		                      .session = fx_sid(s),
		                      .ttl_ms = FX_TTL};
		uint8_t buf[COORD_CMD_HEADER_LEN + 16];
		size_t len;

		assert_int_equal(coord_cmd_encode(&c, buf, sizeof(buf), &len), 0);
		assert_int_equal(coord_sm_apply(f->db, ++f->index, buf, len, &f->r), 0);
		assert_int_equal(f->r.status, COORD_ST_OK);
	}
	assert_int_equal(sqlite3_exec(f->db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	hash = fx_hash(f);
	assert_int_equal(fx_open(f, COORD_DEFAULT_MAX_SESSIONS + 1, FX_TTL, 0), COORD_ST_LIMIT);
	assert_string_equal(f->r.limit, "sessions");
	assert_int_equal(fx_hash(f), hash);
	fx_close(f, 1);
	assert_int_equal(fx_open(f, COORD_DEFAULT_MAX_SESSIONS + 1, FX_TTL, 0), COORD_ST_OK);
}

static void test_objects_per_session_limit(void **state)
{
	struct fx *f = *state;
	char name[32];
	uint64_t hash;

	fx_open(f, 1, FX_TTL, 0);
	fx_open(f, 2, FX_TTL, 0);
	fx_lock(f, 2, "busy", EX, false);
	for (int i = 0; i < (int)COORD_DEFAULT_MAX_OBJECTS - 1; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		assert_int_equal(fx_lock(f, 1, name, EX, false), COORD_ST_OK);
	}
	assert_int_equal(fx_lock(f, 1, "busy", EX, true), COORD_ST_QUEUED); /* the last one */
	hash = fx_hash(f);
	assert_int_equal(fx_lock(f, 1, "more", EX, false), COORD_ST_LIMIT);
	assert_string_equal(f->r.limit, "locks and waits per session");
	assert_int_equal(fx_hash(f), hash);
	/* A retry of what it holds is no new object. */
	assert_int_equal(fx_lock(f, 1, "l0", EX, false), COORD_ST_OK);
}

static void test_waiters_per_lock_limit(void **state)
{
	struct fx *f = *state;
	unsigned s;
	uint64_t hash;

	fx_open(f, 1, FX_TTL, 0);
	fx_lock(f, 1, "a", EX, false);
	for (s = 2; s < 2 + COORD_DEFAULT_MAX_WAITERS; s++) {
		fx_open(f, s, FX_TTL, 0);
		assert_int_equal(fx_lock(f, s, "a", EX, true), COORD_ST_QUEUED);
	}
	fx_open(f, s, FX_TTL, 0);
	hash = fx_hash(f);
	assert_int_equal(fx_lock(f, s, "a", EX, true), COORD_ST_LIMIT);
	assert_string_equal(f->r.limit, "waiters per lock");
	assert_int_equal(fx_hash(f), hash);
	assert_int_equal(fx_lock(f, s, "a", EX, false), COORD_ST_LOCK_HELD);
}

/* A LIMITS entry puts new limits in force from its index on, on every node
 * alike (it changes the state hash, so replicas that skipped it disagree);
 * lowering a limit below what exists keeps what exists and refuses more. */
static enum coord_status fx_limits(struct fx *f, uint32_t sessions, uint32_t objects,
                                   uint32_t waiters)
{
	struct coord_cmd c = {
	    .type = COORD_CMD_LIMITS, .now_ms = f->now_ms, .limits = {sessions, objects, waiters}};

	return fx_apply(f, &c);
}

static void test_limits_entry_sets_the_limits_in_force(void **state)
{
	struct fx *f = *state;
	struct coord_limits in_force;
	uint64_t hash;

	assert_int_equal(coord_sm_limits(f->db, &in_force), 0);
	assert_int_equal(in_force.sessions, COORD_DEFAULT_MAX_SESSIONS);
	assert_int_equal(in_force.objects, COORD_DEFAULT_MAX_OBJECTS);
	assert_int_equal(in_force.waiters, COORD_DEFAULT_MAX_WAITERS);
	fx_open(f, 1, FX_TTL, 0);
	fx_open(f, 2, FX_TTL, 0);
	fx_open(f, 3, FX_TTL, 0);
	assert_int_equal(fx_lock(f, 1, "a", EX, false), COORD_ST_OK);
	assert_int_equal(fx_lock(f, 1, "b", EX, false), COORD_ST_OK);
	hash = fx_hash(f);
	assert_int_equal(fx_limits(f, 2, 1, 1), COORD_ST_OK);
	assert_int_not_equal(fx_hash(f), hash);
	assert_int_equal(coord_sm_limits(f->db, &in_force), 0);
	assert_int_equal(in_force.sessions, 2);
	assert_int_equal(in_force.objects, 1);
	assert_int_equal(in_force.waiters, 1);
	/* Three sessions and two locks stay; nothing more is admitted. */
	assert_int_equal(fx_token(f, 1, "b") != 0, true);
	assert_int_equal(fx_open(f, 4, FX_TTL, 0), COORD_ST_LIMIT);
	assert_string_equal(f->r.limit, "sessions");
	assert_int_equal(fx_lock(f, 1, "c", EX, false), COORD_ST_LIMIT);
	assert_string_equal(f->r.limit, "locks and waits per session");
	assert_int_equal(fx_lock(f, 2, "a", EX, true), COORD_ST_QUEUED);
	assert_int_equal(fx_lock(f, 3, "a", EX, true), COORD_ST_LIMIT);
	assert_string_equal(f->r.limit, "waiters per lock");
	/* Raised again: admitted again. */
	assert_int_equal(fx_limits(f, 10, 5, 5), COORD_ST_OK);
	assert_int_equal(fx_lock(f, 3, "a", EX, true), COORD_ST_QUEUED);
	assert_int_equal(fx_open(f, 4, FX_TTL, 0), COORD_ST_OK);
}

/* Limits that break limits.h's rules are not a command at all: refused in
 * the decoder of every node, changing nothing. */
static void test_limits_entry_out_of_range_is_refused(void **state)
{
	struct fx *f = *state;
	const struct coord_limits bad[] = {{0, 1, 1},
	                                   {COORD_SESSIONS_CEILING + 1, 1, 1},
	                                   {10, 0, 1},
	                                   {10, COORD_OBJECTS_CEILING + 1, 1},
	                                   {10, 1, 0},
	                                   {10, 1, COORD_WAITERS_CEILING + 1},
	                                   {COORD_SESSIONS_CEILING, COORD_OBJECTS_CEILING, 1}};
	/* LIMITS by hand: u8 version | u8 type | u64 now | 3 x u32. */
	uint8_t buf[1 + 1 + 8 + 12] = {COORD_CMD_VERSION, COORD_CMD_LIMITS};
	uint64_t hash = fx_hash(f);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct coord_cmd c = {.type = COORD_CMD_LIMITS, .limits = bad[i]};
		const uint32_t v[3] = {bad[i].sessions, bad[i].objects, bad[i].waiters};

		assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
		for (int k = 0; k < 3; k++)
			for (int b = 0; b < 4; b++)
				buf[10 + 4 * k + b] = (uint8_t)(v[k] >> (8 * b));
		assert_int_equal(fx_apply_raw(f, buf, sizeof(buf)), COORD_ST_INVALID);
	}
	assert_int_equal(fx_hash(f), hash);
}

static void test_session_ttls_for_the_lease_keeper(void **state)
{
	struct fx *f = *state;
	struct coord_session_ttl *ttls;
	struct coord_session_id two = fx_sid(2);
	size_t n;

	fx_open(f, 2, 2000, 0);
	fx_open(f, 1, 1000, 0);
	fx_open(f, 3, 3000, 0);
	fx_expire(f, 3);
	assert_int_equal(coord_sm_session_ttls(f->db, &ttls, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ttls[0].ttl_ms, 1000); /* id order */
	assert_true(coord_session_id_equal(&ttls[1].id, &two));
	assert_int_equal(ttls[1].ttl_ms, 2000);
	free(ttls);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_open_twice_is_refused),
	    T(test_close_releases_locks_and_grants_waiters_without_delay),
	    T(test_close_is_idempotent),
	    T(test_end_drops_waits),
	    T(test_expiry_frees_lock_into_lock_delay),
	    T(test_lock_delay_holds_queued_waiters_until_wake),
	    T(test_wake_drops_delay_only_locks),
	    T(test_expiry_with_zero_lock_delay_grants_at_once),
	    T(test_no_grant_to_a_dead_session),
	    T(test_waiter_is_rechecked_when_its_turn_comes),
	    T(test_session_limit),
	    T(test_objects_per_session_limit),
	    T(test_waiters_per_lock_limit),
	    T(test_limits_entry_sets_the_limits_in_force),
	    T(test_limits_entry_out_of_range_is_refused),
	    T(test_session_ttls_for_the_lease_keeper),
	};

	return cmocka_run_group_tests_name("coord_sm_sessions", tests, NULL, NULL);
}
