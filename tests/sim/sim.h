/* sim.h: the deterministic simulator coord-sim (private to tests/sim).
 *
 * One process, one thread, many Raft cores. Everything — network delays,
 * loss, duplication, partitions, crashes, clock skew, client requests — is
 * drawn from ONE generator seeded by the seed under test, so a seed replays
 * exactly. Time is a step counter; each node ticks its core every
 * SIM_TICK_PERIOD steps, give or take its skew.
 *
 * Pieces, one file each:
 *   rng.c      the world's generator
 *   store.c    a node's durable store: what survived its completed readies
 *   net.c      the simulated network (through the wire codec) and partitions
 *   host.c     a node's host: boot, crash, restart, the ready loop, snapshots
 *   check.c    the invariants, checked after every step
 *   client.c   the workload: proposals, reads, transfers, membership changes
 *   world.c    one seed: parameters, fault phase, liveness phase
 *   trace.c    the readable trace and failure reports
 *   sm_chain.c the toy state machine (a hash chain) behind sim_sm.h
 */
#ifndef COORD_SIM_H
#define COORD_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft.h"
#include "sim_sm.h"

/* Named limits ------------------------------------------------------------ */

#define SIM_MAX_VOTERS          7          /* --nodes */
#define SIM_MAX_SLOTS           16         /* founding servers plus joiners over a run */
#define SIM_WIPE_AFTER_COMMIT   2          /* wipes start once a leader committed (entry 2) */
#define SIM_WIPE_LISTED_LEARNER 250        /* per mille per step: wipe a voter listed as learner */
#define SIM_MAX_INFLIGHT        8192       /* messages in the network; beyond: dropped */
#define SIM_MAX_PROPOSALS       4096       /* tracked proposals per seed */
#define SIM_MAX_READS           1024       /* tracked reads per seed */
#define SIM_MAX_READY_LOOP      64         /* readies per node per step before "livelock" */
#define SIM_TICK_PERIOD         10         /* steps per tick at nominal clock rate */
#define SIM_MS_PER_STEP         4          /* true milliseconds per step */
#define SIM_PAYLOAD_MAX         4096       /* bytes of one proposal */
#define SIM_DEFAULT_STEPS       3000       /* fault phase */
#define SIM_LIVE_LEADER         2500       /* steps allowed to elect a leader once healed */
#define SIM_LIVE_COMMIT         3000       /* steps allowed for healed-phase work to finish */
#define SIM_MAX_TERM            (1u << 20) /* terms and indexes the checker tracks: far */
#define SIM_MAX_INDEX           (1u << 22) /* beyond any run, reached only by corruption */
#define SIM_CLUSTER_MAX         24         /* bytes of a cluster id, with its NUL */

/* The world's generator (xoshiro256**, seeded by splitmix64) ---------------- */

struct sim_rng {
	uint64_t s[4];
};

void sim_rng_seed(struct sim_rng *g, uint64_t seed);
uint64_t sim_rand(struct sim_rng *g);
/* Uniform in [0, n); n > 0. */
uint64_t sim_below(struct sim_rng *g, uint64_t n);
/* True with probability per_mille / 1000. */
bool sim_chance(struct sim_rng *g, unsigned per_mille);
/* A 64-bit mix of A and B (hash chains, fingerprints). */
uint64_t sim_mix(uint64_t a, uint64_t b);
uint64_t sim_hash_bytes(const void *data, size_t len);

/* Durable store ------------------------------------------------------------- */

struct sim_dentry {
	uint64_t term;
	uint8_t type;
	uint32_t len;
	uint8_t *data;  /* owned */
	uint64_t chain; /* hash of the log prefix ending here (log matching) */
};

/* What a node has made durable: exactly the effect of the readies whose
 * persist stage completed, and the snapshots its host took. */
