/* Session events (API.md, Sessions: events): what happened to a session
 * that its own requests were not answered with, kept as replicated rows so
 * a client learns it from any node, also after its session ended.
 *
 * Invariants (the code cites them as EV-n; EV-1 is SM-11):
 *   EV-1 Every grant from a queue (sm_promote), wait behind holders (one
 *        event for each holder), loss of an ephemeral key to another write
 *        or to its session's end, and end of a session records its events
 *        in the entry that causes it: idx the entry's index, pos their
 *        order within the entry. A grant that answers the session's own
 *        acquire records nothing, so an uncontended lock writes no event.
 *   EV-2 A session keeps at most COORD_SESSION_EVENTS_MAX rows; its log's
 *        compacted is the idx of the newest row dropped, so every event
 *        above it is kept: a read from N >= compacted misses nothing.
 *   EV-3 No event is recorded for a session after the entry that ended
 *        it; that entry sets its log's ended (its index) and keeps its
 *        label. At most COORD_ENDED_SESSIONS_EVENTS_MAX ended sessions keep
 *        their events: the oldest (ended, session order) are dropped, log
 *        and rows, in the entry that ends one more. A session opened
 *        again with the id of an ended one (ids are random: only tests
 *        reuse one) reads none of them, and its first event drops them.
 *   EV-4 A log's events is the number of its rows, and coord_meta's
 *        events_ended the number of logs with ended != 0. */
#include "sm_internal.h"

/* Runs the N statements SQL, which return no row, with SESSION bound at ?1
 * (none when NULL). Returns 0 or COORD_EDB. */
static int eventRun(struct sm_apply *a, const char *const *sql, size_t n,
                    const struct coord_session_id *session)
{
	sqlite3_stmt *st;
	int rv;

	for (size_t i = 0; i < n; i++) {
		if (sm_stmt(a, sql[i], &st) != 0)
			return COORD_EDB;
		if (session != NULL)
			sm_bind_session(st, 1, session);
		if ((rv = sm_done(a, st)) != 0)
			return rv;
	}
	return 0;
}

static int eventForget(struct sm_apply *a, const struct coord_session_id *session);

/* The log of SESSION: *FOUND, its rows, and where the next row of this
 * entry goes (pos). The log of an ended session of the same id (EV-3: only
 * tests reuse ids) is dropped first: the new session starts afresh. */
