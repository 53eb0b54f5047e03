/* The coord target: each workload as requests to coordd's HTTP API
 * (docs/API.md), and the replies that count as success.
 *
 *   setup      POST /v1/sessions                     -> 201 {"id"}
 *              session-cycle, which needs no session: GET /v1/health, any
 *              answer (it opens the connection, and its TLS handshake,
 *              before the window)
 *   lock-own   PUT /v1/locks/bench/T/own/I  (try-lock) -> 200; DELETE -> released
 *   contended  PUT /v1/locks/bench/T/shared (FIFO wait) -> 200; DELETE -> released
 *   keepalive  POST /v1/sessions/S/keepalive          -> 200
 *   reads      GET /v1/sessions/S [?consistency=stale] -> 200
 *   session    POST /v1/sessions -> 201; DELETE /v1/sessions/ID -> 200
 *   fill       POST /v1/sessions -> 201, then PUT /v1/locks/P/S/L (try-lock)
 *              -> 200 for each of the session's locks; one request is one
 *              operation; nothing is closed
 *   teardown   DELETE /v1/sessions/S (releases every lock and wait of S)
 *
 * A fill does not retry a request the server refused (4xx: 429 at a named
 * limit, 409 for a name another session holds, 404 for a session gone):
 * it counts the error and moves on, past the whole session when the
 * session itself is what failed. Transport errors and 5xx are retried. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "bench.h"

#define WAIT_SLACK_MS 1000 /* the server answers a FIFO wait's 409 before curl gives up */

static void set(struct bench_request *q, const char *method)
{
	q->method = method;
}

static void lock_name(const struct bench_options *o, const struct bench_client *c, char *out,
                      size_t len)
{
	if (o->workload == BENCH_LOCK_CONTENDED) {
		snprintf(out, len, "bench/%s/shared", o->run_tag);
	} else {
		snprintf(out, len, "bench/%s/own/%d", o->run_tag, c->id);
	}
}

/* Copies the reply's "id" into OUT; 0 on success. */
static int take_id(const char *body, char *out)
{
	json_t *j = json_loads(body, 0, NULL);
	const char *id = json_string_value(json_object_get(j, "id"));
	int ok = id != NULL && strlen(id) < BENCH_ID_MAX;
	if (ok) {
		snprintf(out, BENCH_ID_MAX, "%s", id);
	}
	json_decref(j);
	return ok ? 0 : 1;
}

/* Keys ---------------------------------------------------------------------- */

/* The value every key/value workload writes: 16 bytes, as etcd's. */
#define KV_VALUE "value-0123456789"

static void kv_path(const struct bench_options *o, const struct bench_client *c,
                    struct bench_request *q, const char *query)
{
	snprintf(q->path, sizeof(q->path), "/v1/kv/bench/%s/kv/%d%s", o->run_tag, c->id, query);
}

/* A write of the client's key (setup, kv-put, kv-cas: then conditional on
 * the index of its last write). */
static void kv_put(const struct bench_options *o, struct bench_client *c, struct bench_request *q,
                   int cas)
{
	set(q, "PUT");
	kv_path(o, c, q, "");
	if (cas)
		snprintf(q->body, sizeof(q->body), "{\"value\":\"" KV_VALUE "\",\"cas\":%s}",
		         c->key);
	else
		snprintf(q->body, sizeof(q->body), "{\"value\":\"" KV_VALUE "\"}");
}

/* Keeps a write's "modify_index" in the client's key; 0 on success. */
static int take_index(const char *body, struct bench_client *c)
{
	json_t *j = json_loads(body, 0, NULL);
	json_t *i = json_object_get(j, "modify_index");
	int ok = json_is_integer(i);

	if (ok)
		snprintf(c->key, sizeof(c->key), "%lld", (long long)json_integer_value(i));
	json_decref(j);
	return ok ? 0 : 1;
}

/* fill --------------------------------------------------------------------- */

static void fill_next_session(const struct bench_options *o, struct bench_client *c)
{
	c->fill_next += o->clients;
	c->fill_lock = -1;
	c->fill_session[0] = '\0';
}

