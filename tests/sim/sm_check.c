/* sm_check.c: the lock invariants, checked on one node after every
 * entry it applies, from its own SQL tables and the entry's result:
 *
 *   exclusion   never two exclusive holders of a lock or election, never an
 *               exclusive holder beside a shared one (SM-2);
 *   fencing     a new grant's token is the granting entry's index, and tokens
 *               grow strictly from one granting entry to the next (SM-3);
 *   live grant  every grant goes to a session that is live after the entry,
 *               and every holder row belongs to a live session (SM-4, rule 9);
 *   FIFO        a waiter is granted only if no older waiter (lower
 *               since_index) of the same lock is still queued, a new acquire
 *               never overtakes waiters that stay queued, and one entry's
 *               grants of a lock come in queue order (SM-5);
 *   lock-delay  a lock or election whose holder's session expired is
 *               granted to nobody by an entry stamped before the expiry's
 *               stamp plus that session's lock-delay (SM-6).
 *
 * The checks read the tables directly (not through coord/ queries), so a
 * broken query cannot hide a broken apply.
 */
#include <stdio.h>
#include <string.h>

#include "rng.h"
#include "sm_check.h"

static void row_read(sqlite3_stmt *st, struct sim_coord_row *r)
{
	const void *name = sqlite3_column_text(st, 1);
	const void *id = sqlite3_column_blob(st, 2);
	int name_len = sqlite3_column_bytes(st, 1);
	int id_len = sqlite3_column_bytes(st, 2);

	memset(r, 0, sizeof(*r));
	r->kind = sqlite3_column_int(st, 0);
	if (name != NULL && name_len > 0 && name_len <= COORD_NAME_MAX)
		memcpy(r->name, name, (size_t)name_len);
	if (id != NULL && id_len == COORD_SESSION_ID_LEN)
		memcpy(r->session.bytes, id, COORD_SESSION_ID_LEN);
	r->mode = sqlite3_column_int(st, 3);
	r->pos = (uint64_t)sqlite3_column_int64(st, 4);
}

/* Reads up to SIM_COORD_WAITERS rows of SQL into ROWS. */
static int rows_read(sqlite3 *db, const char *sql, struct sim_coord_row *rows, size_t *n,
                     bool *overflow)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*n = 0;
	if ((st = sim_stmt(db, sql)) == NULL)
		return COORD_EDB;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == SIM_COORD_WAITERS) {
			*overflow = true;
			break;
		}
		row_read(st, &rows[(*n)++]);
	}
	sim_stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : COORD_EDB;
}

static const char pre_waiters_sql[] = "SELECT kind, name, session, mode, since_index"
                                      " FROM coord_waiters ORDER BY kind, name, since_index";
static const char pre_holders_sql[] =
    "SELECT kind, name, session, mode, token FROM coord_holders ORDER BY kind, name, session";

static int64_t sql_int(sqlite3 *db, const char *sql, const char *text, const void *blob, int *err);

int sim_coord_pre_read(sqlite3 *db, const struct coord_cmd *cmd, uint64_t owner,
                       struct sim_coord_pre *pre)
{
	int err = 0;

	pre->owner = owner;
	pre->overflow = false;
	pre->expiring_delay_ms = 0;
	pre->foreign = false;
	if (rows_read(db, pre_waiters_sql, pre->waiters, &pre->n_waiters, &pre->overflow) != 0 ||
	    rows_read(db, pre_holders_sql, pre->holders, &pre->n_holders, &pre->overflow) != 0)
		return COORD_EDB;
	if (cmd != NULL && cmd->type == COORD_CMD_EXPIRE) {
		int64_t d = sql_int(db,
		                    "SELECT coalesce(max(lock_delay_ms), 0) FROM coord_sessions"
		                    " WHERE id = ?",
		                    NULL, cmd->session.bytes, &err);

		pre->expiring_delay_ms = d > 0 ? (uint32_t)d : 0;
	}
	if (cmd != NULL && cmd->type != COORD_CMD_OPEN && coord_cmd_has_actor((int)cmd->type) &&
	    cmd->actor != owner &&
	    sql_int(db, "SELECT count(*) FROM coord_sessions WHERE id = ?", NULL,
	            cmd->session.bytes, &err) > 0) {
		pre->foreign = true;
		if (coord_sm_hash(db, &pre->foreign_hash) != 0)
			return COORD_EDB;
	}
	return err ? COORD_EDB : 0;
}

