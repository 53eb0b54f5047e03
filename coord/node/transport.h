/* transport.h: the peer transport of a node, on the node's libuv loop.
 *
 * Each node dials every peer it knows and sends on that connection; it
 * receives on the connections peers dialed to it (one TCP connection each
 * way). A connection starts with a HELLO frame (node id, cluster id, HTTP and
 * Raft addresses, whether the sender is a founder sealing its cluster, how
 * its configuration lists the receiver and what index that configuration
 * is as of); the acceptor's owner admits it or not (admit.h) before
 * anything else on that connection is believed. After that, frames carry Raft messages (the raft/
 * codec), forwarded client requests and their answers.
 *
 * Frame: u32 length of what follows (little-endian) | u8 kind | payload.
 *
 * Invariants:
 *  1. A frame longer than TRANSPORT_FRAME_MAX, a kind out of range, or a
 *     first frame that is not a valid, admitted HELLO closes the
 *     connection: a peer that sends garbage is disconnected, never trusted
 *     (DESIGN.md safety rule 11).
 *  2. Each peer's write queue holds at most TRANSPORT_QUEUE_MAX_BYTES; a frame
 *     that does not fit is refused (Raft tolerates loss; the caller fails
 *     forwarded requests) and counted.
 *  3. A dropped outgoing connection is redialled after a backoff that doubles
 *     from TRANSPORT_BACKOFF_MIN_MS to TRANSPORT_BACKOFF_MAX_MS, with jitter;
 *     it starts over once a connection lasted TRANSPORT_LASTED_MS, so a peer
 *     that refuses every HELLO is dialled at most every BACKOFF_MAX_MS.
 *  4. Between transport_cork() and transport_uncork(), frames to a peer are
 *     gathered in one buffer (up to TRANSPORT_CORK_BYTES, or one frame if
 *     larger) and leave in order as one write: at the uncork, or when the
 *     next frame does not fit. Frames corked for a connection that closes
 *     are lost, like frames in its write queue.
 *  5. A dial that has not connected within TRANSPORT_CONNECT_TIMEOUT_MS is
 *     abandoned and redialled (a SYN lost to a partition is otherwise retried
 *     by the kernel only after seconds), and data a peer has not acknowledged
 *     for TRANSPORT_STALL_MS closes the connection (TCP_USER_TIMEOUT), so a
 *     connection that died in a partition is replaced soon after it heals.
 *  6. A peer dials one connection at a time, so a valid HELLO from node X
 *     closes every older inbound connection from X: one whose end died
 *     unseen (killed behind a partition) never lingers to fill
 *     TRANSPORT_MAX_INBOUND.
 *
 * Ownership: everything here belongs to the loop's thread. Payloads passed to
 * transport_send() are copied; payloads passed to the frame callback are
 * borrowed for the call.
 */
#ifndef COORD_TRANSPORT_H
#define COORD_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define TRANSPORT_FRAME_MAX          (5u << 19)  /* 2.5 MiB: a full Raft frame + slack */
#define TRANSPORT_QUEUE_MAX_BYTES    (16u << 20) /* queued bytes per peer */
#define TRANSPORT_CORK_BYTES         (64u << 10) /* one corked write per peer */
#define TRANSPORT_CORK_START         1024        /* a cork's first buffer; it doubles */
#define TRANSPORT_MAX_PEERS          16          /* peers one node dials */
#define TRANSPORT_MAX_INBOUND        64          /* accepted connections at once */
#define TRANSPORT_BACKOFF_MIN_MS     50
#define TRANSPORT_BACKOFF_MAX_MS     500
#define TRANSPORT_LASTED_MS          1000 /* invariant 3 */
#define TRANSPORT_CONNECT_TIMEOUT_MS 1000 /* invariant 5 */
#define TRANSPORT_STALL_MS           2000 /* invariant 5: unacknowledged data */
#define TRANSPORT_ADDR_MAX           64   /* "host:port" with NUL */
#define TRANSPORT_CLUSTER_MAX        64   /* cluster id bytes with NUL */
#define TRANSPORT_HELLO_TIMEOUT_MS   5000 /* an inbound peer must say HELLO by then */

enum transport_kind {
	TRANSPORT_HELLO = 1,   /* handshake; handled inside the transport */
	TRANSPORT_RAFT = 2,    /* a raft/codec message */
	TRANSPORT_FORWARD = 3, /* a client request forwarded to the leader */
	TRANSPORT_REPLY = 4,   /* the leader's answer to a forwarded request */
	TRANSPORT_KIND_MAX = TRANSPORT_REPLY
};

enum transport_err {
	TRANSPORT_OK = 0,
	TRANSPORT_EADDR,    /* an address could not be parsed */
	TRANSPORT_ELISTEN,  /* bind or listen failed (port in use?) */
	TRANSPORT_EPEER,    /* unknown peer or too many peers */
	TRANSPORT_EFULL,    /* the peer's write queue is full */
	TRANSPORT_ENOTCONN, /* no connection to the peer now */
	TRANSPORT_ETOOBIG,  /* the frame is over TRANSPORT_FRAME_MAX */
	TRANSPORT_ENOMEM
};
const char *transport_strerror(int err);

