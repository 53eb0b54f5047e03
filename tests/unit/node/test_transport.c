/* The peer transport over real loopback TCP, on one libuv loop: HELLO,
 * frames, refusal of other clusters and of garbage, port in use, redial,
 * and the same over mutual TLS (certificates: peer_tls/README). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <uv.h>

#include "peer_tls.h"
#include "transport.h"

struct node {
	struct transport *t;
	uint64_t id;
	char listen[32];
	char http[32];
	/* What arrived. */
	unsigned hellos, frames;
	uint64_t last_from;
	enum transport_kind last_kind;
	char last_payload[64];
	char firsts[32]; /* the first byte of each frame, in arrival order */
	char peer_http[TRANSPORT_ADDR_MAX];
	char cluster[TRANSPORT_CLUSTER_MAX]; /* admits HELLOs of this cluster only */
	bool peer_sealing;                   /* what the last admitted HELLO said */
	uint8_t peer_lists;
	uint64_t peer_conf_index;
	uint64_t peer_folder, peer_binds;
	bool stopped;
};

static uv_loop_t loop;
static int base_port;

static void on_frame(void *ctx, uint64_t from, enum transport_kind kind, uint8_t *p, size_t len)
{
	struct node *n = ctx;

	if (n->frames < sizeof(n->firsts) - 1)
		n->firsts[n->frames] = len ? (char)p[0] : '-';
	n->frames++;
	n->last_from = from;
	n->last_kind = kind;
	snprintf(n->last_payload, sizeof(n->last_payload), "%.*s", (int)len, (const char *)p);
}

/* The owner's admission, reduced to "same cluster" (admit.h has the rule). */
static bool on_hello(void *ctx, const struct transport_hello *h)
{
	struct node *n = ctx;

	if (strcmp(h->cluster, n->cluster) != 0)
		return false;
	n->hellos++;
	n->peer_sealing = h->sealing;
	n->peer_lists = h->lists;
	n->peer_conf_index = h->conf_index;
	n->peer_folder = h->folder;
	n->peer_binds = h->binds;
	snprintf(n->peer_http, sizeof(n->peer_http), "%s", h->http);
	return true;
}

/* Every node says it seals its cluster to node 2 only, lists the receiver
 * as a voter bound to folder 0xf000 + its id, holds a configuration as of
 * index 30, and has folder 0xf000 + its own id. */
static void hello_fill(void *ctx, uint64_t to, struct transport_hello *h)
{
	struct node *n = ctx;

	h->sealing = to == 2;
	h->lists = 2;
	h->conf_index = 30;
	h->folder = 0xf000 + n->id;
	h->binds = 0xf000 + to;
}

/* Starts node N; with TLS, its connections use credentials TLS. */
static int node_start_tls(struct node *n, uint64_t id, const char *cluster,
                          struct peer_tls_creds *tls)
{
	struct transport_config cfg = {
	    .id = id,
	    .cluster = cluster,
	    .listen_addr = n->listen,
	    .http_addr = n->http,
	    .on_frame = on_frame,
	    .on_hello = on_hello,
	    .hello_fill = hello_fill,
	    .tls = tls,
	    .ctx = n,
	};

	n->id = id;
	snprintf(n->cluster, sizeof(n->cluster), "%s", cluster);
	snprintf(n->listen, sizeof(n->listen), "127.0.0.1:%d", base_port + (int)id);
	snprintf(n->http, sizeof(n->http), "127.0.0.1:%d", base_port + 100 + (int)id);
	n->stopped = false;
	return transport_start(&loop, &cfg, &n->t);
}

static int node_start(struct node *n, uint64_t id, const char *cluster)
{
	return node_start_tls(n, id, cluster, NULL);
}

static void stopped_cb(void *ctx)
{
	((struct node *)ctx)->stopped = true;
}

static void node_stop(struct node *n)
{
	transport_stop(n->t, stopped_cb, n);
	while (!n->stopped)
		uv_run(&loop, UV_RUN_ONCE);
	transport_free(n->t);
	n->t = NULL;
}

/* Runs the loop until *COUNTER reaches WANT or MS pass. */
static bool run_until(const unsigned *counter, unsigned want, unsigned ms)
{
	uint64_t deadline;

	uv_update_time(&loop);
	deadline = uv_now(&loop) + ms;
	while (*counter < want && uv_now(&loop) < deadline) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(1000);
		uv_update_time(&loop);
	}
	return *counter >= want;
}

