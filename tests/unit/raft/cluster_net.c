/* cluster_net.c: the fixture's network: a queue of deep-copied messages,
 * delivery in order or by position, loss, duplication and cut links. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

/* Snapshot bytes the fixture attaches to SNAPSHOT messages. */
static const uint8_t cl_zeros[RAFT_SNAPSHOT_CHUNK];

void cl_msg_free(struct raft_msg *m)
{
	for (uint32_t i = 0; i < m->n_entries; i++) {
		free(m->entries[i].data);
	}
	free(m->entries);
	m->entries = NULL;
}

void cl_enqueue(struct cluster *c, const struct raft_msg *m)
{
	struct raft_msg copy = *m;

	if (c->cut[m->from][m->to] || c->nq >= CL_MAX_QUEUE) {
		return;
	}
	if (m->n_entries > 0) {
		copy.entries = calloc(m->n_entries, sizeof(*copy.entries));
		assert_non_null(copy.entries);
		for (uint32_t i = 0; i < m->n_entries; i++) {
			copy.entries[i] = cl_entry_copy(&m->entries[i]);
		}
	}
	if (m->type == RAFT_MSG_APPEND) {
		uint64_t bytes = 0;
		for (uint32_t i = 0; i < m->n_entries; i++) {
			bytes += m->entries[i].len;
		}
		if (m->n_entries > c->max_append_entries) {
			c->max_append_entries = m->n_entries;
		}
		if (m->n_entries > 1 && bytes > c->max_append_bytes) {
			c->max_append_bytes = bytes; /* one entry may exceed the cap */
		}
	}
	if (m->type == RAFT_MSG_SNAPSHOT) {
		copy.data = cl_zeros; /* the host attaches the chunk's bytes */
	}
	c->queue[c->nq++].m = copy;
}

static bool cl_match(const struct raft_msg *m, int type, uint64_t from, uint64_t to)
{
	return (type == 0 || m->type == type) && (from == 0 || m->from == from) &&
	       (to == 0 || m->to == to);
}

static void cl_remove(struct cluster *c, size_t i)
{
	cl_msg_free(&c->queue[i].m);
	memmove(&c->queue[i], &c->queue[i + 1], (c->nq - i - 1) * sizeof(*c->queue));
	c->nq--;
}

void cl_deliver_at(struct cluster *c, size_t i)
{
	struct raft_msg m = c->queue[i].m;

	assert_true(i < c->nq);
	c->queue[i].m.entries = NULL;
	c->queue[i].m.n_entries = 0;
	cl_remove(c, i);
	if (c->nodes[m.to].up && !c->cut[m.from][m.to]) {
		c->delivered[m.type]++;
		c->rejected[m.type] += m.reject;
		raft_step(c->nodes[m.to].r, &m);
		cl_ready(c, m.to);
	}
	cl_msg_free(&m);
}

void cl_duplicate_at(struct cluster *c, size_t i)
{
	assert_true(i < c->nq);
	cl_enqueue(c, &c->queue[i].m);
}

bool cl_deliver_one(struct cluster *c, int type, uint64_t from, uint64_t to)
{
	cl_ready_all(c);
	for (size_t i = 0; i < c->nq; i++) {
		if (cl_match(&c->queue[i].m, type, from, to)) {
			cl_deliver_at(c, i);
			return true;
		}
	}
	return false;
}

size_t cl_deliver_all(struct cluster *c)
{
	size_t n = 0;

	while (cl_deliver_one(c, 0, 0, 0)) {
		n++;
		assert_true(n < 100000); /* no message storm */
	}
	return n;
}

size_t cl_drop(struct cluster *c, int type, uint64_t from, uint64_t to)
{
	size_t n = 0;

	cl_ready_all(c);
	for (size_t i = 0; i < c->nq;) {
		if (cl_match(&c->queue[i].m, type, from, to)) {
			cl_remove(c, i);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

size_t cl_count(const struct cluster *c, int type, uint64_t from, uint64_t to)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nq; i++) {
		n += cl_match(&c->queue[i].m, type, from, to);
	}
	return n;
}

const struct raft_msg *cl_find(const struct cluster *c, int type, uint64_t from, uint64_t to)
{
	for (size_t i = 0; i < c->nq; i++) {
		if (cl_match(&c->queue[i].m, type, from, to)) {
			return &c->queue[i].m;
		}
	}
	return NULL;
}

void cl_cut(struct cluster *c, uint64_t a, uint64_t b)
{
	c->cut[a][b] = true;
	c->cut[b][a] = true;
}

void cl_isolate(struct cluster *c, uint64_t id)
{
	for (uint64_t other = 1; other <= CL_MAX_NODES; other++) {
		if (other != id) {
			cl_cut(c, id, other);
		}
	}
}

void cl_heal(struct cluster *c)
{
	memset(c->cut, 0, sizeof(c->cut));
}
