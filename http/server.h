/* server.h: the HTTP front of a node, on libmicrohttpd.
 *
 * MHD runs its own threads, or none (external): then its owner runs it on
 * its own thread, and every callback below runs there. For each request the
 * server collects the body
 * (refusing one over HTTP_BODY_MAX with 413 before reading it), decodes it
 * into a typed request (request.h; a refused request is answered at once and
 * changes nothing), offers it to the serve callback, which may answer it
 * there and then, or else suspends the connection and hands the call to the
 * node through the submit callback. Whoever owns the call then answers it exactly
 * once with http_call_answer*(), from any thread; that resumes the
 * connection and sends the answer.
 *
 * Ownership: a call belongs to the node from submit until it is answered;
 * after answering, the node must not touch it again. The server frees it when
 * MHD is done with the connection's request.
 */
#ifndef COORD_HTTP_SERVER_H
#define COORD_HTTP_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "request.h"

/* Named limits (docs/API.md, Limits). */
#define HTTP_MAX_CONNECTIONS 1024        /* open client connections */
#define HTTP_CONN_MEMORY     (16u << 10) /* per connection: URL + headers (414/431 above) */
#define HTTP_IDLE_TIMEOUT_S  30          /* a slow or idle client is cut after this */
#define HTTP_THREADS         2           /* MHD worker threads */
#define HTTP_LOCATION_MAX    2048        /* bytes of a redirect's Location */

struct http_server;
struct http_call;
struct http_tls;

/* Headers every answer may carry (API.md, Conventions). Zero/empty fields
 * are left out, except the three X-Coord-* that are always sent. */
struct http_meta {
	uint64_t index;  /* X-Coord-Index */
	uint64_t term;   /* X-Coord-Term */
	uint64_t leader; /* X-Coord-Leader (0: empty) */
	bool has_last_contact;
	uint64_t last_contact_ms;         /* X-Coord-Last-Contact, on stale reads */
	unsigned retry_after_s;           /* Retry-After (0: none) */
	char location[HTTP_LOCATION_MAX]; /* Location, for 307 */
};

/* Called in an MHD thread with a decoded request. The connection is already
 * suspended; the callee must eventually answer CALL (possibly at once). */
typedef void (*http_submit_fn)(void *ctx, struct http_call *call);

/* Called in an MHD thread with a decoded request before it is handed over
 * (the connection is not suspended): true when it answered CALL there and
 * then, with http_call_answer*(); false to hand it to submit. */
typedef bool (*http_serve_fn)(void *ctx, struct http_call *call);

struct http_server_config {
	const char *listen_addr; /* "host:port" */
	http_serve_fn serve;     /* may be NULL: every request is submitted */
	http_submit_fn submit;
	void *ctx;
	void (*log)(void *ctx, const char *line); /* may be NULL */
	/* NULL: plain HTTP. Else HTTPS with these credentials (tls.h; borrowed
	 * until http_server_stop). When they name a client CA, every request
	 * without a client certificate that verifies against it is answered
	 * 401 unauthenticated before it is decoded, and changes nothing. */
	struct http_tls *tls;
	/* False: MHD runs HTTP_THREADS threads of its own. True: no thread; the
	 * owner's thread runs http_server_run() whenever http_server_fd() is
	 * readable (a request, or an answer given: it resumes the connection)
	 * and at least every HTTP_RUN_EVERY_MS (idle time-outs); every callback
	 * then runs on that thread. */
	bool external;
};

#define HTTP_RUN_EVERY_MS 100 /* external: the longest wait between two runs */

/* External mode only: the descriptor to poll for readability, and one run
 * of the server (reads, decodes, submits, sends; never blocks). */
int http_server_fd(struct http_server *s);
/* True when work is left that does not show on the descriptor: run it
 * again without waiting. */
bool http_server_run(struct http_server *s);
/* Whether a call was answered since its last run: the owner runs it at
 * the end of each of its turns then, so that the answers leave at once. */
bool http_server_answered(const struct http_server *s);

enum http_server_err { HTTP_SERVER_OK = 0, HTTP_SERVER_EADDR, HTTP_SERVER_ELISTEN };

/* Starts serving; returns HTTP_SERVER_ELISTEN if the port is in use. */
int http_server_start(const struct http_server_config *cfg, struct http_server **out);
/* Stops accepting, closes every connection and joins MHD's threads. Calls
 * still owned by the node must have been answered before. */
void http_server_stop(struct http_server *s);

/* The decoded request of CALL (borrowed for the call's life). */
const struct http_request *http_call_request(const struct http_call *call);
/* The request's path and query as the client sent them (decoded, then
 * re-encoded), for a redirect's Location. Borrowed for the call's life. */
const char *http_call_target(const struct http_call *call);
/* The request as it came: method, target (as http_call_target), and the
 * accepted body as compact JSON (request.h). A follower forwards exactly
 * this to the leader, which decodes it again (http_request_decode_target).
 * Borrowed for the call's life. */
struct http_original {
	const char *method;
	const char *target;
	const char *body; /* NULL when empty */
	size_t body_len;
};
struct http_original http_call_original(const struct http_call *call);
/* The client socket of a suspended CALL, to notice a client that hung up
 * (http_call_client_gone). */
bool http_call_client_gone(const struct http_call *call);

/* Answers CALL with STATUS and BODY (a reference is stolen; NULL for no
 * body). May be called from any thread, once. */
void http_call_answer(struct http_call *call, unsigned status, json_t *body,
                      const struct http_meta *meta);
/* Answers CALL with ERR in the API's error shape; DETAILS (stolen, may be
 * NULL) are merged into the error object. */
void http_call_answer_error(struct http_call *call, const struct http_err *err, json_t *details,
                            const struct http_meta *meta);
/* Answers CALL with STATUS and an already encoded JSON BODY of LEN bytes
 * (copied; a newline is added), as relayed from the leader. */
void http_call_answer_raw(struct http_call *call, unsigned status, const char *body, size_t len,
                          const struct http_meta *meta);
/* Answers CALL with a text/plain body (for /metrics). TEXT is copied. */
void http_call_answer_text(struct http_call *call, unsigned status, const char *text,
                           const struct http_meta *meta);

/* Answers CALL 200 with a page of HTML (GET /ui): the LEN bytes of HTML
 * (copied) as text/html; charset=utf-8, with the Content-Security-Policy
 * CSP (borrowed: it must outlive the call, e.g. static), and
 * X-Content-Type-Options: nosniff and X-Frame-Options: DENY. */
void http_call_answer_html(struct http_call *call, const char *html, size_t len, const char *csp,
                           const struct http_meta *meta);

/* Answers CALL 200 with the SIZE bytes of the file open as FD
 * (application/octet-stream, streamed by MHD, which then closes FD; FD is
 * closed as well if the answer is never sent), and X-Coord-Crc32c: CRC32C
 * as 8 hex digits. Takes FD. */
void http_call_answer_file(struct http_call *call, int fd, uint64_t size, uint32_t crc32c,
                           const struct http_meta *meta);

/* Counters, for /metrics: answers by status class. */
struct http_server_stats {
	uint64_t by_status[6];       /* [1..5]: 1xx..5xx */
	uint64_t refused_early;      /* answered without reaching the node */
	uint64_t tls_client_refused; /* 401: no valid client certificate (also in refused_early) */
};
void http_server_stats(struct http_server *s, struct http_server_stats *out);

#endif