static int setup(void **state)
{
	(void)state;
	base_port = 21000 + (int)(getpid() % 2000) * 4;
	return uv_loop_init(&loop);
}

static int teardown(void **state)
{
	(void)state;
	uv_run(&loop, UV_RUN_NOWAIT);
	return uv_loop_close(&loop) == 0 ? 0 : -1;
}

static void test_hello_then_frames(void **state)
{
	struct node a = {0}, b = {0};

	(void)state;
	assert_int_equal(node_start(&a, 1, "c1"), TRANSPORT_OK);
	assert_int_equal(node_start(&b, 2, "c1"), TRANSPORT_OK);
	assert_int_equal(transport_send(a.t, 2, TRANSPORT_RAFT, "x", 1), TRANSPORT_EPEER);
	assert_int_equal(transport_add_peer(a.t, 2, b.listen), TRANSPORT_OK);
	assert_true(run_until(&b.hellos, 1, 3000));
	assert_string_equal(b.peer_http, a.http); /* B learns A's HTTP address */
	assert_true(b.peer_sealing);              /* and what A's owner filled in for B */
	assert_int_equal(b.peer_lists, 2);
	assert_int_equal(b.peer_conf_index, 30);
	assert_int_equal(b.peer_folder, 0xf001); /* A's folder */
	assert_int_equal(b.peer_binds, 0xf002);  /* the folder A binds B to */
	assert_true(transport_connected(a.t, 2));
	assert_int_equal(transport_send(a.t, 2, TRANSPORT_RAFT, "append", 6), TRANSPORT_OK);
	assert_int_equal(transport_send(a.t, 2, TRANSPORT_FORWARD, "put", 3), TRANSPORT_OK);
	assert_true(run_until(&b.frames, 2, 3000));
	assert_int_equal(b.last_from, 1);
	assert_int_equal(b.last_kind, TRANSPORT_FORWARD);
	assert_string_equal(b.last_payload, "put");
	node_stop(&a);
	node_stop(&b);
}

/* Invariant 4: corked frames stay until the uncork, then leave in order;
 * a frame too large for the cork pushes out what was gathered before it. */
static void test_corked_frames_leave_at_uncork_in_order(void **state)
{
	static char big[TRANSPORT_CORK_BYTES + 1000];
	struct node a = {0}, b = {0};

	(void)state;
	memset(big, 'b', sizeof(big));
	assert_int_equal(node_start(&a, 1, "c1"), TRANSPORT_OK);
	assert_int_equal(node_start(&b, 2, "c1"), TRANSPORT_OK);
	assert_int_equal(transport_add_peer(a.t, 2, b.listen), TRANSPORT_OK);
	assert_true(run_until(&b.hellos, 1, 3000));
	assert_true(transport_connected(a.t, 2));

	transport_cork(a.t);
	assert_int_equal(transport_send(a.t, 2, TRANSPORT_RAFT, "1st", 3), TRANSPORT_OK);
	assert_int_equal(transport_send(a.t, 2, TRANSPORT_RAFT, "2nd", 3), TRANSPORT_OK);
	assert_int_equal(transport_send(a.t, 2, TRANSPORT_REPLY, "3rd", 3), TRANSPORT_OK);
	assert_false(run_until(&b.frames, 1, 200)); /* nothing left while corked */
	transport_uncork(a.t);
	assert_true(run_until(&b.frames, 3, 3000));
	assert_string_equal(b.firsts, "123");
	assert_int_equal(b.last_kind, TRANSPORT_REPLY);

	transport_cork(a.t);
	assert_int_equal(transport_send(a.t, 2, TRANSPORT_RAFT, "4th", 3), TRANSPORT_OK);
	assert_int_equal(transport_send(a.t, 2, TRANSPORT_RAFT, big, sizeof(big)), TRANSPORT_OK);
	assert_int_equal(transport_send(a.t, 2, TRANSPORT_RAFT, "5th", 3), TRANSPORT_OK);
	transport_uncork(a.t);
	assert_true(run_until(&b.frames, 6, 3000));
	assert_string_equal(b.firsts, "1234b5");
	node_stop(&a);
	node_stop(&b);
}

