/* Error codes of coord-bench, the tally of failed requests by kind, and the
 * kind an HTTP failure is filed under. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "bench.h"

static const char *const messages[BENCH_ERR_COUNT] = {
    [BENCH_OK] = "ok",
    [BENCH_EUSAGE] = "bad command-line flag",
    [BENCH_ECURL] = "libcurl could not set up a transfer",
    [BENCH_ESETUP] = "the workload's sessions or leases could not be created",
    [BENCH_EPROC] = "a server process could not be read from /proc",
    [BENCH_ETOKEN] = "the bearer token could not be read",
    [BENCH_EZOOKEEPER] = "coord-bench was built without ZooKeeper's C client "
                         "(libzookeeper-mt-dev)",
};

const char *bench_strerror(int code)
{
	if (code < 0 || code >= BENCH_ERR_COUNT || messages[code] == NULL) {
		return "unknown error";
	}
	return messages[code];
}

void bench_errors_add(struct bench_errors *e, const char *kind)
{
	e->total++;
	for (int i = 0; i < e->n; i++) {
		if (strcmp(e->kind[i], kind) == 0) {
			e->count[i]++;
			return;
		}
	}
	/* The last slot is kept for "other" once the table is full. */
	if (e->n < BENCH_ERROR_KINDS - 1) {
		snprintf(e->kind[e->n], BENCH_ERROR_KIND_MAX, "%s", kind);
		e->count[e->n++] = 1;
		return;
	}
	if (e->n == BENCH_ERROR_KINDS - 1) {
		snprintf(e->kind[e->n], BENCH_ERROR_KIND_MAX, "other");
		e->count[e->n++] = 0;
	}
	e->count[BENCH_ERROR_KINDS - 1]++;
}

void bench_http_kind(long status, const char *body, char *kind)
{
	const char *code = NULL;
	json_t *j = json_loads(body, 0, NULL);
	if (j != NULL) {
		code = json_string_value(json_object_get(j, "error"));
	}
	/* Only the characters a metric-style key may carry, so the summary line
	 * stays one whitespace-separated record. */
	char clean[24] = "";
	for (size_t i = 0; code != NULL && code[i] != '\0' && i + 1 < sizeof(clean); i++) {
		char ch = code[i];
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		         (ch >= '0' && ch <= '9') || ch == '_';
		clean[i] = ok ? ch : '_';
		clean[i + 1] = '\0';
	}
	if (clean[0] != '\0') {
		snprintf(kind, BENCH_ERROR_KIND_MAX, "http_%ld_%s", status, clean);
	} else {
		snprintf(kind, BENCH_ERROR_KIND_MAX, "http_%ld", status);
	}
	json_decref(j);
}
