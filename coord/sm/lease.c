/* The lease keeper (invariants L-1, L-2 in lease.h). Entries live in a
 * pool that doubles when full (up to COORD_LEASE_MAX); a hash table maps a session id to its pool
 * entry (linear probing with backward-shift deletion, so no tombstones), and a binary min-heap
 * orders the non-expiring entries by (deadline, id) so ties break the same way on every run. */
#include "lease.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define LEASE_NOT_IN_HEAP UINT32_MAX
#define LEASE_NO_ENTRY    UINT32_MAX

/* Session ids are random, but tests and simulators may use counters: mix
 * the bytes (splitmix64 finalizer) so either spreads over the table. */
static size_t leaseHash(const struct coord_lease *l, const struct coord_session_id *id)
{
	uint64_t a, b;

	memcpy(&a, id->bytes, 8);
	memcpy(&b, id->bytes + 8, 8);
	a ^= b * 0x9e3779b97f4a7c15ull;
	a ^= a >> 30;
	a *= 0xbf58476d1ce4e5b9ull;
	a ^= a >> 27;
	a *= 0x94d049bb133111ebull;
	a ^= a >> 31;
	return (size_t)a & (l->slots - 1);
}

/* The table slot holding ID, or the empty slot where it would go. */
static size_t leaseSlot(const struct coord_lease *l, const struct coord_session_id *id)
{
	size_t s = leaseHash(l, id);

	while (l->table[s] != 0 && !coord_session_id_equal(&l->pool[l->table[s] - 1].id, id))
		s = (s + 1) & (l->slots - 1);
	return s;
}

static struct coord_lease_entry *leaseFind(const struct coord_lease *l,
                                           const struct coord_session_id *id)
{
	size_t s = leaseSlot(l, id);

	return l->table[s] == 0 ? NULL : &l->pool[l->table[s] - 1];
}

/* Empties slot S and shifts later entries of its probe run back into it. */
static void leaseTableDelete(struct coord_lease *l, size_t s)
{
	size_t mask = l->slots - 1, j = s;

	l->table[s] = 0;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (l->table[j] == 0)
			return;
		home = leaseHash(l, &l->pool[l->table[j] - 1].id);
		/* Move j back to s unless its home lies cyclically in (s, j]. */
		if (((j - home) & mask) >= ((j - s) & mask)) {
			l->table[s] = l->table[j];
			l->table[j] = 0;
			s = j;
		}
	}
}

/* --- heap ------------------------------------------------------------ */

static bool leaseBefore(const struct coord_lease *l, uint32_t a, uint32_t b)
{
	const struct coord_lease_entry *x = &l->pool[a], *y = &l->pool[b];

	if (x->deadline_ms != y->deadline_ms)
		return x->deadline_ms < y->deadline_ms;
	return memcmp(x->id.bytes, y->id.bytes, COORD_SESSION_ID_LEN) < 0;
}

static void leaseHeapSet(struct coord_lease *l, size_t pos, uint32_t e)
{
	l->heap[pos] = e;
	l->pool[e].heap_pos = (uint32_t)pos;
}

static void leaseSiftUp(struct coord_lease *l, size_t pos)
{
	uint32_t e = l->heap[pos];

	while (pos > 0 && leaseBefore(l, e, l->heap[(pos - 1) / 2])) {
		leaseHeapSet(l, pos, l->heap[(pos - 1) / 2]);
		pos = (pos - 1) / 2;
	}
	leaseHeapSet(l, pos, e);
}

static void leaseSiftDown(struct coord_lease *l, size_t pos)
{
	uint32_t e = l->heap[pos];

	for (;;) {
		size_t c = 2 * pos + 1;

		if (c >= l->heap_n)
			break;
		if (c + 1 < l->heap_n && leaseBefore(l, l->heap[c + 1], l->heap[c]))
			c++;
		if (!leaseBefore(l, l->heap[c], e))
			break;
		leaseHeapSet(l, pos, l->heap[c]);
		pos = c;
	}
	leaseHeapSet(l, pos, e);
}

static void leaseHeapPush(struct coord_lease *l, uint32_t e)
{
	assert(l->heap_n < l->capacity);
	l->heap[l->heap_n] = e;
	l->pool[e].heap_pos = (uint32_t)l->heap_n;
	l->heap_n++;
	leaseSiftUp(l, l->heap_n - 1);
}

