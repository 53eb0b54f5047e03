/* node_internal.h: the node runtime's state, shared by the node_*.c files:
 * struct node and struct ncall, their limits and invariants; no functions.
 *
 * One libuv loop owns everything here: the Raft core, raft.db and the write
 * handle of state.db, the lease keeper, the peer transport, the timers and
 * every call in flight, and the HTTP front too: libmicrohttpd runs on the
 * loop's thread (server.h, external), from node_http_run(), and pushes the
 * calls it decodes into the inbox, which that run then takes. No other
 * thread touches them (the install's and the snapshots' workers have
 * handles of their own).
 *
 * Invariants:
 *  N-1 The outputs of the core are executed in node_drive() only, in the
 *      order persist, then send, then apply (DESIGN.md, STYLE.md rule 2);
 *      a leader's messages go before its persist when the core says they
 *      may (msgs_early: they vouch for nothing being persisted);
 *      everything one ready asks to persist goes in one transaction.
 *  N-2 A call is answered exactly once, and removed from every list first.
 *  N-3 A write is answered from the result of applying its own entry (same
 *      index and term); an entry at its index with another term means the
 *      proposal was lost (503); no entry in time means unknown (504, rule 12).
 *  N-4 Reads and keepalives are answered only after a ReadIndex round that
 *      started after they arrived, once applied >= the read index (rule 5).
 *  N-5 Any storage error stops the process (rule 7): node_fatal() never
 *      returns.
 *  N-6 While a received snapshot is installed (installing), the loop calls
 *      only the core's inspection functions and never touches state.db (db,
 *      sm, reader): Raft messages that arrive are dropped (to Raft, a lost
 *      message), the tick does not reach the core, and calls that need
 *      this node's state wait in W_INSTALL until the install is done.
 */
#ifndef COORD_NODE_INTERNAL_H
#define COORD_NODE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>
#include <uv.h>

#include "admit.h"
#include "command.h"
#include "config.h"
#include "lease.h"
#include "node_clock.h"
#include "raft.h"
#include "server.h"
#include "sm.h"
#include "transport.h"

#include "persist/dir.h"
#include "persist/log.h"
#include "persist/snapshot.h"
#include "persist/state.h"

/* Named limits of the runtime. */
#define NODE_INBOX_MAX         4096  /* calls handed over by the HTTP front, not yet taken */
#define NODE_CALLS_MAX         16384 /* calls in flight on this node (waits included) */
#define NODE_POLLS_MAX         4096  /* long-polls waiting at once */
#define NODE_WRITE_TIMEOUT_MS  5000  /* a proposal not applied by then: 504 */
#define NODE_READ_TIMEOUT_MS   5000  /* a read or keepalive not confirmed by then: 503 */
#define NODE_FORWARD_SLACK_MS  1000  /* a forwarded call waits the leader's time + this */
#define NODE_EXPIRE_BATCH      64    /* expiries proposed per tick */
#define NODE_APPLY_BATCH       1024  /* committed entries per state transaction */
#define NODE_DRIVE_READIES     4     /* readies executed per turn of the loop */
#define NODE_CHECKPOINT_PAGES  1000  /* WAL pages that start a checkpoint off the loop */
#define NODE_SNAPSHOT_REST     4     /* after a snapshot of T ms, none for 4T ms */
#define NODE_GONE_CHECK_MS     500   /* how often waiting clients are checked */
#define NODE_TICK_MS           10u   /* one tick of the Raft core */
#define NODE_MEMBER_TIMEOUT_MS 5000  /* a membership change not done by then: 504 */
#define NODE_BACKUP_TIMEOUT_MS 60000 /* a backup's snapshot not made by then: 503 */
#define NODE_LEASE_TURN_MS     100   /* the most of one turn of the loop counted against sessions */
#define NODE_LEASE_STALL_LOG   1000  /* a longer stall is logged (ms) */
#define NODE_ALIVE_PROPS       64    /* this leader's ALIVE proposals not yet applied */

enum ncall_wait {
	W_NONE = 0,
	W_LEADER,   /* no leader known: waits up to an election timeout */
	W_INSTALL,  /* needs this node's state, which a snapshot install holds */
	W_FORWARD,  /* sent to the leader; waits for its reply */
	W_WRITE,    /* proposed; waits for its entry to apply */
	W_GRANT,    /* queued in the state machine; waits for a grant */
	W_READ,     /* waits for its ReadIndex round */
	W_APPLY,    /* read point known; waits for applied >= read_index */
	W_MEMBER,   /* a membership change or transfer runs; its hook looks again */
	W_SNAPSHOT, /* a backup: waits for the snapshot being made */
	W_POLL,     /* long-poll: waits for a change or its wait to pass */
};

