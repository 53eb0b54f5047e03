/* Executing the Raft core's outputs: persist, then send (a leader: send while
 * persisting), then apply (N-1),
 * and taking snapshots. The only place that calls raft_ready/raft_advance. */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "log.h"
#include "node_calls.h"
#include "node_core.h"
#include "node_dispatch.h"
#include "node_leader.h"
#include "node_auth.h"
#include "node_lease.h"
#include "node_ready.h"

/* 1. Persist ----------------------------------------------------------------- */

static void install_work(uv_work_t *w);
static void install_done(uv_work_t *w, int status);

static void conf_blob(const struct raft_conf *conf, uint8_t *buf, size_t *len)
{
	*len = raft_conf_encode(conf, buf, RAFT_CONF_MAX_BYTES);
	if (*len == 0)
		node_fatal(NULL, "encoding the configuration", "buffer too small");
}

/* A chunk of a snapshot from the leader, written before its acknowledgement
 * leaves. The core checks the order of chunks; storage failing to keep one
 * is a storage error, and so stops the node (rule 7): the restarted node
 * asks for the snapshot again from its start. Returns true when the chunk
 * was the last one and its install began off the loop (N-6): the rest of
 * this ready waits for install_done(). */
static bool persist_snap_chunk(struct node *n, const struct raft_snapshot_chunk *ch)
{
	struct persist_error err;
	int rc;

	if (ch->offset == 0) {
		persist_snapshot_recv_abort(n->recv);
		n->recv = NULL;
		rc = persist_snapshot_recv_begin(n->pstate, ch->meta.index, ch->meta.term,
		                                 ch->meta.size, ch->meta.crc, &n->recv, &err);
		if (rc == PERSIST_ESTALE) /* state.db is past it: only the log is reset */
			LOG_INFO("snapshot %llu is behind state.db; keeping the state",
			         (unsigned long long)ch->meta.index);
		else if (rc != 0)
			node_fatal(n, "receiving a snapshot", err.msg);
	}
	if (n->recv && persist_snapshot_recv_chunk(n->recv, ch->offset, ch->data, ch->len, &err))
		node_fatal(n, "writing a snapshot chunk", err.msg);
	if (!ch->last || !n->recv)
		return false;
	/* Sealing (fsync), checking and restoring a large file takes seconds:
	 * a pool thread does it, and the loop keeps serving what needs no
	 * state (N-6). */
	n->install_recv = n->recv;
	n->recv = NULL;
	n->install_from = persist_state_applied_index(n->pstate);
	n->installing = true;
	n->install_started_ms = node_now_ms();
	node_queue_job(n, &n->install_work, install_work, install_done,
	               "installing a received snapshot");
	return true;
}

/* The log's base moved to a snapshot received from the leader. */
static void persist_snapshot_base(struct node *n, const struct raft_snapshot_meta *m)
{
	uint8_t buf[RAFT_CONF_MAX_BYTES];
	struct persist_config pc = {.index = m->index};
	struct persist_entries e = {0};
	struct persist_error err;
	bool keep = false;
	size_t len;

	conf_blob(&m->conf, buf, &len);
	pc.data = buf;
	pc.len = len;
	/* raft.h: entries after the snapshot stay when the log holds its last
	 * entry with the same term; otherwise the whole log goes. */
	if (persist_log_read(n->plog, m->index, 1, &e, &err) == 0)
		keep = e.n == 1 && e.v[0].index == m->index && e.v[0].term == m->term;
	persist_entries_free(&e);
	if (keep) {
		if (persist_log_compact(n->plog, m->index, m->term, 0, &pc, &err) != 0 &&
		    err.code != PERSIST_ESTALE)
			node_fatal(n, "compacting raft.db behind a snapshot", err.msg);
	} else if (persist_log_reset(n->plog, m->index, m->term, &pc, &err) != 0 &&
	           err.code != PERSIST_ESTALE) {
		node_fatal(n, "resetting raft.db to a snapshot", err.msg);
	}
	if (m->index > n->snap_told)
		n->snap_told = m->index;
	n->conf_applied = m->conf;
	node_snapshot_skipped(n, m->index);
}

