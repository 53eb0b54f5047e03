/* transfer.c: leadership transfer (thesis 3.10). The leader stops taking
 * proposals, brings the target up to date, then sends it TIMEOUT_NOW; the
 * target campaigns at once with the transfer flag, which leader stickiness
 * does not refuse. The transfer is aborted after an election timeout
 * (heartbeat.c). */
#include <assert.h>

#include "raft_private.h"

int raft_transfer(struct raft *r, uint64_t target)
{
	struct raft_progress *pr;

	assert(!r->in_ready);
	if (r->role != RAFT_LEADER) {
		return RAFT_ENOTLEADER;
	}
	if (target == r->cfg.id || !core_is_voter(&r->conf, target)) {
		return RAFT_EINVAL;
	}
	if (r->transfer_target != 0) {
		return RAFT_EBUSY;
	}
	pr = progress_find(r, target);
	assert(pr != NULL);
	r->transfer_target = target;
	r->transfer_elapsed = 0;
	if (pr->match == log_last(&r->log)) {
		transfer_maybe_send(r, pr);
	} else {
		replication_send_append(r, pr, true);
	}
	return RAFT_OK;
}

void transfer_abort(struct raft *r)
{
	r->transfer_target = 0;
	r->transfer_elapsed = 0;
}

void transfer_maybe_send(struct raft *r, struct raft_progress *pr)
{
	if (r->transfer_target != pr->id || pr->match != log_last(&r->log)) {
		return;
	}
	struct raft_msg m = {
	    .type = RAFT_MSG_TIMEOUT_NOW,
	    .to = pr->id,
	    .term = r->hs.term,
	};
	step_send(r, &m);
}

void transfer_recv_timeout_now(struct raft *r, const struct raft_msg *m)
{
	assert(m->term == r->hs.term);
	if (r->role != RAFT_FOLLOWER || !core_is_voter(&r->conf, r->cfg.id)) {
		return;
	}
	election_start(r, false, true);
}
