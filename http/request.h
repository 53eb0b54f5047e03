/* Decoding of an HTTP request (method, path, query, JSON body) into a typed
 * request, with every check API.md asks for. Independent of libmicrohttpd:
 * the server hands in the pieces, so the decoder can be unit-tested and
 * fuzzed alone. A request that fails decoding changes nothing anywhere. */
#ifndef COORD_HTTP_REQUEST_H
#define COORD_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "names.h"

/* Named limits (docs/API.md, Limits). */
#define HTTP_BODY_MAX             (1u << 20) /* bytes of a request body (413 above) */
#define HTTP_JSON_DEPTH_MAX       4          /* nesting of a request body */
#define HTTP_SESSION_ID_LEN       32         /* hex digits of a session id (128 bits) */
#define HTTP_SESSION_LABEL_MAX    255        /* bytes of a session's "name" */
#define HTTP_TTL_MIN_MS           1000u      /* session TTL range */
#define HTTP_TTL_MAX_MS           3600000u
#define HTTP_TTL_DEFAULT_MS       10000u
#define HTTP_LOCK_DELAY_MAX_MS    60000u  /* session lock-delay range: 0..60 s */
#define HTTP_WAIT_MAX_MS          600000u /* acquire/campaign wait_ms and ?wait= */
#define HTTP_POLL_WAIT_DEFAULT_MS 300000u /* long-poll wait when ?index= is given */
#define HTTP_QUERY_MAX            16      /* query parameters in one request */

enum http_op {
	HTTP_OP_SESSION_CREATE = 1, /* POST   /v1/sessions */
	HTTP_OP_SESSION_LIST,       /* GET    /v1/sessions */
	HTTP_OP_SESSION_GET,        /* GET    /v1/sessions/{id} */
	HTTP_OP_SESSION_CLOSE,      /* DELETE /v1/sessions/{id} */
	HTTP_OP_SESSION_KEEPALIVE,  /* POST   /v1/sessions/{id}/keepalive */
	HTTP_OP_LOCK_LIST,          /* GET    /v1/locks?prefix= */
	HTTP_OP_LOCK_GET,           /* GET    /v1/locks/{name} */
	HTTP_OP_LOCK_ACQUIRE,       /* PUT    /v1/locks/{name} */
	HTTP_OP_LOCK_RELEASE,       /* DELETE /v1/locks/{name} */
	HTTP_OP_FENCE,              /* GET    /v1/fence?lock=&token= */
	HTTP_OP_ELECTION_GET,       /* GET    /v1/elections/{name} */
	HTTP_OP_ELECTION_CAMPAIGN,  /* PUT    /v1/elections/{name} */
	HTTP_OP_ELECTION_PROCLAIM,  /* PATCH  /v1/elections/{name} */
	HTTP_OP_ELECTION_RESIGN,    /* DELETE /v1/elections/{name} */
	HTTP_OP_STATUS,             /* GET    /v1/status */
	HTTP_OP_HEALTH,             /* GET    /v1/health */
	HTTP_OP_METRICS,            /* GET    /metrics */
	HTTP_OP_COUNT
};

/* One query parameter, as the server found it (already percent-decoded).
 * VALUE is NULL for a bare key such as "?redirect". */
struct http_query {
	const char *key;
	const char *value;
};

struct http_request {
	enum http_op op;
	bool is_write; /* changes state: goes through the log */

	/* Path and body fields; which are set depends on op. */
	char name[HTTP_NAME_MAX + 1];           /* lock or election name */
	char session[HTTP_SESSION_ID_LEN + 1];  /* session id */
	char label[HTTP_SESSION_LABEL_MAX + 1]; /* session create: "name" */
	uint64_t ttl_ms;
	uint64_t lock_delay_ms;
	uint64_t wait_ms; /* acquire/campaign queue wait */
	bool shared;      /* mode: shared (else exclusive) */
	bool has_value;
	char *value; /* malloc'd, value_len bytes + NUL */
	size_t value_len;

	/* Query. */
	bool stale;     /* ?consistency=stale */
	bool redirect;  /* ?redirect */
	bool pretty;    /* ?pretty: indent the JSON answer */
	bool has_index; /* ?index=N: a long-poll */
	uint64_t index;
	uint64_t poll_wait_ms;          /* ?wait=D, with ?index */
	char prefix[HTTP_NAME_MAX + 1]; /* lock list: ?prefix= (may be empty) */
	uint64_t token;                 /* fence: ?token= */
};

/* Decodes METHOD and PATH (without the query), the N_QUERY parameters QUERY,
 * and BODY (BODY_LEN bytes; NULL or 0 for none) into *REQ. Returns HTTP_OK,
 * or an error with a sentence naming the field in *ERR; on METHOD_NOT_ALLOWED
 * *ALLOW (if not NULL) is set to the static list of allowed methods. On
 * success the caller frees REQ's resources with http_request_free(). */
enum http_error http_request_decode(const char *method, const char *path,
                                    const struct http_query *query, size_t n_query,
                                    const char *body, size_t body_len, struct http_request *req,
                                    struct http_err *err, const char **allow);

void http_request_free(struct http_request *req);

/* The name of OP for logs and metrics ("lock_acquire", ...). */
const char *http_op_name(enum http_op op);

#endif
