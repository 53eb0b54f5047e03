/* The HTTP server through real HTTP on loopback (libcurl as the client):
 * answers from the submitting thread and from another thread, the error
 * shape for refused requests, 405 with Allow, 413 before the body is read,
 * the X-Coord-* headers, noticing a client that hung up while its call
 * was suspended, and the external mode (run by its owner's thread). */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "server.h"

static struct http_server *server;
static char base[96];
static struct http_call *held; /* a keepalive call left unanswered */
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;

static void *answer_later(void *arg)
{
	struct http_call *call = arg;
	struct http_meta meta = {.index = 42, .term = 3, .leader = 2};

	usleep(10000);
	http_call_answer(call, 200, json_pack("{s:s}", "name", http_call_request(call)->name),
	                 &meta);
	return NULL;
}

static void submit(void *ctx, struct http_call *call)
{
	const struct http_request *req = http_call_request(call);
	pthread_t th;

	(void)ctx;
	switch (req->op) {
	case HTTP_OP_LOCK_GET:
		pthread_create(&th, NULL, answer_later, call);
		pthread_detach(th);
		break;
	case HTTP_OP_SESSION_KEEPALIVE:
		pthread_mutex_lock(&held_mu);
		held = call;
		pthread_mutex_unlock(&held_mu);
		break;
	case HTTP_OP_METRICS:
		http_call_answer_text(call, 200, "coord_up 1\n", NULL);
		break;
	default: {
		struct http_err err;
		struct http_meta meta = {.retry_after_s = 1};

		http_err_set(&err, HTTP_ERR_NO_LEADER, "no leader is known");
		http_call_answer_error(call, &err, json_pack("{s:i}", "attempts", 3), &meta);
	}
	}
}

struct reply {
	long status;
	char body[4096];
	size_t len;
	char headers[4096];
	size_t hlen;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct reply *r = ud;
	size_t k = sz * n;

	if (r->len + k < sizeof(r->body)) {
		memcpy(r->body + r->len, p, k);
		r->len += k;
		r->body[r->len] = '\0';
	}
	return k;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct reply *r = ud;
	size_t k = sz * n;

	if (r->hlen + k < sizeof(r->headers)) {
		memcpy(r->headers + r->hlen, p, k);
		r->hlen += k;
		r->headers[r->hlen] = '\0';
	}
	return k;
}

static CURLcode do_request(const char *method, const char *path, const char *body, long timeout_ms,
                           struct reply *r)
{
	CURL *c = curl_easy_init();
	char url[512];
	CURLcode rc;
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");

	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "%s%s", base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	return rc;
}

static int setup(void **state)
{
	struct http_server_config cfg = {.submit = submit};
	char addr[64];
	int port = 24000 + (int)(getpid() % 3000);

	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	snprintf(base, sizeof(base), "http://%s", addr);
	cfg.listen_addr = addr;
	return http_server_start(&cfg, &server) == HTTP_SERVER_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	http_server_stop(server);
	curl_global_cleanup();
	return 0;
}

static void test_answer_from_another_thread(void **state)
{
	struct reply r;

	(void)state;
	assert_int_equal(do_request("GET", "/v1/locks/jobs/a", NULL, 5000, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"name\":\"jobs/a\"}\n");
	assert_non_null(strstr(r.headers, "X-Coord-Index: 42\r\n"));
	assert_non_null(strstr(r.headers, "X-Coord-Term: 3\r\n"));
	assert_non_null(strstr(r.headers, "X-Coord-Leader: 2\r\n"));
	assert_non_null(strstr(r.headers, "Content-Type: application/json"));
}

static void test_pretty(void **state)
{
	struct reply r;

	(void)state;
	assert_int_equal(do_request("GET", "/v1/locks/a?pretty", NULL, 5000, &r), CURLE_OK);
	assert_string_equal(r.body, "{\n  \"name\": \"a\"\n}\n");
}

static void test_error_with_details_and_retry_after(void **state)
{
	struct reply r;
	json_t *j;

	(void)state;
	assert_int_equal(do_request("POST", "/v1/sessions", NULL, 5000, &r), CURLE_OK);
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(r.headers, "Retry-After: 1\r\n"));
	j = json_loads(r.body, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "error")), "no_leader");
	assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 3);
	json_decref(j);
}

static void test_refused_before_the_node(void **state)
{
	struct reply r;

	(void)state;
	assert_int_equal(do_request("GET", "/v2/nothing", NULL, 5000, &r), CURLE_OK);
	assert_int_equal(r.status, 404);
	assert_non_null(strstr(r.body, "\"error\":\"not_found\""));
	assert_int_equal(do_request("POST", "/v1/locks/a", NULL, 5000, &r), CURLE_OK);
	assert_int_equal(r.status, 405);
	assert_non_null(strstr(r.headers, "Allow: GET, PUT, DELETE\r\n"));
	assert_int_equal(do_request("PUT", "/v1/locks/a", "{\"session\":", 5000, &r), CURLE_OK);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "\"error\":\"invalid_json\""));
	/* The server still serves. */
	assert_int_equal(do_request("GET", "/metrics", NULL, 5000, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "coord_up 1\n");
}

static void test_body_over_limit_is_413(void **state)
{
	struct reply r;
	size_t len = 2u << 20;
	char *big = malloc(len + 1);

	(void)state;
	assert_non_null(big);
	memset(big, 'x', len);
	big[len] = '\0';
	(void)do_request("PUT", "/v1/locks/a", big, 5000, &r);
	assert_int_equal(r.status, 413);
	assert_non_null(strstr(r.body, "\"error\":\"too_large\""));
	free(big);
}

