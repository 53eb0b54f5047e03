/* coord-bench's parts without a network: the latency histogram, the error
 * tally, and the two targets' requests and verdicts (including etcd's
 * gateway traps of docs/BENCHMARKS.md, etcd's JSON gateway). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bench.h"

/* Fixtures ----------------------------------------------------------------- */

static struct bench_options options(enum bench_target target, int workload)
{
	struct bench_options o = {.target = target,
	                          .workload = workload,
	                          .clients = 1,
	                          .n_endpoints = 1,
	                          .timeout_ms = 5000,
	                          .ttl_ms = 60000};
	strcpy(o.endpoints[0], "http://127.0.0.1:1");
	strcpy(o.run_tag, "t1");
	return o;
}

static struct bench_client client_at(enum bench_phase phase, int step, const char *session)
{
	struct bench_client c = {.id = 7, .phase = phase, .step = step};
	strcpy(c.session, session);
	return c;
}

/* Histogram ---------------------------------------------------------------- */

static void test_small_latencies_are_exact(void **state)
{
	(void)state;
	static struct bench_hist h;
	memset(&h, 0, sizeof(h));
	for (uint64_t v = 1; v <= 100; v++)
		bench_hist_record(&h, v);
	assert_int_equal(bench_hist_percentile(&h, 50), 50);
	assert_int_equal(bench_hist_percentile(&h, 99), 99);
	assert_int_equal(bench_hist_percentile(&h, 100), 100);
	assert_int_equal(h.max_us, 100);
	assert_int_equal(h.total, 100);
}

static void test_large_latencies_are_within_one_sixty_fourth_and_never_understated(void **state)
{
	(void)state;
	static struct bench_hist h;
	for (uint64_t v = 130; v < 50000000; v = v * 3 / 2 + 7) {
		memset(&h, 0, sizeof(h));
		bench_hist_record(&h, v);
		bench_hist_record(&h, v * 4);
		uint64_t p = bench_hist_percentile(&h, 50);
		assert_true(p >= v);
		assert_true(p - v <= v / 64);
	}
}

static void test_percentiles_rise_with_rank_and_stop_at_the_maximum(void **state)
{
	(void)state;
	static struct bench_hist h;
	memset(&h, 0, sizeof(h));
	for (int i = 0; i < 980; i++)
		bench_hist_record(&h, 1000);
	for (int i = 0; i < 20; i++)
		bench_hist_record(&h, 250000);
	bench_hist_record(&h, 254321);
	uint64_t p50 = bench_hist_percentile(&h, 50), p99 = bench_hist_percentile(&h, 99);
	assert_true(p50 >= 1000 && p50 < 1016);
	assert_true(p99 >= 250000 && p99 <= 254321);
	assert_int_equal(bench_hist_percentile(&h, 100), 254321);
}

static void test_an_empty_histogram_reports_zero(void **state)
{
	(void)state;
	static struct bench_hist h;
	memset(&h, 0, sizeof(h));
	assert_int_equal(bench_hist_percentile(&h, 99), 0);
}

/* Error tally ---------------------------------------------------------------- */

static void test_errors_are_counted_by_kind_and_overflow_into_other(void **state)
{
	(void)state;
	static struct bench_errors e;
	memset(&e, 0, sizeof(e));
	bench_errors_add(&e, "transport_timeout");
	bench_errors_add(&e, "http_409_lock_held");
	bench_errors_add(&e, "transport_timeout");
	assert_int_equal(e.n, 2);
	assert_int_equal(e.count[0], 2);
	assert_int_equal(e.total, 3);

	char kind[BENCH_ERROR_KIND_MAX];
	for (int i = 0; i < 2 * BENCH_ERROR_KINDS; i++) {
		snprintf(kind, sizeof(kind), "kind_%d", i);
		bench_errors_add(&e, kind);
	}
	assert_int_equal(e.n, BENCH_ERROR_KINDS);
	assert_string_equal(e.kind[BENCH_ERROR_KINDS - 1], "other");
	assert_int_equal(e.total, 3 + 2 * BENCH_ERROR_KINDS);
}

static void test_an_http_failure_is_filed_under_status_and_error_code(void **state)
{
	(void)state;
	char kind[BENCH_ERROR_KIND_MAX];
	bench_http_kind(409, "{\"error\":\"lock_held\",\"message\":\"held\"}", kind);
	assert_string_equal(kind, "http_409_lock_held");
	bench_http_kind(502, "<html>bad gateway</html>", kind);
	assert_string_equal(kind, "http_502");
	/* A code with spaces cannot split the one-line summary. */
	bench_http_kind(500, "{\"error\":\"no leader: x\"}", kind);
	assert_string_equal(kind, "http_500_no_leader__x");
}

