/* libcoord's bearer token (libcoord.h, coordc_config.token; API.md, Access
 * control): every request a client builds carries "Authorization: Bearer
 * TOKEN" (calls, discovery probes, listings, members, downloads, the
 * keeper's keepalives); none without a token; a token that could break its
 * header is refused at open; token ids page in number order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_server.h"
#include "libcoord.h"

#define SECRET "coord_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define BEARER "Bearer " SECRET

/* fake_client's client, with TOKEN. */
static struct coordc *client_with(const char *endpoints, const char *token)
{
	struct coordc_config cfg = fake_config(endpoints, 1000);
	struct coordc *c = NULL;

	cfg.token = token;
	assert_int_equal(coordc_open(&cfg, &c), COORDC_OK);
	return c;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* Scenario: a client with a token, a leader to discover. Action: a call, a
 * listing, the members, a download. Outcome: each request, and the probe
 * that found the leader, carried the token. */
static void every_request_of_a_client_carries_the_token(void **state)
{
	const struct fake_answer script[] = {
	    {200, "{\"ok\":true}", NULL},
	    {200, "{\"locks\":[],\"next\":null}", NULL},
	    {200, "{\"members\":[],\"leader\":null,\"config_index\":1,\"joint\":false}", NULL},
	    {200, "{}", "X-Coord-Index: 3\r\n"}};
	struct fake_server entry, leader;
	struct coordc_members m;
	struct coordc_reply r;
	struct coordc *c;
	json_t *items;
	char tmp[] = "/tmp/coord-test-token-XXXXXX";
	int fd = mkstemp(tmp);

	(void)state;
	assert_true(fd >= 0);
	fake_start(&leader, script, 4);
	fake_start(&entry, script, 1);
	fake_set_leader(&entry, &leader);
	c = client_with(entry.url, SECRET);
	assert_int_equal(coordc_call(c, "PUT", "/v1/locks/a", NULL, 0, 0, &r), COORDC_OK);
	assert_int_equal(r.kind, COORDC_DONE_OK);
	coordc_reply_clear(&r);
	assert_int_equal(coordc_list(c, "/v1/locks", "locks", 0, 10, &items, &r), COORDC_OK);
	assert_non_null(items);
	json_decref(items);
	coordc_reply_clear(&r);
	assert_int_equal(coordc_members_get(c, &m, &r), COORDC_OK);
	coordc_reply_clear(&r);
	assert_int_equal(coordc_download(c, "/v1/snapshot", fd, 1000, NULL, &r), COORDC_OK);
	assert_int_equal(r.kind, COORDC_DONE_OK);
	coordc_reply_clear(&r);
	coordc_close(c);
	fake_stop(&entry);
	fake_stop(&leader);
	assert_int_equal(entry.status_probes, 1);
	assert_string_equal(entry.probe_auth, BEARER);
	assert_int_equal(fake_requests(&leader), 4);
	for (int i = 0; i < 4; i++)
		assert_string_equal(leader.seen_auth[i], BEARER);
	assert_string_equal(leader.seen[3], "GET /v1/snapshot");
	close(fd);
	unlink(tmp);
}

/* Scenario: a keeper started from a config with a token. Outcome: its
 * keepalives, sent from its own client, carry the token. */
static void the_keepers_keepalives_carry_the_token(void **state)
{
	const struct fake_answer script[] = {{200, "{\"ttl_ms\":1200}", NULL}};
	struct coordc_config cfg = {.request_timeout_ms = 500, .seed = 1, .token = SECRET};
	struct coordc_keeper *k = NULL;
	struct fake_server f;

	(void)state;
	fake_start(&f, script, 1);
	cfg.endpoints = f.url;
	assert_int_equal(
	    coordc_keeper_start(&cfg, "s1", 1200, coordc_now_ms(), 300, NULL, NULL, &k), COORDC_OK);
	for (int i = 0; i < 200 && fake_requests(&f) < 2; i++)
		sleep_ms(10);
	coordc_keeper_stop(k);
	fake_stop(&f);
	assert_true(f.requests >= 2);
	assert_string_equal(f.seen[0], "POST /v1/sessions/s1/keepalive");
	for (int i = 0; i < f.requests && i < FAKE_SEEN_MAX; i++)
		assert_string_equal(f.seen_auth[i], BEARER);
}

/* Scenario: no token, or an empty one. Outcome: no Authorization at all. */
static void without_a_token_no_authorization_is_sent(void **state)
{
	const struct fake_answer script[] = {{200, "{}", NULL}};
	const char *none[] = {NULL, ""};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct fake_server f;
		struct coordc_reply r;
		struct coordc *c;

		fake_start(&f, script, 1);
		c = client_with(f.url, none[i]);
		assert_int_equal(coordc_call(c, "GET", "/v1/locks/a", NULL, 0, 0, &r), COORDC_OK);
		coordc_reply_clear(&r);
		coordc_close(c);
		fake_stop(&f);
		assert_int_equal(f.requests, 1);
		assert_string_equal(f.seen_auth[0], "");
		assert_string_equal(f.probe_auth, "");
	}
}

