/* TLS and access control for coord-bench: the files libcurl verifies an
 * https endpoint with (and a client certificate, when one is asked for),
 * and the bearer token a coord cluster with access control on needs on
 * every request (docs/API.md, Access control).
 *
 * Handshakes are not what a run measures: every client keeps one easy
 * handle, so one connection, from setup to teardown (driver.c); a TLS
 * handshake happens when a client first connects (in setup, untimed) and
 * again only after its connection broke. The engine counts the connections
 * opened in the timed window (BENCH connects=) to show it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

int bench_tls_setopt(const struct bench_options *o, CURL *easy)
{
	int bad = 0;
	if (o->cacert[0] != '\0') {
		bad |= curl_easy_setopt(easy, CURLOPT_CAINFO, o->cacert) != CURLE_OK;
	}
	if (o->cert[0] != '\0') {
		bad |= curl_easy_setopt(easy, CURLOPT_SSLCERT, o->cert) != CURLE_OK;
		bad |= curl_easy_setopt(easy, CURLOPT_SSLKEY, o->key) != CURLE_OK;
	}
	return bad ? BENCH_ECURL : 0;
}

/* Whether C may stand in a token: visible ASCII, no space. */
static int token_char(char c)
{
	return c > ' ' && c < 0x7f;
}

int bench_token_header(const char *path, char *header, size_t len, char *errmsg, size_t errlen)
{
	/* One byte more than a token may have, to tell "too long" from "fits". */
	char buf[BENCH_TOKEN_MAX + 2];
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(errmsg, errlen, "%s: %s", path, strerror(errno));
		return BENCH_ETOKEN;
	}
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	int more = fgetc(f) != EOF;
	fclose(f);
	buf[n] = '\0';
	size_t start = 0;
	while (start < n && (buf[start] == ' ' || buf[start] == '\t' || buf[start] == '\r' ||
	                     buf[start] == '\n')) {
		start++;
	}
	size_t end = start;
	while (end < n && token_char(buf[end])) {
		end++;
	}
	size_t tail = end;
	while (tail < n &&
	       (buf[tail] == ' ' || buf[tail] == '\t' || buf[tail] == '\r' || buf[tail] == '\n')) {
		tail++;
	}
	size_t tlen = end - start;
	const char *why = NULL;
	if (tlen == 0) {
		why = "holds no token";
	} else if (tlen >= BENCH_TOKEN_MAX || more) {
		why = "holds more than a token (too long)";
	} else if (tail != n) {
		why = "holds more than one token, or a character a token cannot have";
	}
	int written = why == NULL ? snprintf(header, len, "Authorization: Bearer %.*s", (int)tlen,
	                                     buf + start)
	                          : 0;
	memset(buf, 0, sizeof(buf));
	if (why == NULL && (written < 0 || (size_t)written >= len)) {
		why = "holds a token too long for the header";
	}
	if (why != NULL) {
		if (len > 0) {
			header[0] = '\0';
		}
		snprintf(errmsg, errlen, "%s %s", path, why);
		return BENCH_ETOKEN;
	}
	return 0;
}