struct sim_store {
	struct raft_hard_state hs;
	struct raft_snapshot_meta snap; /* index 0: none */
	uint8_t *snap_bytes;            /* snap.size bytes, owned */
	uint64_t snap_chain;            /* chain hash at snap.index */
	uint64_t first;                 /* index of e[0] */
	size_t n, cap;
	struct sim_dentry *e;
	/* An incoming snapshot being received in chunks (a durable temp file). */
	struct raft_snapshot_meta tmp_meta;
	uint8_t *tmp;
	uint64_t tmp_len; /* bytes written contiguously from 0 */
	/* The data folder's cluster id: "" until it belongs to a cluster. */
	char cluster[SIM_CLUSTER_MAX];
	/* The data folder's id (admit.h), drawn when the folder is created;
	 * 0 until then (a wiped folder gets a new one at restart). */
	uint64_t folder;
};

void sim_store_free(struct sim_store *s);
/* Last durable index: the last entry, else the snapshot's index. */
uint64_t sim_store_last(const struct sim_store *s);
/* The durable entry at INDEX, or NULL. */
const struct sim_dentry *sim_store_at(const struct sim_store *s, uint64_t index);
/* True if INDEX with TERM is durable: an entry, or covered by the snapshot. */
bool sim_store_holds(const struct sim_store *s, uint64_t index, uint64_t term);
/* Drops entries >= INDEX. */
void sim_store_truncate(struct sim_store *s, uint64_t index);
/* Appends E (data copied) with chain hash CHAIN; E->index == last + 1. */
void sim_store_append(struct sim_store *s, const struct raft_entry *e, uint64_t chain);
/* Drops entries <= INDEX (compaction behind a snapshot). */
void sim_store_compact(struct sim_store *s, uint64_t index);
/* Chain hash at INDEX if known (entry or snapshot base), else 0. */
uint64_t sim_store_chain_at(const struct sim_store *s, uint64_t index);

/* Network ------------------------------------------------------------------- */

struct sim_packet {
	uint64_t at;       /* delivery step */
	uint64_t sent;     /* send step */
	unsigned from_inc; /* the sender's incarnation (its connection) */
	uint64_t seq;      /* ties broken by send order */
	uint64_t from, to;
	size_t len;
	uint8_t *bytes; /* one encoded frame, owned */
};

struct sim_net {
	struct sim_packet *q; /* a min-heap on (at, seq) */
	size_t n;
	uint64_t seq;
	/* blocked[a][b]: slot a cannot send to slot b. */
	bool blocked[SIM_MAX_SLOTS][SIM_MAX_SLOTS];
	bool partitioned;
};

/* Nodes --------------------------------------------------------------------- */

struct sim_node {
	bool used;    /* the slot holds a server */
	bool up;      /* running (not crashed) */
	bool retired; /* removed from the cluster and shut down for good */
	bool member;  /* has been in a committed configuration */
	bool wiped;   /* restarted with an empty store (until it adopts an id again) */
	/* Step at which a committed configuration without it was seen (after
	 * having been a member), 0 while it is not removed. A removed server
	 * either retires or, in some seeds, keeps running on its stale state. */
	uint64_t removed_at;
	uint64_t id; /* slot + 1 */
	struct raft *r;
	struct sim_store store;
	struct sim_store lost; /* wiped: what the lost data folder held */
	struct sim_sm *sm;
	uint64_t applied;              /* the host's state machine index */
	struct raft_conf conf_applied; /* configuration as of applied */
	/* What the checker saw last, within this incarnation. */
	uint64_t seen_commit;
	uint64_t seen_term;
	enum raft_role seen_role;
	uint64_t ready_commit; /* commit index after the last completed ready */
	/* Clock: ticks every SIM_TICK_PERIOD * 1000 / rate steps. */
	unsigned rate; /* per mille of nominal */
	unsigned acc;
	uint64_t clock_pm;   /* local clock, thousandths of a ms (SIM_MS_PER_STEP per step) */
	uint64_t restart_at; /* while down */
	unsigned incarnation;
	uint64_t last_snapshot_try;
	/* Per peer slot: the folder this incarnation last admitted under its id
	 * (admit.h: seen), 0 if none since it started. */
	uint64_t seen[SIM_MAX_SLOTS];
};

