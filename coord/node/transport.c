/* The peer transport: framing, HELLO, dialling with backoff, bounded write
 * queues. See transport.h for the invariants this file keeps. */
#include "transport.h"

#include <assert.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bytes.h"
#include "peer_tls.h"

#define HELLO_VERSION 3
#define HELLO_SEALING 0x01 /* flags: the sender is a founder sealing its cluster */
/* The longest HELLO: the fixed fields and three strings of < 256 bytes. */
#define HELLO_MAX_BYTES (1 + 8 + 1 + 1 + 8 + 8 + 8 + 3 * 256)
#define READ_CHUNK      (64u << 10)
#define SWEEP_MS        250

struct conn {
	uv_tcp_t tcp; /* first: handle pointers are conn pointers */
	struct transport *t;
	struct peer *peer; /* outgoing: the peer it dials; inbound: NULL */
	bool inbound;
	bool hello_ok;
	bool refused; /* its HELLO was not admitted (the owner logged why) */
	bool closing;
	uint64_t from;        /* inbound: the peer id its HELLO named */
	struct peer_tls *tls; /* with peer TLS: this connection's session */
	uint64_t opened_at;   /* when accepted (inbound) or dialled (outbound) */
	uint8_t *rbuf;
	size_t rlen, rcap;
	uv_connect_t connect_req;
	struct conn *next_inbound;
};

struct peer {
	uint64_t id;
	char addr[TRANSPORT_ADDR_MAX];
	struct sockaddr_storage sa;
	struct transport *t;
	struct conn *out; /* current outgoing connection, or NULL */
	bool connected;   /* out finished its connect and sent HELLO */
	uv_timer_t timer; /* redial backoff */
	bool timer_live;
	unsigned backoff_ms;
	bool flapping;     /* the last connection closed before TRANSPORT_LASTED_MS */
	size_t queued;     /* bytes handed to uv_write or corked, not yet written */
	struct wreq *cork; /* frames held while corked (invariant 4), or NULL */
	size_t cork_cap;   /* bytes cork->data can hold */
};

struct wreq {
	uv_write_t req;
	struct transport *t;
	uint64_t peer_id;
	size_t len;     /* bytes of data */
	size_t counted; /* frame bytes it counts in its peer's queue (TLS: before sealing) */
	uint8_t data[];
};

struct transport {
	uv_loop_t *loop;
	struct transport_config cfg;
	char cluster[TRANSPORT_CLUSTER_MAX];
	char http_addr[TRANSPORT_ADDR_MAX];
	char listen_addr[TRANSPORT_ADDR_MAX];
	uv_tcp_t listener;
	uv_timer_t sweep;
	struct peer *peers[TRANSPORT_MAX_PEERS];
	struct conn *inbound;
	unsigned n_inbound;
	uint64_t rng;
	struct transport_stats stats;
	bool corked; /* frames wait in each peer's cork until transport_uncork() */
	/* Shutdown. */
	bool stopping;
	unsigned open_handles;
	void (*stop_cb)(void *ctx);
	void *stop_ctx;
};

static const char *const err_text[] = {
    [TRANSPORT_OK] = "ok",
    [TRANSPORT_EADDR] = "address is not host:port",
    [TRANSPORT_ELISTEN] = "cannot listen on the Raft address (in use?)",
    [TRANSPORT_EPEER] = "unknown peer, or too many peers",
    [TRANSPORT_EFULL] = "the peer's write queue is full",
    [TRANSPORT_ENOTCONN] = "not connected to the peer",
    [TRANSPORT_ETOOBIG] = "frame too large",
    [TRANSPORT_ENOMEM] = "out of memory",
};

const char *transport_strerror(int err)
{
	if (err < 0 || (size_t)err >= sizeof(err_text) / sizeof(err_text[0]))
		return "unknown transport error";
	return err_text[err];
}

static void logf_(struct transport *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct transport *t, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!t->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	t->cfg.log(t->cfg.ctx, line);
}

/* Addresses ----------------------------------------------------------------- */

/* Resolves "host:port" or "[v6]:port" (numeric or a name, resolved once,
 * synchronously: addresses are resolved when peers are configured). */
