/* The cluster (docs/API.md, Cluster): GET /v1/status, /v1/health and
 * /metrics, always answered by the node that receives them, from its own
 * view. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "node_calls.h"
#include "node_core.h"
#include "node_internal.h"
#include "node_join.h"
#include "sm_query.h"

static json_t *members_json(const struct node *n)
{
	const struct raft_conf *conf = raft_conf(n->raft);
	json_t *a = json_array();

	for (uint32_t i = 0; a && i < conf->n; i++) {
		const struct raft_server *s = &conf->servers[i];
		const char *http = node_peer_http(n, s->id);

		json_array_append_new(a, json_pack("{s:I, s:s, s:s?, s:b}", "id", (json_int_t)s->id,
		                                   "raft", s->addr, "http", http, "voter",
		                                   s->role == RAFT_VOTER));
	}
	return a;
}

/* The limits in force as of this node's applied index (limits.h), as the
 * node keeps them: status is answered during an install too (N-6). */
static json_t *limits_json(const struct coord_limits *l)
{
	return json_pack("{s:I, s:I, s:I}", "max_sessions", (json_int_t)l->sessions,
	                 "max_locks_per_session", (json_int_t)l->objects, "max_waiters",
	                 (json_int_t)l->waiters);
}

/* The role this node plays: its core's, once its configuration lists it as
 * a voter; "learner" or "none" (empty, waiting to be founded or added, or
 * removed) otherwise. */
static const char *role_name(const struct node *n)
{
	const struct raft_conf *conf = raft_conf(n->raft);

	for (uint32_t i = 0; i < conf->n; i++)
		if (conf->servers[i].id == n->cfg.id)
			return conf->servers[i].role == RAFT_VOTER
			           ? raft_role_name(raft_role(n->raft))
			           : "learner";
	return "none";
}

static void status_answer(struct node *n, struct ncall *c)
{
	uint64_t leader = raft_leader(n->raft);
	const char *http = leader ? node_peer_http(n, leader) : NULL;
	json_t *lj =
	    leader ? json_pack("{s:I, s:s?}", "id", (json_int_t)leader, "http", http) : json_null();

	char folder[NODE_FOLDER_HEX + 1];

	node_folder_hex(n->folder_id, folder);
	node_answer(n, c, 200,
	            json_pack("{s:I, s:s, s:s, s:s, s:I, s:o, s:I, s:I, s:o, s:o}", "id",
	                      (json_int_t)n->cfg.id, "cluster", n->cluster_id, "folder", folder,
	                      "role", role_name(n), "term", (json_int_t)raft_term(n->raft),
	                      "leader", lj, "commit_index", (json_int_t)raft_commit_index(n->raft),
	                      "applied_index", (json_int_t)node_applied(n), "members",
	                      members_json(n), "limits", limits_json(&n->limits)));
}

static void health_answer(struct node *n, struct ncall *c)
{
	bool ok = raft_leader(n->raft) != 0 && !n->stopping;

	if (!ok)
		return node_answer_error(n, c, HTTP_ERR_NO_LEADER, NULL, "no leader is known");
	node_answer(n, c, 200, json_pack("{s:s}", "status", "ok"));
}

struct text {
	char *p;
	size_t len, cap;
};

static void emit(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct text *t, const char *fmt, ...)
{
	va_list ap;
	char *grown;
	int k;

	if (!t->p)
		return;
	for (;;) {
		va_start(ap, fmt);
		k = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (k < 0)
			return;
		if ((size_t)k < t->cap - t->len) {
			t->len += (size_t)k;
			return;
		}
		t->cap = (t->cap + (size_t)k) * 2;
		grown = realloc(t->p, t->cap);
		if (!grown) {
			free(t->p);
			t->p = NULL;
			return;
		}
		t->p = grown;
	}
}

static void metric(struct text *t, const char *name, const char *type, const char *help, uint64_t v)
{
	emit(t, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
	     (unsigned long long)v);
}

/* The configuration, the learners' lag (on the leader), the changes and
 * transfers this node started, and the peers it refused at HELLO. */
