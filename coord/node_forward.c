/* Forwarding: a follower sends a decoded request to the leader over the peer
 * connection and relays the leader's answer. Frames (little-endian):
 *
 *   FORWARD  u64 call id | u8 op | u8 flags | u64 ttl_ms | u64 lock_delay_ms
 *            | u64 wait_ms | u64 index | u64 poll_wait_ms | u64 token
 *            | str8 name | str8 session | str8 label | str8 prefix | str32 value
 *   REPLY    u64 call id | u16 status | u64 index | u64 term | u64 leader
 *            | u32 retry_after_s | u8 has_last_contact | u64 last_contact_ms
 *            | str32 body
 *
 * (strN: an N-bit length, then the bytes.) A FORWARD with flag F_CANCEL
 * withdraws the wait of the acquire or campaign it describes; its answer
 * goes to call id 0, which no follower uses, and so nowhere. The leader checks every field of a
 * FORWARD as the HTTP layer did: a peer is never trusted (rule 11). */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "names.h"
#include "node_internal.h"

enum {
	F_STALE = 1,
	F_PRETTY = 2,
	F_HAS_INDEX = 4,
	F_SHARED = 8,
	F_HAS_VALUE = 16,
	F_WRITE = 32,
	F_CANCEL = 64
};

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool fail;
};

static void put(struct wbuf *w, const void *src, size_t n)
{
	if (w->fail || w->len + n > w->cap) {
		w->fail = true;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void put_uint(struct wbuf *w, uint64_t v, int bytes)
{
	uint8_t b[8];

	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put(w, b, (size_t)bytes);
}

static void put_str(struct wbuf *w, const char *s, size_t len, int len_bytes)
{
	put_uint(w, len, len_bytes);
	put(w, s, len);
}

struct rbuf {
	const uint8_t *p;
	size_t len, pos;
	bool fail;
};

static uint64_t get_uint(struct rbuf *r, int bytes)
{
	uint64_t v = 0;

	if (r->fail || r->len - r->pos < (size_t)bytes) {
		r->fail = true;
		return 0;
	}
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)r->p[r->pos + (size_t)i] << (8 * i);
	r->pos += (size_t)bytes;
	return v;
}

/* Copies a string of at most MAX bytes into OUT (MAX + 1 bytes). */
static void get_str(struct rbuf *r, int len_bytes, char *out, size_t max)
{
	uint64_t n = get_uint(r, len_bytes);

	if (r->fail || n > max || n > r->len - r->pos || memchr(r->p + r->pos, 0, n)) {
		r->fail = true;
		return;
	}
	memcpy(out, r->p + r->pos, n);
	out[n] = '\0';
	r->pos += n;
}

/* Follower side ------------------------------------------------------------------ */

static size_t encode_request(const struct http_request *q, uint64_t id, bool cancel, uint8_t *buf,
                             size_t cap)
{
	struct wbuf w = {buf, 0, cap, false};
	unsigned flags = (q->stale ? F_STALE : 0) | (q->pretty ? F_PRETTY : 0) |
	                 (q->has_index ? F_HAS_INDEX : 0) | (q->shared ? F_SHARED : 0) |
	                 (q->has_value ? F_HAS_VALUE : 0) | (q->is_write ? F_WRITE : 0) |
	                 (cancel ? F_CANCEL : 0);

	put_uint(&w, id, 8);
	put_uint(&w, q->op, 1);
	put_uint(&w, flags, 1);
	put_uint(&w, q->ttl_ms, 8);
	put_uint(&w, q->lock_delay_ms, 8);
	put_uint(&w, q->wait_ms, 8);
	put_uint(&w, q->index, 8);
	put_uint(&w, q->poll_wait_ms, 8);
	put_uint(&w, q->token, 8);
	put_str(&w, q->name, strlen(q->name), 1);
	put_str(&w, q->session, strlen(q->session), 1);
	put_str(&w, q->label, strlen(q->label), 1);
	put_str(&w, q->prefix, strlen(q->prefix), 1);
	put_str(&w, q->has_value ? q->value : "", q->value_len, 4);
	return w.fail ? 0 : w.len;
}

#define FORWARD_MAX (128 + 4 * 256 + HTTP_VALUE_MAX)

static bool send_request(struct node *n, uint64_t leader, const struct http_request *req,
                         uint64_t id, bool cancel)
{
	static uint8_t buf[FORWARD_MAX];
	size_t len = encode_request(req, id, cancel, buf, sizeof(buf));

	return len &&
	       transport_send(n->transport, leader, TRANSPORT_FORWARD, buf, len) == TRANSPORT_OK;
}

void node_forward(struct node *n, struct ncall *c)
{
	uint64_t leader = raft_leader(n->raft);
	uint64_t wait = c->req->wait_ms + c->req->poll_wait_ms;

	if (!send_request(n, leader, c->req, c->id, false))
		return node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                         "cannot reach the leader (node %llu); retry",
		                         (unsigned long long)leader);
	n->metrics.forwarded++;
	c->peer = leader;
	ncall_wait(n, c, W_FORWARD,
	           node_now_ms() + NODE_WRITE_TIMEOUT_MS + wait + NODE_FORWARD_SLACK_MS);
}