/* One integer from SQL (with up to one text and one blob parameter). */
static int64_t sql_int(sqlite3 *db, const char *sql, const char *text, const void *blob, int *err)
{
	sqlite3_stmt *st = NULL;
	int64_t v = 0;

	if ((st = sim_stmt(db, sql)) == NULL) {
		*err = 1;
		return 0;
	}
	if (text != NULL)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	if (blob != NULL)
		sqlite3_bind_blob(st, text != NULL ? 2 : 1, blob, COORD_SESSION_ID_LEN,
		                  SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		*err = 1;
	sim_stmt_done(st);
	return v;
}

uint64_t sim_coord_max_token(sqlite3 *db)
{
	int err = 0;
	int64_t v =
	    sql_int(db, "SELECT coalesce(max(token), 0) FROM coord_holders", NULL, NULL, &err);

	return v > 0 ? (uint64_t)v : 0;
}

static const struct sim_coord_row *find_row(const struct sim_coord_row *rows, size_t n, int kind,
                                            const char *name,
                                            const struct coord_session_id *session)
{
	for (size_t i = 0; i < n; i++) {
		if (rows[i].kind == kind && strcmp(rows[i].name, name) == 0 &&
		    coord_session_id_equal(&rows[i].session, session))
			return &rows[i];
	}
	return NULL;
}

static bool session_live(sqlite3 *db, const struct coord_session_id *id)
{
	int err = 0;

	return sql_int(db, "SELECT count(*) FROM coord_sessions WHERE id = ?", NULL, id->bytes,
	               &err) == 1;
}

/* The oldest waiter still queued for (KIND, NAME) after the entry, or 0. */
static uint64_t oldest_waiter(sqlite3 *db, int kind, const char *name)
{
	static const char sql[] = "SELECT coalesce(min(since_index), 0) FROM coord_waiters"
	                          " WHERE kind = ?2 AND name = ?1";
	sqlite3_stmt *st = NULL;
	uint64_t v = 0;

	if ((st = sim_stmt(db, sql)) == NULL)
		return 0;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, kind);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = (uint64_t)sqlite3_column_int64(st, 0);
	sim_stmt_done(st);
	return v;
}

static const char *check_exclusion(sqlite3 *db, char *why, size_t cap)
{
	static const char sql[] =
	    "SELECT kind, name, sum(mode = 0), sum(mode != 0) FROM coord_holders"
	    " GROUP BY kind, name HAVING sum(mode = 0) > 1 OR (sum(mode = 0) > 0 AND"
	    " sum(mode != 0) > 0) OR (kind = 1 AND sum(mode != 0) > 0) ORDER BY kind, name";
	sqlite3_stmt *st = NULL;
	const char *bad = NULL;

	if ((st = sim_stmt(db, sql)) == NULL)
		return "coord apply";
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(why, cap, "%s '%s' has %d exclusive and %d shared holders",
		         sqlite3_column_int(st, 0) ? "election" : "lock",
		         (const char *)sqlite3_column_text(st, 1), sqlite3_column_int(st, 2),
		         sqlite3_column_int(st, 3));
		bad = "lock exclusion";
	}
	sim_stmt_done(st);
	return bad;
}

/* The slot of (KIND, NAME)'s running lock-delay, or d->n when none runs. */
static size_t delay_at(const struct sim_coord_delays *d, int kind, const char *name)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->v[i].kind == kind && strcmp(d->v[i].name, name) == 0)
			break;
	return i;
}

