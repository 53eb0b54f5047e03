/* The table of operations (http/op.h) as a specification: every row is
 * complete and of exactly one kind, no two rows share a name or a route, and
 * the router (http/request.c) agrees with the table on which request is
 * which operation, which query parameters and body fields it takes and
 * needs, and which methods a path allows (the Allow header of a 405). The
 * examples are built from the rows themselves, so a new row is covered as
 * soon as it is added. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "op.h"
#include "request.h"

#define SID "0123456789abcdef0123456789abcdef"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The stable code of E, and "ok" for HTTP_OK (whose code is ""). */
static const char *code_name(enum http_error e)
{
	return e == HTTP_OK ? "ok" : http_error_code(e);
}

/* Every bit of each enum of op.h. */
#define KIND_FLAGS                                                                                 \
	(HTTP_OPF_WRITE | HTTP_OPF_READ | HTTP_OPF_CONFIRM | HTTP_OPF_LOCAL | HTTP_OPF_ADMIN)
#define ALL_FLAGS                                                                                  \
	(KIND_FLAGS | HTTP_OPF_LONG_POLL | HTTP_OPF_QUEUES | HTTP_OPF_CANCELLABLE | HTTP_OPF_WATCH)
#define ALL_FIELDS                                                                                 \
	(HTTP_F_SESSION | HTTP_F_TTL | HTTP_F_LABEL | HTTP_F_LOCK_DELAY | HTTP_F_MODE |            \
	 HTTP_F_WAIT | HTTP_F_VALUE | HTTP_F_MEMBER | HTTP_F_RAFT | HTTP_F_REMOVE | HTTP_F_ADD |   \
	 HTTP_F_SEQ | HTTP_F_TOKEN | HTTP_F_RULES | HTTP_F_ADMIN | HTTP_F_CAS | HTTP_F_FENCE |     \
	 HTTP_F_CHECKS | HTTP_F_OPS)
#define ALL_PARAMS                                                                                 \
	(HTTP_Q_PREFIX | HTTP_Q_SESSION | HTTP_Q_LOCK | HTTP_Q_TOKEN | HTTP_Q_LIMIT |              \
	 HTTP_Q_AFTER_NAME | HTTP_Q_AFTER_SESSION | HTTP_Q_FORCE | HTTP_Q_AFTER_ID | HTTP_Q_CAS)

/* The methods the Allow header may name, in its order, and two it never
 * names. */
static const char *const allow_order[] = {"GET", "PUT", "POST", "PATCH", "DELETE"};
static const char *const methods[] = {"GET",    "PUT",  "POST",    "PATCH",
                                      "DELETE", "HEAD", "OPTIONS", "BREW"};

/* A valid example of each body field: its JSON member and what it decodes
 * to (checked in test_every_accepted_field_and_parameter_is_taken). */
static const struct {
	unsigned field;
	const char *member;
} field_examples[] = {
    {HTTP_F_SESSION, "\"session\":\"" SID "\""},
    {HTTP_F_TTL, "\"ttl_ms\":20000"},
    {HTTP_F_LABEL, "\"name\":\"worker 7\""},
    {HTTP_F_LOCK_DELAY, "\"lock_delay_ms\":1500"},
    {HTTP_F_MODE, "\"mode\":\"shared\""},
    {HTTP_F_WAIT, "\"wait_ms\":2500"},
    {HTTP_F_VALUE, "\"value\":\"v\""},
    {HTTP_F_MEMBER, "\"id\":7"},
    {HTTP_F_RAFT, "\"raft\":\"10.0.0.7:7170\""},
    {HTTP_F_REMOVE, "\"remove\":3"},
    {HTTP_F_ADD, "\"add\":{\"id\":9,\"raft\":\"10.0.0.9:7170\"}"},
    {HTTP_F_RULES, "\"rules\":[{\"resource\":\"locks\",\"prefix\":\"j/\",\"access\":\"read\"}]"},
    {HTTP_F_ADMIN, "\"admin\":true"},
    {HTTP_F_CAS, "\"cas\":5"},
    {HTTP_F_FENCE, "\"fence\":{\"lock\":\"x/y\",\"token\":7}"},
    {HTTP_F_CHECKS, "\"checks\":[{\"key\":\"x/y\",\"modify_index\":7}]"},
    {HTTP_F_OPS, "\"ops\":[{\"put\":\"x/y\",\"value\":\"v\",\"session\":\"" SID "\"}]"},
};

/* A valid example of each query parameter of enum http_param. */
static const struct {
	unsigned param;
	const char *key, *value;
} param_examples[] = {
    {HTTP_Q_PREFIX, "prefix", "jobs/"},   {HTTP_Q_SESSION, "session", SID},
    {HTTP_Q_LOCK, "lock", "x/y"},         {HTTP_Q_TOKEN, "token", "7"},
    {HTTP_Q_LIMIT, "limit", "7"},         {HTTP_Q_AFTER_NAME, "after", "x/y"},
    {HTTP_Q_AFTER_SESSION, "after", SID}, {HTTP_Q_FORCE, "force", "true"},
    {HTTP_Q_AFTER_ID, "after", "7"},      {HTTP_Q_CAS, "cas", "5"},
};

/* A request built from a row: its method, an example path, query and body. */
struct example {
	const char *method;
	char path[128];
	struct http_query q[HTTP_QUERY_MAX];
	size_t n;
	char body[512];
	size_t body_len;
};

