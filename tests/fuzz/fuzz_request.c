/* libFuzzer target for request decoding (http/request.c): arbitrary bytes
 * become a method, a path, query parameters and a body; decoding must never
 * crash, leak or read out of bounds, and a refused request must leave
 * nothing allocated. A request that decodes must decode to the same request
 * again on the leader, from the target a follower forwards
 * (http_target_encode, then http_request_decode_target); and the raw
 * "path?query" line, taken as a forwarded target, obeys the same rules.
 * Input layout: lines separated by '\n':
 *   method \n path \n key=value&key2 \n body... */
#include <stdbool.h>
#include <stdio.h>
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
	       a->seq == b->seq && strcmp(a->after, b->after) == 0;
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
	const char *p = (const char *)data, *end = p + size;
	char *method = take_line(&p, end), *path = take_line(&p, end), *qs = take_line(&p, end);
	struct http_query q[HTTP_QUERY_MAX + 2];
	struct http_request req;
	struct http_err err;
	size_t n = 0;
	char *save = NULL, *raw = malloc(strlen(path) + strlen(qs) + 2);

	if (!raw)
		abort();
	sprintf(raw, "%s?%s", path, qs);

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
		/* What a follower forwards, the leader decodes to the same. */
		if (http_request_decode_target(method, target, p, (size_t)(end - p), &again,
		                               &err2) != HTTP_OK ||
		    !same_request(&req, &again))
			abort();
		http_request_free(&again);
		http_request_free(&req);
		free(target);
	} else if (err.message[0] == '\0' || req.value) {
		abort(); /* every refusal says why and keeps nothing */
	}
	decode_target(method, raw, p, (size_t)(end - p));
	free(raw);
	free(method);
	free(path);
	free(qs);
	return 0;
}
