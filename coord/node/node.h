/* node.h: the coordd server process as one call. */
#ifndef COORD_NODE_H
#define COORD_NODE_H

#include "config.h"

/* Opens the data folder (bootstrapping a new cluster from CFG's members when
 * it is empty), starts the peer transport and the HTTP server, and serves
 * until SIGTERM or SIGINT. Returns 0 after a clean shutdown, non-zero (with
 * one log line saying why) when the node could not start. A storage error
 * while running stops the process at once (fail-stop). */
int coord_node_run(const struct coord_config *cfg);

#endif
