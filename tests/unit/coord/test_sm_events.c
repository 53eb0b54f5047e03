/* Session events as a specification (API.md, Sessions: events; sm_event.c
 * EV-1..EV-4, SM-11): what the entries that grant from a queue, queue
 * behind holders, take an ephemeral key away or end a session record for
 * the sessions concerned, what an uncontended lock records (nothing), and
 * how many are kept, per session and of ended sessions. */
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

#define S1 1
#define S2 2
#define S3 3

/* The events of session S after index SINCE, one per line as
 * "type subject why" (what the type has of them), into a static buffer;
 * NULL when the session is unknown. *COMPACTED, when not NULL, is the
 * newest index of a dropped event; *ENDED whether the session ended. */
static const char *events(struct fx *f, unsigned s, uint64_t since, uint64_t *compacted,
                          bool *ended)
{
	static char buf[8192];
	struct coord_session_id id = fx_sid(s);
	uint64_t last = 0, c = 0;
	json_t *o = NULL, *list;
	size_t len = 0;
	int rv = coord_sm_query_session_events(f->reader, &id, since, &o, &last, &c);

	if (rv == COORD_ENOTFOUND) {
		assert_null(o);
		return NULL;
	}
	assert_int_equal(rv, 0);
	if (compacted != NULL)
		*compacted = c;
	if (ended != NULL)
		*ended = json_is_true(json_object_get(o, "ended"));
	buf[0] = '\0';
	list = json_object_get(o, "events");
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *e = json_array_get(list, i);
		const char *parts[] = {"type", "lock", "election", "key", "why"};

		for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
			json_t *v = json_object_get(e, parts[p]);

			if (json_is_string(v))
				len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
				                        p > 0 ? " " : "", json_string_value(v));
		}
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "\n");
		assert_true(len < sizeof(buf));
	}
	if (json_array_size(list) > 0)
		assert_int_equal(last,
		                 json_integer_value(json_object_get(
		                     json_array_get(list, json_array_size(list) - 1), "index")));
	json_decref(o);
	return buf;
}

/* The I-th event of S (all kept), for its numbers: a new reference. */
static json_t *event(struct fx *f, unsigned s, size_t i)
{
	struct coord_session_id id = fx_sid(s);
	uint64_t last, c;
	json_t *o = NULL, *e;

	assert_int_equal(coord_sm_query_session_events(f->reader, &id, 0, &o, &last, &c), 0);
	e = json_incref(json_array_get(json_object_get(o, "events"), i));
	json_decref(o);
	assert_non_null(e);
	return e;
}

static uint64_t num(json_t *e, const char *field)
{
	return (uint64_t)json_integer_value(json_object_get(e, field));
}

