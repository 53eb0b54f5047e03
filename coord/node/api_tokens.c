/* Access tokens (docs/API.md, Access control): the bootstrap, create, list
 * and revoke. The leader draws each token's secret, proposes only its
 * SHA-256 (command.h, TOKEN) and shows the secret once, in the answer to
 * the call that created it; the state machine never sees it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "api.h"
#include "auth.h"
#include "node_calls.h"
#include "node_internal.h"
#include "sm_query.h"

bool node_token_mint(char *secret, uint8_t hash[COORD_TOKEN_HASH_LEN])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t raw[NODE_TOKEN_RANDOM_LEN];
	size_t len = strlen(NODE_TOKEN_SECRET_PREFIX);

	if (gnutls_rnd(GNUTLS_RND_KEY, raw, sizeof(raw)) != 0)
		return false;
	memcpy(secret, NODE_TOKEN_SECRET_PREFIX, len);
	for (size_t i = 0; i < sizeof(raw); i++) {
		secret[len++] = hex[raw[i] >> 4];
		secret[len++] = hex[raw[i] & 15];
	}
	secret[len] = '\0';
	gnutls_memset(raw, 0, sizeof(raw));
	return node_token_hash(secret, len, hash);
}

bool node_token_hash(const char *secret, size_t len, uint8_t hash[COORD_TOKEN_HASH_LEN])
{
	return gnutls_hash_fast(GNUTLS_DIG_SHA256, secret, len, hash) == 0;
}

/* The rules of REQ (decoded, so their names parse) into CMD. */
static void rules_cmd(const struct http_request *req, struct coord_cmd *cmd)
{
	for (size_t i = 0; i < req->n_rules; i++) {
		const struct http_rule *h = &req->rules[i];
		struct coord_rule *r = &cmd->rules[i];

		(void)coord_resource_parse(h->resource, strlen(h->resource), &r->resource);
		(void)coord_access_parse(h->access, strlen(h->access), &r->access);
		r->prefix = h->prefix;
		r->prefix_len = h->prefix_len;
	}
	cmd->n_rules = req->n_rules;
}

/* The rules of a command as the API shows them. */
static json_t *rules_json(const struct coord_cmd *cmd)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < cmd->n_rules; i++)
		json_array_append_new(a, json_pack("{s:s, s:s%, s:s}", "resource",
		                                   coord_resource_name((int)cmd->rules[i].resource),
		                                   "prefix", cmd->rules[i].prefix,
		                                   cmd->rules[i].prefix_len, "access",
		                                   coord_access_name((int)cmd->rules[i].access)));
	return a;
}

/* POST /v1/auth/bootstrap ------------------------------------------------------ */

/* The first token may do everything: write on every resource, any name. */
static void bootstrap_rules(struct coord_cmd *cmd)
{
	for (int res = 0; res < COORD_RESOURCE_COUNT; res++) {
		cmd->rules[res].resource = (enum coord_resource)res;
		cmd->rules[res].access = COORD_ACCESS_WRITE;
		cmd->rules[res].prefix = "";
		cmd->rules[res].prefix_len = 0;
	}
	cmd->n_rules = COORD_RESOURCE_COUNT;
}

void node_token_bootstrap_cmd(struct coord_cmd *cmd)
{
	cmd->type = COORD_CMD_TOKEN;
	cmd->name = NODE_TOKEN_BOOTSTRAP_NAME;
	cmd->name_len = strlen(NODE_TOKEN_BOOTSTRAP_NAME);
	cmd->admin = true;
	cmd->bootstrap = true;
	bootstrap_rules(cmd);
}

static bool bootstrap_command(struct node *n, const struct http_request *req, struct coord_cmd *cmd)
{
	(void)n, (void)req;
	node_token_bootstrap_cmd(cmd); /* the leader draws the secret (node_leader.c) */
	return true;
}

void node_token_bootstrapped(struct node *n, struct ncall *c)
{
	node_answer_error(n, c, HTTP_ERR_CONFLICT, NULL, "the cluster is already bootstrapped");
}

/* The answer to a TOKEN entry of C, created (201, with its secret) or
 * refused; every status is answered here, none left to the generic
 * answers. */
