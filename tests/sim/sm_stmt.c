/* sm_stmt.c: the checkers' prepared statements, kept from one entry to the
 * next. The checks of sm_check.c and sm_kv_check.c run the same
 * few queries after every entry on every node; preparing them anew each
 * time cost more than the queries. A statement is found by its database
 * and its SQL text. */
#include <assert.h>
#include <string.h>

#include "rng.h"
#include "sm_check.h"

#define SIM_STMTS_MAX 64 /* statements kept, over every database */

static struct {
	sqlite3 *db;
	const char *sql;
	sqlite3_stmt *st;
} kept[SIM_STMTS_MAX];
static size_t n_kept;

sqlite3_stmt *sim_stmt(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	for (size_t i = 0; i < n_kept; i++)
		if (kept[i].db == db && (kept[i].sql == sql || strcmp(kept[i].sql, sql) == 0))
			return kept[i].st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return NULL;
	}
	if (n_kept == SIM_STMTS_MAX) { /* full: the oldest goes */
		sqlite3_finalize(kept[0].st);
		memmove(kept, kept + 1, (SIM_STMTS_MAX - 1) * sizeof(kept[0]));
		n_kept--;
	}
	kept[n_kept].db = db;
	kept[n_kept].sql = sql;
	kept[n_kept++].st = st;
	return st;
}

void sim_stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void sim_stmts_forget(sqlite3 *db)
{
	size_t k = 0;

	for (size_t i = 0; i < n_kept; i++) {
		if (kept[i].db == db)
			sqlite3_finalize(kept[i].st);
		else
			kept[k++] = kept[i];
	}
	n_kept = k;
}
