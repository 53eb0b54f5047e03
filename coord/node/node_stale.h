/* node_stale.h: stale reads (?consistency=stale) answered by the HTTP front
 * as soon as they are decoded (server.h's serve callback): they never become
 * calls of the node (no suspended connection, no inbox, no call record).
 *
 * A stale read promises only a state this node has applied (API.md,
 * Consistency). The front runs on the loop's thread, which keeps a second,
 * read-only handle on state.db for these reads (opened on the first) and
 * reads it in one transaction: the state and the applied index it carries
 * are one committed apply (rule 6), so the answer and its X-Coord-Index
 * match exactly what the loop's own handle gives, and an install, which
 * replaces the state in one transaction on a worker's handle (N-6), is seen
 * wholly or not at all. The other headers are the core's, read as the loop
 * answers any call.
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

/* After the HTTP server stopped: closes the handle. */
void node_stale_stop(struct node *n);

/* The HTTP server's serve callback (server.h): CTX is the node. */
bool node_serve_stale(void *ctx, struct http_call *call);

#endif
