/* raft.h: the Raft protocol as a pure, single-threaded state machine.
 *
 * Reference: D. Ongaro, "Consensus: Bridging Theory and Practice", 2014 (the
 * thesis), and the I/O-free design of etcd's raft package. The core never
 * reads a clock, opens a socket or file, spawns a thread or calls rand():
 * time arrives as raft_tick() calls, randomness from the seed in its config,
 * and everything it wants done leaves as data through raft_ready().
 *
 * The host's loop (coord's node runtime, or the simulator) is:
 *
 *     raft_step() / raft_tick() / raft_propose() / raft_read_index() ...
 *     while (raft_has_ready(r)) {
 *         raft_ready(r, &rd);
 *         1. persist: rd.hs (if hs_changed), rd.snapshot (if any), rd.snap_chunk
 *            (if any), then rd.entries, durably, in one transaction;
 *         2. send rd.msgs;
 *         3. install rd.snapshot into the state machine if set, THEN apply
 *            rd.committed in order (they follow the snapshot), and answer
 *            rd.reads once applied >= their index;
 *         raft_advance(r, &rd);
 *     }
 *
 * Safety rules (DESIGN.md) the contract rests on: messages in a ready are
 * sent only after that ready's hard state and entries are durable (rules 1,
 * 2); the leader counts its own entries toward commitment only in
 * raft_advance(), i.e. after its own fsync (rule 2).
 *
 * Memory: everything a raft_ready points to is owned by the core and stays
 * valid until the matching raft_advance(). Data passed in (messages,
 * proposals, restored entries) is borrowed for the call and copied if kept.
 * Between raft_ready() and raft_advance() only the inspection functions may
 * be called (the others assert it).
 */
#ifndef COORD_RAFT_H
#define COORD_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Named limits ------------------------------------------------------------ */

#define RAFT_MAX_SERVERS       9          /* voters + learners in a configuration */
#define RAFT_ADDR_MAX          64         /* bytes of an opaque server address, with NUL */
#define RAFT_MAX_ENTRY_BYTES   (1u << 20) /* payload of one entry */
#define RAFT_MAX_MSG_ENTRIES   512        /* entries in one AppendEntries */
#define RAFT_MAX_MSG_BYTES     (1u << 20) /* entry payload bytes in one AppendEntries */
#define RAFT_MAX_INFLIGHT      64         /* AppendEntries in flight per follower */
#define RAFT_MAX_READY_APPLY   256        /* committed entries handed out by one ready */
#define RAFT_MAX_PENDING_READS 8192       /* ReadIndex requests waiting for a round */
#define RAFT_MAX_UNCOMMITTED   65536      /* proposed but uncommitted entries on a leader */
/* Bytes of one InstallSnapshot chunk; the simulator builds its core with
 * smaller ones (tests/sim/CMakeLists.txt). */
#ifndef RAFT_SNAPSHOT_CHUNK
#define RAFT_SNAPSHOT_CHUNK (256u << 10)
#endif

/* Errors -------------------------------------------------------------------- */

enum raft_err {
	RAFT_OK = 0,
	RAFT_ENOTLEADER,  /* the request needs the leader; see raft_leader() */
	RAFT_EBUSY,       /* a limit is reached, or a change/transfer is in flight */
	RAFT_ETOOBIG,     /* payload over RAFT_MAX_ENTRY_BYTES */
	RAFT_EINVAL,      /* malformed argument or message */
	RAFT_ENOMEM,      /* allocation failed */
	RAFT_ENOTCAUGHTUP /* a membership change would promote a lagging learner */
};

/* A static sentence for ERR. */
const char *raft_strerror(int err);

/* Log entries --------------------------------------------------------------- */

enum raft_entry_type {
	RAFT_ENTRY_NORMAL = 1, /* a command for the state machine */
	RAFT_ENTRY_NOOP = 2,   /* appended by a new leader (thesis 3.6.2) */
	RAFT_ENTRY_CONF = 3    /* a configuration, encoded with raft_conf_encode() */
};

