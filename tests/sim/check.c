/* check.c: the invariants, checked as events happen and after every step.
 *
 * History kept across crashes and restarts (struct sim_check):
 *   - term -> leader (election safety, thesis 3.6.1 / Figure 3);
 *   - node, term -> durable vote (one vote per term, counting restarts);
 *   - index -> the one committed entry and the state hash after it
 *     (state machine safety; TigerBeetle's StateChecker);
 *   - (index, term) -> hash of the log prefix ending there (log matching,
 *     checked on durable logs);
 *   - the highest commit index seen anywhere (read safety, leader
 *     completeness).
 *
 * The numbered invariants (docs/DESIGN.md, How it is tested):
 *   I1 election safety       I2 term and vote durability
 *   I3 leader append-only    I4 log matching
 *   I5 commit rule           I6 leader completeness
 *   I7 state machine safety  I8 no regression / no truncation of committed
 *   I9 acks follow durability  I10 read safety (client.c)
 *   I11 one membership change at a time
 *   I13 a removed server never disrupts the cluster
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* Growable arrays indexed by term or log index ------------------------------------ */

static void check_grow(void *pp, size_t *n, size_t want, size_t elem)
{
	void **p = pp;
	size_t cap = *n;

	if (want < cap)
		return;
	while (cap <= want)
		cap = cap ? 2 * cap : 256;
	*p = realloc(*p, cap * elem);
	assert(*p != NULL);
	memset((char *)*p + *n * elem, 0, (cap - *n) * elem);
	*n = cap;
}

/* The history entry for INDEX; a scratch one (after failing the seed) for
 * an index no run reaches, so that a corrupted input cannot make the checker
 * allocate without bound. */
static struct sim_canon *check_canon(struct sim_world *w, uint64_t index)
{
	static struct sim_canon scratch;
	struct sim_check *c = &w->check;

	if (index > SIM_MAX_INDEX) {
		sim_fail(w, -1, "range", "log index %llu beyond the simulator's range",
		         (unsigned long long)index);
		memset(&scratch, 0, sizeof(scratch));
		return &scratch;
	}
	check_grow(&c->canon, &c->n_canon, (size_t)index, sizeof(*c->canon));
	return &c->canon[index];
}

/* False (after failing the seed) for a term no run reaches. */
static bool check_term_in_range(struct sim_world *w, int slot, uint64_t term)
{
	if (term <= SIM_MAX_TERM)
		return true;
	sim_fail(w, slot, "range", "term %llu beyond the simulator's range",
	         (unsigned long long)term);
	return false;
}

void sim_check_free(struct sim_check *c)
{
	free(c->term_leader);
	for (int i = 0; i < SIM_MAX_SLOTS; i++)
		free(c->votes[i]);
	free(c->canon);
	free(c->chains);
	memset(c, 0, sizeof(*c));
}

/* Log matching (I4): (index, term) -> prefix hash ------------------------------------ */

static struct sim_chain_slot *check_chain_find(struct sim_check *c, uint64_t index, uint64_t term)
{
	size_t i;

	if (c->chains_n * 2 >= c->chains_cap) {
		struct sim_chain_slot *old = c->chains;
		size_t old_cap = c->chains_cap;

		c->chains_cap = old_cap ? 2 * old_cap : 1024;
		c->chains = calloc(c->chains_cap, sizeof(*c->chains));
		assert(c->chains != NULL);
		c->chains_n = 0;
		for (size_t k = 0; k < old_cap; k++) {
			if (old[k].index != 0) {
				*check_chain_find(c, old[k].index, old[k].term) = old[k];
				c->chains_n++;
			}
		}
		free(old);
	}
	i = (size_t)sim_mix(index, term) & (c->chains_cap - 1);
	while (c->chains[i].index != 0 &&
	       (c->chains[i].index != index || c->chains[i].term != term))
		i = (i + 1) & (c->chains_cap - 1);
	return &c->chains[i];
}