static void test_other_cluster_refused(void **state)
{
	struct node a = {0}, b = {0};
	struct transport_stats st;

	(void)state;
	assert_int_equal(node_start(&a, 1, "cluster-a"), TRANSPORT_OK);
	assert_int_equal(node_start(&b, 2, "cluster-b"), TRANSPORT_OK);
	assert_int_equal(transport_add_peer(a.t, 2, b.listen), TRANSPORT_OK);
	(void)run_until(&b.hellos, 1, 300);
	(void)transport_send(a.t, 2, TRANSPORT_RAFT, "append", 6);
	(void)run_until(&b.frames, 1, 300);
	assert_int_equal(b.hellos, 0);
	assert_int_equal(b.frames, 0);
	transport_stats(b.t, &st);
	assert_true(st.bad_peers >= 1);
	node_stop(&a);
	node_stop(&b);
}

/* A raw client that writes BYTES to ADDR's port and closes. */
struct raw {
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_write_t wreq;
	uint8_t bytes[64];
	size_t len;
	bool hang_up; /* close at once, having written BYTES */
	unsigned closed;
};

static void raw_closed(uv_handle_t *h)
{
	((struct raw *)h->data)->closed = 1;
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	free(buf->base);
	if (n < 0) /* the server hung up on us */
		uv_close((uv_handle_t *)s, raw_closed);
}

static void raw_alloc(uv_handle_t *h, size_t sz, uv_buf_t *buf)
{
	(void)h;
	*buf = uv_buf_init(malloc(sz), (unsigned)sz);
}

static void raw_connected(uv_connect_t *req, int status)
{
	struct raw *r = req->data;
	uv_buf_t buf = uv_buf_init((char *)r->bytes, (unsigned)r->len);

	assert_int_equal(status, 0);
	uv_write(&r->wreq, (uv_stream_t *)&r->tcp, &buf, 1, NULL);
	if (r->hang_up)
		uv_close((uv_handle_t *)&r->tcp, raw_closed);
	else
		uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read);
}

static void send_raw(int port, const uint8_t *bytes, size_t len, struct raw *r)
{
	struct sockaddr_in sa;

	memset(r, 0, sizeof(*r));
	assert_true(len <= sizeof(r->bytes));
	memcpy(r->bytes, bytes, len);
	r->len = len;
	uv_ip4_addr("127.0.0.1", port, &sa);
	uv_tcp_init(&loop, &r->tcp);
	r->tcp.data = r;
	r->creq.data = r;
	uv_tcp_connect(&r->creq, &r->tcp, (struct sockaddr *)&sa, raw_connected);
}

static void test_garbage_disconnected(void **state)
{
	static const uint8_t huge_len[] = {0xff, 0xff, 0xff, 0x7f, 2, 'x'};
	static const uint8_t raft_before_hello[] = {2, 0, 0, 0, TRANSPORT_RAFT, 'x'};
	static const uint8_t bad_kind[] = {2, 0, 0, 0, 99, 'x'};
	const uint8_t *cases[] = {huge_len, raft_before_hello, bad_kind};
	struct node b = {0};
	struct transport_stats st;

	(void)state;
	assert_int_equal(node_start(&b, 2, "c1"), TRANSPORT_OK);
	for (size_t i = 0; i < 3; i++) {
		struct raw r;

		send_raw(base_port + 2, cases[i], 6, &r);
		assert_true(run_until(&r.closed, 1, 3000)); /* the node hung up */
	}
	transport_stats(b.t, &st);
	assert_int_equal(st.bad_peers, 3);
	assert_int_equal(b.frames, 0);
	node_stop(&b);
}

/* Invariant 6: a second connection from node 7 that says a valid HELLO
 * closes the first, whose other end (the same node, dialling afresh) is gone. */
static void test_a_new_cluster_id_is_announced_by_redialling(void **state)
{
	struct node a = {0}, b = {0};

	(void)state;
	assert_int_equal(node_start(&a, 1, ""), TRANSPORT_OK); /* an empty data folder */
	assert_int_equal(node_start(&b, 2, "c1"), TRANSPORT_OK);
	assert_int_equal(transport_add_peer(a.t, 2, b.listen), TRANSPORT_OK);
	(void)run_until(&b.hellos, 1, 300);
	assert_int_equal(b.hellos, 0); /* B's owner does not admit "" */
	transport_set_cluster(a.t, "c1");
	assert_true(run_until(&b.hellos, 1, 3000));
	assert_true(transport_has_peer(a.t, 2));
	assert_false(transport_has_peer(a.t, 3));
	node_stop(&a);
	node_stop(&b);
}

/* A peer that left the configuration is cut off both ways: its own dial
 * is closed too, so what it sends next comes with a new HELLO, which the
 * owner now refuses (a stranger). */
