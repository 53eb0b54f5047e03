/* Time under the simulator (--sm coord): each node's cluster clock
 * (coord/node/node_clock.h, the same code coordd runs) driven as node.c
 * and node_ready.c drive it, wall clocks that jump, and rule 16 checked on
 * the simulator's true clock.
 *
 * A node's monotonic clock is its local clock (cc_local_ms: it runs at the
 * node's own rate, and stands still while the node is down). Its wall
 * clock is that plus an offset that jumps now and then, forward by up to
 * 15 s or back by up to 60 s, drawn from a generator of its own so that
 * the world's other draws are what they were without it. Under the
 * cluster clock no stamp depends on the wall clock but a founding node's
 * first; with --break wall-stamps every stamp is the proposer's wall
 * clock, as coordd's were.
 *
 * C-1 (rule 16): along the log, stamps never run ahead of true time. Each
 * proposal's stamp and true time are remembered by (index, term); as a
 * node applies entries, each stamped entry is compared with the one it
 * applied before: the stamp may have grown by at most the true time
 * between their proposals, times the fastest clock rate of the seed, plus
 * a step. Every node applies the same entries, so each pair is checked on
 * every node that applies both in a row (a restart or an install starts
 * the pairs over). */
#include <string.h>

#include "coord_client.h"

#define CC_JUMP_SEED     0x636c6f636bull /* the jumps' own generator */
#define CC_JUMP_AHEAD_MS 15000u          /* a forward jump, at most */
#define CC_JUMP_BACK_MS  60000u          /* behind the node's clock after a jump back, at most */

static uint64_t cc_wall_ms(const struct sim_world *w, int slot)
{
	int64_t wall = (int64_t)cc_local_ms(&w->nodes[slot]) + w->coord->wall_off[slot];

	return wall > 0 ? (uint64_t)wall : 0;
}

uint64_t cc_stamp(struct sim_world *w, int slot)
{
	struct sim_coord *c = w->coord;
	uint64_t mono = cc_local_ms(&w->nodes[slot]), ms;

	if (w->brk == SIM_BREAK_WALL_STAMPS)
		return cc_wall_ms(w, slot);
	ms = node_clock_now(&c->clock[slot], mono, cc_wall_ms(w, slot));
	if (!c->clock[slot].set) /* node_stamp_ms(): the first stamp founds it */
		node_clock_follow(&c->clock[slot], 0, ms, mono);
	return ms;
}

void cc_clock_proposed(struct sim_world *w, uint64_t index, uint64_t term, uint64_t stamp)
{
	w->coord->stamps[index % CC_STAMPS] =
	    (struct cc_stamp){.index = index, .term = term, .stamp = stamp, .at = cc_true_ms(w)};
}

void sim_coord_persisted(struct sim_world *w, int slot, const struct raft_ready *rd)
{
	node_clock_follow_ready(&w->coord->clock[slot], rd, cc_local_ms(&w->nodes[slot]));
}

void cc_clock_restored(struct sim_world *w, int slot, bool restarted, uint64_t index)
{
	struct sim_coord *c = w->coord;
	struct sim_node *n = &w->nodes[slot];
	struct sim_store *st = &n->store;
	uint64_t ms = 0, stored = 0, at = 0, mono = cc_local_ms(n);

	c->last[slot].has = false;
	if (coord_sm_clock(sim_coord_db(n->sm), &stored) != 0) {
		sim_fail(w, slot, "coord apply", "cannot read the cluster clock's stamp");
		return;
	}
	if (!restarted) { /* an install (node_ready.c install_done) */
		node_clock_installed(&c->clock[slot], index, stored, mono);
		return;
	}
	/* A new process (node.c start_clock): its log's last stamped entry. */
	for (size_t i = st->n; i-- > 0 && at == 0;) {
		if (st->first + i <= st->snap.index)
			break;
		if (st->e[i].type == RAFT_ENTRY_NORMAL &&
		    coord_cmd_stamp(st->e[i].data, st->e[i].len, &ms))
			at = st->first + i;
	}
	node_clock_start(&c->clock[slot], at, ms, index, stored, mono);
}

void cc_clock_applied(struct sim_world *w, int slot, const struct raft_entry *e)
{
	struct sim_coord *c = w->coord;
	struct cc_applied_stamp *last = &c->last[slot];
	const struct cc_stamp *p = &c->stamps[e->index % CC_STAMPS];
	uint64_t max_rate = 1000u + w->p.skew - w->p.skew / 2, ms, allowed;

	if (e->type != RAFT_ENTRY_NORMAL || !coord_cmd_stamp(e->data, e->len, &ms))
		return;
	if (p->index != e->index || p->term != e->term || p->stamp != ms) {
		last->has = false; /* its proposal is no longer remembered */
		return;
	}
	if (last->has && ms > last->stamp) {
		allowed = (p->at - last->at) * max_rate / 1000u + SIM_MS_PER_STEP;
		if (ms - last->stamp > allowed)
			sim_fail(
			    w, slot, "cluster clock",
			    "C-1: entry %llu is stamped %llu ms after entry %llu, proposed "
			    "%llu ms of true time later (at most %llu allowed)",
			    (unsigned long long)e->index, (unsigned long long)(ms - last->stamp),
			    (unsigned long long)last->index, (unsigned long long)(p->at - last->at),
			    (unsigned long long)allowed);
	}
	*last = (struct cc_applied_stamp){.has = true, .index = e->index, .stamp = ms, .at = p->at};
}

void cc_clock_step(struct sim_world *w)
{
	struct sim_coord *c = w->coord;
	int slot;

	if (!c->jump_seeded) {
		sim_rng_seed(&c->jump_rng, w->seed ^ CC_JUMP_SEED);
		c->jump_seeded = true;
	}
	if (!sim_chance(&c->jump_rng, CC_JUMP_LIKE))
		return;
	slot = (int)sim_below(&c->jump_rng, (uint64_t)w->n_slots);
	if (sim_chance(&c->jump_rng, 200))
		c->wall_off[slot] = -(int64_t)sim_below(&c->jump_rng, CC_JUMP_BACK_MS);
	else
		c->wall_off[slot] += (int64_t)(1 + sim_below(&c->jump_rng, CC_JUMP_AHEAD_MS));
	c->jumps++;
	sim_trace(w, "n%d's wall clock jumps: now %lld ms off its clock", slot + 1,
	          (long long)c->wall_off[slot]);
}
