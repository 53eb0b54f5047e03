/* Routing and decoding of requests (API.md). Every check happens here,
 * before anything is handed to the node: a request that fails decoding has
 * no effect. Order of checks: route (404), method (405), query (400), body
 * size (413, enforced by the server before this), JSON (400). */
#include "request.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

/* Routing ------------------------------------------------------------------- */

static bool is_session_id(const char *s, size_t len)
{
	if (len != HTTP_SESSION_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Does PATH have the shape of OP's row? Sets *PARAM and *PARAM_LEN to the
 * path's parameter (its name or session id, not yet checked). */
static bool path_matches(const struct http_op_info *o, const char *path, size_t len,
                         const char **param, size_t *param_len)
{
	size_t plen = strlen(o->path), slen = strlen(o->suffix);

	*param = path + plen;
	*param_len = 0;
	if (len < plen + slen || strncmp(path, o->path, plen) != 0 ||
	    strcmp(path + len - slen, o->suffix) != 0)
		return false;
	*param_len = len - plen - slen;
	switch (o->path_kind) {
	case HTTP_PATH_EXACT:
		return *param_len == 0;
	case HTTP_PATH_SESSION: /* one segment; empty only at the end (404 session) */
		return (*param_len > 0 || !o->suffix[0]) && !memchr(*param, '/', *param_len);
	case HTTP_PATH_NAME:
		return true;
	case HTTP_PATH_MEMBER: /* digits only, so "/v1/members/replace" is not an id */
	case HTTP_PATH_ID:
		if (*param_len == 0 || *param_len > 20)
			return false;
		for (size_t i = 0; i < *param_len; i++)
			if ((*param)[i] < '0' || (*param)[i] > '9')
				return false;
		return true;
	}
	return false;
}

static bool same_path(const struct http_op_info *a, const struct http_op_info *b)
{
	return a->path_kind == b->path_kind && strcmp(a->path, b->path) == 0 &&
	       strcmp(a->suffix, b->suffix) == 0;
}

/* The Allow header for the path of ROW: every method a row of that path
 * has, in a fixed order. */
static void allowed_methods(const struct http_op_info *row, char *out, size_t cap)
{
	static const char *const order[] = {"GET", "PUT", "POST", "PATCH", "DELETE"};
	size_t len = 0;

	out[0] = '\0';
	for (size_t m = 0; m < sizeof(order) / sizeof(order[0]); m++)
		for (int op = 1; op < HTTP_OP_COUNT; op++) {
			const struct http_op_info *o = http_op_info((enum http_op)op);

			if (same_path(o, row) && strcmp(o->method, order[m]) == 0) {
				int k = snprintf(out + len, cap - len, "%s%s", len ? ", " : "",
				                 order[m]);

				if (k > 0 && (size_t)k < cap - len)
					len += (size_t)k;
			}
		}
}

static bool parse_u64(const char *s, uint64_t *out);

/* The id of LEN digits at PARAM (path_matches() allowed at most 20) into
 * *OUT: false unless it is 1..MAX. */
static bool path_id(const char *param, size_t len, uint64_t max, uint64_t *out)
{
	char digits[24];

	memcpy(digits, param, len);
	digits[len] = '\0';
	return parse_u64(digits, out) && *out != 0 && *out <= max;
}

/* Copies the path's parameter of OP into REQ, checked. A malformed parameter
 * on a path and method that exist is an error of its own, not a 404. */
static enum http_error take_param(const struct http_op_info *o, const char *param, size_t len,
                                  struct http_request *req, struct http_err *err)
{
	const char *why = NULL;

	switch (o->path_kind) {
	case HTTP_PATH_EXACT:
		return HTTP_OK;
	case HTTP_PATH_SESSION:
		if (!is_session_id(param, len))
			return http_err_set(err, HTTP_ERR_SESSION_NOT_FOUND,
			                    "no session has the id in the path");
		memcpy(req->session, param, len);
		return HTTP_OK;
	case HTTP_PATH_NAME:
		if (!http_name_valid(param, len, &why))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "%s", why);
		memcpy(req->name, param, len);
		return HTTP_OK;
	case HTTP_PATH_MEMBER:
		if (!path_id(param, len, HTTP_MEMBER_ID_MAX, &req->member))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "a member id is an integer from 1 to %u",
			                    HTTP_MEMBER_ID_MAX);
		return HTTP_OK;
	case HTTP_PATH_ID:
		if (!path_id(param, len, HTTP_TOKEN_MAX, &req->token_id))
			return http_err_set(err, HTTP_ERR_NOT_FOUND,
			                    "no token has the id in the path");
		return HTTP_OK;
	}
	return HTTP_OK;
}

static enum http_error route_request(const char *method, const char *path, struct http_request *req,
                                     struct http_err *err)
{
	const struct http_op_info *matched = NULL;
	char allow[HTTP_ALLOW_MAX];
	size_t path_len = strlen(path);

	/* Rows with a suffix first: theirs are the more particular paths, which
	 * a name (that may contain '/') would otherwise swallow. The first pass
	 * with a path that matches decides: that path's methods, or 405. */
	for (int pass = 0; pass < 2 && !matched; pass++)
		for (int op = 1; op < HTTP_OP_COUNT; op++) {
			const struct http_op_info *o = http_op_info((enum http_op)op);
			const char *param;
			size_t len;

			if ((o->suffix[0] != '\0') != (pass == 0) ||
			    !path_matches(o, path, path_len, &param, &len))
				continue;
			matched = o;
			if (strcmp(method, o->method) != 0)
				continue;
			req->op = (enum http_op)op;
			return take_param(o, param, len, req, err);
		}
	if (!matched)
		return http_err_set(err, HTTP_ERR_NOT_FOUND, "no such route: %s %s", method, path);
	allowed_methods(matched, allow, sizeof(allow));
	http_err_set(err, HTTP_ERR_METHOD_NOT_ALLOWED, "%s is not allowed here; allowed: %s",
	             method, allow);
	memcpy(err->allow, allow, sizeof(allow));
	return HTTP_ERR_METHOD_NOT_ALLOWED;
}

