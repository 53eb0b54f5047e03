/* Forwarding: a follower sends its client's request to the leader over the
 * peer connection and relays the leader's answer. Frames (little-endian,
 * written and read with bytes.h):
 *
 *   FORWARD  u8 version | u64 call id | u8 flags | str8 method | str32 target
 *            | str32 body
 *   REPLY    u64 call id | u16 status | u64 index | u64 term | u64 leader
 *            | u32 retry_after_s | u8 has_last_contact | u64 last_contact_ms
 *            | str32 body
 *
 * (strN: an N-bit length, then the bytes.) A FORWARD carries the request as
 * the client sent it (method, path and query, body), and the leader decodes
 * it again with the same decoder the HTTP front end uses: a peer is never
 * trusted (rule 11), and a new request field needs no change here. A FORWARD
 * with FORWARD_CANCEL withdraws the wait (queued acquire or campaign) or the
 * long-poll it describes; its answer goes to call id 0, which no follower
 * uses, and so nowhere.
 *
 * FORWARD_VERSION 2 is the first to carry the request as sent; a node of an
 * earlier version cannot forward to one of this version or back (docs/API.md,
 * coordd: upgrades). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bytes.h"
#include "log.h"
#include "node_internal.h"

#define FORWARD_VERSION    2
#define FORWARD_CANCEL     0x01u
#define FORWARD_METHOD_MAX 8          /* "DELETE" and room */
#define FORWARD_TARGET_MAX (1u << 18) /* a re-encoded path and query */
#define REPLY_HEADER_LEN   (8 + 2 + 8 + 8 + 8 + 4 + 1 + 8 + 4)

_Static_assert(1 + 8 + 1 + 1 + FORWARD_METHOD_MAX + 4 + FORWARD_TARGET_MAX + 4 +
                       HTTP_FORWARD_BODY_MAX <=
                   TRANSPORT_FRAME_MAX,
               "the largest forwarded request fits one peer frame");

/* Follower side ------------------------------------------------------------------ */

static bool send_request(struct node *n, uint64_t leader, const struct ncall *c, bool cancel)
{
	struct http_original o = http_call_original(c->http);
	size_t method_len = strlen(o.method), target_len = strlen(o.target);
	size_t cap = 1 + 8 + 1 + 1 + method_len + 4 + target_len + 4 + o.body_len;
	uint8_t *buf;
	struct bytes_writer w;
	bool ok;

	if (method_len > FORWARD_METHOD_MAX || target_len > FORWARD_TARGET_MAX ||
	    o.body_len > HTTP_FORWARD_BODY_MAX || !(buf = malloc(cap)))
		return false;
	w = bytes_writer_init(buf, cap);
	bytes_put_u8(&w, FORWARD_VERSION);
	bytes_put_u64(&w, c->id);
	bytes_put_u8(&w, cancel ? FORWARD_CANCEL : 0);
	bytes_put_str(&w, o.method, method_len, 1);
	bytes_put_str(&w, o.target, target_len, 4);
	bytes_put_str(&w, o.body, o.body_len, 4);
	assert(!w.fail && w.len == cap);
	ok = transport_send(n->transport, leader, TRANSPORT_FORWARD, buf, w.len) == TRANSPORT_OK;
	free(buf);
	return ok;
}

void node_forward(struct node *n, struct ncall *c)
{
	uint64_t leader = raft_leader(n->raft);
	uint64_t wait = c->req->wait_ms + c->req->poll_wait_ms;

	assert(c->http != NULL); /* only a local client's call is forwarded */
	if (!send_request(n, leader, c, false))
		return node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                         "cannot reach the leader (node %llu); retry",
		                         (unsigned long long)leader);
	n->metrics.forwarded++;
	c->peer = leader;
	ncall_wait(n, c, W_FORWARD,
	           node_now_ms() + NODE_WRITE_TIMEOUT_MS + wait + NODE_FORWARD_SLACK_MS);
}

/* A local client waiting (through the leader) for a grant or a change hung
 * up: withdraw its wait on the leader and let the call go. */
void node_forward_cancel(struct node *n, struct ncall *c)
{
	uint64_t leader = raft_leader(n->raft);

	/* The node that holds the call, and the leader now if it changed: only
	 * a leader withdraws a queued wait through the log. */
	send_request(n, c->peer, c, true);
	if (leader && leader != c->peer && leader != n->cfg.id)
		send_request(n, leader, c, true);
	node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL, "the client went away");
}

