/* libcoord against a scripted server: retries on 503 and on refused
 * connections, the three outcomes (ok / definite error / unknown after
 * sending), leader discovery through /v1/status, and the keeper's lease
 * counted from keepalive send times (libcoord.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <cmocka.h>

#include "fake_server.h"
#include "libcoord.h"

#define REFUSED_URL "http://127.0.0.1:1" /* nothing listens on port 1 */

static void call(struct coordc *c, unsigned flags, struct coordc_reply *r)
{
	assert_int_equal(coordc_call(c, "PUT", "/v1/locks/a", NULL, flags, 0, r), COORDC_OK);
}

static void no_leader_is_retried_until_a_node_answers(void **state)
{
	const struct fake_answer script[] = {
	    {503, "{\"error\":\"no_leader\",\"message\":\"none\"}", "Retry-After: 0\r\n"},
	    {503, "{\"error\":\"no_leader\",\"message\":\"none\"}", NULL},
	    {200, "{\"fencing_token\":9}", "X-Coord-Index: 9\r\n"}};
	struct fake_server f;
	struct coordc_reply r;
	struct coordc *c;

	(void)state;
	fake_start(&f, script, 3);
	c = fake_client(f.url, 1000);
	call(c, 0, &r);
	assert_int_equal(r.kind, COORDC_DONE_OK);
	assert_int_equal(r.attempts, 3);
	assert_int_equal(r.index, 9);
	assert_int_equal(json_integer_value(json_object_get(r.body, "fencing_token")), 9);
	coordc_reply_clear(&r);
	coordc_close(c);
	fake_stop(&f);
}

static void refusal_is_a_definite_error_with_the_api_code(void **state)
{
	const struct fake_answer script[] = {
	    {409, "{\"error\":\"lock_held\",\"message\":\"held by another session\"}", NULL}};
	struct fake_server f;
	struct coordc_reply r;
	struct coordc *c;

	(void)state;
	fake_start(&f, script, 1);
	c = fake_client(f.url, 1000);
	call(c, COORDC_IDEMPOTENT, &r);
	assert_int_equal(r.kind, COORDC_DONE_ERROR);
	assert_int_equal(r.status, 409);
	assert_string_equal(r.error, "lock_held");
	assert_string_equal(r.message, "held by another session");
	assert_int_equal(r.attempts, 1);
	coordc_reply_clear(&r);
	coordc_close(c);
	fake_stop(&f);
}

static void timeout_504_is_unknown_and_resent_only_if_idempotent(void **state)
{
	const struct fake_answer script[] = {
	    {504, "{\"error\":\"timeout\",\"message\":\"not known in time\"}", NULL}};
	struct fake_server f;
	struct coordc_reply r;
	struct coordc *c;

	(void)state;
	fake_start(&f, script, 1);
	c = fake_client(f.url, 1000);
	call(c, 0, &r);
	assert_int_equal(r.kind, COORDC_DONE_UNKNOWN);
	assert_int_equal(r.attempts, 1);
	coordc_reply_clear(&r);
	call(c, COORDC_IDEMPOTENT, &r);
	assert_int_equal(r.kind, COORDC_DONE_UNKNOWN);
	assert_int_equal(r.attempts, 4); /* max_attempts */
	assert_int_equal(fake_requests(&f), 5);
	coordc_reply_clear(&r);
	coordc_close(c);
	fake_stop(&f);
}

static void answer_lost_after_sending_is_unknown(void **state)
{
	const struct fake_answer script[] = {{0, NULL, NULL}}; /* stall */
	struct fake_server f;
	struct coordc_reply r;
	struct coordc *c;

	(void)state;
	fake_start(&f, script, 1);
	c = fake_client(f.url, 150);
	call(c, 0, &r);
	assert_int_equal(r.kind, COORDC_DONE_UNKNOWN);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.error, "timeout");
	assert_int_equal(r.attempts, 1);
	assert_int_equal(fake_requests(&f), 1); /* it did reach the server */
	coordc_reply_clear(&r);
	coordc_close(c);
	fake_stop(&f);
}