static void persist_entries(struct node *n, const struct raft_ready *rd)
{
	static struct persist_entry pe[PERSIST_BATCH_MAX]; /* only the loop's thread */
	struct persist_hardstate hs = {rd->hs.term, rd->hs.vote};
	struct persist_write w = {0};
	struct persist_error err;
	size_t done = 0;

	/* Term and vote only: a ready that moved just the commit index needs no
	 * fsync (the commit index is never needed for safety). */
	if (rd->hs_changed) {
		struct persist_hardstate cur = persist_log_hardstate(n->plog);

		if (cur.term != hs.term || cur.vote != hs.vote)
			w.hardstate = &hs;
	}
	if (!w.hardstate && rd->n_entries == 0)
		return;
	if (rd->n_entries && rd->entries[0].index <= persist_log_last_index(n->plog))
		w.truncate_from = rd->entries[0].index;
	do {
		size_t k = rd->n_entries - done;

		if (k > sizeof(pe) / sizeof(pe[0]))
			k = sizeof(pe) / sizeof(pe[0]);
		for (size_t i = 0; i < k; i++) {
			const struct raft_entry *e = &rd->entries[done + i];

			pe[i] = (struct persist_entry){e->index, e->term, e->type, e->data, e->len};
		}
		w.entries = pe;
		w.n_entries = k;
		if (persist_log_write(n->plog, &w, &err) != 0)
			node_fatal(n, "writing raft.db", err.msg);
		done += k;
		w.hardstate = NULL;
		w.truncate_from = 0;
	} while (done < rd->n_entries);
	node_clock_follow_ready(&n->clock, rd, node_now_ms());
}

/* 2. Send ---------------------------------------------------------------------- */

static void send_msg(struct node *n, const struct raft_msg *m)
{
	static uint8_t frame[RAFT_CODEC_MAX_FRAME];
	static uint8_t chunk[RAFT_SNAPSHOT_CHUNK];
	struct raft_msg copy;
	size_t len;

	if (m->type == RAFT_MSG_SNAPSHOT && !m->data && m->len) {
		struct persist_error err;
		size_t got = 0;

		if (m->snap.index != n->snap.index || m->len > sizeof(chunk) ||
		    persist_snapshot_read(n->dir, &n->snap, m->offset, chunk, m->len, &got, &err) !=
		        0 ||
		    got != m->len)
			return; /* the core retries, with a newer snapshot if one exists */
		copy = *m;
		copy.data = chunk;
		m = &copy;
	}
	if (raft_codec_encode(m, frame, sizeof(frame), &len) != RAFT_CODEC_OK) {
		LOG_WARN("cannot encode a %s for %llu", raft_msg_type_name(m->type),
		         (unsigned long long)m->to);
		return;
	}
	transport_send(n->transport, m->to, TRANSPORT_RAFT, frame, len);
}

/* A ready's messages leave as one write per peer, before anything is
 * applied: a follower's acknowledgement does not wait for its apply. */
static void send_msgs(struct node *n, const struct raft_ready *rd)
{
	transport_cork(n->transport);
	for (size_t i = 0; i < rd->n_msgs; i++)
		send_msg(n, &rd->msgs[i]);
	transport_uncork(n->transport);
}

/* 3. Apply --------------------------------------------------------------------- */

struct apply_ctx {
	struct node *n;
	uint64_t first, last;
};

/* Applies E; after the batch's last entry, writes what the machine held
 * for the batch (coord_sm_flush), so that the COMMIT that follows has it. */
static int apply_one(void *ctx, sqlite3 *db, const struct persist_entry *e)
{
	struct apply_ctx *a = ctx;
	struct coord_result *r = &a->n->results[e->index - a->first];
	int rv = 0;

	(void)db;
	if (e->type != RAFT_ENTRY_NORMAL) {
		r->type = 0;
		r->status = COORD_ST_OK;
	} else {
		rv = coord_sm_apply_entry(a->n->sm, e->index, e->data, e->len, r);
	}
	if (rv == 0 && e->index == a->last)
		rv = coord_sm_flush(a->n->sm);
	return rv;
}