void node_on_reply(struct node *n, uint64_t from, const uint8_t *p, size_t len)
{
	struct bytes_reader r = bytes_reader_init(p, len);
	uint64_t id = bytes_get_u64(&r);
	unsigned status = bytes_get_u16(&r);
	struct http_meta meta = {0};
	const char *body;
	size_t body_len;

	meta.index = bytes_get_u64(&r);
	meta.term = bytes_get_u64(&r);
	meta.leader = bytes_get_u64(&r);
	meta.retry_after_s = bytes_get_u32(&r);
	meta.has_last_contact = bytes_get_u8(&r) != 0;
	meta.last_contact_ms = bytes_get_u64(&r);
	bytes_get_str(&r, 4, TRANSPORT_FRAME_MAX, &body, &body_len);
	if (!bytes_done(&r) || status < 100 || status > 599) {
		LOG_WARN("malformed reply from peer %llu dropped", (unsigned long long)from);
		return;
	}
	for (struct ncall *c = n->waits[W_FORWARD].head; c; c = c->next) {
		if (c->id != id || c->peer != from)
			continue;
		node_answer_relayed(n, c, status, body, body_len, &meta);
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
	struct bytes_writer w;
	uint8_t *buf;
	bool ok;

	if (c->peer_call == 0) /* a withdrawal: nobody waits for this answer */
		return true;
	if (len + REPLY_HEADER_LEN > TRANSPORT_FRAME_MAX) {
		status = 503;
		body = too_big;
		len = sizeof(too_big) - 1;
	}
	buf = malloc(REPLY_HEADER_LEN + len);
	w = bytes_writer_init(buf, buf ? REPLY_HEADER_LEN + len : 0);
	bytes_put_u64(&w, c->peer_call);
	bytes_put_u16(&w, (uint16_t)status);
	bytes_put_u64(&w, meta->index);
	bytes_put_u64(&w, meta->term);
	bytes_put_u64(&w, meta->leader);
	bytes_put_u32(&w, meta->retry_after_s);
	bytes_put_u8(&w, meta->has_last_contact);
	bytes_put_u64(&w, meta->last_contact_ms);
	bytes_put_str(&w, body, len, 4);
	ok = buf && !w.fail &&
	     transport_send(n->transport, c->peer, TRANSPORT_REPLY, buf, w.len) == TRANSPORT_OK;
	free(buf);
	return ok;
}

/* A follower's client gave up on a forwarded wait or long-poll: withdraw
 * the call this leader holds for it (its answer goes nowhere). */
static void on_forwarded_cancel(struct node *n, struct ncall *cancel)
{
	static const enum ncall_wait lists[] = {W_GRANT, W_POLL, W_READ, W_APPLY};

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		enum ncall_wait w = lists[i];

		for (struct ncall *c = n->waits[w].head; c; c = c->next) {
			if (c->peer != cancel->peer || c->peer_call != cancel->peer_call)
				continue;
			if (w == W_GRANT) {
				node_cancel_wait(n, c);
			} else if (w == W_POLL) {
				node_drop_poll(n, c);
			} else { /* a long-poll still in its read round */
				c->peer_call = 0;
				node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL, "withdrawn");
			}
			cancel->peer_call = 0; /* its own answer goes nowhere */
			node_answer_error(n, cancel, HTTP_ERR_UNAVAILABLE, NULL, "withdrawn");
			return;
		}
	}
	/* Not waiting here (yet): withdraw a queued acquire through the log. */
	cancel->peer_call = 0;
	if (http_op_is(cancel->req->op, HTTP_OPF_CANCELLABLE))
		node_cancel_wait(n, cancel);
	else
		node_answer_error(n, cancel, HTTP_ERR_UNAVAILABLE, NULL, "withdrawn");
}

void node_on_forward(struct node *n, uint64_t from, const uint8_t *p, size_t len)
{
	struct bytes_reader r = bytes_reader_init(p, len);
	unsigned version = bytes_get_u8(&r);
	uint64_t id = bytes_get_u64(&r);
	unsigned flags = bytes_get_u8(&r);
	char method[FORWARD_METHOD_MAX + 1], *target = NULL;
	const char *m, *t, *body;
	size_t m_len, t_len, body_len;
	struct http_err err;
	struct ncall *c;

	bytes_get_str(&r, 1, FORWARD_METHOD_MAX, &m, &m_len);
	bytes_get_str(&r, 4, FORWARD_TARGET_MAX, &t, &t_len);
	bytes_get_str(&r, 4, HTTP_FORWARD_BODY_MAX, &body, &body_len);
	if (version != FORWARD_VERSION) {
		LOG_WARN("a forwarded request from peer %llu of another version dropped",
		         (unsigned long long)from);
		return;
	}
	if (!bytes_done(&r) || (flags & ~FORWARD_CANCEL) || memchr(m, 0, m_len) ||
	    memchr(t, 0, t_len)) {
		LOG_WARN("malformed forwarded request from peer %llu dropped",
		         (unsigned long long)from);
		return;
	}
	c = calloc(1, sizeof(*c));
	target = strndup(t, t_len);
	if (!c || !target) {
		LOG_WARN("out of memory: a forwarded request from peer %llu dropped",
		         (unsigned long long)from);
		free(c);
		free(target);
		return;
	}
	memcpy(method, m, m_len);
	method[m_len] = '\0';
	n->n_calls++;
	c->n = n;
	c->req = &c->own;
	c->peer = from;
	c->peer_call = id;
	c->id = ++n->next_call_id;
	c->arrived_ms = node_now_ms();
	c->arrived_us = uv_hrtime() / 1000u;
	/* Every check the follower's front end made, made again here. */
	if (http_request_decode_target(method, target, body, body_len, &c->own, &err) != HTTP_OK) {
		free(target);
		LOG_WARN("forwarded request from peer %llu refused (%s)", (unsigned long long)from,
		         http_error_code(err.code));
		return node_answer_error(n, c, err.code, NULL, "%s", err.message);
	}
	free(target);
	if (flags & FORWARD_CANCEL) {
		if (!http_op_is(c->req->op, HTTP_OPF_CANCELLABLE) &&
		    !http_op_is(c->req->op, HTTP_OPF_LONG_POLL)) {
			c->peer_call = 0;
			return node_answer_error(n, c, HTTP_ERR_INVALID_ARGUMENT, NULL,
			                         "only a wait or a long-poll is withdrawn");
		}
		return on_forwarded_cancel(n, c);
	}
	if (n->n_calls > NODE_CALLS_MAX)
		return node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                         "too many requests in flight on the leader; retry");
	if (http_op_is(c->req->op, HTTP_OPF_LOCAL))
		return node_answer_error(n, c, HTTP_ERR_INVALID_ARGUMENT, NULL,
		                         "%s is answered by the node asked, never forwarded",
		                         http_op_name(c->req->op));
	node_dispatch(n, c);
}