struct raft_entry {
	uint64_t term;
	uint64_t index;
	uint8_t type; /* enum raft_entry_type */
	uint32_t len;
	uint8_t *data; /* len bytes; NULL when len == 0 */
};

/* Membership ---------------------------------------------------------------- */

enum raft_server_role {
	RAFT_LEARNER = 0, /* receives the log, does not vote or count for quorum */
	RAFT_VOTER = 1
};

struct raft_server {
	uint64_t id; /* non-zero, unique in the configuration */
	/* The data folder this server's votes and entries live in, bound when
	 * it became a voter (founding, promotion); 0 while none is bound
	 * (learners, configurations older than binding). Opaque to the core:
	 * the host admits only the bound folder under this id (DESIGN.md rule
	 * 13). */
	uint64_t folder;
	uint8_t role;             /* enum raft_server_role, in the new (or only) config */
	uint8_t old_role;         /* role in C_old; meaningful only while joint */
	char addr[RAFT_ADDR_MAX]; /* opaque to the core: the host's Raft address */
};

/* A configuration. While `joint` is set, decisions need a majority of the
 * old voters (old_role == RAFT_VOTER) and of the new voters (role ==
 * RAFT_VOTER) separately (thesis 4.3). A server absent from one side has the
 * role RAFT_LEARNER on that side. */
struct raft_conf {
	uint32_t n;
	bool joint;
	struct raft_server servers[RAFT_MAX_SERVERS];
};

/* The encoding raft_conf_encode() writes. raft_conf_decode() also reads
 * version 1 (written before voters were bound to folders), which only a
 * data folder of an older version holds; a snapshot's meta on the wire
 * always carries this version. */
#define RAFT_CONF_VERSION 2u

/* Encodes CONF into BUF (at most CAP bytes); returns bytes written, or 0 if
 * CAP is too small. RAFT_CONF_MAX_BYTES always suffices. */
#define RAFT_CONF_MAX_BYTES (16 + RAFT_MAX_SERVERS * (18 + RAFT_ADDR_MAX))
size_t raft_conf_encode(const struct raft_conf *conf, uint8_t *buf, size_t cap);
/* Decodes; returns RAFT_OK or RAFT_EINVAL (never trusts a length or count). */
int raft_conf_decode(const uint8_t *buf, size_t len, struct raft_conf *out);

/* Snapshots ----------------------------------------------------------------- */

struct raft_snapshot_meta {
	uint64_t index; /* last entry the snapshot covers; 0 means "no snapshot" */
	uint64_t term;  /* term of that entry */
	uint64_t size;  /* bytes of the snapshot file */
	uint32_t crc;   /* CRC32C of the snapshot file, computed by the host; opaque to the core */
	struct raft_conf conf; /* the configuration as of index */
};

/* A chunk of a snapshot received by a follower: write DATA at OFFSET of a
 * temporary file for META; when LAST, the file is complete: make it durable
 * and put it in place (the same ready then carries rd.snapshot). */
struct raft_snapshot_chunk {
	struct raft_snapshot_meta meta;
	uint64_t offset;
	uint32_t len;
	const uint8_t *data;
	bool last;
};

/* Messages ------------------------------------------------------------------ */

enum raft_msg_type {
	RAFT_MSG_PREVOTE = 1, /* pre-vote request (thesis 9.6): term is the term it would use */
	RAFT_MSG_PREVOTE_RESP,
	RAFT_MSG_VOTE, /* RequestVote */
	RAFT_MSG_VOTE_RESP,
	RAFT_MSG_APPEND, /* AppendEntries, possibly empty */
	RAFT_MSG_APPEND_RESP,
	RAFT_MSG_HEARTBEAT, /* leader liveness + commit + ReadIndex round (ctx) */
	RAFT_MSG_HEARTBEAT_RESP,
	RAFT_MSG_SNAPSHOT, /* InstallSnapshot, one chunk */
	RAFT_MSG_SNAPSHOT_RESP,
	RAFT_MSG_TIMEOUT_NOW, /* leadership transfer (thesis 3.10) */
	RAFT_MSG_TYPE_MAX = RAFT_MSG_TIMEOUT_NOW
};

