/* A node's life apart from the loop that runs it (node_life.h): its data
 * folder and core opened (bootstrapping a new cluster), its peers kept equal
 * to the configuration, its tick, the calls its front hands over, a
 * SIGTERM's hand-off, and its close. */
#include "node_life.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"
#include "api.h"
#include "node_core.h"
#include "node_dispatch.h"
#include "node_forward.h"
#include "node_auth.h"
#include "node_bootstrap.h"
#include "node_join.h"
#include "node_lease.h"
#include "node_ready.h"
#include "node_stale.h"
#include "sm_query.h"

_Static_assert(TRANSPORT_FRAME_MAX > RAFT_CODEC_MAX_FRAME + 1, "a Raft frame must fit");

/* Transport callbacks ----------------------------------------------------------- */

static void on_peer_frame(void *ctx, uint64_t from, enum transport_kind kind, uint8_t *p,
                          size_t len)
{
	struct node *n = ctx;
	static struct raft_codec_msg msg; /* only the loop's thread decodes */
	int rc;

	switch (kind) {
	case TRANSPORT_RAFT:
		if (n->installing) { /* N-6: to Raft, a lost message */
			n->metrics.frames_dropped_installing++;
			return;
		}
		rc = raft_codec_decode(p, len, &msg);
		if (rc != RAFT_CODEC_OK || msg.msg.from != from) {
			LOG_WARN("dropped a Raft message from peer %llu: %s",
			         (unsigned long long)from,
			         rc ? raft_codec_strerror(rc) : "sender does not match");
			return;
		}
		raft_step(n->raft, &msg.msg);
		break;
	case TRANSPORT_FORWARD:
		node_on_forward(n, from, p, len);
		break;
	case TRANSPORT_REPLY:
		node_on_reply(n, from, p, len);
		break;
	default:
		return;
	}
	node_kick(n);
}

/* Keeps the transport's peers equal to the configuration's servers. A node
 * with no configuration yet dials the nodes --cluster names (founding), or
 * waits to be dialled (--join). */
static void sync_peers(struct node *n)
{
	const struct raft_conf *conf = raft_conf(n->raft);

	/* Only when the configuration changed: adding a peer resolves its
	 * address, which must not happen on every tick. */
	if (memcmp(conf, &n->synced_conf, sizeof(*conf)) == 0)
		return;
	for (uint32_t i = 0; i < n->synced_conf.n; i++) {
		uint64_t id = n->synced_conf.servers[i].id;
		bool kept = false;

		for (uint32_t j = 0; j < conf->n; j++)
			kept = kept || conf->servers[j].id == id;
		if (!kept && id != n->cfg.id) {
			LOG_INFO("node %llu left the configuration", (unsigned long long)id);
			transport_remove_peer(n->transport, id);
		} else if (id != n->cfg.id &&
		           node_join_standing_changed(&n->synced_conf, conf, id)) {
			transport_redial(n->transport, id); /* admitted afresh */
		}
	}
	n->synced_conf = *conf;
	for (uint32_t i = 0; i < conf->n; i++) {
		const struct raft_server *s = &conf->servers[i];

		if (s->id != n->cfg.id && s->addr[0])
			transport_add_peer(n->transport, s->id, s->addr);
	}
}

/* Before the founding entry arrives, the nodes --cluster names. */
static void dial_founders(struct node *n)
{
	if (raft_conf(n->raft)->n > 0 || n->cfg.join)
		return;
	for (size_t i = 0; i < n->cfg.n_members; i++)
		if (n->cfg.members[i].id != n->cfg.id)
			transport_add_peer(n->transport, n->cfg.members[i].id,
			                   n->cfg.members[i].raft);
}

static void found_cluster(struct node *n);
static void seal_cluster(struct node *n);

/* Storage ----------------------------------------------------------------------- */

/* The first entry of a new cluster, written by its founder only; the other
 * founding voters receive it from their leader (node_join.h). The founding
 * configuration is written before the cluster id: a crash between the two
 * leaves a log of just that entry, which open_storage() recognises. */
