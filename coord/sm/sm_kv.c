/* The key/value commands: put and delete, and the deletion of a session's
 * ephemeral keys when it ends (API.md, Key/value).
 *
 * Invariants (the code cites them as KV-n):
 *   KV-1 A key's create_index is the index of the entry that created it and
 *        its modify_index that of the entry that last wrote it (SM-8).
 *   KV-2 Every change of a key (a put, a delete, an ephemeral key's end) is
 *        a row of coord_kv_history with its entry's index, written in that
 *        entry. The history keeps at least the last COORD_KV_HISTORY_MAX
 *        changes and at most COORD_KV_HISTORY_SLACK more; coord_meta's
 *        kv_compacted_index is the highest index of a change dropped from
 *        it, so the history holds every change above that index: a watch
 *        from N >= it misses nothing.
 *   KV-3 An ephemeral key belongs to a live session: the entry that ends
 *        the session deletes the key (SM-4 for keys), and a put names an
 *        existing session.
 *   KV-4 A conditional write (cas, fence, a transaction's checks) changes
 *        nothing unless its condition holds as it applies; a fence holds
 *        when its token is that of a current holder of its lock (SM-3). A
 *        transaction applies all its operations in its entry, or none.
 *   KV-5 coord_meta's kv_keys and kv_bytes are the number of keys and the
 *        bytes of their values, kept with every change, and a write that
 *        would take them past COORD_KV_KEYS_MAX or COORD_KV_BYTES_MAX
 *        changes nothing (SM-7).
 *   KV-6 coord_kv_gone holds exactly the absent keys whose newest change in
 *        the history is their deletion, with its index: the "index" of a
 *        404, kept beside the history so that no write has to update an
 *        index of the history by key. */
#include <assert.h>
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

