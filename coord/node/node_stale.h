/* node_stale.h: stale reads (?consistency=stale) answered by the HTTP front
 * as soon as they are decoded (server.h's serve callback): they never become
 * calls of the node (no suspended connection, no inbox, no call record).
 *
 * A stale read promises only a state this node has applied (API.md,
 * Consistency). Each thread that runs the HTTP front (the loop's, in
 * coordd) keeps its own read-only handle on state.db and reads it in one
 * transaction: the state and the applied index it
 * carries are one committed apply (rule 6), so the answer and its
 * X-Coord-Index match exactly as they do on the loop, and an install that
 * replaces the state in one transaction is seen wholly or not at all.
 * X-Coord-Term, X-Coord-Leader and X-Coord-Last-Contact are what the loop
 * last published (node_stale_publish, every turn that drove the core).
 *
 * Only what needs nothing else of the loop is answered here; everything
 * else becomes a call (node_serve_stale returns false):
 * - a long-poll that may wait (?index= with a wait);
 * - any read while access control is on, by flag or in the state read
 *   (the check is in the same transaction): tokens live on the loop;
 * - a node whose handle could not be opened or read (the loop answers).
 */
#ifndef COORD_NODE_STALE_H
#define COORD_NODE_STALE_H

#include <stdbool.h>

#include "node_internal.h"

/* Before the HTTP server starts / after it stopped (a thread's handle is
 * closed as the thread ends: the loop's, by node_stale_stop). */
int node_stale_start(struct node *n);
void node_stale_stop(struct node *n);

/* The HTTP server's serve callback (server.h): CTX is the node. */
bool node_serve_stale(void *ctx, struct http_call *call);

/* On the loop: publishes term, leader and last contact for the headers. */
void node_stale_publish(struct node *n);

#endif