/* A local client waiting (through the leader) for a grant hung up: withdraw
 * its wait on the leader and let the call go. */
void node_forward_cancel(struct node *n, struct ncall *c)
{
	uint64_t leader = raft_leader(n->raft);

	if (leader && leader != n->cfg.id)
		send_request(n, leader, c->req, c->id, true);
	node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL, "the client went away");
}

void node_on_reply(struct node *n, uint64_t from, const uint8_t *p, size_t len)
{
	struct rbuf r = {p, len, 0, false};
	uint64_t id = get_uint(&r, 8);
	unsigned status = (unsigned)get_uint(&r, 2);
	struct http_meta meta = {0};
	uint64_t body_len;

	meta.index = get_uint(&r, 8);
	meta.term = get_uint(&r, 8);
	meta.leader = get_uint(&r, 8);
	meta.retry_after_s = (unsigned)get_uint(&r, 4);
	meta.has_last_contact = get_uint(&r, 1) != 0;
	meta.last_contact_ms = get_uint(&r, 8);
	body_len = get_uint(&r, 4);
	if (r.fail || body_len != len - r.pos || status < 100 || status > 599) {
		LOG_WARN("malformed reply from peer %llu dropped", (unsigned long long)from);
		return;
	}
	for (struct ncall *c = n->waits[W_FORWARD].head; c; c = c->next) {
		if (c->id != id || c->peer != from)
			continue;
		ncall_unwait(n, c);
		http_call_answer_raw(c->http, status, (const char *)p + r.pos, body_len, &meta);
		n->n_calls--;
		free(c);
		return;
	}
}

/* Leader side -------------------------------------------------------------------- */

bool node_reply_remote(struct node *n, struct ncall *c, unsigned status, const char *body,
                       size_t len, const struct http_meta *meta)
{
	static const char too_big[] =
	    "{\"error\":\"unavailable\",\"message\":\"the answer is too large to relay from "
	    "the leader; ask the leader (?redirect) or any node (?consistency=stale)\"}";

	if (c->peer_call == 0) /* a withdrawal: nobody waits for this answer */
		return true;
	if (len + 64 > TRANSPORT_FRAME_MAX) {
		status = 503;
		body = too_big;
		len = sizeof(too_big) - 1;
	}
	uint8_t *buf = malloc(64 + len);
	struct wbuf w = {buf, 0, 64 + len, !buf};
	bool ok;

	put_uint(&w, c->peer_call, 8);
	put_uint(&w, status, 2);
	put_uint(&w, meta->index, 8);
	put_uint(&w, meta->term, 8);
	put_uint(&w, meta->leader, 8);
	put_uint(&w, meta->retry_after_s, 4);
	put_uint(&w, meta->has_last_contact, 1);
	put_uint(&w, meta->last_contact_ms, 8);
	put_str(&w, body, len, 4);
	ok = !w.fail &&
	     transport_send(n->transport, c->peer, TRANSPORT_REPLY, buf, w.len) == TRANSPORT_OK;
	free(buf);
	return ok;
}

