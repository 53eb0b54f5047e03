/* Mutual TLS of a peer connection over memory buffers (peer_tls.h): two
 * links are wired back to back by this test, which moves the ciphertext
 * between them in small pieces, as a stream would. The certificates are
 * fixtures (tests/unit/node/peer_tls/README). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "peer_tls.h"

#define FIX(name) PEER_TLS_FIXTURES "/" name
#define PIECE     700          /* ciphertext moved per step, like a short read */
#define MESSAGE   (100u << 10) /* bytes of plaintext sent each way */
#define STEPS_MAX 100000       /* a pump that goes on longer is a bug */

struct side {
	struct peer_tls_creds *creds;
	struct peer_tls *l;
	uint8_t *got; /* plaintext received */
	size_t n_got;
	int rc; /* the first error, or PEER_TLS_OK */
};

static struct peer_tls_creds *load(const char *who)
{
	char cert[256], key[256], err[PEER_TLS_ERR_MAX];
	struct peer_tls_creds *c;

	snprintf(cert, sizeof(cert), PEER_TLS_FIXTURES "/%s.pem", who);
	snprintf(key, sizeof(key), PEER_TLS_FIXTURES "/%s.key", who);
	assert_int_equal(peer_tls_creds_load(cert, key, FIX("ca.pem"), &c, err), PEER_TLS_OK);
	return c;
}

static void side_open(struct side *s, const char *who, bool server)
{
	memset(s, 0, sizeof(*s));
	s->creds = load(who);
	assert_int_equal(peer_tls_new(s->creds, server, &s->l), PEER_TLS_OK);
	s->got = malloc(MESSAGE);
	assert_non_null(s->got);
}

static void side_close(struct side *s)
{
	peer_tls_free(s->l);
	peer_tls_creds_free(s->creds);
	free(s->got);
}

/* Reads all A can decrypt now. */
static void drain(struct side *a)
{
	size_t got;

	while (a->rc == PEER_TLS_OK) {
		a->rc = peer_tls_read(a->l, a->got + a->n_got, MESSAGE - a->n_got, &got);
		if (got == 0)
			break;
		a->n_got += got;
	}
}

/* Moves at most PIECE bytes of A's output into B. True if any moved. */
static bool move(struct side *a, struct side *b)
{
	size_t len;
	const uint8_t *p = peer_tls_output(a->l, &len);

	if (!p || b->rc != PEER_TLS_OK)
		return false;
	len = len < PIECE ? len : PIECE;
	b->rc = peer_tls_feed(b->l, p, len);
	peer_tls_consumed(a->l, len);
	return true;
}

/* Runs both sides until nothing moves or one fails. */
static void pump(struct side *c, struct side *s)
{
	for (int i = 0; i < STEPS_MAX; i++) {
		drain(c);
		drain(s);
		if (!move(c, s) && !move(s, c))
			return;
	}
	fail_msg("the links never settle");
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 31);
}

static void peers_of_one_ca_talk_both_ways(void **state)
{
	struct side c, s;
	uint8_t *msg = malloc(MESSAGE);

	(void)state;
	side_open(&c, "node1", false);
	side_open(&s, "node2", true);
	assert_false(peer_tls_ready(c.l));
	pump(&c, &s);
	assert_int_equal(c.rc, PEER_TLS_OK);
	assert_int_equal(s.rc, PEER_TLS_OK);
	assert_true(peer_tls_ready(c.l) && peer_tls_ready(s.l));
	fill(msg, MESSAGE, 1);
	assert_int_equal(peer_tls_write(c.l, msg, MESSAGE), PEER_TLS_OK);
	fill(msg, MESSAGE, 2);
	assert_int_equal(peer_tls_write(s.l, msg, MESSAGE), PEER_TLS_OK);
	pump(&c, &s);
	assert_int_equal(s.n_got, MESSAGE);
	assert_int_equal(c.n_got, MESSAGE);
	fill(msg, MESSAGE, 1);
	assert_memory_equal(s.got, msg, MESSAGE);
	fill(msg, MESSAGE, 2);
	assert_memory_equal(c.got, msg, MESSAGE);
	free(msg);
	side_close(&c);
	side_close(&s);
}

