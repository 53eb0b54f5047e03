/* libcoord's retry policy, pure and clock-free so unit tests can pin it:
 * how an attempt's result is classified (ok / definite error / unknown, and
 * whether to retry) and how long to wait before the next attempt. */
#ifndef COORD_CLIENTS_POLICY_H
#define COORD_CLIENTS_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "libcoord.h"

/* What the transport says about one attempt. */
enum coordc_transport {
	COORDC_ANSWERED = 0,   /* an HTTP status came back */
	COORDC_NOT_SENT,       /* no connection was made: nothing reached a node */
	COORDC_LOST_AFTER_SEND /* connected, then no answer (time-out, reset) */
};

struct coordc_verdict {
	enum coordc_kind kind;
	bool retry;      /* worth another attempt (if the budget allows) */
	bool rediscover; /* look for the leader again before that attempt */
};

/* Classifies one attempt. STATUS is read only when T is COORDC_ANSWERED.
 * IDEMPOTENT says a resend after an unknown outcome is safe. Rules:
 * 2xx ok; 503 a definite error (the node did not propose it) worth a retry
 * elsewhere; 504 unknown (safety rule 12), retried only when idempotent;
 * other statuses definite errors, not retried; not sent: definite, retried;
 * lost after send: unknown, retried only when idempotent. */
struct coordc_verdict coordc_classify(enum coordc_transport t, long status, bool idempotent);

/* The delay before retry number ATTEMPT (1 for the first retry): exponential
 * from BASE_MS, capped at CAP_MS, with "equal jitter" (half fixed, half
 * uniformly random) so that clients retrying together spread out. *RNG is a
 * nonzero xorshift64 state, advanced. A server's RETRY_AFTER_MS (0 if none)
 * raises the delay to at least that, still capped by CAP_MS. */
uint64_t coordc_backoff_ms(unsigned attempt, uint32_t base_ms, uint32_t cap_ms,
                           uint64_t retry_after_ms, uint64_t *rng);

/* The number of a session's next request (API.md, Retries): above LAST
 * (the client's last number) and ABOVE (a number the server says the
 * session applied, 0 if none), and at least NOW_US (the wall clock in
 * microseconds), so that the numbers of clients that follow one another on
 * a session (one process after another) rise as well. Capped at
 * COORDC_SEQ_MAX, which the clock reaches in the year 2255. */
uint64_t coordc_seq_after(uint64_t last, uint64_t above, uint64_t now_us);

/* The next value of the xorshift64 generator in *STATE (nonzero). */
uint64_t coordc_rng_next(uint64_t *state);

#endif
