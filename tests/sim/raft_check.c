/* raft_check.c: the Raft invariants (numbered as docs/DESIGN.md cites them)
 * over the real nodes (rt.h): their cores as coord/node drives them, their
 * hard state and log as persist/ restores them after a crash or a power loss.
 *
 *  I1 election safety: at most one node leads a term, over all nodes and
 *     all their lives.
 *  I2 term and vote durability: a node that sent a message of term T (not
 *     a pre-vote's) had made T durable; one whose vote in T left it (a
 *     granted vote, or a request for votes: its vote for itself) had made
 *     that vote durable. After a restart its core holds a term of at least
 *     the highest such T, and in that term the vote that left.
 *     Only messages whose frame left the node before it crashed count
 *     (rt_node_time: after the syncs its loop was blocked in).
 *  I3 leader append-only: while a node leads a term, its log never
 *     shrinks, and whenever its log or commit index moved, the entry that
 *     was its last is still there, unchanged (the one entry looked at: an
 *     entry rewritten below it shows in its followers' chains, I4).
 *  I4 log matching: each node's log is mirrored as a chain of hashes, the
 *     chain at index I hashing (index, term, type, payload) of every entry
 *     up to I; two entries of the same index and term, on any nodes, in
 *     any lives, have the same chain. A log changes only at its end (a
 *     leader's proposals), from where an APPEND it received starts (the
 *     transport says, rt_raft_append_in), by a snapshot's reset, or at a
 *     restart (the log read back from raft.db): only that part is hashed.
 *  I5 commit rule: at each index at most one entry (term, type, payload)
 *     is ever committed, over all nodes and lives.
 *  I6 leader completeness: a node that becomes leader of term T holds in
 *     its log every entry (above what its snapshot covers) that was known
 *     committed in an earlier term: first seen committed by a node whose
 *     term was below T. A node may win an older term late (a vote that
 *     reached it while its process was paused): entries committed in a
 *     newer term meanwhile need not be in its log (Raft's Leader
 *     Completeness speaks of higher terms only).
 *  I8 no regression: within one life of a node, its core's commit index
 *     and the runtime's applied index (state.db's) never go back, and its
 *     log never ends below its commit index (nothing it committed is
 *     truncated); when it starts, its applied index is at least the index
 *     of its newest durable snapshot and of the one raft.db's log starts
 *     after (what the log no longer holds, the state must).
 *  I9 acknowledgements follow durability, within a life (world.c checks
 *     it across a crash): in the term it acknowledged them in, a node's
 *     log keeps every entry it acknowledged (its leader counted them; only
 *     a leader of a newer term may overwrite them).
 *  I11 one membership change at a time (DESIGN.md rule 10): when a
 *     leader's newest configuration entry is of its own term (it accepted
 *     the change, or appended C_new once C_old,new committed), the
 *     configuration entry before it is committed, and so is an entry of
 *     its term (its first, the no-op). A new leader may hold two
 *     uncommitted configuration entries of an older term (a restart does
 *     not keep the commit index): it appends none of its own until they
 *     committed.
 *
 * Each costs O(1) per event and node (most events change no core: a look
 * at six numbers), plus a hash of each entry each time it enters a log or
 * an APPEND carries it again; I6 walks the new leader's log once per
 * election. Nothing is sampled. What is not checked: README.md, "Not
 * yet".
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "node_internal.h"
#include "rt.h"

#define RC_INDEX_MAX   (1u << 22) /* log indexes the checker tracks: far beyond any seed */
#define RC_TERM_MAX    (1u << 20) /* terms it tracks (I1): likewise */
#define RC_PENDING_MAX 64         /* a node's messages of I2 not yet left, at once */
#define RC_CHAIN_ROOT  1          /* the chain before index 1 (0: unknown) */
#define RC_NONE        UINT64_MAX

/* One entry of a mirrored log. */
struct rc_slot {
	uint64_t term;
	uint64_t fp;    /* hash of its type and payload */
	uint64_t chain; /* hash of every entry up to it; 0: unknown */
	uint64_t conf;  /* I11: the newest configuration entry up to it; 0: none above the base */
};

