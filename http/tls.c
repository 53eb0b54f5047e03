/* The client port's TLS credentials: loading, reloading, serving them per
 * handshake, and verifying a client certificate. See tls.h for the contract.
 *
 * Invariants:
 *   T-1 t->cur always holds a certificate chain and its matching key.
 *   T-2 a credential set, once served to a handshake, is freed only by
 *       http_tls_free() (GnuTLS borrows it for the session).
 */
#include "tls.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/x509.h>

struct creds {
	gnutls_pcert_st chain[HTTP_TLS_CHAIN_MAX];
	unsigned n;
	gnutls_privkey_t key;
	struct creds *older; /* replaced sets, kept per T-2 */
};

struct http_tls {
	pthread_mutex_t mu;
	struct creds *cur; /* T-1 */
	unsigned reloads;
	char *cert_file, *key_file;
	char *client_ca; /* PEM text, or NULL */
};

static struct http_tls *active;

static int fail(char *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, HTTP_TLS_ERR_MAX, fmt, ap);
	va_end(ap);
	return code;
}

/* Reads PATH whole, NUL-terminated, up to HTTP_TLS_FILE_MAX bytes. */
static int read_file(const char *path, const char *what, gnutls_datum_t *out, char *err)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f)
		return fail(err, HTTP_TLS_EREAD, "cannot read the %s %s: %s", what, path,
		            strerror(errno));
	buf = malloc(HTTP_TLS_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		return fail(err, HTTP_TLS_ENOMEM, "out of memory reading %s", path);
	}
	n = fread(buf, 1, HTTP_TLS_FILE_MAX + 1, f);
	if (ferror(f) || n > HTTP_TLS_FILE_MAX) {
		int e = errno;

		fclose(f);
		free(buf);
		if (n > HTTP_TLS_FILE_MAX)
			return fail(err, HTTP_TLS_EREAD, "the %s %s is over %u bytes", what, path,
			            HTTP_TLS_FILE_MAX);
		return fail(err, HTTP_TLS_EREAD, "cannot read the %s %s: %s", what, path,
		            strerror(e));
	}
	fclose(f);
	buf[n] = '\0';
	out->data = (unsigned char *)buf;
	out->size = (unsigned)n;
	return HTTP_TLS_OK;
}

static void creds_free(struct creds *c)
{
	while (c) {
		struct creds *older = c->older;

		for (unsigned i = 0; i < c->n; i++)
			gnutls_pcert_deinit(&c->chain[i]);
		if (c->key)
			gnutls_privkey_deinit(c->key);
		free(c);
		c = older;
	}
}