/* coord target ----------------------------------------------------------------- */

static void test_coord_lock_cycle_is_a_try_lock_then_a_release_of_the_clients_own_lock(void **state)
{
	(void)state;
	struct bench_options o = options(BENCH_COORD, BENCH_LOCK_OWN);
	struct bench_client c = client_at(BENCH_RUN, 0, "s1");
	struct bench_request q = {0};
	char kind[BENCH_ERROR_KIND_MAX];

	assert_int_equal(bench_coord_ops.prepare(&o, &c, &q), 1);
	assert_string_equal(q.method, "PUT");
	assert_string_equal(q.path, "/v1/locks/bench/t1/own/7");
	assert_string_equal(q.body, "{\"session\":\"s1\"}");
	assert_int_equal(bench_coord_ops.check(&o, &c, 200, "{\"fencing_token\":9}", kind), 0);

	c.step = 1;
	memset(&q, 0, sizeof(q));
	assert_int_equal(bench_coord_ops.prepare(&o, &c, &q), 1);
	assert_string_equal(q.method, "DELETE");
	/* A retried release that finds nothing held still ends the cycle. */
	assert_int_equal(bench_coord_ops.check(&o, &c, 200, "{\"released\":false}", kind), 0);
	c.step = 2;
	assert_int_equal(bench_coord_ops.prepare(&o, &c, &q), 0);
}

static void test_coord_contended_acquire_waits_in_line_and_curl_outwaits_the_server(void **state)
{
	(void)state;
	struct bench_options o = options(BENCH_COORD, BENCH_LOCK_CONTENDED);
	struct bench_client c = client_at(BENCH_RUN, 0, "s1");
	struct bench_request q = {0};
	char kind[BENCH_ERROR_KIND_MAX];

	assert_int_equal(bench_coord_ops.prepare(&o, &c, &q), 1);
	assert_string_equal(q.path, "/v1/locks/bench/t1/shared");
	assert_string_equal(q.body, "{\"session\":\"s1\",\"wait_ms\":5000}");
	assert_true(q.extra_timeout_ms > 0);
	assert_int_equal(bench_coord_ops.check(&o, &c, 409, "{\"error\":\"lock_held\"}", kind), 1);
	assert_string_equal(kind, "http_409_lock_held");
}

static void test_coord_setup_keeps_the_session_id_and_teardown_closes_it(void **state)
{
	(void)state;
	struct bench_options o = options(BENCH_COORD, BENCH_KEEPALIVE);
	struct bench_client c = client_at(BENCH_SETUP, 0, "");
	struct bench_request q = {0};
	char kind[BENCH_ERROR_KIND_MAX];

	assert_int_equal(bench_coord_ops.prepare(&o, &c, &q), 1);
	assert_string_equal(q.path, "/v1/sessions");
	assert_int_equal(bench_coord_ops.check(&o, &c, 200, "{\"id\":\"abc\"}", kind), 1);
	assert_int_equal(bench_coord_ops.check(&o, &c, 201, "{\"id\":\"abc\"}", kind), 0);
	assert_string_equal(c.session, "abc");

	c.phase = BENCH_TEARDOWN;
	c.step = 0;
	memset(&q, 0, sizeof(q));
	assert_int_equal(bench_coord_ops.prepare(&o, &c, &q), 1);
	assert_string_equal(q.method, "DELETE");
	assert_string_equal(q.path, "/v1/sessions/abc");
	assert_int_equal(bench_coord_ops.check(&o, &c, 404, "{}", kind), 0);
	assert_string_equal(c.session, "");
}

static void test_coord_stale_read_asks_for_stale_consistency(void **state)
{
	(void)state;
	struct bench_options o = options(BENCH_COORD, BENCH_READ_STALE);
	struct bench_client c = client_at(BENCH_RUN, 0, "s1");
	struct bench_request q = {0};

	assert_int_equal(bench_coord_ops.prepare(&o, &c, &q), 1);
	assert_string_equal(q.method, "GET");
	assert_string_equal(q.path, "/v1/sessions/s1?consistency=stale");
}

/* coord fill ------------------------------------------------------------------- */

