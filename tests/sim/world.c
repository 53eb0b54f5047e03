/* world.c: one seed, from parameters to verdict.
 *
 * The seed draws the run's parameters (fault rates, delays, clock skew,
 * snapshot cadence and size, batching limits), boots the founding servers
 * with the bootstrap configuration, then runs two phases:
 *
 *   faults   --steps steps of loss, duplication, reordering, partitions,
 *            crashes (also inside readies) and restarts, with proposals,
 *            reads, transfers and membership changes;
 *   healed   every fault is healed and every crashed node restarted; a
 *            leader must appear within SIM_LIVE_LEADER steps, and then
 *            every proposal and read made in this phase must complete
 *            (applied on every live member) within SIM_LIVE_COMMIT steps.
 *
 * After every step the invariants of check.c are checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "sim.h"

#define WORLD_OPERATOR_SEED   0x6f70657261746f72ull /* the operator's generator */
#define WORLD_REPLACE_RATE    20  /* per mille per step: membership steps while a voter is lost */
#define WORLD_HEALED_WORK     400 /* steps of client work once a leader is stable */
#define WORLD_STABLE_TIMEOUTS 3   /* election timeouts a healed leader must last */

int sim_slot_of(const struct sim_world *w, uint64_t id)
{
	if (id == 0 || id > (uint64_t)w->n_slots || !w->nodes[id - 1].used)
		return -1;
	return (int)(id - 1);
}

static void world_params(struct sim_world *w, unsigned nodes, uint64_t steps)
{
	struct sim_rng *g = &w->rng;
	struct sim_params *p = &w->p;

	p->nodes = nodes;
	p->steps = steps;
	p->loss = (unsigned)sim_below(g, 100); /* up to 10% */
	p->dup = (unsigned)sim_below(g, 50);   /* up to 5% */
	p->delay_max = 1 + (unsigned)sim_below(g, SIM_TICK_PERIOD * 2);
	p->tail = (unsigned)sim_below(g, 60);
	p->skew = (unsigned)sim_below(g, 300); /* clock rates spread over 30% */
	p->crash = (unsigned)sim_below(g, 3);  /* per node per step, and per ready */
	p->partition = (unsigned)sim_below(g, 6);
	p->snapshot_every = 5 + (unsigned)sim_below(g, 60);
	p->keep = (unsigned)sim_below(g, 8);
	p->snapshot_pad = sim_chance(g, 100) ? (unsigned)sim_below(g, 3 * RAFT_SNAPSHOT_CHUNK) : 0;
	p->propose = 50 + (unsigned)sim_below(g, 200);
	p->read = 10 + (unsigned)sim_below(g, 60);
	p->transfer = (unsigned)sim_below(g, 3);
	p->member = sim_chance(g, 500) ? 1 + (unsigned)sim_below(g, 4) : 0;
	p->payload_max = sim_chance(g, 200) ? SIM_PAYLOAD_MAX : 64;
	p->max_msg_bytes = sim_chance(g, 500) ? 64 + (uint32_t)sim_below(g, 4096) : 0;
	p->max_inflight = sim_chance(g, 500) ? 1 + (uint32_t)sim_below(g, 8) : 0;
	p->pre_vote = !sim_chance(g, 100);
	p->check_quorum = !sim_chance(g, 100);
	p->election_ticks = 10;
	p->heartbeat_ticks = 1 + (unsigned)sim_below(g, 3);
	/* What an operator does, from its own generator so that the draws
	 * above (and seeds recorded elsewhere) stay as they were. Servers are
	 * replaced only when membership changes run. */
	g = &w->ops;
	p->wipe =
	    w->wipes && p->member > 0 && sim_chance(g, 500) ? 1 + (unsigned)sim_below(g, 2) : 0;
	p->keep_removed = p->member > 0 && sim_chance(g, 500);
}

static void world_trace_params(struct sim_world *w)
{
	const struct sim_params *p = &w->p;

	sim_trace(
	    w,
	    "seed %llu: %u nodes, %llu steps; loss %u/1000 dup %u/1000 delay 1..%u tail "
	    "%u/1000 skew %u/1000 crash %u/1000 partition %u/1000; snapshot every %u keep %u "
	    "pad %u; max_msg_bytes %u max_inflight %u pre_vote %d check_quorum %d heartbeat %u "
	    "membership %u/1000 wipe %u/1000 keep_removed %d",
	    (unsigned long long)w->seed, p->nodes, (unsigned long long)p->steps, p->loss, p->dup,
	    p->delay_max, p->tail, p->skew, p->crash, p->partition, p->snapshot_every, p->keep,
	    p->snapshot_pad, p->max_msg_bytes, p->max_inflight, p->pre_vote, p->check_quorum,
	    p->heartbeat_ticks, p->member, p->wipe, p->keep_removed);
}

