/* transport.c: transport.h in the simulated world: a node's peers as TCP
 * connections would carry them. Each node dials each peer; a dial takes a
 * latency, fails at once against a node that is down and after
 * TRANSPORT_CONNECT_TIMEOUT_MS across a partition. The first frame on a
 * connection is the dialer's HELLO, which the acceptor's owner admits or
 * not (node_join_hello, the real rule); frames arrive in order, each after
 * a latency, never twice; a connection may reset (its frames in flight are
 * lost) and is redialled after the real backoff. Across a partition frames
 * wait, as TCP retransmits them, and the connection closes after
 * TRANSPORT_STALL_MS, as TCP_USER_TIMEOUT closes it in coordd (its frames
 * are then lost); one that heals sooner delivers them late, in order.
 *
 * Beyond TCP, on purpose: in RT_NET_MESSY_PER_MILLE of the seeds the
 * network also delivers some Raft frames twice (0-5% of them, drawn per
 * seed) and lets some be overtaken by later ones (0-6% arrive up to
 * RT_NET_TAIL_MAX_US late, a reordering tail): the core must stay safe
 * under both. Only Raft
 * frames: never a HELLO (admission comes first on a connection), nor a
 * forwarded request or its reply (the runtime relies on TCP's order for
 * those). A duplicate departs with its original (rt_raft_sent() and I9
 * see the message once) and is marked as its original is for I4
 * (rt_raft_append_in() at each arrival). Those draws come from a
 * generator of their own, so that the other seeds run as before.
 *
 * Every Raft frame delivered passes removed.c's check (I13). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "node_internal.h"
#include "rt.h"
#include "transport.h"

struct rt_conn {
	int from, to; /* slots: from dialled to */
	uint64_t from_gen, to_gen;
	bool open; /* connected: the dialer may send */
	bool closed;
	/* Closed by its dialer's crash: frames that left before then still
	 * arrive (0: none do). */
	uint64_t sent_until_us;
	bool admitted; /* the acceptor admitted its HELLO */
	uint64_t opened_us;
	uint64_t last_arrival_us; /* frames arrive in order */
	uint64_t held_until_us;   /* a partition holds its frames until then */
	struct rt_conn *next_all;
};

struct rt_frame {
	struct rt_conn *c;
	uint64_t sent_us;   /* when its node's code sent it */
	uint64_t depart_us; /* when it left the node: after the syncs its loop is blocked in */
	enum transport_kind kind;
	size_t len;
	uint64_t log_from;            /* rt_raft_sent(): an APPEND may write from there (I4) */
	struct transport_hello hello; /* HELLO: what the dialer said */
	char hello_cluster[TRANSPORT_CLUSTER_MAX], hello_http[TRANSPORT_ADDR_MAX],
	    hello_raft[TRANSPORT_ADDR_MAX];
	uint8_t payload[];
};

struct rt_peer {
	uint64_t id;
	struct rt_conn *out;
	unsigned backoff_ms;
	bool dial_queued;
};

struct transport {
	int node;
	struct transport_config cfg;
	char cluster[TRANSPORT_CLUSTER_MAX], listen[TRANSPORT_ADDR_MAX], http[TRANSPORT_ADDR_MAX];
	struct rt_peer peers[TRANSPORT_MAX_PEERS];
	size_t n_peers;
	struct transport_stats stats;
};

#define RT_RETRANSMIT_US 50000 /* a held frame is tried again this often */

/* The network beyond TCP, in some seeds (the header comment). */
#define RT_NET_MESSY_PER_MILLE    333
#define RT_NET_DUP_MAX_PER_MILLE  50                    /* Raft frames that arrive twice */
#define RT_NET_TAIL_MAX_PER_MILLE 60                    /* ... that arrive late */
#define RT_NET_TAIL_MAX_US        200000                /* ... by up to this much */
#define RT_NET_SEED               0x6e6574776f726b21ull /* its generator's, mixed with the seed */

static struct {
	bool on;
	struct sim_rng rng;
	unsigned dup_per_mille, tail_per_mille;
	uint64_t tail_us; /* a late frame's extra latency is below this */
} messy;

