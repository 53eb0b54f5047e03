/* The one error shape of the API (API.md, Conventions):
 *   {"error": "<code>", "message": "<one human sentence>", ...details}
 * and the table that maps each error code to its HTTP status. */
#ifndef COORD_HTTP_ERROR_H
#define COORD_HTTP_ERROR_H

#include <jansson.h>

enum http_error {
	HTTP_OK = 0,
	HTTP_ERR_INVALID_JSON,       /* 400 */
	HTTP_ERR_INVALID_ARGUMENT,   /* 400 */
	HTTP_ERR_UNAUTHENTICATED,    /* 401: no valid client certificate, or no valid token */
	HTTP_ERR_PERMISSION_DENIED,  /* 403: the token lacks the rule (or admin) an op needs */
	HTTP_ERR_NOT_FOUND,          /* 404 */
	HTTP_ERR_SESSION_NOT_FOUND,  /* 404 */
	HTTP_ERR_MEMBER_NOT_FOUND,   /* 404 */
	HTTP_ERR_METHOD_NOT_ALLOWED, /* 405, with an Allow header */
	HTTP_ERR_LOCK_HELD,          /* 409 */
	HTTP_ERR_NOT_HOLDER,         /* 409 */
	HTTP_ERR_STALE_TOKEN,        /* 409 */
	HTTP_ERR_STALE_REQUEST,      /* 409: a later-numbered request of the session applied */
	HTTP_ERR_CONFLICT,           /* 409: the member's id or address is taken */
	HTTP_ERR_CHANGE_IN_PROGRESS, /* 409: another membership change or transfer runs */
	HTTP_ERR_NOT_CAUGHT_UP,      /* 409: a learner too far behind to vote */
	HTTP_ERR_CAS_FAILED,         /* 409: a key's modify_index is not the write's cas */
	HTTP_ERR_CHECK_FAILED,       /* 409: a check of a transaction does not hold */
	HTTP_ERR_COMPACTED,          /* 410: a watch's index is older than the kept history */
	HTTP_ERR_TOO_LARGE,          /* 413 */
	HTTP_ERR_LOCK_DELAY,         /* 423, with Retry-After */
	HTTP_ERR_TOO_MANY,           /* 429: a named limit was reached */
	HTTP_ERR_NO_LEADER,          /* 503, with Retry-After: 1 */
	HTTP_ERR_UNAVAILABLE,        /* 503, with Retry-After: 1 */
	HTTP_ERR_TIMEOUT,            /* 504: outcome unknown (safety rule 12) */
	HTTP_ERR_COUNT
};

/* Where an error goes: its code, a sentence, and the name of the request
 * field it concerns (NULL if none). MESSAGE is copied into the buffer. */
#define HTTP_MESSAGE_MAX 256
#define HTTP_ALLOW_MAX   48 /* "GET, PUT, POST, PATCH, DELETE" and its NUL */
struct http_err {
	enum http_error code;
	char message[HTTP_MESSAGE_MAX];
	char allow[HTTP_ALLOW_MAX]; /* METHOD_NOT_ALLOWED: the Allow header, else "" */
};

/* The HTTP status of CODE (200 for HTTP_OK). */
unsigned http_error_status(enum http_error code);
/* The stable string of CODE, e.g. "invalid_argument" ("" for HTTP_OK). */
const char *http_error_code(enum http_error code);

/* Records CODE and a printf-style sentence in ERR; returns CODE so callers
 * can write `return http_err_set(err, ...)`. */
enum http_error http_err_set(struct http_err *err, enum http_error code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A new JSON object {"error":…, "message":…} for ERR, to which the caller may
 * add details. Caller owns the reference (json_decref). NULL on ENOMEM. */
json_t *http_error_json(const struct http_err *err);
/* http_error_json() with DETAILS (stolen; may be NULL) merged into it. */
json_t *http_error_json_details(const struct http_err *err, json_t *details);

#endif