static int parse_addr(uv_loop_t *loop, const char *text, struct sockaddr_storage *out)
{
	char host[TRANSPORT_ADDR_MAX];
	const char *colon, *port;
	size_t hlen;
	uv_getaddrinfo_t req;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	int rc;

	if (!text || strlen(text) >= TRANSPORT_ADDR_MAX || !(colon = strrchr(text, ':')))
		return TRANSPORT_EADDR;
	port = colon + 1;
	if (text[0] == '[') {
		if (colon == text || colon[-1] != ']')
			return TRANSPORT_EADDR;
		hlen = (size_t)(colon - text) - 2;
		memcpy(host, text + 1, hlen);
	} else {
		hlen = (size_t)(colon - text);
		memcpy(host, text, hlen);
	}
	host[hlen] = '\0';
	if (hlen == 0 || !*port || strspn(port, "0123456789") != strlen(port) || atoi(port) > 65535)
		return TRANSPORT_EADDR;
	rc = uv_getaddrinfo(loop, &req, NULL, host, port, &hints);
	if (rc != 0 || !req.addrinfo)
		return TRANSPORT_EADDR;
	memcpy(out, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
	uv_freeaddrinfo(req.addrinfo);
	return TRANSPORT_OK;
}

/* Handles ------------------------------------------------------------------- */

static void handle_closed(struct transport *t)
{
	assert(t->open_handles > 0);
	if (--t->open_handles == 0 && t->stopping && t->stop_cb)
		t->stop_cb(t->stop_ctx);
}

static void conn_closed_cb(uv_handle_t *h)
{
	struct conn *c = (struct conn *)h;
	struct transport *t = c->t;

	peer_tls_free(c->tls);
	free(c->rbuf);
	free(c);
	handle_closed(t);
}

static void schedule_redial(struct peer *p);

static void conn_close(struct conn *c)
{
	struct transport *t = c->t;

	if (c->closing)
		return;
	c->closing = true;
	if (c->inbound) {
		for (struct conn **pp = &t->inbound; *pp; pp = &(*pp)->next_inbound)
			if (*pp == c) {
				*pp = c->next_inbound;
				t->n_inbound--;
				break;
			}
	} else if (c->peer && c->peer->out == c) {
		/* Invariant 3: a connection that lasted starts the backoff over; one
		 * the peer keeps closing at once (it does not admit us) backs off. */
		bool lasted = uv_now(t->loop) - c->opened_at >= TRANSPORT_LASTED_MS;

		c->peer->out = NULL;
		c->peer->connected = false;
		c->peer->flapping = !lasted;
		if (lasted)
			c->peer->backoff_ms = 0;
		if (!t->stopping)
			schedule_redial(c->peer);
	}
	uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
}

static struct conn *conn_new(struct transport *t)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->t = t;
	if (uv_tcp_init(t->loop, &c->tcp) != 0) {
		free(c);
		return NULL;
	}
	t->open_handles++;
	uv_tcp_nodelay(&c->tcp, 1);
	return c;
}

/* Sending ------------------------------------------------------------------- */

static struct peer *peer_find(const struct transport *t, uint64_t id)
{
	for (int i = 0; i < TRANSPORT_MAX_PEERS; i++)
		if (t->peers[i] && t->peers[i]->id == id)
			return t->peers[i];
	return NULL;
}

static void write_cb(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct peer *p = peer_find(w->t, w->peer_id);

	if (p) {
		assert(p->queued >= w->counted);
		p->queued -= w->counted;
		if (status < 0 && p->out && (uv_stream_t *)&p->out->tcp == req->handle)
			conn_close(p->out);
	}
	free(w);
}

/* A write request of C's waiting ciphertext (the handshake's, or sealed
 * frames), counting COUNTED bytes of its peer's queue. NULL (nothing taken)
 * when there is none or out of memory. */
static struct wreq *tls_take(struct conn *c, size_t counted)
{
	size_t len;
	const uint8_t *p = peer_tls_output(c->tls, &len);
	struct wreq *w = p ? malloc(sizeof(*w) + len) : NULL;

	if (!w)
		return NULL;
	w->t = c->t;
	w->peer_id = c->peer ? c->peer->id : 0;
	w->len = len;
	w->counted = counted;
	memcpy(w->data, p, len);
	peer_tls_consumed(c->tls, len);
	return w;
}