static const struct http_op_info *row(int op)
{
	return http_op_info((enum http_op)op);
}

/* The path of OP's row with its parameter filled in: a 32-hex session id,
 * or the name "a/b". */
static void example_path(int op, char *out, size_t cap)
{
	const struct http_op_info *o = row(op);
	const char *param = o->path_kind == HTTP_PATH_SESSION  ? SID
	                    : o->path_kind == HTTP_PATH_NAME   ? "a/b"
	                    : o->path_kind == HTTP_PATH_MEMBER ? "7"
	                    : o->path_kind == HTTP_PATH_ID     ? "7"
	                                                       : "";

	snprintf(out, cap, "%s%s%s", o->path, param, o->suffix);
}

static void add_query(struct example *ex, const char *key, const char *value)
{
	assert_true(ex->n < ARRAY_LEN(ex->q));
	ex->q[ex->n].key = key;
	ex->q[ex->n].value = value;
	ex->n++;
}

/* OP's request with the body fields FIELDS and the query parameters PARAMS
 * (each bit from the examples above); EXTRA_FIELD, when not NULL, is one more
 * JSON member appended to the body. */
static void build(int op, unsigned fields, unsigned params, const char *extra_field,
                  struct example *ex)
{
	size_t len = 0;

	memset(ex, 0, sizeof(*ex));
	ex->method = row(op)->method;
	example_path(op, ex->path, sizeof(ex->path));
	for (size_t i = 0; i < ARRAY_LEN(param_examples); i++)
		if (params & param_examples[i].param)
			add_query(ex, param_examples[i].key, param_examples[i].value);
	for (size_t i = 0; i < ARRAY_LEN(field_examples); i++)
		if (fields & field_examples[i].field)
			len += (size_t)snprintf(ex->body + len, sizeof(ex->body) - len, "%s%s",
			                        len ? "," : "{", field_examples[i].member);
	if (extra_field)
		len += (size_t)snprintf(ex->body + len, sizeof(ex->body) - len, "%s%s",
		                        len ? "," : "{", extra_field);
	if (len) {
		len += (size_t)snprintf(ex->body + len, sizeof(ex->body) - len, "}");
		assert_true(len < sizeof(ex->body));
	}
	ex->body_len = len;
}

static enum http_error run(const struct example *ex, struct http_request *req, struct http_err *err)
{
	return http_request_decode(ex->method, ex->path, ex->q, ex->n,
	                           ex->body_len ? ex->body : NULL, ex->body_len, req, err);
}

/* The Allow header a path should get, computed from the table alone: every
 * method of a row with the same path, kind and suffix, in allow_order. */
static void expected_allow(int op, char *out, size_t cap)
{
	const struct http_op_info *o = row(op);
	size_t len = 0;

	out[0] = '\0';
	for (size_t m = 0; m < ARRAY_LEN(allow_order); m++)
		for (int k = 1; k < HTTP_OP_COUNT; k++) {
			const struct http_op_info *r = row(k);

			if (r->path_kind == o->path_kind && strcmp(r->path, o->path) == 0 &&
			    strcmp(r->suffix, o->suffix) == 0 &&
			    strcmp(r->method, allow_order[m]) == 0)
				len += (size_t)snprintf(out + len, cap - len, "%s%s",
				                        len ? ", " : "", allow_order[m]);
		}
}

/* Is METHOD one of the comma-separated list ALLOW? */
static bool allow_names(const char *allow, const char *method)
{
	size_t mlen = strlen(method);

	for (const char *p = allow; *p;) {
		size_t len = strcspn(p, ",");

		if (len == mlen && strncmp(p, method, mlen) == 0)
			return true;
		p += len;
		p += strspn(p, ", ");
	}
	return false;
}

/* The rows ------------------------------------------------------------------ */

/* Scenario: the table is read by op. Every op 1..HTTP_OP_COUNT-1 has a row
 * with a name, a method the Allow header can name, and a path that starts
 * with '/'; a parameter's path ends with '/', an exact path has no suffix,
 * and a suffix starts with '/'. No bit outside its enum is set. */
static void test_every_op_has_a_complete_row(void **state)
{
	(void)state;
	for (int op = 1; op < HTTP_OP_COUNT; op++) {
		const struct http_op_info *o = row(op);
		bool known_method = false;

		assert_non_null(o);
		if (!o->name || !o->name[0] || !o->method || !o->path || !o->suffix)
			fail_msg("op %d: the row has no name, method, path or suffix", op);
		for (size_t m = 0; m < ARRAY_LEN(allow_order); m++)
			known_method |= strcmp(o->method, allow_order[m]) == 0;
		if (!known_method)
			fail_msg("%s: method %s cannot appear in an Allow header", o->name,
			         o->method);
		if (o->path[0] != '/')
			fail_msg("%s: path %s does not start with /", o->name, o->path);
		if (o->path_kind != HTTP_PATH_EXACT && o->path[strlen(o->path) - 1] != '/')
			fail_msg("%s: a parameter's path %s does not end with /", o->name, o->path);
		if (o->path_kind == HTTP_PATH_EXACT && o->suffix[0] != '\0')
			fail_msg("%s: an exact path has the suffix %s", o->name, o->suffix);
		if (o->suffix[0] != '\0' && o->suffix[0] != '/')
			fail_msg("%s: suffix %s does not start with /", o->name, o->suffix);
		if ((o->flags & ~(unsigned)ALL_FLAGS) || (o->params & ~(unsigned)ALL_PARAMS) ||
		    (o->params_needed & ~(unsigned)ALL_PARAMS) ||
		    (o->accepts & ~(unsigned)ALL_FIELDS) || (o->needs & ~(unsigned)ALL_FIELDS))
			fail_msg("%s: a bit outside its enum is set", o->name);
		assert_string_equal(http_op_name((enum http_op)op), o->name);
	}
}

