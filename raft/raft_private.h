/* raft_private.h: the core's state and the functions its files share.
 *
 * Not installed: only the core's .c files include it. Every internal
 * function carries the prefix of the file that defines it (log_, election_,
 * progress_, replication_, ...) so that its name says which file to open.
 *
 * Invariants of struct raft (asserted where they can break):
 *   I1  log.base <= commit <= last index; applied <= commit.
 *   I2  a leader's own match is log.persisted: it counts itself toward
 *       commitment only after its own fsync (DESIGN.md rule 2).
 *   I3  entries <= commit are never truncated (rule 3).
 *   I4  between raft_ready() and raft_advance() only inspection functions
 *       are called (in_ready), so the pointers handed out stay valid.
 *   I5  every message in the outbox vouches only for state the next ready
 *       makes durable: votes of superseded terms and acknowledgements of
 *       truncated entries are dropped from it (rules 1, 2).
 */
#ifndef COORD_RAFT_PRIVATE_H
#define COORD_RAFT_PRIVATE_H

#include "raft.h"

/* Messages queued for the next ready: bounded so a flood of input cannot grow
 * the outbox without limit; past it messages are dropped (like a lossy
 * network, which Raft tolerates). The outbox starts small and doubles. */
#define RAFT_MAX_OUTBOX     1024
#define RAFT_OUTBOX_INITIAL 16

/* The in-memory log: entries base+1 .. base+n, all owning their data.
 * base/base_term describe the last entry compacted away (or the snapshot
 * the log starts from). */
struct raft_log {
	struct raft_entry *entries;
	size_t n;
	size_t cap;
	uint64_t base;
	uint64_t base_term;
	uint64_t persisted; /* entries <= persisted are durable (advance) */
};

enum raft_progress_state {
	PROGRESS_PROBE = 0, /* one AppendEntries at a time until a match */
	PROGRESS_REPLICATE, /* pipelined within the inflight window */
	PROGRESS_SNAPSHOT   /* sending InstallSnapshot chunks */
};

/* A leader's view of one server (thesis 3.5, figure 3.1 nextIndex/matchIndex,
 * plus flow control). */
struct raft_progress {
	uint64_t id;
	uint64_t match;
	uint64_t next;
	uint8_t state;
	bool paused;        /* PROBE: a probe is outstanding */
	bool recent_active; /* heard from since the last check-quorum round */
	uint64_t read_ack;  /* highest ReadIndex round it acknowledged */
	uint64_t heard_at;  /* r->ticks + 1 when it last answered this leader; 0: never */
	/* REPLICATE: last index of each AppendEntries in flight, a ring. */
	uint64_t inflight[RAFT_MAX_INFLIGHT];
	uint32_t inflight_start;
	uint32_t inflight_n;
	/* SNAPSHOT: the snapshot being sent and the next byte to send. */
	uint64_t snap_index;
	uint64_t snap_offset;
	unsigned snap_wait; /* ticks since the last chunk was sent */
};

/* A ReadIndex request (thesis 6.4). */
struct raft_pending_read {
	uint64_t ctx;
	uint64_t index; /* 0 until the leader has committed an own-term entry */
	uint64_t round; /* heartbeat round that must be acknowledged by a quorum */
};

/* A queued message; APPEND entries are resolved against the log at ready
 * time (the log may move in between), checked by last_term. */
struct raft_out {
	struct raft_msg m;
	uint64_t last_term;
};

struct raft {
	struct raft_config cfg;
	uint64_t prng;

	/* Persistent state (figure 3.1) and what is durable of it. */
	struct raft_hard_state hs;
	struct raft_hard_state hs_durable;
	struct raft_log log;

	/* Volatile state. */
	enum raft_role role;
	uint64_t leader;
	uint64_t applied; /* last entry handed out for apply, advanced */
	uint64_t ticks_since_leader;
	uint64_t ticks; /* raft_tick() calls since raft_new(): a clock for heard_at */
	unsigned election_elapsed;
	unsigned heartbeat_elapsed;
	unsigned timeout; /* randomized election timeout in [E, 2E) */