/* Writes W on C. False (W freed, C closing) when the stream refuses it. */
static bool write_on(struct conn *c, struct wreq *w)
{
	uv_buf_t buf = uv_buf_init((char *)w->data, (unsigned)w->len);

	if (!c->closing && uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, write_cb) == 0)
		return true;
	if (c->peer && c->peer->out == c)
		c->peer->queued -= w->counted;
	free(w);
	conn_close(c);
	return false;
}

/* Sends what TLS of C has to say on its own (handshake records, alerts).
 * False when C is closing. */
static bool tls_flush(struct conn *c)
{
	size_t len;
	struct wreq *w;

	if (!peer_tls_output(c->tls, &len))
		return true;
	w = tls_take(c, 0);
	if (!w) {
		conn_close(c);
		return false;
	}
	return write_on(c, w);
}

/* Hands the peer's gathered frames to uv_write, as one write (with peer
 * TLS, sealed into records first). Returns TRANSPORT_OK, or
 * TRANSPORT_ENOTCONN when they are lost with the connection. */
static int cork_flush(struct peer *p)
{
	struct wreq *w = p->cork;
	struct conn *c = p->out;

	if (!w)
		return TRANSPORT_OK;
	p->cork = NULL;
	p->cork_cap = 0;
	w->counted = w->len;
	if (c && !c->closing && c->tls) {
		struct wreq *sealed = peer_tls_write(c->tls, w->data, w->len) == PEER_TLS_OK
		                          ? tls_take(c, w->counted)
		                          : NULL;

		if (!sealed) {
			p->queued -= w->counted;
			free(w);
			conn_close(c);
			return TRANSPORT_ENOTCONN;
		}
		free(w);
		w = sealed;
	}
	if (!c) {
		p->queued -= w->counted;
		free(w);
		return TRANSPORT_ENOTCONN;
	}
	return write_on(c, w) ? TRANSPORT_OK : TRANSPORT_ENOTCONN;
}

/* The peer's cork with room for TOTAL more bytes: grown by doubling from
 * TRANSPORT_CORK_START (a large buffer per write would make the allocator
 * return and re-fault memory on every ready), or flushed and started again
 * past TRANSPORT_CORK_BYTES. NULL when out of memory or when the flush lost
 * the connection. */
static struct wreq *frame_buffer(struct peer *p, size_t total)
{
	struct wreq *w;
	size_t used = p->cork ? p->cork->len : 0;
	size_t cap;

	if (p->cork && used + total <= p->cork_cap)
		return p->cork;
	if (p->cork && used + total > TRANSPORT_CORK_BYTES) {
		if (cork_flush(p) != TRANSPORT_OK)
			return NULL;
		used = 0;
	}
	cap = p->cork ? p->cork_cap * 2 : TRANSPORT_CORK_START;
	if (cap < used + total)
		cap = used + total;
	if (cap > TRANSPORT_CORK_BYTES && used + total <= TRANSPORT_CORK_BYTES)
		cap = TRANSPORT_CORK_BYTES;
	w = realloc(p->cork, sizeof(*w) + cap);
	if (!w)
		return NULL;
	if (!p->cork) {
		w->t = p->t;
		w->peer_id = p->id;
		w->len = 0;
	}
	p->cork = w;
	p->cork_cap = cap;
	return w;
}

/* Adds one frame to the peer's cork (invariant 4) and, unless the transport
 * is corked, writes it on the peer's outgoing connection at once
 * (invariant 2). */
static int frame_write(struct transport *t, struct peer *p, enum transport_kind kind,
                       const void *payload, size_t len)
{
	struct wreq *w;
	struct bytes_writer out;
	size_t total = 5 + len;

	if (len + 1 > TRANSPORT_FRAME_MAX)
		return TRANSPORT_ETOOBIG;
	if (!p->out || p->out->closing)
		return TRANSPORT_ENOTCONN;
	if (p->queued + total > TRANSPORT_QUEUE_MAX_BYTES) {
		t->stats.frames_refused_full++;
		return TRANSPORT_EFULL;
	}
	w = frame_buffer(p, total);
	if (!w)
		return p->out && !p->out->closing ? TRANSPORT_ENOMEM : TRANSPORT_ENOTCONN;
	/* Frame: u32 length of kind + payload (LE) | u8 kind | payload. */
	out = bytes_writer_init(w->data + w->len, total);
	bytes_put_u32(&out, (uint32_t)(len + 1));
	bytes_put_u8(&out, (uint8_t)kind);
	bytes_put(&out, payload, len);
	assert(!out.fail);
	w->len += total;
	p->queued += total;
	t->stats.frames_sent++;
	return t->corked ? TRANSPORT_OK : cork_flush(p);
}

