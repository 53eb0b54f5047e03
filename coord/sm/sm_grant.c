/* Granting a lock's queue: the one place where waiters become holders.
 *
 * Called after every change that can make the queue head grantable: a holder
 * leaving, a waiter leaving, a lock-delay ending (SM-5). It walks the queue
 * in FIFO order (since_index, the index of the queuing entry) and grants the
 * head while the holders allow it: an exclusive waiter when nobody holds the
 * lock, a shared waiter while no exclusive holder does. It stops at the first
 * waiter that must keep waiting, so a shared waiter behind a queued exclusive
 * one keeps waiting too. */
#include <string.h>

#include "sm_internal.h"

/* The queue head of L, with whether its session is still live. */
struct grant_head {
	bool present;
	bool live;
	struct coord_session_id session;
	enum coord_mode mode;
};

static int grantHead(struct sm_apply *a, const struct sm_lock *l, struct grant_head *h)
{
	sqlite3_stmt *st;
	int row;

	if (sm_stmt(a,
	            "SELECT w.session, w.mode, s.id IS NOT NULL FROM coord_waiters w"
	            " LEFT JOIN coord_sessions s ON s.id = w.session"
	            " WHERE w.kind = ?1 AND w.name = ?2 ORDER BY w.since_index, w.session LIMIT 1",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_lock(st, 1, l);
	row = sm_row(st);
	h->present = row == 1;
	if (row == 1) {
		sm_column_session(st, 0, &h->session);
		h->mode = (enum coord_mode)sqlite3_column_int(st, 1);
		h->live = sqlite3_column_int(st, 2) != 0;
	}
	sm_release_in(a, st);
	return row < 0 ? COORD_EDB : 0;
}

/* Moves the head waiter H of L, with its value, to the holders with token =
 * entry index (SM-3) and records the grant for the node runtime and as the
 * session's event (EV-1: its request may be long gone). */
static int grantOne(struct sm_apply *a, const struct sm_lock *l, const struct grant_head *h)
{
	struct coord_grant g;
	sqlite3_stmt *st;
	int rv;

	if (sm_stmt(a,
	            "INSERT INTO coord_holders(kind, name, session, mode, token, value)"
	            " SELECT kind, name, session, mode, ?4, value FROM coord_waiters"
	            " WHERE kind = ?1 AND name = ?2 AND session = ?3",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_lock(st, 1, l);
	sm_bind_session(st, 3, &h->session);
	sm_bind_u64(st, 4, a->index);
	rv = sm_done(a, st);
	if (rv == 0)
		rv = sm_waiter_remove(a, l, &h->session); /* stamps lock and session */
	if (rv != 0)
		return rv;
	memset(&g, 0, sizeof(g));
	g.session = h->session;
	g.kind = l->kind;
	g.mode = h->mode;
	g.token = a->index;
	memcpy(g.name, l->name, l->name_len);
	if ((rv = sm_result_push_grant(a->out, &g)) != 0)
		return rv;
	return sm_event_add(a, &h->session,
	                    &(struct sm_event){.type = SM_EVENT_GRANTED,
	                                       .kind = l->kind,
	                                       .name = l->name,
	                                       .name_len = l->name_len,
	                                       .token = a->index,
	                                       .mode = h->mode});
}

int sm_promote(struct sm_apply *a, const struct sm_lock *l)
{
	struct grant_head h;
	uint64_t until, holders, exclusive, waiters;
	int rv;

	rv = sm_lock_delay(a, l, &until);
	if (rv != 0)
		return rv;
	if (until > a->cmd->now_ms)
		return 0; /* SM-6: nobody is granted during the lock-delay */
	if (until != 0 && (rv = sm_lock_set_delay(a, l, 0)) != 0)
		return rv;
	for (;;) {
		if ((rv = grantHead(a, l, &h)) != 0)
			return rv;
		if (!h.present)
			break;
		if (!h.live) {
			/* Rule 9: a waiter is re-checked when its turn comes. A
			 * session's end drops its waits, so this only guards
			 * against tables that broke that rule. */
			if ((rv = sm_waiter_remove(a, l, &h.session)) != 0)
				return rv;
			continue;
		}
		if ((rv = sm_lock_counts(a, l, &holders, &exclusive, &waiters)) != 0)
			return rv;
		if (h.mode == COORD_MODE_EXCLUSIVE ? holders > 0 : exclusive > 0)
			break;
		if ((rv = grantOne(a, l, &h)) != 0)
			return rv;
	}
	return sm_lock_gc(a, l);
}
