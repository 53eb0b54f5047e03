/* cluster.c: the in-memory cluster fixture (see cluster.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

struct raft_entry cl_entry_copy(const struct raft_entry *e)
{
	struct raft_entry c = *e;

	c.data = NULL;
	if (e->len > 0) {
		c.data = malloc(e->len);
		assert_non_null(c.data);
		memcpy(c.data, e->data, e->len);
	}
	return c;
}

static struct raft_conf cl_bootstrap_conf(size_t n, size_t voters)
{
	struct raft_conf conf;

	memset(&conf, 0, sizeof(conf));
	conf.n = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		conf.servers[i].id = i + 1;
		conf.servers[i].role = i < voters ? RAFT_VOTER : RAFT_LEARNER;
		conf.servers[i].old_role = conf.servers[i].role;
		snprintf(conf.servers[i].addr, RAFT_ADDR_MAX, "node%zu", i + 1);
	}
	return conf;
}

static void cl_start(struct cluster *c, uint64_t id)
{
	struct cl_node *nd = &c->nodes[id];
	struct raft_restore rs = {
	    .hs = nd->hs, .snapshot = nd->snap, .n_entries = nd->n_log, .entries = nd->log};

	nd->r = raft_new(&nd->cfg, &rs);
	assert_non_null(nd->r);
	nd->up = true;
	nd->n_applied = 0;
	nd->applied_index = nd->snap.index;
	nd->n_reads = 0;
}

static void cl_config(struct cluster *c, uint64_t id, const struct cl_options *opt)
{
	struct cl_node *nd = &c->nodes[id];

	memset(&nd->cfg, 0, sizeof(nd->cfg));
	nd->cfg.id = id;
	nd->cfg.election_ticks = CL_ELECTION_TICKS;
	nd->cfg.heartbeat_ticks = CL_HEARTBEAT_TICKS;
	nd->cfg.seed = 1000 + id;
	nd->cfg.pre_vote = opt->pre_vote;
	nd->cfg.check_quorum = opt->check_quorum;
	nd->cfg.max_inflight = opt->max_inflight;
	nd->cfg.max_msg_bytes = opt->max_msg_bytes;
}

void cl_init(struct cluster *c, size_t n, const struct cl_options *opt)
{
	static const struct cl_options defaults;
	uint8_t buf[RAFT_CONF_MAX_BYTES];
	struct raft_entry boot;

	assert_true(n >= 1 && n <= CL_MAX_NODES);
	opt = opt ? opt : &defaults;
	memset(c, 0, sizeof(*c));
	c->n = n;
	c->queue = calloc(CL_MAX_QUEUE, sizeof(*c->queue));
	assert_non_null(c->queue);
	struct raft_conf conf = cl_bootstrap_conf(n, opt->voters ? opt->voters : n);
	assert_int_equal(raft_bootstrap_entry(&conf, buf, &boot), RAFT_OK);
	for (uint64_t id = 1; id <= n; id++) {
		struct cl_node *nd = &c->nodes[id];
		cl_config(c, id, opt);
		nd->hs.term = 1;
		nd->log = calloc(1, sizeof(*nd->log));
		nd->log[0] = cl_entry_copy(&boot);
		nd->n_log = 1;
		cl_start(c, id);
	}
}

void cl_add_node(struct cluster *c, uint64_t id)
{
	static const struct cl_options defaults;

	assert_true(id == c->n + 1 && id <= CL_MAX_NODES);
	c->n = id;
	cl_config(c, id, &defaults);
	c->nodes[id].cfg.pre_vote = c->nodes[1].cfg.pre_vote;
	c->nodes[id].cfg.check_quorum = c->nodes[1].cfg.check_quorum;
	cl_start(c, id);
}

static void cl_log_free(struct cl_node *nd)
{
	for (size_t i = 0; i < nd->n_log; i++) {
		free(nd->log[i].data);
	}
	free(nd->log);
	nd->log = NULL;
	nd->n_log = 0;
}

void cl_free(struct cluster *c)
{
	for (uint64_t id = 1; id <= c->n; id++) {
		raft_free(c->nodes[id].r);
		cl_log_free(&c->nodes[id]);
	}
	for (size_t i = 0; i < c->nq; i++) {
		cl_msg_free(&c->queue[i].m);
	}
	free(c->queue);
}

struct raft *cl_raft(struct cluster *c, uint64_t id)
{
	assert_true(id >= 1 && id <= c->n && c->nodes[id].up);
	return c->nodes[id].r;
}

/* Persist step of the host loop: the durable store follows the ready. */
static void cl_persist(struct cl_node *nd, const struct raft_ready *rd)
{
	if (rd->hs_changed) {
		nd->hs = rd->hs;
	}
	if (rd->snap_chunk != NULL) {
		nd->chunks++;
	}
	if (rd->snapshot != NULL) {
		const struct raft_snapshot_meta *s = rd->snapshot;
		size_t keep = 0;
		for (size_t i = 0; i < nd->n_log; i++) {
			if (nd->log[i].index == s->index && nd->log[i].term == s->term) {
				keep = i + 1;
			}
		}
		for (size_t i = 0; i < keep; i++) {
			free(nd->log[i].data);
		}
		if (keep == 0) {
			cl_log_free(nd);
		} else {
			memmove(nd->log, nd->log + keep, (nd->n_log - keep) * sizeof(*nd->log));
			nd->n_log -= keep;
		}
		nd->snap = *s;
	}
	if (rd->n_entries == 0) {
		return;
	}
	uint64_t first = rd->entries[0].index;
	while (nd->n_log > 0 && nd->log[nd->n_log - 1].index >= first) {
		free(nd->log[--nd->n_log].data);
	}
	assert_int_equal(first, nd->n_log ? nd->log[nd->n_log - 1].index + 1 : nd->snap.index + 1);
	nd->log = realloc(nd->log, (nd->n_log + rd->n_entries) * sizeof(*nd->log));
	assert_non_null(nd->log);
	for (size_t i = 0; i < rd->n_entries; i++) {
		nd->log[nd->n_log++] = cl_entry_copy(&rd->entries[i]);
	}
}

