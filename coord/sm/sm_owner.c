/* Sessions belong to the access token that opened them (SM-10, API.md,
 * Access control). coord_session_owners holds one row per session opened
 * with a token: OPEN writes it (its OWNER field), the session's end deletes
 * it (sm_session.c), and before any command that names the session with an
 * ACTOR applies, sm_owner_allows() compares the two. A session opened
 * without a token has no row: only requests without a token (a cluster
 * without access control) may use it, so a session opened before access
 * control was on is usable by no token once it is. */
#include "sm_internal.h"

int sm_owner_set(struct sm_apply *a)
{
	sqlite3_stmt *st;

	if (a->cmd->actor == 0)
		return 0;
	if (sm_stmt(a, "INSERT INTO coord_session_owners(session, token) VALUES(?1, ?2)", &st) != 0)
		return COORD_EDB;
	sm_bind_session(st, 1, &a->cmd->session);
	sm_bind_u64(st, 2, a->cmd->actor);
	return sm_done(a, st);
}

/* Whether session ID exists, and its owner (0: none), through CACHE (may
 * be NULL). */
static int ownerRead(sqlite3 *db, struct sm_stmt_cache *cache, const struct coord_session_id *id,
                     bool *found, uint64_t *owner)
{
	sqlite3_stmt *st;
	int row;

	*found = false;
	*owner = 0;
	if (sm_prepare(db, cache,
	               "SELECT o.token FROM coord_sessions AS s LEFT JOIN coord_session_owners AS o"
	               " ON o.session = s.id WHERE s.id = ?1",
	               &st) != 0)
		return COORD_EDB;
	sm_bind_session(st, 1, id);
	row = sm_row(st);
	if (row == 1) {
		*found = true;
		*owner = (uint64_t)sqlite3_column_int64(st, 0); /* NULL reads as 0: no owner */
	}
	sm_release(cache, st);
	return row < 0 ? COORD_EDB : 0;
}

int sm_owner_allows(struct sm_apply *a, bool *allowed)
{
	uint64_t owner;
	bool found;
	int rv = ownerRead(a->db, a->cache, &a->cmd->session, &found, &owner);

	/* A session that does not exist is the apply function's to answer. */
	*allowed = rv == 0 && (!found || owner == a->cmd->actor);
	return rv;
}

int coord_sm_session_owner(struct coord_sm_reader *r, const struct coord_session_id *id,
                           bool *found, uint64_t *owner)
{
	return ownerRead(r->db, &r->cache, id, found, owner);
}