/* A rogue node (a certificate from another CA) dials: the handshake fails
 * on the side that checks it, and nothing it sends is ever read. */
static void a_peer_of_another_ca_is_refused_either_way(void **state)
{
	for (int rogue_dials = 0; rogue_dials <= 1; rogue_dials++) {
		struct side c, s;
		struct side *good = rogue_dials ? &s : &c;

		(void)state;
		side_open(&c, rogue_dials ? "rogue" : "node1", false);
		side_open(&s, rogue_dials ? "node2" : "rogue", true);
		pump(&c, &s);
		assert_int_equal(good->rc, PEER_TLS_EPEER);
		assert_false(peer_tls_ready(good->l));
		assert_int_equal(good->n_got, 0);
		assert_non_null(strstr(peer_tls_error(good->l), "handshake"));
		/* And the checking side never sends a frame to it. */
		assert_int_equal(peer_tls_write(good->l, "x", 1), PEER_TLS_ESTATE);
		side_close(&c);
		side_close(&s);
	}
}

/* A peer that speaks plain frames to a TLS port: the link fails, and the
 * bytes are never taken for plaintext. */
static void plain_bytes_are_not_tls(void **state)
{
	static const uint8_t plain_hello[] = {41, 0, 0, 0, 1, 3, 7, 0, 0, 0, 0, 0, 0, 0, 2, 'c'};
	struct side s;

	(void)state;
	side_open(&s, "node2", true);
	assert_int_equal(peer_tls_feed(s.l, plain_hello, sizeof(plain_hello)), PEER_TLS_OK);
	drain(&s);
	assert_int_equal(s.rc, PEER_TLS_EPROTO);
	assert_int_equal(s.n_got, 0);
	side_close(&s);
}

static void buffered_ciphertext_is_bounded(void **state)
{
	struct side s;
	uint8_t *junk = calloc(1, PEER_TLS_INPUT_MAX);

	(void)state;
	side_open(&s, "node2", true);
	assert_int_equal(peer_tls_feed(s.l, junk, PEER_TLS_INPUT_MAX), PEER_TLS_OK);
	assert_int_equal(peer_tls_feed(s.l, junk, 1), PEER_TLS_ELIMIT);
	free(junk);
	side_close(&s);
}

static void unusable_files_are_named(void **state)
{
	struct peer_tls_creds *c = (struct peer_tls_creds *)1;
	char err[PEER_TLS_ERR_MAX];

	(void)state;
	assert_int_equal(
	    peer_tls_creds_load(FIX("missing.pem"), FIX("node1.key"), FIX("ca.pem"), &c, err),
	    PEER_TLS_ELOAD);
	assert_null(c);
	assert_non_null(strstr(err, "missing.pem"));
	/* A key that is not the certificate's. */
	assert_int_equal(
	    peer_tls_creds_load(FIX("node1.pem"), FIX("node2.key"), FIX("ca.pem"), &c, err),
	    PEER_TLS_ELOAD);
	assert_non_null(strstr(err, "node1.pem"));
	/* A CA file without a certificate. */
	assert_int_equal(
	    peer_tls_creds_load(FIX("node1.pem"), FIX("node1.key"), FIX("node1.key"), &c, err),
	    PEER_TLS_ELOAD);
	assert_non_null(strstr(err, "node1.key"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(peers_of_one_ca_talk_both_ways),
	    cmocka_unit_test(a_peer_of_another_ca_is_refused_either_way),
	    cmocka_unit_test(plain_bytes_are_not_tls),
	    cmocka_unit_test(buffered_ciphertext_is_bounded),
	    cmocka_unit_test(unusable_files_are_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
