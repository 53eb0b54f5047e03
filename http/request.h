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
#include "op.h"

/* Named limits (docs/API.md, Limits). */
#define HTTP_BODY_MAX             (1u << 20) /* bytes of a request body (413 above) */
#define HTTP_JSON_DEPTH_MAX       4          /* nesting of a request body */
#define HTTP_SESSION_ID_LEN       32         /* hex digits of a session id (128 bits) */
#define HTTP_SESSION_LABEL_MAX    255        /* bytes of a session's "name" */
#define HTTP_TTL_MIN_MS           1000u      /* session TTL range */
#define HTTP_TTL_MAX_MS           3600000u
#define HTTP_TTL_DEFAULT_MS       10000u
#define HTTP_LOCK_DELAY_MAX_MS    60000u      /* session lock-delay range: 0..60 s */
#define HTTP_WAIT_MAX_MS          600000u     /* acquire/campaign wait_ms and ?wait= */
#define HTTP_POLL_WAIT_DEFAULT_MS 300000u     /* long-poll wait when ?index= is given */
#define HTTP_QUERY_MAX            16          /* query parameters in one request */
#define HTTP_LIST_LIMIT_DEFAULT   1000u       /* items in a listing's page without ?limit= */
#define HTTP_LIST_LIMIT_MAX       10000u      /* ?limit= of a listing: 1..this */
#define HTTP_MEMBER_ID_MAX        4294967295u /* server ids: 1..this (coordd --id) */
#define HTTP_ADDR_MAX             64          /* bytes of HOST:PORT with its NUL */
/* A session's request number, "seq" or X-Coord-Seq: 1..2^53 - 1, exact in
 * every JSON reader (API.md, Retries). */
#define HTTP_SEQ_MAX    ((UINT64_C(1) << 53) - 1)
#define HTTP_SEQ_HEADER "X-Coord-Seq"
#define HTTP_TOKEN_MAX  ((uint64_t)INT64_MAX) /* a release's fencing token: 1..this */
/* Access tokens (API.md, Access control): rules per token, and a rule's
 * prefix (0..HTTP_NAME_MAX bytes of text). A token's id is a log index,
 * 1..HTTP_TOKEN_MAX. */
#define HTTP_TOKEN_RULES_MAX 32

/* One rule of a token a request creates: RESOURCE and ACCESS are the API's
 * names ("locks", "elections", "sessions", "kv"; "read", "write"),
 * static strings. */
struct http_rule {
	const char *resource;
	const char *access;
	char prefix[HTTP_NAME_MAX + 1];
	size_t prefix_len;
};
/* A transaction (POST /v1/txn): checks, puts and deletes, and the bytes
 * of its values together. */
#define HTTP_TXN_CHECKS_MAX 64
#define HTTP_TXN_OPS_MAX    64
#define HTTP_TXN_VALUES_MAX HTTP_VALUE_MAX

enum http_txn_check_kind {
	HTTP_TXN_KEY,     /* {"key": K, "modify_index": N}: N 0 for "absent" */
	HTTP_TXN_LOCK,    /* {"lock": L, "token": N}: a current holder's token */
	HTTP_TXN_SESSION, /* {"session": ID}: alive */
};

struct http_txn_check {
	enum http_txn_check_kind kind;
	char name[HTTP_NAME_MAX + 1]; /* the key or the lock */
	uint64_t n;
	char session[HTTP_SESSION_ID_LEN + 1];
};

/* {"put": K, "value": V[, "session": ID]} or {"delete": K}. The puts of one
 * transaction name one session at most: the request's session. */
struct http_txn_op {
	bool del;
	bool ephemeral; /* a put with a "session": the key belongs to it */
	char key[HTTP_NAME_MAX + 1];
	char *value; /* a put's, malloc'd, value_len bytes + NUL */
	size_t value_len;
};

/* The compact JSON of an accepted body: a value and a label, or a
 * transaction's values and names, each byte escaped in at most 6, and the
 * other fields. */
#define HTTP_FORWARD_BODY_MAX                                                                      \
	(6u * (HTTP_VALUE_MAX + HTTP_SESSION_LABEL_MAX +                                           \
	       (HTTP_TXN_CHECKS_MAX + HTTP_TXN_OPS_MAX) * (HTTP_NAME_MAX + 64)) +                  \
	 1024u)
#define HTTP_BODY_KEPT_MAX 4096u /* a body up to this is kept as it came */

/* The Authorization header: "Bearer SECRET", the secret a token68 of
 * 1..HTTP_BEARER_MAX bytes (API.md, Access control). */
#define HTTP_BEARER_MAX 128

enum http_bearer {
	HTTP_BEARER_NONE = 0,  /* no Authorization header */
	HTTP_BEARER_OK,        /* "Bearer SECRET": the secret is in bearer */
	HTTP_BEARER_MALFORMED, /* another scheme, no secret, or a bad one */
};

/* One query parameter, as the server found it (already percent-decoded).
 * VALUE is NULL for a bare key such as "?redirect". */
struct http_query {
	const char *key;
	const char *value;
};

struct http_request {
	enum http_op op; /* its facts: http_op_info(op) */

