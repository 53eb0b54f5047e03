/* store.c: a node's in-memory "disk". It holds exactly what the host made
 * durable: the hard state, the log (with suffix truncation and prefix
 * compaction), the snapshot, and a snapshot being received. A crash keeps
 * this and loses everything else (the core, unsent messages, the state
 * machine). Entries carry the chain hash the checker computed for them,
 * so log matching can be checked on durable logs. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

void sim_store_free(struct sim_store *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->e[i].data);
	free(s->e);
	free(s->snap_bytes);
	free(s->tmp);
	memset(s, 0, sizeof(*s));
}

uint64_t sim_store_last(const struct sim_store *s)
{
	if (s->n > 0)
		return s->first + s->n - 1;
	return s->snap.index;
}

const struct sim_dentry *sim_store_at(const struct sim_store *s, uint64_t index)
{
	if (s->n == 0 || index < s->first || index >= s->first + s->n)
		return NULL;
	return &s->e[index - s->first];
}

bool sim_store_holds(const struct sim_store *s, uint64_t index, uint64_t term)
{
	const struct sim_dentry *d = sim_store_at(s, index);

	if (d != NULL)
		return d->term == term;
	/* A snapshot holds only committed state, and covers its prefix. */
	return s->snap.index != 0 && index <= s->snap.index;
}

uint64_t sim_store_chain_at(const struct sim_store *s, uint64_t index)
{
	const struct sim_dentry *d = sim_store_at(s, index);

	if (d != NULL)
		return d->chain;
	if (index == s->snap.index)
		return s->snap_chain;
	return 0;
}

void sim_store_truncate(struct sim_store *s, uint64_t index)
{
	while (s->n > 0 && s->first + s->n - 1 >= index) {
		s->n--;
		free(s->e[s->n].data);
		s->e[s->n].data = NULL;
	}
}

void sim_store_append(struct sim_store *s, const struct raft_entry *e, uint64_t chain)
{
	struct sim_dentry *d;

	if (s->n == 0)
		s->first = e->index;
	assert(e->index == s->first + s->n);
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->e = realloc(s->e, s->cap * sizeof(*s->e));
		assert(s->e != NULL);
	}
	d = &s->e[s->n++];
	d->term = e->term;
	d->type = e->type;
	d->len = e->len;
	d->chain = chain;
	d->data = NULL;
	if (e->len > 0) {
		d->data = malloc(e->len);
		assert(d->data != NULL);
		memcpy(d->data, e->data, e->len);
	}
}

void sim_store_compact(struct sim_store *s, uint64_t index)
{
	size_t drop = 0;

	while (drop < s->n && s->first + drop <= index) {
		free(s->e[drop].data);
		drop++;
	}
	if (drop == 0)
		return;
	memmove(s->e, s->e + drop, (s->n - drop) * sizeof(*s->e));
	s->n -= drop;
	s->first += drop;
}
