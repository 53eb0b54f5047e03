/* What the leader does with calls: proposes writes and answers them from the
 * result of applying their own entry (N-3); confirms reads and keepalives
 * with a ReadIndex round (N-4). Applying happens on every node, so grants to
 * waiting calls are answered wherever the call waits. What differs per
 * operation is in its handler entry (api.h); nothing here names one. */
#include <assert.h>
#include <string.h>

#include "api.h"
#include "command.h"
#include "node_calls.h"
#include "node_auth.h"
#include "node_core.h"
#include "node_leader.h"
#include "node_lease.h"
#include "node_query.h"

/* The command of C's write, from its handler entry. */
static bool build_cmd(struct node *n, const struct ncall *c, struct coord_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->now_ms = node_stamp_ms(n);
	if (!node_api(c->req->op)->command(n, c->req, cmd))
		return false;
	if (coord_cmd_has_actor((int)cmd->type)) /* the session's owner, or who uses it (SM-10) */
		cmd->actor = c->actor;
	return true;
}

static void propose_call(struct node *n, struct ncall *c, const struct coord_cmd *cmd)
{
	uint64_t index, term;

	if (!node_propose(n, cmd, &index, &term)) {
		if (c->cancelling) /* the wait may still be granted (rule 12) */
			node_answer_error(
			    n, c, HTTP_ERR_TIMEOUT, NULL,
			    "the wait could not be withdrawn; retry the acquire, which "
			    "answers the grant if it happens");
		else
			node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
			                  "the leader cannot take a proposal now; retry");
		return;
	}
	c->index = index;
	c->term = term;
	ncall_wait(n, c, W_WRITE, node_now_ms() + NODE_WRITE_TIMEOUT_MS);
}

void node_handle_on_leader(struct node *n, struct ncall *c)
{
	struct coord_cmd cmd;

	assert(!http_op_is(c->req->op, HTTP_OPF_LOCAL));
	if (http_op_is(c->req->op, HTTP_OPF_ADMIN)) {
		c->admin_deadline_ms = node_now_ms() + NODE_MEMBER_TIMEOUT_MS;
		return node_api(c->req->op)->admin(n, c);
	}
	if (http_op_is(c->req->op, HTTP_OPF_WRITE)) {
		if (!build_cmd(n, c, &cmd))
			return node_answer_error(n, c, HTTP_ERR_SESSION_NOT_FOUND, NULL,
			                         "no session has that id");
		/* Another token's session, as far as this leader applied: refused
		 * without an entry. The apply checks it again (SM-10), for what
		 * this leader has not applied yet. */
		if (coord_cmd_has_actor((int)cmd.type) && !node_auth_owns(n, c, &cmd.session))
			return;
		/* A bootstrap this leader saw applied already: refused without an
		 * entry, so that calls without a token cannot make the log grow. */
		if (cmd.type == COORD_CMD_TOKEN && cmd.bootstrap && n->auth_on)
			return node_token_bootstrapped(n, c);
		if (cmd.type == COORD_CMD_TOKEN && !node_token_mint(c->secret, cmd.hash))
			return node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
			                         "no randomness for a token's secret; retry");
		return propose_call(n, c, &cmd);
	}
	/* Linearizable reads and keepalives: a quorum round that starts now
	 * (rule 5), held by the core until its term has a committed entry
	 * (rule 4). */
	if (raft_read_index(n->raft, c->id) != RAFT_OK)
		return node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                         "the leader cannot confirm reads now; retry");
	ncall_wait(n, c, W_READ, node_now_ms() + NODE_READ_TIMEOUT_MS);
}

void node_admin_wait(struct node *n, struct ncall *c)
{
	ncall_wait(n, c, W_MEMBER, c->admin_deadline_ms);
}

void node_admin_poll(struct node *n)
{
	size_t k = n->waits[W_MEMBER].n;

	/* Each hook answers its call or waits it again at the tail: K runs. */
	while (k-- > 0) {
		struct ncall *c = n->waits[W_MEMBER].head;

		ncall_unwait(n, c);
		node_api(c->req->op)->admin(n, c);
	}
}

/* Withdrawing a wait (its wait_ms passed, or its client hung up): a CANCEL
 * of the same name and session, through the log. */
