/* snapshot.c: log compaction and InstallSnapshot in chunks (thesis 5.1,
 * 5.1.1).
 *
 * Leader: a follower that needs an entry below the log's base gets the
 * latest durable snapshot, one chunk of at most RAFT_SNAPSHOT_CHUNK bytes at
 * a time, each sent when the previous one was acknowledged (or resent after
 * an election timeout). The core never holds snapshot bytes: the host
 * attaches them to the messages it sends.
 * Follower: each chunk is handed out in rd.snap_chunk; the last one also
 * in rd.snapshot, and the answer leaves only after that ready is durable.
 * A snapshot at or below the commit index is never installed (reliability
 * anchor P10): its entries are known committed here already.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "raft_private.h"

uint64_t raft_snapshot_taken(struct raft *r, const struct raft_snapshot_meta *meta, uint64_t keep)
{
	uint64_t term, upto;

	assert(!r->in_ready);
	/* The host's state machine may be ahead of what this core handed out
	 * (after a restart it skips entries it had applied), never ahead of
	 * commit. Entries up to the snapshot need not be handed out again. */
	assert(meta->index <= r->hs.commit);
	if (meta->index <= r->snapshot.index || meta->index <= r->log.base) {
		return r->log.base; /* never move backwards (anchor P10) */
	}
	if (meta->index > r->applied) {
		r->applied = meta->index;
	}
	bool held = log_term_at(&r->log, meta->index, &term);
	assert(held && term == meta->term);
	(void)held;
	r->snapshot = *meta;
	upto = meta->index > keep ? meta->index - keep : 0;
	if (upto > r->log.base) {
		membership_on_compact(r, upto);
		log_compact(&r->log, upto);
	}
	return r->log.base;
}

static void snapshot_send_chunk(struct raft *r, struct raft_progress *pr)
{
	uint64_t size = r->snapshot.size;
	uint64_t left = size - pr->snap_offset;
	uint32_t len = left < RAFT_SNAPSHOT_CHUNK ? (uint32_t)left : RAFT_SNAPSHOT_CHUNK;
	struct raft_msg m = {
	    .type = RAFT_MSG_SNAPSHOT,
	    .to = pr->id,
	    .term = r->hs.term,
	    .snap = r->snapshot,
	    .offset = pr->snap_offset,
	    .len = len,
	    .last = pr->snap_offset + len == size,
	};
	pr->snap_wait = 0;
	step_send(r, &m);
}

void snapshot_send(struct raft *r, struct raft_progress *pr)
{
	assert(r->role == RAFT_LEADER);
	if (r->snapshot.index == 0) {
		return; /* nothing compacted can be missing without a snapshot */
	}
	pr->state = PROGRESS_SNAPSHOT;
	pr->paused = false;
	pr->inflight_n = 0;
	pr->snap_index = r->snapshot.index;
	pr->snap_offset = 0;
	snapshot_send_chunk(r, pr);
}

void snapshot_tick(struct raft *r)
{
	for (uint32_t i = 0; i < r->n_prs; i++) {
		struct raft_progress *pr = &r->prs[i];
		if (pr->state != PROGRESS_SNAPSHOT || ++pr->snap_wait < r->cfg.election_ticks) {
			continue;
		}
		if (pr->snap_index != r->snapshot.index) {
			snapshot_send(r, pr); /* a newer snapshot replaced it */
		} else {
			snapshot_send_chunk(r, pr);
		}
	}
}

void snapshot_recv_resp(struct raft *r, const struct raft_msg *m)
{
	struct raft_progress *pr = progress_find(r, m->from);

	assert(r->role == RAFT_LEADER && pr != NULL);
	if (pr->state != PROGRESS_SNAPSHOT || m->index != pr->snap_index) {
		return;
	}
	if (m->reject) {
		progress_become_probe(r, pr, pr->match + 1);
		replication_send_append(r, pr, true);
		return;
	}
	if (m->offset >= r->snapshot.size && m->index == r->snapshot.index) {
		/* Installed (or already covered by its commit index). */
		if (m->index > pr->match) {
			pr->match = m->index;
		}
		progress_become_replicate(pr);
		replication_maybe_commit(r);
		if (r->role == RAFT_LEADER) {
			replication_send_append(r, pr, true);
		}
		return;
	}
	if (m->offset == pr->snap_offset || pr->snap_index != r->snapshot.index) {
		return; /* a duplicate; the timer resends if it was lost */
	}
	pr->snap_offset = m->offset < r->snapshot.size ? m->offset : 0;
	snapshot_send_chunk(r, pr);
}

