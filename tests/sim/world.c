/* world.c: the runtime simulator's world and command line (rt.h).
 *
 *   coord-sim --seeds N [--first-seed S] [--nodes K]   # seeds S..S+N-1
 *   coord-sim --seed X [--nodes K] --trace              # one seed, every event
 *
 * Each seed runs in a child process in a folder of its own (under /dev/shm
 * when it exists): a node's fail-stop (_exit) or an assertion fails that
 * seed, with the command that replays it, not the run. A seed: the nodes
 * found their cluster; clients call the API while nodes crash and restart
 * and are cut off by partitions; then every fault heals, the clients stop,
 * and the run settles: every call answered, every node at the same applied
 * index with the same state hash, and a final linearizable read of each key
 * from each node checked against the model (client.c).
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "node_dispatch.h"
#include "node_env.h"
#include "node_internal.h"
#include "node_life.h"
#include "node_ready.h"
#include "rt.h"
#include "sm.h"

struct rt_world *rt_w;
static uint64_t last_tick[RT_NODES_MAX];
static void ack_bound(struct rt_world *w, int node);

/* The event queue ------------------------------------------------------------- */

static bool before(const struct rt_event *a, const struct rt_event *b)
{
	return a->at_us < b->at_us || (a->at_us == b->at_us && a->seq < b->seq);
}