void node_cancel_wait(struct node *n, struct ncall *c)
{
	struct coord_cmd cmd;

	assert(http_op_is(c->req->op, HTTP_OPF_CANCELLABLE));
	if (raft_role(n->raft) != RAFT_LEADER) {
		/* Only the leader proposes; the waiter may still be granted. */
		node_answer_error(n, c, HTTP_ERR_TIMEOUT, NULL,
		                  "the wait ended during a leader change; retry the acquire, which "
		                  "answers the grant if it happened");
		return;
	}
	/* The acquire it withdraws was built from the same request. */
	if (!build_cmd(n, c, &cmd))
		return node_answer_error(n, c, HTTP_ERR_TIMEOUT, NULL,
		                         "the wait could not be withdrawn; retry the acquire");
	cmd.type = COORD_CMD_CANCEL; /* its row carries no value: none is encoded */
	cmd.seq = 0;                 /* nor a seq: a withdrawal is the node's, not the client's */
	cmd.actor = 0;               /* nor an actor: its acquire was the owner's (SM-10) */
	c->cancelling = true;
	propose_call(n, c, &cmd);
}

/* Answers from applied entries ---------------------------------------------------- */

static json_t *holders_json(const struct coord_result *r)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < r->n_holders; i++) {
		char id[COORD_SESSION_ID_HEX + 1];

		coord_session_id_format(&r->holders[i].session, id);
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:I}", "session", id, "mode",
		                 r->holders[i].mode == COORD_MODE_SHARED ? "shared" : "exclusive",
		                 "fencing_token", (json_int_t)r->holders[i].token));
	}
	return json_pack("{s:o}", "holders", a);
}

/* The answer to a withdrawal: the grant may have won the race (the session
 * holds the lock: answer the grant), or the wait was withdrawn (lock_held,
 * with the holders). */
static void answer_cancelled(struct node *n, struct ncall *c, const struct coord_result *r)
{
	if (r->status == COORD_ST_OK)
		return node_answer(n, c, 200, node_api(c->req->op)->granted(c->req, r->token));
	if (r->status == COORD_ST_SESSION_NOT_FOUND)
		return node_answer_error(n, c, HTTP_ERR_SESSION_NOT_FOUND, NULL,
		                         "the session ended while waiting");
	node_answer_error(n, c, HTTP_ERR_LOCK_HELD,
	                  r->status == COORD_ST_LOCK_HELD ? holders_json(r) : NULL,
	                  "not granted within wait_ms; the wait was withdrawn");
}

/* The answers every write shares, for the statuses its entry left. */
static void answer_status(struct node *n, struct ncall *c, const struct coord_result *r)
{
	switch (r->status) {
	case COORD_ST_QUEUED: /* wait_ms counts from the request's arrival */
		assert(http_op_is(c->req->op, HTTP_OPF_QUEUES));
		ncall_wait(n, c, W_GRANT, c->arrived_ms + c->req->wait_ms);
		return;
	case COORD_ST_LOCK_HELD:
		return node_answer_error(n, c, HTTP_ERR_LOCK_HELD, holders_json(r),
		                         "the lock is held");
	case COORD_ST_NOT_HOLDER:
		return node_answer_error(n, c, HTTP_ERR_NOT_HOLDER, NULL,
		                         "this session does not lead the election");
	case COORD_ST_LOCK_DELAY: {
		json_t *d = json_pack("{s:I}", "retry_after_ms", (json_int_t)r->retry_after_ms);

		c->retry_after_s = (unsigned)((r->retry_after_ms + 999) / 1000);
		return node_answer_error(n, c, HTTP_ERR_LOCK_DELAY, d,
		                         "the lock is in its lock-delay after a holder expired");
	}
	case COORD_ST_SESSION_NOT_FOUND:
		return node_answer_error(n, c, HTTP_ERR_SESSION_NOT_FOUND, NULL,
		                         "no session has that id (or it expired)");
	case COORD_ST_LIMIT:
		return node_answer_error(n, c, HTTP_ERR_TOO_MANY, NULL, "limit reached: %s",
		                         r->limit ? r->limit : "a named limit");
	case COORD_ST_STALE_REQUEST:
		return node_answer_stale(n, c, r->seq);
	case COORD_ST_PERMISSION_DENIED:
		node_auth_deny_owner(n, c);
		return;
	default:
		return node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                         "the request could not be applied (%s); retry",
		                         coord_status_name(r->status));
	}
}

static void answer_write(struct node *n, struct ncall *c, uint64_t index,
                         const struct coord_result *r)
{
	c->retry = c->retry || r->retry; /* a retried wait stays one when withdrawn */
	if (c->cancelling)
		return answer_cancelled(n, c, r);
	if (!node_api(c->req->op)->applied(n, c, index, r))
		answer_status(n, c, r);
}

/* Does C wait for the grant G? */
static bool waits_for(const struct ncall *c, const struct coord_grant *g)
{
	struct coord_session_id id;

	return node_api(c->req->op)->kind == g->kind && strcmp(c->req->name, g->name) == 0 &&
	       node_api_session(c->req, &id) && coord_session_id_equal(&id, &g->session);
}