static void ensure_results(struct node *n, size_t k)
{
	if (k <= n->results_cap)
		return;
	n->results = realloc(n->results, k * sizeof(*n->results));
	if (!n->results)
		node_fatal(n, "allocating results", "out of memory");
	for (size_t i = n->results_cap; i < k; i++)
		coord_result_init(&n->results[i]);
	n->results_cap = k;
}

static void apply_committed(struct node *n, const struct raft_ready *rd)
{
	struct persist_entry pe[NODE_APPLY_BATCH];
	size_t i = 0;

	/* After a restart the core hands out entries state.db already has. */
	/* The configuration as of the applied index, for snapshots. */
	for (size_t j = 0; j < rd->n_committed; j++)
		if (rd->committed[j].type == RAFT_ENTRY_CONF &&
		    raft_conf_decode(rd->committed[j].data, rd->committed[j].len,
		                     &n->conf_applied) != RAFT_OK)
			node_fatal(n, "a committed configuration entry", "does not decode");
	while (i < rd->n_committed &&
	       rd->committed[i].index <= persist_state_applied_index(n->pstate))
		i++;
	while (i < rd->n_committed) {
		struct apply_ctx a = {n, rd->committed[i].index, 0};
		struct persist_error err;
		size_t k = rd->n_committed - i;

		if (k > NODE_APPLY_BATCH)
			k = NODE_APPLY_BATCH;
		a.last = a.first + k - 1;
		ensure_results(n, k);
		for (size_t j = 0; j < k; j++) {
			const struct raft_entry *e = &rd->committed[i + j];

			pe[j] = (struct persist_entry){e->index, e->term, e->type, e->data, e->len};
		}
		if (persist_state_apply(n->pstate, pe, k, apply_one, &a, &err) != 0)
			node_fatal(n, "applying to state.db", err.msg);
		n->metrics.applied_entries += k;
		n->since_snapshot += k;
		for (size_t j = 0; j < k; j++) {
			/* A bootstrap turns access control on; a token made or
			 * revoked changes what the tokens kept for calls say. */
			if (pe[j].type == RAFT_ENTRY_NORMAL &&
			    (n->results[j].type == COORD_CMD_TOKEN ||
			     n->results[j].type == COORD_CMD_REVOKE_TOKEN))
				node_auth_refresh(n);
			node_on_applied(n, pe[j].index, pe[j].term,
			                pe[j].type == RAFT_ENTRY_NORMAL ? &n->results[j] : NULL,
			                pe[j].data, pe[j].len);
		}
		i += k;
	}
}

/* Snapshots -------------------------------------------------------------------- */

/* Hands the core a durable snapshot file and compacts raft.db behind it,
 * keeping --log-tail entries for followers that are slightly behind. */
static void adopt_snapshot(struct node *n, const struct persist_snapshot_meta *meta)
{
	uint8_t buf[RAFT_CONF_MAX_BYTES];
	struct raft_snapshot_meta rm = {0};
	struct persist_config pc;
	struct persist_error err;
	uint64_t dropped;
	size_t len;

	rm.index = meta->index;
	rm.term = meta->term;
	rm.size = meta->size;
	rm.crc = meta->crc;
	if (raft_conf_decode(meta->config, meta->config_len, &rm.conf) != RAFT_OK)
		node_fatal(n, "a snapshot's configuration", "does not decode");
	conf_blob(&rm.conf, buf, &len);
	dropped = raft_snapshot_taken(n->raft, &rm, n->cfg.log_tail);
	pc = (struct persist_config){.index = meta->index, .data = buf, .len = len};
	/* Lazy: no fsync on the loop; the next write makes it durable. */
	if (persist_log_compact(n->plog, meta->index, meta->term, n->cfg.log_tail, &pc, &err) != 0)
		node_fatal(n, "compacting raft.db", err.msg);
	n->snap_told = meta->index;
	LOG_INFO("snapshot at %llu (%llu bytes); log kept from %llu",
	         (unsigned long long)meta->index, (unsigned long long)meta->size,
	         (unsigned long long)dropped + 1);
}