uint64_t sim_check_chain_lookup(struct sim_world *w, uint64_t index, uint64_t term)
{
	struct sim_chain_slot *s = check_chain_find(&w->check, index, term);

	return s->index != 0 ? s->chain : 0;
}

uint64_t sim_check_chain(struct sim_world *w, int slot, const struct raft_entry *e,
                         uint64_t prev_chain)
{
	struct sim_chain_slot *s;
	uint64_t chain = sim_mix(prev_chain, e->index);

	/* Appended after a prefix the host cannot vouch for (below its
	 * snapshot): the chain is unknown from here on, and not checked. */
	if (prev_chain == 0 && e->index > 1)
		return 0;
	chain = sim_mix(chain, e->term);
	chain = sim_mix(chain, e->type);
	chain = sim_mix(chain, sim_hash_bytes(e->data, e->len));
	s = check_chain_find(&w->check, e->index, e->term);
	if (s->index == 0) {
		s->index = e->index;
		s->term = e->term;
		s->chain = chain;
		w->check.chains_n++;
	} else if (s->chain != chain) {
		sim_fail(w, slot, "log matching",
		         "durable entry %llu term %llu has a different prefix or content than "
		         "the same index and term elsewhere",
		         (unsigned long long)e->index, (unsigned long long)e->term);
	}
	return chain;
}

/* I2: term and vote durability ------------------------------------------------------ */

void sim_check_hard_state(struct sim_world *w, int slot, const struct raft_hard_state *hs)
{
	struct sim_node *n = &w->nodes[slot];
	struct sim_check *c = &w->check;
	uint64_t *v;

	if (hs->term < n->store.hs.term)
		sim_fail(w, slot, "term durability", "durable term goes back from %llu to %llu",
		         (unsigned long long)n->store.hs.term, (unsigned long long)hs->term);
	if (hs->term == n->store.hs.term && n->store.hs.vote != 0 && hs->vote != n->store.hs.vote)
		sim_fail(w, slot, "vote durability",
		         "vote in term %llu changes from n%llu to n%llu",
		         (unsigned long long)hs->term, (unsigned long long)n->store.hs.vote,
		         (unsigned long long)hs->vote);
	if (hs->vote == 0 || !check_term_in_range(w, slot, hs->term))
		return;
	check_grow(&c->votes[slot], &c->n_votes[slot], (size_t)hs->term, sizeof(uint64_t));
	v = &c->votes[slot][hs->term];
	if (*v != 0 && *v != hs->vote)
		sim_fail(w, slot, "vote durability",
		         "votes for n%llu in term %llu after voting for n%llu (across a restart)",
		         (unsigned long long)hs->vote, (unsigned long long)hs->term,
		         (unsigned long long)*v);
	*v = hs->vote;
}

/* I3, I8: what a ready's entries may replace ---------------------------------------- */

void sim_check_entries(struct sim_world *w, int slot, const struct raft_entry *e, size_t n_e)
{
	struct sim_node *n = &w->nodes[slot];
	uint64_t k = e[0].index, last = sim_store_last(&n->store);

	for (size_t i = 1; i < n_e; i++) {
		if (e[i].index != e[i - 1].index + 1 || e[i].term < e[i - 1].term)
			sim_fail(w, slot, "log", "ready entries not contiguous at %llu",
			         (unsigned long long)e[i].index);
	}
	if (k > last + 1)
		sim_fail(w, slot, "log", "entries start at %llu, after a gap (durable last %llu)",
		         (unsigned long long)k, (unsigned long long)last);
	if (k > last)
		return;
	/* Entries [k, last] are replaced. */
	if (n->seen_role == RAFT_LEADER && n->seen_term == raft_term(n->r))
		sim_fail(w, slot, "leader append-only",
		         "leader of term %llu overwrites its log from %llu (last %llu)",
		         (unsigned long long)n->seen_term, (unsigned long long)k,
		         (unsigned long long)last);
	/* The commit index before this ready: the message that truncates may
	 * also raise it (thesis Figure 2, AppendEntries steps 3 and 5). */
	if (k <= n->ready_commit)
		sim_fail(w, slot, "truncation below commit",
		         "replaces entries from %llu, at or below its commit index %llu (rule 3)",
		         (unsigned long long)k, (unsigned long long)n->ready_commit);
	for (uint64_t j = k; j <= last && j <= w->check.commit_max; j++) {
		const struct sim_dentry *d = sim_store_at(&n->store, j);
		size_t idx = (size_t)(j - k);

		if (d == NULL || j >= w->check.n_canon || w->check.canon[j].term != d->term)
			continue;
		if (idx < n_e && e[idx].term == d->term)
			continue; /* rewritten with the same entry */
		sim_fail(w, slot, "committed entry lost",
		         "replaces committed entry %llu (term %llu)", (unsigned long long)j,
		         (unsigned long long)d->term);
	}
}