static void test_a_removed_peer_is_cut_off_both_ways(void **state)
{
	struct node a = {0}, b = {0};

	(void)state;
	assert_int_equal(node_start(&a, 1, "c1"), TRANSPORT_OK);
	assert_int_equal(node_start(&b, 2, "c1"), TRANSPORT_OK);
	assert_int_equal(transport_add_peer(a.t, 2, b.listen), TRANSPORT_OK);
	assert_int_equal(transport_add_peer(b.t, 1, a.listen), TRANSPORT_OK);
	assert_true(run_until(&b.hellos, 1, 3000));
	assert_int_equal(transport_send(a.t, 2, TRANSPORT_RAFT, "before", 6), TRANSPORT_OK);
	assert_true(run_until(&b.frames, 1, 3000));
	snprintf(b.cluster, sizeof(b.cluster), "gone"); /* B's owner: A is a stranger now */
	transport_remove_peer(b.t, 1);
	assert_false(transport_has_peer(b.t, 1));
	(void)run_until(&a.frames, 1000, 300); /* A sees its connection close */
	(void)transport_send(a.t, 2, TRANSPORT_RAFT, "after", 5);
	(void)run_until(&b.frames, 2, 1500);
	assert_int_equal(b.frames, 1);
	assert_string_equal(b.last_payload, "before");
	node_stop(&a);
	node_stop(&b);
}

static void test_new_hello_supersedes_an_older_connection(void **state)
{
	/* Frame of 41 bytes: HELLO, version 3, node 7, cluster "c1", no
	 * addresses, no flags, lists the receiver as a voter, configuration as
	 * of index 3, folder 0x77, binds the receiver to no folder. */
	static const uint8_t hello[] = {41,  0,   0, 0, TRANSPORT_HELLO,
	                                3,   7,   0, 0, 0,
	                                0,   0,   0, 0, 2,
	                                'c', '1', 0, 0, 0,
	                                2,   3,   0, 0, 0,
	                                0,   0,   0, 0, 0x77,
	                                0,   0,   0, 0, 0,
	                                0,   0,   0, 0, 0,
	                                0,   0,   0, 0, 0};
	struct node b = {0};
	struct raw r1, r2;
	struct transport_stats st;

	(void)state;
	assert_int_equal(node_start(&b, 2, "c1"), TRANSPORT_OK);
	send_raw(base_port + 2, hello, sizeof(hello), &r1);
	assert_true(run_until(&b.hellos, 1, 3000));
	send_raw(base_port + 2, hello, sizeof(hello), &r2);
	assert_true(run_until(&b.hellos, 2, 3000));
	assert_true(run_until(&r1.closed, 1, 3000)); /* the older one was closed */
	(void)run_until(&r2.closed, 1, 300);
	assert_int_equal(r2.closed, 0); /* the newer one stays */
	transport_stats(b.t, &st);
	assert_int_equal(st.superseded, 1);
	assert_int_equal(st.bad_peers, 0);
	uv_close((uv_handle_t *)&r2.tcp, raw_closed);
	node_stop(&b);
	assert_true(run_until(&r2.closed, 1, 3000));
}

/* Invariant 5: a dial whose SYN goes unanswered is abandoned after
 * TRANSPORT_CONNECT_TIMEOUT_MS and redialled. The peer is a listener with a
 * full accept queue (backlog 0, one connection never accepted), so the
 * kernel drops further SYNs, as a partition would. */
static void test_unanswered_dial_is_abandoned(void **state)
{
	struct node a = {0};
	struct sockaddr_in sa;
	struct transport_stats st;
	char addr[32];
	int lfd, filler;
	uint64_t start;
	unsigned timeouts = 0;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)(base_port + 3));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	filler = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(filler, (struct sockaddr *)&sa, sizeof(sa)), 0);

	assert_int_equal(node_start(&a, 1, "c1"), TRANSPORT_OK);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", base_port + 3);
	assert_int_equal(transport_add_peer(a.t, 3, addr), TRANSPORT_OK);
	uv_update_time(&loop);
	start = uv_now(&loop);
	while (timeouts < 2 && uv_now(&loop) - start < 6000) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(1000);
		uv_update_time(&loop);
		transport_stats(a.t, &st);
		timeouts = (unsigned)st.dial_timeouts;
	}
	/* Two abandoned dials: the first timed out and the transport dialled
	 * again by itself. */
	assert_int_equal(timeouts, 2);
	assert_int_equal(st.connects, 0);
	assert_true(uv_now(&loop) - start >= TRANSPORT_CONNECT_TIMEOUT_MS);
	node_stop(&a);
	close(filler);
	close(lfd);
}