/* WAL checkpoints ---------------------------------------------------------- */

/* On a pool thread: copies each WAL's committed pages into its database and
 * fsyncs it, work SQLite would otherwise do inside one of the loop's
 * commits. */
static void checkpoint_work(uv_work_t *w)
{
	struct node *n = w->data;
	struct persist_error err;

	n->ckpt_rc = 0;
	if (n->ckpt_log && persist_log_checkpoint(n->dir, &err) != 0)
		n->ckpt_rc = err.code;
	if (n->ckpt_rc == 0 && n->ckpt_state && persist_state_checkpoint(n->dir, &err) != 0)
		n->ckpt_rc = err.code;
	if (n->ckpt_rc != 0)
		LOG_ERROR("checkpoint: %s", err.msg);
}

static void checkpoint_done(uv_work_t *w, int status)
{
	struct node *n = w->data;
	struct persist_error err;

	(void)status;
	n->ckpt_running = false;
	if (n->ckpt_rc != 0)
		node_fatal(n, "checkpointing a database", persist_strerror(n->ckpt_rc));
	/* The little committed meanwhile, here, so that each WAL can start
	 * again from its head (not during an install, which owns state.db). */
	if ((n->ckpt_log && persist_log_checkpoint_tail(n->plog, &err) != 0) ||
	    (n->ckpt_state && !n->installing &&
	     persist_state_checkpoint_tail(n->pstate, &err) != 0))
		node_fatal(n, "checkpointing a database", err.msg);
}

/* Starts a checkpoint of whichever WAL grew past NODE_CHECKPOINT_PAGES
 * since the last one. Not during an install, which owns state.db (N-6). */
static void maybe_checkpoint(struct node *n)
{
	int lp, sp;

	if (n->ckpt_running || n->installing)
		return;
	lp = persist_log_wal_pages(n->plog);
	sp = persist_state_wal_pages(n->pstate);
	n->ckpt_log = lp >= NODE_CHECKPOINT_PAGES && lp != n->ckpt_log_seen;
	n->ckpt_state = sp >= NODE_CHECKPOINT_PAGES && sp != n->ckpt_state_seen;
	if (!n->ckpt_log && !n->ckpt_state)
		return;
	n->ckpt_log_seen = lp;
	n->ckpt_state_seen = sp;
	n->ckpt_running = true;
	node_queue_job(n, &n->ckpt_work, checkpoint_work, checkpoint_done,
	               "checkpointing a database");
}

/* Runs on a thread of libuv's pool: the copy, its fsync and its check. */
static void snapshot_work(uv_work_t *w)
{
	struct node *n = w->data;
	struct persist_error err;

	if (persist_snapshot_job_run(n->snap_job, &err) != 0 && err.code != PERSIST_ECANCELED)
		LOG_ERROR("making a snapshot: %s", err.msg);
}

/* On a pool thread: unlinking a large file takes tens of milliseconds.
 * Temporaries stay: one may be a snapshot being received or made. */
static void prune_work(uv_work_t *w)
{
	struct node *n = w->data;
	struct persist_error err;

	n->prune_rc = persist_snapshot_prune(n->dir, n->prune_keep, false, &err);
	if (n->prune_rc != 0)
		LOG_ERROR("removing old snapshots: %s", err.msg);
}

static void prune_done(uv_work_t *w, int status)
{
	struct node *n = w->data;

	(void)status;
	n->pruning = false;
	if (n->prune_rc != 0) /* rule 7 */
		node_fatal(n, "removing old snapshots", persist_strerror(n->prune_rc));
}

/* Removes the snapshots older than the newest, off the loop; the newest is
 * the only one ever sent or restored. */
static void start_prune(struct node *n)
{
	if (n->pruning || n->snap.index == 0)
		return;
	n->pruning = true;
	n->prune_keep = n->snap.index;
	node_queue_job(n, &n->prune_work, prune_work, prune_done, "removing old snapshots");
}

