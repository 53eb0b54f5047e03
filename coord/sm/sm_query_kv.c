/* Reads of the key/value namespace (sm_query.h): a key, a page of keys under
 * a prefix, and the changes under a prefix since an index (KV-2). */
#include <assert.h>

#include "sm_internal.h"
#include "sm_query.h"

#define Q_KV_COLUMNS "key, value, create_index, modify_index, session"

/* A key's object from a row of Q_KV_COLUMNS. */
static json_t *qKvObject(sqlite3_stmt *st)
{
	json_t *o = json_object();

	if (o == NULL || sm_json_set(o, "key", sm_json_text(st, 0)) != 0 ||
	    sm_json_set(o, "value", sm_json_text(st, 1)) != 0 ||
	    sm_json_set(o, "create_index", sm_json_int(st, 2)) != 0 ||
	    sm_json_set(o, "modify_index", sm_json_int(st, 3)) != 0 ||
	    sm_json_set(o, "session",
	                sqlite3_column_type(st, 4) == SQLITE_NULL ? json_null()
	                                                          : sm_json_session(st, 4)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *qKvItem(struct coord_sm_reader *r, sqlite3_stmt *st, int *rv)
{
	json_t *o = qKvObject(st);

	(void)r;
	if (o == NULL)
		*rv = COORD_ENOMEM;
	return o;
}

int coord_sm_query_kv(struct coord_sm_reader *r, const char *key, size_t len, json_t **out,
                      uint64_t *last)
{
	sqlite3_stmt *st;
	int row;

	*out = NULL;
	*last = 0;
	if (sm_prepare(r->db, &r->cache, "SELECT " Q_KV_COLUMNS " FROM coord_kv WHERE key = ?1",
	               &st) != 0)
		return COORD_EDB;
	sqlite3_bind_text(st, 1, key, (int)len, SQLITE_TRANSIENT);
	row = sm_row(st);
	if (row == 1)
		*out = qKvObject(st);
	sm_release(&r->cache, st);
	if (row == 1)
		return *out != NULL ? 0 : COORD_ENOMEM;
	if (row < 0)
		return COORD_EDB;
	/* Gone, or never there: the index of its deletion, if the history
	 * still holds it (KV-6). */
	if (sm_prepare(r->db, &r->cache, "SELECT idx FROM coord_kv_gone WHERE key = ?1", &st) != 0)
		return COORD_EDB;
	sqlite3_bind_text(st, 1, key, (int)len, SQLITE_TRANSIENT);
	row = sm_row(st);
	if (row == 1)
		*last = (uint64_t)sqlite3_column_int64(st, 0);
	sm_release(&r->cache, st);
	return row >= 0 ? COORD_ENOTFOUND : COORD_EDB;
}

/* Keys from ?1 (after it when it is an after, else at it) below ?2 (when
 * the prefix has an upper end), at most ?3. The primary key serves the
 * range, so a page reads only its keys and one more. */
#define Q_KVS(lower, upper)                                                                        \
	"SELECT " Q_KV_COLUMNS " FROM coord_kv WHERE key " lower " ?1" upper                       \
	" ORDER BY key LIMIT ?3"

/* [after][bounded], as the lock listing's statements. */
static const char *const qKvsSql[2][2] = {
    {Q_KVS(">=", ""), Q_KVS(">=", " AND key < ?2")},
    {Q_KVS(">", ""), Q_KVS(">", " AND key < ?2")},
};

int coord_sm_query_kvs(struct coord_sm_reader *r, const char *prefix, size_t len, const char *after,
                       size_t after_len, uint32_t limit, json_t **out)
{
	sqlite3_stmt *st;
	char upper[COORD_NAME_MAX];
	size_t ulen = 0;
	uint64_t index = 0;
	bool from_after = after_len > 0 && sm_name_cmp(after, after_len, prefix, len) >= 0;
	int rv;

	assert(limit > 0);
	*out = NULL;
	if ((rv = sm_meta_get(r->db, &r->cache, SM_META_KV, &index)) != 0)
		return rv;
	if (len > COORD_NAME_MAX) { /* no key is that long: an empty page */
		rv = sm_page(0, "keys", json_array(), NULL, out);
	} else {
		sm_prefix_end(prefix, len, upper, &ulen);
		if (sm_prepare(r->db, &r->cache, qKvsSql[from_after][ulen > 0], &st) != 0)
			return COORD_EDB;
		sm_bind_range(st, from_after ? after : prefix, from_after ? after_len : len, upper,
		              ulen);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)limit + 1); /* one more decides "next" */
		rv = sm_page_rows(r, st, limit, qKvItem, "keys", "key", out);
	}
	if (rv == 0 && sm_json_set(*out, "index", json_integer((json_int_t)index)) != 0) {
		json_decref(*out);
		*out = NULL;
		rv = COORD_ENOMEM;
	}
	return rv;
}

/* The history after ?3 of keys from ?1 below ?2 (when bounded), in log
 * order: at most COORD_KV_HISTORY_MAX + COORD_KV_HISTORY_SLACK rows, all the
 * history holds. */
#define Q_CHANGES(upper)                                                                           \
	"SELECT key, change, idx FROM coord_kv_history WHERE idx > ?3 AND key >= ?1" upper         \
	" ORDER BY idx, key"

static const char *const qChangesSql[2] = {Q_CHANGES(""), Q_CHANGES(" AND key < ?2")};

int coord_sm_query_kv_changes(struct coord_sm_reader *r, const char *prefix, size_t len,
                              uint64_t since, json_t **out, uint64_t *last)
{
	json_t *changes = json_array();
	sqlite3_stmt *st;
	char upper[COORD_NAME_MAX];
	size_t ulen = 0;
	int row = 0, rv = changes == NULL ? COORD_ENOMEM : 0;

	*out = NULL;
	*last = 0;
	if (rv == 0 && len <= COORD_NAME_MAX) {
		sm_prefix_end(prefix, len, upper, &ulen);
		if (sm_prepare(r->db, &r->cache, qChangesSql[ulen > 0], &st) != 0) {
			json_decref(changes);
			return COORD_EDB;
		}
		sm_bind_range(st, prefix, len, upper, ulen);
		sm_bind_u64(st, 3, since);
		while (rv == 0 && (row = sm_row(st)) == 1) {
			json_t *o = json_pack(
			    "{s:o, s:s, s:I}", "key", sm_json_text(st, 0), "change",
			    sqlite3_column_int(st, 1) == SM_KV_CHANGE_DELETE ? "delete" : "put",
			    "modify_index", (json_int_t)sqlite3_column_int64(st, 2));

			*last = (uint64_t)sqlite3_column_int64(st, 2);
			if (o == NULL || json_array_append_new(changes, o) != 0)
				rv = COORD_ENOMEM;
		}
		if (rv == 0 && row < 0)
			rv = COORD_EDB;
		sm_release(&r->cache, st);
	}
	if (rv == 0 && (*out = json_pack("{s:o}", "changes", changes)) == NULL)
		rv = COORD_ENOMEM;
	else if (rv != 0)
		json_decref(changes);
	return rv;
}

int coord_sm_kv_compacted(struct coord_sm_reader *r, uint64_t *out)
{
	return sm_meta_get(r->db, &r->cache, SM_META_KV_COMPACTED, out);
}