/* Forgets the delays over by NOW_MS, then starts one for every lock the
 * expiring session held before CMD (an EXPIRE) ended it. */
static void delays_update(struct sim_coord_delays *d, const struct coord_cmd *cmd,
                          const struct coord_result *res, const struct sim_coord_pre *pre)
{
	size_t k = 0;

	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].until_ms > cmd->now_ms)
			d->v[k++] = d->v[i];
	d->n = k;
	if (cmd->type != COORD_CMD_EXPIRE || res->status != COORD_ST_OK ||
	    pre->expiring_delay_ms == 0)
		return;
	for (size_t i = 0; i < pre->n_holders; i++) {
		const struct sim_coord_row *h = &pre->holders[i];
		uint64_t until = cmd->now_ms + pre->expiring_delay_ms;
		size_t at;

		if (!coord_session_id_equal(&h->session, &cmd->session))
			continue;
		at = delay_at(d, h->kind, h->name);
		if (at < d->n) {
			if (until > d->v[at].until_ms)
				d->v[at].until_ms = until;
		} else if (d->n < SIM_COORD_DELAYS) { /* a full table only checks less */
			d->v[d->n].kind = h->kind;
			memcpy(d->v[d->n].name, h->name, sizeof(h->name));
			d->v[d->n].until_ms = until;
			d->n++;
		}
	}
}

/* One grant of entry INDEX (stamped NOW_MS, or 0 for no stamp): to SESSION,
 * of (KIND, NAME), with TOKEN. A session that held it before is not a new
 * grant (a holder asking again keeps its token). */
static const char *check_grant(sqlite3 *db, uint64_t index, uint64_t now_ms,
                               const struct sim_coord_pre *pre,
                               const struct sim_coord_delays *delays, int kind, const char *name,
                               const struct coord_session_id *session, uint64_t token,
                               uint64_t *last_token, char *why, size_t cap)
{
	const struct sim_coord_row *was_holder, *waited;
	size_t delay;
	uint64_t oldest;
	char hex[COORD_SESSION_ID_HEX + 1];

	coord_session_id_format(session, hex);
	was_holder = find_row(pre->holders, pre->n_holders, kind, name, session);
	if (was_holder != NULL)
		return NULL; /* not a new grant: the holder keeps its token */
	delay = delay_at(delays, kind, name);
	if (now_ms != 0 && delay < delays->n && now_ms < delays->v[delay].until_ms) {
		snprintf(why, cap,
		         "entry %llu (at %llu ms) grants '%s' to %s during a lock-delay that "
		         "runs until %llu ms",
		         (unsigned long long)index, (unsigned long long)now_ms, name, hex,
		         (unsigned long long)delays->v[delay].until_ms);
		return "lock-delay";
	}
	if (!session_live(db, session)) {
		snprintf(why, cap, "entry %llu grants '%s' to session %s, which is not live",
		         (unsigned long long)index, name, hex);
		return "grant to a dead session";
	}
	if (token != index || token <= *last_token) {
		snprintf(why, cap,
		         "entry %llu grants '%s' to %s with token %llu (last token %llu): a token "
		         "must be the granting entry's index and grow strictly",
		         (unsigned long long)index, name, hex, (unsigned long long)token,
		         (unsigned long long)*last_token);
		return "fencing token";
	}
	waited = find_row(pre->waiters, pre->n_waiters, kind, name, session);
	oldest = oldest_waiter(db, kind, name);
	/* A waiter's turn comes after every older waiter's; a request that did
	 * not wait goes behind everyone queued before it (SM-5). */
	if (oldest != 0 && oldest < (waited != NULL ? waited->pos : index)) {
		snprintf(why, cap,
		         "entry %llu grants '%s' to %s (queued at %llu) while a waiter queued at "
		         "%llu stays in the queue",
		         (unsigned long long)index, name, hex,
		         (unsigned long long)(waited ? waited->pos : index),
		         (unsigned long long)oldest);
		return "FIFO";
	}
	return NULL;
}