/* Scenario: tokens that are not token68, or too long. Outcome: open
 * refuses them (nothing is sent); the longest and padded ones are taken. */
static void open_refuses_a_token_that_could_break_its_header(void **state)
{
	char longest[COORDC_TOKEN_MAX], too_long[COORDC_TOKEN_MAX + 1];
	const char *bad[] = {"abc\r\nX-Evil: 1", "a b",   "a=b",   "=",
	                     "caf\xc3\xa9",      "tab\t", too_long};
	const char *good[] = {SECRET, "a", "abc==", "A-Z.a_z~0+9/", longest};
	struct coordc *c = NULL;

	(void)state;
	memset(longest, 'x', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	memset(too_long, 'x', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct coordc_config cfg = {.endpoints = "http://127.0.0.1:1", .token = bad[i]};

		assert_false(coordc_token_valid(bad[i]));
		assert_int_equal(coordc_open(&cfg, &c), COORDC_ERR_INVALID);
	}
	assert_false(coordc_token_valid(""));
	assert_false(coordc_token_valid(NULL));
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct coordc_config cfg = {.endpoints = "http://127.0.0.1:1", .token = good[i]};

		assert_true(coordc_token_valid(good[i]));
		assert_int_equal(coordc_open(&cfg, &c), COORDC_OK);
		coordc_close(c);
	}
}

/* Scenario: GET /v1/tokens pages by id ("next": a number). Action: list it.
 * Outcome: each page starts after the id before, in number order (10 after
 * 2, which text order would refuse); an id that goes back is refused. */
static void token_ids_page_in_number_order(void **state)
{
	const struct fake_answer pages[] = {
	    {200, "{\"tokens\":[{\"id\":2}],\"next\":2}", NULL},
	    {200, "{\"tokens\":[{\"id\":10}],\"next\":10}", NULL},
	    {200, "{\"tokens\":[{\"id\":11}],\"next\":null}", NULL}};
	const struct fake_answer back[] = {{200, "{\"tokens\":[],\"next\":10}", NULL},
	                                   {200, "{\"tokens\":[],\"next\":9}", NULL}};
	struct fake_server f;
	struct coordc_reply r;
	struct coordc *c;
	json_t *items;

	(void)state;
	fake_start(&f, pages, 3);
	c = client_with(f.url, SECRET);
	assert_int_equal(coordc_list(c, "/v1/tokens", "tokens", 1, 10, &items, &r), COORDC_OK);
	assert_int_equal(r.kind, COORDC_DONE_OK);
	assert_int_equal(json_array_size(items), 3);
	json_decref(items);
	coordc_reply_clear(&r);
	coordc_close(c);
	fake_stop(&f);
	assert_string_equal(f.seen[0], "GET /v1/tokens?limit=1");
	assert_string_equal(f.seen[1], "GET /v1/tokens?limit=1&after=2");
	assert_string_equal(f.seen[2], "GET /v1/tokens?limit=1&after=10");

	fake_start(&f, back, 2);
	c = client_with(f.url, SECRET);
	assert_int_equal(coordc_list(c, "/v1/tokens", "tokens", 0, 10, &items, &r), COORDC_OK);
	assert_null(items);
	assert_string_equal(r.error, "bad_listing");
	coordc_reply_clear(&r);
	coordc_close(c);
	fake_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_request_of_a_client_carries_the_token),
	    cmocka_unit_test(the_keepers_keepalives_carry_the_token),
	    cmocka_unit_test(without_a_token_no_authorization_is_sent),
	    cmocka_unit_test(open_refuses_a_token_that_could_break_its_header),
	    cmocka_unit_test(token_ids_page_in_number_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
