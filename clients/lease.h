/* The client's own view of its session lease, as arithmetic on send times
 * (API.md, Sessions; DESIGN.md, sessions): a keepalive the leader answered
 * proves the server's deadline is at least (time it was SENT + TTL), because
 * the leader moved its deadline only after receiving it (safety rules 5, 8).
 * Pure: the caller passes every time (CLOCK_MONOTONIC milliseconds). */
#ifndef COORD_CLIENTS_LEASE_H
#define COORD_CLIENTS_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "libcoord.h"

#define COORDC_GRACE_MAX_MS  2000 /* longest SIGTERM-to-SIGKILL grace */
#define COORDC_SAFETY_MIN_MS 100  /* least slack left after the SIGKILL */
#define COORDC_SAFETY_MAX_MS 1000 /* most slack left after the SIGKILL */
#define COORDC_RETRY_MIN_MS  20   /* least gap between failed keepalives */

struct coordc_lease {
	uint64_t ttl_ms;
	uint64_t margin_ms;
	uint64_t sent_ms; /* send time of the newest acknowledged keepalive */
	bool ended;       /* the server said the session is gone */
};

/* A lease of TTL_MS that started when the request creating it was sent at
 * SENT_MS; EXPIRING is reported MARGIN_MS (< TTL_MS) before the deadline. */
void coordc_lease_init(struct coordc_lease *l, uint32_t ttl_ms, uint32_t margin_ms,
                       uint64_t sent_ms);

/* A keepalive sent at SENT_MS was acknowledged. Answers may arrive out of
 * order; the lease only ever moves forward. */
void coordc_lease_renewed(struct coordc_lease *l, uint64_t sent_ms);

/* The server answered session_not_found: the lease is over for good. */
void coordc_lease_end(struct coordc_lease *l);

/* Send time of the last acknowledged keepalive + TTL. */
uint64_t coordc_lease_deadline(const struct coordc_lease *l);

/* LIVE before deadline - margin, EXPIRING until the deadline, LOST at and
 * after it (or once ended). */
enum coordc_lease_state coordc_lease_state_at(const struct coordc_lease *l, uint64_t now_ms);

/* When to send the next keepalive: TTL/3 after the last acknowledged one, or,
 * when the last attempt (sent at TRIED_MS) failed, a short gap (TTL/10, at
 * least COORDC_RETRY_MIN_MS) after that attempt, so trouble gets several
 * tries before the margin. */
uint64_t coordc_lease_next_send(const struct coordc_lease *l, uint64_t tried_ms, bool last_failed);

/* How long a keepalive sent at NOW_MS may wait for its answer: at most TTL/5
 * (a healthy leader answers in milliseconds; a frozen one must not eat the
 * time left for a try elsewhere before the margin),
 * and never past the next change of state (the margin point while LIVE, the
 * deadline while EXPIRING), so the keeper reports each change on time instead
 * of waiting on a frozen node; at least 1 ms. */
uint32_t coordc_lease_attempt_timeout(const struct coordc_lease *l, uint64_t now_ms);

/* The schedule a supervisor of work under a lease of TTL_MS uses: GRACE_MS
 * between SIGTERM and SIGKILL (TTL/5, at most COORDC_GRACE_MAX_MS) and the
 * MARGIN_MS before the deadline at which SIGTERM goes out: grace plus a
 * safety slack (TTL/10 within [COORDC_SAFETY_MIN_MS, COORDC_SAFETY_MAX_MS]),
 * so the SIGKILL lands a slack before the lease can lapse. TTL_MS >= 1000
 * (the API's least TTL) guarantees margin < TTL/2. */
void coordc_lease_plan(uint32_t ttl_ms, uint32_t *grace_ms, uint32_t *margin_ms);

#endif
