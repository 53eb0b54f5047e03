/* Routing and decoding of requests (API.md). Every check happens here,
 * before anything is handed to the node: a request that fails decoding has
 * no effect. Order of checks: route (404), method (405), query (400), body
 * size (413, enforced by the server before this), JSON (400). */
#include "request.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Routing ------------------------------------------------------------------- */

enum path_kind {
	PATH_EXACT,     /* the path is the prefix itself */
	PATH_NAME,      /* prefix + a lock or election name (may contain '/') */
	PATH_SESSION,   /* prefix + a session id */
	PATH_KEEPALIVE, /* prefix + a session id + "/keepalive" */
};

enum { M_GET, M_PUT, M_POST, M_DELETE, M_PATCH, M_COUNT };
static const char *const method_names[M_COUNT] = {"GET", "PUT", "POST", "DELETE", "PATCH"};

struct route {
	const char *prefix;
	enum path_kind kind;
	const char *allow;
	enum http_op ops[M_COUNT]; /* 0: method not allowed */
};

static const struct route routes[] = {
    {"/v1/sessions",
     PATH_EXACT,
     "GET, POST",
     {[M_GET] = HTTP_OP_SESSION_LIST, [M_POST] = HTTP_OP_SESSION_CREATE}},
    {"/v1/sessions/", PATH_KEEPALIVE, "POST", {[M_POST] = HTTP_OP_SESSION_KEEPALIVE}},
    {"/v1/sessions/",
     PATH_SESSION,
     "GET, DELETE",
     {[M_GET] = HTTP_OP_SESSION_GET, [M_DELETE] = HTTP_OP_SESSION_CLOSE}},
    {"/v1/locks", PATH_EXACT, "GET", {[M_GET] = HTTP_OP_LOCK_LIST}},
    {"/v1/locks/",
     PATH_NAME,
     "GET, PUT, DELETE",
     {[M_GET] = HTTP_OP_LOCK_GET,
      [M_PUT] = HTTP_OP_LOCK_ACQUIRE,
      [M_DELETE] = HTTP_OP_LOCK_RELEASE}},
    {"/v1/fence", PATH_EXACT, "GET", {[M_GET] = HTTP_OP_FENCE}},
    {"/v1/elections/",
     PATH_NAME,
     "GET, PUT, PATCH, DELETE",
     {[M_GET] = HTTP_OP_ELECTION_GET,
      [M_PUT] = HTTP_OP_ELECTION_CAMPAIGN,
      [M_PATCH] = HTTP_OP_ELECTION_PROCLAIM,
      [M_DELETE] = HTTP_OP_ELECTION_RESIGN}},
    {"/v1/status", PATH_EXACT, "GET", {[M_GET] = HTTP_OP_STATUS}},
    {"/v1/health", PATH_EXACT, "GET", {[M_GET] = HTTP_OP_HEALTH}},
    {"/metrics", PATH_EXACT, "GET", {[M_GET] = HTTP_OP_METRICS}},
};

static const char *const op_names[HTTP_OP_COUNT] = {
    [HTTP_OP_SESSION_CREATE] = "session_create",
    [HTTP_OP_SESSION_LIST] = "session_list",
    [HTTP_OP_SESSION_GET] = "session_get",
    [HTTP_OP_SESSION_CLOSE] = "session_close",
    [HTTP_OP_SESSION_KEEPALIVE] = "session_keepalive",
    [HTTP_OP_LOCK_LIST] = "lock_list",
    [HTTP_OP_LOCK_GET] = "lock_get",
    [HTTP_OP_LOCK_ACQUIRE] = "lock_acquire",
    [HTTP_OP_LOCK_RELEASE] = "lock_release",
    [HTTP_OP_FENCE] = "fence",
    [HTTP_OP_ELECTION_GET] = "election_get",
    [HTTP_OP_ELECTION_CAMPAIGN] = "election_campaign",
    [HTTP_OP_ELECTION_PROCLAIM] = "election_proclaim",
    [HTTP_OP_ELECTION_RESIGN] = "election_resign",
    [HTTP_OP_STATUS] = "status",
    [HTTP_OP_HEALTH] = "health",
    [HTTP_OP_METRICS] = "metrics",
};

const char *http_op_name(enum http_op op)
{
	return op > 0 && op < HTTP_OP_COUNT ? op_names[op] : "unknown";
}