static void cl_apply(struct cluster *c, struct cl_node *nd, const struct raft_ready *rd)
{
	if (rd->snapshot != NULL) {
		nd->applied_index = rd->snapshot->index;
		nd->n_applied = 0; /* the state machine is replaced */
	}
	for (size_t i = 0; i < rd->n_committed; i++) {
		const struct raft_entry *e = &rd->committed[i];
		if (e->index <= nd->applied_index) {
			continue; /* replayed after a restart */
		}
		assert_int_equal(e->index, nd->applied_index + 1);
		if (e->index < CL_MAX_CANON) {
			if (c->canon[e->index] == 0) {
				c->canon[e->index] = e->term;
			}
			assert_int_equal(c->canon[e->index], e->term);
		}
		if (nd->n_applied < CL_MAX_APPLIED) {
			nd->applied[nd->n_applied] = *e;
			nd->applied[nd->n_applied].data = NULL;
			nd->n_applied++;
		}
		nd->applied_index = e->index;
	}
	for (size_t i = 0; i < rd->n_reads && nd->n_reads < CL_MAX_READS; i++) {
		nd->reads[nd->n_reads++] = rd->reads[i];
	}
}

void cl_ready(struct cluster *c, uint64_t id)
{
	struct cl_node *nd = &c->nodes[id];
	struct raft_ready rd;

	if (!nd->up || c->hold[id]) {
		return;
	}
	while (raft_has_ready(nd->r)) {
		raft_ready(nd->r, &rd);
		cl_persist(nd, &rd);
		for (size_t i = 0; i < rd.n_msgs; i++) {
			cl_enqueue(c, &rd.msgs[i]);
		}
		cl_apply(c, nd, &rd);
		raft_advance(nd->r, &rd);
	}
}

void cl_ready_all(struct cluster *c)
{
	for (uint64_t id = 1; id <= c->n; id++) {
		cl_ready(c, id);
	}
}

void cl_tick(struct cluster *c, uint64_t id, unsigned ticks)
{
	for (unsigned i = 0; i < ticks; i++) {
		raft_tick(cl_raft(c, id));
		cl_ready(c, id);
	}
}

void cl_tick_all(struct cluster *c, unsigned ticks)
{
	for (unsigned t = 0; t < ticks; t++) {
		for (uint64_t id = 1; id <= c->n; id++) {
			if (c->nodes[id].up) {
				raft_tick(c->nodes[id].r);
			}
		}
		cl_deliver_all(c);
	}
}

void cl_elect(struct cluster *c, uint64_t id)
{
	struct raft *r = cl_raft(c, id);

	for (unsigned i = 0; i < 4 * CL_ELECTION_TICKS && raft_role(r) == RAFT_FOLLOWER; i++) {
		raft_tick(r);
	}
	cl_deliver_all(c);
	assert_int_equal(raft_role(r), RAFT_LEADER);
}