static void world_boot(struct sim_world *w)
{
	struct raft_conf conf;

	memset(&conf, 0, sizeof(conf));
	conf.n = w->p.nodes;
	for (uint32_t i = 0; i < conf.n; i++) {
		conf.servers[i].id = i + 1;
		/* The founder binds each voter to the folder it probed from. */
		conf.servers[i].folder = sim_host_new_folder(w, (int)i);
		conf.servers[i].role = RAFT_VOTER;
		conf.servers[i].old_role = RAFT_VOTER;
		snprintf(conf.servers[i].addr, RAFT_ADDR_MAX, "sim-n%u", i + 1);
	}
	w->n_slots = (int)w->p.nodes;
	for (int s = 0; s < w->n_slots && !w->failed; s++) {
		sim_host_boot(w, s, &conf);
		w->nodes[s].member = true;
	}
}

/* The current leader's slot (the highest term), or -1. */
static int world_leader(struct sim_world *w)
{
	int best = -1;

	for (int s = 0; s < w->n_slots; s++) {
		struct sim_node *n = &w->nodes[s];

		if (n->used && n->up && raft_role(n->r) == RAFT_LEADER &&
		    (best < 0 || raft_term(n->r) > raft_term(w->nodes[best].r)))
			best = s;
	}
	return best;
}

static bool world_lost_voter(const struct sim_world *w)
{
	for (int s = 0; s < w->n_slots; s++) {
		if (sim_host_lost(w, s) && w->nodes[s].removed_at == 0)
			return true;
	}
	return false;
}

/* The slot of a voter of the newest committed configuration that some
 * running server's configuration lists as a learner (it lags behind the
 * promotion), or -1. */
static int world_voter_listed_as_learner(const struct sim_world *w)
{
	const struct raft_conf *committed = &w->check.conf;

	for (uint32_t i = 0; i < committed->n; i++) {
		const struct raft_server *v = &committed->servers[i];

		if (v->role != RAFT_VOTER)
			continue;
		for (int s = 0; s < w->n_slots; s++) {
			const struct sim_node *n = &w->nodes[s];
			const struct raft_conf *conf = n->used && n->up ? raft_conf(n->r) : NULL;

			for (uint32_t j = 0; conf != NULL && j < conf->n; j++)
				if (conf->servers[j].id == v->id &&
				    conf->servers[j].role == RAFT_LEARNER &&
				    !(conf->joint && conf->servers[j].old_role == RAFT_VOTER))
					return sim_slot_of(w, v->id);
		}
	}
	return -1;
}

/* An operator loses a member's data folder and restarts the server empty: once the cluster is
 * founded (before that, DESIGN.md names the window in which an empty founder is admitted), and
 * while no other lost voter awaits its replacement, so that a quorum of intact voters remains. */
static void world_wipe(struct sim_world *w, int leader)
{
	const struct raft_conf *conf = leader >= 0 ? raft_conf(w->nodes[leader].r) : NULL;
	uint64_t aim = sim_below(&w->ops, 6);
	int victim = (int)sim_below(&w->ops, (uint64_t)w->n_slots);
	bool learner = false;

	if (w->check.commit_max < SIM_WIPE_AFTER_COMMIT || world_lost_voter(w))
		return;
	/* In odd seeds, while a voter is still listed as a learner somewhere,
	 * it is often the one lost: it may take the cluster id back from that
	 * server (I14, the bound folder). Even seeds draw as before. */
	if ((w->seed & 1) && world_voter_listed_as_learner(w) >= 0 &&
	    sim_chance(&w->ops, SIM_WIPE_LISTED_LEARNER)) {
		victim = world_voter_listed_as_learner(w);
		if (!w->nodes[victim].retired && w->nodes[victim].removed_at == 0) {
			sim_host_wipe(w, victim);
			w->nodes[victim].restart_at = w->now + 1; /* while the stale one still is */
		}
		return;
	}
	if (!sim_chance(&w->ops, w->p.wipe))
		return;
	/* Half of the time the leader; one time in six a learner of its
	 * configuration (it comes back at once, as a newcomer whose progress
	 * must start over before it is promoted); else anyone. */
	for (uint32_t i = 0; conf != NULL && aim == 0 && i < conf->n; i++) {
		if (conf->servers[i].role == RAFT_LEARNER &&
		    !(conf->joint && conf->servers[i].old_role == RAFT_VOTER) &&
		    sim_slot_of(w, conf->servers[i].id) >= 0) {
			victim = sim_slot_of(w, conf->servers[i].id);
			learner = true;
		}
	}
	if (leader >= 0 && aim >= 1 && aim <= 3)
		victim = leader;
	if (w->nodes[victim].used && w->nodes[victim].member && !w->nodes[victim].retired &&
	    w->nodes[victim].removed_at == 0) {
		sim_host_wipe(w, victim);
		if (learner)
			w->nodes[victim].restart_at = w->now + 1;
	}
}