/* Query --------------------------------------------------------------------- */

static bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t n = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		uint64_t d = (uint64_t)(*s - '0');

		if (*s < '0' || *s > '9' || n > (UINT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	*out = n;
	return true;
}

/* Does REQ's operation take the query parameter P? */
static bool takes(const struct http_request *req, unsigned p)
{
	return (http_op_info(req->op)->params & p) != 0;
}

static enum http_error query_one(const struct http_query *q, struct http_request *req,
                                 struct http_err *err, bool *have_wait, unsigned *seen)
{
	const char *k = q->key, *v = q->value ? q->value : "";
	size_t vlen = strlen(v);
	const char *why = NULL;

	if (strcmp(k, "pretty") == 0) {
		req->pretty = true;
	} else if (strcmp(k, "redirect") == 0) {
		req->redirect = true;
	} else if (strcmp(k, "consistency") == 0 && http_op_is(req->op, HTTP_OPF_READ)) {
		if (strcmp(v, "stale") == 0)
			req->stale = true;
		else if (strcmp(v, "linearizable") != 0)
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "consistency must be linearizable or stale");
	} else if (strcmp(k, "index") == 0 && http_op_is(req->op, HTTP_OPF_LONG_POLL)) {
		if (!parse_u64(v, &req->index))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "index must be a non-negative integer");
		req->has_index = true;
	} else if (strcmp(k, "wait") == 0 && http_op_is(req->op, HTTP_OPF_LONG_POLL)) {
		if (!http_duration_parse(v, &req->poll_wait_ms) ||
		    req->poll_wait_ms > HTTP_WAIT_MAX_MS)
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "wait must be a duration such as 30s, at most 10m");
		*have_wait = true;
	} else if (strcmp(k, "prefix") == 0 && takes(req, HTTP_Q_PREFIX)) {
		if (vlen > HTTP_NAME_MAX || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
		                                      "qrstuvwxyz0123456789._-:/") != vlen)
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "prefix may contain only A-Z a-z 0-9 . _ - : /");
		memcpy(req->prefix, v, vlen + 1);
		*seen |= HTTP_Q_PREFIX;
	} else if (strcmp(k, "session") == 0 && takes(req, HTTP_Q_SESSION)) {
		if (!is_session_id(v, vlen))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "session must be a 32-digit lowercase hex id");
		memcpy(req->session, v, vlen + 1);
		*seen |= HTTP_Q_SESSION;
	} else if (strcmp(k, "lock") == 0 && takes(req, HTTP_Q_LOCK)) {
		if (!http_name_valid(v, vlen, &why))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "lock: %s", why);
		memcpy(req->name, v, vlen + 1);
		*seen |= HTTP_Q_LOCK;
	} else if (strcmp(k, "token") == 0 && takes(req, HTTP_Q_TOKEN)) {
		if (!parse_u64(v, &req->token))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "token must be a non-negative integer");
		/* A release's token names a grant: fencing tokens are log indexes. */
		if (http_op_is(req->op, HTTP_OPF_WRITE) &&
		    (req->token == 0 || req->token > HTTP_TOKEN_MAX))
			return http_err_set(
			    err, HTTP_ERR_INVALID_ARGUMENT,
			    "token must be a fencing token, an integer from 1 to %llu",
			    (unsigned long long)HTTP_TOKEN_MAX);
		*seen |= HTTP_Q_TOKEN;
	} else if (strcmp(k, "cas") == 0 && takes(req, HTTP_Q_CAS)) {
		if (!parse_u64(v, &req->cas) || req->cas > HTTP_TOKEN_MAX)
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "cas must be an integer from 0 to %llu",
			                    (unsigned long long)HTTP_TOKEN_MAX);
		req->has_cas = true;
		*seen |= HTTP_Q_CAS;
	} else if (strcmp(k, "force") == 0 && takes(req, HTTP_Q_FORCE)) {
		if (q->value && strcmp(v, "true") != 0 && strcmp(v, "") != 0)
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "force takes no value (or true)");
		req->force = true;
		*seen |= HTTP_Q_FORCE;
	} else if (strcmp(k, "limit") == 0 && takes(req, HTTP_Q_LIMIT)) {
		uint64_t n;

		if (!parse_u64(v, &n) || n < 1 || n > HTTP_LIST_LIMIT_MAX)
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "limit must be an integer from 1 to %u",
			                    HTTP_LIST_LIMIT_MAX);
		req->limit = (uint32_t)n;
		*seen |= HTTP_Q_LIMIT;
	} else if (strcmp(k, "after") == 0 &&
	           takes(req, HTTP_Q_AFTER_NAME | HTTP_Q_AFTER_SESSION | HTTP_Q_AFTER_ID)) {
		uint64_t id;

		/* A key of the listing's order, in the form of its keys. */
		if (takes(req, HTTP_Q_AFTER_NAME) && !http_name_valid(v, vlen, &why))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "after: %s", why);
		if (takes(req, HTTP_Q_AFTER_SESSION) && !is_session_id(v, vlen))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "after must be a 32-digit lowercase hex session id");
		if (takes(req, HTTP_Q_AFTER_ID) && (vlen > 20 || !parse_u64(v, &id)))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "after must be a token id, a non-negative integer");
		memcpy(req->after, v, vlen + 1);
		*seen |= http_op_info(req->op)->params &
		         (HTTP_Q_AFTER_NAME | HTTP_Q_AFTER_SESSION | HTTP_Q_AFTER_ID);
	} else {
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "unknown query parameter for this request: %.64s", k);
	}
	return HTTP_OK;
}

