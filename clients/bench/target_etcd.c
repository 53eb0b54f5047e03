/* The etcd target: the same workloads through etcd 3.4's JSON gateway
 * (docs/BENCHMARKS.md, etcd's JSON gateway), with the same meaning per operation as the
 * coord target: a lease plays a session, /v3/lock a lock.
 *
 *   setup      POST /v3/lease/grant {"TTL"} -> "ID" (a string: > 2^53)
 *              session-cycle, which needs no lease: /v3/maintenance/status,
 *              any answer (it opens the connection, and its TLS handshake,
 *              before the window)
 *              reads: POST /v3/kv/put of bench/T/read/I under that lease
 *   lock-own   /v3/lock/lock {"name":b64(bench/T/own/I),"lease"} -> "key"; /v3/lock/unlock
 *   contended  the same on bench/T/shared (lock blocks while another holds it)
 *   keepalive  /v3/lease/keepalive {"ID"} -> result.TTL > 0 (an unknown lease
 *              still answers 200, without TTL)
 *   reads      /v3/kv/range {"key"} [+ "serializable":true] -> one kv
 *   session    /v3/lease/grant then /v3/lease/revoke
 *   kv-*       setup: /v3/kv/put of bench/T/kv/I (no lease) -> header.revision;
 *              kv-put /v3/kv/put; kv-get /v3/kv/range [+ serializable]; kv-cas
 *              /v3/kv/txn comparing the key's mod_revision with the client's last
 *              write's revision, then a put -> succeeded, header.revision;
 *              teardown /v3/kv/deleterange
 *   teardown   /v3/lease/revoke (deletes the lease's lock and read keys) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench.h"

#define WAIT_SLACK_MS 1000 /* the same allowance the coord target gives a wait */

static void b64(const char *in, char *out, size_t len)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), o = 0;
	for (size_t i = 0; i < n && o + 5 < len; i += 3) {
		unsigned v = (unsigned char)in[i] << 16;
		v |= i + 1 < n ? (unsigned)(unsigned char)in[i + 1] << 8 : 0;
		v |= i + 2 < n ? (unsigned)(unsigned char)in[i + 2] : 0;
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
}

static void object_b64(const struct bench_options *o, const struct bench_client *c, char *out,
                       size_t len)
{
	char name[128];
	switch (o->workload) {
	case BENCH_LOCK_CONTENDED:
		snprintf(name, sizeof(name), "bench/%s/shared", o->run_tag);
		break;
	case BENCH_LOCK_OWN:
		snprintf(name, sizeof(name), "bench/%s/own/%d", o->run_tag, c->id);
		break;
	case BENCH_KV_PUT:
	case BENCH_KV_GET:
	case BENCH_KV_GET_STALE:
	case BENCH_KV_CAS:
		snprintf(name, sizeof(name), "bench/%s/kv/%d", o->run_tag, c->id);
		break;
	default:
		snprintf(name, sizeof(name), "bench/%s/read/%d", o->run_tag, c->id);
		break;
	}
	b64(name, out, len);
}

static int is_read(int workload)
{
	return workload == BENCH_READ_LINEAR || workload == BENCH_READ_STALE;
}

/* The value every key/value workload writes ("value-0123456789", 16 bytes,
 * as the coord target's), in base64. */
#define KV_VALUE_B64 "dmFsdWUtMDEyMzQ1Njc4OQ=="

static void kv_put(const char *obj, struct bench_request *q)
{
	snprintf(q->path, sizeof(q->path), "/v3/kv/put");
	snprintf(q->body, sizeof(q->body), "{\"key\":\"%s\",\"value\":\"" KV_VALUE_B64 "\"}", obj);
}

