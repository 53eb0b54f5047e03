/* heartbeat.c: the leader's clock: heartbeats (thesis 3.4), check-quorum
 * (thesis 6.2) and the timers of transfers and snapshot chunks.
 *
 * A heartbeat carries the latest ReadIndex round (ctx); its answer
 * acknowledges this leader at a moment after that round started, which is
 * what a read needs (DESIGN.md rule 5). It carries commit only up to what
 * the follower is known to hold, so a follower never commits entries it
 * has not matched (rule 3).
 */
#include <assert.h>

#include "raft_private.h"

void heartbeat_broadcast(struct raft *r)
{
	assert(r->role == RAFT_LEADER);
	for (uint32_t i = 0; i < r->n_prs; i++) {
		struct raft_progress *pr = &r->prs[i];
		if (pr->id == r->cfg.id) {
			continue;
		}
		struct raft_msg m = {
		    .type = RAFT_MSG_HEARTBEAT,
		    .to = pr->id,
		    .term = r->hs.term,
		    .commit = pr->match < r->hs.commit ? pr->match : r->hs.commit,
		    .ctx = r->read_round,
		};
		step_send(r, &m);
	}
}

/* Thesis 6.2: a leader that did not hear from a quorum within an election
 * timeout steps down, so that clients find the real leader. Returns false
 * if it stepped down. */
static bool heartbeat_check_quorum(struct raft *r)
{
	if (r->cfg.check_quorum && !progress_quorum_active(r)) {
		election_become_follower(r, r->hs.term, 0);
		return false;
	}
	for (uint32_t i = 0; i < r->n_prs; i++) {
		r->prs[i].recent_active = r->prs[i].id == r->cfg.id;
	}
	return true;
}

void heartbeat_tick(struct raft *r)
{
	assert(r->role == RAFT_LEADER);
	if (++r->election_elapsed >= r->cfg.election_ticks) {
		r->election_elapsed = 0;
		if (!heartbeat_check_quorum(r)) {
			return;
		}
	}
	if (r->transfer_target != 0 && ++r->transfer_elapsed >= r->cfg.election_ticks) {
		transfer_abort(r); /* thesis 3.10: give up after an election timeout */
	}
	snapshot_tick(r);
	if (++r->heartbeat_elapsed >= r->cfg.heartbeat_ticks) {
		r->heartbeat_elapsed = 0;
		heartbeat_broadcast(r);
	}
}

void heartbeat_recv(struct raft *r, const struct raft_msg *m)
{
	assert(r->role == RAFT_FOLLOWER && m->term == r->hs.term);
	replication_commit_to(r, m->commit);
	struct raft_msg resp = {
	    .type = RAFT_MSG_HEARTBEAT_RESP,
	    .to = m->from,
	    .term = r->hs.term,
	    .ctx = m->ctx,
	};
	step_send(r, &resp);
}

void heartbeat_recv_resp(struct raft *r, const struct raft_msg *m)
{
	struct raft_progress *pr = progress_find(r, m->from);

	assert(r->role == RAFT_LEADER && pr != NULL);
	if (m->ctx > pr->read_ack && m->ctx <= r->read_round) {
		pr->read_ack = m->ctx;
		read_release(r);
	}
	if (pr->match >= log_last(&r->log)) {
		return;
	}
	/* The follower is alive but behind: a probe may have been lost, or the
	 * window is full of messages still in flight or lost. Let one more
	 * message go (as etcd does): if an earlier one was lost, the follower
	 * refuses this one and the leader backs up; a full window on a slow
	 * link keeps moving at one message per heartbeat. */
	if (pr->state == PROGRESS_PROBE) {
		pr->paused = false;
	} else if (pr->state == PROGRESS_REPLICATE && progress_full(r, pr)) {
		progress_inflight_free_first(pr);
	}
	replication_send_append(r, pr, true);
}
