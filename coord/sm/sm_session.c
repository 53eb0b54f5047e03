/* The session commands: open, close and expire (API.md, Sessions).
 *
 * A session's end releases every lock it holds, drops every wait, and grants
 * the freed locks' waiters in the same entry (SM-4). Only an expiry starts
 * the lock-delay of the locks it frees (SM-6): a client that closes its
 * session knows it stopped using them; one whose session expired may not.
 * Its end is also its last events, in the same entry: each lock and
 * election lost, each ephemeral key deleted, then session_ended (EV-1), kept
 * readable after the session is gone (EV-3, sm_event.c). */
#include <stdlib.h>
#include <string.h>

#include "sm_internal.h"
#include "sm_limits.h"

int sm_apply_open(struct sm_apply *a)
{
	const struct coord_cmd *c = a->cmd;
	sqlite3_stmt *st;
	struct coord_limits limits;
	uint64_t sessions;
	bool exists;
	int rv;

	if ((rv = sm_session_find(a, &c->session, &exists, NULL)) != 0)
		return rv;
	if (exists) {
		a->out->status = COORD_ST_EXISTS;
		return 0;
	}
	if ((rv = sm_count(a->db, a->cache, "SELECT count(*) FROM coord_sessions", NULL,
	                   &sessions)) != 0 ||
	    (rv = sm_limits_in_force(a, &limits)) != 0)
		return rv;
	if (sessions >= limits.sessions) {
		a->out->status = COORD_ST_LIMIT;
		a->out->limit = sm_limit_phrase[SM_LIMIT_SESSIONS];
		return 0;
	}
	if (sm_stmt(a,
	            "INSERT INTO coord_sessions(id, ttl_ms, lock_delay_ms, name, create_index,"
	            " modify_index) VALUES(?1, ?2, ?3, ?4, ?5, ?5)",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_session(st, 1, &c->session);
	sqlite3_bind_int64(st, 2, c->ttl_ms);
	sqlite3_bind_int64(st, 3, c->lock_delay_ms);
	sqlite3_bind_text(st, 4, c->name_len > 0 ? c->name : "", (int)c->name_len,
	                  SQLITE_TRANSIENT);
	sm_bind_u64(st, 5, a->index);
	if ((rv = sm_done(a, st)) != 0 || (rv = sm_owner_set(a)) != 0)
		return rv;
	a->out->status = COORD_ST_OK;
	return sm_meta_set(a, SM_META_SESSIONS, a->index);
}

/* A lock the ending session holds (HELD, with its grant's TOKEN) or waits
 * for. */
struct end_lock {
	struct coord_lockref ref;
	bool held;
	uint64_t token;
};

/* Reads the session's holds and waits, in (kind, name) order, into *OUT
 * (malloc'd; at most COORD_SESSION_OBJECTS_MAX by SM-7). */
static int endCollect(struct sm_apply *a, struct end_lock **out, size_t *n)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int row, rv = 0;

	*out = NULL;
	*n = 0;
	if (sm_stmt(a,
	            "SELECT kind, name, max(held), max(token) FROM ("
	            " SELECT kind, name, 1 AS held, token FROM coord_holders WHERE session = ?1"
	            " UNION ALL SELECT kind, name, 0, 0 FROM coord_waiters WHERE session = ?1)"
	            " GROUP BY kind, name ORDER BY kind, name",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_session(st, 1, &a->cmd->session);
	while ((row = sm_row(st)) == 1) {
		const unsigned char *name = sqlite3_column_text(st, 1);
		struct end_lock *e;

		if (*n == cap) {
			size_t want = cap == 0 ? 8 : 2 * cap;
			void *p = realloc(*out, want * sizeof(**out));

			if (p == NULL) {
				rv = COORD_ENOMEM;
				break;
			}
			*out = p;
			cap = want;
		}
		e = &(*out)[(*n)++];
		memset(e, 0, sizeof(*e));
		e->ref.kind = (enum coord_kind)sqlite3_column_int(st, 0);
		if (name != NULL)
			strncpy(e->ref.name, (const char *)name, COORD_NAME_MAX);
		e->held = sqlite3_column_int(st, 2) != 0;
		e->token = (uint64_t)sqlite3_column_int64(st, 3);
	}
	if (rv == 0 && row < 0)
		rv = COORD_EDB;
	sm_release_in(a, st);
	return rv;
}

/* Deletes the session, its holds and waits (SM-4), its record (SM-9) and
 * its owner (SM-10). */
static int endDelete(struct sm_apply *a)
{
	static const char *const sql[] = {
	    "DELETE FROM coord_holders WHERE session = ?1",
	    "DELETE FROM coord_waiters WHERE session = ?1",
	    "DELETE FROM coord_seqs WHERE session = ?1",
	    "DELETE FROM coord_session_owners WHERE session = ?1",
	    "DELETE FROM coord_sessions WHERE id = ?1",
	};
	sqlite3_stmt *st;
	int rv;

	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if (sm_stmt(a, sql[i], &st) != 0)
			return COORD_EDB;
		sm_bind_session(st, 1, &a->cmd->session);
		if ((rv = sm_done(a, st)) != 0)
			return rv;
	}
	return sm_meta_set(a, SM_META_SESSIONS, a->index);
}

/* After the session is gone: each lock it held or waited for is stamped,
 * given its lock-delay if this is an expiry and the lock was held, and its
 * queue is granted (unless the delay holds it). */
static int endLock(struct sm_apply *a, const struct end_lock *e, uint32_t delay_ms)
{
	struct sm_lock l = {e->ref.kind, e->ref.name, strlen(e->ref.name)};
	uint64_t until;
	int rv;

	if ((rv = sm_touch_lock(a, &l)) != 0)
		return rv;
	if (e->held) {
		if ((rv = sm_result_push_released(a->out, &e->ref)) != 0)
			return rv;
		if (a->cmd->type == COORD_CMD_EXPIRE && delay_ms > 0) {
			if ((rv = sm_lock_delay(a, &l, &until)) != 0)
				return rv;
			if (a->cmd->now_ms + delay_ms > until)
				until = a->cmd->now_ms + delay_ms;
			if ((rv = sm_lock_set_delay(a, &l, until)) != 0)
				return rv;
		}
	}
	return sm_promote(a, &l);
}

/* EV-1: what the session loses by its end (WHY), its last events: each
 * lock and election it holds in (kind, name) order, its ephemeral keys as
 * they are deleted (sm_kv_session_end), then session_ended. */
static int endEvents(struct sm_apply *a, const struct end_lock *locks, size_t n,
                     enum sm_event_why why)
{
	int rv = 0;

	for (size_t i = 0; rv == 0 && i < n; i++) {
		struct sm_event e = {.type = SM_EVENT_LOST,
		                     .kind = locks[i].ref.kind,
		                     .name = locks[i].ref.name,
		                     .name_len = strlen(locks[i].ref.name),
		                     .token = locks[i].token,
		                     .why = why};

		if (locks[i].held)
			rv = sm_event_add(a, &a->cmd->session, &e);
	}
	if (rv == 0)
		rv = sm_kv_session_end(a);
	return rv != 0 ? rv : sm_event_session_end(a, why);
}

int sm_apply_end(struct sm_apply *a)
{
	enum sm_event_why why =
	    a->cmd->type == COORD_CMD_EXPIRE ? SM_EVENT_WHY_EXPIRED : SM_EVENT_WHY_CLOSED;
	struct end_lock *locks;
	uint32_t delay_ms = 0;
	size_t n;
	bool live;
	int rv;

	if ((rv = sm_session_find(a, &a->cmd->session, &live, &delay_ms)) != 0)
		return rv;
	if (!live) {
		/* Closing is idempotent (API.md); an expiry of a session that
		 * is gone is a stale proposal. Neither changes anything. */
		a->out->status =
		    a->cmd->type == COORD_CMD_CLOSE ? COORD_ST_OK : COORD_ST_SESSION_NOT_FOUND;
		return 0;
	}
	if ((rv = endCollect(a, &locks, &n)) != 0)
		goto out_locks;
	/* Events first: session_ended keeps the label of the row endDelete
	 * drops (EV-3). */
	if ((rv = endEvents(a, locks, n, why)) != 0 || (rv = endDelete(a)) != 0)
		goto out_locks;
	for (size_t i = 0; rv == 0 && i < n; i++)
		rv = endLock(a, &locks[i], delay_ms);
	a->out->status = COORD_ST_OK;
	a->out->session_ended = true;
out_locks:
	free(locks);
	return rv;
}

/* ALIVE changes no table: the entry is the leader's durable word that it
 * heard these sessions' keepalives, and what it means is the lease
 * keepers' (rule 8, node_lease.c): every node notes when it applied it. */
int sm_apply_alive(struct sm_apply *a)
{
	a->out->status = COORD_ST_OK;
	return 0;
}
