/* coord_client.h: the state shared by the coord clients and keepers
 * (coord_client.c) and their commands and expiry check (coord_workload.c);
 * private to tests/sim. See coord_client.c for the model of time and the
 * expiry invariant. */
#ifndef COORD_SIM_COORD_CLIENT_H
#define COORD_SIM_COORD_CLIENT_H

#include "node_clock.h"
#include "sim.h"
#include "sim_coord.h"

#define CC_ACKS        32  /* acknowledged keepalives remembered per session */
#define CC_LEASE_CAP   128 /* sessions one keeper tracks (>= SIM_COORD_SESSIONS) */
#define CC_OPEN_LIKE   300 /* per mille: open a session while below the goal */
#define CC_LIMITS_LIKE 10  /* per mille: a LIMITS entry with small limits */
#define CC_ABANDON     60  /* per mille per keepalive: the client stops sending them */
#define CC_NUMBER_LIKE 700 /* per mille: a request of a session carries a seq */
#define CC_REPLAY_LIKE 80  /* per mille: a numbered request sent before comes again */
#define CC_SENT        16  /* numbered requests remembered for sending again */
#define CC_HIJACK_LIKE 30  /* per mille: a request of a session sent with another token */
#define CC_SENT_BYTES  96  /* bytes of one (short names, short values) */
#define CC_KV_LIKE     250 /* per mille: a session's command is a key/value one */
#define CC_KV_HEAVY    700 /* the same with --kv */
#define CC_GRANTS      16  /* lock grants remembered for fenced writes */
#define CC_ALIVE_PROPS 16  /* ALIVE entries one keeper awaits (NODE_ALIVE_PROPS) */
#define CC_TRANSFER                                                                                \
	6 /* per mille per step: move the leadership while a dead client's                         \
	   * session lives (fault phase) */
/* The session bound's allowance (coord_client.c): milliseconds a leader
 * whose keeper is live may hold a dead client's session past its bound,
 * counted only while no partition is in force and every server runs. */
#define CC_END_ALLOWANCE_MS 1600
#define CC_STAMPS           1024 /* proposals whose stamp and true time C-1 remembers */
#define CC_JUMP_LIKE        20   /* per mille per step: a node's wall clock jumps */

enum cc_state { CC_PROPOSED = 0, CC_LIVE, CC_ENDED };

/* A grant of a lock some session got, as the log says (coord_kv.c): a
 * fence for its key/value writes, current or long lost. */
struct cc_grant {
	char lock[4];
	uint64_t token;
	int session;
};

struct cc_session {
	struct coord_session_id id;
	uint32_t ttl_ms;
	enum cc_state state;
	bool abandoned;
	uint64_t next_keepalive;
	/* True ms: the last time a keeper accepted a keepalive of it (moved
	 * its deadline; every acknowledgement comes with one), and how long
	 * leaders with a live keeper held it past their bound (abandoned). */
	uint64_t heard, overdue;
	uint64_t acks[CC_ACKS]; /* true send times of acknowledged keepalives (ring) */
	size_t n_acks;
	uint64_t next_seq; /* the client's last number for this session */
	/* SM-9 as the committed log implies it (coord_seq.c): whether the
	 * session exists, its highest applied seq and that request's answer. */
	bool log_live;
	uint64_t log_seq;
	enum coord_status log_status;
	uint64_t log_token;
};

/* A numbered request as first sent, to send again later: a duplicate, or a
 * request delayed past the session's later ones. */
struct cc_sent {
	uint8_t bytes[CC_SENT_BYTES];
	size_t len;
};

/* An ALIVE entry a keeper proposed: at AT_MS on its clock. */
struct cc_alive_prop {
	uint64_t index, term, at_ms;
};

struct cc_keeper {
	bool active, ready;
	uint64_t term;
	unsigned incarnation;
	uint64_t wake_for; /* lock-delay end a WAKE was proposed for */
	uint64_t started;  /* true ms */
	struct coord_lease lease;
	/* L-3: the sessions of this step's ALIVE entry, the entries proposed
	 * and not yet applied, and the EXPIREs the core did not take. */
	struct coord_session_id batch[SIM_COORD_SESSIONS];
	size_t n_batch;
	struct cc_alive_prop props[CC_ALIVE_PROPS];
	size_t n_props;
	struct coord_session_id retry[SIM_COORD_SESSIONS];
	size_t n_retry;
};

/* Every node's anchors (L-3): when it applied each session's last OPEN or
 * ALIVE entry, or restarted or installed a snapshot since (its clock, in
 * a coord_lease as node_lease.c keeps them), and the same on the true
 * clock for the bound (AT, by session). */
struct cc_anchors {
	bool ready;
	struct coord_lease lease;
	uint64_t at[SIM_COORD_SESSIONS];
};

struct cc_keepalive {
	uint64_t ctx, sent, index;
	uint64_t alive_at; /* the leader's clock when it first confirmed it (0: not yet) */
	int slot, session;
	unsigned incarnation;
	bool done;
	bool batched; /* waits for the keeper's next ALIVE entry */
};

struct cc_expiry {
	uint64_t index, term, proposed;
	int session;
};

/* A proposal's stamp and the true time it was made (rule 16, C-1). */
struct cc_stamp {
	uint64_t index, term, stamp, at;
};

/* The last stamped entry one node applied, for C-1. */
struct cc_applied_stamp {
	bool has;
	uint64_t index, stamp, at;
};

