/* progress.c: the leader's per-server replication state (thesis 3.5 nextIndex
 * and matchIndex) and its flow control: PROBE sends one AppendEntries at a
 * time until the follower's log matches, REPLICATE pipelines up to
 * max_inflight messages, SNAPSHOT waits for InstallSnapshot to finish. */
#include <assert.h>
#include <string.h>

#include "raft_private.h"

struct raft_progress *progress_find(struct raft *r, uint64_t id)
{
	for (uint32_t i = 0; i < r->n_prs; i++) {
		if (r->prs[i].id == id) {
			return &r->prs[i];
		}
	}
	return NULL;
}

static void progress_init(struct raft *r, struct raft_progress *pr, uint64_t id)
{
	memset(pr, 0, sizeof(*pr));
	pr->id = id;
	pr->next = log_last(&r->log) + 1;
	pr->state = PROGRESS_PROBE;
	if (id == r->cfg.id) {
		pr->match = r->log.persisted;
		pr->recent_active = true;
	}
}

void raft_peer_reset(struct raft *r, uint64_t id)
{
	struct raft_progress *pr;

	assert(!r->in_ready);
	if (r->role != RAFT_LEADER || id == r->cfg.id || (pr = progress_find(r, id)) == NULL) {
		return;
	}
	progress_init(r, pr, id);
}

void progress_reset_all(struct raft *r)
{
	r->n_prs = 0;
	progress_sync(r);
}

/* Tracks exactly the servers of the configuration in force (thesis 4.1: a
 * configuration takes effect as soon as it is in the log). */
void progress_sync(struct raft *r)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < r->n_prs; i++) {
		if (core_in_conf(&r->conf, r->prs[i].id)) {
			r->prs[kept++] = r->prs[i];
		}
	}
	r->n_prs = kept;
	for (uint32_t i = 0; i < r->conf.n; i++) {
		uint64_t id = r->conf.servers[i].id;
		if (progress_find(r, id) == NULL) {
			assert(r->n_prs < RAFT_MAX_SERVERS);
			progress_init(r, &r->prs[r->n_prs++], id);
		}
	}
}

void progress_become_probe(struct raft *r, struct raft_progress *pr, uint64_t next)
{
	(void)r;
	pr->state = PROGRESS_PROBE;
	pr->paused = false;
	pr->inflight_n = 0;
	pr->inflight_start = 0;
	pr->next = next > pr->match + 1 ? next : pr->match + 1;
}

void progress_become_replicate(struct raft_progress *pr)
{
	pr->state = PROGRESS_REPLICATE;
	pr->paused = false;
	pr->inflight_n = 0;
	pr->inflight_start = 0;
	pr->next = pr->match + 1;
}

bool progress_full(const struct raft *r, const struct raft_progress *pr)
{
	return pr->inflight_n >= r->cfg.max_inflight;
}

void progress_inflight_add(struct raft *r, struct raft_progress *pr, uint64_t last)
{
	assert(!progress_full(r, pr));
	uint32_t at = (pr->inflight_start + pr->inflight_n) % RAFT_MAX_INFLIGHT;
	pr->inflight[at] = last;
	pr->inflight_n++;
}

/* Frees the window slots of messages acknowledged up to INDEX. */
void progress_inflight_free_to(struct raft_progress *pr, uint64_t index)
{
	while (pr->inflight_n > 0 && pr->inflight[pr->inflight_start] <= index) {
		pr->inflight_start = (pr->inflight_start + 1) % RAFT_MAX_INFLIGHT;
		pr->inflight_n--;
	}
}

void progress_inflight_free_first(struct raft_progress *pr)
{
	if (pr->inflight_n > 0) {
		pr->inflight_start = (pr->inflight_start + 1) % RAFT_MAX_INFLIGHT;
		pr->inflight_n--;
	}
}

/* Whether a message to PR may go now (flow control). */
bool progress_can_send(const struct raft *r, const struct raft_progress *pr)
{
	switch (pr->state) {
	case PROGRESS_PROBE:
		return !pr->paused;
	case PROGRESS_REPLICATE:
		return !progress_full(r, pr);
	default:
		return false;
	}
}

/* The leader's own match is what it has made durable (invariant I2). */
static uint64_t progress_match(const struct raft *r, const struct raft_progress *pr)
{
	return pr->id == r->cfg.id ? r->log.persisted : pr->match;
}

/* The highest index stored on a quorum of voters (both quorums while
 * joint): the largest match value M such that the servers with match >= M
 * form a quorum. */
uint64_t progress_quorum_match(const struct raft *r)
{
	uint64_t best = 0;

	for (uint32_t i = 0; i < r->n_prs; i++) {
		uint64_t m = progress_match(r, &r->prs[i]);
		uint64_t ids[RAFT_MAX_SERVERS];
		size_t n = 0;
		if (m <= best) {
			continue;
		}
		for (uint32_t j = 0; j < r->n_prs; j++) {
			if (progress_match(r, &r->prs[j]) >= m) {
				ids[n++] = r->prs[j].id;
			}
		}
		if (core_quorum(&r->conf, ids, n)) {
			best = m;
		}
	}
	return best;
}

/* True if the servers flagged recent_active form a quorum (thesis 6.2). */
bool progress_quorum_active(const struct raft *r)
{
	uint64_t ids[RAFT_MAX_SERVERS];
	size_t n = 0;

	for (uint32_t i = 0; i < r->n_prs; i++) {
		if (r->prs[i].recent_active || r->prs[i].id == r->cfg.id) {
			ids[n++] = r->prs[i].id;
		}
	}
	return core_quorum(&r->conf, ids, n);
}

/* True if a quorum acknowledged ReadIndex round ROUND (the leader counts
 * itself: it is in the round that it started). */
bool progress_quorum_read(const struct raft *r, uint64_t round)
{
	uint64_t ids[RAFT_MAX_SERVERS];
	size_t n = 0;

	for (uint32_t i = 0; i < r->n_prs; i++) {
		if (r->prs[i].id == r->cfg.id || r->prs[i].read_ack >= round) {
			ids[n++] = r->prs[i].id;
		}
	}
	return core_quorum(&r->conf, ids, n);
}
