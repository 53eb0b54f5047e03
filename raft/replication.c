/* replication.c: AppendEntries on both sides and commitment (thesis 3.5,
 * 3.6.2, figure 3.1).
 *
 * Leader: batches entries up to max_msg_bytes and RAFT_MAX_MSG_ENTRIES per
 * message, pipelines within the inflight window, backs up quickly on
 * conflicts using the follower's term hint, and commits only entries of its
 * own term by counting, with its own vote counted after its fsync (DESIGN.md
 * rules 2, 3). Follower: checks the previous entry, truncates only at the
 * first conflict and never at or below commit, and commits up to
 * min(leaderCommit, last new entry).
 */
#include <assert.h>
#include <string.h>

#include "raft_private.h"

int replication_append_local(struct raft *r, uint8_t type, const void *data, size_t len)
{
	struct raft_entry e = {
	    .term = r->hs.term,
	    .index = log_last(&r->log) + 1,
	    .type = type,
	    .len = (uint32_t)len,
	    .data = (uint8_t *)(uintptr_t)data,
	};
	int rv;

	assert(r->role == RAFT_LEADER);
	rv = log_append(&r->log, &e);
	if (rv != RAFT_OK) {
		return rv;
	}
	if (type == RAFT_ENTRY_CONF) {
		membership_on_append(r, log_at(&r->log, e.index));
	}
	return RAFT_OK;
}

void replication_become_leader(struct raft *r)
{
	assert(r->role == RAFT_CANDIDATE);
	r->role = RAFT_LEADER;
	r->leader = r->cfg.id;
	r->leader_ready = false;
	r->transfer_target = 0;
	r->heartbeat_elapsed = 0;
	r->election_elapsed = 0;
	progress_reset_all(r);
	/* Thesis 3.6.2 / 6.4: a no-op of the new term lets the leader commit
	 * its predecessors' entries and learn the commit index (rule 4). A
	 * failed allocation leaves a leader without a no-op: it steps down. */
	if (replication_append_local(r, RAFT_ENTRY_NOOP, NULL, 0) != RAFT_OK) {
		election_become_follower(r, r->hs.term, 0);
		return;
	}
	replication_broadcast_append(r, true);
}

/* Sends one AppendEntries starting at pr->next; false if nothing was sent. */
static bool replication_send_one(struct raft *r, struct raft_progress *pr, bool allow_empty)
{
	uint64_t prev = pr->next - 1, prev_term, last_term;
	uint32_t n = 0;

	if (!log_term_at(&r->log, prev, &prev_term)) {
		snapshot_send(r, pr); /* the entries it needs were compacted */
		return false;
	}
	if (pr->next <= log_last(&r->log)) {
		n = log_batch(&r->log, pr->next, r->cfg.max_msg_bytes);
	}
	if (n == 0 && !allow_empty) {
		return false;
	}
	last_term = prev_term;
	if (n > 0) {
		log_term_at(&r->log, prev + n, &last_term);
	}
	struct raft_msg m = {
	    .type = RAFT_MSG_APPEND,
	    .to = pr->id,
	    .term = r->hs.term,
	    .index = prev,
	    .log_term = prev_term,
	    .commit = r->hs.commit,
	    .n_entries = n,
	};
	step_send_append(r, &m, last_term);
	if (pr->state == PROGRESS_REPLICATE) {
		if (n > 0) {
			/* Optimistic: assume it arrives (thesis 10.2.1). */
			pr->next = prev + n + 1;
			progress_inflight_add(r, pr, prev + n);
		}
	} else {
		pr->paused = true;
	}
	return n > 0;
}

void replication_send_append(struct raft *r, struct raft_progress *pr, bool allow_empty)
{
	assert(r->role == RAFT_LEADER);
	if (pr->id == r->cfg.id) {
		return;
	}
	while (progress_can_send(r, pr)) {
		if (!replication_send_one(r, pr, allow_empty)) {
			break;
		}
		allow_empty = false;
		if (pr->state != PROGRESS_REPLICATE) {
			break;
		}
	}
}

void replication_broadcast_append(struct raft *r, bool allow_empty)
{
	for (uint32_t i = 0; i < r->n_prs; i++) {
		replication_send_append(r, &r->prs[i], allow_empty);
	}
}

void replication_commit_to(struct raft *r, uint64_t commit)
{
	if (commit > log_last(&r->log)) {
		commit = log_last(&r->log);
	}
	if (commit > r->hs.commit) {
		r->hs.commit = commit;
	}
}

/* Thesis 3.6.2 (figure 3.7 / paper figure 8): only an entry of the current
 * term is committed by counting replicas; earlier ones commit with it. */
void replication_maybe_commit(struct raft *r)
{
	uint64_t q, term;

	assert(r->role == RAFT_LEADER);
	q = progress_quorum_match(r);
	if (q <= r->hs.commit || !log_term_at(&r->log, q, &term) || term != r->hs.term) {
		return;
	}
	r->hs.commit = q;
	if (!r->leader_ready) {
		r->leader_ready = true;
		read_on_leader_ready(r);
	}
	membership_on_commit(r);
	if (r->role == RAFT_LEADER) {
		replication_broadcast_append(r, true);
		read_release(r);
	}
}

static void replication_respond(struct raft *r, const struct raft_msg *m, bool reject,
                                uint64_t index, uint64_t hint_index, uint64_t hint_term)
{
	struct raft_msg resp = {
	    .type = RAFT_MSG_APPEND_RESP,
	    .to = m->from,
	    .term = r->hs.term,
	    .index = index,
	    .reject = reject,
	    .hint_index = hint_index,
	    .hint_term = hint_term,
	};
	step_send(r, &resp);
}