static struct bench_options fill_options(long sessions, int locks, long offset, int clients)
{
	struct bench_options o = options(BENCH_COORD, BENCH_FILL);
	o.fill_sessions = sessions;
	o.fill_locks = locks;
	o.fill_offset = offset;
	o.clients = clients;
	o.ttl_ms = 3600000;
	strcpy(o.fill_prefix, "fill");
	return o;
}

/* A fill client after setup: client 7 of O's clients. */
static struct bench_client fill_client(const struct bench_options *o)
{
	struct bench_client c = client_at(BENCH_SETUP, 0, "");
	struct bench_request q = {0};
	assert_int_equal(bench_coord_ops.prepare(o, &c, &q), 0); /* no setup request */
	c.phase = BENCH_RUN;
	return c;
}

/* Prepares CLIENT's next request into Q; returns what prepare() returned. */
static int fill_step(const struct bench_options *o, struct bench_client *c, struct bench_request *q)
{
	memset(q, 0, sizeof(*q));
	c->step = 0;
	return bench_coord_ops.prepare(o, c, q);
}

static void test_coord_fill_creates_each_session_of_its_share_then_its_locks(void **state)
{
	(void)state;
	struct bench_options o = fill_options(20, 2, 100, 10);
	struct bench_client c = fill_client(&o);
	struct bench_request q;
	char kind[BENCH_ERROR_KIND_MAX];

	/* Client 7 of 10 takes sessions 7 and 17 of 20, named from offset 100. */
	assert_int_equal(fill_step(&o, &c, &q), 1);
	assert_string_equal(q.method, "POST");
	assert_string_equal(q.path, "/v1/sessions");
	assert_string_equal(q.body, "{\"ttl_ms\":3600000,\"name\":\"fill/107\"}");
	assert_int_equal(bench_coord_ops.check(&o, &c, 201, "{\"id\":\"s107\"}", kind), 0);
	/* One request is one operation. */
	c.step = 1;
	assert_int_equal(bench_coord_ops.prepare(&o, &c, &q), 0);

	for (int l = 0; l < 2; l++) {
		char path[64];
		assert_int_equal(fill_step(&o, &c, &q), 1);
		assert_string_equal(q.method, "PUT");
		snprintf(path, sizeof(path), "/v1/locks/fill/107/%d", l);
		assert_string_equal(q.path, path);
		assert_string_equal(q.body, "{\"session\":\"s107\"}");
		assert_int_equal(bench_coord_ops.check(&o, &c, 200, "{\"fencing_token\":5}", kind),
		                 0);
	}
	assert_int_equal(fill_step(&o, &c, &q), 1);
	assert_string_equal(q.body, "{\"ttl_ms\":3600000,\"name\":\"fill/117\"}");
	assert_int_equal(bench_coord_ops.check(&o, &c, 201, "{\"id\":\"s117\"}", kind), 0);
	for (int l = 0; l < 2; l++) {
		assert_int_equal(fill_step(&o, &c, &q), 1);
		assert_int_equal(bench_coord_ops.check(&o, &c, 200, "{}", kind), 0);
	}
	/* Its share is done; teardown closes nothing. */
	assert_int_equal(fill_step(&o, &c, &q), -1);
	assert_int_equal(c.made_sessions, 2);
	assert_int_equal(c.made_locks, 4);
	c.phase = BENCH_TEARDOWN;
	assert_int_equal(fill_step(&o, &c, &q), 0);
}

