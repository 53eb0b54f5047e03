/* Request decoding: every route, and a table of malformed requests with the
 * exact error each must get (API.md error table). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "request.h"

#define SID "0123456789abcdef0123456789abcdef"

struct q2 {
	struct http_query q[4];
	size_t n;
};

/* Decodes "METHOD PATH" with an optional query "k=v&k2" and BODY. */
static enum http_error decode(const char *method, const char *target, const char *body,
                              struct http_request *req, struct http_err *err, const char **allow)
{
	static char buf[4096];
	struct http_query q[HTTP_QUERY_MAX + 4];
	size_t n = 0;
	char *qs;

	strncpy(buf, target, sizeof(buf) - 1);
	qs = strchr(buf, '?');
	if (qs) {
		*qs++ = '\0';
		for (char *tok = strtok(qs, "&"); tok && n < sizeof(q) / sizeof(q[0]);
		     tok = strtok(NULL, "&")) {
			char *eq = strchr(tok, '=');

			if (eq)
				*eq++ = '\0';
			q[n].key = tok;
			q[n].value = eq;
			n++;
		}
	}
	enum http_error e =
	    http_request_decode(method, buf, q, n, body, body ? strlen(body) : 0, req, err);

	if (allow)
		*allow = err->allow[0] ? err->allow : NULL;
	return e;
}

static void test_routes(void **state)
{
	static const struct {
		const char *method, *target, *body;
		enum http_op op;
	} cases[] = {
	    {"POST", "/v1/sessions", NULL, HTTP_OP_SESSION_CREATE},
	    {"GET", "/v1/sessions", NULL, HTTP_OP_SESSION_LIST},
	    {"GET", "/v1/sessions/" SID, NULL, HTTP_OP_SESSION_GET},
	    {"DELETE", "/v1/sessions/" SID, NULL, HTTP_OP_SESSION_CLOSE},
	    {"POST", "/v1/sessions/" SID "/keepalive", NULL, HTTP_OP_SESSION_KEEPALIVE},
	    {"GET", "/v1/sessions/" SID "/events", NULL, HTTP_OP_SESSION_EVENTS},
	    {"GET", "/v1/sessions/" SID "/events?index=7&wait=1s", NULL, HTTP_OP_SESSION_EVENTS},
	    {"GET", "/v1/locks", NULL, HTTP_OP_LOCK_LIST},
	    {"GET", "/v1/locks/jobs/nightly", NULL, HTTP_OP_LOCK_GET},
	    {"PUT", "/v1/locks/jobs/nightly", "{\"session\":\"" SID "\"}", HTTP_OP_LOCK_ACQUIRE},
	    {"DELETE", "/v1/locks/a?session=" SID, NULL, HTTP_OP_LOCK_RELEASE},
	    {"GET", "/v1/fence?lock=a&token=7", NULL, HTTP_OP_FENCE},
	    {"GET", "/v1/elections/e", NULL, HTTP_OP_ELECTION_GET},
	    {"PUT", "/v1/elections/e", "{\"session\":\"" SID "\"}", HTTP_OP_ELECTION_CAMPAIGN},
	    {"PATCH", "/v1/elections/e", "{\"session\":\"" SID "\",\"value\":\"v\"}",
	     HTTP_OP_ELECTION_PROCLAIM},
	    {"DELETE", "/v1/elections/e", "{\"session\":\"" SID "\"}", HTTP_OP_ELECTION_RESIGN},
	    {"GET", "/v1/status", NULL, HTTP_OP_STATUS},
	    {"GET", "/v1/health", NULL, HTTP_OP_HEALTH},
	    {"GET", "/metrics", NULL, HTTP_OP_METRICS},
	    {"GET", "/v1/kv", NULL, HTTP_OP_KV_LIST},
	    {"GET", "/v1/kv/svc/web/1", NULL, HTTP_OP_KV_GET},
	    {"PUT", "/v1/kv/svc/web/1", "{\"value\":\"\"}", HTTP_OP_KV_PUT},
	    {"DELETE", "/v1/kv/svc/web/1", NULL, HTTP_OP_KV_DELETE},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_request req;
		struct http_err err;

		if (decode(cases[i].method, cases[i].target, cases[i].body, &req, &err, NULL) !=
		    HTTP_OK)
			fail_msg("%s %s: %s", cases[i].method, cases[i].target, err.message);
		assert_int_equal(req.op, cases[i].op);
		http_request_free(&req);
	}
}

static void test_acquire_fields(void **state)
{
	struct http_request req;
	struct http_err err;

	(void)state;
	assert_int_equal(decode("PUT", "/v1/locks/db/primary",
	                        "{\"session\":\"" SID "\",\"mode\":\"shared\",\"wait_ms\":2500,"
	                        "\"value\":\"10.0.0.5:5432\"}",
	                        &req, &err, NULL),
	                 HTTP_OK);
	assert_string_equal(req.name, "db/primary");
	assert_string_equal(req.session, SID);
	assert_true(req.shared);
	assert_int_equal(req.wait_ms, 2500);
	assert_true(req.has_value);
	assert_string_equal(req.value, "10.0.0.5:5432");
	assert_true(http_op_is(req.op, HTTP_OPF_WRITE));
	http_request_free(&req);
	assert_null(req.value);
}

static void test_session_defaults_and_fields(void **state)
{
	struct http_request req;
	struct http_err err;

	(void)state;
	assert_int_equal(decode("POST", "/v1/sessions", NULL, &req, &err, NULL), HTTP_OK);
	assert_int_equal(req.ttl_ms, HTTP_TTL_DEFAULT_MS);
	assert_int_equal(req.lock_delay_ms, 0);
	assert_int_equal(decode("POST", "/v1/sessions",
	                        "{\"ttl_ms\":1000,\"name\":\"backup job\",\"lock_delay_ms\":60000}",
	                        &req, &err, NULL),
	                 HTTP_OK);
	assert_int_equal(req.ttl_ms, 1000);
	assert_int_equal(req.lock_delay_ms, 60000);
	assert_string_equal(req.label, "backup job");
	http_request_free(&req); /* the accepted body is kept for forwarding */
	assert_null(req.body);
}

/* Access tokens: the create's rules and admin flag, the revoke's id, the
 * listing's ?after=ID; every malformed rule refused with a sentence naming
 * what is wrong. */