static void test_port_in_use(void **state)
{
	struct node a = {0}, a2 = {0};

	(void)state;
	assert_int_equal(node_start(&a, 1, "c1"), TRANSPORT_OK);
	assert_int_equal(node_start(&a2, 1, "c1"), TRANSPORT_ELISTEN);
	node_stop(&a);
}

static void test_limits(void **state)
{
	struct node a = {0};

	(void)state;
	assert_int_equal(node_start(&a, 1, "c1"), TRANSPORT_OK);
	assert_int_equal(transport_add_peer(a.t, 1, "127.0.0.1:1"), TRANSPORT_EPEER); /* itself */
	assert_int_equal(transport_add_peer(a.t, 5, "no-port"), TRANSPORT_EADDR);
	assert_int_equal(transport_add_peer(a.t, 5, "127.0.0.1:99999"), TRANSPORT_EADDR);
	/* Nobody listens there: not connected, so nothing is queued. */
	assert_int_equal(transport_add_peer(a.t, 3, "127.0.0.1:1"), TRANSPORT_OK);
	assert_int_equal(transport_send(a.t, 3, TRANSPORT_RAFT, "x", 1), TRANSPORT_ENOTCONN);
	node_stop(&a);
}

static void test_redial_after_restart(void **state)
{
	struct node a = {0}, b = {0};
	unsigned frames_before;

	(void)state;
	assert_int_equal(node_start(&a, 1, "c1"), TRANSPORT_OK);
	assert_int_equal(node_start(&b, 2, "c1"), TRANSPORT_OK);
	assert_int_equal(transport_add_peer(a.t, 2, b.listen), TRANSPORT_OK);
	assert_true(run_until(&b.hellos, 1, 3000));
	node_stop(&b);
	b.hellos = 0;
	frames_before = b.frames;
	assert_int_equal(node_start(&b, 2, "c1"), TRANSPORT_OK);
	assert_true(run_until(&b.hellos, 1, 5000)); /* A dialled again by itself */
	assert_int_equal(transport_send(a.t, 2, TRANSPORT_RAFT, "again", 5), TRANSPORT_OK);
	assert_true(run_until(&b.frames, frames_before + 1, 3000));
	assert_string_equal(b.last_payload, "again");
	node_stop(&a);
	node_stop(&b);
}

/* Mutual TLS ------------------------------------------------------------------ */

/* Credentials of fixture WHO (a certificate and key), trusting the test CA. */
static struct peer_tls_creds *creds(const char *who)
{
	char cert[256], key[256], err[PEER_TLS_ERR_MAX];
	struct peer_tls_creds *c = NULL;

	snprintf(cert, sizeof(cert), PEER_TLS_FIXTURES "/%s.pem", who);
	snprintf(key, sizeof(key), PEER_TLS_FIXTURES "/%s.key", who);
	assert_int_equal(peer_tls_creds_load(cert, key, PEER_TLS_FIXTURES "/ca.pem", &c, err),
	                 PEER_TLS_OK);
	return c;
}

/* Two nodes of one CA: HELLO and frames go over TLS, a large frame too
 * (many records, read in pieces). */
static void test_tls_peers_talk(void **state)
{
	struct peer_tls_creds *c1 = creds("node1"), *c2 = creds("node2");
	struct node a = {0}, b = {0};
	size_t big_len = 300u << 10;
	char *big = malloc(big_len);

	(void)state;
	assert_non_null(big);
	memset(big, 'B', big_len);
	assert_int_equal(node_start_tls(&a, 1, "c1", c1), TRANSPORT_OK);
	assert_int_equal(node_start_tls(&b, 2, "c1", c2), TRANSPORT_OK);
	assert_int_equal(transport_add_peer(a.t, 2, b.listen), TRANSPORT_OK);
	assert_true(run_until(&b.hellos, 1, 3000));
	assert_int_equal(b.peer_folder, 0xf001); /* the HELLO's fields came through */
	assert_true(transport_connected(a.t, 2));
	assert_int_equal(transport_send(a.t, 2, TRANSPORT_RAFT, "append", 6), TRANSPORT_OK);
	assert_int_equal(transport_send(a.t, 2, TRANSPORT_RAFT, big, big_len), TRANSPORT_OK);
	assert_int_equal(transport_send(a.t, 2, TRANSPORT_FORWARD, "put", 3), TRANSPORT_OK);
	assert_true(run_until(&b.frames, 3, 3000));
	assert_string_equal(b.firsts, "aBp");
	assert_int_equal(b.last_kind, TRANSPORT_FORWARD);
	assert_string_equal(b.last_payload, "put");
	free(big);
	node_stop(&a);
	node_stop(&b);
	peer_tls_creds_free(c1);
	peer_tls_creds_free(c2);
}