static void test_client_gone_while_suspended(void **state)
{
	struct reply r;
	struct http_call *call;
	struct http_err err;

	(void)state;
	/* The client gives up after 200 ms; the call stays with the "node". */
	assert_int_equal(do_request("POST",
	                            "/v1/sessions/0123456789abcdef0123456789abcdef/keepalive", NULL,
	                            200, &r),
	                 CURLE_OPERATION_TIMEDOUT);
	pthread_mutex_lock(&held_mu);
	call = held;
	held = NULL;
	pthread_mutex_unlock(&held_mu);
	assert_non_null(call);
	for (int i = 0; i < 100 && !http_call_client_gone(call); i++)
		usleep(10000);
	assert_true(http_call_client_gone(call));
	http_err_set(&err, HTTP_ERR_UNAVAILABLE, "withdrawn");
	http_call_answer_error(call, &err, NULL, NULL);
}

/* External mode: no thread of the server's own. The owner polls its
 * descriptor and runs it; the serve callback may answer a request there and
 * then, submitted calls are answered by the owner between runs, and every
 * callback runs on the owner's thread. */
struct external {
	pthread_t owner;
	bool off_thread;            /* a callback ran on another thread */
	struct http_call *calls[8]; /* submitted, not yet answered */
	size_t n_calls;
	int client_done;
	struct reply stale, later, refused;
	CURLcode stale_rc, later_rc, refused_rc;
};

static struct external ext;

static bool ext_serve(void *ctx, struct http_call *call)
{
	const struct http_request *req = http_call_request(call);

	(void)ctx;
	ext.off_thread |= !pthread_equal(pthread_self(), ext.owner);
	if (req->op != HTTP_OP_LOCK_GET || !req->stale)
		return false;
	http_call_answer(call, 200, json_pack("{s:s}", "served", req->name), NULL);
	return true;
}

static void ext_submit(void *ctx, struct http_call *call)
{
	(void)ctx;
	ext.off_thread |= !pthread_equal(pthread_self(), ext.owner);
	assert_true(ext.n_calls < sizeof(ext.calls) / sizeof(ext.calls[0]));
	ext.calls[ext.n_calls++] = call;
}

static void *ext_client(void *arg)
{
	(void)arg;
	ext.stale_rc = do_request("GET", "/v1/locks/a?consistency=stale", NULL, 5000, &ext.stale);
	ext.later_rc = do_request("GET", "/v1/locks/b", NULL, 5000, &ext.later);
	ext.refused_rc = do_request("GET", "/v2/nothing", NULL, 5000, &ext.refused);
	__atomic_store_n(&ext.client_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_external_mode_runs_on_the_owners_thread(void **state)
{
	struct http_server_config cfg = {
	    .serve = ext_serve, .submit = ext_submit, .external = true};
	struct http_server *s;
	char addr[64], saved[sizeof(base)];
	pthread_t client;
	int port = 27000 + (int)(getpid() % 3000);

	(void)state;
	memset(&ext, 0, sizeof(ext));
	ext.owner = pthread_self();
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	cfg.listen_addr = addr;
	assert_int_equal(http_server_start(&cfg, &s), HTTP_SERVER_OK);
	assert_true(http_server_fd(s) >= 0);
	memcpy(saved, base, sizeof(base));
	snprintf(base, sizeof(base), "http://%s", addr);
	assert_int_equal(pthread_create(&client, NULL, ext_client, NULL), 0);
	/* The owner's loop: wait for the descriptor (or the longest wait),
	 * run, answer what was submitted, run again when something was
	 * answered or the server says it has more to do. */
	for (int turns = 0; !__atomic_load_n(&ext.client_done, __ATOMIC_ACQUIRE); turns++) {
		struct pollfd p = {.fd = http_server_fd(s), .events = POLLIN};
		bool more;

		assert_true(turns < 50000);
		(void)poll(&p, 1, HTTP_RUN_EVERY_MS);
		do {
			more = http_server_run(s);
			for (size_t i = 0; i < ext.n_calls; i++)
				http_call_answer(ext.calls[i], 200,
				                 json_pack("{s:s}", "name",
				                           http_call_request(ext.calls[i])->name),
				                 NULL);
			/* An answer given asks for a run, so it leaves now. */
			assert_true(ext.n_calls == 0 || http_server_answered(s));
			ext.n_calls = 0;
		} while (more || http_server_answered(s));
	}
	pthread_join(client, NULL);
	memcpy(base, saved, sizeof(base));
	http_server_stop(s);
	assert_false(ext.off_thread);
	assert_int_equal(ext.stale_rc, CURLE_OK);
	assert_int_equal(ext.stale.status, 200);
	assert_string_equal(ext.stale.body, "{\"served\":\"a\"}\n");
	assert_int_equal(ext.later_rc, CURLE_OK);
	assert_int_equal(ext.later.status, 200);
	assert_string_equal(ext.later.body, "{\"name\":\"b\"}\n");
	assert_int_equal(ext.refused_rc, CURLE_OK);
	assert_int_equal(ext.refused.status, 404);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_answer_from_another_thread),
	    cmocka_unit_test(test_pretty),
	    cmocka_unit_test(test_error_with_details_and_retry_after),
	    cmocka_unit_test(test_refused_before_the_node),
	    cmocka_unit_test(test_body_over_limit_is_413),
	    cmocka_unit_test(test_client_gone_while_suspended),
	    cmocka_unit_test(test_external_mode_runs_on_the_owners_thread),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