static void test_token_fields(void **state)
{
	static const struct {
		const char *body, *word;
	} bad[] = {
	    {"{\"rules\":[{\"resource\":\"tables\",\"prefix\":\"\",\"access\":\"read\"}]}",
	     "resource"},
	    {"{\"rules\":[{\"resource\":\"locks\",\"prefix\":\"\",\"access\":\"admin\"}]}",
	     "access"},
	    {"{\"rules\":[{\"resource\":\"locks\",\"prefix\":1,\"access\":\"read\"}]}", "prefix"},
	    {"{\"rules\":[{\"resource\":\"locks\",\"prefix\":\"a\\u0001\",\"access\":\"read\"}]}",
	     "control"},
	    {"{\"rules\":[{\"resource\":\"locks\",\"access\":\"read\"}]}", "rules[0]"},
	    {"{\"rules\":[{\"resource\":\"locks\",\"prefix\":\"\",\"access\":\"read\",\"x\":1}]}",
	     "rules[0]"},
	    {"{\"rules\":{}}", "array"},
	    {"{\"admin\":1}", "admin"},
	};
	struct http_request req;
	struct http_err err;
	char body[8192], prefix[HTTP_NAME_MAX + 2];
	size_t len;

	(void)state;
	assert_int_equal(
	    decode("POST", "/v1/tokens",
	           "{\"name\":\"ci\",\"admin\":true,\"rules\":[{\"resource\":\"locks\",\"prefix\":"
	           "\"jobs/\",\"access\":\"write\"},{\"access\":\"read\",\"prefix\":\"\","
	           "\"resource\":\"sessions\"}]}",
	           &req, &err, NULL),
	    HTTP_OK);
	assert_int_equal(req.op, HTTP_OP_TOKEN_CREATE);
	assert_string_equal(req.label, "ci");
	assert_true(req.admin);
	assert_int_equal(req.n_rules, 2);
	assert_string_equal(req.rules[0].resource, "locks");
	assert_string_equal(req.rules[0].access, "write");
	assert_string_equal(req.rules[0].prefix, "jobs/");
	assert_int_equal(req.rules[0].prefix_len, 5);
	assert_string_equal(req.rules[1].resource, "sessions");
	assert_string_equal(req.rules[1].access, "read");
	assert_int_equal(req.rules[1].prefix_len, 0);
	http_request_free(&req);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(decode("POST", "/v1/tokens", bad[i].body, &req, &err, NULL),
		                 HTTP_ERR_INVALID_ARGUMENT);
		assert_non_null(strstr(err.message, bad[i].word));
	}
	/* A prefix of HTTP_NAME_MAX bytes, then one more. */
	for (int extra = 0; extra < 2; extra++) {
		memset(prefix, 'p', sizeof(prefix));
		prefix[HTTP_NAME_MAX + extra] = '\0';
		snprintf(
		    body, sizeof(body),
		    "{\"rules\":[{\"resource\":\"kv\",\"prefix\":\"%s\",\"access\":\"read\"}]}",
		    prefix);
		assert_int_equal(decode("POST", "/v1/tokens", body, &req, &err, NULL),
		                 extra ? HTTP_ERR_INVALID_ARGUMENT : HTTP_OK);
		if (!extra)
			http_request_free(&req);
	}
	/* HTTP_TOKEN_RULES_MAX rules, then one more. */
	for (int extra = 0; extra < 2; extra++) {
		len = (size_t)snprintf(body, sizeof(body), "{\"rules\":[");
		for (int i = 0; i < HTTP_TOKEN_RULES_MAX + extra; i++)
			len += (size_t)snprintf(
			    body + len, sizeof(body) - len,
			    "%s{\"resource\":\"kv\",\"prefix\":\"%d\",\"access\":\"read\"}",
			    i ? "," : "", i);
		snprintf(body + len, sizeof(body) - len, "]}");
		assert_int_equal(decode("POST", "/v1/tokens", body, &req, &err, NULL),
		                 extra ? HTTP_ERR_INVALID_ARGUMENT : HTTP_OK);
		if (!extra) {
			assert_int_equal(req.n_rules, HTTP_TOKEN_RULES_MAX);
			http_request_free(&req);
		}
	}

	assert_int_equal(decode("POST", "/v1/auth/bootstrap", NULL, &req, &err, NULL), HTTP_OK);
	assert_int_equal(req.op, HTTP_OP_AUTH_BOOTSTRAP);
	assert_int_equal(decode("POST", "/v1/auth/bootstrap", "{\"admin\":true}", &req, &err, NULL),
	                 HTTP_ERR_INVALID_ARGUMENT);
	assert_int_equal(decode("DELETE", "/v1/tokens/42", NULL, &req, &err, NULL), HTTP_OK);
	assert_int_equal(req.op, HTTP_OP_TOKEN_REVOKE);
	assert_int_equal(req.token_id, 42);
	assert_int_equal(decode("DELETE", "/v1/tokens/0", NULL, &req, &err, NULL),
	                 HTTP_ERR_NOT_FOUND);
	assert_int_equal(decode("DELETE", "/v1/tokens/9223372036854775808", NULL, &req, &err, NULL),
	                 HTTP_ERR_NOT_FOUND);
	assert_int_equal(decode("DELETE", "/v1/tokens/abc", NULL, &req, &err, NULL),
	                 HTTP_ERR_NOT_FOUND);
	assert_int_equal(decode("GET", "/v1/tokens?after=17&limit=5", NULL, &req, &err, NULL),
	                 HTTP_OK);
	assert_string_equal(req.after, "17");
	assert_int_equal(req.limit, 5);
	assert_int_equal(decode("GET", "/v1/tokens?after=x", NULL, &req, &err, NULL),
	                 HTTP_ERR_INVALID_ARGUMENT);
}

/* The Authorization header: only "Bearer" (any case), spaces and a
 * token68 of 1..HTTP_BEARER_MAX bytes with nothing after it is a secret. */
static void test_bearer(void **state)
{
	static const struct {
		const char *value;
		enum http_bearer form;
		const char *secret;
	} cases[] = {
	    {NULL, HTTP_BEARER_NONE, ""},
	    {"Bearer coord_0123abc", HTTP_BEARER_OK, "coord_0123abc"},
	    {"bearer  a.b-c_d~e+f/g==", HTTP_BEARER_OK, "a.b-c_d~e+f/g=="},
	    {"BEARER x", HTTP_BEARER_OK, "x"},
	    {"", HTTP_BEARER_MALFORMED, ""},
	    {"Bearer", HTTP_BEARER_MALFORMED, ""},
	    {"Bearer ", HTTP_BEARER_MALFORMED, ""},
	    {"Bearerx", HTTP_BEARER_MALFORMED, ""},
	    {"Basic dXNlcjpwYXNz", HTTP_BEARER_MALFORMED, ""},
	    {"Bearer a b", HTTP_BEARER_MALFORMED, ""},
	    {"Bearer a=b", HTTP_BEARER_MALFORMED, ""},
	    {"Bearer a\"", HTTP_BEARER_MALFORMED, ""},
	    {"Bearer \xc3\xa9", HTTP_BEARER_MALFORMED, ""},
	    {"Bearer\tx", HTTP_BEARER_MALFORMED, ""},
	};
	struct http_request req;
	char longest[HTTP_BEARER_MAX + 16];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&req, 0x5a, sizeof(req));
		http_request_bearer(&req, cases[i].value);
		assert_int_equal(req.bearer_form, cases[i].form);
		assert_string_equal(req.bearer, cases[i].secret);
		assert_int_equal(req.bearer_len, strlen(cases[i].secret));
	}
	for (int extra = 0; extra < 2; extra++) {
		memcpy(longest, "Bearer ", 7);
		memset(longest + 7, 'k', HTTP_BEARER_MAX + (size_t)extra);
		longest[7 + HTTP_BEARER_MAX + extra] = '\0';
		http_request_bearer(&req, longest);
		assert_int_equal(req.bearer_form, extra ? HTTP_BEARER_MALFORMED : HTTP_BEARER_OK);
		assert_int_equal(req.bearer_len, extra ? 0 : HTTP_BEARER_MAX);
	}
}

static void test_query(void **state)
{
	struct http_request req;
	struct http_err err;

	(void)state;
	assert_int_equal(decode("GET", "/v1/locks/a?index=42&wait=30s&consistency=stale&pretty",
	                        NULL, &req, &err, NULL),
	                 HTTP_OK);
	assert_true(req.has_index);
	assert_int_equal(req.index, 42);
	assert_int_equal(req.poll_wait_ms, 30000);
	assert_true(req.stale);
	assert_true(req.pretty);
	assert_int_equal(decode("GET", "/v1/locks?index=5", NULL, &req, &err, NULL), HTTP_OK);
	assert_int_equal(req.poll_wait_ms, HTTP_POLL_WAIT_DEFAULT_MS);
	assert_int_equal(decode("GET", "/v1/locks?prefix=jobs/", NULL, &req, &err, NULL), HTTP_OK);
	assert_string_equal(req.prefix, "jobs/");
	assert_int_equal(
	    decode("GET", "/v1/fence?lock=a/b&token=18446744073709551615", NULL, &req, &err, NULL),
	    HTTP_OK);
	assert_string_equal(req.name, "a/b");
	assert_true(req.token == UINT64_MAX);
	assert_int_equal(decode("POST", "/v1/sessions?redirect", NULL, &req, &err, NULL), HTTP_OK);
	assert_true(req.redirect);
}