static int bootstrap(struct node *n)
{
	struct raft_conf conf = {0};
	uint8_t buf[RAFT_CONF_MAX_BYTES];
	struct raft_entry e;
	struct persist_hardstate hs = {.term = 1, .vote = 0};
	struct persist_entry pe;
	struct persist_write w = {0};
	struct persist_error err;

	conf.n = (uint32_t)n->cfg.n_members;
	for (size_t i = 0; i < n->cfg.n_members; i++) {
		conf.servers[i].id = n->cfg.members[i].id;
		/* Each founding voter is bound to the folder it probed from. */
		conf.servers[i].folder = node_join_founding_folder(n, conf.servers[i].id);
		conf.servers[i].role = RAFT_VOTER;
		snprintf(conf.servers[i].addr, sizeof(conf.servers[i].addr), "%s",
		         n->cfg.members[i].raft);
	}
	if (raft_bootstrap_entry(&conf, buf, &e) != RAFT_OK)
		return -1;
	pe = (struct persist_entry){e.index, e.term, e.type, e.data, e.len};
	w.hardstate = &hs;
	w.entries = &pe;
	w.n_entries = 1;
	if (persist_log_write(n->plog, &w, &err) != 0) {
		LOG_ERROR("bootstrap: %s", err.msg);
		return -1;
	}
	if (node_join_new_id(n) != 0)
		return -1;
	n->founding_conf = conf;
	LOG_INFO("founded cluster %s of %zu voters", n->cluster_id, n->cfg.n_members);
	return 0;
}

/* How a node starts, from what its folder holds (node_join.h). */
enum start_as {
	START_FAILED = -1, /* logged */
	START_AS_IS,       /* a member, or an empty node that waits */
	START_FOUNDED,     /* it founded a single-node cluster: raft.db changed */
	START_SEALING,     /* a founder that has not sealed: its core stays inert */
};

/* Decides how this node starts, and founds a single-node cluster at once. */
static enum start_as join_or_found(struct node *n, const struct persist_log_state *st)
{
	bool empty_log = st->hardstate.term == 0 && st->entries.n == 0 && st->snap_index == 0;
	bool founding_log = st->snap_index == 0 && st->entries.n == 1 &&
	                    st->entries.v[0].index == 1 && st->hardstate.vote == 0 &&
	                    st->hardstate.term == 1;

	if (node_join_load_folder(n) != 0 || node_join_load_id(n) != 0)
		return START_FAILED;
	if (n->cluster_id[0] != '\0' && founding_log && !node_join_sealed(n) &&
	    coord_config_founder(&n->cfg) == n->cfg.id) {
		LOG_INFO("cluster %s: sealing, once every founding node has its id", n->cluster_id);
		return START_SEALING;
	}
	if (n->cluster_id[0] != '\0')
		return START_AS_IS; /* a member; its log may be empty if it joined moments ago */
	if (founding_log)           /* the founder stopped between the entry and the id */
		return node_join_new_id(n) == 0 ? START_SEALING : START_FAILED;
	if (!empty_log) {
		LOG_ERROR("the data folder holds a log but no %s: it is damaged", CLUSTER_ID_FILE);
		return START_FAILED;
	}
	if (n->cfg.join || coord_config_founder(&n->cfg) != n->cfg.id) {
		LOG_INFO("empty data folder: waiting for a cluster to %s this node",
		         n->cfg.join ? "add" : "found with");
		return START_AS_IS;
	}
	if (n->cfg.n_members == 1) /* founded and sealed at once: nobody to wait for */
		return bootstrap(n) == 0 && node_join_seal(n) == 0 ? START_FOUNDED : START_FAILED;
	n->founding = true;
	LOG_INFO("founding a cluster of %zu voters once each is up with an empty data folder",
	         n->cfg.n_members);
	return START_AS_IS;
}

/* After bootstrap(): what raft.db holds now (the founding entry), into *ST
 * (freed first). */
static int reload_founded(struct node *n, struct persist_log_state *st)
{
	struct persist_error err;

	persist_log_state_free(st);
	memset(st, 0, sizeof(*st));
	st->hardstate = persist_log_hardstate(n->plog);
	if (persist_log_read(n->plog, 1, 1, &st->entries, &err) != 0) {
		LOG_ERROR("cannot read raft.db: %s", err.msg);
		return -1;
	}
	return 0;
}

/* A founder that restarts while it seals: the founding configuration its
 * admission binds by, from the founding entry in *ST. */
static int founding_conf(struct node *n, const struct persist_log_state *st)
{
	const struct persist_entry *e = st->entries.n == 1 ? &st->entries.v[0] : NULL;

	if (e && e->type == RAFT_ENTRY_CONF &&
	    raft_conf_decode(e->data, e->len, &n->founding_conf) == RAFT_OK)
		return 0;
	LOG_ERROR("raft.db does not start with the founding configuration: it is damaged");
	return -1;
}

