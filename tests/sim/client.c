/* client.c: the workload, and read safety (invariant I10).
 *
 * Clients propose commands to whoever is leader (and now and then to a node
 * that is not, which must refuse), ask for linearizable reads, and request
 * leadership transfers. A proposal is tracked by the (index, term) the core
 * returned: it committed iff an entry with both is applied.
 *
 * Read safety: when a read is issued, the highest commit index anywhere is
 * its floor: every write acknowledged before the read was issued is at or
 * below it. The read point the core answers must be at or above the floor,
 * and the answer (the state once applied >= the read point) must be a state
 * of the one committed sequence at an index >= the floor. A deposed leader
 * that answers from its own commit index fails this (P1 in
 * docs/DESIGN.md, Known failure patterns), as does a new leader answering before its no-op
 * commits (P2).
 */
#include <string.h>

#include "sim.h"

#define CLIENT_HEALED_PROPOSE 30 /* per mille per step once healed */
/* Clients hold back while this many entries wait to commit on the leader
 * (back-pressure, as a real client would see in its latency). */
#define CLIENT_MAX_BACKLOG 64

/* A node that believes it is leader, chosen at random: clients cut off
 * with a deposed leader keep talking to it, which is how stale reads and
 * lost writes happen (P1, docs/DESIGN.md, Known failure patterns). */
bool sim_client_leader_ok(const struct sim_world *w, int slot)
{
	const struct sim_node *node = &w->nodes[slot];

	/* Once healed, clients stop asking a removed server that still
	 * believes it leads (no member answers it, so without check-quorum
	 * it never learns otherwise): they find the cluster's leader. */
	return node->used && node->up && raft_role(node->r) == RAFT_LEADER &&
	       (w->phase == SIM_FAULTS || node->removed_at == 0);
}

static int client_leader(struct sim_world *w)
{
	int leaders[SIM_MAX_SLOTS];
	int n = 0;

	for (int s = 0; s < w->n_slots; s++) {
		if (sim_client_leader_ok(w, s))
			leaders[n++] = s;
	}
	return n == 0 ? -1 : leaders[sim_below(&w->rng, (uint64_t)n)];
}

static int client_random_up(struct sim_world *w)
{
	int s = (int)sim_below(&w->rng, (uint64_t)w->n_slots);

	return w->nodes[s].used && w->nodes[s].up ? s : -1;
}

static void client_propose(struct sim_world *w, int slot)
{
	static uint8_t buf[SIM_PAYLOAD_MAX];
	struct sim_node *n = &w->nodes[slot];
	struct sim_proposal *p;
	uint64_t index = 0, term = 0;
	size_t len;
	int rv;

	if (raft_last_index(n->r) > raft_commit_index(n->r) + CLIENT_MAX_BACKLOG)
		return;
	len = w->sm_ops->command(&w->rng, ++w->payload_seq, buf, w->p.payload_max);
	if (len == 0)
		return;
	rv = raft_propose(n->r, buf, len, &index, &term);

	if (rv != RAFT_OK) {
		sim_trace(w, "propose to n%d refused: %s", slot + 1, raft_strerror(rv));
		return;
	}
	if (raft_role(n->r) != RAFT_LEADER)
		sim_fail(w, slot, "propose", "a %s accepts a proposal",
		         raft_role_name(raft_role(n->r)));
	sim_trace(w, "propose to n%d: index %llu term %llu (%zu bytes)", slot + 1,
	          (unsigned long long)index, (unsigned long long)term, len);
	if (w->n_props == SIM_MAX_PROPOSALS)
		return;
	p = &w->props[w->n_props++];
	*p = (struct sim_proposal){.index = index,
	                           .term = term,
	                           .fp = sim_mix(sim_hash_bytes(buf, len), RAFT_ENTRY_NORMAL),
	                           .healed = w->live_work};
}

/* The highest commit index any core holds right now. */
static uint64_t client_floor(struct sim_world *w)
{
	uint64_t floor = w->check.commit_max;

	for (int s = 0; s < w->n_slots; s++) {
		struct sim_node *n = &w->nodes[s];

		if (n->used && n->up && raft_commit_index(n->r) > floor)
			floor = raft_commit_index(n->r);
	}
	return floor;
}

