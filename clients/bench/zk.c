/* The ZooKeeper target: the same workloads done the ZooKeeper way, through
 * its C client (libzookeeper_mt, synchronous calls), so that coord, etcd and
 * ZooKeeper are measured by one generator with one clock and one histogram
 * (docs/BENCHMARKS.md, "ZooKeeper").
 *
 * Each simulated client is one thread with one session (zhandle_t), the way
 * a Curator or C-client user runs: one call in flight per session. The C
 * client adds two threads per session (I/O and completions); their CPU is
 * coord-bench's and is reported with it.
 *
 * One operation per workload (N: the client's node, P: a lock's parent,
 * under /coord-bench/<tag>):
 *   lock-own        the lock recipe on a parent of the client's own:
 *                   create(P/c<i>-lock-, EPHEMERAL|SEQUENCE), get_children(P)
 *                   (ours is the lowest), delete: 3 round trips, 2 writes
 *   lock-contended  the same on one shared parent; while ours is not the
 *                   lowest, exists(predecessor) with a watch, wait for it to
 *                   fire, and look again; the operation ends with the delete
 *   keepalive       exists(N): the cheapest call, which renews the session
 *                   as a ping does (the C client has no call that sends a
 *                   ping; it pings by itself when idle)
 *   read-linearizable, kv-get        sync(N), then get(N): 2 round trips
 *   read-stale, kv-get-stale         get(N)
 *   session-cycle   zookeeper_init, wait for CONNECTED, zookeeper_close
 *   kv-put          set(N, value)
 *   kv-cas          set(N, value, version of the client's last write)
 * A node name carries the client ("c<i>-lock-"), as Curator's protected mode
 * does, so that a node a failed create left behind is found and deleted
 * instead of blocking the client behind itself. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#ifndef BENCH_HAVE_ZOOKEEPER

int bench_run_zk(const struct bench_options *o, struct bench_result *r, char *errmsg, size_t errlen)
{
	(void)o;
	memset(r, 0, sizeof(*r));
	snprintf(errmsg, errlen, "install libzookeeper-mt-dev and build again");
	return BENCH_EZOOKEEPER;
}

#else

#include <zookeeper/zookeeper.h>

#define ZK_PATH_MAX    256
#define ZK_VALUE       "value-0123456789" /* 16 bytes, as the HTTP targets write */
#define ZK_VALUE_LEN   16
#define ZK_WAIT_SLACK  1000 /* ms: what a contended wait gets beyond --timeout */
#define ZK_ROOT        "/coord-bench"

/* One session and what its watcher saw. The watcher runs on the C client's
 * completion thread; the client's thread waits on COND. */
struct zk_conn {
	zhandle_t *zh;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int state;           /* the last session state (ZOO_CONNECTED_STATE, ...) */
	unsigned fired;      /* node watches that fired */
	int synced, sync_rc; /* zoo_async's completion */
};

struct zk_engine;

struct zk_client {
	struct zk_engine *e;
	int id;
	pthread_t thread;
	struct zk_conn main;        /* the session of every workload but session-cycle's run */
	struct zk_conn temp;        /* session-cycle: the session of one cycle */
	char node[ZK_PATH_MAX / 2]; /* N, or P for the lock workloads */
	char mine[ZK_PATH_MAX];     /* lock: the node it created, "" when none */
	int version;                /* kv-cas: the version its last write left */
	int set_up;
	char setup_error[BENCH_ERROR_KIND_MAX];
};

struct zk_engine {
	const struct bench_options *o;
	struct bench_result *r;
	char root[64];      /* ZK_ROOT/<tag> */
	pthread_mutex_t mu; /* guards R's tallies and LAST_SUCCESS */
	pthread_barrier_t set_up, go;
	uint64_t window_start, stop_at, last_success;
	int abort_run; /* a client failed setup: no run */
	struct zk_client *clients;
};

static void error_kind(int rc, char *kind)
{
	const char *text = rc == ZOPERATIONTIMEOUT ? "operation timeout" : zerror(rc);
	int n = snprintf(kind, BENCH_ERROR_KIND_MAX, "zk_%s", text);
	for (int i = 3; i < n && i < BENCH_ERROR_KIND_MAX; i++) {
		kind[i] = kind[i] == ' ' ? '_' : kind[i];
	}
}

/* DIR/NAME into OUT; ZBADARGUMENTS when it does not fit. */
static int join(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);
	return n > 0 && (size_t)n < len ? ZOK : ZBADARGUMENTS;
}

