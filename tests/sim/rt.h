/* rt.h: the runtime simulator's world. N real nodes (coord/node's runtime,
 * its Raft core, its state machine and SQLite storage in a folder of their
 * own) run in one thread under one seeded generator; what the runtime takes
 * from outside (node_env.h, transport.h, server.h's call functions) is bound
 * here to a simulated clock, network and HTTP front.
 *
 * Time is simulated microseconds. Every event (a node's tick, a frame's
 * arrival, a connection's dial, a background job's end, a client's call, a
 * fault) is queued at its time and run in order of (time, sequence), so the
 * same seed replays the same run. After each event that reached a node, the
 * node's turn ends (node_turn_end), as a libuv loop's check handle does.
 */
#ifndef COORD_RT_H
#define COORD_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "rng.h"

#define RT_NODES_MAX      5
#define RT_CLIENTS_MAX    8
#define RT_KEYS           3                /* kv keys the clients write: k0, k1, k2 */
#define RT_XKEYS          2                /* ... and conditionally: x0, x1 */
#define RT_RESEND_KEPT    4                /* numbered requests a client may send again */
#define RT_LOCKS          2                /* locks they take: l0, l1 */
#define RT_OBJECTS        (RT_LOCKS + 1)   /* and one election, e0 */
#define RT_CALLS_MAX      20000            /* calls one seed may make */
#define RT_CALL_GIVEUP_US (12u * 1000000u) /* a call unanswered this long fails the seed */
#define RT_TTL_US         3000000u         /* the clients' sessions' ttl */

struct node; /* node_internal.h */
struct transport;
struct http_call;

enum rt_event_kind {
	RT_EV_TICK,     /* a node's timer: node_tick() */
	RT_EV_TURN,     /* node_wake(): a turn with no event */
	RT_EV_DIAL,     /* a connection's dial completes (or fails) */
	RT_EV_FRAME,    /* a frame reaches the end of its connection */
	RT_EV_JOB,      /* a background job ends: its work, then its done */
	RT_EV_CLIENT,   /* a client acts */
	RT_EV_FAULT,    /* the fault generator acts */
	RT_EV_OPERATOR, /* the operator acts (membership changes) */
};

struct rt_event {
	uint64_t at_us, seq;
	enum rt_event_kind kind;
	int node;     /* the node it reaches, -1 for none */
	uint64_t gen; /* the node's life it belongs to (a restart drops older) */
	void *ptr;    /* FRAME: struct rt_frame; JOB: struct rt_job; DIAL: struct rt_conn */
	int arg;
};

/* A simulated node: a real struct node, its clock and its life. */
struct rt_node {
	int slot; /* 0-based; the node id is slot + 1 */
	uint64_t id;
	char data[400];
	char http[32], raft[32];
	struct node *n; /* NULL while down */
	struct transport *t;
	bool up;
	uint64_t gen;           /* lives: one more at every start */
	double rate;            /* its clock's speed against simulated time */
	uint64_t clock_base_us; /* its clock at simulated time 0 */
	uint64_t last_clock_us; /* never goes back */
	unsigned jobs;          /* queued jobs whose done has not run */
	bool wake;              /* node_wake() asked for a turn */
	bool partitioned;
	bool member;              /* in the configuration, as far as the world knows (founders;
	                           * a spare once added; not a removed node) */
	bool spare;               /* started with --join, waiting to be added */
	bool removed;             /* removed from the configuration */
	bool stopped;             /* ... and stopped for good (not when it keeps running) */
	bool lost;                /* its folder was wiped: it runs empty, refused */
	uint64_t busy_until_us;   /* its loop is blocked (a sync, a pause) until then */
	int32_t wall_skew_ms;     /* its wall clock against true time (clock.c) */
	int64_t wall_step_ms;     /* ... and the steps it took */
	unsigned ticks_unchecked; /* since C-7 was last checked */
	/* I9: its recent acknowledgements of appends (index, when each left),
	 * and the index its log must hold after a restart. */
	struct {
		uint64_t index, depart_us;
	} acks[64];
	unsigned n_acks;
	uint64_t last_index; /* its log's, as last seen (a truncation lowers acks) */
	uint64_t must_hold;
};