	/* Path and body fields; which are set depends on op. */
	char name[HTTP_NAME_MAX + 1];           /* lock or election name */
	char session[HTTP_SESSION_ID_LEN + 1];  /* session id */
	char label[HTTP_SESSION_LABEL_MAX + 1]; /* session create: "name" */
	uint64_t ttl_ms;
	uint64_t lock_delay_ms;
	uint64_t wait_ms; /* acquire/campaign queue wait */
	uint64_t seq;     /* the session's number for this request; 0: none */
	bool shared;      /* mode: shared (else exclusive) */
	bool has_value;
	char *value; /* malloc'd, value_len bytes + NUL */
	size_t value_len;
	/* Members: the server a call names (path, "id", or "add"'s id; 0 for
	 * none), its Raft address ("raft", or "add"'s), and a replace's
	 * "remove". */
	uint64_t member;
	char raft[HTTP_ADDR_MAX];
	uint64_t remove;
	/* Access tokens: a create's "admin" and "rules" (its name is label),
	 * and the id a revoke names in its path. */
	bool admin;
	struct http_rule *rules; /* n_rules of them (owned; NULL when none) */
	size_t n_rules;
	uint64_t token_id;
	/* Keys: a write's "cas" (or a delete's ?cas=) when has_cas, and its
	 * "fence" when fence_lock is not "" (fence_token 1..HTTP_TOKEN_MAX). */
	bool has_cas;
	uint64_t cas;
	char fence_lock[HTTP_NAME_MAX + 1];
	uint64_t fence_token;
	/* A transaction: its checks and operations (malloc'd arrays, NULL when
	 * none), in the body's order; session is its ephemeral puts'. */
	struct http_txn_check *checks;
	size_t n_checks;
	struct http_txn_op *ops;
	size_t n_ops;
	/* The accepted body again (malloc'd; NULL for none): what a follower
	 * forwards. A short body as it came; a longer one as compact JSON, so
	 * at most HTTP_FORWARD_BODY_MAX bytes whatever padding the client
	 * sent. */
	char *body;
	size_t body_len;

	/* The Authorization header's form and secret (http_request_bearer);
	 * never forwarded: the node that receives a request checks it. */
	enum http_bearer bearer_form;
	char bearer[HTTP_BEARER_MAX + 1];
	size_t bearer_len;

	/* Query. */
	bool stale;     /* ?consistency=stale */
	bool redirect;  /* ?redirect */
	bool pretty;    /* ?pretty: indent the JSON answer */
	bool has_index; /* ?index=N: a long-poll */
	uint64_t index;
	uint64_t poll_wait_ms;          /* ?wait=D, with ?index */
	char prefix[HTTP_NAME_MAX + 1]; /* lock list: ?prefix= (may be empty) */
	uint64_t token;                 /* fence: ?token= (0..); release, resign: the grant,
	                                 * ?token= or "fencing_token" (1..HTTP_TOKEN_MAX), 0: any */
	bool force;                     /* ?force (a bare key, or =true) */
	/* A listing's page (HTTP_Q_LIMIT): limit is 1..HTTP_LIST_LIMIT_MAX,
	 * HTTP_LIST_LIMIT_DEFAULT without ?limit=, 0 for an operation that is
	 * not a listing. after is the key the page starts after: a lock name,
	 * a session id in hex or a token id in decimal digits, as the row
	 * takes it; "" for the first page. */
	uint32_t limit;
	char after[HTTP_NAME_MAX + 1];
};

/* Decodes METHOD and PATH (without the query), the N_QUERY parameters QUERY,
 * and BODY (BODY_LEN bytes; NULL or 0 for none) into *REQ, checking each
 * against the row of its operation (op.h). Returns HTTP_OK, or an error with
 * a sentence naming the field in *ERR (and, on METHOD_NOT_ALLOWED, the
 * allowed methods in ERR->allow). On success the caller frees REQ's
 * resources with http_request_free(); on failure nothing is kept. */
enum http_error http_request_decode(const char *method, const char *path,
                                    const struct http_query *query, size_t n_query,
                                    const char *body, size_t body_len, struct http_request *req,
                                    struct http_err *err);

/* Like http_request_decode(), from TARGET: the path and query as
 * http_target_encode() wrote them ("/v1/locks/a%20b?wait=5s&pretty").
 * Used by a leader to decode what a follower forwarded: a peer's request
 * passes every check a client's does (docs/DESIGN.md, rule 11). */
enum http_error http_request_decode_target(const char *method, const char *target, const char *body,
                                           size_t body_len, struct http_request *req,
                                           struct http_err *err);

/* Writes PATH and the N parameters QUERY as one target, percent-encoding
 * every byte but A-Z a-z 0-9 - . _ ~ / : ; returns a malloc'd string (the
 * caller frees it) or NULL on ENOMEM. */
char *http_target_encode(const char *path, const struct http_query *query, size_t n);

/* Takes the X-Coord-Seq header's VALUE (NULL: none) into *REQ, decoded by
 * http_request_decode(): 1..HTTP_SEQ_MAX in decimal digits, on a request
 * whose row takes "seq", equal to the body's "seq" if it has one. The kept
 * body (what a follower forwards, whose leader sees no header) gets the seq
 * as its "seq". Returns HTTP_OK, or an error (400) with a sentence in *ERR,
 * having freed REQ's resources as a failed decode does. */
enum http_error http_request_seq_header(struct http_request *req, const char *value,
                                        struct http_err *err);

/* Takes the Authorization header's VALUE (NULL: none) into REQ's
 * bearer_form and bearer: "Bearer" (any case), one or more spaces, and a
 * token68 (A-Z a-z 0-9 - . _ ~ + / then any '=') of 1..HTTP_BEARER_MAX
 * bytes, nothing after it. Whether a request needs one is the node's
 * decision; this only parses. */
void http_request_bearer(struct http_request *req, const char *value);

/* Whether the LEN bytes at S are a secret of that form: a token68 of
 * 1..HTTP_BEARER_MAX bytes. */
bool http_bearer_valid(const char *s, size_t len);

void http_request_free(struct http_request *req);

#endif
