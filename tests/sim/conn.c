/* conn.c: peer connections and the admission rule (coord/node/admit.h).
 *
 * A node runtime opens one connection per peer; both ends open it with a
 * HELLO that says the sender's cluster id ("" for an empty data folder),
 * its data folder's id, whether it is a founder still sealing its cluster,
 * how its configuration lists the receiver and which folder it binds the
 * receiver to, whether it holds a configuration, and the log index that
 * configuration is as of. Each side also remembers the folder it last
 * admitted under each peer's id since it started (struct sim_node, seen). The founding servers here
 * hold the cluster id from the start, as they do once their founder has sealed: no node ever seals
 * here (the seal precedes every Raft message, node_join.h). Each end decides with admit_peer()
 * before it believes any Raft frame on that connection.
 *
 * Here a connection joins two slots for one pair of incarnations: it opens
 * at the first delivery between them after either restarted (both HELLOs
 * computed from the state of that moment), and again when either side's
 * configuration comes to list the other differently or bind it to another
 * folder (the node runtime redials such a peer:
 * node_join_standing_changed()). Opening applies the verdicts:
 *   ADOPT     the empty side takes the other's cluster id, durably;
 *   NEWCOMER  the side that admits an empty peer calls raft_peer_reset()
 *             (it matters on a leader: the peer's progress starts over).
 * A message is delivered only if its receiver's verdict talks.
 *
 * --break admit-lost-data treats ADMIT_LOST_DATA as admitted (ADOPT for
 * the empty side, NEWCOMER for the other); --break admit-strangers treats
 * ADMIT_STRANGER as ADMIT_OK; --break no-peer-reset admits newcomers
 * without raft_peer_reset(); --break unbound leaves folders out of the
 * HELLO (the rule as it was before voters were bound to their folders).
 */
#include <string.h>

#include "admit.h"
#include "sim.h"

/* How CONF lists ID: a voter on either side of a joint configuration
 * counts as a voter. */
static enum admit_role conn_lists(const struct raft_conf *conf, uint64_t id)
{
	for (uint32_t i = 0; i < conf->n; i++) {
		const struct raft_server *s = &conf->servers[i];

		if (s->id != id)
			continue;
		if (s->role == RAFT_VOTER || (conf->joint && s->old_role == RAFT_VOTER))
			return ADMIT_ROLE_VOTER;
		return ADMIT_ROLE_LEARNER;
	}
	return ADMIT_ROLE_NONE;
}

/* The folder CONF binds ID to, 0 if none. */
static uint64_t conn_binds(const struct raft_conf *conf, uint64_t id)
{
	for (uint32_t i = 0; i < conf->n; i++)
		if (conf->servers[i].id == id)
			return conf->servers[i].folder;
	return 0;
}

/* What slot A's HELLO to slot B says, and what A remembers of B (seen).
 * Its configuration is as of the entry that holds it, or of the snapshot it
 * came with (as the node runtime's HELLO says, coord/node/node_join.c). */
static struct admit_side conn_side(const struct sim_world *w, int a, int b)
{
	const struct sim_node *n = &w->nodes[a];
	const struct raft_conf *conf = raft_conf(n->r);
	uint64_t conf_index = raft_conf_index(n->r);
	bool unbound = w->brk == SIM_BREAK_UNBOUND;

	return (struct admit_side){
	    .cluster = n->store.cluster,
	    .folder = n->store.folder,
	    .binds = unbound ? 0 : conn_binds(conf, w->nodes[b].id),
	    .seen = unbound ? 0 : n->seen[b],
	    .sealing = false,
	    .lists = conn_lists(conf, w->nodes[b].id),
	    .configured = conf->n > 0,
	    .conf_index = conf_index != 0 ? conf_index : raft_first_index(n->r) - 1,
	};
}