static int prepare_fill(const struct bench_options *o, struct bench_client *c,
                        struct bench_request *q)
{
	if (c->step > 0) {
		return 0;
	}
	if (c->fill_next >= o->fill_sessions) {
		return -1;
	}
	long s = o->fill_offset + c->fill_next;
	if (c->fill_lock < 0) {
		set(q, "POST");
		snprintf(q->path, sizeof(q->path), "/v1/sessions");
		snprintf(q->body, sizeof(q->body), "{\"ttl_ms\":%ld,\"name\":\"%s/%ld\"}",
		         o->ttl_ms, o->fill_prefix, s);
	} else {
		set(q, "PUT");
		snprintf(q->path, sizeof(q->path), "/v1/locks/%s/%ld/%d", o->fill_prefix, s,
		         c->fill_lock);
		snprintf(q->body, sizeof(q->body), "{\"session\":\"%s\"}", c->fill_session);
	}
	return 1;
}

/* Takes a fill reply. A success moves to the next lock (or session); a
 * refusal (4xx) is counted and skipped; anything else is retried. */
static int check_fill(const struct bench_options *o, struct bench_client *c, long status,
                      const char *body, char *kind)
{
	int creating = c->fill_lock < 0;
	if (creating && status == 201 && take_id(body, c->fill_session) == 0) {
		c->made_sessions++;
		c->fill_lock = 0;
	} else if (!creating && status == 200) {
		c->made_locks++;
		c->fill_lock++;
	} else {
		if (status >= 200 && status < 300) {
			snprintf(kind, BENCH_ERROR_KIND_MAX, "bad_reply_%ld", status);
		} else {
			bench_http_kind(status, body, kind);
		}
		if (status >= 400 && status < 500) {
			/* Refused: skip it. The operation failed and is over; the next
			 * one's latency starts afresh. */
			c->in_cycle = 0;
			if (creating || strstr(kind, "session_not_found") != NULL) {
				fill_next_session(o, c);
			} else if (++c->fill_lock >= o->fill_locks) {
				fill_next_session(o, c);
			}
		}
		return 1;
	}
	if (c->fill_lock >= o->fill_locks) {
		fill_next_session(o, c);
	}
	return 0;
}

/* The timed workloads --------------------------------------------------------- */

static int prepare_run(const struct bench_options *o, struct bench_client *c,
                       struct bench_request *q)
{
	char name[128];
	switch (o->workload) {
	case BENCH_LOCK_OWN:
	case BENCH_LOCK_CONTENDED:
		if (c->step > 1) {
			return 0;
		}
		lock_name(o, c, name, sizeof(name));
		snprintf(q->path, sizeof(q->path), "/v1/locks/%s", name);
		if (c->step == 1) {
			set(q, "DELETE");
			snprintf(q->body, sizeof(q->body), "{\"session\":\"%s\"}", c->session);
		} else if (o->workload == BENCH_LOCK_CONTENDED) {
			set(q, "PUT");
			snprintf(q->body, sizeof(q->body), "{\"session\":\"%s\",\"wait_ms\":%ld}",
			         c->session, o->timeout_ms);
			q->extra_timeout_ms = WAIT_SLACK_MS;
		} else {
			set(q, "PUT");
			snprintf(q->body, sizeof(q->body), "{\"session\":\"%s\"}", c->session);
		}
		return 1;
	case BENCH_KEEPALIVE:
		set(q, "POST");
		snprintf(q->path, sizeof(q->path), "/v1/sessions/%s/keepalive", c->session);
		return c->step == 0;
	case BENCH_READ_LINEAR:
	case BENCH_READ_STALE:
		set(q, "GET");
		snprintf(q->path, sizeof(q->path), "/v1/sessions/%s%s", c->session,
		         o->workload == BENCH_READ_STALE ? "?consistency=stale" : "");
		return c->step == 0;
	case BENCH_SESSION_CYCLE:
		if (c->step == 0) {
			set(q, "POST");
			snprintf(q->path, sizeof(q->path), "/v1/sessions");
			snprintf(q->body, sizeof(q->body), "{\"ttl_ms\":%ld}", o->ttl_ms);
			return 1;
		}
		set(q, "DELETE");
		snprintf(q->path, sizeof(q->path), "/v1/sessions/%s", c->temp_id);
		return c->step == 1;
	case BENCH_KV_PUT:
	case BENCH_KV_CAS:
		kv_put(o, c, q, o->workload == BENCH_KV_CAS);
		return c->step == 0;
	case BENCH_KV_GET:
	case BENCH_KV_GET_STALE:
		set(q, "GET");
		kv_path(o, c, q, o->workload == BENCH_KV_GET_STALE ? "?consistency=stale" : "");
		return c->step == 0;
	default:
		return 0;
	}
}

