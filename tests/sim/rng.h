/* rng.h: the simulator's generator (xoshiro256**, seeded with splitmix64)
 * and two hash helpers. Every random choice of a seed comes from one of
 * these generators, which is what makes a seed replay exactly. */
#ifndef COORD_SIM_RNG_H
#define COORD_SIM_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_rng {
	uint64_t s[4];
};

void sim_rng_seed(struct sim_rng *g, uint64_t seed);
uint64_t sim_rand(struct sim_rng *g);
/* Uniform in [0, n); n > 0. */
uint64_t sim_below(struct sim_rng *g, uint64_t n);
/* True with probability per_mille / 1000. */
bool sim_chance(struct sim_rng *g, unsigned per_mille);
/* A 64-bit mix of A and B (hash chains, fingerprints). */
uint64_t sim_mix(uint64_t a, uint64_t b);
uint64_t sim_hash_bytes(const void *data, size_t len);

#endif
