/* libcoord's retry policy: classification of attempts and the backoff
 * schedule (see policy.h). No clock, no I/O. */
#include "policy.h"

#include <assert.h>

struct coordc_verdict coordc_classify(enum coordc_transport t, long status, bool idempotent)
{
	struct coordc_verdict v = {COORDC_DONE_ERROR, false, false};

	switch (t) {
	case COORDC_NOT_SENT:
		/* Nothing reached a node, so nothing can have taken effect. */
		v.retry = true;
		v.rediscover = true;
		return v;
	case COORDC_LOST_AFTER_SEND:
		/* The request may have been proposed: rule 12 says unknown. */
		v.kind = COORDC_DONE_UNKNOWN;
		v.retry = idempotent;
		v.rediscover = true;
		return v;
	case COORDC_ANSWERED:
		break;
	}
	assert(status >= 100 && status < 600);
	if (status >= 200 && status < 300) {
		v.kind = COORDC_DONE_OK;
	} else if (status == 503) {
		/* no_leader / unavailable: refused before proposing. */
		v.retry = true;
		v.rediscover = true;
	} else if (status == 504) {
		v.kind = COORDC_DONE_UNKNOWN;
		v.retry = idempotent;
	}
	return v;
}

uint64_t coordc_seq_after(uint64_t last, uint64_t above, uint64_t now_us)
{
	uint64_t floor = last > above ? last : above;
	uint64_t next = floor < COORDC_SEQ_MAX ? floor + 1 : COORDC_SEQ_MAX;

	if (now_us > COORDC_SEQ_MAX)
		now_us = COORDC_SEQ_MAX;
	return next > now_us ? next : now_us;
}

uint64_t coordc_rng_next(uint64_t *state)
{
	uint64_t x = *state;

	assert(x != 0);
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

uint64_t coordc_backoff_ms(unsigned attempt, uint32_t base_ms, uint32_t cap_ms,
                           uint64_t retry_after_ms, uint64_t *rng)
{
	uint64_t d = base_ms;
	uint64_t half;

	assert(attempt >= 1);
	assert(base_ms > 0 && base_ms <= cap_ms);
	for (unsigned i = 1; i < attempt && d < cap_ms; i++)
		d *= 2;
	if (d > cap_ms)
		d = cap_ms;
	half = d / 2;
	d = half + coordc_rng_next(rng) % (d - half + 1);
	if (d < retry_after_ms)
		d = retry_after_ms;
	return d > cap_ms ? cap_ms : d;
}