static struct rt_conn *all_conns;
static struct transport *by_node[RT_NODES_MAX];

void rt_net_start(struct rt_world *w)
{
	memset(&messy, 0, sizeof(messy));
	sim_rng_seed(&messy.rng, w->seed ^ RT_NET_SEED);
	messy.on = sim_chance(&messy.rng, RT_NET_MESSY_PER_MILLE);
	if (!messy.on)
		return;
	messy.dup_per_mille = (unsigned)sim_below(&messy.rng, RT_NET_DUP_MAX_PER_MILLE + 1);
	messy.tail_per_mille = (unsigned)sim_below(&messy.rng, RT_NET_TAIL_MAX_PER_MILLE + 1);
	messy.tail_us = 2000 + sim_below(&messy.rng, RT_NET_TAIL_MAX_US - 2000);
	rt_trace(w,
	         "network: Raft frames duplicated %u per mille, %u per mille late by up to %llu "
	         "ms",
	         messy.dup_per_mille, messy.tail_per_mille,
	         (unsigned long long)messy.tail_us / 1000);
}

const char *transport_strerror(int err)
{
	return err == TRANSPORT_OK ? "ok" : "simulated transport error";
}

static struct rt_peer *peer_find(struct transport *t, uint64_t id)
{
	for (size_t i = 0; i < t->n_peers; i++)
		if (t->peers[i].id == id)
			return &t->peers[i];
	return NULL;
}

static const struct rt_peer *peer_get(const struct transport *t, uint64_t id)
{
	for (size_t i = 0; i < t->n_peers; i++)
		if (t->peers[i].id == id)
			return &t->peers[i];
	return NULL;
}

static bool node_alive(struct rt_world *w, int slot, uint64_t gen)
{
	return w->nodes[slot].up && w->nodes[slot].gen == gen;
}

static bool cut(struct rt_world *w, int a, int b)
{
	return w->nodes[a].partitioned || w->nodes[b].partitioned;
}

/* Queues the dial of T's connection to peer P after DELAY_US. */
static void dial_later(struct rt_world *w, struct transport *t, struct rt_peer *p,
                       uint64_t delay_us)
{
	int to = (int)p->id - 1;

	if (p->dial_queued || to < 0 || to >= w->n_nodes)
		return;
	p->dial_queued = true;
	rt_push(w, w->now_us + delay_us, RT_EV_DIAL, t->node, NULL, (int)p->id);
}

/* Invariant 3's backoff: doubles from MIN to MAX, with jitter. */
static uint64_t backoff_us(struct rt_world *w, struct rt_peer *p)
{
	unsigned ms = p->backoff_ms ? p->backoff_ms : TRANSPORT_BACKOFF_MIN_MS;

	p->backoff_ms = ms * 2 > TRANSPORT_BACKOFF_MAX_MS ? TRANSPORT_BACKOFF_MAX_MS : ms * 2;
	return (uint64_t)ms * 1000u + sim_below(&w->rng, ms * 500u);
}

/* Closes C; the dialer, if it still lives, redials after its backoff. */
static void conn_close(struct rt_world *w, struct rt_conn *c)
{
	struct transport *t;
	struct rt_peer *p;

	if (c->closed)
		return;
	c->closed = true;
	c->open = false;
	if (!node_alive(w, c->from, c->from_gen) || !(t = by_node[c->from]))
		return;
	p = peer_find(t, (uint64_t)c->to + 1);
	if (!p || p->out != c)
		return;
	p->out = NULL;
	if (w->now_us - c->opened_us >= TRANSPORT_LASTED_MS * 1000ull)
		p->backoff_ms = 0;
	dial_later(w, t, p, backoff_us(w, p));
}

int transport_start(uv_loop_t *loop, const struct transport_config *config, struct transport **out)
{
	struct transport *t = calloc(1, sizeof(*t));

	(void)loop;
	if (!t)
		return TRANSPORT_ENOMEM;
	t->node = rt_w->current;
	t->cfg = *config;
	snprintf(t->cluster, sizeof(t->cluster), "%s", config->cluster);
	snprintf(t->listen, sizeof(t->listen), "%s", config->listen_addr);
	snprintf(t->http, sizeof(t->http), "%s", config->http_addr);
	by_node[t->node] = t;
	*out = t;
	return TRANSPORT_OK;
}