/* What the store holds of KEY (LEN bytes). */
static int kvFind(struct sm_apply *a, const char *key, size_t len, struct kv_row *k)
{
	sqlite3_stmt *st;
	int row;

	memset(k, 0, sizeof(*k));
	if (sm_stmt(a,
	            "SELECT create_index, modify_index, length(CAST(value AS BLOB)), session"
	            " FROM coord_kv WHERE key = ?1",
	            &st) != 0)
		return COORD_EDB;
	sqlite3_bind_text(st, 1, key, (int)len, SQLITE_STATIC);
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

/* Whether TOKEN is the fencing token of a current holder of lock L (SM-3):
 * *CURRENT. */
static int kvFenceHolds(struct sm_apply *a, const struct sm_lock *l, uint64_t token, bool *current)
{
	sqlite3_stmt *st;
	int rv;

	if (sm_stmt(a,
	            "SELECT count(*) FROM coord_holders WHERE kind = ?1 AND name = ?2"
	            " AND token = ?3",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_lock(st, 1, l);
	sm_bind_u64(st, 3, token);
	rv = sm_row(st);
	*current = rv == 1 && sqlite3_column_int64(st, 0) > 0;
	sm_release_in(a, st);
	return rv == 1 ? 0 : COORD_EDB;
}

/* KV-4: the command's cas and fence hold for K. Otherwise answers
 * cas_failed (with the key's modify_index, 0 when absent) or stale_token
 * (with the lock's holders) and sets *OK false. */
static int kvConditions(struct sm_apply *a, const struct kv_row *k, bool *ok)
{
	const struct coord_cmd *c = a->cmd;
	struct sm_lock l = {COORD_KIND_LOCK, c->fence_lock, c->fence_lock_len};
	int rv;

	*ok = false;
	if ((c->kv_flags & COORD_KV_CAS) &&
	    (c->cas == 0 ? k->found : !k->found || k->modify_index != c->cas)) {
		a->out->status = COORD_ST_CAS_FAILED;
		a->out->modify_index = k->found ? k->modify_index : 0;
		return 0;
	}
	if (c->kv_flags & COORD_KV_FENCE) {
		if ((rv = kvFenceHolds(a, &l, c->fence_token, ok)) != 0 || *ok)
			return rv;
		a->out->status = COORD_ST_STALE_TOKEN;
		return sm_result_holders(a, &l);
	}
	*ok = true;
	return 0;
}

/* EV-1: K, an ephemeral key (else nothing), is lost to its session, WHY. */
static int kvLost(struct sm_apply *a, const char *key, size_t len, const struct kv_row *k,
                  enum sm_event_why why)
{
	static const struct coord_session_id none;
	struct sm_event e = {
	    .type = SM_EVENT_KEY_DELETED, .name = key, .name_len = len, .why = why};

	if (coord_session_id_equal(&k->session, &none))
		return 0;
	return sm_event_add(a, &k->session, &e);
}

/* KV-6: the deletion of KEY at IDX leaves the history, and so
 * coord_kv_gone, unless the key was deleted again since. */
static int kvGoneDrop(struct sm_apply *a, const unsigned char *key, uint64_t idx)
{
	sqlite3_stmt *st;

	if (sm_stmt(a, "DELETE FROM coord_kv_gone WHERE key = ?1 AND idx = ?2", &st) != 0)
		return COORD_EDB;
	sqlite3_bind_text(st, 1, (const char *)key, -1, SQLITE_TRANSIENT);
	sm_bind_u64(st, 2, idx);
	return sm_done(a, st);
}

/* KV-2: the history holds N rows, more than COORD_KV_HISTORY_MAX: drops
 * the oldest N - COORD_KV_HISTORY_MAX (their deletions out of coord_kv_gone,
 * KV-6), raising
 * the compacted index to the newest change dropped, and records the count
 * left. The rows are read one by one from the history's start, which is
 * its key, so that no statement needs a temporary table. */
static int kvHistoryTrim(struct sm_apply *a, uint64_t n)
{
	sqlite3_stmt *st;
	uint64_t idx = 0;
	char *last = NULL;
	int row, rv = 0;

	if (sm_stmt(a, "SELECT idx, key, change FROM coord_kv_history ORDER BY idx, key LIMIT ?1",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_u64(st, 1, n - COORD_KV_HISTORY_MAX);
	while (rv == 0 && (row = sm_row(st)) == 1) {
		const unsigned char *key = sqlite3_column_text(st, 1);

		idx = (uint64_t)sqlite3_column_int64(st, 0);
		free(last);
		if ((last = key != NULL ? strdup((const char *)key) : NULL) == NULL)
			rv = COORD_ENOMEM;
		else if (sqlite3_column_int(st, 2) == SM_KV_CHANGE_DELETE)
			rv = kvGoneDrop(a, key, idx);
	}
	sm_release_in(a, st);
	if (rv == 0 && (row != 0 || last == NULL))
		rv = COORD_EDB;
	if (rv == 0 &&
	    sm_stmt(a, "DELETE FROM coord_kv_history WHERE (idx, key) <= (?1, ?2)", &st) != 0)
		rv = COORD_EDB;
	if (rv == 0) {
		sm_bind_u64(st, 1, idx);
		sqlite3_bind_text(st, 2, last, -1, SQLITE_TRANSIENT);
		rv = sm_done(a, st);
	}
	free(last);
	if (rv != 0 || (rv = sm_meta_set(a, SM_META_KV_HISTORY, COORD_KV_HISTORY_MAX)) != 0)
		return rv;
	return sm_meta_set(a, SM_META_KV_COMPACTED, idx);
}

/* KV-6: KEY (LEN bytes) deleted at this entry (DELETED), or created. */
static int kvGone(struct sm_apply *a, const char *key, size_t len, bool deleted)
{
	sqlite3_stmt *st;

	if (sm_stmt(a,
	            deleted ? "INSERT INTO coord_kv_gone(key, idx) VALUES(?1, ?2)"
	                      " ON CONFLICT(key) DO UPDATE SET idx = excluded.idx"
	                    : "DELETE FROM coord_kv_gone WHERE key = ?1",
	            &st) != 0)
		return COORD_EDB;
	sqlite3_bind_text(st, 1, key, (int)len, SQLITE_STATIC);
	if (deleted)
		sm_bind_u64(st, 2, a->index);
	return sm_done(a, st);
}

/* KV-2: records a change of KEY (LEN bytes) at this entry; DELETED for a
 * deletion, else CREATED for a put of a key that was absent (KV-6). Stamps
 * the list of keys. */
static int kvHistoryAdd(struct sm_apply *a, const char *key, size_t len, bool deleted, bool created)
{
	sqlite3_stmt *st;
	uint64_t n;
	int rv;

	if ((deleted || created) && (rv = kvGone(a, key, len, deleted)) != 0)
		return rv;
	if (sm_stmt(a, "INSERT INTO coord_kv_history(idx, key, change) VALUES(?1, ?2, ?3)", &st) !=
	    0)
		return COORD_EDB;
	sm_bind_u64(st, 1, a->index);
	sqlite3_bind_text(st, 2, key, (int)len, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, deleted ? SM_KV_CHANGE_DELETE : SM_KV_CHANGE_PUT);
	if ((rv = sm_done(a, st)) != 0 || (rv = sm_meta_read(a, SM_META_KV_HISTORY, &n)) != 0 ||
	    (rv = sm_meta_set(a, SM_META_KV, a->index)) != 0)
		return rv;
	/* The count read once: the new row's, then trimmed back to the limit
	 * once the slack is used up. */
	if (n + 1 > COORD_KV_HISTORY_MAX + COORD_KV_HISTORY_SLACK)
		return kvHistoryTrim(a, n + 1);
	return sm_meta_set(a, SM_META_KV_HISTORY, n + 1);
}

/* What a write adds to the store: keys, bytes of values (either may be
 * negative), and ephemeral keys new to the command's session. */
struct kv_growth {
	int64_t keys;
	int64_t bytes;
	uint64_t objects;
	/* kv_keys and kv_bytes as kvRoom() read them (when READ), so that
	 * kvCount() writes the sums without reading them again. */
	bool read;
	uint64_t keys_now, bytes_now;
};

/* Adds to G a put of VALUE_LEN bytes over K (EPHEMERAL: for the command's
 * session), or a delete of K (DELETE). */
static void kvGrow(struct kv_growth *g, const struct sm_apply *a, const struct kv_row *k,
                   bool delete, size_t value_len, bool ephemeral)
{
	if (delete) {
		g->keys -= k->found;
		g->bytes -= (int64_t)k->value_len;
		return;
	}
	g->keys += !k->found;
	g->bytes += (int64_t)value_len - (int64_t)k->value_len;
	g->objects += ephemeral && !coord_session_id_equal(&k->session, &a->cmd->session);
}

static int kvLimit(struct sm_apply *a, enum sm_limit_hit hit)
{
	a->out->status = COORD_ST_LIMIT;
	a->out->limit = sm_limit_phrase[hit];
	return 0;
}

/* KV-5 and, for ephemeral keys new to their session, the session's room
 * (SM-7): whether growing the store by G stays in the limits. */
/* Reads kv_keys and kv_bytes into G, once. */
static int kvCounts(struct sm_apply *a, struct kv_growth *g)
{
	int rv;

	if (g->read)
		return 0;
	if ((rv = sm_meta_read(a, SM_META_KV_KEYS, &g->keys_now)) != 0 ||
	    (rv = sm_meta_read(a, SM_META_KV_BYTES, &g->bytes_now)) != 0)
		return rv;
	g->read = true;
	return 0;
}

/* KV-5: the store grew by G (the command's every write applied). */
static int kvCount(struct sm_apply *a, struct kv_growth *g)
{
	int rv = kvCounts(a, g);

	if (rv == 0 && g->keys != 0)
		rv = sm_meta_set(a, SM_META_KV_KEYS, (uint64_t)((int64_t)g->keys_now + g->keys));
	if (rv == 0 && g->bytes != 0)
		rv = sm_meta_set(a, SM_META_KV_BYTES, (uint64_t)((int64_t)g->bytes_now + g->bytes));
	return rv;
}

static int kvRoom(struct sm_apply *a, struct kv_growth *g, bool *room)
{
	struct coord_limits limits;
	uint64_t keys, bytes, objects;
	int rv;

	*room = false;
	if ((rv = kvCounts(a, g)) != 0)
		return rv;
	keys = g->keys_now;
	bytes = g->bytes_now;
	if (g->keys > 0 && keys + (uint64_t)g->keys > COORD_KV_KEYS_MAX)
		return kvLimit(a, SM_LIMIT_KEYS);
	if (g->bytes > 0 && bytes + (uint64_t)g->bytes > COORD_KV_BYTES_MAX)
		return kvLimit(a, SM_LIMIT_KV_BYTES);
	if (g->objects > 0) {
		if ((rv = sm_limits_in_force(a, &limits)) != 0 ||
		    (rv = sm_session_objects(a, &a->cmd->session, &objects)) != 0)
			return rv;
		if (objects + g->objects > limits.objects)
			return kvLimit(a, SM_LIMIT_OBJECTS);
	}
	*room = true;
	return 0;
}

/* Writes KEY (LEN bytes) = VALUE (VALUE_LEN bytes) over K, ephemeral for the
 * command's session when EPHEMERAL (KV-1, KV-2); the caller counts it
 * (kvGrow, kvCount: KV-5). */
static int kvWrite(struct sm_apply *a, const char *key, size_t len, const char *value,
                   size_t value_len, bool ephemeral, const struct kv_row *k)
{
	sqlite3_stmt *st;
	int rv;

	if (sm_stmt(a,
	            "INSERT INTO coord_kv(key, value, create_index, modify_index, session)"
	            " VALUES(?1, ?2, ?3, ?3, ?4) ON CONFLICT(key) DO UPDATE SET"
	            " value = excluded.value, modify_index = excluded.modify_index,"
	            " session = excluded.session",
	            &st) != 0)
		return COORD_EDB;
	sqlite3_bind_text(st, 1, key, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value_len > 0 ? value : "", (int)value_len, SQLITE_STATIC);
	sm_bind_u64(st, 3, a->index);
	if (ephemeral)
		sm_bind_session(st, 4, &a->cmd->session);
	else
		sqlite3_bind_null(st, 4);
	if ((rv = sm_done(a, st)) != 0)
		return rv;
	/* A put that does not keep an ephemeral key its session's takes it. */
	if (!(ephemeral && coord_session_id_equal(&k->session, &a->cmd->session)) &&
	    (rv = kvLost(a, key, len, k, SM_EVENT_WHY_REPLACED)) != 0)
		return rv;
	return kvHistoryAdd(a, key, len, false, !k->found);
}

/* KV-3: an ephemeral write's session is alive; else session_not_found. */
static int kvSessionLive(struct sm_apply *a, bool *live)
{
	int rv = sm_session_find(a, &a->cmd->session, live, NULL);

	if (rv == 0 && !*live)
		a->out->status = COORD_ST_SESSION_NOT_FOUND;
	return rv;
}

int sm_apply_kv_put(struct sm_apply *a)
{
	const struct coord_cmd *c = a->cmd;
	bool ephemeral = (c->kv_flags & COORD_KV_EPHEMERAL) != 0;
	struct kv_growth g = {0};
	struct kv_row k;
	bool ok;
	int rv;

	if (ephemeral && ((rv = kvSessionLive(a, &ok)) != 0 || !ok))
		return rv;
	if ((rv = kvFind(a, c->name, c->name_len, &k)) != 0 ||
	    (rv = kvConditions(a, &k, &ok)) != 0 || !ok)
		return rv;
	kvGrow(&g, a, &k, false, c->value_len, ephemeral);
	if ((rv = kvRoom(a, &g, &ok)) != 0 || !ok ||
	    (rv = kvWrite(a, c->name, c->name_len, c->value, c->value_len, ephemeral, &k)) != 0 ||
	    (rv = kvCount(a, &g)) != 0)
		return rv;
	a->out->status = COORD_ST_OK;
	a->out->create_index = k.found ? k.create_index : a->index;
	a->out->modify_index = a->index;
	return 0;
}

/* Deletes KEY (LEN bytes), which exists as K, lost to its session (if
 * ephemeral) for WHY; the caller counts it (kvGrow, kvCount: KV-5). */
static int kvDelete(struct sm_apply *a, const char *key, size_t len, const struct kv_row *k,
                    enum sm_event_why why)
{
	sqlite3_stmt *st;
	int rv;

	if (sm_stmt(a, "DELETE FROM coord_kv WHERE key = ?1", &st) != 0)
		return COORD_EDB;
	sqlite3_bind_text(st, 1, key, (int)len, SQLITE_STATIC);
	if ((rv = sm_done(a, st)) != 0 || (rv = kvLost(a, key, len, k, why)) != 0)
		return rv;
	return kvHistoryAdd(a, key, len, true, false);
}

int sm_apply_kv_delete(struct sm_apply *a)
{
	struct kv_growth g = {0};
	struct kv_row k;
	bool ok;
	int rv;

	if ((rv = kvFind(a, a->cmd->name, a->cmd->name_len, &k)) != 0 ||
	    (rv = kvConditions(a, &k, &ok)) != 0 || !ok)
		return rv;
	a->out->status = COORD_ST_OK;
	a->out->released = k.found; /* {"deleted": ...} */
	a->out->modify_index = a->index;
	if (!k.found)
		return 0;
	kvGrow(&g, a, &k, true, 0, false);
	if ((rv = kvDelete(a, a->cmd->name, a->cmd->name_len, &k, SM_EVENT_WHY_DELETED)) != 0)
		return rv;
	return kvCount(a, &g);
}

int sm_kv_session_end(struct sm_apply *a)
{
	sqlite3_stmt *st;
	char **keys = NULL;
	uint64_t *lens = NULL;
	struct kv_growth g = {0};
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
	for (size_t i = 0; rv == 0 && i < n; i++) {
		struct kv_row k = {.found = true, .value_len = lens[i], .session = a->cmd->session};

		kvGrow(&g, a, &k, true, 0, false);
		rv = kvDelete(a, keys[i], strlen(keys[i]), &k, SM_EVENT_WHY_SESSION_ENDED);
	}
	if (rv == 0 && n > 0)
		rv = kvCount(a, &g);
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(lens);
	return rv;
}

/* KV-4 for a transaction: its checks, in order, against the state before
 * it; the first that fails answers check_failed (failed_check its
 * position; modify_index, the holders or nothing to say what it found) and
 * sets *OK false. */
static int kvTxnChecks(struct sm_apply *a, bool *ok)
{
	const struct coord_cmd *c = a->cmd;
	int rv = 0;

	*ok = true;
	for (size_t i = 0; rv == 0 && *ok && i < c->n_checks; i++) {
		const struct coord_txn_check *k = &c->checks[i];
		struct sm_lock l = {COORD_KIND_LOCK, k->name, k->name_len};
		struct kv_row row;

		switch (k->kind) {
		case COORD_TXN_CHECK_KEY:
			if ((rv = kvFind(a, k->name, k->name_len, &row)) == 0)
				*ok = (row.found ? row.modify_index : 0) == k->n;
			a->out->modify_index = row.found ? row.modify_index : 0;
			break;
		case COORD_TXN_CHECK_LOCK:
			if ((rv = kvFenceHolds(a, &l, k->n, ok)) == 0 && !*ok)
				rv = sm_result_holders(a, &l);
			break;
		case COORD_TXN_CHECK_SESSION:
			rv = sm_session_find(a, &k->session, ok, NULL);
			break;
		default:
			assert(!"a check of no kind passed validation");
			return COORD_EMALFORMED;
		}
		if (rv == 0 && !*ok) {
			a->out->status = COORD_ST_CHECK_FAILED;
			a->out->failed_check = (uint32_t)i;
		}
	}
	return rv;
}

int sm_apply_kv_txn(struct sm_apply *a)
{
	const struct coord_cmd *c = a->cmd;
	struct kv_row rows[COORD_TXN_OPS_MAX];
	struct kv_growth g = {0};
	bool ephemeral = false, ok;
	int rv;

	for (size_t i = 0; i < c->n_ops; i++)
		ephemeral = ephemeral || c->ops[i].ephemeral;
	if (ephemeral && ((rv = kvSessionLive(a, &ok)) != 0 || !ok))
		return rv;
	if ((rv = kvTxnChecks(a, &ok)) != 0 || !ok)
		return rv;
	/* The limits for all the operations together, before any applies:
	 * the keys are distinct (command.h), so each row is read once. */
	for (size_t i = 0; i < c->n_ops; i++) {
		const struct coord_txn_op *o = &c->ops[i];

		if ((rv = kvFind(a, o->key, o->key_len, &rows[i])) != 0)
			return rv;
		kvGrow(&g, a, &rows[i], o->kind == COORD_TXN_DELETE, o->value_len, o->ephemeral);
	}
	a->out->modify_index = 0;
	if ((rv = kvRoom(a, &g, &ok)) != 0 || !ok)
		return rv;
	for (size_t i = 0; rv == 0 && i < c->n_ops; i++) {
		const struct coord_txn_op *o = &c->ops[i];

		if (o->kind == COORD_TXN_PUT)
			rv = kvWrite(a, o->key, o->key_len, o->value, o->value_len, o->ephemeral,
			             &rows[i]);
		else if (rows[i].found)
			rv = kvDelete(a, o->key, o->key_len, &rows[i], SM_EVENT_WHY_DELETED);
	}
	if (rv == 0)
		rv = kvCount(a, &g);
	a->out->status = COORD_ST_OK;
	a->out->modify_index = a->index;
	return rv;
}