/* Back on the loop: the snapshot is durable; the core may compact behind
 * it. One made while a newer one was received is left for pruning. */
static void snapshot_made(uv_work_t *w, int status)
{
	struct node *n = w->data;
	struct persist_snapshot_meta meta = {0};
	int rc = persist_snapshot_job_take(n->snap_job, &meta);

	(void)status; /* never cancelled through libuv: the job stops itself */
	persist_snapshot_job_free(n->snap_job);
	n->snap_job = NULL;
	if (rc == PERSIST_ECANCELED || n->stopping || n->installing) {
		/* A durable file is adopted at the next start, or, behind an
		 * install, pruned with the next snapshot. */
		persist_snapshot_meta_free(&meta);
		return;
	}
	if (rc != 0)
		node_fatal(n, "creating a snapshot", persist_strerror(rc));
	n->snap_ended_ms = node_now_ms();
	n->metrics.snapshot_last_ms = n->snap_ended_ms - n->snap_started_ms;
	if (meta.index > n->snap.index) {
		adopt_snapshot(n, &meta);
		persist_snapshot_meta_free(&n->snap);
		n->snap = meta;
		n->metrics.snapshots++;
	} else {
		persist_snapshot_meta_free(&meta);
	}
	start_prune(n);
	/* Backups waiting for a snapshot get this one. */
	while (n->waits[W_SNAPSHOT].head)
		node_answer_snapshot(n, n->waits[W_SNAPSHOT].head);
	node_kick(n);
}

void node_maybe_snapshot(struct node *n)
{
	uint8_t buf[RAFT_CONF_MAX_BYTES];
	struct persist_error err;
	uint64_t applied = persist_state_applied_index(n->pstate);
	size_t len;

	/* A snapshot file newer than what the core knows (taken just before a
	 * restart): adopt it once the core has applied that far. */
	if (n->snap.index > n->snap_told && raft_applied_index(n->raft) >= n->snap.index)
		adopt_snapshot(n, &n->snap);
	if (n->snap_job || n->stopping ||
	    (n->since_snapshot < n->cfg.snapshot_entries && !n->snap_wanted) ||
	    applied <= n->snap.index || raft_applied_index(n->raft) < applied)
		return;
	/* A large state takes seconds to copy: after a snapshot that took T,
	 * the next waits NODE_SNAPSHOT_REST x T, so that copying the state
	 * takes at most a fifth of a node's time (and of its disk) however
	 * fast entries come. The log grows meanwhile, bounded by the time.
	 * A backup asked for does not wait. */
	if (!n->snap_wanted &&
	    node_now_ms() - n->snap_ended_ms < NODE_SNAPSHOT_REST * n->metrics.snapshot_last_ms)
		return;
	n->since_snapshot = 0;
	n->snap_wanted = false;
	/* The configuration as of the snapshot's index, not the newest one in
	 * the log (which may be uncommitted and later truncated). */
	conf_blob(&n->conf_applied, buf, &len);
	if (persist_snapshot_job_begin(n->pstate, buf, len, &n->snap_job, &err) != 0)
		node_fatal(n, "starting a snapshot", err.msg);
	/* The copy, its fsync and its check run on libuv's thread pool, so
	 * heartbeats and answers go on meanwhile. */
	n->snap_started_ms = node_now_ms();
	node_queue_job(n, &n->snap_work, snapshot_work, snapshot_made, "starting a snapshot");
}

/* The loop ----------------------------------------------------------------------- */

void node_turn_end(struct node *n)
{
	if (n->dirty) {
		n->dirty = false;
		node_drive(n);
	}
}

/* Everything of ready RD after its snapshot chunk: persist, send, apply,
 * advance (N-1). */
