/* Locks (docs/API.md, Locks): list, get, acquire, release, and the fencing
 * check. */
#include <string.h>

#include "api.h"
#include "node_calls.h"
#include "node_internal.h"
#include "sm_query.h"

/* GET /v1/locks?prefix=&after=&limit=, GET /v1/locks/{name} ------------------- */

static int list_query(struct node_read *r, json_t **body, uint64_t *modify_index)
{
	const struct http_request *req = r->req;
	int rc = coord_sm_query_locks(r->reader, req->prefix, strlen(req->prefix), req->after,
	                              strlen(req->after), req->limit, body);

	if (rc == 0 && req->has_index)
		rc = coord_sm_list_index(r->db, COORD_LIST_LOCKS, modify_index);
	return node_query_done(r, rc, body, NULL);
}

static int get_query(struct node_read *r, json_t **body, uint64_t *modify_index)
{
	int rc = coord_sm_query_lock(r->reader, r->req->name, strlen(r->req->name), body);

	if (rc == 0)
		*modify_index = node_body_modify_index(*body);
	return node_query_done(r, rc, body, r->req->name);
}

/* PUT /v1/locks/{name} --------------------------------------------------------- */

static bool acquire_command(struct node *n, const struct http_request *req, struct coord_cmd *cmd)
{
	(void)n;
	cmd->type = COORD_CMD_ACQUIRE;
	cmd->kind = COORD_KIND_LOCK;
	cmd->mode = req->shared ? COORD_MODE_SHARED : COORD_MODE_EXCLUSIVE;
	cmd->queue = req->wait_ms > 0;
	node_api_name_value(req, cmd);
	return node_api_session_cmd(req, cmd);
}

static json_t *acquire_granted(const struct http_request *req, uint64_t token)
{
	json_t *value = req->has_value ? json_stringn(req->value, req->value_len) : json_null();

	return json_pack("{s:s, s:s, s:s, s:I, s:o}", "name", req->name, "mode",
	                 req->shared ? "shared" : "exclusive", "session", req->session,
	                 "fencing_token", (json_int_t)token, "value", value);
}

/* DELETE /v1/locks/{name} ------------------------------------------------------ */

static bool release_command(struct node *n, const struct http_request *req, struct coord_cmd *cmd)
{
	(void)n;
	cmd->type = COORD_CMD_RELEASE;
	cmd->kind = COORD_KIND_LOCK;
	cmd->name = req->name;
	cmd->name_len = strlen(req->name);
	cmd->token = req->token; /* the grant it releases; 0: any */
	return node_api_session_cmd(req, cmd);
}

/* GET /v1/fence?lock=&token= ---------------------------------------------------- */

static int fence_query(struct node_read *r, json_t **body, uint64_t *modify_index)
{
	const struct http_request *req = r->req;
	bool valid = false;
	int rc =
	    coord_sm_query_fence(r->reader, req->name, strlen(req->name), req->token, &valid, body);

	(void)modify_index; /* not a long-poll */
	if (rc == 0 && !valid) {
		node_read_fail(r, HTTP_ERR_STALE_TOKEN, *body,
		               "token %llu is not the token of a current holder",
		               (unsigned long long)req->token);
		*body = NULL;
		return -1;
	}
	return node_query_done(r, rc, body, req->name);
}

const struct node_api node_api_locks[] = {
    {.op = HTTP_OP_LOCK_LIST, .query = list_query},
    {.op = HTTP_OP_LOCK_GET, .query = get_query},
    {.op = HTTP_OP_LOCK_ACQUIRE,
     .command = acquire_command,
     .applied = node_api_grant_applied,
     .granted = acquire_granted,
     .kind = COORD_KIND_LOCK},
    {.op = HTTP_OP_LOCK_RELEASE, .command = release_command, .applied = node_api_released},
    {.op = HTTP_OP_FENCE, .query = fence_query},
    {.op = 0},
};
