/* Indexing the operations' handler entries (api.h) once, checking that
 * they match the table of operations (http/op.h), and looking them up. */
#include "api.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "node_calls.h"
#include "node_internal.h"

static const struct node_api *const resources[] = {
    node_api_sessions, node_api_locks,  node_api_elections, node_api_cluster,
    node_api_members,  node_api_tokens, node_api_ui,        node_api_kv,
};

/* Each operation's entry, indexed by op: filled once by node_api_init(). */
static const struct node_api *by_op[HTTP_OP_COUNT];

const struct node_api *node_api(enum http_op op)
{
	assert(op > 0 && op < HTTP_OP_COUNT && by_op[op] != NULL);
	return by_op[op];
}

/* The hooks an entry must have, from its row's flags. */
static void check_entry(const struct node_api *a)
{
	bool write = http_op_is(a->op, HTTP_OPF_WRITE);
	bool read = http_op_is(a->op, HTTP_OPF_READ);
	bool answers = http_op_is(a->op, HTTP_OPF_CONFIRM) || http_op_is(a->op, HTTP_OPF_LOCAL);
	bool queues = http_op_is(a->op, HTTP_OPF_QUEUES);
	bool admin = http_op_is(a->op, HTTP_OPF_ADMIN);

	assert(write + read + answers + admin == 1);
	assert((a->admin != NULL) == admin);
	assert((a->command != NULL) == write && (a->applied != NULL) == write);
	assert(!queues || a->granted != NULL);
	assert((a->query != NULL) == read);
	assert((a->answer != NULL) == answers);
	assert(!http_op_is(a->op, HTTP_OPF_CANCELLABLE) || queues);
	(void)write, (void)read, (void)answers, (void)queues, (void)admin;
}

void node_api_init(void)
{
	if (by_op[1]) /* done already: a process may run several nodes (the simulator) */
		return;
	for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++)
		for (const struct node_api *a = resources[i]; a->op; a++) {
			assert(a->op > 0 && a->op < HTTP_OP_COUNT && by_op[a->op] == NULL);
			check_entry(a);
			by_op[a->op] = a;
		}
	for (int op = 1; op < HTTP_OP_COUNT; op++)
		assert(by_op[op] != NULL);
}

bool node_api_session(const struct http_request *req, struct coord_session_id *id)
{
	return coord_session_id_parse(req->session, strlen(req->session), id) == 0;
}

bool node_api_session_cmd(const struct http_request *req, struct coord_cmd *cmd)
{
	cmd->seq = req->seq;
	return node_api_session(req, &cmd->session);
}

void node_api_name_value(const struct http_request *req, struct coord_cmd *cmd)
{
	cmd->name = req->name;
	cmd->name_len = strlen(req->name);
	cmd->has_value = req->has_value;
	cmd->value = req->value;
	cmd->value_len = req->value_len;
}

bool node_api_released(struct node *n, struct ncall *c, uint64_t index,
                       const struct coord_result *r)
{
	(void)index;
	if (r->status != COORD_ST_OK)
		return false;
	node_answer(n, c, 200, json_pack("{s:b}", "released", r->released));
	return true;
}

bool node_api_grant_applied(struct node *n, struct ncall *c, uint64_t index,
                            const struct coord_result *r)
{
	(void)index;
	if (r->status != COORD_ST_OK)
		return false;
	node_answer(n, c, 200, node_api(c->req->op)->granted(c->req, r->token));
	return true;
}

int node_read_fail(struct node_read *r, enum http_error code, json_t *details, const char *fmt, ...)
{
	va_list ap;

	r->err.code = code;
	r->err.allow[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(r->err.message, sizeof(r->err.message), fmt, ap);
	va_end(ap);
	json_decref(r->details);
	r->details = details;
	return -1;
}

int node_query_done(struct node_read *r, int rc, json_t **body, const char *name)
{
	if (rc == 0)
		return 0;
	json_decref(*body);
	*body = NULL;
	if (rc == COORD_ENOTFOUND && name)
		return node_read_fail(r, HTTP_ERR_NOT_FOUND, NULL, "nobody holds or waits for %s",
		                      name);
	return node_read_fail(r, HTTP_ERR_UNAVAILABLE, NULL, "the query failed; retry");
}

uint64_t node_body_modify_index(json_t *body)
{
	return (uint64_t)json_integer_value(json_object_get(body, "modify_index"));
}
