/* The lease keeper on the leader (rule 8): it tracks every session's
 * deadline while this node leads a term with a committed entry, proposes
 * EXPIRE for the sessions whose deadline passed, and WAKE once lock-delays
 * have ended. The same leader brings its limits into force (limits.h). */
#include <stdlib.h>

#include "log.h"
#include "node_bootstrap.h"
#include "node_core.h"
#include "node_lease.h"
#include "sm_query.h"

void node_lease_track(struct node *n, const struct coord_session_id *id, uint32_t ttl_ms,
                      uint64_t now)
{
	int rc = coord_lease_add(&n->lease, id, ttl_ms, now);

	/* A session the keeper cannot track would never expire (rule 8). */
	if (rc != 0 && rc != COORD_EEXIST)
		node_fatal(n, "tracking a session's lease", coord_strerror(rc));
}

/* On a leader whose term has a committed entry, loads every session with a
 * fresh deadline once per term (rule 8: a new leader starts every session's
 * clock afresh); elsewhere drops the lease keeper's state. Returns whether
 * the lease keeper is live. */
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
	if (coord_sm_session_ttls(n->db, &s, &k) != 0)
		node_fatal(n, "reading sessions", "state.db query failed");
	coord_lease_clear(&n->lease);
	for (size_t i = 0; i < k; i++)
		node_lease_track(n, &s[i].id, s[i].ttl_ms, now);
	free(s);
	coord_lease_reset_all(&n->lease, now);
	n->lease_tick_ms = now;
	n->lease_live = true;
	n->lease_term = raft_term(n->raft);
	LOG_INFO("leading term %llu: %zu sessions, each with a fresh TTL",
	         (unsigned long long)n->lease_term, k);
	return true;
}

/* Proposes EXPIRE for ID; a session the leader could not propose (a full
 * proposal window) is kept and proposed again on the next tick, since the
 * lease keeper hands each due session out only once. */
static bool propose_expire(struct node *n, const struct coord_session_id *id)
{
	struct coord_cmd cmd = {.type = COORD_CMD_EXPIRE, .now_ms = node_wall_ms(), .session = *id};
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
	cmd.now_ms = node_wall_ms();
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
	cmd.now_ms = node_wall_ms();
	if (!n->wake_inflight && coord_sm_next_wake(n->db, &has, &at) == 0 && has &&
	    at <= cmd.now_ms) {
		cmd.type = COORD_CMD_WAKE;
		n->wake_inflight = node_propose(n, &cmd, &index, &term);
	}
}