static void test_coord_fill_skips_what_coord_refuses_and_retries_the_rest(void **state)
{
	(void)state;
	struct bench_options o = fill_options(30, 3, 0, 10);
	struct bench_client c = fill_client(&o);
	struct bench_request q;
	char kind[BENCH_ERROR_KIND_MAX];

	/* A 503 (or a time-out, which the engine retries without asking) sends
	 * the same request again. */
	assert_int_equal(fill_step(&o, &c, &q), 1);
	assert_int_equal(bench_coord_ops.check(&o, &c, 503, "{\"error\":\"no_leader\"}", kind), 1);
	assert_string_equal(kind, "http_503_no_leader");
	assert_int_equal(fill_step(&o, &c, &q), 1);
	assert_string_equal(q.body, "{\"ttl_ms\":3600000,\"name\":\"fill/7\"}");

	/* The session limit: the session and its locks are skipped. */
	assert_int_equal(bench_coord_ops.check(&o, &c, 429, "{\"error\":\"too_many\"}", kind), 1);
	assert_string_equal(kind, "http_429_too_many");
	assert_int_equal(fill_step(&o, &c, &q), 1);
	assert_string_equal(q.body, "{\"ttl_ms\":3600000,\"name\":\"fill/17\"}");
	assert_int_equal(bench_coord_ops.check(&o, &c, 201, "{\"id\":\"s17\"}", kind), 0);

	/* A lock another session holds, or the per-session limit: that lock is
	 * skipped, the next one asked for. */
	assert_int_equal(fill_step(&o, &c, &q), 1);
	assert_string_equal(q.path, "/v1/locks/fill/17/0");
	assert_int_equal(bench_coord_ops.check(&o, &c, 409, "{\"error\":\"lock_held\"}", kind), 1);
	assert_int_equal(fill_step(&o, &c, &q), 1);
	assert_string_equal(q.path, "/v1/locks/fill/17/1");

	/* The session is gone: the rest of it is skipped. */
	assert_int_equal(
	    bench_coord_ops.check(&o, &c, 404, "{\"error\":\"session_not_found\"}", kind), 1);
	assert_int_equal(fill_step(&o, &c, &q), 1);
	assert_string_equal(q.body, "{\"ttl_ms\":3600000,\"name\":\"fill/27\"}");
	assert_int_equal(c.made_sessions, 1);
	assert_int_equal(c.made_locks, 0);
}

/* etcd target ------------------------------------------------------------------ */

static void test_etcd_lock_sends_a_base64_name_and_the_lease_id_as_a_string(void **state)
{
	(void)state;
	struct bench_options o = options(BENCH_ETCD, BENCH_LOCK_OWN);
	struct bench_client c = client_at(BENCH_RUN, 0, "7587869123456789012");
	struct bench_request q = {0};
	char kind[BENCH_ERROR_KIND_MAX];

	assert_int_equal(bench_etcd_ops.prepare(&o, &c, &q), 1);
	assert_string_equal(q.path, "/v3/lock/lock");
	/* base64("bench/t1/own/7") */
	assert_string_equal(
	    q.body, "{\"name\":\"YmVuY2gvdDEvb3duLzc=\",\"lease\":\"7587869123456789012\"}");
	assert_int_equal(bench_etcd_ops.check(&o, &c, 200, "{\"key\":\"a2V5\"}", kind), 0);
	assert_string_equal(c.key, "a2V5");

	c.step = 1;
	memset(&q, 0, sizeof(q));
	assert_int_equal(bench_etcd_ops.prepare(&o, &c, &q), 1);
	assert_string_equal(q.path, "/v3/lock/unlock");
	assert_string_equal(q.body, "{\"key\":\"a2V5\"}");
}

static void test_etcd_keepalive_of_an_unknown_lease_is_a_failure_despite_200(void **state)
{
	(void)state;
	struct bench_options o = options(BENCH_ETCD, BENCH_KEEPALIVE);
	struct bench_client c = client_at(BENCH_RUN, 0, "42");
	char kind[BENCH_ERROR_KIND_MAX];

	assert_int_equal(
	    bench_etcd_ops.check(&o, &c, 200, "{\"result\":{\"ID\":\"42\",\"TTL\":\"60\"}}", kind),
	    0);
	assert_int_equal(bench_etcd_ops.check(&o, &c, 200, "{\"result\":{\"ID\":\"42\"}}", kind),
	                 1);
	assert_string_equal(kind, "bad_reply_200");
}

static void test_etcd_setup_grants_a_lease_then_puts_the_key_a_read_will_find(void **state)
{
	(void)state;
	struct bench_options o = options(BENCH_ETCD, BENCH_READ_LINEAR);
	struct bench_client c = client_at(BENCH_SETUP, 0, "");
	struct bench_request q = {0};
	char kind[BENCH_ERROR_KIND_MAX];

	assert_int_equal(bench_etcd_ops.prepare(&o, &c, &q), 1);
	assert_string_equal(q.path, "/v3/lease/grant");
	assert_string_equal(q.body, "{\"TTL\":60}");
	assert_int_equal(bench_etcd_ops.check(&o, &c, 200, "{\"ID\":\"99\",\"TTL\":\"60\"}", kind),
	                 0);
	assert_string_equal(c.session, "99");

	c.step = 1;
	memset(&q, 0, sizeof(q));
	assert_int_equal(bench_etcd_ops.prepare(&o, &c, &q), 1);
	assert_string_equal(q.path, "/v3/kv/put");
	assert_non_null(strstr(q.body, "\"lease\":\"99\""));

	c.phase = BENCH_RUN;
	c.step = 0;
	assert_int_equal(bench_etcd_ops.check(&o, &c, 200, "{\"kvs\":[{\"key\":\"x\"}]}", kind), 0);
	assert_int_equal(bench_etcd_ops.check(&o, &c, 200, "{\"count\":\"0\"}", kind), 1);
}