/* Workload -------------------------------------------------------------------- */

struct sim_proposal {
	uint64_t index, term;
	uint64_t fp; /* fingerprint of the payload */
	bool healed; /* made in the liveness phase: must commit */
	bool committed;
};

struct sim_read {
	uint64_t ctx;
	int slot;
	unsigned incarnation;
	uint64_t floor; /* highest commit index anywhere when issued */
	uint64_t index; /* read point answered by the core (0: not yet) */
	bool healed;    /* issued in the liveness phase: must succeed */
	bool done;
};

/* Checker history (across restarts) -------------------------------------------- */

struct sim_canon {
	uint64_t term;  /* 0: unknown */
	uint64_t fp;    /* entry fingerprint (0 until applied somewhere) */
	uint64_t state; /* state machine hash after applying it */
	bool applied;
};

struct sim_check {
	uint64_t *term_leader; /* by term */
	size_t n_terms;
	uint64_t *votes[SIM_MAX_SLOTS]; /* by term: the durable vote */
	size_t n_votes[SIM_MAX_SLOTS];
	struct sim_canon *canon; /* by index: the one committed sequence */
	size_t n_canon;
	uint64_t commit_max; /* highest commit index seen anywhere */
	/* Log matching: (index, term) -> chain hash, open addressing. */
	struct sim_chain_slot {
		uint64_t index, term, chain;
	} * chains;
	size_t chains_cap, chains_n;
	/* The newest committed configuration seen applied. */
	struct raft_conf conf;
	uint64_t conf_index;
};

/* Parameters of one seed --------------------------------------------------------- */

struct sim_params {
	unsigned nodes;
	uint64_t steps;
	unsigned loss, dup, crash, partition; /* per mille per step or message */
	unsigned delay_max, tail;             /* delivery delay in steps */
	unsigned skew;                        /* per mille of clock rate spread */
	unsigned snapshot_every, keep;        /* applied entries between snapshots */
	unsigned snapshot_pad;                /* extra snapshot bytes (chunking) */
	unsigned propose, read, transfer, member;
	unsigned wipe;     /* per mille per step: a member loses its data folder */
	bool keep_removed; /* removed servers keep running instead of retiring */
	unsigned payload_max;
	uint32_t max_msg_bytes, max_inflight;
	bool pre_vote, check_quorum;
	unsigned election_ticks, heartbeat_ticks;
};

enum sim_phase { SIM_FAULTS = 0, SIM_HEALED };

/* Host-side faults the simulator can inject on purpose (--break), to show
 * that its checkers fire: a run with any of them must fail. */
enum sim_break {
	SIM_BREAK_NONE = 0,
	SIM_BREAK_SEND_FIRST,     /* send a ready's messages before persisting it */
	SIM_BREAK_LYING_DISK,     /* drop the last entry of every persisted batch */
	SIM_BREAK_FORGET_VOTE,    /* lose the durable vote across a restart */
	SIM_BREAK_LOCAL_READ,     /* answer reads from local state, without ReadIndex */
	SIM_BREAK_CORRUPT_NET,    /* flip bytes in frames on the wire */
	SIM_BREAK_ADMIT_LOST,     /* admit a server that lost its data as a newcomer */
	SIM_BREAK_ADMIT_STRANGER, /* admit servers the configuration does not list */
	SIM_BREAK_NO_PEER_RESET,  /* admit a newcomer without raft_peer_reset */
	SIM_BREAK_UNBOUND,        /* admission ignores the folders voters are bound to */
	SIM_BREAK_MAX = SIM_BREAK_UNBOUND
};

/* The name of B for --break, or NULL. */
const char *sim_break_name(enum sim_break b);