static int eventLog(struct sm_apply *a, const struct coord_session_id *session, bool *found,
                    uint64_t *events, uint64_t *pos)
{
	sqlite3_stmt *st;
	bool stale;
	int row;

	if (sm_stmt(a,
	            "SELECT events, last_idx, next_pos, ended FROM coord_session_event_logs"
	            " WHERE session = ?1",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_session(st, 1, session);
	row = sm_row(st);
	stale = row == 1 && sqlite3_column_int64(st, 3) != 0;
	*found = row == 1 && !stale;
	*events = *found ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	*pos = *found && (uint64_t)sqlite3_column_int64(st, 1) == a->index
	           ? (uint64_t)sqlite3_column_int64(st, 2)
	           : 0;
	sm_release_in(a, st);
	if (row < 0)
		return COORD_EDB;
	return stale ? eventForget(a, session) : 0;
}

/* EV-2: drops SESSION's oldest row and raises its compacted index to it. */
static int eventTrim(struct sm_apply *a, const struct coord_session_id *session)
{
	static const char *const sql[] = {
	    "UPDATE coord_session_event_logs SET events = events - 1, compacted = (SELECT idx"
	    " FROM coord_session_events WHERE session = ?1 ORDER BY idx, pos LIMIT 1)"
	    " WHERE session = ?1",
	    "DELETE FROM coord_session_events WHERE session = ?1 AND (idx, pos) ="
	    " (SELECT idx, pos FROM coord_session_events WHERE session = ?1"
	    " ORDER BY idx, pos LIMIT 1)",
	};

	return eventRun(a, sql, sizeof(sql) / sizeof(sql[0]), session);
}

int sm_event_add(struct sm_apply *a, const struct coord_session_id *session,
                 const struct sm_event *e)
{
	sqlite3_stmt *st;
	uint64_t events, pos;
	bool found;
	int rv;

	if ((rv = eventLog(a, session, &found, &events, &pos)) != 0)
		return rv;
	if (sm_stmt(a,
	            "INSERT INTO coord_session_events(session, idx, pos, type, kind, name, token,"
	            " other, mode, why) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_session(st, 1, session);
	sm_bind_u64(st, 2, a->index);
	sm_bind_u64(st, 3, pos);
	sqlite3_bind_int(st, 4, (int)e->type);
	sqlite3_bind_int(st, 5, (int)e->kind);
	sqlite3_bind_text(st, 6, e->name != NULL ? e->name : "", (int)e->name_len, SQLITE_STATIC);
	sm_bind_u64(st, 7, e->token);
	if (e->other != NULL)
		sm_bind_session(st, 8, e->other);
	sqlite3_bind_int(st, 9, (int)e->mode);
	sqlite3_bind_int(st, 10, (int)e->why);
	if ((rv = sm_done(a, st)) != 0)
		return rv;
	if (sm_stmt(a,
	            "INSERT INTO coord_session_event_logs(session, events, last_idx, next_pos,"
	            " compacted, ended, name) VALUES(?1, 1, ?2, ?3, 0, 0, '')"
	            " ON CONFLICT(session) DO UPDATE SET events = events + 1,"
	            " last_idx = excluded.last_idx, next_pos = excluded.next_pos",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_session(st, 1, session);
	sm_bind_u64(st, 2, a->index);
	sm_bind_u64(st, 3, pos + 1);
	if ((rv = sm_done(a, st)) != 0)
		return rv;
	return events + 1 > COORD_SESSION_EVENTS_MAX ? eventTrim(a, session) : 0;
}

/* Drops the log and rows of SESSION, an ended session (EV-3, EV-4). */
static int eventForget(struct sm_apply *a, const struct coord_session_id *session)
{
	static const char *const sql[] = {
	    "DELETE FROM coord_session_events WHERE session = ?1",
	    "DELETE FROM coord_session_event_logs WHERE session = ?1",
	};
	uint64_t count;
	int rv;

	if ((rv = eventRun(a, sql, sizeof(sql) / sizeof(sql[0]), session)) != 0 ||
	    (rv = sm_meta_read(a, SM_META_EVENTS_ENDED, &count)) != 0)
		return rv;
	return sm_meta_set(a, SM_META_EVENTS_ENDED, count - 1);
}

/* EV-3: while more than COORD_ENDED_SESSIONS_EVENTS_MAX sessions (ENDED of
 * them) keep their events, drops the log and rows of the one that ended
 * first; then records how many are left. */
static int eventEndedTrim(struct sm_apply *a, uint64_t ended)
{
	static const char *const sql[] = {
	    "DELETE FROM coord_session_events WHERE session = (SELECT session FROM"
	    " coord_session_event_logs WHERE ended != 0 ORDER BY ended, session LIMIT 1)",
	    "DELETE FROM coord_session_event_logs WHERE session = (SELECT session FROM"
	    " coord_session_event_logs WHERE ended != 0 ORDER BY ended, session LIMIT 1)",
	};
	int rv;

	for (; ended > COORD_ENDED_SESSIONS_EVENTS_MAX; ended--)
		if ((rv = eventRun(a, sql, sizeof(sql) / sizeof(sql[0]), NULL)) != 0)
			return rv;
	return sm_meta_set(a, SM_META_EVENTS_ENDED, ended);
}

int sm_event_session_end(struct sm_apply *a, enum sm_event_why why)
{
	const struct coord_session_id *session = &a->cmd->session;
	struct sm_event e = {.type = SM_EVENT_SESSION_ENDED, .why = why};
	sqlite3_stmt *st;
	uint64_t ended;
	int rv;

	if ((rv = sm_event_add(a, session, &e)) != 0)
		return rv;
	/* The label stays for the access check of a read (API.md): the
	 * session's row is deleted after this, in the same entry. */
	if (sm_stmt(a,
	            "UPDATE coord_session_event_logs SET ended = ?2, name = coalesce((SELECT name"
	            " FROM coord_sessions WHERE id = ?1), '') WHERE session = ?1",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_session(st, 1, session);
	sm_bind_u64(st, 2, a->index);
	if ((rv = sm_done(a, st)) != 0 || (rv = sm_meta_read(a, SM_META_EVENTS_ENDED, &ended)) != 0)
		return rv;
	return eventEndedTrim(a, ended + 1);
}