/* Scenario: the listings without paging parameters, with ?limit= at both
 * ends of its range, with ?after= a lock name (with ?prefix=) or a session
 * id. Outcome: the first page is of HTTP_LIST_LIMIT_DEFAULT items; limit
 * and after reach the request as given (after as its text, "" when absent);
 * an operation that is not a listing has limit 0. */
static void test_listing_pages(void **state)
{
	static const struct {
		const char *target;
		enum http_op op;
		unsigned limit;
		const char *after;
	} cases[] = {
	    {"/v1/locks", HTTP_OP_LOCK_LIST, HTTP_LIST_LIMIT_DEFAULT, ""},
	    {"/v1/sessions", HTTP_OP_SESSION_LIST, HTTP_LIST_LIMIT_DEFAULT, ""},
	    {"/v1/locks?limit=1", HTTP_OP_LOCK_LIST, 1, ""},
	    {"/v1/locks?limit=10000", HTTP_OP_LOCK_LIST, HTTP_LIST_LIMIT_MAX, ""},
	    {"/v1/locks?limit=0010", HTTP_OP_LOCK_LIST, 10, ""},
	    {"/v1/locks?after=jobs/a:1&limit=2&prefix=jobs/", HTTP_OP_LOCK_LIST, 2, "jobs/a:1"},
	    {"/v1/locks?after=zzz", HTTP_OP_LOCK_LIST, HTTP_LIST_LIMIT_DEFAULT, "zzz"},
	    {"/v1/locks?after=" SID, HTTP_OP_LOCK_LIST, HTTP_LIST_LIMIT_DEFAULT, SID},
	    {"/v1/sessions?after=" SID "&limit=3", HTTP_OP_SESSION_LIST, 3, SID},
	    {"/v1/sessions?limit=5&limit=6", HTTP_OP_SESSION_LIST, 6, ""},
	    {"/v1/locks?index=4&wait=1s&limit=2&after=b&consistency=stale", HTTP_OP_LOCK_LIST, 2,
	     "b"},
	    {"/v1/locks/a", HTTP_OP_LOCK_GET, 0, ""},
	    {"/v1/sessions/" SID, HTTP_OP_SESSION_GET, 0, ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_request req;
		struct http_err err;

		if (decode("GET", cases[i].target, NULL, &req, &err, NULL) != HTTP_OK)
			fail_msg("GET %s: %s", cases[i].target, err.message);
		if (req.op != cases[i].op || req.limit != cases[i].limit ||
		    strcmp(req.after, cases[i].after) != 0)
			fail_msg("GET %s: %s limit %u after \"%s\"; want %s limit %u after \"%s\"",
			         cases[i].target, http_op_name(req.op), req.limit, req.after,
			         http_op_name(cases[i].op), cases[i].limit, cases[i].after);
		http_request_free(&req);
	}
}

/* Scenario: a listing with ?limit= 0, negative, past HTTP_LIST_LIMIT_MAX,
 * not a number, or empty; with ?after= that is not a name (locks) or not a
 * session id (sessions); with paging on a request that is not a listing.
 * Outcome: 400 invalid_argument with the sentence naming the parameter. */
static void test_listing_bad_pages(void **state)
{
	static const struct {
		const char *target, *message;
	} cases[] = {
	    {"/v1/locks?limit=0", "limit must be an integer from 1 to 10000"},
	    {"/v1/sessions?limit=0", "limit must be an integer from 1 to 10000"},
	    {"/v1/locks?limit=-1", "limit must be an integer from 1 to 10000"},
	    {"/v1/locks?limit=10001", "limit must be an integer from 1 to 10000"},
	    {"/v1/locks?limit=18446744073709551617", "limit must be an integer from 1 to 10000"},
	    {"/v1/locks?limit=ten", "limit must be an integer from 1 to 10000"},
	    {"/v1/locks?limit=1.5", "limit must be an integer from 1 to 10000"},
	    {"/v1/locks?limit=+5", "limit must be an integer from 1 to 10000"},
	    {"/v1/locks?limit=", "limit must be an integer from 1 to 10000"},
	    {"/v1/locks?limit", "limit must be an integer from 1 to 10000"},
	    {"/v1/locks?after=", "after: name is empty"},
	    {"/v1/locks?after", "after: name is empty"},
	    {"/v1/locks?after=a//b", "after: name may not contain //"},
	    {"/v1/locks?after=jobs/", "after: name may not start or end with /"},
	    {"/v1/locks?after=a%20b", "after: name may contain only A-Z a-z 0-9 . _ - : /"},
	    {"/v1/sessions?after=", "after must be a 32-digit lowercase hex session id"},
	    {"/v1/sessions?after=jobs/a", "after must be a 32-digit lowercase hex session id"},
	    {"/v1/sessions?after=0123456789ABCDEF0123456789abcdef",
	     "after must be a 32-digit lowercase hex session id"},
	    {"/v1/sessions?after=0123456789abcdef0123456789abcde",
	     "after must be a 32-digit lowercase hex session id"},
	    {"/v1/locks/a?limit=5", "unknown query parameter for this request: limit"},
	    {"/v1/sessions/" SID "?after=" SID, "unknown query parameter for this request: after"},
	    {"/v1/elections/e?limit=5", "unknown query parameter for this request: limit"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_request req;
		struct http_err err;
		enum http_error e = decode("GET", cases[i].target, NULL, &req, &err, NULL);

		if (e != HTTP_ERR_INVALID_ARGUMENT || strcmp(err.message, cases[i].message) != 0)
			fail_msg("GET %s: got %s (%s), want invalid_argument (%s)", cases[i].target,
			         http_error_code(e), err.message, cases[i].message);
	}
}

/* A request of a session may carry its number in the body ("seq") or in
 * X-Coord-Seq; a release may name its grant (?token= or "fencing_token"). */
static void test_seq_and_release_token(void **state)
{
	static const char *const numbered[][3] = {
	    {"PUT", "/v1/locks/a", "{\"session\":\"" SID "\",\"seq\":7}"},
	    {"DELETE", "/v1/locks/a", "{\"session\":\"" SID "\",\"seq\":7}"},
	    {"PUT", "/v1/elections/e", "{\"session\":\"" SID "\",\"seq\":7}"},
	    {"PATCH", "/v1/elections/e", "{\"session\":\"" SID "\",\"value\":\"v\",\"seq\":7}"},
	    {"DELETE", "/v1/elections/e", "{\"session\":\"" SID "\",\"seq\":7}"},
	    {"DELETE", "/v1/sessions/" SID, "{\"seq\":7}"},
	    {"POST", "/v1/sessions/" SID "/keepalive", "{\"seq\":7}"},
	};
	struct http_request req, again;
	struct http_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(numbered) / sizeof(numbered[0]); i++) {
		assert_int_equal(
		    decode(numbered[i][0], numbered[i][1], numbered[i][2], &req, &err, NULL),
		    HTTP_OK);
		assert_int_equal(req.seq, 7);
		/* The same number in the header too is fine; another is not. */
		assert_int_equal(http_request_seq_header(&req, "7", &err), HTTP_OK);
		assert_int_equal(http_request_seq_header(&req, "8", &err),
		                 HTTP_ERR_INVALID_ARGUMENT);
		assert_null(req.body); /* a failed request keeps nothing */
	}
	assert_int_equal(decode("PUT", "/v1/locks/a",
	                        "{\"session\":\"" SID "\",\"seq\":9007199254740991}", &req, &err,
	                        NULL),
	                 HTTP_OK);
	assert_int_equal(req.seq, HTTP_SEQ_MAX);
	http_request_free(&req);

	/* The header's number travels in the body a follower forwards. */
	assert_int_equal(decode("DELETE", "/v1/sessions/" SID, NULL, &req, &err, NULL), HTTP_OK);
	assert_int_equal(req.seq, 0);
	assert_int_equal(http_request_seq_header(&req, "9", &err), HTTP_OK);
	assert_int_equal(req.seq, 9);
	assert_int_equal(http_request_decode_target("DELETE", "/v1/sessions/" SID, req.body,
	                                            req.body_len, &again, &err),
	                 HTTP_OK);
	assert_int_equal(again.seq, 9);
	http_request_free(&again);
	http_request_free(&req);
	assert_int_equal(decode("PUT", "/v1/locks/a", "{\"session\":\"" SID "\",\"value\":\"x\"}",
	                        &req, &err, NULL),
	                 HTTP_OK);
	assert_int_equal(http_request_seq_header(&req, "12", &err), HTTP_OK);
	assert_int_equal(
	    http_request_decode_target("PUT", "/v1/locks/a", req.body, req.body_len, &again, &err),
	    HTTP_OK);
	assert_int_equal(again.seq, 12);
	assert_string_equal(again.value, "x");
	http_request_free(&again);
	http_request_free(&req);

	/* A header that is not a number 1..2^53-1, or on a request of no session. */
	static const char *const bad[] = {
	    "0", "-1", "abc", "", "1.5", "9007199254740992", "99999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(decode("DELETE", "/v1/sessions/" SID, NULL, &req, &err, NULL),
		                 HTTP_OK);
		assert_int_equal(http_request_seq_header(&req, bad[i], &err),
		                 HTTP_ERR_INVALID_ARGUMENT);
	}
	assert_int_equal(decode("GET", "/v1/status", NULL, &req, &err, NULL), HTTP_OK);
	assert_int_equal(http_request_seq_header(&req, "1", &err), HTTP_ERR_INVALID_ARGUMENT);
	assert_int_equal(decode("GET", "/v1/status", NULL, &req, &err, NULL), HTTP_OK);
	assert_int_equal(http_request_seq_header(&req, NULL, &err), HTTP_OK);

	/* The grant a release names, from the query or the body. */
	assert_int_equal(
	    decode("DELETE", "/v1/locks/a?session=" SID "&token=5", NULL, &req, &err, NULL),
	    HTTP_OK);
	assert_int_equal(req.token, 5);
	assert_int_equal(decode("DELETE", "/v1/elections/e?token=5",
	                        "{\"session\":\"" SID "\",\"fencing_token\":5}", &req, &err, NULL),
	                 HTTP_OK);
	assert_int_equal(req.token, 5);
	http_request_free(&req);
}

