/* Answering reads from the state machine's tables, and long-polls: a GET with
 * ?index=N waits until the object's modify_index exceeds N (or its wait
 * passes), and a lock or session that ceases to exist answers 404 at once. */
#include <string.h>

#include "command.h"
#include "node_internal.h"
#include "sm_query.h"

/* The modify index a long-poll compares against. */
static uint64_t modify_index_of(struct node *n, const struct http_request *req, json_t *body)
{
	uint64_t idx = 0;

	if (req->op == HTTP_OP_LOCK_LIST || req->op == HTTP_OP_SESSION_LIST) {
		coord_sm_list_index(
		    n->db, req->op == HTTP_OP_LOCK_LIST ? COORD_LIST_LOCKS : COORD_LIST_SESSIONS,
		    &idx);
		return idx;
	}
	return (uint64_t)json_integer_value(json_object_get(body, "modify_index"));
}

/* Runs the query of C's request: 0 with *BODY, or an error answered here. */
static int run_query(struct node *n, struct ncall *c, json_t **body, unsigned *status)
{
	const struct http_request *req = c->req;
	size_t name_len = strlen(req->name);
	struct coord_session_id id;
	bool valid = false;
	int rc = 0;

	*status = 200;
	switch (req->op) {
	case HTTP_OP_LOCK_GET:
		rc = coord_sm_query_lock(n->reader, req->name, name_len, body);
		break;
	case HTTP_OP_LOCK_LIST:
		rc = coord_sm_query_locks(n->reader, req->prefix, strlen(req->prefix), body);
		break;
	case HTTP_OP_SESSION_GET:
		if (coord_session_id_parse(req->session, strlen(req->session), &id) != 0)
			rc = COORD_ENOTFOUND;
		else
			rc = coord_sm_query_session(n->reader, &id, body);
		break;
	case HTTP_OP_SESSION_LIST:
		rc = coord_sm_query_sessions(n->reader, body);
		break;
	case HTTP_OP_ELECTION_GET:
		rc = coord_sm_query_election(n->reader, req->name, name_len, body);
		break;
	case HTTP_OP_FENCE:
		rc = coord_sm_query_fence(n->reader, req->name, name_len, req->token, &valid, body);
		if (rc == 0 && !valid) {
			node_answer_error(n, c, HTTP_ERR_STALE_TOKEN, *body,
			                  "token %llu is not the token of a current holder",
			                  (unsigned long long)req->token);
			return -1;
		}
		break;
	default:
		node_answer_error(n, c, HTTP_ERR_NOT_FOUND, NULL, "not a read");
		return -1;
	}
	if (rc == COORD_ENOTFOUND) {
		if (req->op == HTTP_OP_SESSION_GET)
			node_answer_error(n, c, HTTP_ERR_SESSION_NOT_FOUND, NULL,
			                  "no session has that id (or it expired)");
		else
			node_answer_error(n, c, HTTP_ERR_NOT_FOUND, NULL,
			                  "nobody holds or waits for %s", req->name);
		return -1;
	}
	if (rc != 0) {
		node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL, "the query failed; retry");
		return -1;
	}
	return 0;
}

/* A long-poll whose client went away: answered now with the current state,
 * which frees its place among the NODE_POLLS_MAX. */
void node_drop_poll(struct node *n, struct ncall *c)
{
	c->deadline_ms = 0;
	node_answer_query(n, c);
}

void node_answer_query(struct node *n, struct ncall *c)
{
	const struct http_request *req = c->req;
	json_t *body = NULL;
	unsigned status;
	bool open = c->wait == W_POLL ? c->deadline_ms > node_now_ms() : req->poll_wait_ms > 0;

	if (run_query(n, c, &body, &status) != 0)
		return;
	if (req->has_index && open && modify_index_of(n, req, body) <= req->index) {
		json_decref(body);
		if (c->wait != W_POLL) {
			if (n->waits[W_POLL].n >= NODE_POLLS_MAX)
				return node_answer_error(n, c, HTTP_ERR_TOO_MANY, NULL,
				                         "too many long-polls on this node");
			ncall_wait(n, c, W_POLL, node_now_ms() + req->poll_wait_ms);
		}
		return;
	}
	node_answer(n, c, status, body);
}
