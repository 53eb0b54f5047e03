/* The state machine's tables. Every table has a primary key, and every
 * reader iterates in an explicit order (SM-1), so two nodes holding the same
 * rows answer and hash identically.
 *
 *   coord_meta      key -> value: modify indexes of the lists (SM-8)
 *   coord_sessions  one row per live session
 *   coord_locks     one row per lock or election that has holders, waiters
 *                   or a running lock-delay (delay_until_ms, entry time)
 *   coord_holders   who holds what; token = granting entry's index (SM-3)
 *   coord_waiters   FIFO queues; since_index = the queuing entry (SM-5)
 *   coord_seqs      one row per session that sent a numbered request: its
 *                   highest applied seq and that request's answer (SM-9,
 *                   sm_seq.c); limit is an enum sm_limit_hit
 *   coord_tokens    one row per access token: id = creating entry's index,
 *                   the SHA-256 of its secret (unique), name, admin flag
 *                   (sm_token.c); never the secret
 *   coord_token_rules  a token's rules in their order (pos), deleted with it
 *   coord_session_owners  the access token (its id) each session opened with
 *                   one belongs to (SM-10, sm_owner.c); deleted with it
 *   coord_kv        one row per key: its value, create and modify indexes,
 *                   and its session when it is ephemeral (sm_kv.c)
 *   coord_kv_history  the last changes of keys, for watchers: (idx, key),
 *                   change 0 put, 1 delete (KV-2)
 *   coord_kv_gone   one row per absent key whose deletion the history still
 *                   holds: that entry's index (KV-6), what a 404 answers;
 *                   a key's history by key would be an index that every
 *                   write updates at a random place
 *   coord_session_events  what happened to a session (sm_event.c, EV-1):
 *                   idx its entry, pos its order there, type an enum
 *                   sm_event_type, why an enum sm_event_why; other the
 *                   waiter of a conflicting request; a session's last
 *                   COORD_SESSION_EVENTS_MAX only (EV-2)
 *   coord_session_event_logs  one row per session with events: how many
 *                   (EV-4), where this entry's next one goes (last_idx,
 *                   next_pos), the newest idx dropped (compacted), and once
 *                   the session ended, that entry (ended) and its label
 *                   (EV-3)
 *
 * A version that adds a table creates it here (CREATE ... IF NOT EXISTS) and
 * never changes an existing one: an older state.db or snapshot gains it
 * empty (coord_sm_open, and the node after installing a snapshot), or
 * filled from the tables it derives from (sm_migrations). An index this
 * version no longer makes is dropped there, and is listed so that a restore
 * accepts an older backup that has it (coord_sm_schema_retired).
 *
 * Values are NULL when absent. Session ids are 16-byte blobs. */
#include <stdio.h>
#include <string.h>

#include "sm_internal.h"