/* What one run is: from the command line. */
struct sim_run {
	unsigned nodes;
	uint64_t steps;
	bool trace;
	enum sim_break brk;
	bool wipes; /* --wipes: members lose their data folders */
};

/* A peer connection between two slots, opened by HELLOs both ways (conn.c):
 * one per pair of incarnations, opened again when either side's
 * configuration lists the other differently. */
struct sim_conn {
	bool open;
	unsigned inc[2];   /* incarnations of the lower and the higher slot */
	int lists[2];      /* how each side's configuration listed the other */
	uint64_t binds[2]; /* and which folder it bound the other to */
	int verdict[2];    /* enum admit_verdict each side decided */
};

struct sim_world {
	uint64_t seed;
	struct sim_params p;
	struct sim_rng rng;
	struct sim_rng ops; /* the operator's: data-folder losses, removed servers kept */
	uint64_t now;
	enum sim_phase phase;
	uint64_t healed_at;
	uint64_t work_until; /* healed phase: clients stop issuing requests */
	bool live_work;      /* healed with a leader: requests must complete */
	struct sim_node nodes[SIM_MAX_SLOTS];
	int n_slots;
	struct sim_net net;
	struct sim_conn conns[SIM_MAX_SLOTS][SIM_MAX_SLOTS]; /* [lower][higher slot] */
	char cluster[SIM_CLUSTER_MAX];                       /* the founders' cluster id */
	struct sim_check check;
	struct sim_proposal props[SIM_MAX_PROPOSALS];
	size_t n_props;
	struct sim_read reads[SIM_MAX_READS];
	size_t n_reads;
	uint64_t next_ctx;
	uint64_t payload_seq;
	bool trace;
	enum sim_break brk;
	bool wipes;
	bool failed;
	const struct sim_sm_ops *sm_ops;
	/* Counters for the summary of a traced run. */
	uint64_t n_sent, n_delivered, n_dropped, n_crashes, n_elections, n_wipes, n_refused;
	uint64_t n_folders; /* data folders created so far (folder ids) */
};

/* world.c */
/* Runs SEED as RUN says (voters, fault-phase steps, trace, injected
 * fault), then the liveness phase. Returns true if every invariant held. */
bool sim_run_seed(uint64_t seed, const struct sim_run *run);
int sim_slot_of(const struct sim_world *w, uint64_t id);

/* host.c */
void sim_host_boot(struct sim_world *w, int slot, const struct raft_conf *conf);
void sim_host_join(struct sim_world *w, int slot);
void sim_host_crash(struct sim_world *w, int slot);
void sim_host_restart(struct sim_world *w, int slot);
void sim_host_retire(struct sim_world *w, int slot);
/* SLOT loses its data folder: it crashes, and restarts later with an empty
 * store and no cluster id, under the same node id. */
void sim_host_wipe(struct sim_world *w, int slot);
/* A new data folder's id for SLOT: unique in the run, drawn without the
 * random streams so that seeds replay as before. */
uint64_t sim_host_new_folder(struct sim_world *w, int slot);
/* True when the newest committed configuration binds SLOT's id to a data
 * folder other than the one it has now. */
bool sim_host_bound_elsewhere(const struct sim_world *w, int slot);
/* True while SLOT, wiped, has not been admitted back (a lost voter): it
 * has no cluster id, or took one back but is bound to its lost folder. */
bool sim_host_lost(const struct sim_world *w, int slot);
/* Runs the ready loop of SLOT until the core has nothing more. */
void sim_host_drain(struct sim_world *w, int slot);
void sim_host_maybe_snapshot(struct sim_world *w, int slot);
void sim_host_free(struct sim_world *w, int slot);

/* net.c */
/* Encodes MSG (through the codec, checking the round trip) and queues it
 * with the world's loss, duplication and delay. */
void sim_net_send(struct sim_world *w, const struct raft_msg *msg);
/* Delivers every packet due at w->now. */
void sim_net_deliver(struct sim_world *w);
/* Starts a random partition; TARGET (a slot, or -1) is the node it is
 * aimed at: isolated, deaf, mute, or the bridge. */
