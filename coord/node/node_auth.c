/* Access control of client calls (node_auth.h): the bearer secret's hash
 * names the token (coord_sm_token_by_hash(), an indexed lookup of the
 * SHA-256 of a 256-bit random secret: DESIGN.md says why that lookup leaks
 * nothing useful), the call's row (op.h) says what the token needs, and
 * coord_auth_allows() (auth.h) decides each name. */
#include "node_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "auth.h"
#include "log.h"
#include "node_calls.h"
#include "node_core.h"
#include "sm_query.h"

static enum coord_resource resource_of(enum http_resource r)
{
	switch (r) {
	case HTTP_RES_ELECTIONS:
		return COORD_RESOURCE_ELECTIONS;
	case HTTP_RES_SESSIONS:
		return COORD_RESOURCE_SESSIONS;
	case HTTP_RES_KV:
		return COORD_RESOURCE_KV;
	case HTTP_RES_LOCKS:
	case HTTP_RES_NONE:
		break;
	}
	return COORD_RESOURCE_LOCKS;
}

/* The tokens kept (n->tokens): a token read for a call is kept, by its
 * secret's hash, for the calls after it, so that an authenticated call costs
 * no query (two, token and rules, when read). What is kept is exactly what
 * the applied state says, because every change of the tokens' tables empties
 * it before anything reads it again: node_auth_refresh() runs at start,
 * after a snapshot install, and after every applied entry that makes or
 * revokes a token (node_ready.c), before the calls of that entry are
 * answered. An unknown hash is not kept: a call with it costs its query,
 * as it would without the keeping. Matching a hash by memcmp leaks nothing
 * about a secret, for the reason the indexed lookup does not (DESIGN.md). */
static void tokens_forget(struct node *n)
{
	for (size_t i = 0; i < NODE_TOKENS_KEPT; i++) {
		free(n->tokens[i].token);
		n->tokens[i].token = NULL;
	}
	n->tokens_next = 0;
}

/* The token kept for HASH, or NULL. */
static const struct coord_token *tokens_find(const struct node *n,
                                             const uint8_t hash[COORD_TOKEN_HASH_LEN])
{
	for (size_t i = 0; i < NODE_TOKENS_KEPT; i++)
		if (n->tokens[i].token &&
		    memcmp(n->tokens[i].hash, hash, COORD_TOKEN_HASH_LEN) == 0)
			return n->tokens[i].token;
	return NULL;
}

/* Keeps a copy of T, read for HASH, in the next slot (the oldest kept goes);
 * keeps nothing when out of memory. */
static void tokens_keep(struct node *n, const uint8_t hash[COORD_TOKEN_HASH_LEN],
                        const struct coord_token *t)
{
	size_t i = n->tokens_next;
	struct coord_token *copy = malloc(sizeof(*copy));

	if (copy == NULL)
		return;
	*copy = *t;
	free(n->tokens[i].token);
	memcpy(n->tokens[i].hash, hash, COORD_TOKEN_HASH_LEN);
	n->tokens[i].token = copy;
	n->tokens_next = (i + 1) % NODE_TOKENS_KEPT;
}

/* The owners kept (n->owners): a session's owner is written when it opens
 * and never changes while it lives, and its id is never used again, so an
 * owner read once is the owner for as long as the session exists. A kept
 * owner equal to the call's token answers "yes" exactly as a read would
 * (the read says yes for that owner, and yes for a session that ended);
 * any other case reads, so that every answer is the read's. Emptied
 * whenever the state is replaced (node_auth_refresh), which is also when a
 * state could hold other sessions. */
static size_t owner_slot(const struct coord_session_id *id)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < COORD_SESSION_ID_LEN; i++)
		h = (h ^ id->bytes[i]) * 1099511628211ULL;
	return (size_t)(h % NODE_OWNERS_KEPT);
}

void node_auth_refresh(struct node *n)
{
	bool on = false;
	uint64_t since = 0;

	tokens_forget(n);
	memset(n->owners, 0, sizeof(n->owners));
	if (coord_sm_auth_enabled(n->reader, &on, &since) != 0)
		node_fatal(n, "reading whether access control is on", "state.db");
	n->auth_on = on;
}

void node_auth_close(struct node *n)
{
	tokens_forget(n);
}

static bool refuse(struct node *n, struct ncall *c, enum node_auth_refusal why, const char *missing,
                   const char *message)
{
	json_t *details = missing ? json_pack("{s:s}", "missing", missing) : NULL;

	n->auth_refused[why]++;
	node_answer_error(n, c,
	                  why == NODE_AUTH_UNAUTHENTICATED ? HTTP_ERR_UNAUTHENTICATED
	                                                   : HTTP_ERR_PERMISSION_DENIED,
	                  details, "%s", message);
	return false;
}

