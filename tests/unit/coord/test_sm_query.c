/* Queries: every GET of API.md answers JSON shaped exactly like its body,
 * read from the tables the commands write, with modify_index (SM-8). */
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

/* Session ids as the API shows them (fx_sid). */
#define S1 "c0000000000000000000000000000001"
#define S2 "c0000000000000000000000000000002"
#define S3 "c0000000000000000000000000000003"

/* A page larger than any listing here: the whole listing. */
#define PAGE 1000u

/* Asserts that GOT equals WANT (both dropped), printing both if not. */
static void assertJson(json_t *got, json_t *want)
{
	assert_non_null(got);
	assert_non_null(want);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS), *w = json_dumps(want, JSON_SORT_KEYS);

		print_error("got  %s\nwant %s\n", g, w);
		free(g);
		free(w);
		fail();
	}
	json_decref(got);
	json_decref(want);
}

/* The scenario of every test here: entries 1-3 open S1..S3; 4: S1 holds
 * jobs/a shared with value "v1"; 5: S2 queues for jobs/a exclusive;
 * 6: S3 holds jobs/b; 7: S3 holds other; 8: S1 leads election "db";
 * 9: S2 stands in "db". */
static void scenario(struct fx *f)
{
	for (unsigned s = 1; s <= 3; s++)
		fx_open(f, s, FX_TTL, 0);
	fx_acquire(f, 1, COORD_KIND_LOCK, "jobs/a", SH, false, "v1");
	fx_lock(f, 2, "jobs/a", EX, true);
	fx_lock(f, 3, "jobs/b", EX, false);
	fx_lock(f, 3, "other", EX, false);
	fx_campaign(f, 1, "db", "host1", true);
	fx_campaign(f, 2, "db", "host2", true);
	assert_int_equal(f->index, 9);
}

static json_t *lockA(void)
{
	return json_pack("{s:s, s:s, s:[{s:s, s:i, s:s, s:i}], s:[{s:s, s:s, s:i}], s:i}", "name",
	                 "jobs/a", "mode", "shared", "holders", "session", S1, "fencing_token", 4,
	                 "value", "v1", "since_index", 4, "waiters", "session", S2, "mode",
	                 "exclusive", "since_index", 5, "modify_index", 5);
}

static json_t *lockB(void)
{
	return json_pack("{s:s, s:s, s:[{s:s, s:i, s:n, s:i}], s:[], s:i}", "name", "jobs/b",
	                 "mode", "exclusive", "holders", "session", S3, "fencing_token", 6, "value",
	                 "since_index", 6, "waiters", "modify_index", 6);
}

static void test_lock_shape(void **state)
{
	struct fx *f = *state;

	scenario(f);
	assertJson(fx_lock_json(f, "jobs/a"), lockA());
	assert_null(fx_lock_json(f, "jobs/none"));
}

static void test_locks_by_prefix_in_name_order(void **state)
{
	struct fx *f = *state;
	json_t *got;

	scenario(f);
	assert_int_equal(coord_sm_query_locks(f->reader, "jobs/", 5, NULL, 0, PAGE, &got), 0);
	assertJson(got, json_pack("{s:[o,o], s:n}", "locks", lockA(), lockB(), "next"));
	assert_int_equal(coord_sm_query_locks(f->reader, "", 0, NULL, 0, PAGE, &got), 0);
	assert_int_equal(json_array_size(json_object_get(got, "locks")), 3);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(got, "locks"), 2), "name")),
	                    "other");
	json_decref(got);
	assert_int_equal(coord_sm_query_locks(f->reader, "jobs/c", 6, NULL, 0, PAGE, &got), 0);
	assertJson(got, json_pack("{s:[], s:n}", "locks", "next"));
}

/* Lists the locks whose names start with the LEN bytes of PREFIX and
 * asserts that their names, joined with '|', are WANT. */
