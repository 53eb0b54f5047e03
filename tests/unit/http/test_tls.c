/* http/tls.c without a network: loading the certificate and key, the
 * refusals that name the file and the reason, a reload that swaps what the
 * handshake callback serves, and a failed reload that keeps the old
 * credentials. The PEM files below are throwaway self-signed test
 * certificates made with the openssl CLI; they protect nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>

#include "tls.h"

static const char A_PEM[] = "-----BEGIN CERTIFICATE-----\n"
                            "MIIBhDCCASugAwIBAgIUZLcB60SrQmHfmtXTgwwZt71v5C4wCgYIKoZIzj0EAwIw\n"
                            "FzEVMBMGA1UEAwwMY29vcmQtdW5pdC1hMCAXDTI2MTIwMzE5MjIwMVoYDzIxMjYx\n"
                            "MTA5MTkyMjAxWjAXMRUwEwYDVQQDDAxjb29yZC11bml0LWEwWTATBgcqhkjOPQIB\n"
                            "BggqhkjOPQMBBwNCAATbernQahZZK0lJ2nxdslE5IGXvKr6fme4M+HLlXpeew3GC\n"
                            "gcwLa0wy4f+YVC3PohJO+mJKVWTwaQ2QMbO9q2XGo1MwUTAdBgNVHQ4EFgQUiWeo\n"
                            "GHArE26GxpfAh4XMIph2CHMwHwYDVR0jBBgwFoAUiWeoGHArE26GxpfAh4XMIph2\n"
                            "CHMwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiAFzdhbWtAEsfHT\n"
                            "QbeXfDjYzd1HgHzSx1rXGMO+bjTTIAIgRwwjV7KtT6xm/eB4nuYf/ch/CA25VI0l\n"
                            "S7nry2kEVcY=\n"
                            "-----END CERTIFICATE-----\n";

static const char A_KEY[] = "-----BEGIN PRIVATE KEY-----\n"
                            "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgDCG7Dyq8Kp743per\n"
                            "SfgEoySuI2Yoji21X0gSlftQThqhRANCAATbernQahZZK0lJ2nxdslE5IGXvKr6f\n"
                            "me4M+HLlXpeew3GCgcwLa0wy4f+YVC3PohJO+mJKVWTwaQ2QMbO9q2XG\n"
                            "-----END PRIVATE KEY-----\n";

static const char B_PEM[] = "-----BEGIN CERTIFICATE-----\n"
                            "MIIBhjCCASugAwIBAgIUGsFVBOQCxI08o/IhU923qgN+2j8wCgYIKoZIzj0EAwIw\n"
                            "FzEVMBMGA1UEAwwMY29vcmQtdW5pdC1iMCAXDTI2MTIwMzE5MjIwMVoYDzIxMjYx\n"
                            "MTA5MTkyMjAxWjAXMRUwEwYDVQQDDAxjb29yZC11bml0LWIwWTATBgcqhkjOPQIB\n"
                            "BggqhkjOPQMBBwNCAAQ4CuAUF0qQm+eAxKhe6GCqpbbC/Sd3TT7eAK/qRK/7uflh\n"
                            "ht5ajyMTTUOUClaXHMurNXM3Hp2h+k4sc71dzDJro1MwUTAdBgNVHQ4EFgQUi8Tg\n"
                            "E8/XKZW3jHieYCLxa7NHLDQwHwYDVR0jBBgwFoAUi8TgE8/XKZW3jHieYCLxa7NH\n"
                            "LDQwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEA5A1ilTvJU7PS\n"
                            "uiek32RmaihLxuPWgoj1BXNjMY2FrpkCIQDfUCawJLtcsxoGTflAvbJSzEiVD2nr\n"
                            "wj/1sWvAoEPd/w==\n"
                            "-----END CERTIFICATE-----\n";

static const char B_KEY[] = "-----BEGIN PRIVATE KEY-----\n"
                            "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8TJqJ3Nww2Pfbhxj\n"
                            "JcQrO6RMrhr1+RA/EmUhZDxqCsehRANCAAQ4CuAUF0qQm+eAxKhe6GCqpbbC/Sd3\n"
                            "TT7eAK/qRK/7uflhht5ajyMTTUOUClaXHMurNXM3Hp2h+k4sc71dzDJr\n"
                            "-----END PRIVATE KEY-----\n";

static char dir[64];

static const char *path(const char *name)
{
	static char buf[4][128];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

static void put(const char *name, const char *text)
{
	FILE *f = fopen(path(name), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Whether the handshake callback now serves the certificate PEM. */