static enum admit_verdict conn_broken(const struct sim_world *w, enum admit_verdict v,
                                      const struct admit_side *self)
{
	if (v == ADMIT_LOST_DATA && w->brk == SIM_BREAK_ADMIT_LOST)
		return self->cluster[0] == '\0' ? ADMIT_ADOPT : ADMIT_NEWCOMER;
	if (v == ADMIT_STRANGER && w->brk == SIM_BREAK_ADMIT_STRANGER)
		return ADMIT_OK;
	return v;
}

/* Slot SELF acts on its verdict V about slot PEER; R is the rule's own. */
static void conn_apply(struct sim_world *w, int self, int peer, enum admit_verdict v,
                       enum admit_verdict r)
{
	struct sim_node *n = &w->nodes[self];

	if (admit_talks(v))
		n->seen[peer] = w->nodes[peer].store.folder;

	if (v == ADMIT_ADOPT) {
		/* Durable before any Raft frame is believed. */
		memcpy(n->store.cluster, w->nodes[peer].store.cluster, SIM_CLUSTER_MAX);
		/* A voter of its lost folder that took the id from a stale
		 * member stays lost: every member that knows it refuses it
		 * (I14). Admitted by a broken host, it passes for that voter. */
		if (r == ADMIT_ADOPT && sim_host_bound_elsewhere(w, self))
			return;
		n->wiped = false;
		sim_store_free(&n->lost); /* admitted back: its old disk counts no more */
	} else if (v == ADMIT_NEWCOMER && w->brk != SIM_BREAK_NO_PEER_RESET) {
		raft_peer_reset(n->r, w->nodes[peer].id);
	}
}

static bool conn_committed_voter(const struct sim_world *w, uint64_t id)
{
	return conn_lists(&w->check.conf, id) == ADMIT_ROLE_VOTER;
}

/* I14, lost data stays out (admit.h): the cluster being sealed from the
 * start, the rule never admits a server that lost its data folder as a
 * voter: neither where SELF lists it as one, nor, for a voter not bound to
 * a folder, when the newest committed configuration does (a stale side
 * listing it as a learner would hand it the cluster id, after which every
 * member would take it for the voter it was; a bound voter is checked by
 * its folder, conn_check_bound()). V is the rule's own verdict at SELF
 * about WIPED. */
static void conn_check_lost(struct sim_world *w, int self, int wiped, enum admit_verdict v,
                            const struct admit_side *s)
{
	uint64_t id = w->nodes[wiped].id;

	if (!sim_host_lost(w, wiped) || v != ADMIT_NEWCOMER)
		return;
	if (s->lists == ADMIT_ROLE_VOTER ||
	    (conn_committed_voter(w, id) && conn_binds(&w->check.conf, id) == 0))
		sim_fail(
		    w, self, "lost data admitted",
		    "n%d (configuration as of %llu, lists n%d as %s) admits n%d, which lost its "
		    "data folder, with verdict %s; entry %llu has committed",
		    self + 1, (unsigned long long)s->conf_index, wiped + 1,
		    s->lists == ADMIT_ROLE_VOTER ? "voter" : "learner", wiped + 1,
		    admit_verdict_name(v), (unsigned long long)w->check.commit_max);
}

/* I14, the folder a voter is bound to (admit.h): no server whose
 * configuration lists a peer as a voter admits it from a data folder other
 * than the one the newest committed configuration binds its id to. A wiped
 * voter may take the cluster id back from a stale member that still lists
 * it as a learner (by design: a learner holds nothing anyone counted on),
 * and is refused by every server that knows it as a voter, that stale one
 * too once it learns so. V is the rule's own verdict at SELF about PEER,
 * S SELF's side. */
static void conn_check_bound(struct sim_world *w, int self, int peer, enum admit_verdict v,
                             const struct admit_side *s)
{
	uint64_t bound = conn_binds(&w->check.conf, w->nodes[peer].id);
	uint64_t folder = w->nodes[peer].store.folder;

	if (admit_talks(v) && s->lists == ADMIT_ROLE_VOTER && bound != 0 && bound != folder)
		sim_fail(w, self, "lost data admitted",
		         "n%d admits n%d (verdict %s) from folder %llx, but entry %llu binds it "
		         "to folder %llx",
		         self + 1, peer + 1, admit_verdict_name(v), (unsigned long long)folder,
		         (unsigned long long)w->check.conf_index, (unsigned long long)bound);
}