static int prepare_run(const struct bench_options *o, struct bench_client *c,
                       struct bench_request *q)
{
	char obj[256];
	object_b64(o, c, obj, sizeof(obj));
	q->method = "POST";
	switch (o->workload) {
	case BENCH_LOCK_OWN:
	case BENCH_LOCK_CONTENDED:
		if (c->step == 0) {
			snprintf(q->path, sizeof(q->path), "/v3/lock/lock");
			snprintf(q->body, sizeof(q->body), "{\"name\":\"%s\",\"lease\":\"%s\"}",
			         obj, c->session);
			q->extra_timeout_ms =
			    o->workload == BENCH_LOCK_CONTENDED ? WAIT_SLACK_MS : 0;
			return 1;
		}
		snprintf(q->path, sizeof(q->path), "/v3/lock/unlock");
		snprintf(q->body, sizeof(q->body), "{\"key\":\"%s\"}", c->key);
		return c->step == 1;
	case BENCH_KEEPALIVE:
		snprintf(q->path, sizeof(q->path), "/v3/lease/keepalive");
		snprintf(q->body, sizeof(q->body), "{\"ID\":\"%s\"}", c->session);
		return c->step == 0;
	case BENCH_READ_LINEAR:
	case BENCH_READ_STALE:
		snprintf(q->path, sizeof(q->path), "/v3/kv/range");
		snprintf(q->body, sizeof(q->body), "{\"key\":\"%s\"%s}", obj,
		         o->workload == BENCH_READ_STALE ? ",\"serializable\":true" : "");
		return c->step == 0;
	case BENCH_SESSION_CYCLE:
		if (c->step == 0) {
			snprintf(q->path, sizeof(q->path), "/v3/lease/grant");
			snprintf(q->body, sizeof(q->body), "{\"TTL\":%ld}", o->ttl_ms / 1000);
			return 1;
		}
		snprintf(q->path, sizeof(q->path), "/v3/lease/revoke");
		snprintf(q->body, sizeof(q->body), "{\"ID\":\"%s\"}", c->temp_id);
		return c->step == 1;
	case BENCH_KV_PUT:
		kv_put(obj, q);
		return c->step == 0;
	case BENCH_KV_GET:
	case BENCH_KV_GET_STALE:
		snprintf(q->path, sizeof(q->path), "/v3/kv/range");
		snprintf(q->body, sizeof(q->body), "{\"key\":\"%s\"%s}", obj,
		         o->workload == BENCH_KV_GET_STALE ? ",\"serializable\":true" : "");
		return c->step == 0;
	case BENCH_KV_CAS:
		snprintf(q->path, sizeof(q->path), "/v3/kv/txn");
		snprintf(q->body, sizeof(q->body),
		         "{\"compare\":[{\"key\":\"%s\",\"target\":\"MOD\",\"result\":\"EQUAL\","
		         "\"mod_revision\":\"%s\"}],\"success\":[{\"request_put\":{\"key\":\"%s\","
		         "\"value\":\"" KV_VALUE_B64 "\"}}]}",
		         obj, c->key, obj);
		return c->step == 0;
	default:
		return 0;
	}
}

static int prepare(const struct bench_options *o, struct bench_client *c, struct bench_request *q)
{
	char obj[256];
	q->method = "POST";
	switch (c->phase) {
	case BENCH_SETUP:
		if (bench_is_kv(o->workload)) { /* the client's key, written once */
			object_b64(o, c, obj, sizeof(obj));
			kv_put(obj, q);
			return c->step == 0;
		}
		if (o->workload == BENCH_SESSION_CYCLE) {
			snprintf(q->path, sizeof(q->path), "/v3/maintenance/status");
			snprintf(q->body, sizeof(q->body), "{}");
			return c->step == 0;
		}
		if (c->step == 0) {
			snprintf(q->path, sizeof(q->path), "/v3/lease/grant");
			snprintf(q->body, sizeof(q->body), "{\"TTL\":%ld}", o->ttl_ms / 1000);
			return 1;
		}
		if (c->step == 1 && is_read(o->workload)) {
			object_b64(o, c, obj, sizeof(obj));
			snprintf(q->path, sizeof(q->path), "/v3/kv/put");
			snprintf(q->body, sizeof(q->body),
			         "{\"key\":\"%s\",\"value\":\"eA==\",\"lease\":\"%s\"}", obj,
			         c->session);
			return 1;
		}
		return 0;
	case BENCH_RUN:
		return prepare_run(o, c, q);
	case BENCH_TEARDOWN:
		if (bench_is_kv(o->workload)) {
			object_b64(o, c, obj, sizeof(obj));
			snprintf(q->path, sizeof(q->path), "/v3/kv/deleterange");
			snprintf(q->body, sizeof(q->body), "{\"key\":\"%s\"}", obj);
			return c->step == 0;
		}
		for (;; c->step++) {
			const char *id = c->step == 0   ? c->session
			                 : c->step == 1 ? c->temp_id
			                                : NULL;
			if (id == NULL) {
				return 0;
			}
			if (id[0] != '\0') {
				snprintf(q->path, sizeof(q->path), "/v3/lease/revoke");
				snprintf(q->body, sizeof(q->body), "{\"ID\":\"%s\"}", id);
				return 1;
			}
		}
	}
	return 0;
}

