/* How calls arrive and where they go: taken from the HTTP front's inbox or
 * forwarded by a follower (a FORWARD, node_wire.h), routed to the right
 * place (answered here, forwarded, or handled as the leader), re-routed when
 * a leader becomes known, and ended when their deadline passes or their
 * client hangs up. The top of the runtime's calls: it uses the others, and
 * none of them calls back into it. */
#include "node_dispatch.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "node_auth.h"
#include "node_calls.h"
#include "node_core.h"
#include "node_forward.h"
#include "node_leader.h"
#include "node_query.h"
#include "node_wire.h"

/* Answers 307 to the leader; false if the Location would not fit, in which
 * case the call is forwarded instead (a cut Location could name another
 * lock). The scheme is this node's own: every node of a cluster serves its
 * client port alike, HTTPS or plain (API.md, coordd). */
static bool redirect(struct node *n, struct ncall *c, const char *leader_http)
{
	struct http_meta meta = node_meta(n);
	int len = snprintf(meta.location, sizeof(meta.location), "%s://%s%s",
	                   n->tls ? "https" : "http", leader_http, http_call_target(c->http));

	if (len < 0 || (size_t)len >= sizeof(meta.location))
		return false;
	node_answer_redirect(n, c, &meta);
	return true;
}

void node_dispatch(struct node *n, struct ncall *c)
{
	enum http_op op = c->req->op;
	uint64_t leader = raft_leader(n->raft);
	const char *leader_http;

	assert(c->wait == W_NONE);
	if (http_op_is(op, HTTP_OPF_LOCAL))
		return node_api(op)->answer(n, c);
	if (http_op_is(op, HTTP_OPF_READ) && c->req->stale) {
		if (n->installing) /* N-6: the state is the install's */
			return ncall_wait(n, c, W_INSTALL, node_now_ms() + NODE_READ_TIMEOUT_MS);
		return node_answer_query(n, c);
	}
	if (raft_role(n->raft) == RAFT_LEADER)
		return node_handle_on_leader(n, c);
	if (!c->http) /* forwarded to us, but we are not the leader (any more) */
		return node_answer_error(n, c, HTTP_ERR_NO_LEADER, NULL,
		                         "this node is not the leader; retry");
	if (leader == 0) {
		ncall_wait(n, c, W_LEADER, node_now_ms() + n->cfg.election_ms);
		return;
	}
	leader_http = node_peer_http(n, leader);
	if (c->req->redirect && leader_http && redirect(n, c, leader_http))
		return;
	node_forward(n, c);
}

/* A leader became known (or changed): calls waiting for one go now. */
void node_leader_changed(struct node *n)
{
	struct ncall *c, *next;

	if (raft_leader(n->raft) == 0)
		return;
	for (c = n->waits[W_LEADER].head; c; c = next) {
		next = c->next;
		ncall_unwait(n, c);
		node_dispatch(n, c);
	}
}

/* A snapshot install ended: calls that waited for the state go now. */
void node_installed(struct node *n)
{
	struct ncall *c, *next;

	node_auth_refresh(n); /* the installed state may be bootstrapped */
	for (c = n->waits[W_INSTALL].head; c; c = next) {
		next = c->next;
		ncall_unwait(n, c);
		if (!c->auth_pending || node_auth_admit(n, c)) /* else answered */
			node_dispatch(n, c);
	}
}

/* The inbox -------------------------------------------------------------------- */

void node_take_inbox(struct node *n)
{
	struct http_call *calls[NODE_INBOX_MAX];
	size_t k;

	k = n->inbox_n;
	assert(k <= NODE_INBOX_MAX); /* the inbox is bounded (node_submit) */
	memcpy(calls, n->inbox, k * sizeof(calls[0]));
	n->inbox_n = 0;
	node_reads_begin(n); /* the drain's queries: one read transaction */
	for (size_t i = 0; i < k; i++) {
		struct ncall *c = calloc(1, sizeof(*c));

		if (!c || n->n_calls >= NODE_CALLS_MAX || n->stopping) {
			struct http_err err;
			struct http_meta meta = {.retry_after_s = 1};

			free(c);
			http_err_set(&err, HTTP_ERR_UNAVAILABLE,
			             n->stopping ? "the node is shutting down"
			                         : "too many requests in flight; retry");
			http_call_answer_error(calls[i], &err, NULL, &meta);
			continue;
		}
		n->n_calls++;
		c->n = n;
		c->http = calls[i];
		c->req = http_call_request(calls[i]);
		c->id = ++n->next_call_id;
		c->arrived_ms = node_now_ms();
		c->arrived_us = node_now_us();
		if (node_auth_admit(n, c)) /* else answered: 401, 403 */
			node_dispatch(n, c);
	}
	node_reads_end(n);
	node_kick(n);
}

/* Deadlines -------------------------------------------------------------------- */

