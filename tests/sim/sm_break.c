/* sm_break.c: the key/value machine broken on purpose around its apply
 * (--break kv-*), so that the checks of sm_kv_check.c show they
 * catch what each break does: a condition dropped from the command before
 * it applies, or the tables edited before and after it, in the entry's own
 * transaction (apply.c). */
#include <stdio.h>
#include <string.h>

#include "rng.h"
#include "sm_check.h"

/* --break kv-ignore-cas, kv-ignore-fence: CMD (a key/value command) without
 * its condition, encoded into BUF; its length, or 0 to apply the entry as
 * it is. */
size_t sim_break_condition(int brk, const struct coord_cmd *cmd, uint8_t *buf, size_t cap)
{
	struct coord_cmd c = *cmd;
	size_t len = 0;

	if (c.type != COORD_CMD_KV_PUT && c.type != COORD_CMD_KV_DELETE)
		return 0;
	if (brk == SIM_BREAK_KV_IGNORE_CAS && (c.kv_flags & COORD_KV_CAS)) {
		c.kv_flags &= ~COORD_KV_CAS;
		c.cas = 0;
	} else if (brk == SIM_BREAK_KV_IGNORE_FENCE && (c.kv_flags & COORD_KV_FENCE)) {
		c.kv_flags &= ~COORD_KV_FENCE;
		c.fence_lock = NULL;
		c.fence_lock_len = 0;
		c.fence_token = 0;
	} else {
		return 0;
	}
	return coord_cmd_encode(&c, buf, cap, &len) == 0 ? len : 0;
}

/* One statement with an optional session (?1), text (?2) and index (?3). */
static int break_edit(sqlite3 *db, const char *sql, const struct coord_session_id *session,
                      const char *text, size_t len, uint64_t index)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return COORD_EDB;
	if (session != NULL)
		sqlite3_bind_blob(st, 1, session->bytes, COORD_SESSION_ID_LEN, SQLITE_STATIC);
	if (text != NULL)
		sqlite3_bind_text(st, 2, text, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)index);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : COORD_EDB;
}

/* kv-overtrim: a history just trimmed to COORD_KV_HISTORY_MAX rows (the
 * count says so, and something was dropped) loses its oldest row too, with
 * everything a trim does beside: the compacted index, the count, the key's
 * coord_kv_gone row (KV-6). */
static int break_overtrim(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int64_t rows = 0, compacted = 0, idx = 0;
	char key[COORD_NAME_MAX + 1] = "";
	int rc, rv;

	rc = sqlite3_prepare_v2(db,
	                        "SELECT (SELECT value FROM coord_meta WHERE key = 'kv_history'),"
	                        " (SELECT value FROM coord_meta WHERE key = 'kv_compacted_index'),"
	                        " idx, key FROM coord_kv_history ORDER BY idx, key LIMIT 1",
	                        -1, &st, NULL);
	if (rc != SQLITE_OK)
		return COORD_EDB;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rows = sqlite3_column_int64(st, 0);
		compacted = sqlite3_column_int64(st, 1);
		idx = sqlite3_column_int64(st, 2);
		snprintf(key, sizeof(key), "%s", (const char *)sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return COORD_EDB;
	if (rc != SQLITE_ROW || rows != (int64_t)COORD_KV_HISTORY_MAX || compacted == 0)
		return 0;
	if ((rv = break_edit(db, "DELETE FROM coord_kv_history WHERE key = ?2 AND idx = ?3", NULL,
	                     key, strlen(key), (uint64_t)idx)) != 0 ||
	    (rv = break_edit(db, "DELETE FROM coord_kv_gone WHERE key = ?2 AND idx = ?3", NULL, key,
	                     strlen(key), (uint64_t)idx)) != 0 ||
	    (rv =
	         break_edit(db, "UPDATE coord_meta SET value = ?3 WHERE key = 'kv_compacted_index'",
	                    NULL, NULL, 0, (uint64_t)idx)) != 0)
		return rv;
	return break_edit(db, "UPDATE coord_meta SET value = ?3 WHERE key = 'kv_history'", NULL,
	                  NULL, 0, COORD_KV_HISTORY_MAX - 1);
}

/* The edits of kv-keep-ephemeral, kv-skip-history, kv-no-compacted,
 * kv-gone-kept and kv-overtrim around entry INDEX,
 * the command CMD: BEFORE its apply, or after it (RES its result). The
 * session's keys are made persistent while the entry applies, so that its
 * end finds none, and given back to it after: the state of a machine whose
 * session end forgets the keys. */
int sim_break_tables(int brk, sqlite3 *db, const struct sim_coord_kv_pre *pre, uint64_t index,
                     const struct coord_cmd *cmd, const struct coord_result *res, bool before)
{
	bool ends = cmd->type == COORD_CMD_CLOSE || cmd->type == COORD_CMD_EXPIRE;
	int rv = 0;

	if (brk == SIM_BREAK_KV_KEEP_EPHEMERAL && ends && before)
		return break_edit(db, "UPDATE coord_kv SET session = NULL WHERE session = ?1",
		                  &cmd->session, NULL, 0, 0);
	for (size_t i = 0;
	     brk == SIM_BREAK_KV_KEEP_EPHEMERAL && ends && !before && rv == 0 && i < pre->n_ending;
	     i++)
		rv = break_edit(db, "UPDATE coord_kv SET session = ?1 WHERE key = ?2",
		                &cmd->session, pre->ending[i], strlen(pre->ending[i]), 0);
	if (brk == SIM_BREAK_KV_SKIP_HISTORY && !before && res->status == COORD_ST_OK &&
	    (cmd->type == COORD_CMD_KV_PUT ||
	     (cmd->type == COORD_CMD_KV_DELETE && res->released)) &&
	    (rv = break_edit(db, "DELETE FROM coord_kv_history WHERE key = ?2 AND idx = ?3", NULL,
	                     cmd->name, cmd->name_len, index)) == 0 &&
	    sqlite3_changes(db) == 1)
		rv = break_edit(db,
		                "UPDATE coord_meta SET value = value - 1 WHERE key = 'kv_history'",
		                NULL, NULL, 0, 0);
	/* kv-gone-kept: the rows before the entry come back after it. The copy
	 * is made by CREATE ... AS, which sqlite3_total_changes does not count,
	 * so that the edit adds no write to an entry that deletes no row. */
	if (brk == SIM_BREAK_KV_GONE_KEPT && before && rv == 0 &&
	    (rv = break_edit(db, "DROP TABLE IF EXISTS temp.gone_before", NULL, NULL, 0, 0)) == 0)
		rv = break_edit(db, "CREATE TEMP TABLE gone_before AS SELECT * FROM coord_kv_gone",
		                NULL, NULL, 0, 0);
	if (brk == SIM_BREAK_KV_GONE_KEPT && !before && rv == 0)
		rv = break_edit(db, "INSERT OR IGNORE INTO coord_kv_gone SELECT * FROM gone_before",
		                NULL, NULL, 0, 0);
	if (brk == SIM_BREAK_KV_OVERTRIM && !before && rv == 0)
		rv = break_overtrim(db);
	if (brk == SIM_BREAK_KV_NO_COMPACTED && !before && rv == 0)
		rv = break_edit(db,
		                "UPDATE coord_meta SET value = 0 WHERE key = 'kv_compacted_index'"
		                " AND value != 0",
		                NULL, NULL, 0, 0);
	return rv;
}
