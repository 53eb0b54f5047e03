/* The error table of API.md and the JSON error body. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
	unsigned status;
	const char *code;
} error_table[HTTP_ERR_COUNT] = {
    [HTTP_OK] = {200, ""},
    [HTTP_ERR_INVALID_JSON] = {400, "invalid_json"},
    [HTTP_ERR_INVALID_ARGUMENT] = {400, "invalid_argument"},
    [HTTP_ERR_UNAUTHENTICATED] = {401, "unauthenticated"},
    [HTTP_ERR_PERMISSION_DENIED] = {403, "permission_denied"},
    [HTTP_ERR_NOT_FOUND] = {404, "not_found"},
    [HTTP_ERR_SESSION_NOT_FOUND] = {404, "session_not_found"},
    [HTTP_ERR_MEMBER_NOT_FOUND] = {404, "member_not_found"},
    [HTTP_ERR_METHOD_NOT_ALLOWED] = {405, "method_not_allowed"},
    [HTTP_ERR_LOCK_HELD] = {409, "lock_held"},
    [HTTP_ERR_NOT_HOLDER] = {409, "not_holder"},
    [HTTP_ERR_STALE_TOKEN] = {409, "stale_token"},
    [HTTP_ERR_STALE_REQUEST] = {409, "stale_request"},
    [HTTP_ERR_CONFLICT] = {409, "conflict"},
    [HTTP_ERR_CHANGE_IN_PROGRESS] = {409, "change_in_progress"},
    [HTTP_ERR_NOT_CAUGHT_UP] = {409, "not_caught_up"},
    [HTTP_ERR_CAS_FAILED] = {409, "cas_failed"},
    [HTTP_ERR_CHECK_FAILED] = {409, "check_failed"},
    [HTTP_ERR_COMPACTED] = {410, "compacted"},
    [HTTP_ERR_TOO_LARGE] = {413, "too_large"},
    [HTTP_ERR_LOCK_DELAY] = {423, "lock_delay"},
    [HTTP_ERR_TOO_MANY] = {429, "too_many"},
    [HTTP_ERR_NO_LEADER] = {503, "no_leader"},
    [HTTP_ERR_UNAVAILABLE] = {503, "unavailable"},
    [HTTP_ERR_TIMEOUT] = {504, "timeout"},
};

unsigned http_error_status(enum http_error code)
{
	return code < HTTP_ERR_COUNT ? error_table[code].status : 500;
}

const char *http_error_code(enum http_error code)
{
	return code < HTTP_ERR_COUNT ? error_table[code].code : "internal";
}

enum http_error http_err_set(struct http_err *err, enum http_error code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	err->allow[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

json_t *http_error_json(const struct http_err *err)
{
	return json_pack("{s:s, s:s}", "error", http_error_code(err->code), "message",
	                 err->message);
}

json_t *http_error_json_details(const struct http_err *err, json_t *details)
{
	json_t *body = http_error_json(err);

	if (body && details)
		json_object_update(body, details);
	json_decref(details);
	return body;
}