static void assertPrefix(struct fx *f, const char *prefix, size_t len, const char *want)
{
	char got[256] = "";
	json_t *list, *locks;

	assert_int_equal(coord_sm_query_locks(f->reader, prefix, len, NULL, 0, PAGE, &list), 0);
	locks = json_object_get(list, "locks");
	for (size_t i = 0; i < json_array_size(locks); i++) {
		if (i > 0)
			strcat(got, "|");
		strcat(got, json_string_value(json_object_get(json_array_get(locks, i), "name")));
	}
	assert_string_equal(got, want);
	json_decref(list);
}

/* A prefix is a range of names: its bounds must hold at the byte just past
 * '/' ('0'), at names equal to the prefix, inside a multi-byte character,
 * and for a prefix of 0xff bytes (no successor; no UTF-8 name has them). */
static void test_prefix_bounds(void **state)
{
	static const char *names[] = {"job",   "jobs.",           "jobs/",     "jobs/a",
	                              "jobs0", "jobs0x",          "a\xc3\xa9", "a\303\251b",
	                              "b",     "\xf4\x8f\xbf\xbf"};
	struct fx *f = *state;
	char longer[COORD_NAME_MAX + 2];

	fx_open(f, 1, FX_TTL, 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(fx_lock(f, 1, names[i], EX, false), COORD_OK);
	assertPrefix(f, "jobs/", 5, "jobs/|jobs/a");
	assertPrefix(f, "jobs", 4, "jobs.|jobs/|jobs/a|jobs0|jobs0x");
	assertPrefix(f, "a\xc3", 2, "a\303\251|a\303\251b");
	assertPrefix(f, "\xf4", 1, "\xf4\x8f\xbf\xbf");
	assertPrefix(f, "\xff\xff", 2, "");
	assertPrefix(f, "c", 1, "");
	memset(longer, 'j', sizeof(longer));
	assertPrefix(f, longer, sizeof(longer), "");
}

/* Pages -------------------------------------------------------------------- */

/* The keys of the page LIST under KEY joined with '|', then " next=" and
 * its "next" (or "null"), so a test states a page in one string; drops
 * LIST. */
static const char *pageText(json_t *list, const char *items, const char *key, char *out, size_t cap)
{
	json_t *arr = json_object_get(list, items), *next = json_object_get(list, "next");
	size_t len = 0;

	assert_non_null(arr);
	assert_non_null(next); /* present on every page, null on the last */
	out[0] = '\0';
	for (size_t i = 0; i < json_array_size(arr); i++)
		len += (size_t)snprintf(
		    out + len, cap - len, "%s%s", i ? "|" : "",
		    json_string_value(json_object_get(json_array_get(arr, i), key)));
	snprintf(out + len, cap - len, " next=%s",
	         json_is_null(next) ? "null" : json_string_value(next));
	json_decref(list);
	return out;
}

/* The page of locks with PREFIX after AFTER (NULL: the first) of LIMIT. */
static const char *lockPage(struct fx *f, const char *prefix, const char *after, uint32_t limit,
                            char *out, size_t cap)
{
	json_t *list;

	assert_int_equal(coord_sm_query_locks(f->reader, prefix, strlen(prefix), after,
	                                      after ? strlen(after) : 0, limit, &list),
	                 0);
	return pageText(list, "locks", "name", out, cap);
}

/* Opens session 1 and has it take each lock of NAMES ("d|b|a"), in that
 * order. */
static void lockNames(struct fx *f, const char *names)
{
	char name[COORD_NAME_MAX + 1];

	fx_open(f, 1, FX_TTL, 0);
	for (const char *p = names; *p;) {
		size_t len = strcspn(p, "|");

		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		assert_int_equal(fx_lock(f, 1, name, EX, false), COORD_OK);
		p += len + (p[len] == '|');
	}
}

/* Scenario: locks a, b, c, d, e taken in another order. Action: pages of
 * 2, each after the last "next". Outcome: name order, "next" the last name
 * of a page while more follow, null on the last page. */
static void test_locks_page_in_name_order_with_next(void **state)
{
	struct fx *f = *state;
	char got[512];

	lockNames(f, "d|b|e|a|c");
	assert_string_equal(lockPage(f, "", NULL, 2, got, sizeof(got)), "a|b next=b");
	assert_string_equal(lockPage(f, "", "b", 2, got, sizeof(got)), "c|d next=d");
	assert_string_equal(lockPage(f, "", "d", 2, got, sizeof(got)), "e next=null");
	assert_string_equal(lockPage(f, "", NULL, 5, got, sizeof(got)), "a|b|c|d|e next=null");
	assert_string_equal(lockPage(f, "", NULL, 1, got, sizeof(got)), "a next=a");
	assert_string_equal(lockPage(f, "", NULL, 10000, got, sizeof(got)), "a|b|c|d|e next=null");
}

/* Scenario: four locks, pages of two. Outcome: the second page is full and
 * the last: its "next" is null (the row after the page decides, not the
 * page being full); and after the last name there is an empty last page. */
static void test_locks_page_exactly_at_the_limit_is_the_last(void **state)
{
	struct fx *f = *state;
	char got[512];

	lockNames(f, "a|b|c|d");
	assert_string_equal(lockPage(f, "", NULL, 2, got, sizeof(got)), "a|b next=b");
	assert_string_equal(lockPage(f, "", "b", 2, got, sizeof(got)), "c|d next=null");
	assert_string_equal(lockPage(f, "", NULL, 4, got, sizeof(got)), "a|b|c|d next=null");
	assert_string_equal(lockPage(f, "", "d", 2, got, sizeof(got)), " next=null");
}

/* Scenario: ?after= names no lock: one between two, before the first, past
 * the last. Outcome: keyset paging: the page starts after that key in name
 * order; past the end an empty page with next null. */
static void test_locks_after_a_name_that_is_no_lock(void **state)
{
	struct fx *f = *state;
	char got[512];

	lockNames(f, "b|d|f");
	assert_string_equal(lockPage(f, "", "c", 1, got, sizeof(got)), "d next=d");
	assert_string_equal(lockPage(f, "", "bb", 10, got, sizeof(got)), "d|f next=null");
	assert_string_equal(lockPage(f, "", "a", 10, got, sizeof(got)), "b|d|f next=null");
	assert_string_equal(lockPage(f, "", "f", 10, got, sizeof(got)), " next=null");
	assert_string_equal(lockPage(f, "", "zzz", 10, got, sizeof(got)), " next=null");
	fx_unlock(f, 1, "d"); /* the key a client holds may go away between pages */
	assert_string_equal(lockPage(f, "", "d", 10, got, sizeof(got)), "f next=null");
}

/* Scenario: a prefix and ?after=: after a name inside the prefix's range,
 * before it, past it, equal to the prefix. Outcome: the page holds only
 * names with the prefix, after the key when the key is at or past the
 * prefix, from the prefix's first name when it is before. */
static void test_locks_page_with_prefix_and_after(void **state)
{
	struct fx *f = *state;
	char got[512];

	lockNames(f, "jobs|jobs/a|jobs/b|jobs/c|jobs0|a|k|jobs/b/x");
	assert_string_equal(lockPage(f, "jobs/", NULL, 2, got, sizeof(got)),
	                    "jobs/a|jobs/b next=jobs/b");
	assert_string_equal(lockPage(f, "jobs/", "jobs/b", 2, got, sizeof(got)),
	                    "jobs/b/x|jobs/c next=null");
	assert_string_equal(lockPage(f, "jobs/", "jobs/b/x", 1, got, sizeof(got)),
	                    "jobs/c next=null");
	assert_string_equal(lockPage(f, "jobs/", "a", 1, got, sizeof(got)), "jobs/a next=jobs/a");
	assert_string_equal(lockPage(f, "jobs/", "jobs", 1, got, sizeof(got)),
	                    "jobs/a next=jobs/a");
	assert_string_equal(lockPage(f, "jobs/", "jobs/c", 5, got, sizeof(got)), " next=null");
	assert_string_equal(lockPage(f, "jobs/", "jobs0", 5, got, sizeof(got)), " next=null");
	assert_string_equal(lockPage(f, "jobs/", "k", 5, got, sizeof(got)), " next=null");
	assert_string_equal(lockPage(f, "jobs", "jobs", 10, got, sizeof(got)),
	                    "jobs/a|jobs/b|jobs/b/x|jobs/c|jobs0 next=null");
	assert_string_equal(lockPage(f, "\xff", "a", 10, got, sizeof(got)), " next=null");
}

/* Scenario: lock a is left in its lock-delay by an expired holder (its row
 * stays, with nobody holding or waiting: not a lock), then b and c. Action:
 * pages of one. Outcome: a is on no page, and every page is full but the
 * last: the row kept for the delay takes no place on a page. */
static void test_a_lock_delay_alone_takes_no_place_on_a_page(void **state)
{
	struct fx *f = *state;
	char got[512];

	fx_open(f, 1, FX_TTL, 60000);
	fx_open(f, 2, FX_TTL, 0);
	assert_int_equal(fx_lock(f, 1, "a", EX, false), COORD_OK);
	assert_int_equal(fx_expire(f, 1), COORD_ST_OK);
	assert_int_equal(fx_lock(f, 2, "b", EX, false), COORD_OK);
	assert_int_equal(fx_lock(f, 2, "c", EX, false), COORD_OK);
	assert_null(fx_lock_json(f, "a"));
	assert_string_equal(lockPage(f, "", NULL, 1, got, sizeof(got)), "b next=b");
	assert_string_equal(lockPage(f, "", "b", 1, got, sizeof(got)), "c next=null");
	assert_string_equal(lockPage(f, "", NULL, 2, got, sizeof(got)), "b|c next=null");
}

/* The page of sessions after session number AFTER (0: the first page). */
static const char *sessionPage(struct fx *f, unsigned after, uint32_t limit, char *out, size_t cap)
{
	struct coord_session_id id = fx_sid(after);
	json_t *list;

	assert_int_equal(coord_sm_query_sessions(f->reader, after ? &id : NULL, limit, &list), 0);
	return pageText(list, "sessions", "id", out, cap);
}

#define SID_OF(n) "c00000000000000000000000000000" n

/* Scenario: sessions 1..5 opened out of order. Action: pages of 2, each
 * after the last "next"; a page after an id no session has; after the last
 * id. Outcome: id order (the order of the ids' hex text), "next" the last
 * id while more follow, null on the last page, which may be full or
 * empty. */
static void test_sessions_page_in_id_order_with_next(void **state)
{
	static const unsigned order[] = {5, 3, 1, 4, 2};
	struct fx *f = *state;
	char got[1024];

	for (size_t i = 0; i < 5; i++)
		fx_open(f, order[i], FX_TTL, 0);
	assert_string_equal(sessionPage(f, 0, 2, got, sizeof(got)),
	                    SID_OF("01") "|" SID_OF("02") " next=" SID_OF("02"));
	assert_string_equal(sessionPage(f, 2, 2, got, sizeof(got)),
	                    SID_OF("03") "|" SID_OF("04") " next=" SID_OF("04"));
	assert_string_equal(sessionPage(f, 4, 2, got, sizeof(got)), SID_OF("05") " next=null");
	fx_close(f, 5); /* now the second page of two is the last, and full */
	assert_string_equal(sessionPage(f, 2, 2, got, sizeof(got)),
	                    SID_OF("03") "|" SID_OF("04") " next=null");
	assert_string_equal(sessionPage(f, 4, 2, got, sizeof(got)), " next=null");
	assert_string_equal(sessionPage(f, 5, 2, got, sizeof(got)), " next=null"); /* ended */
	assert_string_equal(sessionPage(f, 0x1ff, 2, got, sizeof(got)), " next=null");
	assert_string_equal(
	    sessionPage(f, 0, 4, got, sizeof(got)),
	    SID_OF("01") "|" SID_OF("02") "|" SID_OF("03") "|" SID_OF("04") " next=null");
}

/* Scenario: a long listing walked a page of LIMIT at a time, for several
 * limits. Outcome: each item exactly once, in order, and the walk ends with
 * next null after ceil(N / LIMIT) pages (one more when N is a multiple). */
static void test_walking_the_pages_sees_every_item_once(void **state)
{
	struct fx *f = *state;
	enum { N = 70 };

	for (unsigned s = 1; s <= N; s++)
		fx_open(f, s, FX_TTL, 0);
	for (unsigned s = 1; s <= N; s++) {
		char name[16];

		snprintf(name, sizeof(name), "l%03u", (s * 37) % N);
		assert_int_equal(fx_lock(f, s, name, EX, false), COORD_OK);
	}
	for (uint32_t limit = 1; limit <= N + 1; limit += 3) {
		char after[16] = "", want[16];
		unsigned seen = 0, sessions = 0, pages = 0;
		struct coord_session_id last = {{0}};
		bool more = true;

		while (more) {
			json_t *list, *locks, *next;

			assert_int_equal(coord_sm_query_locks(f->reader, "l", 1, after,
			                                      strlen(after), limit, &list),
			                 0);
			locks = json_object_get(list, "locks");
			next = json_object_get(list, "next");
			assert_true(json_array_size(locks) <= limit);
			for (size_t i = 0; i < json_array_size(locks); i++, seen++) {
				snprintf(want, sizeof(want), "l%03u", seen);
				assert_string_equal(json_string_value(json_object_get(
				                        json_array_get(locks, i), "name")),
				                    want);
			}
			more = !json_is_null(next);
			if (more) {
				assert_int_equal(json_array_size(locks), limit);
				snprintf(after, sizeof(after), "%s", json_string_value(next));
			}
			json_decref(list);
			assert_true(++pages <= N + 1);
		}
		assert_int_equal(seen, N);
		more = true;
		pages = 0;
		while (more) {
			json_t *list, *arr, *next;

			assert_int_equal(coord_sm_query_sessions(f->reader, sessions ? &last : NULL,
			                                         limit, &list),
			                 0);
			arr = json_object_get(list, "sessions");
			sessions += (unsigned)json_array_size(arr);
			next = json_object_get(list, "next");
			more = !json_is_null(next);
			if (more)
				assert_int_equal(
				    coord_session_id_parse(json_string_value(next), 32, &last), 0);
			json_decref(list);
			assert_true(++pages <= N + 1);
		}
		assert_int_equal(sessions, N);
	}
}

static void test_session_shape(void **state)
{
	struct fx *f = *state;
	struct coord_session_id id = fx_sid(2);
	json_t *got;

	scenario(f);
	assert_int_equal(coord_sm_query_session(f->reader, &id, &got), 0);
	assertJson(got, json_pack("{s:s, s:i, s:i, s:s, s:i, s:i, s:[], s:[{s:s, s:s, s:i}],"
	                          " s:[{s:s, s:b, s:s, s:i}]}",
	                          "id", S2, "ttl_ms", FX_TTL, "lock_delay_ms", 0, "name", "test",
	                          "modify_index", 9, "seq", 0, "locks", "waiting", "name", "jobs/a",
	                          "mode", "exclusive", "since_index", 5, "elections", "name", "db",
	                          "leader", 0, "value", "host2", "since_index", 9));
	id = fx_sid(1);
	assert_int_equal(coord_sm_query_session(f->reader, &id, &got), 0);
	assertJson(json_incref(json_object_get(got, "elections")),
	           json_pack("[{s:s, s:b, s:s, s:i}]", "name", "db", "leader", 1, "value", "host1",
	                     "fencing_token", 8));
	assertJson(
	    json_incref(json_object_get(got, "locks")),
	    json_pack("[{s:s, s:s, s:i}]", "name", "jobs/a", "mode", "shared", "fencing_token", 4));
	json_decref(got);
	id = fx_sid(7);
	assert_int_equal(coord_sm_query_session(f->reader, &id, &got), COORD_ENOTFOUND);
	assert_null(got);
}

static void test_sessions_list_in_id_order(void **state)
{
	struct fx *f = *state;
	json_t *got, *list;

	scenario(f);
	assert_int_equal(coord_sm_query_sessions(f->reader, NULL, PAGE, &got), 0);
	list = json_object_get(got, "sessions");
	assert_int_equal(json_array_size(list), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "id")), S1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 2), "id")), S3);
	assert_non_null(json_object_get(json_array_get(list, 2), "locks"));
	json_decref(got);
}

