/* Answering reads from the state machine's tables, and long-polls: a GET with
 * ?index=N waits until the object's modify_index exceeds N (or its wait
 * passes), and a lock or session that ceases to exist answers 404 at once.
 * The query itself is the operation's handler entry (api.h). */
#include <assert.h>

#include "api.h"
#include "node_auth.h"
#include "node_calls.h"
#include "node_core.h"
#include "node_query.h"

/* Reads in a row ---------------------------------------------------------------- */

void node_reads_begin(struct node *n)
{
	assert(!n->reads.span);
	n->reads.span = true;
	n->reads.queries = 0;
}

/* A query is about to run: the second of a span opens the transaction. */
static void reads_query(struct node *n)
{
	if (n->reads.span && ++n->reads.queries == 2 && !n->installing)
		n->reads.open = sqlite3_exec(n->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
}

void node_reads_end(struct node *n)
{
	/* A failed read may have ended it already (SQLite rolls back on some
	 * errors); a transaction left open would refuse the next apply. */
	if (n->reads.open && !sqlite3_get_autocommit(n->db) &&
	    sqlite3_exec(n->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		node_fatal(n, "ending a read transaction", sqlite3_errmsg(n->db));
	n->reads.span = n->reads.open = false;
}

/* A long-poll whose client went away: answered now with the current state,
 * which frees its place among the NODE_POLLS_MAX. */
void node_drop_poll(struct node *n, struct ncall *c)
{
	c->deadline_ms = 0;
	node_answer_query(n, c);
}

bool node_poll_open(const struct node *n, const struct ncall *c)
{
	(void)n;
	return c->wait == W_POLL ? c->deadline_ms > node_now_ms() : c->req->poll_wait_ms > 0;
}

void node_answer_query(struct node *n, struct ncall *c)
{
	const struct http_request *req = c->req;
	struct node_read r = {
	    .reader = n->reader,
	    .db = n->db,
	    .applied = node_applied(n),
	    .n = n,
	    .req = req,
	    .poll_open = node_poll_open(n, c),
	};
	json_t *body = NULL;
	uint64_t modify_index = 0;

	assert(http_op_is(req->op, HTTP_OPF_READ));
	reads_query(n);
	if (node_api(req->op)->query(&r, &body, &modify_index) != 0)
		return node_answer_err(n, c, &r.err, r.details);
	if (req->has_index && r.poll_open && modify_index <= req->index) {
		assert(http_op_is(req->op, HTTP_OPF_LONG_POLL));
		json_decref(body);
		if (c->wait != W_POLL) {
			if (n->waits[W_POLL].n >= NODE_POLLS_MAX)
				return node_answer_error(n, c, HTTP_ERR_TOO_MANY, NULL,
				                         "too many long-polls on this node");
			ncall_wait(n, c, W_POLL, node_now_ms() + req->poll_wait_ms);
		}
		return;
	}
	if (!node_auth_filter(n, c, body)) { /* only what the call's token may read */
		json_decref(body);
		return;
	}
	node_answer(n, c, 200, body);
}
