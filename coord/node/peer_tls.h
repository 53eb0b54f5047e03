/* peer_tls.h: mutual TLS for one peer connection, over memory buffers
 * (GnuTLS), so that the transport's libuv streams carry ciphertext and its
 * frame parser sees plaintext (issue 17, peer TLS; DESIGN.md rule 13).
 *
 * A link is one side of one connection: the dialler is the TLS client, the
 * acceptor the server. Both present a certificate and both require one
 * from the other, signed by the peer CA (--peer-ca); a peer whose
 * certificate does not verify fails the handshake, before any frame of
 * its is delivered. No host name is checked: peers are named by the
 * configuration's addresses, and the CA is the cluster's own.
 *
 * The owner moves bytes both ways and never blocks:
 *   - ciphertext that arrived: peer_tls_feed();
 *   - then peer_tls_read() until it answers 0 bytes: it runs the handshake
 *     while it is not done, then decrypts records into plaintext;
 *   - plaintext to send (only once peer_tls_ready()): peer_tls_write();
 *   - after any of these, ciphertext to send waits in peer_tls_output();
 *     the owner writes it to the stream and calls peer_tls_consumed().
 * Any error is final for the link: the owner closes the connection.
 *
 * Credentials are loaded once (peer_tls_creds_load) and shared by every
 * link of the transport; the owner frees them after the last link. */
#ifndef COORD_PEER_TLS_H
#define COORD_PEER_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEER_TLS_ERR_MAX   256         /* bytes of an error text */
#define PEER_TLS_INPUT_MAX (1u << 20)  /* ciphertext fed and not yet decrypted */
#define PEER_TLS_WRITE_MAX (16u << 10) /* plaintext bytes per TLS record */

enum peer_tls_err {
	PEER_TLS_OK = 0,
	PEER_TLS_ELOAD,  /* a certificate, key or CA file cannot be used */
	PEER_TLS_EPEER,  /* the peer's certificate is missing or does not verify */
	PEER_TLS_EPROTO, /* the peer broke the TLS protocol, or closed it */
	PEER_TLS_ELIMIT, /* over PEER_TLS_INPUT_MAX buffered */
	PEER_TLS_ESTATE, /* a write before the handshake is done */
	PEER_TLS_ENOMEM
};

struct peer_tls_creds;
struct peer_tls;

/* Loads CERT_FILE (PEM chain, leaf first), KEY_FILE (PEM key) and CA_FILE
 * (PEM: the CA that signs every peer). On error ERR names the file and the
 * reason, and *OUT is NULL. */
int peer_tls_creds_load(const char *cert_file, const char *key_file, const char *ca_file,
                        struct peer_tls_creds **out, char err[PEER_TLS_ERR_MAX]);
void peer_tls_creds_free(struct peer_tls_creds *c);

/* A link of one connection: SERVER for an accepted one, else the dialler's.
 * C is borrowed for the link's life. */
int peer_tls_new(struct peer_tls_creds *c, bool server, struct peer_tls **out);
void peer_tls_free(struct peer_tls *l);

/* Ciphertext that arrived, copied. PEER_TLS_ELIMIT past PEER_TLS_INPUT_MAX. */
int peer_tls_feed(struct peer_tls *l, const void *in, size_t len);

/* Advances the handshake, then decrypts what was fed into OUT (CAP bytes):
 * *GOT plaintext bytes, 0 when nothing more can be read for now. */
int peer_tls_read(struct peer_tls *l, void *out, size_t cap, size_t *got);

/* True once the handshake is done and the peer's certificate verified. */
bool peer_tls_ready(const struct peer_tls *l);

/* Encrypts LEN plaintext bytes into records (in peer_tls_output()). */
int peer_tls_write(struct peer_tls *l, const void *p, size_t len);

/* The ciphertext waiting to be sent (*LEN bytes, NULL when none), and how
 * much of it the owner took. */
const uint8_t *peer_tls_output(const struct peer_tls *l, size_t *len);
void peer_tls_consumed(struct peer_tls *l, size_t n);

/* Why the link failed, for the log (never key material). */
const char *peer_tls_error(const struct peer_tls *l);

#endif