struct rt_world {
	uint64_t seed;
	struct sim_rng rng;
	int n_nodes, n_clients; /* n_nodes: every slot, founders and spares */
	int n_founders;
	struct rt_node nodes[RT_NODES_MAX];
	uint64_t now_us;
	int current; /* the node whose code runs now, -1 for none */
	/* The event queue: a binary heap on (at_us, seq). */
	struct rt_event *heap;
	size_t heap_n, heap_cap;
	uint64_t next_seq;
	/* Parameters the seed drew. */
	unsigned latency_us, jitter_us; /* a frame's trip */
	unsigned reset_per_mille;       /* a connection resets instead of delivering */
	unsigned crash_per_mille;       /* fault events that crash a node */
	unsigned partition_per_mille;   /* ... that isolate one */
	unsigned pause_per_mille;       /* ... that pause one (SIGSTOP) */
	unsigned sigterm_per_mille;     /* ... that stop one (SIGTERM: a leader hands over first) */
	unsigned power_per_mille;       /* crashes that are power losses */
	unsigned rack_per_mille;        /* faults that cut a leader's and a follower's power */
	unsigned wall_per_mille;        /* fault events that also step a wall clock */
	unsigned fsync_us;              /* a sync blocks its node this long */
	unsigned slow_sync_per_mille;   /* ... and 50-450 ms more, this often */
	bool torn_writes;               /* a power loss keeps some unsynced writes, one torn */
	bool keep_removed;              /* a removed server keeps running with its data */
	uint64_t fault_until_us;        /* faults stop then; the run heals and settles */
	uint64_t end_us;
	bool trace;
	char base[320]; /* the seed's folder */
	/* What failed (the first failure ends the seed). */
	bool failed;
	uint64_t fail_us;
	char why[512];
};

extern struct rt_world *rt_w;

void rt_push(struct rt_world *w, uint64_t at_us, enum rt_event_kind kind, int node, void *ptr,
             int arg);
