/* The lease keeper on the leader (rule 8): it tracks every session's
 * deadline while this node leads a term with a committed entry, proposes
 * EXPIRE for the sessions whose deadline passed, and WAKE once lock-delays
 * have ended. The same leader brings its limits into force (limits.h).
 *
 * Elections do not extend a dead client's session (rule 8, L-3). A leader
 * acknowledges a keepalive only when an ALIVE entry naming the session,
 * proposed by this leader at most NODE_ALIVE_EVERY before the keepalive was
 * confirmed, has applied; otherwise the keepalive waits for the ALIVE entry
 * of this turn (one per turn, for every session that needs one). Every node
 * notes when it applied each session's last OPEN or ALIVE entry (its
 * anchor), and a new leader gives each session anchor + ttl + 2 x
 * NODE_ALIVE_EVERY instead of a fresh ttl. Why that is safe: a keepalive a
 * client sent at t and saw acknowledged was confirmed at or after t, so an
 * ALIVE entry naming the session was proposed at or after t - EVERY; every
 * later leader applied that entry, which committed after it was proposed,
 * so its anchor is at or after t - EVERY and its deadline at or after
 * t + ttl + EVERY: never before the client's own lease (t + ttl) ends, with
 * EVERY to spare for clocks that run at different rates. And why it is
 * bounded: a leader that applied the entry when it committed counts from
 * then, however many elections came between. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "node_bootstrap.h"
#include "node_calls.h"
#include "node_core.h"
#include "node_lease.h"
#include "sm_query.h"

/* How long an ALIVE entry vouches for a session's keepalives (L-3): half
 * an election timeout, so a new leader's slack is one election timeout. */
#define NODE_ALIVE_EVERY(n) ((uint64_t)(n)->cfg.election_ms / 2)

void node_lease_track(struct node *n, const struct coord_session_id *id, uint32_t ttl_ms,
                      uint64_t now)
{
	int rc = coord_lease_add(&n->lease, id, ttl_ms, now);

	/* A session the keeper cannot track would never expire (rule 8). */
	if (rc != 0 && rc != COORD_EEXIST)
		node_fatal(n, "tracking a session's lease", coord_strerror(rc));
}

/* On a leader whose term has a committed entry, once this node applied
 * everything committed, loads every session once per term, counted from
 * its anchor (rule 8, L-3) or afresh (--fresh-lease-on-election);
 * elsewhere drops the lease keeper's state. Returns whether the lease
 * keeper is live. */
bool node_lease_ready(struct node *n, uint64_t now)
{
	struct coord_session_ttl *s = NULL;
	size_t k = 0;

	if (raft_role(n->raft) != RAFT_LEADER || !raft_leader_ready(n->raft)) {
		if (n->lease_live) {
			coord_lease_clear(&n->lease);
			n->lease_live = false;
		}
		n->wake_inflight = false;
		return false;
	}
	if (n->lease_live && n->lease_term == raft_term(n->raft))
		return true;
	/* Not before this node applied what is committed: the anchors must
	 * include the ALIVE entries that earlier terms committed, or a
	 * session would be counted from an older one (L-3). A turn whose
	 * drive stopped at NODE_DRIVE_READIES readies leaves some behind. */
	if (node_applied(n) < raft_commit_index(n->raft)) {
		if (n->lease_live) {
			coord_lease_clear(&n->lease);
			n->lease_live = false;
		}
		return false;
	}
	if (coord_sm_session_ttls(n->db, &s, &k) != 0)
		node_fatal(n, "reading sessions", "state.db query failed");
	coord_lease_clear(&n->lease);
	for (size_t i = 0; i < k; i++)
		node_lease_track(n, &s[i].id, s[i].ttl_ms, now);
	free(s);
	if (n->cfg.fresh_lease)
		coord_lease_reset_all(&n->lease, now);
	else
		coord_lease_reset_from(&n->lease, &n->anchors, 2 * NODE_ALIVE_EVERY(n), now);
	n->lease_tick_ms = now;
	n->lease_live = true;
	n->lease_term = raft_term(n->raft);
	n->n_alive_props = 0;
	LOG_INFO("leading term %llu: %zu sessions, each %s", (unsigned long long)n->lease_term, k,
	         n->cfg.fresh_lease ? "with a fresh TTL" : "counted from its last keepalive entry");
	return true;
}

