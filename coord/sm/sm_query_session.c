/* Queries of sessions (API.md, Sessions): a session with the locks it holds,
 * the waits it has queued and the elections it leads or stands in. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "sm_internal.h"
#include "sm_query.h"

/* Runs SQL with the session id bound at ?1 and builds an array with FN. */
static int qSessionRows(struct coord_sm_reader *r, const char *sql, const void *id, size_t id_len,
                        sm_row_fn fn, json_t **arr)
{
	sqlite3_stmt *st;

	if (sm_prepare(r->db, &r->cache, sql, &st) != 0)
		return COORD_EDB;
	sqlite3_bind_blob(st, 1, id, (int)id_len, SQLITE_TRANSIENT);
	return sm_json_rows(&r->cache, st, fn, arr);
}

/* {"name","mode","fencing_token"} from (name, mode, token). */
static json_t *qHeld(sqlite3_stmt *st)
{
	json_t *o = json_object();

	if (o == NULL || sm_json_set(o, "name", sm_json_text(st, 0)) != 0 ||
	    sm_json_set(o, "mode", sm_json_mode(sqlite3_column_int(st, 1))) != 0 ||
	    sm_json_set(o, "fencing_token", sm_json_int(st, 2)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* {"name","mode","since_index"} from (name, mode, since_index). */
static json_t *qWait(sqlite3_stmt *st)
{
	json_t *o = json_object();

	if (o == NULL || sm_json_set(o, "name", sm_json_text(st, 0)) != 0 ||
	    sm_json_set(o, "mode", sm_json_mode(sqlite3_column_int(st, 1))) != 0 ||
	    sm_json_set(o, "since_index", sm_json_int(st, 2)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* {"name","leader":bool,"value", "fencing_token" (leader) or "since_index"
 * (candidate)} from (name, leader, value, number). */
static json_t *qElection(sqlite3_stmt *st)
{
	bool leader = sqlite3_column_int(st, 1) != 0;
	json_t *o = json_object();

	if (o == NULL || sm_json_set(o, "name", sm_json_text(st, 0)) != 0 ||
	    sm_json_set(o, "leader", json_boolean(leader)) != 0 ||
	    sm_json_set(o, "value", sm_json_text(st, 2)) != 0 ||
	    sm_json_set(o, leader ? "fencing_token" : "since_index", sm_json_int(st, 3)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Adds "locks", "waiting" and "elections" of the session ID to O. */
static int qSessionParts(struct coord_sm_reader *r, const void *id, size_t id_len, json_t *o)
{
	json_t *arr;
	int rv;

	rv = qSessionRows(
	    r,
	    "SELECT name, mode, token FROM coord_holders WHERE session = ?1 AND kind = 0"
	    " ORDER BY CAST(name AS BLOB)",
	    id, id_len, qHeld, &arr);
	if (rv == 0)
		rv = sm_json_set(o, "locks", arr);
	if (rv == 0)
		rv = qSessionRows(r,
		                  "SELECT name, mode, since_index FROM coord_waiters"
		                  " WHERE session = ?1 AND kind = 0 ORDER BY CAST(name AS BLOB)",
		                  id, id_len, qWait, &arr);
	if (rv == 0)
		rv = sm_json_set(o, "waiting", arr);
	if (rv == 0)
		rv = qSessionRows(r,
		                  "SELECT name, 1, value, token FROM coord_holders"
		                  " WHERE session = ?1 AND kind = 1"
		                  " UNION ALL SELECT name, 0, value, since_index FROM coord_waiters"
		                  " WHERE session = ?1 AND kind = 1 ORDER BY 1",
		                  id, id_len, qElection, &arr);
	if (rv == 0)
		rv = sm_json_set(o, "elections", arr);
	return rv;
}

/* The session object of the current row of ST
 * (id, ttl_ms, lock_delay_ms, name, modify_index, seq), with its parts, or
 * NULL with *RV set. seq is the highest number the session applied (SM-9),
 * 0 before any: where a client that lost count goes on from. */
static json_t *qSession(struct coord_sm_reader *r, sqlite3_stmt *st, int *rv)
{
	json_t *o = json_object();

	*rv = COORD_ENOMEM;
	if (o == NULL || sm_json_set(o, "id", sm_json_session(st, 0)) != 0 ||
	    sm_json_set(o, "ttl_ms", sm_json_int(st, 1)) != 0 ||
	    sm_json_set(o, "lock_delay_ms", sm_json_int(st, 2)) != 0 ||
	    sm_json_set(o, "name", sm_json_text(st, 3)) != 0 ||
	    sm_json_set(o, "modify_index", sm_json_int(st, 4)) != 0 ||
	    sm_json_set(o, "seq", sm_json_int(st, 5)) != 0 ||
	    (*rv = qSessionParts(r, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
	                         o)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

#define Q_SESSION_COLUMNS                                                                          \
	"SELECT s.id, s.ttl_ms, s.lock_delay_ms, s.name, s.modify_index, coalesce(q.seq, 0)"       \
	" FROM coord_sessions s LEFT JOIN coord_seqs q ON q.session = s.id"

/* Steps ST (session rows) to the end, appending each session to ARR, and
 * gives ST back. */
static int qSessions(struct coord_sm_reader *r, sqlite3_stmt *st, json_t *arr)
{
	json_t *o;
	int row = 0, rv = 0;

	while (rv == 0 && (row = sm_row(st)) == 1)
		if ((o = qSession(r, st, &rv)) != NULL && json_array_append_new(arr, o) != 0)
			rv = COORD_ENOMEM;
	if (rv == 0 && row < 0)
		rv = COORD_EDB;
	sm_release(&r->cache, st);
	return rv;
}

int coord_sm_query_session(struct coord_sm_reader *r, const struct coord_session_id *id,
                           json_t **out)
{
	json_t *found = json_array();
	sqlite3_stmt *st;
	int rv;

	*out = NULL;
	if (found == NULL)
		return COORD_ENOMEM;
	if (sm_prepare(r->db, &r->cache, Q_SESSION_COLUMNS " WHERE s.id = ?1", &st) != 0) {
		json_decref(found);
		return COORD_EDB;
	}
	sqlite3_bind_blob(st, 1, id->bytes, COORD_SESSION_ID_LEN, SQLITE_TRANSIENT);
	rv = qSessions(r, st, found);
	if (rv == 0 && json_array_size(found) == 0)
		rv = COORD_ENOTFOUND;
	else if (rv == 0)
		*out = json_incref(json_array_get(found, 0));
	json_decref(found);
	return rv;
}

int coord_sm_query_sessions(struct coord_sm_reader *r, const struct coord_session_id *after,
                            uint32_t limit, json_t **out)
{
	sqlite3_stmt *st;

	assert(limit > 0);
	if (sm_prepare(r->db, &r->cache,
	               Q_SESSION_COLUMNS " WHERE s.id > ?1 ORDER BY s.id LIMIT ?2", &st) != 0)
		return sm_page(COORD_EDB, "sessions", NULL, NULL, out);
	/* Every id is 16 bytes, so each is greater than the empty blob: the
	 * first page. Ids compare as bytes, the order of their hex form. */
	sqlite3_bind_blob(st, 1, after != NULL ? after->bytes : (const void *)"",
	                  after != NULL ? COORD_SESSION_ID_LEN : 0, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit + 1); /* one more row decides "next" */
	return sm_page_rows(r, st, limit, qSession, "sessions", "id", out);
}

int coord_sm_reader_open(sqlite3 *db, struct coord_sm_reader **out)
{
	*out = calloc(1, sizeof(**out));
	if (*out == NULL)
		return COORD_ENOMEM;
	(*out)->db = db;
	return 0;
}

void coord_sm_reader_close(struct coord_sm_reader *r)
{
	if (r == NULL)
		return;
	sm_cache_clear(&r->cache);
	free(r);
}
