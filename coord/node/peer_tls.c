/* peer_tls.c: mutual TLS over memory buffers (peer_tls.h), with GnuTLS's
 * custom transport: its push function appends ciphertext to the output
 * buffer, its pull function reads what peer_tls_feed() copied in and says
 * EAGAIN when nothing is there, so no call ever blocks. */
#include "peer_tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

struct peer_tls_creds {
	gnutls_certificate_credentials_t cred;
};

/* A byte buffer: [off, len) is what is still to be taken. */
struct buf {
	uint8_t *p;
	size_t off, len, cap;
};

struct peer_tls {
	gnutls_session_t s;
	bool handshaken;
	struct buf in, out;
	char err[PEER_TLS_ERR_MAX];
};

static int buf_append(struct buf *b, const void *p, size_t n)
{
	if (b->off > 0 && b->off == b->len) /* all taken: start over */
		b->off = b->len = 0;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *q;

		if (b->off > 0) { /* slide what is left to the front first */
			memmove(b->p, b->p + b->off, b->len - b->off);
			b->len -= b->off;
			b->off = 0;
		}
		while (cap < b->len + n)
			cap *= 2;
		if (cap > b->cap) {
			q = realloc(b->p, cap);
			if (!q)
				return -1;
			b->p = q;
			b->cap = cap;
		}
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static size_t buf_size(const struct buf *b)
{
	return b->len - b->off;
}

static ssize_t push(gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
	struct peer_tls *l = ptr;

	if (buf_append(&l->out, data, len) != 0) {
		gnutls_transport_set_errno(l->s, ENOMEM);
		return -1;
	}
	return (ssize_t)len;
}

static ssize_t pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
	struct peer_tls *l = ptr;
	size_t n = buf_size(&l->in);

	if (n == 0) {
		gnutls_transport_set_errno(l->s, EAGAIN);
		return -1;
	}
	if (n > len)
		n = len;
	memcpy(data, l->in.p + l->in.off, n);
	l->in.off += n;
	return (ssize_t)n;
}

/* Never waits: data is there now, or it is not. */
static int pull_timeout(gnutls_transport_ptr_t ptr, unsigned ms)
{
	struct peer_tls *l = ptr;

	(void)ms;
	return buf_size(&l->in) > 0 ? 1 : 0;
}

static int fail(struct peer_tls *l, int code, const char *what, int rc)
{
	snprintf(l->err, sizeof(l->err), "%s: %s", what, gnutls_strerror(rc));
	return code;
}

int peer_tls_creds_load(const char *cert_file, const char *key_file, const char *ca_file,
                        struct peer_tls_creds **out, char err[PEER_TLS_ERR_MAX])
{
	struct peer_tls_creds *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (!c || gnutls_certificate_allocate_credentials(&c->cred) != GNUTLS_E_SUCCESS) {
		free(c);
		snprintf(err, PEER_TLS_ERR_MAX, "out of memory");
		return PEER_TLS_ENOMEM;
	}
	rc =
	    gnutls_certificate_set_x509_key_file(c->cred, cert_file, key_file, GNUTLS_X509_FMT_PEM);
	if (rc < 0) {
		snprintf(err, PEER_TLS_ERR_MAX, "%s, %s: %s", cert_file, key_file,
		         gnutls_strerror(rc));
		goto fail;
	}
	rc = gnutls_certificate_set_x509_trust_file(c->cred, ca_file, GNUTLS_X509_FMT_PEM);
	if (rc <= 0) { /* the number of CAs loaded: none is an error too */
		snprintf(err, PEER_TLS_ERR_MAX, "%s: %s", ca_file,
		         rc == 0 ? "no certificate in it" : gnutls_strerror(rc));
		goto fail;
	}
	*out = c;
	return PEER_TLS_OK;
fail:
	peer_tls_creds_free(c);
	return PEER_TLS_ELOAD;
}

void peer_tls_creds_free(struct peer_tls_creds *c)
{
	if (!c)
		return;
	gnutls_certificate_free_credentials(c->cred);
	free(c);
}