/* Keys (API.md, Key/value): a put with every field, a delete's cas from
 * the query or the body, a listing's page and a watch. Each decodes to the
 * fields the command is built from, and again from the body a follower
 * forwards. */
static void test_kv_fields(void **state)
{
	struct http_request req, again;
	struct http_err err;

	(void)state;
	assert_int_equal(decode("PUT", "/v1/kv/svc/db/primary",
	                        "{\"value\":\"10.0.0.5:5432\",\"cas\":42,\"session\":\"" SID
	                        "\",\"fence\":{\"lock\":\"db/primary\",\"token\":7}}",
	                        &req, &err, NULL),
	                 HTTP_OK);
	assert_int_equal(req.op, HTTP_OP_KV_PUT);
	assert_string_equal(req.name, "svc/db/primary");
	assert_true(req.has_value);
	assert_string_equal(req.value, "10.0.0.5:5432");
	assert_true(req.has_cas);
	assert_int_equal(req.cas, 42);
	assert_string_equal(req.session, SID);
	assert_string_equal(req.fence_lock, "db/primary");
	assert_int_equal(req.fence_token, 7);
	assert_int_equal(http_request_decode_target("PUT", "/v1/kv/svc/db/primary", req.body,
	                                            req.body_len, &again, &err),
	                 HTTP_OK);
	assert_true(again.has_cas && again.cas == 42 && again.fence_token == 7);
	assert_string_equal(again.fence_lock, "db/primary");
	assert_string_equal(again.session, SID);
	http_request_free(&again);
	http_request_free(&req);

	/* Only the value: no cas (cas 0 is a condition), no session, no fence. */
	assert_int_equal(decode("PUT", "/v1/kv/k", "{\"value\":\"\"}", &req, &err, NULL), HTTP_OK);
	assert_true(req.has_value && req.value_len == 0);
	assert_false(req.has_cas);
	assert_string_equal(req.session, "");
	assert_string_equal(req.fence_lock, "");
	http_request_free(&req);
	assert_int_equal(decode("PUT", "/v1/kv/k", "{\"value\":\"v\",\"cas\":0}", &req, &err, NULL),
	                 HTTP_OK);
	assert_true(req.has_cas && req.cas == 0);
	http_request_free(&req);
	assert_int_equal(decode("PUT", "/v1/kv/k", "{\"value\":\"v\",\"cas\":9223372036854775807}",
	                        &req, &err, NULL),
	                 HTTP_OK);
	assert_true(req.cas == HTTP_TOKEN_MAX);
	http_request_free(&req);

	/* A delete's cas: from the query, the body, or both alike. */
	assert_int_equal(decode("DELETE", "/v1/kv/k?cas=9", NULL, &req, &err, NULL), HTTP_OK);
	assert_int_equal(req.op, HTTP_OP_KV_DELETE);
	assert_true(req.has_cas && req.cas == 9);
	assert_int_equal(decode("DELETE", "/v1/kv/k?cas=0", NULL, &req, &err, NULL), HTTP_OK);
	assert_true(req.has_cas && req.cas == 0);
	assert_int_equal(decode("DELETE", "/v1/kv/k", "{\"cas\":9}", &req, &err, NULL), HTTP_OK);
	assert_true(req.has_cas && req.cas == 9);
	http_request_free(&req);
	assert_int_equal(decode("DELETE", "/v1/kv/k?cas=9",
	                        "{\"cas\":9,\"fence\":{\"token\":3,\"lock\":\"L\"}}", &req, &err,
	                        NULL),
	                 HTTP_OK);
	assert_true(req.has_cas && req.cas == 9);
	assert_string_equal(req.fence_lock, "L");
	assert_int_equal(req.fence_token, 3);
	http_request_free(&req);
	assert_int_equal(decode("DELETE", "/v1/kv/k", NULL, &req, &err, NULL), HTTP_OK);
	assert_false(req.has_cas);

	/* The listing's page, and a watch. */
	assert_int_equal(decode("GET", "/v1/kv?prefix=svc/&after=svc/a&limit=2&consistency=stale",
	                        NULL, &req, &err, NULL),
	                 HTTP_OK);
	assert_int_equal(req.op, HTTP_OP_KV_LIST);
	assert_string_equal(req.prefix, "svc/");
	assert_string_equal(req.after, "svc/a");
	assert_int_equal(req.limit, 2);
	assert_true(req.stale);
	assert_false(req.has_index);
	assert_int_equal(decode("GET", "/v1/kv", NULL, &req, &err, NULL), HTTP_OK);
	assert_int_equal(req.limit, HTTP_LIST_LIMIT_DEFAULT);
	assert_string_equal(req.prefix, "");
	assert_int_equal(
	    decode("GET", "/v1/kv?prefix=svc/&index=17&wait=30s", NULL, &req, &err, NULL), HTTP_OK);
	assert_true(req.has_index && req.index == 17);
	assert_int_equal(req.poll_wait_ms, 30000);
	assert_int_equal(decode("GET", "/v1/kv/svc/a?index=0", NULL, &req, &err, NULL), HTTP_OK);
	assert_true(req.has_index && req.index == 0);
	assert_int_equal(req.poll_wait_ms, HTTP_POLL_WAIT_DEFAULT_MS);
}