/* One request in flight: from a local HTTP client, or forwarded by a peer. */
struct coord_token; /* auth.h */

/* Why a call was refused by access control (node_auth.h), for metrics. */
enum node_auth_refusal {
	NODE_AUTH_UNAUTHENTICATED, /* 401: no token, a malformed, unknown or revoked one */
	NODE_AUTH_DENIED,          /* 403: the token lacks the rule or admin */
	NODE_AUTH_REFUSALS
};

/* An access token's secret: NODE_TOKEN_SECRET_PREFIX and the hex of
 * NODE_TOKEN_RANDOM_LEN random bytes (api_tokens.c). */
#define NODE_TOKEN_SECRET_PREFIX  "coord_"
#define NODE_TOKEN_RANDOM_LEN     32
#define NODE_TOKEN_SECRET_LEN     (6 + 2 * NODE_TOKEN_RANDOM_LEN)
#define NODE_TOKEN_BOOTSTRAP_NAME "bootstrap" /* the first token's name */
/* A secret an operator gives in --bootstrap-token-file: at least this many
 * characters (256 bits as hex, e.g. openssl rand -hex 32, is 64), at most
 * HTTP_BEARER_MAX; the file is read up to this many bytes. */
#define NODE_BOOTSTRAP_SECRET_MIN 32
#define NODE_BOOTSTRAP_FILE_MAX   256
#define NODE_TOKENS_KEPT          16  /* tokens a node keeps read between calls (node_auth.c) */
#define NODE_OWNERS_KEPT          256 /* session owners a node keeps read (node_auth.c) */

struct ncall {
	struct node *n;
	struct http_call *http;   /* local call, or NULL */
	uint64_t peer, peer_call; /* forwarded to us: the follower and its call id;
	                           * forwarded by us: peer is the leader it went to */
	struct http_request *own; /* forwarded: the decoded request (owned) */
	const struct http_request *req;
	uint64_t id;          /* this node's id for the call (forwarding, reads) */
	uint64_t arrived_ms;  /* monotonic */
	uint64_t arrived_us;  /* monotonic, for latency figures */
	uint64_t deadline_ms; /* for the current wait */
	enum ncall_wait wait;
	/* W_WRITE */
	uint64_t index, term;
	/* W_WRITE of a TOKEN (api_tokens.c): the secret the leader drew, shown
	 * once in the answer, then wiped; "" otherwise. */
	char secret[NODE_TOKEN_SECRET_LEN + 1];
	/* The token of a local call, once node_auth_admit() checked it (NULL
	 * when authentication is off or the row is open); freed with the call. */
	struct coord_token *token;
	/* The id of the call's token (0: none): of C->token on a local call,
	 * as the follower sent it on a forwarded one. Its writes carry it as
	 * their actor (SM-10). */
	uint64_t actor;
	bool auth_pending;      /* waits in W_INSTALL before node_auth_admit() could check it */
	bool cancelling;        /* W_WRITE: the proposal withdraws this call's wait */
	bool retry;             /* its entry answered a seq again (SM-9): the answer says so */
	unsigned retry_after_s; /* Retry-After of the answer, if not 0 */
	/* W_READ / W_APPLY */
	uint64_t read_index;
	/* A keepalive that waits for an ALIVE entry (rule 8): when the leader
	 * first confirmed it; 0 otherwise. */
	uint64_t alive_at;
	/* W_MEMBER (api_members.c): how far the change got, the server it
	 * moves, and when the call gives up. */
	uint8_t stage;
	uint64_t target;
	uint64_t admin_deadline_ms;
	struct ncall *prev, *next; /* in the list of its wait */
};

struct ncall_list {
	struct ncall *head, *tail;
	size_t n;
};

/* A peer refused at HELLO, remembered so that its redials are not logged
 * every time. */
struct node_refusal {
	uint64_t id;
	int verdict;
	uint64_t logged_ms;
};
#define NODE_REFUSALS_MAX 16

struct peer_info {
	uint64_t id;
	uint64_t folder; /* the data folder of its last admitted HELLO (admit.h: seen) */
	char http[TRANSPORT_ADDR_MAX];
	char raft[TRANSPORT_ADDR_MAX];
};