/* Scenario: each row says what kind of work it is. Exactly one of WRITE,
 * READ, CONFIRM and LOCAL is set. */
static void test_every_row_is_exactly_one_kind(void **state)
{
	(void)state;
	for (int op = 1; op < HTTP_OP_COUNT; op++) {
		unsigned kind = row(op)->flags & KIND_FLAGS;

		if (kind == 0 || (kind & (kind - 1)) != 0)
			fail_msg("%s: kind flags 0x%x, want exactly one of WRITE READ CONFIRM "
			         "LOCAL ADMIN",
			         row(op)->name, kind);
	}
}

/* Scenario: each row says who may run it (API.md, Access control). A read
 * or write of data names its resource and needs a rule of it; the cluster's
 * own operations (ADMIN rows, the snapshot, the token routes, /metrics)
 * need an admin token; only health, the bootstrap and the status page (it
 * holds no data) are open. */
static void test_every_row_says_who_may_run_it(void **state)
{
	(void)state;
	for (int op = 1; op < HTTP_OP_COUNT; op++) {
		const struct http_op_info *o = row(op);
		bool data = o->access == HTTP_ACCESS_READ || o->access == HTTP_ACCESS_WRITE;

		if (data != (o->resource != HTTP_RES_NONE))
			fail_msg("%s: a rule's access needs a resource, and only it", o->name);
		if ((o->flags & HTTP_OPF_ADMIN) && o->access != HTTP_ACCESS_ADMIN)
			fail_msg("%s: an ADMIN row is not admin-only", o->name);
		if ((o->flags & HTTP_OPF_WRITE) && o->access == HTTP_ACCESS_READ)
			fail_msg("%s: a write needs only read access", o->name);
		if (o->access == HTTP_ACCESS_OPEN && op != HTTP_OP_HEALTH &&
		    op != HTTP_OP_AUTH_BOOTSTRAP && op != HTTP_OP_UI)
			fail_msg("%s: open to requests without a token", o->name);
	}
	assert_int_equal(row(HTTP_OP_METRICS)->access, HTTP_ACCESS_ADMIN);
	assert_int_equal(row(HTTP_OP_SNAPSHOT)->access, HTTP_ACCESS_ADMIN);
	assert_int_equal(row(HTTP_OP_TOKEN_LIST)->access, HTTP_ACCESS_ADMIN);
	assert_int_equal(row(HTTP_OP_STATUS)->access, HTTP_ACCESS_TOKEN);
}

/* Scenario: the qualifying flags. Only a queueing op is cancellable (its
 * queued wait is what is withdrawn), and only a read long-polls. */
static void test_qualifying_flags_imply_their_kind(void **state)
{
	(void)state;
	for (int op = 1; op < HTTP_OP_COUNT; op++) {
		const struct http_op_info *o = row(op);

		if ((o->flags & HTTP_OPF_CANCELLABLE) && !(o->flags & HTTP_OPF_QUEUES))
			fail_msg("%s: CANCELLABLE without QUEUES", o->name);
		if ((o->flags & HTTP_OPF_LONG_POLL) && !(o->flags & HTTP_OPF_READ))
			fail_msg("%s: LONG_POLL without READ", o->name);
		if ((o->flags & HTTP_OPF_WATCH) &&
		    (!(o->flags & HTTP_OPF_LONG_POLL) || !(o->params & HTTP_Q_LIMIT)))
			fail_msg("%s: WATCH on what is not a listing's long-poll", o->name);
	}
}

/* Scenario: what a row needs it also takes: params_needed is a subset of
 * params, and needs of accepts. */
static void test_needed_is_a_subset_of_taken(void **state)
{
	(void)state;
	for (int op = 1; op < HTTP_OP_COUNT; op++) {
		const struct http_op_info *o = row(op);

		if (o->params_needed & ~o->params)
			fail_msg("%s: needs query parameters 0x%x it does not take", o->name,
			         o->params_needed & ~o->params);
		if (o->needs & ~o->accepts)
			fail_msg("%s: needs body fields 0x%x it does not accept", o->name,
			         o->needs & ~o->accepts);
	}
}

/* Scenario: the rows of listings. A row takes ?after= in one form at most
 * (a lock name or a session id: the decoder could not tell which), and a
 * row that takes ?after= pages, so it takes ?limit= too; none needs either
 * (a listing without them is its first page of the default size). */