/* Parses the chain and the key, and checks that they belong together. */
static int creds_parse(const gnutls_datum_t *cert, const gnutls_datum_t *key,
                       const struct http_tls *t, struct creds **out, char *err)
{
	struct creds *c = calloc(1, sizeof(*c));
	gnutls_certificate_credentials_t check = NULL;
	int rc;

	if (!c)
		return fail(err, HTTP_TLS_ENOMEM, "out of memory");
	c->n = HTTP_TLS_CHAIN_MAX;
	rc = gnutls_pcert_list_import_x509_raw(c->chain, &c->n, cert, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || c->n == 0) {
		c->n = 0;
		creds_free(c);
		return fail(err, HTTP_TLS_EPARSE,
		            "the certificate %s is not a PEM chain of at most %d: %s", t->cert_file,
		            HTTP_TLS_CHAIN_MAX, gnutls_strerror(rc));
	}
	if ((rc = gnutls_privkey_init(&c->key)) < 0 ||
	    (rc = gnutls_privkey_import_x509_raw(c->key, key, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		creds_free(c);
		return fail(err, HTTP_TLS_EPARSE, "the key %s is not an unencrypted PEM key: %s",
		            t->key_file, gnutls_strerror(rc));
	}
	/* GnuTLS checks that the key is the certificate's when it loads both. */
	if ((rc = gnutls_certificate_allocate_credentials(&check)) < 0 ||
	    (rc = gnutls_certificate_set_x509_key_mem2(check, cert, key, GNUTLS_X509_FMT_PEM, NULL,
	                                               0)) < 0) {
		if (check)
			gnutls_certificate_free_credentials(check);
		creds_free(c);
		return fail(err, HTTP_TLS_EPARSE,
		            "the key %s does not go with the certificate %s: %s", t->key_file,
		            t->cert_file, gnutls_strerror(rc));
	}
	gnutls_certificate_free_credentials(check);
	*out = c;
	return HTTP_TLS_OK;
}

static int creds_load(const struct http_tls *t, struct creds **out, char *err)
{
	gnutls_datum_t cert = {NULL, 0}, key = {NULL, 0};
	int rc;

	if ((rc = read_file(t->cert_file, "certificate", &cert, err)) == HTTP_TLS_OK &&
	    (rc = read_file(t->key_file, "key", &key, err)) == HTTP_TLS_OK)
		rc = creds_parse(&cert, &key, t, out, err);
	free(cert.data);
	if (key.data) /* the key's text does not outlive the load */
		memset(key.data, 0, key.size);
	free(key.data);
	return rc;
}

/* Reads and checks the client CA file: at least one PEM certificate. */
static int client_ca_load(const char *path, char **out, char *err)
{
	gnutls_datum_t pem;
	gnutls_x509_crt_t *list = NULL;
	unsigned n = 0;
	int rc = read_file(path, "client CA", &pem, err);

	if (rc != HTTP_TLS_OK)
		return rc;
	rc = gnutls_x509_crt_list_import2(&list, &n, &pem, GNUTLS_X509_FMT_PEM, 0);
	for (unsigned i = 0; rc >= 0 && i < n; i++)
		gnutls_x509_crt_deinit(list[i]);
	gnutls_free(list);
	if (rc < 0 || n == 0) {
		free(pem.data);
		return fail(err, HTTP_TLS_EPARSE, "the client CA %s holds no PEM certificate: %s",
		            path, rc < 0 ? gnutls_strerror(rc) : "empty");
	}
	*out = (char *)pem.data;
	return HTTP_TLS_OK;
}

int http_tls_open(const char *cert_file, const char *key_file, const char *client_ca_file,
                  struct http_tls **out, char err[HTTP_TLS_ERR_MAX])
{
	struct http_tls *t = calloc(1, sizeof(*t));
	int rc = HTTP_TLS_ENOMEM;

	if (!t)
		return fail(err, HTTP_TLS_ENOMEM, "out of memory");
	t->cert_file = strdup(cert_file);
	t->key_file = strdup(key_file);
	if (!t->cert_file || !t->key_file) {
		fail(err, rc, "out of memory");
		goto fail_paths;
	}
	if ((rc = creds_load(t, &t->cur, err)) != HTTP_TLS_OK)
		goto fail_paths;
	if (client_ca_file && (rc = client_ca_load(client_ca_file, &t->client_ca, err)) != 0)
		goto fail_creds;
	pthread_mutex_init(&t->mu, NULL);
	*out = t;
	return HTTP_TLS_OK;
fail_creds:
	creds_free(t->cur);
fail_paths:
	free(t->cert_file);
	free(t->key_file);
	free(t);
	return rc;
}

int http_tls_reload(struct http_tls *t, char err[HTTP_TLS_ERR_MAX])
{
	struct creds *c;
	int rc;

	if (t->reloads == HTTP_TLS_RELOADS_MAX)
		return fail(err, HTTP_TLS_ELIMIT,
		            "%d reloads since start: restart the node to reload",
		            HTTP_TLS_RELOADS_MAX);
	if ((rc = creds_load(t, &c, err)) != HTTP_TLS_OK)
		return rc;
	pthread_mutex_lock(&t->mu);
	c->older = t->cur; /* T-2 */
	t->cur = c;
	t->reloads++;
	pthread_mutex_unlock(&t->mu);
	return HTTP_TLS_OK;
}

void http_tls_free(struct http_tls *t)
{
	if (!t)
		return;
	if (active == t)
		http_tls_activate(NULL);
	creds_free(t->cur);
	free(t->client_ca);
	free(t->cert_file);
	free(t->key_file);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

const char *http_tls_client_ca_pem(const struct http_tls *t)
{
	return t->client_ca;
}

void http_tls_activate(struct http_tls *t)
{
	__atomic_store_n(&active, t, __ATOMIC_RELEASE);
}

int http_tls_cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                           const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                           gnutls_pcert_st **pcert, unsigned int *pcert_length,
                           gnutls_privkey_t *privkey)
{
	struct http_tls *t = __atomic_load_n(&active, __ATOMIC_ACQUIRE);

	(void)session;
	(void)req_ca_rdn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	if (!t)
		return -1; /* the handshake fails */
	pthread_mutex_lock(&t->mu);
	*pcert = t->cur->chain;
	*pcert_length = t->cur->n;
	*privkey = t->cur->key;
	pthread_mutex_unlock(&t->mu);
	return 0;
}

bool http_tls_verify_client(void *session, char why[HTTP_TLS_ERR_MAX])
{
	gnutls_session_t s = session;
	unsigned status = 0, n = 0;
	gnutls_datum_t text = {NULL, 0};
	int rc;

	if (!s) {
		fail(why, 0, "not a TLS connection");
		return false;
	}
	if (gnutls_certificate_get_peers(s, &n) == NULL || n == 0) {
		fail(why, 0, "a client certificate is required");
		return false;
	}
	/* Both the result and the status: a certificate that verifies "fine"
	 * with status bits set (untrusted, expired, revoked) is refused. */
	rc = gnutls_certificate_verify_peers3(s, NULL, &status);
	if (rc < 0) {
		fail(why, 0, "the client certificate cannot be verified: %s", gnutls_strerror(rc));
		return false;
	}
	if (status != 0) {
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text,
		                                                 0) == 0) {
			fail(why, 0, "the client certificate is refused: %s",
			     (const char *)text.data);
			gnutls_free(text.data);
		} else {
			fail(why, 0, "the client certificate is refused (status 0x%x)", status);
		}
		return false;
	}
	return true;
}
