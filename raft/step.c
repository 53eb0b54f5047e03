/* step.c: the inputs: a message from a peer, a tick, a proposal. Messages
 * are first reconciled by term (figure 3.1 "Rules for Servers": a higher
 * term makes any server a follower; a lower one is stale), then dispatched
 * by type and role.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "raft_private.h"

void step_send(struct raft *r, struct raft_msg *m)
{
	step_send_append(r, m, 0);
}

/* Doubles the outbox (and the ready's copy of it) up to RAFT_MAX_OUTBOX. */
static bool step_grow_outbox(struct raft *r)
{
	size_t cap = r->out_cap ? r->out_cap * 2 : RAFT_OUTBOX_INITIAL;
	struct raft_out *out;
	struct raft_msg *msgs;

	if (r->out_cap >= RAFT_MAX_OUTBOX) {
		return false;
	}
	cap = cap < RAFT_MAX_OUTBOX ? cap : RAFT_MAX_OUTBOX;
	out = realloc(r->out, cap * sizeof(*out));
	if (out == NULL) {
		return false;
	}
	r->out = out;
	msgs = realloc(r->rd_msgs, cap * sizeof(*msgs));
	if (msgs == NULL) {
		return false; /* r->out is larger than needed: harmless */
	}
	r->rd_msgs = msgs;
	r->out_cap = cap;
	return true;
}

void step_send_append(struct raft *r, struct raft_msg *m, uint64_t last_term)
{
	if (r->out_n == r->out_cap && !step_grow_outbox(r)) {
		return; /* the outbox is full: dropped, as a lossy network would */
	}
	m->from = r->cfg.id;
	r->out[r->out_n].m = *m;
	r->out[r->out_n].last_term = last_term;
	r->out_n++;
}

/* The term just moved on: queued vote requests and granted votes of older
 * terms no longer match the hard state this ready will persist. Sending them
 * would be safe (the durable term is past theirs, so this server never votes
 * in those terms again) but useless, and it would break the plain reading
 * of rule 1 that every vote leaves with its own term and vote durable.
 * They are dropped, as a lossy network might. */
void step_drop_stale_votes(struct raft *r)
{
	size_t kept = 0;

	for (size_t i = 0; i < r->out_n; i++) {
		const struct raft_msg *m = &r->out[i].m;
		bool vote =
		    m->type == RAFT_MSG_VOTE || (m->type == RAFT_MSG_VOTE_RESP && !m->reject);
		if (vote && m->term < r->hs.term) {
			continue;
		}
		r->out[kept++] = r->out[i];
	}
	r->out_n = kept;
}

/* Entries from INDEX on were just truncated or discarded: a queued success
 * AppendEntries answer that covers them would acknowledge entries this
 * server no longer holds (rule 2: a leader could count it toward commit).
 * It is dropped. */
void step_drop_acks_from(struct raft *r, uint64_t index)
{
	size_t kept = 0;

	for (size_t i = 0; i < r->out_n; i++) {
		const struct raft_msg *m = &r->out[i].m;
		if (m->type == RAFT_MSG_APPEND_RESP && !m->reject && m->index >= index) {
			continue;
		}
		r->out[kept++] = r->out[i];
	}
	r->out_n = kept;
}

static bool step_from_leader(uint8_t type)
{
	return type == RAFT_MSG_APPEND || type == RAFT_MSG_HEARTBEAT || type == RAFT_MSG_SNAPSHOT ||
	       type == RAFT_MSG_TIMEOUT_NOW;
}

/* A message of a lower term. A stale leader is told the current term so it
 * steps down (otherwise a node that moved ahead could never rejoin under
 * pre-vote); a stale (pre-)candidate is refused. */
static void step_stale(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg resp = {.to = m->from, .term = r->hs.term, .reject = true};

	if (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT ||
	    m->type == RAFT_MSG_SNAPSHOT) {
		resp.type = RAFT_MSG_APPEND_RESP;
	} else if (m->type == RAFT_MSG_PREVOTE || m->type == RAFT_MSG_VOTE) {
		resp.type =
		    m->type == RAFT_MSG_PREVOTE ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP;
	} else {
		return;
	}
	step_send(r, &resp);
}

