/* host.c: what the node runtime does around a core, in simulation.
 *
 * The ready loop follows raft.h exactly: persist (hard state, snapshot
 * chunk, snapshot, entries: one atomic "transaction" into the store), then
 * send (first when the ready says msgs_early), then apply (snapshot,
 * committed entries, reads), then advance. A crash may strike before the
 * persist, between persist and send, or in the middle of sending; it
 * discards the core, the state machine and whatever was not yet sent, and
 * keeps the store. A restart builds a new core from the store (struct
 * raft_restore) and a state machine from its snapshot.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define HOST_MAX_SNAPSHOT (16u << 20) /* bytes of a snapshot a host accepts */

enum host_crash {
	HOST_NO_CRASH = 0,
	HOST_CRASH_BEFORE_PERSIST,
	HOST_CRASH_BEFORE_SEND,
	HOST_CRASH_MID_SEND
};

static struct raft_config host_config(struct sim_world *w, int slot)
{
	struct raft_config cfg = {
	    .id = (uint64_t)slot + 1,
	    .election_ticks = w->p.election_ticks,
	    .heartbeat_ticks = w->p.heartbeat_ticks,
	    .seed = sim_rand(&w->rng),
	    .pre_vote = w->p.pre_vote,
	    .check_quorum = w->p.check_quorum,
	    .max_inflight = w->p.max_inflight,
	    .max_msg_bytes = w->p.max_msg_bytes,
	};
	return cfg;
}

/* Starts a core and a state machine from the store (boot and restart). */
static void host_start(struct sim_world *w, int slot)
{
	struct sim_node *n = &w->nodes[slot];
	struct sim_store *st = &n->store;
	struct raft_config cfg = host_config(w, slot);
	struct raft_restore rs = {.hs = st->hs, .snapshot = st->snap};

	if (w->brk == SIM_BREAK_FORGET_VOTE) {
		rs.hs.vote = 0;
		st->hs.vote = 0;
	}
	struct raft_entry *es = calloc(st->n + 1, sizeof(*es));

	assert(es != NULL);
	for (size_t i = 0; i < st->n; i++) {
		uint64_t index = st->first + i;

		if (index <= st->snap.index)
			continue;
		es[rs.n_entries++] = (struct raft_entry){.term = st->e[i].term,
		                                         .index = index,
		                                         .type = st->e[i].type,
		                                         .len = st->e[i].len,
		                                         .data = st->e[i].data};
	}
	rs.entries = es;
	if (n->store.folder == 0) /* a new or wiped data folder */
		n->store.folder = sim_host_new_folder(w, slot);
	memset(n->seen, 0, sizeof(n->seen)); /* a new process remembers nobody */
	n->r = raft_new(&cfg, &rs);
	free(es);
	n->sm = w->sm_ops->create(w->p.snapshot_pad);
	assert(n->sm != NULL);
	n->applied = 0;
	memset(&n->conf_applied, 0, sizeof(n->conf_applied));
	n->up = true;
	if (n->r == NULL) {
		sim_fail(w, slot, "restart", "raft_new refuses the durable state");
		w->sm_ops->destroy(n->sm);
		n->sm = NULL;
		n->up = false;
		return;
	}
	if (st->snap.index != 0) {
		if (w->sm_ops->restore(n->sm, st->snap_bytes, (size_t)st->snap.size) != 0)
			sim_fail(w, slot, "snapshot", "durable snapshot does not restore");
		n->applied = st->snap.index;
		n->conf_applied = st->snap.conf;
	}
	n->seen_role = raft_role(n->r);
	n->seen_term = raft_term(n->r);
	n->seen_commit = raft_commit_index(n->r);
	n->ready_commit = n->seen_commit;
	n->acc = (unsigned)sim_below(&w->rng, 1000u * SIM_TICK_PERIOD);
}

uint64_t sim_host_new_folder(struct sim_world *w, int slot)
{
	return ((uint64_t)(slot + 1) << 32) | ++w->n_folders;
}