#define NODE_LATENCY_BUCKETS 12
extern const double node_latency_bounds_ms[NODE_LATENCY_BUCKETS];

struct node_metrics {
	uint64_t proposals, forwarded, applied_entries, expiries, snapshots;
	uint64_t snapshot_last_ms;          /* how long the newest snapshot took to make */
	uint64_t snapshot_install_last_ms;  /* how long the last received one took to install */
	uint64_t frames_dropped_installing; /* Raft messages dropped during installs */
	uint64_t member_changes;            /* membership changes this node started as leader */
	uint64_t transfers;                 /* leadership transfers it started */
	uint64_t commit_latency_bucket[NODE_LATENCY_BUCKETS]; /* see node_latency_bounds_ms */
	uint64_t commit_latency_count, commit_latency_sum_us;
};

struct node {
	struct node_clock clock; /* stamps entries (node_clock.h) */
	struct coord_config cfg;
	char cluster_id[TRANSPORT_CLUSTER_MAX];
	uint64_t folder_id; /* this data folder's id (FOLDER_ID_FILE, node_join.h) */
	uv_loop_t loop;
	uv_signal_t sigint, sigterm;
	uv_signal_t sighup; /* reloads the client port's certificate (tls.h) */
	uv_timer_t tick;
	uv_async_t wake;
	uv_poll_t http_poll; /* the HTTP front, run on this loop (server.h, external) */
	uv_idle_t http_more; /* it has work that does not show on its descriptor */
	unsigned http_run_ticks;
	uv_check_t drive; /* runs node_drive() once per loop turn when dirty */
	bool dirty;
	unsigned election_ticks, heartbeat_ticks;

	struct raft *raft;
	struct persist_dir *dir;
	struct persist_log *plog;
	struct persist_state *pstate;
	sqlite3 *db;
	struct coord_sm *sm;            /* the state machine's prepared statements on db */
	struct coord_sm_reader *reader; /* the queries' prepared statements on db */
	/* Direct stale reads (node_stale.h): their own handle on state.db. */
	struct {
		struct persist_state_reader *state;
		struct coord_sm_reader *reader;
		bool broken;     /* could not be opened: stale reads become calls */
		uint64_t served; /* stale reads answered directly */
	} stale;
	struct persist_snapshot_meta snap; /* newest local snapshot (index 0: none) */
	uint64_t snap_told;                /* newest snapshot index the core knows */
	struct raft_conf
	    conf_applied; /* the configuration as of the committed entries handed out */
	struct persist_snapshot_recv *recv;    /* snapshot being received */
	struct persist_snapshot_job *snap_job; /* snapshot being made off the loop, or NULL */
	uv_work_t snap_work;
	uint64_t snap_started_ms, snap_ended_ms;
	uv_work_t ckpt_work; /* checkpoints of raft.db and state.db, off the loop */
	bool ckpt_running, ckpt_log, ckpt_state;
	int ckpt_log_seen, ckpt_state_seen; /* WAL pages when last checkpointed */
	int ckpt_rc;
	uv_work_t prune_work; /* removes snapshots older than prune_keep, off the loop */
	bool pruning;
	uint64_t prune_keep;
	int prune_rc;
	/* A received snapshot being installed off the loop (see node_ready.c):
	 * the core is held between the ready that carried its last chunk and
	 * that ready's raft_advance(), and state.db belongs to the worker. */
	bool installing;
	/* Reads in a row (node_reads_begin): queries run since, and whether
	 * the second opened a read transaction on db. */
	struct {
		bool span;
		unsigned queries;
		bool open;
	} reads;
	struct raft_ready held;
	uv_work_t install_work;
	struct persist_snapshot_recv *install_recv;
	struct persist_snapshot_meta install_got;
	int install_rc;
	struct persist_error install_err;
	uint64_t install_started_ms;
	uint64_t install_from;      /* applied index when the install began */
	struct coord_limits limits; /* in force as of the applied index (cached) */
	struct transport *transport;
	struct http_server *http;
	struct http_tls *tls;            /* NULL: plain HTTP; freed after the server stops */
	struct peer_tls_creds *peer_tls; /* NULL: plain peer TCP; freed after the transport */
	struct coord_lease lease;
	bool lease_live; /* the lease keeper tracks sessions: leader, ready */
	uint64_t lease_term;
	uint64_t lease_tick_ms; /* when the live keeper last looked at its deadlines */
	uint64_t limits_term;   /* the term whose leader checked the limits in force */
	bool wake_inflight;
	struct coord_session_id *expire_retry; /* due, not yet proposed (COORD_LEASE_MAX) */
	size_t n_expire_retry;
	/* Rule 8's anchors, on every node: per session, when this node applied
	 * its last OPEN or ALIVE entry (+ ttl, as a keeper's deadline). */
	struct coord_lease anchors;
	/* The leader's ALIVE batch of this turn (node_lease_flush_alive), and
	 * its proposals not yet applied: index, term, when proposed. */
	struct coord_session_id alive_batch[COORD_ALIVE_MAX];
	size_t n_alive;
	struct {
		uint64_t index, term, at_ms;
	} alive_props[NODE_ALIVE_PROPS];
	size_t n_alive_props;

