/* libFuzzer target for request decoding (http/request.c): arbitrary bytes
 * become a method, a path, query parameters and a body; decoding must never
 * crash, leak or read out of bounds, and a refused request must leave
 * nothing allocated. A request that decodes must decode to the same request
 * again on the leader, from the target a follower forwards
 * (http_target_encode, then http_request_decode_target); and the raw
 * "path?query" line, taken as a forwarded target, obeys the same rules.
 * The Authorization header goes through http_request_bearer(): a secret is
 * taken only in the form API.md gives (checked here against a grammar of
 * its own), is never forwarded, and is wiped by http_request_free().
 * Input layout: lines separated by '\n':
 *   method \n path \n key=value&key2 \n [Authorization:VALUE \n] body...
 * The optional fourth line, when it starts with "Authorization:", is the
 * header's value (the rest of the line, as it is, "" included); without it
 * the request has no such header. A body never starts so (it is JSON), and
 * the seeds without the line keep their meaning. */
#include <stdbool.h>
#include <stdio.h>
#include <strings.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Splits at the first '\n' within [*p, end): returns a NUL-terminated copy. */
static char *take_line(const char **p, const char *end)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t len = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	char *s = malloc(len + 1);

	if (!s)
		abort();
	memcpy(s, *p, len);
	s[len] = '\0';
	*p += len + (nl ? 1 : 0);
	return s;
}

/* A token create's rules (http/request.h, struct http_rule). */
static bool same_rules(const struct http_request *a, const struct http_request *b)
{
	if (a->n_rules != b->n_rules)
		return false;
	for (size_t i = 0; i < a->n_rules; i++) {
		const struct http_rule *x = &a->rules[i], *y = &b->rules[i];

		if (strcmp(x->resource, y->resource) != 0 || strcmp(x->access, y->access) != 0 ||
		    x->prefix_len != y->prefix_len ||
		    memcmp(x->prefix, y->prefix, x->prefix_len) != 0)
			return false;
	}
	return true;
}

/* Every rule a decoded token create keeps is one API.md allows. */
static bool rules_valid(const struct http_request *r)
{
	static const char *const resources[] = {"locks", "elections", "sessions", "kv"};

	if (r->n_rules > HTTP_TOKEN_RULES_MAX)
		return false;
	for (size_t i = 0; i < r->n_rules; i++) {
		const struct http_rule *x = &r->rules[i];
		bool known = false;

		for (size_t k = 0; k < sizeof(resources) / sizeof(resources[0]); k++)
			known = known || (x->resource && strcmp(x->resource, resources[k]) == 0);
		if (!known || !x->access ||
		    (strcmp(x->access, "read") != 0 && strcmp(x->access, "write") != 0) ||
		    x->prefix_len > HTTP_NAME_MAX || x->prefix[x->prefix_len] != '\0' ||
		    strlen(x->prefix) != x->prefix_len)
			return false;
		for (size_t k = 0; k < x->prefix_len; k++)
			if ((unsigned char)x->prefix[k] < 0x20 || x->prefix[k] == 0x7f)
				return false;
	}
	return true;
}

/* The form API.md gives the header, by a grammar of its own: "Bearer" in
 * any case, one or more spaces, then a token68 (A-Z a-z 0-9 - . _ ~ + /,
 * then any '=') of 1..HTTP_BEARER_MAX bytes ending the value. Returns the
 * secret's offset in VALUE, or -1. */
static long bearer_grammar(const char *value)
{
	size_t i = 6, start, len;

	if (strlen(value) < 6 || strncasecmp(value, "bearer", 6) != 0)
		return -1;
	while (value[i] == ' ')
		i++;
	if (i == 6)
		return -1;
	start = i;
	while (value[i] &&
	       (strchr("-._~+/", value[i]) || (value[i] >= 'A' && value[i] <= 'Z') ||
	        (value[i] >= 'a' && value[i] <= 'z') || (value[i] >= '0' && value[i] <= '9')))
		i++;
	while (value[i] == '=')
		i++;
	len = i - start;
	if (value[i] != '\0' || len == 0 || len > HTTP_BEARER_MAX)
		return -1;
	return (long)start;
}

/* http_request_bearer() on REQ with the header VALUE (NULL: none) keeps
 * the secret exactly when the grammar takes it. */
static void check_bearer(struct http_request *req, const char *value)
{
	long at;

	http_request_bearer(req, value);
	if (!value) {
		if (req->bearer_form != HTTP_BEARER_NONE || req->bearer_len != 0)
			abort();
		return;
	}
	at = bearer_grammar(value);
	if (at < 0) {
		if (req->bearer_form != HTTP_BEARER_MALFORMED || req->bearer_len != 0 ||
		    req->bearer[0] != '\0')
			abort();
		return;
	}
	if (req->bearer_form != HTTP_BEARER_OK || req->bearer_len != strlen(value + at) ||
	    strlen(req->bearer) != req->bearer_len || strcmp(req->bearer, value + at) != 0)
		abort();
}

/* After http_request_free() no byte of the secret is left in REQ. */
static void check_wiped(const struct http_request *req)
{
	for (size_t i = 0; i < sizeof(req->bearer); i++)
		if (req->bearer[i] != '\0')
			abort();
	if (req->bearer_len != 0)
		abort();
}

/* The key/value fields: a write's cas and fence, a transaction's checks
 * and operations, in order. */