/* A node whose certificate is from another CA is refused before any HELLO,
 * whether it dials or is dialled; the refusals are counted. */
static void test_tls_rogue_peer_is_refused(void **state)
{
	struct peer_tls_creds *good = creds("node2"), *bad = creds("rogue");
	struct node b = {0}, r = {0};
	struct transport_stats st;

	(void)state;
	assert_int_equal(node_start_tls(&b, 2, "c1", good), TRANSPORT_OK);
	assert_int_equal(node_start_tls(&r, 3, "c1", bad), TRANSPORT_OK);
	assert_int_equal(transport_add_peer(r.t, 2, b.listen), TRANSPORT_OK); /* it dials */
	assert_int_equal(transport_add_peer(b.t, 3, r.listen), TRANSPORT_OK); /* it is dialled */
	(void)run_until(&b.hellos, 1, 1000);
	assert_int_equal(b.hellos, 0);
	assert_int_equal(r.hellos, 0);
	assert_false(transport_connected(b.t, 3));
	assert_int_equal(transport_send(b.t, 3, TRANSPORT_RAFT, "x", 1), TRANSPORT_ENOTCONN);
	transport_stats(b.t, &st);
	assert_true(st.tls_refused >= 2); /* its dial in, and our dial out */
	node_stop(&b);
	node_stop(&r);
	peer_tls_creds_free(good);
	peer_tls_creds_free(bad);
}

/* A peer that closes before the handshake is done (as one does that does
 * not trust this node's certificate, before it shows its own) is counted
 * and logged as refused too: a node given the wrong peer CA shows on the
 * side it dials. */
static void test_tls_handshake_abandoned_is_counted(void **state)
{
	struct peer_tls_creds *good = creds("node2");
	struct node b = {0};
	struct transport_stats st = {0};
	struct raw r;
	unsigned refused = 0;

	(void)state;
	assert_int_equal(node_start_tls(&b, 2, "c1", good), TRANSPORT_OK);
	send_raw(base_port + 2, (const uint8_t *)"", 0, &r);
	r.hang_up = true;
	assert_true(run_until(&r.closed, 1, 3000));
	for (int i = 0; i < 3000 && refused == 0; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(1000);
		transport_stats(b.t, &st);
		refused = (unsigned)st.tls_refused;
	}
	assert_int_equal(refused, 1);
	assert_int_equal(b.hellos, 0);
	node_stop(&b);
	peer_tls_creds_free(good);
}

/* A plain node and a TLS node never talk, whichever dials. */
static void test_plain_and_tls_never_talk(void **state)
{
	struct peer_tls_creds *c2 = creds("node2");
	struct node p = {0}, s = {0};
	struct transport_stats st_p, st_s;

	(void)state;
	assert_int_equal(node_start(&p, 1, "c1"), TRANSPORT_OK);
	assert_int_equal(node_start_tls(&s, 2, "c1", c2), TRANSPORT_OK);
	assert_int_equal(transport_add_peer(p.t, 2, s.listen), TRANSPORT_OK);
	assert_int_equal(transport_add_peer(s.t, 1, p.listen), TRANSPORT_OK);
	(void)run_until(&s.hellos, 1, 1000);
	assert_int_equal(s.hellos, 0);
	assert_int_equal(p.hellos, 0);
	transport_stats(s.t, &st_s);
	transport_stats(p.t, &st_p);
	assert_true(st_s.tls_refused >= 1); /* plain frames are not TLS */
	assert_true(st_p.bad_peers >= 1);   /* a ClientHello is not a frame */
	node_stop(&p);
	node_stop(&s);
	peer_tls_creds_free(c2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_hello_then_frames, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corked_frames_leave_at_uncork_in_order, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_other_cluster_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_disconnected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_new_cluster_id_is_announced_by_redialling, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_a_removed_peer_is_cut_off_both_ways, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_new_hello_supersedes_an_older_connection, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_unanswered_dial_is_abandoned, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_port_in_use, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_redial_after_restart, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tls_peers_talk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tls_rogue_peer_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tls_handshake_abandoned_is_counted, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_plain_and_tls_never_talk, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