static void client_read(struct sim_world *w, int slot)
{
	struct sim_node *n = &w->nodes[slot];
	uint64_t ctx = ++w->next_ctx, floor = client_floor(w);
	int rv;

	if (w->n_reads == SIM_MAX_READS)
		return;
	if (w->brk == SIM_BREAK_LOCAL_READ) {
		/* The classic mistake: answer from local state, no ReadIndex. */
		w->reads[w->n_reads++] = (struct sim_read){.ctx = ctx,
		                                           .slot = slot,
		                                           .incarnation = n->incarnation,
		                                           .floor = floor,
		                                           .index = n->applied ? n->applied : 1};
		sim_client_answer_reads(w, slot);
		return;
	}
	rv = raft_read_index(n->r, ctx);
	sim_trace(w, "read ctx %llu at n%d (floor %llu): %s", (unsigned long long)ctx, slot + 1,
	          (unsigned long long)floor, raft_strerror(rv));
	if (rv != RAFT_OK)
		return;
	w->reads[w->n_reads++] = (struct sim_read){.ctx = ctx,
	                                           .slot = slot,
	                                           .incarnation = n->incarnation,
	                                           .floor = floor,
	                                           .healed = w->live_work};
}

static void client_transfer(struct sim_world *w, int slot)
{
	const struct raft_conf *conf = raft_conf(w->nodes[slot].r);
	const struct raft_server *s;
	int rv;

	if (conf->n == 0)
		return;
	s = &conf->servers[sim_below(&w->rng, conf->n)];
	if (s->id == w->nodes[slot].id || s->role != RAFT_VOTER)
		return;
	rv = raft_transfer(w->nodes[slot].r, s->id);
	sim_trace(w, "transfer leadership n%d -> n%llu: %s", slot + 1, (unsigned long long)s->id,
	          raft_strerror(rv));
}

void sim_client_step(struct sim_world *w)
{
	int leader = client_leader(w);
	int any = client_random_up(w);
	bool faults = w->phase == SIM_FAULTS;

	/* Healed: a load any configuration drains in time (with one append in
	 * flight and large entries, the fault-phase rate can outrun it). */
	unsigned propose =
	    faults || w->p.propose < CLIENT_HEALED_PROPOSE ? w->p.propose : CLIENT_HEALED_PROPOSE;

	if (sim_chance(&w->rng, propose)) {
		/* Mostly the leader; sometimes anyone, who must refuse if not. */
		int to = sim_chance(&w->rng, 850) ? leader : any;

		/* Healed: a removed server that still believes it leads would
		 * accept a proposal no member will ever commit. */
		if (to >= 0 && (faults || w->nodes[to].removed_at == 0))
			client_propose(w, to);
	}
	if (w->brk == SIM_BREAK_LOCAL_READ)
		leader = any;
	if (leader >= 0 && sim_chance(&w->rng, w->p.read))
		client_read(w, leader);
	if (faults && leader >= 0 && sim_chance(&w->rng, w->p.transfer))
		client_transfer(w, leader);
}

static struct sim_read *client_find_read(struct sim_world *w, int slot, uint64_t ctx)
{
	for (size_t i = 0; i < w->n_reads; i++) {
		struct sim_read *r = &w->reads[i];

		if (r->ctx == ctx && r->slot == slot && !r->done &&
		    r->incarnation == w->nodes[slot].incarnation)
			return r;
	}
	return NULL;
}

