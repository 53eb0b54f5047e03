/* net.c: the simulated network.
 *
 * Every message a core emits is encoded with the wire codec, decoded back
 * and compared field by field (the codec round trip is checked on real
 * traffic, and a core that sets fields its type does not carry is caught),
 * then queued as bytes with a random delay: loss, duplication and
 * reordering (a long-tail delay) come from the world's generator. Delivery
 * decodes the bytes again and steps the receiving core, if the receiver
 * admitted the sender on their connection (conn.c). Partitions block links
 * at delivery time: symmetric, one-way, and bridge.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "sim.h"

static struct raft_codec_msg net_scratch;

static bool net_before(const struct sim_packet *a, const struct sim_packet *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void net_swap(struct sim_packet *a, struct sim_packet *b)
{
	struct sim_packet t = *a;

	*a = *b;
	*b = t;
}

static void net_push(struct sim_net *net, struct sim_packet pkt)
{
	size_t i;

	if (net->q == NULL) {
		net->q = malloc(SIM_MAX_INFLIGHT * sizeof(*net->q));
		assert(net->q != NULL);
	}
	assert(net->n < SIM_MAX_INFLIGHT);
	i = net->n++;
	net->q[i] = pkt;
	while (i > 0 && net_before(&net->q[i], &net->q[(i - 1) / 2])) {
		net_swap(&net->q[i], &net->q[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
}

static struct sim_packet net_pop(struct sim_net *net)
{
	struct sim_packet top = net->q[0];
	size_t i = 0;

	net->q[0] = net->q[--net->n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < net->n && net_before(&net->q[l], &net->q[m]))
			m = l;
		if (r < net->n && net_before(&net->q[r], &net->q[m]))
			m = r;
		if (m == i)
			break;
		net_swap(&net->q[i], &net->q[m]);
		i = m;
	}
	return top;
}

void sim_net_free(struct sim_net *net)
{
	for (size_t i = 0; i < net->n; i++)
		free(net->q[i].bytes);
	free(net->q);
	memset(net, 0, sizeof(*net));
}

static bool net_bytes_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	return n == 0 || (a != NULL && b != NULL && memcmp(a, b, n) == 0);
}

/* The first field where the decoded message D differs from M, or NULL. */
static const char *net_diff(const struct raft_msg *m, const struct raft_msg *d)
{
	if (m->type != d->type || m->from != d->from || m->to != d->to || m->term != d->term)
		return "type/from/to/term";
	if (m->index != d->index || m->log_term != d->log_term || m->commit != d->commit)
		return "index/log_term/commit";
	if (m->reject != d->reject || m->hint_index != d->hint_index ||
	    m->hint_term != d->hint_term)
		return "reject/hint";
	if (m->ctx != d->ctx || m->transfer != d->transfer)
		return "ctx/transfer";
	if (m->n_entries != d->n_entries)
		return "n_entries";
	for (uint32_t i = 0; i < m->n_entries; i++) {
		const struct raft_entry *x = &m->entries[i], *y = &d->entries[i];

		if (x->term != y->term || x->index != y->index || x->type != y->type ||
		    x->len != y->len || !net_bytes_equal(x->data, y->data, x->len))
			return "entries";
	}
	if (m->snap.index != d->snap.index || m->snap.term != d->snap.term ||
	    m->snap.size != d->snap.size || m->snap.crc != d->snap.crc ||
	    m->snap.conf.n != d->snap.conf.n || m->snap.conf.joint != d->snap.conf.joint)
		return "snap";
	if (m->offset != d->offset || m->len != d->len || m->last != d->last ||
	    !net_bytes_equal(m->data, d->data, m->len))
		return "offset/len/last/data";
	return NULL;
}

static void net_enqueue(struct sim_world *w, const struct raft_msg *m, const uint8_t *bytes,
                        size_t len)
{
	struct sim_packet pkt = {.from = m->from, .to = m->to, .len = len, .sent = w->now};
	int from = sim_slot_of(w, m->from);
	uint64_t delay = 1 + sim_below(&w->rng, w->p.delay_max);

	if (sim_chance(&w->rng, w->p.tail))
		delay += sim_below(&w->rng, 10 * (uint64_t)w->p.delay_max); /* reordering */
	if (w->net.n >= SIM_MAX_INFLIGHT) {
		w->n_dropped++;
		sim_trace(w, "drop %s (network full)", raft_msg_type_name(m->type));
		return;
	}
	pkt.at = w->now + delay;
	pkt.from_inc = from >= 0 ? w->nodes[from].incarnation : 0;
	pkt.seq = w->net.seq++;
	pkt.bytes = malloc(len);
	assert(pkt.bytes != NULL);
	memcpy(pkt.bytes, bytes, len);
	if (w->brk == SIM_BREAK_CORRUPT_NET && sim_chance(&w->rng, 20))
		pkt.bytes[sim_below(&w->rng, len)] ^= (uint8_t)(1 + sim_below(&w->rng, 255));
	net_push(&w->net, pkt);
}