static void deadline_in(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void on_event(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct zk_conn *k = ctx;
	(void)zh;
	(void)path;
	pthread_mutex_lock(&k->mu);
	if (type == ZOO_SESSION_EVENT) {
		k->state = state;
	} else {
		k->fired++;
	}
	pthread_cond_broadcast(&k->cond);
	pthread_mutex_unlock(&k->mu);
}

static void on_synced(int rc, const char *value, const void *data)
{
	struct zk_conn *k = (struct zk_conn *)(uintptr_t)data; /* our own */
	(void)value;
	pthread_mutex_lock(&k->mu);
	k->synced = 1;
	k->sync_rc = rc;
	pthread_cond_broadcast(&k->cond);
	pthread_mutex_unlock(&k->mu);
}

static void conn_init(struct zk_conn *k)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&k->cond, &a);
	pthread_condattr_destroy(&a);
	pthread_mutex_init(&k->mu, NULL);
}

/* Opens K's session to HOST and waits until it is connected. */
static int conn_open(struct zk_conn *k, const char *host, const struct bench_options *o)
{
	struct timespec until;
	int rc = ZOK;
	k->state = 0;
	k->zh = zookeeper_init(host, on_event, (int)o->ttl_ms, NULL, k, 0);
	if (k->zh == NULL) {
		return ZSYSTEMERROR;
	}
	deadline_in(&until, o->timeout_ms);
	pthread_mutex_lock(&k->mu);
	while (k->state != ZOO_CONNECTED_STATE && rc == ZOK) {
		if (k->state == ZOO_EXPIRED_SESSION_STATE || k->state == ZOO_AUTH_FAILED_STATE) {
			rc = ZSESSIONEXPIRED;
		} else if (pthread_cond_timedwait(&k->cond, &k->mu, &until) == ETIMEDOUT) {
			rc = ZOPERATIONTIMEOUT;
		}
	}
	pthread_mutex_unlock(&k->mu);
	return rc;
}

static void conn_close(struct zk_conn *k)
{
	if (k->zh != NULL) {
		zookeeper_close(k->zh);
		k->zh = NULL;
	}
}

/* sync(PATH): the server the session is on catches up with the leader. */
static int conn_sync(struct zk_conn *k, const char *path, long timeout_ms)
{
	struct timespec until;
	int rc;
	pthread_mutex_lock(&k->mu);
	k->synced = 0;
	pthread_mutex_unlock(&k->mu);
	rc = zoo_async(k->zh, path, on_synced, k);
	if (rc != ZOK) {
		return rc;
	}
	deadline_in(&until, timeout_ms);
	pthread_mutex_lock(&k->mu);
	while (!k->synced && rc == ZOK) {
		if (pthread_cond_timedwait(&k->cond, &k->mu, &until) == ETIMEDOUT) {
			rc = ZOPERATIONTIMEOUT;
		}
	}
	if (rc == ZOK) {
		rc = k->sync_rc;
	}
	pthread_mutex_unlock(&k->mu);
	return rc;
}

static int get_value(struct zk_conn *k, const char *path)
{
	char buf[ZK_VALUE_LEN + 1];
	int len = (int)sizeof(buf);
	int rc = zoo_get(k->zh, path, 0, buf, &len, NULL);
	if (rc == ZOK && (len != ZK_VALUE_LEN || memcmp(buf, ZK_VALUE, ZK_VALUE_LEN) != 0)) {
		rc = ZMARSHALLINGERROR; /* not what setup wrote */
	}
	return rc;
}

static int make_node(struct zk_conn *k, const char *path, int flags, const char *value)
{
	int rc = zoo_create(k->zh, path, value, value ? ZK_VALUE_LEN : -1, &ZOO_OPEN_ACL_UNSAFE,
	                    flags, NULL, 0);
	return rc == ZNODEEXISTS && flags == ZOO_PERSISTENT ? ZOK : rc;
}

/* The lock recipe: create our node, and hold the lock once it is the
 * lowest; then release it by deleting it. */
