/* Forwarding targets (http/request.h): a follower writes the client's path
 * and query as one target with http_target_encode(), and the leader decodes
 * it with http_request_decode_target(). The two must agree exactly: what the
 * leader decodes is what http_request_decode() made of the same pieces, every
 * byte of a key or value survives, and a malformed target from a peer is
 * refused cleanly (docs/DESIGN.md, rule 11). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "request.h"

#define SID "0123456789abcdef0123456789abcdef"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The stable code of E, and "ok" for HTTP_OK (whose code is ""). */
static const char *code_name(enum http_error e)
{
	return e == HTTP_OK ? "ok" : http_error_code(e);
}

/* Up to 8 query parameters, ended by a NULL key. */
#define QMAX 8

struct pieces {
	const char *method, *path;
	struct http_query q[QMAX + 1];
	const char *body;
	enum http_error want; /* what both decoders must return */
};

static size_t count(const struct http_query *q)
{
	size_t n = 0;

	while (n < QMAX && q[n].key)
		n++;
	return n;
}

/* http_target_encode() into the caller's BUF, so that a failing assertion
 * leaks nothing. */
static const char *encode(const char *path, const struct http_query *q, size_t n, char *buf,
                          size_t cap)
{
	char *t = http_target_encode(path, q, n);
	size_t len;

	assert_non_null(t);
	len = strlen(t);
	if (len < cap)
		memcpy(buf, t, len + 1);
	free(t);
	if (len >= cap)
		fail_msg("a target of %zu bytes", len);
	return buf;
}

/* Compares every field of struct http_request. Returns true when A and B
 * are the same; else writes the first field that differs into WHY. */