static void leaseHeapRemove(struct coord_lease *l, uint32_t e)
{
	size_t pos = l->pool[e].heap_pos;
	uint32_t last;

	assert(pos < l->heap_n && l->heap[pos] == e);
	l->pool[e].heap_pos = LEASE_NOT_IN_HEAP;
	last = l->heap[--l->heap_n];
	if (pos == l->heap_n)
		return;
	leaseHeapSet(l, pos, last);
	leaseSiftUp(l, pos);
	leaseSiftDown(l, l->pool[last].heap_pos);
}

/* --- public ---------------------------------------------------------- */

int coord_lease_init(struct coord_lease *l, size_t capacity)
{
	assert(capacity >= 1 && capacity <= COORD_LEASE_MAX);
	memset(l, 0, sizeof(*l));
	l->capacity = capacity;
	l->slots = 1;
	while (l->slots < 2 * capacity)
		l->slots *= 2;
	/* Zeroed and never written until used: an idle keeper costs no
	 * resident memory, however large its room. */
	l->pool = calloc(capacity, sizeof(*l->pool));
	l->table = calloc(l->slots, sizeof(*l->table));
	l->heap = calloc(capacity, sizeof(*l->heap));
	if (l->pool == NULL || l->table == NULL || l->heap == NULL) {
		coord_lease_free(l);
		return COORD_ENOMEM;
	}
	l->free_head = LEASE_NO_ENTRY;
	return 0;
}

void coord_lease_free(struct coord_lease *l)
{
	free(l->pool);
	free(l->table);
	free(l->heap);
	memset(l, 0, sizeof(*l));
}

void coord_lease_clear(struct coord_lease *l)
{
	if (l->used > 0) /* else the table is still all empty */
		memset(l->table, 0, l->slots * sizeof(*l->table));
	l->used = 0;
	l->free_head = LEASE_NO_ENTRY;
	l->count = 0;
	l->heap_n = 0;
}

/* Doubles a full keeper's room (at most COORD_LEASE_MAX). Pool indexes and
 * heap positions stay; only the table is rebuilt for its new size. Every
 * pool entry is in use, since the keeper is full. */
static int leaseGrow(struct coord_lease *l)
{
	size_t cap = l->capacity * 2 > COORD_LEASE_MAX ? COORD_LEASE_MAX : l->capacity * 2;
	size_t slots = l->slots;
	struct coord_lease_entry *pool;
	uint32_t *heap, *table;

	assert(l->count == l->capacity && l->used == l->capacity && l->free_head == LEASE_NO_ENTRY);
	if (cap <= l->capacity)
		return COORD_ELIMIT;
	while (slots < 2 * cap)
		slots *= 2;
	pool = realloc(l->pool, cap * sizeof(*pool));
	if (pool != NULL)
		l->pool = pool;
	heap = realloc(l->heap, cap * sizeof(*heap));
	if (heap != NULL)
		l->heap = heap;
	table = calloc(slots, sizeof(*table));
	if (pool == NULL || heap == NULL || table == NULL) {
		free(table);
		return COORD_ENOMEM;
	}
	free(l->table);
	l->table = table;
	l->slots = slots;
	for (size_t i = 0; i < l->capacity; i++)
		l->table[leaseSlot(l, &l->pool[i].id)] = (uint32_t)i + 1;
	l->capacity = cap;
	return 0;
}

int coord_lease_add(struct coord_lease *l, const struct coord_session_id *id, uint32_t ttl_ms,
                    uint64_t now_ms)
{
	size_t s = leaseSlot(l, id);
	uint32_t e;

	assert(ttl_ms > 0);
	if (l->table[s] != 0)
		return COORD_EEXIST;
	if (l->count == l->capacity) {
		int rv = leaseGrow(l);

		if (rv != 0)
			return rv;
		s = leaseSlot(l, id); /* the table was rebuilt */
	}
	if (l->free_head != LEASE_NO_ENTRY) {
		e = l->free_head;
		l->free_head = l->pool[e].next_free;
	} else {
		assert(l->used < l->capacity);
		e = (uint32_t)l->used++;
	}
	l->pool[e].id = *id;
	l->pool[e].ttl_ms = ttl_ms;
	l->pool[e].deadline_ms = now_ms + ttl_ms;
	l->pool[e].alive_ms = 0;
	l->table[s] = e + 1;
	l->count++;
	leaseHeapPush(l, e);
	return 0;
}

int coord_lease_remove(struct coord_lease *l, const struct coord_session_id *id)
{
	size_t s = leaseSlot(l, id);
	uint32_t e;

	if (l->table[s] == 0)
		return COORD_ENOTFOUND;
	e = l->table[s] - 1;
	if (l->pool[e].heap_pos != LEASE_NOT_IN_HEAP)
		leaseHeapRemove(l, e);
	leaseTableDelete(l, s);
	l->pool[e].next_free = l->free_head;
	l->free_head = e;
	l->count--;
	return 0;
}