static bool serves(const char *pem)
{
	gnutls_pcert_st *chain = NULL;
	unsigned n = 0;
	gnutls_privkey_t key = NULL;
	gnutls_datum_t in = {(unsigned char *)(uintptr_t)pem, (unsigned)strlen(pem)}, der;
	bool same;

	assert_int_equal(http_tls_cert_callback(NULL, NULL, 0, NULL, 0, &chain, &n, &key), 0);
	assert_int_equal(n, 1);
	assert_non_null(key);
	assert_int_equal(gnutls_pem_base64_decode2("CERTIFICATE", &in, &der), 0);
	same =
	    der.size == chain[0].cert.size && memcmp(der.data, chain[0].cert.data, der.size) == 0;
	gnutls_free(der.data);
	return same;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/coord-tls-unit-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	put("a.pem", A_PEM);
	put("a.key", A_KEY);
	put("b.pem", B_PEM);
	put("b.key", B_KEY);
	put("junk", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
	return 0;
}

static int teardown(void **state)
{
	const char *names[] = {"a.pem", "a.key",   "b.pem",   "b.key",
	                       "junk",  "cur.pem", "cur.key", "big"};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(path(names[i]));
	rmdir(dir);
	return 0;
}

static void test_loads_and_serves_the_certificate(void **state)
{
	struct http_tls *t = NULL;
	char err[HTTP_TLS_ERR_MAX];

	(void)state;
	assert_int_equal(http_tls_open(path("a.pem"), path("a.key"), NULL, &t, err), HTTP_TLS_OK);
	assert_null(http_tls_client_ca_pem(t));
	http_tls_activate(t);
	assert_true(serves(A_PEM));
	http_tls_free(t);
	/* With no credentials active the handshake fails. */
	{
		gnutls_pcert_st *chain;
		unsigned n;
		gnutls_privkey_t key;

		assert_int_not_equal(
		    http_tls_cert_callback(NULL, NULL, 0, NULL, 0, &chain, &n, &key), 0);
	}
}

/* Each refusal names the file and says why; nothing is kept. */
static void test_refusals_name_the_file(void **state)
{
	struct http_tls *t = NULL;
	char err[HTTP_TLS_ERR_MAX], *big;

	(void)state;
	assert_int_equal(http_tls_open(path("none.pem"), path("a.key"), NULL, &t, err),
	                 HTTP_TLS_EREAD);
	assert_non_null(strstr(err, path("none.pem")));
	assert_int_equal(http_tls_open(path("junk"), path("a.key"), NULL, &t, err),
	                 HTTP_TLS_EPARSE);
	assert_non_null(strstr(err, path("junk")));
	assert_int_equal(http_tls_open(path("a.pem"), path("a.pem"), NULL, &t, err),
	                 HTTP_TLS_EPARSE);
	assert_non_null(strstr(err, "the key"));
	assert_int_equal(http_tls_open(path("a.pem"), path("b.key"), NULL, &t, err),
	                 HTTP_TLS_EPARSE);
	assert_non_null(strstr(err, "does not go with"));
	assert_int_equal(http_tls_open(path("a.pem"), path("a.key"), path("junk"), &t, err),
	                 HTTP_TLS_EPARSE);
	assert_non_null(strstr(err, "client CA"));
	big = calloc(1, HTTP_TLS_FILE_MAX + 2);
	assert_non_null(big);
	memset(big, 'x', HTTP_TLS_FILE_MAX + 1);
	put("big", big);
	free(big);
	assert_int_equal(http_tls_open(path("big"), path("a.key"), NULL, &t, err), HTTP_TLS_EREAD);
	assert_non_null(strstr(err, "over"));
	assert_null(t);
}

/* A reload swaps what new handshakes get; one that fails keeps the old. */
static void test_reload_swaps_or_keeps(void **state)
{
	struct http_tls *t = NULL;
	char err[HTTP_TLS_ERR_MAX];

	(void)state;
	put("cur.pem", A_PEM);
	put("cur.key", A_KEY);
	assert_int_equal(http_tls_open(path("cur.pem"), path("cur.key"), path("a.pem"), &t, err),
	                 HTTP_TLS_OK);
	assert_non_null(strstr(http_tls_client_ca_pem(t), "BEGIN CERTIFICATE"));
	http_tls_activate(t);
	put("cur.pem", B_PEM);
	put("cur.key", B_KEY);
	assert_int_equal(http_tls_reload(t, err), HTTP_TLS_OK);
	assert_true(serves(B_PEM));
	put("cur.pem", A_PEM); /* the key is still b's */
	assert_int_equal(http_tls_reload(t, err), HTTP_TLS_EPARSE);
	assert_non_null(strstr(err, path("cur.key")));
	assert_true(serves(B_PEM));
	unlink(path("cur.key"));
	assert_int_equal(http_tls_reload(t, err), HTTP_TLS_EREAD);
	assert_true(serves(B_PEM));
	http_tls_free(t);
}

static void test_no_session_is_not_verified(void **state)
{
	char why[HTTP_TLS_ERR_MAX];

	(void)state;
	assert_false(http_tls_verify_client(NULL, why));
	assert_non_null(strstr(why, "not a TLS connection"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loads_and_serves_the_certificate),
	    cmocka_unit_test(test_refusals_name_the_file),
	    cmocka_unit_test(test_reload_swaps_or_keeps),
	    cmocka_unit_test(test_no_session_is_not_verified),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
