/* Row operations of the state machine. Each change to a holder or waiter
 * stamps the lock and the session it belongs to with the entry's index, so
 * every object's modify_index is the index of its last change (SM-8). */
#include <string.h>

#include "sm_internal.h"

int sm_session_find(struct sm_apply *a, const struct coord_session_id *id, bool *found,
                    uint32_t *delay)
{
	sqlite3_stmt *st;
	int row;

	if (sm_stmt(a, "SELECT lock_delay_ms FROM coord_sessions WHERE id = ?1", &st) != 0)
		return COORD_EDB;
	sm_bind_session(st, 1, id);
	row = sm_row(st);
	*found = row == 1;
	if (row == 1 && delay != NULL)
		*delay = (uint32_t)sqlite3_column_int64(st, 0);
	sm_release_in(a, st);
	return row < 0 ? COORD_EDB : 0;
}

int sm_touch_session(struct sm_apply *a, const struct coord_session_id *id)
{
	sqlite3_stmt *st;
	int rv;

	if (sm_stmt(a, "UPDATE coord_sessions SET modify_index = ?2 WHERE id = ?1", &st) != 0)
		return COORD_EDB;
	sm_bind_session(st, 1, id);
	sm_bind_u64(st, 2, a->index);
	rv = sm_done(a, st);
	if (rv == 0)
		rv = sm_meta_set(a, SM_META_SESSIONS, a->index);
	return rv;
}

