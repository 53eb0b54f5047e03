/* node_life.h: a node's life apart from the loop that runs it. node.c runs
 * it on libuv with a real transport and HTTP front; the runtime simulator
 * (tests/sim/) runs the same functions in a simulated world. Whoever
 * runs a node:
 *
 *   node_open() once; starts the transport with node_transport_config()
 *   and then calls node_peers_start(); then, for as long as it runs:
 *     - node_tick() every NODE_TICK_MS of node_now_ms() (true: a SIGTERM's
 *       hand-off ended, stop now);
 *     - the transport's callbacks as frames come;
 *     - node_submit() for each call its front decoded, then
 *       node_take_inbox() (node_dispatch.h) when the front's run returns;
 *     - node_turn_end() (node_ready.h) after each turn's events, and again
 *       at once when node_wake() was called;
 *     - each queued job's done callback when its work ended (node_env.h);
 *   node_stop_calls() to stop: then no call is left unanswered; the loop
 *   runs until the jobs' done callbacks ran; node_close() frees it all.
 */
#ifndef COORD_NODE_LIFE_H
#define COORD_NODE_LIFE_H

#include <stdbool.h>

#include "node_internal.h"

/* Opens N (zeroed, its TLS credentials set) with CFG: its data folder
 * (founding a single-node cluster at once), its core from what was durable,
 * the lease anchors. Returns 0, or -1 after one log line saying why. */
int node_open(struct node *n, const struct coord_config *cfg);

/* The transport's configuration: N's addresses and callbacks (log unset). */
void node_transport_config(struct node *n, struct transport_config *tc);
/* Dials the peers of the configuration, or the founders while there is none. */
void node_peers_start(struct node *n);

/* One tick: the core's, the lease keeper's, the calls' deadlines, founding
 * and sealing, the peers kept equal to the configuration. True when a
 * SIGTERM's hand-off (node_handoff_start) ended: the node stops now. */
bool node_tick(struct node *n);

/* SIGTERM on a leader with another live voter: leadership is handed to it
 * before stopping; node_tick() says when to stop. False when no hand-off
 * began (not a leader, nobody to take over): stop at once. */
bool node_handoff_start(struct node *n);

/* The HTTP front's submit callback (server.h; CTX is the node): a decoded
 * call goes to the inbox, or is answered 503 when it is full or closed. */
void node_submit(void *ctx, struct http_call *call);

/* Stopping: the inbox closes, and every call is answered now. */
void node_stop_calls(struct node *n);

/* Frees everything N holds but N itself; the transport was stopped and
 * every job's done callback ran. */
void node_close(struct node *n);

#endif