static void unreachable_endpoints_are_a_definite_error_within_bounds(void **state)
{
	struct coordc_reply r;
	struct coordc *c;
	uint64_t t0;

	(void)state;
	c = fake_client(REFUSED_URL "," REFUSED_URL "/", 1000);
	t0 = coordc_now_ms();
	call(c, COORDC_IDEMPOTENT, &r);
	assert_int_equal(r.kind, COORDC_DONE_ERROR);
	assert_string_equal(r.error, "unreachable");
	assert_int_equal(r.attempts, 4);
	assert_true(coordc_now_ms() - t0 < 5000);
	coordc_reply_clear(&r);
	coordc_close(c);
}

static void a_refused_endpoint_is_skipped_for_the_next(void **state)
{
	const struct fake_answer script[] = {{200, "{}", NULL}};
	struct fake_server f;
	struct coordc_reply r;
	struct coordc *c;
	char list[160];

	(void)state;
	fake_start(&f, script, 1);
	snprintf(list, sizeof(list), "%s,%s", REFUSED_URL, f.url);
	c = fake_client(list, 1000);
	call(c, 0, &r);
	assert_int_equal(r.kind, COORDC_DONE_OK);
	assert_string_equal(coordc_target(c), f.url);
	coordc_reply_clear(&r);
	coordc_close(c);
	fake_stop(&f);
}

static void requests_go_to_the_leader_named_by_status(void **state)
{
	const struct fake_answer follower_script[] = {{500, "{}", NULL}};
	const struct fake_answer leader_script[] = {{200, "{}", "X-Coord-Leader: 7\r\n"}};
	struct fake_server follower, leader;
	struct coordc_reply r;
	struct coordc *c;

	(void)state;
	fake_start(&follower, follower_script, 1);
	fake_start(&leader, leader_script, 1);
	fake_set_leader(&follower, &leader);
	c = fake_client(follower.url, 1000);
	call(c, 0, &r);
	assert_int_equal(r.kind, COORDC_DONE_OK);
	assert_int_equal(fake_requests(&follower), 0);
	assert_int_equal(fake_requests(&leader), 1);
	assert_string_equal(leader.seen[0], "PUT /v1/locks/a");
	assert_string_equal(coordc_target(c), leader.url);
	coordc_reply_clear(&r);
	/* The leader's id matches: no second discovery. */
	call(c, 0, &r);
	assert_int_equal(follower.status_probes, 1);
	coordc_reply_clear(&r);
	coordc_close(c);
	fake_stop(&leader);
	fake_stop(&follower);
}

/* The keeper's reports, in order, with their times. */
struct changes {
	int n;
	enum coordc_lease_state state[4];
	uint64_t at[4];
};