void sim_host_boot(struct sim_world *w, int slot, const struct raft_conf *conf)
{
	struct sim_node *n = &w->nodes[slot];
	uint8_t buf[RAFT_CONF_MAX_BYTES];
	struct raft_entry e;
	int rv;

	n->used = true;
	n->id = (uint64_t)slot + 1;
	n->rate = 1000 - w->p.skew / 2 + (unsigned)sim_below(&w->rng, w->p.skew + 1);
	rv = raft_bootstrap_entry(conf, buf, &e);
	if (rv != RAFT_OK) {
		sim_fail(w, slot, "boot", "raft_bootstrap_entry: %s", raft_strerror(rv));
		return;
	}
	/* raft.h: every founding server stores this entry and term 1 first;
	 * its data folder belongs to the cluster being founded. */
	n->store.hs.term = 1;
	memcpy(n->store.cluster, w->cluster, SIM_CLUSTER_MAX);
	n->store.folder = conf->servers[slot].folder;
	sim_store_append(&n->store, &e, sim_check_chain(w, slot, &e, 0));
	host_start(w, slot);
}

void sim_host_join(struct sim_world *w, int slot)
{
	struct sim_node *n = &w->nodes[slot];

	n->used = true;
	n->id = (uint64_t)slot + 1;
	n->rate = 1000 - w->p.skew / 2 + (unsigned)sim_below(&w->rng, w->p.skew + 1);
	sim_trace(w, "n%llu starts empty, to join", (unsigned long long)n->id);
	host_start(w, slot);
}

static void host_stop(struct sim_world *w, int slot)
{
	struct sim_node *n = &w->nodes[slot];

	raft_free(n->r);
	n->r = NULL;
	w->sm_ops->destroy(n->sm);
	n->sm = NULL;
	n->up = false;
	n->incarnation++;
	sim_client_crashed(w, slot);
}

void sim_host_crash(struct sim_world *w, int slot)
{
	struct sim_node *n = &w->nodes[slot];

	host_stop(w, slot);
	n->restart_at = w->now + 20 + sim_below(&w->rng, 80 * SIM_TICK_PERIOD);
	w->n_crashes++;
	sim_trace(w, "crash n%llu (restart at t=%llu)", (unsigned long long)n->id,
	          (unsigned long long)n->restart_at);
}

void sim_host_restart(struct sim_world *w, int slot)
{
	struct sim_node *n = &w->nodes[slot];

	sim_trace(w, "restart n%llu: durable term %llu vote %llu, snapshot %llu, last index %llu",
	          (unsigned long long)n->id, (unsigned long long)n->store.hs.term,
	          (unsigned long long)n->store.hs.vote, (unsigned long long)n->store.snap.index,
	          (unsigned long long)sim_store_last(&n->store));
	host_start(w, slot);
}

void sim_host_wipe(struct sim_world *w, int slot)
{
	struct sim_node *n = &w->nodes[slot];

	if (n->up)
		sim_host_crash(w, slot);
	/* The whole data folder: hard state, log, snapshot, cluster id. What
	 * it held stays on record (n->lost) while the server is kept out:
	 * acknowledgements it sent before the loss were true, and a leader may
	 * still count them (the commit rule, I5, counts that record). */
	sim_store_free(&n->lost);
	n->lost = n->store;
	memset(&n->store, 0, sizeof(n->store));
	n->wiped = true;
	w->n_wipes++;
	sim_trace(w, "n%llu loses its data folder: restarts empty at t=%llu",
	          (unsigned long long)n->id, (unsigned long long)n->restart_at);
}

bool sim_host_bound_elsewhere(const struct sim_world *w, int slot)
{
	const struct sim_node *n = &w->nodes[slot];
	const struct raft_conf *conf = &w->check.conf;

	for (uint32_t i = 0; i < conf->n; i++) {
		if (conf->servers[i].id == n->id)
			return conf->servers[i].folder != 0 &&
			       conf->servers[i].folder != n->store.folder;
	}
	return false;
}

bool sim_host_lost(const struct sim_world *w, int slot)
{
	const struct sim_node *n = &w->nodes[slot];

	return n->used && n->wiped &&
	       (n->store.cluster[0] == '\0' || sim_host_bound_elsewhere(w, slot));
}

void sim_host_retire(struct sim_world *w, int slot)
{
	struct sim_node *n = &w->nodes[slot];

	if (n->up)
		host_stop(w, slot);
	n->retired = true;
	sim_trace(w, "n%llu removed from the cluster: shut down", (unsigned long long)n->id);
}

void sim_host_free(struct sim_world *w, int slot)
{
	struct sim_node *n = &w->nodes[slot];

	raft_free(n->r);
	if (n->sm != NULL)
		w->sm_ops->destroy(n->sm);
	sim_store_free(&n->store);
	sim_store_free(&n->lost);
	memset(n, 0, sizeof(*n));
}