static int lock_cycle(struct zk_client *c, long wait_ms)
{
	struct zk_conn *k = &c->main;
	char path[ZK_PATH_MAX], pred[ZK_PATH_MAX], name[ZK_PATH_MAX];
	int rc;
	if (c->mine[0] != '\0') { /* left by a failed cycle */
		rc = zoo_delete(k->zh, c->mine, -1);
		if (rc != ZOK && rc != ZNONODE) {
			return rc;
		}
		c->mine[0] = '\0';
	}
	char prefix[32];
	snprintf(prefix, sizeof(prefix), "c%d-lock-", c->id);
	if (join(path, sizeof(path), c->node, prefix) != ZOK) {
		return ZBADARGUMENTS;
	}
	rc = zoo_create(k->zh, path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL_SEQUENTIAL,
	                c->mine, sizeof(c->mine));
	if (rc != ZOK) {
		c->mine[0] = '\0';
		return rc;
	}
	const char *own = c->mine + strlen(c->node) + 1;
	for (;;) {
		struct String_vector kids = {0, NULL};
		const char *stale = NULL;
		rc = zoo_get_children(k->zh, c->node, 0, &kids);
		if (rc != ZOK) {
			return rc;
		}
		int held = bench_zk_predecessor((const char *const *)kids.data, kids.count, own,
		                                name, sizeof(name), &stale);
		if (stale != NULL && join(pred, sizeof(pred), c->node, stale) != ZOK) {
			held = -1;
		}
		deallocate_String_vector(&kids);
		if (held < 0) {
			return ZNONODE; /* our node is gone: the session lost it */
		}
		if (stale != NULL) { /* ours, from a create whose answer was lost */
			rc = zoo_delete(k->zh, pred, -1);
			if (rc != ZOK && rc != ZNONODE) {
				return rc;
			}
			continue;
		}
		if (held == 0) {
			break;
		}
		if (join(pred, sizeof(pred), c->node, name) != ZOK) {
			return ZBADARGUMENTS;
		}
		pthread_mutex_lock(&k->mu);
		unsigned seen = k->fired;
		pthread_mutex_unlock(&k->mu);
		struct Stat st;
		rc = zoo_wexists(k->zh, pred, on_event, k, &st);
		if (rc == ZNONODE) {
			continue;
		}
		if (rc != ZOK) {
			return rc;
		}
		struct timespec until;
		deadline_in(&until, wait_ms);
		pthread_mutex_lock(&k->mu);
		while (k->fired == seen && rc == ZOK) {
			if (pthread_cond_timedwait(&k->cond, &k->mu, &until) == ETIMEDOUT) {
				rc = ZOPERATIONTIMEOUT;
			}
		}
		pthread_mutex_unlock(&k->mu);
		if (rc != ZOK) {
			return rc;
		}
	}
	rc = zoo_delete(k->zh, c->mine, -1);
	if (rc == ZOK || rc == ZNONODE) {
		c->mine[0] = '\0';
	}
	return rc;
}

static int session_cycle(struct zk_client *c, const char *host)
{
	const struct bench_options *o = c->e->o;
	int rc = conn_open(&c->temp, host, o);
	conn_close(&c->temp);
	return rc;
}

/* One operation of the workload. */
static int operation(struct zk_client *c, const char *host)
{
	const struct bench_options *o = c->e->o;
	struct zk_conn *k = &c->main;
	struct Stat st;
	int rc;
	switch (o->workload) {
	case BENCH_LOCK_OWN:
		return lock_cycle(c, o->timeout_ms);
	case BENCH_LOCK_CONTENDED:
		return lock_cycle(c, o->timeout_ms + ZK_WAIT_SLACK);
	case BENCH_KEEPALIVE:
		return zoo_exists(k->zh, c->node, 0, &st);
	case BENCH_READ_LINEAR:
	case BENCH_KV_GET:
		rc = conn_sync(k, c->node, o->timeout_ms);
		return rc == ZOK ? get_value(k, c->node) : rc;
	case BENCH_READ_STALE:
	case BENCH_KV_GET_STALE:
		return get_value(k, c->node);
	case BENCH_SESSION_CYCLE:
		return session_cycle(c, host);
	case BENCH_KV_PUT:
		return zoo_set(k->zh, c->node, ZK_VALUE, ZK_VALUE_LEN, -1);
	case BENCH_KV_CAS:
		rc = zoo_set2(k->zh, c->node, ZK_VALUE, ZK_VALUE_LEN, c->version, &st);
		if (rc == ZOK) {
			c->version = st.version;
		}
		return rc;
	default:
		return ZBADARGUMENTS;
	}
}

/* Creates what the workload needs: the run's folder, and the client's
 * node or lock parent. */