	/* Configuration in force: the last CONF entry in the log, else the
	 * snapshot's (thesis 4.1). conf_index is that entry's index (0: none). */
	struct raft_conf conf;
	uint64_t conf_index;
	struct raft_conf base_conf; /* configuration as of log.base */

	/* Candidate / pre-candidate tallies: ids that granted or refused. */
	uint64_t granted[RAFT_MAX_SERVERS];
	uint64_t refused[RAFT_MAX_SERVERS];
	uint32_t n_granted;
	uint32_t n_refused;

	/* Leader state. */
	struct raft_progress prs[RAFT_MAX_SERVERS];
	uint32_t n_prs;
	bool leader_ready;        /* an own-term entry committed (rule 4) */
	uint64_t transfer_target; /* 0: none (thesis 3.10) */
	unsigned transfer_elapsed;

	/* ReadIndex (thesis 6.4): a FIFO of pending requests. Both arrays hold
	 * RAFT_MAX_PENDING_READS and are allocated by the first request. */
	struct raft_pending_read *reads;
	size_t reads_start;
	size_t reads_n;
	uint64_t read_round;          /* last round started */
	bool read_round_wanted;       /* a request waits for a round to start */
	struct raft_read *done_reads; /* answered, for the next ready */
	size_t done_n;

	/* The latest durable snapshot (index 0: none). */
	struct raft_snapshot_meta snapshot;
	bool snapshot_pending; /* received, to hand out in rd.snapshot */
	/* Follower side of InstallSnapshot: the one being received. */
	struct raft_snapshot_meta snap_recv;
	uint64_t snap_recv_offset;
	bool chunk_pending;
	struct raft_snapshot_chunk chunk;
	uint8_t *chunk_buf;

	/* Outbox for the next ready. */
	struct raft_out *out;
	size_t out_n;
	size_t out_cap;
	struct raft_msg *rd_msgs; /* out_cap of them, filled by raft_ready */

	/* What the outstanding ready handed out (I4). */
	bool in_ready;
	uint64_t rd_last_index;
	uint64_t rd_last_term;
	uint64_t rd_applied;
	size_t rd_reads;
};

/* core.c ---------------------------------------------------------------------- */
bool core_is_voter(const struct raft_conf *conf, uint64_t id);
bool core_in_conf(const struct raft_conf *conf, uint64_t id);
/* True if the ids in VOTES include a majority of the voters of CONF (both
 * majorities while joint, thesis 4.3). */
bool core_quorum(const struct raft_conf *conf, const uint64_t *votes, size_t n);
uint64_t core_prng_next(struct raft *r);

/* log.c ----------------------------------------------------------------------- */
void log_init(struct raft_log *l);
void log_free(struct raft_log *l);
uint64_t log_last(const struct raft_log *l);
uint64_t log_last_term(const struct raft_log *l);
bool log_term_at(const struct raft_log *l, uint64_t index, uint64_t *term);
struct raft_entry *log_at(const struct raft_log *l, uint64_t index);
/* Appends a copy of E (index must be last+1). RAFT_OK or RAFT_ENOMEM. */
int log_append(struct raft_log *l, const struct raft_entry *e);
/* Drops entries >= INDEX. */
void log_truncate(struct raft_log *l, uint64_t index);
/* Drops entries <= INDEX (which must be held); the base becomes INDEX. */
void log_compact(struct raft_log *l, uint64_t index);
/* Drops everything; the log restarts after INDEX/TERM. */
void log_reset(struct raft_log *l, uint64_t index, uint64_t term);
/* How many entries from FROM (held) fit in MAX_BYTES and RAFT_MAX_MSG_ENTRIES
 * (at least one if any). */
uint32_t log_batch(const struct raft_log *l, uint64_t from, uint32_t max_bytes);
/* Candidate's log is at least as up-to-date as ours (thesis 3.6.1). */
bool log_up_to_date(const struct raft_log *l, uint64_t index, uint64_t term);