/* I9: acknowledgements and votes leave only after they are durable ------------------ */

/* An AppendEntries success for index i vouches that the leader's log up to
 * i is durable here: i must be durable, and the entry there must be one a
 * leader of the message's term can hold (a term no greater than it). */
static void check_ack(struct sim_world *w, int slot, const struct raft_msg *m)
{
	const struct sim_store *st = &w->nodes[slot].store;
	const struct sim_dentry *d = sim_store_at(st, m->index);

	if (m->index > sim_store_last(st))
		sim_fail(w, slot, "ack durability",
		         "acknowledges index %llu with durable last index %llu (rule 2)",
		         (unsigned long long)m->index, (unsigned long long)sim_store_last(st));
	else if (d != NULL && d->term > m->term)
		sim_fail(w, slot, "ack durability",
		         "acknowledges index %llu in term %llu; the durable entry there is of term "
		         "%llu (rule 2)",
		         (unsigned long long)m->index, (unsigned long long)m->term,
		         (unsigned long long)d->term);
}

void sim_check_send(struct sim_world *w, int slot, const struct raft_msg *m)
{
	struct sim_node *n = &w->nodes[slot];
	const struct raft_hard_state *hs = &n->store.hs;

	if (m->from != n->id)
		sim_fail(w, slot, "message", "sends as n%llu", (unsigned long long)m->from);
	/* Figure 2: currentTerm is on stable storage before responding. */
	if (m->type != RAFT_MSG_PREVOTE && m->type != RAFT_MSG_PREVOTE_RESP && m->term > hs->term)
		sim_fail(w, slot, "term durability", "sends %s in term %llu, durable term %llu",
		         raft_msg_type_name(m->type), (unsigned long long)m->term,
		         (unsigned long long)hs->term);
	switch (m->type) {
	/* A durable term above the message's also does: no other vote can
	 * ever be cast in the message's term. */
	case RAFT_MSG_VOTE:
		if (hs->term < m->term || (hs->term == m->term && hs->vote != n->id))
			sim_fail(
			    w, slot, "vote durability",
			    "requests votes in term %llu before its own vote is durable (rule 1)",
			    (unsigned long long)m->term);
		break;
	case RAFT_MSG_VOTE_RESP:
		if (!m->reject &&
		    (hs->term < m->term || (hs->term == m->term && hs->vote != m->to)))
			sim_fail(w, slot, "vote durability",
			         "grants n%llu its vote in term %llu before the vote is durable "
			         "(rule 1)",
			         (unsigned long long)m->to, (unsigned long long)m->term);
		break;
	case RAFT_MSG_APPEND_RESP:
		if (!m->reject)
			check_ack(w, slot, m);
		break;
	default:
		break;
	}
}

/* I7: state machine safety ---------------------------------------------------------- */

