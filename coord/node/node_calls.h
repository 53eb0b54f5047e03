/* node_calls.h: calls in flight, the lists they wait in, and their answers.
 * The bottom of the runtime's calls: every other part waits and answers
 * through these, and these call nothing of theirs.
 *
 * Contract (N-2): a call is in at most one list, the one its `wait` names;
 * each node_answer*() takes it out of that list, answers it once (a local
 * client through http/, a forwarded call with a REPLY to its follower) and
 * frees it, so the caller must not touch C afterwards. */
#ifndef COORD_NODE_CALLS_H
#define COORD_NODE_CALLS_H

#include "node_internal.h"

void ncall_list_push(struct ncall_list *l, struct ncall *c);
void ncall_list_remove(struct ncall_list *l, struct ncall *c);

/* Moves C to the list of W (W_WRITE keeps its list in (index, term) order)
 * with DEADLINE_MS; ncall_unwait takes it out of any list. */
void ncall_wait(struct node *n, struct ncall *c, enum ncall_wait w, uint64_t deadline_ms);
void ncall_unwait(struct node *n, struct ncall *c);

/* Answers C with STATUS and BODY (stolen; may be NULL). The answer to a
 * repeated seq (C->retry) carries "retry": true. */
void node_answer(struct node *n, struct ncall *c, unsigned status, json_t *body);
/* Answers C with a text/plain body (copied). */
void node_answer_text(struct node *n, struct ncall *c, unsigned status, const char *text);
/* Answers local call C 200 with the page HTML of LEN bytes (copied) and its
 * Content-Security-Policy CSP (borrowed, static): GET /ui. */
void node_answer_html(struct node *n, struct ncall *c, const char *html, size_t len,
                      const char *csp);
/* Answers C in the API's error shape; DETAILS (stolen, may be NULL) are
 * merged into the error object. */
void node_answer_error(struct node *n, struct ncall *c, enum http_error code, json_t *details,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same, with the error ERR as it is. */
void node_answer_err(struct node *n, struct ncall *c, const struct http_err *err, json_t *details);
/* Answers C 409 stale_request: the session applied seq LAST already, and
 * C's seq is not above it (API.md, Retries). */
void node_answer_stale(struct node *n, struct ncall *c, uint64_t last);
/* Answers local call C with what the leader answered to its forward. */
void node_answer_relayed(struct node *n, struct ncall *c, unsigned status, const char *body,
                         size_t len, const struct http_meta *meta);
/* Answers local call C with the node's newest snapshot file (n->snap):
 * X-Coord-Index and X-Coord-Term are the snapshot's, X-Coord-Crc32c its
 * checksum (API.md, GET /v1/snapshot). */
void node_answer_snapshot(struct node *n, struct ncall *c);
/* Answers local call C 307 to META's Location. */
void node_answer_redirect(struct node *n, struct ncall *c, const struct http_meta *meta);

#endif
