/* Calls in flight: the lists they wait in, and answering each exactly once
 * (N-2), to a local client or, for a call forwarded to this node, with a
 * REPLY to the follower. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_calls.h"

#include "node_core.h"
#include "node_wire.h"

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
	if (c->own) {
		http_request_free(c->own);
		free(c->own);
	}
	free(c->token);
	free(c);
	n->n_calls--;
}

/* Sends the answer of a call forwarded to this node back to its follower. */
static void reply_remote(struct node *n, struct ncall *c, unsigned status, const char *body,
                         size_t len, const struct http_meta *meta)
{
	static const char too_big[] =
	    "{\"error\":\"unavailable\",\"message\":\"the answer is too large to relay from "
	    "the leader; ask the leader (?redirect) or any node (?consistency=stale)\"}";
	struct node_reply_msg m = {c->peer_call, status, *meta, body, len};
	uint8_t *buf;
	size_t n_bytes;

	if (c->peer_call == 0) /* a withdrawal: nobody waits for this answer */
		return;
	if (len + NODE_REPLY_HEADER_LEN > TRANSPORT_FRAME_MAX) {
		m.status = 503;
		m.body = too_big;
		m.body_len = sizeof(too_big) - 1;
	}
	buf = node_wire_reply_encode(&m, &n_bytes);
	if (buf) /* a lost reply: the follower's call times out (rule 12) */
		transport_send(n->transport, c->peer, TRANSPORT_REPLY, buf, n_bytes);
	free(buf);
}

void node_answer(struct node *n, struct ncall *c, unsigned status, json_t *body)
{
	struct http_meta meta = node_meta(n);

	ncall_unwait(n, c);
	if (c->retry && json_is_object(body))
		json_object_set_new(body, "retry", json_true());
	if (status == 503)
		meta.retry_after_s = 1;
	if (c->retry_after_s)
		meta.retry_after_s = c->retry_after_s;
	if (c->req->stale && status < 300) {
		meta.has_last_contact = true;
		meta.last_contact_ms = raft_ticks_since_leader(n->raft) * NODE_TICK_MS;
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
		reply_remote(n, c, status, text ? text : "", len, &meta);
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

void node_answer_redirect(struct node *n, struct ncall *c, const struct http_meta *meta)
{
	assert(c->http != NULL && meta->location[0]);
	ncall_unwait(n, c);
	http_call_answer(c->http, 307, NULL, meta);
	ncall_free(n, c);
}

void node_answer_text(struct node *n, struct ncall *c, unsigned status, const char *text)
{
	struct http_meta meta = node_meta(n);

	ncall_unwait(n, c);
	if (c->http)
		http_call_answer_text(c->http, status, text, &meta);
	else
		reply_remote(n, c, status, text, strlen(text), &meta);
	ncall_free(n, c);
}

void node_answer_html(struct node *n, struct ncall *c, const char *html, size_t len,
                      const char *csp)
{
	struct http_meta meta = node_meta(n);

	assert(c->http); /* LOCAL: never forwarded */
	ncall_unwait(n, c);
	http_call_answer_html(c->http, html, len, csp, &meta);
	ncall_free(n, c);
}

void node_answer_snapshot(struct node *n, struct ncall *c)
{
	struct http_meta meta = node_meta(n);
	struct persist_error err;
	int fd = -1;

	assert(c->http); /* LOCAL: never forwarded */
	if (persist_snapshot_open(n->dir, &n->snap, &fd, &err) != 0)
		return node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                         "the snapshot could not be opened; retry");
	meta.index = n->snap.index;
	meta.term = n->snap.term;
	ncall_unwait(n, c);
	http_call_answer_file(c->http, fd, n->snap.size, n->snap.crc, &meta);
	ncall_free(n, c);
}

void node_answer_err(struct node *n, struct ncall *c, const struct http_err *err, json_t *details)
{
	json_t *body = http_error_json_details(err, details);

	node_answer(n, c, http_error_status(err->code), body);
}

void node_answer_error(struct node *n, struct ncall *c, enum http_error code, json_t *details,
                       const char *fmt, ...)
{
	struct http_err err = {.code = code};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err.message, sizeof(err.message), fmt, ap);
	va_end(ap);
	node_answer_err(n, c, &err, details);
}

void node_answer_stale(struct node *n, struct ncall *c, uint64_t last)
{
	node_answer_error(n, c, HTTP_ERR_STALE_REQUEST, json_pack("{s:I}", "seq", (json_int_t)last),
	                  "not applied: this session applied seq %llu, and this request's seq "
	                  "%llu is not above it",
	                  (unsigned long long)last, (unsigned long long)c->req->seq);
}