static void snapshot_respond(struct raft *r, const struct raft_msg *m, uint64_t offset)
{
	struct raft_msg resp = {
	    .type = RAFT_MSG_SNAPSHOT_RESP,
	    .to = m->from,
	    .term = r->hs.term,
	    .index = m->snap.index,
	    .offset = offset,
	};
	step_send(r, &resp);
}

static bool snapshot_chunk_valid(const struct raft_msg *m)
{
	const struct raft_snapshot_meta *s = &m->snap;

	return s->index > 0 && s->term > 0 && s->term <= m->term && m->len <= RAFT_SNAPSHOT_CHUNK &&
	       m->offset <= s->size && m->len <= s->size - m->offset &&
	       m->last == (m->offset + m->len == s->size) && (m->len == 0 || m->data != NULL);
}

/* The last chunk is in: the snapshot becomes the log's base. Entries after
 * it survive only if the log holds the snapshot's last entry (thesis 5.1
 * figure 5.3 receiver rules 6-7). */
static void snapshot_install(struct raft *r, const struct raft_snapshot_meta *meta)
{
	uint64_t term;

	if (log_term_at(&r->log, meta->index, &term) && term == meta->term) {
		log_compact(&r->log, meta->index);
	} else {
		log_reset(&r->log, meta->index, meta->term);
		step_drop_acks_from(r, meta->index + 1);
	}
	r->snapshot = *meta;
	r->snapshot_pending = true;
	r->base_conf = meta->conf;
	membership_refresh(r);
	assert(meta->index > r->hs.commit);
	r->hs.commit = meta->index;
	r->applied = meta->index;
	memset(&r->snap_recv, 0, sizeof(r->snap_recv));
	r->snap_recv_offset = 0;
}

int snapshot_recv(struct raft *r, const struct raft_msg *m)
{
	assert(r->role == RAFT_FOLLOWER && m->term == r->hs.term);
	if (!snapshot_chunk_valid(m)) {
		return RAFT_EINVAL;
	}
	if (m->snap.index <= r->hs.commit) {
		snapshot_respond(r, m, m->snap.size); /* nothing to install */
		return RAFT_OK;
	}
	if (r->chunk_pending) {
		return RAFT_OK; /* one chunk per ready; the leader resends */
	}
	if (m->offset == 0) {
		r->snap_recv = m->snap;
		r->snap_recv_offset = 0;
	}
	/* Chunks of two different files never mix (same index, other bytes:
	 * the crc tells them apart). */
	bool same = r->snap_recv.index == m->snap.index && r->snap_recv.term == m->snap.term &&
	            r->snap_recv.size == m->snap.size && r->snap_recv.crc == m->snap.crc;
	if (!same || m->offset != r->snap_recv_offset) {
		snapshot_respond(r, m, same ? r->snap_recv_offset : 0);
		return RAFT_OK;
	}
	if (r->chunk_buf == NULL) {
		r->chunk_buf = malloc(RAFT_SNAPSHOT_CHUNK);
		if (r->chunk_buf == NULL) {
			return RAFT_ENOMEM;
		}
	}
	if (m->len > 0) {
		memcpy(r->chunk_buf, m->data, m->len);
	}
	r->chunk = (struct raft_snapshot_chunk){.meta = m->snap,
	                                        .offset = m->offset,
	                                        .len = m->len,
	                                        .data = r->chunk_buf,
	                                        .last = m->last};
	r->chunk_pending = true;
	r->snap_recv_offset += m->len;
	if (m->last) {
		snapshot_install(r, &m->snap);
	}
	snapshot_respond(r, m, m->last ? m->snap.size : r->snap_recv_offset);
	return RAFT_OK;
}