static void drive_ready(struct node *n, struct raft_ready *rd)
{
	if (rd->snapshot)
		persist_snapshot_base(n, rd->snapshot);
	/* A leader's appends leave before its own write, so that the
	 * followers' fsyncs overlap it (raft.h, msgs_early). */
	if (rd->msgs_early)
		send_msgs(n, rd);
	if (rd->hs_changed || rd->n_entries)
		persist_entries(n, rd);
	if (!rd->msgs_early)
		send_msgs(n, rd);
	apply_committed(n, rd);
	for (size_t i = 0; i < rd->n_reads; i++)
		node_on_read(n, &rd->reads[i]);
	raft_advance(n->raft, rd);
	if (rd->role != n->role || rd->leader != n->leader) {
		if (rd->leader != n->leader || rd->role == RAFT_LEADER)
			LOG_INFO("term %llu: %s, leader %llu", (unsigned long long)rd->term,
			         raft_role_name(rd->role), (unsigned long long)rd->leader);
		n->role = rd->role;
		n->leader = rd->leader;
		node_leader_changed(n);
	}
	node_after_apply(n);
}

/* On a pool thread: seal, check and restore the received snapshot. Only
 * this thread touches state.db meanwhile (N-6). */
static void install_work(uv_work_t *w)
{
	struct node *n = w->data;

	n->install_rc =
	    persist_snapshot_recv_finish(n->install_recv, &n->install_got, &n->install_err);
	n->install_recv = NULL; /* freed by finish, whatever it returned */
}

/* Back on the loop: the held ready goes on from where its chunk stopped
 * it, and the calls that waited for the state are served. */
static void install_done(uv_work_t *w, int status)
{
	struct node *n = w->data;

	(void)status; /* never cancelled: queued work always runs */
	/* The core has moved its log to this snapshot already: a file that
	 * fails its checks cannot be refused quietly. */
	if (n->install_rc != 0)
		node_fatal(n, "installing a received snapshot", n->install_err.msg);
	/* A snapshot from a node of an older version lacks the tables this
	 * one added (coord_seqs): they come empty, as they do in an older
	 * state.db at start (coord_sm_open). */
	if (coord_sm_schema(n->db) != 0)
		node_fatal(n, "installing a received snapshot", "cannot add this version's tables");
	n->installing = false;
	n->metrics.snapshot_install_last_ms = node_now_ms() - n->install_started_ms;
	persist_snapshot_meta_free(&n->snap);
	n->snap = n->install_got;
	memset(&n->install_got, 0, sizeof(n->install_got));
	n->snap_told = n->snap.index;
	node_refresh_limits(n);
	node_lease_anchor_all(n);
	/* Its entries never passed through this node's log: the clock goes
	 * on from the newest of them, taken now (node_clock.h). */
	{
		uint64_t ms;

		if (coord_sm_clock(n->db, &ms) != 0)
			node_fatal(n, "installing a received snapshot", "cannot read its clock");
		node_clock_installed(&n->clock, n->snap.index, ms, node_now_ms());
	}
	LOG_INFO("installed snapshot %llu (term %llu, %llu bytes) in %llu ms",
	         (unsigned long long)n->snap.index, (unsigned long long)n->snap.term,
	         (unsigned long long)n->snap.size,
	         (unsigned long long)n->metrics.snapshot_install_last_ms);
	if (n->stopping)
		return; /* a restart finishes the log's side (persist/snapshot.h) */
	drive_ready(n, &n->held);
	node_installed(n);
	node_drive(n);
}

void node_drive(struct node *n)
{
	unsigned k = 0;

	if (n->installing)
		return; /* install_done() drives on (N-6) */
	node_lease_flush_alive(n);
	while (raft_has_ready(n->raft)) {
		/* A long backlog (a follower catching up) is applied over several
		 * turns of the loop, so that requests and heartbeats are served
		 * in between; the wake makes the next turn come at once. */
		if (k++ == NODE_DRIVE_READIES) {
			node_kick(n);
			node_wake(n);
			break;
		}
		raft_ready(n->raft, &n->held);
		if (n->held.snap_chunk && persist_snap_chunk(n, n->held.snap_chunk))
			return;
		drive_ready(n, &n->held);
	}
	if (n->waits[W_MEMBER].n)
		node_admin_poll(n);
	node_maybe_snapshot(n);
	maybe_checkpoint(n);
}