static void on_change(void *arg, enum coordc_lease_state s)
{
	struct changes *ch = arg;

	if (ch->n < 4) {
		ch->state[ch->n] = s;
		ch->at[ch->n] = coordc_now_ms();
		ch->n++;
	}
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static void keeper_warns_before_the_lease_counted_from_sends_runs_out(void **state)
{
	/* Two keepalives answered, then the node freezes. */
	const struct fake_answer script[] = {{200, "{}", NULL}, {200, "{}", NULL}, {0, NULL, NULL}};
	struct coordc_config cfg = {.endpoints = NULL, .seed = 1};
	struct changes ch = {0};
	struct fake_server f;
	struct coordc_keeper *k;
	uint64_t t0, deadline;

	(void)state;
	fake_start(&f, script, 3);
	cfg.endpoints = f.url;
	t0 = coordc_now_ms();
	assert_int_equal(coordc_keeper_start(&cfg, "s1", 1000, t0, 300, on_change, &ch, &k),
	                 COORDC_OK);
	while (coordc_keeper_state(k, NULL) != COORDC_LEASE_LOST && coordc_now_ms() - t0 < 5000)
		sleep_ms(10);
	assert_int_equal(coordc_keeper_state(k, &deadline), COORDC_LEASE_LOST);
	assert_string_equal(f.seen[0], "POST /v1/sessions/s1/keepalive");
	/* Renewed twice, at about ttl/3 and 2ttl/3: the deadline moved past
	 * t0 + ttl, and is the second keepalive's send time + ttl. */
	assert_in_range(deadline - t0, 1000 + 600, 1000 + 800);
	sleep_ms(50); /* let the thread deliver its reports */
	assert_int_equal(ch.n, 2);
	assert_int_equal(ch.state[0], COORDC_LEASE_EXPIRING);
	assert_int_equal(ch.state[1], COORDC_LEASE_LOST);
	assert_in_range(ch.at[0], deadline - 300, deadline - 1);
	assert_true(ch.at[1] >= deadline);
	coordc_keeper_stop(k);
	fake_stop(&f);
}

static void keeper_retries_soon_after_a_failed_keepalive(void **state)
{
	/* One keepalive meets an election (503); the next try, a tenth of the
	 * TTL later, succeeds, long before the margin. */
	const struct fake_answer script[] = {
	    {200, "{}", NULL},
	    {503, "{\"error\":\"no_leader\",\"message\":\"x\"}", NULL},
	    {200, "{}", NULL}};
	struct coordc_config cfg = {.endpoints = NULL, .seed = 1};
	struct changes ch = {0};
	struct fake_server f;
	struct coordc_keeper *k;
	uint64_t t0, deadline;

	(void)state;
	fake_start(&f, script, 3);
	cfg.endpoints = f.url;
	t0 = coordc_now_ms();
	assert_int_equal(coordc_keeper_start(&cfg, "s2", 1000, t0, 300, on_change, &ch, &k),
	                 COORDC_OK);
	sleep_ms(1500);
	assert_int_equal(coordc_keeper_state(k, &deadline), COORDC_LEASE_LIVE);
	assert_true(deadline > coordc_now_ms() + 300);
	assert_int_equal(ch.n, 0); /* never even EXPIRING */
	assert_true(fake_requests(&f) >= 4);
	coordc_keeper_stop(k);
	fake_stop(&f);
}

static void keeper_reports_a_session_the_server_ended_at_once(void **state)
{
	const struct fake_answer script[] = {
	    {404, "{\"error\":\"session_not_found\",\"message\":\"expired\"}", NULL}};
	struct coordc_config cfg = {.endpoints = NULL, .seed = 1};
	struct changes ch = {0};
	struct fake_server f;
	struct coordc_keeper *k;
	uint64_t t0;

	(void)state;
	fake_start(&f, script, 1);
	cfg.endpoints = f.url;
	t0 = coordc_now_ms();
	assert_int_equal(coordc_keeper_start(&cfg, "gone", 3000, t0, 900, on_change, &ch, &k),
	                 COORDC_OK);
	while (coordc_keeper_state(k, NULL) == COORDC_LEASE_LIVE && coordc_now_ms() - t0 < 5000)
		sleep_ms(10);
	/* The first keepalive goes at ttl/3 and its 404 ends the lease then,
	 * long before the deadline. */
	assert_int_equal(coordc_keeper_state(k, NULL), COORDC_LEASE_LOST);
	assert_in_range(coordc_now_ms() - t0, 1000, 1900);
	coordc_keeper_stop(k);
	assert_int_equal(ch.state[0], COORDC_LEASE_LOST);
	fake_stop(&f);
}

static volatile sig_atomic_t abort_flag;

static void *raise_abort_later(void *arg)
{
	(void)arg;
	sleep_ms(200);
	abort_flag = SIGINT;
	return NULL;
}

static void an_abort_flag_ends_a_stalled_call_as_unknown(void **state)
{
	const struct fake_answer script[] = {{0, NULL, NULL}}; /* stall */
	struct fake_server f;
	struct coordc_reply r;
	struct coordc *c;
	pthread_t t;
	uint64_t t0;

	(void)state;
	fake_start(&f, script, 1);
	c = fake_client(f.url, 10000);
	abort_flag = 0;
	coordc_set_abort(c, &abort_flag);
	assert_int_equal(pthread_create(&t, NULL, raise_abort_later, NULL), 0);
	t0 = coordc_now_ms();
	call(c, COORDC_IDEMPOTENT, &r);
	/* Sent, then abandoned: unknown, not retried, long before 10 s. */
	assert_int_equal(r.kind, COORDC_DONE_UNKNOWN);
	assert_int_equal(r.attempts, 1);
	assert_true(coordc_now_ms() - t0 < 3000);
	pthread_join(t, NULL);
	coordc_reply_clear(&r);
	/* With the flag already up and nothing reachable: "aborted" at once. */
	coordc_close(c);
	c = fake_client(REFUSED_URL, 1000);
	coordc_set_abort(c, &abort_flag);
	call(c, COORDC_IDEMPOTENT, &r);
	assert_int_equal(r.kind, COORDC_DONE_ERROR);
	assert_string_equal(r.error, "aborted");
	assert_int_equal(r.attempts, 1);
	coordc_reply_clear(&r);
	coordc_close(c);
	fake_stop(&f);
}

/* The names of ITEMS' objects joined with '|' (ITEMS dropped). */
static const char *names_of(json_t *items, char *out, size_t cap)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < json_array_size(items); i++)
		len += (size_t)snprintf(
		    out + len, cap - len, "%s%s", i ? "|" : "",
		    json_string_value(json_object_get(json_array_get(items, i), "name")));
	json_decref(items);
	return out;
}