static bool is_session_id(const char *s, size_t len)
{
	if (len != HTTP_SESSION_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Does PATH match ROUTE? On a match, copies the parameter into REQ. A
 * malformed parameter on an otherwise matching path is an error, not a miss. */
static bool route_match(const struct route *rt, const char *path, struct http_request *req,
                        struct http_err *err, enum http_error *status)
{
	size_t plen = strlen(rt->prefix), len = strlen(path);
	const char *param = path + plen, *why = NULL;
	size_t param_len = len - plen;
	static const char keepalive[] = "/keepalive";
	const size_t klen = sizeof(keepalive) - 1;

	*status = HTTP_OK;
	if (strncmp(path, rt->prefix, plen) != 0)
		return false;
	switch (rt->kind) {
	case PATH_EXACT:
		return param_len == 0;
	case PATH_KEEPALIVE:
		if (param_len <= klen || strcmp(path + len - klen, keepalive) != 0)
			return false;
		param_len -= klen;
		__attribute__((fallthrough));
	case PATH_SESSION:
		if (memchr(param, '/', param_len))
			return false;
		if (!is_session_id(param, param_len))
			*status = http_err_set(err, HTTP_ERR_SESSION_NOT_FOUND,
			                       "no session has the id in the path");
		else
			memcpy(req->session, param, param_len);
		return true;
	case PATH_NAME:
		if (!http_name_valid(param, param_len, &why))
			*status = http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "%s", why);
		else
			memcpy(req->name, param, param_len);
		return true;
	}
	return false;
}

static enum http_error route_request(const char *method, const char *path, struct http_request *req,
                                     struct http_err *err, const char **allow)
{
	int m = -1;

	for (int i = 0; i < M_COUNT; i++)
		if (strcmp(method, method_names[i]) == 0)
			m = i;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		enum http_error status;

		if (!route_match(&routes[i], path, req, err, &status))
			continue;
		if (m < 0 || routes[i].ops[m] == 0) {
			if (allow)
				*allow = routes[i].allow;
			return http_err_set(err, HTTP_ERR_METHOD_NOT_ALLOWED,
			                    "%s is not allowed here; allowed: %s", method,
			                    routes[i].allow);
		}
		if (status != HTTP_OK)
			return status;
		req->op = routes[i].ops[m];
		return HTTP_OK;
	}
	return http_err_set(err, HTTP_ERR_NOT_FOUND, "no such route: %s %s", method, path);
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

static bool op_is_long_pollable(enum http_op op)
{
	return op == HTTP_OP_SESSION_LIST || op == HTTP_OP_SESSION_GET || op == HTTP_OP_LOCK_LIST ||
	       op == HTTP_OP_LOCK_GET || op == HTTP_OP_ELECTION_GET;
}

static bool op_is_read(enum http_op op)
{
	return op_is_long_pollable(op) || op == HTTP_OP_FENCE;
}

static enum http_error query_one(const struct http_query *q, struct http_request *req,
                                 struct http_err *err, bool *have_wait)
{
	const char *k = q->key, *v = q->value ? q->value : "";
	size_t vlen = strlen(v);
	const char *why = NULL;

	if (strcmp(k, "pretty") == 0) {
		req->pretty = true;
	} else if (strcmp(k, "redirect") == 0) {
		req->redirect = true;
	} else if (strcmp(k, "consistency") == 0 && op_is_read(req->op)) {
		if (strcmp(v, "stale") == 0)
			req->stale = true;
		else if (strcmp(v, "linearizable") != 0)
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "consistency must be linearizable or stale");
	} else if (strcmp(k, "index") == 0 && op_is_long_pollable(req->op)) {
		if (!parse_u64(v, &req->index))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "index must be a non-negative integer");
		req->has_index = true;
	} else if (strcmp(k, "wait") == 0 && op_is_long_pollable(req->op)) {
		if (!http_duration_parse(v, &req->poll_wait_ms) ||
		    req->poll_wait_ms > HTTP_WAIT_MAX_MS)
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "wait must be a duration such as 30s, at most 10m");
		*have_wait = true;
	} else if (strcmp(k, "prefix") == 0 && req->op == HTTP_OP_LOCK_LIST) {
		if (vlen > HTTP_NAME_MAX || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
		                                      "qrstuvwxyz0123456789._-:/") != vlen)
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "prefix may contain only A-Z a-z 0-9 . _ - : /");
		memcpy(req->prefix, v, vlen + 1);
	} else if (strcmp(k, "session") == 0 &&
	           (req->op == HTTP_OP_LOCK_RELEASE || req->op == HTTP_OP_ELECTION_RESIGN)) {
		if (!is_session_id(v, vlen))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "session must be a 32-digit lowercase hex id");
		memcpy(req->session, v, vlen + 1);
	} else if (strcmp(k, "lock") == 0 && req->op == HTTP_OP_FENCE) {
		if (!http_name_valid(v, vlen, &why))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "lock: %s", why);
		memcpy(req->name, v, vlen + 1);
	} else if (strcmp(k, "token") == 0 && req->op == HTTP_OP_FENCE) {
		if (!parse_u64(v, &req->token))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "token must be a non-negative integer");
	} else {
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "unknown query parameter for this request: %.64s", k);
	}
	return HTTP_OK;
}

