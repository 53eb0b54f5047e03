/* log.c: the in-memory log after its base (a snapshot or compaction point).
 *
 * Entries base+1 .. base+n live in one array and own their payloads. The
 * base's index and term stay known after compaction so that AppendEntries
 * consistency checks at the base still work (thesis 5.1.1).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "raft_private.h"

void log_init(struct raft_log *l)
{
	memset(l, 0, sizeof(*l));
}

static void log_free_range(struct raft_log *l, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		free(l->entries[i].data);
		l->entries[i].data = NULL;
	}
}

void log_free(struct raft_log *l)
{
	log_free_range(l, 0, l->n);
	free(l->entries);
	log_init(l);
}

uint64_t log_last(const struct raft_log *l)
{
	return l->base + l->n;
}

uint64_t log_last_term(const struct raft_log *l)
{
	return l->n ? l->entries[l->n - 1].term : l->base_term;
}

bool log_term_at(const struct raft_log *l, uint64_t index, uint64_t *term)
{
	if (index == l->base) {
		*term = l->base_term;
		return true;
	}
	if (index < l->base || index > log_last(l)) {
		return false;
	}
	*term = l->entries[index - l->base - 1].term;
	return true;
}

struct raft_entry *log_at(const struct raft_log *l, uint64_t index)
{
	if (index <= l->base || index > log_last(l)) {
		return NULL;
	}
	return &l->entries[index - l->base - 1];
}

static int log_grow(struct raft_log *l)
{
	size_t cap = l->cap ? l->cap * 2 : 64;
	struct raft_entry *e = realloc(l->entries, cap * sizeof(*e));

	if (e == NULL) {
		return RAFT_ENOMEM;
	}
	l->entries = e;
	l->cap = cap;
	return RAFT_OK;
}

int log_append(struct raft_log *l, const struct raft_entry *e)
{
	struct raft_entry copy = *e;

	assert(e->index == log_last(l) + 1);
	assert(e->term >= log_last_term(l)); /* terms never decrease in a log */
	assert(e->len <= RAFT_MAX_ENTRY_BYTES);
	if (l->n == l->cap && log_grow(l) != RAFT_OK) {
		return RAFT_ENOMEM;
	}
	copy.data = NULL;
	if (e->len > 0) {
		copy.data = malloc(e->len);
		if (copy.data == NULL) {
			return RAFT_ENOMEM;
		}
		memcpy(copy.data, e->data, e->len);
	}
	l->entries[l->n++] = copy;
	return RAFT_OK;
}

void log_truncate(struct raft_log *l, uint64_t index)
{
	assert(index > l->base);
	if (index > log_last(l)) {
		return;
	}
	size_t keep = (size_t)(index - l->base - 1);
	log_free_range(l, keep, l->n);
	l->n = keep;
	if (l->persisted >= index) {
		l->persisted = index - 1;
	}
}

void log_compact(struct raft_log *l, uint64_t index)
{
	uint64_t term;

	if (index <= l->base) {
		return;
	}
	assert(index <= log_last(l));
	bool ok = log_term_at(l, index, &term);
	assert(ok);
	(void)ok;
	size_t drop = (size_t)(index - l->base);
	log_free_range(l, 0, drop);
	memmove(l->entries, l->entries + drop, (l->n - drop) * sizeof(*l->entries));
	l->n -= drop;
	l->base = index;
	l->base_term = term;
	if (l->persisted < index) {
		l->persisted = index;
	}
}

void log_reset(struct raft_log *l, uint64_t index, uint64_t term)
{
	log_free_range(l, 0, l->n);
	l->n = 0;
	l->base = index;
	l->base_term = term;
	l->persisted = index;
}

uint32_t log_batch(const struct raft_log *l, uint64_t from, uint32_t max_bytes)
{
	uint64_t bytes = 0;
	uint32_t n = 0;

	for (uint64_t i = from; i <= log_last(l) && n < RAFT_MAX_MSG_ENTRIES; i++) {
		const struct raft_entry *e = log_at(l, i);
		assert(e != NULL);
		if (n > 0 && bytes + e->len > max_bytes) {
			break;
		}
		bytes += e->len;
		n++;
	}
	return n;
}

bool log_up_to_date(const struct raft_log *l, uint64_t index, uint64_t term)
{
	uint64_t last_term = log_last_term(l);

	return term > last_term || (term == last_term && index >= log_last(l));
}