static void test_etcd_errors_are_filed_under_the_grpc_code(void **state)
{
	(void)state;
	struct bench_options o = options(BENCH_ETCD, BENCH_LOCK_OWN);
	struct bench_client c = client_at(BENCH_RUN, 0, "1");
	char kind[BENCH_ERROR_KIND_MAX];

	assert_int_equal(bench_etcd_ops.check(&o, &c, 503,
	                                      "{\"error\":\"etcdserver: request timed out\","
	                                      "\"code\":14}",
	                                      kind),
	                 1);
	assert_string_equal(kind, "http_503_grpc14");
}

/* Both targets: every client's connection opens in setup ------------------------ */

static void test_session_cycle_setup_opens_the_connection_with_one_cheap_request(void **state)
{
	(void)state;
	const struct bench_target_ops *ops[] = {&bench_coord_ops, &bench_etcd_ops};
	const char *paths[] = {"/v1/health", "/v3/maintenance/status"};
	char kind[BENCH_ERROR_KIND_MAX];
	for (int i = 0; i < 2; i++) {
		struct bench_options o =
		    options(i == 0 ? BENCH_COORD : BENCH_ETCD, BENCH_SESSION_CYCLE);
		struct bench_client c = client_at(BENCH_SETUP, 0, "");
		struct bench_request q = {0};
		assert_int_equal(ops[i]->prepare(&o, &c, &q), 1);
		assert_string_equal(q.path, paths[i]);
		/* Any answer will do: the connection (and its handshake) is made. */
		assert_int_equal(ops[i]->check(&o, &c, 503, "", kind), 0);
		c.step = 1;
		memset(&q, 0, sizeof(q));
		assert_int_equal(ops[i]->prepare(&o, &c, &q), 0);
		assert_string_equal(c.session, "");
	}
}

/* Token file ------------------------------------------------------------------ */