static void test_election_shape(void **state)
{
	struct fx *f = *state;
	json_t *got;

	scenario(f);
	assert_int_equal(coord_sm_query_election(f->reader, "db", 2, &got), 0);
	assertJson(got, json_pack("{s:s, s:{s:s, s:s, s:i}, s:[{s:s, s:s, s:i}], s:i}", "name",
	                          "db", "leader", "session", S1, "value", "host1", "fencing_token",
	                          8, "candidates", "session", S2, "value", "host2", "since_index",
	                          9, "modify_index", 9));
	assert_int_equal(coord_sm_query_election(f->reader, "none", 4, &got), 0);
	assertJson(got, json_pack("{s:s, s:n, s:[], s:i}", "name", "none", "leader", "candidates",
	                          "modify_index", 0));
}

static void test_fence(void **state)
{
	struct fx *f = *state;
	json_t *got;
	bool valid;

	scenario(f);
	assert_int_equal(coord_sm_query_fence(f->reader, "jobs/a", 6, 4, &valid, &got), 0);
	assert_true(valid);
	assertJson(got, json_pack("{s:b}", "valid", 1));
	assert_int_equal(coord_sm_query_fence(f->reader, "jobs/a", 6, 3, &valid, &got), 0);
	assert_false(valid);
	assertJson(got, json_pack("{s:b, s:[i]}", "valid", 0, "current", 4));
	/* A token of another lock is not valid here. */
	assert_int_equal(coord_sm_query_fence(f->reader, "jobs/a", 6, 6, &valid, &got), 0);
	assert_false(valid);
	json_decref(got);
}

