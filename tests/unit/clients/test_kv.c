/* libcoord's key/value calls against the scripted server (libcoord.h,
 * Key/value; docs/API.md, Key/value): what each call sends, what it makes
 * of the answers, writes never resent after a lost answer, and a watch's
 * changes, next index and 410. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_server.h"
#include "libcoord.h"

#define SID "0123456789abcdef0123456789abcdef"

/* The fake server runs for one test and its client with it. */
struct kv_test {
	struct fake_server f;
	struct coordc *c;
};

static void kv_start(struct kv_test *t, const struct fake_answer *script, int len)
{
	fake_start(&t->f, script, len);
	t->c = fake_client(t->f.url, 1000);
}

static void kv_stop(struct kv_test *t)
{
	coordc_close(t->c);
	fake_stop(&t->f);
}

/* The body of scripted request N, parsed (the caller drops it). */
static json_t *seen_json(struct fake_server *f, int n)
{
	json_t *body = json_loads(f->seen_body[n], 0, NULL);

	assert_non_null(body);
	return body;
}

/* Scenario: puts with each condition. Outcome: the body carries the value,
 * the session, cas (0 too: "only if absent") and the fence, and nothing
 * else; the key's new modify_index is returned. */
static void a_put_sends_value_session_cas_and_fence(void **state)
{
	const struct fake_answer script[] = {
	    {200, "{\"key\":\"svc/a\",\"create_index\":7,\"modify_index\":7}", NULL}};
	struct coordc_kv_cond absent = {.has_cas = true, .cas = 0};
	struct coordc_kv_cond fenced = {.fence_lock = "jobs/x", .fence_token = 42};
	struct coordc_reply r;
	struct kv_test t;
	uint64_t mi = 0;
	json_t *body;

	(void)state;
	kv_start(&t, script, 1);
	assert_int_equal(coordc_kv_put(t.c, "svc/a", "10.0.0.5:80", SID, &absent, &mi, &r),
	                 COORDC_OK);
	assert_int_equal(r.kind, COORDC_DONE_OK);
	assert_int_equal(mi, 7);
	coordc_reply_clear(&r);
	assert_int_equal(coordc_kv_put(t.c, "svc/a", "v", NULL, &fenced, NULL, &r), COORDC_OK);
	coordc_reply_clear(&r);
	assert_int_equal(coordc_kv_put(t.c, "svc/a", "", NULL, NULL, NULL, &r), COORDC_OK);
	coordc_reply_clear(&r);
	assert_string_equal(t.f.seen[0], "PUT /v1/kv/svc/a");
	body = seen_json(&t.f, 0);
	assert_string_equal(json_string_value(json_object_get(body, "value")), "10.0.0.5:80");
	assert_string_equal(json_string_value(json_object_get(body, "session")), SID);
	assert_true(json_is_integer(json_object_get(body, "cas")));
	assert_int_equal(json_integer_value(json_object_get(body, "cas")), 0);
	assert_int_equal(json_object_size(body), 3);
	json_decref(body);
	body = seen_json(&t.f, 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(body, "fence"), "lock")), "jobs/x");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(body, "fence"), "token")), 42);
	assert_null(json_object_get(body, "cas"));
	assert_null(json_object_get(body, "session"));
	json_decref(body);
	assert_string_equal(t.f.seen_body[2], "{\"value\":\"\"}");
	kv_stop(&t);
}

/* Scenario: a put whose answer is lost (504), and one refused by its cas.
 * Outcome: the first is unknown and sent once (no seq: a resend could undo
 * a newer write); the second a definite cas_failed with the key's index. */
