/* The lock and election commands: acquire, release, cancel, proclaim, wake
 * (API.md, Locks and Elections). Elections are exclusive locks of kind
 * COORD_KIND_ELECTION whose holder's value names the leader. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm_internal.h"
#include "sm_limits.h"

static struct sm_lock lockOf(const struct coord_cmd *c)
{
	struct sm_lock l = {.kind = c->kind, .name = c->name, .name_len = c->name_len};

	return l;
}

/* Sets *LIVE; when the session is gone, answers session_not_found. */
static int lockSessionLive(struct sm_apply *a, bool *live)
{
	int rv = sm_session_find(a, &a->cmd->session, live, NULL);

	if (rv == 0 && !*live)
		a->out->status = COORD_ST_SESSION_NOT_FOUND;
	return rv;
}

static int lockHeld(struct sm_apply *a, const struct sm_lock *l)
{
	a->out->status = COORD_ST_LOCK_HELD;
	return sm_result_holders(a, l);
}

/* SM-7: the session's holds plus waits stay within the limit. */
static int lockSessionRoom(struct sm_apply *a, const struct coord_limits *limits, bool *room)
{
	uint64_t objects = 0;
	int rv = sm_session_objects(a, &a->cmd->session, &objects);

	*room = rv == 0 && objects < limits->objects;
	if (rv == 0 && !*room) {
		a->out->status = COORD_ST_LIMIT;
		a->out->limit = sm_limit_phrase[SM_LIMIT_OBJECTS];
	}
	return rv;
}

/* A request from a session that already holds or waits for the lock: the
 * same mode answers the same grant (or the same wait) again, so a retried
 * acquire is safe; another mode is refused as lock_held. */
static int lockRepeat(struct sm_apply *a, const struct sm_lock *l, bool *done)
{
	const struct coord_cmd *c = a->cmd;
	enum coord_mode mode;
	uint64_t token;
	bool found;
	int rv;

	*done = false;
	if ((rv = sm_holder_find(a, l, &c->session, &found, &mode, &token)) != 0)
		return rv;
	if (found) {
		*done = true;
		if (mode != c->mode)
			return lockHeld(a, l);
		a->out->status = COORD_ST_OK;
		a->out->token = token;
		return 0;
	}
	if ((rv = sm_waiter_find(a, l, &c->session, &found, &mode)) != 0)
		return rv;
	if (found) {
		*done = true;
		if (mode != c->mode)
			return lockHeld(a, l);
		a->out->status = COORD_ST_QUEUED;
	}
	return 0;
}

/* EV-1: the command's session queued on L; each holder learns it, so it
 * can finish and release (API.md, Sessions: conflicting_request). Events go
 * to other tables than the one stepped. */
