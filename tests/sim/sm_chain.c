/* sm_chain.c: the toy state machine, a hash chain over every applied entry.
 *
 * State: the last applied index, a chain hash folding in each entry's index,
 * term, type and data, and the count of NORMAL entries. Two nodes agree on
 * the hash at an index iff they applied the same sequence up to it.
 *
 * A snapshot is {magic, index, hash, count, pad_len, pad, checksum}, with
 * pad_len bytes derived from the hash, so that large snapshots exercise
 * chunked InstallSnapshot and a torn or misassembled snapshot is caught by
 * restore().
 */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define CHAIN_MAGIC   0x6368616eu /* "chan" */
#define CHAIN_HEADER  40u         /* magic, index, hash, count, pad_len: u64 each */
#define CHAIN_MAX_PAD (8u << 20)

struct sim_sm {
	uint64_t index, hash, count;
	size_t pad;
};

static struct sim_sm *chain_create(size_t snapshot_pad)
{
	struct sim_sm *sm = calloc(1, sizeof(*sm));

	if (sm != NULL)
		sm->pad = snapshot_pad < CHAIN_MAX_PAD ? snapshot_pad : CHAIN_MAX_PAD;
	return sm;
}

static void chain_destroy(struct sim_sm *sm)
{
	free(sm);
}

static int chain_apply(struct sim_sm *sm, const struct raft_entry *e)
{
	uint64_t h = sim_mix(sm->hash, e->index);

	h = sim_mix(h, e->term);
	h = sim_mix(h, e->type);
	h = sim_mix(h, sim_hash_bytes(e->data, e->len));
	sm->hash = h;
	sm->index = e->index;
	if (e->type == RAFT_ENTRY_NORMAL)
		sm->count++;
	return 0;
}

static void chain_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t chain_get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* The padding is a pure function of the state, so restore can verify it. */
static void chain_fill_pad(uint8_t *p, size_t n, uint64_t hash)
{
	uint64_t x = hash;

	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0)
			x = sim_mix(x, i);
		p[i] = (uint8_t)(x >> (8 * (i % 8)));
	}
}

static int chain_snapshot(const struct sim_sm *sm, uint8_t **bytes, size_t *len)
{
	size_t n = CHAIN_HEADER + sm->pad + 8;
	uint8_t *p = malloc(n);

	if (p == NULL)
		return RAFT_ENOMEM;
	chain_put64(p, CHAIN_MAGIC);
	chain_put64(p + 8, sm->index);
	chain_put64(p + 16, sm->hash);
	chain_put64(p + 24, sm->count);
	chain_put64(p + 32, sm->pad);
	chain_fill_pad(p + CHAIN_HEADER, sm->pad, sm->hash);
	chain_put64(p + CHAIN_HEADER + sm->pad, sim_hash_bytes(p, CHAIN_HEADER + sm->pad));
	*bytes = p;
	*len = n;
	return 0;
}

static int chain_restore(struct sim_sm *sm, const uint8_t *bytes, size_t len)
{
	uint8_t *want;
	uint64_t pad;
	int bad;

	if (len < CHAIN_HEADER + 8 || chain_get64(bytes) != CHAIN_MAGIC)
		return RAFT_EINVAL;
	pad = chain_get64(bytes + 32);
	if (pad > CHAIN_MAX_PAD || len != CHAIN_HEADER + pad + 8)
		return RAFT_EINVAL;
	if (chain_get64(bytes + CHAIN_HEADER + pad) != sim_hash_bytes(bytes, CHAIN_HEADER + pad))
		return RAFT_EINVAL;
	want = malloc(pad + 1);
	if (want == NULL)
		return RAFT_ENOMEM;
	chain_fill_pad(want, pad, chain_get64(bytes + 16));
	bad = memcmp(want, bytes + CHAIN_HEADER, pad);
	free(want);
	if (bad != 0)
		return RAFT_EINVAL;
	sm->index = chain_get64(bytes + 8);
	sm->hash = chain_get64(bytes + 16);
	sm->count = chain_get64(bytes + 24);
	return 0;
}

static uint64_t chain_hash(const struct sim_sm *sm)
{
	return sim_mix(sim_mix(sm->hash, sm->index), sm->count);
}

/* A command: its sequence number, then bytes drawn from G. */
static size_t chain_command(struct sim_rng *g, uint64_t seq, uint8_t *buf, size_t cap)
{
	size_t len = 8 + (size_t)sim_below(g, cap - 8 + 1);

	chain_put64(buf, seq);
	for (size_t i = 8; i < len; i++)
		buf[i] = (uint8_t)sim_rand(g);
	return len;
}

const struct sim_sm_ops sim_sm_chain = {
    .name = "chain",
    .create = chain_create,
    .destroy = chain_destroy,
    .apply = chain_apply,
    .snapshot = chain_snapshot,
    .restore = chain_restore,
    .hash = chain_hash,
    .command = chain_command,
};
