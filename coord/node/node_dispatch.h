/* node_dispatch.h: how calls arrive and where they go (node_dispatch.c).
 * The top of the runtime's calls. */
#ifndef COORD_NODE_DISPATCH_H
#define COORD_NODE_DISPATCH_H

#include "node_internal.h"

/* Takes every call the HTTP front handed over (the inbox is bounded by
 * NODE_INBOX_MAX) and dispatches each; at NODE_CALLS_MAX, 503. */
void node_take_inbox(struct node *n);

/* A FORWARD from peer FROM: decoded again with the HTTP decoder (rule 11),
 * then dispatched, or, with NODE_FORWARD_CANCEL, the call it names withdrawn. */
void node_on_forward(struct node *n, uint64_t from, const uint8_t *p, size_t len);

/* Routes C (waiting in no list): answered here (LOCAL, stale READ), handled
 * as the leader, forwarded or redirected to it, or parked until a leader is
 * known (W_LEADER) or, for a stale read, until an install ends (W_INSTALL). */
void node_dispatch(struct node *n, struct ncall *c);

/* A leader became known: calls parked for one are dispatched again. */
void node_leader_changed(struct node *n);

/* A snapshot install ended: calls parked for the state (W_INSTALL, N-6) are
 * dispatched again. */
void node_installed(struct node *n);

/* Once per tick: ends the calls whose deadline passed, withdraws the waits
 * of clients that hung up, and checks that every call in flight waits in a
 * list (N-2). */
void node_expire_calls(struct node *n, uint64_t now);

/* Shutdown: every call still here gets an answer (504 for a write whose
 * entry may still commit, rule 12). */
void node_fail_all(struct node *n);

#endif