void sim_check_apply(struct sim_world *w, int slot, const struct raft_entry *e, uint64_t state)
{
	struct sim_node *n = &w->nodes[slot];
	struct sim_canon *c;
	uint64_t fp = sim_mix(sim_hash_bytes(e->data, e->len), e->type);

	if (e->index != n->applied + 1) {
		sim_fail(w, slot, "state machine safety", "applies %llu after %llu",
		         (unsigned long long)e->index, (unsigned long long)n->applied);
		return;
	}
	c = check_canon(w, e->index);
	if (c->term != 0 && c->term != e->term) {
		sim_fail(w, slot, "state machine safety",
		         "applies entry %llu of term %llu; the committed one has term %llu",
		         (unsigned long long)e->index, (unsigned long long)e->term,
		         (unsigned long long)c->term);
		return;
	}
	if (c->applied && (c->fp != fp || c->state != state)) {
		sim_fail(w, slot, "state machine safety",
		         "entry %llu or the state after it differs from another node's",
		         (unsigned long long)e->index);
		return;
	}
	c->term = e->term;
	c->fp = fp;
	c->state = state;
	c->applied = true;
}

void sim_check_snapshot_install(struct sim_world *w, int slot, uint64_t index, uint64_t state)
{
	struct sim_canon *c = check_canon(w, index);

	if (index < w->nodes[slot].applied)
		sim_fail(w, slot, "applied regression",
		         "installs a snapshot at %llu over applied %llu", (unsigned long long)index,
		         (unsigned long long)w->nodes[slot].applied);
	if (c->applied && c->state != state)
		sim_fail(w, slot, "state machine safety",
		         "snapshot at %llu restores a state no node had at that index",
		         (unsigned long long)index);
}

/* Quorums (I5) -------------------------------------------------------------------------- */

/* True if a majority of the voters on one side of CONF (OLD: the C_old side
 * of a joint configuration) durably hold INDEX with TERM. */
static bool check_side(const struct sim_world *w, const struct raft_conf *conf, bool old,
                       uint64_t index, uint64_t term)
{
	unsigned voters = 0, holding = 0;

	for (uint32_t i = 0; i < conf->n; i++) {
		const struct raft_server *s = &conf->servers[i];
		int slot = sim_slot_of(w, s->id);

		if ((old ? s->old_role : s->role) != RAFT_VOTER)
			continue;
		voters++;
		if (slot < 0)
			continue;
		/* A voter that lost its data folder and is kept out still
		 * counts with what it held: it acknowledged that durably. */
		if (sim_store_holds(&w->nodes[slot].store, index, term) ||
		    (sim_host_lost(w, slot) && sim_store_holds(&w->nodes[slot].lost, index, term)))
			holding++;
	}
	return holding * 2 > voters;
}

bool sim_quorum_holds(const struct sim_world *w, const struct raft_conf *conf, uint64_t index,
                      uint64_t term)
{
	if (!check_side(w, conf, false, index, term))
		return false;
	return !conf->joint || check_side(w, conf, true, index, term);
}

/* I5, I6, I8 on observed soft state ---------------------------------------------------- */

/* I6: every committed entry is in the log of a new leader. */
static void check_elected(struct sim_world *w, int slot)
{
	struct sim_node *n = &w->nodes[slot];
	struct sim_check *c = &w->check;
	uint64_t term = raft_term(n->r), t;

	if (!check_term_in_range(w, slot, term))
		return;
	check_grow(&c->term_leader, &c->n_terms, (size_t)term, sizeof(uint64_t));
	if (c->term_leader[term] != 0 && c->term_leader[term] != n->id) {
		sim_fail(w, slot, "election safety", "second leader of term %llu (first: n%llu)",
		         (unsigned long long)term, (unsigned long long)c->term_leader[term]);
		return;
	}
	c->term_leader[term] = n->id;
	w->n_elections++;
	sim_trace(w, "n%llu elected leader of term %llu (last index %llu)",
	          (unsigned long long)n->id, (unsigned long long)term,
	          (unsigned long long)raft_last_index(n->r));
	for (uint64_t i = 1; i <= c->commit_max && i < c->n_canon; i++) {
		if (c->canon[i].term == 0 || i < raft_first_index(n->r))
			continue;
		if (!raft_term_at(n->r, i, &t) || t != c->canon[i].term) {
			sim_fail(w, slot, "leader completeness",
			         "leader of term %llu lacks committed entry %llu",
			         (unsigned long long)term, (unsigned long long)i);
			return;
		}
	}
}