static void test_a_paged_row_takes_one_form_of_after_and_a_limit(void **state)
{
	const unsigned after = HTTP_Q_AFTER_NAME | HTTP_Q_AFTER_SESSION | HTTP_Q_AFTER_ID;
	unsigned paged = 0;

	(void)state;
	for (int op = 1; op < HTTP_OP_COUNT; op++) {
		const struct http_op_info *o = row(op);
		unsigned forms = o->params & after;

		if (forms & (forms - 1))
			fail_msg("%s: takes ?after= in more than one form", o->name);
		if ((o->params & after) && !(o->params & HTTP_Q_LIMIT))
			fail_msg("%s: takes ?after= but not ?limit=", o->name);
		if (o->params_needed & (after | HTTP_Q_LIMIT))
			fail_msg("%s: needs ?after= or ?limit=", o->name);
		if (o->params & HTTP_Q_LIMIT)
			paged |= 1u << op;
	}
	assert_int_equal(paged, 1u << HTTP_OP_SESSION_LIST | 1u << HTTP_OP_LOCK_LIST |
	                            1u << HTTP_OP_TOKEN_LIST | 1u << HTTP_OP_KV_LIST);
}

/* Scenario: names and routes identify rows. No two rows share a name, and
 * no two share (method, path, path kind, suffix). */
static void test_names_and_routes_are_unique(void **state)
{
	(void)state;
	for (int a = 1; a < HTTP_OP_COUNT; a++)
		for (int b = a + 1; b < HTTP_OP_COUNT; b++) {
			const struct http_op_info *x = row(a), *y = row(b);

			if (strcmp(x->name, y->name) == 0)
				fail_msg("ops %d and %d are both named %s", a, b, x->name);
			if (strcmp(x->method, y->method) == 0 && strcmp(x->path, y->path) == 0 &&
			    x->path_kind == y->path_kind && strcmp(x->suffix, y->suffix) == 0)
				fail_msg("%s and %s are both %s %s…%s", x->name, y->name, x->method,
				         x->path, x->suffix);
		}
}

/* The table and the router --------------------------------------------------- */

/* Scenario: for every row, a request made of its method, an example path and
 * only what the row needs (the needed query parameters, a body with the
 * needed fields). Outcome: it decodes to that row's op, with the path's
 * parameter in req.name or req.session. */
static void test_the_router_finds_every_row(void **state)
{
	(void)state;
	for (int op = 1; op < HTTP_OP_COUNT; op++) {
		const struct http_op_info *o = row(op);
		struct http_request req;
		struct http_err err;
		struct example ex;

		build(op, o->needs, o->params_needed, NULL, &ex);
		if (run(&ex, &req, &err) != HTTP_OK)
			fail_msg("%s: %s %s {%s}: refused: %s", o->name, ex.method, ex.path,
			         ex.body, err.message);
		if (req.op != (enum http_op)op)
			fail_msg("%s %s decoded to %s, want %s", ex.method, ex.path,
			         http_op_name(req.op), o->name);
		if (o->path_kind == HTTP_PATH_NAME)
			assert_string_equal(req.name, "a/b");
		if (o->path_kind == HTTP_PATH_SESSION)
			assert_string_equal(req.session, SID);
		if (o->path_kind == HTTP_PATH_MEMBER)
			assert_int_equal(req.member, 7);
		if (o->path_kind == HTTP_PATH_ID)
			assert_int_equal(req.token_id, 7);
		assert_string_equal(err.allow, "");
		http_request_free(&req);
	}
}

/* Scenario: every row, given every body field it accepts and every query
 * parameter it takes, those its flags imply included (READ: consistency;
 * LONG_POLL: index and wait, but on a WATCH row, whose long-poll takes no
 * page: see the next scenario), and ?pretty&redirect. Outcome: accepted,
 * and each reaches its field of the request. */