/* Faults aim at the leader half of the time (Jepsen's "primaries"
 * nemesis): that is where elections, truncations and stale reads happen. */
static void world_faults(struct sim_world *w)
{
	int leader = world_leader(w);

	if (w->p.wipe > 0)
		world_wipe(w, leader);
	if (!w->net.partitioned && sim_chance(&w->rng, w->p.partition))
		sim_net_partition(w, sim_chance(&w->rng, 500) ? leader : -1);
	else if (w->net.partitioned && sim_chance(&w->rng, 15))
		sim_net_heal(w);
	for (int s = 0; s < w->n_slots; s++) {
		struct sim_node *n = &w->nodes[s];
		int victim = leader >= 0 && sim_chance(&w->rng, 500) ? leader : s;

		if (n->used && n->up && !n->retired && sim_chance(&w->rng, w->p.crash) &&
		    w->nodes[victim].up)
			sim_host_crash(w, victim);
	}
}

static void world_tick(struct sim_world *w, int slot)
{
	struct sim_node *n = &w->nodes[slot];

	n->acc += n->rate;
	n->clock_pm += (uint64_t)n->rate * SIM_MS_PER_STEP;
	while (n->acc >= 1000u * SIM_TICK_PERIOD) {
		n->acc -= 1000u * SIM_TICK_PERIOD;
		raft_tick(n->r);
		sim_trace(w, "tick n%d (%s, term %llu)", slot + 1, raft_role_name(raft_role(n->r)),
		          (unsigned long long)raft_term(n->r));
	}
}

static void world_step(struct sim_world *w)
{
	int order[SIM_MAX_SLOTS];
	int leader = -1;

	w->now++;
	if (w->phase == SIM_FAULTS)
		world_faults(w);
	for (int s = 0; s < w->n_slots; s++) {
		struct sim_node *n = &w->nodes[s];

		if (n->used && !n->up && !n->retired && w->now >= n->restart_at)
			sim_host_restart(w, s);
	}
	sim_net_deliver(w);
	for (int s = 0; s < w->n_slots; s++) {
		if (w->nodes[s].used && w->nodes[s].up)
			world_tick(w, s);
	}
	if (w->phase == SIM_FAULTS || w->now < w->work_until)
		sim_client_step(w);
	for (int s = 0; s < w->n_slots; s++) {
		if (w->nodes[s].used && w->nodes[s].up && raft_role(w->nodes[s].r) == RAFT_LEADER &&
		    w->nodes[s].removed_at == 0)
			leader = s;
	}
	/* An operator who lost a voter's disk replaces it promptly. */
	if (w->phase == SIM_FAULTS && leader >= 0 &&
	    (sim_chance(&w->rng, w->p.member) ||
	     (world_lost_voter(w) && sim_chance(&w->ops, WORLD_REPLACE_RATE))))
		sim_member_step(w, leader);
	/* Drain the nodes in a random order. */
	for (int s = 0; s < w->n_slots; s++) {
		int j = (int)sim_below(&w->rng, (uint64_t)s + 1);

		order[s] = order[j];
		order[j] = s;
	}
	for (int i = 0; i < w->n_slots && !w->failed; i++) {
		struct sim_node *n = &w->nodes[order[i]];

		if (n->used && n->up) {
			sim_host_drain(w, order[i]);
			if (n->up && !w->failed)
				sim_host_maybe_snapshot(w, order[i]);
		}
	}
	sim_member_retire(w);
	if (!w->failed)
		sim_check_step(w);
}

/* A leader that every running member follows in its term, with an entry
 * of its term committed: from then on, a healed cluster has no reason to
 * lose it. */
static bool world_stable_leader(struct sim_world *w)
{
	int leader = -1;

	for (int s = 0; s < w->n_slots; s++) {
		struct sim_node *n = &w->nodes[s];

		if (n->used && n->up && raft_role(n->r) == RAFT_LEADER && raft_leader_ready(n->r) &&
		    n->removed_at == 0)
			leader = s;
	}
	if (leader < 0)
		return false;
	for (int s = 0; s < w->n_slots; s++) {
		struct sim_node *n = &w->nodes[s];

		if (!n->used || n->retired || !n->member || n->removed_at != 0 ||
		    sim_host_lost(w, s))
			continue;
		if (!n->up || raft_leader(n->r) != w->nodes[leader].id ||
		    raft_term(n->r) != raft_term(w->nodes[leader].r))
			return false;
	}
	return true;
}

