/* The status page (docs/API.md, GET /ui): ui/ui.html, embedded in coordd at
 * build time, answered by the node that receives it (LOCAL, open: the page
 * holds no data; its script calls the API with the token the user gives it).
 *
 * The page's script and style are inline, so its Content-Security-Policy
 * allows exactly those two elements by their SHA-256 (CSP level 2 hashes)
 * and nothing else: no other script or style runs even if some value were
 * ever put into the page as markup, it may only call its own origin, and it
 * may not be framed. The hashes are taken once, from the embedded bytes, so
 * editing ui.html needs no hash updated by hand. */
#define _GNU_SOURCE /* memmem */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "api.h"
#include "node_calls.h"

/* The policy with two hashes (44 characters of base64 each) fits. */
#define UI_CSP_MAX 512

/* 'sha256-<base64>' of the text between the first OPEN and the CLOSE after
 * it in the page, into OUT (OUT_LEN bytes); false if hashing failed. The
 * page is checked in with exactly one of each, and no other mention of the
 * tags (ui.html says so at its top). */
static bool ui_hash(const char *page, size_t len, const char *open, const char *close, char *out,
                    size_t out_len)
{
	const char *start = memmem(page, len, open, strlen(open));
	const char *end;
	unsigned char digest[32];
	gnutls_datum_t in = {digest, sizeof(digest)}, b64 = {NULL, 0};
	int n;

	assert(start != NULL); /* the page's form: see the comment above */
	start += strlen(open);
	end = memmem(start, len - (size_t)(start - page), close, strlen(close));
	assert(end != NULL);
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, start, (size_t)(end - start), digest) != 0 ||
	    gnutls_base64_encode2(&in, &b64) != 0)
		return false;
	n = snprintf(out, out_len, "'sha256-%.*s'", (int)b64.size, (const char *)b64.data);
	gnutls_free(b64.data);
	return n > 0 && (size_t)n < out_len;
}

/* The page's Content-Security-Policy, made on first use (on the loop). */
static const char *ui_csp(void)
{
	static char csp[UI_CSP_MAX];
	const char *page = (const char *)node_ui_html;
	char script[80], style[80];

	if (csp[0])
		return csp;
	if (!ui_hash(page, node_ui_html_len, "<script>", "</script>", script, sizeof(script)) ||
	    !ui_hash(page, node_ui_html_len, "<style>", "</style>", style, sizeof(style)))
		return NULL;
	snprintf(csp, sizeof(csp),
	         "default-src 'none'; script-src %s; style-src %s; connect-src 'self'; "
	         "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	         script, style);
	return csp;
}

static void ui_answer(struct node *n, struct ncall *c)
{
	const char *csp = ui_csp();

	if (!csp)
		return node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                         "the page's policy could not be made; retry");
	node_answer_html(n, c, (const char *)node_ui_html, node_ui_html_len, csp);
}

const struct node_api node_api_ui[] = {
    {.op = HTTP_OP_UI, .answer = ui_answer},
    {.op = 0},
};
