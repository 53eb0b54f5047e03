/* A session's numbered requests (SM-9, DESIGN.md rule 14, API.md Retries),
 * as a specification: below the session's last applied seq a request
 * changes nothing and is stale; at it, the first answer again; above it,
 * applied and recorded; without seq, today's behaviour, record untouched.
 * And a release that names its grant releases that grant only. */
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
#define S3 3

static uint64_t last_seq(struct fx *f, unsigned s)
{
	struct coord_session_id id = fx_sid(s);
	uint64_t seq = 99;

	assert_int_equal(coord_sm_session_seq(f->reader, &id, &seq), 0);
	return seq;
}

/* The "seq" of S's session object (coord_sm_query_session). */
static uint64_t session_seq(struct fx *f, unsigned s)
{
	struct coord_session_id id = fx_sid(s);
	json_t *o = NULL;
	uint64_t seq;

	assert_int_equal(coord_sm_query_session(f->reader, &id, &o), 0);
	seq = (uint64_t)json_integer_value(json_object_get(o, "seq"));
	json_decref(o);
	return seq;
}

static size_t waiters(struct fx *f, const char *name)
{
	json_t *lock = fx_lock_json(f, name);
	size_t n = lock != NULL ? json_array_size(json_object_get(lock, "waiters")) : 0;

	json_decref(lock);
	return n;
}

