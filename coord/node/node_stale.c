/* Stale reads answered by the HTTP front as they are decoded (node_stale.h). */
#include "node_stale.h"

#include <stdlib.h>

#include "api.h"
#include "log.h"
#include "node_core.h"
#include "sm_query.h"

/* One thread's view of state.db, made on its first stale read and
 * closed when the thread ends (the key's destructor). */
struct stale_handle {
	struct persist_state_reader *state;
	struct coord_sm_reader *reader;
	bool broken; /* could not be opened: this thread hands its reads over */
};

static void handle_close(void *p)
{
	struct stale_handle *h = p;

	coord_sm_reader_close(h->reader);
	persist_state_reader_close(h->state);
	free(h);
}

int node_stale_start(struct node *n)
{
	if (pthread_key_create(&n->stale.handles, handle_close) != 0)
		return -1;
	n->stale.started = true;
	node_stale_publish(n);
	return 0;
}

void node_stale_stop(struct node *n)
{
	struct stale_handle *h;

	if (!n->stale.started)
		return;
	/* The calling thread's own (the loop's, which runs the HTTP front):
	 * a key's destructor runs only for threads that end. */
	if ((h = pthread_getspecific(n->stale.handles)) != NULL) {
		pthread_setspecific(n->stale.handles, NULL);
		handle_close(h);
	}
	pthread_key_delete(n->stale.handles);
	n->stale.started = false;
}

/* This thread's handle; NULL when it cannot have one. */
static struct stale_handle *handle(struct node *n)
{
	struct stale_handle *h = pthread_getspecific(n->stale.handles);
	struct persist_error err;

	if (h)
		return h->broken ? NULL : h;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	if (persist_state_reader_open(n->dir, &h->state, &err) != 0) {
		LOG_WARN("stale reads go through the loop on this thread: %s", err.msg);
		h->broken = true;
	} else if (coord_sm_reader_open(persist_state_reader_db(h->state), &h->reader) != 0) {
		LOG_WARN("stale reads go through the loop on this thread: no memory for a reader");
		h->broken = true;
	}
	if (pthread_setspecific(n->stale.handles, h) != 0) {
		handle_close(h);
		return NULL;
	}
	return h->broken ? NULL : h;
}

void node_stale_publish(struct node *n)
{
	__atomic_store_n(&n->stale.term, raft_term(n->raft), __ATOMIC_RELAXED);
	__atomic_store_n(&n->stale.leader, raft_leader(n->raft), __ATOMIC_RELAXED);
	__atomic_store_n(&n->stale.last_contact_ms,
	                 (uint64_t)raft_ticks_since_leader(n->raft) * NODE_TICK_MS,
	                 __ATOMIC_RELAXED);
}

/* The answer's headers, as node_answer() sets them on the loop. */
static struct http_meta meta_of(struct node *n, uint64_t applied, unsigned status)
{
	struct http_meta m = {
	    .index = applied,
	    .term = __atomic_load_n(&n->stale.term, __ATOMIC_RELAXED),
	    .leader = __atomic_load_n(&n->stale.leader, __ATOMIC_RELAXED),
	};

	if (status == 503)
		m.retry_after_s = 1;
	if (status < 300) {
		m.has_last_contact = true;
		m.last_contact_ms = __atomic_load_n(&n->stale.last_contact_ms, __ATOMIC_RELAXED);
	}
	return m;
}

bool node_serve_stale(void *ctx, struct http_call *call)
{
	struct node *n = ctx;
	const struct http_request *req = http_call_request(call);
	struct stale_handle *h;
	struct persist_error err;
	struct node_read r = {.req = req};
	struct http_meta meta;
	json_t *body = NULL;
	uint64_t modify_index = 0, since = 0;
	bool auth_on = true;
	int rc;

	if (!req->stale || !http_op_is(req->op, HTTP_OPF_READ) ||
	    http_op_is(req->op, HTTP_OPF_LOCAL) || n->cfg.auth)
		return false;
	if (req->has_index && req->poll_wait_ms > 0) /* may wait: the loop's W_POLL */
		return false;
	if (!(h = handle(n)) || persist_state_reader_begin(h->state, &r.applied, &err) != 0)
		return false;
	if (coord_sm_auth_enabled(h->reader, &auth_on, &since) != 0 || auth_on) {
		persist_state_reader_end(h->state);
		return false;
	}
	r.reader = h->reader;
	r.db = persist_state_reader_db(h->state);
	rc = node_api(req->op)->query(&r, &body, &modify_index);
	persist_state_reader_end(h->state);
	__atomic_fetch_add(&n->stale.served, 1, __ATOMIC_RELAXED);
	if (rc != 0) {
		meta = meta_of(n, r.applied, http_error_status(r.err.code));
		http_call_answer_error(call, &r.err, r.details, &meta);
	} else {
		meta = meta_of(n, r.applied, 200);
		http_call_answer(call, 200, body, &meta);
	}
	return true;
}