int coord_lease_keepalive(struct coord_lease *l, const struct coord_session_id *id, uint64_t now_ms,
                          uint64_t *deadline_ms)
{
	struct coord_lease_entry *en = leaseFind(l, id);

	if (en == NULL)
		return COORD_ENOTFOUND;
	if (en->heap_pos == LEASE_NOT_IN_HEAP)
		return COORD_EEXPIRING; /* rule 8: its expiry is proposed */
	/* L-1: only ever later. */
	if (now_ms + en->ttl_ms > en->deadline_ms) {
		en->deadline_ms = now_ms + en->ttl_ms;
		leaseSiftDown(l, en->heap_pos);
	}
	if (deadline_ms != NULL)
		*deadline_ms = en->deadline_ms;
	return 0;
}

size_t coord_lease_due(struct coord_lease *l, uint64_t now_ms, struct coord_session_id *out,
                       size_t max)
{
	size_t n = 0;

	while (n < max && l->heap_n > 0 && l->pool[l->heap[0]].deadline_ms <= now_ms) {
		uint32_t e = l->heap[0];

		out[n++] = l->pool[e].id;
		leaseHeapRemove(l, e); /* L-2: expiring, returned once */
	}
	return n;
}

/* Every tracked deadline anew: ANCHORS' + SLACK_MS where it holds the
 * session, else NOW_MS + ttl (ANCHORS NULL: always); ALIVE times cleared;
 * the heap rebuilt (no entry is expiring any more). */
static void leaseReset(struct coord_lease *l, const struct coord_lease *anchors, uint64_t slack_ms,
                       uint64_t now_ms)
{
	l->heap_n = 0;
	for (size_t s = 0; s < l->slots; s++) {
		const struct coord_lease_entry *a;
		uint32_t e;

		if (l->table[s] == 0)
			continue;
		e = l->table[s] - 1;
		a = anchors != NULL ? leaseFind(anchors, &l->pool[e].id) : NULL;
		l->pool[e].deadline_ms =
		    a != NULL ? a->deadline_ms + slack_ms : now_ms + l->pool[e].ttl_ms;
		l->pool[e].alive_ms = 0;
		leaseHeapSet(l, l->heap_n++, e);
	}
	for (size_t i = l->heap_n / 2; i-- > 0;)
		leaseSiftDown(l, i);
}

void coord_lease_reset_all(struct coord_lease *l, uint64_t now_ms)
{
	leaseReset(l, NULL, 0, now_ms);
}

void coord_lease_reset_from(struct coord_lease *l, const struct coord_lease *anchors,
                            uint64_t slack_ms, uint64_t now_ms)
{
	leaseReset(l, anchors, slack_ms, now_ms);
}

void coord_lease_set_alive(struct coord_lease *l, const struct coord_session_id *id, uint64_t at_ms)
{
	struct coord_lease_entry *en = leaseFind(l, id);

	if (en != NULL && at_ms > en->alive_ms)
		en->alive_ms = at_ms;
}

bool coord_lease_alive_ms(const struct coord_lease *l, const struct coord_session_id *id,
                          uint64_t *at_ms)
{
	const struct coord_lease_entry *en = leaseFind(l, id);

	if (en == NULL || en->alive_ms == 0)
		return false;
	*at_ms = en->alive_ms;
	return true;
}

void coord_lease_extend_all(struct coord_lease *l, uint64_t ms)
{
	/* The same shift for every entry keeps the heap's order. */
	for (size_t i = 0; i < l->heap_n; i++)
		l->pool[l->heap[i]].deadline_ms += ms;
}

bool coord_lease_next_deadline(const struct coord_lease *l, uint64_t *at_ms)
{
	if (l->heap_n == 0)
		return false;
	*at_ms = l->pool[l->heap[0]].deadline_ms;
	return true;
}

bool coord_lease_remaining(const struct coord_lease *l, const struct coord_session_id *id,
                           uint64_t now_ms, uint64_t *left_ms)
{
	const struct coord_lease_entry *en = leaseFind(l, id);

	if (en == NULL)
		return false;
	/* L-2: an expiring session's deadline passed; it has none left. */
	if (en->heap_pos == LEASE_NOT_IN_HEAP || en->deadline_ms <= now_ms)
		*left_ms = 0;
	else
		*left_ms = en->deadline_ms - now_ms;
	return true;
}

size_t coord_lease_count(const struct coord_lease *l)
{
	return l->count;
}