/* The names of query parameters, for "needs ?lock=…" sentences. */
static const char *param_name(unsigned p)
{
	switch (p) {
	case HTTP_Q_PREFIX:
		return "prefix";
	case HTTP_Q_SESSION:
		return "session";
	case HTTP_Q_LOCK:
		return "lock";
	case HTTP_Q_TOKEN:
		return "token";
	case HTTP_Q_LIMIT:
		return "limit";
	case HTTP_Q_AFTER_NAME:
	case HTTP_Q_AFTER_SESSION:
	case HTTP_Q_AFTER_ID:
		return "after";
	case HTTP_Q_FORCE:
		return "force";
	case HTTP_Q_CAS:
		return "cas";
	default:
		return "?";
	}
}

static enum http_error decode_query(const struct http_query *query, size_t n_query,
                                    struct http_request *req, struct http_err *err, unsigned *seen)
{
	const struct http_op_info *o = http_op_info(req->op);
	bool have_wait = false;
	enum http_error e;

	if (n_query > HTTP_QUERY_MAX)
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "more than %u query parameters",
		                    HTTP_QUERY_MAX);
	for (size_t i = 0; i < n_query; i++)
		if ((e = query_one(&query[i], req, err, &have_wait, seen)) != HTTP_OK)
			return e;
	if (req->has_index && !have_wait)
		req->poll_wait_ms = HTTP_POLL_WAIT_DEFAULT_MS;
	if (req->has_index && http_op_is(req->op, HTTP_OPF_WATCH) &&
	    (*seen & (HTTP_Q_LIMIT | HTTP_Q_AFTER_NAME)))
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "a watch (?index=) takes no limit or after: it answers every "
		                    "change since the index");
	if (o->params_needed & ~*seen) {
		char needs[64] = "";
		size_t len = 0;

		for (unsigned p = 1; p != 0 && p <= o->params_needed; p <<= 1)
			if (o->params_needed & p) {
				int k = snprintf(needs + len, sizeof(needs) - len, "%c%s=…",
				                 len ? '&' : '?', param_name(p));

				if (k > 0 && (size_t)k < sizeof(needs) - len)
					len += (size_t)k;
			}
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "%s needs %s", o->name, needs);
	}
	return HTTP_OK;
}

/* Body ---------------------------------------------------------------------- */

/* Refuses nesting deeper than HTTP_JSON_DEPTH_MAX before the parser sees the
 * text, so a hostile body costs one linear scan. */
static bool json_depth_ok(const char *s, size_t len)
{
	int depth = 0;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			if (++depth > HTTP_JSON_DEPTH_MAX)
				return false;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return true;
}

/* The JSON key of each body field (op.h, enum http_field). */
static const struct {
	const char *key;
	enum http_field field;
} field_names[] = {
    {"session", HTTP_F_SESSION},
    {"ttl_ms", HTTP_F_TTL},
    {"name", HTTP_F_LABEL},
    {"lock_delay_ms", HTTP_F_LOCK_DELAY},
    {"mode", HTTP_F_MODE},
    {"wait_ms", HTTP_F_WAIT},
    {"value", HTTP_F_VALUE},
    {"id", HTTP_F_MEMBER},
    {"raft", HTTP_F_RAFT},
    {"remove", HTTP_F_REMOVE},
    {"add", HTTP_F_ADD},
    {"seq", HTTP_F_SEQ},
    {"fencing_token", HTTP_F_TOKEN},
    {"rules", HTTP_F_RULES},
    {"admin", HTTP_F_ADMIN},
    {"cas", HTTP_F_CAS},
    {"fence", HTTP_F_FENCE},
    {"checks", HTTP_F_CHECKS},
    {"ops", HTTP_F_OPS},
};

/* A server id: an integer 1..HTTP_MEMBER_ID_MAX. */
static enum http_error get_member(json_t *v, const char *key, uint64_t *out, struct http_err *err)
{
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;

	if (n <= 0 || (uint64_t)n > HTTP_MEMBER_ID_MAX)
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "%s must be a server id, an integer from 1 to %u", key,
		                    HTTP_MEMBER_ID_MAX);
	*out = (uint64_t)n;
	return HTTP_OK;
}

/* A Raft address: HOST:PORT, a non-empty host and a port 1..65535. */
static enum http_error get_addr(json_t *v, const char *key, char out[HTTP_ADDR_MAX],
                                struct http_err *err)
{
	const char *s = json_string_value(v), *colon;
	uint64_t port = 0;

	colon = s ? strrchr(s, ':') : NULL;
	if (!s || json_string_length(v) >= HTTP_ADDR_MAX || strlen(s) != json_string_length(v) ||
	    !colon || colon == s || !parse_u64(colon + 1, &port) || port == 0 || port > 65535)
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "%s must be HOST:PORT (at most %d bytes)", key,
		                    HTTP_ADDR_MAX - 1);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == ',' || *p == '=')
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "%s may not contain spaces, controls, ',' or '='", key);
	memcpy(out, s, strlen(s) + 1);
	return HTTP_OK;
}

