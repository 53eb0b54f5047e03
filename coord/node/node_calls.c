/* Calls in flight: taking them from the HTTP threads, routing them to the
 * leader, the lists they wait in, their deadlines, and answering them
 * exactly once (N-2). */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "node_internal.h"

/* Lists ------------------------------------------------------------------------ */

void ncall_list_push(struct ncall_list *l, struct ncall *c)
{
	assert(c->prev == NULL && c->next == NULL); /* in one list at most (N-2) */
	c->next = NULL;
	c->prev = l->tail;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->n++;
}

void ncall_list_remove(struct ncall_list *l, struct ncall *c)
{
	assert(l->n > 0 && (c->prev != NULL || l->head == c) && (c->next != NULL || l->tail == c));
	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
	l->n--;
}

void ncall_unwait(struct node *n, struct ncall *c)
{
	if (c->wait != W_NONE)
		ncall_list_remove(&n->waits[c->wait], c);
	c->wait = W_NONE;
}

/* Inserts C keeping the list ordered by (index, term). Proposals of one
 * term arrive in index order, so this is the tail in the usual case; after a
 * lost leadership a new term may reuse lower indexes. */
static void ncall_list_insert_by_index(struct ncall_list *l, struct ncall *c)
{
	struct ncall *after = l->tail;

	assert(c->prev == NULL && c->next == NULL);
	while (after &&
	       (after->index > c->index || (after->index == c->index && after->term > c->term)))
		after = after->prev;
	if (!after) {
		c->prev = NULL;
		c->next = l->head;
		if (l->head)
			l->head->prev = c;
		else
			l->tail = c;
		l->head = c;
	} else {
		c->prev = after;
		c->next = after->next;
		if (after->next)
			after->next->prev = c;
		else
			l->tail = c;
		after->next = c;
	}
	l->n++;
}

void ncall_wait(struct node *n, struct ncall *c, enum ncall_wait w, uint64_t deadline_ms)
{
	assert(w > W_NONE && w <= W_POLL);
	ncall_unwait(n, c);
	c->wait = w;
	c->deadline_ms = deadline_ms;
	if (w == W_WRITE) /* node_on_applied settles proposals in index order */
		ncall_list_insert_by_index(&n->waits[w], c);
	else
		ncall_list_push(&n->waits[w], c);
}

/* Answers ---------------------------------------------------------------------- */

/* The end of every call, once it is answered: it is in no list any more
 * (N-2), and it is counted among the calls in flight until here. */
static void ncall_free(struct node *n, struct ncall *c)
{
	assert(c->wait == W_NONE && c->prev == NULL && c->next == NULL);
	assert(n->n_calls > 0);
	if (!c->http)
		http_request_free(&c->own);
	free(c);
	n->n_calls--;
}

void node_answer(struct node *n, struct ncall *c, unsigned status, json_t *body)
{
	struct http_meta meta = node_meta(n);

	ncall_unwait(n, c);
	if (status == 503)
		meta.retry_after_s = 1;
	if (c->retry_after_s)
		meta.retry_after_s = c->retry_after_s;
	if (c->req->stale && status < 300) {
		meta.has_last_contact = true;
		meta.last_contact_ms = raft_ticks_since_leader(n->raft) * 10u;
	}
	if (c->http) {
		http_call_answer(c->http, status, body, &meta);
	} else {
		char *text = NULL;
		size_t len = 0;

		if (body) {
			text =
			    json_dumps(body, c->req->pretty ? JSON_INDENT(2) | JSON_PRESERVE_ORDER
			                                    : JSON_COMPACT | JSON_PRESERVE_ORDER);
			len = text ? strlen(text) : 0;
			json_decref(body);
		}
		node_reply_remote(n, c, status, text ? text : "", len, &meta);
		free(text);
	}
	ncall_free(n, c);
}

void node_answer_relayed(struct node *n, struct ncall *c, unsigned status, const char *body,
                         size_t len, const struct http_meta *meta)
{
	assert(c->http != NULL);
	ncall_unwait(n, c);
	http_call_answer_raw(c->http, status, body, len, meta);
	ncall_free(n, c);
}

void node_answer_text(struct node *n, struct ncall *c, unsigned status, const char *text)
{
	struct http_meta meta = node_meta(n);

	ncall_unwait(n, c);
	if (c->http)
		http_call_answer_text(c->http, status, text, &meta);
	else
		node_reply_remote(n, c, status, text, strlen(text), &meta);
	ncall_free(n, c);
}

void node_answer_error(struct node *n, struct ncall *c, enum http_error code, json_t *details,
                       const char *fmt, ...)
{
	struct http_err err;
	va_list ap;
	json_t *body;

	err.code = code;
	va_start(ap, fmt);
	vsnprintf(err.message, sizeof(err.message), fmt, ap);
	va_end(ap);
	body = http_error_json(&err);
	if (body && details)
		json_object_update(body, details);
	json_decref(details);
	node_answer(n, c, http_error_status(code), body);
}

/* Routing ---------------------------------------------------------------------- */

/* Answers 307 to the leader; false if the Location would not fit, in which
 * case the call is forwarded instead (a cut Location could name another
 * lock). */
static bool redirect(struct node *n, struct ncall *c, const char *leader_http)
{
	struct http_meta meta = node_meta(n);
	int len = snprintf(meta.location, sizeof(meta.location), "http://%s%s", leader_http,
	                   http_call_target(c->http));

	if (len < 0 || (size_t)len >= sizeof(meta.location))
		return false;
	ncall_unwait(n, c);
	http_call_answer(c->http, 307, NULL, &meta);
	ncall_free(n, c);
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
	if (http_op_is(op, HTTP_OPF_READ) && c->req->stale)
		return node_answer_query(n, c);
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

/* The inbox -------------------------------------------------------------------- */

void node_take_inbox(uv_async_t *a)
{
	struct node *n = a->data;
	struct http_call *calls[NODE_INBOX_MAX];
	size_t k;

	pthread_mutex_lock(&n->inbox_mu);
	k = n->inbox_n;
	assert(k <= NODE_INBOX_MAX); /* the inbox is bounded (http_submit) */
	memcpy(calls, n->inbox, k * sizeof(calls[0]));
	n->inbox_n = 0;
	pthread_mutex_unlock(&n->inbox_mu);
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
		c->arrived_us = uv_hrtime() / 1000u;
		node_dispatch(n, c);
	}
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
	case W_FORWARD:
	case W_WRITE:
		if (http_op_is(c->req->op, HTTP_OPF_WRITE))
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

/* Between two callbacks of the loop (on_tick calls this first thing after
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

			if ((w == W_WRITE || w == W_FORWARD || w == W_GRANT) &&
			    http_op_is(c->req->op, HTTP_OPF_WRITE))
				node_answer_error(
				    n, c, HTTP_ERR_TIMEOUT, NULL,
				    "the node is shutting down; the outcome is not known");
			else
				node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
				                  "the node is shutting down");
		}
}