static int prepare(const struct bench_options *o, struct bench_client *c, struct bench_request *q)
{
	switch (c->phase) {
	case BENCH_SETUP:
		if (o->workload == BENCH_FILL) {
			c->fill_next = c->id;
			c->fill_lock = -1;
			return 0;
		}
		if (c->step > 0) {
			return 0;
		}
		if (bench_is_kv(o->workload)) { /* the client's key, written once */
			kv_put(o, c, q, 0);
			return 1;
		}
		if (o->workload == BENCH_SESSION_CYCLE) {
			set(q, "GET");
			snprintf(q->path, sizeof(q->path), "/v1/health");
			return 1;
		}
		set(q, "POST");
		snprintf(q->path, sizeof(q->path), "/v1/sessions");
		snprintf(q->body, sizeof(q->body), "{\"ttl_ms\":%ld,\"name\":\"bench-%s-%d\"}",
		         o->ttl_ms, o->run_tag, c->id);
		return 1;
	case BENCH_RUN:
		return o->workload == BENCH_FILL ? prepare_fill(o, c, q) : prepare_run(o, c, q);
	case BENCH_TEARDOWN:
		if (o->workload == BENCH_FILL) {
			return 0; /* what a fill made stays */
		}
		if (bench_is_kv(o->workload)) {
			set(q, "DELETE");
			kv_path(o, c, q, "");
			return c->step == 0;
		}
		/* Step 0 closes the session, step 1 a session-cycle's abandoned one. */
		for (;; c->step++) {
			const char *id = c->step == 0   ? c->session
			                 : c->step == 1 ? c->temp_id
			                                : NULL;
			if (id == NULL) {
				return 0;
			}
			if (id[0] != '\0') {
				set(q, "DELETE");
				snprintf(q->path, sizeof(q->path), "/v1/sessions/%s", id);
				return 1;
			}
		}
	}
	return 0;
}

static int check(const struct bench_options *o, struct bench_client *c, long status,
                 const char *body, char *kind)
{
	if (o->workload == BENCH_FILL && c->phase == BENCH_RUN) {
		return check_fill(o, c, status, body, kind);
	}
	if (o->workload == BENCH_SESSION_CYCLE && c->phase == BENCH_SETUP) {
		return 0; /* the health check: an answer means a connection */
	}
	if (bench_is_kv(o->workload) && status == 200) {
		/* A write keeps its index (the next cas names it); a get must
		 * find the key; the teardown's delete ends it. */
		int write = c->phase == BENCH_SETUP || o->workload == BENCH_KV_PUT ||
		            o->workload == BENCH_KV_CAS;
		int bad = c->phase == BENCH_TEARDOWN ? 0
		          : write                    ? take_index(body, c)
		                                     : strstr(body, "\"modify_index\"") == NULL;
		if (!bad) {
			return 0;
		}
		snprintf(kind, BENCH_ERROR_KIND_MAX, "bad_reply_200");
		return 1;
	}
	int created = c->phase == BENCH_SETUP ||
	              (c->phase == BENCH_RUN && o->workload == BENCH_SESSION_CYCLE && c->step == 0);
	if (created) {
		if (status == 201 &&
		    take_id(body, c->phase == BENCH_SETUP ? c->session : c->temp_id) == 0) {
			return 0;
		}
	} else if (c->phase == BENCH_TEARDOWN) {
		/* Gone already (404) is as good as closed. */
		if (status == 200 || status == 404) {
			(c->step == 0 ? c->session : c->temp_id)[0] = '\0';
			return 0;
		}
	} else if (status == 200) {
		/* A release answers 200 whether or not the lock was still held:
		 * {"released":false} is what a retried release gets after the first
		 * one took effect, so both end the cycle. */
		if (o->workload == BENCH_SESSION_CYCLE) {
			c->temp_id[0] = '\0';
		}
		return 0;
	}
	if (status >= 200 && status < 300) {
		snprintf(kind, BENCH_ERROR_KIND_MAX, "bad_reply_%ld", status);
	} else {
		bench_http_kind(status, body, kind);
	}
	return 1;
}

const struct bench_target_ops bench_coord_ops = {
    .name = "coord",
    .prepare = prepare,
    .check = check,
};