/* A replace's "add": {"id": N, "raft": "HOST:PORT"}, both needed, no other key. */
static enum http_error get_add(json_t *v, struct http_request *req, struct http_err *err)
{
	enum http_error e;

	if (!json_is_object(v) || json_object_size(v) != 2 || !json_object_get(v, "id") ||
	    !json_object_get(v, "raft"))
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "add must be an object {\"id\": N, \"raft\": \"HOST:PORT\"}");
	if ((e = get_member(json_object_get(v, "id"), "add.id", &req->member, err)) != HTTP_OK)
		return e;
	return get_addr(json_object_get(v, "raft"), "add.raft", req->raft, err);
}

static enum http_error get_ms(json_t *v, const char *key, uint64_t min, uint64_t max, uint64_t *out,
                              struct http_err *err)
{
	json_int_t n;

	if (!json_is_integer(v))
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "%s must be an integer number of milliseconds", key);
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "%s must be between %llu and %llu", key,
		                    (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)n;
	return HTTP_OK;
}

/* An integer MIN..MAX (a JSON integer: not a string, a fraction or 1e3). */
static enum http_error get_int(json_t *v, const char *key, uint64_t min, uint64_t max,
                               uint64_t *out, struct http_err *err)
{
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;

	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "%s must be an integer from %llu to %llu", key,
		                    (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)n;
	return HTTP_OK;
}

/* A release's "fencing_token", equal to its ?token= when it has both. */
static enum http_error get_token(json_t *v, const char *key, struct http_request *req,
                                 struct http_err *err)
{
	uint64_t token = 0;
	enum http_error e = get_int(v, key, 1, HTTP_TOKEN_MAX, &token, err);

	if (e != HTTP_OK)
		return e;
	if (req->token != 0 && req->token != token)
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "fencing_token and ?token= name different grants");
	req->token = token;
	return HTTP_OK;
}

/* A write's "cas", equal to its ?cas= when it has both. */
static enum http_error get_cas(json_t *v, const char *key, struct http_request *req,
                               struct http_err *err)
{
	uint64_t cas = 0;
	enum http_error e = get_int(v, key, 0, HTTP_TOKEN_MAX, &cas, err);

	if (e != HTTP_OK)
		return e;
	if (req->has_cas && req->cas != cas)
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "cas and ?cas= differ");
	req->has_cas = true;
	req->cas = cas;
	return HTTP_OK;
}

/* A write's "fence": {"lock": NAME, "token": N}, nothing else. */
static enum http_error get_fence(json_t *v, struct http_request *req, struct http_err *err)
{
	json_t *lock = json_object_get(v, "lock");
	const char *why = NULL;
	enum http_error e;

	if (!json_is_object(v) || json_object_size(v) != 2 || !json_is_string(lock) ||
	    !json_object_get(v, "token"))
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "fence must be an object {\"lock\": NAME, \"token\": N}");
	if (!http_name_valid(json_string_value(lock), json_string_length(lock), &why))
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "fence.lock: %s", why);
	if ((e = get_int(json_object_get(v, "token"), "fence.token", 1, HTTP_TOKEN_MAX,
	                 &req->fence_token, err)) != HTTP_OK)
		return e;
	memcpy(req->fence_lock, json_string_value(lock), json_string_length(lock) + 1);
	return HTTP_OK;
}

/* The names of a rule's resource and access (http_rule), in the API's
 * order. */
static const char *const rule_resources[] = {"locks", "elections", "sessions", "kv"};
static const char *const rule_accesses[] = {"read", "write"};

/* NAME if it is one of the N strings of TABLE (the table's own pointer), or
 * NULL. */
static const char *one_of(const char *const *table, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(table[i], name) == 0)
			return table[i];
	return NULL;
}

/* One rule: {"resource": R, "prefix": P, "access": A}, all three, no other
 * key; the prefix 0..HTTP_NAME_MAX bytes of text without controls. */
static enum http_error get_rule(json_t *v, size_t i, struct http_rule *out, struct http_err *err)
{
	json_t *prefix = json_object_get(v, "prefix");
	const char *p, *why = NULL;
	size_t len;

	if (!json_is_object(v) || json_object_size(v) != 3 || !prefix ||
	    !json_object_get(v, "resource") || !json_object_get(v, "access"))
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "rules[%zu] must be {\"resource\", \"prefix\", \"access\"}", i);
	out->resource =
	    one_of(rule_resources, 4, json_string_value(json_object_get(v, "resource")));
	if (!out->resource)
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "rules[%zu].resource must be locks, elections, sessions or kv",
		                    i);
	out->access = one_of(rule_accesses, 2, json_string_value(json_object_get(v, "access")));
	if (!out->access)
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "rules[%zu].access must be read or write", i);
	if (!json_is_string(prefix))
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "rules[%zu].prefix must be a string", i);
	p = json_string_value(prefix);
	len = json_string_length(prefix);
	if (len > HTTP_NAME_MAX)
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "rules[%zu].prefix is longer than %d bytes", i, HTTP_NAME_MAX);
	if (!http_value_valid(p, len, &why))
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "rules[%zu].prefix: %s", i,
		                    why);
	for (size_t k = 0; k < len; k++)
		if ((unsigned char)p[k] < 0x20 || p[k] == 0x7f)
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "rules[%zu].prefix may not contain control characters",
			                    i);
	memcpy(out->prefix, p, len + 1);
	out->prefix_len = len;
	return HTTP_OK;
}

/* A token's "rules": an array of at most HTTP_TOKEN_RULES_MAX rules. */
static enum http_error get_rules(json_t *v, struct http_request *req, struct http_err *err)
{
	enum http_error e;