static void test_modify_indexes_follow_changes(void **state)
{
	struct fx *f = *state;
	uint64_t locks, sessions;
	json_t *got;

	scenario(f);
	assert_int_equal(coord_sm_list_index(f->db, COORD_LIST_LOCKS, &locks), 0);
	assert_int_equal(coord_sm_list_index(f->db, COORD_LIST_SESSIONS, &sessions), 0);
	assert_int_equal(locks, 7);    /* elections are not in the lock list */
	assert_int_equal(sessions, 9); /* S2's candidacy changed S2 */
	fx_unlock(f, 1, "jobs/a");     /* 10: S2 is granted jobs/a */
	assert_int_equal(coord_sm_list_index(f->db, COORD_LIST_LOCKS, &locks), 0);
	assert_int_equal(locks, 10);
	got = fx_lock_json(f, "jobs/a");
	assert_int_equal(json_integer_value(json_object_get(got, "modify_index")), 10);
	json_decref(got);
	got = fx_lock_json(f, "jobs/b"); /* untouched */
	assert_int_equal(json_integer_value(json_object_get(got, "modify_index")), 6);
	json_decref(got);
}

static void test_schema_is_idempotent(void **state)
{
	struct fx *f = *state;
	uint64_t hash;

	scenario(f);
	hash = fx_hash(f);
	assert_int_equal(coord_sm_schema(f->db), 0);
	assert_int_equal(fx_hash(f), hash);
	assertJson(fx_lock_json(f, "jobs/a"), lockA());
}

