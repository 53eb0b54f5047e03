/* node_core.h: what every part of the runtime asks of the node. Depends on
 * nothing else of the runtime. */
#ifndef COORD_NODE_CORE_H
#define COORD_NODE_CORE_H

#include "node_env.h"
#include "node_internal.h"

/* The stamp of an entry proposed now: the cluster clock (node_clock.h),
 * which the first stamp of a node that holds none founds. */
uint64_t node_stamp_ms(struct node *n);

/* A storage error (rule 7, N-5): logs WHAT and DETAIL and ends the process
 * at once. Never returns. */
void node_fatal(struct node *n, const char *what, const char *detail) __attribute__((noreturn));

/* The applied index this node answers for: state.db's, or during an
 * install the one it had when the install began (N-6). */
uint64_t node_applied(const struct node *n);

/* The X-Coord-* headers of an answer from this node, now. */
struct http_meta node_meta(const struct node *n);

/* The HTTP address of node ID as its HELLO said ("host:port"), or NULL. */
const char *node_peer_http(const struct node *n, uint64_t id);

/* Marks the core as stepped: node_drive() runs once at the end of this turn
 * of the loop (group commit). */
void node_kick(struct node *n);

/* Encodes CMD and proposes it to the core (a leader only); false when it is
 * not taken. On true, *INDEX and *TERM name the entry whose result answers
 * it (N-3). */
bool node_propose(struct node *n, const struct coord_cmd *cmd, uint64_t *index, uint64_t *term);

#endif
