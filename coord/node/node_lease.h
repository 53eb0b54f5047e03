/* node_lease.h: the lease keeper on the leader (rule 8; node_lease.c). */
#ifndef COORD_NODE_LEASE_H
#define COORD_NODE_LEASE_H

#include "node_internal.h"

/* On a leader whose term has a committed entry, loads every session with a
 * fresh deadline once per term; elsewhere drops the keeper's state. Returns
 * whether the keeper is live (only then may a keepalive be acknowledged). */
bool node_lease_ready(struct node *n, uint64_t now);

/* Tracks session ID in the keeper (its OPEN applied, or the keeper is being
 * loaded); a session that cannot be tracked stops the node (rule 8). */
void node_lease_track(struct node *n, const struct coord_session_id *id, uint32_t ttl_ms,
                      uint64_t now);

/* Reads the limits in force into n->limits: at start, after a LIMITS entry
 * applied, after a snapshot was installed. */
void node_refresh_limits(struct node *n);

/* Once per tick: proposes EXPIRE for sessions whose deadline passed and WAKE
 * when a lock-delay has ended, and this leader's limits once per term. */
void node_lease_tick(struct node *n, uint64_t now);

#endif