/* Statements open on F's connection. */
static int openStatements(struct fx *f)
{
	int n = 0;

	for (sqlite3_stmt *st = sqlite3_next_stmt(f->db, NULL); st != NULL;
	     st = sqlite3_next_stmt(f->db, st))
		n++;
	return n;
}

/* The reader keeps its statements from one query to the next, and a kept
 * statement reads what was applied since; closing the reader finalizes them
 * (fx_teardown's sqlite3_close would fail otherwise). */
static void test_the_reader_reuses_its_statements(void **state)
{
	struct fx *f = *state;
	json_t *got;
	int kept;

	scenario(f);
	assertJson(fx_lock_json(f, "jobs/a"), lockA());
	assert_int_equal(coord_sm_query_session(f->reader, &(struct coord_session_id){{0}}, &got),
	                 COORD_ENOTFOUND);
	kept = openStatements(f);
	assert_true(kept > 0);
	for (int i = 0; i < 3; i++)
		assertJson(fx_lock_json(f, "jobs/b"), lockB());
	assert_int_equal(openStatements(f), kept);
	fx_unlock(f, 3, "jobs/b");
	assert_null(fx_lock_json(f, "jobs/b"));
	fx_lock(f, 1, "jobs/b", EX, false);
	got = fx_lock_json(f, "jobs/b");
	assert_non_null(got);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_array_get(json_object_get(got, "holders"), 0), "fencing_token")),
	                 f->index);
	json_decref(got);
	assert_int_equal(openStatements(f), kept);
	for (sqlite3_stmt *st = sqlite3_next_stmt(f->db, NULL); st != NULL;
	     st = sqlite3_next_stmt(f->db, st))
		assert_int_equal(sqlite3_stmt_busy(st), 0); /* every one was reset */
	coord_sm_reader_close(f->reader);
	f->reader = NULL;
	assert_int_equal(openStatements(f), 0);
}