/* One flat message; each type uses the fields its comment names. Fields a
 * type does not use are zero. */
struct raft_msg {
	uint8_t type; /* enum raft_msg_type */
	uint64_t from;
	uint64_t to;
	uint64_t term;

	/* VOTE/PREVOTE: candidate's last log index/term.
	 * APPEND: prev_log_index/prev_log_term.
	 * APPEND_RESP: success: the follower's last index matching the leader;
	 *              reject: the prev_log_index that was refused.
	 * SNAPSHOT: unused (see snap). SNAPSHOT_RESP: the snapshot's index. */
	uint64_t index;
	uint64_t log_term;

	/* APPEND, HEARTBEAT: leader's commit index. */
	uint64_t commit;

	/* *_RESP: true when refused (vote not granted, entries not matching,
	 * snapshot refused). */
	bool reject;
	/* APPEND_RESP with reject: conflict hint for fast back-up (thesis
	 * 5.3): the follower's last index if its log is shorter, else the
	 * first index it holds of hint_term, the term of its conflicting entry. */
	uint64_t hint_index;
	uint64_t hint_term;

	/* HEARTBEAT, HEARTBEAT_RESP: ReadIndex round number (0: none). */
	uint64_t ctx;

	/* VOTE, PREVOTE: set when the campaign follows a TIMEOUT_NOW, so that
	 * leader stickiness does not refuse it (thesis 3.10, 4.2.3). */
	bool transfer;

	/* APPEND: entries to append after index. Borrowed. */
	uint32_t n_entries;
	struct raft_entry *entries;

	/* SNAPSHOT: the snapshot being sent and this chunk of it: LEN bytes at
	 * OFFSET, LAST when it ends the file. In messages the core emits, DATA is
	 * NULL: the host reads the chunk from its snapshot file for snap.meta
	 * before sending. SNAPSHOT_RESP: offset is the next byte wanted. */
	struct raft_snapshot_meta snap;
	uint64_t offset;
	uint32_t len;
	const uint8_t *data;
	bool last;
};

/* Hard state and ready ------------------------------------------------------- */

struct raft_hard_state {
	uint64_t term;
	uint64_t vote;   /* 0: none */
	uint64_t commit; /* may be persisted lazily; never needed for safety */
};

/* A point that became safe for a linearizable read: answer the read with
 * context CTX once the state machine has applied INDEX. INDEX == 0 means the
 * read failed (leadership was lost): answer it with an error. */
struct raft_read {
	uint64_t ctx;
	uint64_t index;
};

enum raft_role { RAFT_FOLLOWER = 0, RAFT_PRE_CANDIDATE, RAFT_CANDIDATE, RAFT_LEADER };

struct raft_ready {
	/* 1. Persist, durably, before anything below. */
	bool hs_changed;
	struct raft_hard_state hs;
	/* Set when a snapshot was received or restored: record it as the log's
	 * base in the log store and delete every entry <= snapshot->index (the
	 * whole log if the entry at snapshot->index has another term). At the
	 * apply stage, replace the state machine with it before applying
	 * rd.committed, which follow it. */
	const struct raft_snapshot_meta *snapshot;
	const struct raft_snapshot_chunk *snap_chunk;
	/* Entries to append. They replace any stored entries at index >=
	 * entries[0].index (truncate that suffix first, same transaction). */
	size_t n_entries;
	const struct raft_entry *entries;

	/* 2. Send, after the above is durable, unless msgs_early is set: then
	 * the messages may leave before or while the above is written (thesis
	 * 10.2.1). It is set only on a leader whose term and vote are already
	 * durable and that takes in no snapshot: its messages then vouch for
	 * nothing this ready persists (rules 1, 2), and it counts its own new
	 * entries only in raft_advance(), after they are durable. */
	size_t n_msgs;
	const struct raft_msg *msgs;
	bool msgs_early;