	/* Calls the HTTP front handed over in its current run (same thread). */
	struct http_call *inbox[NODE_INBOX_MAX];
	size_t inbox_n;
	bool inbox_closed;

	/* Calls in flight, by wait. */
	struct ncall_list waits[W_POLL + 1];
	size_t n_calls;
	uint64_t next_call_id;
	uint64_t last_gone_check_ms;

	/* Joining a cluster (node_join.c). */
	bool founding;                             /* an empty founder waiting for its peers */
	uint64_t probed[COORD_CONFIG_MAX_MEMBERS]; /* peers that said HELLO empty */
	uint64_t probed_folders[COORD_CONFIG_MAX_MEMBERS]; /* ... from these folders */
	size_t n_probed;
	bool sealing; /* founded, the core inert until every founding voter has the id */
	struct raft_conf founding_conf; /* while sealing: what the inert core would hold */
	uint64_t adopted[COORD_CONFIG_MAX_MEMBERS]; /* peers that said HELLO with it */
	size_t n_adopted;
	struct node_refusal refusals[NODE_REFUSALS_MAX]; /* recent refusals, to log each rarely */
	uint64_t peers_refused[ADMIT_STRANGER + 1];      /* by verdict (admit.h) */
	/* Access control (node_auth.c): the cluster was seen bootstrapped
	 * (it never goes off), and calls refused, by reason. */
	bool auth_on;
	uint64_t auth_refused[NODE_AUTH_REFUSALS];
	/* The tokens recent calls named, by their secret's hash, so that a
	 * call costs no query for its token; emptied by node_auth_refresh(). */
	struct {
		uint8_t hash[COORD_TOKEN_HASH_LEN];
		struct coord_token *token; /* NULL: the slot is free */
	} tokens[NODE_TOKENS_KEPT];
	size_t tokens_next; /* the slot the next token read takes */
	/* The owners (token ids) of sessions recent calls used, by a hash of
	 * the session's id, so that a call on its own session costs no query;
	 * owner 0: the slot is free. Emptied by node_auth_refresh(). */
	struct {
		struct coord_session_id id;
		uint64_t owner;
	} owners[NODE_OWNERS_KEPT];
	/* --bootstrap-token-file: its secret's SHA-256 (the secret itself is
	 * wiped once hashed), and the term whose leader proposed it. */
	bool has_bootstrap_hash;
	uint8_t bootstrap_hash[COORD_TOKEN_HASH_LEN];
	uint64_t bootstrap_term;

	/* What the node knows of its peers. */
	struct raft_conf synced_conf; /* the configuration the transport was given */
	struct peer_info peers[RAFT_MAX_SERVERS];
	size_t n_peers;
	uint64_t leader; /* last known leader (0: none) */
	enum raft_role role;

	struct coord_result result;
	struct coord_result *results; /* one per entry of an apply batch */
	size_t results_cap;
	uint64_t since_snapshot;
	bool snap_wanted; /* a backup waits: snapshot now, whatever the cadence */

	struct node_metrics metrics;
	/* SIGTERM on a leader: leadership is being handed over, and the node
	 * stops once it is no longer the leader, or at this time (0: none). */
	uint64_t handoff_until_ms;
	bool stopping;
	int exit_code;
};

/* The runtime's functions are declared one header per file, and each file
 * includes the headers of those it uses. The arrows point one way:
 *
 *   node.c -> node_ready -> node_dispatch -> node_leader -> node_query
 *                                   |              |             |
 *                                   v              v             v
 *                              node_forward    api.h: the handler entries
 *                                   |          (api_*.c) -> node_lease
 *                                   v              |
 *   all of the above ----> node_calls -> node_wire, node_core
 *
 * Only api.c's lookup reaches the entries of api_*.c, through their tables.
 */

#endif