/* 1. Persist -------------------------------------------------------------------- */

static void host_write_chunk(struct sim_world *w, int slot, const struct raft_snapshot_chunk *c)
{
	struct sim_store *st = &w->nodes[slot].store;

	if (c->meta.size > HOST_MAX_SNAPSHOT || c->offset > c->meta.size ||
	    c->len > c->meta.size - c->offset || (c->len > 0 && c->data == NULL)) {
		sim_fail(w, slot, "snapshot", "chunk at %llu+%u outside a snapshot of %llu bytes",
		         (unsigned long long)c->offset, c->len, (unsigned long long)c->meta.size);
		return;
	}
	if (st->tmp == NULL || st->tmp_meta.index != c->meta.index ||
	    st->tmp_meta.term != c->meta.term || st->tmp_meta.size != c->meta.size) {
		free(st->tmp);
		st->tmp = calloc(1, (size_t)c->meta.size + 1);
		assert(st->tmp != NULL);
		st->tmp_meta = c->meta;
		st->tmp_len = 0;
	}
	if (c->len > 0)
		memcpy(st->tmp + c->offset, c->data, c->len);
	/* Track the contiguous prefix: a hole means a chunk was skipped. */
	if (c->offset <= st->tmp_len && c->offset + c->len > st->tmp_len)
		st->tmp_len = c->offset + c->len;
	sim_trace(w, "n%d writes snapshot chunk %llu+%u of %llu%s", slot + 1,
	          (unsigned long long)c->offset, c->len, (unsigned long long)c->meta.size,
	          c->last ? " (last)" : "");
}

static void host_persist_snapshot(struct sim_world *w, int slot, const struct raft_snapshot_meta *m)
{
	struct sim_store *st = &w->nodes[slot].store;
	const struct sim_dentry *d;

	if (m->index == st->snap.index && m->term == st->snap.term)
		return; /* restored: already durable */
	if (m->index < st->snap.index) {
		sim_fail(w, slot, "snapshot", "snapshot %llu older than the durable one at %llu",
		         (unsigned long long)m->index, (unsigned long long)st->snap.index);
		return;
	}
	if (st->tmp == NULL || st->tmp_meta.index != m->index || st->tmp_meta.term != m->term ||
	    st->tmp_len != m->size) {
		sim_fail(w, slot, "snapshot",
		         "installs snapshot %llu before all of its %llu bytes were written",
		         (unsigned long long)m->index, (unsigned long long)m->size);
		return;
	}
	/* The host checks the file against the sender's checksum, which the
	 * core must carry unchanged (persist_snapshot_recv_finish does the same). */
	if (m->crc != (uint32_t)sim_hash_bytes(st->tmp, (size_t)m->size)) {
		sim_fail(w, slot, "snapshot", "snapshot %llu does not match its checksum",
		         (unsigned long long)m->index);
		return;
	}
	free(st->snap_bytes);
	st->snap_bytes = st->tmp;
	st->tmp = NULL;
	st->tmp_len = 0;
	memset(&st->tmp_meta, 0, sizeof(st->tmp_meta));
	st->snap = *m;
	st->snap_chain = sim_check_chain_lookup(w, m->index, m->term);
	/* raft.h: delete entries <= index, all of them if the entry at index
	 * has another term. */
	d = sim_store_at(st, m->index);
	if (d == NULL || d->term != m->term)
		sim_store_truncate(st, 0);
	sim_store_compact(st, m->index);
}

static void host_persist_entries(struct sim_world *w, int slot, const struct raft_entry *e,
                                 size_t n_e)
{
	struct sim_store *st = &w->nodes[slot].store;
	uint64_t chain, term;

	sim_trace(w, "n%d persists entries %llu..%llu (term %llu..%llu)", slot + 1,
	          (unsigned long long)e[0].index, (unsigned long long)e[n_e - 1].index,
	          (unsigned long long)e[0].term, (unsigned long long)e[n_e - 1].term);
	sim_check_entries(w, slot, e, n_e);
	if (w->failed)
		return;
	sim_store_truncate(st, e[0].index);
	chain = e[0].index == 1 ? 0 : sim_store_chain_at(st, e[0].index - 1);
	if (chain == 0 && e[0].index > 1 && raft_term_at(w->nodes[slot].r, e[0].index - 1, &term))
		chain = sim_check_chain_lookup(w, e[0].index - 1, term);
	if (w->brk == SIM_BREAK_LYING_DISK && n_e > 1)
		n_e--;
	for (size_t i = 0; i < n_e; i++) {
		chain = sim_check_chain(w, slot, &e[i], chain);
		sim_store_append(st, &e[i], chain);
	}
}