/* Whether T has a rule of RES allowing ACCESS on some name (any prefix). */
static bool has_rule(const struct coord_token *t, enum coord_resource res, enum coord_access access)
{
	for (size_t i = 0; i < t->n_rules; i++)
		if (t->rules[i].resource == res &&
		    (t->rules[i].access == COORD_ACCESS_WRITE || access == COORD_ACCESS_READ))
			return true;
	return false;
}

/* 403 naming the rule RES:NAME:ACCESS that is missing (NAME NULL: any
 * prefix, written "*"); never the token's own rules. */
static bool deny_rule(struct node *n, struct ncall *c, enum coord_resource res, const char *name,
                      enum coord_access access)
{
	char missing[HTTP_NAME_MAX + 32], message[HTTP_NAME_MAX + 96];

	snprintf(missing, sizeof(missing), "%s:%s:%s", coord_resource_name((int)res),
	         name ? name : "*", coord_access_name((int)access));
	snprintf(message, sizeof(message), "the token has no rule allowing %s%s", missing,
	         name ? "" : " (a rule of any prefix)");
	return refuse(n, c, NODE_AUTH_DENIED, missing, message);
}

/* The token of C's bearer secret into C->token: 0, -1 when it answered C. */
static int authenticate(struct node *n, struct ncall *c)
{
	uint8_t hash[COORD_TOKEN_HASH_LEN];
	const struct coord_token *kept;
	int rc;

	if (c->req->bearer_form == HTTP_BEARER_NONE)
		return refuse(n, c, NODE_AUTH_UNAUTHENTICATED, NULL,
		              "this request needs a token: Authorization: Bearer TOKEN"),
		       -1;
	if (c->req->bearer_form != HTTP_BEARER_OK)
		return refuse(n, c, NODE_AUTH_UNAUTHENTICATED, NULL,
		              "the Authorization header must be Bearer TOKEN"),
		       -1;
	c->token = malloc(sizeof(*c->token));
	if (!c->token || !node_token_hash(c->req->bearer, c->req->bearer_len, hash)) {
		node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL, "out of memory; retry");
		return -1;
	}
	kept = tokens_find(n, hash);
	if (kept) {
		*c->token = *kept;
		rc = 0;
	} else if ((rc = coord_sm_token_by_hash(n->reader, hash, c->token)) == 0) {
		tokens_keep(n, hash, c->token);
	}
	if (rc == COORD_ENOTFOUND)
		return refuse(n, c, NODE_AUTH_UNAUTHENTICATED, NULL,
		              "the token is unknown or revoked"),
		       -1;
	if (rc != 0) {
		node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                  "the token cannot be checked now; retry");
		return -1;
	}
	c->actor = c->token->id;
	return 0;
}

/* A transaction's names: kv read on each key it checks, kv write on each it
 * changes, locks read on each lock it checks (as a fence), and a sessions
 * rule (read, any prefix) to ask whether a session lives. */
static bool authorize_txn(struct node *n, struct ncall *c)
{
	const struct http_request *req = c->req;
	const struct coord_token *t = c->token;

	for (size_t i = 0; i < req->n_checks; i++) {
		const struct http_txn_check *k = &req->checks[i];
		enum coord_resource res =
		    k->kind == HTTP_TXN_LOCK ? COORD_RESOURCE_LOCKS : COORD_RESOURCE_KV;

		if (k->kind == HTTP_TXN_SESSION) {
			if (!has_rule(t, COORD_RESOURCE_SESSIONS, COORD_ACCESS_READ))
				return deny_rule(n, c, COORD_RESOURCE_SESSIONS, NULL,
				                 COORD_ACCESS_READ);
		} else if (!coord_auth_allows(t, res, k->name, strlen(k->name),
		                              COORD_ACCESS_READ)) {
			return deny_rule(n, c, res, k->name, COORD_ACCESS_READ);
		}
	}
	for (size_t i = 0; i < req->n_ops; i++)
		if (!coord_auth_allows(t, COORD_RESOURCE_KV, req->ops[i].key,
		                       strlen(req->ops[i].key), COORD_ACCESS_WRITE))
			return deny_rule(n, c, COORD_RESOURCE_KV, req->ops[i].key,
			                 COORD_ACCESS_WRITE);
	return true;
}