void rt_fail(struct rt_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rt_trace(struct rt_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* When node NODE's outputs of this turn leave: now, or after the syncs its
 * loop is blocked in (disk.c) or a pause. */
uint64_t rt_node_time(const struct rt_world *w, int node);
/* The slot of a node that leads now, -1 when none does. */
int rt_leader(const struct rt_world *w);
/* An index below N drawn with the weights W[0..N-1] (not all zero). */
unsigned rt_weighted(struct rt_world *w, const unsigned *weights, size_t n);
/* The node NODE's code runs now (its clock, its randomness); -1: none. */
void rt_enter(struct rt_world *w, int node);
/* A node's turn ends (node_turn_end, and again while it asked to wake). */
void rt_turn_end(struct rt_world *w, int node);

/* disk.c: the nodes' databases through an SQLite VFS that models syncs */
void rt_disk_install(void);
void rt_disk_dead(int node, bool dead); /* its handles change nothing */
void rt_disk_power_loss(int node);      /* unsynced writes are lost */
void rt_disk_wipe(int node);            /* its databases are gone (a lost disk) */

/* clock.c: wall clocks and their steps; the cluster clock's check (C-7) */
uint64_t rt_wall_ms(const struct rt_world *w, int slot);
void rt_wall_start(struct rt_world *w, int slot); /* its skew, at the seed's start */
void rt_wall_step(struct rt_world *w, int slot);
void rt_clock_check(struct rt_world *w, int slot); /* after each of its ticks */

/* apply.c: the state machine's invariants on every entry applied */
void rt_apply_node_down(int slot);         /* before its database closes */
unsigned rt_apply_checked(void);           /* entries checked so far */
bool rt_apply_set_break(const char *name); /* --break kv-NAME; false: no such break */

/* env.c */
void rt_job_run(struct rt_world *w, struct rt_event *ev);

/* A follower sent an acknowledgement that its log matches up to INDEX; it
 * leaves at DEPART_US (world.c, I9). */
void rt_acked(struct rt_world *w, int node, uint64_t index, uint64_t depart_us);

/* raft_check.c: the Raft invariants I1-I6, I8, I9 within a life and I11
 * over the real nodes. */
struct raft_msg;
/* A Raft message M leaves NODE at DEPART_US (I2: its term, its vote; I9:
 * an acknowledgement). Returns the first index it may write into its
 * receiver's log (an APPEND with entries), 0 for none: the transport hands
 * it to rt_raft_append_in() when the frame is delivered (I4). */
uint64_t rt_raft_sent(struct rt_world *w, int node, const struct raft_msg *m, uint64_t depart_us);
void rt_raft_append_in(struct rt_world *w, int node, uint64_t from);
void rt_raft_crashed(struct rt_world *w, int node); /* what had not left never will */
void rt_raft_started(struct rt_world *w, int node); /* its core restored (I2, I8) */
void rt_raft_wiped(struct rt_world *w, int node);   /* its folder was emptied: a new server */
void rt_raft_check(struct rt_world *w, int node);   /* after an event; not while installing */

/* transport.c */
void rt_net_start(struct rt_world *w);    /* the seed's network: in some, beyond TCP */
void rt_limits_start(struct rt_world *w); /* the core's flow control: small in some */
void rt_net_dial_event(struct rt_world *w, struct rt_event *ev);
void rt_net_frame_event(struct rt_world *w, struct rt_event *ev);
void rt_net_node_down(struct rt_world *w, int node); /* every connection of it resets */
void rt_net_isolate(struct rt_world *w, int node, bool isolated);
void rt_net_stall_event(struct rt_world *w, void *conn); /* a partition's stall ran out */

/* removed.c: removed servers never disrupt the cluster (I13). */
void rt_removed_observe(struct rt_world *w, int node); /* after an event: its core */
/* Around the delivery of a Raft frame FROM sent at SENT_US to TO: what
 * TO's core was before, and whether the frame changed it as it must not. */
struct rt_removed_mark {
	bool watch, lagging;
	uint64_t term, ceiling, leader;
	int role;
};
void rt_removed_before(struct rt_world *w, int from, int to, uint64_t sent_us,
                       const uint8_t *payload, size_t len, struct rt_removed_mark *mark);
void rt_removed_after(struct rt_world *w, int from, int to, const struct rt_removed_mark *mark);

/* front.c: calls as a client sends them, and their answers. */
struct rt_answer {
	bool answered;
	uint64_t at_us; /* when it reaches the client: its node's time of the answer */
	bool lost;      /* its node crashed first: the client saw the connection reset */
	unsigned status;
	json_t *body; /* NULL when none or not JSON */
	uint64_t index, leader;
};
struct http_call *rt_front_send(struct rt_world *w, int node, const char *method,
                                const char *target, const char *body, struct rt_answer *out);
void rt_front_node_down(struct rt_world *w, int node);

/* A node a client or the operator may call: a member, at random. */
int rt_pick_node(struct rt_world *w);
/* NODE was removed from the configuration: it stops for good, or, in the
 * seeds that keep removed servers (keep_removed), runs on with its data. */
void rt_node_removed(struct rt_world *w, int node);
/* NODE loses its disk: it loses power, its data folder is emptied, and it
 * is started again on the empty folder 0.2-1 s later (a careless restart);
 * it is no member any more as far as the world knows (lost). */
void rt_node_wipe(struct rt_world *w, int node);
/* The lost NODE was replaced (removed from the configuration): it keeps
 * running, on its empty folder. */
void rt_node_replaced(struct rt_world *w, int node);

/* operator.c: adds the spare as a learner, promotes it, removes a voter. */
void rt_operator_start(struct rt_world *w);
void rt_operator_event(struct rt_world *w, struct rt_event *ev);
bool rt_operator_idle(const struct rt_world *w);

/* client.c */
void rt_clients_start(struct rt_world *w);
void rt_client_event(struct rt_world *w, struct rt_event *ev);
void rt_clients_check_end(struct rt_world *w);  /* after the settle: final reads */
bool rt_clients_idle(const struct rt_world *w); /* no call of theirs in flight */
void rt_clients_final_get(struct rt_world *w, int node, int key, struct rt_answer *ans);
void rt_clients_final_check(struct rt_world *w, int key, uint64_t sent, struct rt_answer *ans);
unsigned rt_clients_calls(void);
/* The sessions the clients hold now (IDS point into the clients' state),
 * and whose each is; at most MAX. */
int rt_clients_sessions(const char **ids, int *client, int max);

/* bound.c: after check_end, the session bound (C-6). */
void rt_bound_phase(struct rt_world *w);
/* Runs every event up to UNTIL_US (or the first failure). */
void rt_run_until(struct rt_world *w, uint64_t until_us);

#endif