static uint64_t records(struct fx *f)
{
	sqlite3_stmt *st;
	uint64_t n;

	assert_int_equal(
	    sqlite3_prepare_v2(f->db, "SELECT count(*) FROM coord_seqs", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* A stale request: nothing changed, and the answer names the last seq. */
static void assert_stale(struct fx *f, enum coord_status st, uint64_t hash, uint64_t last)
{
	assert_int_equal(st, COORD_ST_STALE_REQUEST);
	assert_int_equal(f->r.seq, last);
	assert_false(f->r.retry);
	assert_int_equal(f->r.n_grants, 0);
	assert_int_equal(fx_hash(f), hash);
}

/* The scenario: release 5 is delayed (its node paused), the client
 * acquires again with 6 and is told it holds the lock; release 5 arrives
 * last and must not release the lock the client believes it holds. */
static void test_a_delayed_release_never_undoes_a_later_acquire(void **state)
{
	struct fx *f = *state;
	uint64_t token, hash;

	fx_open(f, S1, FX_TTL, 0);
	fx_open(f, S2, FX_TTL, 0);
	f->seq = 4;
	assert_int_equal(fx_lock(f, S1, "L", COORD_MODE_EXCLUSIVE, false), COORD_ST_OK);
	token = f->r.token;
	f->seq = 6; /* release 5 went to a paused node; the client moved on */
	assert_int_equal(fx_lock(f, S1, "L", COORD_MODE_EXCLUSIVE, false), COORD_ST_OK);
	assert_int_equal(f->r.token, token);
	hash = fx_hash(f);
	f->seq = 5; /* the paused node resumes and forwards it */
	assert_stale(f, fx_unlock(f, S1, "L"), hash, 6);
	assert_int_equal(fx_token(f, S1, "L"), token);
	assert_int_equal(fx_lock(f, S2, "L", COORD_MODE_EXCLUSIVE, false), COORD_ST_LOCK_HELD);
}

/* Below the last applied seq, every numbered type is refused unapplied. */
static void test_a_lower_seq_changes_nothing_for_every_type(void **state)
{
	struct fx *f = *state;
	uint64_t hash;

	fx_open(f, S1, FX_TTL, 0);
	f->seq = 10;
	assert_int_equal(fx_campaign(f, S1, "E", "v1", false), COORD_ST_OK);
	hash = fx_hash(f);
	f->seq = 9;
	assert_stale(f, fx_lock(f, S1, "L", COORD_MODE_EXCLUSIVE, false), hash, 10);
	f->seq = 8;
	assert_stale(f, fx_resign(f, S1, "E"), hash, 10);
	f->seq = 7;
	assert_stale(f, fx_proclaim(f, S1, "E", "v2"), hash, 10);
	f->seq = 1;
	assert_stale(f, fx_close(f, S1), hash, 10);
	assert_int_equal(last_seq(f, S1), 10);
}

/* At the last applied seq, the first answer again (marked a retry), and
 * nothing applies a second time. */
static void test_the_same_seq_gets_the_first_answer_again(void **state)
{
	struct fx *f = *state;
	uint64_t token, hash;

	fx_open(f, S1, FX_TTL, 0);
	f->seq = 1;
	assert_int_equal(fx_lock(f, S1, "L", COORD_MODE_EXCLUSIVE, false), COORD_ST_OK);
	assert_false(f->r.retry);
	token = f->r.token;
	hash = fx_hash(f);
	f->seq = 1;
	assert_int_equal(fx_lock(f, S1, "L", COORD_MODE_EXCLUSIVE, false), COORD_ST_OK);
	assert_true(f->r.retry);
	assert_int_equal(f->r.token, token);
	assert_int_equal(fx_hash(f), hash);

	f->seq = 2;
	assert_int_equal(fx_unlock(f, S1, "L"), COORD_ST_OK);
	assert_true(f->r.released);
	hash = fx_hash(f);
	f->seq = 2; /* without seq this would answer released: false */
	assert_int_equal(fx_unlock(f, S1, "L"), COORD_ST_OK);
	assert_true(f->r.retry);
	assert_true(f->r.released);
	assert_int_equal(fx_hash(f), hash);

	f->seq = 3;
	assert_int_equal(fx_campaign(f, S1, "E", "a", false), COORD_ST_OK);
	f->seq = 4;
	assert_int_equal(fx_proclaim(f, S1, "E", "b"), COORD_ST_OK);
	token = f->r.token;
	hash = fx_hash(f);
	f->seq = 4;
	assert_int_equal(fx_proclaim(f, S1, "E", "b"), COORD_ST_OK);
	assert_true(f->r.retry);
	assert_int_equal(f->r.token, token);
	assert_int_equal(fx_hash(f), hash);
}

/* A saved failure is answered again too; the holders are read anew. */
static void test_a_saved_refusal_is_answered_again(void **state)
{
	struct fx *f = *state;
	uint64_t hash;

	fx_open(f, S1, FX_TTL, 0);
	fx_open(f, S2, FX_TTL, 0);
	fx_lock(f, S2, "L", COORD_MODE_EXCLUSIVE, false);
	f->seq = 1;
	assert_int_equal(fx_lock(f, S1, "L", COORD_MODE_EXCLUSIVE, false), COORD_ST_LOCK_HELD);
	assert_int_equal(fx_unlock(f, S2, "L"), COORD_ST_OK); /* the lock is free now */
	hash = fx_hash(f);
	f->seq = 1; /* a retry is not a new try: still the first answer */
	assert_int_equal(fx_lock(f, S1, "L", COORD_MODE_EXCLUSIVE, false), COORD_ST_LOCK_HELD);
	assert_true(f->r.retry);
	assert_int_equal(f->r.n_holders, 0);
	assert_int_equal(fx_hash(f), hash);
}

/* A seq already used by another request of the session is stale. */
static void test_another_request_under_a_used_seq_is_stale(void **state)
{
	struct fx *f = *state;
	uint64_t hash;

	fx_open(f, S1, FX_TTL, 0);
	f->seq = 3;
	fx_lock(f, S1, "A", COORD_MODE_EXCLUSIVE, false);
	hash = fx_hash(f);
	f->seq = 3;
	assert_stale(f, fx_lock(f, S1, "B", COORD_MODE_EXCLUSIVE, false), hash, 3);
	f->seq = 3;
	assert_stale(f, fx_lock(f, S1, "A", COORD_MODE_SHARED, false), hash, 3);
	f->seq = 3;
	assert_stale(f, fx_unlock(f, S1, "A"), hash, 3);
}

/* Above the last applied seq a request applies, gaps allowed (an
 * unanswered request may be lost), and becomes the record. */
static void test_a_higher_seq_applies_with_gaps(void **state)
{
	struct fx *f = *state;

	fx_open(f, S1, FX_TTL, 0);
	f->seq = 1;
	assert_int_equal(fx_lock(f, S1, "A", COORD_MODE_EXCLUSIVE, false), COORD_ST_OK);
	f->seq = 1000;
	assert_int_equal(fx_lock(f, S1, "B", COORD_MODE_EXCLUSIVE, false), COORD_ST_OK);
	assert_false(f->r.retry);
	assert_int_equal(last_seq(f, S1), 1000);
	assert_int_equal(session_seq(f, S1), 1000); /* what GET /v1/sessions/{id} shows */
	f->seq = COORD_SEQ_MAX;
	assert_int_equal(fx_unlock(f, S1, "A"), COORD_ST_OK);
	assert_true(f->r.released);
	assert_int_equal(last_seq(f, S1), COORD_SEQ_MAX);
}

/* Without seq: applied as always, never checked, and the record stays. */
static void test_no_seq_is_todays_behaviour_and_leaves_the_record(void **state)
{
	struct fx *f = *state;

	fx_open(f, S1, FX_TTL, 0);
	assert_int_equal(records(f), 0);
	assert_int_equal(fx_lock(f, S1, "L", COORD_MODE_EXCLUSIVE, false), COORD_ST_OK);
	assert_int_equal(records(f), 0); /* not numbered: no record */
	f->seq = 5;
	assert_int_equal(fx_lock(f, S1, "M", COORD_MODE_EXCLUSIVE, false), COORD_ST_OK);
	assert_int_equal(fx_unlock(f, S1, "L"), COORD_ST_OK);
	assert_true(f->r.released);
	assert_false(f->r.retry);
	assert_int_equal(fx_unlock(f, S1, "L"), COORD_ST_OK);
	assert_false(f->r.released); /* a repeated unnumbered release: a no-op */
	assert_int_equal(last_seq(f, S1), 5);
	f->seq = 5; /* the record is still the acquire of M */
	assert_int_equal(fx_lock(f, S1, "M", COORD_MODE_EXCLUSIVE, false), COORD_ST_OK);
	assert_true(f->r.retry);
}

/* A queued acquire retried never queues twice: it answers where its wait
 * stands now (queued, granted, or withdrawn). */
static void test_a_retried_queued_acquire_never_queues_twice(void **state)
{
	struct fx *f = *state;
	uint64_t token, hash;

	fx_open(f, S1, FX_TTL, 0);
	fx_open(f, S2, FX_TTL, 0);
	fx_open(f, S3, FX_TTL, 0);
	fx_lock(f, S1, "L", COORD_MODE_EXCLUSIVE, false);
	f->seq = 1;
	assert_int_equal(fx_lock(f, S2, "L", COORD_MODE_EXCLUSIVE, true), COORD_ST_QUEUED);
	f->seq = 1;
	assert_int_equal(fx_lock(f, S3, "L", COORD_MODE_EXCLUSIVE, true), COORD_ST_QUEUED);
	hash = fx_hash(f);
	f->seq = 1;
	assert_int_equal(fx_lock(f, S2, "L", COORD_MODE_EXCLUSIVE, true), COORD_ST_QUEUED);
	assert_true(f->r.retry);
	assert_int_equal(waiters(f, "L"), 2);
	assert_int_equal(fx_hash(f), hash);

	fx_unlock(f, S1, "L"); /* S2 is granted */
	token = fx_token(f, S2, "L");
	assert_int_not_equal(token, 0);
	f->seq = 1;
	assert_int_equal(fx_lock(f, S2, "L", COORD_MODE_EXCLUSIVE, true), COORD_ST_OK);
	assert_true(f->r.retry);
	assert_int_equal(f->r.token, token);

	assert_int_equal(fx_cancel(f, S3, COORD_KIND_LOCK, "L"), COORD_ST_LOCK_HELD);
	hash = fx_hash(f);
	f->seq = 1; /* its wait was withdrawn: not queued again */
	assert_int_equal(fx_lock(f, S3, "L", COORD_MODE_EXCLUSIVE, true), COORD_ST_LOCK_HELD);
	assert_true(f->r.retry);
	assert_int_equal(f->r.n_holders, 1);
	assert_false(fx_waiting(f, S3, "L"));
	assert_int_equal(fx_hash(f), hash);
}

/* A session's end takes its record along: later requests of it find no
 * session, and a record is never made for a session that does not exist. */
static void test_a_closed_session_keeps_no_record(void **state)
{
	struct fx *f = *state;
	uint64_t hash;

	fx_open(f, S1, FX_TTL, 0);
	f->seq = 7;
	fx_lock(f, S1, "L", COORD_MODE_EXCLUSIVE, false);
	f->seq = 8;
	assert_int_equal(fx_close(f, S1), COORD_ST_OK);
	assert_true(f->r.session_ended);
	assert_int_equal(records(f), 0);
	hash = fx_hash(f);
	f->seq = 6; /* a release delayed past the close */
	assert_int_equal(fx_unlock(f, S1, "L"), COORD_ST_SESSION_NOT_FOUND);
	f->seq = 8; /* the close again: closing is idempotent */
	assert_int_equal(fx_close(f, S1), COORD_ST_OK);
	assert_false(f->r.session_ended);
	assert_int_equal(records(f), 0);
	assert_int_equal(fx_hash(f), hash);
	assert_int_equal(last_seq(f, S1), 0);
	fx_open(f, S2, FX_TTL, 0);
	f->seq = 1;
	fx_lock(f, S2, "L", COORD_MODE_EXCLUSIVE, false);
	assert_int_equal(records(f), 1);
	fx_expire(f, S2);
	assert_int_equal(records(f), 0);
}

/* The record is state: a copy of the database (what a snapshot is) refuses
 * and answers exactly as the original. */
static void test_the_record_survives_a_snapshot_restore(void **state)
{
	struct fx *f = *state;
	struct fx *copy;
	uint64_t token;

	fx_open(f, S1, FX_TTL, 0);
	f->seq = 5;
	fx_lock(f, S1, "L", COORD_MODE_EXCLUSIVE, false);
	token = f->r.token;
	copy = fx_copy(f);
	assert_int_equal(fx_hash(copy), fx_hash(f));
	copy->seq = 4;
	assert_int_equal(fx_unlock(copy, S1, "L"), COORD_ST_STALE_REQUEST);
	assert_int_equal(copy->r.seq, 5);
	copy->seq = 5;
	assert_int_equal(fx_lock(copy, S1, "L", COORD_MODE_EXCLUSIVE, false), COORD_ST_OK);
	assert_true(copy->r.retry);
	assert_int_equal(copy->r.token, token);
	assert_int_equal(fx_teardown((void **)&copy), 0);
}

/* A record holds result fields and the request's name, never its value. */
static void test_a_record_is_bounded(void **state)
{
	struct fx *f = *state;
	char *big = malloc(COORD_VALUE_MAX + 1);
	sqlite3_stmt *st;

	assert_non_null(big);
	memset(big, 'v', COORD_VALUE_MAX);
	big[COORD_VALUE_MAX] = '\0';
	fx_open(f, S1, FX_TTL, 0);
	f->seq = 1;
	assert_int_equal(fx_acquire(f, S1, COORD_KIND_LOCK, "L", COORD_MODE_EXCLUSIVE, false, big),
	                 COORD_ST_OK);
	free(big);
	assert_int_equal(sqlite3_prepare_v2(f->db,
	                                    "SELECT length(session) + length(name) + 9 * 8"
	                                    " FROM coord_seqs",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_true(sqlite3_column_int64(st, 0) <= SM_SEQ_RECORD_MAX);
	sqlite3_finalize(st);
}

/* A release that names its grant releases that grant only; any other token
 * is a no-op answered released: false, and leaves a wait alone. */
static void test_a_release_by_token_releases_that_grant_only(void **state)
{
	struct fx *f = *state;
	uint64_t token, hash;

	fx_open(f, S1, FX_TTL, 0);
	fx_open(f, S2, FX_TTL, 0);
	fx_lock(f, S1, "L", COORD_MODE_EXCLUSIVE, false);
	token = f->r.token;
	fx_lock(f, S2, "L", COORD_MODE_EXCLUSIVE, true);
	hash = fx_hash(f);
	assert_int_equal(fx_unlock_token(f, S1, "L", token + 1), COORD_ST_OK);
	assert_false(f->r.released);
	assert_int_equal(fx_unlock_token(f, S2, "L", token), COORD_ST_OK); /* only waits */
	assert_false(f->r.released);
	assert_int_equal(fx_hash(f), hash);
	assert_int_equal(fx_token(f, S1, "L"), token);
	assert_true(fx_waiting(f, S2, "L"));
	assert_int_equal(fx_unlock_token(f, S1, "L", token), COORD_ST_OK);
	assert_true(f->r.released);
	assert_true(fx_granted(f, S2, "L"));
	/* An old grant's release after a new grant of the same session. */
	fx_unlock(f, S2, "L");
	fx_lock(f, S1, "L", COORD_MODE_EXCLUSIVE, false);
	assert_int_equal(fx_unlock_token(f, S1, "L", token), COORD_ST_OK);
	assert_false(f->r.released);
	assert_int_not_equal(fx_token(f, S1, "L"), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_a_delayed_release_never_undoes_a_later_acquire),
	    T(test_a_lower_seq_changes_nothing_for_every_type),
	    T(test_the_same_seq_gets_the_first_answer_again),
	    T(test_a_saved_refusal_is_answered_again),
	    T(test_another_request_under_a_used_seq_is_stale),
	    T(test_a_higher_seq_applies_with_gaps),
	    T(test_no_seq_is_todays_behaviour_and_leaves_the_record),
	    T(test_a_retried_queued_acquire_never_queues_twice),
	    T(test_a_closed_session_keeps_no_record),
	    T(test_the_record_survives_a_snapshot_restore),
	    T(test_a_record_is_bounded),
	    T(test_a_release_by_token_releases_that_grant_only),
	};

	return cmocka_run_group_tests_name("coord_sm_seq", tests, NULL, NULL);
}