static int setup(struct zk_client *c)
{
	struct zk_engine *e = c->e;
	struct zk_conn *k = &c->main;
	int w = e->o->workload;
	int rc = make_node(k, ZK_ROOT, ZOO_PERSISTENT, NULL);
	if (rc == ZOK) {
		rc = make_node(k, e->root, ZOO_PERSISTENT, NULL);
	}
	if (rc != ZOK) {
		return rc;
	}
	if (w == BENCH_LOCK_CONTENDED) {
		snprintf(c->node, sizeof(c->node), "%s/shared", e->root);
		return make_node(k, c->node, ZOO_PERSISTENT, NULL);
	}
	if (w == BENCH_LOCK_OWN) {
		snprintf(c->node, sizeof(c->node), "%s/own-%d", e->root, c->id);
		return make_node(k, c->node, ZOO_PERSISTENT, NULL);
	}
	if (w == BENCH_SESSION_CYCLE) {
		return ZOK;
	}
	/* keepalive and reads: an ephemeral node; key/value: a key that stays. */
	snprintf(c->node, sizeof(c->node), "%s/%s-%d", e->root, bench_is_kv(w) ? "kv" : "n", c->id);
	rc = make_node(k, c->node, bench_is_kv(w) ? ZOO_PERSISTENT : ZOO_EPHEMERAL, ZK_VALUE);
	if (rc == ZOK && w == BENCH_KV_CAS) {
		struct Stat st;
		rc = zoo_exists(k->zh, c->node, 0, &st);
		c->version = rc == ZOK ? st.version : 0;
	}
	return rc;
}

/* Deletes what setup made that outlives the session; failures are tallied,
 * not retried (the run's folder is unique to it). */
static void teardown(struct zk_client *c)
{
	struct zk_engine *e = c->e;
	int w = e->o->workload;
	int rc = ZOK;
	if (w == BENCH_LOCK_OWN) {
		if (c->mine[0] != '\0') {
			zoo_delete(c->main.zh, c->mine, -1);
		}
		rc = zoo_delete(c->main.zh, c->node, -1);
	} else if (bench_is_kv(w)) {
		rc = zoo_delete(c->main.zh, c->node, -1);
	}
	if (rc != ZOK && rc != ZNONODE) {
		char kind[BENCH_ERROR_KIND_MAX];
		error_kind(rc, kind);
		pthread_mutex_lock(&e->mu);
		bench_errors_add(&e->r->teardown_errors, kind);
		pthread_mutex_unlock(&e->mu);
	}
}

static void completed(struct zk_engine *e, uint64_t start, uint64_t now, int rc)
{
	if (now < e->window_start || now > e->stop_at) {
		return;
	}
	pthread_mutex_lock(&e->mu);
	if (rc == ZOK) {
		e->r->ops++;
		bench_hist_record(&e->r->hist, now - start);
		/* Another client may have recorded a later success meanwhile. */
		if (now > e->last_success) {
			if (now - e->last_success > e->r->max_gap_us) {
				e->r->max_gap_us = now - e->last_success;
			}
			e->last_success = now;
		}
	} else {
		char kind[BENCH_ERROR_KIND_MAX];
		error_kind(rc, kind);
		bench_errors_add(&e->r->errors, kind);
	}
	pthread_mutex_unlock(&e->mu);
}

static void *client_main(void *arg)
{
	struct zk_client *c = arg;
	struct zk_engine *e = c->e;
	const struct bench_options *o = e->o;
	const char *host = o->endpoints[o->spread ? c->id % o->n_endpoints : 0];
	int rc = conn_open(&c->main, host, o);
	if (rc == ZOK) {
		rc = setup(c);
	}
	c->set_up = rc == ZOK;
	if (rc != ZOK) {
		error_kind(rc, c->setup_error);
	}
	pthread_barrier_wait(&e->set_up);
	pthread_barrier_wait(&e->go);
	/* A client's operation starts when the last one ended (a closed loop);
	 * its latency includes the retries after errors. */
	uint64_t start = bench_now_us();
	while (!e->abort_run) {
		uint64_t now = bench_now_us();
		if (now >= e->stop_at) {
			break;
		}
		rc = operation(c, host);
		now = bench_now_us();
		completed(e, start, now, rc);
		if (rc == ZOK) {
			start = now;
			continue;
		}
		if (zoo_state(c->main.zh) == ZOO_EXPIRED_SESSION_STATE) {
			conn_close(&c->main); /* a new session, and its nodes again */
			c->mine[0] = '\0';
			if (conn_open(&c->main, host, o) == ZOK) {
				setup(c);
			}
		}
		struct timespec pause = {o->retry_ms / 1000, (o->retry_ms % 1000) * 1000000L};
		nanosleep(&pause, NULL);
	}
	if (c->main.zh != NULL && zoo_state(c->main.zh) == ZOO_CONNECTED_STATE) {
		teardown(c);
	}
	return NULL;
}