static int open_storage(struct node *n, struct persist_log_state *st)
{
	struct persist_error err;

	if (persist_dir_open(n->cfg.data, &n->dir, &err) != 0 ||
	    persist_log_open(n->dir, &n->plog, st, &err) != 0) {
		LOG_ERROR("cannot use data folder %s: %s", n->cfg.data, err.msg);
		return -1;
	}
	switch (join_or_found(n, st)) {
	case START_AS_IS:
		break;
	case START_FOUNDED:
		if (reload_founded(n, st) != 0)
			return -1;
		break;
	case START_SEALING: /* the core starts inert, with nothing (seal_cluster()) */
		n->sealing = true;
		if (founding_conf(n, st) != 0)
			return -1;
		persist_log_state_free(st);
		memset(st, 0, sizeof(*st));
		break;
	case START_FAILED:
		return -1;
	}
	if (persist_state_open(n->dir, &n->pstate, &err) != 0) {
		LOG_ERROR("cannot open state.db: %s", err.msg);
		return -1;
	}
	n->db = persist_state_db(n->pstate);
	if (coord_sm_open(n->db, &n->sm) != 0) {
		LOG_ERROR("cannot create the state machine's tables in state.db");
		return -1;
	}
	if (coord_sm_reader_open(n->db, &n->reader) != 0) {
		LOG_ERROR("out of memory");
		return -1;
	}
	node_auth_refresh(n);
	if (persist_snapshot_latest(n->dir, &n->snap, &err) != 0)
		memset(&n->snap, 0, sizeof(n->snap));
	/* Checkpoints run on the thread pool, not in the loop's commits. */
	persist_log_watch_wal(n->plog);
	persist_state_watch_wal(n->pstate);
	/* Nothing is being made or received yet: leftovers of a crash go. */
	if (persist_snapshot_prune(n->dir, n->snap.index, true, &err) != 0) {
		LOG_ERROR("cannot remove old snapshots: %s", err.msg);
		return -1;
	}
	return 0;
}

/* The cluster clock goes on from the newest stamp this node holds, taken
 * now (node_clock.h): its log's last stamped entry, or the stamp state.db
 * applied last when that is newer (the log compacted behind a snapshot, or
 * cut to a received one). A node that holds no stamp founds the cluster:
 * its first stamp is its wall clock. */
static int start_clock(struct node *n, const struct persist_log_state *st)
{
	uint64_t index = 0, ms = 0, stored;

	for (size_t i = st->entries.n; i-- > 0 && index == 0;) {
		const struct persist_entry *e = &st->entries.v[i];

		if (e->type == RAFT_ENTRY_NORMAL && coord_cmd_stamp(e->data, e->len, &ms))
			index = e->index;
	}
	if (coord_sm_clock(n->db, &stored) != 0) {
		LOG_ERROR("state.db: the cluster clock's stamp cannot be read");
		return -1;
	}
	node_clock_start(&n->clock, index, ms, persist_state_applied_index(n->pstate), stored,
	                 node_now_ms());
	return 0;
}

