/* node_forward.h: forwarding, the follower's side (node_wire.h has the
 * frames). */
#ifndef COORD_NODE_FORWARD_H
#define COORD_NODE_FORWARD_H

#include "node_internal.h"

/* Sends local call C to the leader and waits for its REPLY (W_FORWARD), or
 * answers 503 when the leader cannot be reached. */
void node_forward(struct node *n, struct ncall *c);

/* C's client hung up while its forwarded wait or long-poll was pending:
 * asks the node holding it (and the leader, if another) to withdraw it, and
 * ends C. */
void node_forward_cancel(struct node *n, struct ncall *c);

/* A REPLY from peer FROM: answers the forwarded call it names, if it still
 * waits; a malformed reply is dropped with a log line. */
void node_on_reply(struct node *n, uint64_t from, const uint8_t *p, size_t len);

#endif
