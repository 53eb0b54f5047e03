/* Determinism and safety under random command streams: two databases fed
 * the same stream answer the same and hash the same after every entry, and
 * after every entry the lock invariants of sm.h hold (SM-1..SM-5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sm_fixture.h"

#define STREAM_STEPS    1500
#define STREAM_SESSIONS 8
#define STREAM_LOCKS    4

static const char *const lockNames[STREAM_LOCKS] = {"a", "b", "jobs/c", "jobs/d"};

/* xorshift64*: the stream's only source of randomness, seeded per test. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* A random, valid command at time NOW. */
static struct coord_cmd randomCmd(uint64_t *seed, uint64_t now)
{
	static const char *const values[] = {"v1", "v2", "host:3"};
	struct coord_cmd c;
	uint64_t r = rnd(seed);

	memset(&c, 0, sizeof(c));
	c.now_ms = now;
	c.session = fx_sid(1 + (unsigned)(r % STREAM_SESSIONS));
	r /= STREAM_SESSIONS;
	c.kind = (r % 4 == 0) ? COORD_KIND_ELECTION : COORD_KIND_LOCK;
	r /= 4;
	c.name = lockNames[r % STREAM_LOCKS];
	c.name_len = strlen(c.name);
	r /= STREAM_LOCKS;
	c.value = values[r % 3];
	c.value_len = strlen(c.value);
	r /= 3;
	switch (r % 12) {
	case 0:
	case 1:
		c.type = COORD_CMD_OPEN;
		c.ttl_ms = FX_TTL;
		c.lock_delay_ms = (r / 12) % 2 ? 3000 : 0;
		c.name = "s";
		c.name_len = 1;
		break;
	case 2:
		c.type = COORD_CMD_CLOSE;
		break;
	case 3:
		c.type = COORD_CMD_EXPIRE;
		break;
	case 4:
	case 5:
	case 6:
		c.type = COORD_CMD_ACQUIRE;
		c.mode = c.kind == COORD_KIND_LOCK && (r / 12) % 2 ? COORD_MODE_SHARED
		                                                   : COORD_MODE_EXCLUSIVE;
		c.queue = (r / 24) % 3 != 0;
		c.has_value = (r / 72) % 2;
		if (!c.has_value)
			c.value_len = 0;
		break;
	case 7:
	case 8:
		c.type = COORD_CMD_RELEASE;
		break;
	case 9:
		c.type = COORD_CMD_CANCEL;
		break;
	case 10:
		c.type = COORD_CMD_PROCLAIM;
		c.kind = COORD_KIND_ELECTION;
		c.has_value = true;
		break;
	default:
		c.type = COORD_CMD_WAKE;
		memset(&c.session, 0, sizeof(c.session));
		break;
	}
	if (c.type != COORD_CMD_ACQUIRE && c.type != COORD_CMD_PROCLAIM) {
		c.has_value = false;
		c.value_len = 0;
	}
	return c;
}

/* Runs SQL that must yield a single 0. */
static void assertZero(struct fx *f, const char *what, const char *sql)
{
	uint64_t n = 1;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(f->db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (n != 0)
		fail_msg("after entry %llu: %s", (unsigned long long)f->index, what);
}

static void assertInvariants(struct fx *f, uint64_t now)
{
	char sql[512];

	assertZero(f, "two exclusive holders, or exclusive beside shared (SM-2)",
	           "SELECT count(*) FROM (SELECT 1 FROM coord_holders GROUP BY kind, name"
	           " HAVING count(*) > 1 AND sum(mode = 0) > 0)");
	assertZero(f, "a holder or waiter of a dead session (SM-4)",
	           "SELECT (SELECT count(*) FROM coord_holders WHERE session NOT IN"
	           " (SELECT id FROM coord_sessions)) + (SELECT count(*) FROM coord_waiters"
	           " WHERE session NOT IN (SELECT id FROM coord_sessions))");
	assertZero(f, "an election with a shared holder",
	           "SELECT count(*) FROM coord_holders WHERE kind = 1 AND mode = 1");
	/* SM-5: no queue head could have been granted, unless the lock is in
	 * a lock-delay (which lasts until an entry at or after its end). */
	assertZero(f, "a grantable queue head left waiting (SM-5)",
	           "SELECT count(*) FROM coord_locks l"
	           " JOIN coord_waiters w ON w.kind = l.kind AND w.name = l.name"
	           " WHERE l.delay_until_ms = 0"
	           " AND w.since_index = (SELECT min(since_index) FROM coord_waiters x"
	           "  WHERE x.kind = l.kind AND x.name = l.name)"
	           " AND (SELECT count(*) FROM coord_holders h WHERE h.kind = l.kind"
	           "  AND h.name = l.name AND (w.mode = 0 OR h.mode = 0)) = 0");
	/* ... and a lock whose delay is still running is not that far. */
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM coord_locks WHERE delay_until_ms > %llu + 3000",
	         (unsigned long long)now);
	assertZero(f, "a lock-delay longer than the session's (SM-6)", sql);
}