/* I5: a leader commits only entries of its term held durably by a quorum;
 * anyone's commit agrees with the one committed sequence. */
static void check_commit(struct sim_world *w, int slot, uint64_t from, uint64_t to)
{
	struct sim_node *n = &w->nodes[slot];
	uint64_t t = 0, term = raft_term(n->r);

	if (to > raft_last_index(n->r))
		sim_fail(w, slot, "commit rule", "commit %llu beyond its last index %llu",
		         (unsigned long long)to, (unsigned long long)raft_last_index(n->r));
	if (raft_role(n->r) == RAFT_LEADER && raft_term_at(n->r, to, &t)) {
		if (t != term)
			sim_fail(
			    w, slot, "commit rule",
			    "leader of term %llu commits %llu of term %llu by counting (Fig. 8)",
			    (unsigned long long)term, (unsigned long long)to,
			    (unsigned long long)t);
		else if (!sim_quorum_holds(w, raft_conf(n->r), to, t))
			sim_fail(w, slot, "commit rule",
			         "leader commits %llu, durable on no quorum of its configuration",
			         (unsigned long long)to);
	}
	for (uint64_t i = from + 1; i <= to && !w->failed; i++) {
		struct sim_canon *c;

		if (!raft_term_at(n->r, i, &t))
			continue;
		c = check_canon(w, i);
		if (c->term == 0)
			c->term = t;
		else if (c->term != t)
			sim_fail(
			    w, slot, "state machine safety",
			    "commits entry %llu of term %llu; committed elsewhere with term %llu",
			    (unsigned long long)i, (unsigned long long)t,
			    (unsigned long long)c->term);
	}
	if (to > w->check.commit_max)
		w->check.commit_max = to;
}

/* I11: at most one configuration entry above a leader's commit index. */
static void check_one_change(struct sim_world *w, int slot)
{
	struct sim_node *n = &w->nodes[slot];
	unsigned pending = 0;

	for (uint64_t i = raft_commit_index(n->r) + 1; i <= raft_last_index(n->r); i++) {
		const struct raft_entry *e = raft_entry_at(n->r, i);

		if (e != NULL && e->type == RAFT_ENTRY_CONF)
			pending++;
	}
	if (pending > 1)
		sim_fail(w, slot, "one membership change",
		         "leader holds %u uncommitted configuration entries", pending);
}

/* I13: once a configuration without it has committed, a removed server
 * (kept running on its stale state in some seeds) never disrupts the
 * cluster. For a member of the newest committed configuration whose own
 * configuration no longer lists it, no message it sent after that raises
 * the member's term, deposes it as leader, or makes it follow the removed
 * server (thesis 4.2.3; coord/node/admit.h refuses strangers).
 *
 * A member lagging behind the removal still lists it and admits it by
 * design. With pre-vote (coordd always runs it) the removed server still
 * never brings a new term in: a message from it may raise such a member's
 * term only up to the highest term a member of the committed configuration
 * already holds (a pre-vote refusal carries the refuser's term, which a
 * lagging pre-candidate adopts, as in etcd), and never makes it follow the
 * removed server. Without pre-vote a vote request of the removed server
 * raises a lagging member's term: not checked (README, I13). */
static bool check_listed(const struct raft_conf *conf, uint64_t id)
{
	for (uint32_t i = 0; i < conf->n; i++) {
		if (conf->servers[i].id == id)
			return true;
	}
	return false;
}

/* The highest term a server of the newest committed configuration holds:
 * its core's while it runs, its durable one while it is down. */
static uint64_t check_members_term(const struct sim_world *w)
{
	uint64_t top = 0;

	for (int i = 0; i < SIM_MAX_SLOTS; i++) {
		const struct sim_node *m = &w->nodes[i];
		uint64_t t;

		if (!m->used || !check_listed(&w->check.conf, m->id))
			continue;
		t = m->up ? raft_term(m->r) : m->store.hs.term;
		if (t > top)
			top = t;
	}
	return top;
}