struct transport;

/* Called for every frame of kind RAFT, FORWARD or REPLY from a peer that
 * completed its HELLO. FROM is the peer's node id. */
typedef void (*transport_frame_fn)(void *ctx, uint64_t from, enum transport_kind kind,
                                   uint8_t *payload, size_t len);
/* What a HELLO says. Strings are borrowed for the call. */
struct transport_hello {
	uint64_t id;
	const char *cluster; /* "" while the sender's data folder has none */
	const char *http;    /* its client address */
	const char *raft;    /* its Raft address */
	bool sealing;        /* a founder sealing its cluster (admit.h) */
	uint8_t lists;       /* how its configuration lists the receiver (admit.h roles) */
	uint64_t conf_index; /* the log index its configuration is as of */
	uint64_t folder;     /* the sender's data folder id (never 0) */
	uint64_t binds;      /* the folder its configuration binds the receiver to, 0 if none */
};
/* Called with each well-formed HELLO from a peer; returns true to admit it
 * (its frames are delivered from then on), false to close the connection. */
typedef bool (*transport_hello_fn)(void *ctx, const struct transport_hello *hello);
/* Fills what this node's HELLO to peer TO says beyond ids and addresses:
 * H's sealing, lists, conf_index, folder and binds. */
typedef void (*transport_hello_fill_fn)(void *ctx, uint64_t to, struct transport_hello *h);

struct peer_tls_creds;

struct transport_config {
	uint64_t id;             /* this node */
	const char *cluster;     /* cluster id announced in HELLO ("" while none) */
	const char *listen_addr; /* "host:port" for inbound Raft connections */
	const char *http_addr;   /* announced in HELLO */
	transport_frame_fn on_frame;
	transport_hello_fn on_hello;
	transport_hello_fill_fn hello_fill;
	/* Mutual TLS on every connection (peer_tls.h), or NULL for plain TCP.
	 * Borrowed for the transport's life. A peer must finish the handshake
	 * with a certificate of the peer CA before its HELLO is read, so a
	 * cluster runs all TLS or all plain. */
	struct peer_tls_creds *tls;
	void *ctx;
	void (*log)(void *ctx, const char *line); /* one line per event; may be NULL */
};

/* Starts listening on CONFIG->listen_addr. Returns TRANSPORT_OK and *OUT, or
 * an error (TRANSPORT_ELISTEN when the port is in use). */
int transport_start(uv_loop_t *loop, const struct transport_config *config, struct transport **out);

/* Adds (or re-addresses) peer ID at RAFT_ADDR ("host:port") and dials it. */
int transport_add_peer(struct transport *t, uint64_t id, const char *raft_addr);
/* Forgets peer ID and closes every connection with it, the one this node
 * dialled and the ones ID dialled: should ID dial again, its HELLO is
 * judged anew (a server that left the configuration is a stranger). */
void transport_remove_peer(struct transport *t, uint64_t id);
/* True when ID is a peer this node dials. */
bool transport_has_peer(const struct transport *t, uint64_t id);

/* Closes every connection with peer ID, both ways: each side says HELLO
 * again, and each admits the other afresh. */
void transport_redial(struct transport *t, uint64_t id);

/* The data folder joined cluster CLUSTER: later HELLOs announce it, and every
 * outgoing connection is redialled so that peers hear it now. */
void transport_set_cluster(struct transport *t, const char *cluster);

/* Queues a frame of KIND with PAYLOAD (copied) for peer TO. */
int transport_send(struct transport *t, uint64_t to, enum transport_kind kind, const void *payload,
                   size_t len);

/* True when the outgoing connection to ID has completed its connect. */
bool transport_connected(const struct transport *t, uint64_t id);

/* Gathers frames per peer until transport_uncork(), which writes each
 * peer's gathered frames at once (invariant 4): one system call for all
 * the messages of one Raft ready. */
void transport_cork(struct transport *t);
void transport_uncork(struct transport *t);

/* Counters, for /metrics. */
struct transport_stats {
	uint64_t frames_sent, frames_received, frames_refused_full, bad_peers, connects;
	uint64_t dial_timeouts; /* dials abandoned unconnected (invariant 5) */
	uint64_t superseded;    /* inbound connections replaced (invariant 6) */
	uint64_t tls_refused;   /* connections whose TLS handshake or records failed */
};
void transport_stats(const struct transport *t, struct transport_stats *out);

/* Closes every connection and the listener; CB runs once all handles are
 * closed (the loop must keep running until then). */
void transport_stop(struct transport *t, void (*cb)(void *ctx), void *ctx);
/* Frees T after transport_stop()'s callback has run. */
void transport_free(struct transport *t);

#endif