static void test_every_accepted_field_and_parameter_is_taken(void **state)
{
	(void)state;
	for (int op = 1; op < HTTP_OP_COUNT; op++) {
		const struct http_op_info *o = row(op);
		struct http_request req;
		struct http_err err;
		struct example ex;

		build(op, o->accepts, o->params, NULL, &ex);
		add_query(&ex, "pretty", NULL);
		add_query(&ex, "redirect", NULL);
		if (o->flags & HTTP_OPF_READ)
			add_query(&ex, "consistency", "stale");
		if ((o->flags & HTTP_OPF_LONG_POLL) && !(o->flags & HTTP_OPF_WATCH)) {
			add_query(&ex, "index", "42");
			add_query(&ex, "wait", "90s");
		}
		if (run(&ex, &req, &err) != HTTP_OK)
			fail_msg("%s: %s %s {%s}: refused: %s", o->name, ex.method, ex.path,
			         ex.body, err.message);
		assert_int_equal(req.op, op);
		assert_true(req.pretty);
		assert_true(req.redirect);
		assert_int_equal(req.stale, (o->flags & HTTP_OPF_READ) != 0);
		if ((o->flags & HTTP_OPF_LONG_POLL) && !(o->flags & HTTP_OPF_WATCH)) {
			assert_true(req.has_index);
			assert_int_equal(req.index, 42);
			assert_int_equal(req.poll_wait_ms, 90000);
		}
		if (o->accepts & HTTP_F_SESSION || o->params & HTTP_Q_SESSION)
			assert_string_equal(req.session, SID);
		if (o->accepts & HTTP_F_TTL)
			assert_int_equal(req.ttl_ms, 20000);
		if (o->accepts & HTTP_F_LABEL)
			assert_string_equal(req.label, "worker 7");
		if (o->accepts & HTTP_F_LOCK_DELAY)
			assert_int_equal(req.lock_delay_ms, 1500);
		if (o->accepts & HTTP_F_MODE)
			assert_true(req.shared);
		if (o->accepts & HTTP_F_WAIT)
			assert_int_equal(req.wait_ms, 2500);
		if (o->accepts & HTTP_F_VALUE) {
			assert_true(req.has_value);
			assert_int_equal(req.value_len, 1);
			assert_string_equal(req.value, "v");
		}
		if (o->accepts & HTTP_F_MEMBER)
			assert_int_equal(req.member, 7);
		if (o->accepts & HTTP_F_RAFT)
			assert_string_equal(req.raft, "10.0.0.7:7170");
		if (o->accepts & HTTP_F_REMOVE)
			assert_int_equal(req.remove, 3);
		if (o->accepts & HTTP_F_ADD) {
			assert_int_equal(req.member, 9);
			assert_string_equal(req.raft, "10.0.0.9:7170");
		}
		if (o->params & HTTP_Q_PREFIX)
			assert_string_equal(req.prefix, "jobs/");
		if (o->params & HTTP_Q_LOCK)
			assert_string_equal(req.name, "x/y");
		if (o->params & HTTP_Q_TOKEN)
			assert_int_equal(req.token, 7);
		if (o->params & HTTP_Q_FORCE)
			assert_true(req.force);
		assert_int_equal(req.limit, o->params & HTTP_Q_LIMIT ? 7 : 0);
		if (o->params & HTTP_Q_AFTER_NAME)
			assert_string_equal(req.after, "x/y");
		if (o->params & HTTP_Q_AFTER_SESSION)
			assert_string_equal(req.after, SID);
		if (o->params & HTTP_Q_AFTER_ID)
			assert_string_equal(req.after, "7");
		if (o->accepts & HTTP_F_RULES) {
			assert_int_equal(req.n_rules, 1);
			assert_string_equal(req.rules[0].prefix, "j/");
		}
		if (o->accepts & HTTP_F_ADMIN)
			assert_true(req.admin);
		if ((o->accepts & HTTP_F_CAS) || (o->params & HTTP_Q_CAS)) {
			assert_true(req.has_cas);
			assert_int_equal(req.cas, 5);
		}
		if (o->accepts & HTTP_F_FENCE) {
			assert_string_equal(req.fence_lock, "x/y");
			assert_int_equal(req.fence_token, 7);
		}
		if (o->accepts & HTTP_F_CHECKS) {
			assert_int_equal(req.n_checks, 1);
			assert_int_equal(req.checks[0].kind, HTTP_TXN_KEY);
			assert_string_equal(req.checks[0].name, "x/y");
			assert_int_equal(req.checks[0].n, 7);
		}
		if (o->accepts & HTTP_F_OPS) {
			assert_int_equal(req.n_ops, 1);
			assert_false(req.ops[0].del);
			assert_true(req.ops[0].ephemeral);
			assert_string_equal(req.ops[0].key, "x/y");
			assert_string_equal(req.ops[0].value, "v");
			assert_string_equal(req.session, SID);
		}
		if (!(o->params & (HTTP_Q_AFTER_NAME | HTTP_Q_AFTER_SESSION | HTTP_Q_AFTER_ID)))
			assert_string_equal(req.after, "");
		http_request_free(&req);
	}
}

/* Scenario: a WATCH row's long-poll: ?index= and ?wait= with its other
 * parameters are taken; with ?limit= or ?after= as well, 400 naming them
 * (a watch answers every change since the index, not a page). */
static void test_a_watch_takes_no_page(void **state)
{
	static const char *const page[] = {"limit", "after"};

	(void)state;
	for (int op = 1; op < HTTP_OP_COUNT; op++) {
		const struct http_op_info *o = row(op);
		const unsigned paging = HTTP_Q_LIMIT | HTTP_Q_AFTER_NAME;
		struct http_request req;
		struct http_err err;
		struct example ex;

		if (!(o->flags & HTTP_OPF_WATCH))
			continue;
		build(op, o->needs, o->params & ~paging, NULL, &ex);
		add_query(&ex, "index", "42");
		add_query(&ex, "wait", "90s");
		assert_int_equal(run(&ex, &req, &err), HTTP_OK);
		assert_true(req.has_index);
		assert_int_equal(req.index, 42);
		assert_int_equal(req.poll_wait_ms, 90000);
		http_request_free(&req);
		for (size_t i = 0; i < ARRAY_LEN(page); i++) {
			build(op, o->needs, o->params & ~paging, NULL, &ex);
			add_query(&ex, "index", "42");
			add_query(&ex, page[i], i == 0 ? "7" : "x/y");
			assert_int_equal(run(&ex, &req, &err), HTTP_ERR_INVALID_ARGUMENT);
			assert_non_null(strstr(err.message, "no limit or after"));
			assert_null(req.value);
		}
	}
}

/* Scenario: every row, given one body field it does not accept (besides what
 * it needs). Outcome: 400 invalid_argument naming the field, nothing kept. */