static int lockConflicts(struct sm_apply *a, const struct sm_lock *l)
{
	struct sm_event e = {.type = SM_EVENT_CONFLICT,
	                     .kind = l->kind,
	                     .name = l->name,
	                     .name_len = l->name_len,
	                     .other = &a->cmd->session,
	                     .mode = a->cmd->mode};
	struct coord_session_id holder;
	sqlite3_stmt *st;
	int row = 0, rv = 0;

	if (sm_stmt(a,
	            "SELECT session, token FROM coord_holders WHERE kind = ?1 AND name = ?2"
	            " ORDER BY token, session",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_lock(st, 1, l);
	while (rv == 0 && (row = sm_row(st)) == 1) {
		sm_column_session(st, 0, &holder);
		e.token = (uint64_t)sqlite3_column_int64(st, 1);
		rv = sm_event_add(a, &holder, &e);
	}
	if (rv == 0 && row < 0)
		rv = COORD_EDB;
	sm_release_in(a, st);
	return rv;
}

/* A new request: granted when the queue is empty and the holders allow it
 * (SM-2, SM-5), else queued (queue requested) or refused as lock_held. */
static int lockRequest(struct sm_apply *a, const struct sm_lock *l)
{
	const struct coord_cmd *c = a->cmd;
	struct coord_limits limits;
	uint64_t holders, exclusive, waiters;
	bool grantable, room;
	int rv;

	if ((rv = sm_lock_counts(a, l, &holders, &exclusive, &waiters)) != 0)
		return rv;
	grantable =
	    waiters == 0 && (c->mode == COORD_MODE_EXCLUSIVE ? holders == 0 : exclusive == 0);
	if (!grantable && !c->queue)
		return lockHeld(a, l);
	if ((rv = sm_limits_in_force(a, &limits)) != 0 ||
	    (rv = lockSessionRoom(a, &limits, &room)) != 0 || !room)
		return rv;
	if (grantable) {
		rv = sm_holder_add(a, l, &c->session, c->mode, c->has_value ? c->value : NULL,
		                   c->value_len);
		a->out->status = COORD_ST_OK;
		a->out->token = a->index; /* SM-3 */
		return rv;
	}
	if (waiters >= limits.waiters) {
		a->out->status = COORD_ST_LIMIT;
		a->out->limit = sm_limit_phrase[SM_LIMIT_WAITERS];
		return 0;
	}
	a->out->status = COORD_ST_QUEUED;
	if ((rv = sm_waiter_add(a, l, &c->session, c->mode, c->has_value ? c->value : NULL,
	                        c->value_len)) != 0)
		return rv;
	return lockConflicts(a, l);
}

int sm_apply_acquire(struct sm_apply *a)
{
	struct sm_lock l = lockOf(a->cmd);
	uint64_t until;
	bool live, done;
	int rv;

	if ((rv = lockSessionLive(a, &live)) != 0 || !live)
		return rv;
	/* A lock-delay that has ended by this entry's time ends now, and its
	 * queue goes first (SM-5, SM-6). */
	if ((rv = sm_promote(a, &l)) != 0)
		return rv;
	if ((rv = lockRepeat(a, &l, &done)) != 0 || done)
		return rv;
	if ((rv = sm_lock_delay(a, &l, &until)) != 0)
		return rv;
	if (until > a->cmd->now_ms) {
		a->out->status = COORD_ST_LOCK_DELAY;
		a->out->retry_after_ms = until - a->cmd->now_ms;
		return 0;
	}
	return lockRequest(a, &l);
}

/* Release (or resign): a holder's lock goes to the next waiters in this same
 * entry; a waiter's wait is withdrawn; anything else is a no-op answering
 * released = false, so a retried release is safe. A release that names a
 * grant (its token) releases that grant only: any other hold, or a wait,
 * stays, and it answers released = false (API.md, Locks). */
int sm_apply_release(struct sm_apply *a)
{
	struct sm_lock l = lockOf(a->cmd);
	enum coord_mode mode;
	uint64_t token;
	bool live, held, waiting;
	int rv;

	if ((rv = lockSessionLive(a, &live)) != 0 || !live)
		return rv;
	a->out->status = COORD_ST_OK;
	if ((rv = sm_holder_find(a, &l, &a->cmd->session, &held, &mode, &token)) != 0)
		return rv;
	if (a->cmd->token != 0 && !(held && token == a->cmd->token))
		return 0;
	if (held) {
		a->out->released = true;
		rv = sm_holder_remove(a, &l, &a->cmd->session);
	} else {
		if ((rv = sm_waiter_find(a, &l, &a->cmd->session, &waiting, &mode)) != 0)
			return rv;
		if (!waiting)
			return 0;
		rv = sm_waiter_remove(a, &l, &a->cmd->session);
	}
	return rv != 0 ? rv : sm_promote(a, &l);
}

/* Cancel a wait whose wait_ms passed. If the grant won the race the session
 * holds the lock: ok with its token, so the waiting request can still be
 * answered with the grant. A withdrawn wait answers lock_held with the
 * holders, which is what the timed-out request reports. */
int sm_apply_cancel(struct sm_apply *a)
{
	struct sm_lock l = lockOf(a->cmd);
	enum coord_mode mode;
	uint64_t token;
	bool live, found;
	int rv;

	if ((rv = lockSessionLive(a, &live)) != 0 || !live)
		return rv;
	if ((rv = sm_holder_find(a, &l, &a->cmd->session, &found, &mode, &token)) != 0)
		return rv;
	if (found) {
		a->out->status = COORD_ST_OK;
		a->out->token = token;
		return 0;
	}
	if ((rv = sm_waiter_find(a, &l, &a->cmd->session, &found, &mode)) != 0)
		return rv;
	if (!found) {
		a->out->status = COORD_ST_NOT_FOUND;
		return 0;
	}
	/* Removing the head may let the waiters behind it through (SM-5). */
	if ((rv = sm_waiter_remove(a, &l, &a->cmd->session)) != 0 || (rv = sm_promote(a, &l)) != 0)
		return rv;
	return lockHeld(a, &l);
}

/* The election leader sets a new value; anyone else gets not_holder. */
int sm_apply_proclaim(struct sm_apply *a)
{
	struct sm_lock l = lockOf(a->cmd);
	enum coord_mode mode;
	sqlite3_stmt *st;
	uint64_t token;
	bool live, held;
	int rv;

	assert(l.kind == COORD_KIND_ELECTION);
	if ((rv = lockSessionLive(a, &live)) != 0 || !live)
		return rv;
	if ((rv = sm_holder_find(a, &l, &a->cmd->session, &held, &mode, &token)) != 0)
		return rv;
	if (!held) {
		a->out->status = COORD_ST_NOT_HOLDER;
		return 0;
	}
	if (sm_stmt(a,
	            "UPDATE coord_holders SET value = ?4 WHERE kind = ?1 AND name = ?2"
	            " AND session = ?3",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_lock(st, 1, &l);
	sm_bind_session(st, 3, &a->cmd->session);
	sqlite3_bind_text(st, 4, a->cmd->value, (int)a->cmd->value_len, SQLITE_TRANSIENT);
	if ((rv = sm_done(a, st)) != 0 || (rv = sm_touch_lock(a, &l)) != 0 ||
	    (rv = sm_touch_session(a, &a->cmd->session)) != 0)
		return rv;
	a->out->status = COORD_ST_OK;
	a->out->token = token;
	return 0;
}

/* Every lock whose lock-delay has ended by this entry's time: queued waiters
 * are granted, and delay-only rows are dropped (SM-6). */
int sm_apply_wake(struct sm_apply *a)
{
	struct coord_lockref *due = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	int row, rv = 0;

	if (sm_stmt(a,
	            "SELECT kind, name FROM coord_locks WHERE delay_until_ms != 0"
	            " AND delay_until_ms <= ?1 ORDER BY kind, name",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_u64(st, 1, a->cmd->now_ms);
	while ((row = sm_row(st)) == 1) {
		if (n == cap) {
			size_t want = cap == 0 ? 8 : 2 * cap;
			void *p = realloc(due, want * sizeof(*due));

			if (p == NULL) {
				rv = COORD_ENOMEM;
				break;
			}
			due = p;
			cap = want;
		}
		memset(&due[n], 0, sizeof(due[n]));
		due[n].kind = (enum coord_kind)sqlite3_column_int(st, 0);
		const unsigned char *name = sqlite3_column_text(st, 1);

		snprintf(due[n].name, sizeof(due[n].name), "%s",
		         name != NULL ? (const char *)name : "");
		n++;
	}
	if (rv == 0 && row < 0)
		rv = COORD_EDB;
	sm_release_in(a, st);
	for (size_t i = 0; rv == 0 && i < n; i++) {
		struct sm_lock l = {due[i].kind, due[i].name, strlen(due[i].name)};

		rv = sm_promote(a, &l);
	}
	free(due);
	a->out->status = COORD_ST_OK;
	return rv;
}
