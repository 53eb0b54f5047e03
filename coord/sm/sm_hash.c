/* coord_sm_hash: a digest of the state machine's tables for the simulator's
 * "identical state on every node at the same applied index" check. Rows are
 * read in primary-key order (SM-1) and every value is hashed with its type
 * and length, so no two different tables can collide by concatenation. */
#include <string.h>

#include "bytes.h"
#include "sm_internal.h"

/* 64-bit FNV-1a. */
#define SM_HASH_OFFSET 0xcbf29ce484222325ull
#define SM_HASH_PRIME  0x100000001b3ull

static void hashBytes(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		*h ^= b[i];
		*h *= SM_HASH_PRIME;
	}
}

/* Integers are hashed as their 8 little-endian bytes, not as host memory,
 * so every node computes the same digest whatever its byte order. */
static void hashU64(uint64_t *h, uint64_t v)
{
	uint8_t b[8];

	bytes_store_le(b, v, sizeof(b));
	hashBytes(h, b, sizeof(b));
}

static void hashColumn(uint64_t *h, sqlite3_stmt *st, int col)
{
	int type = sqlite3_column_type(st, col);

	hashU64(h, (uint64_t)type);
	switch (type) {
	case SQLITE_INTEGER:
		hashU64(h, (uint64_t)sqlite3_column_int64(st, col));
		break;
	case SQLITE_TEXT:
	case SQLITE_BLOB: {
		const void *p = type == SQLITE_TEXT ? (const void *)sqlite3_column_text(st, col)
		                                    : sqlite3_column_blob(st, col);
		size_t n = (size_t)sqlite3_column_bytes(st, col);

		hashU64(h, n);
		if (p != NULL)
			hashBytes(h, p, n);
		break;
	}
	default: /* NULL; the schema has no REAL columns */
		break;
	}
}

static int hashTables(sqlite3 *db, struct sm_stmt_cache *cache, uint64_t *out)
{
	static const char *const tables[] = {
	    /* Not the cluster clock's stamp: bookkeeping every entry writes,
	     * refused or not (sm_apply.c), that no answer reads. */
	    "SELECT * FROM coord_meta WHERE key != '" SM_META_CLOCK "' ORDER BY key",
	    "SELECT * FROM coord_sessions ORDER BY id",
	    "SELECT * FROM coord_locks ORDER BY kind, name",
	    "SELECT * FROM coord_holders ORDER BY kind, name, session",
	    "SELECT * FROM coord_waiters ORDER BY kind, name, session",
	    "SELECT * FROM coord_seqs ORDER BY session",
	    "SELECT * FROM coord_tokens ORDER BY id",
	    "SELECT * FROM coord_token_rules ORDER BY token, pos",
	    "SELECT * FROM coord_session_owners ORDER BY session",
	    "SELECT * FROM coord_kv ORDER BY key",
	    "SELECT * FROM coord_kv_history ORDER BY idx, key",
	    "SELECT * FROM coord_kv_gone ORDER BY key",
	    "SELECT * FROM coord_session_events ORDER BY session, idx, pos",
	    "SELECT * FROM coord_session_event_logs ORDER BY session",
	};
	uint64_t h = SM_HASH_OFFSET;
	sqlite3_stmt *st;
	int row;

	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		if (sm_prepare(db, cache, tables[t], &st) != 0)
			return COORD_EDB;
		hashU64(&h, t);
		while ((row = sm_row(st)) == 1) {
			int cols = sqlite3_column_count(st);

			hashU64(&h, (uint64_t)cols);
			for (int c = 0; c < cols; c++)
				hashColumn(&h, st, c);
		}
		sm_release(cache, st);
		if (row < 0)
			return COORD_EDB;
	}
	*out = h;
	return 0;
}

int coord_sm_hash(sqlite3 *db, uint64_t *out)
{
	return hashTables(db, NULL, out);
}

int coord_sm_hash_state(struct coord_sm *sm, uint64_t *out)
{
	return hashTables(sm_handle_db(sm), sm_handle_cache(sm), out);
}
