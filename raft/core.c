/* core.c: creating and freeing a core, inspection, names, quorum arithmetic
 * and the seeded PRNG (the core's only source of randomness). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "raft_private.h"

const char *raft_strerror(int err)
{
	switch (err) {
	case RAFT_OK:
		return "success";
	case RAFT_ENOTLEADER:
		return "not the leader";
	case RAFT_EBUSY:
		return "a limit is reached, or a change or transfer is in flight";
	case RAFT_ETOOBIG:
		return "entry too large";
	case RAFT_EINVAL:
		return "invalid argument or message";
	case RAFT_ENOMEM:
		return "out of memory";
	case RAFT_ENOTCAUGHTUP:
		return "learner has not caught up";
	default:
		return "unknown error";
	}
}

const char *raft_role_name(enum raft_role role)
{
	switch (role) {
	case RAFT_FOLLOWER:
		return "follower";
	case RAFT_PRE_CANDIDATE:
		return "pre-candidate";
	case RAFT_CANDIDATE:
		return "candidate";
	case RAFT_LEADER:
		return "leader";
	}
	return "unknown";
}

const char *raft_msg_type_name(int type)
{
	static const char *const names[] = {
	    "none",           "prevote",  "prevote_resp",  "vote",
	    "vote_resp",      "append",   "append_resp",   "heartbeat",
	    "heartbeat_resp", "snapshot", "snapshot_resp", "timeout_now",
	};
	if (type < 1 || type > RAFT_MSG_TYPE_MAX) {
		return "unknown";
	}
	return names[type];
}

/* splitmix64: small, fast, and enough for drawing election timeouts. */
uint64_t core_prng_next(struct raft *r)
{
	uint64_t z = (r->prng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const struct raft_server *core_server(const struct raft_conf *conf, uint64_t id)
{
	for (uint32_t i = 0; i < conf->n; i++) {
		if (conf->servers[i].id == id) {
			return &conf->servers[i];
		}
	}
	return NULL;
}

bool core_in_conf(const struct raft_conf *conf, uint64_t id)
{
	return core_server(conf, id) != NULL;
}

/* A voter in either half of a joint configuration may campaign and vote. */
bool core_is_voter(const struct raft_conf *conf, uint64_t id)
{
	const struct raft_server *s = core_server(conf, id);

	return s != NULL && (s->role == RAFT_VOTER || (conf->joint && s->old_role == RAFT_VOTER));
}

static bool core_majority(const struct raft_conf *conf, bool old, const uint64_t *ids, size_t n)
{
	uint32_t voters = 0, yes = 0;

	for (uint32_t i = 0; i < conf->n; i++) {
		const struct raft_server *s = &conf->servers[i];
		if ((old ? s->old_role : s->role) != RAFT_VOTER) {
			continue;
		}
		voters++;
		for (size_t j = 0; j < n; j++) {
			if (ids[j] == s->id) {
				yes++;
				break;
			}
		}
	}
	return voters > 0 && yes > voters / 2;
}

bool core_quorum(const struct raft_conf *conf, const uint64_t *votes, size_t n)
{
	if (!core_majority(conf, false, votes, n)) {
		return false;
	}
	return !conf->joint || core_majority(conf, true, votes, n);
}

static bool core_config_valid(const struct raft_config *c)
{
	return c->id != 0 && c->election_ticks >= 2 && c->heartbeat_ticks >= 1 &&
	       c->heartbeat_ticks < c->election_ticks && c->max_inflight <= RAFT_MAX_INFLIGHT &&
	       c->max_msg_bytes <= RAFT_MAX_MSG_BYTES;
}

static bool core_restore(struct raft *r, const struct raft_restore *rs)
{
	r->hs = rs->hs;
	r->hs_durable = rs->hs;
	r->snapshot = rs->snapshot;
	r->base_conf = rs->snapshot.conf;
	r->log.base = rs->snapshot.index;
	r->log.base_term = rs->snapshot.term;
	for (size_t i = 0; i < rs->n_entries; i++) {
		const struct raft_entry *e = &rs->entries[i];
		if (e->index <= rs->snapshot.index) {
			continue; /* a tail the store kept behind its snapshot */
		}
		if (e->index != log_last(&r->log) + 1 || e->term < log_last_term(&r->log) ||
		    e->len > RAFT_MAX_ENTRY_BYTES || (e->len > 0 && e->data == NULL)) {
			return false;
		}
		if (log_append(&r->log, e) != RAFT_OK) {
			return false;
		}
	}
	r->log.persisted = log_last(&r->log);
	if (r->hs.commit < rs->snapshot.index) {
		r->hs.commit = rs->snapshot.index;
	}
	if (r->hs.commit > log_last(&r->log)) {
		r->hs.commit = log_last(&r->log);
	}
	r->hs_durable.commit = r->hs.commit;
	r->applied = rs->snapshot.index;
	return true;
}

struct raft *raft_new(const struct raft_config *config, const struct raft_restore *restore)
{
	struct raft *r;

	assert(config != NULL);
	if (!core_config_valid(config)) {
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		return NULL;
	}
	r->cfg = *config;
	if (r->cfg.max_inflight == 0) {
		r->cfg.max_inflight = RAFT_MAX_INFLIGHT;
	}
	if (r->cfg.max_msg_bytes == 0) {
		r->cfg.max_msg_bytes = RAFT_MAX_MSG_BYTES;
	}
	r->prng = config->seed ^ (config->id * 0xd1342543de82ef95ull);
	log_init(&r->log);
	if (restore != NULL && !core_restore(r, restore)) {
		goto err_free;
	}
	membership_refresh(r);
	r->role = RAFT_FOLLOWER;
	election_reset_timeout(r);
	return r;

err_free:
	raft_free(r);
	return NULL;
}

void raft_free(struct raft *r)
{
	if (r == NULL) {
		return;
	}
	log_free(&r->log);
	free(r->out);
	free(r->rd_msgs);
	free(r->reads);
	free(r->done_reads);
	free(r->chunk_buf);
	free(r);
}

int raft_bootstrap_entry(const struct raft_conf *conf, uint8_t *buf, struct raft_entry *out)
{
	size_t len = raft_conf_encode(conf, buf, RAFT_CONF_MAX_BYTES);

	if (len == 0 || conf->n == 0 || conf->joint) {
		return RAFT_EINVAL;
	}
	out->term = 1;
	out->index = 1;
	out->type = RAFT_ENTRY_CONF;
	out->len = (uint32_t)len;
	out->data = buf;
	return RAFT_OK;
}

uint64_t raft_id(const struct raft *r)
{
	return r->cfg.id;
}

enum raft_role raft_role(const struct raft *r)
{
	return r->role;
}

uint64_t raft_term(const struct raft *r)
{
	return r->hs.term;
}

uint64_t raft_vote(const struct raft *r)
{
	return r->hs.vote;
}

uint64_t raft_leader(const struct raft *r)
{
	return r->leader;
}

uint64_t raft_commit_index(const struct raft *r)
{
	return r->hs.commit;
}

uint64_t raft_applied_index(const struct raft *r)
{
	return r->applied;
}

uint64_t raft_first_index(const struct raft *r)
{
	return r->log.base + 1;
}

uint64_t raft_last_index(const struct raft *r)
{
	return log_last(&r->log);
}

bool raft_term_at(const struct raft *r, uint64_t index, uint64_t *term)
{
	return log_term_at(&r->log, index, term);
}

const struct raft_entry *raft_entry_at(const struct raft *r, uint64_t index)
{
	return log_at(&r->log, index);
}

const struct raft_conf *raft_conf(const struct raft *r)
{
	return &r->conf;
}

uint64_t raft_ticks_since_leader(const struct raft *r)
{
	return r->role == RAFT_LEADER ? 0 : r->ticks_since_leader;
}

uint64_t raft_conf_index(const struct raft *r)
{
	return r->conf_index;
}

bool raft_peer_progress(const struct raft *r, uint64_t id, uint64_t *match, uint64_t *idle_ticks)
{
	const struct raft_progress *pr = NULL;

	if (r->role != RAFT_LEADER) {
		return false;
	}
	for (uint32_t i = 0; i < r->n_prs; i++) {
		if (r->prs[i].id == id) {
			pr = &r->prs[i];
		}
	}
	if (pr == NULL) {
		return false;
	}
	*match = pr->match;
	if (id == r->cfg.id) {
		*match = r->log.persisted; /* I2: a leader's own match */
		*idle_ticks = 0;
	} else {
		*idle_ticks = pr->heard_at ? r->ticks + 1 - pr->heard_at : UINT64_MAX;
	}
	return true;
}

bool raft_leader_ready(const struct raft *r)
{
	return r->role == RAFT_LEADER && r->leader_ready;
}