int transport_add_peer(struct transport *t, uint64_t id, const char *raft_addr)
{
	struct rt_peer *p = peer_find(t, id);

	(void)raft_addr; /* node K listens at the address the world gave it */
	if (p)
		return TRANSPORT_OK;
	if (t->n_peers == TRANSPORT_MAX_PEERS || id == 0 || id > RT_NODES_MAX)
		return TRANSPORT_EPEER;
	p = &t->peers[t->n_peers++];
	*p = (struct rt_peer){.id = id};
	dial_later(rt_w, t, p, 0);
	return TRANSPORT_OK;
}

void transport_remove_peer(struct transport *t, uint64_t id)
{
	struct rt_peer *p = peer_find(t, id);

	if (p)
		*p = t->peers[--t->n_peers];
	transport_redial(t, id); /* both ways; with the peer gone, nothing redials */
}

bool transport_has_peer(const struct transport *t, uint64_t id)
{
	return peer_get(t, id) != NULL;
}

/* Closes every connection between T's node and ID, both ways. */
void transport_redial(struct transport *t, uint64_t id)
{
	for (struct rt_conn *c = all_conns; c; c = c->next_all)
		if (!c->closed && ((c->from == t->node && (uint64_t)c->to + 1 == id) ||
		                   ((uint64_t)c->from + 1 == id && c->to == t->node)))
			conn_close(rt_w, c);
}

void transport_set_cluster(struct transport *t, const char *cluster)
{
	snprintf(t->cluster, sizeof(t->cluster), "%s", cluster);
	for (size_t i = 0; i < t->n_peers; i++)
		if (t->peers[i].out)
			conn_close(rt_w, t->peers[i].out);
}

bool transport_connected(const struct transport *t, uint64_t id)
{
	const struct rt_peer *p = peer_get(t, id);

	return p && p->out && p->out->open;
}

void transport_cork(struct transport *t)
{
	(void)t; /* frames keep their order either way */
}

void transport_uncork(struct transport *t)
{
	(void)t;
}

void transport_stats(const struct transport *t, struct transport_stats *out)
{
	*out = t->stats;
}

void transport_stop(struct transport *t, void (*cb)(void *ctx), void *ctx)
{
	for (size_t i = 0; i < t->n_peers; i++)
		if (t->peers[i].out)
			t->peers[i].out->closed = true;
	cb(ctx);
}

void transport_free(struct transport *t)
{
	if (by_node[t->node] == t)
		by_node[t->node] = NULL;
	free(t);
}

static void frame_push(struct rt_world *w, struct rt_frame *f, uint64_t at)
{
	rt_push(w, at, RT_EV_FRAME, f->c->to, f, 0);
}

/* F, sent now, goes on C: it leaves its node once the node's loop runs
 * (after the syncs it is blocked in). */
static void frame_send(struct rt_world *w, struct rt_conn *c, struct rt_frame *f)
{
	f->c = c;
	f->sent_us = w->now_us;
	f->depart_us = rt_node_time(w, c->from);
}

/* When F arrives in order: after the trip, and after every frame before it
 * on its connection. IN_ORDER: later frames arrive after it too. */
static uint64_t frame_arrival(struct rt_world *w, struct rt_frame *f, bool in_order)
{
	struct rt_conn *c = f->c;
	uint64_t at = f->depart_us + w->latency_us + sim_below(&w->rng, w->jitter_us + 1);

	if (at <= c->last_arrival_us)
		at = c->last_arrival_us + 1;
	if (in_order)
		c->last_arrival_us = at;
	return at;
}

/* Beyond TCP (the header comment): Raft frame F of message type TYPE may
 * arrive twice, and late. */