void node_lease_anchor_all(struct node *n)
{
	struct coord_session_ttl *s = NULL;
	uint64_t now = node_now_ms();
	size_t k = 0;

	if (coord_sm_session_ttls(n->db, &s, &k) != 0)
		node_fatal(n, "reading sessions", "state.db query failed");
	coord_lease_clear(&n->anchors);
	for (size_t i = 0; i < k; i++) {
		int rc = coord_lease_add(&n->anchors, &s[i].id, s[i].ttl_ms, now);

		if (rc != 0 && rc != COORD_EEXIST)
			node_fatal(n, "anchoring a session's lease", coord_strerror(rc));
	}
	free(s);
}

/* When this leader proposed the ALIVE entry INDEX of TERM (0: not one of
 * its own); proposals at or below it are done with. */
static uint64_t alive_proposed(struct node *n, uint64_t index, uint64_t term)
{
	uint64_t at = 0;
	size_t kept = 0;

	for (size_t i = 0; i < n->n_alive_props; i++) {
		if (n->alive_props[i].index == index && n->alive_props[i].term == term)
			at = n->alive_props[i].at_ms;
		if (n->alive_props[i].index > index)
			n->alive_props[kept++] = n->alive_props[i];
	}
	n->n_alive_props = kept;
	return at;
}

void node_lease_applied(struct node *n, uint64_t index, uint64_t term, const struct coord_result *r,
                        const void *data, size_t len)
{
	uint64_t now = node_now_ms(), at;
	struct coord_cmd cmd;
	int rc;

	if (r->session_ended)
		coord_lease_remove(&n->anchors, &r->session);
	if (!(r->type == COORD_CMD_OPEN && r->status == COORD_ST_OK) && r->type != COORD_CMD_ALIVE)
		return;
	if (coord_cmd_decode(data, len, &cmd) != 0)
		return; /* cannot be: the entry applied */
	if (cmd.type == COORD_CMD_OPEN) {
		rc = coord_lease_add(&n->anchors, &r->session, cmd.ttl_ms, now);
		if (rc != 0 && rc != COORD_EEXIST)
			node_fatal(n, "anchoring a session's lease", coord_strerror(rc));
		if (n->lease_live)
			node_lease_track(n, &r->session, cmd.ttl_ms, now);
		return;
	}
	at = alive_proposed(n, index, term);
	for (size_t i = 0; i < cmd.n_ids; i++) {
		/* Anchors are never due (nothing asks them), so only an
		 * unknown session (ended since) is refused. */
		(void)coord_lease_keepalive(&n->anchors, &cmd.ids[i], now, NULL);
		if (at != 0 && n->lease_live)
			coord_lease_set_alive(&n->lease, &cmd.ids[i], at);
	}
}

bool node_lease_alive(struct node *n, struct ncall *c, const struct coord_session_id *id,
                      uint64_t now)
{
	uint64_t at, since = c->alive_at != 0 ? c->alive_at : now;
	size_t i;

	if (n->cfg.fresh_lease)
		return true; /* a new leader starts every clock afresh: no entry needed */
	if (coord_lease_alive_ms(&n->lease, id, &at) && at + NODE_ALIVE_EVERY(n) >= since)
		return true;
	if (c->alive_at == 0)
		c->alive_at = now;
	for (i = 0; i < n->n_alive; i++)
		if (coord_session_id_equal(&n->alive_batch[i], id))
			break;
	if (i == n->n_alive) {
		if (n->n_alive == COORD_ALIVE_MAX) {
			node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
			                  "too many keepalives at once; retry");
			return false;
		}
		n->alive_batch[n->n_alive++] = *id;
	}
	c->read_index = UINT64_MAX; /* node_lease_flush_alive() sets it */
	ncall_wait(n, c, W_APPLY, c->deadline_ms);
	node_kick(n);
	return false;
}

void node_lease_flush_alive(struct node *n)
{
	struct coord_cmd cmd = {.type = COORD_CMD_ALIVE};
	uint64_t index = 0, term = 0;
	struct ncall *c, *next;
	bool ok;

	if (n->n_alive == 0)
		return;
	cmd.now_ms = node_stamp_ms(n);
	cmd.ids = n->alive_batch;
	cmd.n_ids = n->n_alive;
	ok = n->lease_live && n->n_alive_props < NODE_ALIVE_PROPS &&
	     node_propose(n, &cmd, &index, &term);
	if (ok) {
		n->alive_props[n->n_alive_props].index = index;
		n->alive_props[n->n_alive_props].term = term;
		n->alive_props[n->n_alive_props++].at_ms = node_now_ms();
	}
	n->n_alive = 0;
	for (c = n->waits[W_APPLY].head; c; c = next) {
		next = c->next;
		if (c->read_index != UINT64_MAX)
			continue;
		if (ok)
			c->read_index = index;
		else
			node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
			                  "the leader cannot take a proposal now; retry");
	}
}

