/* api.h: what the node does with each operation of the API, as hooks, one
 * entry per operation, grouped one file per resource: api_sessions.c,
 * api_locks.c, api_elections.c, api_cluster.c, api_members.c,
 * api_tokens.c, api_kv.c, and api_ui.c (the status page).
 *
 * The facts of an operation (read or write, long-poll, queues, cancellable,
 * fields) are its row in http/op.h; an entry here holds only the code that
 * differs from one operation to the next: the command a write proposes, the
 * answer to its applied result, the query a read runs. Dispatch, forwarding,
 * waiting, proposing and answering are generic (node_calls.c, node_leader.c,
 * node_query.c, node_forward.c) and reach an operation only through these
 * hooks.
 *
 * Which hooks an entry has follows from its row's flags, and
 * node_api_init() asserts it at start-up:
 *   WRITE    command, applied; QUEUES adds granted (and kind)
 *   READ     query
 *   CONFIRM  answer (on the leader, after a ReadIndex round, rule 5)
 *   LOCAL    answer (on the node that received it)
 *   ADMIN    admin (on the leader, then again after each ready while it
 *            waits in W_MEMBER)
 */
#ifndef COORD_NODE_API_H
#define COORD_NODE_API_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "command.h"
#include "error.h"
#include "op.h"
#include "request.h"
#include "sm.h"

struct node;
struct ncall;

/* What a read's query runs against: the state as of APPLIED, read through
 * READER (on DB) in one read transaction. On the loop (node_answer_query)
 * N is the node, and what only the loop knows (the leader's deadlines) may
 * be added; for a stale read answered as it is decoded (node_stale.c) N
 * is NULL. A hook that returns -1 has set ERR (and
 * DETAILS, owned, or NULL) with node_read_fail(): the caller answers it. */
struct node_read {
	struct coord_sm_reader *reader;
	sqlite3 *db;
	uint64_t applied;
	struct node *n;
	const struct http_request *req;
	bool poll_open; /* a long-poll that may still wait (node_poll_open) */
	struct http_err err;
	json_t *details;
};

struct node_api {
	enum http_op op; /* 0 ends a resource's list */

	/* WRITE: fills *CMD's type and fields for REQ (*CMD is zeroed, with
	 * the leader's time stamped, before). False when REQ names no valid
	 * session: the call is answered 404 and nothing is proposed. */
	bool (*command)(struct node *n, const struct http_request *req, struct coord_cmd *cmd);

	/* WRITE: answers C from R, the result of applying C's own entry at
	 * INDEX (N-3). Returns false, answering nothing, for a status it leaves
	 * to the generic answers (node_leader.c: queued, lock held, ...). */
	bool (*applied)(struct node *n, struct ncall *c, uint64_t index,
	                const struct coord_result *r);

	/* The body of a grant of fencing token TOKEN to REQ (QUEUES needs it),
	 * and the namespace whose grants answer a waiting call of this
	 * operation. */
	json_t *(*granted)(const struct http_request *req, uint64_t token);
	enum coord_kind kind;

	/* READ: runs the query of R->req: 0 with *BODY and *MODIFY_INDEX
	 * (what a long-poll compares with ?index=), or -1 with R->err (an
	 * error such as 404). Reads only through R (node_stale.c). */
	int (*query)(struct node_read *r, json_t **body, uint64_t *modify_index);

	/* CONFIRM, LOCAL: answers C. */
	void (*answer)(struct node *n, struct ncall *c);

	/* ADMIN: runs C: first on the leader (C->stage 0), then after each
	 * ready while C waits in W_MEMBER, on whatever this node has become.
	 * Answers C, or waits it again with node_admin_wait(). */
	void (*admin)(struct node *n, struct ncall *c);
};

/* The entries of each resource, each list ended by an entry of op 0. */
extern const struct node_api node_api_sessions[];
extern const struct node_api node_api_locks[];
extern const struct node_api node_api_elections[];
extern const struct node_api node_api_cluster[];
extern const struct node_api node_api_members[];
extern const struct node_api node_api_tokens[];
extern const struct node_api node_api_ui[];
extern const struct node_api node_api_kv[];

/* The status page (api_ui.c), ui/ui.html as CMake embeds it at build time
 * (ui_html.c in the build folder): node_ui_html_len bytes, not
 * NUL-terminated. */
extern const unsigned char node_ui_html[];
extern const size_t node_ui_html_len;

/* Access tokens (api_tokens.c; the secret's form in node_internal.h,
 * NODE_TOKEN_*). Draws a new secret into SECRET (NODE_TOKEN_SECRET_LEN
 * bytes and a NUL) and its SHA-256 into HASH; false when the random
 * generator or the hash failed. Only the hash leaves the node that drew
 * the secret, in the TOKEN entry. */
bool node_token_mint(char *secret, uint8_t hash[COORD_TOKEN_HASH_LEN]);
/* The bootstrap's TOKEN into CMD, but its hash: named "bootstrap", admin,
 * write on every resource with any name. */
void node_token_bootstrap_cmd(struct coord_cmd *cmd);
/* Answers C, a bootstrap, 409: the cluster is bootstrapped already. */
void node_token_bootstrapped(struct node *n, struct ncall *c);
/* The SHA-256 of the LEN bytes of SECRET into HASH; false on failure. */
bool node_token_hash(const char *secret, size_t len, uint8_t hash[COORD_TOKEN_HASH_LEN]);

/* Indexes the entries by op, asserting that every operation has exactly
 * one, with the hooks its flags need and no others. Called once at
 * start-up, before any call arrives. */
void node_api_init(void);

/* The voter that would take over soonest (a leadership transfer's target
 * when none is named): the most caught up of the other voters heard within
 * a few heartbeats; 0 when none is. */
uint64_t node_best_voter(const struct node *n);

/* The entry of OP (an op that decoded, so one exists). */
const struct node_api *node_api(enum http_op op);

/* Helpers the entries share. */

/* REQ's session id, parsed; false when it is not one. */
bool node_api_session(const struct http_request *req, struct coord_session_id *id);
/* Sets CMD's session and seq (API.md, Retries) to REQ's: what every
 * request of a session carries. False when REQ's session is not an id. */
bool node_api_session_cmd(const struct http_request *req, struct coord_cmd *cmd);
/* Sets CMD's name and value (if any) to REQ's, borrowed from REQ. */
void node_api_name_value(const struct http_request *req, struct coord_cmd *cmd);
/* Ends a read's query hook: 0 when RC is 0; otherwise drops *BODY, sets
 * R's error (404 naming NAME for COORD_ENOTFOUND when NAME is not NULL,
 * else 503) and returns -1. */
int node_query_done(struct node_read *r, int rc, json_t **body, const char *name);
/* Sets R's error to CODE with DETAILS (stolen, may be NULL) and the message
 * FMT...; returns -1, what the hook returns. */
int node_read_fail(struct node_read *r, enum http_error code, json_t *details, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The "modify_index" of a query's answer, for long-polls. */
uint64_t node_body_modify_index(json_t *body);
/* The applied hook of a write answered with its granted() body. */
bool node_api_grant_applied(struct node *n, struct ncall *c, uint64_t index,
                            const struct coord_result *r);
/* The applied hook of a release or resign: {"released": bool}. */
bool node_api_released(struct node *n, struct ncall *c, uint64_t index,
                       const struct coord_result *r);

#endif