static void answer_grants(struct node *n, const struct coord_result *r)
{
	for (size_t i = 0; i < r->n_grants; i++) {
		const struct coord_grant *g = &r->grants[i];

		for (struct ncall *c = n->waits[W_GRANT].head; c; c = c->next)
			if (waits_for(c, g)) {
				node_answer(n, c, 200,
				            node_api(c->req->op)->granted(c->req, g->token));
				break;
			}
	}
}

/* A session ended: its waits were dropped in the same entry. */
static void session_ended(struct node *n, const struct coord_session_id *s)
{
	struct ncall *c, *next;

	if (n->lease_live)
		coord_lease_remove(&n->lease, s);
	for (c = n->waits[W_GRANT].head; c; c = next) {
		struct coord_session_id id;

		next = c->next;
		if (node_api_session(c->req, &id) && coord_session_id_equal(&id, s))
			node_answer_error(n, c, HTTP_ERR_SESSION_NOT_FOUND, NULL,
			                  "the session ended while waiting");
	}
}

const double node_latency_bounds_ms[NODE_LATENCY_BUCKETS] = {1,   2,   5,   10,   20,   50,
                                                             100, 200, 500, 1000, 2000, 5000};

static void observe_latency(struct node *n, uint64_t us)
{
	struct node_metrics *m = &n->metrics;

	m->commit_latency_count++;
	m->commit_latency_sum_us += us;
	for (int i = 0; i < NODE_LATENCY_BUCKETS; i++)
		if ((double)us <= node_latency_bounds_ms[i] * 1000)
			m->commit_latency_bucket[i]++;
}

void node_on_applied(struct node *n, uint64_t index, uint64_t term, const struct coord_result *r,
                     const void *data, size_t len)
{
	struct ncall *c;

	/* Proposals are in index order: settle every one at or below INDEX. */
	while ((c = n->waits[W_WRITE].head) && c->index <= index) {
		size_t before = n->waits[W_WRITE].n;

		if (c->index == index && c->term == term && r) {
			observe_latency(n, node_now_us() - c->arrived_us);
			answer_write(n, c, index, r);
		} else if (c->cancelling) {
			/* The withdrawal was lost, but the acquire it withdraws
			 * took effect: the wait may still be queued and granted
			 * (rule 12: unknown, never a failure). */
			node_answer_error(
			    n, c, HTTP_ERR_TIMEOUT, NULL,
			    "the wait could not be withdrawn; retry the acquire, which "
			    "answers the grant if it happens");
		} else {
			node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
			                  "leadership changed before the request committed; retry");
		}
		/* Each answer took C off W_WRITE, or moved it to W_GRANT (N-2). */
		assert(n->waits[W_WRITE].n == before - 1);
	}
	if (!r)
		return;
	answer_grants(n, r);
	if (r->session_ended)
		session_ended(n, &r->session);
	node_lease_applied(n, index, term, r, data, len);
	if (r->type == COORD_CMD_WAKE)
		n->wake_inflight = false;
	if (r->type == COORD_CMD_LIMITS)
		node_refresh_limits(n);
}

/* A snapshot replaced entries this node had proposed: whether they
 * committed is not known here (rule 12). */
void node_snapshot_skipped(struct node *n, uint64_t index)
{
	struct ncall *c;

	while ((c = n->waits[W_WRITE].head) && c->index <= index)
		node_answer_error(n, c, HTTP_ERR_TIMEOUT, NULL,
		                  "the outcome is not known; the request may retry");
}

/* Reads ------------------------------------------------------------------------ */

void node_on_read(struct node *n, const struct raft_read *rd)
{
	for (struct ncall *c = n->waits[W_READ].head; c; c = c->next) {
		if (c->id != rd->ctx)
			continue;
		if (rd->index == 0)
			return node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
			                         "leadership was lost; retry");
		c->read_index = rd->index;
		ncall_wait(n, c, W_APPLY, c->deadline_ms);
		return;
	}
}

void node_after_apply(struct node *n)
{
	uint64_t applied = persist_state_applied_index(n->pstate);
	struct ncall *c, *next;

	node_reads_begin(n); /* the answers' queries: one read transaction */
	for (c = n->waits[W_APPLY].head; c; c = next) {
		next = c->next;
		if (c->read_index > applied)
			continue;
		/* Each answer below frees only C, so NEXT stays valid. */
		ncall_unwait(n, c);
		if (http_op_is(c->req->op, HTTP_OPF_READ))
			node_answer_query(n, c);
		else
			node_api(c->req->op)->answer(n, c); /* CONFIRM: the keepalive */
	}
	for (c = n->waits[W_POLL].head; c; c = next) {
		next = c->next;
		node_answer_query(n, c); /* answers only if the object changed */
	}
	node_reads_end(n);
}