/* Returns false if M must be ignored. */
static bool step_term(struct raft *r, const struct raft_msg *m)
{
	if (m->term < r->hs.term) {
		step_stale(r, m);
		return false;
	}
	if (m->term == r->hs.term) {
		return true;
	}
	if ((m->type == RAFT_MSG_PREVOTE || m->type == RAFT_MSG_VOTE) && election_sticky(r, m)) {
		return false; /* leader stickiness (thesis 4.2.3) */
	}
	if (m->type == RAFT_MSG_PREVOTE || (m->type == RAFT_MSG_PREVOTE_RESP && !m->reject)) {
		return true; /* pre-vote never changes the term (thesis 9.6) */
	}
	election_become_follower(r, m->term, step_from_leader(m->type) ? m->from : 0);
	return true;
}

/* A message of the current term from its leader. */
static int step_leader_msg(struct raft *r, const struct raft_msg *m)
{
	if (r->role == RAFT_LEADER) {
		return RAFT_EINVAL; /* two leaders in one term cannot be */
	}
	if (r->role != RAFT_FOLLOWER) {
		election_become_follower(r, m->term, m->from);
	}
	r->leader = m->from;
	r->ticks_since_leader = 0;
	r->election_elapsed = 0;
	switch (m->type) {
	case RAFT_MSG_APPEND:
		return replication_recv_append(r, m);
	case RAFT_MSG_HEARTBEAT:
		heartbeat_recv(r, m);
		return RAFT_OK;
	case RAFT_MSG_SNAPSHOT:
		return snapshot_recv(r, m);
	default:
		transfer_recv_timeout_now(r, m);
		return RAFT_OK;
	}
}

/* An answer to this leader. */
static int step_leader_resp(struct raft *r, const struct raft_msg *m)
{
	struct raft_progress *pr;

	if (r->role != RAFT_LEADER) {
		return RAFT_OK;
	}
	pr = progress_find(r, m->from);
	if (pr == NULL) {
		return RAFT_EINVAL; /* not in the configuration */
	}
	pr->recent_active = true;
	pr->heard_at = r->ticks + 1;
	switch (m->type) {
	case RAFT_MSG_APPEND_RESP:
		replication_recv_append_resp(r, m);
		break;
	case RAFT_MSG_HEARTBEAT_RESP:
		heartbeat_recv_resp(r, m);
		break;
	default:
		snapshot_recv_resp(r, m);
		break;
	}
	return RAFT_OK;
}

int raft_step(struct raft *r, const struct raft_msg *m)
{
	assert(!r->in_ready);
	if (m->type < 1 || m->type > RAFT_MSG_TYPE_MAX || m->from == 0 || m->from == r->cfg.id ||
	    m->to != r->cfg.id || m->term == 0) {
		return RAFT_EINVAL;
	}
	if (!step_term(r, m)) {
		return RAFT_OK;
	}
	switch (m->type) {
	case RAFT_MSG_PREVOTE:
	case RAFT_MSG_VOTE:
		election_recv_vote(r, m);
		return RAFT_OK;
	case RAFT_MSG_PREVOTE_RESP:
	case RAFT_MSG_VOTE_RESP:
		election_recv_vote_resp(r, m);
		return RAFT_OK;
	case RAFT_MSG_APPEND:
	case RAFT_MSG_HEARTBEAT:
	case RAFT_MSG_SNAPSHOT:
	case RAFT_MSG_TIMEOUT_NOW:
		return step_leader_msg(r, m);
	default:
		return step_leader_resp(r, m);
	}
}

void raft_tick(struct raft *r)
{
	assert(!r->in_ready);
	r->ticks++;
	if (r->role == RAFT_LEADER) {
		heartbeat_tick(r);
	} else {
		election_tick(r);
	}
}

int raft_propose(struct raft *r, const void *data, size_t len, uint64_t *index, uint64_t *term)
{
	int rv;

	assert(!r->in_ready);
	if (r->role != RAFT_LEADER) {
		return RAFT_ENOTLEADER;
	}
	if (len > RAFT_MAX_ENTRY_BYTES) {
		return RAFT_ETOOBIG;
	}
	if (len > 0 && data == NULL) {
		return RAFT_EINVAL;
	}
	/* Thesis 3.10: no proposals while leadership moves away. */
	if (r->transfer_target != 0 || log_last(&r->log) - r->hs.commit >= RAFT_MAX_UNCOMMITTED) {
		return RAFT_EBUSY;
	}
	rv = replication_append_local(r, RAFT_ENTRY_NORMAL, data, len);
	if (rv != RAFT_OK) {
		return rv;
	}
	if (index != NULL) {
		*index = log_last(&r->log);
	}
	if (term != NULL) {
		*term = r->hs.term;
	}
	replication_broadcast_append(r, false);
	return RAFT_OK;
}