/* Thesis 5.3 hint: the first index this log holds of the conflicting term
 * (never at or below commit, which matches the leader), or the last index
 * when the log is too short. */
static void replication_reject(struct raft *r, const struct raft_msg *m)
{
	uint64_t term, first = m->index;

	if (m->index > log_last(&r->log)) {
		replication_respond(r, m, true, m->index, log_last(&r->log), 0);
		return;
	}
	bool known = log_term_at(&r->log, m->index, &term);
	assert(known);
	(void)known;
	while (first - 1 > r->hs.commit) {
		uint64_t t;
		log_term_at(&r->log, first - 1, &t);
		if (t != term) {
			break;
		}
		first--;
	}
	replication_respond(r, m, true, m->index, first, term);
}

static bool replication_entries_valid(const struct raft_msg *m)
{
	uint64_t prev_term = m->log_term;

	if (m->n_entries > RAFT_MAX_MSG_ENTRIES || (m->n_entries > 0 && m->entries == NULL)) {
		return false;
	}
	for (uint32_t i = 0; i < m->n_entries; i++) {
		const struct raft_entry *e = &m->entries[i];
		if (e->index != m->index + 1 + i || e->term < prev_term || e->term > m->term ||
		    e->len > RAFT_MAX_ENTRY_BYTES || (e->len > 0 && e->data == NULL) ||
		    e->type < RAFT_ENTRY_NORMAL || e->type > RAFT_ENTRY_CONF) {
			return false;
		}
		prev_term = e->term;
	}
	return true;
}

/* Appends what is new in M after its matching prefix; returns the last index
 * known to match the leader. */
static uint64_t replication_merge(struct raft *r, const struct raft_msg *m)
{
	uint64_t matched = m->index;

	for (uint32_t i = 0; i < m->n_entries; i++) {
		const struct raft_entry *e = &m->entries[i];
		uint64_t term;
		if (log_term_at(&r->log, e->index, &term)) {
			if (term == e->term) {
				matched = e->index;
				continue;
			}
			/* Figure 3.1 AppendEntries rule 3: delete the conflicting
			 * entry and all that follow. Committed entries never
			 * conflict (rule 3, invariant I3). */
			assert(e->index > r->hs.commit);
			log_truncate(&r->log, e->index);
			step_drop_acks_from(r, e->index);
			membership_refresh(r);
		}
		if (log_append(&r->log, e) != RAFT_OK) {
			break; /* out of memory: acknowledge only what we hold */
		}
		if (e->type == RAFT_ENTRY_CONF) {
			membership_on_append(r, log_at(&r->log, e->index));
		}
		matched = e->index;
	}
	return matched;
}

int replication_recv_append(struct raft *r, const struct raft_msg *m)
{
	uint64_t term, matched;

	assert(r->role == RAFT_FOLLOWER && m->term == r->hs.term);
	if (!replication_entries_valid(m)) {
		return RAFT_EINVAL;
	}
	if (m->index < r->hs.commit) {
		/* Everything up to commit matches the leader already. */
		replication_respond(r, m, false, r->hs.commit, 0, 0);
		return RAFT_OK;
	}
	if (!log_term_at(&r->log, m->index, &term) || term != m->log_term) {
		replication_reject(r, m);
		return RAFT_OK;
	}
	matched = replication_merge(r, m);
	/* Rule 3: never beyond the last entry this message vouched for. */
	replication_commit_to(r, m->commit < matched ? m->commit : matched);
	/* Acknowledged in the ready that persists these entries (rule 2). */
	replication_respond(r, m, false, matched, 0, 0);
	return RAFT_OK;
}

/* Thesis 5.3: jump over the whole conflicting term at once. */
static uint64_t replication_backup(struct raft *r, const struct raft_msg *m)
{
	uint64_t next = m->hint_index + 1;

	if (m->hint_term != 0) {
		uint64_t j = m->index < log_last(&r->log) ? m->index : log_last(&r->log), t;
		next = m->hint_index;
		while (j > r->log.base && log_term_at(&r->log, j, &t) && t >= m->hint_term) {
			if (t == m->hint_term) {
				next = j + 1;
				break;
			}
			j--;
		}
	}
	if (next > m->index) {
		next = m->index; /* always move back past the refused entry */
	}
	return next;
}

static void replication_on_reject(struct raft *r, struct raft_progress *pr,
                                  const struct raft_msg *m)
{
	if (m->index <= pr->match) {
		return; /* stale: that prefix matched since */
	}
	if (pr->state == PROGRESS_PROBE && m->index != pr->next - 1) {
		return; /* an answer to an older probe */
	}
	if (pr->state == PROGRESS_SNAPSHOT) {
		return;
	}
	progress_become_probe(r, pr, replication_backup(r, m));
	replication_send_append(r, pr, true);
}

void replication_recv_append_resp(struct raft *r, const struct raft_msg *m)
{
	struct raft_progress *pr = progress_find(r, m->from);

	assert(r->role == RAFT_LEADER && pr != NULL);
	if (m->reject) {
		replication_on_reject(r, pr, m);
		return;
	}
	if (m->index > log_last(&r->log)) {
		return; /* cannot match what this leader never had */
	}
	bool advanced = m->index > pr->match;
	if (advanced) {
		pr->match = m->index;
	}
	if (pr->next <= m->index) {
		pr->next = m->index + 1;
	}
	progress_inflight_free_to(pr, m->index);
	if (pr->state == PROGRESS_PROBE ||
	    (pr->state == PROGRESS_SNAPSHOT && pr->match >= r->log.base)) {
		progress_become_replicate(pr);
	}
	if (advanced) {
		replication_maybe_commit(r);
		if (r->role != RAFT_LEADER) {
			return;
		}
		transfer_maybe_send(r, pr);
	}
	replication_send_append(r, pr, false);
}
