/* read.c: ReadIndex, linearizable reads without writing to the log (thesis
 * 6.4), also used to confirm leadership before acknowledging a keepalive.
 *
 * A read is answered with the commit index captured when it arrived, once
 *   (a) an entry of the leader's own term has committed (DESIGN.md rule 4:
 *       before that the leader does not know the commit index; a read that
 *       arrives earlier takes the commit index of that moment), and
 *   (b) a quorum acknowledged a heartbeat round that started after the
 *       read arrived (rule 5: "I believe I am leader" proves nothing).
 * Requests that arrive between two readies share one round (batching).
 */
#include <assert.h>
#include <stdlib.h>

#include "raft_private.h"

static struct raft_pending_read *read_at(struct raft *r, size_t i)
{
	return &r->reads[(r->reads_start + i) % RAFT_MAX_PENDING_READS];
}

int raft_read_index(struct raft *r, uint64_t ctx)
{
	assert(!r->in_ready);
	if (r->role != RAFT_LEADER) {
		return RAFT_ENOTLEADER;
	}
	if (ctx == 0) {
		return RAFT_EINVAL;
	}
	if (r->reads == NULL) {
		r->reads = calloc(RAFT_MAX_PENDING_READS, sizeof(*r->reads));
		r->done_reads = calloc(RAFT_MAX_PENDING_READS, sizeof(*r->done_reads));
		if (r->reads == NULL || r->done_reads == NULL) {
			free(r->reads);
			free(r->done_reads);
			r->reads = NULL;
			r->done_reads = NULL;
			return RAFT_ENOMEM;
		}
	}
	if (r->reads_n + r->done_n >= RAFT_MAX_PENDING_READS) {
		return RAFT_EBUSY;
	}
	struct raft_pending_read *p = read_at(r, r->reads_n++);
	p->ctx = ctx;
	p->index = r->leader_ready ? r->hs.commit : 0;
	p->round = r->read_round + 1; /* the next round to start */
	r->read_round_wanted = true;
	return RAFT_OK;
}

/* Starts the round every waiting request needs: one heartbeat to all. */
void read_start_round(struct raft *r)
{
	assert(r->role == RAFT_LEADER);
	r->read_round_wanted = false;
	r->read_round++;
	r->heartbeat_elapsed = 0;
	heartbeat_broadcast(r);
	read_release(r);
}

void read_on_leader_ready(struct raft *r)
{
	for (size_t i = 0; i < r->reads_n; i++) {
		struct raft_pending_read *p = read_at(r, i);
		if (p->index == 0) {
			p->index = r->hs.commit;
		}
	}
}

static void read_pop(struct raft *r, uint64_t index)
{
	struct raft_pending_read *p = read_at(r, 0);

	assert(r->done_n < RAFT_MAX_PENDING_READS);
	r->done_reads[r->done_n].ctx = p->ctx;
	r->done_reads[r->done_n].index = index;
	r->done_n++;
	r->reads_start = (r->reads_start + 1) % RAFT_MAX_PENDING_READS;
	r->reads_n--;
}

/* Moves every confirmed request, in arrival order, to the answers. */
void read_release(struct raft *r)
{
	assert(r->role == RAFT_LEADER);
	while (r->reads_n > 0) {
		struct raft_pending_read *p = read_at(r, 0);
		if (p->index == 0 || p->round > r->read_round ||
		    !progress_quorum_read(r, p->round)) {
			return;
		}
		read_pop(r, p->index);
	}
}

/* Leadership lost: every pending read fails (index 0), none is served. */
void read_fail_all(struct raft *r)
{
	while (r->reads_n > 0) {
		read_pop(r, 0);
	}
	r->read_round_wanted = false;
}
