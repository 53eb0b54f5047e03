/* Keys (docs/API.md, Key/value): list and watch a prefix, get, put and
 * delete a key. */
#include <string.h>

#include "api.h"
#include "node_calls.h"
#include "node_core.h"
#include "node_internal.h"
#include "node_query.h"
#include "sm_query.h"

/* A linearizable long-poll from an index this node has not reached: 400.
 * Such a read runs once this node applied everything committed when it
 * arrived, and every index a client was given was committed, so the index
 * is from the future. A stale read on a node that lags is not refused: it
 * waits until the node catches up (or its wait passes). */
static bool index_ahead(struct node_read *r)
{
	if (!r->req->has_index || r->req->stale || r->req->index <= r->applied)
		return false;
	node_read_fail(r, HTTP_ERR_INVALID_ARGUMENT, NULL,
	               "index %llu is above the last entry this node applied (%llu)",
	               (unsigned long long)r->req->index, (unsigned long long)r->applied);
	return true;
}

/* GET /v1/kv?prefix=&after=&limit=, and with ?index= a watch ------------------- */

/* The watch of a prefix: every change since ?index= (KV-2), or a wait for
 * the first one. */
static int watch_query(struct node_read *r, json_t **body, uint64_t *modify_index)
{
	const struct http_request *req = r->req;
	uint64_t compacted = 0;
	int rc;

	if (index_ahead(r))
		return -1;
	if ((rc = coord_sm_kv_compacted(r->reader, &compacted)) == 0 && req->index < compacted)
		return node_read_fail(r, HTTP_ERR_COMPACTED,
		                      json_pack("{s:I}", "index", (json_int_t)r->applied),
		                      "the changes after index %llu are no longer kept; list the "
		                      "prefix again and watch from its index",
		                      (unsigned long long)req->index);
	if (rc == 0)
		rc = coord_sm_query_kv_changes(r->reader, req->prefix, strlen(req->prefix),
		                               req->index, body, modify_index);
	/* Every change up to the applied entry is in the answer: the next
	 * watch starts there (or where it started, on a stale node behind it). */
	if (rc == 0 &&
	    json_object_set_new(
	        *body, "index",
	        json_integer((json_int_t)(r->applied > req->index ? r->applied : req->index))) != 0)
		rc = COORD_ENOMEM;
	return node_query_done(r, rc, body, NULL);
}

static int list_query(struct node_read *r, json_t **body, uint64_t *modify_index)
{
	const struct http_request *req = r->req;
	int rc;

	if (req->has_index)
		return watch_query(r, body, modify_index);
	rc = coord_sm_query_kvs(r->reader, req->prefix, strlen(req->prefix), req->after,
	                        strlen(req->after), req->limit, body);
	return node_query_done(r, rc, body, NULL);
}

/* GET /v1/kv/{key} -------------------------------------------------------------- */

static int get_query(struct node_read *r, json_t **body, uint64_t *modify_index)
{
	const struct http_request *req = r->req;
	uint64_t last = 0;
	int rc;

	if (index_ahead(r))
		return -1;
	rc = coord_sm_query_kv(r->reader, req->name, strlen(req->name), body, &last);
	if (rc == 0) {
		*modify_index = node_body_modify_index(*body);
		return 0;
	}
	if (rc != COORD_ENOTFOUND)
		return node_query_done(r, rc, body, NULL);
	/* A key that does not exist (yet, or any more): a long-poll waits for
	 * the change after its last one; anything else is 404 with that
	 * index. */
	if (req->has_index && r->poll_open && last <= req->index) {
		*body = NULL;
		*modify_index = last;
		return 0;
	}
	return node_read_fail(r, HTTP_ERR_NOT_FOUND, json_pack("{s:I}", "index", (json_int_t)last),
	                      "no key %s", req->name);
}

/* PUT and DELETE /v1/kv/{key} --------------------------------------------------- */

/* The key, and the conditions (cas, fence) a put and a delete share. */
static void kv_command(const struct http_request *req, struct coord_cmd *cmd)
{
	cmd->name = req->name;
	cmd->name_len = strlen(req->name);
	if (req->has_cas) {
		cmd->kv_flags |= COORD_KV_CAS;
		cmd->cas = req->cas;
	}
	if (req->fence_lock[0] != '\0') {
		cmd->kv_flags |= COORD_KV_FENCE;
		cmd->fence_lock = req->fence_lock;
		cmd->fence_lock_len = strlen(req->fence_lock);
		cmd->fence_token = req->fence_token;
	}
}

/* The session of REQ's ephemeral keys into CMD. The id of zeros means "no
 * session" in a KV_PUT and a KV_TXN (command.h): a session drawn as zeros,
 * once in 2^128, cannot own keys. */
static bool ephemeral_session(const struct http_request *req, struct coord_cmd *cmd)
{
	return node_api_session(req, &cmd->session) &&
	       memcmp(&cmd->session, &(struct coord_session_id){{0}}, sizeof(cmd->session)) != 0;
}

static bool put_command(struct node *n, const struct http_request *req, struct coord_cmd *cmd)
{
	(void)n;
	cmd->type = COORD_CMD_KV_PUT;
	kv_command(req, cmd);
	cmd->has_value = true;
	cmd->value = req->value;
	cmd->value_len = req->value_len;
	if (req->session[0] == '\0')
		return true;
	cmd->kv_flags |= COORD_KV_EPHEMERAL;
	return ephemeral_session(req, cmd);
}

static bool delete_command(struct node *n, const struct http_request *req, struct coord_cmd *cmd)
{
	(void)n;
	cmd->type = COORD_CMD_KV_DELETE;
	kv_command(req, cmd);
	return true;
}