void transport_cork(struct transport *t)
{
	t->corked = true;
}

void transport_uncork(struct transport *t)
{
	t->corked = false;
	for (int i = 0; i < TRANSPORT_MAX_PEERS; i++)
		if (t->peers[i])
			cork_flush(t->peers[i]);
}

int transport_send(struct transport *t, uint64_t to, enum transport_kind kind, const void *payload,
                   size_t len)
{
	struct peer *p = peer_find(t, to);

	assert(kind > TRANSPORT_HELLO && kind <= TRANSPORT_KIND_MAX);
	if (!p)
		return TRANSPORT_EPEER;
	if (!p->connected)
		return TRANSPORT_ENOTCONN;
	return frame_write(t, p, kind, payload, len);
}

bool transport_connected(const struct transport *t, uint64_t id)
{
	const struct peer *p = peer_find(t, id);

	return p && p->connected;
}

/* HELLO --------------------------------------------------------------------- */

/* HELLO payload: u8 version | u64 id (LE) | u8 n + cluster | u8 n + http |
 * u8 n + raft | u8 flags (HELLO_SEALING) | u8 how the sender lists the
 * receiver | u64 the index its configuration is as of | u64 the sender's
 * data folder id | u64 the folder its configuration binds the receiver to. */
static size_t hello_encode(const struct transport *t, uint64_t to, uint8_t *buf, size_t cap)
{
	const char *fields[3] = {t->cluster, t->http_addr, t->listen_addr};
	struct bytes_writer w = bytes_writer_init(buf, cap);
	struct transport_hello h = {0};

	if (t->cfg.hello_fill)
		t->cfg.hello_fill(t->cfg.ctx, to, &h);
	bytes_put_u8(&w, HELLO_VERSION);
	bytes_put_u64(&w, t->cfg.id);
	for (int i = 0; i < 3; i++)
		bytes_put_str(&w, fields[i], strlen(fields[i]), 1);
	bytes_put_u8(&w, h.sealing ? HELLO_SEALING : 0);
	bytes_put_u8(&w, h.lists);
	bytes_put_u64(&w, h.conf_index);
	bytes_put_u64(&w, h.folder);
	bytes_put_u64(&w, h.binds);
	/* The fields are copied into arrays of TRANSPORT_*_MAX < 256 bytes, so
	 * each length fits its byte and the caller's buffer holds them all. */
	assert(!w.fail);
	return w.len;
}

/* Reads a u8-length-prefixed string into OUT (CAP bytes with NUL): refused
 * if it runs past the payload, does not fit OUT or holds a NUL. */