static void token_answer(struct node *n, struct ncall *c, const struct coord_result *r,
                         const struct coord_cmd *cmd)
{
	switch (r->status) {
	case COORD_ST_OK:
		node_answer(n, c, 201,
		            json_pack("{s:I, s:s, s:s%, s:b, s:o}", "id", (json_int_t)r->token,
		                      "token", c->secret, "name", cmd->name, cmd->name_len, "admin",
		                      cmd->admin, "rules", rules_json(cmd)));
		break;
	case COORD_ST_EXISTS:
		if (cmd->bootstrap)
			node_token_bootstrapped(n, c);
		else /* two secrets of 256 random bits with one hash: never, in practice */
			node_answer_error(n, c, HTTP_ERR_CONFLICT, NULL,
			                  "a token has that secret already; retry");
		break;
	case COORD_ST_NOT_FOUND:
		node_answer_error(n, c, HTTP_ERR_CONFLICT, NULL,
		                  "authentication is off: POST /v1/auth/bootstrap first");
		break;
	case COORD_ST_LIMIT:
		node_answer_error(n, c, HTTP_ERR_TOO_MANY, NULL, "too many %s (at most %d)",
		                  r->limit ? r->limit : "tokens", COORD_TOKENS_MAX);
		break;
	default:
		node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                  "the token was not created; retry");
		break;
	}
	memset(c->secret, 0, sizeof(c->secret));
}

/* The applied hook of a bootstrap or create: the answer needs the
 * command's name, flags and rules, built again from the request. */
static bool token_applied(struct node *n, struct ncall *c, uint64_t index,
                          const struct coord_result *r)
{
	struct coord_cmd cmd = {0};

	(void)index;
	node_api(c->req->op)->command(n, c->req, &cmd);
	token_answer(n, c, r, &cmd);
	return true;
}

/* POST /v1/tokens -------------------------------------------------------------- */

static bool create_command(struct node *n, const struct http_request *req, struct coord_cmd *cmd)
{
	(void)n;
	cmd->type = COORD_CMD_TOKEN;
	cmd->name = req->label;
	cmd->name_len = strlen(req->label);
	cmd->admin = req->admin;
	rules_cmd(req, cmd);
	return true;
}

/* GET /v1/tokens?after=&limit= --------------------------------------------------- */

static int list_query(struct node_read *r, json_t **body, uint64_t *modify_index)
{
	const struct http_request *req = r->req;
	uint64_t after = req->after[0] ? strtoull(req->after, NULL, 10) : 0;
	int rc = coord_sm_query_tokens(r->reader, after, req->limit, body);

	if (rc == 0)
		rc = coord_sm_list_index(r->db, COORD_LIST_TOKENS, modify_index);
	return node_query_done(r, rc, body, NULL);
}

/* DELETE /v1/tokens/{id} ------------------------------------------------------- */

static bool revoke_command(struct node *n, const struct http_request *req, struct coord_cmd *cmd)
{
	(void)n;
	cmd->type = COORD_CMD_REVOKE_TOKEN;
	cmd->token_id = req->token_id;
	return true;
}

static bool revoke_applied(struct node *n, struct ncall *c, uint64_t index,
                           const struct coord_result *r)
{
	(void)index;
	if (r->status == COORD_ST_OK)
		node_answer(n, c, 200, json_pack("{s:I}", "revoked", (json_int_t)c->req->token_id));
	else if (r->status == COORD_ST_NOT_FOUND)
		node_answer_error(n, c, HTTP_ERR_NOT_FOUND, NULL, "no token has id %llu",
		                  (unsigned long long)c->req->token_id);
	else
		node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                  "the token was not revoked; retry");
	return true;
}

const struct node_api node_api_tokens[] = {
    {.op = HTTP_OP_AUTH_BOOTSTRAP, .command = bootstrap_command, .applied = token_applied},
    {.op = HTTP_OP_TOKEN_CREATE, .command = create_command, .applied = token_applied},
    {.op = HTTP_OP_TOKEN_LIST, .query = list_query},
    {.op = HTTP_OP_TOKEN_REVOKE, .command = revoke_command, .applied = revoke_applied},
    {.op = 0},
};
