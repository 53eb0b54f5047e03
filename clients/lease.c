/* The client's lease arithmetic (see lease.h). No clock, no I/O. */
#include "lease.h"

#include <assert.h>

void coordc_lease_init(struct coordc_lease *l, uint32_t ttl_ms, uint32_t margin_ms,
                       uint64_t sent_ms)
{
	assert(ttl_ms > 0 && margin_ms < ttl_ms);
	l->ttl_ms = ttl_ms;
	l->margin_ms = margin_ms;
	l->sent_ms = sent_ms;
	l->ended = false;
}

void coordc_lease_renewed(struct coordc_lease *l, uint64_t sent_ms)
{
	if (sent_ms > l->sent_ms)
		l->sent_ms = sent_ms;
}

void coordc_lease_end(struct coordc_lease *l)
{
	l->ended = true;
}

uint64_t coordc_lease_deadline(const struct coordc_lease *l)
{
	return l->sent_ms + l->ttl_ms;
}

enum coordc_lease_state coordc_lease_state_at(const struct coordc_lease *l, uint64_t now_ms)
{
	uint64_t deadline = coordc_lease_deadline(l);

	if (l->ended || now_ms >= deadline)
		return COORDC_LEASE_LOST;
	if (now_ms >= deadline - l->margin_ms)
		return COORDC_LEASE_EXPIRING;
	return COORDC_LEASE_LIVE;
}

uint64_t coordc_lease_next_send(const struct coordc_lease *l, uint64_t tried_ms, bool last_failed)
{
	uint64_t gap = l->ttl_ms / 10;

	if (!last_failed)
		return l->sent_ms + l->ttl_ms / 3;
	if (gap < COORDC_RETRY_MIN_MS)
		gap = COORDC_RETRY_MIN_MS;
	return tried_ms + gap;
}

uint32_t coordc_lease_attempt_timeout(const struct coordc_lease *l, uint64_t now_ms)
{
	uint64_t deadline = coordc_lease_deadline(l);
	uint64_t change = deadline - l->margin_ms;
	uint64_t t = l->ttl_ms / 5;

	if (now_ms >= deadline)
		return 1;
	if (now_ms >= change)
		change = deadline;
	if (change - now_ms < t)
		t = change - now_ms;
	return t < 1 ? 1 : (uint32_t)t;
}

void coordc_lease_plan(uint32_t ttl_ms, uint32_t *grace_ms, uint32_t *margin_ms)
{
	uint32_t grace = ttl_ms / 5;
	uint32_t safety = ttl_ms / 10;

	assert(ttl_ms >= 1000);
	if (grace > COORDC_GRACE_MAX_MS)
		grace = COORDC_GRACE_MAX_MS;
	if (safety < COORDC_SAFETY_MIN_MS)
		safety = COORDC_SAFETY_MIN_MS;
	if (safety > COORDC_SAFETY_MAX_MS)
		safety = COORDC_SAFETY_MAX_MS;
	*grace_ms = grace;
	*margin_ms = grace + safety;
}
