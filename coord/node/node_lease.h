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

/* Rule 8's anchors, kept on every node (n->anchors): when this node applied
 * each session's last OPEN or ALIVE entry. node_lease_anchor_all() sets
 * every live session's anchor to now (at start, after a snapshot install:
 * later than the truth, which is safe); node_lease_applied() follows each
 * applied OPEN, ALIVE and session end (R is the entry's result, DATA its
 * LEN bytes), and tracks an OPEN's session in a live keeper. */
void node_lease_anchor_all(struct node *n);
void node_lease_applied(struct node *n, uint64_t index, uint64_t term, const struct coord_result *r,
                        const void *data, size_t len);

/* The leader's keepalive of session ID, confirmed at C->alive_at (or NOW on
 * its first pass) and already counted by the keeper: true when it may be
 * acknowledged now, because this leader proposed an ALIVE entry naming ID
 * at most NODE_ALIVE_EVERY(n) before the keepalive was confirmed and saw it
 * applied. Otherwise C joins this turn's ALIVE batch and waits (W_APPLY)
 * for that entry to apply, or is answered 503 when the batch is full. */
bool node_lease_alive(struct node *n, struct ncall *c, const struct coord_session_id *id,
                      uint64_t now);

/* Proposes this turn's ALIVE batch, one entry, and points the keepalives
 * waiting for it at its index; called once per turn of the loop, before
 * the core's ready is taken. */
void node_lease_flush_alive(struct node *n);

/* Reads the limits in force into n->limits: at start, after a LIMITS entry
 * applied, after a snapshot was installed. */
void node_refresh_limits(struct node *n);

/* Once per tick: proposes EXPIRE for sessions whose deadline passed and WAKE
 * when a lock-delay has ended, and this leader's limits once per term. */
void node_lease_tick(struct node *n, uint64_t now);

#endif