void sim_net_send(struct sim_world *w, const struct raft_msg *m)
{
	static uint8_t frame[RAFT_CODEC_MAX_FRAME];
	char line[160];
	const char *diff;
	size_t len = 0;
	int rv;

	rv = raft_codec_encode(m, frame, sizeof(frame), &len);
	if (rv != RAFT_CODEC_OK) {
		sim_fail(w, sim_slot_of(w, m->from), "codec", "cannot encode %s: %s",
		         sim_msg_line(m, line, sizeof(line)), raft_codec_strerror(rv));
		return;
	}
	rv = raft_codec_decode(frame, len, &net_scratch);
	diff = rv == RAFT_CODEC_OK ? net_diff(m, &net_scratch.msg) : raft_codec_strerror(rv);
	if (diff != NULL) {
		sim_fail(w, sim_slot_of(w, m->from), "codec",
		         "round trip of %s differs in %s (a field its type does not carry?)",
		         sim_msg_line(m, line, sizeof(line)), diff);
		return;
	}
	w->n_sent++;
	if (sim_chance(&w->rng, w->p.loss)) {
		w->n_dropped++;
		sim_trace(w, "drop %s (loss)", sim_msg_line(m, line, sizeof(line)));
		return;
	}
	sim_trace(w, "send %s", sim_msg_line(m, line, sizeof(line)));
	net_enqueue(w, m, frame, len);
	if (sim_chance(&w->rng, w->p.dup)) {
		sim_trace(w, "duplicate %s", sim_msg_line(m, line, sizeof(line)));
		net_enqueue(w, m, frame, len);
	}
}

static void net_deliver_one(struct sim_world *w, struct sim_packet *pkt)
{
	int from = sim_slot_of(w, pkt->from), to = sim_slot_of(w, pkt->to);
	struct sim_node *n = to >= 0 ? &w->nodes[to] : NULL;
	struct sim_check_mark mark;
	char line[160];
	int rv;

	rv = raft_codec_decode(pkt->bytes, pkt->len, &net_scratch);
	if (rv != RAFT_CODEC_OK) {
		sim_fail(w, to, "codec", "queued frame does not decode: %s",
		         raft_codec_strerror(rv));
		return;
	}
	sim_msg_line(&net_scratch.msg, line, sizeof(line));
	if (n == NULL || !n->used || n->retired || !n->up) {
		w->n_dropped++;
		sim_trace(w, "drop %s (receiver down)", line);
		return;
	}
	if (from >= 0 && w->net.blocked[from][to]) {
		w->n_dropped++;
		sim_trace(w, "drop %s (partition)", line);
		return;
	}
	if (!sim_conn_admits(w, pkt, to)) {
		w->n_refused++;
		sim_trace(w, "drop %s (not admitted)", line);
		return;
	}
	w->n_delivered++;
	sim_trace(w, "deliver %s", line);
	sim_check_removed_before(w, pkt, to, &mark);
	(void)raft_step(n->r, &net_scratch.msg);
	sim_check_removed_after(w, pkt, to, &mark);
	/* A leader decides commitment on the acks it steps, under the
	 * configuration of that moment: check it now, not after later
	 * membership changes in the same step. */
	sim_check_observe(w, to);
}

void sim_net_deliver(struct sim_world *w)
{
	while (w->net.n > 0 && w->net.q[0].at <= w->now && !w->failed) {
		struct sim_packet pkt = net_pop(&w->net);

		net_deliver_one(w, &pkt);
		free(pkt.bytes);
	}
}

/* Partitions ---------------------------------------------------------------------- */

static void net_block(struct sim_world *w, int a, int b)
{
	w->net.blocked[a][b] = true;
}

static void net_trace_groups(struct sim_world *w, const char *kind, const int *group, int bridge)
{
	char buf[128];
	size_t at = 0;

	for (int g = 0; g < 2; g++) {
		at += (size_t)snprintf(buf + at, sizeof(buf) - at, g ? " | " : "{");
		for (int s = 0; s < w->n_slots; s++) {
			if (w->nodes[s].used && group[s] == g && s != bridge)
				at += (size_t)snprintf(buf + at, sizeof(buf) - at, " n%d", s + 1);
		}
	}
	snprintf(buf + at, sizeof(buf) - at, " }");
	if (bridge >= 0)
		sim_trace(w, "partition %s %s bridged by n%d", kind, buf, bridge + 1);
	else
		sim_trace(w, "partition %s %s", kind, buf);
}

void sim_net_partition(struct sim_world *w, int target)
{
	int group[SIM_MAX_SLOTS] = {0};
	int kind = (int)sim_below(&w->rng, 4), x = (int)sim_below(&w->rng, (uint64_t)w->n_slots);

	if (target >= 0)
		x = target;

	sim_net_heal(w);
	w->net.partitioned = true;
	for (int s = 0; s < w->n_slots; s++)
		group[s] = (int)sim_below(&w->rng, 2);
	/* Aimed at a target (the leader): a symmetric split isolates it. */
	if (target >= 0 && kind == 0) {
		for (int s = 0; s < w->n_slots; s++)
			group[s] = s == target;
	}
	switch (kind) {
	case 0: /* symmetric split */
	case 1: /* bridge: x talks to both sides */
		for (int a = 0; a < w->n_slots; a++)
			for (int b = 0; b < w->n_slots; b++)
				if (group[a] != group[b] && (kind == 0 || (a != x && b != x)))
					net_block(w, a, b);
		net_trace_groups(w, kind == 0 ? "symmetric" : "bridge", group, kind == 0 ? -1 : x);
		break;
	case 2: /* one-way: x cannot hear anyone (a deaf node) */
		for (int s = 0; s < w->n_slots; s++)
			if (s != x)
				net_block(w, s, x);
		sim_trace(w, "partition one-way: n%d hears nobody", x + 1);
		break;
	default: /* one-way: nobody hears x (a mute node) */
		for (int s = 0; s < w->n_slots; s++)
			if (s != x)
				net_block(w, x, s);
		sim_trace(w, "partition one-way: nobody hears n%d", x + 1);
		break;
	}
}

void sim_net_heal(struct sim_world *w)
{
	if (w->net.partitioned)
		sim_trace(w, "heal partition");
	memset(w->net.blocked, 0, sizeof(w->net.blocked));
	w->net.partitioned = false;
}