/* Scenario: a key request with a bad key, value, cas, fence, session, or
 * query. Outcome: 400 with exactly the sentence naming what is wrong, and
 * nothing kept from the request. */
static void test_kv_refusals(void **state)
{
	static char long_key[300], key_255[300], long_value[HTTP_VALUE_MAX + 64],
	    value_64k[HTTP_VALUE_MAX + 64];
	static const char cas_range[] = "cas must be an integer from 0 to 9223372036854775807";
	static const char fence_shape[] = "fence must be an object {\"lock\": NAME, \"token\": N}";
	static const char fence_token[] =
	    "fence.token must be an integer from 1 to 9223372036854775807";
	static const char watch_paging[] =
	    "a watch (?index=) takes no limit or after: it answers every change since the index";
	const struct {
		const char *method, *target, *body;
		enum http_error code;
		const char *message;
	} cases[] = {
	    /* the key */
	    {"PUT", "/v1/kv/a*b", "{\"value\":\"v\"}", HTTP_ERR_INVALID_ARGUMENT,
	     "name may contain only A-Z a-z 0-9 . _ - : /"},
	    {"GET", "/v1/kv/a b", NULL, HTTP_ERR_INVALID_ARGUMENT,
	     "name may contain only A-Z a-z 0-9 . _ - : /"},
	    {"PUT", "/v1/kv//a", "{\"value\":\"v\"}", HTTP_ERR_INVALID_ARGUMENT,
	     "name may not start or end with /"},
	    {"DELETE", "/v1/kv/a/", NULL, HTTP_ERR_INVALID_ARGUMENT,
	     "name may not start or end with /"},
	    {"GET", "/v1/kv/a//b", NULL, HTTP_ERR_INVALID_ARGUMENT, "name may not contain //"},
	    {"PUT", long_key, "{\"value\":\"v\"}", HTTP_ERR_INVALID_ARGUMENT,
	     "name is longer than 255 bytes"},
	    /* the value */
	    {"PUT", "/v1/kv/k", "{}", HTTP_ERR_INVALID_ARGUMENT, "missing field: value"},
	    {"PUT", "/v1/kv/k", "{\"cas\":0}", HTTP_ERR_INVALID_ARGUMENT, "missing field: value"},
	    {"PUT", "/v1/kv/k", NULL, HTTP_ERR_INVALID_ARGUMENT, "the body must be a JSON object"},
	    {"PUT", "/v1/kv/k", "{\"value\":7}", HTTP_ERR_INVALID_ARGUMENT,
	     "value must be a string"},
	    {"PUT", "/v1/kv/k", "{\"value\":null}", HTTP_ERR_INVALID_ARGUMENT,
	     "value must be a string"},
	    {"PUT", "/v1/kv/k", long_value, HTTP_ERR_INVALID_ARGUMENT,
	     "value is longer than 65536 bytes"},
	    /* cas */
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"cas\":\"5\"}", HTTP_ERR_INVALID_ARGUMENT,
	     cas_range},
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"cas\":1.5}", HTTP_ERR_INVALID_ARGUMENT,
	     cas_range},
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"cas\":1e3}", HTTP_ERR_INVALID_ARGUMENT,
	     cas_range},
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"cas\":-1}", HTTP_ERR_INVALID_ARGUMENT,
	     cas_range},
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"cas\":null}", HTTP_ERR_INVALID_ARGUMENT,
	     cas_range},
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"cas\":true}", HTTP_ERR_INVALID_ARGUMENT,
	     cas_range},
	    {"DELETE", "/v1/kv/k?cas=x", NULL, HTTP_ERR_INVALID_ARGUMENT, cas_range},
	    {"DELETE", "/v1/kv/k?cas=-1", NULL, HTTP_ERR_INVALID_ARGUMENT, cas_range},
	    {"DELETE", "/v1/kv/k?cas=", NULL, HTTP_ERR_INVALID_ARGUMENT, cas_range},
	    {"DELETE", "/v1/kv/k?cas=9223372036854775808", NULL, HTTP_ERR_INVALID_ARGUMENT,
	     cas_range},
	    {"DELETE", "/v1/kv/k?cas=18446744073709551616", NULL, HTTP_ERR_INVALID_ARGUMENT,
	     cas_range},
	    {"DELETE", "/v1/kv/k?cas=5", "{\"cas\":6}", HTTP_ERR_INVALID_ARGUMENT,
	     "cas and ?cas= differ"},
	    {"DELETE", "/v1/kv/k?cas=0", "{\"cas\":5}", HTTP_ERR_INVALID_ARGUMENT,
	     "cas and ?cas= differ"},
	    {"PUT", "/v1/kv/k?cas=5", "{\"value\":\"v\"}", HTTP_ERR_INVALID_ARGUMENT,
	     "unknown query parameter for this request: cas"},
	    /* fence */
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"fence\":5}", HTTP_ERR_INVALID_ARGUMENT,
	     fence_shape},
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"fence\":\"L\"}", HTTP_ERR_INVALID_ARGUMENT,
	     fence_shape},
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"fence\":[\"L\",1]}", HTTP_ERR_INVALID_ARGUMENT,
	     fence_shape},
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"fence\":{}}", HTTP_ERR_INVALID_ARGUMENT,
	     fence_shape},
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"fence\":{\"lock\":\"L\"}}",
	     HTTP_ERR_INVALID_ARGUMENT, fence_shape},
	    {"DELETE", "/v1/kv/k", "{\"fence\":{\"token\":1}}", HTTP_ERR_INVALID_ARGUMENT,
	     fence_shape},
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"fence\":{\"lock\":\"L\",\"tok\":1}}",
	     HTTP_ERR_INVALID_ARGUMENT, fence_shape},
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"fence\":{\"lock\":\"L\",\"token\":1,\"x\":1}}",
	     HTTP_ERR_INVALID_ARGUMENT, fence_shape},
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"fence\":{\"lock\":5,\"token\":1}}",
	     HTTP_ERR_INVALID_ARGUMENT, fence_shape},
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"fence\":{\"lock\":\"a//b\",\"token\":1}}",
	     HTTP_ERR_INVALID_ARGUMENT, "fence.lock: name may not contain //"},
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"fence\":{\"lock\":\"\",\"token\":1}}",
	     HTTP_ERR_INVALID_ARGUMENT, "fence.lock: name is empty"},
	    {"DELETE", "/v1/kv/k", "{\"fence\":{\"lock\":\"/L\",\"token\":1}}",
	     HTTP_ERR_INVALID_ARGUMENT, "fence.lock: name may not start or end with /"},
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"fence\":{\"lock\":\"L\",\"token\":0}}",
	     HTTP_ERR_INVALID_ARGUMENT, fence_token},
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"fence\":{\"lock\":\"L\",\"token\":\"7\"}}",
	     HTTP_ERR_INVALID_ARGUMENT, fence_token},
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"fence\":{\"lock\":\"L\",\"token\":-7}}",
	     HTTP_ERR_INVALID_ARGUMENT, fence_token},
	    /* session, and fields a request does not take */
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"session\":\"xyz\"}", HTTP_ERR_INVALID_ARGUMENT,
	     "session must be a 32-digit lowercase hex id"},
	    {"DELETE", "/v1/kv/k", "{\"session\":\"" SID "\"}", HTTP_ERR_INVALID_ARGUMENT,
	     "unknown field for this request: session"},
	    {"DELETE", "/v1/kv/k", "{\"value\":\"v\"}", HTTP_ERR_INVALID_ARGUMENT,
	     "unknown field for this request: value"},
	    {"PUT", "/v1/kv/k", "{\"value\":\"v\",\"ttl_ms\":1000}", HTTP_ERR_INVALID_ARGUMENT,
	     "unknown field for this request: ttl_ms"},
	    /* the query: a watch takes no page; an index is a number */
	    {"GET", "/v1/kv?prefix=a/&index=5&limit=10", NULL, HTTP_ERR_INVALID_ARGUMENT,
	     watch_paging},
	    {"GET", "/v1/kv?limit=10&index=5", NULL, HTTP_ERR_INVALID_ARGUMENT, watch_paging},
	    {"GET", "/v1/kv?index=5&after=a/b", NULL, HTTP_ERR_INVALID_ARGUMENT, watch_paging},
	    {"GET", "/v1/kv?after=a/b&index=0&wait=1s", NULL, HTTP_ERR_INVALID_ARGUMENT,
	     watch_paging},
	    {"GET", "/v1/kv?prefix=a/&index=abc", NULL, HTTP_ERR_INVALID_ARGUMENT,
	     "index must be a non-negative integer"},
	    {"GET", "/v1/kv?index=-1", NULL, HTTP_ERR_INVALID_ARGUMENT,
	     "index must be a non-negative integer"},
	    {"GET", "/v1/kv/k?index=1.5", NULL, HTTP_ERR_INVALID_ARGUMENT,
	     "index must be a non-negative integer"},
	    {"GET", "/v1/kv/k?index=", NULL, HTTP_ERR_INVALID_ARGUMENT,
	     "index must be a non-negative integer"},
	    {"GET", "/v1/kv/k?limit=5", NULL, HTTP_ERR_INVALID_ARGUMENT,
	     "unknown query parameter for this request: limit"},
	    {"GET", "/v1/kv?limit=0", NULL, HTTP_ERR_INVALID_ARGUMENT,
	     "limit must be an integer from 1 to 10000"},
	    {"GET", "/v1/kv?after=a//b", NULL, HTTP_ERR_INVALID_ARGUMENT,
	     "after: name may not contain //"},
	    {"GET", "/v1/kv?prefix=a*", NULL, HTTP_ERR_INVALID_ARGUMENT,
	     "prefix may contain only A-Z a-z 0-9 . _ - : /"},
	    {"GET", "/v1/kv?cas=1", NULL, HTTP_ERR_INVALID_ARGUMENT,
	     "unknown query parameter for this request: cas"},
	    {"POST", "/v1/kv/k", NULL, HTTP_ERR_METHOD_NOT_ALLOWED,
	     "POST is not allowed here; allowed: GET, PUT, DELETE"},
	};
	struct http_request req;
	struct http_err err;

	(void)state;
	strcpy(long_key, "/v1/kv/");
	memset(long_key + strlen(long_key), 'k', HTTP_NAME_MAX + 1);
	strcpy(key_255, "/v1/kv/");
	memset(key_255 + strlen(key_255), 'k', HTTP_NAME_MAX);
	snprintf(long_value, sizeof(long_value), "{\"value\":\"");
	memset(long_value + strlen(long_value), 'v', HTTP_VALUE_MAX + 1);
	strcat(long_value, "\"}");
	snprintf(value_64k, sizeof(value_64k), "{\"value\":\"");
	memset(value_64k + strlen(value_64k), 'v', HTTP_VALUE_MAX);
	strcat(value_64k, "\"}");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum http_error e =
		    decode(cases[i].method, cases[i].target, cases[i].body, &req, &err, NULL);

		if (e != cases[i].code || strcmp(err.message, cases[i].message) != 0)
			fail_msg("case %zu (%s %.60s %.60s): got %s (%s), want %s (%s)", i,
			         cases[i].method, cases[i].target,
			         cases[i].body ? cases[i].body : "", http_error_code(e),
			         err.message, http_error_code(cases[i].code), cases[i].message);
		assert_int_equal(http_error_status(e),
		                 cases[i].code == HTTP_ERR_INVALID_ARGUMENT ? 400 : 405);
		/* A refused request keeps nothing. */
		assert_null(req.value);
		assert_null(req.body);
	}

	/* At the limits: a key of 255 bytes, a value of 64 KiB. */
	assert_int_equal(decode("PUT", key_255, value_64k, &req, &err, NULL), HTTP_OK);
	assert_int_equal(strlen(req.name), HTTP_NAME_MAX);
	assert_int_equal(req.value_len, HTTP_VALUE_MAX);
	http_request_free(&req);
	/* A cas past 2^63 - 1 is not a JSON integer jansson holds: the body is
	 * refused as invalid JSON, still a 400 that changes nothing. */
	assert_int_equal(decode("PUT", "/v1/kv/k", "{\"value\":\"v\",\"cas\":9223372036854775808}",
	                        &req, &err, NULL),
	                 HTTP_ERR_INVALID_JSON);
	assert_int_equal(http_error_status(HTTP_ERR_INVALID_JSON), 400);
	assert_null(req.value);
}