static const char sm_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS coord_meta ("
    " key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS coord_sessions ("
    " id BLOB PRIMARY KEY, ttl_ms INTEGER NOT NULL, lock_delay_ms INTEGER NOT NULL,"
    " name TEXT NOT NULL, create_index INTEGER NOT NULL, modify_index INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS coord_locks ("
    " kind INTEGER NOT NULL, name TEXT NOT NULL, modify_index INTEGER NOT NULL,"
    " delay_until_ms INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (kind, name));"
    "CREATE TABLE IF NOT EXISTS coord_holders ("
    " kind INTEGER NOT NULL, name TEXT NOT NULL, session BLOB NOT NULL,"
    " mode INTEGER NOT NULL, token INTEGER NOT NULL, value TEXT,"
    " PRIMARY KEY (kind, name, session));"
    "CREATE INDEX IF NOT EXISTS coord_holders_by_session ON coord_holders (session);"
    "CREATE TABLE IF NOT EXISTS coord_waiters ("
    " kind INTEGER NOT NULL, name TEXT NOT NULL, session BLOB NOT NULL,"
    " mode INTEGER NOT NULL, since_index INTEGER NOT NULL, value TEXT,"
    " PRIMARY KEY (kind, name, session));"
    "CREATE INDEX IF NOT EXISTS coord_waiters_by_queue ON coord_waiters (kind, name, since_index);"
    "CREATE INDEX IF NOT EXISTS coord_waiters_by_session ON coord_waiters (session);"
    "CREATE INDEX IF NOT EXISTS coord_locks_by_delay ON coord_locks (delay_until_ms)"
    " WHERE delay_until_ms != 0;"
    "CREATE TABLE IF NOT EXISTS coord_seqs ("
    " session BLOB PRIMARY KEY, seq INTEGER NOT NULL, type INTEGER NOT NULL,"
    " kind INTEGER NOT NULL, mode INTEGER NOT NULL, name TEXT NOT NULL,"
    " status INTEGER NOT NULL, token INTEGER NOT NULL, released INTEGER NOT NULL,"
    " retry_after_ms INTEGER NOT NULL, limit_hit INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS coord_tokens ("
    " id INTEGER PRIMARY KEY, hash BLOB NOT NULL, name TEXT NOT NULL,"
    " admin INTEGER NOT NULL, create_ms INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX IF NOT EXISTS coord_tokens_by_hash ON coord_tokens (hash);"
    "CREATE TABLE IF NOT EXISTS coord_token_rules ("
    " token INTEGER NOT NULL, pos INTEGER NOT NULL, resource INTEGER NOT NULL,"
    " access INTEGER NOT NULL, prefix TEXT NOT NULL, PRIMARY KEY (token, pos));"
    "CREATE TABLE IF NOT EXISTS coord_session_owners ("
    " session BLOB PRIMARY KEY, token INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS coord_kv ("
    " key TEXT PRIMARY KEY, value TEXT NOT NULL, create_index INTEGER NOT NULL,"
    " modify_index INTEGER NOT NULL, session BLOB);"
    "CREATE INDEX IF NOT EXISTS coord_kv_by_session ON coord_kv (session)"
    " WHERE session IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS coord_kv_history ("
    " idx INTEGER NOT NULL, key TEXT NOT NULL, change INTEGER NOT NULL,"
    " PRIMARY KEY (idx, key));"
    "CREATE TABLE IF NOT EXISTS coord_kv_gone ("
    " key TEXT PRIMARY KEY, idx INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS coord_session_events ("
    " session BLOB NOT NULL, idx INTEGER NOT NULL, pos INTEGER NOT NULL,"
    " type INTEGER NOT NULL, kind INTEGER NOT NULL, name TEXT NOT NULL,"
    " token INTEGER NOT NULL, other BLOB, mode INTEGER NOT NULL, why INTEGER NOT NULL,"
    " PRIMARY KEY (session, idx, pos));"
    "CREATE TABLE IF NOT EXISTS coord_session_event_logs ("
    " session BLOB PRIMARY KEY, events INTEGER NOT NULL, last_idx INTEGER NOT NULL,"
    " next_pos INTEGER NOT NULL, compacted INTEGER NOT NULL, ended INTEGER NOT NULL,"
    " name TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS coord_session_event_logs_by_end"
    " ON coord_session_event_logs (ended, session) WHERE ended != 0;";

/* What an older state.db needs once this version's tables exist: a table
 * added with rows derived from older ones gets them when it is new, and a
 * retired index goes. Each runs at most once per file and gives every node
 * the same rows from the same state. */
struct sm_migration {
	const char *table; /* run when this table was missing before */
	const char *sql;
};

static const struct sm_migration sm_migrations[] = {
    /* KV-6: an absent key's newest kept change is its deletion. */
    {"coord_kv_gone",
     "INSERT INTO coord_kv_gone(key, idx) SELECT key, max(idx) FROM coord_kv_history"
     " WHERE key NOT IN (SELECT key FROM coord_kv) GROUP BY key"},
};

/* Objects an older version made and this one drops (type, name). */
static const char *const sm_retired[][2] = {
    {"index", "coord_kv_history_by_key"},
};

bool coord_sm_schema_retired(const char *type, const char *name)
{
	for (size_t i = 0; i < sizeof(sm_retired) / sizeof(sm_retired[0]); i++)
		if (strcmp(type, sm_retired[i][0]) == 0 && strcmp(name, sm_retired[i][1]) == 0)
			return true;
	return false;
}

static int sm_table_exists(sqlite3 *db, const char *table, bool *exists)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
	                       -1, &st, NULL) != SQLITE_OK)
		return COORD_EDB;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	*exists = rc == SQLITE_ROW;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : COORD_EDB;
}

int coord_sm_schema(sqlite3 *db)
{
	enum { N = sizeof(sm_migrations) / sizeof(sm_migrations[0]) };
	bool had[N];
	char sql[128];

	for (size_t i = 0; i < N; i++)
		if (sm_table_exists(db, sm_migrations[i].table, &had[i]) != 0)
			return COORD_EDB;
	if (sqlite3_exec(db, sm_schema_sql, NULL, NULL, NULL) != SQLITE_OK)
		return COORD_EDB;
	for (size_t i = 0; i < N; i++)
		if (!had[i] &&
		    sqlite3_exec(db, sm_migrations[i].sql, NULL, NULL, NULL) != SQLITE_OK)
			return COORD_EDB;
	for (size_t i = 0; i < sizeof(sm_retired) / sizeof(sm_retired[0]); i++) {
		snprintf(sql, sizeof(sql), "DROP %s IF EXISTS %s", sm_retired[i][0],
		         sm_retired[i][1]);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			return COORD_EDB;
	}
	return 0;
}