/* What C's row needs of its token (op.h, enum http_resource says which name). */
static bool authorize(struct node *n, struct ncall *c)
{
	const struct http_request *req = c->req;
	const struct http_op_info *o = http_op_info(req->op);
	const struct coord_token *t = c->token;
	enum coord_resource res = resource_of(o->resource);
	enum coord_access access =
	    o->access == HTTP_ACCESS_WRITE ? COORD_ACCESS_WRITE : COORD_ACCESS_READ;
	const char *name = NULL;

	if (o->access == HTTP_ACCESS_TOKEN)
		return true;
	if (o->access == HTTP_ACCESS_ADMIN)
		return t->admin ? true
		                : refuse(n, c, NODE_AUTH_DENIED, "admin",
		                         "this request needs an admin token");
	if (o->path_kind == HTTP_PATH_NAME || (o->params_needed & HTTP_Q_LOCK))
		name = req->name;
	else if (res == COORD_RESOURCE_SESSIONS && (o->accepts & HTTP_F_LABEL))
		name = req->label;
	if (name && !coord_auth_allows(t, res, name, strlen(name), access))
		return deny_rule(n, c, res, name, access);
	/* A listing shows what the token may read (node_auth_filter); a row
	 * naming a session by id needs a rule of any prefix here, and the
	 * session's owner where it is used (SM-10: node_auth_owns() for a
	 * keepalive, the state machine for a write). */
	if (!name && !(o->params & HTTP_Q_LIMIT) && !has_rule(t, res, access))
		return deny_rule(n, c, res, NULL, access);
	/* A session named on another resource (always, where the row needs
	 * one; an ephemeral key's when given). */
	if (res != COORD_RESOURCE_SESSIONS && req->session[0] != '\0' &&
	    !has_rule(t, COORD_RESOURCE_SESSIONS, COORD_ACCESS_WRITE))
		return deny_rule(n, c, COORD_RESOURCE_SESSIONS, NULL, COORD_ACCESS_WRITE);
	/* A fence reveals whether a token of its lock is current, as GET
	 * /v1/fence does. */
	if (req->fence_lock[0] != '\0' &&
	    !coord_auth_allows(t, COORD_RESOURCE_LOCKS, req->fence_lock, strlen(req->fence_lock),
	                       COORD_ACCESS_READ))
		return deny_rule(n, c, COORD_RESOURCE_LOCKS, req->fence_lock, COORD_ACCESS_READ);
	return !(o->accepts & HTTP_F_OPS) || authorize_txn(n, c);
}

bool node_auth_admit(struct node *n, struct ncall *c)
{
	const struct http_op_info *o = http_op_info(c->req->op);

	if (!c->http || o->access == HTTP_ACCESS_OPEN)
		return true;
	if (c->req->op == HTTP_OP_METRICS && n->cfg.metrics_public)
		return true;
	if (n->installing) { /* N-6: checked once the install is done (node_installed) */
		c->auth_pending = true;
		ncall_wait(n, c, W_INSTALL, node_now_ms() + NODE_READ_TIMEOUT_MS);
		return false;
	}
	c->auth_pending = false;
	if (!n->cfg.auth && !n->auth_on)
		return true;
	return authenticate(n, c) == 0 && authorize(n, c);
}

bool node_auth_deny_owner(struct node *n, struct ncall *c)
{
	return refuse(n, c, NODE_AUTH_DENIED, "owner",
	              "the session belongs to another token (a session is used only with the "
	              "token that created it)");
}

bool node_auth_owns(struct node *n, struct ncall *c, const struct coord_session_id *id)
{
	uint64_t owner;
	size_t slot;
	bool found;

	/* Before the bootstrap applied here, every session this state holds
	 * was opened without a token (owner 0): the answer for a call without
	 * one, with no read. */
	if (!n->auth_on && c->actor == 0)
		return true;
	slot = owner_slot(id);
	if (c->actor != 0 && n->owners[slot].owner == c->actor &&
	    memcmp(&n->owners[slot].id, id, sizeof(*id)) == 0)
		return true;
	if (coord_sm_session_owner(n->reader, id, &found, &owner) != 0) {
		node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                  "the state could not be read; retry");
		return false;
	}
	if (found && owner != 0) {
		n->owners[slot].id = *id;
		n->owners[slot].owner = owner;
	}
	return !found || owner == c->actor || node_auth_deny_owner(n, c);
}

/* Filtering answers ------------------------------------------------------------ */

/* Removes from the array KEY of OBJ the items whose FIELD ("name", or a
 * key's "key") T may not read as RES. */
static void filter_items(const struct coord_token *t, json_t *obj, const char *key,
                         const char *field, enum coord_resource res)
{
	json_t *a = json_object_get(obj, key);

	for (size_t i = json_array_size(a); i-- > 0;) {
		json_t *name = json_object_get(json_array_get(a, i), field);
		const char *s = json_is_string(name) ? json_string_value(name) : "";
		size_t len = json_is_string(name) ? json_string_length(name) : 0;

		if (!coord_auth_allows(t, res, s, len, COORD_ACCESS_READ))
			json_array_remove(a, i);
	}
}