	if (!json_is_array(v))
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "rules must be an array");
	if (json_array_size(v) > HTTP_TOKEN_RULES_MAX)
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "more than %d rules",
		                    HTTP_TOKEN_RULES_MAX);
	/* Rare (token creation) and large: kept out of every request. */
	free(req->rules);
	req->n_rules = 0;
	req->rules = calloc(json_array_size(v) ? json_array_size(v) : 1, sizeof(*req->rules));
	if (!req->rules)
		return http_err_set(err, HTTP_ERR_UNAVAILABLE, "out of memory; retry");
	for (size_t i = 0; i < json_array_size(v); i++)
		if ((e = get_rule(json_array_get(v, i), i, &req->rules[i], err)) != HTTP_OK)
			return e;
	req->n_rules = json_array_size(v);
	return HTTP_OK;
}

/* A name (a key or a lock) at KEY of the object V into OUT; WHAT says
 * where for the sentence. */
static enum http_error get_txn_name(json_t *v, const char *key, const char *what, size_t i,
                                    char out[HTTP_NAME_MAX + 1], struct http_err *err)
{
	json_t *s = json_object_get(v, key);
	const char *why = NULL;

	if (!json_is_string(s))
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "%s[%zu].%s must be a string",
		                    what, i, key);
	if (!http_name_valid(json_string_value(s), json_string_length(s), &why))
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "%s[%zu].%s: %s", what, i, key,
		                    why);
	memcpy(out, json_string_value(s), json_string_length(s) + 1);
	return HTTP_OK;
}

/* One check: exactly the members of one of its forms (request.h). */
static enum http_error get_check(json_t *v, size_t i, struct http_txn_check *out,
                                 struct http_err *err)
{
	json_t *id = json_object_get(v, "session");
	enum http_error e;
	char key[48];

	snprintf(key, sizeof(key), "checks[%zu]", i);
	if (!json_is_object(v))
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "%s must be an object: {\"key\", \"modify_index\"}, "
		                    "{\"lock\", \"token\"} or {\"session\"}",
		                    key);
	if (json_object_size(v) == 2 && json_object_get(v, "key") &&
	    json_object_get(v, "modify_index")) {
		out->kind = HTTP_TXN_KEY;
		snprintf(key, sizeof(key), "checks[%zu].modify_index", i);
		if ((e = get_txn_name(v, "key", "checks", i, out->name, err)) != HTTP_OK)
			return e;
		return get_int(json_object_get(v, "modify_index"), key, 0, HTTP_TOKEN_MAX, &out->n,
		               err);
	}
	if (json_object_size(v) == 2 && json_object_get(v, "lock") && json_object_get(v, "token")) {
		out->kind = HTTP_TXN_LOCK;
		snprintf(key, sizeof(key), "checks[%zu].token", i);
		if ((e = get_txn_name(v, "lock", "checks", i, out->name, err)) != HTTP_OK)
			return e;
		return get_int(json_object_get(v, "token"), key, 1, HTTP_TOKEN_MAX, &out->n, err);
	}
	if (json_object_size(v) == 1 && json_is_string(id) &&
	    is_session_id(json_string_value(id), json_string_length(id))) {
		out->kind = HTTP_TXN_SESSION;
		memcpy(out->session, json_string_value(id), json_string_length(id) + 1);
		return HTTP_OK;
	}
	return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
	                    "%s must be {\"key\", \"modify_index\"}, {\"lock\", \"token\"} or "
	                    "{\"session\": a 32-digit lowercase hex id}",
	                    key);
}

static enum http_error get_checks(json_t *v, struct http_request *req, struct http_err *err)
{
	enum http_error e;

	if (!json_is_array(v) || json_array_size(v) > HTTP_TXN_CHECKS_MAX)
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "checks must be an array of at most %d checks",
		                    HTTP_TXN_CHECKS_MAX);
	if (json_array_size(v) > 0 &&
	    !(req->checks = calloc(json_array_size(v), sizeof(*req->checks))))
		return http_err_set(err, HTTP_ERR_UNAVAILABLE, "out of memory; retry");
	for (size_t i = 0; i < json_array_size(v); i++) {
		if ((e = get_check(json_array_get(v, i), i, &req->checks[i], err)) != HTTP_OK)
			return e;
		req->n_checks = i + 1;
	}
	return HTTP_OK;
}

/* One operation: {"put": K, "value": V[, "session": ID]} or {"delete": K};
 * an ephemeral put's session becomes REQ's, the same for all. */
static enum http_error get_op(json_t *v, size_t i, struct http_request *req, struct http_err *err)
{
	struct http_txn_op *out = &req->ops[i];
	json_t *value = json_object_get(v, "value"), *id = json_object_get(v, "session");
	const char *why = NULL;
	size_t members;

