/* Forwarding, the follower's side: a request this node cannot serve goes to
 * the leader as it came (node_wire.h), and the leader's answer is relayed to
 * the client. The leader's side is node_dispatch.c (a FORWARD is one more
 * way a call arrives) and node_calls.c (a REPLY is how it is answered). */
#include "node_forward.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "node_auth.h"
#include "node_calls.h"
#include "node_core.h"
#include "node_wire.h"

static bool send_request(struct node *n, uint64_t to, const struct ncall *c, bool cancel)
{
	struct http_original o = http_call_original(c->http);
	struct node_forward_msg m = {
	    .call = c->id,
	    .cancel = cancel,
	    .actor = c->actor,
	    .method = o.method,
	    .method_len = strlen(o.method),
	    .target = o.target,
	    .target_len = strlen(o.target),
	    .body = o.body,
	    .body_len = o.body_len,
	};
	size_t len;
	uint8_t *buf = node_wire_forward_encode(&m, &len);
	bool ok =
	    buf && transport_send(n->transport, to, TRANSPORT_FORWARD, buf, len) == TRANSPORT_OK;

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
	struct node_reply_msg m;

	if (node_wire_reply_decode(p, len, &m) != NODE_WIRE_OK) {
		LOG_WARN("malformed reply from peer %llu dropped", (unsigned long long)from);
		return;
	}
	for (struct ncall *c = n->waits[W_FORWARD].head; c; c = c->next) {
		if (c->id != m.call || c->peer != from)
			continue;
		char *filtered = NULL;

		if (m.status == 200 && !node_auth_filter_text(n, c, m.body, m.body_len, &filtered))
			return; /* answered: 403 or 503 */
		if (filtered)   /* only what the call's token may read */
			node_answer_relayed(n, c, m.status, filtered, strlen(filtered), &m.meta);
		else
			node_answer_relayed(n, c, m.status, m.body, m.body_len, &m.meta);
		free(filtered);
		return;
	}
}