static void test_a_field_a_row_does_not_accept_is_refused(void **state)
{
	(void)state;
	for (int op = 1; op < HTTP_OP_COUNT; op++) {
		const struct http_op_info *o = row(op);

		for (size_t i = 0; i < ARRAY_LEN(field_examples); i++) {
			struct http_request req;
			struct http_err err;
			struct example ex;
			char want[128];
			const char *member = field_examples[i].member;

			if (o->accepts & field_examples[i].field)
				continue;
			build(op, o->needs, o->params_needed, member, &ex);
			/* "\"key\":…" names the key "key". */
			snprintf(want, sizeof(want), "unknown field for this request: %.*s",
			         (int)(strchr(member + 1, '"') - member - 1), member + 1);
			if (run(&ex, &req, &err) != HTTP_ERR_INVALID_ARGUMENT ||
			    strcmp(err.message, want) != 0)
				fail_msg("%s with %s: got %s (%s), want invalid_argument (%s)",
				         o->name, member, code_name(err.code), err.message, want);
			assert_null(req.value);
		}
	}
}

/* Whether O takes a parameter of enum http_param named KEY. */
static bool takes_key(const struct http_op_info *o, const char *key)
{
	for (size_t i = 0; i < ARRAY_LEN(param_examples); i++)
		if ((o->params & param_examples[i].param) &&
		    strcmp(param_examples[i].key, key) == 0)
			return true;
	return false;
}

/* Scenario: every row, given one query parameter it does not take: one of
 * enum http_param outside its params, consistency on a non-read, index or
 * wait on a non-long-poll. Outcome: 400 invalid_argument naming the key. */
static void test_a_parameter_a_row_does_not_take_is_refused(void **state)
{
	static const struct {
		unsigned param, flag; /* taken when the row has PARAM, or FLAG */
		const char *key, *value;
	} extra[] = {
	    {HTTP_Q_PREFIX, 0, "prefix", "jobs/"},
	    {HTTP_Q_SESSION, 0, "session", SID},
	    {HTTP_Q_LOCK, 0, "lock", "x"},
	    {HTTP_Q_TOKEN, 0, "token", "7"},
	    {HTTP_Q_LIMIT, 0, "limit", "7"},
	    {HTTP_Q_AFTER_NAME, 0, "after", "x"},
	    {HTTP_Q_AFTER_SESSION, 0, "after", SID},
	    {0, HTTP_OPF_READ, "consistency", "stale"},
	    {0, HTTP_OPF_LONG_POLL, "index", "1"},
	    {0, HTTP_OPF_LONG_POLL, "wait", "1s"},
	    {HTTP_Q_CAS, 0, "cas", "5"},
	};

	(void)state;
	for (int op = 1; op < HTTP_OP_COUNT; op++) {
		const struct http_op_info *o = row(op);

		for (size_t i = 0; i < ARRAY_LEN(extra); i++) {
			struct http_request req;
			struct http_err err;
			struct example ex;
			char want[128];

			/* A row that takes the key in another form (after) is
			 * not asked about it here. */
			if (takes_key(o, extra[i].key) || (o->flags & extra[i].flag))
				continue;
			build(op, o->needs, o->params_needed, NULL, &ex);
			add_query(&ex, extra[i].key, extra[i].value);
			snprintf(want, sizeof(want), "unknown query parameter for this request: %s",
			         extra[i].key);
			if (run(&ex, &req, &err) != HTTP_ERR_INVALID_ARGUMENT ||
			    strcmp(err.message, want) != 0)
				fail_msg("%s with ?%s: got %s (%s), want invalid_argument (%s)",
				         o->name, extra[i].key, code_name(err.code), err.message,
				         want);
			assert_null(req.value);
		}
	}
}

/* How the refusal of a request without parameter BIT names it. */
static const char *needed_param(unsigned bit)
{
	switch (bit) {
	case HTTP_Q_PREFIX:
		return "prefix=";
	case HTTP_Q_SESSION:
		return "session=";
	case HTTP_Q_LOCK:
		return "lock=";
	case HTTP_Q_TOKEN:
		return "token=";
	case HTTP_Q_LIMIT:
		return "limit=";
	case HTTP_Q_AFTER_NAME:
	case HTTP_Q_AFTER_SESSION:
	case HTTP_Q_AFTER_ID:
		return "after=";
	default:
		return "(no such parameter)";
	}
}

/* Scenario: every row, missing one needed query parameter or one needed
 * body field. Outcome: 400 invalid_argument, nothing kept. A needed session
 * may come from ?session= instead of the body when the row takes it. */
static void test_a_row_without_what_it_needs_is_refused(void **state)
{
	(void)state;
	for (int op = 1; op < HTTP_OP_COUNT; op++) {
		const struct http_op_info *o = row(op);

		for (unsigned bit = 1; bit <= ALL_FIELDS || bit <= ALL_PARAMS; bit <<= 1) {
			struct http_request req;
			struct http_err err;
			struct example ex;

			if (o->needs & bit) {
				build(op, o->needs & ~bit, o->params_needed, NULL, &ex);
				if (run(&ex, &req, &err) != HTTP_ERR_INVALID_ARGUMENT)
					fail_msg("%s without body field 0x%x: got %s, want "
					         "invalid_argument",
					         o->name, bit, code_name(err.code));
				assert_null(req.value);
			}
			if (o->params_needed & bit) {
				build(op, o->needs, o->params_needed & ~bit, NULL, &ex);
				if (run(&ex, &req, &err) != HTTP_ERR_INVALID_ARGUMENT ||
				    !strstr(err.message, needed_param(bit)))
					fail_msg("%s without query parameter 0x%x: got %s (%s)",
					         o->name, bit, code_name(err.code), err.message);
				assert_null(req.value);
			}
		}
		if ((o->needs & HTTP_F_SESSION) && (o->params & HTTP_Q_SESSION)) {
			struct http_request req;
			struct http_err err;
			struct example ex;

			build(op, o->needs & ~(unsigned)HTTP_F_SESSION,
			      o->params_needed | HTTP_Q_SESSION, NULL, &ex);
			if (run(&ex, &req, &err) != HTTP_OK)
				fail_msg("%s with ?session= instead of a body: %s", o->name,
				         err.message);
			assert_string_equal(req.session, SID);
			http_request_free(&req);
		}
	}
}

