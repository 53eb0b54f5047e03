/* The latency histogram: HDR-style logarithmic buckets with 64 linear
 * sub-buckets per power of two, so percentiles carry at most 1.6 % error
 * whatever the spread of latencies, in fixed memory (BENCH_HIST_BUCKETS). */
#include <assert.h>

#include "bench.h"

#define SUB (1u << BENCH_HIST_SUB_BITS)

static int msb(uint64_t v)
{
	assert(v != 0);
	return 63 - __builtin_clzll(v);
}

/* Values below 2*SUB map to themselves; above, v >> shift lies in
 * [SUB, 2*SUB) and the bucket is SUB*(shift+1) + (v >> shift) - SUB. */
static unsigned bucket_of(uint64_t v)
{
	if (v < 2 * SUB) {
		return (unsigned)v;
	}
	int shift = msb(v) - BENCH_HIST_SUB_BITS;
	if (shift > BENCH_HIST_MAX_SHIFT) {
		return BENCH_HIST_BUCKETS - 1;
	}
	return SUB * (unsigned)(shift + 1) + (unsigned)(v >> shift) - SUB;
}

/* The largest value that falls into bucket B (what a percentile reports,
 * so it never understates a latency). */
static uint64_t bucket_high(unsigned b)
{
	if (b < 2 * SUB) {
		return b;
	}
	unsigned shift = b / SUB - 1;
	uint64_t low = (uint64_t)(SUB + b % SUB) << shift;
	return low + ((uint64_t)1 << shift) - 1;
}

void bench_hist_record(struct bench_hist *h, uint64_t us)
{
	h->counts[bucket_of(us)]++;
	h->total++;
	if (us > h->max_us) {
		h->max_us = us;
	}
}

uint64_t bench_hist_percentile(const struct bench_hist *h, double pct)
{
	assert(pct >= 0.0 && pct <= 100.0);
	if (h->total == 0) {
		return 0;
	}
	/* The rank of the value sought, 1-based: ceil(pct% of total), at least 1. */
	uint64_t rank = (uint64_t)((pct / 100.0) * (double)h->total + 0.999999);
	if (rank < 1) {
		rank = 1;
	}
	uint64_t seen = 0;
	for (unsigned b = 0; b < BENCH_HIST_BUCKETS; b++) {
		seen += h->counts[b];
		if (seen >= rank) {
			uint64_t v = bucket_high(b);
			return v < h->max_us ? v : h->max_us;
		}
	}
	return h->max_us;
}