void sim_check_removed_before(struct sim_world *w, const struct sim_packet *pkt, int to,
                              struct sim_check_mark *before)
{
	int from = sim_slot_of(w, pkt->from);
	struct sim_node *n = &w->nodes[to];

	before->watch = from >= 0 && w->nodes[from].removed_at != 0 &&
	                pkt->sent > w->nodes[from].removed_at &&
	                check_listed(&w->check.conf, n->id);
	before->lagging = before->watch && check_listed(raft_conf(n->r), pkt->from);
	if (before->lagging && !w->p.pre_vote)
		before->watch = false;
	before->term = raft_term(n->r);
	before->ceiling = before->lagging ? check_members_term(w) : before->term;
	before->role = raft_role(n->r);
	before->leader = raft_leader(n->r);
}

void sim_check_removed_after(struct sim_world *w, const struct sim_packet *pkt, int to,
                             const struct sim_check_mark *before)
{
	struct sim_node *n = &w->nodes[to];
	unsigned long long from = (unsigned long long)pkt->from;

	if (!before->watch || w->failed)
		return;
	if (raft_term(n->r) > before->ceiling)
		sim_fail(w, to, "removed server disruption",
		         "a message from removed n%llu raises the term from %llu to %llu%s", from,
		         (unsigned long long)before->term, (unsigned long long)raft_term(n->r),
		         before->lagging ? ", above every member's" : "");
	else if (!before->lagging && before->role == RAFT_LEADER && raft_role(n->r) != RAFT_LEADER)
		sim_fail(w, to, "removed server disruption",
		         "a message from removed n%llu deposes the leader of term %llu", from,
		         (unsigned long long)before->term);
	else if (raft_leader(n->r) == pkt->from && before->leader != pkt->from)
		sim_fail(w, to, "removed server disruption",
		         "follows removed n%llu as leader of term %llu", from,
		         (unsigned long long)raft_term(n->r));
}

void sim_check_observe(struct sim_world *w, int slot)
{
	struct sim_node *n = &w->nodes[slot];
	enum raft_role role = raft_role(n->r);
	uint64_t term = raft_term(n->r), commit = raft_commit_index(n->r);

	if (term < n->seen_term)
		sim_fail(w, slot, "term regression", "term goes back from %llu to %llu",
		         (unsigned long long)n->seen_term, (unsigned long long)term);
	if (commit < n->seen_commit)
		sim_fail(w, slot, "commit regression", "commit goes back from %llu to %llu",
		         (unsigned long long)n->seen_commit, (unsigned long long)commit);
	if (role == RAFT_LEADER && (n->seen_role != RAFT_LEADER || n->seen_term != term))
		check_elected(w, slot);
	if (role != n->seen_role && role != RAFT_LEADER)
		sim_trace(w, "n%llu becomes %s in term %llu", (unsigned long long)n->id,
		          raft_role_name(role), (unsigned long long)term);
	if (commit > n->seen_commit && !w->failed) {
		sim_trace(w, "n%llu commits up to %llu", (unsigned long long)n->id,
		          (unsigned long long)commit);
		check_commit(w, slot, n->seen_commit, commit);
	}
	if (role == RAFT_LEADER)
		check_one_change(w, slot);
	n->seen_role = role;
	n->seen_term = term;
	n->seen_commit = commit > n->seen_commit ? commit : n->seen_commit;
}

void sim_check_step(struct sim_world *w)
{
	for (int s = 0; s < w->n_slots && !w->failed; s++) {
		struct sim_node *n = &w->nodes[s];

		if (!n->used || !n->up)
			continue;
		sim_check_observe(w, s);
		if (raft_applied_index(n->r) < n->store.snap.index)
			sim_fail(w, s, "applied regression",
			         "core's applied index %llu below its durable snapshot %llu",
			         (unsigned long long)raft_applied_index(n->r),
			         (unsigned long long)n->store.snap.index);
	}
}
