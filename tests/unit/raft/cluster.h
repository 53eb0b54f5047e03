/* cluster.h: the shared fixture of the Raft core's unit tests: N cores in
 * one process, a message queue between them, and per node a simulated
 * durable store (hard state, snapshot, log) that a crash keeps and an
 * in-memory state machine (the applied entries) that a crash loses.
 *
 * Every node is driven exactly like the host loop of raft.h: persist the
 * ready, then queue its messages, then apply, then advance. Tests control
 * delivery: deliver everything, one message, or drop by link.
 */
#ifndef COORD_TEST_RAFT_CLUSTER_H
#define COORD_TEST_RAFT_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft.h"

#define CL_MAX_NODES       7
#define CL_MAX_QUEUE       8192
#define CL_MAX_APPLIED     4096
#define CL_MAX_READS       256
#define CL_ELECTION_TICKS  10
#define CL_HEARTBEAT_TICKS 2
#define CL_MAX_CANON       16384 /* indexes tracked by the state machine safety check */

struct cl_node {
	struct raft *r;
	bool up;
	struct raft_config cfg;
	/* Durable store: what survives a crash. */
	struct raft_hard_state hs;
	struct raft_snapshot_meta snap;
	struct raft_entry *log; /* entries after snap.index, owning their data */
	size_t n_log;
	/* The state machine: applied entries (index, term, type) in order. */
	struct raft_entry applied[CL_MAX_APPLIED];
	size_t n_applied;
	uint64_t applied_index;
	/* Read points answered, in order. */
	struct raft_read reads[CL_MAX_READS];
	size_t n_reads;
	size_t chunks; /* snapshot chunks persisted */
};

struct cl_msg {
	struct raft_msg m; /* entries deep-copied */
};

struct cluster {
	size_t n; /* nodes 1..n are ids 1..n */
	struct cl_node nodes[CL_MAX_NODES + 1];
	struct cl_msg *queue;
	size_t nq;
	bool cut[CL_MAX_NODES + 1][CL_MAX_NODES + 1]; /* [from][to] dropped */
	/* When set, a node persists and sends nothing: its readies are held. */
	bool hold[CL_MAX_NODES + 1];
	/* Statistics of delivered messages, by type. */
	size_t delivered[RAFT_MSG_TYPE_MAX + 1];
	size_t rejected[RAFT_MSG_TYPE_MAX + 1];
	/* State machine safety: the term of the entry applied at each index,
	 * by whichever node applied it first; every later apply must match. */
	uint64_t canon[CL_MAX_CANON];
	/* The largest AppendEntries sent: entries and payload bytes. */
	uint32_t max_append_entries;
	uint64_t max_append_bytes;
};

struct cl_options {
	bool pre_vote;
	bool check_quorum;
	uint32_t max_inflight;
	uint32_t max_msg_bytes;
	size_t voters; /* bootstrap voters among the n nodes; 0: all */
};

/* Starts N nodes (ids 1..N) from the same bootstrap configuration. */
void cl_init(struct cluster *c, size_t n, const struct cl_options *opt);
void cl_free(struct cluster *c);

struct raft *cl_raft(struct cluster *c, uint64_t id);

/* Runs node ID's ready loop: persist, queue messages, apply, advance. */
void cl_ready(struct cluster *c, uint64_t id);
void cl_ready_all(struct cluster *c);
/* Delivers queued messages (and runs readies) until nothing is left;
 * returns how many messages were delivered. */
size_t cl_deliver_all(struct cluster *c);
/* Delivers the first queued message matching (type, from, to), 0 = any;
 * returns false if there is none. */
bool cl_deliver_one(struct cluster *c, int type, uint64_t from, uint64_t to);
/* Delivers, or queues a second copy of, the I-th queued message (I < nq). */
void cl_deliver_at(struct cluster *c, size_t i);
void cl_duplicate_at(struct cluster *c, size_t i);
/* Drops queued messages matching (type, from, to); returns how many. */
size_t cl_drop(struct cluster *c, int type, uint64_t from, uint64_t to);
/* Counts queued messages matching (type, from, to). */
size_t cl_count(const struct cluster *c, int type, uint64_t from, uint64_t to);
/* The first queued message matching, or NULL. */
const struct raft_msg *cl_find(const struct cluster *c, int type, uint64_t from, uint64_t to);

void cl_tick(struct cluster *c, uint64_t id, unsigned ticks);
/* Ticks every live node TICKS times, delivering messages after each tick. */
void cl_tick_all(struct cluster *c, unsigned ticks);
/* Makes ID the leader: ticks it alone until it campaigns, then delivers. */
void cl_elect(struct cluster *c, uint64_t id);
/* Makes ID the leader delivering only vote traffic, so that the test
 * controls what happens to the new leader's first AppendEntries. */
void cl_campaign(struct cluster *c, uint64_t id);
/* The leader among live nodes with the highest term, or 0. */
uint64_t cl_leader(const struct cluster *c);

/* Proposes a NORMAL entry with TEXT on ID; asserts success; returns index. */
uint64_t cl_propose(struct cluster *c, uint64_t id, const char *text);

/* The host of ID takes a snapshot of SIZE bytes at its applied index
 * (durably, dropping its stored entries up to it) and tells the core,
 * which keeps KEEP entries; returns the core's new base. */
uint64_t cl_snapshot(struct cluster *c, uint64_t id, uint64_t size, uint64_t keep);

void cl_cut(struct cluster *c, uint64_t a, uint64_t b); /* both directions */
void cl_isolate(struct cluster *c, uint64_t id);
void cl_heal(struct cluster *c);

/* Crash: the core and its state machine are lost, the durable store stays.
 * Restart: a new core from the durable store. */
void cl_crash(struct cluster *c, uint64_t id);
void cl_restart(struct cluster *c, uint64_t id);
/* Adds node ID (not in the bootstrap configuration), empty. */
void cl_add_node(struct cluster *c, uint64_t id);

/* Checks state machine safety across all nodes: applied sequences are
 * prefixes of one another (fails the test otherwise). */
void cl_check_applied(const struct cluster *c);
/* The durable log of node ID: term of the entry at INDEX (0 if none). */
uint64_t cl_durable_term(const struct cluster *c, uint64_t id, uint64_t index);
uint64_t cl_durable_last(const struct cluster *c, uint64_t id);

/* Fixture internals shared by cluster.c and cluster_net.c. */
struct raft_entry cl_entry_copy(const struct raft_entry *e);  /* caller frees data */
void cl_enqueue(struct cluster *c, const struct raft_msg *m); /* unless the link is cut */
void cl_msg_free(struct raft_msg *m);

#endif
