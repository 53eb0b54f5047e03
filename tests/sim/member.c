/* member.c: membership changes as a workload (thesis 4.3, DESIGN.md rule
 * 10), during the fault phase.
 *
 * A fresh server starts empty in a free slot and is added as a learner; a
 * learner is promoted with change_voters (the core refuses a lagging one);
 * a voter, the leader included, is removed. A voter that lost its data
 * folder (the admission rule keeps it out) is removed first, as an operator
 * replacing a lost disk would. A server that was in a committed
 * configuration and is no longer in the newest one is shut down for good,
 * as an operator would; in some seeds (keep_removed) it keeps running on
 * its stale state instead, and the checker (I13) watches that it never
 * disrupts the cluster. The checker (I11) watches that at most one
 * configuration entry is uncommitted on a leader.
 */
#include <stdio.h>

#include "sim.h"

#define MEMBER_MIN_VOTERS 3 /* never shrink below a fault-tolerant cluster */

static void member_voters(const struct raft_conf *conf, uint64_t *ids, size_t *n)
{
	*n = 0;
	for (uint32_t i = 0; i < conf->n; i++) {
		if (conf->servers[i].role == RAFT_VOTER)
			ids[(*n)++] = conf->servers[i].id;
	}
}

static bool member_is_voter(const struct raft_conf *conf, uint64_t id)
{
	for (uint32_t i = 0; i < conf->n; i++) {
		if (conf->servers[i].id == id)
			return conf->servers[i].role == RAFT_VOTER;
	}
	return false;
}

static int member_learner(const struct raft_conf *conf)
{
	for (uint32_t i = 0; i < conf->n; i++) {
		if (conf->servers[i].role == RAFT_LEARNER)
			return (int)i;
	}
	return -1;
}

/* The index in IDS of a voter that lost its data folder, or -1. */
static int member_lost(struct sim_world *w, const uint64_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int slot = sim_slot_of(w, ids[i]);

		if (slot >= 0 && sim_host_lost(w, slot))
			return (int)i;
	}
	return -1;
}

/* Rule 10: a change is accepted only by a leader that has committed an
 * entry of its term (READY, sampled before the call) and has no other
 * change in flight. */
static void member_check_refused(struct sim_world *w, int leader, int rv, bool ready)
{
	if (rv == RAFT_OK && !ready)
		sim_fail(w, leader, "one membership change",
		         "accepts a change before an entry of its term committed (rule 10)");
}

static void member_add(struct sim_world *w, int leader, bool ready)
{
	char addr[RAFT_ADDR_MAX];
	int slot = w->n_slots;
	int rv;

	if (slot == SIM_MAX_SLOTS)
		return;
	snprintf(addr, sizeof(addr), "sim-n%d", slot + 1);
	rv = raft_add_learner(w->nodes[leader].r, (uint64_t)slot + 1, addr);
	member_check_refused(w, leader, rv, ready);
	sim_trace(w, "add learner n%d via n%d: %s", slot + 1, leader + 1, raft_strerror(rv));
	if (rv != RAFT_OK)
		return;
	w->n_slots++;
	sim_host_join(w, slot);
}

/* What the leader binds each of IDS to, as coord/node/api_members.c does:
 * its own folder, or the folder it last admitted the peer from. False when
 * a learner to promote was not admitted since the leader started (the
 * node runtime refuses the change then). */
static bool member_folders(const struct sim_world *w, int leader, const uint64_t *ids, size_t n,
                           uint64_t *folders)
{
	const struct sim_node *l = &w->nodes[leader];

	for (size_t i = 0; i < n; i++) {
		int s = sim_slot_of(w, ids[i]);

		folders[i] = s == leader ? l->store.folder : s >= 0 ? l->seen[s] : 0;
		if (folders[i] == 0 && !member_is_voter(raft_conf(l->r), ids[i]))
			return false;
	}
	return true;
}

static void member_change(struct sim_world *w, int leader, const uint64_t *ids, size_t n,
                          const char *what)
{
	uint64_t folders[RAFT_MAX_SERVERS + 1];
	bool ready;
	int rv;

	/* Check commits decided under the configuration being replaced. */
	sim_check_observe(w, leader);
	ready = raft_leader_ready(w->nodes[leader].r);
	if (!member_folders(w, leader, ids, n, folders)) {
		sim_trace(w, "%s via n%d: a learner is not connected", what, leader + 1);
		return;
	}
	rv = raft_change_voters(w->nodes[leader].r, ids, folders, n);
	member_check_refused(w, leader, rv, ready);

	sim_trace(w, "%s via n%d (%zu voters): %s", what, leader + 1, n, raft_strerror(rv));
}

void sim_member_step(struct sim_world *w, int leader)
{
	const struct raft_conf *conf = raft_conf(w->nodes[leader].r);
	uint64_t ids[RAFT_MAX_SERVERS + 1];
	size_t n;
	int learner = member_learner(conf);
	int lost;

	/* Asked even when the leader is not ready or a change is in flight:
	 * the core must refuse then. */
	if (conf->joint && !sim_chance(&w->rng, 100))
		return;
	member_voters(conf, ids, &n);
	lost = member_lost(w, ids, n);
	if (learner >= 0) {
		ids[n++] = conf->servers[learner].id;
		member_change(w, leader, ids, n, "promote learner");
	} else if (n > MEMBER_MIN_VOTERS &&
	           (lost >= 0 || n > w->p.nodes || sim_chance(&w->rng, 500))) {
		size_t victim = lost >= 0 ? (size_t)lost : (size_t)sim_below(&w->rng, n);

		sim_trace(w, "remove voter n%llu", (unsigned long long)ids[victim]);
		ids[victim] = ids[--n];
		member_change(w, leader, ids, n, "remove voter");
	} else if (conf->n < RAFT_MAX_SERVERS) {
		member_add(w, leader, raft_leader_ready(w->nodes[leader].r));
	}
}

static bool member_in(const struct raft_conf *conf, uint64_t id)
{
	for (uint32_t i = 0; i < conf->n; i++) {
		if (conf->servers[i].id == id)
			return true;
	}
	return false;
}

void sim_member_retire(struct sim_world *w)
{
	const struct raft_conf *conf = &w->check.conf;

	if (w->check.conf_index == 0 || conf->joint)
		return;
	for (int s = 0; s < w->n_slots; s++) {
		struct sim_node *n = &w->nodes[s];

		if (!n->used || n->retired || n->removed_at != 0)
			continue;
		if (member_in(conf, n->id)) {
			n->member = true;
		} else if (n->member) {
			n->removed_at = w->now;
			if (w->p.keep_removed && !sim_host_lost(w, s))
				sim_trace(w, "n%llu removed from the cluster: keeps running",
				          (unsigned long long)n->id);
			else
				sim_host_retire(w, s);
		}
	}
}