/* Writes TEXT to a new temporary file whose path goes into PATH. */
static void token_file(char *path, const char *text)
{
	strcpy(path, "/tmp/bench-token-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_a_token_file_becomes_one_bearer_header_without_its_newline(void **state)
{
	(void)state;
	char path[64], header[BENCH_AUTH_HEADER_MAX], err[256];
	token_file(path, "  coord_0123abcd\n");
	assert_int_equal(bench_token_header(path, header, sizeof(header), err, sizeof(err)), 0);
	assert_string_equal(header, "Authorization: Bearer coord_0123abcd");
	unlink(path);
}

static void
test_a_token_file_that_could_split_the_header_is_refused_without_quoting_it(void **state)
{
	(void)state;
	const char *bad[] = {"", "\n", "coord_a coord_b\n", "coord_a\r\nX-Evil: 1\n",
	                     "coord_\x01a"};
	char path[64], header[BENCH_AUTH_HEADER_MAX], err[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		token_file(path, bad[i]);
		strcpy(header, "x");
		assert_int_equal(bench_token_header(path, header, sizeof(header), err, sizeof(err)),
		                 BENCH_ETOKEN);
		assert_string_equal(header, "");
		assert_null(strstr(err, "coord_"));
		unlink(path);
	}
	char longer[BENCH_TOKEN_MAX + 8];
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	token_file(path, longer);
	assert_int_equal(bench_token_header(path, header, sizeof(header), err, sizeof(err)),
	                 BENCH_ETOKEN);
	unlink(path);
	assert_int_equal(bench_token_header(path, header, sizeof(header), err, sizeof(err)),
	                 BENCH_ETOKEN); /* gone */
}

/* ZooKeeper's lock recipe: a waiter watches the node just before its own
 * (not the lowest: no herd), by sequence, whatever the client prefixes. */
static void test_zk_a_waiter_watches_the_next_lower_sequence_not_the_lowest(void **state)
{
	(void)state;
	const char *kids[] = {"c7-lock-0000000012", "c2-lock-0000000003", "c5-lock-0000000010",
	                      "c9-lock-0000000011"};
	char pred[64];
	const char *stale = "x";
	assert_int_equal(
	    bench_zk_predecessor(kids, 4, "c9-lock-0000000011", pred, sizeof(pred), &stale), 1);
	assert_string_equal(pred, "c5-lock-0000000010");
	assert_null(stale);
	assert_int_equal(
	    bench_zk_predecessor(kids, 4, "c7-lock-0000000012", pred, sizeof(pred), NULL), 1);
	assert_string_equal(pred, "c9-lock-0000000011");
}

static void test_zk_the_lowest_sequence_holds_the_lock(void **state)
{
	(void)state;
	const char *kids[] = {"c7-lock-0000000012", "c2-lock-0000000003"};
	char pred[64] = "";
	assert_int_equal(
	    bench_zk_predecessor(kids, 2, "c2-lock-0000000003", pred, sizeof(pred), NULL), 0);
	assert_string_equal(pred, "");
}

/* A create whose answer was lost may have made a node: the client finds it
 * by its prefix and deletes it, instead of waiting behind itself. */
static void test_zk_a_node_the_client_left_behind_is_named_stale(void **state)
{
	(void)state;
	const char *kids[] = {"c3-lock-0000000004", "c31-lock-0000000005", "c3-lock-0000000009"};
	char pred[64];
	const char *stale = NULL;
	assert_int_equal(
	    bench_zk_predecessor(kids, 3, "c3-lock-0000000009", pred, sizeof(pred), &stale), 1);
	assert_non_null(stale);
	assert_string_equal(stale, "c3-lock-0000000004");
}

static void test_zk_a_lost_own_node_or_a_foreign_name_is_an_error(void **state)
{
	(void)state;
	const char *kids[] = {"c1-lock-0000000001"};
	const char *odd[] = {"c1-lock-0000000001", "readme"};
	char pred[64];
	assert_int_equal(
	    bench_zk_predecessor(kids, 1, "c2-lock-0000000002", pred, sizeof(pred), NULL), -1);
	assert_int_equal(
	    bench_zk_predecessor(odd, 2, "c1-lock-0000000001", pred, sizeof(pred), NULL), -1);
	char tiny[4];
	const char *two[] = {"c1-lock-0000000001", "c2-lock-0000000002"};
	assert_int_equal(
	    bench_zk_predecessor(two, 2, "c2-lock-0000000002", tiny, sizeof(tiny), NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_small_latencies_are_exact),
	    cmocka_unit_test(
	        test_large_latencies_are_within_one_sixty_fourth_and_never_understated),
	    cmocka_unit_test(test_percentiles_rise_with_rank_and_stop_at_the_maximum),
	    cmocka_unit_test(test_an_empty_histogram_reports_zero),
	    cmocka_unit_test(test_errors_are_counted_by_kind_and_overflow_into_other),
	    cmocka_unit_test(test_an_http_failure_is_filed_under_status_and_error_code),
	    cmocka_unit_test(
	        test_coord_lock_cycle_is_a_try_lock_then_a_release_of_the_clients_own_lock),
	    cmocka_unit_test(
	        test_coord_contended_acquire_waits_in_line_and_curl_outwaits_the_server),
	    cmocka_unit_test(test_coord_setup_keeps_the_session_id_and_teardown_closes_it),
	    cmocka_unit_test(test_coord_stale_read_asks_for_stale_consistency),
	    cmocka_unit_test(test_coord_fill_creates_each_session_of_its_share_then_its_locks),
	    cmocka_unit_test(test_coord_fill_skips_what_coord_refuses_and_retries_the_rest),
	    cmocka_unit_test(test_etcd_lock_sends_a_base64_name_and_the_lease_id_as_a_string),
	    cmocka_unit_test(test_etcd_keepalive_of_an_unknown_lease_is_a_failure_despite_200),
	    cmocka_unit_test(test_etcd_setup_grants_a_lease_then_puts_the_key_a_read_will_find),
	    cmocka_unit_test(test_etcd_errors_are_filed_under_the_grpc_code),
	    cmocka_unit_test(test_session_cycle_setup_opens_the_connection_with_one_cheap_request),
	    cmocka_unit_test(test_a_token_file_becomes_one_bearer_header_without_its_newline),
	    cmocka_unit_test(
	        test_a_token_file_that_could_split_the_header_is_refused_without_quoting_it),
	    cmocka_unit_test(test_zk_a_waiter_watches_the_next_lower_sequence_not_the_lowest),
	    cmocka_unit_test(test_zk_the_lowest_sequence_holds_the_lock),
	    cmocka_unit_test(test_zk_a_node_the_client_left_behind_is_named_stale),
	    cmocka_unit_test(test_zk_a_lost_own_node_or_a_foreign_name_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