int sm_touch_lock(struct sm_apply *a, const struct sm_lock *l)
{
	sqlite3_stmt *st;
	int rv;

	if (sm_stmt(a,
	            "INSERT INTO coord_locks(kind, name, modify_index) VALUES(?1, ?2, ?3) "
	            "ON CONFLICT(kind, name) DO UPDATE SET modify_index = excluded.modify_index",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_lock(st, 1, l);
	sm_bind_u64(st, 3, a->index);
	rv = sm_done(a, st);
	if (rv == 0)
		rv = sm_meta_set(a, coord_kind_info(l->kind)->index_key, a->index);
	return rv;
}

int sm_session_objects(struct sm_apply *a, const struct coord_session_id *id, uint64_t *out)
{
	return sm_count(a->db, a->cache,
	                "SELECT (SELECT count(*) FROM coord_holders WHERE session = ?1)"
	                " + (SELECT count(*) FROM coord_waiters WHERE session = ?1)"
	                " + (SELECT count(*) FROM coord_kv WHERE session = ?1)",
	                id, out);
}

int sm_holder_find(struct sm_apply *a, const struct sm_lock *l, const struct coord_session_id *id,
                   bool *found, enum coord_mode *mode, uint64_t *token)
{
	sqlite3_stmt *st;
	int row;

	if (sm_stmt(a,
	            "SELECT mode, token FROM coord_holders"
	            " WHERE kind = ?1 AND name = ?2 AND session = ?3",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_lock(st, 1, l);
	sm_bind_session(st, 3, id);
	row = sm_row(st);
	*found = row == 1;
	if (row == 1) {
		*mode = (enum coord_mode)sqlite3_column_int(st, 0);
		*token = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sm_release_in(a, st);
	return row < 0 ? COORD_EDB : 0;
}

int sm_waiter_find(struct sm_apply *a, const struct sm_lock *l, const struct coord_session_id *id,
                   bool *found, enum coord_mode *mode)
{
	sqlite3_stmt *st;
	int row;

	if (sm_stmt(a,
	            "SELECT mode FROM coord_waiters WHERE kind = ?1 AND name = ?2 AND session = ?3",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_lock(st, 1, l);
	sm_bind_session(st, 3, id);
	row = sm_row(st);
	*found = row == 1;
	if (row == 1)
		*mode = (enum coord_mode)sqlite3_column_int(st, 0);
	sm_release_in(a, st);
	return row < 0 ? COORD_EDB : 0;
}

/* Inserts into coord_holders (token) or coord_waiters (since_index): both
 * carry the entry index in the fifth column. */
static int smRowAdd(struct sm_apply *a, const char *sql, const struct sm_lock *l,
                    const struct coord_session_id *id, enum coord_mode mode, const char *value,
                    size_t value_len)
{
	sqlite3_stmt *st;
	int rv;

	if (sm_stmt(a, sql, &st) != 0)
		return COORD_EDB;
	sm_bind_lock(st, 1, l);
	sm_bind_session(st, 3, id);
	sqlite3_bind_int(st, 4, (int)mode);
	sm_bind_u64(st, 5, a->index);
	if (value != NULL)
		sqlite3_bind_text(st, 6, value, (int)value_len, SQLITE_TRANSIENT);
	rv = sm_done(a, st);
	if (rv == 0)
		rv = sm_touch_lock(a, l);
	if (rv == 0)
		rv = sm_touch_session(a, id);
	return rv;
}

int sm_holder_add(struct sm_apply *a, const struct sm_lock *l, const struct coord_session_id *id,
                  enum coord_mode mode, const char *value, size_t value_len)
{
	return smRowAdd(a,
	                "INSERT INTO coord_holders(kind, name, session, mode, token, value)"
	                " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	                l, id, mode, value, value_len);
}

int sm_waiter_add(struct sm_apply *a, const struct sm_lock *l, const struct coord_session_id *id,
                  enum coord_mode mode, const char *value, size_t value_len)
{
	return smRowAdd(a,
	                "INSERT INTO coord_waiters(kind, name, session, mode, since_index, value)"
	                " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	                l, id, mode, value, value_len);
}

static int smRowRemove(struct sm_apply *a, const char *sql, const struct sm_lock *l,
                       const struct coord_session_id *id)
{
	sqlite3_stmt *st;
	int rv;

	if (sm_stmt(a, sql, &st) != 0)
		return COORD_EDB;
	sm_bind_lock(st, 1, l);
	sm_bind_session(st, 3, id);
	rv = sm_done(a, st);
	if (rv == 0)
		rv = sm_touch_lock(a, l);
	if (rv == 0)
		rv = sm_touch_session(a, id);
	return rv;
}

int sm_holder_remove(struct sm_apply *a, const struct sm_lock *l, const struct coord_session_id *id)
{
	return smRowRemove(
	    a, "DELETE FROM coord_holders WHERE kind = ?1 AND name = ?2 AND session = ?3", l, id);
}

int sm_waiter_remove(struct sm_apply *a, const struct sm_lock *l, const struct coord_session_id *id)
{
	return smRowRemove(
	    a, "DELETE FROM coord_waiters WHERE kind = ?1 AND name = ?2 AND session = ?3", l, id);
}

int sm_lock_counts(struct sm_apply *a, const struct sm_lock *l, uint64_t *holders,
                   uint64_t *exclusive, uint64_t *waiters)
{
	sqlite3_stmt *st;
	int row;

	if (sm_stmt(a,
	            "SELECT (SELECT count(*) FROM coord_holders WHERE kind = ?1 AND name = ?2),"
	            " (SELECT count(*) FROM coord_holders WHERE kind = ?1 AND name = ?2"
	            "  AND mode = 0),"
	            " (SELECT count(*) FROM coord_waiters WHERE kind = ?1 AND name = ?2)",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_lock(st, 1, l);
	row = sm_row(st);
	if (row == 1) {
		*holders = (uint64_t)sqlite3_column_int64(st, 0);
		*exclusive = (uint64_t)sqlite3_column_int64(st, 1);
		*waiters = (uint64_t)sqlite3_column_int64(st, 2);
	}
	sm_release_in(a, st);
	return row == 1 ? 0 : COORD_EDB;
}

int sm_lock_delay(struct sm_apply *a, const struct sm_lock *l, uint64_t *until)
{
	sqlite3_stmt *st;
	int row;

	*until = 0;
	if (sm_stmt(a, "SELECT delay_until_ms FROM coord_locks WHERE kind = ?1 AND name = ?2",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_lock(st, 1, l);
	row = sm_row(st);
	if (row == 1)
		*until = (uint64_t)sqlite3_column_int64(st, 0);
	sm_release_in(a, st);
	return row < 0 ? COORD_EDB : 0;
}

int sm_lock_set_delay(struct sm_apply *a, const struct sm_lock *l, uint64_t until)
{
	sqlite3_stmt *st;

	if (sm_stmt(a, "UPDATE coord_locks SET delay_until_ms = ?3 WHERE kind = ?1 AND name = ?2",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_lock(st, 1, l);
	sm_bind_u64(st, 3, until);
	return sm_done(a, st);
}

int sm_lock_gc(struct sm_apply *a, const struct sm_lock *l)
{
	sqlite3_stmt *st;
	int rv;

	if (sm_stmt(a,
	            "DELETE FROM coord_locks WHERE kind = ?1 AND name = ?2 AND delay_until_ms <= ?3"
	            " AND NOT EXISTS (SELECT 1 FROM coord_holders h"
	            "  WHERE h.kind = ?1 AND h.name = ?2)"
	            " AND NOT EXISTS (SELECT 1 FROM coord_waiters w"
	            "  WHERE w.kind = ?1 AND w.name = ?2)",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_lock(st, 1, l);
	sm_bind_u64(st, 3, a->cmd->now_ms);
	rv = sm_done(a, st);
	/* An election always answers (API.md, Elections): once its row is gone
	 * it reports the index at which it was left empty, so an observer's
	 * long-poll wakes with "leader": null. */
	if (rv == 0 && coord_kind_info(l->kind)->answers_empty && sqlite3_changes(a->db) > 0)
		rv = sm_meta_set(a, SM_META_ELECTION_GONE, a->index);
	return rv;
}

int sm_result_holders(struct sm_apply *a, const struct sm_lock *l)
{
	sqlite3_stmt *st;
	int row = 0, rv = 0;

	if (sm_stmt(a,
	            "SELECT session, mode, token FROM coord_holders WHERE kind = ?1 AND name = ?2"
	            " ORDER BY token, session",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_lock(st, 1, l);
	while (rv == 0 && (row = sm_row(st)) == 1) {
		struct coord_holder h;

		sm_column_session(st, 0, &h.session);
		h.mode = (enum coord_mode)sqlite3_column_int(st, 1);
		h.token = (uint64_t)sqlite3_column_int64(st, 2);
		rv = sm_result_push_holder(a->out, &h);
	}
	if (rv == 0 && row < 0)
		rv = COORD_EDB;
	sm_release_in(a, st);
	return rv;
}