	if (json_is_object(v) && json_object_size(v) == 1 && json_object_get(v, "delete")) {
		out->del = true;
		return get_txn_name(v, "delete", "ops", i, out->key, err);
	}
	members = 2 + (id != NULL);
	if (!json_is_object(v) || json_object_size(v) != members || !json_object_get(v, "put") ||
	    !json_is_string(value) ||
	    (id &&
	     !(json_is_string(id) && is_session_id(json_string_value(id), json_string_length(id)))))
		return http_err_set(
		    err, HTTP_ERR_INVALID_ARGUMENT,
		    "ops[%zu] must be {\"put\": KEY, \"value\": TEXT[, "
		    "\"session\": a 32-digit lowercase hex id]} or {\"delete\": KEY}",
		    i);
	if (!http_value_valid(json_string_value(value), json_string_length(value), &why))
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "ops[%zu].value: %s", i, why);
	if (id && req->session[0] != '\0' && strcmp(req->session, json_string_value(id)) != 0)
		return http_err_set(
		    err, HTTP_ERR_INVALID_ARGUMENT,
		    "ops[%zu]: the ephemeral puts of a transaction name one session", i);
	if (id)
		memcpy(req->session, json_string_value(id), json_string_length(id) + 1);
	out->ephemeral = id != NULL;
	out->value_len = json_string_length(value);
	if (!(out->value = malloc(out->value_len + 1)))
		return http_err_set(err, HTTP_ERR_UNAVAILABLE, "out of memory; retry");
	memcpy(out->value, json_string_value(value), out->value_len + 1);
	return get_txn_name(v, "put", "ops", i, out->key, err);
}

static enum http_error get_ops(json_t *v, struct http_request *req, struct http_err *err)
{
	size_t n = json_is_array(v) ? json_array_size(v) : 0, values = 0;
	enum http_error e;

	if (n < 1 || n > HTTP_TXN_OPS_MAX)
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "ops must be an array of 1 to %d operations", HTTP_TXN_OPS_MAX);
	if (!(req->ops = calloc(n, sizeof(*req->ops))))
		return http_err_set(err, HTTP_ERR_UNAVAILABLE, "out of memory; retry");
	for (size_t i = 0; i < n; i++) {
		req->n_ops = i + 1; /* freed with the request from here on */
		if ((e = get_op(json_array_get(v, i), i, req, err)) != HTTP_OK)
			return e;
		for (size_t j = 0; j < i; j++)
			if (strcmp(req->ops[j].key, req->ops[i].key) == 0)
				return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
				                    "ops[%zu] and ops[%zu] name the same key", j,
				                    i);
		values += req->ops[i].value_len;
	}
	if (values > HTTP_TXN_VALUES_MAX)
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "the values of a transaction are over %u bytes together",
		                    HTTP_TXN_VALUES_MAX);
	return HTTP_OK;
}

static enum http_error get_string(json_t *v, const char *key, const char **s, size_t *len,
                                  struct http_err *err)
{
	if (!json_is_string(v))
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "%s must be a string", key);
	*s = json_string_value(v);
	*len = json_string_length(v);
	return HTTP_OK;
}

static enum http_error body_field(json_t *v, enum http_field f, const char *key,
                                  struct http_request *req, struct http_err *err)
{
	const char *s = NULL, *why = NULL;
	size_t len = 0;
	enum http_error e;

	switch (f) {
	case HTTP_F_TTL:
		return get_ms(v, key, HTTP_TTL_MIN_MS, HTTP_TTL_MAX_MS, &req->ttl_ms, err);
	case HTTP_F_LOCK_DELAY:
		return get_ms(v, key, 0, HTTP_LOCK_DELAY_MAX_MS, &req->lock_delay_ms, err);
	case HTTP_F_WAIT:
		return get_ms(v, key, 0, HTTP_WAIT_MAX_MS, &req->wait_ms, err);
	case HTTP_F_MEMBER:
		return get_member(v, key, &req->member, err);
	case HTTP_F_REMOVE:
		return get_member(v, key, &req->remove, err);
	case HTTP_F_RAFT:
		return get_addr(v, key, req->raft, err);
	case HTTP_F_ADD:
		return get_add(v, req, err);
	case HTTP_F_SEQ:
		return get_int(v, key, 1, HTTP_SEQ_MAX, &req->seq, err);
	case HTTP_F_TOKEN:
		return get_token(v, key, req, err);
	case HTTP_F_RULES:
		return get_rules(v, req, err);
	case HTTP_F_CAS:
		return get_cas(v, key, req, err);
	case HTTP_F_FENCE:
		return get_fence(v, req, err);
	case HTTP_F_CHECKS:
		return get_checks(v, req, err);
	case HTTP_F_OPS:
		return get_ops(v, req, err);
	case HTTP_F_ADMIN:
		if (!json_is_boolean(v))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "admin must be true or false");
		req->admin = json_is_true(v);
		return HTTP_OK;
	default:
		break;
	}
	if ((e = get_string(v, key, &s, &len, err)) != HTTP_OK)
		return e;
	switch (f) {
	case HTTP_F_SESSION:
		if (!is_session_id(s, len))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "session must be a 32-digit lowercase hex id");
		memcpy(req->session, s, len + 1);
		return HTTP_OK;
	case HTTP_F_LABEL:
		if (len > HTTP_SESSION_LABEL_MAX || !http_value_valid(s, len, &why))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "name must be at most 255 bytes of UTF-8 text");
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
				                    "name may not contain control characters");
		memcpy(req->label, s, len + 1);
		return HTTP_OK;
	case HTTP_F_MODE:
		if (strcmp(s, "shared") == 0)
			req->shared = true;
		else if (strcmp(s, "exclusive") != 0)
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "mode must be exclusive or shared");
		return HTTP_OK;
	case HTTP_F_VALUE:
		if (!http_value_valid(s, len, &why))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "%s", why);
		req->value = malloc(len + 1);
		if (!req->value)
			return http_err_set(err, HTTP_ERR_UNAVAILABLE, "out of memory");
		memcpy(req->value, s, len + 1);
		req->value_len = len;
		req->has_value = true;
		return HTTP_OK;
	default:
		return HTTP_OK;
	}
}

/* The fields of OP's row that must be present in the body: those it needs,
 * but for one that the query gave instead (?session= on a release). */