static void expire_one(struct node *n, struct ncall *c)
{
	switch (c->wait) {
	case W_LEADER:
		node_answer_error(n, c, HTTP_ERR_NO_LEADER, NULL,
		                  "no leader was elected within the election timeout");
		break;
	case W_INSTALL:
		node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                  "this node is installing a snapshot; retry or ask another node");
		break;
	case W_FORWARD:
	case W_WRITE:
		if (http_op_is(c->req->op, HTTP_OPF_WRITE) ||
		    http_op_is(c->req->op, HTTP_OPF_ADMIN))
			node_answer_error(n, c, HTTP_ERR_TIMEOUT, NULL,
			                  "the outcome is not known yet; the request may retry");
		else
			node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
			                  "the leader did not answer in time");
		break;
	case W_GRANT:
		node_cancel_wait(n, c);
		break;
	case W_READ:
	case W_APPLY:
		node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                  "leadership could not be confirmed in time");
		break;
	case W_MEMBER:
		node_answer_error(n, c, HTTP_ERR_TIMEOUT, NULL,
		                  "not done in time; it may still complete: see GET /v1/members");
		break;
	case W_SNAPSHOT:
		node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                  "the snapshot was not made in time; retry");
		break;
	case W_POLL:
		node_answer_query(n, c); /* unchanged state, 200 */
		break;
	case W_NONE:
		break;
	}
}

/* Calls that may wait long for the client's sake, and so are withdrawn when
 * the client hangs up. */
static bool waits_on_client(const struct ncall *c)
{
	bool queued = http_op_is(c->req->op, HTTP_OPF_QUEUES) && c->req->wait_ms > 0;

	return c->wait == W_GRANT || c->wait == W_POLL ||
	       (c->wait == W_FORWARD && (queued || c->req->has_index));
}

/* Between two callbacks of the loop (node_tick calls this first thing after
 * the core's tick) every call in flight waits in exactly one list: a call in
 * none would never be answered (N-2). */
static void check_every_call_waits(const struct node *n)
{
	size_t listed = 0;

	for (int w = W_LEADER; w <= W_POLL; w++)
		listed += n->waits[w].n;
	assert(listed == n->n_calls);
	(void)listed;
}

void node_expire_calls(struct node *n, uint64_t now)
{
	bool check_gone = now - n->last_gone_check_ms >= NODE_GONE_CHECK_MS;

	check_every_call_waits(n);
	for (int w = W_LEADER; w <= W_POLL; w++) {
		struct ncall **due, *c;
		size_t k = 0;

		if (!n->waits[w].n)
			continue;
		/* Their expiry answers from the state or proposes (N-6). */
		if (n->installing && (w == W_POLL || w == W_GRANT))
			continue;
		due = malloc(n->waits[w].n * sizeof(*due));
		if (!due)
			return;
		/* Collect first: answering a call changes the lists. Each action
		 * below touches only its own call. */
		for (c = n->waits[w].head; c; c = c->next)
			if (c->deadline_ms <= now || (check_gone && c->http && waits_on_client(c) &&
			                              http_call_client_gone(c->http)))
				due[k++] = c;
		for (size_t i = 0; i < k; i++) {
			c = due[i];
			if (c->deadline_ms <= now)
				expire_one(n, c);
			else if (w == W_GRANT) /* the client hung up: withdraw its wait */
				node_cancel_wait(n, c);
			else if (w == W_FORWARD)
				node_forward_cancel(n, c);
			else
				node_drop_poll(n, c);
		}
		free(due);
	}
	if (check_gone)
		n->last_gone_check_ms = now;
}

/* Shutdown: every call still here gets an answer. A write whose entry may
 * still commit is unknown (504), never a failure (rule 12). */
void node_fail_all(struct node *n)
{
	for (int w = W_LEADER; w <= W_POLL; w++)
		while (n->waits[w].head) {
			struct ncall *c = n->waits[w].head;

			if ((w == W_WRITE || w == W_FORWARD || w == W_GRANT || w == W_MEMBER) &&
			    (http_op_is(c->req->op, HTTP_OPF_WRITE) ||
			     http_op_is(c->req->op, HTTP_OPF_ADMIN)))
				node_answer_error(
				    n, c, HTTP_ERR_TIMEOUT, NULL,
				    "the node is shutting down; the outcome is not known");
			else
				node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
				                  "the node is shutting down");
		}
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
	struct node_forward_msg m;
	enum node_wire_rc rc = node_wire_forward_decode(p, len, &m);
	char method[NODE_FORWARD_METHOD_MAX + 1], *target;
	struct http_err err;
	struct ncall *c;

	if (rc != NODE_WIRE_OK) {
		LOG_WARN("%s forwarded request from peer %llu dropped",
		         rc == NODE_WIRE_VERSION ? "another version's" : "a malformed",
		         (unsigned long long)from);
		return;
	}
	memcpy(method, m.method, m.method_len);
	method[m.method_len] = '\0';
	c = calloc(1, sizeof(*c));
	target = strndup(m.target, m.target_len);
	if (c)
		c->own = calloc(1, sizeof(*c->own));
	if (!c || !c->own || !target) {
		LOG_WARN("out of memory: a forwarded request from peer %llu dropped",
		         (unsigned long long)from);
		if (c)
			free(c->own);
		free(c);
		free(target);
		return;
	}
	n->n_calls++;
	c->n = n;
	c->req = c->own;
	c->peer = from;
	c->peer_call = m.call;
	c->actor = m.actor; /* authenticated by the follower (node_wire.h) */
	c->id = ++n->next_call_id;
	c->arrived_ms = node_now_ms();
	c->arrived_us = node_now_us();
	/* Every check the follower's front end made, made again here. */
	if (http_request_decode_target(method, target, m.body, m.body_len, c->own, &err) !=
	    HTTP_OK) {
		free(target);
		LOG_WARN("forwarded request from peer %llu refused (%s)", (unsigned long long)from,
		         http_error_code(err.code));
		return node_answer_error(n, c, err.code, NULL, "%s", err.message);
	}
	free(target);
	if (m.cancel) {
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