static enum http_error decode_query(const struct http_query *query, size_t n_query,
                                    struct http_request *req, struct http_err *err)
{
	bool have_wait = false, have_token = false;
	enum http_error e;

	if (n_query > HTTP_QUERY_MAX)
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "more than %u query parameters",
		                    HTTP_QUERY_MAX);
	for (size_t i = 0; i < n_query; i++) {
		if ((e = query_one(&query[i], req, err, &have_wait)) != HTTP_OK)
			return e;
		if (strcmp(query[i].key, "token") == 0)
			have_token = true;
	}
	if (req->has_index && !have_wait)
		req->poll_wait_ms = HTTP_POLL_WAIT_DEFAULT_MS;
	if (req->op == HTTP_OP_FENCE && (!req->name[0] || !have_token))
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
		                    "fence needs ?lock=NAME&token=N");
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

enum field {
	F_SESSION = 1,
	F_TTL = 2,
	F_LABEL = 4,
	F_LOCK_DELAY = 8,
	F_MODE = 16,
	F_WAIT = 32,
	F_VALUE = 64
};

static const struct {
	const char *key;
	enum field field;
} field_names[] = {
    {"session", F_SESSION}, {"ttl_ms", F_TTL},
    {"name", F_LABEL},      {"lock_delay_ms", F_LOCK_DELAY},
    {"mode", F_MODE},       {"wait_ms", F_WAIT},
    {"value", F_VALUE},
};

/* Which body fields each op accepts, and which it requires. */
static void op_fields(enum http_op op, unsigned *accepts, unsigned *requires)
{
	*accepts = *requires = 0;
	switch (op) {
	case HTTP_OP_SESSION_CREATE:
		*accepts = F_TTL | F_LABEL | F_LOCK_DELAY;
		break;
	case HTTP_OP_LOCK_ACQUIRE:
		*accepts = F_SESSION | F_MODE | F_WAIT | F_VALUE;
		*requires = F_SESSION;
		break;
	case HTTP_OP_LOCK_RELEASE:
	case HTTP_OP_ELECTION_RESIGN:
		*accepts = F_SESSION;
		break;
	case HTTP_OP_ELECTION_CAMPAIGN:
		*accepts = F_SESSION | F_VALUE | F_WAIT;
		*requires = F_SESSION;
		break;
	case HTTP_OP_ELECTION_PROCLAIM:
		*accepts = F_SESSION | F_VALUE;
		*requires = F_SESSION | F_VALUE;
		break;
	default:
		break;
	}
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

static enum http_error get_string(json_t *v, const char *key, const char **s, size_t *len,
                                  struct http_err *err)
{
	if (!json_is_string(v))
		return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT, "%s must be a string", key);
	*s = json_string_value(v);
	*len = json_string_length(v);
	return HTTP_OK;
}

static enum http_error body_field(json_t *v, enum field f, const char *key,
                                  struct http_request *req, struct http_err *err)
{
	const char *s = NULL, *why = NULL;
	size_t len = 0;
	enum http_error e;