/* election.c ------------------------------------------------------------------ */
void election_reset_timeout(struct raft *r);
void election_become_follower(struct raft *r, uint64_t term, uint64_t leader);
void election_start(struct raft *r, bool pre_vote, bool transfer);
void election_tick(struct raft *r);
void election_recv_vote(struct raft *r, const struct raft_msg *m);
void election_recv_vote_resp(struct raft *r, const struct raft_msg *m);
/* True when a (pre)vote request must be ignored: a live leader was heard from
 * within the minimum election timeout (thesis 4.2.3). */
bool election_sticky(const struct raft *r, const struct raft_msg *m);

/* progress.c ------------------------------------------------------------------ */
struct raft_progress *progress_find(struct raft *r, uint64_t id);
void progress_reset_all(struct raft *r);
void progress_sync(struct raft *r);
void progress_become_probe(struct raft *r, struct raft_progress *pr, uint64_t next);
void progress_become_replicate(struct raft_progress *pr);
bool progress_full(const struct raft *r, const struct raft_progress *pr);
void progress_inflight_add(struct raft *r, struct raft_progress *pr, uint64_t last);
void progress_inflight_free_to(struct raft_progress *pr, uint64_t index);
void progress_inflight_free_first(struct raft_progress *pr);
bool progress_can_send(const struct raft *r, const struct raft_progress *pr);
uint64_t progress_quorum_match(const struct raft *r);
bool progress_quorum_active(const struct raft *r);
bool progress_quorum_read(const struct raft *r, uint64_t round);

/* replication.c --------------------------------------------------------------- */
void replication_become_leader(struct raft *r);
void replication_send_append(struct raft *r, struct raft_progress *pr, bool allow_empty);
void replication_broadcast_append(struct raft *r, bool allow_empty);
int replication_recv_append(struct raft *r, const struct raft_msg *m);
void replication_recv_append_resp(struct raft *r, const struct raft_msg *m);
void replication_maybe_commit(struct raft *r);
int replication_append_local(struct raft *r, uint8_t type, const void *data, size_t len);
/* Follower: raises commit to min(LEADER_COMMIT, LAST_NEW) (rule 3). */
void replication_commit_to(struct raft *r, uint64_t commit);

/* heartbeat.c ----------------------------------------------------------------- */
void heartbeat_tick(struct raft *r);
void heartbeat_broadcast(struct raft *r);
void heartbeat_recv(struct raft *r, const struct raft_msg *m);
void heartbeat_recv_resp(struct raft *r, const struct raft_msg *m);

/* read.c ---------------------------------------------------------------------- */
void read_start_round(struct raft *r);
void read_on_leader_ready(struct raft *r);
void read_release(struct raft *r);
void read_fail_all(struct raft *r);

/* transfer.c ------------------------------------------------------------------ */
void transfer_abort(struct raft *r);
void transfer_maybe_send(struct raft *r, struct raft_progress *pr);
void transfer_recv_timeout_now(struct raft *r, const struct raft_msg *m);

/* membership.c ---------------------------------------------------------------- */
/* Recomputes the configuration in force from the log (after append or
 * truncation). */
void membership_refresh(struct raft *r);
void membership_on_append(struct raft *r, const struct raft_entry *e);
void membership_on_commit(struct raft *r);
bool membership_change_in_flight(const struct raft *r);
void membership_on_compact(struct raft *r, uint64_t index);

/* snapshot.c ------------------------------------------------------------------ */
void snapshot_send(struct raft *r, struct raft_progress *pr);
void snapshot_tick(struct raft *r);
int snapshot_recv(struct raft *r, const struct raft_msg *m);
void snapshot_recv_resp(struct raft *r, const struct raft_msg *m);

/* step.c ---------------------------------------------------------------------- */
/* Queues M for the next ready (from is filled in). */
void step_send(struct raft *r, struct raft_msg *m);
void step_send_append(struct raft *r, struct raft_msg *m, uint64_t last_term);
/* Drops queued votes and vote requests of terms older than the current. */
void step_drop_stale_votes(struct raft *r);
/* Drops queued success acknowledgements of entries at or after INDEX. */
void step_drop_acks_from(struct raft *r, uint64_t index);

#endif