	/* 3. Apply, in order. */
	size_t n_committed;
	const struct raft_entry *committed;
	size_t n_reads;
	const struct raft_read *reads;

	/* Informational: the soft state after this ready. */
	enum raft_role role;
	uint64_t leader;
	uint64_t term;
};

/* Configuration and life cycle ---------------------------------------------- */

struct raft_config {
	uint64_t id;              /* this server's id, non-zero */
	unsigned election_ticks;  /* minimum election timeout E; timeouts drawn in [E, 2E) */
	unsigned heartbeat_ticks; /* leader heartbeat interval, < election_ticks */
	uint64_t seed;            /* seeds the core's PRNG (election timeouts) */
	bool pre_vote;            /* thesis 9.6; on in production */
	bool check_quorum;        /* thesis 6.2: leader steps down without a quorum */
	uint32_t max_inflight;    /* <= RAFT_MAX_INFLIGHT; 0 means the maximum */
	uint32_t max_msg_bytes;   /* <= RAFT_MAX_MSG_BYTES; 0 means the maximum */
};

/* What the host restored from durable storage (all zero/empty for a server
 * that has nothing yet). Borrowed for the call. */
struct raft_restore {
	struct raft_hard_state hs;
	struct raft_snapshot_meta snapshot; /* index 0: none */
	size_t n_entries;                   /* entries after the snapshot, in order
	                                     * (any at or below its index are skipped) */
	const struct raft_entry *entries;
};

struct raft;

/* Creates a core from CONFIG and what was durable (RESTORE may be NULL). The
 * configuration in force is the last CONF entry of the log, else the
 * snapshot's. Returns NULL on allocation failure or an inconsistent restore
 * (entries not contiguous after the snapshot). Free with raft_free(). */
struct raft *raft_new(const struct raft_config *config, const struct raft_restore *restore);
void raft_free(struct raft *r);

/* The first entry of a new cluster: every founding server stores this same
 * entry (index 1, term 1, type CONF, encoding CONF) and hard state term 1
 * before its first raft_new(). Fills *OUT; OUT->data points into BUF, which
 * must hold RAFT_CONF_MAX_BYTES. */
int raft_bootstrap_entry(const struct raft_conf *conf, uint8_t *buf, struct raft_entry *out);

/* Inputs -------------------------------------------------------------------- */

/* Advances logical time by one tick. */
void raft_tick(struct raft *r);

/* Feeds a message from a peer. Messages from unknown servers, or malformed
 * ones, are dropped (RAFT_EINVAL). Borrowed. */
int raft_step(struct raft *r, const struct raft_msg *msg);

/* Leader only: appends a NORMAL entry with DATA (LEN bytes, copied). On
 * RAFT_OK, *INDEX and *TERM (if not NULL) say where it went: it committed iff
 * an entry with that index AND term is applied later. */
int raft_propose(struct raft *r, const void *data, size_t len, uint64_t *index, uint64_t *term);

/* Leader only: asks for a linearizable read point for CTX (non-zero, chosen
 * by the host). Requests are batched into one heartbeat round that starts
 * after this call (safety rule 5), and are held until an entry of the
 * leader's term has committed (rule 4). The answer comes in rd.reads. */
int raft_read_index(struct raft *r, uint64_t ctx);

/* Leader only: transfers leadership to TARGET (thesis 3.10): stop accepting
 * proposals, bring TARGET up to date, send it TIMEOUT_NOW. Aborted after an
 * election timeout. */
int raft_transfer(struct raft *r, uint64_t target);

/* Leader only: removes learner ID with a configuration that leaves it out
 * (learners do not vote, so no joint phase is needed). RAFT_EINVAL when ID
 * is not a learner. Same conditions as the changes below. */
int raft_remove_learner(struct raft *r, uint64_t id);

