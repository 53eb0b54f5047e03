/* A scripted HTTP server on 127.0.0.1 for libcoord's tests: it answers
 * /v1/status with a configurable leader, and every other request with the
 * next answer of a script (the last one repeats). An answer may stall: the
 * request is read and never answered, like a node frozen mid-request. */
#ifndef COORD_TESTS_UNIT_CLIENTS_FAKE_SERVER_H
#define COORD_TESTS_UNIT_CLIENTS_FAKE_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "libcoord.h"

#define FAKE_SCRIPT_MAX 16
#define FAKE_PATH_MAX   128
#define FAKE_SEEN_MAX   64
#define FAKE_BODY_MAX   256 /* bytes of a request body kept */
#define FAKE_AUTH_MAX   256 /* bytes of an Authorization header's value kept */

struct fake_answer {
	int status;          /* 0: stall */
	const char *body;    /* JSON text, NULL for "{}" */
	const char *headers; /* extra header lines, each ending "\r\n"; may be NULL */
};

struct fake_server {
	int listen_fd;
	uint16_t port;
	char url[64]; /* "http://127.0.0.1:PORT" */
	char status_body[256];
	struct fake_answer script[FAKE_SCRIPT_MAX];
	int script_len;
	int cut; /* script index of an answer cut short (-1: none), see fake_cut */
	pthread_t thread;
	pthread_mutex_t mu; /* guards the fields below */
	bool stop;
	int requests;                                 /* scripted requests received */
	int status_probes;                            /* /v1/status requests received */
	char seen[FAKE_SEEN_MAX][FAKE_PATH_MAX];      /* "METHOD PATH" of scripted ones */
	char seen_body[FAKE_SEEN_MAX][FAKE_BODY_MAX]; /* their bodies ("" if none) */
	char seen_auth[FAKE_SEEN_MAX][FAKE_AUTH_MAX]; /* their Authorization ("" if none) */
	char probe_auth[FAKE_AUTH_MAX];               /* that of the last /v1/status probe */
};

struct coordc;

/* Starts a server answering from SCRIPT (LEN answers, copied). Asserts on
 * failure. */
void fake_start(struct fake_server *f, const struct fake_answer *script, int len);

/* Makes /v1/status name LEADER_URL's host:port as the leader (NULL: none). */
void fake_set_leader(struct fake_server *f, const struct fake_server *leader);

/* Makes the answer of script entry N (from 0) promise 100 bytes more body
 * than it sends, then close the connection: a transfer broken mid-body. */
void fake_cut(struct fake_server *f, int n);

/* Scripted requests received so far. */
int fake_requests(struct fake_server *f);

/* Stops the server (also releasing a stalled request) and joins it. */
void fake_stop(struct fake_server *f);

/* The config of fake_client (ENDPOINTS borrowed), for a test that adds to
 * it before opening. */
struct coordc_config fake_config(const char *endpoints, uint32_t timeout_ms);

/* A libcoord client on ENDPOINTS with quick retries (4 attempts, backoff
 * 5..20 ms, fixed seed) and TIMEOUT_MS per attempt, so tests stay short.
 * Asserts on failure; close it with coordc_close. */
struct coordc *fake_client(const char *endpoints, uint32_t timeout_ms);

#endif
