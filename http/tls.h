/* tls.h: the client port's TLS credentials (GnuTLS, as libmicrohttpd uses):
 * loading the certificate and key from PEM files, reloading them on demand,
 * handing them to each new handshake, and verifying a client's certificate.
 *
 * The server certificate is given per handshake through libmicrohttpd's
 * MHD_OPTION_HTTPS_CERT_CALLBACK (http_tls_cert_callback), so a reload takes
 * effect for new handshakes without restarting the daemon; connections
 * already open keep the certificate they were made with.
 *
 * The client CA is loaded once (http_tls_open) and handed to libmicrohttpd
 * as MHD_OPTION_HTTPS_MEM_TRUST, which loads it into the daemon's own
 * credentials at start: it is not reloaded (libmicrohttpd 0.9.75 gives no
 * way to replace the daemon's trust list). libmicrohttpd only *requests* a
 * client certificate; http_tls_verify_client() is what requires one.
 *
 * Threads: http_tls_reload() may run on any thread while handshakes run on
 * libmicrohttpd's threads; the current credentials are swapped under a
 * mutex. Replaced credentials are kept until http_tls_free(): GnuTLS may
 * still point at them from a handshake in progress. One server with TLS per
 * process (the callback has no context argument).
 *
 * No key material is ever logged; errors name the file and the reason. */
#ifndef COORD_HTTP_TLS_H
#define COORD_HTTP_TLS_H

#include <stdbool.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#define HTTP_TLS_FILE_MAX    (256u << 10) /* bytes of one PEM file */
#define HTTP_TLS_CHAIN_MAX   8            /* certificates in --tls-cert (leaf first) */
#define HTTP_TLS_RELOADS_MAX 1024         /* reloads kept until stop (each a few KiB) */
#define HTTP_TLS_ERR_MAX     512

enum http_tls_err {
	HTTP_TLS_OK = 0,
	HTTP_TLS_EREAD,  /* a file cannot be read, or is over HTTP_TLS_FILE_MAX */
	HTTP_TLS_EPARSE, /* a file is not a PEM certificate / key, or they do not match */
	HTTP_TLS_ELIMIT, /* HTTP_TLS_RELOADS_MAX reached: restart the node */
	HTTP_TLS_ENOMEM,
};

struct http_tls;

/* Loads CERT_FILE (a PEM chain, leaf first) and KEY_FILE (a PEM private key,
 * unencrypted), and CLIENT_CA_FILE (PEM, NULL for none). Paths are copied,
 * to be read again by http_tls_reload. On error ERR names the file and the
 * reason and nothing is kept. Caller frees *OUT with http_tls_free(). */
int http_tls_open(const char *cert_file, const char *key_file, const char *client_ca_file,
                  struct http_tls **out, char err[HTTP_TLS_ERR_MAX]);

/* Reads the certificate and key files again; new handshakes use them. On
 * error the current ones stay in use and ERR says why. */
int http_tls_reload(struct http_tls *t, char err[HTTP_TLS_ERR_MAX]);

/* Frees T. No handshake may be running (the daemon is stopped). */
void http_tls_free(struct http_tls *t);

/* The client CA's PEM text for MHD_OPTION_HTTPS_MEM_TRUST, or NULL when no
 * client certificate is required. Borrowed for T's life. */
const char *http_tls_client_ca_pem(const struct http_tls *t);

/* The gnutls_certificate_retrieve_function2 for MHD_OPTION_HTTPS_CERT_CALLBACK:
 * it serves the current credentials of the T given to http_tls_activate
 * (borrowed by GnuTLS; see "Threads" above). */
int http_tls_cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                           const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                           gnutls_pcert_st **pcert, unsigned int *pcert_length,
                           gnutls_privkey_t *privkey);
/* Makes T the credentials http_tls_cert_callback serves (NULL: none). */
void http_tls_activate(struct http_tls *t);

/* Whether the client of the GnuTLS session SESSION (a gnutls_session_t, from
 * MHD_CONNECTION_INFO_GNUTLS_SESSION) presented a certificate that verifies
 * against the client CA: the verification must succeed and report no
 * problem; no certificate is a failure. On false, WHY (HTTP_TLS_ERR_MAX)
 * says what was wrong, for the client. */
bool http_tls_verify_client(void *session, char why[HTTP_TLS_ERR_MAX]);

#endif