static uint64_t rows(struct fx *f)
{
	sqlite3_stmt *st;
	uint64_t n;

	assert_int_equal(
	    sqlite3_prepare_v2(f->db, "SELECT count(*) FROM coord_session_events", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* A put of KEY (DELETE: a delete), ephemeral for S when S is not 0. */
static enum coord_status kv(struct fx *f, const char *key, bool delete, unsigned s)
{
	struct coord_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = delete ? COORD_CMD_KV_DELETE : COORD_CMD_KV_PUT;
	c.now_ms = f->now_ms;
	c.name = key;
	c.name_len = strlen(key);
	c.has_value = !delete;
	c.value = "v";
	c.value_len = delete ? 0 : 1;
	if (s != 0) {
		c.kv_flags = COORD_KV_EPHEMERAL;
		c.session = fx_sid(s);
	}
	return fx_apply(f, &c);
}

/* EV-1: the grant that answers a session's own acquire records nothing,
 * nor does a release nobody waits behind: an uncontended lock or election
 * costs no event. */
static void test_an_uncontended_lock_cycle_writes_no_event(void **state)
{
	struct fx *f = *state;

	fx_open(f, S1, FX_TTL, 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fx_lock(f, S1, "jobs/a", EX, true), COORD_ST_OK);
		assert_int_equal(fx_unlock(f, S1, "jobs/a"), COORD_ST_OK);
		assert_int_equal(fx_campaign(f, S1, "db", "x", true), COORD_ST_OK);
		assert_int_equal(fx_resign(f, S1, "db"), COORD_ST_OK);
	}
	assert_int_equal(rows(f), 0);
	assert_string_equal(events(f, S1, 0, NULL, NULL), "");
}

/* conflicting_request: every holder learns of a session that queues
 * behind it, with the waiter and its mode; a retried acquire of the same
 * wait tells nobody again. */
static void test_each_holder_learns_of_a_session_queued_behind_it(void **state)
{
	struct fx *f = *state;
	char s3[COORD_SESSION_ID_HEX + 1];
	struct coord_session_id id3 = fx_sid(S3);
	json_t *e;

	fx_open(f, S1, FX_TTL, 0);
	fx_open(f, S2, FX_TTL, 0);
	fx_open(f, S3, FX_TTL, 0);
	assert_int_equal(fx_lock(f, S1, "a", SH, false), COORD_ST_OK);
	assert_int_equal(fx_lock(f, S2, "a", SH, false), COORD_ST_OK);
	assert_int_equal(fx_lock(f, S3, "a", EX, true), COORD_ST_QUEUED);
	assert_int_equal(fx_lock(f, S3, "a", EX, true), COORD_ST_QUEUED);
	assert_string_equal(events(f, S1, 0, NULL, NULL), "conflicting_request a\n");
	assert_string_equal(events(f, S2, 0, NULL, NULL), "conflicting_request a\n");
	assert_string_equal(events(f, S3, 0, NULL, NULL), "");
	e = event(f, S1, 0);
	coord_session_id_format(&id3, s3);
	assert_string_equal(json_string_value(json_object_get(e, "session")), s3);
	assert_string_equal(json_string_value(json_object_get(e, "mode")), "exclusive");
	assert_int_equal(num(e, "fencing_token"), fx_token(f, S1, "a"));
	assert_int_equal(num(e, "index"), f->index - 1);
	json_decref(e);
}

/* lock_granted, election_won: a grant from the queue is the waiter's event,
 * with the fencing token, whether or not its request still waits. */
static void test_a_grant_from_the_queue_is_the_waiters_event(void **state)
{
	struct fx *f = *state;
	json_t *e;

	fx_open(f, S1, FX_TTL, 0);
	fx_open(f, S2, FX_TTL, 0);
	assert_int_equal(fx_lock(f, S1, "a", EX, false), COORD_ST_OK);
	assert_int_equal(fx_lock(f, S2, "a", EX, true), COORD_ST_QUEUED);
	assert_int_equal(fx_campaign(f, S1, "db", "one", false), COORD_ST_OK);
	assert_int_equal(fx_campaign(f, S2, "db", "two", true), COORD_ST_QUEUED);
	assert_int_equal(fx_unlock(f, S1, "a"), COORD_ST_OK);
	assert_int_equal(fx_resign(f, S1, "db"), COORD_ST_OK);
	assert_string_equal(events(f, S2, 0, NULL, NULL), "lock_granted a\nelection_won db\n");
	e = event(f, S2, 0);
	assert_int_equal(num(e, "fencing_token"), f->index - 1);
	assert_int_equal(num(e, "index"), f->index - 1);
	assert_string_equal(json_string_value(json_object_get(e, "mode")), "exclusive");
	json_decref(e);
	/* From the first event's index on, only the later one. */
	assert_string_equal(events(f, S2, f->index - 1, NULL, NULL), "election_won db\n");
}

/* The end of a session: each lock and election it held is lost, each
 * ephemeral key deleted, then session_ended, all in the ending entry, and
 * they stay readable once the session is gone. */
static void test_an_ended_session_lists_what_it_lost(void **state)
{
	struct fx *f = *state;
	uint64_t before;
	bool ended = false;

	fx_open(f, S1, FX_TTL, 0);
	fx_open(f, S2, FX_TTL, 0);
	assert_int_equal(fx_lock(f, S1, "a", EX, false), COORD_ST_OK);
	assert_int_equal(fx_lock(f, S1, "b", SH, false), COORD_ST_OK);
	assert_int_equal(fx_campaign(f, S1, "db", "x", false), COORD_ST_OK);
	assert_int_equal(kv(f, "svc/one", false, S1), COORD_ST_OK);
	assert_int_equal(fx_lock(f, S2, "a", EX, true), COORD_ST_QUEUED);
	before = f->index;
	assert_int_equal(fx_expire(f, S1), COORD_ST_OK);
	assert_string_equal(events(f, S1, before, NULL, &ended),
	                    "lock_lost a expired\nlock_lost b expired\nelection_lost db expired\n"
	                    "key_deleted svc/one session_ended\nsession_ended expired\n");
	assert_true(ended);
	assert_string_equal(events(f, S1, 0, NULL, NULL),
	                    "conflicting_request a\nlock_lost a expired\nlock_lost b expired\n"
	                    "election_lost db expired\nkey_deleted svc/one session_ended\n"
	                    "session_ended expired\n");
	assert_string_equal(events(f, S2, 0, NULL, &ended), "lock_granted a\n");
	assert_false(ended);
	/* A close says so; a session never known has no events to read. */
	assert_int_equal(fx_close(f, S2), COORD_ST_OK);
	assert_string_equal(events(f, S2, f->index - 1, NULL, NULL),
	                    "lock_lost a closed\nsession_ended closed\n");
	assert_null(events(f, S3, 0, NULL, NULL));
}

/* key_deleted: an ephemeral key taken away by another write (a delete, a
 * transaction's or not; a put that does not keep it the session's) is the
 * session's event; its own put of it again is not. */
static void test_an_ephemeral_key_lost_to_another_write(void **state)
{
	struct fx *f = *state;

	fx_open(f, S1, FX_TTL, 0);
	fx_open(f, S2, FX_TTL, 0);
	assert_int_equal(kv(f, "k1", false, S1), COORD_ST_OK);
	assert_int_equal(kv(f, "k2", false, S1), COORD_ST_OK);
	assert_int_equal(kv(f, "k3", false, S1), COORD_ST_OK);
	assert_int_equal(kv(f, "k3", false, S1), COORD_ST_OK); /* still S1's */
	assert_int_equal(kv(f, "k1", true, 0), COORD_ST_OK);
	assert_int_equal(kv(f, "k2", false, 0), COORD_ST_OK);  /* persistent now */
	assert_int_equal(kv(f, "k3", false, S2), COORD_ST_OK); /* S2's now */
	assert_int_equal(kv(f, "k2", true, 0), COORD_ST_OK);   /* no longer S1's */
	assert_string_equal(events(f, S1, 0, NULL, NULL),
	                    "key_deleted k1 deleted\nkey_deleted k2 replaced\n"
	                    "key_deleted k3 replaced\n");
	assert_string_equal(events(f, S2, 0, NULL, NULL), "");
}

/* EV-2: a session keeps its last COORD_SESSION_EVENTS_MAX events; the
 * index of the newest one dropped says from where a read is complete. */
static void test_a_session_keeps_its_last_events_and_says_what_it_dropped(void **state)
{
	struct fx *f = *state;
	uint64_t first = 0, compacted = 0, drop = 6;
	const char *list;
	size_t lines = 0;

	fx_open(f, S1, FX_TTL, 0);
	fx_open(f, S2, FX_TTL, 0);
	assert_int_equal(fx_lock(f, S1, "a", EX, false), COORD_ST_OK);
	for (uint64_t i = 0; i < COORD_SESSION_EVENTS_MAX + drop; i++) {
		assert_int_equal(fx_lock(f, S2, "a", EX, true), COORD_ST_QUEUED);
		first = first != 0 ? first : f->index;
		assert_int_equal(fx_cancel(f, S2, COORD_KIND_LOCK, "a"), COORD_ST_LOCK_HELD);
	}
	list = events(f, S1, 0, &compacted, NULL);
	for (const char *p = list; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	assert_int_equal(lines, COORD_SESSION_EVENTS_MAX);
	assert_int_equal(compacted, first + 2 * (drop - 1)); /* queue and cancel each time */
	assert_int_equal(rows(f), COORD_SESSION_EVENTS_MAX);
	/* The session's end drops one more, and its events stay bounded. */
	assert_int_equal(fx_close(f, S1), COORD_ST_OK);
	assert_int_equal(rows(f), COORD_SESSION_EVENTS_MAX);
	events(f, S1, 0, &compacted, NULL);
	assert_int_equal(compacted, first + 2 * (drop + 1));
}

/* EV-3: the last COORD_ENDED_SESSIONS_EVENTS_MAX ended sessions keep their
 * events; the one that ended first goes when one more ends. */
static void test_ended_sessions_keep_their_events_until_more_end(void **state)
{
	struct fx *f = *state;
	unsigned n = COORD_ENDED_SESSIONS_EVENTS_MAX;

	for (unsigned s = 1; s <= n; s++) {
		fx_open(f, s, FX_TTL, 0);
		assert_int_equal(fx_close(f, s), COORD_ST_OK);
	}
	assert_string_equal(events(f, 1, 0, NULL, NULL), "session_ended closed\n");
	fx_open(f, n + 1, FX_TTL, 0);
	assert_string_equal(events(f, 1, 0, NULL, NULL), "session_ended closed\n");
	assert_int_equal(fx_expire(f, n + 1), COORD_ST_OK);
	assert_null(events(f, 1, 0, NULL, NULL));
	assert_string_equal(events(f, 2, 0, NULL, NULL), "session_ended closed\n");
	assert_string_equal(events(f, n + 1, 0, NULL, NULL), "session_ended expired\n");
	assert_int_equal(rows(f), n);
}

/* EV-3: an id opened again reads none of the ended session's events, and
 * its first event drops them (only tests reuse ids). */
static void test_a_reopened_id_starts_afresh(void **state)
{
	struct fx *f = *state;
	bool ended = true;

	fx_open(f, S1, FX_TTL, 0);
	assert_int_equal(fx_lock(f, S1, "a", EX, false), COORD_ST_OK);
	assert_int_equal(fx_close(f, S1), COORD_ST_OK);
	fx_open(f, S1, FX_TTL, 0);
	assert_string_equal(events(f, S1, 0, NULL, &ended), "");
	assert_false(ended);
	assert_int_equal(fx_close(f, S1), COORD_ST_OK);
	assert_string_equal(events(f, S1, 0, NULL, &ended), "session_ended closed\n");
	assert_true(ended);
	assert_int_equal(rows(f), 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_an_uncontended_lock_cycle_writes_no_event),
	    T(test_each_holder_learns_of_a_session_queued_behind_it),
	    T(test_a_grant_from_the_queue_is_the_waiters_event),
	    T(test_an_ended_session_lists_what_it_lost),
	    T(test_an_ephemeral_key_lost_to_another_write),
	    T(test_a_session_keeps_its_last_events_and_says_what_it_dropped),
	    T(test_ended_sessions_keep_their_events_until_more_end),
	    T(test_a_reopened_id_starts_afresh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