struct rc_node {
	/* I2: what left the node so far in its lives, and what may not have
	 * left yet (its frame departs after the syncs it waits for). */
	uint64_t floor_term;          /* a message of this term left it */
	uint64_t vote_term, vote_for; /* the newest term in which its vote left it */
	struct {
		uint64_t term, vote, depart_us;
	} pending[RC_PENDING_MAX];
	unsigned n_pending;
	/* I3, I4: its log as last seen, (base, last], and the chain at base. */
	struct rc_slot *log;
	size_t cap;
	uint64_t base, last;
	bool rebuild;  /* the mirror no longer matches: hash the whole log again */
	uint64_t from; /* an APPEND reached it since: the first index it may write */
	/* I9: the newest term it acknowledged entries in, in this life, and
	 * the highest index it acknowledged in that term. */
	uint64_t ack_term, ack_index;
	/* Its core and state as last seen in this life. */
	uint64_t gen, term, commit, applied;
	enum raft_role role;
	uint64_t term_first; /* I11: the first entry of the term it leads */
};

/* I4: (index, term) -> the chain there, and the node that saw it first. */
struct rc_chain {
	uint64_t index, term, chain;
	int node;
};

/* I5: the one entry committed at an index. */
struct rc_canon {
	uint64_t term, fp;
	uint64_t seen_term; /* the term of the node that first saw it committed */
};

static struct rc_node nodes[RT_NODES_MAX];
static struct rc_chain *chains;
static size_t chains_n, chains_cap;
static struct rc_canon *canon;
static size_t canon_cap;
static uint64_t commit_max; /* the highest commit index any node reached */
static uint64_t *leaders;   /* I1: term -> the node that led it (slot + 1), 0: none */
static size_t leaders_cap;

/* Grows *P (of *CAP elements of ELEM bytes, zeroed) to hold index WANT. */
static void grow(void *pp, size_t *cap, uint64_t want, size_t elem)
{
	void **p = pp;
	size_t n = *cap;

	if (want < n)
		return;
	while (n <= want)
		n = n ? 2 * n : 1024;
	*p = realloc(*p, n * elem);
	assert(*p);
	memset((char *)*p + *cap * elem, 0, (n - *cap) * elem);
	*cap = n;
}

/* VALUE (a WHAT) is below MAX, else the seed fails. */
static bool in_range(struct rt_world *w, int node, const char *what, uint64_t value, uint64_t max)
{
	if (value < max)
		return true;
	rt_fail(w, "n%d: %s %llu beyond the checker's range", node + 1, what,
	        (unsigned long long)value);
	return false;
}

/* I2 ----------------------------------------------------------------------- */

/* A message of TERM (and VOTE, 0 for none) left NODE: fold it in. */
static void fold(int node, uint64_t term, uint64_t vote)
{
	struct rc_node *cn = &nodes[node];

	if (term > cn->floor_term)
		cn->floor_term = term;
	if (vote && term >= cn->vote_term) {
		cn->vote_term = term;
		cn->vote_for = vote;
	}
}

/* Folds the pending messages that left before now; the others stay. */
static void fold_departed(struct rt_world *w, int node)
{
	struct rc_node *cn = &nodes[node];
	unsigned k = 0;

	for (unsigned i = 0; i < cn->n_pending; i++)
		if (cn->pending[i].depart_us < w->now_us)
			fold(node, cn->pending[i].term, cn->pending[i].vote);
		else
			cn->pending[k++] = cn->pending[i];
	cn->n_pending = k;
}

/* I4: the first index message M may write into its receiver's log (an
 * APPEND with entries), 0 for none. */
static uint64_t first_written(const struct raft_msg *m)
{
	return m->type == RAFT_MSG_APPEND && m->n_entries ? m->index + 1 : 0;
}

/* I9: NODE sent M: an acknowledgement of its log up to M's index? */
static void note_ack(int node, const struct raft_msg *m)
{
	struct rc_node *cn = &nodes[node];

	if (m->type != RAFT_MSG_APPEND_RESP || m->reject || m->term < cn->ack_term)
		return;
	if (m->term > cn->ack_term || m->index > cn->ack_index) {
		cn->ack_term = m->term;
		cn->ack_index = m->index;
	}
}

uint64_t rt_raft_sent(struct rt_world *w, int node, const struct raft_msg *m, uint64_t depart_us)
{
	struct rc_node *cn = &nodes[node];
	uint64_t vote = 0;

	note_ack(node, m);
	if (m->type == RAFT_MSG_VOTE)
		vote = w->nodes[node].id;
	else if (m->type == RAFT_MSG_VOTE_RESP && !m->reject)
		vote = m->to;
	/* A pre-vote's term is one the node only would use (thesis 9.6). */
	if (m->type != RAFT_MSG_PREVOTE && m->type != RAFT_MSG_PREVOTE_RESP) {
		fold_departed(w, node);
		if (cn->n_pending) { /* the newest says as much, and leaves no later */
			typeof(cn->pending[0]) *p = &cn->pending[cn->n_pending - 1];

			if (p->term == m->term && (!vote || p->vote == vote) &&
			    p->depart_us <= depart_us)
				return first_written(m);
		}
		if (m->term <= cn->floor_term && !vote)
			return first_written(m);
		if (cn->n_pending == RC_PENDING_MAX) /* forget the oldest: the check weakens */
			memmove(&cn->pending[0], &cn->pending[1],
			        --cn->n_pending * sizeof(cn->pending[0]));
		cn->pending[cn->n_pending++] = (typeof(cn->pending[0])){m->term, vote, depart_us};
	}
	return first_written(m);
}