static bool same_kv(const struct http_request *a, const struct http_request *b)
{
	if (a->has_cas != b->has_cas || a->cas != b->cas || strcmp(a->fence_lock, b->fence_lock) ||
	    a->fence_token != b->fence_token || a->n_checks != b->n_checks || a->n_ops != b->n_ops)
		return false;
	for (size_t i = 0; i < a->n_checks; i++)
		if (a->checks[i].kind != b->checks[i].kind ||
		    strcmp(a->checks[i].name, b->checks[i].name) ||
		    a->checks[i].n != b->checks[i].n ||
		    strcmp(a->checks[i].session, b->checks[i].session))
			return false;
	for (size_t i = 0; i < a->n_ops; i++)
		if (a->ops[i].del != b->ops[i].del || a->ops[i].ephemeral != b->ops[i].ephemeral ||
		    strcmp(a->ops[i].key, b->ops[i].key) ||
		    a->ops[i].value_len != b->ops[i].value_len ||
		    (a->ops[i].value_len &&
		     memcmp(a->ops[i].value, b->ops[i].value, a->ops[i].value_len)))
			return false;
	return true;
}

static bool same_request(const struct http_request *a, const struct http_request *b)
{
	return a->op == b->op && strcmp(a->name, b->name) == 0 &&
	       strcmp(a->session, b->session) == 0 && strcmp(a->label, b->label) == 0 &&
	       strcmp(a->prefix, b->prefix) == 0 && a->ttl_ms == b->ttl_ms &&
	       a->lock_delay_ms == b->lock_delay_ms && a->wait_ms == b->wait_ms &&
	       a->shared == b->shared && a->has_value == b->has_value &&
	       a->value_len == b->value_len &&
	       (!a->has_value || memcmp(a->value, b->value, a->value_len) == 0) &&
	       a->stale == b->stale && a->redirect == b->redirect && a->pretty == b->pretty &&
	       a->has_index == b->has_index && a->index == b->index &&
	       a->poll_wait_ms == b->poll_wait_ms && a->token == b->token && a->limit == b->limit &&
	       a->seq == b->seq && strcmp(a->after, b->after) == 0 && a->member == b->member &&
	       strcmp(a->raft, b->raft) == 0 && a->remove == b->remove && a->force == b->force &&
	       a->admin == b->admin && a->token_id == b->token_id && same_rules(a, b) &&
	       same_kv(a, b);
}

/* A forwarded target either decodes or is refused with a reason, keeping
 * nothing. */
static void decode_target(const char *method, const char *target, const char *body, size_t len)
{
	struct http_request req;
	struct http_err err;

	if (http_request_decode_target(method, target, body, len, &req, &err) == HTTP_OK)
		http_request_free(&req);
	else if (err.message[0] == '\0' || req.value)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char auth_key[] = "Authorization:";
	const char *p = (const char *)data, *end = p + size;
	char *method = take_line(&p, end), *path = take_line(&p, end), *qs = take_line(&p, end);
	char *auth = NULL;
	struct http_query q[HTTP_QUERY_MAX + 2];
	struct http_request req;
	struct http_err err;
	size_t n = 0;
	char *save = NULL, *raw = malloc(strlen(path) + strlen(qs) + 2);

	if (!raw)
		abort();
	sprintf(raw, "%s?%s", path, qs);
	if ((size_t)(end - p) >= sizeof(auth_key) - 1 &&
	    memcmp(p, auth_key, sizeof(auth_key) - 1) == 0)
		auth = take_line(&p, end);

	for (char *tok = strtok_r(qs, "&", &save); tok && n < sizeof(q) / sizeof(q[0]);
	     tok = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(tok, '=');

		if (eq)
			*eq++ = '\0';
		q[n].key = tok;
		q[n].value = eq;
		n++;
	}
	if (http_request_decode(method, path, q, n, p, (size_t)(end - p), &req, &err) == HTTP_OK) {
		/* A decoded request is self-consistent. */
		struct http_request again;
		struct http_err err2;
		char *target = http_target_encode(path, q, n);

		if (req.op <= 0 || req.op >= HTTP_OP_COUNT || strlen(req.name) > HTTP_NAME_MAX ||
		    (req.has_value && !req.value) || !target)
			abort();
		if (req.op == HTTP_OP_TOKEN_CREATE && !rules_valid(&req))
			abort();
		check_bearer(&req, auth ? auth + sizeof(auth_key) - 1 : NULL);
		/* What a follower forwards (the target and the kept body, never the
		 * secret), the leader decodes to the same. */
		if (http_request_decode_target(method, target, p, (size_t)(end - p), &again,
		                               &err2) != HTTP_OK ||
		    !same_request(&req, &again) || again.bearer_form != HTTP_BEARER_NONE)
			abort();
		http_request_free(&again);
		if (http_request_decode_target(method, target, req.body, req.body_len, &again,
		                               &err2) != HTTP_OK ||
		    !same_request(&req, &again))
			abort();
		http_request_free(&again);
		http_request_free(&req);
		check_wiped(&req);
		free(target);
	} else if (err.message[0] == '\0' || req.value || req.ops || req.checks) {
		abort(); /* every refusal says why and keeps nothing */
	} else {
		/* The header's parse does not depend on the rest of the request. */
		struct http_request bare;

		memset(&bare, 0, sizeof(bare));
		check_bearer(&bare, auth ? auth + sizeof(auth_key) - 1 : NULL);
		http_request_free(&bare);
		check_wiped(&bare);
	}
	decode_target(method, raw, p, (size_t)(end - p));
	free(raw);
	free(auth);
	free(method);
	free(path);
	free(qs);
	return 0;
}