static bool hello_string(struct bytes_reader *r, char *out, size_t cap)
{
	const char *s;
	size_t n;

	bytes_get_str(r, 1, cap - 1, &s, &n);
	if (r->fail || memchr(s, '\0', n))
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

static bool hello_accept(struct conn *c, const uint8_t *p, size_t len)
{
	struct transport *t = c->t;
	char cluster[TRANSPORT_CLUSTER_MAX], http[TRANSPORT_ADDR_MAX], raft[TRANSPORT_ADDR_MAX];
	struct bytes_reader r = bytes_reader_init(p, len);
	uint8_t version = bytes_get_u8(&r);
	struct transport_hello h = {.id = bytes_get_u64(&r)};
	uint8_t flags;

	/* A short payload fails the reader, so the strings refuse it. */
	if (version != HELLO_VERSION) {
		logf_(t, "peer refused: HELLO version %u, this node speaks %u", version,
		      HELLO_VERSION);
		return false;
	}
	if (!hello_string(&r, cluster, sizeof(cluster)) || !hello_string(&r, http, sizeof(http)) ||
	    !hello_string(&r, raft, sizeof(raft)))
		return false;
	flags = bytes_get_u8(&r);
	h.sealing = (flags & HELLO_SEALING) != 0;
	if (flags & ~HELLO_SEALING)
		return false;
	h.lists = bytes_get_u8(&r);
	h.conf_index = bytes_get_u64(&r);
	h.folder = bytes_get_u64(&r);
	h.binds = bytes_get_u64(&r);
	if (!bytes_done(&r) || h.id == 0 || h.id == t->cfg.id || h.folder == 0)
		return false;
	h.cluster = cluster;
	h.http = http;
	h.raft = raft;
	if (!t->cfg.on_hello(t->cfg.ctx, &h)) {
		c->refused = true; /* the owner logs why */
		return false;
	}
	uint64_t id = h.id;
	c->hello_ok = true;
	c->from = id;
	/* Invariant 6. */
	for (struct conn *o = t->inbound, *next; o; o = next) {
		next = o->next_inbound;
		if (o != c && o->hello_ok && o->from == id) {
			t->stats.superseded++;
			conn_close(o);
		}
	}
	return true;
}

/* Receiving ----------------------------------------------------------------- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = (struct conn *)h;

	(void)suggested;
	if (c->rcap - c->rlen < READ_CHUNK) {
		size_t cap = c->rlen + READ_CHUNK;
		uint8_t *nb = realloc(c->rbuf, cap);

		if (!nb) {
			*buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
			return;
		}
		c->rbuf = nb;
		c->rcap = cap;
	}
	*buf = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(c->rcap - c->rlen));
}

/* Parses every complete frame in the buffer. Returns false if the peer broke
 * the protocol (invariant 1). */
static bool drain_frames(struct conn *c)
{
	struct transport *t = c->t;
	size_t off = 0;

	while (c->rlen - off >= 4) {
		/* The loop's condition proved the 4 length bytes are here. */
		uint32_t flen = (uint32_t)bytes_load_le(c->rbuf + off, 4);
		uint8_t *body = c->rbuf + off + 4;
		uint8_t kind;

		if (flen == 0 || flen > TRANSPORT_FRAME_MAX)
			return false;
		if (c->rlen - off - 4 < flen)
			break;
		kind = body[0];
		if (kind < TRANSPORT_HELLO || kind > TRANSPORT_KIND_MAX)
			return false;
		if (!c->hello_ok) {
			if (kind != TRANSPORT_HELLO || !hello_accept(c, body + 1, flen - 1))
				return false;
		} else if (kind == TRANSPORT_HELLO) {
			return false;
		} else {
			t->stats.frames_received++;
			t->cfg.on_frame(t->cfg.ctx, c->from, (enum transport_kind)kind, body + 1,
			                flen - 1);
			if (c->closing)
				return true;
		}
		off += 4 + flen;
	}
	memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
	/* Shrink a buffer grown for one large frame. */
	if (c->rcap > 4 * READ_CHUNK && c->rlen < READ_CHUNK) {
		uint8_t *nb = realloc(c->rbuf, READ_CHUNK);

		if (nb) {
			c->rbuf = nb;
			c->rcap = READ_CHUNK;
		}
	}
	return true;
}

static void send_hello(struct conn *c);

/* Makes room for READ_CHUNK more bytes at the end of C's read buffer. */
static bool rbuf_room(struct conn *c)
{
	uint8_t *nb;

	if (c->rcap - c->rlen >= READ_CHUNK)
		return true;
	nb = realloc(c->rbuf, c->rlen + READ_CHUNK);
	if (!nb)
		return false;
	c->rbuf = nb;
	c->rcap = c->rlen + READ_CHUNK;
	return true;
}

/* With peer TLS: the N bytes read at rbuf + rlen are ciphertext. Feeds
 * them, decrypts what it can in their place (inbound: frames, appended to
 * rlen; a connection we dialled carries none), answers the handshake, and
 * once a dialled connection's handshake is done says HELLO on it. False
 * when TLS failed: counted and logged, the caller closes C. */
static bool tls_read(struct conn *c, size_t n)
{
	struct transport *t = c->t;
	size_t got = 0;
	int rc = peer_tls_feed(c->tls, c->rbuf + c->rlen, n);

	while (rc == PEER_TLS_OK && rbuf_room(c)) {
		rc = peer_tls_read(c->tls, c->rbuf + c->rlen, c->rcap - c->rlen, &got);
		if (rc != PEER_TLS_OK || got == 0)
			break;
		if (!c->inbound)
			rc = PEER_TLS_EPROTO; /* nobody writes frames on a connection we dialled */
		else
			c->rlen += got;
	}
	if (rc != PEER_TLS_OK) {
		/* Tell the peer why (the alert), best effort: libuv writes at once
		 * what it can before the close. */
		if (peer_tls_output(c->tls, &got))
			tls_flush(c);
		t->stats.tls_refused++;
		if (c->inbound)
			logf_(t, "inbound peer connection refused: TLS %s", peer_tls_error(c->tls));
		else
			logf_(t, "connection to peer %llu at %s refused: TLS %s",
			      (unsigned long long)c->peer->id, c->peer->addr,
			      peer_tls_error(c->tls));
		c->refused = true;
		return false;
	}
	if (tls_flush(c) && !c->inbound && peer_tls_ready(c->tls) && !c->peer->connected)
		send_hello(c);
	return true;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = (struct conn *)s;

	(void)buf;
	if (n < 0) {
		if (c->tls && c->inbound && !peer_tls_ready(c->tls)) {
			/* A peer that does not trust our certificate aborts its
			 * handshake before it shows its own: a refusal too. */
			c->t->stats.tls_refused++;
			logf_(c->t,
			      "inbound peer connection refused: closed before the TLS handshake "
			      "was done (does the peer trust this node's CA?)");
		} else if (n != UV_EOF && c->inbound) {
			logf_(c->t, "peer connection from node %llu lost: %s",
			      (unsigned long long)c->from, uv_strerror((int)n));
		}
		if (c->tls && !c->inbound && !peer_tls_ready(c->tls) && !c->peer->flapping)
			logf_(c->t,
			      "connection to peer %llu at %s refused: TLS handshake not "
			      "completed (another peer CA?)",
			      (unsigned long long)c->peer->id, c->peer->addr);
		conn_close(c);
		return;
	}
	if (c->tls) {
		if (!tls_read(c, (size_t)n)) {
			conn_close(c);
			return;
		}
		if (!c->inbound || c->closing)
			return;
	} else if (!c->inbound) {
		/* Nobody writes on a connection we dialled: ignore what comes. */
		c->rlen = 0;
		return;
	} else {
		c->rlen += (size_t)n;
	}
	if (!drain_frames(c)) {
		c->t->stats.bad_peers++;
		if (!c->refused)
			logf_(c->t, "peer disconnected: protocol violation (node %llu)",
			      (unsigned long long)c->from);
		conn_close(c);
	}
}

static void accept_cb(uv_stream_t *server, int status)
{
	struct transport *t = server->data;
	struct conn *c;

	if (status < 0 || t->stopping)
		return;
	c = conn_new(t);
	if (!c)
		return;
	c->inbound = true;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
	    t->n_inbound >= TRANSPORT_MAX_INBOUND ||
	    (t->cfg.tls && peer_tls_new(t->cfg.tls, true, &c->tls) != PEER_TLS_OK) ||
	    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0) {
		c->inbound = false; /* not linked yet */
		uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
		return;
	}
	c->opened_at = uv_now(t->loop);
	c->next_inbound = t->inbound;
	t->inbound = c;
	t->n_inbound++;
}