/* Leader only: membership changes, at most one in flight, only after an entry
 * of the leader's term committed (safety rule 10).
 * add_learner: appends a configuration with ID as a learner at ADDR.
 * change_voters: starts joint consensus (thesis 4.3) from the current voters
 *   to VOTERS (N ids); each must be a current voter or a caught-up learner
 *   (RAFT_ENOTCAUGHTUP otherwise); servers left out are removed. A learner
 *   that becomes a voter is bound to FOLDERS[i], the data folder the host
 *   knows it by (FOLDERS may be NULL: nothing is bound); a current voter
 *   keeps its binding. Once C_old,new commits, the core appends C_new
 *   itself. A leader that is not in C_new steps down once C_new commits. */
int raft_add_learner(struct raft *r, uint64_t id, const char *addr);
int raft_change_voters(struct raft *r, const uint64_t *voters, const uint64_t *folders, size_t n);

/* The host learned that server ID now holds an empty log (it joined, or its
 * data folder was new when the cluster was founded): on a leader, ID's
 * progress starts over (match 0, probing from the leader's last index), so
 * nothing it acknowledged before counts and a learner's catch-up is judged
 * afresh. Lowering a match index only delays commitment, never advances it.
 * Elsewhere, or for an unknown ID, nothing happens. */
void raft_peer_reset(struct raft *r, uint64_t id);

/* The host made a durable snapshot of the state machine at META->index
 * (<= applied index; the host's applied index may be ahead of
 * raft_applied_index() after a restart, but never ahead of the commit
 * index: entries the snapshot covers are then not handed out again). A
 * snapshot not newer than the last one is ignored. The core uses it to send
 * InstallSnapshot to followers behind its log, and drops in-memory entries
 * up to META->index - KEEP (a tail kept for slow followers); the host may
 * delete the same from its log store. Returns the index up to which entries
 * were dropped. */
uint64_t raft_snapshot_taken(struct raft *r, const struct raft_snapshot_meta *meta, uint64_t keep);

/* Outputs ------------------------------------------------------------------- */

bool raft_has_ready(const struct raft *r);
/* Fills *RD with everything ready; call raft_advance(r, rd) once done. */
void raft_ready(struct raft *r, struct raft_ready *rd);
void raft_advance(struct raft *r, const struct raft_ready *rd);

/* Inspection (for the host, the simulator and tests) ------------------------- */

uint64_t raft_id(const struct raft *r);
enum raft_role raft_role(const struct raft *r);
uint64_t raft_term(const struct raft *r);
uint64_t raft_vote(const struct raft *r);
uint64_t raft_leader(const struct raft *r); /* 0: unknown */
uint64_t raft_commit_index(const struct raft *r);
uint64_t raft_applied_index(const struct raft *r);
uint64_t raft_first_index(const struct raft *r); /* first entry held in memory */
uint64_t raft_last_index(const struct raft *r);
/* Term of the entry at INDEX (also the snapshot's index); false if unknown. */
bool raft_term_at(const struct raft *r, uint64_t index, uint64_t *term);
/* The entry at INDEX, borrowed until the next call into the core; NULL if not held. */
const struct raft_entry *raft_entry_at(const struct raft *r, uint64_t index);
const struct raft_conf *raft_conf(const struct raft *r);
/* The index of the entry that holds raft_conf() (0: the snapshot's, or the
 * bootstrap's before any entry): the change is done once it is committed. */
uint64_t raft_conf_index(const struct raft *r);
/* Ticks since this server last heard from a current leader (0 on the leader). */
uint64_t raft_ticks_since_leader(const struct raft *r);
/* On a leader: server ID's match index (for the leader itself, its
 * durable last index), and the ticks since it last answered this leader (0
 * for the leader itself; UINT64_MAX if never).
 * False elsewhere or for a server not in the configuration. */
bool raft_peer_progress(const struct raft *r, uint64_t id, uint64_t *match, uint64_t *idle_ticks);
/* True on a leader once an entry of its own term has committed: only then
 * may it serve reads, acknowledge keepalives or grant (safety rules 4, 8). */
bool raft_leader_ready(const struct raft *r);

/* Names for logs and traces. */
const char *raft_role_name(enum raft_role role);
const char *raft_msg_type_name(int type);

#endif
