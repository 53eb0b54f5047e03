/* Reads of session events (sm_query.h, sm_event.c): a session's kept events
 * after an index, each shaped as API.md (Sessions: events) shows it. */
#include "sm_internal.h"
#include "sm_query.h"

static const char *const qWhy[] = {
    [SM_EVENT_WHY_NONE] = NULL,           [SM_EVENT_WHY_EXPIRED] = "expired",
    [SM_EVENT_WHY_CLOSED] = "closed",     [SM_EVENT_WHY_DELETED] = "deleted",
    [SM_EVENT_WHY_REPLACED] = "replaced", [SM_EVENT_WHY_SESSION_ENDED] = "session_ended",
};

/* The type's name; a lock's and an election's differ (kind 1). */
static const char *qType(int type, int kind)
{
	switch (type) {
	case SM_EVENT_GRANTED:
		return kind == COORD_KIND_ELECTION ? "election_won" : "lock_granted";
	case SM_EVENT_LOST:
		return kind == COORD_KIND_ELECTION ? "election_lost" : "lock_lost";
	case SM_EVENT_CONFLICT:
		return "conflicting_request";
	case SM_EVENT_KEY_DELETED:
		return "key_deleted";
	case SM_EVENT_SESSION_ENDED:
		return "session_ended";
	default:
		return "unknown";
	}
}

/* One event from a row of (idx, type, kind, name, token, other, mode, why). */
static json_t *qEvent(sqlite3_stmt *st)
{
	int type = sqlite3_column_int(st, 1), kind = sqlite3_column_int(st, 2);
	int why = sqlite3_column_int(st, 7);
	const char *subject = type == SM_EVENT_KEY_DELETED  ? "key"
	                      : kind == COORD_KIND_ELECTION ? "election"
	                                                    : "lock";
	bool named = type != SM_EVENT_SESSION_ENDED;
	bool token = type == SM_EVENT_GRANTED || type == SM_EVENT_LOST || type == SM_EVENT_CONFLICT;
	bool mode = type == SM_EVENT_GRANTED || type == SM_EVENT_CONFLICT;
	json_t *o = json_pack("{s:s, s:o}", "type", qType(type, kind), "index", sm_json_int(st, 0));

	if (o == NULL || (named && sm_json_set(o, subject, sm_json_text(st, 3)) != 0) ||
	    (token && sm_json_set(o, "fencing_token", sm_json_int(st, 4)) != 0) ||
	    (type == SM_EVENT_CONFLICT && sm_json_set(o, "session", sm_json_session(st, 5)) != 0) ||
	    (mode && sm_json_set(o, "mode", sm_json_mode(sqlite3_column_int(st, 6))) != 0) ||
	    (why > 0 && why < (int)(sizeof(qWhy) / sizeof(qWhy[0])) &&
	     sm_json_set(o, "why", json_string(qWhy[why])) != 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The session's label and TTL (0 once it ended), from the live sessions or
 * the logs of ended ones (EV-3), its log's compacted index, and whether
 * that log is an earlier session's (*STALE). */
static int qEventSession(struct coord_sm_reader *r, const struct coord_session_id *id,
                         json_t **label, uint64_t *ttl_ms, uint64_t *compacted, bool *stale)
{
	sqlite3_stmt *st;
	int row;

	if (sm_prepare(r->db, &r->cache,
	               "SELECT s.name, s.ttl_ms, coalesce(l.compacted, 0), coalesce(l.ended, 0)"
	               " FROM coord_sessions s LEFT JOIN coord_session_event_logs l"
	               " ON l.session = s.id WHERE s.id = ?1"
	               " UNION ALL SELECT name, 0, compacted, 0 FROM coord_session_event_logs"
	               " WHERE session = ?1 AND ended != 0",
	               &st) != 0)
		return COORD_EDB;
	sqlite3_bind_blob(st, 1, id->bytes, COORD_SESSION_ID_LEN, SQLITE_TRANSIENT);
	row = sm_row(st);
	if (row == 1) {
		*label = sm_json_text(st, 0);
		*ttl_ms = (uint64_t)sqlite3_column_int64(st, 1);
		*compacted = (uint64_t)sqlite3_column_int64(st, 2);
		/* A live session with an ended one's log: an id opened again
		 * (EV-3), whose events are none of the old ones. */
		*stale = sqlite3_column_int64(st, 3) != 0;
		if (*stale)
			*compacted = 0;
	}
	sm_release(&r->cache, st);
	if (row == 1)
		return *label != NULL ? 0 : COORD_ENOMEM;
	return row == 0 ? COORD_ENOTFOUND : COORD_EDB;
}

int coord_sm_query_session_events(struct coord_sm_reader *r, const struct coord_session_id *id,
                                  uint64_t since, json_t **out, uint64_t *last, uint64_t *compacted)
{
	json_t *label = NULL, *events = NULL;
	char hex[COORD_SESSION_ID_HEX + 1];
	sqlite3_stmt *st;
	uint64_t ttl_ms = 0;
	bool stale = false;
	int rv;

	*out = NULL;
	*last = 0;
	*compacted = 0;
	if ((rv = qEventSession(r, id, &label, &ttl_ms, compacted, &stale)) != 0)
		return rv;
	/* At most COORD_SESSION_EVENTS_MAX rows (EV-2). */
	if (sm_prepare(r->db, &r->cache,
	               "SELECT idx, type, kind, name, token, other, mode, why FROM"
	               " coord_session_events WHERE session = ?1 AND idx > ?2 ORDER BY idx, pos",
	               &st) != 0) {
		json_decref(label);
		return COORD_EDB;
	}
	sqlite3_bind_blob(st, 1, id->bytes, COORD_SESSION_ID_LEN, SQLITE_TRANSIENT);
	sm_bind_u64(st, 2, stale ? INT64_MAX : since);
	if ((rv = sm_json_rows(&r->cache, st, qEvent, &events)) != 0) {
		json_decref(label);
		return rv;
	}
	if (json_array_size(events) > 0)
		*last = (uint64_t)json_integer_value(
		    json_object_get(json_array_get(events, json_array_size(events) - 1), "index"));
	coord_session_id_format(id, hex);
	*out = json_pack("{s:s, s:o, s:b, s:o}", "id", hex, "name", label, "ended", ttl_ms == 0,
	                 "events", events);
	if (*out != NULL && ttl_ms > 0 &&
	    json_object_set_new(*out, "ttl_ms", json_integer((json_int_t)ttl_ms)) != 0) {
		json_decref(*out);
		*out = NULL;
	}
	return *out != NULL ? 0 : COORD_ENOMEM;
}
