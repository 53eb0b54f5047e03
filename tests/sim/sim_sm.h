/* sim_sm.h: the state machine the simulator applies committed entries to.
 *
 * Pluggable, so that the coord lock/session machine can run under the
 * simulator later: it only has to apply entries deterministically, turn its
 * state into bytes and back, and fingerprint its state. The simulator checks
 * that every node reaches the same fingerprint after the same index, that a
 * snapshot restores that fingerprint, and that reads see it.
 */
#ifndef COORD_SIM_SM_H
#define COORD_SIM_SM_H

#include <stddef.h>
#include <stdint.h>

#include "raft.h"

struct sim_sm;
struct sim_rng;

struct sim_sm_ops {
	const char *name;
	/* A fresh, empty machine; SNAPSHOT_PAD extra bytes go into each
	 * snapshot (so that snapshots span several InstallSnapshot chunks).
	 * NULL on allocation failure. */
	struct sim_sm *(*create)(size_t snapshot_pad);
	void (*destroy)(struct sim_sm *sm);
	/* Applies E (any entry type; E->index is the next index). Returns 0. */
	int (*apply)(struct sim_sm *sm, const struct raft_entry *e);
	/* The whole state as bytes: *BYTES is malloc()ed, the caller frees. */
	int (*snapshot)(const struct sim_sm *sm, uint8_t **bytes, size_t *len);
	/* Replaces the state with a snapshot's bytes; non-zero if they are
	 * corrupt (the simulator treats that as a violation). */
	int (*restore)(struct sim_sm *sm, const uint8_t *bytes, size_t len);
	/* A fingerprint of the state. */
	uint64_t (*hash)(const struct sim_sm *sm);
	/* Writes a random valid command for a proposal into BUF (at most CAP
	 * bytes) drawing from G; returns its length (> 0). */
	size_t (*command)(struct sim_rng *g, uint64_t seq, uint8_t *buf, size_t cap);
	/* Optional: after each apply, the machine's own invariants. NULL if
	 * they hold; else the invariant's name, with WHY (CAP bytes) saying
	 * what broke. */
	const char *(*verdict)(struct sim_sm *sm, char *why, size_t cap);
};

/* The toy machine: a hash chain over every applied entry. */
extern const struct sim_sm_ops sim_sm_chain;

#endif