/* Builds the core from what was durable. */
static int start_raft(struct node *n, const struct persist_log_state *st)
{
	struct raft_config rc = {
	    .id = n->cfg.id,
	    .election_ticks = n->election_ticks,
	    .heartbeat_ticks = n->heartbeat_ticks,
	    .pre_vote = true,
	    .check_quorum = true,
	};
	struct raft_restore rs = {0};
	struct raft_entry *ents = calloc(st->entries.n ? st->entries.n : 1, sizeof(*ents));

	if (!ents)
		return -1;
	if (!node_random(&rc.seed, sizeof(rc.seed)))
		rc.seed = node_wall_ms() ^ ((uint64_t)getpid() << 32);
	rs.hs.term = st->hardstate.term;
	rs.hs.vote = st->hardstate.vote;
	rs.snapshot.index = st->snap_index;
	rs.snapshot.term = st->snap_term;
	if (n->snap.index == st->snap_index) { /* the file the core may send */
		rs.snapshot.size = n->snap.size;
		rs.snapshot.crc = n->snap.crc;
	}
	n->snap_told = st->snap_index;
	if (st->snap_index && st->config.len &&
	    raft_conf_decode(st->config.data, st->config.len, &rs.snapshot.conf) != RAFT_OK) {
		LOG_ERROR("raft.db: the stored configuration does not decode");
		free(ents);
		return -1;
	}
	for (size_t i = 0; i < st->entries.n; i++) {
		const struct persist_entry *e = &st->entries.v[i];

		ents[i] = (struct raft_entry){.term = e->term,
		                              .index = e->index,
		                              .type = e->type,
		                              .len = (uint32_t)e->len,
		                              .data = (uint8_t *)(uintptr_t)e->data};
	}
	n->conf_applied = rs.snapshot.conf;
	rs.entries = ents;
	rs.n_entries = st->entries.n;
	n->raft = raft_new(&rc, &rs);
	free(ents);
	if (!n->raft) {
		LOG_ERROR("raft.db holds an inconsistent log; refusing to start");
		return -1;
	}
	LOG_INFO("node %llu: term %llu, log %llu..%llu, applied %llu",
	         (unsigned long long)n->cfg.id, (unsigned long long)raft_term(n->raft),
	         (unsigned long long)raft_first_index(n->raft),
	         (unsigned long long)raft_last_index(n->raft),
	         (unsigned long long)persist_state_applied_index(n->pstate));
	return start_clock(n, st);
}

/* The founder's peers are all up and empty: it founds the cluster (the
 * founding entry, then the id) and seals, its core still inert, until each
 * of them has the id (node_join.h). */
static void found_cluster(struct node *n)
{
	n->founding = false;
	if (bootstrap(n) != 0)
		node_fatal(n, "cannot found the cluster", "raft.db or the cluster id");
	n->sealing = true;
	transport_set_cluster(n->transport, n->cluster_id);
}

/* Every founding voter has the id: the founder records the seal, then
 * starts its core from the founding entry. No Raft message existed before. */
static void seal_cluster(struct node *n)
{
	struct persist_log_state st = {0};

	if (node_join_seal(n) != 0 || reload_founded(n, &st) != 0)
		node_fatal(n, "cannot seal the cluster", "raft.db or the seal");
	n->sealing = false;
	LOG_INFO("cluster %s sealed: every founding node has its id", n->cluster_id);
	raft_free(n->raft);
	n->raft = NULL;
	if (start_raft(n, &st) != 0)
		node_fatal(n, "cannot start the founded cluster's core", "raft.db");
	persist_log_state_free(&st);
	transport_set_cluster(n->transport, n->cluster_id);
	node_kick(n);
}

void node_submit(void *ctx, struct http_call *call)
{
	struct node *n = ctx;
	bool taken = false;

	if (!n->inbox_closed && n->inbox_n < NODE_INBOX_MAX) {
		n->inbox[n->inbox_n++] = call;
		taken = true;
	}
	/* Taken: whoever runs the front takes the inbox when its run returns
	 * (node.c: node_http_run(); the front runs on the loop's thread). */
	if (!taken) {
		struct http_err err;
		struct http_meta meta = {.retry_after_s = 1};

		http_err_set(&err, HTTP_ERR_UNAVAILABLE,
		             n->inbox_closed ? "the node is shutting down"
		                             : "the node is overloaded; retry");
		http_call_answer_error(call, &err, NULL, &meta);
	}
}

/* SIGTERM on the leader of a cluster with another live voter: hand the
 * leadership over first (a transfer, thesis 3.10), so that a planned
 * restart costs the cluster one round of messages instead of an election
 * timeout with no leader. The node serves on meanwhile (proposals wait
 * while the transfer runs); node_tick() says to stop it once it knows another node
 * leads, or after two election timeouts if none took over. Returns whether
 * it began. */