/* A JSON integer the gateway may send as a string ("TTL":"60"). */
static long long as_int(json_t *v)
{
	if (json_is_string(v)) {
		return strtoll(json_string_value(v), NULL, 10);
	}
	return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* Copies the string member NAME of J into OUT (LEN bytes); 0 on success. */
static int take(json_t *j, const char *name, char *out, size_t len)
{
	const char *s = json_string_value(json_object_get(j, name));
	if (s == NULL || strlen(s) >= len || s[0] == '\0') {
		return 1;
	}
	snprintf(out, len, "%s", s);
	return 0;
}

/* Keeps the revision of a write (its reply's header) in the client's key,
 * for the next compare; 0 on success. */
static int take_revision(json_t *j, struct bench_client *c)
{
	long long rev = as_int(json_object_get(json_object_get(j, "header"), "revision"));

	if (rev <= 0)
		return 1;
	snprintf(c->key, sizeof(c->key), "%lld", rev);
	return 0;
}

/* Judges a 200 reply of a key/value workload. */
static int judge_kv(const struct bench_options *o, struct bench_client *c, json_t *j)
{
	if (c->phase == BENCH_TEARDOWN)
		return 0;
	if (c->phase == BENCH_SETUP || o->workload == BENCH_KV_PUT)
		return take_revision(j, c);
	if (o->workload == BENCH_KV_CAS)
		return json_is_true(json_object_get(j, "succeeded")) ? take_revision(j, c) : 1;
	return json_array_size(json_object_get(j, "kvs")) == 1 ? 0 : 1;
}

/* Judges a 200 reply; 0 if it carries what the step needs. */
static int judge(const struct bench_options *o, struct bench_client *c, json_t *j)
{
	if (bench_is_kv(o->workload))
		return judge_kv(o, c, j);
	if (c->phase == BENCH_SETUP) {
		return c->step == 0 ? take(j, "ID", c->session, BENCH_ID_MAX) : 0;
	}
	if (c->phase == BENCH_TEARDOWN) {
		(c->step == 0 ? c->session : c->temp_id)[0] = '\0';
		return 0;
	}
	switch (o->workload) {
	case BENCH_LOCK_OWN:
	case BENCH_LOCK_CONTENDED:
		return c->step == 0 ? take(j, "key", c->key, BENCH_KEY_MAX) : 0;
	case BENCH_KEEPALIVE:
		return as_int(json_object_get(json_object_get(j, "result"), "TTL")) > 0 ? 0 : 1;
	case BENCH_READ_LINEAR:
	case BENCH_READ_STALE:
		return json_array_size(json_object_get(j, "kvs")) == 1 ? 0 : 1;
	case BENCH_SESSION_CYCLE:
		if (c->step == 0) {
			return take(j, "ID", c->temp_id, BENCH_ID_MAX);
		}
		c->temp_id[0] = '\0';
		return 0;
	default:
		return 1;
	}
}

static int check(const struct bench_options *o, struct bench_client *c, long status,
                 const char *body, char *kind)
{
	if (o->workload == BENCH_SESSION_CYCLE && c->phase == BENCH_SETUP) {
		return 0; /* the status request: an answer means a connection */
	}
	json_t *j = json_loads(body, 0, NULL);
	int rc = 1;
	if (status == 200) {
		rc = judge(o, c, j);
		if (rc != 0) {
			snprintf(kind, BENCH_ERROR_KIND_MAX, "bad_reply_200");
		}
	} else {
		/* The gateway's errors carry a gRPC code; its message is prose. */
		json_t *code = json_object_get(j, "code");
		if (json_is_integer(code)) {
			snprintf(kind, BENCH_ERROR_KIND_MAX, "http_%ld_grpc%lld", status,
			         (long long)json_integer_value(code));
		} else {
			snprintf(kind, BENCH_ERROR_KIND_MAX, "http_%ld", status);
		}
	}
	json_decref(j);
	return rc;
}

const struct bench_target_ops bench_etcd_ops = {
    .name = "etcd",
    .prepare = prepare,
    .check = check,
};
