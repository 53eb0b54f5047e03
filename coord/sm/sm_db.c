/* Small SQLite helpers shared by the state machine's files. Any SQLite
 * failure becomes COORD_EDB: the caller's transaction is then rolled back
 * and the node stops (DESIGN.md rule 7), so no helper tries to recover. */
#include <assert.h>
#include <string.h>

#include "sm_internal.h"

int sm_prepare(sqlite3 *db, struct sm_stmt_cache *cache, const char *sql, sqlite3_stmt **st)
{
	size_t i;

	if (cache != NULL) {
		for (i = 0; i < cache->n; i++)
			if (cache->e[i].sql == sql && !cache->e[i].busy) {
				cache->e[i].busy = true;
				*st = cache->e[i].st;
				return 0;
			}
	}
	if (sqlite3_prepare_v3(db, sql, -1, cache != NULL ? SQLITE_PREPARE_PERSISTENT : 0, st,
	                       NULL) != SQLITE_OK) {
		*st = NULL;
		return COORD_EDB;
	}
	/* A statement wanted twice at once (or a full cache) stays uncached. */
	if (cache != NULL && cache->n < SM_STMT_CACHE_MAX) {
		for (i = 0; i < cache->n && cache->e[i].sql != sql; i++)
			;
		if (i == cache->n) {
			cache->e[i].sql = sql;
			cache->e[i].st = *st;
			cache->e[i].busy = true;
			cache->n++;
		}
	}
	return 0;
}

void sm_release(struct sm_stmt_cache *cache, sqlite3_stmt *st)
{
	if (cache != NULL)
		for (size_t i = 0; i < cache->n; i++)
			if (cache->e[i].st == st) {
				assert(cache->e[i].busy);
				sqlite3_reset(st);
				sqlite3_clear_bindings(st);
				cache->e[i].busy = false;
				return;
			}
	sqlite3_finalize(st);
}

void sm_cache_clear(struct sm_stmt_cache *c)
{
	for (size_t i = 0; i < c->n; i++) {
		assert(!c->e[i].busy);
		sqlite3_finalize(c->e[i].st);
	}
	c->n = 0;
}

int sm_stmt(struct sm_apply *a, const char *sql, sqlite3_stmt **st)
{
	return sm_prepare(a->db, a->cache, sql, st);
}

int sm_row(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

int sm_done(struct sm_apply *a, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sm_release(a->cache, st);
	return rc == SQLITE_DONE ? 0 : COORD_EDB;
}

void sm_bind_session(sqlite3_stmt *st, int col, const struct coord_session_id *id)
{
	sqlite3_bind_blob(st, col, id->bytes, COORD_SESSION_ID_LEN, SQLITE_TRANSIENT);
}

void sm_bind_lock(sqlite3_stmt *st, int col, const struct sm_lock *l)
{
	sqlite3_bind_int(st, col, (int)l->kind);
	sqlite3_bind_text(st, col + 1, l->name, (int)l->name_len, SQLITE_TRANSIENT);
}

void sm_bind_u64(sqlite3_stmt *st, int col, uint64_t v)
{
	/* Indexes and times stay below 2^62 (COORD_NOW_MAX_MS, apply asserts
	 * the index), so they fit SQLite's signed INTEGER unchanged. */
	assert(v <= (uint64_t)INT64_MAX);
	sqlite3_bind_int64(st, col, (sqlite3_int64)v);
}

void sm_column_session(sqlite3_stmt *st, int col, struct coord_session_id *id)
{
	const void *b = sqlite3_column_blob(st, col);

	memset(id, 0, sizeof(*id));
	if (b != NULL && sqlite3_column_bytes(st, col) == COORD_SESSION_ID_LEN)
		memcpy(id->bytes, b, COORD_SESSION_ID_LEN);
}

static int metaWrite(sqlite3 *db, struct sm_stmt_cache *cache, const char *key, uint64_t value)
{
	sqlite3_stmt *st;
	int rc;

	if (sm_prepare(db, cache,
	               "INSERT INTO coord_meta(key, value) VALUES(?1, ?2) "
	               "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	               &st) != 0)
		return COORD_EDB;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sm_bind_u64(st, 2, value);
	rc = sqlite3_step(st);
	sm_release(cache, st);
	return rc == SQLITE_DONE ? 0 : COORD_EDB;
}

/* The keys whose writes an apply holds (struct sm_meta_held). */
static const char *const heldKeys[SM_META_HELD_MAX] = {
    SM_META_SESSIONS,   SM_META_LOCKS,   SM_META_ELECTIONS, SM_META_KV,   SM_META_KV_COMPACTED,
    SM_META_KV_HISTORY, SM_META_KV_KEYS, SM_META_KV_BYTES,  SM_META_CLOCK};

/* KEY's row in H, added (not yet known) on first use; NULL when KEY is
 * not one of the held keys. */
static struct sm_meta_row *heldRow(struct sm_meta_held *h, const char *key)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->e[i].key, key) == 0)
			return &h->e[i];
	for (size_t k = 0; k < SM_META_HELD_MAX; k++)
		if (strcmp(heldKeys[k], key) == 0) {
			assert(h->n < SM_META_HELD_MAX); /* one row per held key */
			h->e[h->n] = (struct sm_meta_row){.key = heldKeys[k]};
			return &h->e[h->n++];
		}
	return NULL;
}

int sm_meta_set(struct sm_apply *a, const char *key, uint64_t value)
{
	struct sm_meta_row *r = heldRow(a->held, key);

	if (r == NULL)
		return metaWrite(a->db, a->cache, key, value);
	r->value = value;
	r->known = r->dirty = true;
	return 0;
}

int sm_meta_read(struct sm_apply *a, const char *key, uint64_t *value)
{
	struct sm_meta_row *r = heldRow(a->held, key);
	int rv;

	if (r != NULL && r->known) {
		*value = r->value;
		return 0;
	}
	rv = sm_meta_get(a->db, a->cache, key, value);
	if (rv == 0 && r != NULL) {
		r->value = *value;
		r->known = true;
	}
	return rv;
}

int sm_meta_flush(sqlite3 *db, struct sm_stmt_cache *cache, struct sm_meta_held *held)
{
	int rv = 0;

	for (size_t i = 0; rv == 0 && i < held->n; i++)
		if (held->e[i].dirty)
			rv = metaWrite(db, cache, held->e[i].key, held->e[i].value);
	held->n = 0;
	return rv;
}

int sm_meta_get(sqlite3 *db, struct sm_stmt_cache *cache, const char *key, uint64_t *value)
{
	sqlite3_stmt *st;
	int row;

	*value = 0;
	if (sm_prepare(db, cache, "SELECT value FROM coord_meta WHERE key = ?1", &st) != 0)
		return COORD_EDB;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	row = sm_row(st);
	if (row == 1)
		*value = (uint64_t)sqlite3_column_int64(st, 0);
	sm_release(cache, st);
	return row < 0 ? COORD_EDB : 0;
}

int sm_count(sqlite3 *db, struct sm_stmt_cache *cache, const char *sql,
             const struct coord_session_id *id, uint64_t *out)
{
	sqlite3_stmt *st;
	int row;

	*out = 0;
	if (sm_prepare(db, cache, sql, &st) != 0)
		return COORD_EDB;
	if (id != NULL)
		sm_bind_session(st, 1, id);
	row = sm_row(st);
	if (row == 1)
		*out = (uint64_t)sqlite3_column_int64(st, 0);
	sm_release(cache, st);
	return row < 0 ? COORD_EDB : 0;
}