static void host_persist(struct sim_world *w, int slot, const struct raft_ready *rd)
{
	struct sim_store *st = &w->nodes[slot].store;

	if (rd->hs_changed) {
		sim_check_hard_state(w, slot, &rd->hs);
		st->hs = rd->hs;
	}
	if (rd->snap_chunk != NULL)
		host_write_chunk(w, slot, rd->snap_chunk);
	if (rd->snapshot != NULL && !w->failed)
		host_persist_snapshot(w, slot, rd->snapshot);
	if (rd->n_entries > 0 && !w->failed) {
		host_persist_entries(w, slot, rd->entries, rd->n_entries);
	}
}

/* 2. Send ------------------------------------------------------------------------- */

static void host_send(struct sim_world *w, int slot, const struct raft_msg *m)
{
	struct sim_store *st = &w->nodes[slot].store;
	struct raft_msg out = *m;

	sim_check_send(w, slot, m);
	if (m->type == RAFT_MSG_SNAPSHOT && m->data == NULL) {
		/* raft.h: the host reads the chunk from its snapshot for snap. */
		if (m->snap.index != st->snap.index || m->snap.term != st->snap.term ||
		    m->offset > st->snap.size || m->len > st->snap.size - m->offset) {
			sim_fail(
			    w, slot, "snapshot",
			    "sends chunk %llu+%u of snapshot %llu/%llu; the host has %llu/%llu",
			    (unsigned long long)m->offset, m->len,
			    (unsigned long long)m->snap.index, (unsigned long long)m->snap.term,
			    (unsigned long long)st->snap.index, (unsigned long long)st->snap.term);
			return;
		}
		out.data = m->len > 0 ? st->snap_bytes + m->offset : NULL;
	}
	if (!w->failed)
		sim_net_send(w, &out);
}

/* 3. Apply ------------------------------------------------------------------------ */

static void host_install(struct sim_world *w, int slot, const struct raft_snapshot_meta *m)
{
	struct sim_node *n = &w->nodes[slot];
	struct sim_store *st = &n->store;

	if (m->index == n->applied && m->index == st->snap.index)
		return; /* the restored snapshot is already in the machine */
	if (st->snap.index != m->index || st->snap_bytes == NULL) {
		sim_fail(w, slot, "snapshot", "applies snapshot %llu that is not durable",
		         (unsigned long long)m->index);
		return;
	}
	if (w->sm_ops->restore(n->sm, st->snap_bytes, (size_t)st->snap.size) != 0) {
		sim_fail(w, slot, "snapshot",
		         "snapshot %llu does not restore (torn or misassembled)",
		         (unsigned long long)m->index);
		return;
	}
	sim_check_snapshot_install(w, slot, m->index, w->sm_ops->hash(n->sm));
	sim_trace(w, "n%d installs snapshot at %llu", slot + 1, (unsigned long long)m->index);
	n->applied = m->index;
	n->conf_applied = m->conf;
}

static void host_apply(struct sim_world *w, int slot, const struct raft_entry *e)
{
	struct sim_node *n = &w->nodes[slot];
	struct raft_conf conf;

	if (e->index != n->applied + 1) {
		sim_check_apply(w, slot, e, 0); /* reports the gap */
		return;
	}
	w->sm_ops->apply(n->sm, e);
	sim_check_apply(w, slot, e, w->sm_ops->hash(n->sm));
	n->applied = e->index;
	if (w->sm_ops->verdict != NULL) {
		char why[512];
		const char *bad = w->sm_ops->verdict(n->sm, why, sizeof(why));

		if (bad != NULL) {
			sim_fail(w, slot, bad, "%s", why);
			return;
		}
	}
	if (e->type == RAFT_ENTRY_CONF) {
		if (raft_conf_decode(e->data, e->len, &conf) != RAFT_OK) {
			sim_fail(w, slot, "membership", "committed CONF entry %llu does not decode",
			         (unsigned long long)e->index);
			return;
		}
		n->conf_applied = conf;
		if (e->index > w->check.conf_index) {
			w->check.conf = conf;
			w->check.conf_index = e->index;
		}
	}
	sim_client_applied(w, slot, e);
}

