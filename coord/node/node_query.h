/* node_query.h: reads and long-polls (node_query.c); the query itself is
 * the operation's handler entry (api.h). */
#ifndef COORD_NODE_QUERY_H
#define COORD_NODE_QUERY_H

#include "node_internal.h"

/* Several reads of the state in a row on the loop (a drain of the inbox,
 * the reads answered after an apply) share one read transaction on the
 * loop's handle instead of one each: in WAL mode every transaction takes
 * and drops a read lock on the shared index with fcntl, two system calls
 * per query otherwise. Between node_reads_begin() and node_reads_end() the
 * second query node_answer_query() runs opens the transaction (a span
 * with one query, or none, costs nothing more); none opens during an
 * install, when the loop leaves state.db alone (N-6). The caller
 * guarantees that nothing is applied in the span (the core's outputs run
 * in node_drive, once per turn), so the reads see what the node has
 * applied, as each did alone. A failure to end it is a storage error
 * (rule 7). */
void node_reads_begin(struct node *n);
void node_reads_end(struct node *n);

/* Runs C's query and answers it, or parks a long-poll whose object has not
 * changed past ?index= (W_POLL, at most NODE_POLLS_MAX). */
void node_answer_query(struct node *n, struct ncall *c);

/* Whether C, a long-poll, may still wait: its wait has not passed (or, not
 * yet waiting, it asked for one). */
bool node_poll_open(const struct node *n, const struct ncall *c);

/* A long-poll whose client went away: answered now with the current state. */
void node_drop_poll(struct node *n, struct ncall *c);

#endif
