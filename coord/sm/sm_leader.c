/* What the leader reads from the state machine to drive it: every session's
 * TTL (the lease keeper's reset on becoming leader, DESIGN.md rule 8) and the
 * earliest lock-delay end (when to propose a WAKE entry, SM-6). */
#include <stdlib.h>

#include "lease.h"
#include "sm_internal.h"

/* The lease keeper must be able to track every session the state machine
 * admits. */
_Static_assert(COORD_LEASE_MAX == COORD_SESSIONS_CEILING, "lease keeper sized for every session");

int coord_sm_session_ttls(sqlite3 *db, struct coord_session_ttl **out, size_t *n)
{
	sqlite3_stmt *st;
	uint64_t count;
	int row, rv;

	*out = NULL;
	*n = 0;
	if ((rv = sm_count(db, NULL, "SELECT count(*) FROM coord_sessions", NULL, &count)) != 0)
		return rv;
	if (count == 0)
		return 0;
	/* SM-7 bounds the table; a larger one is not this module's writing. */
	if (count > COORD_SESSIONS_CEILING)
		return COORD_EDB;
	*out = calloc((size_t)count, sizeof(**out));
	if (*out == NULL)
		return COORD_ENOMEM;
	if (sm_prepare(db, NULL, "SELECT id, ttl_ms FROM coord_sessions ORDER BY id", &st) != 0) {
		rv = COORD_EDB;
		goto err_out;
	}
	while (*n < count && (row = sm_row(st)) == 1) {
		sm_column_session(st, 0, &(*out)[*n].id);
		(*out)[*n].ttl_ms = (uint32_t)sqlite3_column_int64(st, 1);
		(*n)++;
	}
	sqlite3_finalize(st);
	if (*n == count)
		return 0;
	rv = COORD_EDB;
err_out:
	free(*out);
	*out = NULL;
	*n = 0;
	return rv;
}

int coord_sm_next_wake(sqlite3 *db, bool *has, uint64_t *at_ms)
{
	sqlite3_stmt *st;
	int row;

	*has = false;
	*at_ms = 0;
	if (sm_prepare(db, NULL,
	               "SELECT min(delay_until_ms) FROM coord_locks WHERE delay_until_ms != 0",
	               &st) != 0)
		return COORD_EDB;
	row = sm_row(st);
	if (row == 1 && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*has = true;
		*at_ms = (uint64_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return row < 0 ? COORD_EDB : 0;
}

int coord_sm_clock(sqlite3 *db, uint64_t *stamp_ms)
{
	return sm_meta_get(db, NULL, SM_META_CLOCK, stamp_ms);
}