static unsigned body_needs(const struct http_op_info *o, unsigned query_seen)
{
	unsigned needs = o->needs;

	if (query_seen & HTTP_Q_SESSION)
		needs &= ~(unsigned)HTTP_F_SESSION;
	return needs;
}

static enum http_error missing_field(unsigned missing, struct http_err *err)
{
	for (size_t i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++)
		if (missing & field_names[i].field)
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "missing field: %s",
			                    field_names[i].key);
	return HTTP_OK;
}

/* Keeps the accepted body for forwarding: a short one as it came (a copy is
 * cheaper than printing it again), a longer one as compact JSON, which
 * drops whatever padding the client sent. */
static enum http_error keep_body(const char *body, size_t body_len, json_t *root,
                                 struct http_request *req, struct http_err *err)
{
	if (body_len <= HTTP_BODY_KEPT_MAX) {
		req->body = strndup(body, body_len); /* no NUL in it (decode_body) */
		req->body_len = body_len;
	} else {
		req->body = json_dumps(root, JSON_COMPACT);
		req->body_len = req->body ? strlen(req->body) : 0;
	}
	if (!req->body)
		return http_err_set(err, HTTP_ERR_UNAVAILABLE, "out of memory; retry");
	assert(req->body_len <= HTTP_FORWARD_BODY_MAX);
	return HTTP_OK;
}

static enum http_error decode_body(const char *body, size_t body_len, struct http_request *req,
                                   unsigned query_seen, struct http_err *err)
{
	const struct http_op_info *o = http_op_info(req->op);
	unsigned needs = body_needs(o, query_seen), seen = 0;
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	enum http_error e = HTTP_OK;

	if (!body || body_len == 0) {
		if (needs & HTTP_F_SESSION)
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "the body must be a JSON object with a session");
		if (needs)
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "the body must be a JSON object");
		return HTTP_OK;
	}
	if (body_len > HTTP_BODY_MAX)
		return http_err_set(err, HTTP_ERR_TOO_LARGE, "the body is over %u bytes",
		                    HTTP_BODY_MAX);
	/* JSON text holds no NUL byte, but the parser may stop at one and
	 * accept what came before: refused here, so that the body kept for
	 * forwarding (keep_body) is the whole of what was decoded. */
	if (memchr(body, '\0', body_len))
		return http_err_set(err, HTTP_ERR_INVALID_JSON, "the body holds a NUL byte");
	if (!json_depth_ok(body, body_len))
		return http_err_set(err, HTTP_ERR_INVALID_JSON, "JSON nested deeper than %d",
		                    HTTP_JSON_DEPTH_MAX);
	root = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return http_err_set(err, HTTP_ERR_INVALID_JSON, "invalid JSON at line %d: %s",
		                    jerr.line, jerr.text);
	if (!json_is_object(root)) {
		e = http_err_set(err, HTTP_ERR_INVALID_JSON, "the body must be a JSON object");
		goto out;
	}
	json_object_foreach(root, key, v)
	{
		enum http_field f = 0;

		for (size_t i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++)
			if (strcmp(key, field_names[i].key) == 0)
				f = field_names[i].field;
		if (!(f & o->accepts)) {
			e = http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                 "unknown field for this request: %.64s", key);
			goto out;
		}
		if ((e = body_field(v, f, key, req, err)) != HTTP_OK)
			goto out;
		seen |= f;
	}
	e = missing_field(needs & ~seen, err);
	if (e == HTTP_OK)
		e = keep_body(body, body_len, root, req, err);
out:
	json_decref(root);
	return e;
}

enum http_error http_request_decode(const char *method, const char *path,
                                    const struct http_query *query, size_t n_query,
                                    const char *body, size_t body_len, struct http_request *req,
                                    struct http_err *err)
{
	unsigned query_seen = 0;
	enum http_error e;

	memset(req, 0, sizeof(*req));
	err->code = HTTP_OK;
	err->message[0] = '\0';
	err->allow[0] = '\0';
	if ((e = route_request(method, path, req, err)) != HTTP_OK)
		return e;
	req->ttl_ms = HTTP_TTL_DEFAULT_MS;
	if (takes(req, HTTP_Q_LIMIT))
		req->limit = HTTP_LIST_LIMIT_DEFAULT;
	if ((e = decode_query(query, n_query, req, err, &query_seen)) != HTTP_OK ||
	    (e = decode_body(body, body_len, req, query_seen, err)) != HTTP_OK) {
		http_request_free(req);
		return e;
	}
	return HTTP_OK;
}

/* REQ's kept body with "seq" set to REQ's seq (a body of its own when it
 * had none): the header's number travels to the leader in the body. */
static enum http_error body_with_seq(struct http_request *req, struct http_err *err)
{
	json_t *root = req->body ? json_loadb(req->body, req->body_len, 0, NULL) : json_object();
	char *text = NULL;

	if (root && json_object_set_new(root, "seq", json_integer((json_int_t)req->seq)) == 0)
		text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!text)
		return http_err_set(err, HTTP_ERR_UNAVAILABLE, "out of memory; retry");
	free(req->body);
	req->body = text;
	req->body_len = strlen(text);
	assert(req->body_len <= HTTP_FORWARD_BODY_MAX);
	return HTTP_OK;
}

enum http_error http_request_seq_header(struct http_request *req, const char *value,
                                        struct http_err *err)
{
	enum http_error e = HTTP_OK;
	uint64_t seq = 0;

