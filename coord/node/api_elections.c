/* Elections (docs/API.md, Elections): get, campaign, proclaim, resign. An
 * election is an exclusive lock of kind COORD_KIND_ELECTION whose holder's
 * value names the leader. */
#include <string.h>

#include "api.h"
#include "node_calls.h"
#include "node_internal.h"
#include "sm_query.h"

/* GET /v1/elections/{name} ----------------------------------------------------- */

static int get_query(struct node_read *r, json_t **body, uint64_t *modify_index)
{
	int rc = coord_sm_query_election(r->reader, r->req->name, strlen(r->req->name), body);

	if (rc == 0)
		*modify_index = node_body_modify_index(*body);
	return node_query_done(r, rc, body, r->req->name);
}

/* PUT (campaign) and PATCH (proclaim) /v1/elections/{name} ---------------------- */

/* The body of a campaign won, or of a value proclaimed: the leader. */
static json_t *leader_json(const struct http_request *req, uint64_t token)
{
	json_t *value = req->has_value ? json_stringn(req->value, req->value_len) : json_null();

	return json_pack("{s:{s:s, s:o, s:I}}", "leader", "session", req->session, "value", value,
	                 "fencing_token", (json_int_t)token);
}

static bool campaign_command(struct node *n, const struct http_request *req, struct coord_cmd *cmd)
{
	(void)n;
	cmd->type = COORD_CMD_ACQUIRE;
	cmd->kind = COORD_KIND_ELECTION;
	cmd->mode = COORD_MODE_EXCLUSIVE;
	cmd->queue = req->wait_ms > 0;
	node_api_name_value(req, cmd);
	return node_api_session_cmd(req, cmd);
}

static bool proclaim_command(struct node *n, const struct http_request *req, struct coord_cmd *cmd)
{
	(void)n;
	cmd->type = COORD_CMD_PROCLAIM;
	cmd->kind = COORD_KIND_ELECTION;
	node_api_name_value(req, cmd);
	return node_api_session_cmd(req, cmd);
}

/* DELETE /v1/elections/{name} --------------------------------------------------- */

static bool resign_command(struct node *n, const struct http_request *req, struct coord_cmd *cmd)
{
	(void)n;
	cmd->type = COORD_CMD_RELEASE;
	cmd->kind = COORD_KIND_ELECTION;
	cmd->name = req->name;
	cmd->name_len = strlen(req->name);
	cmd->token = req->token; /* the term of leadership it ends; 0: any */
	return node_api_session_cmd(req, cmd);
}

const struct node_api node_api_elections[] = {
    {.op = HTTP_OP_ELECTION_GET, .query = get_query},
    {.op = HTTP_OP_ELECTION_CAMPAIGN,
     .command = campaign_command,
     .applied = node_api_grant_applied,
     .granted = leader_json,
     .kind = COORD_KIND_ELECTION},
    {.op = HTTP_OP_ELECTION_PROCLAIM,
     .command = proclaim_command,
     .applied = node_api_grant_applied,
     .granted = leader_json},
    {.op = HTTP_OP_ELECTION_RESIGN, .command = resign_command, .applied = node_api_released},
    {.op = 0},
};