void rt_raft_crashed(struct rt_world *w, int node)
{
	fold_departed(w, node);
	nodes[node].n_pending = 0; /* never left */
}

/* I3, I4: the mirrored logs ------------------------------------------------- */

static struct rc_chain *chain_find(uint64_t index, uint64_t term)
{
	size_t i;

	if (chains_n * 2 >= chains_cap) {
		struct rc_chain *old = chains;
		size_t old_cap = chains_cap;

		chains_cap = old_cap ? 2 * old_cap : 4096;
		chains = calloc(chains_cap, sizeof(*chains));
		assert(chains);
		for (size_t k = 0; k < old_cap; k++)
			if (old[k].index)
				*chain_find(old[k].index, old[k].term) = old[k];
		free(old);
	}
	i = (size_t)sim_mix(index, term) & (chains_cap - 1);
	while (chains[i].index && (chains[i].index != index || chains[i].term != term))
		i = (i + 1) & (chains_cap - 1);
	return &chains[i];
}

/* The chain of NODE's entry at INDEX of TERM, compared with every other
 * node's entry of that index and term. */
static void chain_record(struct rt_world *w, int node, uint64_t index, uint64_t term,
                         uint64_t chain)
{
	struct rc_chain *c = chain_find(index, term);

	if (!c->index) {
		*c = (struct rc_chain){index, term, chain, node};
		chains_n++;
	} else if (c->chain != chain) {
		rt_fail(w,
		        "I4: n%d's entry %llu of term %llu differs from n%d's, or follows "
		        "different entries",
		        node + 1, (unsigned long long)index, (unsigned long long)term, c->node + 1);
	}
}