static void frame_scramble(struct rt_world *w, struct rt_frame *f, int type)
{
	bool dup = sim_chance(&messy.rng, messy.dup_per_mille);
	bool late = sim_chance(&messy.rng, messy.tail_per_mille);
	uint64_t at = frame_arrival(w, f, !late);

	if (dup) {
		struct rt_frame *d = malloc(sizeof(*d) + f->len);
		uint64_t again = 1 + sim_below(&messy.rng, messy.tail_us);

		assert(d);
		memcpy(d, f, sizeof(*d) + f->len);
		rt_trace(w, "n%d -> n%d %s duplicated: again %.1f ms later", f->c->from + 1,
		         f->c->to + 1, raft_msg_type_name(type), (double)again / 1000.0);
		frame_push(w, d, at + again);
	}
	if (late) {
		uint64_t extra = 1 + sim_below(&messy.rng, messy.tail_us);

		rt_trace(w, "n%d -> n%d %s late by %.1f ms: later frames overtake it",
		         f->c->from + 1, f->c->to + 1, raft_msg_type_name(type),
		         (double)extra / 1000.0);
		at += extra;
	}
	frame_push(w, f, at);
}

int transport_send(struct transport *t, uint64_t to, enum transport_kind kind, const void *payload,
                   size_t len)
{
	static struct raft_codec_msg m;
	struct rt_peer *p = peer_find(t, to);
	struct rt_frame *f;

	assert(kind > TRANSPORT_HELLO && kind <= TRANSPORT_KIND_MAX);
	if (!p)
		return TRANSPORT_EPEER;
	if (!p->out || !p->out->open)
		return TRANSPORT_ENOTCONN;
	if (len > TRANSPORT_FRAME_MAX)
		return TRANSPORT_ETOOBIG;
	if (rt_w->now_us < rt_w->fault_until_us && sim_chance(&rt_w->rng, rt_w->reset_per_mille)) {
		rt_trace(rt_w, "n%d->n%llu connection reset", t->node + 1, (unsigned long long)to);
		conn_close(rt_w, p->out);
		return TRANSPORT_OK; /* written, then lost with the connection */
	}
	f = malloc(sizeof(*f) + len);
	assert(f);
	f->kind = kind;
	f->len = len;
	f->log_from = 0;
	memcpy(f->payload, payload, len);
	t->stats.frames_sent++;
	frame_send(rt_w, p->out, f);
	if (kind != TRANSPORT_RAFT)
		rt_trace(rt_w, "n%d -> n%llu %s (%zu bytes)", t->node + 1, (unsigned long long)to,
		         kind == TRANSPORT_FORWARD ? "forward" : "reply", len);
	/* Acknowledgements (I9), votes (I2), appends (I4). */
	if (kind == TRANSPORT_RAFT && raft_codec_decode(f->payload, len, &m) == RAFT_CODEC_OK) {
		if (m.msg.type == RAFT_MSG_APPEND_RESP && !m.msg.reject)
			rt_acked(rt_w, t->node, m.msg.index, f->depart_us);
		f->log_from = rt_raft_sent(rt_w, t->node, &m.msg, f->depart_us);
		if (messy.on) {
			frame_scramble(rt_w, f, m.msg.type);
			return TRANSPORT_OK;
		}
	}
	frame_push(rt_w, f, frame_arrival(rt_w, f, true));
	return TRANSPORT_OK;
}

/* The DIAL event of node EV->node's peer EV->arg. */
void rt_net_dial_event(struct rt_world *w, struct rt_event *ev)
{
	struct transport *t = by_node[ev->node];
	struct rt_peer *p;
	struct rt_conn *c;
	struct rt_frame *f;
	int to;

	if (!t || ev->gen != w->nodes[ev->node].gen || !(p = peer_find(t, (uint64_t)ev->arg)))
		return;
	p->dial_queued = false;
	if (p->out)
		return;
	to = ev->arg - 1;
	if (!w->nodes[to].up) { /* refused at once */
		dial_later(w, t, p, backoff_us(w, p));
		return;
	}
	if (cut(w, ev->node, to)) { /* the SYN is lost: the dial times out */
		t->stats.dial_timeouts++;
		dial_later(w, t, p, TRANSPORT_CONNECT_TIMEOUT_MS * 1000ull);
		return;
	}
	c = calloc(1, sizeof(*c));
	assert(c);
	*c = (struct rt_conn){.from = ev->node,
	                      .to = to,
	                      .from_gen = w->nodes[ev->node].gen,
	                      .to_gen = w->nodes[to].gen,
	                      .open = true,
	                      .opened_us = w->now_us,
	                      .next_all = all_conns};
	all_conns = c;
	p->out = c;
	t->stats.connects++;
	/* Its HELLO, as the dialer fills it now. */
	f = calloc(1, sizeof(*f));
	assert(f);
	f->kind = TRANSPORT_HELLO;
	if (t->cfg.hello_fill)
		t->cfg.hello_fill(t->cfg.ctx, p->id, &f->hello);
	snprintf(f->hello_cluster, sizeof(f->hello_cluster), "%s", t->cluster);
	snprintf(f->hello_http, sizeof(f->hello_http), "%s", t->http);
	snprintf(f->hello_raft, sizeof(f->hello_raft), "%s", t->listen);
	f->hello.id = t->cfg.id;
	frame_send(w, c, f);
	frame_push(w, f, frame_arrival(w, f, true));
}