static void filter_array(const struct coord_token *t, json_t *obj, const char *key,
                         enum coord_resource res)
{
	filter_items(t, obj, key, "name", res);
}

/* A session's parts: the locks it holds or waits for, its elections. */
static void filter_session(const struct coord_token *t, json_t *session)
{
	filter_array(t, session, "locks", COORD_RESOURCE_LOCKS);
	filter_array(t, session, "waiting", COORD_RESOURCE_LOCKS);
	filter_array(t, session, "elections", COORD_RESOURCE_ELECTIONS);
}

/* A session's events: those of a lock, an election or a key T may not read
 * are removed, as they would be from the session or a listing; the others
 * (session_ended, expiring) name nothing and stay. */
static void filter_events(const struct coord_token *t, json_t *session)
{
	static const struct {
		const char *field;
		enum coord_resource res;
	} subjects[] = {
	    {"lock", COORD_RESOURCE_LOCKS},
	    {"election", COORD_RESOURCE_ELECTIONS},
	    {"key", COORD_RESOURCE_KV},
	};
	json_t *a = json_object_get(session, "events");

	for (size_t i = json_array_size(a); i-- > 0;) {
		for (size_t k = 0; k < sizeof(subjects) / sizeof(subjects[0]); k++) {
			json_t *name = json_object_get(json_array_get(a, i), subjects[k].field);

			if (json_is_string(name) &&
			    !coord_auth_allows(t, subjects[k].res, json_string_value(name),
			                       json_string_length(name), COORD_ACCESS_READ)) {
				json_array_remove(a, i);
				break;
			}
		}
	}
}

/* Whether answers of OP show only what the token may read: the ops the
 * switch below filters, and the only ones a forwarded answer is parsed
 * for (node_auth_filter_text). */
static bool filtered(enum http_op op)
{
	switch (op) {
	case HTTP_OP_LOCK_LIST:
	case HTTP_OP_KV_LIST:
	case HTTP_OP_SESSION_LIST:
	case HTTP_OP_SESSION_GET:
	case HTTP_OP_SESSION_EVENTS:
		return true;
	default:
		return false;
	}
}

bool node_auth_filter(struct node *n, struct ncall *c, json_t *body)
{
	json_t *items, *label;

	if (!c->token || !filtered(c->req->op) || !json_is_object(body))
		return true;
	switch (c->req->op) {
	case HTTP_OP_LOCK_LIST:
		filter_array(c->token, body, "locks", COORD_RESOURCE_LOCKS);
		break;
	case HTTP_OP_KV_LIST: /* a page of keys, or a watch's changes */
		filter_items(c->token, body, "keys", "key", COORD_RESOURCE_KV);
		filter_items(c->token, body, "changes", "key", COORD_RESOURCE_KV);
		break;
	case HTTP_OP_SESSION_LIST:
		filter_array(c->token, body, "sessions", COORD_RESOURCE_SESSIONS);
		items = json_object_get(body, "sessions");
		for (size_t i = 0; i < json_array_size(items); i++)
			filter_session(c->token, json_array_get(items, i));
		break;
	case HTTP_OP_SESSION_GET:
	case HTTP_OP_SESSION_EVENTS:
		/* A session by id, as a listing would show it: by its label. */
		label = json_object_get(body, "name");
		if (!coord_auth_allows(c->token, COORD_RESOURCE_SESSIONS,
		                       json_is_string(label) ? json_string_value(label) : "",
		                       json_is_string(label) ? json_string_length(label) : 0,
		                       COORD_ACCESS_READ))
			return deny_rule(n, c, COORD_RESOURCE_SESSIONS,
			                 json_is_string(label) ? json_string_value(label) : "",
			                 COORD_ACCESS_READ);
		if (c->req->op == HTTP_OP_SESSION_GET)
			filter_session(c->token, body);
		else
			filter_events(c->token, body);
		break;
	default:
		break;
	}
	return true;
}

bool node_auth_filter_text(struct node *n, struct ncall *c, const char *body, size_t len,
                           char **out)
{
	json_t *j;
	bool readable;

	*out = NULL;
	if (!c->token || !filtered(c->req->op))
		return true;
	j = json_loadb(body, len, 0, NULL);
	if (!j) {
		node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                  "the leader's answer could not be read; retry");
		return false;
	}
	readable = node_auth_filter(n, c, j);
	if (readable)
		*out = json_dumps(j, JSON_PRESERVE_ORDER |
		                         (c->req->pretty ? JSON_INDENT(2) : JSON_COMPACT));
	json_decref(j);
	if (readable && !*out)
		node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL, "out of memory; retry");
	return readable && *out;
}
