/* Randomized faults on the fixture, a few hundred seeds: lost, duplicated
 * and reordered messages, partitions, crashes and restarts, snapshots,
 * transfers and reads. After every step: at most one leader per term (across
 * restarts), every node applies a prefix of one sequence (the fixture's
 * canonical check), commit never regresses on a live node, and every read
 * point covers everything committed anywhere before the read was asked.
 * The deterministic simulator (tests/sim) goes much further; this keeps a
 * cheap, always-on net under the core's own tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

/* Seeds per cluster size: small enough for the ASan run of every unit test;
 * COORD_RAFT_CHAOS_SEEDS raises it for a deeper manual run. */
#define CHAOS_SEEDS     40
#define CHAOS_STEPS     2000
#define CHAOS_MAX_TERMS 4096
#define CHAOS_MAX_READS 512

static struct cluster c;

struct chaos {
	uint64_t prng;
	uint64_t leader_of[CHAOS_MAX_TERMS]; /* term -> the one leader seen */
	uint64_t commit[CL_MAX_NODES + 1];
	uint64_t read_floor[CHAOS_MAX_READS]; /* ctx -> max commit when asked */
	uint64_t next_ctx;
	size_t reads_checked[CL_MAX_NODES + 1];
};

static uint64_t chaos_rand(struct chaos *ch, uint64_t n)
{
	uint64_t z = (ch->prng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31)) % n;
}

static uint64_t chaos_max_commit(void)
{
	uint64_t best = 0;

	for (uint64_t id = 1; id <= c.n; id++) {
		if (c.nodes[id].up && raft_commit_index(c.nodes[id].r) > best) {
			best = raft_commit_index(c.nodes[id].r);
		}
	}
	return best;
}

static void chaos_check(struct chaos *ch, uint64_t seed)
{
	for (uint64_t id = 1; id <= c.n; id++) {
		struct cl_node *nd = &c.nodes[id];
		if (!nd->up) {
			continue;
		}
		uint64_t term = raft_term(nd->r);
		if (raft_role(nd->r) == RAFT_LEADER && term < CHAOS_MAX_TERMS) {
			if (ch->leader_of[term] != 0 && ch->leader_of[term] != id) {
				fail_msg("seed %llu: two leaders in term %llu",
				         (unsigned long long)seed, (unsigned long long)term);
			}
			ch->leader_of[term] = id;
		}
		if (raft_commit_index(nd->r) < ch->commit[id]) {
			fail_msg("seed %llu: commit regressed on %llu", (unsigned long long)seed,
			         (unsigned long long)id);
		}
		ch->commit[id] = raft_commit_index(nd->r);
		for (size_t i = ch->reads_checked[id]; i < nd->n_reads; i++) {
			const struct raft_read *rd = &nd->reads[i];
			if (rd->index != 0 && rd->index < ch->read_floor[rd->ctx]) {
				fail_msg("seed %llu: stale read point %llu < %llu",
				         (unsigned long long)seed, (unsigned long long)rd->index,
				         (unsigned long long)ch->read_floor[rd->ctx]);
			}
		}
		ch->reads_checked[id] = nd->n_reads;
	}
}

static void chaos_client(struct chaos *ch, uint64_t id)
{
	struct raft *r = c.nodes[id].r;

	if (raft_role(r) != RAFT_LEADER) {
		return;
	}
	switch (chaos_rand(ch, 4)) {
	case 0:
	case 1:
		raft_propose(r, "op", 2, NULL, NULL);
		break;
	case 2:
		if (ch->next_ctx < CHAOS_MAX_READS) {
			ch->read_floor[ch->next_ctx] = chaos_max_commit();
			raft_read_index(r, ch->next_ctx++);
		}
		break;
	default:
		if (chaos_rand(ch, 8) == 0) {
			raft_transfer(r, 1 + chaos_rand(ch, c.n));
		}
		break;
	}
	cl_ready(&c, id);
}