static void world_heal(struct sim_world *w)
{
	sim_trace(w, "heal: no more faults; restart every crashed node");
	w->phase = SIM_HEALED;
	w->healed_at = w->now;
	w->p.loss = 0;
	w->p.dup = 0;
	w->p.tail = 0;
	w->work_until = w->now + SIM_LIVE_LEADER;
	sim_net_heal(w);
	for (int s = 0; s < w->n_slots; s++) {
		struct sim_node *n = &w->nodes[s];

		if (n->used && !n->up && !n->retired)
			n->restart_at = w->now;
	}
}

static void world_liveness(struct sim_world *w)
{
	/* A transfer or a vote requested before healing may still move the
	 * leadership once: a leader counts as stable after it has kept every
	 * member for WORLD_STABLE_TIMEOUTS election timeouts. */
	uint64_t stable_for =
	    (uint64_t)WORLD_STABLE_TIMEOUTS * w->p.election_ticks * SIM_TICK_PERIOD;
	uint64_t stable_since = 0, deadline;
	const char *why = "";

	world_heal(w);
	while (!w->failed && (stable_since == 0 || w->now < stable_since + stable_for)) {
		if (w->now >= w->healed_at + SIM_LIVE_LEADER) {
			sim_fail(w, -1, "liveness", "no stable leader %d steps after healing",
			         SIM_LIVE_LEADER);
			return;
		}
		world_step(w);
		if (!world_stable_leader(w))
			stable_since = 0;
		else if (stable_since == 0)
			stable_since = w->now;
	}
	/* Clients keep working for a while, then the cluster must settle. */
	w->work_until = w->now + WORLD_HEALED_WORK;
	w->live_work = true;
	deadline = w->work_until + SIM_LIVE_COMMIT;
	while (!w->failed && (w->now < w->work_until || !sim_client_settled(w, &why))) {
		if (w->now >= deadline) {
			sim_fail(w, -1, "liveness", "%s within %d steps", why, SIM_LIVE_COMMIT);
			return;
		}
		world_step(w);
	}
}

static void world_free(struct sim_world *w)
{
	for (int s = 0; s < w->n_slots; s++)
		sim_host_free(w, s);
	sim_net_free(&w->net);
	sim_check_free(&w->check);
	free(w);
}

const char *sim_break_name(enum sim_break b)
{
	static const char *const names[SIM_BREAK_MAX + 1] = {
	    [SIM_BREAK_NONE] = "none",
	    [SIM_BREAK_SEND_FIRST] = "send-before-persist",
	    [SIM_BREAK_LYING_DISK] = "lying-disk",
	    [SIM_BREAK_FORGET_VOTE] = "forget-vote",
	    [SIM_BREAK_LOCAL_READ] = "local-read",
	    [SIM_BREAK_CORRUPT_NET] = "corrupt-network",
	    [SIM_BREAK_ADMIT_LOST] = "admit-lost-data",
	    [SIM_BREAK_ADMIT_STRANGER] = "admit-strangers",
	    [SIM_BREAK_NO_PEER_RESET] = "no-peer-reset",
	    [SIM_BREAK_UNBOUND] = "unbound",
	};
	return (unsigned)b <= SIM_BREAK_MAX ? names[b] : NULL;
}

bool sim_run_seed(uint64_t seed, const struct sim_run *run)
{
	unsigned nodes = run->nodes;
	uint64_t steps = run->steps;
	struct sim_world *w = calloc(1, sizeof(*w));
	bool ok;

	if (w == NULL)
		return false;
	w->seed = seed;
	w->trace = run->trace;
	w->brk = run->brk;
	w->wipes = run->wipes;
	w->sm_ops = &sim_sm_chain;
	sim_rng_seed(&w->rng, seed);
	sim_rng_seed(&w->ops, seed ^ WORLD_OPERATOR_SEED);
	snprintf(w->cluster, sizeof(w->cluster), "c%016llx",
	         (unsigned long long)sim_mix(seed, WORLD_OPERATOR_SEED));
	world_params(w, nodes, steps);
	world_trace_params(w);
	world_boot(w);
	while (!w->failed && w->now < steps)
		world_step(w);
	if (!w->failed)
		world_liveness(w);
	sim_trace(w,
	          "end: %llu sent, %llu delivered, %llu dropped, %llu not admitted, %llu crashes, "
	          "%llu wipes, %llu elections",
	          (unsigned long long)w->n_sent, (unsigned long long)w->n_delivered,
	          (unsigned long long)w->n_dropped, (unsigned long long)w->n_refused,
	          (unsigned long long)w->n_crashes, (unsigned long long)w->n_wipes,
	          (unsigned long long)w->n_elections);
	ok = !w->failed;
	world_free(w);
	return ok;
}