static void a_write_is_never_resent_after_a_lost_answer(void **state)
{
	const struct fake_answer script[] = {
	    {504, "{\"error\":\"timeout\",\"message\":\"not known in time\"}", NULL},
	    {409, "{\"error\":\"cas_failed\",\"message\":\"no\",\"modify_index\":9}", NULL},
	    {504, "{\"error\":\"timeout\",\"message\":\"not known in time\"}", NULL}};
	struct coordc_kv_cond cas = {.has_cas = true, .cas = 8};
	struct coordc_reply r;
	struct kv_test t;

	(void)state;
	kv_start(&t, script, 3);
	assert_int_equal(coordc_kv_put(t.c, "a", "1", NULL, NULL, NULL, &r), COORDC_OK);
	assert_int_equal(r.kind, COORDC_DONE_UNKNOWN);
	assert_int_equal(r.attempts, 1);
	coordc_reply_clear(&r);
	assert_int_equal(coordc_kv_put(t.c, "a", "1", NULL, &cas, NULL, &r), COORDC_OK);
	assert_int_equal(r.kind, COORDC_DONE_ERROR);
	assert_int_equal(r.status, 409);
	assert_string_equal(r.error, "cas_failed");
	assert_int_equal(json_integer_value(json_object_get(r.body, "modify_index")), 9);
	coordc_reply_clear(&r);
	assert_int_equal(coordc_kv_delete(t.c, "a", NULL, NULL, &r), COORDC_OK);
	assert_int_equal(r.kind, COORDC_DONE_UNKNOWN);
	assert_int_equal(r.attempts, 1);
	coordc_reply_clear(&r);
	assert_int_equal(fake_requests(&t.f), 3);
	kv_stop(&t);
}

/* Scenario: arguments the API cannot take. Outcome: COORDC_ERR_INVALID and
 * nothing sent: a key, prefix or fence lock a URL cannot carry, a cas over
 * 2^63 - 1, a fence token of 0, a value not UTF-8, a wait over the
 * limit. */
static void bad_arguments_are_refused_before_sending(void **state)
{
	const struct fake_answer script[] = {{200, NULL, NULL}};
	struct coordc_kv_cond huge = {.has_cas = true, .cas = UINT64_C(1) << 63};
	struct coordc_kv_cond no_token = {.fence_lock = "l", .fence_token = 0};
	struct coordc_kv_cond bad_lock = {.fence_lock = "a b", .fence_token = 1};
	const json_t *changes;
	struct coordc_reply r;
	struct kv_test t;
	json_t *keys;
	uint64_t next;

	(void)state;
	kv_start(&t, script, 1);
	assert_int_equal(coordc_kv_get(t.c, "a b", false, NULL, &r), COORDC_ERR_INVALID);
	assert_int_equal(coordc_kv_get(t.c, "a?x=1", false, NULL, &r), COORDC_ERR_INVALID);
	assert_int_equal(coordc_kv_get(t.c, "", false, NULL, &r), COORDC_ERR_INVALID);
	assert_int_equal(coordc_kv_put(t.c, "a", "v", NULL, &huge, NULL, &r), COORDC_ERR_INVALID);
	assert_int_equal(coordc_kv_put(t.c, "a", "v", NULL, &no_token, NULL, &r),
	                 COORDC_ERR_INVALID);
	assert_int_equal(coordc_kv_put(t.c, "a", "v", NULL, &bad_lock, NULL, &r),
	                 COORDC_ERR_INVALID);
	assert_int_equal(coordc_kv_put(t.c, "a", "\xff", NULL, NULL, NULL, &r), COORDC_ERR_INVALID);
	assert_int_equal(coordc_kv_list(t.c, "a&b", 0, 10, &keys, NULL, &r), COORDC_ERR_INVALID);
	assert_null(keys);
	assert_int_equal(coordc_kv_watch(t.c, "p/", 1, COORDC_WAIT_MAX_MS + 1, &changes, &next, &r),
	                 COORDC_ERR_INVALID);
	assert_int_equal(fake_requests(&t.f), 0);
	kv_stop(&t);
}

/* Scenario: a get, a stale get, a get of a missing key, and an answer
 * without a value. Outcome: the value borrowed from the body; stale asks
 * ?consistency=stale; the 404 is a definite not_found; the odd answer a
 * definite bad_answer. */