void sim_client_read_ready(struct sim_world *w, int slot, const struct raft_read *rd)
{
	struct sim_read *r;

	r = client_find_read(w, slot, rd->ctx);
	if (r == NULL) {
		sim_fail(w, slot, "read", "answers read ctx %llu that is not pending there",
		         (unsigned long long)rd->ctx);
		return;
	}
	if (rd->index == 0) {
		r->done = true;
		sim_trace(w, "read ctx %llu at n%d failed (leadership lost)",
		          (unsigned long long)rd->ctx, slot + 1);
		if (r->healed)
			sim_fail(w, slot, "liveness", "read ctx %llu fails in a healed cluster",
			         (unsigned long long)rd->ctx);
		return;
	}
	if (rd->index < r->floor)
		sim_fail(w, slot, "read safety",
		         "read ctx %llu gets read point %llu, below %llu committed before it was "
		         "issued (stale read)",
		         (unsigned long long)rd->ctx, (unsigned long long)rd->index,
		         (unsigned long long)r->floor);
	r->index = rd->index;
}

void sim_client_answer_reads(struct sim_world *w, int slot)
{
	struct sim_node *n = &w->nodes[slot];

	for (size_t i = 0; i < w->n_reads && !w->failed; i++) {
		struct sim_read *r = &w->reads[i];
		const struct sim_canon *c;

		if (r->done || r->slot != slot || r->index == 0 || n->applied < r->index)
			continue;
		r->done = true;
		c = n->applied < w->check.n_canon ? &w->check.canon[n->applied] : NULL;
		if (n->applied < r->floor || n->applied < r->index || c == NULL || !c->applied ||
		    c->state != w->sm_ops->hash(n->sm))
			sim_fail(
			    w, slot, "read safety",
			    "read ctx %llu answered from applied %llu, not a committed state at "
			    "or after %llu",
			    (unsigned long long)r->ctx, (unsigned long long)n->applied,
			    (unsigned long long)r->floor);
		sim_trace(w, "read ctx %llu answered by n%d at applied %llu (read point %llu)",
		          (unsigned long long)r->ctx, slot + 1, (unsigned long long)n->applied,
		          (unsigned long long)r->index);
	}
}

void sim_client_crashed(struct sim_world *w, int slot)
{
	for (size_t i = 0; i < w->n_reads; i++) {
		if (w->reads[i].slot == slot && !w->reads[i].done)
			w->reads[i].done = true; /* the client sees a broken connection */
	}
}

void sim_client_applied(struct sim_world *w, int slot, const struct raft_entry *e)
{
	uint64_t fp = sim_mix(sim_hash_bytes(e->data, e->len), e->type);

	for (size_t i = 0; i < w->n_props; i++) {
		struct sim_proposal *p = &w->props[i];

		if (p->index != e->index || p->term != e->term || p->committed)
			continue;
		if (p->fp != fp)
			sim_fail(w, slot, "propose",
			         "entry %llu term %llu differs from what was proposed there",
			         (unsigned long long)e->index, (unsigned long long)e->term);
		p->committed = true;
	}
}

/* A node that must take part in the liveness phase: running, a member of
 * the newest committed configuration, and not a voter that lost its data
 * folder (the admission rule keeps it out until it is replaced). */
static bool client_live_member(struct sim_world *w, int slot)
{
	struct sim_node *n = &w->nodes[slot];

	if (!n->used || !n->up || n->retired || sim_host_lost(w, slot))
		return false;
	for (uint32_t i = 0; i < w->check.conf.n; i++) {
		if (w->check.conf.servers[i].id == n->id)
			return true;
	}
	return false;
}

bool sim_client_settled(struct sim_world *w, const char **why)
{
	for (size_t i = 0; i < w->n_props; i++) {
		const struct sim_proposal *p = &w->props[i];

		if (!p->healed)
			continue;
		if (p->index < w->check.n_canon && w->check.canon[p->index].applied &&
		    w->check.canon[p->index].term != p->term) {
			*why = "a proposal made in the healed phase was lost";
			return false;
		}
		for (int s = 0; s < w->n_slots; s++) {
			if (client_live_member(w, s) && w->nodes[s].applied < p->index) {
				*why =
				    "a healed-phase proposal is not applied on every live member";
				return false;
			}
		}
		if (!p->committed) {
			*why = "a healed-phase proposal did not commit";
			return false;
		}
	}
	for (size_t i = 0; i < w->n_reads; i++) {
		if (w->reads[i].healed && !w->reads[i].done) {
			*why = "a healed-phase read was not answered";
			return false;
		}
	}
	return true;
}