/* POST /v1/txn: each check and operation reaches its field, in order; an
 * ephemeral put's session becomes the request's. Every malformed
 * transaction is 400 with its sentence and keeps nothing. */
static void test_txn_fields_and_refusals(void **state)
{
	static char big[2 * HTTP_VALUE_MAX];
	const struct {
		const char *body, *message;
	} bad[] = {
	    {"{}", "missing field: ops"},
	    {"{\"ops\":[]}", "ops must be an array of 1 to 64 operations"},
	    {"{\"ops\":{}}", "ops must be an array of 1 to 64 operations"},
	    {"{\"ops\":[{\"put\":\"k\"}]}", "ops[0] must be {\"put\": KEY, \"value\": TEXT[, "
	                                    "\"session\": a 32-digit lowercase hex "
	                                    "id]} or {\"delete\": KEY}"},
	    {"{\"ops\":[{\"delete\":\"k\",\"value\":\"v\"}]}",
	     "ops[0] must be {\"put\": KEY, \"value\": TEXT[, \"session\": a 32-digit lowercase "
	     "hex "
	     "id]} or {\"delete\": KEY}"},
	    {"{\"ops\":[{\"put\":\"k\",\"value\":\"v\"},{\"delete\":\"k\"}]}",
	     "ops[0] and ops[1] name the same key"},
	    {"{\"ops\":[{\"delete\":\"a//b\"}]}", "ops[0].delete: name may not contain //"},
	    {"{\"ops\":[{\"put\":\"a\",\"value\":\"v\",\"session\":\"" SID "\"},"
	     "{\"put\":\"b\",\"value\":\"v\",\"session\":\"fedcba9876543210fedcba9876543210\"}]}",
	     "ops[1]: the ephemeral puts of a transaction name one session"},
	    {"{\"checks\":[{\"key\":\"k\"}],\"ops\":[{\"delete\":\"k\"}]}",
	     "checks[0] must be {\"key\", \"modify_index\"}, {\"lock\", \"token\"} or "
	     "{\"session\": a "
	     "32-digit lowercase hex id}"},
	    {"{\"checks\":[{\"lock\":\"L\",\"token\":0}],\"ops\":[{\"delete\":\"k\"}]}",
	     "checks[0].token must be an integer from 1 to 9223372036854775807"},
	    {"{\"checks\":[{\"key\":\"k\",\"modify_index\":-1}],\"ops\":[{\"delete\":\"k\"}]}",
	     "checks[0].modify_index must be an integer from 0 to 9223372036854775807"},
	    {"{\"checks\":{},\"ops\":[{\"delete\":\"k\"}]}",
	     "checks must be an array of at most 64 checks"},
	    {"{\"session\":\"" SID "\",\"ops\":[{\"delete\":\"k\"}]}",
	     "unknown field for this request: session"},
	    {big, "the values of a transaction are over 65536 bytes together"},
	};
	struct http_request req;
	struct http_err err;
	size_t len;

	(void)state;
	assert_int_equal(
	    decode("POST", "/v1/txn",
	           "{\"checks\":[{\"key\":\"a\",\"modify_index\":0},{\"lock\":\"L\",\"token\":7},"
	           "{\"session\":\"" SID
	           "\"}],\"ops\":[{\"put\":\"a\",\"value\":\"1\",\"session\":\"" SID
	           "\"},{\"delete\":\"b\"}]}",
	           &req, &err, NULL),
	    HTTP_OK);
	assert_int_equal(req.op, HTTP_OP_KV_TXN);
	assert_int_equal(req.n_checks, 3);
	assert_int_equal(req.checks[0].kind, HTTP_TXN_KEY);
	assert_string_equal(req.checks[0].name, "a");
	assert_int_equal(req.checks[1].kind, HTTP_TXN_LOCK);
	assert_int_equal(req.checks[1].n, 7);
	assert_int_equal(req.checks[2].kind, HTTP_TXN_SESSION);
	assert_string_equal(req.checks[2].session, SID);
	assert_int_equal(req.n_ops, 2);
	assert_true(req.ops[0].ephemeral);
	assert_string_equal(req.ops[0].value, "1");
	assert_true(req.ops[1].del);
	assert_string_equal(req.ops[1].key, "b");
	assert_string_equal(req.session, SID);
	http_request_free(&req);
	assert_null(req.ops);

	/* Two values of 32 KiB + 1 byte: one byte over the sum. */
	len = (size_t)snprintf(big, sizeof(big), "{\"ops\":[{\"put\":\"a\",\"value\":\"");
	memset(big + len, 'v', HTTP_VALUE_MAX / 2 + 1);
	len += HTTP_VALUE_MAX / 2 + 1;
	len += (size_t)snprintf(big + len, sizeof(big) - len, "\"},{\"put\":\"b\",\"value\":\"");
	memset(big + len, 'v', HTTP_VALUE_MAX / 2);
	len += HTTP_VALUE_MAX / 2;
	snprintf(big + len, sizeof(big) - len, "\"}]}");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum http_error e = decode("POST", "/v1/txn", bad[i].body, &req, &err, NULL);

		if (e != HTTP_ERR_INVALID_ARGUMENT || strcmp(err.message, bad[i].message) != 0)
			fail_msg("case %zu: got %s (%s), want invalid_argument (%s)", i,
			         http_error_code(e), err.message, bad[i].message);
		assert_null(req.ops);
		assert_null(req.checks);
		assert_null(req.body);
	}
}

