/* Small SQLite helpers shared by the state machine's files. Any SQLite
 * failure becomes COORD_EDB: the caller's transaction is then rolled back
 * and the node stops (DESIGN.md rule 7), so no helper tries to recover. */
#include <assert.h>
#include <string.h>

#include "sm_internal.h"

int sm_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return COORD_EDB;
	}
	return 0;
}

int sm_row(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

int sm_finish(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
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

int sm_meta_set(sqlite3 *db, const char *key, uint64_t value)
{
	sqlite3_stmt *st;

	if (sm_prepare(db,
	               "INSERT INTO coord_meta(key, value) VALUES(?1, ?2) "
	               "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	               &st) != 0)
		return COORD_EDB;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sm_bind_u64(st, 2, value);
	return sm_finish(st);
}

int sm_meta_get(sqlite3 *db, const char *key, uint64_t *value)
{
	sqlite3_stmt *st;
	int row;

	*value = 0;
	if (sm_prepare(db, "SELECT value FROM coord_meta WHERE key = ?1", &st) != 0)
		return COORD_EDB;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	row = sm_row(st);
	if (row == 1)
		*value = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return row < 0 ? COORD_EDB : 0;
}

int sm_count(sqlite3 *db, const char *sql, const struct coord_session_id *id, uint64_t *out)
{
	sqlite3_stmt *st;
	int row;

	*out = 0;
	if (sm_prepare(db, sql, &st) != 0)
		return COORD_EDB;
	if (id != NULL)
		sm_bind_session(st, 1, id);
	row = sm_row(st);
	if (row == 1)
		*out = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return row < 0 ? COORD_EDB : 0;
}
