/* Queries of locks, elections and fencing tokens (API.md, Locks and
 * Elections), read from coord_locks, coord_holders and coord_waiters. */
#include <assert.h>
#include <string.h>

#include "sm_internal.h"
#include "sm_query.h"

/* Prepares SQL with the lock (kind, name) bound at ?1, ?2. */
static int qLockStmt(struct coord_sm_reader *r, const char *sql, enum coord_kind kind,
                     const char *name, size_t len, sqlite3_stmt **st)
{
	struct sm_lock l = {kind, name, len};

	if (sm_prepare(r->db, &r->cache, sql, st) != 0)
		return COORD_EDB;
	sm_bind_lock(*st, 1, &l);
	return 0;
}

/* {"session","fencing_token","value","since_index"} from (session, token, value). */
static json_t *qHolder(sqlite3_stmt *st)
{
	json_t *o = json_object();

	if (o == NULL || sm_json_set(o, "session", sm_json_session(st, 0)) != 0 ||
	    sm_json_set(o, "fencing_token", sm_json_int(st, 1)) != 0 ||
	    sm_json_set(o, "value", sm_json_text(st, 2)) != 0 ||
	    sm_json_set(o, "since_index", sm_json_int(st, 1)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* {"session","mode","since_index"} from (session, mode, since_index). */
static json_t *qWaiter(sqlite3_stmt *st)
{
	json_t *o = json_object();

	if (o == NULL || sm_json_set(o, "session", sm_json_session(st, 0)) != 0 ||
	    sm_json_set(o, "mode", sm_json_mode(sqlite3_column_int(st, 1))) != 0 ||
	    sm_json_set(o, "since_index", sm_json_int(st, 2)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The mode of L's holders (SM-2: one mode at a time) as JSON, null when
 * nobody holds it. */
static json_t *qLockMode(struct coord_sm_reader *r, const char *name, size_t len, int *rv)
{
	sqlite3_stmt *st;
	json_t *mode;
	int row;

	if ((*rv = qLockStmt(r,
	                     "SELECT mode FROM coord_holders WHERE kind = ?1 AND name = ?2"
	                     " ORDER BY token, session LIMIT 1",
	                     COORD_KIND_LOCK, name, len, &st)) != 0)
		return NULL;
	row = sm_row(st);
	mode = row == 1 ? sm_json_mode(sqlite3_column_int(st, 0)) : json_null();
	sm_release(&r->cache, st);
	*rv = row < 0 ? COORD_EDB : mode == NULL ? COORD_ENOMEM : 0;
	if (*rv != 0) {
		json_decref(mode);
		return NULL;
	}
	return mode;
}

/* The lock object of NAME whose modify index is MODIFY, or NULL with *RV
 * set; *RV is COORD_ENOTFOUND when nobody holds or waits. */
static json_t *qLockObject(struct coord_sm_reader *r, const char *name, size_t len, uint64_t modify,
                           int *rv)
{
	json_t *o = NULL, *holders = NULL, *waiters = NULL;
	sqlite3_stmt *st;

	*rv = qLockStmt(r,
	                "SELECT session, token, value FROM coord_holders"
	                " WHERE kind = ?1 AND name = ?2 ORDER BY token, session",
	                COORD_KIND_LOCK, name, len, &st);
	if (*rv == 0)
		*rv = sm_json_rows(&r->cache, st, qHolder, &holders);
	if (*rv == 0)
		*rv = qLockStmt(r,
		                "SELECT session, mode, since_index FROM coord_waiters"
		                " WHERE kind = ?1 AND name = ?2 ORDER BY since_index, session",
		                COORD_KIND_LOCK, name, len, &st);
	if (*rv == 0)
		*rv = sm_json_rows(&r->cache, st, qWaiter, &waiters);
	if (*rv == 0 && json_array_size(holders) == 0 && json_array_size(waiters) == 0)
		*rv = COORD_ENOTFOUND;
	if (*rv == 0)
		*rv = (o = json_object()) == NULL ? COORD_ENOMEM : 0;
	if (*rv == 0)
		*rv = sm_json_set(o, "name", json_stringn(name, len));
	if (*rv == 0) {
		json_t *mode = qLockMode(r, name, len, rv);

		if (*rv == 0)
			*rv = sm_json_set(o, "mode", mode);
	}
	if (*rv == 0) {
		*rv = sm_json_set(o, "holders", holders);
		holders = NULL;
	}
	if (*rv == 0) {
		*rv = sm_json_set(o, "waiters", waiters);
		waiters = NULL;
	}
	if (*rv == 0)
		*rv = sm_json_set(o, "modify_index", json_integer((json_int_t)modify));
	json_decref(holders);
	json_decref(waiters);
	if (*rv == 0)
		return o;
	json_decref(o);
	return NULL;
}

int coord_sm_query_lock(struct coord_sm_reader *r, const char *name, size_t len, json_t **out)
{
	sqlite3_stmt *st;
	uint64_t modify;
	int row, rv;

	*out = NULL;
	if ((rv = qLockStmt(r, "SELECT modify_index FROM coord_locks WHERE kind = ?1 AND name = ?2",
	                    COORD_KIND_LOCK, name, len, &st)) != 0)
		return rv;
	row = sm_row(st);
	modify = row == 1 ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sm_release(&r->cache, st);
	if (row < 0)
		return COORD_EDB;
	if (row == 0)
		return COORD_ENOTFOUND;
	*out = qLockObject(r, name, len, modify, &rv);
	return rv;
}

/* The locks of a page: names in [lower, ?2), lower being ?1 inclusive
 * (">=") or exclusive (">"), with no upper end when UPPER is "", only names
 * with holders or waiters (a row kept for a running lock-delay alone is
 * not a lock), at most ?3 rows. The primary key (kind, name) serves the
 * range, so a page reads only the locks it returns and one more. */
#define Q_LOCKS(lower, upper)                                                                      \
	"SELECT name, modify_index FROM coord_locks AS l WHERE kind = 0 AND name " lower           \
	" ?1" upper " AND (EXISTS (SELECT 1 FROM coord_holders AS h WHERE h.kind = 0 AND"          \
	" h.name = l.name) OR EXISTS (SELECT 1 FROM coord_waiters AS w WHERE w.kind = 0"           \
	" AND w.name = l.name)) ORDER BY name LIMIT ?3"

/* [after][bounded]: the statement of a page that starts after a name (else
 * at the prefix), and that has an upper end. */
static const char *const qLocksSql[2][2] = {
    {Q_LOCKS(">=", ""), Q_LOCKS(">=", " AND name < ?2")},
    {Q_LOCKS(">", ""), Q_LOCKS(">", " AND name < ?2")},
};

int coord_sm_query_locks(struct coord_sm_reader *r, const char *prefix, size_t len,
                         const char *after, size_t after_len, uint32_t limit, json_t **out)
{
	json_t *locks = json_array(), *lock, *next = NULL;
	sqlite3_stmt *st;
	char upper[COORD_NAME_MAX];
	size_t ulen = 0;
	/* A page after a name at or past the prefix starts after that name;
	 * one after a name before the prefix starts at the prefix. */
	bool from_after = after_len > 0 && sm_name_cmp(after, after_len, prefix, len) >= 0;
	int row = 0, rv = locks == NULL ? COORD_ENOMEM : 0;

	assert(limit > 0);
	*out = NULL;
	if (rv != 0 || len > COORD_NAME_MAX) /* no name is that long: an empty page */
		return sm_page(rv, "locks", locks, NULL, out);
	sm_prefix_end(prefix, len, upper, &ulen);
	if (sm_prepare(r->db, &r->cache, qLocksSql[from_after][ulen > 0], &st) != 0)
		return sm_page(COORD_EDB, "locks", locks, NULL, out);
	sm_bind_range(st, from_after ? after : prefix, from_after ? after_len : len, upper, ulen);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)limit + 1); /* one more row decides "next" */
	for (uint32_t n = 0; rv == 0 && (row = sm_row(st)) == 1; n++) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		size_t name_len = (size_t)sqlite3_column_bytes(st, 0);

		if (n == limit) { /* more follow: the next page starts after the last */
			next = json_incref(json_object_get(
			    json_array_get(locks, json_array_size(locks) - 1), "name"));
			rv = next == NULL ? COORD_ENOMEM : 0;
			break;
		}
		lock = qLockObject(r, name, name_len, (uint64_t)sqlite3_column_int64(st, 1), &rv);
		if (rv == 0 && json_array_append_new(locks, lock) != 0)
			rv = COORD_ENOMEM;
	}
	if (rv == 0 && row < 0)
		rv = COORD_EDB;
	sm_release(&r->cache, st);
	return sm_page(rv, "locks", locks, next, out);
}

/* {"session","value","fencing_token"|"since_index"} from (session, value, n). */
static json_t *qCandidate(sqlite3_stmt *st, const char *number)
{
	json_t *o = json_object();

	if (o == NULL || sm_json_set(o, "session", sm_json_session(st, 0)) != 0 ||
	    sm_json_set(o, "value", sm_json_text(st, 1)) != 0 ||
	    sm_json_set(o, number, sm_json_int(st, 2)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *qLeader(sqlite3_stmt *st)
{
	return qCandidate(st, "fencing_token");
}

static json_t *qWaiting(sqlite3_stmt *st)
{
	return qCandidate(st, "since_index");
}

/* The election's modify index: its row's, or if it has none the index at
 * which the last election was left empty (so an observer of a resigned
 * election wakes). */
static int qElectionIndex(struct coord_sm_reader *r, const char *name, size_t len, uint64_t *modify)
{
	sqlite3_stmt *st;
	int row, rv;

	if ((rv = qLockStmt(r, "SELECT modify_index FROM coord_locks WHERE kind = ?1 AND name = ?2",
	                    COORD_KIND_ELECTION, name, len, &st)) != 0)
		return rv;
	row = sm_row(st);
	*modify = row == 1 ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sm_release(&r->cache, st);
	if (row < 0)
		return COORD_EDB;
	return row == 1 ? 0 : sm_meta_get(r->db, NULL, SM_META_ELECTION_GONE, modify);
}

int coord_sm_query_election(struct coord_sm_reader *r, const char *name, size_t len, json_t **out)
{
	json_t *leaders = NULL, *candidates = NULL, *leader;
	sqlite3_stmt *st;
	uint64_t modify = 0;
	int rv;

	*out = NULL;
	rv = qElectionIndex(r, name, len, &modify);
	if (rv == 0)
		rv = qLockStmt(r,
		               "SELECT session, value, token FROM coord_holders"
		               " WHERE kind = ?1 AND name = ?2 ORDER BY token, session",
		               COORD_KIND_ELECTION, name, len, &st);
	if (rv == 0)
		rv = sm_json_rows(&r->cache, st, qLeader, &leaders);
	if (rv == 0)
		rv = qLockStmt(r,
		               "SELECT session, value, since_index FROM coord_waiters"
		               " WHERE kind = ?1 AND name = ?2 ORDER BY since_index, session",
		               COORD_KIND_ELECTION, name, len, &st);
	if (rv == 0)
		rv = sm_json_rows(&r->cache, st, qWaiting, &candidates);
	if (rv == 0 && (*out = json_object()) == NULL)
		rv = COORD_ENOMEM;
	if (rv == 0)
		rv = sm_json_set(*out, "name", json_stringn(name, len));
	if (rv == 0) {
		/* SM-2: an election has at most one holder. */
		leader = json_array_get(leaders, 0);
		rv =
		    sm_json_set(*out, "leader", leader != NULL ? json_incref(leader) : json_null());
	}
	if (rv == 0) {
		rv = sm_json_set(*out, "candidates", candidates);
		candidates = NULL;
	}
	if (rv == 0)
		rv = sm_json_set(*out, "modify_index", json_integer((json_int_t)modify));
	json_decref(leaders);
	json_decref(candidates);
	if (rv != 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rv;
}

static json_t *qToken(sqlite3_stmt *st)
{
	return sm_json_int(st, 0);
}

int coord_sm_query_fence(struct coord_sm_reader *r, const char *name, size_t len, uint64_t token,
                         bool *valid, json_t **out)
{
	json_t *current = NULL;
	sqlite3_stmt *st;
	int rv;

	*out = NULL;
	*valid = false;
	rv = qLockStmt(
	    r, "SELECT token FROM coord_holders WHERE kind = ?1 AND name = ?2 ORDER BY token",
	    COORD_KIND_LOCK, name, len, &st);
	if (rv == 0)
		rv = sm_json_rows(&r->cache, st, qToken, &current);
	if (rv != 0)
		return rv;
	for (size_t i = 0; i < json_array_size(current); i++)
		if ((uint64_t)json_integer_value(json_array_get(current, i)) == token)
			*valid = true;
	if ((*out = json_object()) == NULL)
		rv = COORD_ENOMEM;
	if (rv == 0)
		rv = sm_json_set(*out, "valid", json_boolean(*valid));
	if (rv == 0 && !*valid) {
		rv = sm_json_set(*out, "current", current);
		current = NULL;
	}
	json_decref(current);
	if (rv != 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rv;
}

int coord_sm_list_index(sqlite3 *db, enum coord_list list, uint64_t *out)
{
	static const char *const keys[] = {
	    [COORD_LIST_SESSIONS] = SM_META_SESSIONS,
	    [COORD_LIST_LOCKS] = SM_META_LOCKS,
	    [COORD_LIST_TOKENS] = SM_META_TOKENS,
	    [COORD_LIST_KV] = SM_META_KV,
	};

	assert((size_t)list < sizeof(keys) / sizeof(keys[0]));
	return sm_meta_get(db, NULL, keys[list], out);
}

static int count_rows(sqlite3 *db, const char *sql, uint64_t *out)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return COORD_EDB;
	rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : COORD_EDB;
}

int coord_sm_counts(sqlite3 *db, struct coord_sm_counts *out)
{
	if (count_rows(db, "SELECT count(*) FROM coord_sessions", &out->sessions) ||
	    /* The table's own rows, not the distinct names among holders:
	     * that needs a sort of every hold (a third of a second at 640,000
	     * on the loop), this only a count of one table. */
	    count_rows(db, "SELECT count(*) FROM coord_locks", &out->locks) ||
	    count_rows(db, "SELECT count(*) FROM coord_holders", &out->holders) ||
	    count_rows(db, "SELECT count(*) FROM coord_waiters", &out->waiters) ||
	    sm_meta_get(db, NULL, SM_META_KV_KEYS, &out->keys) ||
	    sm_meta_get(db, NULL, SM_META_KV_BYTES, &out->kv_bytes))
		return COORD_EDB;
	return 0;
}
