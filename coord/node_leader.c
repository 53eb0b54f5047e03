/* What the leader does with calls: proposes writes and answers them from the
 * result of applying their own entry (N-3); confirms reads and keepalives
 * with a ReadIndex round (N-4); runs the lease keeper and proposes expiries
 * (DESIGN.md rule 8). Applying happens on every node, so grants to waiting
 * calls are answered wherever the call waits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "command.h"
#include "log.h"
#include "node_internal.h"
#include "sm_query.h"

/* Proposing -------------------------------------------------------------------- */

static bool propose(struct node *n, const struct coord_cmd *cmd, uint64_t *index, uint64_t *term)
{
	uint8_t buf[COORD_CMD_MAX_LEN];
	size_t len;
	int rc;

	if (coord_cmd_encode(cmd, buf, sizeof(buf), &len) != 0)
		return false;
	rc = raft_propose(n->raft, buf, len, index, term);
	if (rc == RAFT_OK)
		n->metrics.proposals++;
	return rc == RAFT_OK;
}

static bool parse_session(const struct http_request *req, struct coord_session_id *id)
{
	return coord_session_id_parse(req->session, strlen(req->session), id) == 0;
}

/* The command for a write request. */
static bool build_cmd(struct node *n, const struct http_request *req, struct coord_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->now_ms = node_wall_ms();
	cmd->name = req->name;
	cmd->name_len = strlen(req->name);
	cmd->value = req->value;
	cmd->value_len = req->value_len;
	cmd->has_value = req->has_value;
	cmd->kind = COORD_KIND_LOCK;
	switch (req->op) {
	case HTTP_OP_SESSION_CREATE:
		cmd->type = COORD_CMD_OPEN;
		/* 128 random bits, drawn by the leader and carried in the entry. */
		if (getrandom(cmd->session.bytes, sizeof(cmd->session.bytes), 0) !=
		    (ssize_t)sizeof(cmd->session.bytes))
			node_fatal(n, "getrandom", "no randomness for a session id");
		cmd->ttl_ms = (uint32_t)req->ttl_ms;
		cmd->lock_delay_ms = (uint32_t)req->lock_delay_ms;
		cmd->name = req->label;
		cmd->name_len = strlen(req->label);
		cmd->has_value = false;
		return true;
	case HTTP_OP_SESSION_CLOSE:
		cmd->type = COORD_CMD_CLOSE;
		cmd->name_len = 0;
		break;
	case HTTP_OP_ELECTION_CAMPAIGN:
		cmd->kind = COORD_KIND_ELECTION;
		__attribute__((fallthrough));
	case HTTP_OP_LOCK_ACQUIRE:
		cmd->type = COORD_CMD_ACQUIRE;
		cmd->mode = req->shared ? COORD_MODE_SHARED : COORD_MODE_EXCLUSIVE;
		cmd->queue = req->wait_ms > 0;
		break;
	case HTTP_OP_ELECTION_RESIGN:
		cmd->kind = COORD_KIND_ELECTION;
		__attribute__((fallthrough));
	case HTTP_OP_LOCK_RELEASE:
		cmd->type = COORD_CMD_RELEASE;
		cmd->has_value = false;
		break;
	case HTTP_OP_ELECTION_PROCLAIM:
		cmd->type = COORD_CMD_PROCLAIM;
		cmd->kind = COORD_KIND_ELECTION;
		break;
	default:
		return false;
	}
	return parse_session(req, &cmd->session);
}

