/* clock.c: the nodes' wall clocks, and the cluster clock they must not
 * leak into (coord/node/node_clock.h).
 *
 * A node's wall clock is true time from a fixed epoch, off by up to
 * RT_WALL_SKEW_MS (an NTP-disciplined clock), plus every step it took: a
 * fault may step one node's wall clock by a minute to two hours, forward
 * or back (an NTP step, a bad RTC, an operator's date -s). The monotonic
 * clocks (env.c) never step.
 *
 *  C-7 stamps never run ahead of true time (node_clock.h, C-1): the
 *      cluster clock is founded by a wall clock's reading on a node whose
 *      clock is not set yet (the founding node's first stamp), and every
 *      later stamp adds to a stamp before it at most what a monotonic
 *      clock measured since. So the stamp of the last entry a node
 *      applied is at most the most any such reading R, taken at true time
 *      T, could have grown to: R + (now - T) at the fastest clock rate
 *      (+5%). A wall clock's step on a node whose clock is set must never
 *      show. Sampled every RT_CLOCK_EVERY ticks of each node.
 */
#include "node_internal.h"
#include "rt.h"
#include "sm.h"

#define RT_WALL_EPOCH_MS 1767225600000ull /* 2026-01-01 */
#define RT_WALL_SKEW_MS  500
#define RT_CLOCK_EVERY   10
#define RT_CLOCK_RATE    1.05 /* the fastest clock against true time (world.c) */

/* The most R - RATE x T over the readings that could found the clock. */
static double founding_lead;
static bool founding_read;

uint64_t rt_wall_ms(const struct rt_world *w, int slot)
{
	const struct rt_node *rn = &w->nodes[slot];
	int64_t ms = (int64_t)(w->now_us / 1000u) + rn->wall_skew_ms + rn->wall_step_ms;
	uint64_t wall = RT_WALL_EPOCH_MS + (uint64_t)(ms > 0 ? ms : 0);
	double lead = (double)wall - RT_CLOCK_RATE * (double)w->now_us / 1000.0;

	if (rn->n && !rn->n->clock.set && (!founding_read || lead > founding_lead)) {
		founding_lead = lead;
		founding_read = true;
	}
	return wall;
}

void rt_wall_start(struct rt_world *w, int slot)
{
	founding_read = false;
	w->nodes[slot].wall_skew_ms =
	    (int32_t)sim_below(&w->rng, 2 * RT_WALL_SKEW_MS + 1) - RT_WALL_SKEW_MS;
}

void rt_wall_step(struct rt_world *w, int slot)
{
	int64_t step = 60000 + (int64_t)sim_below(&w->rng, 2 * 3600 * 1000);

	if (sim_chance(&w->rng, 500))
		step = -step;
	w->nodes[slot].wall_step_ms += step;
	rt_trace(w, "n%d's wall clock steps %+lld s", slot + 1, (long long)(step / 1000));
}

void rt_clock_check(struct rt_world *w, int slot)
{
	struct rt_node *rn = &w->nodes[slot];
	uint64_t stamp = 0, most;

	if (++rn->ticks_unchecked < RT_CLOCK_EVERY || !rn->up)
		return;
	rn->ticks_unchecked = 0;
	if (coord_sm_clock(rn->n->db, &stamp) != 0) {
		rt_fail(w, "n%d: cannot read its cluster clock", slot + 1);
		return;
	}
	if (stamp == 0)
		return;
	if (!founding_read) {
		rt_fail(w, "C-7: n%d applied a stamped entry, but no clock was founded", slot + 1);
		return;
	}
	most = (uint64_t)(founding_lead + RT_CLOCK_RATE * (double)w->now_us / 1000.0) + 1;
	if (stamp > most)
		rt_fail(w,
		        "C-7: n%d applied an entry stamped %llu ms ahead of the most any clock "
		        "could have measured (a wall clock's step leaked into the cluster clock?)",
		        slot + 1, (unsigned long long)(stamp - most));
}
