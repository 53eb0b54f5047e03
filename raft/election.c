/* election.c: randomized election timeouts, pre-vote, RequestVote and leader
 * stickiness (thesis 3.4, 3.6.1, 4.2.3, 9.6).
 *
 * Safety: a vote or a vote request is only ever queued in the outbox, and the
 * outbox leaves in a ready together with the hard state that records the
 * term and vote, which the host persists first (DESIGN.md rule 1).
 */
#include <assert.h>
#include <string.h>

#include "raft_private.h"

void election_reset_timeout(struct raft *r)
{
	unsigned e = r->cfg.election_ticks;

	r->election_elapsed = 0;
	r->timeout = e + (unsigned)(core_prng_next(r) % e); /* [E, 2E), thesis 3.4 */
}

void election_become_follower(struct raft *r, uint64_t term, uint64_t leader)
{
	assert(term >= r->hs.term);
	if (term > r->hs.term) {
		r->hs.term = term;
		r->hs.vote = 0;
		step_drop_stale_votes(r);
	}
	if (r->role == RAFT_LEADER) {
		/* Pending reads fail: this node can no longer prove it leads. */
		read_fail_all(r);
		transfer_abort(r);
		r->n_prs = 0;
	}
	r->leader_ready = false;
	r->role = RAFT_FOLLOWER;
	r->leader = leader;
	if (leader != 0) {
		r->ticks_since_leader = 0;
	}
	election_reset_timeout(r);
}

bool election_sticky(const struct raft *r, const struct raft_msg *m)
{
	if (m->transfer || !r->cfg.check_quorum) {
		/* A transfer's campaign must not be refused (3.10). Without
		 * check-quorum a leader cut off from the majority would never
		 * step down, so its followers must stay deposable (etcd does
		 * the same). */
		return false;
	}
	if (r->role == RAFT_LEADER) {
		return true; /* check-quorum deposes it if it lost its quorum */
	}
	return r->leader != 0 && r->ticks_since_leader < r->cfg.election_ticks;
}

static void election_tally_reset(struct raft *r)
{
	r->n_granted = 0;
	r->n_refused = 0;
}

static void election_tally_add(uint64_t *ids, uint32_t *n, uint64_t id)
{
	for (uint32_t i = 0; i < *n; i++) {
		if (ids[i] == id) {
			return;
		}
	}
	assert(*n < RAFT_MAX_SERVERS);
	ids[(*n)++] = id;
}

static void election_send_requests(struct raft *r, bool pre_vote, bool transfer)
{
	for (uint32_t i = 0; i < r->conf.n; i++) {
		uint64_t id = r->conf.servers[i].id;
		if (id == r->cfg.id || !core_is_voter(&r->conf, id)) {
			continue;
		}
		struct raft_msg m = {
		    .type = pre_vote ? RAFT_MSG_PREVOTE : RAFT_MSG_VOTE,
		    .to = id,
		    .term = pre_vote ? r->hs.term + 1 : r->hs.term,
		    .index = log_last(&r->log),
		    .log_term = log_last_term(&r->log),
		    .transfer = transfer,
		};
		step_send(r, &m);
	}
}

static void election_won(struct raft *r, bool pre_vote)
{
	if (pre_vote) {
		election_start(r, false, false);
	} else {
		replication_become_leader(r);
	}
}

void election_start(struct raft *r, bool pre_vote, bool transfer)
{
	assert(r->role != RAFT_LEADER);
	if (!core_is_voter(&r->conf, r->cfg.id)) {
		return; /* learners and removed servers never campaign */
	}
	if (pre_vote) {
		/* Pre-vote changes neither term nor vote (thesis 9.6), but the
		 * pre-candidate forgets its leader (reliability anchor P11). */
		r->role = RAFT_PRE_CANDIDATE;
	} else {
		r->role = RAFT_CANDIDATE;
		r->hs.term++;
		r->hs.vote = r->cfg.id;
		step_drop_stale_votes(r);
	}
	r->leader = 0;
	election_reset_timeout(r);
	election_tally_reset(r);
	election_tally_add(r->granted, &r->n_granted, r->cfg.id);
	if (core_quorum(&r->conf, r->granted, r->n_granted)) {
		election_won(r, pre_vote);
		return;
	}
	election_send_requests(r, pre_vote, transfer);
}

void election_tick(struct raft *r)
{
	assert(r->role != RAFT_LEADER);
	if (r->ticks_since_leader < UINT64_MAX) {
		r->ticks_since_leader++;
	}
	if (++r->election_elapsed < r->timeout) {
		return;
	}
	election_reset_timeout(r);
	election_start(r, r->cfg.pre_vote, false);
}

static void election_respond(struct raft *r, const struct raft_msg *m, bool grant)
{
	bool pre = m->type == RAFT_MSG_PREVOTE;
	struct raft_msg resp = {
	    .type = pre ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP,
	    .to = m->from,
	    /* A granted pre-vote answers in the term it was asked for, so the
	     * pre-candidate can match it to its campaign (thesis 9.6). */
	    .term = pre && grant ? m->term : r->hs.term,
	    .reject = !grant,
	};
	step_send(r, &resp);
}

void election_recv_vote(struct raft *r, const struct raft_msg *m)
{
	bool up_to_date = log_up_to_date(&r->log, m->index, m->log_term);

	if (m->type == RAFT_MSG_PREVOTE) {
		/* Would we vote in m->term? Nothing is recorded (thesis 9.6). */
		election_respond(r, m, m->term > r->hs.term && up_to_date);
		return;
	}
	assert(m->term == r->hs.term);
	/* Figure 3.1 RequestVote rule 2: one vote per term, for a candidate
	 * whose log is at least as up-to-date (thesis 3.6.1). */
	bool grant = (r->hs.vote == 0 || r->hs.vote == m->from) && up_to_date;
	if (grant) {
		r->hs.vote = m->from;
		election_reset_timeout(r);
	}
	election_respond(r, m, grant);
}

void election_recv_vote_resp(struct raft *r, const struct raft_msg *m)
{
	bool pre = m->type == RAFT_MSG_PREVOTE_RESP;

	if (pre ? r->role != RAFT_PRE_CANDIDATE : r->role != RAFT_CANDIDATE) {
		return;
	}
	if (!m->reject && m->term != (pre ? r->hs.term + 1 : r->hs.term)) {
		return; /* an answer to an older campaign */
	}
	if (!core_is_voter(&r->conf, m->from)) {
		return; /* learners never count (thesis 4.2.1) */
	}
	if (m->reject) {
		election_tally_add(r->refused, &r->n_refused, m->from);
	} else {
		election_tally_add(r->granted, &r->n_granted, m->from);
	}
	if (core_quorum(&r->conf, r->granted, r->n_granted)) {
		election_won(r, pre);
	} else if (core_quorum(&r->conf, r->refused, r->n_refused)) {
		election_become_follower(r, r->hs.term, 0);
	}
}