/* Every grant an entry made carries the entry's index (SM-3): larger than
 * every token before it. */
static void checkTokens(const struct fx *f, uint64_t *last)
{
	if (f->r.type == COORD_CMD_ACQUIRE && f->r.status == COORD_ST_OK &&
	    f->r.token == f->index) {
		assert_true(f->r.token > *last);
		*last = f->r.token;
	}
	for (size_t i = 0; i < f->r.n_grants; i++) {
		assert_int_equal(f->r.grants[i].token, f->index);
		assert_true(f->index > *last || (i > 0 && f->index == *last));
		*last = f->index;
	}
}

static void runStream(struct fx *a, struct fx *b, uint64_t seed)
{
	uint64_t now = a->now_ms, last_token = 0;

	for (int step = 0; step < STREAM_STEPS; step++) {
		struct coord_cmd c;

		now += rnd(&seed) % 700;
		c = randomCmd(&seed, now);
		fx_apply(a, &c);
		fx_apply(b, &c);
		assert_int_equal(a->r.status, b->r.status);
		assert_int_equal(a->r.n_grants, b->r.n_grants);
		assert_int_equal(fx_hash(a), fx_hash(b));
		checkTokens(a, &last_token);
		assertInvariants(a, now);
	}
}

static int pairSetup(void **state)
{
	static struct fx *pair[2];

	fx_setup((void **)&pair[0]);
	fx_setup((void **)&pair[1]);
	*state = pair;
	return 0;
}

static int pairTeardown(void **state)
{
	struct fx **pair = *state;

	fx_teardown((void **)&pair[0]);
	fx_teardown((void **)&pair[1]);
	return 0;
}

static void streamTest(void **state, uint64_t seed)
{
	struct fx **pair = *state;

	runStream(pair[0], pair[1], seed);
}

static void test_same_stream_same_state_seed_1(void **state)
{
	streamTest(state, 1);
}

static void test_same_stream_same_state_seed_2(void **state)
{
	streamTest(state, 0x9e3779b97f4a7c15ull);
}

static void test_same_stream_same_state_seed_3(void **state)
{
	streamTest(state, 20260101);
}

static void test_different_streams_differ(void **state)
{
	struct fx **pair = *state;
	uint64_t s1 = 7, s2 = 8;

	for (int step = 0; step < 50; step++) {
		struct coord_cmd c1 = randomCmd(&s1, 1000000 + (uint64_t)step);
		struct coord_cmd c2 = randomCmd(&s2, 1000000 + (uint64_t)step);

		fx_apply(pair[0], &c1);
		fx_apply(pair[1], &c2);
	}
	assert_int_not_equal(fx_hash(pair[0]), fx_hash(pair[1]));
}

#define T(name) cmocka_unit_test_setup_teardown(name, pairSetup, pairTeardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_same_stream_same_state_seed_1),
	    T(test_same_stream_same_state_seed_2),
	    T(test_same_stream_same_state_seed_3),
	    T(test_different_streams_differ),
	};

	return cmocka_run_group_tests_name("coord_sm_determinism", tests, NULL, NULL);
}