bool node_handoff_start(struct node *n)
{
	uint64_t target;

	if (raft_role(n->raft) != RAFT_LEADER || n->installing)
		return false;
	target = node_best_voter(n);
	if (!target || raft_transfer(n->raft, target) != RAFT_OK)
		return false;
	n->metrics.transfers++;
	n->handoff_until_ms = node_now_ms() + 2ull * n->cfg.election_ms;
	LOG_INFO("SIGTERM: handing leadership to node %llu before shutting down",
	         (unsigned long long)target);
	node_kick(n);
	return true;
}
bool node_tick(struct node *n)
{
	uint64_t now = node_now_ms();

	if (n->handoff_until_ms && !n->stopping) {
		uint64_t leader = raft_leader(n->raft);
		bool moved = leader != 0 && leader != n->cfg.id;

		if (moved || now >= n->handoff_until_ms) {
			if (moved)
				LOG_INFO(
				    "leadership handed over; leader now node %llu: shutting down",
				    (unsigned long long)leader);
			else
				LOG_WARN(
				    "no node took the leadership within two election timeouts: "
				    "shutting down");
			return true;
		}
	}

	if (!n->installing) { /* N-6: the core is held, the state is the install's */
		raft_tick(n->raft);
		node_lease_tick(n, now);
	}
	node_expire_calls(n, now);
	node_kick(n);
	if (node_join_founding(n) && node_join_probed_all(n))
		found_cluster(n);
	if (node_join_sealing(n) && node_join_adopted_all(n))
		seal_cluster(n);
	sync_peers(n);
	return false;
}

void node_stop_calls(struct node *n)
{
	n->stopping = true;
	n->inbox_closed = true;
	node_take_inbox(n); /* answers what was handed over */
	node_fail_all(n);
	if (n->snap_job) /* the loop runs until its work has returned */
		persist_snapshot_job_cancel(n->snap_job);
}

void node_transport_config(struct node *n, struct transport_config *tc)
{
	*tc = (struct transport_config){
	    .id = n->cfg.id,
	    .cluster = n->cluster_id,
	    .listen_addr = n->cfg.raft,
	    .http_addr = n->cfg.http,
	    .on_frame = on_peer_frame,
	    .on_hello = node_join_hello,
	    .hello_fill = node_join_hello_fill,
	    .tls = n->peer_tls,
	    .ctx = n,
	};
}

void node_peers_start(struct node *n)
{
	sync_peers(n);
	dial_founders(n);
}

int node_open(struct node *n, const struct coord_config *cfg)
{
	struct persist_log_state st = {0};
	int rc = -1;

	node_api_init(); /* every operation has its handler entry (api.h) */
	n->cfg = *cfg;
	/* Call ids start at random: a leader may still hold a forwarded call of
	 * this node's previous run, and its late reply must match no new call. */
	if (!node_random(&n->next_call_id, sizeof(n->next_call_id)))
		n->next_call_id = node_now_ms() << 20;
	n->next_call_id >>= 1; /* never wraps to 0, the id of no call */
	n->heartbeat_ticks = cfg->heartbeat_ms / NODE_TICK_MS;
	n->election_ticks = cfg->election_ms / NODE_TICK_MS;
	if (n->heartbeat_ticks == 0)
		n->heartbeat_ticks = 1;
	if (n->election_ticks <= n->heartbeat_ticks)
		n->election_ticks = n->heartbeat_ticks + 1;
	coord_result_init(&n->result);
	n->expire_retry = calloc(COORD_LEASE_MAX, sizeof(*n->expire_retry));
	if (!n->expire_retry || coord_lease_init(&n->lease, cfg->limits.sessions) != 0 ||
	    coord_lease_init(&n->anchors, cfg->limits.sessions) != 0)
		goto out;
	if (node_bootstrap_load(n) != 0) /* before the data folder */
		goto out;
	if (open_storage(n, &st) != 0 || start_raft(n, &st) != 0)
		goto out;
	node_refresh_limits(n);
	node_lease_anchor_all(n);
	rc = 0;
out:
	persist_log_state_free(&st);
	return rc;
}

void node_close(struct node *n)
{
	if (n->transport)
		transport_free(n->transport);
	if (n->raft)
		raft_free(n->raft);
	coord_lease_free(&n->lease);
	coord_lease_free(&n->anchors);
	free(n->expire_retry);
	coord_result_free(&n->result);
	for (size_t i = 0; i < n->results_cap; i++)
		coord_result_free(&n->results[i]);
	free(n->results);
	/* the loop ends only after their work (node_env.h) */
	assert(n->snap_job == NULL && !n->pruning && !n->ckpt_running);
	persist_snapshot_recv_abort(n->recv);
	persist_snapshot_meta_free(&n->snap);
	node_stale_stop(n); /* the HTTP front stopped: its handle closes */
	node_auth_close(n);
	coord_sm_reader_close(n->reader);
	coord_sm_close(n->sm);
	persist_state_close(n->pstate);
	persist_log_close(n->plog);
	persist_dir_close(n->dir);
}