void cl_campaign(struct cluster *c, uint64_t id)
{
	struct raft *r = cl_raft(c, id);

	for (unsigned i = 0; i < 4 * CL_ELECTION_TICKS && raft_role(r) == RAFT_FOLLOWER; i++) {
		cl_tick(c, id, 1);
	}
	while (cl_deliver_one(c, RAFT_MSG_PREVOTE, 0, 0) ||
	       cl_deliver_one(c, RAFT_MSG_PREVOTE_RESP, 0, 0) ||
	       cl_deliver_one(c, RAFT_MSG_VOTE, 0, 0) ||
	       cl_deliver_one(c, RAFT_MSG_VOTE_RESP, 0, 0)) {
	}
	assert_int_equal(raft_role(r), RAFT_LEADER);
}

uint64_t cl_leader(const struct cluster *c)
{
	uint64_t best = 0, term = 0;

	for (uint64_t id = 1; id <= c->n; id++) {
		const struct cl_node *nd = &c->nodes[id];
		if (nd->up && raft_role(nd->r) == RAFT_LEADER && raft_term(nd->r) >= term) {
			best = id;
			term = raft_term(nd->r);
		}
	}
	return best;
}

uint64_t cl_propose(struct cluster *c, uint64_t id, const char *text)
{
	uint64_t index = 0;

	assert_int_equal(raft_propose(cl_raft(c, id), text, strlen(text), &index, NULL), RAFT_OK);
	cl_ready(c, id);
	return index;
}

/* Drops durable entries <= INDEX (they are in the snapshot). */
static void cl_log_drop_to(struct cl_node *nd, uint64_t index)
{
	size_t drop = 0;

	while (drop < nd->n_log && nd->log[drop].index <= index) {
		free(nd->log[drop++].data);
	}
	memmove(nd->log, nd->log + drop, (nd->n_log - drop) * sizeof(*nd->log));
	nd->n_log -= drop;
}

uint64_t cl_snapshot(struct cluster *c, uint64_t id, uint64_t size, uint64_t keep)
{
	struct raft *r = cl_raft(c, id);
	struct raft_snapshot_meta meta = {.index = raft_applied_index(r), .size = size};

	meta.crc = (uint32_t)(meta.index * 2654435761u); /* opaque to the core */
	if (meta.index <= c->nodes[id].snap.index) {
		return raft_first_index(r) - 1;
	}
	assert_true(raft_term_at(r, meta.index, &meta.term));
	meta.conf = *raft_conf(r);
	c->nodes[id].snap = meta; /* durable before the core hears of it */
	cl_log_drop_to(&c->nodes[id], meta.index);
	return raft_snapshot_taken(r, &meta, keep);
}

void cl_crash(struct cluster *c, uint64_t id)
{
	struct cl_node *nd = &c->nodes[id];

	assert_true(nd->up);
	raft_free(nd->r);
	nd->r = NULL;
	nd->up = false;
}

void cl_restart(struct cluster *c, uint64_t id)
{
	assert_false(c->nodes[id].up);
	cl_start(c, id);
}

void cl_check_applied(const struct cluster *c)
{
	for (uint64_t a = 1; a <= c->n; a++) {
		for (uint64_t b = a + 1; b <= c->n; b++) {
			const struct cl_node *x = &c->nodes[a], *y = &c->nodes[b];
			for (size_t i = 0; i < x->n_applied; i++) {
				for (size_t j = 0; j < y->n_applied; j++) {
					if (x->applied[i].index == y->applied[j].index) {
						assert_int_equal(x->applied[i].term,
						                 y->applied[j].term);
					}
				}
			}
		}
	}
}

uint64_t cl_durable_term(const struct cluster *c, uint64_t id, uint64_t index)
{
	const struct cl_node *nd = &c->nodes[id];

	for (size_t i = 0; i < nd->n_log; i++) {
		if (nd->log[i].index == index) {
			return nd->log[i].term;
		}
	}
	return index == nd->snap.index ? nd->snap.term : 0;
}

uint64_t cl_durable_last(const struct cluster *c, uint64_t id)
{
	const struct cl_node *nd = &c->nodes[id];

	return nd->n_log ? nd->log[nd->n_log - 1].index : nd->snap.index;
}
