/* The key/value commands: put and delete, and the deletion of a session's
 * ephemeral keys when it ends (API.md, Key/value).
 *
 * Invariants (the code cites them as KV-n):
 *   KV-1 A key's create_index is the index of the entry that created it and
 *        its modify_index that of the entry that last wrote it (SM-8).
 *   KV-2 Every change of a key (a put, a delete, an ephemeral key's end) is
 *        a row of coord_kv_history with its entry's index, written in that
 *        entry. The history keeps the last COORD_KV_HISTORY_MAX changes;
 *        coord_meta's kv_compacted_index is the highest index of a change
 *        dropped from it, so the history holds every change above that
 *        index: a watch from N >= it misses nothing.
 *   KV-3 An ephemeral key belongs to a live session: the entry that ends
 *        the session deletes the key (SM-4 for keys), and a put names an
 *        existing session.
 *   KV-4 A conditional write (cas, fence) changes nothing unless its
 *        condition holds as it applies; a fence holds when its token is
 *        that of a current holder of its lock (SM-3).
 *   KV-5 coord_meta's kv_keys and kv_bytes are the number of keys and the
 *        bytes of their values, kept with every change, and a write that
 *        would take them past COORD_KV_KEYS_MAX or COORD_KV_BYTES_MAX
 *        changes nothing (SM-7). */
#include <stdlib.h>
#include <string.h>

#include "sm_internal.h"
#include "sm_limits.h"

/* The key a command names, and what the store holds of it. */
struct kv_row {
	bool found;
	uint64_t create_index;
	uint64_t modify_index;
	uint64_t value_len;
	struct coord_session_id session; /* zero: a persistent key */
};

static int kvFind(struct sm_apply *a, struct kv_row *k)
{
	sqlite3_stmt *st;
	int row;

	memset(k, 0, sizeof(*k));
	if (sm_stmt(a,
	            "SELECT create_index, modify_index, length(CAST(value AS BLOB)), session"
	            " FROM coord_kv WHERE key = ?1",
	            &st) != 0)
		return COORD_EDB;
	sqlite3_bind_text(st, 1, a->cmd->name, (int)a->cmd->name_len, SQLITE_STATIC);
	row = sm_row(st);
	if (row == 1) {
		k->found = true;
		k->create_index = (uint64_t)sqlite3_column_int64(st, 0);
		k->modify_index = (uint64_t)sqlite3_column_int64(st, 1);
		k->value_len = (uint64_t)sqlite3_column_int64(st, 2);
		sm_column_session(st, 3, &k->session);
	}
	sm_release_in(a, st);
	return row < 0 ? COORD_EDB : 0;
}

/* KV-4: the command's cas and fence hold for K. Otherwise answers
 * cas_failed (with the key's modify_index, 0 when absent) or stale_token
 * (with the lock's holders) and sets *OK false. */
static int kvConditions(struct sm_apply *a, const struct kv_row *k, bool *ok)
{
	const struct coord_cmd *c = a->cmd;
	struct sm_lock l = {COORD_KIND_LOCK, c->fence_lock, c->fence_lock_len};
	uint64_t n;
	int rv;

	*ok = false;
	if ((c->kv_flags & COORD_KV_CAS) &&
	    (c->cas == 0 ? k->found : !k->found || k->modify_index != c->cas)) {
		a->out->status = COORD_ST_CAS_FAILED;
		a->out->modify_index = k->found ? k->modify_index : 0;
		return 0;
	}
	if (c->kv_flags & COORD_KV_FENCE) {
		sqlite3_stmt *st;

		if (sm_stmt(a,
		            "SELECT count(*) FROM coord_holders WHERE kind = ?1 AND name = ?2"
		            " AND token = ?3",
		            &st) != 0)
			return COORD_EDB;
		sm_bind_lock(st, 1, &l);
		sm_bind_u64(st, 3, c->fence_token);
		rv = sm_row(st);
		n = rv == 1 ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
		sm_release_in(a, st);
		if (rv != 1)
			return COORD_EDB;
		if (n == 0) {
			a->out->status = COORD_ST_STALE_TOKEN;
			return sm_result_holders(a, &l);
		}
	}
	*ok = true;
	return 0;
}

static int kvMetaAdd(struct sm_apply *a, const char *key, int64_t delta)
{
	uint64_t v;
	int rv = sm_meta_get(a->db, a->cache, key, &v);

	return rv != 0 ? rv : sm_meta_set(a, key, (uint64_t)((int64_t)v + delta));
}

/* KV-2: drops the oldest changes past COORD_KV_HISTORY_MAX, raising the
 * compacted index to the newest change dropped. */
