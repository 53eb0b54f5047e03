/* node_ready.h: executing the Raft core's outputs, persist then send then
 * apply, in one place (N-1; node_ready.c), and taking snapshots. */
#ifndef COORD_NODE_READY_H
#define COORD_NODE_READY_H

#include "node_internal.h"

/* Executes everything the core has ready, until it has nothing more. */
void node_drive(struct node *n);
/* The end of a turn of the loop, after its events were fed in: node_drive()
 * once when kicked (group commit, node_kick()). */
void node_turn_end(struct node *n);
/* Takes a snapshot when enough entries were applied since the last one. */
void node_maybe_snapshot(struct node *n);

#endif