/* Dialling ------------------------------------------------------------------ */

/* Invariant 5: the kernel fails the connection once data sent on it has gone
 * unacknowledged for TRANSPORT_STALL_MS; the write error closes it here. */
static void set_stall_timeout(struct conn *c)
{
	unsigned ms = TRANSPORT_STALL_MS;
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms));
}

/* The first frame on a connection we dialled (with peer TLS, once its
 * handshake is done): the peer may send us frames from then on. */
static void send_hello(struct conn *c)
{
	struct peer *p = c->peer;
	uint8_t hello[HELLO_MAX_BYTES];
	size_t n = hello_encode(c->t, p->id, hello, sizeof(hello));

	if (frame_write(c->t, p, TRANSPORT_HELLO, hello, n) != TRANSPORT_OK) {
		conn_close(c);
		return;
	}
	p->connected = true;
	c->t->stats.connects++;
	if (!p->flapping)
		logf_(c->t, "connected to peer %llu at %s", (unsigned long long)p->id, p->addr);
}

static void connect_cb(uv_connect_t *req, int status)
{
	struct conn *c = req->data;
	struct transport *t = c->t;
	size_t got;

	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	set_stall_timeout(c);
	if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0) {
		conn_close(c);
		return;
	}
	if (!t->cfg.tls) {
		send_hello(c);
		return;
	}
	/* The dialler opens the handshake; HELLO follows once it is done. */
	if (peer_tls_new(t->cfg.tls, false, &c->tls) != PEER_TLS_OK ||
	    peer_tls_read(c->tls, NULL, 0, &got) != PEER_TLS_OK) {
		conn_close(c);
		return;
	}
	tls_flush(c);
}

