/* Sessions belong to the access token that opened them (SM-10, API.md,
 * Access control), as a specification: a close, acquire, release, campaign,
 * proclaim or resign naming the session with another token, or with none,
 * changes nothing and is permission_denied, before its seq is looked at;
 * the owner may do everything as before; a session opened without a token
 * is usable only without one; the owner is forgotten with the session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sm_fixture.h"
#include "sm_internal.h"

#define S1 1
#define S2 2

#define TOKEN_A 11 /* token ids: the index of the entry that made each */
#define TOKEN_B 12

static uint64_t owner_of(struct fx *f, unsigned s, bool *found)
{
	struct coord_session_id id = fx_sid(s);
	uint64_t owner = 99;

	assert_int_equal(coord_sm_session_owner(f->reader, &id, found, &owner), 0);
	return owner;
}

static void test_open_records_the_token_and_the_end_forgets_it(void **state)
{
	struct fx *f = *state;
	bool found;

	f->actor = TOKEN_A;
	assert_int_equal(fx_open(f, S1, FX_TTL, 0), COORD_ST_OK);
	assert_int_equal(owner_of(f, S1, &found), TOKEN_A);
	assert_true(found);
	assert_int_equal(fx_close(f, S1), COORD_ST_OK);
	assert_int_equal(owner_of(f, S1, &found), 0);
	assert_false(found);
	assert_int_equal(fx_open(f, S2, FX_TTL, 0), COORD_ST_OK);
	assert_int_equal(fx_expire(f, S2), COORD_ST_OK);
	assert_int_equal(owner_of(f, S2, &found), 0);
	assert_false(found);
}

static void test_another_token_changes_nothing_in_any_request(void **state)
{
	struct fx *f = *state;
	uint64_t hash, token;

	f->actor = TOKEN_A;
	assert_int_equal(fx_open(f, S1, FX_TTL, 0), COORD_ST_OK);
	assert_int_equal(fx_lock(f, S1, "jobs/a", COORD_MODE_EXCLUSIVE, false), COORD_ST_OK);
	token = fx_token(f, S1, "jobs/a");
	assert_int_equal(fx_campaign(f, S1, "db", "h:1", false), COORD_ST_OK);
	hash = fx_hash(f);

	for (uint64_t t = 0; t <= TOKEN_B; t += TOKEN_B) { /* none, then token B */
		print_message("as token %llu\n", (unsigned long long)t);
		f->actor = t;
		assert_int_equal(fx_unlock(f, S1, "jobs/a"), COORD_ST_PERMISSION_DENIED);
		assert_int_equal(fx_unlock_token(f, S1, "jobs/a", token),
		                 COORD_ST_PERMISSION_DENIED);
		assert_int_equal(fx_lock(f, S1, "jobs/b", COORD_MODE_EXCLUSIVE, true),
		                 COORD_ST_PERMISSION_DENIED);
		assert_int_equal(fx_proclaim(f, S1, "db", "h:evil"), COORD_ST_PERMISSION_DENIED);
		assert_int_equal(fx_resign(f, S1, "db"), COORD_ST_PERMISSION_DENIED);
		assert_int_equal(fx_close(f, S1), COORD_ST_PERMISSION_DENIED);
	}
	assert_int_equal(fx_hash(f), hash);
	f->actor = TOKEN_A;
	assert_int_equal(fx_token(f, S1, "jobs/a"), token);
	/* The owner still does all of it. */
	assert_int_equal(fx_proclaim(f, S1, "db", "h:2"), COORD_ST_OK);
	assert_int_equal(fx_unlock(f, S1, "jobs/a"), COORD_ST_OK);
	assert_int_equal(fx_close(f, S1), COORD_ST_OK);
}

/* A refused request is refused before its seq: it neither answers the
 * owner's saved answer nor moves the session's record (SM-9). */
static void test_the_check_comes_before_the_seq(void **state)
{
	struct fx *f = *state;
	struct coord_session_id id = fx_sid(S1);
	uint64_t seq;

	f->actor = TOKEN_A;
	assert_int_equal(fx_open(f, S1, FX_TTL, 0), COORD_ST_OK);
	f->seq = 5;
	assert_int_equal(fx_lock(f, S1, "jobs/a", COORD_MODE_EXCLUSIVE, false), COORD_ST_OK);
	f->actor = TOKEN_B;
	f->seq = 5; /* the same seq again, by another token: no retry answer */
	assert_int_equal(fx_lock(f, S1, "jobs/a", COORD_MODE_EXCLUSIVE, false),
	                 COORD_ST_PERMISSION_DENIED);
	assert_false(f->r.retry);
	f->seq = 9; /* a higher one: no record moved, nothing released */
	assert_int_equal(fx_unlock(f, S1, "jobs/a"), COORD_ST_PERMISSION_DENIED);
	assert_int_equal(coord_sm_session_seq(f->reader, &id, &seq), 0);
	assert_int_equal(seq, 5);
	assert_int_not_equal(fx_token(f, S1, "jobs/a"), 0);
}

/* Opened without a token (before access control was on): no token may use
 * it; requests without one still may. */
static void test_a_session_without_an_owner_is_only_for_requests_without_a_token(void **state)
{
	struct fx *f = *state;
	bool found;

	assert_int_equal(fx_open(f, S1, FX_TTL, 0), COORD_ST_OK);
	assert_int_equal(owner_of(f, S1, &found), 0);
	assert_true(found);
	f->actor = TOKEN_A;
	assert_int_equal(fx_lock(f, S1, "x", COORD_MODE_EXCLUSIVE, false),
	                 COORD_ST_PERMISSION_DENIED);
	assert_int_equal(fx_close(f, S1), COORD_ST_PERMISSION_DENIED);
	f->actor = 0;
	assert_int_equal(fx_lock(f, S1, "x", COORD_MODE_EXCLUSIVE, false), COORD_ST_OK);
	assert_int_equal(fx_close(f, S1), COORD_ST_OK);
}

/* What names no live session answers as before: the check does not turn
 * session_not_found into permission_denied, and closing stays idempotent. */
static void test_a_missing_session_answers_as_before(void **state)
{
	struct fx *f = *state;

	f->actor = TOKEN_B;
	assert_int_equal(fx_lock(f, S2, "x", COORD_MODE_EXCLUSIVE, false),
	                 COORD_ST_SESSION_NOT_FOUND);
	assert_int_equal(fx_close(f, S2), COORD_ST_OK);
}

/* The owner is replicated state: two machines that applied the same
 * entries hash alike, and the hash sees the owner. */
static void test_the_owner_is_in_the_hash(void **state)
{
	struct fx *f = *state;
	struct fx *g = fx_copy(f);

	f->actor = TOKEN_A;
	g->actor = TOKEN_B;
	assert_int_equal(fx_open(f, S1, FX_TTL, 0), COORD_ST_OK);
	assert_int_equal(fx_open(g, S1, FX_TTL, 0), COORD_ST_OK);
	assert_int_not_equal(fx_hash(f), fx_hash(g));
	fx_teardown((void **)&g);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_open_records_the_token_and_the_end_forgets_it),
	    T(test_another_token_changes_nothing_in_any_request),
	    T(test_the_check_comes_before_the_seq),
	    T(test_a_session_without_an_owner_is_only_for_requests_without_a_token),
	    T(test_a_missing_session_answers_as_before),
	    T(test_the_owner_is_in_the_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