/* Every malformed request gets exactly its status and code. */
static void test_error_table(void **state)
{
	static char big_name[400], deep[200], long_value[HTTP_VALUE_MAX + 64];
	struct {
		const char *method, *target, *body;
		unsigned status;
		const char *code;
	} cases[] = {
	    {"PUT", "/v1/locks/a", "{\"session\":", 400, "invalid_json"},
	    {"PUT", "/v1/locks/a", "[1,2]", 400, "invalid_json"},
	    {"PUT", "/v1/locks/a", "\"str\"", 400, "invalid_json"},
	    {"PUT", "/v1/locks/a", "{\"session\":\"" SID "\",\"session\":\"" SID "\"}", 400,
	     "invalid_json"},
	    {"PUT", "/v1/locks/a", "{\"session\":5}", 400, "invalid_argument"},
	    {"PUT", "/v1/locks/a", "{\"session\":\"nope\"}", 400, "invalid_argument"},
	    {"PUT", "/v1/locks/a", "{}", 400, "invalid_argument"},
	    {"PUT", "/v1/locks/a", NULL, 400, "invalid_argument"},
	    {"PUT", "/v1/locks/a", "{\"session\":\"" SID "\",\"colour\":1}", 400,
	     "invalid_argument"},
	    {"PUT", "/v1/locks/a", "{\"session\":\"" SID "\",\"mode\":\"both\"}", 400,
	     "invalid_argument"},
	    {"PUT", "/v1/locks/a", "{\"session\":\"" SID "\",\"wait_ms\":-1}", 400,
	     "invalid_argument"},
	    {"PUT", "/v1/locks/a", "{\"session\":\"" SID "\",\"wait_ms\":1.5}", 400,
	     "invalid_argument"},
	    {"PUT", "/v1/locks/a", "{\"session\":\"" SID "\",\"wait_ms\":99999999999999}", 400,
	     "invalid_argument"},
	    {"PUT", "/v1/locks/a", "{\"session\":\"" SID "\",\"wait_ms\":1e400}", 400,
	     "invalid_json"},
	    {"PUT", "/v1/locks/a", "{\"session\":\"" SID "\",\"value\":7}", 400,
	     "invalid_argument"},
	    {"PUT", "/v1/locks/a", long_value, 400, "invalid_argument"},
	    {"PUT", "/v1/locks/a//b", "{\"session\":\"" SID "\"}", 400, "invalid_argument"},
	    {"PUT", "/v1/locks//a", "{\"session\":\"" SID "\"}", 400, "invalid_argument"},
	    {"PUT", "/v1/locks/a/", "{\"session\":\"" SID "\"}", 400, "invalid_argument"},
	    {"PUT", "/v1/locks/a\x01", "{\"session\":\"" SID "\"}", 400, "invalid_argument"},
	    {"PUT", big_name, "{\"session\":\"" SID "\"}", 400, "invalid_argument"},
	    {"PUT", "/v1/locks/a", deep, 400, "invalid_json"},
	    {"POST", "/v1/sessions", "{\"ttl_ms\":999}", 400, "invalid_argument"},
	    {"POST", "/v1/sessions", "{\"ttl_ms\":3600001}", 400, "invalid_argument"},
	    {"POST", "/v1/sessions", "{\"ttl_ms\":\"10s\"}", 400, "invalid_argument"},
	    {"POST", "/v1/sessions", "{\"lock_delay_ms\":60001}", 400, "invalid_argument"},
	    {"POST", "/v1/sessions", "{\"name\":\"a\\nb\"}", 400, "invalid_argument"},
	    {"POST", "/v1/sessions", "{\"ttl_ms\":null}", 400, "invalid_argument"},
	    {"POST", "/v1/sessions", "{\"ttl_ms\":true}", 400, "invalid_argument"},
	    {"PATCH", "/v1/elections/e", "{\"session\":\"" SID "\"}", 400, "invalid_argument"},
	    {"DELETE", "/v1/locks/a", NULL, 400, "invalid_argument"},
	    /* seq: an integer 1..2^53-1, on a request of a session only */
	    {"PUT", "/v1/locks/a", "{\"session\":\"" SID "\",\"seq\":\"5\"}", 400,
	     "invalid_argument"},
	    {"PUT", "/v1/locks/a", "{\"session\":\"" SID "\",\"seq\":-1}", 400, "invalid_argument"},
	    {"PUT", "/v1/locks/a", "{\"session\":\"" SID "\",\"seq\":0}", 400, "invalid_argument"},
	    {"PUT", "/v1/locks/a", "{\"session\":\"" SID "\",\"seq\":1.5}", 400,
	     "invalid_argument"},
	    {"PUT", "/v1/locks/a", "{\"session\":\"" SID "\",\"seq\":1e3}", 400,
	     "invalid_argument"},
	    {"PUT", "/v1/locks/a", "{\"session\":\"" SID "\",\"seq\":9007199254740992}", 400,
	     "invalid_argument"},
	    {"PUT", "/v1/locks/a", "{\"session\":\"" SID "\",\"seq\":true}", 400,
	     "invalid_argument"},
	    {"PUT", "/v1/locks/a", "{\"session\":\"" SID "\",\"seq\":null}", 400,
	     "invalid_argument"},
	    {"POST", "/v1/sessions", "{\"seq\":1}", 400, "invalid_argument"},
	    /* a release's grant: a fencing token, 1.., the same in query and body */
	    {"DELETE", "/v1/locks/a?session=" SID "&token=0", NULL, 400, "invalid_argument"},
	    {"DELETE", "/v1/locks/a?session=" SID "&token=9223372036854775808", NULL, 400,
	     "invalid_argument"},
	    {"DELETE", "/v1/locks/a?token=5", "{\"session\":\"" SID "\",\"fencing_token\":6}", 400,
	     "invalid_argument"},
	    {"DELETE", "/v1/locks/a", "{\"session\":\"" SID "\",\"fencing_token\":\"5\"}", 400,
	     "invalid_argument"},
	    {"DELETE", "/v1/elections/e", "{\"session\":\"" SID "\",\"fencing_token\":0}", 400,
	     "invalid_argument"},
	    {"PUT", "/v1/locks/a", "{\"session\":\"" SID "\",\"fencing_token\":5}", 400,
	     "invalid_argument"},
	    {"GET", "/v1/locks/a?consistency=eventual", NULL, 400, "invalid_argument"},
	    {"GET", "/v1/locks/a?wait=5x", NULL, 400, "invalid_argument"},
	    {"GET", "/v1/locks/a?wait=11m", NULL, 400, "invalid_argument"},
	    {"GET", "/v1/locks/a?index=-1", NULL, 400, "invalid_argument"},
	    {"GET", "/v1/locks/a?frobnicate=1", NULL, 400, "invalid_argument"},
	    {"GET", "/v1/fence?lock=a", NULL, 400, "invalid_argument"},
	    {"GET", "/v1/fence?token=1", NULL, 400, "invalid_argument"},
	    {"GET", "/v1/fence?lock=a&token=x", NULL, 400, "invalid_argument"},
	    {"GET", "/v1/nothing", NULL, 404, "not_found"},
	    {"GET", "/", NULL, 404, "not_found"},
	    {"GET", "/v1/sessions/xyz", NULL, 404, "session_not_found"},
	    {"GET", "/v1/sessions/", NULL, 404, "session_not_found"},
	    {"POST", "/v1/sessions/", NULL, 405, "method_not_allowed"},
	    {"POST", "/v1/sessions//keepalive", NULL, 404, "not_found"},
	    {"POST", "/v1/sessions/xyz/keepalive", NULL, 404, "session_not_found"},
	    {"POST", "/v1/locks/a", NULL, 405, "method_not_allowed"},
	    {"DELETE", "/v1/sessions", NULL, 405, "method_not_allowed"},
	    {"BREW", "/v1/status", NULL, 405, "method_not_allowed"},
	};

	(void)state;
	strcpy(big_name, "/v1/locks/");
	memset(big_name + 10, 'n', 300);
	for (int i = 0; i < 40; i++)
		deep[i] = '[';
	snprintf(long_value, sizeof(long_value), "{\"session\":\"" SID "\",\"value\":\"");
	memset(long_value + strlen(long_value), 'v', HTTP_VALUE_MAX + 1);
	strcat(long_value, "\"}");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_request req;
		struct http_err err;
		const char *allow = NULL;
		enum http_error e =
		    decode(cases[i].method, cases[i].target, cases[i].body, &req, &err, &allow);

		if (http_error_status(e) != cases[i].status ||
		    strcmp(http_error_code(e), cases[i].code) != 0)
			fail_msg("case %zu (%s %.40s): got %u %s (%s), want %u %s", i,
			         cases[i].method, cases[i].target, http_error_status(e),
			         http_error_code(e), err.message, cases[i].status, cases[i].code);
		assert_true(err.message[0] != '\0');
		assert_null(req.value); /* nothing is kept from a refused request */
		if (e == HTTP_ERR_METHOD_NOT_ALLOWED)
			assert_non_null(allow);
	}
}