/* SM-10: a request of a live session with another token than its owner's
 * is refused and changes no table; one with its owner's is never refused
 * for its token. */
static const char *check_owner(sqlite3 *db, uint64_t index, const struct coord_cmd *cmd,
                               const struct coord_result *res, const struct sim_coord_pre *pre,
                               char *why, size_t cap)
{
	uint64_t hash = 0;

	if (cmd == NULL || !coord_cmd_has_actor((int)cmd->type))
		return NULL;
	if (pre->foreign && coord_sm_hash(db, &hash) != 0) {
		snprintf(why, cap, "entry %llu: cannot read the tables", (unsigned long long)index);
		return "coord apply";
	}
	if (pre->foreign &&
	    (res->status != COORD_ST_PERMISSION_DENIED || hash != pre->foreign_hash)) {
		snprintf(
		    why, cap,
		    "entry %llu: a %s with token %llu on a session of token %llu answered %s%s",
		    (unsigned long long)index, coord_cmd_type_name((int)cmd->type),
		    (unsigned long long)cmd->actor, (unsigned long long)pre->owner,
		    coord_status_name(res->status),
		    hash != pre->foreign_hash ? " and changed the tables" : "");
		return "session owner";
	}
	if (!pre->foreign && res->status == COORD_ST_PERMISSION_DENIED) {
		snprintf(why, cap,
		         "entry %llu: a %s by its session's owner (token %llu) was refused",
		         (unsigned long long)index, coord_cmd_type_name((int)cmd->type),
		         (unsigned long long)cmd->actor);
		return "session owner";
	}
	return NULL;
}

const char *sim_coord_check(sqlite3 *db, uint64_t index, const struct coord_cmd *cmd,
                            const struct coord_result *res, const struct sim_coord_pre *pre,
                            uint64_t *last_token, struct sim_coord_delays *delays, char *why,
                            size_t cap)
{
	uint64_t now_ms = cmd != NULL ? cmd->now_ms : 0;
	const char *bad = check_exclusion(db, why, cap);
	uint64_t granted = 0;
	int err = 0;

	if (bad != NULL)
		return bad;
	if (sql_int(db,
	            "SELECT count(*) FROM coord_holders h WHERE NOT EXISTS"
	            " (SELECT 1 FROM coord_sessions s WHERE s.id = h.session)",
	            NULL, NULL, &err) != 0) {
		snprintf(why, cap, "after entry %llu a lock is held by a session that is not live",
		         (unsigned long long)index);
		return "grant to a dead session";
	}
	if (err != 0) {
		snprintf(why, cap, "entry %llu: cannot read the tables", (unsigned long long)index);
		return "coord apply";
	}
	bad = check_owner(db, index, cmd, res, pre, why, cap);
	if (bad != NULL || pre->overflow)
		return bad;
	/* An expiry's own entry must not grant what it just put under delay. */
	if (cmd != NULL)
		delays_update(delays, cmd, res, pre);
	/* A retry (SM-9) answers the first grant again: it grants nothing. */
	if (cmd != NULL && res->type == COORD_CMD_ACQUIRE && res->status == COORD_ST_OK &&
	    !res->retry) {
		char name[COORD_NAME_MAX + 1];

		memcpy(name, cmd->name, cmd->name_len);
		name[cmd->name_len] = '\0';
		bad = check_grant(db, index, now_ms, pre, delays, (int)cmd->kind, name,
		                  &res->session, res->token, last_token, why, cap);
		granted = res->token;
	}
	for (size_t i = 0; i < res->n_grants && bad == NULL; i++) {
		const struct coord_grant *g = &res->grants[i];

		bad = check_grant(db, index, now_ms, pre, delays, (int)g->kind, g->name,
		                  &g->session, g->token, last_token, why, cap);
		if (g->token > granted)
			granted = g->token;
	}
	if (bad == NULL && granted > *last_token)
		*last_token = granted;
	return bad;
}