void sim_net_partition(struct sim_world *w, int target);
void sim_net_heal(struct sim_world *w);
void sim_net_free(struct sim_net *net);

/* conn.c */
/* True if PKT may reach slot TO: it travels on the connection between its
 * sender's incarnation and TO's, opened (HELLOs, admit_peer, ADOPT and
 * raft_peer_reset) if needed, and TO admitted the sender. False too if the
 * sender restarted since: that connection closed with the packet on it. */
bool sim_conn_admits(struct sim_world *w, const struct sim_packet *pkt, int to);

/* check.c */
void sim_check_free(struct sim_check *c);
/* Per-event checks called by the host. */
void sim_check_hard_state(struct sim_world *w, int slot, const struct raft_hard_state *hs);
void sim_check_entries(struct sim_world *w, int slot, const struct raft_entry *e, size_t n);
uint64_t sim_check_chain(struct sim_world *w, int slot, const struct raft_entry *e,
                         uint64_t prev_chain);
void sim_check_send(struct sim_world *w, int slot, const struct raft_msg *m);
/* E was applied and STATE is the machine's hash after it. */
void sim_check_apply(struct sim_world *w, int slot, const struct raft_entry *e, uint64_t state);
/* A snapshot at INDEX was installed; STATE is the machine's hash after it. */
void sim_check_snapshot_install(struct sim_world *w, int slot, uint64_t index, uint64_t state);
/* The chain hash recorded for (INDEX, TERM) anywhere, or 0. */
uint64_t sim_check_chain_lookup(struct sim_world *w, uint64_t index, uint64_t term);
/* Compares SLOT's role, term and commit index with what was seen last. */
void sim_check_observe(struct sim_world *w, int slot);
/* I13: a message of PKT from a removed server, before (BEFORE) and after
 * it stepped slot TO. */
struct sim_check_mark {
	bool watch;
	bool lagging;     /* the receiver's configuration still lists the sender */
	uint64_t term;    /* the receiver's, before */
	uint64_t ceiling; /* the highest term the message may raise it to */
	uint64_t leader;
	enum raft_role role;
};
void sim_check_removed_before(struct sim_world *w, const struct sim_packet *pkt, int to,
                              struct sim_check_mark *before);
void sim_check_removed_after(struct sim_world *w, const struct sim_packet *pkt, int to,
                             const struct sim_check_mark *before);
/* Everything that must hold between steps. */
void sim_check_step(struct sim_world *w);
bool sim_quorum_holds(const struct sim_world *w, const struct raft_conf *conf, uint64_t index,
                      uint64_t term);

/* client.c */
/* True if clients send leader requests to SLOT: it believes it leads. */
bool sim_client_leader_ok(const struct sim_world *w, int slot);
void sim_client_step(struct sim_world *w);
void sim_client_read_ready(struct sim_world *w, int slot, const struct raft_read *rd);
/* Answers reads of SLOT whose index has been applied. */
void sim_client_answer_reads(struct sim_world *w, int slot);
void sim_client_crashed(struct sim_world *w, int slot);
void sim_client_applied(struct sim_world *w, int slot, const struct raft_entry *e);
/* Liveness: true once all healed-phase proposals and reads completed. */
bool sim_client_settled(struct sim_world *w, const char **why);

/* member.c */
/* Maybe starts one membership change through LEADER. */
void sim_member_step(struct sim_world *w, int leader);
/* Shuts down servers removed by the newest committed configuration. */
void sim_member_retire(struct sim_world *w);

/* trace.c */
void sim_trace(struct sim_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records an invariant violation at SLOT (-1: the world) and prints it with
 * the replay command; the seed fails. */
void sim_fail(struct sim_world *w, int slot, const char *invariant, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const char *sim_msg_line(const struct raft_msg *m, char *buf, size_t cap);

#endif