/* Scenario: a listing of three pages, the last with next null. Action:
 * coordc_list with a limit. Outcome: every page asked once, the first with
 * ?limit= added to the path's own query, each later one after the "next"
 * before; the items of all pages in order. */
static void a_listing_is_read_page_by_page_after_each_next(void **state)
{
	const struct fake_answer script[] = {
	    {200, "{\"locks\":[{\"name\":\"j/a\"},{\"name\":\"j/b\"}],\"next\":\"j/b\"}", NULL},
	    {200, "{\"locks\":[{\"name\":\"j/c\"},{\"name\":\"j/d\"}],\"next\":\"j/d\"}", NULL},
	    {200, "{\"locks\":[{\"name\":\"j/e\"}],\"next\":null}", NULL}};
	struct fake_server f;
	struct coordc_reply r;
	struct coordc *c;
	json_t *items;
	char got[128];

	(void)state;
	fake_start(&f, script, 3);
	c = fake_client(f.url, 1000);
	assert_int_equal(coordc_list(c, "/v1/locks?prefix=j/", "locks", 2, 10, &items, &r),
	                 COORDC_OK);
	assert_int_equal(r.kind, COORDC_DONE_OK);
	assert_string_equal(names_of(items, got, sizeof(got)), "j/a|j/b|j/c|j/d|j/e");
	assert_int_equal(fake_requests(&f), 3);
	assert_string_equal(f.seen[0], "GET /v1/locks?prefix=j/&limit=2");
	assert_string_equal(f.seen[1], "GET /v1/locks?prefix=j/&limit=2&after=j/b");
	assert_string_equal(f.seen[2], "GET /v1/locks?prefix=j/&limit=2&after=j/d");
	coordc_reply_clear(&r);
	coordc_close(c);
	fake_stop(&f);
}

/* Scenario: a server without paging (no "next"), and a listing asked
 * without a limit. Outcome: one request, its path as given, the whole
 * answer. */