static void members_metrics(struct node *n, struct text *t)
{
	const struct raft_conf *conf = raft_conf(n->raft);
	unsigned voters = 0, learners = 0;

	for (uint32_t i = 0; i < conf->n; i++)
		conf->servers[i].role == RAFT_VOTER ? voters++ : learners++;
	emit(t,
	     "# HELP coord_members servers in the configuration in force, by role\n"
	     "# TYPE coord_members gauge\ncoord_members{role=\"voter\"} %u\n"
	     "coord_members{role=\"learner\"} %u\n",
	     voters, learners);
	emit(t, "# HELP coord_learner_lag_entries a learner's entries behind the commit "
	        "index (leader)\n# TYPE coord_learner_lag_entries gauge\n");
	for (uint32_t i = 0; i < conf->n; i++) {
		uint64_t match, idle, commit = raft_commit_index(n->raft);

		if (conf->servers[i].role == RAFT_LEARNER &&
		    raft_peer_progress(n->raft, conf->servers[i].id, &match, &idle))
			emit(t, "coord_learner_lag_entries{id=\"%llu\"} %llu\n",
			     (unsigned long long)conf->servers[i].id,
			     (unsigned long long)(match < commit ? commit - match : 0));
	}
	metric(t, "coord_member_changes_total", "counter",
	       "membership changes this node started as leader", n->metrics.member_changes);
	metric(t, "coord_leader_transfers_total", "counter",
	       "leadership transfers this node started", n->metrics.transfers);
	emit(t, "# HELP coord_peers_refused_total peer handshakes refused, by reason\n"
	        "# TYPE coord_peers_refused_total counter\n");
	for (int v = ADMIT_OTHER; v <= ADMIT_STRANGER; v++)
		emit(t, "coord_peers_refused_total{reason=\"%s\"} %llu\n",
		     admit_verdict_name((enum admit_verdict)v),
		     (unsigned long long)n->peers_refused[v]);
	emit(t,
	     "# HELP coord_auth_refused_total client requests refused by access control, "
	     "by reason\n# TYPE coord_auth_refused_total counter\n"
	     "coord_auth_refused_total{reason=\"unauthenticated\"} %llu\n"
	     "coord_auth_refused_total{reason=\"permission_denied\"} %llu\n",
	     (unsigned long long)n->auth_refused[NODE_AUTH_UNAUTHENTICATED],
	     (unsigned long long)n->auth_refused[NODE_AUTH_DENIED]);
}

/* The long-polls of W_POLL that watch keys. */
static uint64_t kv_watchers(const struct node *n)
{
	uint64_t k = 0;

	for (const struct ncall *c = n->waits[W_POLL].head; c; c = c->next)
		k += c->req->op == HTTP_OP_KV_GET || c->req->op == HTTP_OP_KV_LIST;
	return k;
}