static int kvHistoryTrim(struct sm_apply *a)
{
	sqlite3_stmt *st;
	uint64_t n, idx;
	const unsigned char *key;
	char *last = NULL;
	int row, rv;

	if ((rv = sm_meta_get(a->db, a->cache, SM_META_KV_HISTORY, &n)) != 0)
		return rv;
	if (n <= COORD_KV_HISTORY_MAX)
		return 0;
	if (sm_stmt(a, "SELECT idx, key FROM coord_kv_history ORDER BY idx, key LIMIT 1 OFFSET ?1",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_u64(st, 1, n - COORD_KV_HISTORY_MAX - 1);
	row = sm_row(st);
	idx = row == 1 ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	key = row == 1 ? sqlite3_column_text(st, 1) : NULL;
	if (key != NULL)
		last = strdup((const char *)key);
	sm_release_in(a, st);
	if (row != 1)
		return COORD_EDB;
	if (last == NULL)
		return COORD_ENOMEM;
	if (sm_stmt(a, "DELETE FROM coord_kv_history WHERE idx < ?1 OR (idx = ?1 AND key <= ?2)",
	            &st) != 0) {
		free(last);
		return COORD_EDB;
	}
	sm_bind_u64(st, 1, idx);
	sqlite3_bind_text(st, 2, last, -1, SQLITE_TRANSIENT);
	free(last);
	if ((rv = sm_done(a, st)) != 0 ||
	    (rv = sm_meta_set(a, SM_META_KV_HISTORY, COORD_KV_HISTORY_MAX)) != 0)
		return rv;
	return sm_meta_set(a, SM_META_KV_COMPACTED, idx);
}

/* KV-2: records a change of KEY (LEN bytes) at this entry; DELETED for a
 * deletion. Stamps the list of keys. */
static int kvHistoryAdd(struct sm_apply *a, const char *key, size_t len, bool deleted)
{
	sqlite3_stmt *st;
	int rv;

	if (sm_stmt(a, "INSERT INTO coord_kv_history(idx, key, change) VALUES(?1, ?2, ?3)", &st) !=
	    0)
		return COORD_EDB;
	sm_bind_u64(st, 1, a->index);
	sqlite3_bind_text(st, 2, key, (int)len, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, deleted ? SM_KV_CHANGE_DELETE : SM_KV_CHANGE_PUT);
	if ((rv = sm_done(a, st)) != 0 || (rv = kvMetaAdd(a, SM_META_KV_HISTORY, 1)) != 0 ||
	    (rv = sm_meta_set(a, SM_META_KV, a->index)) != 0)
		return rv;
	return kvHistoryTrim(a);
}

/* KV-5 and, for an ephemeral key new to its session, the session's room
 * (SM-7): whether writing the command's value over K stays in the limits. */
static int kvRoom(struct sm_apply *a, const struct kv_row *k, bool *room)
{
	const struct coord_cmd *c = a->cmd;
	struct coord_limits limits;
	uint64_t keys, bytes, objects;
	int rv;

	*room = false;
	if ((rv = sm_meta_get(a->db, a->cache, SM_META_KV_KEYS, &keys)) != 0 ||
	    (rv = sm_meta_get(a->db, a->cache, SM_META_KV_BYTES, &bytes)) != 0)
		return rv;
	if (!k->found && keys >= COORD_KV_KEYS_MAX) {
		a->out->status = COORD_ST_LIMIT;
		a->out->limit = sm_limit_phrase[SM_LIMIT_KEYS];
		return 0;
	}
	if (bytes - k->value_len + c->value_len > COORD_KV_BYTES_MAX) {
		a->out->status = COORD_ST_LIMIT;
		a->out->limit = sm_limit_phrase[SM_LIMIT_KV_BYTES];
		return 0;
	}
	if ((c->kv_flags & COORD_KV_EPHEMERAL) &&
	    !coord_session_id_equal(&k->session, &c->session)) {
		if ((rv = sm_limits_in_force(a, &limits)) != 0 ||
		    (rv = sm_session_objects(a, &c->session, &objects)) != 0)
			return rv;
		if (objects >= limits.objects) {
			a->out->status = COORD_ST_LIMIT;
			a->out->limit = sm_limit_phrase[SM_LIMIT_OBJECTS];
			return 0;
		}
	}
	*room = true;
	return 0;
}

int sm_apply_kv_put(struct sm_apply *a)
{
	const struct coord_cmd *c = a->cmd;
	bool ephemeral = (c->kv_flags & COORD_KV_EPHEMERAL) != 0;
	struct kv_row k;
	sqlite3_stmt *st;
	bool live, ok;
	int rv;

	if (ephemeral) { /* KV-3 */
		if ((rv = sm_session_find(a, &c->session, &live, NULL)) != 0)
			return rv;
		if (!live) {
			a->out->status = COORD_ST_SESSION_NOT_FOUND;
			return 0;
		}
	}
	if ((rv = kvFind(a, &k)) != 0 || (rv = kvConditions(a, &k, &ok)) != 0 || !ok ||
	    (rv = kvRoom(a, &k, &ok)) != 0 || !ok)
		return rv;
	if (sm_stmt(a,
	            "INSERT INTO coord_kv(key, value, create_index, modify_index, session)"
	            " VALUES(?1, ?2, ?3, ?3, ?4) ON CONFLICT(key) DO UPDATE SET"
	            " value = excluded.value, modify_index = excluded.modify_index,"
	            " session = excluded.session",
	            &st) != 0)
		return COORD_EDB;
	sqlite3_bind_text(st, 1, c->name, (int)c->name_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->value_len > 0 ? c->value : "", (int)c->value_len,
	                  SQLITE_STATIC);
	sm_bind_u64(st, 3, a->index);
	if (ephemeral)
		sm_bind_session(st, 4, &c->session);
	else
		sqlite3_bind_null(st, 4);
	if ((rv = sm_done(a, st)) != 0 ||
	    (rv = kvMetaAdd(a, SM_META_KV_KEYS, k.found ? 0 : 1)) != 0 ||
	    (rv = kvMetaAdd(a, SM_META_KV_BYTES, (int64_t)c->value_len - (int64_t)k.value_len)) !=
	        0 ||
	    (rv = kvHistoryAdd(a, c->name, c->name_len, false)) != 0)
		return rv;
	a->out->status = COORD_ST_OK;
	a->out->create_index = k.found ? k.create_index : a->index;
	a->out->modify_index = a->index;
	return 0;
}

/* Deletes KEY (LEN bytes), which exists with a value of VALUE_LEN bytes. */
static int kvDelete(struct sm_apply *a, const char *key, size_t len, uint64_t value_len)
{
	sqlite3_stmt *st;
	int rv;

	if (sm_stmt(a, "DELETE FROM coord_kv WHERE key = ?1", &st) != 0)
		return COORD_EDB;
	sqlite3_bind_text(st, 1, key, (int)len, SQLITE_STATIC);
	if ((rv = sm_done(a, st)) != 0 || (rv = kvMetaAdd(a, SM_META_KV_KEYS, -1)) != 0 ||
	    (rv = kvMetaAdd(a, SM_META_KV_BYTES, -(int64_t)value_len)) != 0)
		return rv;
	return kvHistoryAdd(a, key, len, true);
}

int sm_apply_kv_delete(struct sm_apply *a)
{
	struct kv_row k;
	bool ok;
	int rv;

	if ((rv = kvFind(a, &k)) != 0 || (rv = kvConditions(a, &k, &ok)) != 0 || !ok)
		return rv;
	a->out->status = COORD_ST_OK;
	a->out->released = k.found; /* {"deleted": ...} */
	a->out->modify_index = a->index;
	return k.found ? kvDelete(a, a->cmd->name, a->cmd->name_len, k.value_len) : 0;
}

int sm_kv_session_end(struct sm_apply *a)
{
	sqlite3_stmt *st;
	char **keys = NULL;
	uint64_t *lens = NULL;
	size_t n = 0, cap = 0;
	int row, rv = 0;

	/* Collected first: deleting while stepping the same table would skip
	 * rows. At most the session's object limit of them (SM-7). */
	if (sm_stmt(a,
	            "SELECT key, length(CAST(value AS BLOB)) FROM coord_kv WHERE session = ?1"
	            " ORDER BY key",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_session(st, 1, &a->cmd->session);
	while ((row = sm_row(st)) == 1) {
		if (n == cap) {
			size_t want = cap == 0 ? 8 : 2 * cap;
			void *pk = realloc(keys, want * sizeof(*keys));
			void *pl = pk ? realloc(lens, want * sizeof(*lens)) : NULL;

			if (pk)
				keys = pk;
			if (pl)
				lens = pl;
			if (!pk || !pl) {
				rv = COORD_ENOMEM;
				break;
			}
			cap = want;
		}
		keys[n] = strdup((const char *)sqlite3_column_text(st, 0));
		lens[n] = (uint64_t)sqlite3_column_int64(st, 1);
		if (keys[n++] == NULL) {
			rv = COORD_ENOMEM;
			break;
		}
	}
	if (rv == 0 && row < 0)
		rv = COORD_EDB;
	sm_release_in(a, st);
	for (size_t i = 0; rv == 0 && i < n; i++)
		rv = kvDelete(a, keys[i], strlen(keys[i]), lens[i]);
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(lens);
	return rv;
}