static void dial(struct peer *p)
{
	struct transport *t = p->t;
	struct conn *c;

	if (t->stopping || p->out)
		return;
	c = conn_new(t);
	if (!c) {
		schedule_redial(p);
		return;
	}
	c->peer = p;
	p->out = c;
	c->opened_at = uv_now(t->loop);
	c->connect_req.data = c;
	if (uv_tcp_connect(&c->connect_req, &c->tcp, (struct sockaddr *)&p->sa, connect_cb) != 0)
		conn_close(c);
}

static void redial_cb(uv_timer_t *timer)
{
	dial(timer->data);
}

/* Invariant 3: exponential backoff with +-25% jitter. */
static void schedule_redial(struct peer *p)
{
	struct transport *t = p->t;
	uint64_t delay, x;

	p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : TRANSPORT_BACKOFF_MIN_MS;
	if (p->backoff_ms > TRANSPORT_BACKOFF_MAX_MS)
		p->backoff_ms = TRANSPORT_BACKOFF_MAX_MS;
	t->rng ^= t->rng << 13;
	t->rng ^= t->rng >> 7;
	t->rng ^= t->rng << 17;
	x = t->rng % (p->backoff_ms / 2 + 1);
	delay = p->backoff_ms - p->backoff_ms / 4 + x;
	uv_timer_start(&p->timer, redial_cb, delay, 0);
}

/* Life cycle ---------------------------------------------------------------- */

