/* The lease keeper: the leader's per-session deadlines (DESIGN.md, The state
 * machine, Sessions; safety rule 8). Pure logic: time comes in as the
 * caller's monotonic milliseconds, nothing is read from a clock.
 *
 * Invariants:
 *   L-1 A tracked session's deadline is at least (time of the last keepalive
 *       this keeper accepted + ttl), and at least what the last reset gave
 *       it (coord_lease_reset_all: reset time + ttl; coord_lease_reset_from:
 *       its anchor's deadline + slack, or reset time + ttl without one):
 *       keepalive() moves the deadline BEFORE the caller acknowledges the
 *       keepalive, and nothing but a reset moves it back.
 *   L-2 coord_lease_due() returns a session only once its deadline has
 *       passed (deadline <= now), and marks it expiring: it is returned once,
 *       and from then on keepalive() refuses it (COORD_EEXPIRING) until it is
 *       removed or a new term resets every deadline.
 * Together with rule 8's ALIVE entries (node_lease.c): no session is
 * expired sooner than TTL after the last keepalive any leader acknowledged,
 * and a new leader counts from when it applied the session's last ALIVE
 * entry, not afresh, so elections do not extend a dead client's session.
 *
 * A keeper also serves as a table of anchors (every node keeps one, fed
 * only add, keepalive and remove): an anchor's deadline is the time this
 * node applied the session's last OPEN or ALIVE entry + ttl.
 *
 * Lookups are by hash (open addressing), deadlines sit in a binary min-heap:
 * O(1) lookup and O(log n) update per keepalive, no scan. */
#ifndef COORD_LEASE_H
#define COORD_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "command.h"
#include "sm_error.h"

/* Named limit: sessions one keeper tracks (matches COORD_SESSIONS_CEILING,
 * the most any limits in force admit; a keeper starts smaller and grows). */
#define COORD_LEASE_MAX 100000

struct coord_lease_entry {
	struct coord_session_id id;
	uint32_t ttl_ms;
	uint64_t deadline_ms;
	uint64_t alive_ms; /* coord_lease_set_alive(); 0: none since the last reset */
	uint32_t heap_pos; /* LEASE_NOT_IN_HEAP while expiring (or free) */
	uint32_t next_free;
};

/* Owned by one thread (the node loop). Fields are private. */
struct coord_lease {
	size_t capacity;                /* max tracked sessions */
	size_t count;                   /* tracked sessions */
	struct coord_lease_entry *pool; /* capacity entries */
	size_t used;                    /* pool[0..used) handed out at least once */
	uint32_t free_head;             /* first returned pool entry (below used) */
	uint32_t *table;                /* slots: pool index + 1, 0 = empty */
	size_t slots;                   /* power of two >= 2 * capacity */
	uint32_t *heap;                 /* pool indexes by (deadline, id) */
	size_t heap_n;
};

/* Sets up L with room for CAPACITY (1..COORD_LEASE_MAX) sessions; it grows
 * when full, up to COORD_LEASE_MAX. Returns 0 or COORD_ENOMEM. Release with
 * coord_lease_free(). */
int coord_lease_init(struct coord_lease *l, size_t capacity);
void coord_lease_free(struct coord_lease *l);

/* Forgets every session (e.g. on losing leadership). */
void coord_lease_clear(struct coord_lease *l);

/* Tracks session ID (TTL_MS > 0) with deadline NOW_MS + TTL_MS: call when its
 * OPEN entry applies. Returns 0, COORD_EEXIST, COORD_ELIMIT when
 * COORD_LEASE_MAX are tracked, or COORD_ENOMEM when it cannot grow. */
int coord_lease_add(struct coord_lease *l, const struct coord_session_id *id, uint32_t ttl_ms,
                    uint64_t now_ms);

/* Stops tracking ID: call when its CLOSE or EXPIRE entry applies. Returns 0
 * or COORD_ENOTFOUND. */
int coord_lease_remove(struct coord_lease *l, const struct coord_session_id *id);

/* A keepalive for ID at NOW_MS: moves its deadline to at least NOW_MS + ttl
 * (L-1). Call this BEFORE acknowledging the keepalive, and acknowledge only
 * on 0. Returns 0, COORD_ENOTFOUND, or COORD_EEXPIRING once due() returned
 * ID (L-2, DESIGN.md rule 8). *DEADLINE_MS (if not NULL) gets the new
 * deadline. */
int coord_lease_keepalive(struct coord_lease *l, const struct coord_session_id *id, uint64_t now_ms,
                          uint64_t *deadline_ms);

/* Writes into OUT (room for MAX) the sessions whose deadline is <= NOW_MS,
 * earliest first, marks them expiring and returns how many: the caller
 * proposes one EXPIRE entry for each. Sessions beyond MAX stay due and come
 * out of the next call. */
size_t coord_lease_due(struct coord_lease *l, uint64_t now_ms, struct coord_session_id *out,
                       size_t max);

/* On becoming leader: every tracked session's deadline becomes NOW_MS + its
 * ttl, and none is expiring any more (DESIGN.md rule 8: a new leader starts
 * every session's clock afresh; an expiry proposed in an earlier term either
 * commits, and removes the session, or is void). */
void coord_lease_reset_all(struct coord_lease *l, uint64_t now_ms);

/* On becoming leader (rule 8): every tracked session's deadline becomes
 * its anchor's deadline in ANCHORS + SLACK_MS (the time this node applied
 * its last OPEN or ALIVE entry + ttl + slack), or NOW_MS + its ttl when
 * ANCHORS does not hold it; none is expiring, and none has an ALIVE time
 * any more. */
void coord_lease_reset_from(struct coord_lease *l, const struct coord_lease *anchors,
                            uint64_t slack_ms, uint64_t now_ms);

/* ALIVE times: AT_MS is when the caller proposed an ALIVE entry naming ID
 * that has since applied; kept if later than the one kept (ID untracked:
 * nothing). coord_lease_alive_ms() answers it (false: untracked, or none
 * since the last reset). */
void coord_lease_set_alive(struct coord_lease *l, const struct coord_session_id *id,
                           uint64_t at_ms);
bool coord_lease_alive_ms(const struct coord_lease *l, const struct coord_session_id *id,
                          uint64_t *at_ms);

/* The caller could not have heard any keepalive for MS milliseconds (its
 * loop stalled: a slow fsync, a paused process): every tracked session that
 * is not expiring gets its deadline moved out by MS, so that the stall is
 * not counted against it (L-1 holds: deadlines only move later). Expiring
 * sessions stay as they are (L-2). */
void coord_lease_extend_all(struct coord_lease *l, uint64_t ms);

/* The earliest deadline of a session that is not expiring, for the node's
 * timer: true and *AT_MS, or false when there is none. */
bool coord_lease_next_deadline(const struct coord_lease *l, uint64_t *at_ms);

/* The time left at NOW_MS before session ID's deadline, 0 once it has
 * passed or its expiry is proposed (never negative): true and *LEFT_MS, or
 * false when ID is not tracked. This is what the leader shows as a
 * session's expires_in_ms (API.md, Sessions). */
bool coord_lease_remaining(const struct coord_lease *l, const struct coord_session_id *id,
                           uint64_t now_ms, uint64_t *left_ms);

/* Tracked sessions (expiring ones included). */
size_t coord_lease_count(const struct coord_lease *l);

#endif