static void a_get_returns_the_value_or_not_found(void **state)
{
	const struct fake_answer script[] = {
	    {200, "{\"key\":\"k\",\"value\":\"v1\",\"modify_index\":3,\"session\":null}", NULL},
	    {200, "{\"key\":\"k\",\"value\":\"v1\",\"modify_index\":3,\"session\":null}", NULL},
	    {404, "{\"error\":\"not_found\",\"message\":\"no such key\",\"index\":12}", NULL},
	    {200, "{\"key\":\"k\"}", NULL}};
	struct coordc_reply r;
	struct kv_test t;
	const char *value;

	(void)state;
	kv_start(&t, script, 4);
	assert_int_equal(coordc_kv_get(t.c, "k", false, &value, &r), COORDC_OK);
	assert_int_equal(r.kind, COORDC_DONE_OK);
	assert_string_equal(value, "v1");
	coordc_reply_clear(&r);
	assert_int_equal(coordc_kv_get(t.c, "k", true, &value, &r), COORDC_OK);
	coordc_reply_clear(&r);
	assert_int_equal(coordc_kv_get(t.c, "k", false, &value, &r), COORDC_OK);
	assert_int_equal(r.kind, COORDC_DONE_ERROR);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.error, "not_found");
	assert_null(value);
	coordc_reply_clear(&r);
	assert_int_equal(coordc_kv_get(t.c, "k", false, &value, &r), COORDC_OK);
	assert_int_equal(r.kind, COORDC_DONE_ERROR);
	assert_string_equal(r.error, "bad_answer");
	assert_null(value);
	coordc_reply_clear(&r);
	assert_string_equal(t.f.seen[0], "GET /v1/kv/k");
	assert_string_equal(t.f.seen[1], "GET /v1/kv/k?consistency=stale");
	kv_stop(&t);
}

/* Scenario: a delete with cas and fence, then one with cas 0 ("only if
 * absent"). Outcome: the conditions in the body, cas 0 too; *DELETED as
 * answered. */
static void a_delete_sends_its_conditions_and_says_what_it_deleted(void **state)
{
	const struct fake_answer script[] = {{200, "{\"deleted\":true}", NULL},
	                                     {200, "{\"deleted\":false}", NULL}};
	struct coordc_kv_cond both = {
	    .has_cas = true, .cas = 5, .fence_lock = "jobs/x", .fence_token = 3};
	struct coordc_kv_cond absent = {.has_cas = true, .cas = 0};
	struct coordc_reply r;
	struct kv_test t;
	bool deleted = false;
	json_t *body;

	(void)state;
	kv_start(&t, script, 2);
	assert_int_equal(coordc_kv_delete(t.c, "k", &both, &deleted, &r), COORDC_OK);
	assert_true(deleted);
	coordc_reply_clear(&r);
	assert_int_equal(coordc_kv_delete(t.c, "k", &absent, &deleted, &r), COORDC_OK);
	assert_false(deleted);
	coordc_reply_clear(&r);
	assert_string_equal(t.f.seen[0], "DELETE /v1/kv/k");
	body = seen_json(&t.f, 0);
	assert_int_equal(json_integer_value(json_object_get(body, "cas")), 5);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(body, "fence"), "token")), 3);
	json_decref(body);
	assert_string_equal(t.f.seen_body[1], "{\"cas\":0}");
	kv_stop(&t);
}

/* Scenario: a listing of two pages whose indexes differ (a change came
 * between them). Outcome: the keys of both pages; the index is the first
 * page's, so a watch from it misses nothing made during the listing. */