	switch (f) {
	case F_TTL:
		return get_ms(v, key, HTTP_TTL_MIN_MS, HTTP_TTL_MAX_MS, &req->ttl_ms, err);
	case F_LOCK_DELAY:
		return get_ms(v, key, 0, HTTP_LOCK_DELAY_MAX_MS, &req->lock_delay_ms, err);
	case F_WAIT:
		return get_ms(v, key, 0, HTTP_WAIT_MAX_MS, &req->wait_ms, err);
	default:
		break;
	}
	if ((e = get_string(v, key, &s, &len, err)) != HTTP_OK)
		return e;
	switch (f) {
	case F_SESSION:
		if (!is_session_id(s, len))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "session must be a 32-digit lowercase hex id");
		memcpy(req->session, s, len + 1);
		return HTTP_OK;
	case F_LABEL:
		if (len > HTTP_SESSION_LABEL_MAX || !http_value_valid(s, len, &why))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "name must be at most 255 bytes of UTF-8 text");
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
				                    "name may not contain control characters");
		memcpy(req->label, s, len + 1);
		return HTTP_OK;
	case F_MODE:
		if (strcmp(s, "shared") == 0)
			req->shared = true;
		else if (strcmp(s, "exclusive") != 0)
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "mode must be exclusive or shared");
		return HTTP_OK;
	case F_VALUE:
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

static enum http_error decode_body(const char *body, size_t body_len, struct http_request *req,
                                   struct http_err *err)
{
	unsigned accepts, requires, seen = 0;
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	enum http_error e = HTTP_OK;

	op_fields(req->op, &accepts, &requires);
	if (!body || body_len == 0) {
		/* Release and resign may name the session in the query instead. */
		if ((requires & F_SESSION) || (accepts == F_SESSION && !req->session[0]))
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "the body must be a JSON object with a session");
		if (requires)
			return http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                    "the body must be a JSON object");
		return HTTP_OK;
	}
	if (body_len > HTTP_BODY_MAX)
		return http_err_set(err, HTTP_ERR_TOO_LARGE, "the body is over %u bytes",
		                    HTTP_BODY_MAX);
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
		enum field f = 0;

		for (size_t i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++)
			if (strcmp(key, field_names[i].key) == 0)
				f = field_names[i].field;
		if (!(f & accepts)) {
			e = http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
			                 "unknown field for this request: %.64s", key);
			goto out;
		}
		if ((e = body_field(v, f, key, req, err)) != HTTP_OK)
			goto out;
		seen |= f;
	}
	if ((requires & ~seen) || (accepts == F_SESSION && !req->session[0])) {
		for (size_t i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++)
			if ((requires | (accepts == F_SESSION ? F_SESSION : 0)) & ~seen &
			    field_names[i].field) {
				e = http_err_set(err, HTTP_ERR_INVALID_ARGUMENT,
				                 "missing field: %s", field_names[i].key);
				break;
			}
	}
out:
	json_decref(root);
	return e;
}

static bool op_is_write(enum http_op op)
{
	switch (op) {
	case HTTP_OP_SESSION_CREATE:
	case HTTP_OP_SESSION_CLOSE:
	case HTTP_OP_LOCK_ACQUIRE:
	case HTTP_OP_LOCK_RELEASE:
	case HTTP_OP_ELECTION_CAMPAIGN:
	case HTTP_OP_ELECTION_PROCLAIM:
	case HTTP_OP_ELECTION_RESIGN:
		return true;
	default:
		return false;
	}
}

enum http_error http_request_decode(const char *method, const char *path,
                                    const struct http_query *query, size_t n_query,
                                    const char *body, size_t body_len, struct http_request *req,
                                    struct http_err *err, const char **allow)
{
	enum http_error e;

	memset(req, 0, sizeof(*req));
	err->code = HTTP_OK;
	err->message[0] = '\0';
	if (allow)
		*allow = NULL;
	if ((e = route_request(method, path, req, err, allow)) != HTTP_OK)
		return e;
	req->is_write = op_is_write(req->op);
	req->ttl_ms = HTTP_TTL_DEFAULT_MS;
	if ((e = decode_query(query, n_query, req, err)) != HTTP_OK ||
	    (e = decode_body(body, body_len, req, err)) != HTTP_OK) {
		http_request_free(req);
		return e;
	}
	return HTTP_OK;
}

void http_request_free(struct http_request *req)
{
	free(req->value);
	req->value = NULL;
	req->value_len = 0;
	req->has_value = false;
}
