/* libFuzzer target for request decoding (http/request.c): arbitrary bytes
 * become a method, a path, query parameters and a body; decoding must never
 * crash, leak or read out of bounds, and a refused request must leave
 * nothing allocated. Input layout: lines separated by '\n':
 *   method \n path \n key=value&key2 \n body... */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char *method = take_line(&p, end), *path = take_line(&p, end), *qs = take_line(&p, end);
	struct http_query q[HTTP_QUERY_MAX + 2];
	struct http_request req;
	struct http_err err;
	size_t n = 0;
	char *save = NULL;

	for (char *tok = strtok_r(qs, "&", &save); tok && n < sizeof(q) / sizeof(q[0]);
	     tok = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(tok, '=');

		if (eq)
			*eq++ = '\0';
		q[n].key = tok;
		q[n].value = eq;
		n++;
	}
	if (http_request_decode(method, path, q, n, p, (size_t)(end - p), &req, &err) ==
	    HTTP_OK) {
		/* A decoded request is self-consistent. */
		if (req.op <= 0 || req.op >= HTTP_OP_COUNT || strlen(req.name) > HTTP_NAME_MAX ||
		    (req.has_value && !req.value))
			abort();
		http_request_free(&req);
	} else if (err.message[0] == '\0' || req.value) {
		abort(); /* every refusal says why and keeps nothing */
	}
	free(method);
	free(path);
	free(qs);
	return 0;
}