static void a_listing_reads_every_page_and_keeps_the_first_pages_index(void **state)
{
	const struct fake_answer script[] = {
	    {200, "{\"keys\":[{\"key\":\"p/a\"},{\"key\":\"p/b\"}],\"next\":\"p/b\",\"index\":20}",
	     NULL},
	    {200, "{\"keys\":[{\"key\":\"p/c\"}],\"next\":null,\"index\":21}", NULL},
	    {200, "{\"keys\":[],\"next\":null}", NULL}};
	struct coordc_reply r;
	struct kv_test t;
	uint64_t index = 0;
	json_t *keys;

	(void)state;
	kv_start(&t, script, 3);
	assert_int_equal(coordc_kv_list(t.c, "p/", 2, 10, &keys, &index, &r), COORDC_OK);
	assert_int_equal(r.kind, COORDC_DONE_OK);
	assert_int_equal(json_array_size(keys), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(keys, 2), "key")),
	                    "p/c");
	assert_int_equal(index, 20);
	json_decref(keys);
	coordc_reply_clear(&r);
	assert_string_equal(t.f.seen[0], "GET /v1/kv?prefix=p/&limit=2");
	assert_string_equal(t.f.seen[1], "GET /v1/kv?prefix=p/&limit=2&after=p/b");
	/* A listing without an index gives nothing to watch from. */
	assert_int_equal(coordc_kv_list(t.c, "", 0, 10, &keys, &index, &r), COORDC_OK);
	assert_null(keys);
	assert_string_equal(r.error, "bad_listing");
	coordc_reply_clear(&r);
	assert_string_equal(t.f.seen[2], "GET /v1/kv?prefix=");
	kv_stop(&t);
}

/* Scenario: a watch answered with two changes, then one past the kept
 * history (410), then answers that are not a watch's. Outcome: the changes
 * and the next index; 410 a definite compacted error with the index to
 * resync from; the others bad_answer. */
static void a_watch_returns_changes_and_the_next_index_or_compacted(void **state)
{
	const struct fake_answer script[] = {
	    {200,
	     "{\"changes\":[{\"key\":\"p/a\",\"change\":\"put\",\"modify_index\":31},"
	     "{\"key\":\"p/b\",\"change\":\"delete\",\"modify_index\":33}],\"index\":34}",
	     NULL},
	    {410, "{\"error\":\"compacted\",\"message\":\"gone\",\"index\":900}", NULL},
	    {200,
	     "{\"changes\":[{\"key\":\"p/a\",\"change\":\"put\",\"modify_index\":30}],"
	     "\"index\":34}",
	     NULL},
	    {200, "{\"changes\":[],\"index\":\"34\"}", NULL}};
	const json_t *changes;
	struct coordc_reply r;
	struct kv_test t;
	uint64_t next = 0;

	(void)state;
	kv_start(&t, script, 4);
	assert_int_equal(coordc_kv_watch(t.c, "p/", 30, 2000, &changes, &next, &r), COORDC_OK);
	assert_int_equal(r.kind, COORDC_DONE_OK);
	assert_int_equal(json_array_size(changes), 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(changes, 1), "change")), "delete");
	assert_int_equal(next, 34);
	coordc_reply_clear(&r);
	assert_string_equal(t.f.seen[0], "GET /v1/kv?prefix=p/&index=30&wait=2000ms");
	assert_int_equal(coordc_kv_watch(t.c, "p/", 1, 0, &changes, &next, &r), COORDC_OK);
	assert_int_equal(r.kind, COORDC_DONE_ERROR);
	assert_int_equal(r.status, 410);
	assert_string_equal(r.error, "compacted");
	assert_int_equal(next, 900);
	assert_null(changes);
	coordc_reply_clear(&r);
	assert_string_equal(t.f.seen[1], "GET /v1/kv?prefix=p/&index=1&wait=300000ms");
	for (int i = 0; i < 2; i++) { /* a change not after the index; no index */
		assert_int_equal(coordc_kv_watch(t.c, "p/", 30, 1000, &changes, &next, &r),
		                 COORDC_OK);
		assert_int_equal(r.kind, COORDC_DONE_ERROR);
		assert_string_equal(r.error, "bad_answer");
		assert_null(changes);
		coordc_reply_clear(&r);
	}
	kv_stop(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(a_put_sends_value_session_cas_and_fence),
	    cmocka_unit_test(a_write_is_never_resent_after_a_lost_answer),
	    cmocka_unit_test(bad_arguments_are_refused_before_sending),
	    cmocka_unit_test(a_get_returns_the_value_or_not_found),
	    cmocka_unit_test(a_delete_sends_its_conditions_and_says_what_it_deleted),
	    cmocka_unit_test(a_listing_reads_every_page_and_keeps_the_first_pages_index),
	    cmocka_unit_test(a_watch_returns_changes_and_the_next_index_or_compacted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