static void a_listing_without_next_is_one_page(void **state)
{
	const struct fake_answer script[] = {
	    {200, "{\"sessions\":[{\"name\":\"x\"},{\"name\":\"y\"}]}", NULL}};
	struct fake_server f;
	struct coordc_reply r;
	struct coordc *c;
	json_t *items;
	char got[128];

	(void)state;
	fake_start(&f, script, 1);
	c = fake_client(f.url, 1000);
	assert_int_equal(coordc_list(c, "/v1/sessions", "sessions", 0, 10, &items, &r), COORDC_OK);
	assert_string_equal(names_of(items, got, sizeof(got)), "x|y");
	assert_int_equal(fake_requests(&f), 1);
	assert_string_equal(f.seen[0], "GET /v1/sessions");
	coordc_reply_clear(&r);
	coordc_close(c);
	fake_stop(&f);
}

/* Scenario: a listing that does not end within PAGES_MAX pages; one whose
 * "next" stays where it was; one whose "next" goes back; an answer that is
 * not a page; a page refused by the server. Outcome: the call ends (after
 * at most PAGES_MAX requests), *ITEMS is NULL, and the reply is a definite
 * error: bad_listing, or the server's own. */
static void a_listing_that_does_not_end_or_move_is_refused(void **state)
{
	static const struct {
		struct fake_answer script[3];
		int len;
		uint32_t pages_max;
		int requests;
		const char *error;
	} cases[] = {
	    {{{200, "{\"locks\":[{\"name\":\"a\"}],\"next\":\"a\"}", NULL},
	      {200, "{\"locks\":[{\"name\":\"b\"}],\"next\":\"b\"}", NULL},
	      {200, "{\"locks\":[{\"name\":\"c\"}],\"next\":\"c\"}", NULL}},
	     3,
	     2,
	     2,
	     "bad_listing"},
	    {{{200, "{\"locks\":[{\"name\":\"a\"}],\"next\":\"a\"}", NULL}},
	     1,
	     100,
	     2,
	     "bad_listing"},
	    {{{200, "{\"locks\":[{\"name\":\"b\"}],\"next\":\"b\"}", NULL},
	      {200, "{\"locks\":[{\"name\":\"a\"}],\"next\":\"a\"}", NULL}},
	     2,
	     100,
	     2,
	     "bad_listing"},
	    {{{200, "{\"locks\":[],\"next\":\"a b\"}", NULL}}, 1, 100, 1, "bad_listing"},
	    {{{200, "{\"locks\":[],\"next\":0}", NULL}}, 1, 100, 1, "bad_listing"},
	    {{{200, "{\"locks\":[],\"next\":7}", NULL},
	      {200, "{\"locks\":[],\"next\":\"b\"}", NULL}},
	     2,
	     100,
	     2,
	     "bad_listing"},
	    {{{200, "{\"sessions\":[],\"next\":null}", NULL}}, 1, 100, 1, "bad_listing"},
	    {{{200, "{\"locks\":[{\"name\":\"a\"}],\"next\":\"a\"}", NULL},
	      {400, "{\"error\":\"invalid_argument\",\"message\":\"after: no\"}", NULL}},
	     2,
	     100,
	     2,
	     "invalid_argument"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_server f;
		struct coordc_reply r;
		struct coordc *c;
		json_t *items = json_true(); /* a singleton: must become NULL */

		fake_start(&f, cases[i].script, cases[i].len);
		c = fake_client(f.url, 1000);
		assert_int_equal(
		    coordc_list(c, "/v1/locks", "locks", 1, cases[i].pages_max, &items, &r),
		    COORDC_OK);
		if (items != NULL || r.kind != COORDC_DONE_ERROR ||
		    strcmp(r.error, cases[i].error) != 0 || fake_requests(&f) != cases[i].requests)
			fail_msg("case %zu: items %p, kind %d, error %s (%s), %d requests; want "
			         "NULL, a definite %s after %d",
			         i, (void *)items, r.kind, r.error, r.message, fake_requests(&f),
			         cases[i].error, cases[i].requests);
		coordc_reply_clear(&r);
		coordc_close(c);
		fake_stop(&f);
	}
}

static void open_refuses_bad_endpoint_lists(void **state)
{
	struct coordc_config cfg = {.endpoints = ","};
	struct coordc *c = NULL;
	char many[COORDC_ENDPOINTS_MAX * 24 + 32] = "";

	(void)state;
	assert_int_equal(coordc_open(&cfg, &c), COORDC_ERR_INVALID);
	for (int i = 0; i <= COORDC_ENDPOINTS_MAX; i++)
		strcat(many, "http://127.0.0.1:1,");
	cfg.endpoints = many;
	assert_int_equal(coordc_open(&cfg, &c), COORDC_ERR_INVALID);
	assert_string_equal(coordc_strerror(COORDC_ERR_INVALID),
	                    "invalid argument (endpoint list, URL or name too long)");
}

/* A client certificate needs its key, and the reverse; a CA alone is fine. */
static void open_refuses_half_a_client_certificate(void **state)
{
	struct coordc_config cfg = {.endpoints = "https://127.0.0.1:1", .cert = "c.pem"};
	struct coordc *c = NULL;

	(void)state;
	assert_int_equal(coordc_open(&cfg, &c), COORDC_ERR_INVALID);
	cfg.cert = NULL;
	cfg.key = "c.key";
	assert_int_equal(coordc_open(&cfg, &c), COORDC_ERR_INVALID);
	cfg.key = NULL;
	cfg.cacert = "ca.pem";
	assert_int_equal(coordc_open(&cfg, &c), COORDC_OK);
	coordc_close(c);
}

/* The "seq" of the body of scripted request N. */
static uint64_t seen_seq(struct fake_server *f, int n)
{
	json_t *body = json_loads(f->seen_body[n], 0, NULL);
	uint64_t seq;

	assert_non_null(body);
	seq = (uint64_t)json_integer_value(json_object_get(body, "seq"));
	json_decref(body);
	return seq;
}

/* Every request of a session carries a number; the numbers rise from call
 * to call, and a resend after a lost answer carries the same one, so the
 * server answers it as a retry of the first (API.md, Retries). */
static void requests_of_a_session_are_numbered_and_resent_with_their_number(void **state)
{
	const struct fake_answer script[] = {
	    {504, "{\"error\":\"timeout\",\"message\":\"not known in time\"}", NULL},
	    {200, "{\"fencing_token\":9,\"retry\":true}", NULL},
	    {200, "{\"released\":true}", NULL},
	    {200, "{\"leader\":{\"fencing_token\":11}}", NULL},
	    {200, "{\"released\":true}", NULL},
	    {200, "{\"released\":[]}", NULL}};
	const char *sid = "0123456789abcdef0123456789abcdef";
	struct fake_server f;
	struct coordc_reply r;
	struct coordc *c;
	uint64_t token = 0;

	(void)state;
	fake_start(&f, script, 6);
	c = fake_client(f.url, 1000);
	assert_int_equal(coordc_lock_acquire(c, "a", sid, false, 0, NULL, &token, &r), COORDC_OK);
	assert_int_equal(r.kind, COORDC_DONE_OK);
	assert_int_equal(token, 9);
	coordc_reply_clear(&r);
	assert_int_equal(coordc_lock_release(c, "a", sid, &r), COORDC_OK);
	coordc_reply_clear(&r);
	assert_int_equal(coordc_campaign(c, "e", sid, "v", 0, &token, &r), COORDC_OK);
	coordc_reply_clear(&r);
	assert_int_equal(coordc_resign(c, "e", sid, &r), COORDC_OK);
	coordc_reply_clear(&r);
	assert_int_equal(coordc_session_close(c, sid, &r), COORDC_OK);
	assert_int_equal(r.kind, COORDC_DONE_OK);
	coordc_reply_clear(&r);
	assert_int_equal(fake_requests(&f), 6);
	assert_int_not_equal(seen_seq(&f, 0), 0);
	assert_int_equal(seen_seq(&f, 1), seen_seq(&f, 0)); /* the resend */
	for (int n = 2; n < 6; n++)
		assert_true(seen_seq(&f, n) > seen_seq(&f, n - 1));
	assert_true(seen_seq(&f, 5) <= COORDC_SEQ_MAX);
	coordc_close(c);
	fake_stop(&f);
}

/* A first attempt refused as stale_request (another client numbered the
 * session higher) changed nothing: it goes once more above that number.
 * After a lost answer the same refusal may hide an attempt that applied:
 * unknown. */
static void a_stale_number_is_renumbered_once_unless_an_answer_was_lost(void **state)
{
	const struct fake_answer script[] = {
	    {409,
	     "{\"error\":\"stale_request\",\"message\":\"not applied\","
	     "\"seq\":8000000000000000}",
	     NULL},
	    {200, "{\"released\":true}", NULL},
	    {504, "{\"error\":\"timeout\",\"message\":\"not known in time\"}", NULL},
	    {409, "{\"error\":\"stale_request\",\"message\":\"not applied\",\"seq\":1}", NULL}};
	const char *sid = "0123456789abcdef0123456789abcdef";
	struct fake_server f;
	struct coordc_reply r;
	struct coordc *c;

	(void)state;
	fake_start(&f, script, 4);
	c = fake_client(f.url, 1000);
	assert_int_equal(coordc_lock_release(c, "a", sid, &r), COORDC_OK);
	assert_int_equal(r.kind, COORDC_DONE_OK);
	coordc_reply_clear(&r);
	assert_true(seen_seq(&f, 0) < 8000000000000000ull);
	assert_true(seen_seq(&f, 1) > 8000000000000000ull);
	assert_int_equal(coordc_lock_release(c, "a", sid, &r), COORDC_OK);
	assert_int_equal(r.kind, COORDC_DONE_UNKNOWN);
	assert_string_equal(r.error, "stale_request");
	coordc_reply_clear(&r);
	assert_int_equal(seen_seq(&f, 3), seen_seq(&f, 2));
	assert_true(seen_seq(&f, 2) > seen_seq(&f, 1));
	coordc_close(c);
	fake_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(no_leader_is_retried_until_a_node_answers),
	    cmocka_unit_test(refusal_is_a_definite_error_with_the_api_code),
	    cmocka_unit_test(timeout_504_is_unknown_and_resent_only_if_idempotent),
	    cmocka_unit_test(answer_lost_after_sending_is_unknown),
	    cmocka_unit_test(unreachable_endpoints_are_a_definite_error_within_bounds),
	    cmocka_unit_test(a_refused_endpoint_is_skipped_for_the_next),
	    cmocka_unit_test(requests_go_to_the_leader_named_by_status),
	    cmocka_unit_test(keeper_warns_before_the_lease_counted_from_sends_runs_out),
	    cmocka_unit_test(keeper_retries_soon_after_a_failed_keepalive),
	    cmocka_unit_test(keeper_reports_a_session_the_server_ended_at_once),
	    cmocka_unit_test(an_abort_flag_ends_a_stalled_call_as_unknown),
	    cmocka_unit_test(a_listing_is_read_page_by_page_after_each_next),
	    cmocka_unit_test(a_listing_without_next_is_one_page),
	    cmocka_unit_test(a_listing_that_does_not_end_or_move_is_refused),
	    cmocka_unit_test(open_refuses_bad_endpoint_lists),
	    cmocka_unit_test(open_refuses_half_a_client_certificate),
	    cmocka_unit_test(requests_of_a_session_are_numbered_and_resent_with_their_number),
	    cmocka_unit_test(a_stale_number_is_renumbered_once_unless_an_answer_was_lost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