/* Decodes and re-checks a forwarded request. */
static bool decode_request(const uint8_t *p, size_t len, struct http_request *q, uint64_t *id,
                           bool *cancel)
{
	struct rbuf r = {p, len, 0, false};
	unsigned flags, op;
	uint64_t vlen;

	memset(q, 0, sizeof(*q));
	*id = get_uint(&r, 8);
	op = (unsigned)get_uint(&r, 1);
	flags = (unsigned)get_uint(&r, 1);
	q->ttl_ms = get_uint(&r, 8);
	q->lock_delay_ms = get_uint(&r, 8);
	q->wait_ms = get_uint(&r, 8);
	q->index = get_uint(&r, 8);
	q->poll_wait_ms = get_uint(&r, 8);
	q->token = get_uint(&r, 8);
	get_str(&r, 1, q->name, HTTP_NAME_MAX);
	get_str(&r, 1, q->session, HTTP_SESSION_ID_LEN);
	get_str(&r, 1, q->label, HTTP_SESSION_LABEL_MAX);
	get_str(&r, 1, q->prefix, HTTP_NAME_MAX);
	vlen = get_uint(&r, 4);
	if (r.fail || vlen > HTTP_VALUE_MAX || vlen != len - r.pos)
		return false;
	if (op == 0 || op >= HTTP_OP_COUNT)
		return false;
	*cancel = flags & F_CANCEL;
	if (*cancel && op != HTTP_OP_LOCK_ACQUIRE && op != HTTP_OP_ELECTION_CAMPAIGN)
		return false;
	if (q->ttl_ms > HTTP_TTL_MAX_MS || q->lock_delay_ms > HTTP_LOCK_DELAY_MAX_MS ||
	    q->wait_ms > HTTP_WAIT_MAX_MS || q->poll_wait_ms > HTTP_WAIT_MAX_MS)
		return false;
	if (q->name[0] && !http_name_valid(q->name, strlen(q->name), NULL))
		return false;
	if (!http_value_valid((const char *)p + r.pos, vlen, NULL))
		return false;
	q->op = (enum http_op)op;
	q->stale = flags & F_STALE;
	q->pretty = flags & F_PRETTY;
	q->has_index = flags & F_HAS_INDEX;
	q->shared = flags & F_SHARED;
	q->is_write = flags & F_WRITE;
	if (flags & F_HAS_VALUE) {
		q->value = malloc(vlen + 1);
		if (!q->value)
			return false;
		memcpy(q->value, p + r.pos, vlen);
		q->value[vlen] = '\0';
		q->value_len = vlen;
		q->has_value = true;
	}
	return true;
}

/* A follower's client gave up on a forwarded wait or long-poll: withdraw
 * the call this leader holds for it (its answer goes nowhere). */
static void on_forwarded_cancel(struct node *n, struct ncall *cancel)
{
	static const enum ncall_wait lists[] = {W_GRANT, W_POLL};

	for (size_t i = 0; i < 2; i++) {
		enum ncall_wait w = lists[i];

		for (struct ncall *c = n->waits[w].head; c; c = c->next) {
			if (c->peer != cancel->peer || c->peer_call != cancel->peer_call)
				continue;
			if (w == W_GRANT)
				node_cancel_wait(n, c);
			else
				node_drop_poll(n, c);
			cancel->peer_call = 0; /* its own answer goes nowhere */
			node_answer_error(n, cancel, HTTP_ERR_UNAVAILABLE, NULL, "withdrawn");
			return;
		}
	}
	/* Not waiting here (yet): withdraw a queued acquire through the log. */
	cancel->peer_call = 0;
	if (cancel->req->op == HTTP_OP_LOCK_ACQUIRE || cancel->req->op == HTTP_OP_ELECTION_CAMPAIGN)
		node_cancel_wait(n, cancel);
	else
		node_answer_error(n, cancel, HTTP_ERR_UNAVAILABLE, NULL, "withdrawn");
}

void node_on_forward(struct node *n, uint64_t from, const uint8_t *p, size_t len)
{
	struct ncall *c = calloc(1, sizeof(*c));
	uint64_t id;
	bool cancel = false;

	if (!c)
		return;
	if (!decode_request(p, len, &c->own, &id, &cancel)) {
		LOG_WARN("malformed forwarded request from peer %llu dropped",
		         (unsigned long long)from);
		http_request_free(&c->own);
		free(c);
		return;
	}
	n->n_calls++;
	c->n = n;
	c->req = &c->own;
	c->peer = from;
	c->peer_call = id;
	c->id = ++n->next_call_id;
	c->arrived_ms = node_now_ms();
	c->arrived_us = uv_hrtime() / 1000u;
	if (cancel)
		return on_forwarded_cancel(n, c);
	if (n->n_calls > NODE_CALLS_MAX)
		return node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                         "too many requests in flight on the leader; retry");
	node_dispatch(n, c);
}