static void metrics_answer(struct node *n, struct ncall *c)
{
	struct transport_stats peers;
	struct text t = {malloc(4096), 0, 4096};
	struct http_server_stats hs = {0};
	const struct node_metrics *m = &n->metrics;
	struct coord_sm_counts counts;

	if (!t.p)
		return node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL, "out of memory");
	emit(&t, "# HELP coord_role 1 for this node's Raft role\n# TYPE coord_role gauge\n");
	for (int r = RAFT_FOLLOWER; r <= RAFT_LEADER; r++)
		emit(&t, "coord_role{role=\"%s\"} %d\n", raft_role_name((enum raft_role)r),
		     raft_role(n->raft) == (enum raft_role)r);
	metric(&t, "coord_term", "gauge", "current Raft term", raft_term(n->raft));
	metric(&t, "coord_commit_index", "gauge", "Raft commit index", raft_commit_index(n->raft));
	metric(&t, "coord_applied_index", "gauge", "applied index", node_applied(n));
	metric(&t, "coord_proposals_total", "counter", "entries proposed by this node",
	       m->proposals);
	metric(&t, "coord_forwarded_total", "counter", "requests forwarded to the leader",
	       m->forwarded);
	metric(&t, "coord_stale_reads_direct_total", "counter",
	       "stale reads answered as they were decoded, without becoming calls",
	       n->stale.served);
	metric(&t, "coord_applied_entries_total", "counter", "entries applied", m->applied_entries);
	metric(&t, "coord_session_expiries_total", "counter", "session expiries proposed",
	       m->expiries);
	metric(&t, "coord_snapshots_total", "counter", "snapshots taken", m->snapshots);
	metric(&t, "coord_snapshot_last_ms", "gauge", "time to make the newest snapshot (ms)",
	       m->snapshot_last_ms);
	metric(&t, "coord_snapshot_bytes", "gauge", "bytes of the newest snapshot", n->snap.size);
	metric(&t, "coord_snapshot_install_last_ms", "gauge",
	       "time to install the last snapshot received (ms)", m->snapshot_install_last_ms);
	metric(&t, "coord_raft_dropped_installing_total", "counter",
	       "Raft messages dropped while a snapshot was installed",
	       m->frames_dropped_installing);
	/* Counted from state.db: not while an install holds it (N-6). */
	if (!n->installing && coord_sm_counts(n->db, &counts) == 0) {
		metric(&t, "coord_sessions", "gauge", "live sessions", counts.sessions);
		metric(&t, "coord_locks", "gauge",
		       "locks and elections in use (held, queued or in lock-delay)", counts.locks);
		metric(&t, "coord_lock_holders", "gauge", "holds (each shared holder counts)",
		       counts.holders);
		metric(&t, "coord_waiters", "gauge", "queued lock and election requests",
		       counts.waiters);
		metric(&t, "coord_kv_keys", "gauge", "keys of the key/value namespace",
		       counts.keys);
		metric(&t, "coord_kv_bytes", "gauge", "bytes of all values of keys",
		       counts.kv_bytes);
	}
	metric(&t, "coord_lease_sessions", "gauge", "sessions the lease keeper tracks (leader)",
	       coord_lease_count(&n->lease));
	metric(&t, "coord_waiting_calls", "gauge", "requests waiting for a grant on this node",
	       n->waits[W_GRANT].n);
	metric(&t, "coord_long_polls", "gauge", "long-polls waiting on this node",
	       n->waits[W_POLL].n);
	metric(&t, "coord_kv_watchers", "gauge",
	       "long-polls on keys waiting on this node (a key or a prefix)", kv_watchers(n));
	members_metrics(n, &t);
	transport_stats(n->transport, &peers);
	metric(&t, "coord_peer_tls_refused_total", "counter",
	       "peer connections refused by TLS (handshake or records)", peers.tls_refused);
	emit(&t, "# HELP coord_commit_latency_seconds proposal to apply, on the leader\n"
	         "# TYPE coord_commit_latency_seconds histogram\n");
	for (int i = 0; i < NODE_LATENCY_BUCKETS; i++)
		emit(&t, "coord_commit_latency_seconds_bucket{le=\"%g\"} %llu\n",
		     node_latency_bounds_ms[i] / 1000,
		     (unsigned long long)m->commit_latency_bucket[i]);
	emit(&t,
	     "coord_commit_latency_seconds_bucket{le=\"+Inf\"} %llu\n"
	     "coord_commit_latency_seconds_sum %.6f\ncoord_commit_latency_seconds_count %llu\n",
	     (unsigned long long)m->commit_latency_count, (double)m->commit_latency_sum_us / 1e6,
	     (unsigned long long)m->commit_latency_count);
	if (n->http) {
		http_server_stats(n->http, &hs);
		emit(&t, "# HELP coord_http_responses_total HTTP answers by status class\n"
		         "# TYPE coord_http_responses_total counter\n");
		for (int i = 1; i <= 5; i++)
			emit(&t, "coord_http_responses_total{code=\"%dxx\"} %llu\n", i,
			     (unsigned long long)hs.by_status[i]);
		metric(&t, "coord_tls_client_refused_total", "counter",
		       "requests refused 401 for want of a valid client certificate",
		       hs.tls_client_refused);
	}
	if (!t.p)
		return node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL, "out of memory");
	node_answer_text(n, c, 200, t.p);
	free(t.p);
}

/* GET /v1/snapshot: a backup, from this node's state. A snapshot made at
 * this node's applied index is sent as it is; otherwise one is made now,
 * off the loop as usual (node_ready.c), and sent once durable. */
static void snapshot_answer(struct node *n, struct ncall *c)
{
	if (n->installing)
		return node_answer_error(
		    n, c, HTTP_ERR_UNAVAILABLE, NULL,
		    "this node is installing a snapshot; retry or ask another node");
	if (node_applied(n) == 0)
		return node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                         "this node has applied nothing yet");
	if (n->snap.index >= node_applied(n))
		return node_answer_snapshot(n, c);
	n->snap_wanted = true;
	ncall_wait(n, c, W_SNAPSHOT, node_now_ms() + NODE_BACKUP_TIMEOUT_MS);
	node_kick(n);
}

const struct node_api node_api_cluster[] = {
    {.op = HTTP_OP_STATUS, .answer = status_answer},
    {.op = HTTP_OP_HEALTH, .answer = health_answer},
    {.op = HTTP_OP_METRICS, .answer = metrics_answer},
    {.op = HTTP_OP_SNAPSHOT, .answer = snapshot_answer},
    {.op = 0},
};