static void conn_open(struct sim_world *w, struct sim_conn *c, int lo, int hi)
{
	struct admit_side s_lo = conn_side(w, lo, hi), s_hi = conn_side(w, hi, lo);
	enum admit_verdict r_lo = admit_peer(&s_lo, &s_hi), r_hi = admit_peer(&s_hi, &s_lo);
	enum admit_verdict v_lo = conn_broken(w, r_lo, &s_lo);
	enum admit_verdict v_hi = conn_broken(w, r_hi, &s_hi);

	c->open = true;
	c->inc[0] = w->nodes[lo].incarnation;
	c->inc[1] = w->nodes[hi].incarnation;
	c->lists[0] = (int)s_lo.lists;
	c->lists[1] = (int)s_hi.lists;
	c->binds[0] = conn_binds(raft_conf(w->nodes[lo].r), w->nodes[hi].id);
	c->binds[1] = conn_binds(raft_conf(w->nodes[hi].r), w->nodes[lo].id);
	c->verdict[0] = (int)v_lo;
	c->verdict[1] = (int)v_hi;
	sim_trace(w, "connect n%d <-> n%d: n%d (conf %llu) says %s, n%d (conf %llu) says %s",
	          lo + 1, hi + 1, lo + 1, (unsigned long long)s_lo.conf_index,
	          admit_verdict_name(v_lo), hi + 1, (unsigned long long)s_hi.conf_index,
	          admit_verdict_name(v_hi));
	/* NEWCOMER on one side goes with ADOPT on the empty one: both follow
	 * from how the non-empty side lists it. */
	conn_check_lost(w, lo, hi, r_lo, &s_lo);
	conn_check_lost(w, hi, lo, r_hi, &s_hi);
	conn_check_bound(w, lo, hi, r_lo, &s_lo);
	conn_check_bound(w, hi, lo, r_hi, &s_hi);
	conn_apply(w, lo, hi, v_lo, r_lo);
	conn_apply(w, hi, lo, v_hi, r_hi);
}

static bool conn_current(const struct sim_world *w, const struct sim_conn *c, int lo, int hi)
{
	const struct sim_node *a = &w->nodes[lo], *b = &w->nodes[hi];

	return c->open && c->inc[0] == a->incarnation && c->inc[1] == b->incarnation &&
	       c->lists[0] == (int)conn_lists(raft_conf(a->r), b->id) &&
	       c->lists[1] == (int)conn_lists(raft_conf(b->r), a->id) &&
	       c->binds[0] == conn_binds(raft_conf(a->r), b->id) &&
	       c->binds[1] == conn_binds(raft_conf(b->r), a->id);
}

bool sim_conn_admits(struct sim_world *w, const struct sim_packet *pkt, int to)
{
	int from = sim_slot_of(w, pkt->from);
	int lo = from < to ? from : to, hi = from < to ? to : from;
	struct sim_conn *c;

	if (from < 0 || from == to)
		return true; /* not from a server: raft_step refuses it */
	c = &w->conns[lo][hi];
	if (pkt->from_inc != w->nodes[from].incarnation) {
		/* Sent by an earlier life of the sender: only the connection it
		 * went out on can carry it, if it is still the open one. */
		if (!c->open || c->inc[from == lo ? 0 : 1] != pkt->from_inc ||
		    c->inc[to == lo ? 0 : 1] != w->nodes[to].incarnation)
			return false;
	} else if (!conn_current(w, c, lo, hi)) {
		conn_open(w, c, lo, hi);
	}
	return admit_talks((enum admit_verdict)c->verdict[to == lo ? 0 : 1]);
}
