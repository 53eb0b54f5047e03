/* limits.c: the Raft core's flow control, per seed. coordd builds its core
 * with the largest limits (raft_config's max_inflight and max_msg_bytes at
 * 0: RAFT_MAX_INFLIGHT appends in flight to a follower, RAFT_MAX_MSG_BYTES
 * of entries in one); batching and flow control only show under small
 * ones: a leader that must wait for acknowledgements before it sends
 * more, appends of a few entries that a follower takes one after another.
 * coord-sim is linked with --wrap=raft_new, so the runtime's core is
 * built with the seed's limits and nothing else changes. In half the seeds
 * they stay the largest; in the other half each is small in turn or both
 * are. Drawn from a generator of its own, so other draws stay as they were.
 *
 * Snapshots travel in chunks of RAFT_SNAPSHOT_CHUNK, which coord-sim's
 * core (coord_raft_sim, CMakeLists.txt) has at 16 KiB: a seed's snapshot
 * of about 160 KiB spans several chunks, each of which a crash, a reset or
 * a duplicate may strike. */
#include "raft.h"
#include "rt.h"

#define RT_LIMITS_SEED          0x6c696d6974732121ull /* its generator's, mixed with the seed */
#define RT_LIMITS_SMALL_MILLE   500                   /* seeds with small limits */
#define RT_INFLIGHT_SMALL_MAX   4                     /* appends in flight, at most */
#define RT_MSG_BYTES_SMALL_MIN  64                    /* entry bytes in one append, */
#define RT_MSG_BYTES_SMALL_SPAN 4096                  /* ... from 64 to 64 + 4095 */

static struct raft_config limits; /* max_inflight, max_msg_bytes: 0 is the largest */

void rt_limits_start(struct rt_world *w)
{
	struct sim_rng g;

	sim_rng_seed(&g, w->seed ^ RT_LIMITS_SEED);
	limits.max_inflight = 0;
	limits.max_msg_bytes = 0;
	if (!sim_chance(&g, RT_LIMITS_SMALL_MILLE))
		return;
	switch (sim_below(&g, 3)) {
	case 0:
		limits.max_inflight = 1 + (uint32_t)sim_below(&g, RT_INFLIGHT_SMALL_MAX);
		break;
	case 1:
		limits.max_msg_bytes =
		    RT_MSG_BYTES_SMALL_MIN + (uint32_t)sim_below(&g, RT_MSG_BYTES_SMALL_SPAN);
		break;
	default:
		limits.max_inflight = 1 + (uint32_t)sim_below(&g, RT_INFLIGHT_SMALL_MAX);
		limits.max_msg_bytes =
		    RT_MSG_BYTES_SMALL_MIN + (uint32_t)sim_below(&g, RT_MSG_BYTES_SMALL_SPAN);
		break;
	}
	rt_trace(w, "core limits: %u appends in flight, %u entry bytes per append (0: the largest)",
	         limits.max_inflight, limits.max_msg_bytes);
}

struct raft *__real_raft_new(const struct raft_config *config, const struct raft_restore *restore);
struct raft *__wrap_raft_new(const struct raft_config *config, const struct raft_restore *restore);

struct raft *__wrap_raft_new(const struct raft_config *config, const struct raft_restore *restore)
{
	struct raft_config c = *config;

	if (limits.max_inflight)
		c.max_inflight = limits.max_inflight;
	if (limits.max_msg_bytes)
		c.max_msg_bytes = limits.max_msg_bytes;
	return __real_raft_new(&c, restore);
}
