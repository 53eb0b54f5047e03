/* Determinism and safety under random command streams: two databases fed
 * the same stream (one through coord_sm_apply, one through a struct
 * coord_sm) answer the same and hash the same after every entry, and
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
	/* Weights out of 16: open 2, close 1, expire 1, acquire 6, release 3,
	 * cancel 1, proclaim 1, wake 1. */
	switch (r % 16) {
	case 0:
	case 1:
		c.type = COORD_CMD_OPEN;
		c.ttl_ms = FX_TTL;
		c.lock_delay_ms = (r / 16) % 2 ? 3000 : 0;
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
	case 7:
	case 8:
	case 9:
		c.type = COORD_CMD_ACQUIRE;
		c.mode = c.kind == COORD_KIND_LOCK && (r / 16) % 2 ? COORD_MODE_SHARED
		                                                   : COORD_MODE_EXCLUSIVE;
		c.queue = (r / 32) % 3 != 0;
		c.has_value = (r / 96) % 2;
		if (!c.has_value)
			c.value_len = 0;
		break;
	case 10:
	case 11:
	case 12:
		c.type = COORD_CMD_RELEASE;
		break;
	case 13:
		c.type = COORD_CMD_CANCEL;
		break;
	case 14:
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

static void assertZero(struct fx *f, const char *what, const char *sql);

/* Keeps the holders as they stand before an entry, in a temp table (not
 * part of the state machine's tables, nor of its hash). */
static void snapshotHolders(struct fx *f)
{
	assert_int_equal(sqlite3_exec(f->db,
	                              "DROP TABLE IF EXISTS temp.prev_holders;"
	                              "CREATE TEMP TABLE prev_holders AS"
	                              " SELECT kind, name, session, token FROM main.coord_holders",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
}

/* SM-3: every hold this entry created carries the entry's index, larger than
 * any token granted before, and the result reports the same token. */
static void checkTokens(struct fx *f, uint64_t *last)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM main.coord_holders h WHERE token != %llu"
	         " AND NOT EXISTS (SELECT 1 FROM temp.prev_holders p WHERE p.kind = h.kind"
	         " AND p.name = h.name AND p.session = h.session AND p.token = h.token)",
	         (unsigned long long)f->index);
	assertZero(f, "a new hold whose token is not the granting entry's index (SM-3)", sql);
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

/* A waiter as it stood before an entry. */
struct queued {
	int kind;
	char name[16];
	struct coord_session_id session;
	uint64_t since;
};

#define QUEUED_MAX (STREAM_SESSIONS * (STREAM_LOCKS + 1) * 2)

static size_t snapshotQueues(struct fx *f, struct queued *q)
{
	sqlite3_stmt *st;
	size_t n = 0;

	assert_int_equal(sqlite3_prepare_v2(f->db,
	                                    "SELECT kind, name, session, since_index"
	                                    " FROM coord_waiters ORDER BY kind, name, since_index",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		assert_true(n < QUEUED_MAX);
		q[n].kind = sqlite3_column_int(st, 0);
		snprintf(q[n].name, sizeof(q[n].name), "%s", sqlite3_column_text(st, 1));
		memcpy(q[n].session.bytes, sqlite3_column_blob(st, 2), COORD_SESSION_ID_LEN);
		q[n].since = (uint64_t)sqlite3_column_int64(st, 3);
		n++;
	}
	sqlite3_finalize(st);
	return n;
}

static bool stillWaiting(struct fx *f, const struct queued *w)
{
	sqlite3_stmt *st;
	bool found;

	assert_int_equal(sqlite3_prepare_v2(f->db,
	                                    "SELECT 1 FROM coord_waiters WHERE kind = ?1"
	                                    " AND name = ?2 AND session = ?3",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_int(st, 1, w->kind);
	sqlite3_bind_text(st, 2, w->name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, w->session.bytes, COORD_SESSION_ID_LEN, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* FIFO (SM-5): a session granted by this entry passed nobody. Whoever
 * queued for the same lock before it (everyone queued, for a new request)
 * was granted or left too, so no earlier waiter still waits. */
static void checkFifo(struct fx *f, const struct queued *q, size_t n)
{
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(f->db,
	                                    "SELECT kind, name, session FROM coord_holders"
	                                    " WHERE token = ?1",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)f->index);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int kind = sqlite3_column_int(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		uint64_t since = UINT64_MAX;

		for (size_t i = 0; i < n; i++)
			if (q[i].kind == kind && strcmp(q[i].name, name) == 0 &&
			    memcmp(q[i].session.bytes, sqlite3_column_blob(st, 2),
			           COORD_SESSION_ID_LEN) == 0)
				since = q[i].since;
		for (size_t i = 0; i < n; i++)
			if (q[i].kind == kind && strcmp(q[i].name, name) == 0 &&
			    q[i].since < since && stillWaiting(f, &q[i]))
				fail_msg("after entry %llu: %s granted past an earlier waiter",
				         (unsigned long long)f->index, name);
	}
	sqlite3_finalize(st);
}

/* The lock-delays the stream's expiries started, as a model (SM-6). */
struct delay_model {
	uint32_t session_delay[STREAM_SESSIONS + 1]; /* by session number */
	uint64_t until[2][STREAM_LOCKS];             /* by kind, lock */
};

static int lockNumber(const char *name)
{
	for (int i = 0; i < STREAM_LOCKS; i++)
		if (strcmp(lockNames[i], name) == 0)
			return i;
	fail_msg("unknown lock %s", name);
	return -1;
}

/* Records what entry C did to the model, then checks that no hold this
 * entry created is on a lock still in its lock-delay at time NOW. */
static void checkLockDelay(struct fx *f, const struct coord_cmd *c, struct delay_model *m)
{
	unsigned s = c->session.bytes[15];
	sqlite3_stmt *st;

	if (c->type == COORD_CMD_OPEN && f->r.status == COORD_ST_OK)
		m->session_delay[s] = c->lock_delay_ms;
	if (c->type == COORD_CMD_EXPIRE && f->r.session_ended)
		for (size_t i = 0; i < f->r.n_released; i++) {
			const struct coord_lockref *l = &f->r.released_locks[i];
			uint64_t *until = &m->until[l->kind][lockNumber(l->name)];

			if (c->now_ms + m->session_delay[s] > *until)
				*until = c->now_ms + m->session_delay[s];
		}
	assert_int_equal(sqlite3_prepare_v2(f->db,
	                                    "SELECT kind, name FROM coord_holders WHERE token = ?1",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)f->index);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);

		if (m->until[sqlite3_column_int(st, 0)][lockNumber(name)] > c->now_ms)
			fail_msg("after entry %llu: %s granted in its lock-delay",
			         (unsigned long long)f->index, name);
	}
	sqlite3_finalize(st);
}

static void runStream(struct fx *a, struct fx *b, uint64_t seed)
{
	uint64_t now = a->now_ms, last_token = 0;
	struct queued queues[QUEUED_MAX];
	size_t seen[COORD_ST_COUNT] = {0}, queue_grants = 0;
	struct delay_model delays;

	memset(&delays, 0, sizeof(delays));

	for (int step = 0; step < STREAM_STEPS; step++) {
		size_t nq = snapshotQueues(a, queues);
		struct coord_cmd c;

		snapshotHolders(a);
		now += rnd(&seed) % 700;
		c = randomCmd(&seed, now);
		fx_apply(a, &c);
		fx_apply(b, &c);
		assert_int_equal(a->r.status, b->r.status);
		assert_int_equal(a->r.n_grants, b->r.n_grants);
		assert_int_equal(fx_hash(a), fx_hash(b));
		checkTokens(a, &last_token);
		checkFifo(a, queues, nq);
		checkLockDelay(a, &c, &delays);
		assertInvariants(a, now);
		seen[a->r.status]++;
		queue_grants += a->r.n_grants;
	}
	/* The stream reached the interesting paths, so the checks above had
	 * something to check. */
	print_message("statuses: ok %zu queued %zu held %zu delay %zu; queue grants %zu\n",
	              seen[COORD_ST_OK], seen[COORD_ST_QUEUED], seen[COORD_ST_LOCK_HELD],
	              seen[COORD_ST_LOCK_DELAY], queue_grants);
	assert_true(seen[COORD_ST_QUEUED] > 0 && seen[COORD_ST_LOCK_HELD] > 0);
	assert_true(seen[COORD_ST_LOCK_DELAY] > 0 && seen[COORD_ST_NOT_HOLDER] > 0);
	assert_true(queue_grants > 0);
}

static int pairSetup(void **state)
{
	static struct fx *pair[2];

	fx_setup((void **)&pair[0]);
	fx_setup((void **)&pair[1]);
	/* The two ways to apply must agree: per-call statements on one side,
	 * a struct coord_sm keeping them on the other. */
	fx_use_coord_sm(pair[1]);
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