void rt_net_frame_event(struct rt_world *w, struct rt_event *ev)
{
	struct rt_frame *f = ev->ptr;
	struct rt_conn *c = f->c;
	struct transport *t = by_node[c->to];

	/* A frame on a closed connection is lost, unless it left before its
	 * sender crashed: the wire delivers it, then the close. */
	bool lost = c->closed && f->depart_us >= c->sent_until_us;

	if (lost || !node_alive(w, c->to, c->to_gen) || !t) {
		free(f);
		return;
	}
	/* Across a partition TCP retransmits: the frame waits (and those after
	 * it on the connection, in order) until the partition heals or the
	 * stall closes the connection. */
	if (cut(w, c->from, c->to) || w->now_us < c->held_until_us) {
		if (cut(w, c->from, c->to))
			c->held_until_us = w->now_us + RT_RETRANSMIT_US;
		rt_push(w, c->held_until_us, RT_EV_FRAME, c->to, f, 0);
		return;
	}
	t->stats.frames_received++;
	if (f->kind == TRANSPORT_HELLO) {
		f->hello.cluster = f->hello_cluster;
		f->hello.http = f->hello_http;
		f->hello.raft = f->hello_raft;
		c->admitted = t->cfg.on_hello(t->cfg.ctx, &f->hello);
		if (!c->admitted) {
			t->stats.bad_peers++;
			conn_close(w, c);
		}
	} else if (c->admitted && f->kind != TRANSPORT_RAFT) {
		t->cfg.on_frame(t->cfg.ctx, (uint64_t)c->from + 1, f->kind, f->payload, f->len);
	} else if (c->admitted) {
		struct rt_removed_mark mark;

		if (f->log_from)
			rt_raft_append_in(w, c->to, f->log_from);
		rt_removed_before(w, c->from, c->to, f->sent_us, f->payload, f->len, &mark);
		t->cfg.on_frame(t->cfg.ctx, (uint64_t)c->from + 1, f->kind, f->payload, f->len);
		rt_removed_after(w, c->from, c->to, &mark);
	}
	free(f);
}

void rt_net_node_down(struct rt_world *w, int node)
{
	for (struct rt_conn *c = all_conns; c; c = c->next_all)
		if (!c->closed && (c->from == node || c->to == node)) {
			if (c->from == node)
				c->sent_until_us = w->now_us;
			conn_close(w, c);
		}
}

/* A partition of NODE from every other: its connections die after the
 * stall time (frames meanwhile are lost); healing lets dials through. */
void rt_net_isolate(struct rt_world *w, int node, bool isolated)
{
	w->nodes[node].partitioned = isolated;
	if (!isolated)
		return;
	for (struct rt_conn *c = all_conns; c; c = c->next_all)
		if (!c->closed && (c->from == node || c->to == node))
			rt_push(w, w->now_us + TRANSPORT_STALL_MS * 1000ull, RT_EV_DIAL, -1, c, 0);
}

/* The stall time of a connection cut by a partition ran out. */
void rt_net_stall_event(struct rt_world *w, void *conn)
{
	struct rt_conn *c = conn;

	if (!c->closed && cut(w, c->from, c->to))
		conn_close(w, c);
}
