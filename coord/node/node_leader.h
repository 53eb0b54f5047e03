/* node_leader.h: what the leader does with calls, and the answers that come
 * from applied entries on every node (node_leader.c). Uses the handler
 * entries (api.h), reads (node_query.h) and calls (node_calls.h). */
#ifndef COORD_NODE_LEADER_H
#define COORD_NODE_LEADER_H

#include "node_internal.h"

/* On the leader: a WRITE is proposed and waits for its entry (W_WRITE,
 * N-3); a READ or CONFIRM starts a ReadIndex round (W_READ, N-4); an ADMIN
 * call runs its hook. */
void node_handle_on_leader(struct node *n, struct ncall *c);

/* ADMIN calls: C waits for its change in W_MEMBER until its deadline;
 * node_admin_poll() runs the hooks of those waiting, after each drive. */
void node_admin_wait(struct node *n, struct ncall *c);
void node_admin_poll(struct node *n);

/* Withdraws C's queued wait with a CANCEL entry (its wait_ms passed or its
 * client hung up); off the leader, 504 (the wait may still be granted). */
void node_cancel_wait(struct node *n, struct ncall *c);

/* Entry INDEX of TERM applied with result R (NULL: not a command): answers
 * the proposals it settles, the waits it grants and the waits of sessions
 * it ended, and keeps the lease keeper in step. */
void node_on_applied(struct node *n, uint64_t index, uint64_t term, const struct coord_result *r,
                     const void *data, size_t len);

/* A snapshot replaced entries up to INDEX: their proposals end as unknown
 * (504, rule 12). */
void node_snapshot_skipped(struct node *n, uint64_t index);

/* A ReadIndex round ended: its call waits for applied >= the read point. */
void node_on_read(struct node *n, const struct raft_read *rd);

/* After applying: answers the reads and keepalives whose read point is
 * applied, and re-runs the long-polls. */
void node_after_apply(struct node *n);

#endif
