/* node_ready.h: executing the Raft core's outputs, persist then send then
 * apply, in one place (N-1; node_ready.c), and taking snapshots. */
#ifndef COORD_NODE_READY_H
#define COORD_NODE_READY_H

#include "node_internal.h"

/* Executes everything the core has ready, until it has nothing more. */
void node_drive(struct node *n);
/* The loop's check handle: node_drive() once per turn when kicked. */
void node_drive_check(uv_check_t *h);
/* Takes a snapshot when enough entries were applied since the last one. */
void node_maybe_snapshot(struct node *n);

#endif