int peer_tls_new(struct peer_tls_creds *c, bool server, struct peer_tls **out)
{
	struct peer_tls *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (!l)
		return PEER_TLS_ENOMEM;
	if (gnutls_init(&l->s, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK) !=
	    GNUTLS_E_SUCCESS) {
		free(l);
		return PEER_TLS_ENOMEM;
	}
	if (gnutls_set_default_priority(l->s) != GNUTLS_E_SUCCESS ||
	    gnutls_credentials_set(l->s, GNUTLS_CRD_CERTIFICATE, c->cred) != GNUTLS_E_SUCCESS) {
		peer_tls_free(l);
		return PEER_TLS_ENOMEM;
	}
	if (server) /* mutual: a peer without a certificate is refused */
		gnutls_certificate_server_set_request(l->s, GNUTLS_CERT_REQUIRE);
	/* The handshake verifies the peer's chain against the peer CA; no host
	 * name (peers are the configuration's addresses, the CA the cluster's). */
	gnutls_session_set_verify_cert(l->s, NULL, 0);
	gnutls_handshake_set_timeout(l->s, 0); /* the transport times HELLOs */
	gnutls_transport_set_ptr(l->s, l);
	gnutls_transport_set_push_function(l->s, push);
	gnutls_transport_set_pull_function(l->s, pull);
	gnutls_transport_set_pull_timeout_function(l->s, pull_timeout);
	*out = l;
	return PEER_TLS_OK;
}

void peer_tls_free(struct peer_tls *l)
{
	if (!l)
		return;
	gnutls_deinit(l->s);
	free(l->in.p);
	free(l->out.p);
	free(l);
}

int peer_tls_feed(struct peer_tls *l, const void *in, size_t len)
{
	if (buf_size(&l->in) + len > PEER_TLS_INPUT_MAX) {
		snprintf(l->err, sizeof(l->err), "over %u bytes of ciphertext buffered",
		         PEER_TLS_INPUT_MAX);
		return PEER_TLS_ELIMIT;
	}
	if (buf_append(&l->in, in, len) != 0)
		return PEER_TLS_ENOMEM;
	return PEER_TLS_OK;
}

static bool peer_refused(int rc)
{
	return rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR || rc == GNUTLS_E_CERTIFICATE_ERROR ||
	       rc == GNUTLS_E_NO_CERTIFICATE_FOUND || rc == GNUTLS_E_CERTIFICATE_REQUIRED;
}

int peer_tls_read(struct peer_tls *l, void *out, size_t cap, size_t *got)
{
	ssize_t n;
	int rc;

	*got = 0;
	if (!l->handshaken) {
		rc = gnutls_handshake(l->s);
		if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
			return PEER_TLS_OK;
		if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED) {
			snprintf(l->err, sizeof(l->err), "handshake: the peer refused it (%s)",
			         gnutls_alert_get_name(gnutls_alert_get(l->s)));
			return PEER_TLS_EPEER;
		}
		if (rc < 0)
			return fail(l, peer_refused(rc) ? PEER_TLS_EPEER : PEER_TLS_EPROTO,
			            "handshake", rc);
		l->handshaken = true;
	}
	n = gnutls_record_recv(l->s, out, cap);
	if (n > 0) {
		*got = (size_t)n;
		return PEER_TLS_OK;
	}
	if (n == 0) {
		snprintf(l->err, sizeof(l->err), "the peer closed the TLS session");
		return PEER_TLS_EPROTO;
	}
	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal((int)n))
		return PEER_TLS_OK;
	return fail(l, PEER_TLS_EPROTO, "record", (int)n);
}

bool peer_tls_ready(const struct peer_tls *l)
{
	return l->handshaken;
}

int peer_tls_write(struct peer_tls *l, const void *p, size_t len)
{
	const uint8_t *at = p;

	if (!l->handshaken) {
		snprintf(l->err, sizeof(l->err), "a write before the handshake is done");
		return PEER_TLS_ESTATE;
	}
	while (len > 0) {
		size_t chunk = len < PEER_TLS_WRITE_MAX ? len : PEER_TLS_WRITE_MAX;
		ssize_t n = gnutls_record_send(l->s, at, chunk);

		/* push never says EAGAIN: a record is either out or failed. */
		if (n < 0)
			return fail(l,
			            n == GNUTLS_E_MEMORY_ERROR ? PEER_TLS_ENOMEM : PEER_TLS_EPROTO,
			            "write", (int)n);
		at += n;
		len -= (size_t)n;
	}
	return PEER_TLS_OK;
}

const uint8_t *peer_tls_output(const struct peer_tls *l, size_t *len)
{
	*len = buf_size(&l->out);
	return *len ? l->out.p + l->out.off : NULL;
}

void peer_tls_consumed(struct peer_tls *l, size_t n)
{
	l->out.off += n <= buf_size(&l->out) ? n : buf_size(&l->out);
}

const char *peer_tls_error(const struct peer_tls *l)
{
	return l->err[0] ? l->err : "no error";
}
