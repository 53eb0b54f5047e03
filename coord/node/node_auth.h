/* node_auth.h: access control of client calls (docs/API.md, Access
 * control; DESIGN.md, The node runtime and the HTTP front). The node that
 * receives a call checks its token against its own applied state before
 * the call goes anywhere: a refused call is answered 401 or 403 at once and
 * nothing is proposed, forwarded or read for it. A call forwarded by a peer
 * was checked by that peer (peers are trusted: peer TLS). */
#ifndef COORD_NODE_AUTH_H
#define COORD_NODE_AUTH_H

#include <stdbool.h>

#include <jansson.h>

#include "node_internal.h"

/* Whether C (a local call) may go on. False once it answered C, or, while
 * a snapshot is installed (N-6), put it to wait in W_INSTALL with
 * C->auth_pending set: node_installed() admits it again. It answered 401
 * unauthenticated (a token is needed and the call has none, a malformed
 * one, or one that is unknown or revoked), 403 permission_denied (the
 * token lacks the rule or the admin flag the call's row needs, op.h), or
 * 503 (the state cannot be read now). On true, C->token holds the call's
 * token when it has one (freed with C), for node_auth_filter(). */
bool node_auth_admit(struct node *n, struct ncall *c);

/* Reads whether the cluster was bootstrapped into n->auth_on, so that no
 * request reads it, and forgets the tokens kept for calls (node_auth.c): at
 * start, after a snapshot install, and after every applied entry that makes
 * or revokes a token (only a bootstrap turns access control on, and
 * nothing turns it off). Stops the node if state.db cannot be read. */
void node_auth_refresh(struct node *n);

/* Frees the tokens kept for calls; at the node's end. */
void node_auth_close(struct node *n);

/* Answers C 403 permission_denied, details {"missing":"owner"}: the
 * session it names belongs to another token (SM-10). Returns false. */
bool node_auth_deny_owner(struct node *n, struct ncall *c);

/* Whether C may use session ID as of this node's applied state: true when
 * the session does not exist (the caller answers that) or belongs to C's
 * token (C->actor; both 0 without access control); else answers C (403,
 * or 503 when the state cannot be read) and returns false. For what the
 * node answers without the log (a keepalive), and on the leader before it
 * proposes a write, so that a refused one takes no entry; writes are
 * checked again where they apply (SM-10). Reads nothing for a call without
 * a token before this node applied the bootstrap (every session is then
 * owner 0's). */
bool node_auth_owns(struct node *n, struct ncall *c, const struct coord_session_id *id);

/* Removes from BODY, C's answer of 200, the items C's token may not read:
 * the locks and sessions of a listing, a session's locks, waits and
 * elections, a session's events of locks, elections and keys. Nothing for a call without a token.
 * False when the answer as a whole may not be read (a session whose label no read rule allows): C
 * was answered 403 naming the rule, and the caller drops BODY. */
bool node_auth_filter(struct node *n, struct ncall *c, json_t *body);

/* The same for a relayed answer of 200, LEN bytes at BODY: true with *OUT
 * NULL when nothing changes, true with the filtered text in *OUT
 * (malloc'd; the caller frees it); false when it answered C: 403 as
 * above, or 503 when an answer that needs filtering could not be (never
 * the unfiltered body). */
bool node_auth_filter_text(struct node *n, struct ncall *c, const char *body, size_t len,
                           char **out);

#endif