static bool same_request(const struct http_request *a, const struct http_request *b, char *why,
                         size_t cap)
{
#define SAME(f)                                                                                    \
	do {                                                                                       \
		if (a->f != b->f) {                                                                \
			snprintf(why, cap, #f " differs: %llu vs %llu", (unsigned long long)a->f,  \
			         (unsigned long long)b->f);                                        \
			return false;                                                              \
		}                                                                                  \
	} while (0)
#define SAME_BYTES(f)                                                                              \
	do {                                                                                       \
		if (memcmp(a->f, b->f, sizeof(a->f)) != 0) {                                       \
			snprintf(why, cap, #f " differs: \"%s\" vs \"%s\"", a->f, b->f);           \
			return false;                                                              \
		}                                                                                  \
	} while (0)
	SAME(op);
	SAME_BYTES(name);
	SAME_BYTES(session);
	SAME_BYTES(label);
	SAME(ttl_ms);
	SAME(lock_delay_ms);
	SAME(wait_ms);
	SAME(shared);
	SAME(has_value);
	SAME(value_len);
	if ((a->value == NULL) != (b->value == NULL) ||
	    (a->value && memcmp(a->value, b->value, a->value_len + 1) != 0)) {
		snprintf(why, cap, "value differs");
		return false;
	}
	SAME(stale);
	SAME(redirect);
	SAME(pretty);
	SAME(has_index);
	SAME(index);
	SAME(poll_wait_ms);
	SAME_BYTES(prefix);
	SAME(token);
	SAME(limit);
	SAME_BYTES(after);
#undef SAME
#undef SAME_BYTES
	return true;
}

/* Decodes P twice: directly from its pieces, and from the target
 * http_target_encode() writes for them. Both must return P->want, with the
 * same request, or the same error code, sentence and Allow header, and a
 * refusal keeps nothing. */
static void assert_round_trip(const struct pieces *p)
{
	struct http_request direct, forwarded;
	struct http_err derr, ferr;
	size_t n = count(p->q), blen = p->body ? strlen(p->body) : 0;
	char target[1024], why[1024] = "";
	enum http_error de, fe;

	encode(p->path, p->q, n, target, sizeof(target));
	de = http_request_decode(p->method, p->path, p->q, n, p->body, blen, &direct, &derr);
	fe = http_request_decode_target(p->method, target, p->body, blen, &forwarded, &ferr);
	if (de != p->want)
		snprintf(why, sizeof(why), "decoded from the pieces: %s (%s), want %s",
		         code_name(de), derr.message, code_name(p->want));
	else if (fe != de)
		snprintf(why, sizeof(why), "from the target %s (%s), from the pieces %s (%s)",
		         code_name(fe), ferr.message, code_name(de), derr.message);
	else if (de == HTTP_OK)
		same_request(&direct, &forwarded, why, sizeof(why));
	else if (strcmp(ferr.message, derr.message) != 0 || strcmp(ferr.allow, derr.allow) != 0)
		snprintf(why, sizeof(why),
		         "refused as \"%s\" (Allow \"%s\"), from the pieces \"%s\" (Allow \"%s\")",
		         ferr.message, ferr.allow, derr.message, derr.allow);
	else if (forwarded.value)
		snprintf(why, sizeof(why), "refused, but a value was kept");
	http_request_free(&direct);
	http_request_free(&forwarded);
	if (why[0])
		fail_msg("%s %s: %s", p->method, target, why);
}

/* Decodes TARGET as a leader would; on failure, checks nothing was kept. */
static enum http_error from_target(const char *method, const char *target, const char *body,
                                   struct http_request *req, struct http_err *err)
{
	enum http_error e;

	/* Garbage in both, as a caller's stack would hold. */
	memset(req, 0xa5, sizeof(*req));
	memset(err, 0xa5, sizeof(*err));
	err->allow[sizeof(err->allow) - 1] = '\0';
	e = http_request_decode_target(method, target, body, body ? strlen(body) : 0, req, err);
	if (e != HTTP_OK) {
		assert_null(req->value);
		assert_false(req->has_value);
		assert_int_equal(err->code, e);
		if (e != HTTP_ERR_METHOD_NOT_ALLOWED)
			assert_string_equal(err->allow, "");
		assert_true(err->message[0] != '\0');
	}
	return e;
}

/* Encoding ------------------------------------------------------------------- */

/* Scenario: a path and query list. Outcome: one target, path then '?' and
 * the parameters joined by '&', a bare key without '=', an empty value with
 * it; every byte but A-Z a-z 0-9 - . _ ~ / : as %XX in capitals. */
static void test_encode_writes_path_and_query_as_one_target(void **state)
{
	static const struct {
		const char *path;
		struct http_query q[QMAX + 1];
		const char *want;
	} cases[] = {
	    {"/v1/locks", {{NULL, NULL}}, "/v1/locks"},
	    {"/v1/locks/a b", {{"wait", "5s"}, {"pretty", NULL}}, "/v1/locks/a%20b?wait=5s&pretty"},
	    {"/v1/locks", {{"prefix", "a/b"}, {"redirect", NULL}}, "/v1/locks?prefix=a/b&redirect"},
	    {"/v1/locks", {{"prefix", ""}}, "/v1/locks?prefix="},
	    {"/v1/locks/x.y_z-1:2~3", {{NULL, NULL}}, "/v1/locks/x.y_z-1:2~3"},
	    {"/v1/locks/a?b#c", {{NULL, NULL}}, "/v1/locks/a%3Fb%23c"},
	    {"/v1/locks",
	     {{"k&=?%# +", "v&=?%# +"}},
	     "/v1/locks?k%26%3D%3F%25%23%20%2B=v%26%3D%3F%25%23%20%2B"},
	    {"/v1/locks/\xc3\xa9", {{"\xc3\xa9", "\xff"}}, "/v1/locks/%C3%A9?%C3%A9=%FF"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char t[256];

		assert_string_equal(
		    encode(cases[i].path, cases[i].q, count(cases[i].q), t, sizeof(t)),
		    cases[i].want);
	}
}

/* Scenario: a key holding each byte 1..255. Outcome: unreserved bytes, '/'
 * and ':' are written as they are, every other byte as %XX in capitals. */
static void test_encode_escapes_every_byte_but_the_unreserved(void **state)
{
	(void)state;
	for (unsigned b = 1; b < 256; b++) {
		char key[2] = {(char)b, '\0'}, want[16];
		struct http_query q = {key, NULL};
		bool plain = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') ||
		             (b >= '0' && b <= '9') || b == '-' || b == '.' || b == '_' ||
		             b == '~' || b == '/' || b == ':';
		char t[16];

		encode("/", &q, 1, t, sizeof(t));
		if (plain)
			snprintf(want, sizeof(want), "/?%c", (char)b);
		else
			snprintf(want, sizeof(want), "/?%%%02X", b);
		if (strcmp(t, want) != 0)
			fail_msg("byte 0x%02x: encoded as %s, want %s", b, t, want);
	}
}

/* Round trips ---------------------------------------------------------------- */

/* Scenario: requests of every shape, accepted and refused, as a follower
 * has them. Outcome: the leader decodes the target to exactly what the
 * follower decoded from the pieces: every field, or the same refusal. The
 * JSON body is not part of the target and is forwarded as it is. */
static void test_round_trip_decodes_what_the_pieces_decode(void **state)
{
	static const struct pieces cases[] = {
	    /* Names with '/', ':', '.', '-', '_'; every query parameter. */
	    {"GET",
	     "/v1/locks/jobs/nightly.db:primary-1_x",
	     {{"consistency", "stale"},
	      {"index", "42"},
	      {"wait", "90s"},
	      {"pretty", NULL},
	      {"redirect", NULL}},
	     NULL,
	     HTTP_OK},
	    {"GET", "/v1/locks", {{"prefix", "a/b"}, {"consistency", "stale"}}, NULL, HTTP_OK},
	    {"GET", "/v1/locks", {{"prefix", ""}, {"index", "0"}}, NULL, HTTP_OK},
	    {"GET", "/v1/locks", {{"prefix", NULL}}, NULL, HTTP_OK},
	    {"GET", "/v1/locks", {{"pretty", ""}, {"redirect", "yes"}}, NULL, HTTP_OK},
	    {"GET", "/v1/locks", {{"consistency", "linearizable"}}, NULL, HTTP_OK},
	    /* Pages of the listings, alone, stale and long-polled. */
	    {"GET",
	     "/v1/locks",
	     {{"prefix", "jobs/"}, {"after", "jobs/a:b.c-d_e"}, {"limit", "10000"}},
	     NULL,
	     HTTP_OK},
	    {"GET",
	     "/v1/locks",
	     {{"limit", "1"}, {"after", "z"}, {"consistency", "stale"}, {"index", "9"}},
	     NULL,
	     HTTP_OK},
	    {"GET", "/v1/sessions", {{"after", SID}, {"limit", "2"}}, NULL, HTTP_OK},
	    {"GET",
	     "/v1/sessions",
	     {{"limit", "3"}, {"consistency", "stale"}, {"index", "1"}, {"wait", "1s"}},
	     NULL,
	     HTTP_OK},
	    {"GET",
	     "/v1/sessions",
	     {{"index", "18446744073709551615"}, {"wait", "10m"}},
	     NULL,
	     HTTP_OK},
	    {"GET", "/v1/sessions/" SID, {{"index", "1"}, {"wait", "250ms"}}, NULL, HTTP_OK},
	    {"GET", "/v1/elections/leader/eu-west_1", {{"index", "3"}}, NULL, HTTP_OK},
	    {"GET",
	     "/v1/fence",
	     {{"lock", "x/y:z.w-v_u"}, {"token", "18446744073709551615"}},
	     NULL,
	     HTTP_OK},
	    {"GET", "/v1/status", {{"pretty", NULL}}, NULL, HTTP_OK},
	    {"GET", "/v1/health", {{NULL, NULL}}, NULL, HTTP_OK},
	    {"GET", "/metrics", {{"redirect", NULL}}, NULL, HTTP_OK},
	    /* Writes: the body, with every awkward byte, travels beside the target. */
	    {"POST",
	     "/v1/sessions",
	     {{"redirect", NULL}},
	     "{\"ttl_ms\":20000,\"name\":\"worker 1 &=?%+# \xc3\xbc\xc3\xb1\xc3\xaf "
	     "\xe2\x9c\x93\",\"lock_delay_ms\":500}",
	     HTTP_OK},
	    {"POST", "/v1/sessions/" SID "/keepalive", {{"redirect", NULL}}, NULL, HTTP_OK},
	    {"DELETE", "/v1/sessions/" SID, {{NULL, NULL}}, NULL, HTTP_OK},
	    {"PUT",
	     "/v1/locks/a/b:c",
	     {{"pretty", NULL}},
	     "{\"session\":\"" SID "\",\"mode\":\"shared\",\"wait_ms\":2500,"
	     "\"value\":\"x &=?%+# \xc3\xa9 \xf0\x9f\x94\x92\"}",
	     HTTP_OK},
	    {"DELETE", "/v1/locks/a.b", {{"session", SID}}, NULL, HTTP_OK},
	    {"PUT",
	     "/v1/elections/e",
	     {{NULL, NULL}},
	     "{\"session\":\"" SID "\",\"value\":\"\"}",
	     HTTP_OK},
	    {"PATCH",
	     "/v1/elections/leader/eu-west_1",
	     {{NULL, NULL}},
	     "{\"session\":\"" SID "\",\"value\":\"10.0.0.5:5432\"}",
	     HTTP_OK},
	    {"DELETE", "/v1/elections/e", {{NULL, NULL}}, "{\"session\":\"" SID "\"}", HTTP_OK},
	    /* Refusals agree too, sentence for sentence. */
	    {"GET", "/v1/locks/a b", {{NULL, NULL}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/locks/a?b", {{NULL, NULL}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/locks/a#b", {{NULL, NULL}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/locks/a&pretty", {{NULL, NULL}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/locks/%41", {{NULL, NULL}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/locks/\xc3\xa9", {{NULL, NULL}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/locks", {{"prefix", "a b"}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/locks", {{"consistency", "strong"}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/locks", {{"wait", "1m30"}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/locks", {{"wait", "1m30s"}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/locks", {{"index", "-1"}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/locks", {{"x y", "1"}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/locks", {{"limit", "0"}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/locks", {{"limit", "10001"}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/locks", {{"limit", "-1"}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/locks", {{"limit", "1 "}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/locks", {{"after", "a b"}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/locks", {{"after", "a&limit=5"}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/sessions", {{"after", "jobs/a"}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/sessions/" SID, {{"limit", "5"}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/fence", {{"lock", "a"}}, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/nothing", {{NULL, NULL}}, NULL, HTTP_ERR_NOT_FOUND},
	    {"GET", "/v1/sessions/xyz", {{NULL, NULL}}, NULL, HTTP_ERR_SESSION_NOT_FOUND},
	    {"POST", "/v1/locks/a", {{NULL, NULL}}, NULL, HTTP_ERR_METHOD_NOT_ALLOWED},
	    {"GET",
	     "/v1/sessions/" SID "/keepalive",
	     {{NULL, NULL}},
	     NULL,
	     HTTP_ERR_METHOD_NOT_ALLOWED},
	    {"PUT", "/v1/locks/a", {{NULL, NULL}}, "{\"session\":", HTTP_ERR_INVALID_JSON},
	    {"PUT", "/v1/locks/a", {{NULL, NULL}}, "{}", HTTP_ERR_INVALID_ARGUMENT},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		assert_round_trip(&cases[i]);
}

/* The bytes that mean something in a target, and bytes outside ASCII. */
static const char *const awkward[] = {
    "a&b",
    "a=b",
    "a?b",
    "a%b",
    "a#b",
    "a b",
    "a+b",
    "%41",
    "%",
    "&",
    "=",
    "?",
    "#",
    "\xc3\xa9t\xc3\xa9",
    "\xe2\x9c\x93",
    "\xff\xfe",
    "a&b=c?d%e#f g\xc3\xa9",
};

/* Scenario: an unknown query key made of those bytes, bare or with a value
 * made of them. Outcome: from the target as from the pieces, 400
 * invalid_argument with a sentence naming the key byte for byte (no byte
 * split the key, ended it, or was decoded twice). */
static void test_reserved_bytes_in_a_key_survive(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(awkward); i++)
		for (size_t v = 0; v <= ARRAY_LEN(awkward); v++) {
			struct pieces p = {"GET",
			                   "/v1/locks",
			                   {{awkward[i], NULL}},
			                   NULL,
			                   HTTP_ERR_INVALID_ARGUMENT};
			struct http_request req;
			struct http_err err;
			char want[256], target[256];

			p.q[0].value = v < ARRAY_LEN(awkward) ? awkward[v] : NULL;
			assert_round_trip(&p);
			encode(p.path, p.q, 1, target, sizeof(target));
			snprintf(want, sizeof(want), "unknown query parameter for this request: %s",
			         awkward[i]);
			assert_int_equal(from_target("GET", target, NULL, &req, &err),
			                 HTTP_ERR_INVALID_ARGUMENT);
			if (strcmp(err.message, want) != 0)
				fail_msg("%s: \"%s\", want \"%s\"", target, err.message, want);
		}
}

/* Scenario: a query value that holds a byte meaning something in a target
 * after a valid value ("stale&pretty"), or an escape that decodes to one
 * ("%73tale" is not "stale"). Outcome: the leader sees the one value the
 * client sent: refused, never read as "stale" plus another parameter. And
 * values the decoder accepts keep every byte ("a/b", "90s"). */
static void test_reserved_bytes_in_a_value_survive(void **state)
{
	static const char *const after[] = {
	    "&pretty", "=x", "?", "#", " ", "%", "%26", "+", "\xc3\xa9", "&consistency=stale"};
	struct http_request req;
	struct http_err err;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(after); i++) {
		char value[64];
		struct pieces p = {
		    "GET", "/v1/locks", {{"consistency", value}}, NULL, HTTP_ERR_INVALID_ARGUMENT};
		char target[128];

		snprintf(value, sizeof(value), "stale%s", after[i]);
		assert_round_trip(&p);
		encode(p.path, p.q, 1, target, sizeof(target));
		assert_int_equal(from_target("GET", target, NULL, &req, &err),
		                 HTTP_ERR_INVALID_ARGUMENT);
		assert_string_equal(err.message, "consistency must be linearizable or stale");
	}
	{
		struct pieces p = {"GET",
		                   "/v1/locks",
		                   {{"consistency", "%73tale"}},
		                   NULL,
		                   HTTP_ERR_INVALID_ARGUMENT};
		struct pieces k = {
		    "GET", "/v1/locks", {{"%70retty", NULL}}, NULL, HTTP_ERR_INVALID_ARGUMENT};

		assert_round_trip(&p);
		assert_round_trip(&k);
	}
	{
		struct http_query q[] = {{"prefix", "a/b"}, {"wait", "90s"}, {"index", "7"}};
		char target[128];

		encode("/v1/locks", q, ARRAY_LEN(q), target, sizeof(target));
		assert_int_equal(from_target("GET", target, NULL, &req, &err), HTTP_OK);
		assert_string_equal(req.prefix, "a/b");
		assert_int_equal(req.poll_wait_ms, 90000);
		assert_int_equal(req.index, 7);
		http_request_free(&req);
	}
}

/* Malformed targets ---------------------------------------------------------- */

/* Scenario: a target from a peer with a broken escape ("%" or "%4" at the
 * end or before '&' or '=', a non-hex digit, an escaped NUL that would cut
 * the path or a key short) in the path, a query key or a query value, on an
 * acquire whose body would otherwise be kept. Outcome: 400
 * invalid_argument, the sentence says the encoding is malformed, no value is
 * kept and the Allow header is empty. */
static void test_malformed_escapes_are_refused_and_keep_nothing(void **state)
{
	static const char *const bad[] = {"%", "%4", "%zz", "%00", "%4g", "%g4", "%0", "%%41"};
	/* '@' marks where the broken escape goes. */
	static const char *const shapes[] = {
	    "/v1/locks/a@",                  /* the end of the path */
	    "/v1/locks/a@z",                 /* inside the path */
	    "/v1/locks/a?@",                 /* a bare key */
	    "/v1/locks/a?@=1",               /* a key */
	    "/v1/locks/a?pretty@=1",         /* the end of a key */
	    "/v1/locks/a?@&pretty",          /* a bare key before another */
	    "/v1/locks/a?redirect=@",        /* a value */
	    "/v1/locks/a?redirect=a@z",      /* inside a value */
	    "/v1/locks/a?redirect=@&pretty", /* a value before another */
	    "/v1/locks/a?pretty&redirect=@", /* the last value */
	};
	const char *body = "{\"session\":\"" SID "\",\"value\":\"would be kept\"}";

	(void)state;
	for (size_t s = 0; s < ARRAY_LEN(shapes); s++)
		for (size_t b = 0; b < ARRAY_LEN(bad); b++) {
			struct http_request req;
			struct http_err err;
			const char *at = strchr(shapes[s], '@');
			char target[128];
			enum http_error e;

			snprintf(target, sizeof(target), "%.*s%s%s", (int)(at - shapes[s]),
			         shapes[s], bad[b], at + 1);
			e = from_target("PUT", target, body, &req, &err);
			if (e != HTTP_ERR_INVALID_ARGUMENT || !strstr(err.message, "percent"))
				fail_msg("PUT %s: got %s (%s), want invalid_argument (malformed "
				         "percent-encoding)",
				         target, code_name(e), err.message);
			assert_null(req.value);
			assert_string_equal(err.allow, "");
		}
	/* The same target with the escapes mended is accepted and keeps the value. */
	{
		struct http_request req;
		struct http_err err;
		bool kept;

		assert_int_equal(
		    from_target("PUT", "/v1/locks/a?pretty&redirect=%41%2f%3D", body, &req, &err),
		    HTTP_OK);
		kept = req.value && strcmp(req.value, "would be kept") == 0;
		http_request_free(&req);
		assert_true(kept);
	}
}

/* Scenario: a target with HTTP_QUERY_MAX parameters, and with one or many
 * more. Outcome: HTTP_QUERY_MAX are accepted (a trailing '&' adds none);
 * more are refused with a sentence naming the limit and nothing kept, as
 * http_request_decode() refuses the same list. */
static void test_more_than_query_max_parameters_are_refused(void **state)
{
	static const size_t counts[] = {HTTP_QUERY_MAX, HTTP_QUERY_MAX + 1, HTTP_QUERY_MAX + 2,
	                                4 * HTTP_QUERY_MAX};
	const char *body = "{\"session\":\"" SID "\",\"value\":\"v\"}";
	char want[64];

	(void)state;
	snprintf(want, sizeof(want), "more than %u query parameters", HTTP_QUERY_MAX);
	for (size_t c = 0; c < ARRAY_LEN(counts); c++) {
		struct http_query q[4 * HTTP_QUERY_MAX];
		struct http_request req, direct;
		struct http_err err, derr;
		char target[1024], trailing[1025];
		size_t n = counts[c];
		enum http_error want_e = n > HTTP_QUERY_MAX ? HTTP_ERR_INVALID_ARGUMENT : HTTP_OK;
		enum http_error de;

		for (size_t i = 0; i < n; i++) {
			q[i].key = i % 2 ? "pretty" : "redirect";
			q[i].value = NULL;
		}
		encode("/v1/locks/a", q, n, target, sizeof(target));
		snprintf(trailing, sizeof(trailing), "%s&", target);

		de = http_request_decode("PUT", "/v1/locks/a", q, n, body, strlen(body), &direct,
		                         &derr);
		http_request_free(&direct);
		assert_int_equal(de, want_e);
		for (int t = 0; t < 2; t++) {
			const char *tg = t ? trailing : target;

			if (from_target("PUT", tg, body, &req, &err) != want_e)
				fail_msg("%zu parameters (%s): got %s (%s)", n,
				         t ? "with a trailing &" : "", code_name(err.code),
				         err.message);
			if (want_e == HTTP_OK) {
				bool kept = req.pretty && req.redirect && req.value &&
				            strcmp(req.value, "v") == 0;

				http_request_free(&req);
				assert_true(kept);
			} else {
				assert_string_equal(err.message, want);
				assert_string_equal(derr.message, want);
			}
		}
	}
}

/* Query shapes --------------------------------------------------------------- */

/* Scenario: a target without a query, with an empty query ("?"), with a
 * trailing '&', with an empty parameter between two. Outcome: no query and
 * an empty query decode alike; a trailing '&' adds no parameter; an empty
 * parameter between two is an unknown (empty) key, as http_request_decode()
 * sees it given an empty key. */
static void test_empty_query_and_trailing_ampersand(void **state)
{
	static const struct {
		const char *target;
		struct http_query q[QMAX + 1]; /* the pieces it stands for */
		enum http_error want;
	} cases[] = {
	    {"/v1/locks", {{NULL, NULL}}, HTTP_OK},
	    {"/v1/locks?", {{NULL, NULL}}, HTTP_OK},
	    {"/v1/locks?pretty&", {{"pretty", NULL}}, HTTP_OK},
	    {"/v1/locks?prefix=a/b&", {{"prefix", "a/b"}}, HTTP_OK},
	    {"/v1/locks?prefix=&", {{"prefix", ""}}, HTTP_OK},
	    {"/v1/locks?pretty&redirect&", {{"pretty", NULL}, {"redirect", NULL}}, HTTP_OK},
	    {"/v1/locks?pretty&&redirect",
	     {{"pretty", NULL}, {"", NULL}, {"redirect", NULL}},
	     HTTP_ERR_INVALID_ARGUMENT},
	    {"/v1/locks?=x", {{"", "x"}}, HTTP_ERR_INVALID_ARGUMENT},
	    {"/v1/locks?&pretty", {{"", NULL}, {"pretty", NULL}}, HTTP_ERR_INVALID_ARGUMENT},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct http_request req, direct;
		struct http_err err, derr;
		enum http_error e = from_target("GET", cases[i].target, NULL, &req, &err);
		enum http_error de = http_request_decode(
		    "GET", "/v1/locks", cases[i].q, count(cases[i].q), NULL, 0, &direct, &derr);

		if (e != cases[i].want || de != cases[i].want)
			fail_msg("%s: got %s (%s), from the pieces %s (%s), want %s",
			         cases[i].target, code_name(e), err.message, code_name(de),
			         derr.message, code_name(cases[i].want));
		if (e == HTTP_OK) {
			char why[512] = "";
			bool same = req.op == HTTP_OP_LOCK_LIST &&
			            same_request(&direct, &req, why, sizeof(why));

			http_request_free(&req);
			http_request_free(&direct);
			if (!same)
				fail_msg("%s: %s", cases[i].target,
				         why[0] ? why : "not a lock list");
		} else {
			assert_string_equal(err.message, derr.message);
		}
	}
}

/* Scenario: query pieces with an empty key, as a server hands them in for
 * "?&pretty", "?pretty&&redirect", "?pretty&&" or "?=x": alone, first, in
 * the middle, last, with a value, or as the parameter past the limit.
 * Outcome: http_request_decode() refuses every one, so a follower never
 * forwards an empty key. That is what lets a target read "path?" and a
 * trailing '&' as no parameter (request.c), although http_target_encode()
 * writes a last empty bare key as exactly that: the one list whose target
 * does not decode as the list does, and no follower sends it. */
static void test_an_empty_key_is_refused_before_it_could_be_forwarded(void **state)
{
	static const struct {
		struct http_query q[HTTP_QUERY_MAX + 2];
		size_t n;
		const char *target; /* what http_target_encode() writes for it */
	} cases[] = {
	    {{{"", NULL}}, 1, "/v1/locks?"},
	    {{{"", NULL}, {"pretty", NULL}}, 2, "/v1/locks?&pretty"},
	    {{{"pretty", NULL}, {"", NULL}, {"redirect", NULL}}, 3, "/v1/locks?pretty&&redirect"},
	    {{{"pretty", NULL}, {"", NULL}}, 2, "/v1/locks?pretty&"},
	    {{{"", "x"}}, 1, "/v1/locks?=x"},
	    {{{"", ""}}, 1, "/v1/locks?="},
	};
	struct http_query past[HTTP_QUERY_MAX + 1];
	struct http_request req;
	struct http_err err;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char target[128];

		assert_int_equal(http_request_decode("GET", "/v1/locks", cases[i].q, cases[i].n,
		                                     NULL, 0, &req, &err),
		                 HTTP_ERR_INVALID_ARGUMENT);
		assert_string_equal(err.message, "unknown query parameter for this request: ");
		assert_string_equal(
		    encode("/v1/locks", cases[i].q, cases[i].n, target, sizeof(target)),
		    cases[i].target);
	}
	for (size_t i = 0; i < HTTP_QUERY_MAX; i++)
		past[i] = (struct http_query){"pretty", NULL};
	past[HTTP_QUERY_MAX] = (struct http_query){"", NULL};
	assert_int_equal(
	    http_request_decode("GET", "/v1/locks", past, ARRAY_LEN(past), NULL, 0, &req, &err),
	    HTTP_ERR_INVALID_ARGUMENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encode_writes_path_and_query_as_one_target),
	    cmocka_unit_test(test_encode_escapes_every_byte_but_the_unreserved),
	    cmocka_unit_test(test_round_trip_decodes_what_the_pieces_decode),
	    cmocka_unit_test(test_reserved_bytes_in_a_key_survive),
	    cmocka_unit_test(test_reserved_bytes_in_a_value_survive),
	    cmocka_unit_test(test_malformed_escapes_are_refused_and_keep_nothing),
	    cmocka_unit_test(test_more_than_query_max_parameters_are_refused),
	    cmocka_unit_test(test_empty_query_and_trailing_ampersand),
	    cmocka_unit_test(test_an_empty_key_is_refused_before_it_could_be_forwarded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
