/* The lease keeper on the leader (rule 8): it tracks every session's
 * deadline while this node leads a term with a committed entry, proposes
 * EXPIRE for the sessions whose deadline passed, and WAKE once lock-delays
 * have ended. */
#include <stdlib.h>

#include "log.h"
#include "node_core.h"
#include "node_lease.h"
#include "sm_query.h"

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
		coord_lease_add(&n->lease, &s[i].id, s[i].ttl_ms, now);
	free(s);
	coord_lease_reset_all(&n->lease, now);
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
		n->wake_inflight = node_propose(n, &cmd, &index, &term);
	}
}