/* Scenario: server 4 leaves the cluster (a RETIRE entry). Outcome: it is
 * retired from then on, others are not, and the state (its hash, which
 * snapshots and every node share) records it. */
static void test_a_retired_member_is_remembered(void **state)
{
	struct fx *f = *state;
	struct coord_cmd c = {.type = COORD_CMD_RETIRE, .member = 4};
	uint64_t before = fx_hash(f);
	bool retired = true;

	assert_int_equal(coord_sm_member_retired(f->db, 4, &retired), 0);
	assert_false(retired);
	assert_int_equal(fx_apply(f, &c), COORD_ST_OK);
	assert_int_equal(coord_sm_member_retired(f->db, 4, &retired), 0);
	assert_true(retired);
	assert_int_equal(coord_sm_member_retired(f->db, 5, &retired), 0);
	assert_false(retired);
	assert_int_not_equal(fx_hash(f), before);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_lock_shape),
	    T(test_locks_by_prefix_in_name_order),
	    T(test_prefix_bounds),
	    T(test_locks_page_in_name_order_with_next),
	    T(test_locks_page_exactly_at_the_limit_is_the_last),
	    T(test_locks_after_a_name_that_is_no_lock),
	    T(test_locks_page_with_prefix_and_after),
	    T(test_a_lock_delay_alone_takes_no_place_on_a_page),
	    T(test_sessions_page_in_id_order_with_next),
	    T(test_walking_the_pages_sees_every_item_once),
	    T(test_session_shape),
	    T(test_sessions_list_in_id_order),
	    T(test_election_shape),
	    T(test_fence),
	    T(test_modify_indexes_follow_changes),
	    T(test_schema_is_idempotent),
	    T(test_the_reader_reuses_its_statements),
	    T(test_a_retired_member_is_remembered),
	};

	return cmocka_run_group_tests_name("coord_sm_query", tests, NULL, NULL);
}
