/* rng.c: the generator and the hash helpers of rng.h. */
#include "rng.h"

static uint64_t rng_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *g, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		g->s[i] = rng_splitmix(&seed);
}

static uint64_t rng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t sim_rand(struct sim_rng *g)
{
	uint64_t *s = g->s;
	uint64_t result = rng_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rng_rotl(s[3], 45);
	return result;
}

uint64_t sim_below(struct sim_rng *g, uint64_t n)
{
	return n <= 1 ? 0 : sim_rand(g) % n;
}

bool sim_chance(struct sim_rng *g, unsigned per_mille)
{
	return sim_below(g, 1000) < per_mille;
}

uint64_t sim_mix(uint64_t a, uint64_t b)
{
	uint64_t x = a ^ (b + 0x9e3779b97f4a7c15ull + (a << 6) + (a >> 2));

	return rng_splitmix(&x);
}

uint64_t sim_hash_bytes(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return sim_mix(h, len);
}
