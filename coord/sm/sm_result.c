/* struct coord_result: growable arrays reused from one apply to the next. */
#include <stdlib.h>
#include <string.h>

#include "sm_internal.h"

static const char *const sm_status_names[COORD_ST_COUNT] = {
    [COORD_ST_OK] = "ok",
    [COORD_ST_QUEUED] = "queued",
    [COORD_ST_LOCK_HELD] = "lock_held",
    [COORD_ST_NOT_HOLDER] = "not_holder",
    [COORD_ST_LOCK_DELAY] = "lock_delay",
    [COORD_ST_SESSION_NOT_FOUND] = "session_not_found",
    [COORD_ST_NOT_FOUND] = "not_found",
    [COORD_ST_LIMIT] = "limit",
    [COORD_ST_EXISTS] = "exists",
    [COORD_ST_INVALID] = "invalid_argument",
    [COORD_ST_STALE_REQUEST] = "stale_request",
    [COORD_ST_PERMISSION_DENIED] = "permission_denied",
    [COORD_ST_CAS_FAILED] = "cas_failed",
    [COORD_ST_STALE_TOKEN] = "stale_token",
    [COORD_ST_CHECK_FAILED] = "check_failed",
};

const char *const sm_limit_phrase[SM_LIMIT_HIT_COUNT] = {
    [SM_LIMIT_NONE] = NULL,
    [SM_LIMIT_SESSIONS] = "sessions",
    [SM_LIMIT_OBJECTS] = "locks and waits per session",
    [SM_LIMIT_WAITERS] = "waiters per lock",
    [SM_LIMIT_TOKENS] = "tokens",
    [SM_LIMIT_KEYS] = "keys",
    [SM_LIMIT_KV_BYTES] = "bytes of values",
};

const char *coord_status_name(enum coord_status status)
{
	if ((int)status < 0 || status >= COORD_ST_COUNT)
		return "unknown";
	return sm_status_names[status];
}

void coord_result_init(struct coord_result *r)
{
	memset(r, 0, sizeof(*r));
}

void coord_result_free(struct coord_result *r)
{
	free(r->holders);
	free(r->grants);
	free(r->released_locks);
	coord_result_init(r);
}

void sm_result_reset(struct coord_result *r)
{
	r->status = COORD_ST_OK;
	r->type = 0;
	memset(&r->session, 0, sizeof(r->session));
	r->token = 0;
	r->create_index = 0;
	r->modify_index = 0;
	r->failed_check = 0;
	r->retry_after_ms = 0;
	r->seq = 0;
	r->retry = false;
	r->released = false;
	r->session_ended = false;
	r->limit = NULL;
	r->n_holders = 0;
	r->n_grants = 0;
	r->n_released = 0;
}

/* Makes room for one more element of SIZE bytes in *ARR (N used, *CAP
 * allocated), doubling. Returns 0 or COORD_ENOMEM. */
static int smResultGrow(void **arr, size_t n, size_t *cap, size_t size)
{
	size_t want;
	void *p;

	if (n < *cap)
		return 0;
	want = *cap == 0 ? 8 : *cap * 2;
	p = realloc(*arr, want * size);
	if (p == NULL)
		return COORD_ENOMEM;
	*arr = p;
	*cap = want;
	return 0;
}

int sm_result_push_holder(struct coord_result *r, const struct coord_holder *h)
{
	if (smResultGrow((void **)&r->holders, r->n_holders, &r->cap_holders, sizeof(*h)) != 0)
		return COORD_ENOMEM;
	r->holders[r->n_holders++] = *h;
	return 0;
}

int sm_result_push_grant(struct coord_result *r, const struct coord_grant *g)
{
	if (smResultGrow((void **)&r->grants, r->n_grants, &r->cap_grants, sizeof(*g)) != 0)
		return COORD_ENOMEM;
	r->grants[r->n_grants++] = *g;
	return 0;
}

int sm_result_push_released(struct coord_result *r, const struct coord_lockref *l)
{
	if (smResultGrow((void **)&r->released_locks, r->n_released, &r->cap_released,
	                 sizeof(*l)) != 0)
		return COORD_ENOMEM;
	r->released_locks[r->n_released++] = *l;
	return 0;
}