static void chaos_fault(struct chaos *ch)
{
	uint64_t a = 1 + chaos_rand(ch, c.n), b = 1 + chaos_rand(ch, c.n);
	size_t up = 0;

	for (uint64_t id = 1; id <= c.n; id++) {
		up += c.nodes[id].up;
	}
	switch (chaos_rand(ch, 6)) {
	case 0:
		if (a != b) {
			c.cut[a][b] = true; /* one-way */
		}
		break;
	case 5:
		if (cl_leader(&c) != 0) {
			cl_isolate(&c, cl_leader(&c));
		}
		break;
	case 1:
		cl_heal(&c);
		break;
	case 2:
		if (c.nodes[a].up && up > 1) {
			cl_crash(&c, a);
		}
		break;
	case 3:
		if (!c.nodes[a].up) {
			cl_restart(&c, a);
			ch->commit[a] = 0;
		}
		break;
	default:
		if (c.nodes[a].up) {
			cl_snapshot(&c, a, 1000, 5);
		}
		break;
	}
}

static void chaos_step(struct chaos *ch)
{
	uint64_t id = 1 + chaos_rand(ch, c.n);
	uint64_t roll = chaos_rand(ch, 100);

	cl_ready_all(&c);
	if (roll < 40 && c.nq > 0) {
		size_t i = chaos_rand(ch, c.nq < 4 ? c.nq : 4); /* mild reordering */
		cl_deliver_at(&c, i);
	} else if (roll < 45 && c.nq > 0) {
		cl_drop(&c, 0, 0, id); /* a burst of loss towards one node */
	} else if (roll < 48 && c.nq > 0) {
		cl_duplicate_at(&c, chaos_rand(ch, c.nq));
	} else if (roll < 80) {
		if (c.nodes[id].up) {
			cl_tick(&c, id, 1);
		}
	} else if (roll < 92) {
		if (c.nodes[id].up) {
			chaos_client(ch, id);
		}
	} else {
		chaos_fault(ch);
	}
}

static void chaos_run(size_t nodes, uint64_t seed)
{
	static struct chaos ch;
	const struct cl_options opt = {.pre_vote = seed % 2 == 0,
	                               .check_quorum = seed % 3 != 0,
	                               .max_inflight = 4,
	                               .max_msg_bytes = 8};

	memset(&ch, 0, sizeof(ch));
	ch.prng = seed;
	ch.next_ctx = 1;
	cl_init(&c, nodes, &opt);
	for (uint64_t id = 1; id <= nodes; id++) {
		c.nodes[id].cfg.seed = seed * 31 + id;
		cl_crash(&c, id);
		cl_restart(&c, id);
	}
	for (unsigned s = 0; s < CHAOS_STEPS; s++) {
		chaos_step(&ch);
		chaos_check(&ch, seed);
	}
	/* Liveness: heal everything, restart everyone, and a leader appears. */
	cl_heal(&c);
	for (uint64_t id = 1; id <= nodes; id++) {
		if (!c.nodes[id].up) {
			cl_restart(&c, id);
		}
	}
	cl_tick_all(&c, 20 * CL_ELECTION_TICKS);
	chaos_check(&ch, seed);
	if (cl_leader(&c) == 0) {
		fail_msg("seed %llu: no leader after healing", (unsigned long long)seed);
	}
	uint64_t leader = cl_leader(&c);
	uint64_t index = 0;
	if (raft_propose(c.nodes[leader].r, "final", 5, &index, NULL) == RAFT_OK) {
		cl_ready(&c, leader);
		cl_tick_all(&c, 4 * CL_ELECTION_TICKS);
		for (uint64_t id = 1; id <= nodes; id++) {
			if (raft_commit_index(c.nodes[id].r) < index) {
				fail_msg("seed %llu: node %llu did not commit %llu",
				         (unsigned long long)seed, (unsigned long long)id,
				         (unsigned long long)index);
			}
		}
	}
	cl_free(&c);
}

static uint64_t chaos_seeds(void)
{
	const char *env = getenv("COORD_RAFT_CHAOS_SEEDS");
	uint64_t n = env != NULL ? strtoull(env, NULL, 10) : 0;

	return n > 0 ? n : CHAOS_SEEDS;
}

static void test_chaos_three_nodes(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= chaos_seeds(); seed++) {
		chaos_run(3, seed);
	}
}

static void test_chaos_five_nodes(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= chaos_seeds(); seed++) {
		chaos_run(5, 1000000 + seed);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chaos_three_nodes),
	    cmocka_unit_test(test_chaos_five_nodes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