static void rt_heap_add(struct rt_world *w, const struct rt_event *e)
{
	struct rt_event ev = *e;
	size_t i;

	if (w->heap_n == w->heap_cap) {
		w->heap_cap = w->heap_cap ? 2 * w->heap_cap : 1024;
		w->heap = realloc(w->heap, w->heap_cap * sizeof(*w->heap));
		assert(w->heap);
	}
	i = w->heap_n++;
	while (i > 0 && before(&ev, &w->heap[(i - 1) / 2])) {
		w->heap[i] = w->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	w->heap[i] = ev;
}

void rt_push(struct rt_world *w, uint64_t at_us, enum rt_event_kind kind, int node, void *ptr,
             int arg)
{
	struct rt_event ev = {at_us, w->next_seq++, kind, node, 0, ptr, arg};

	if (node >= 0)
		ev.gen = w->nodes[node].gen;
	rt_heap_add(w, &ev);
}

static struct rt_event pop(struct rt_world *w)
{
	struct rt_event top = w->heap[0], last = w->heap[--w->heap_n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= w->heap_n)
			break;
		if (c + 1 < w->heap_n && before(&w->heap[c + 1], &w->heap[c]))
			c++;
		if (!before(&w->heap[c], &last))
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (w->heap_n)
		w->heap[i] = last;
	return top;
}

/* Reports ---------------------------------------------------------------------- */

void rt_fail(struct rt_world *w, const char *fmt, ...)
{
	va_list ap;

	if (w->failed)
		return;
	w->failed = true;
	w->fail_us = w->now_us;
	va_start(ap, fmt);
	vsnprintf(w->why, sizeof(w->why), fmt, ap);
	va_end(ap);
}

void rt_trace(struct rt_world *w, const char *fmt, ...)
{
	va_list ap;

	if (!w->trace)
		return;
	printf("%10.3f ms  ", (double)w->now_us / 1000.0);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

int rt_leader(const struct rt_world *w)
{
	for (int i = 0; i < w->n_nodes; i++)
		if (w->nodes[i].up && raft_role(w->nodes[i].n->raft) == RAFT_LEADER)
			return i;
	return -1;
}

unsigned rt_weighted(struct rt_world *w, const unsigned *weights, size_t n)
{
	unsigned total = 0, r, k = 0;

	for (size_t i = 0; i < n; i++)
		total += weights[i];
	r = (unsigned)sim_below(&w->rng, total);
	while (r >= weights[k])
		r -= weights[k++];
	return k;
}

uint64_t rt_node_time(const struct rt_world *w, int node)
{
	uint64_t busy = w->nodes[node].busy_until_us;

	return busy > w->now_us ? busy : w->now_us;
}

void rt_enter(struct rt_world *w, int node)
{
	w->current = node;
}

/* Nodes ------------------------------------------------------------------------ */

static void tick_later(struct rt_world *w, int slot)
{
	struct rt_node *rn = &w->nodes[slot];

	rt_push(w, w->now_us + (uint64_t)(NODE_TICK_MS * 1000.0 / rn->rate), RT_EV_TICK, slot, NULL,
	        0);
}

void rt_turn_end(struct rt_world *w, int slot)
{
	struct rt_node *rn = &w->nodes[slot];

	if (!rn->up)
		return;
	rt_enter(w, slot);
	node_turn_end(rn->n);
	if (rn->wake) {
		rn->wake = false;
		rt_push(w, w->now_us + 1, RT_EV_TURN, slot, NULL, 0);
	}
}

/* Flags every node gets besides the world's (--node-flag): a coordd
 * option under test, e.g. --fresh-lease-on-election. */
#define RT_NODE_FLAGS_MAX 4
static const char *node_flags[RT_NODE_FLAGS_MAX];
static int n_node_flags;
/* --wipes: every seed runs wipe_sequence() once. */
static bool wipes;
/* The options a replay command must repeat (--wipes, --break, --node-flag). */
static char replay_opts[512];

static void replay_opt(const char *opt, const char *value)
{
	size_t k = strlen(replay_opts);

	snprintf(replay_opts + k, sizeof(replay_opts) - k, " %s%s%s", opt, value ? " " : "",
	         value ? value : "");
}

static void node_start(struct rt_world *w, int slot)
{
	struct rt_node *rn = &w->nodes[slot];
	char id[16], cluster[256] = "", err[COORD_CONFIG_ERR_MAX];
	struct coord_config cfg;
	struct transport_config tc;

	for (int i = 0; i < w->n_founders; i++)
		snprintf(cluster + strlen(cluster), sizeof(cluster) - strlen(cluster), "%s%d=%s",
		         i ? "," : "", i + 1, w->nodes[i].raft);
	snprintf(id, sizeof(id), "%d", slot + 1);
	const char *argv[] = {"coordd", "--id",
	                      id,       "--data",
	                      rn->data, "--http",
	                      rn->http, "--raft",
	                      rn->raft, "--heartbeat-ms",
	                      "100",    "--election-timeout-ms",
	                      "1000",   "--snapshot-entries",
	                      "200",    "--log-tail",
	                      "50",     rn->spare ? "--join" : "--cluster",
	                      cluster,  NULL,
	                      NULL,     NULL,
	                      NULL};
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - RT_NODE_FLAGS_MAX - (rn->spare ? 1 : 0);

	for (int i = 0; i < n_node_flags; i++)
		argv[argc++] = node_flags[i];

	if (coord_config_parse(argc, argv, &cfg, err) != COORD_CONFIG_OK) {
		fprintf(stderr, "coord-sim: %s\n", err);
		exit(2);
	}
	cfg.log_level = w->trace ? COORD_LOG_INFO : COORD_LOG_ERROR;
	rn->gen++;
	rn->up = true;
	rn->n = calloc(1, sizeof(*rn->n));
	assert(rn->n);
	rt_enter(w, slot);
	if (node_open(rn->n, &cfg) != 0) {
		rn->up = false; /* the failure's report shows it down */
		rt_fail(w, "n%d could not start", slot + 1);
		return;
	}
	if (raft_last_index(rn->n->raft) < rn->must_hold)
		rt_fail(
		    w,
		    "I9: n%d acknowledged its log up to %llu, but holds up to %llu after a restart",
		    slot + 1, (unsigned long long)rn->must_hold,
		    (unsigned long long)raft_last_index(rn->n->raft));
	rn->last_index = raft_last_index(rn->n->raft);
	rt_raft_started(w, slot);
	node_transport_config(rn->n, &tc);
	if (transport_start(NULL, &tc, &rn->n->transport) != TRANSPORT_OK) {
		rt_fail(w, "n%d: no transport", slot + 1);
		return;
	}
	node_peers_start(rn->n);
	node_drive(rn->n);
	rt_turn_end(w, slot);
	tick_later(w, slot);
	rt_trace(w, "n%d started (life %llu)", slot + 1, (unsigned long long)rn->gen);
}

/* A process crash: the jobs the pool was running finish first (the crash
 * comes just after them), then everything in memory is gone; the data
 * folder stays as the last commit left it. */
static void node_crash(struct rt_world *w, int slot, bool power_loss)
{
	struct rt_node *rn = &w->nodes[slot];
	bool ran;

	do {
		ran = false;
		for (size_t i = 0; i < w->heap_n; i++) {
			struct rt_event *ev = &w->heap[i];

			if (ev->kind == RT_EV_JOB && ev->node == slot && ev->gen == rn->gen &&
			    ev->ptr) {
				struct rt_event copy = *ev;

				ev->ptr = NULL;
				rt_enter(w, slot);
				rt_job_run(w, &copy);
				ran = true;
				break; /* its done may have queued more */
			}
		}
	} while (ran);
	rt_trace(w, "n%d %s", slot + 1, power_loss ? "loses power" : "crashes");
	ack_bound(w, slot);
	rt_raft_crashed(w, slot);
	rt_front_node_down(w, slot);
	rt_enter(w, slot);
	rn->up = false;
	rn->busy_until_us = 0;
	rt_net_node_down(w, slot);
	/* Closing its handles writes nothing after a power loss (disk.c); its
	 * calls in flight are never answered: their clients saw a reset. */
	if (power_loss)
		rt_disk_dead(slot, true);
	rt_apply_node_down(slot);
	node_close(rn->n);
	if (power_loss)
		rt_disk_power_loss(slot);
	free(rn->n);
	rn->n = NULL;
	rn->gen++;
	rt_enter(w, -1);
}

/* SIGTERM, as coordd's loop does it: every call is answered, then the
 * process exits (its files keep every write); it restarts 0.2-2.2 s later. */
static void node_stop(struct rt_world *w, int slot)
{
	struct rt_node *rn = &w->nodes[slot];

	rt_trace(w, "n%d stops (SIGTERM)", slot + 1);
	rt_enter(w, slot);
	node_stop_calls(rn->n);
	rt_turn_end(w, slot);
	node_crash(w, slot, false);
	rt_push(w, w->now_us + 200000 + sim_below(&w->rng, 2000000), RT_EV_FAULT, slot, NULL, 1);
}

/* SIGTERM: a leader hands its leadership over first and stops once another
 * node leads (node_tick says when); any other node stops at once. */
static void node_sigterm(struct rt_world *w, int slot)
{
	struct rt_node *rn = &w->nodes[slot];

	rt_enter(w, slot);
	if (!rn->n->handoff_until_ms && node_handoff_start(rn->n)) {
		rt_trace(w, "n%d: SIGTERM, handing its leadership over", slot + 1);
		rt_turn_end(w, slot);
		return;
	}
	node_stop(w, slot);
}

int rt_pick_node(struct rt_world *w)
{
	int slots[RT_NODES_MAX], n = 0;

	for (int i = 0; i < w->n_nodes; i++)
		if (w->nodes[i].member)
			slots[n++] = i;
	return n ? slots[sim_below(&w->rng, (uint64_t)n)] : 0;
}

void rt_node_removed(struct rt_world *w, int slot)
{
	struct rt_node *rn = &w->nodes[slot];

	rn->member = false;
	rn->removed = true;
	if (w->keep_removed) { /* its timers fire, it campaigns, it dials the others */
		rt_trace(w, "n%d is removed from the configuration: it keeps running", slot + 1);
		return;
	}
	rt_trace(w, "n%d is removed from the configuration: it stops for good", slot + 1);
	rn->stopped = true;
	if (rn->up)
		node_crash(w, slot, false);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw);

/* Every file below DIR, DIR itself kept. */
static int rm_below(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return ftw->level == 0 ? 0 : rm_entry(path, sb, flag, ftw);
}

void rt_node_wipe(struct rt_world *w, int slot)
{
	struct rt_node *rn = &w->nodes[slot];

	rt_trace(w, "n%d loses its disk: its folder is emptied, and it is started again on it",
	         slot + 1);
	if (rn->up)
		node_crash(w, slot, true);
	rt_disk_wipe(slot);
	nftw(rn->data, rm_below, 16, FTW_DEPTH | FTW_PHYS);
	/* What it acknowledged or voted is gone with the folder, by design:
	 * the others must keep it out (admit.h), not it remember. */
	rn->n_acks = 0;
	rn->must_hold = 0;
	rn->last_index = 0;
	rt_raft_wiped(w, slot);
	rn->member = false;
	rn->lost = true;
	rt_push(w, w->now_us + 200000 + sim_below(&w->rng, 800000), RT_EV_FAULT, slot, NULL, 1);
}

void rt_node_replaced(struct rt_world *w, int slot)
{
	rt_trace(w, "n%d, lost, is out of the configuration; it keeps running", slot + 1);
	w->nodes[slot].removed = true;
}

/* Faults ----------------------------------------------------------------------- */

static int members(const struct rt_world *w)
{
	int k = 0;

	for (int i = 0; i < w->n_nodes; i++)
		k += w->nodes[i].member;
	return k;
}

static int count_down(struct rt_world *w)
{
	int k = 0;

	for (int i = 0; i < w->n_nodes; i++)
		k += w->nodes[i].member && (!w->nodes[i].up || w->nodes[i].partitioned);
	return k;
}

/* A rack loses power: the leader and a follower in the middle of a sync if
 * there is one (else any), at once; each comes back 0.2-3.2 s later. This
 * is the fault that finds a node that acknowledged what it had not made
 * durable (N-1). Returns whether it struck. */
static bool rack_power_loss(struct rt_world *w)
{
	int leader = -1, other = -1;

	for (int i = 0; i < w->n_nodes; i++) {
		struct rt_node *rn = &w->nodes[i];

		if (!rn->up)
			continue;
		if (raft_role(rn->n->raft) == RAFT_LEADER)
			leader = i;
		else if (other < 0 || rn->busy_until_us > w->now_us)
			other = i;
	}
	if (leader < 0 || other < 0)
		return false;
	rt_trace(w, "a rack loses power: n%d and n%d", leader + 1, other + 1);
	node_crash(w, leader, true);
	node_crash(w, other, true);
	rt_push(w, w->now_us + 200000 + sim_below(&w->rng, 3000000), RT_EV_FAULT, leader, NULL, 1);
	rt_push(w, w->now_us + 200000 + sim_below(&w->rng, 3000000), RT_EV_FAULT, other, NULL, 1);
	return true;
}

/* --wipes: the moment the admission rule is for (rule 13, admit.h). While
 * one follower is cut off, the other, which holds what the leader
 * committed with it, loses its disk and is started again empty; then the
 * leader crashes. The cut-off follower lacks committed entries: only a
 * voter that forgot them (the wiped one) could elect it. The others must
 * refuse the wiped server, and wait for the leader to come back. Steps:
 * ARG 2 cut one follower off, 3 wipe the other, 4 crash the leader and
 * let the cut-off follower back in. */
static void wipe_sequence(struct rt_world *w, struct rt_event *ev)
{
	static int cut = -1;
	int leader = rt_leader(w), other = -1;

	if (w->now_us >= w->fault_until_us)
		return; /* the settle (healed there) */
	for (int i = 0; i < w->n_founders && leader >= 0; i++)
		if (i != leader && other < 0 && w->nodes[i].member && w->nodes[i].up &&
		    !w->nodes[i].partitioned)
			other = i;
	if (leader < 0 || (ev->arg != 4 && other < 0)) { /* not now: again a little later */
		rt_push(w, w->now_us + 300000, RT_EV_FAULT, -1, NULL, ev->arg);
		return;
	}
	switch (ev->arg) {
	case 2:
		rt_trace(w, "n%d is cut off (wipes)", other + 1);
		rt_net_isolate(w, other, true);
		cut = other;
		rt_push(w, w->now_us + 100000 + sim_below(&w->rng, 300000), RT_EV_FAULT, -1, NULL,
		        3);
		break;
	case 3:
		rt_node_wipe(w, other); /* back, empty, within a second */
		rt_push(w, w->now_us + 1100000 + sim_below(&w->rng, 300000), RT_EV_FAULT, -1, NULL,
		        4);
		break;
	default:
		node_crash(w, leader, false); /* for longer than an election takes */
		rt_push(w, w->now_us + 3000000 + sim_below(&w->rng, 1000000), RT_EV_FAULT, leader,
		        NULL, 1);
		if (cut >= 0)
			rt_push(w, w->now_us + 1, RT_EV_FAULT, cut, NULL, 1); /* back in */
		cut = -1;
		break;
	}
}

static void fault_event(struct rt_world *w, struct rt_event *ev)
{
	int slot = rt_pick_node(w);
	struct rt_node *rn = &w->nodes[slot];

	if (ev->arg >= 2)
		return wipe_sequence(w, ev);
	if (ev->arg == 1) { /* a restart or a heal of ev->node */
		rn = &w->nodes[ev->node];
		if (!rn->up && !rn->stopped)
			node_start(w, ev->node);
		if (rn->partitioned) {
			rt_trace(w, "n%d rejoins the network", ev->node + 1);
			rt_net_isolate(w, ev->node, false);
		}
		return;
	}
	if (w->now_us >= w->fault_until_us) /* the settle: everything heals */
		return;
	rt_push(w, w->now_us + 300000 + sim_below(&w->rng, 1500000), RT_EV_FAULT, -1, NULL, 0);
	/* A wall clock steps, whatever else happens (it harms nothing). */
	if (sim_chance(&w->rng, w->wall_per_mille))
		rt_wall_step(w, (int)sim_below(&w->rng, (uint64_t)w->n_nodes));
	/* A majority stays up and connected, most of the time. */
	if (count_down(w) >= (members(w) - 1) / 2 && !sim_chance(&w->rng, 100))
		return;
	if (sim_chance(&w->rng, w->rack_per_mille) && rack_power_loss(w))
		return;
	/* One fault, of a kind drawn by the seed's weights, or none. */
	{
		const unsigned weights[] = {w->crash_per_mille, w->partition_per_mille,
		                            w->sigterm_per_mille, w->pause_per_mille, 300};
		unsigned kind = rt_weighted(w, weights, sizeof(weights) / sizeof(weights[0]));
		if (!rn->up || (rn->partitioned && kind != 3))
			return;
		switch (kind) {
		case 0: {
			bool power = sim_chance(&w->rng, w->power_per_mille);

			/* Half the power losses strike a node in the middle of a
			 * sync, if one is: the moment that tells what a node made
			 * durable from what it only said it had. */
			for (int i = 0; power && i < w->n_nodes && sim_chance(&w->rng, 500); i++)
				if (w->nodes[i].up && !w->nodes[i].partitioned &&
				    w->nodes[i].busy_until_us > w->now_us) {
					slot = i;
					break;
				}
			node_crash(w, slot, power);
			rt_push(w, w->now_us + 200000 + sim_below(&w->rng, 3000000), RT_EV_FAULT,
			        slot, NULL, 1);
			break;
		}
		case 1:
			rt_trace(w, "n%d is cut off", slot + 1);
			rt_net_isolate(w, slot, true);
			rt_push(w, w->now_us + 300000 + sim_below(&w->rng, 4000000), RT_EV_FAULT,
			        slot, NULL, 1);
			break;
		case 2: {
			int leader = rt_leader(w);

			node_sigterm(w, leader >= 0 && sim_chance(&w->rng, 700) ? leader : slot);
			break;
		}
		case 3: {
			uint64_t pause = 200000 + sim_below(&w->rng, 2500000);

			rt_trace(w, "n%d pauses for %llu ms", slot + 1,
			         (unsigned long long)pause / 1000);
			if (rn->busy_until_us < w->now_us)
				rn->busy_until_us = w->now_us;
			rn->busy_until_us += pause;
			break;
		}
		default:
			break;
		}
	}
}

/* The run ---------------------------------------------------------------------- */

static void dispatch(struct rt_world *w, struct rt_event *ev)
{
	struct rt_node *rn = ev->node >= 0 ? &w->nodes[ev->node] : NULL;
	bool live = rn && rn->up && ev->gen == rn->gen;

	/* A node whose loop is blocked (a sync, a pause) takes its events when
	 * it runs again, in the order they came. */
	if (live && rn->busy_until_us > w->now_us && ev->kind != RT_EV_CLIENT &&
	    ev->kind != RT_EV_FAULT && ev->kind != RT_EV_OPERATOR) {
		struct rt_event later = *ev;

		later.at_us = rn->busy_until_us;
		later.seq = w->next_seq++;
		rt_heap_add(w, &later);
		return;
	}

	switch (ev->kind) {
	case RT_EV_TICK:
		if (!live)
			return;
		last_tick[ev->node] = w->now_us;
		rt_enter(w, ev->node);
		if (node_tick(rn->n)) { /* a SIGTERM's hand-off ended */
			if (!rn->n->handoff_until_ms)
				rt_fail(w, "n%d: a hand-off ended, but none began", ev->node + 1);
			node_stop(w, ev->node);
			break;
		}
		rt_turn_end(w, ev->node);
		tick_later(w, ev->node);
		rt_clock_check(w, ev->node);
		break;
	case RT_EV_TURN:
		if (live)
			rt_turn_end(w, ev->node);
		break;
	case RT_EV_DIAL:
		if (ev->node < 0) {
			rt_net_stall_event(w, ev->ptr);
		} else if (live) {
			rt_enter(w, ev->node);
			rt_net_dial_event(w, ev);
			rt_turn_end(w, ev->node);
		}
		break;
	case RT_EV_FRAME:
		rt_enter(w, ev->node);
		rt_net_frame_event(w, ev);
		rt_turn_end(w, ev->node);
		break;
	case RT_EV_JOB:
		if (!ev->ptr)
			return; /* ran before a crash */
		rt_enter(w, ev->node);
		rt_job_run(w, ev);
		rt_turn_end(w, ev->node);
		break;
	case RT_EV_CLIENT:
		rt_client_event(w, ev);
		break;
	case RT_EV_FAULT:
		fault_event(w, ev);
		break;
	case RT_EV_OPERATOR:
		rt_operator_event(w, ev);
		break;
	}
	rt_enter(w, -1);
}

/* Invariants of the cores and states inside the real nodes, after every
 * event: the Raft invariants of raft_check.c and removed.c, and
 *  I7 every node that applied index I (sampled: I a multiple of
 *     RT_HASH_EVERY) has the same state hash there. */
#define RT_HASH_EVERY 25
#define RT_HASHES_MAX 4096

static uint64_t index_hash[RT_HASHES_MAX];
static int index_hash_node[RT_HASHES_MAX];
static uint64_t last_applied[RT_NODES_MAX], last_applied_gen[RT_NODES_MAX];
static unsigned hashes_compared;

void rt_acked(struct rt_world *w, int node, uint64_t index, uint64_t depart_us)
{
	struct rt_node *rn = &w->nodes[node];

	rn->acks[rn->n_acks++ % 64] = (typeof(rn->acks[0])){index, depart_us};
}

/* I9 at a crash: the highest index NODE acknowledged in a frame that left
 * before now; its log must hold it when it restarts. */
static void ack_bound(struct rt_world *w, int node)
{
	struct rt_node *rn = &w->nodes[node];
	unsigned n = rn->n_acks < 64 ? rn->n_acks : 64;

	rn->must_hold = 0;
	for (unsigned i = 0; i < n; i++)
		if (rn->acks[i].depart_us < w->now_us && rn->acks[i].index > rn->must_hold)
			rn->must_hold = rn->acks[i].index;
	rn->n_acks = 0;
}

static void check_nodes(struct rt_world *w)
{
	for (int i = 0; i < w->n_nodes && !w->failed; i++) {
		struct rt_node *rn = &w->nodes[i];
		uint64_t applied, h;

		if (!rn->up || rn->n->installing)
			continue;
		rt_raft_check(w, i); /* I1-I6, I8, I9, I11 */
		rt_removed_observe(w, i);
		/* A truncation removes what the node acknowledged above it:
		 * legitimately, when a new leader overwrote uncommitted entries. */
		if (raft_last_index(rn->n->raft) < rn->last_index)
			for (unsigned k = 0; k < 64 && k < rn->n_acks; k++)
				if (rn->acks[k].index > raft_last_index(rn->n->raft))
					rn->acks[k].index = raft_last_index(rn->n->raft);
		rn->last_index = raft_last_index(rn->n->raft);
		applied = persist_state_applied_index(rn->n->pstate);
		if (last_applied_gen[i] == rn->gen && applied == last_applied[i])
			continue;
		last_applied[i] = applied;
		last_applied_gen[i] = rn->gen;
		if (applied == 0 || applied % RT_HASH_EVERY ||
		    applied / RT_HASH_EVERY >= RT_HASHES_MAX)
			continue;
		if (coord_sm_hash(rn->n->db, &h) != 0) {
			rt_fail(w, "n%d: cannot hash its state", i + 1);
			break;
		}
		if (!index_hash_node[applied / RT_HASH_EVERY]) {
			index_hash[applied / RT_HASH_EVERY] = h;
			index_hash_node[applied / RT_HASH_EVERY] = i + 1;
		} else if (++hashes_compared && index_hash[applied / RT_HASH_EVERY] != h) {
			rt_fail(w, "I7: n%d and n%d applied index %llu to different states", i + 1,
			        index_hash_node[applied / RT_HASH_EVERY],
			        (unsigned long long)applied);
		}
	}
}

void rt_run_until(struct rt_world *w, uint64_t until_us)
{
	while (!w->failed && w->heap_n && w->heap[0].at_us <= until_us) {
		struct rt_event ev = pop(w);

		w->now_us = ev.at_us;
		dispatch(w, &ev);
		check_nodes(w);
	}
	if (w->now_us < until_us)
		w->now_us = until_us;
}

static uint64_t state_hash(struct rt_world *w, int slot, uint64_t *applied)
{
	struct node *n = w->nodes[slot].n;
	uint64_t h = 0;

	*applied = persist_state_applied_index(n->pstate);
	if (coord_sm_hash(n->db, &h) != 0)
		rt_fail(w, "n%d: cannot hash its state", slot + 1);
	return h;
}

/* The members are those of the configuration that the most advanced node
 * holds: a removal whose answer the operator never got (504) has taken
 * effect all the same, and that node stops (or runs on) as the operator
 * would have it. A removed node's own view is left out: it lags. */
static void sync_members(struct rt_world *w)
{
	struct raft_conf copy; /* that node may be the one removed below */
	const struct raft_conf *conf = NULL;
	uint64_t best = 0;

	for (int i = 0; i < w->n_nodes; i++)
		if (w->nodes[i].up && !w->nodes[i].lost && !w->nodes[i].removed &&
		    (!conf || raft_commit_index(w->nodes[i].n->raft) > best)) {
			copy = *raft_conf(w->nodes[i].n->raft);
			conf = &copy;
			best = raft_commit_index(w->nodes[i].n->raft);
		}
	for (uint32_t k = 0; conf && k < conf->n; k++)
		rt_trace(w, "configuration at the end: n%llu%s",
		         (unsigned long long)conf->servers[k].id, conf->joint ? " (joint)" : "");
	for (int i = 0; conf && i < w->n_nodes; i++) {
		bool listed = false;

		for (uint32_t k = 0; k < conf->n; k++)
			listed = listed || conf->servers[k].id == w->nodes[i].id;
		if (w->nodes[i].member && !listed)
			rt_node_removed(w, i);
		else if (!w->nodes[i].member && !w->nodes[i].removed && !w->nodes[i].lost && listed)
			w->nodes[i].member = true; /* an add whose answer was lost */
	}
}

/* After the settle: the same applied index and state on every node (given
 * a few more seconds to catch up), and the final reads. */
static void check_end(struct rt_world *w)
{
	uint64_t applied[RT_NODES_MAX], hash[RT_NODES_MAX];
	struct rt_answer ans[RT_NODES_MAX][RT_KEYS];
	uint64_t sent;
	bool same = false;

	/* The clients' last calls: a write forwarded just before its frame was
	 * lost is answered (504) only after its wait, up to seven seconds. */
	for (uint64_t until = w->now_us + RT_CALL_GIVEUP_US;
	     (!rt_clients_idle(w) || !rt_operator_idle(w)) && w->now_us < until;)
		rt_run_until(w, w->now_us + 100000);
	rt_clients_check_end(w);
	if (!rt_operator_idle(w))
		rt_fail(w, "C-1: the operator's last call unanswered at the end");
	sync_members(w);
	/* Every member; not a spare never added, nor a removed node. */
	for (int k = 0; k < 50 && !same && !w->failed; k++) {
		int first = -1;

		rt_run_until(w, w->now_us + 100000);
		same = true;
		for (int i = 0; i < w->n_nodes; i++) {
			if (!w->nodes[i].member)
				continue;
			if (!w->nodes[i].up) { /* stopped after the heal: back soon */
				hash[i] = applied[i] = 0;
				same = false;
				continue;
			}
			hash[i] = state_hash(w, i, &applied[i]);
			if (first < 0)
				first = i;
			same = same && applied[i] == applied[first] && hash[i] == hash[first];
		}
	}
	if (!same && !w->failed) {
		char s[256] = "";

		for (int i = 0; i < w->n_nodes; i++)
			if (w->nodes[i].member)
				snprintf(s + strlen(s), sizeof(s) - strlen(s), " n%d %llu/%016llx",
				         i + 1, (unsigned long long)applied[i],
				         (unsigned long long)hash[i]);
		rt_fail(w, "convergence: the nodes differ 5 s after the settle:%s", s);
		return;
	}
	/* The final reads, each asked again (as a client would) while the
	 * answer says there is no leader yet or it is busy: converged nodes
	 * may still be electing one. SENT is when the last of them was sent. */
	sent = w->now_us;
	memset(ans, 0, sizeof(ans));
	for (int i = 0; i < w->n_nodes && !w->failed; i++)
		for (int k = 0; k < RT_KEYS && w->nodes[i].member; k++)
			rt_clients_final_get(w, i, k, &ans[i][k]);
	for (uint64_t until = w->now_us + 6000000; w->now_us < until && !w->failed;) {
		bool all = true;

		rt_run_until(w, w->now_us + 10000);
		for (int i = 0; i < w->n_nodes; i++)
			for (int k = 0; k < RT_KEYS && w->nodes[i].member; k++) {
				struct rt_answer *a = &ans[i][k];
				bool done = a->answered && a->at_us <= w->now_us;

				if (done && (a->status == 503 || a->status == 504)) {
					json_decref(a->body);
					sent = w->now_us;
					rt_clients_final_get(w, i, k, a);
					done = false;
				}
				all = all && done;
			}
		if (all)
			break;
	}
	for (int i = 0; i < w->n_nodes && !w->failed; i++)
		for (int k = 0; k < RT_KEYS && !w->failed && w->nodes[i].member; k++) {
			if (!ans[i][k].answered)
				rt_fail(w, "C-1: n%d's final get of k%d unanswered", i + 1, k);
			else
				rt_clients_final_check(w, k, sent, &ans[i][k]);
		}
}

/* On a failure: what each node was doing. */
static void dump_nodes(struct rt_world *w)
{
	for (int i = 0; i < w->n_nodes; i++) {
		struct rt_node *rn = &w->nodes[i];
		struct node *n = rn->n;

		if (!rn->up) {
			printf("  n%d down\n", i + 1);
			continue;
		}
		rt_enter(w, i);
		printf("  n%d term %llu %s leader %llu applied %llu calls %zu (", i + 1,
		       (unsigned long long)raft_term(n->raft), raft_role_name(raft_role(n->raft)),
		       (unsigned long long)raft_leader(n->raft),
		       (unsigned long long)persist_state_applied_index(n->pstate), n->n_calls);
		for (int k = 0; k <= W_POLL; k++)
			printf("%s%zu", k ? " " : "", n->waits[k].n);
		printf(") peers");
		for (int k = 0; k < w->n_nodes; k++)
			if (k != i)
				printf(" n%d:%s", k + 1,
				       transport_connected(n->transport, (uint64_t)k + 1) ? "up"
				                                                          : "down");
		printf("%s now %llu ms, last tick at %llu us\n",
		       rn->partitioned ? " (cut off)" : "", (unsigned long long)node_now_ms(),
		       (unsigned long long)last_tick[i]);
		for (int k = 0; k <= W_POLL; k++)
			for (struct ncall *c = n->waits[k].head; c; c = c->next)
				printf("    call %llu wait %d deadline %llu ms\n",
				       (unsigned long long)c->id, k,
				       (unsigned long long)c->deadline_ms);
	}
	rt_enter(w, -1);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int run_seed(uint64_t seed, int n_nodes, bool trace, const char *root)
{
	static struct rt_world world;
	struct rt_world *w = &world;

	memset(w, 0, sizeof(*w));
	rt_w = w;
	w->seed = seed;
	w->trace = trace;
	w->current = -1;
	sim_rng_seed(&w->rng, seed);
	w->n_nodes = n_nodes;
	w->n_clients = 2 + (int)sim_below(&w->rng, 3);
	w->latency_us = 100 + (unsigned)sim_below(&w->rng, 1500);
	w->jitter_us = (unsigned)sim_below(&w->rng, 2000);
	w->reset_per_mille = (unsigned)sim_below(&w->rng, 3);
	w->crash_per_mille = 200 + (unsigned)sim_below(&w->rng, 500);
	w->partition_per_mille = 200 + (unsigned)sim_below(&w->rng, 600);
	w->pause_per_mille = (unsigned)sim_below(&w->rng, 400);
	w->sigterm_per_mille = (unsigned)sim_below(&w->rng, 400);
	w->torn_writes = sim_chance(&w->rng, 500);
	w->power_per_mille = (unsigned)sim_below(&w->rng, 1000);
	w->rack_per_mille = sim_chance(&w->rng, 300) ? 50 + (unsigned)sim_below(&w->rng, 150) : 0;
	w->fsync_us = 20 + (unsigned)sim_below(&w->rng, 3000);
	w->slow_sync_per_mille = sim_chance(&w->rng, 200) ? (unsigned)sim_below(&w->rng, 20) : 0;
	w->wall_per_mille = (unsigned)sim_below(&w->rng, 300);
	w->fault_until_us = 4000000 + sim_below(&w->rng, 4000000);
	w->end_us = w->fault_until_us + 2000000;
	snprintf(w->base, sizeof(w->base), "%.200s/seed-%llu", root, (unsigned long long)seed);
	if (mkdir(w->base, 0700) != 0 && errno != EEXIST) {
		perror(w->base);
		return 2;
	}
	coord_log_set_level(trace ? COORD_LOG_INFO : COORD_LOG_ERROR);
	rt_disk_install();
	rt_net_start(w);
	rt_limits_start(w);
	/* A third of the 3-node seeds have a spare that the operator adds,
	 * promotes, and then removes one of the others (operator.c). */
	w->n_founders = n_nodes;
	if (n_nodes == 3 && !wipes && sim_chance(&w->rng, 333))
		w->n_nodes = n_nodes = 4;
	for (int i = 0; i < n_nodes; i++) {
		struct rt_node *rn = &w->nodes[i];

		rn->member = i < w->n_founders;
		rn->spare = !rn->member;
		rn->slot = i;
		rn->id = (uint64_t)i + 1;
		snprintf(rn->data, sizeof(rn->data), "%.300s/n%d", w->base, i + 1);
		snprintf(rn->http, sizeof(rn->http), "127.0.0.1:%d", 17000 + i + 1);
		snprintf(rn->raft, sizeof(rn->raft), "127.0.0.1:%d", 18000 + i + 1);
		/* Clocks up to 10% apart, from unrelated origins. */
		rn->rate = 0.95 + (double)sim_below(&w->rng, 1000) / 10000.0;
		rn->clock_base_us = sim_below(&w->rng, 1000000000ull);
		rt_wall_start(w, i);
	}
	for (int i = 0; i < n_nodes && !w->failed; i++)
		node_start(w, i);
	rt_clients_start(w);
	if (w->n_nodes > w->n_founders)
		rt_operator_start(w);
	rt_push(w, 2000000, RT_EV_FAULT, -1, NULL, 0);
	if (wipes)
		rt_push(w, 2000000 + sim_below(&w->rng, w->fault_until_us - 3900000), RT_EV_FAULT,
		        -1, NULL, 2); /* it takes up to 1.8 s: done before the settle */
	rt_run_until(w, w->fault_until_us);
	for (int i = 0; i < n_nodes; i++) { /* the settle: every fault heals */
		if (!w->nodes[i].up && !w->nodes[i].stopped && !w->failed)
			node_start(w, i);
		if (w->nodes[i].partitioned)
			rt_net_isolate(w, i, false);
	}
	rt_run_until(w, w->end_us + 1000000);
	if (!w->failed)
		check_end(w);
	if (!w->failed)
		rt_bound_phase(w);
	if (w->failed)
		dump_nodes(w);
	if (w->failed)
		printf("FAIL seed %llu at %.3f ms: %s\n  replay: coord-sim --seed %llu --nodes %d "
		       "--trace%s\n",
		       (unsigned long long)seed, (double)w->fail_us / 1000.0, w->why,
		       (unsigned long long)seed, w->n_founders, replay_opts);
	else if (trace)
		printf("seed %llu passed: %u calls, %u entries checked, %u states compared\n",
		       (unsigned long long)seed, rt_clients_calls(), rt_apply_checked(),
		       hashes_compared);
	fflush(stdout);
	nftw(w->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return w->failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t first = 1, n_seeds = 1;
	int n_nodes = 3, passed = 0, failed = 0;
	bool trace = false, until_fail = false;
	char root[256];
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");

	/* Transparent huge pages for malloc: a seed touches some 20 MB of heap
	 * that is new to the process, and a first touch of each 4 KiB page is
	 * costly on a virtual machine (a seed takes a sixth less time with
	 * them). glibc reads the tunable at start, hence the exec. */
	if (!getenv("GLIBC_TUNABLES")) {
		setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 1);
		execv("/proc/self/exe", argv); /* on failure: go on as we are */
	}

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seeds") && i + 1 < argc)
			n_seeds = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--first-seed") && i + 1 < argc)
			first = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			first = strtoull(argv[++i], NULL, 10), n_seeds = 1;
		else if (!strcmp(argv[i], "--until-fail"))
			until_fail = true;
		else if (!strcmp(argv[i], "--nodes") && i + 1 < argc)
			n_nodes = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--trace"))
			trace = true;
		else if (!strcmp(argv[i], "--wipes"))
			wipes = true, replay_opt(argv[i], NULL);
		else if (!strcmp(argv[i], "--break") && i + 1 < argc &&
		         rt_apply_set_break(argv[i + 1]))
			replay_opt(argv[i], argv[i + 1]), i++;
		else if (!strcmp(argv[i], "--node-flag") && i + 1 < argc &&
		         n_node_flags < RT_NODE_FLAGS_MAX)
			node_flags[n_node_flags++] = argv[i + 1], replay_opt(argv[i], argv[i + 1]),
			i++;
		else {
			fprintf(stderr,
			        "usage: coord-sim [--seeds N] [--first-seed S] [--seed X] "
			        "[--nodes 1-%d] [--trace] [--until-fail] [--wipes] [--node-flag "
			        "FLAG]... "
			        "[--break kv-NAME]\n",
			        RT_NODES_MAX);
			return 2;
		}
	}
	if (n_nodes < 1 || n_nodes > RT_NODES_MAX)
		return fprintf(stderr, "coord-sim: --nodes is 1 to %d\n", RT_NODES_MAX), 2;
	snprintf(root, sizeof(root), "%s/coord-sim.%d", tmp ? tmp : "/tmp", (int)getpid());
	if (mkdir(root, 0700) != 0)
		return perror(root), 2;
	for (uint64_t s = first; s < first + n_seeds; s++) {
		pid_t pid;

		fflush(stdout);
		pid = fork();
		int status = 0;

		if (pid == 0)
			_exit(run_seed(s, n_nodes, trace, root));
		waitpid(pid, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			passed++;
			continue;
		}
		failed++;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
			printf("FAIL seed %llu: %s %d (a node's fail-stop, or a crash)\n  replay: "
			       "coord-sim --seed %llu --nodes %d --trace%s\n",
			       (unsigned long long)s, WIFEXITED(status) ? "exit" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			       (unsigned long long)s, n_nodes, replay_opts);
		if (until_fail)
			break;
	}
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