static void sleep_until(uint64_t at_us)
{
	uint64_t now = bench_now_us();
	if (now < at_us) {
		struct timespec pause = {(time_t)((at_us - now) / 1000000u),
		                         (long)((at_us - now) % 1000000u) * 1000L};
		nanosleep(&pause, NULL);
	}
}

/* The main thread's part: wait for every client's setup, open the window,
 * mark its start and end, and gather the clients. */
static int run(struct zk_engine *e, char *errmsg, size_t errlen)
{
	const struct bench_options *o = e->o;
	int failed = -1;
	pthread_barrier_wait(&e->set_up);
	for (int i = 0; i < o->clients && failed < 0; i++) {
		if (!e->clients[i].set_up) {
			failed = i;
		}
	}
	uint64_t now = bench_now_us();
	e->window_start = now + (uint64_t)o->warmup_ms * 1000u;
	e->stop_at = e->window_start + (uint64_t)o->duration_ms * 1000u;
	e->last_success = e->window_start;
	e->abort_run = failed >= 0;
	pthread_barrier_wait(&e->go);
	if (failed >= 0) {
		snprintf(errmsg, errlen, "client %d: %s", failed, e->clients[failed].setup_error);
		return BENCH_ESETUP;
	}
	sleep_until(e->window_start);
	bench_window_mark(o, e->r, 0);
	sleep_until(e->stop_at);
	bench_window_mark(o, e->r, 1);
	pthread_mutex_lock(&e->mu);
	if (e->stop_at - e->last_success > e->r->max_gap_us) {
		e->r->max_gap_us = e->stop_at - e->last_success;
	}
	pthread_mutex_unlock(&e->mu);
	e->r->elapsed_s = (double)(e->stop_at - e->window_start) / 1000000.0;
	return 0;
}

int bench_run_zk(const struct bench_options *o, struct bench_result *r, char *errmsg, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	errmsg[0] = '\0';
	if (o->workload == BENCH_FILL) {
		snprintf(errmsg, errlen, "the fill workload is coord's only");
		return BENCH_EUSAGE;
	}
	static struct zk_engine e;
	memset(&e, 0, sizeof(e));
	e.o = o;
	e.r = r;
	snprintf(e.root, sizeof(e.root), ZK_ROOT "/%s", o->run_tag);
	e.clients = calloc((size_t)o->clients, sizeof(*e.clients));
	if (e.clients == NULL) {
		snprintf(errmsg, errlen, "out of memory");
		return BENCH_ESETUP;
	}
	zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
	pthread_mutex_init(&e.mu, NULL);
	pthread_barrier_init(&e.set_up, NULL, (unsigned)o->clients + 1);
	pthread_barrier_init(&e.go, NULL, (unsigned)o->clients + 1);
	int started = 0, rc;
	for (; started < o->clients; started++) {
		struct zk_client *c = &e.clients[started];
		c->e = &e;
		c->id = started;
		conn_init(&c->main);
		conn_init(&c->temp);
		if (pthread_create(&c->thread, NULL, client_main, c) != 0) {
			break;
		}
	}
	if (started < o->clients) {
		/* Those that did start would wait at the barrier forever. */
		fprintf(stderr, "coord-bench: cannot start client thread %d\n", started);
		exit(1);
	}
	rc = run(&e, errmsg, errlen);
	for (int i = 0; i < o->clients; i++) {
		pthread_join(e.clients[i].thread, NULL);
	}
	/* The shared parts of the run's folder; clients deleted their own. */
	struct zk_conn *k = &e.clients[0].main;
	if (k->zh != NULL && zoo_state(k->zh) == ZOO_CONNECTED_STATE) {
		if (o->workload == BENCH_LOCK_CONTENDED) {
			zoo_delete(k->zh, e.clients[0].node, -1);
		}
		zoo_delete(k->zh, e.root, -1);
	}
	for (int i = 0; i < o->clients; i++) {
		conn_close(&e.clients[i].main);
	}
	free(e.clients);
	return rc;
}

#endif