/* The Allow header ----------------------------------------------------------- */

/* Scenario: a method a path does not have. Outcome: 405
 * method_not_allowed with exactly these methods in the Allow header, in the
 * order GET, PUT, POST, PATCH, DELETE, and the message naming them too. */
static void test_allow_header_lists_the_methods_of_the_path(void **state)
{
	static const struct {
		const char *method, *path, *allow;
	} cases[] = {
	    {"POST", "/v1/locks/a", "GET, PUT, DELETE"},
	    {"PATCH", "/v1/locks/a/b", "GET, PUT, DELETE"},
	    {"DELETE", "/v1/sessions", "GET, POST"},
	    {"PUT", "/v1/sessions", "GET, POST"},
	    {"POST", "/v1/elections/e", "GET, PUT, PATCH, DELETE"},
	    {"PUT", "/v1/sessions/" SID, "GET, DELETE"},
	    {"POST", "/v1/sessions/" SID, "GET, DELETE"},
	    {"GET", "/v1/sessions/" SID "/keepalive", "POST"},
	    {"DELETE", "/v1/sessions/" SID "/keepalive", "POST"},
	    {"POST", "/v1/sessions/" SID "/events", "GET"},
	    {"DELETE", "/v1/sessions/" SID "/events", "GET"},
	    {"POST", "/v1/status", "GET"},
	    {"HEAD", "/v1/status", "GET"},
	    {"BREW", "/v1/status", "GET"},
	    {"DELETE", "/v1/locks", "GET"},
	    {"PUT", "/v1/fence", "GET"},
	    {"POST", "/metrics", "GET"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct http_request req;
		struct http_err err;
		enum http_error e = http_request_decode(cases[i].method, cases[i].path, NULL, 0,
		                                        NULL, 0, &req, &err);

		if (e != HTTP_ERR_METHOD_NOT_ALLOWED || strcmp(err.allow, cases[i].allow) != 0)
			fail_msg(
			    "%s %s: got %s, Allow \"%s\"; want method_not_allowed, Allow \"%s\"",
			    cases[i].method, cases[i].path, code_name(e), err.allow,
			    cases[i].allow);
		assert_int_equal(err.code, HTTP_ERR_METHOD_NOT_ALLOWED);
		assert_int_equal(http_error_status(e), 405);
		assert_non_null(strstr(err.message, cases[i].allow));
		assert_null(req.value);
	}
}

/* Scenario: every row's example path asked with every method. Outcome: a
 * method the table lists for that path is never a 405 (it reaches the row
 * of that method, or fails a later check); any other is a 405 whose Allow
 * header is the table's list for the path. So routing does not depend on
 * the order of the rows: a path matches rows of one path only. */
static void test_every_path_allows_exactly_the_methods_of_its_rows(void **state)
{
	(void)state;
	for (int op = 1; op < HTTP_OP_COUNT; op++) {
		char path[128], allow[HTTP_ALLOW_MAX];

		example_path(op, path, sizeof(path));
		expected_allow(op, allow, sizeof(allow));
		for (size_t m = 0; m < ARRAY_LEN(methods); m++) {
			struct http_request req;
			struct http_err err;
			enum http_error e =
			    http_request_decode(methods[m], path, NULL, 0, NULL, 0, &req, &err);

			if (allow_names(allow, methods[m])) {
				if (e == HTTP_ERR_METHOD_NOT_ALLOWED || e == HTTP_ERR_NOT_FOUND)
					fail_msg("%s %s: got %s, want the row of that method",
					         methods[m], path, code_name(e));
				if (e == HTTP_OK) {
					assert_string_equal(http_op_info(req.op)->method,
					                    methods[m]);
					http_request_free(&req);
				}
			} else if (e != HTTP_ERR_METHOD_NOT_ALLOWED ||
			           strcmp(err.allow, allow) != 0) {
				fail_msg("%s %s: got %s, Allow \"%s\"; want 405, Allow \"%s\"",
				         methods[m], path, code_name(e), err.allow, allow);
			}
		}
	}
}

/* Scenario: requests that fail in every other way, decoded into an error
 * that still holds the Allow header of an earlier 405; and a request that
 * succeeds. Outcome: err.allow is "" each time: only a 405 has an Allow
 * header. */
static void test_allow_is_empty_unless_405(void **state)
{
	static const struct {
		const char *method, *path;
		struct http_query q;
		size_t n;
		const char *body;
		enum http_error want;
	} cases[] = {
	    {"GET", "/v1/nothing", {NULL, NULL}, 0, NULL, HTTP_ERR_NOT_FOUND},
	    {"GET", "/v1/sessions/xyz", {NULL, NULL}, 0, NULL, HTTP_ERR_SESSION_NOT_FOUND},
	    {"GET", "/v1/locks/a b", {NULL, NULL}, 0, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/locks", {"frobnicate", "1"}, 1, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/fence", {"lock", "a"}, 1, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"PUT", "/v1/locks/a", {NULL, NULL}, 0, "{\"session\":", HTTP_ERR_INVALID_JSON},
	    {"PUT", "/v1/locks/a", {NULL, NULL}, 0, "{}", HTTP_ERR_INVALID_ARGUMENT},
	    {"PUT", "/v1/locks/a", {NULL, NULL}, 0, NULL, HTTP_ERR_INVALID_ARGUMENT},
	    {"GET", "/v1/locks", {"pretty", NULL}, 1, NULL, HTTP_OK},
	};
	struct http_request req;
	struct http_err err;
	size_t big_len = HTTP_BODY_MAX + 1;
	char *big = malloc(big_len);

	(void)state;
	assert_non_null(big);
	memset(big, ' ', big_len);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		enum http_error e;

		assert_int_equal(
		    http_request_decode("POST", "/v1/locks/a", NULL, 0, NULL, 0, &req, &err),
		    HTTP_ERR_METHOD_NOT_ALLOWED);
		assert_string_equal(err.allow, "GET, PUT, DELETE");
		e = http_request_decode(cases[i].method, cases[i].path, &cases[i].q, cases[i].n,
		                        cases[i].body, cases[i].body ? strlen(cases[i].body) : 0,
		                        &req, &err);
		if (e != cases[i].want || err.allow[0] != '\0')
			fail_msg("%s %s: got %s with Allow \"%s\"; want %s with Allow \"\"",
			         cases[i].method, cases[i].path, code_name(e), err.allow,
			         code_name(cases[i].want));
		http_request_free(&req);
	}
	assert_int_equal(http_request_decode("POST", "/v1/locks/a", NULL, 0, NULL, 0, &req, &err),
	                 HTTP_ERR_METHOD_NOT_ALLOWED);
	assert_int_equal(
	    http_request_decode("PUT", "/v1/locks/a", NULL, 0, big, big_len, &req, &err),
	    HTTP_ERR_TOO_LARGE);
	assert_string_equal(err.allow, "");
	free(big);
}