/* The answers of a failed condition (KV-4); false for any other status. */
/* POST /v1/txn ------------------------------------------------------------------ */

static bool txn_command(struct node *n, const struct http_request *req, struct coord_cmd *cmd)
{
	static const enum coord_txn_check_kind kinds[] = {
	    [HTTP_TXN_KEY] = COORD_TXN_CHECK_KEY,
	    [HTTP_TXN_LOCK] = COORD_TXN_CHECK_LOCK,
	    [HTTP_TXN_SESSION] = COORD_TXN_CHECK_SESSION,
	};

	(void)n;
	cmd->type = COORD_CMD_KV_TXN;
	for (size_t i = 0; i < req->n_checks; i++) {
		const struct http_txn_check *h = &req->checks[i];
		struct coord_txn_check *k = &cmd->checks[i];

		k->kind = kinds[h->kind];
		k->n = h->n;
		if (h->kind == HTTP_TXN_SESSION &&
		    coord_session_id_parse(h->session, strlen(h->session), &k->session) != 0)
			return false;
		if (h->kind != HTTP_TXN_SESSION) {
			k->name = h->name;
			k->name_len = strlen(h->name);
		}
	}
	cmd->n_checks = req->n_checks;
	for (size_t i = 0; i < req->n_ops; i++) {
		const struct http_txn_op *h = &req->ops[i];
		struct coord_txn_op *o = &cmd->ops[i];

		o->kind = h->del ? COORD_TXN_DELETE : COORD_TXN_PUT;
		o->ephemeral = h->ephemeral;
		o->key = h->key;
		o->key_len = strlen(h->key);
		o->value = h->value;
		o->value_len = h->value_len;
	}
	cmd->n_ops = req->n_ops;
	return req->session[0] == '\0' || ephemeral_session(req, cmd);
}

/* The lock's current tokens, from R's holders. */
static json_t *current_tokens(const struct coord_result *r)
{
	json_t *current = json_array();

	for (size_t i = 0; current && i < r->n_holders; i++)
		json_array_append_new(current, json_integer((json_int_t)r->holders[i].token));
	return current;
}

/* 409 check_failed: which check, and what it found. */
static void txn_failed(struct node *n, struct ncall *c, const struct coord_result *r)
{
	const struct http_txn_check *k = &c->req->checks[r->failed_check];
	json_t *d = json_pack("{s:i}", "check", (int)r->failed_check);

	if (d && k->kind == HTTP_TXN_KEY)
		json_object_set_new(d, "modify_index", json_integer((json_int_t)r->modify_index));
	if (d && k->kind == HTTP_TXN_LOCK)
		json_object_set_new(d, "current", current_tokens(r));
	node_answer_error(n, c, HTTP_ERR_CHECK_FAILED, d, "check %u does not hold",
	                  (unsigned)r->failed_check);
}

/* The answers of a failed condition (KV-4); false for any other status. */
static bool kv_refused(struct node *n, struct ncall *c, const struct coord_result *r)
{

	switch (r->status) {
	case COORD_ST_CAS_FAILED:
		node_answer_error(n, c, HTTP_ERR_CAS_FAILED,
		                  json_pack("{s:I}", "modify_index", (json_int_t)r->modify_index),
		                  "the key's modify_index is %llu (0: the key does not exist)",
		                  (unsigned long long)r->modify_index);
		return true;
	case COORD_ST_STALE_TOKEN:
		node_answer_error(n, c, HTTP_ERR_STALE_TOKEN,
		                  json_pack("{s:s, s:o}", "lock", c->req->fence_lock, "current",
		                            current_tokens(r)),
		                  "token %llu is not the token of a current holder of %s",
		                  (unsigned long long)c->req->fence_token, c->req->fence_lock);
		return true;
	case COORD_ST_CHECK_FAILED:
		if (r->failed_check >= c->req->n_checks)
			return false; /* cannot be: the generic answer */
		txn_failed(n, c, r);
		return true;
	default:
		return false;
	}
}

static bool put_applied(struct node *n, struct ncall *c, uint64_t index,
                        const struct coord_result *r)
{
	(void)index;
	if (r->status != COORD_ST_OK)
		return kv_refused(n, c, r);
	node_answer(n, c, 200,
	            json_pack("{s:s, s:I, s:I}", "key", c->req->name, "create_index",
	                      (json_int_t)r->create_index, "modify_index",
	                      (json_int_t)r->modify_index));
	return true;
}

static bool delete_applied(struct node *n, struct ncall *c, uint64_t index,
                           const struct coord_result *r)
{
	(void)index;
	if (r->status != COORD_ST_OK)
		return kv_refused(n, c, r);
	node_answer(n, c, 200, json_pack("{s:b}", "deleted", r->released));
	return true;
}

static bool txn_applied(struct node *n, struct ncall *c, uint64_t index,
                        const struct coord_result *r)
{
	(void)index;
	if (r->status != COORD_ST_OK)
		return kv_refused(n, c, r);
	node_answer(n, c, 200, json_pack("{s:I}", "modify_index", (json_int_t)r->modify_index));
	return true;
}

const struct node_api node_api_kv[] = {
    {.op = HTTP_OP_KV_LIST, .query = list_query},
    {.op = HTTP_OP_KV_GET, .query = get_query},
    {.op = HTTP_OP_KV_PUT, .command = put_command, .applied = put_applied},
    {.op = HTTP_OP_KV_DELETE, .command = delete_command, .applied = delete_applied},
    {.op = HTTP_OP_KV_TXN, .command = txn_command, .applied = txn_applied},
    {.op = 0},
};