/* Proposes EXPIRE for ID; a session the leader could not propose (a full
 * proposal window) is kept and proposed again on the next tick, since the
 * lease keeper hands each due session out only once. */
static bool propose_expire(struct node *n, const struct coord_session_id *id)
{
	struct coord_cmd cmd = {
	    .type = COORD_CMD_EXPIRE, .now_ms = node_stamp_ms(n), .session = *id};
	char hex[COORD_SESSION_ID_HEX + 1];
	uint64_t index, term;

	if (!node_propose(n, &cmd, &index, &term))
		return false;
	n->metrics.expiries++;
	coord_session_id_format(id, hex);
	LOG_INFO("session %s expired; proposed at %llu", hex, (unsigned long long)index);
	return true;
}

void node_refresh_limits(struct node *n)
{
	if (coord_sm_limits(n->db, &n->limits) != 0)
		node_fatal(n, "reading the limits in force", "state.db query failed");
}

/* This leader's flags become the limits in force, once per term: the
 * limits are replicated state (limits.h), so every node refuses at the
 * same index whatever its own flags say. A proposal lost with the term is
 * made again by the next leader. */
static void propose_limits(struct node *n)
{
	struct coord_cmd cmd = {.type = COORD_CMD_LIMITS, .limits = n->cfg.limits};
	const struct coord_limits cur = n->limits;
	uint64_t index, term;

	if (n->limits_term == raft_term(n->raft))
		return;
	if (coord_limits_equal(&cur, &n->cfg.limits)) {
		n->limits_term = raft_term(n->raft);
		return;
	}
	cmd.now_ms = node_stamp_ms(n);
	if (!node_propose(n, &cmd, &index, &term))
		return; /* a full window: the next tick tries again */
	n->limits_term = term;
	LOG_INFO("limits proposed at %llu: %u sessions, %u locks per session, %u waiters "
	         "(were %u, %u, %u)",
	         (unsigned long long)index, cmd.limits.sessions, cmd.limits.objects,
	         cmd.limits.waiters, cur.sessions, cur.objects, cur.waiters);
}

/* A turn of the loop longer than NODE_LEASE_TURN_MS (a slow fsync on the
 * loop, a paused process, a starved CPU) is a time in which keepalives
 * reached this leader but none could be read, while the next tick would
 * count all of it against every session: a stall as long as a TTL would
 * expire every session whose client kept sending keepalives (etcd #15247).
 * Only NODE_LEASE_TURN_MS of each turn counts; the rest moves every
 * deadline out (rule 8 holds: deadlines only move later). A leader that
 * stalls for good still expires sessions, a turn's worth at a time. */
static void lease_discount_stall(struct node *n, uint64_t now)
{
	uint64_t gap = now - n->lease_tick_ms;

	n->lease_tick_ms = now;
	if (gap <= NODE_LEASE_TURN_MS)
		return;
	coord_lease_extend_all(&n->lease, gap - NODE_LEASE_TURN_MS);
	if (gap >= NODE_LEASE_STALL_LOG)
		LOG_WARN("the loop stalled for %llu ms (a slow disk?): sessions get the time back",
		         (unsigned long long)gap);
}

void node_lease_tick(struct node *n, uint64_t now)
{
	struct coord_session_id due[NODE_EXPIRE_BATCH];
	struct coord_cmd cmd = {0};
	uint64_t index, term, at;
	size_t k, kept = 0;
	bool has;

	if (!node_lease_ready(n, now)) {
		n->n_expire_retry = 0; /* a new leader starts every clock afresh */
		return;
	}
	lease_discount_stall(n, now);
	for (size_t i = 0; i < n->n_expire_retry; i++)
		if (!propose_expire(n, &n->expire_retry[i]))
			n->expire_retry[kept++] = n->expire_retry[i];
	n->n_expire_retry = kept;
	k = coord_lease_due(&n->lease, now, due, NODE_EXPIRE_BATCH);
	for (size_t i = 0; i < k; i++)
		if (!propose_expire(n, &due[i]) && n->n_expire_retry < COORD_LEASE_MAX)
			n->expire_retry[n->n_expire_retry++] = due[i];
	propose_limits(n);
	node_bootstrap_propose(n);
	cmd.now_ms = node_stamp_ms(n);
	if (!n->wake_inflight && coord_sm_next_wake(n->db, &has, &at) == 0 && has &&
	    at <= cmd.now_ms) {
		cmd.type = COORD_CMD_WAKE;
		n->wake_inflight = node_propose(n, &cmd, &index, &term);
	}
}