struct sim_coord {
	struct cc_session s[SIM_COORD_SESSIONS];
	int n;
	struct cc_keeper k[SIM_MAX_SLOTS];
	struct cc_anchors a[SIM_MAX_SLOTS];
	struct cc_keepalive ka[SIM_COORD_KEEPALIVES];
	struct cc_expiry ex[SIM_COORD_EXPIRIES];
	size_t n_ex;
	uint64_t next_ctx;
	int pending_open;             /* session of the command just made, or -1 */
	struct cc_sent sent[CC_SENT]; /* ring of numbered requests sent */
	size_t n_sent;
	uint64_t seq_checked;              /* the last index whose result SM-9's check read */
	struct cc_grant grants[CC_GRANTS]; /* ring of grants seen in the log */
	size_t n_grants;
	uint64_t grants_seen; /* the last index whose grants were learned */
	/* Time (coord_clock.c): each node's cluster clock and wall-clock
	 * offset, the proposals' stamps, what each node applied last. */
	struct node_clock clock[SIM_MAX_SLOTS];
	int64_t wall_off[SIM_MAX_SLOTS];
	struct sim_rng jump_rng;
	bool jump_seeded;
	uint64_t jumps;
	uint64_t pending_stamp; /* the stamp of the client command just made */
	struct cc_stamp stamps[CC_STAMPS];
	struct cc_applied_stamp last[SIM_MAX_SLOTS];
};

static inline uint64_t cc_true_ms(const struct sim_world *w)
{
	return w->now * SIM_MS_PER_STEP;
}

static inline uint64_t cc_local_ms(const struct sim_node *n)
{
	return n->clock_pm / 1000;
}

/* EVERY (node_lease.c): half the election timeout, on a node's clock. */
static inline uint64_t cc_every_ms(const struct sim_world *w)
{
	return (uint64_t)w->p.election_ticks * SIM_TICK_PERIOD * SIM_MS_PER_STEP / 2;
}

static inline int cc_find(const struct sim_coord *c, const struct coord_session_id *id)
{
	for (int i = 0; i < c->n; i++) {
		if (coord_session_id_equal(&c->s[i].id, id))
			return i;
	}
	return -1;
}

static inline void cc_ack(struct cc_session *s, uint64_t sent)
{
	s->acks[s->n_acks % CC_ACKS] = sent;
	s->n_acks++;
}

/* The latest acknowledged keepalive sent at or before BEFORE, or 0. */
static inline uint64_t cc_last_ack(const struct cc_session *s, uint64_t before)
{
	uint64_t best = 0;
	size_t n = s->n_acks < CC_ACKS ? s->n_acks : CC_ACKS;

	for (size_t i = 0; i < n; i++) {
		if (s->acks[i] <= before && s->acks[i] > best)
			best = s->acks[i];
	}
	return best;
}

/* coord_client.c: SLOT applied entry INDEX of TERM, the command CMD whose
 * result is RES: its anchors move (OPEN, ALIVE, a session's end), and its
 * keeper learns the ALIVE entries of its own that applied (L-3). */
void cc_anchor_applied(struct sim_world *w, int slot, uint64_t index, uint64_t term,
                       const struct coord_cmd *cmd, const struct coord_result *res);

/* coord_clock.c: the cluster clock (coord/node/node_clock.h) as each node
 * runs it, wall clocks that jump, and rule 16 (C-1) on the true clock. */

/* The stamp of an entry SLOT proposes now: its cluster clock, or with
 * --break wall-stamps its wall clock (the node's clock plus its jumps). */
uint64_t cc_stamp(struct sim_world *w, int slot);
/* SLOT proposed an entry stamped STAMP at (INDEX, TERM), now. */
void cc_clock_proposed(struct sim_world *w, uint64_t index, uint64_t term, uint64_t stamp);
/* sim_coord_restored(): SLOT started (RESTARTED) or installed a snapshot
 * at INDEX; its clock goes on from the newest stamp it holds (node.c
 * start_clock, node_ready.c install_done). */
void cc_clock_restored(struct sim_world *w, int slot, bool restarted, uint64_t index);
/* C-1 on entry E as SLOT applies it. */
void cc_clock_applied(struct sim_world *w, int slot, const struct raft_entry *e);
/* Once per step: now and then one node's wall clock jumps. */
void cc_clock_step(struct sim_world *w);

/* coord_seq.c: numbered requests (API.md, Retries) and the order invariant. */

/* Numbers CMD, a request of session S, now and then (its type must carry a
 * seq), and remembers it encoded for sending again. */
void cc_seq_number(struct sim_world *w, struct cc_session *s, struct coord_cmd *cmd);
/* Now and then a remembered numbered request again, stamped NOW_MS, into
 * BUF: its length, or 0 when none comes again this time. */
size_t cc_seq_replay(struct sim_world *w, uint64_t now_ms, uint8_t *buf, size_t cap);
/* The order invariant (SM-9, rule 14) on the first application of entry E
 * anywhere, whose result is RES: a numbered request applies only above its
 * session's highest applied seq; at it, it is the first answer again
 * (retry); below, stale_request without any change. */
void cc_seq_check(struct sim_world *w, int slot, const struct raft_entry *e,
                  const struct coord_result *res);

/* coord_kv.c: the clients' key/value commands. */

/* Makes CMD a put or delete of a small key space for session SESSION (its
 * id in CMD already), sent to the leader at SLOT: plain, cas (0, the
 * modify_index the client reads there, or a guess), ephemeral, fenced with
 * a grant of the session (or another's, or a made-up token). */
void cc_kv_command(struct sim_world *w, int slot, int session, struct coord_cmd *cmd);
/* Learns the lock grants of entry E, whose result is RES, on its first
 * application anywhere. */
void cc_kv_learn(struct sim_world *w, const struct raft_entry *e, const struct coord_result *res);

#endif