	if (!value)
		return HTTP_OK;
	if (!(http_op_info(req->op)->accepts & HTTP_F_SEQ))
		e = http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                 HTTP_SEQ_HEADER " is not taken by this request");
	else if (!parse_u64(value, &seq) || seq == 0 || seq > HTTP_SEQ_MAX)
		e = http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                 HTTP_SEQ_HEADER " must be an integer from 1 to %llu",
		                 (unsigned long long)HTTP_SEQ_MAX);
	else if (req->seq != 0 && req->seq != seq)
		e = http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                 HTTP_SEQ_HEADER " and the body's seq differ");
	else if (req->seq == 0) {
		req->seq = seq;
		e = body_with_seq(req, err);
	}
	if (e != HTTP_OK)
		http_request_free(req);
	return e;
}

/* The bytes of a token68 (RFC 6750), before its '=' padding. */
static const char token68[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                              "0123456789-._~+/";

bool http_bearer_valid(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && s[n] && strchr(token68, s[n]))
		n++;
	while (n < len && s[n] == '=')
		n++;
	return len > 0 && len <= HTTP_BEARER_MAX && n == len;
}

void http_request_bearer(struct http_request *req, const char *value)
{
	size_t len, spaces;

	req->bearer_form = value ? HTTP_BEARER_MALFORMED : HTTP_BEARER_NONE;
	req->bearer[0] = '\0';
	req->bearer_len = 0;
	if (!value || strncasecmp(value, "Bearer", 6) != 0)
		return;
	value += 6;
	spaces = strspn(value, " ");
	if (spaces == 0)
		return;
	value += spaces;
	len = strlen(value);
	if (!http_bearer_valid(value, len))
		return;
	memcpy(req->bearer, value, len);
	req->bearer[len] = '\0';
	req->bearer_len = len;
	req->bearer_form = HTTP_BEARER_OK;
}

void http_request_free(struct http_request *req)
{
	memset(req->bearer, 0, sizeof(req->bearer));
	req->bearer_len = 0;
	free(req->body);
	req->body = NULL;
	req->body_len = 0;
	free(req->value);
	req->value = NULL;
	req->value_len = 0;
	req->has_value = false;
	for (size_t i = 0; i < req->n_ops; i++)
		free(req->ops[i].value);
	free(req->ops);
	free(req->checks);
	req->ops = NULL;
	req->checks = NULL;
	req->n_ops = req->n_checks = 0;
	free(req->rules);
	req->rules = NULL;
	req->n_rules = 0;
}

/* Targets ------------------------------------------------------------------- */

static bool pct_plain(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch != '\0' && strchr("-._~/:", ch));
}

/* Appends S percent-encoded (RFC 3986 unreserved bytes, '/' and ':' kept). */
static size_t pct_encode(char *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (pct_plain(ch)) {
			out[n++] = (char)ch;
		} else {
			out[n++] = '%';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 15];
		}
	}
	return n;
}

char *http_target_encode(const char *path, const struct http_query *q, size_t n)
{
	size_t cap = 3 * strlen(path) + 2, len;
	char *t;

	for (size_t i = 0; i < n; i++)
		cap += 3 * (strlen(q[i].key) + (q[i].value ? strlen(q[i].value) : 0)) + 2;
	t = malloc(cap + 1);
	if (!t)
		return NULL;
	len = pct_encode(t, path);
	for (size_t i = 0; i < n; i++) {
		t[len++] = i ? '&' : '?';
		len += pct_encode(t + len, q[i].key);
		if (q[i].value) {
			t[len++] = '=';
			len += pct_encode(t + len, q[i].value);
		}
	}
	t[len] = '\0';
	return t;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the run of S up to its end or a byte of STOP in place and ends it
 * with a NUL. *NEXT is set past the byte it stopped at (NULL at the end of
 * S) and *STOPPED to that byte ('\0' at the end). False on a malformed
 * escape or an escaped NUL. */
static bool pct_decode(char *s, const char *stop, char **next, char *stopped)
{
	char *out = s;

	for (; *s && !strchr(stop, *s); s++) {
		int hi, lo;

		if (*s != '%') {
			*out++ = *s;
			continue;
		}
		if ((hi = hex_value(s[1])) < 0 || (lo = hex_value(s[2])) < 0 || (hi | lo) == 0)
			return false;
		*out++ = (char)(hi << 4 | lo);
		s += 2;
	}
	*stopped = *s;
	*next = *s ? s + 1 : NULL;
	*out = '\0';
	return true;
}

enum http_error http_request_decode_target(const char *method, const char *target, const char *body,
                                           size_t body_len, struct http_request *req,
                                           struct http_err *err)
{
	struct http_query q[HTTP_QUERY_MAX + 1];
	size_t n = 0;
	char *copy = strdup(target), *p = NULL, stopped;
	enum http_error e;

	memset(req, 0, sizeof(*req));
	if (!copy)
		return http_err_set(err, HTTP_ERR_UNAVAILABLE, "out of memory");
	if (!pct_decode(copy, "?", &p, &stopped))
		goto malformed;
	/* One parameter past the limit is enough for the decoder to refuse. An
	 * empty query ("path?") or a trailing '&' adds no parameter: a follower
	 * never forwards an empty key, which its own decoding refused. */
	while (p && *p && n < sizeof(q) / sizeof(q[0])) {
		q[n].key = p;
		q[n].value = NULL;
		if (!pct_decode(p, "&=", &p, &stopped))
			goto malformed;
		if (stopped == '=') {
			q[n].value = p;
			if (!pct_decode(p, "&", &p, &stopped))
				goto malformed;
		}
		n++;
	}
	e = http_request_decode(method, copy, q, n, body, body_len, req, err);
	free(copy);
	return e;
malformed:
	free(copy);
	return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "malformed percent-encoding");
}