static enum host_crash host_crash_point(struct sim_world *w)
{
	if (w->phase != SIM_FAULTS || !sim_chance(&w->rng, w->p.crash))
		return HOST_NO_CRASH;
	return (enum host_crash)(1 + sim_below(&w->rng, 3));
}

/* One ready; false if the node crashed in it. */
static bool host_ready_once(struct sim_world *w, int slot)
{
	struct sim_node *n = &w->nodes[slot];
	enum host_crash crash = host_crash_point(w);
	struct raft_ready rd;
	size_t cut;

	raft_ready(n->r, &rd);
	if (rd.msgs_early || w->brk == SIM_BREAK_SEND_FIRST) {
		/* Sent before the persist: a crash may strike in between. */
		for (size_t i = 0; i < rd.n_msgs && !w->failed; i++)
			host_send(w, slot, &rd.msgs[i]);
		rd.n_msgs = 0;
	}
	if (crash == HOST_CRASH_BEFORE_PERSIST)
		goto crashed;
	host_persist(w, slot, &rd);
	if (crash == HOST_CRASH_BEFORE_SEND || w->failed)
		goto crashed;
	cut = crash == HOST_CRASH_MID_SEND ? (size_t)sim_below(&w->rng, rd.n_msgs + 1) : rd.n_msgs;
	for (size_t i = 0; i < cut && !w->failed; i++)
		host_send(w, slot, &rd.msgs[i]);
	if (crash == HOST_CRASH_MID_SEND || w->failed)
		goto crashed;
	if (rd.snapshot != NULL)
		host_install(w, slot, rd.snapshot);
	for (size_t i = 0; i < rd.n_committed && !w->failed; i++)
		host_apply(w, slot, &rd.committed[i]);
	for (size_t i = 0; i < rd.n_reads && !w->failed; i++)
		sim_client_read_ready(w, slot, &rd.reads[i]);
	raft_advance(n->r, &rd);
	n->ready_commit = raft_commit_index(n->r);
	sim_client_answer_reads(w, slot);
	sim_check_observe(w, slot);
	return true;

crashed:
	if (!w->failed) {
		sim_trace(w, "n%d crashes inside a ready (stage %d)", slot + 1, (int)crash);
		sim_host_crash(w, slot);
	}
	return false;
}

void sim_host_drain(struct sim_world *w, int slot)
{
	struct sim_node *n = &w->nodes[slot];

	for (int i = 0; n->up && !w->failed && raft_has_ready(n->r); i++) {
		if (i == SIM_MAX_READY_LOOP) {
			sim_fail(w, slot, "ready loop", "still has a ready after %d rounds",
			         SIM_MAX_READY_LOOP);
			return;
		}
		if (!host_ready_once(w, slot))
			return;
	}
}

/* Snapshots --------------------------------------------------------------------- */

void sim_host_maybe_snapshot(struct sim_world *w, int slot)
{
	struct sim_node *n = &w->nodes[slot];
	struct sim_store *st = &n->store;
	struct raft_snapshot_meta meta = {.index = n->applied, .conf = n->conf_applied};
	uint8_t *bytes = NULL;
	size_t len = 0;
	uint64_t dropped;

	if (n->applied < st->snap.index + w->p.snapshot_every || n->applied == 0)
		return;
	if (!raft_term_at(n->r, n->applied, &meta.term)) {
		sim_fail(w, slot, "snapshot", "core does not know the term of applied index %llu",
		         (unsigned long long)n->applied);
		return;
	}
	if (w->sm_ops->snapshot(n->sm, &bytes, &len) != 0)
		return;
	meta.size = len;
	meta.crc = (uint32_t)sim_hash_bytes(bytes, len); /* opaque to the core */
	free(st->snap_bytes);
	st->snap_bytes = bytes;
	st->snap = meta;
	st->snap_chain = sim_store_chain_at(st, meta.index);
	if (st->snap_chain == 0)
		st->snap_chain = sim_check_chain_lookup(w, meta.index, meta.term);
	dropped = raft_snapshot_taken(n->r, &meta, w->p.keep);
	if (dropped > meta.index)
		sim_fail(w, slot, "snapshot",
		         "core drops entries up to %llu past the snapshot %llu",
		         (unsigned long long)dropped, (unsigned long long)meta.index);
	sim_store_compact(st, dropped);
	sim_trace(w, "n%d snapshots at %llu (%zu bytes), log compacted to %llu", slot + 1,
	          (unsigned long long)meta.index, len, (unsigned long long)dropped);
}
