/* Stale reads answered by the HTTP front as they are decoded (node_stale.h). */
#include "node_stale.h"

#include "api.h"
#include "log.h"
#include "node_core.h"
#include "sm_query.h"

void node_stale_stop(struct node *n)
{
	coord_sm_reader_close(n->stale.reader);
	persist_state_reader_close(n->stale.state);
	n->stale.reader = NULL;
	n->stale.state = NULL;
}

/* Opens the handle on first use; false when it cannot be had (the reads
 * then become calls, for the node's life). */
static bool stale_open(struct node *n)
{
	struct persist_error err;

	if (n->stale.reader || n->stale.broken)
		return !n->stale.broken;
	if (persist_state_reader_open(n->dir, &n->stale.state, &err) != 0) {
		LOG_WARN("stale reads become calls: %s", err.msg);
		n->stale.broken = true;
	} else if (coord_sm_reader_open(persist_state_reader_db(n->stale.state),
	                                &n->stale.reader) != 0) {
		LOG_WARN("stale reads become calls: no memory for a reader");
		n->stale.broken = true;
		node_stale_stop(n);
	}
	return !n->stale.broken;
}

/* The answer's headers, as node_answer() sets them for a stale read, but
 * with the index of the state this read saw. */
static struct http_meta meta_of(struct node *n, uint64_t applied, unsigned status)
{
	struct http_meta m = node_meta(n);

	m.index = applied;
	if (status == 503)
		m.retry_after_s = 1;
	if (status < 300) {
		m.has_last_contact = true;
		m.last_contact_ms = raft_ticks_since_leader(n->raft) * NODE_TICK_MS;
	}
	return m;
}

bool node_serve_stale(void *ctx, struct http_call *call)
{
	struct node *n = ctx;
	const struct http_request *req = http_call_request(call);
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
	if (!stale_open(n) || persist_state_reader_begin(n->stale.state, &r.applied, &err) != 0)
		return false;
	if (coord_sm_auth_enabled(n->stale.reader, &auth_on, &since) != 0 || auth_on) {
		persist_state_reader_end(n->stale.state);
		return false;
	}
	r.reader = n->stale.reader;
	r.db = persist_state_reader_db(n->stale.state);
	rc = node_api(req->op)->query(&r, &body, &modify_index);
	persist_state_reader_end(n->stale.state);
	n->stale.served++;
	if (rc != 0) {
		meta = meta_of(n, r.applied, http_error_status(r.err.code));
		http_call_answer_error(call, &r.err, r.details, &meta);
	} else {
		meta = meta_of(n, r.applied, 200);
		http_call_answer(call, 200, body, &meta);
	}
	return true;
}
