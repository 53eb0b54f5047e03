/* ready.c: the outputs. A ready carries, in order of obligation, what to
 * persist (hard state, snapshot, chunk, entries), what to send, and what to
 * apply (committed entries, read points). Because every message queued
 * since the last ready leaves in the same ready as every entry and hard
 * state change made since, a vote, a vote request or an acknowledgement is
 * never sent before what it vouches for is durable (DESIGN.md rules 1, 2).
 * The leader counts its own entries only in raft_advance(), after its fsync,
 * so a leader whose term and vote are durable may send its appends while it
 * writes them (msgs_early): they vouch for nothing of its own.
 */
#include <assert.h>
#include <string.h>

#include "raft_private.h"

static bool ready_hs_differs(const struct raft *r)
{
	return r->hs.term != r->hs_durable.term || r->hs.vote != r->hs_durable.vote ||
	       r->hs.commit != r->hs_durable.commit;
}

/* The last entry the next ready hands out to apply: committed, in the log,
 * and at most RAFT_MAX_READY_APPLY past the applied index, so that a host
 * catching up (after a snapshot, a restart) applies a long backlog over
 * several readies and can serve in between. */
static uint64_t ready_apply_to(const struct raft *r)
{
	uint64_t last = log_last(&r->log);
	uint64_t to = r->hs.commit < last ? r->hs.commit : last;

	if (to > r->applied && to - r->applied > RAFT_MAX_READY_APPLY) {
		to = r->applied + RAFT_MAX_READY_APPLY;
	}
	return to;
}

bool raft_has_ready(const struct raft *r)
{
	return ready_hs_differs(r) || log_last(&r->log) > r->log.persisted || r->out_n > 0 ||
	       r->snapshot_pending || r->chunk_pending || ready_apply_to(r) > r->applied ||
	       r->done_n > 0 || (r->role == RAFT_LEADER && r->read_round_wanted);
}

/* Gives queued APPEND messages their entries, now that the log is fixed
 * until raft_advance(). A message whose entries were since truncated or
 * compacted away is dropped (as if lost). */
static size_t ready_msgs(struct raft *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->out_n; i++) {
		struct raft_msg m = r->out[i].m;
		if (m.type == RAFT_MSG_APPEND && m.n_entries > 0) {
			uint64_t last = m.index + m.n_entries, term;
			if (m.index < r->log.base || !log_term_at(&r->log, last, &term) ||
			    term != r->out[i].last_term) {
				continue;
			}
			m.entries = log_at(&r->log, m.index + 1);
		}
		r->rd_msgs[n++] = m;
	}
	return n;
}

void raft_ready(struct raft *r, struct raft_ready *rd)
{
	assert(!r->in_ready);
	memset(rd, 0, sizeof(*rd));
	if (r->role == RAFT_LEADER && r->read_round_wanted) {
		read_start_round(r);
	}
	rd->hs_changed = ready_hs_differs(r);
	rd->hs = r->hs;
	rd->snapshot = r->snapshot_pending ? &r->snapshot : NULL;
	rd->snap_chunk = r->chunk_pending ? &r->chunk : NULL;

	assert(r->log.persisted >= r->log.base && r->log.persisted <= log_last(&r->log));
	rd->n_entries = (size_t)(log_last(&r->log) - r->log.persisted);
	rd->entries = rd->n_entries ? log_at(&r->log, r->log.persisted + 1) : NULL;
	r->rd_last_index = log_last(&r->log);
	r->rd_last_term = log_last_term(&r->log);

	rd->n_msgs = ready_msgs(r);
	rd->msgs = rd->n_msgs ? r->rd_msgs : NULL;
	rd->msgs_early = r->role == RAFT_LEADER && r->hs.term == r->hs_durable.term &&
	                 r->hs.vote == r->hs_durable.vote && !r->snapshot_pending &&
	                 !r->chunk_pending;

	assert(r->applied >= r->log.base);
	r->rd_applied = ready_apply_to(r);
	if (r->rd_applied < r->applied) {
		r->rd_applied = r->applied;
	}
	rd->n_committed = (size_t)(r->rd_applied - r->applied);
	rd->committed = rd->n_committed ? log_at(&r->log, r->applied + 1) : NULL;

	rd->n_reads = r->done_n;
	rd->reads = r->done_n ? r->done_reads : NULL;
	r->rd_reads = r->done_n;

	rd->role = r->role;
	rd->leader = r->leader;
	rd->term = r->hs.term;
	r->in_ready = true;
}

void raft_advance(struct raft *r, const struct raft_ready *rd)
{
	assert(r->in_ready);
	r->in_ready = false;
	if (rd->hs_changed) {
		r->hs_durable = rd->hs;
	}
	if (rd->n_entries > 0) {
		uint64_t term;
		bool same =
		    log_term_at(&r->log, r->rd_last_index, &term) && term == r->rd_last_term;
		assert(same);
		(void)same;
		r->log.persisted = r->rd_last_index;
	}
	r->applied = r->rd_applied;
	r->out_n = 0;
	assert(r->done_n == r->rd_reads);
	r->done_n = 0;
	r->snapshot_pending = false;
	r->chunk_pending = false;
	if (r->role == RAFT_LEADER) {
		replication_maybe_commit(r); /* counts itself now (rule 2) */
	}
}
