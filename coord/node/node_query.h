/* node_query.h: reads and long-polls (node_query.c); the query itself is
 * the operation's handler entry (api.h). */
#ifndef COORD_NODE_QUERY_H
#define COORD_NODE_QUERY_H

#include "node_internal.h"

/* Runs C's query and answers it, or parks a long-poll whose object has not
 * changed past ?index= (W_POLL, at most NODE_POLLS_MAX). */
void node_answer_query(struct node *n, struct ncall *c);

/* Whether C, a long-poll, may still wait: its wait has not passed (or, not
 * yet waiting, it asked for one). */
bool node_poll_open(const struct node *n, const struct ncall *c);

/* A long-poll whose client went away: answered now with the current state. */
void node_drop_poll(struct node *n, struct ncall *c);

#endif
