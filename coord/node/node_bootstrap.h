/* node_bootstrap.h: coordd --bootstrap-token-file (docs/API.md, coordd:
 * Access control). The operator chooses the first admin token's secret; the
 * node keeps only its SHA-256, and the first leader of a cluster not yet
 * bootstrapped proposes the bootstrap with it, as POST /v1/auth/bootstrap
 * would with a secret it draws (api_tokens.c). */
#ifndef COORD_NODE_BOOTSTRAP_H
#define COORD_NODE_BOOTSTRAP_H

#include "node_internal.h"

/* Reads --bootstrap-token-file, if given, into N's bootstrap hash: one
 * line, a secret of NODE_BOOTSTRAP_SECRET_MIN..HTTP_BEARER_MAX characters
 * of the bearer form (a trailing newline allowed), wiped once hashed.
 * Returns 0, or -1 with a log line naming what is wrong (the node does not
 * start). */
int node_bootstrap_load(struct node *n);

/* On the leader, each lease tick: while the cluster is not bootstrapped
 * and the node has a bootstrap hash, proposes the bootstrap with it, once
 * per term (a proposal lost with the term is made again by the next
 * leader; one that loses to another bootstrap applies as exists and
 * changes nothing). */
void node_bootstrap_propose(struct node *n);

#endif