/* Out of range --------------------------------------------------------------- */

/* Scenario: an op outside 1..HTTP_OP_COUNT-1 (0 is "no op": a request that
 * failed routing). Outcome: its name is "unknown" and it has no flag, not
 * even the empty set; an op in range has the empty set and its own flags. */
static void test_ops_out_of_range_are_unknown_and_have_no_flags(void **state)
{
	(void)state;
	assert_string_equal(http_op_name((enum http_op)0), "unknown");
	assert_string_equal(http_op_name(HTTP_OP_COUNT), "unknown");
	assert_string_equal(http_op_name((enum http_op)(HTTP_OP_COUNT + 1)), "unknown");
	for (unsigned f = 0; f <= ALL_FLAGS; f++) {
		assert_false(http_op_is((enum http_op)0, f));
		assert_false(http_op_is(HTTP_OP_COUNT, f));
	}
	for (int op = 1; op < HTTP_OP_COUNT; op++) {
		assert_true(http_op_is((enum http_op)op, 0));
		assert_true(http_op_is((enum http_op)op, row(op)->flags));
		for (unsigned f = 1; f <= ALL_FLAGS; f <<= 1)
			assert_int_equal(http_op_is((enum http_op)op, f),
			                 (row(op)->flags & f) != 0);
	}
	/* Every flag of FLAGS, not any of them. */
	assert_true(http_op_is(HTTP_OP_LOCK_ACQUIRE, HTTP_OPF_WRITE | HTTP_OPF_QUEUES));
	assert_false(http_op_is(HTTP_OP_LOCK_ACQUIRE, HTTP_OPF_WRITE | HTTP_OPF_LONG_POLL));
	assert_string_equal(http_op_name(HTTP_OP_LOCK_ACQUIRE), "lock_acquire");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_op_has_a_complete_row),
	    cmocka_unit_test(test_every_row_is_exactly_one_kind),
	    cmocka_unit_test(test_every_row_says_who_may_run_it),
	    cmocka_unit_test(test_qualifying_flags_imply_their_kind),
	    cmocka_unit_test(test_needed_is_a_subset_of_taken),
	    cmocka_unit_test(test_a_paged_row_takes_one_form_of_after_and_a_limit),
	    cmocka_unit_test(test_names_and_routes_are_unique),
	    cmocka_unit_test(test_the_router_finds_every_row),
	    cmocka_unit_test(test_every_accepted_field_and_parameter_is_taken),
	    cmocka_unit_test(test_a_watch_takes_no_page),
	    cmocka_unit_test(test_a_field_a_row_does_not_accept_is_refused),
	    cmocka_unit_test(test_a_parameter_a_row_does_not_take_is_refused),
	    cmocka_unit_test(test_a_row_without_what_it_needs_is_refused),
	    cmocka_unit_test(test_allow_header_lists_the_methods_of_the_path),
	    cmocka_unit_test(test_every_path_allows_exactly_the_methods_of_its_rows),
	    cmocka_unit_test(test_allow_is_empty_unless_405),
	    cmocka_unit_test(test_ops_out_of_range_are_unknown_and_have_no_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