static void test_too_large(void **state)
{
	struct http_request req;
	struct http_err err;
	size_t len = HTTP_BODY_MAX + 1;
	char *body = malloc(len);

	(void)state;
	assert_non_null(body);
	memset(body, ' ', len);
	assert_int_equal(http_request_decode("PUT", "/v1/locks/a", NULL, 0, body, len, &req, &err),
	                 HTTP_ERR_TOO_LARGE);
	assert_int_equal(http_error_status(HTTP_ERR_TOO_LARGE), 413);
	free(body);
}

/* A NUL byte anywhere in a body is invalid JSON, also where the parser
 * would stop at it and accept the object before it (the fuzzer's find: the
 * body kept for forwarding was cut at the NUL but kept its full length). */
static void test_a_nul_byte_in_the_body_is_invalid_json(void **state)
{
	static const char body[] = "{\"name\":\"a\",\"rules\":[],\"admin\":false\0}";
	static const char tail[] = "{\"ttl_ms\":10000}\0   ";
	struct http_request req;
	struct http_err err;

	(void)state;
	assert_int_equal(
	    http_request_decode("POST", "/v1/tokens", NULL, 0, body, sizeof(body) - 1, &req, &err),
	    HTTP_ERR_INVALID_JSON);
	assert_int_equal(http_request_decode("POST", "/v1/sessions", NULL, 0, tail,
	                                     sizeof(tail) - 1, &req, &err),
	                 HTTP_ERR_INVALID_JSON);
	assert_int_equal(http_error_status(HTTP_ERR_INVALID_JSON), 400);
}

static void test_error_json_shape(void **state)
{
	struct http_err err;
	json_t *j;

	(void)state;
	http_err_set(&err, HTTP_ERR_LOCK_DELAY, "lock %s is in its lock-delay", "a");
	j = http_error_json(&err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "error")), "lock_delay");
	assert_string_equal(json_string_value(json_object_get(j, "message")),
	                    "lock a is in its lock-delay");
	assert_int_equal(http_error_status(err.code), 423);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_routes),
	    cmocka_unit_test(test_acquire_fields),
	    cmocka_unit_test(test_session_defaults_and_fields),
	    cmocka_unit_test(test_token_fields),
	    cmocka_unit_test(test_bearer),
	    cmocka_unit_test(test_query),
	    cmocka_unit_test(test_listing_pages),
	    cmocka_unit_test(test_listing_bad_pages),
	    cmocka_unit_test(test_seq_and_release_token),
	    cmocka_unit_test(test_kv_fields),
	    cmocka_unit_test(test_kv_refusals),
	    cmocka_unit_test(test_txn_fields_and_refusals),
	    cmocka_unit_test(test_error_table),
	    cmocka_unit_test(test_too_large),
	    cmocka_unit_test(test_a_nul_byte_in_the_body_is_invalid_json),
	    cmocka_unit_test(test_error_json_shape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