static void sweep_cb(uv_timer_t *timer)
{
	struct transport *t = timer->data;
	uint64_t now = uv_now(t->loop);
	struct conn *c = t->inbound, *next;

	for (; c; c = next) {
		next = c->next_inbound;
		if (!c->hello_ok && now - c->opened_at > TRANSPORT_HELLO_TIMEOUT_MS) {
			logf_(t, "peer disconnected: no HELLO within %d ms",
			      TRANSPORT_HELLO_TIMEOUT_MS);
			conn_close(c);
		}
	}
	/* Invariant 5. */
	for (int i = 0; i < TRANSPORT_MAX_PEERS; i++) {
		struct peer *p = t->peers[i];

		if (p && p->out && !p->connected && !p->out->closing &&
		    now - p->out->opened_at > TRANSPORT_CONNECT_TIMEOUT_MS) {
			t->stats.dial_timeouts++;
			conn_close(p->out);
		}
	}
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

int transport_start(uv_loop_t *loop, const struct transport_config *config, struct transport **out)
{
	struct transport *t = calloc(1, sizeof(*t));
	struct sockaddr_storage sa;
	int rc;

	if (!t)
		return TRANSPORT_ENOMEM;
	t->loop = loop;
	t->cfg = *config;
	copy_str(t->cluster, sizeof(t->cluster), config->cluster);
	copy_str(t->http_addr, sizeof(t->http_addr), config->http_addr);
	copy_str(t->listen_addr, sizeof(t->listen_addr), config->listen_addr);
	t->rng = (config->id * 0x9E3779B97F4A7C15ull) ^ uv_hrtime();
	if (!t->rng)
		t->rng = 1;
	if ((rc = parse_addr(loop, config->listen_addr, &sa)) != TRANSPORT_OK) {
		free(t);
		return rc;
	}
	uv_tcp_init(loop, &t->listener);
	t->listener.data = t;
	t->open_handles++;
	if (uv_tcp_bind(&t->listener, (struct sockaddr *)&sa, 0) != 0 ||
	    uv_listen((uv_stream_t *)&t->listener, 128, accept_cb) != 0) {
		uv_close((uv_handle_t *)&t->listener, NULL);
		/* Let the close complete before freeing: the loop runs it next. */
		uv_run(loop, UV_RUN_NOWAIT);
		free(t);
		return TRANSPORT_ELISTEN;
	}
	uv_timer_init(loop, &t->sweep);
	t->sweep.data = t;
	t->open_handles++;
	uv_timer_start(&t->sweep, sweep_cb, SWEEP_MS, SWEEP_MS);
	*out = t;
	return TRANSPORT_OK;
}

int transport_add_peer(struct transport *t, uint64_t id, const char *raft_addr)
{
	struct peer *p = peer_find(t, id);
	struct sockaddr_storage sa;
	int slot = -1;

	if (id == 0 || id == t->cfg.id)
		return TRANSPORT_EPEER;
	if (parse_addr(t->loop, raft_addr, &sa) != TRANSPORT_OK)
		return TRANSPORT_EADDR;
	if (p) {
		if (strcmp(p->addr, raft_addr) == 0)
			return TRANSPORT_OK;
		copy_str(p->addr, sizeof(p->addr), raft_addr);
		p->sa = sa;
		if (p->out)
			conn_close(p->out); /* redials the new address */
		return TRANSPORT_OK;
	}
	for (int i = 0; i < TRANSPORT_MAX_PEERS && slot < 0; i++)
		if (!t->peers[i])
			slot = i;
	if (slot < 0)
		return TRANSPORT_EPEER;
	p = calloc(1, sizeof(*p));
	if (!p)
		return TRANSPORT_ENOMEM;
	p->id = id;
	p->t = t;
	p->sa = sa;
	copy_str(p->addr, sizeof(p->addr), raft_addr);
	uv_timer_init(t->loop, &p->timer);
	p->timer.data = p;
	p->timer_live = true;
	t->open_handles++;
	t->peers[slot] = p;
	dial(p);
	return TRANSPORT_OK;
}

static void peer_timer_closed_cb(uv_handle_t *h)
{
	struct peer *p = h->data;
	struct transport *t = p->t;

	free(p);
	handle_closed(t);
}

static void peer_free(struct transport *t, int slot)
{
	struct peer *p = t->peers[slot];

	t->peers[slot] = NULL;
	free(p->cork);
	p->cork = NULL;
	if (p->out) {
		p->out->peer = NULL;
		conn_close(p->out);
		p->out = NULL;
	}
	uv_timer_stop(&p->timer);
	uv_close((uv_handle_t *)&p->timer, peer_timer_closed_cb);
}

/* Closes the connections ID dialled to T that T admitted. */
static void close_inbound(struct transport *t, uint64_t id)
{
	struct conn *next;

	for (struct conn *c = t->inbound; c; c = next) {
		next = c->next_inbound;
		if (c->hello_ok && c->from == id)
			conn_close(c);
	}
}

void transport_remove_peer(struct transport *t, uint64_t id)
{
	for (int i = 0; i < TRANSPORT_MAX_PEERS; i++)
		if (t->peers[i] && t->peers[i]->id == id)
			peer_free(t, i);
	close_inbound(t, id); /* should it dial again, its HELLO is judged anew */
}

bool transport_has_peer(const struct transport *t, uint64_t id)
{
	return peer_find(t, id) != NULL;
}

void transport_redial(struct transport *t, uint64_t id)
{
	struct peer *p = peer_find(t, id);

	if (p && p->out)
		conn_close(p->out);
	close_inbound(t, id);
}

void transport_set_cluster(struct transport *t, const char *cluster)
{
	copy_str(t->cluster, sizeof(t->cluster), cluster);
	for (int i = 0; i < TRANSPORT_MAX_PEERS; i++)
		if (t->peers[i] && t->peers[i]->out)
			conn_close(t->peers[i]->out); /* redials with the new HELLO */
}

void transport_stats(const struct transport *t, struct transport_stats *out)
{
	*out = t->stats;
}

static void plain_closed_cb(uv_handle_t *h)
{
	handle_closed(h->data);
}

void transport_stop(struct transport *t, void (*cb)(void *ctx), void *ctx)
{
	t->stopping = true;
	t->stop_cb = cb;
	t->stop_ctx = ctx;
	for (int i = 0; i < TRANSPORT_MAX_PEERS; i++)
		if (t->peers[i])
			peer_free(t, i);
	while (t->inbound)
		conn_close(t->inbound);
	t->sweep.data = t;
	uv_close((uv_handle_t *)&t->sweep, plain_closed_cb);
	t->listener.data = t;
	uv_close((uv_handle_t *)&t->listener, plain_closed_cb);
}

void transport_free(struct transport *t)
{
	assert(t->open_handles == 0);
	free(t);
}