/* A hash of E's type and payload, a word at a time. */
static uint64_t entry_fp(const struct raft_entry *e)
{
	uint64_t h = sim_mix(e->type, e->len), x;
	uint32_t i = 0;

	for (; i + 8 <= e->len; i += 8) {
		memcpy(&x, e->data + i, 8);
		h = (h ^ x) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	for (x = 0; i < e->len; i++)
		x = x << 8 | e->data[i];
	return sim_mix(h, x);
}

void rt_raft_append_in(struct rt_world *w, int node, uint64_t from)
{
	(void)w;
	if (from < nodes[node].from)
		nodes[node].from = from;
}

/* Brings NODE's mirror up to its core's log, whose last index is LAST
 * and base BASE. LED: it led this term at the last look, and still does
 * (I3: the entry that was its last is still there, unchanged). */
static void mirror_update(struct rt_world *w, int node, struct raft *r, uint64_t last,
                          uint64_t base, bool led)
{
	struct rc_node *cn = &nodes[node];
	uint64_t from, t;

	if (!in_range(w, node, "log index", last, RC_INDEX_MAX))
		return;
	grow(&cn->log, &cn->cap, last, sizeof(*cn->log));
	if (led && cn->last > base) {
		const struct raft_entry *e = raft_entry_at(r, cn->last);

		if (!e || e->term != cn->log[cn->last].term || entry_fp(e) != cn->log[cn->last].fp)
			rt_fail(w, "I3: n%d, leader of term %llu, %s its entry %llu", node + 1,
			        (unsigned long long)raft_term(r), e ? "replaced" : "removed",
			        (unsigned long long)cn->last);
	}
	from = cn->from < cn->last + 1 ? cn->from : cn->last + 1;
	cn->from = RC_NONE;
	if (from > last + 1)
		from = last + 1;
	if (from <= base)
		from = base + 1;
	/* The entry before FROM is as mirrored, unless a snapshot reset the
	 * log (or a restart) behind the mirror's back. */
	if (!cn->rebuild && from - 1 >= cn->base && from - 1 <= cn->last)
		cn->rebuild = !raft_term_at(r, from - 1, &t) || t != cn->log[from - 1].term;
	else
		cn->rebuild = true;
	if (cn->rebuild) {
		struct rc_chain *c;

		raft_term_at(r, base, &t);
		c = base ? chain_find(base, t) : NULL;
		cn->log[base] = (struct rc_slot){
		    .term = t, .chain = base ? (c->index ? c->chain : 0) : RC_CHAIN_ROOT};
		cn->base = base;
		cn->rebuild = false;
		from = base + 1;
	}
	for (uint64_t i = from; i <= last; i++) {
		const struct raft_entry *e = raft_entry_at(r, i);
		uint64_t fp = entry_fp(e), prev = cn->log[i - 1].chain;
		uint64_t chain = prev ? sim_mix(sim_mix(sim_mix(prev, i), e->term), fp) : 0;

		cn->log[i] = (struct rc_slot){e->term, fp, chain,
		                              e->type == RAFT_ENTRY_CONF ? i : cn->log[i - 1].conf};
		if (chain)
			chain_record(w, node, i, e->term, chain);
	}
	cn->last = last;
}

/* I1, I5, I6, I8, I11 ------------------------------------------------------ */

/* NODE just became leader of TERM: no other node led it (I1), and it holds
 * every entry known committed in an earlier term (I6). */
static void check_elected(struct rt_world *w, int node, struct raft *r, uint64_t term)
{
	struct rc_node *cn = &nodes[node];
	uint64_t first;

	if (!in_range(w, node, "term", term, RC_TERM_MAX))
		return;
	grow(&leaders, &leaders_cap, term, sizeof(*leaders));
	if (leaders[term] && leaders[term] != (uint64_t)node + 1)
		rt_fail(w, "I1: n%d leads term %llu, which n%llu led", node + 1,
		        (unsigned long long)term, (unsigned long long)leaders[term]);
	leaders[term] = (uint64_t)node + 1;
	/* I11: where its entries of the term start (its no-op): no other node
	 * appends entries of this term (I1). */
	for (first = cn->last; first > cn->base && cn->log[first].term == term; first--)
		;
	cn->term_first = first + 1;
	for (uint64_t i = cn->base + 1; i <= commit_max && !w->failed; i++) {
		const struct rc_canon *c = &canon[i];

		if (c->term && c->seen_term < term &&
		    (i > cn->last || cn->log[i].term != c->term || cn->log[i].fp != c->fp))
			rt_fail(
			    w,
			    "I6: n%d, leader of term %llu, lacks committed entry %llu (term %llu)",
			    node + 1, (unsigned long long)raft_term(r), (unsigned long long)i,
			    (unsigned long long)c->term);
	}
}

/* I11: NODE leads TERM, with COMMIT. If it appended its newest configuration
 * entry itself (of TERM), the configuration entry before that and the first
 * entry of TERM are committed: they were when it appended it, and a commit
 * index never goes back (I8). */
static void check_one_change(struct rt_world *w, int node, uint64_t term, uint64_t commit)
{
	const struct rc_node *cn = &nodes[node];
	uint64_t newest = cn->log[cn->last].conf, before;

	if (!newest || cn->log[newest].term != term)
		return;
	before = cn->log[newest - 1].conf;
	if (before > commit)
		rt_fail(w,
		        "I11: n%d, leader of term %llu, appended configuration entry %llu while "
		        "configuration entry %llu was uncommitted (commit %llu)",
		        node + 1, (unsigned long long)term, (unsigned long long)newest,
		        (unsigned long long)before, (unsigned long long)commit);
	else if (commit < cn->term_first)
		rt_fail(w,
		        "I11: n%d, leader of term %llu, appended configuration entry %llu before "
		        "an entry of its term committed (commit %llu, its first entry %llu)",
		        node + 1, (unsigned long long)term, (unsigned long long)newest,
		        (unsigned long long)commit, (unsigned long long)cn->term_first);
}

/* I5: NODE's commit index moved from FROM to TO, in TERM. */
static void check_commit(struct rt_world *w, int node, uint64_t term, uint64_t from, uint64_t to)
{
	struct rc_node *cn = &nodes[node];

	grow(&canon, &canon_cap, to, sizeof(*canon));
	for (uint64_t i = from > cn->base ? from + 1 : cn->base + 1; i <= to && !w->failed; i++) {
		const struct rc_slot *s = &cn->log[i];
		struct rc_canon *c = &canon[i];

		if (!c->term)
			*c = (struct rc_canon){s->term, s->fp, term};
		else if (c->term != s->term || c->fp != s->fp)
			rt_fail(
			    w,
			    "I5: n%d commits entry %llu of term %llu; another entry (term %llu) "
			    "was committed there",
			    node + 1, (unsigned long long)i, (unsigned long long)s->term,
			    (unsigned long long)c->term);
	}
	if (to > commit_max)
		commit_max = to;
}

void rt_raft_check(struct rt_world *w, int node)
{
	struct rt_node *rn = &w->nodes[node];
	struct rc_node *cn = &nodes[node];
	struct raft *r = rn->n->raft;
	uint64_t commit = raft_commit_index(r), last = raft_last_index(r), term;
	uint64_t applied = persist_state_applied_index(rn->n->pstate);
	enum raft_role role;
	bool led;

	assert(cn->gen == rn->gen); /* rt_raft_started() saw this life begin */
	if (applied < cn->applied)
		rt_fail(w, "I8: n%d's applied index went back from %llu to %llu", node + 1,
		        (unsigned long long)cn->applied, (unsigned long long)applied);
	cn->applied = applied;
	/* Most events change nothing here. A log changes only at its end or
	 * through an APPEND received; a snapshot's reset moves its commit
	 * index; a compaction alone changes no entry. */
	if (cn->from == RC_NONE && commit == cn->commit && last == cn->last &&
	    raft_term(r) == cn->term && raft_role(r) == cn->role)
		return;
	term = raft_term(r);
	role = raft_role(r);
	led = role == RAFT_LEADER && cn->role == RAFT_LEADER && cn->term == term;
	/* I3 and I4 first: a leader whose log lost its end broke I3, which
	 * says more than I8 would. */
	mirror_update(w, node, r, last, raft_first_index(r) - 1, led);
	if (w->failed)
		return;
	if (commit < cn->commit)
		rt_fail(w, "I8: n%d's commit index went back from %llu to %llu", node + 1,
		        (unsigned long long)cn->commit, (unsigned long long)commit);
	else if (last < commit)
		rt_fail(w, "I8: n%d's log ends at %llu, below its commit index %llu", node + 1,
		        (unsigned long long)last, (unsigned long long)commit);
	else if (term == cn->ack_term && last < cn->ack_index)
		rt_fail(
		    w,
		    "I9: n%d acknowledged its log up to %llu in term %llu, and holds up to %llu "
		    "in that term",
		    node + 1, (unsigned long long)cn->ack_index, (unsigned long long)cn->ack_term,
		    (unsigned long long)last);
	if (w->failed)
		return;
	if (role == RAFT_LEADER && !led)
		check_elected(w, node, r, term);
	if (role == RAFT_LEADER)
		check_one_change(w, node, term, commit);
	if (commit > cn->commit)
		check_commit(w, node, term, cn->commit, commit);
	cn->role = role;
	cn->term = term;
	cn->commit = commit;
}

/* Its folder was emptied: what it sent no longer binds what it restores
 * (the others must refuse it instead, admit.h), and its log is empty. */
void rt_raft_wiped(struct rt_world *w, int node)
{
	struct rc_node *cn = &nodes[node];

	(void)w;
	cn->floor_term = cn->vote_term = cn->vote_for = 0;
	cn->n_pending = 0;
	cn->base = cn->last = 0;
	cn->rebuild = true;
}

/* I2 and I8 at a restart, then the restored log read back (I4). */
void rt_raft_started(struct rt_world *w, int node)
{
	struct rt_node *rn = &w->nodes[node];
	struct rc_node *cn = &nodes[node];
	struct raft *r = rn->n->raft;
	uint64_t term = raft_term(r), vote = raft_vote(r);

	if (term < cn->floor_term)
		rt_fail(w, "I2: n%d sent a message of term %llu, but restarts in term %llu",
		        node + 1, (unsigned long long)cn->floor_term, (unsigned long long)term);
	else if (cn->vote_term && term == cn->vote_term && vote != cn->vote_for)
		rt_fail(w,
		        "I2: n%d's vote for n%llu in term %llu left it, but it restarts in that "
		        "term with %s",
		        node + 1, (unsigned long long)cn->vote_for, (unsigned long long)term,
		        vote ? "another vote" : "no vote");
	cn->applied = persist_state_applied_index(rn->n->pstate);
	if (cn->applied < rn->n->snap.index || cn->applied < raft_first_index(r) - 1)
		rt_fail(w,
		        "I8: n%d restarts with applied index %llu, below its snapshot (%llu) or "
		        "the start of its log (%llu)",
		        node + 1, (unsigned long long)cn->applied,
		        (unsigned long long)rn->n->snap.index,
		        (unsigned long long)raft_first_index(r) - 1);
	cn->ack_term = cn->ack_index = 0; /* world.c holds it to what left (I9) */
	cn->gen = rn->gen;
	cn->term = term;
	cn->role = raft_role(r);
	cn->commit = raft_commit_index(r);
	cn->rebuild = true;
	cn->from = RC_NONE;
	mirror_update(w, node, r, raft_last_index(r), raft_first_index(r) - 1, false);
}