static void propose_call(struct node *n, struct ncall *c, const struct coord_cmd *cmd)
{
	uint64_t index, term;

	if (!propose(n, cmd, &index, &term)) {
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
	const struct http_request *req = c->req;

	if (req->is_write) {
		if (!build_cmd(n, req, &cmd))
			return node_answer_error(n, c, HTTP_ERR_SESSION_NOT_FOUND, NULL,
			                         "no session has that id");
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

/* Withdrawing a wait (its wait_ms passed, or its client hung up). */
void node_cancel_wait(struct node *n, struct ncall *c)
{
	struct coord_cmd cmd;

	if (raft_role(n->raft) != RAFT_LEADER) {
		/* Only the leader proposes; the waiter may still be granted. */
		node_answer_error(n, c, HTTP_ERR_TIMEOUT, NULL,
		                  "the wait ended during a leader change; retry the acquire, which "
		                  "answers the grant if it happened");
		return;
	}
	build_cmd(n, c->req, &cmd);
	cmd.type = COORD_CMD_CANCEL;
	cmd.has_value = false;
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

/* The body of a grant: a lock's or an election's shape (API.md). */
static json_t *grant_json(const struct http_request *req, uint64_t token)
{
	json_t *value = req->has_value ? json_stringn(req->value, req->value_len) : json_null();

	if (req->op == HTTP_OP_ELECTION_CAMPAIGN || req->op == HTTP_OP_ELECTION_PROCLAIM)
		return json_pack("{s:{s:s, s:o, s:I}}", "leader", "session", req->session, "value",
		                 value, "fencing_token", (json_int_t)token);
	return json_pack("{s:s, s:s, s:s, s:I, s:o}", "name", req->name, "mode",
	                 req->shared ? "shared" : "exclusive", "session", req->session,
	                 "fencing_token", (json_int_t)token, "value", value);
}

static void answer_open(struct node *n, struct ncall *c, uint64_t index,
                        const struct coord_result *r)
{
	char id[COORD_SESSION_ID_HEX + 1];

	coord_session_id_format(&r->session, id);
	node_answer(
	    n, c, 201,
	    json_pack("{s:s, s:I, s:I, s:s?, s:I}", "id", id, "ttl_ms", (json_int_t)c->req->ttl_ms,
	              "lock_delay_ms", (json_int_t)c->req->lock_delay_ms, "name",
	              c->req->label[0] ? c->req->label : NULL, "modify_index", (json_int_t)index));
}

static void answer_released(struct node *n, struct ncall *c, const struct coord_result *r)
{
	json_t *names = json_array();

	for (size_t i = 0; names && i < r->n_released; i++)
		if (r->released_locks[i].kind == COORD_KIND_LOCK)
			json_array_append_new(names, json_string(r->released_locks[i].name));
	node_answer(n, c, 200, json_pack("{s:o}", "released", names));
}

static void answer_write(struct node *n, struct ncall *c, uint64_t index,
                         const struct coord_result *r)
{
	const struct http_request *req = c->req;

	if (c->cancelling) {
		/* The withdrawal's own answer: the grant may have won the race
		 * (the session holds the lock: answer the grant), or the wait
		 * was withdrawn (lock_held, with the holders). */
		if (r->status == COORD_ST_OK)
			return node_answer(n, c, 200, grant_json(req, r->token));
		if (r->status == COORD_ST_SESSION_NOT_FOUND)
			return node_answer_error(n, c, HTTP_ERR_SESSION_NOT_FOUND, NULL,
			                         "the session ended while waiting");
		return node_answer_error(n, c, HTTP_ERR_LOCK_HELD,
		                         r->status == COORD_ST_LOCK_HELD ? holders_json(r) : NULL,
		                         "not granted within wait_ms; the wait was withdrawn");
	}
	switch (r->status) {
	case COORD_ST_OK:
		if (req->op == HTTP_OP_SESSION_CREATE)
			return answer_open(n, c, index, r);
		if (req->op == HTTP_OP_SESSION_CLOSE)
			return answer_released(n, c, r);
		if (req->op == HTTP_OP_LOCK_RELEASE || req->op == HTTP_OP_ELECTION_RESIGN)
			return node_answer(n, c, 200, json_pack("{s:b}", "released", r->released));
		return node_answer(n, c, 200, grant_json(req, r->token));
	case COORD_ST_QUEUED: /* wait_ms counts from the request's arrival */
		ncall_wait(n, c, W_GRANT, c->arrived_ms + req->wait_ms);
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
		if (req->op == HTTP_OP_SESSION_CLOSE) /* closing is idempotent */
			return node_answer(n, c, 200, json_pack("{s:[]}", "released"));
		return node_answer_error(n, c, HTTP_ERR_SESSION_NOT_FOUND, NULL,
		                         "no session has that id (or it expired)");
	case COORD_ST_LIMIT:
		return node_answer_error(n, c, HTTP_ERR_TOO_MANY, NULL, "limit reached: %s",
		                         r->limit ? r->limit : "a named limit");
	default:
		return node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                         "the request could not be applied (%s); retry",
		                         coord_status_name(r->status));
	}
}

static bool waits_for(const struct ncall *c, const struct coord_session_id *s, enum coord_kind kind,
                      const char *name)
{
	struct coord_session_id id;
	bool election = c->req->op == HTTP_OP_ELECTION_CAMPAIGN;

	return (election ? kind == COORD_KIND_ELECTION : kind == COORD_KIND_LOCK) &&
	       strcmp(c->req->name, name) == 0 && parse_session(c->req, &id) &&
	       coord_session_id_equal(&id, s);
}

static void answer_grants(struct node *n, const struct coord_result *r)
{
	for (size_t i = 0; i < r->n_grants; i++) {
		const struct coord_grant *g = &r->grants[i];

		for (struct ncall *c = n->waits[W_GRANT].head; c; c = c->next)
			if (waits_for(c, &g->session, g->kind, g->name)) {
				node_answer(n, c, 200, grant_json(c->req, g->token));
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
		if (parse_session(c->req, &id) && coord_session_id_equal(&id, s))
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
		if (c->index == index && c->term == term && r) {
			observe_latency(n, uv_hrtime() / 1000u - c->arrived_us);
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
	}
	if (!r)
		return;
	answer_grants(n, r);
	if (r->session_ended)
		session_ended(n, &r->session);
	if (r->type == COORD_CMD_OPEN && r->status == COORD_ST_OK && n->lease_live) {
		struct coord_cmd cmd;

		if (coord_cmd_decode(data, len, &cmd) == 0)
			coord_lease_add(&n->lease, &r->session, cmd.ttl_ms, node_now_ms());
	}
	if (r->type == COORD_CMD_WAKE)
		n->wake_inflight = false;
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

static void lease_ensure(struct node *n, uint64_t now);

static void answer_keepalive(struct node *n, struct ncall *c)
{
	struct coord_session_id id;
	uint64_t now = node_now_ms(), deadline = 0;
	int rc;

	lease_ensure(n, node_now_ms());
	if (!n->lease_live)
		return node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                         "leadership was lost; retry");
	if (!parse_session(c->req, &id))
		return node_answer_error(n, c, HTTP_ERR_SESSION_NOT_FOUND, NULL, "no such session");
	/* The deadline moves before the keepalive is acknowledged (rule 8). */
	rc = coord_lease_keepalive(&n->lease, &id, now, &deadline);
	if (rc == COORD_EEXPIRING && !c->cancelling) {
		/* Its expiry is proposed: never acknowledged now, and 404 only
		 * once the expiry applies (rule 8). Asked again when everything
		 * proposed so far has applied. */
		c->cancelling = true;
		c->read_index = raft_last_index(n->raft);
		ncall_wait(n, c, W_APPLY, c->deadline_ms);
		return;
	}
	if (rc != 0)
		return node_answer_error(n, c, HTTP_ERR_SESSION_NOT_FOUND, NULL,
		                         "no session has that id (or it expired)");
	/* The deadline is now + ttl: keepalives move it to at least that. */
	node_answer(
	    n, c, 200,
	    json_pack("{s:s, s:I}", "id", c->req->session, "ttl_ms", (json_int_t)(deadline - now)));
}

void node_after_apply(struct node *n)
{
	uint64_t applied = persist_state_applied_index(n->pstate);
	struct ncall *c, *next;

	for (c = n->waits[W_APPLY].head; c; c = next) {
		next = c->next;
		if (c->read_index > applied)
			continue;
		/* Each answer below frees only C, so NEXT stays valid. */
		ncall_unwait(n, c);
		if (c->req->op == HTTP_OP_SESSION_KEEPALIVE)
			answer_keepalive(n, c);
		else
			node_answer_query(n, c);
	}
	for (c = n->waits[W_POLL].head; c; c = next) {
		next = c->next;
		node_answer_query(n, c); /* answers only if the object changed */
	}
}

/* Leases ----------------------------------------------------------------------- */

/* On a leader whose term has a committed entry, load every session with a
 * fresh deadline (rule 8: a new leader starts every session's clock afresh). */
static void lease_ensure(struct node *n, uint64_t now)
{
	struct coord_session_ttl *s = NULL;
	size_t k = 0;

	if (raft_role(n->raft) != RAFT_LEADER || !raft_leader_ready(n->raft)) {
		if (n->lease_live) {
			coord_lease_clear(&n->lease);
			n->lease_live = false;
		}
		n->wake_inflight = false;
		return;
	}
	if (n->lease_live && n->lease_term == raft_term(n->raft))
		return;
	if (coord_sm_session_ttls(n->db, &s, &k) != 0)
		node_fatal(n, "reading sessions", "state.db query failed");
	coord_lease_clear(&n->lease);
	for (size_t i = 0; i < k; i++)
		coord_lease_add(&n->lease, &s[i].id, s[i].ttl_ms, now);
	free(s);
	coord_lease_reset_all(&n->lease, now);
	n->lease_live = true;
	n->lease_term = raft_term(n->raft);
	LOG_INFO("leading term %llu: %zu sessions, each with a fresh TTL",
	         (unsigned long long)n->lease_term, k);
}

/* Proposes EXPIRE for ID; a session the leader could not propose (a full
 * proposal window) is kept and proposed again on the next tick, since the
 * lease keeper hands each due session out only once. */
static bool propose_expire(struct node *n, const struct coord_session_id *id)
{
	struct coord_cmd cmd = {.type = COORD_CMD_EXPIRE, .now_ms = node_wall_ms(), .session = *id};
	char hex[COORD_SESSION_ID_HEX + 1];
	uint64_t index, term;

	if (!propose(n, &cmd, &index, &term))
		return false;
	n->metrics.expiries++;
	coord_session_id_format(id, hex);
	LOG_INFO("session %s expired; proposed at %llu", hex, (unsigned long long)index);
	return true;
}

void node_lease_tick(struct node *n, uint64_t now)
{
	struct coord_session_id due[NODE_EXPIRE_BATCH];
	struct coord_cmd cmd = {0};
	uint64_t index, term, at;
	size_t k, kept = 0;
	bool has;

	lease_ensure(n, now);
	if (!n->lease_live) {
		n->n_expire_retry = 0; /* a new leader starts every clock afresh */
		return;
	}
	for (size_t i = 0; i < n->n_expire_retry; i++)
		if (!propose_expire(n, &n->expire_retry[i]))
			n->expire_retry[kept++] = n->expire_retry[i];
	n->n_expire_retry = kept;
	k = coord_lease_due(&n->lease, now, due, NODE_EXPIRE_BATCH);
	for (size_t i = 0; i < k; i++)
		if (!propose_expire(n, &due[i]) && n->n_expire_retry < COORD_LEASE_MAX)
			n->expire_retry[n->n_expire_retry++] = due[i];
	cmd.now_ms = node_wall_ms();
	if (!n->wake_inflight && coord_sm_next_wake(n->db, &has, &at) == 0 && has &&
	    at <= cmd.now_ms) {
		cmd.type = COORD_CMD_WAKE;
		n->wake_inflight = propose(n, &cmd, &index, &term);
	}
}
