/* The limits in force: one coord_meta row per limit, absent until the first
 * LIMITS entry (read as the defaults, so a log written before limits could
 * be set replays to the same answers). */
#include "sm_limits.h"

#include "sm.h"

#define META_MAX_SESSIONS "max_sessions"
#define META_MAX_OBJECTS  "max_objects"
#define META_MAX_WAITERS  "max_waiters"

int sm_apply_limits(struct sm_apply *a)
{
	const struct coord_limits *l = &a->cmd->limits;
	int rv;

	if ((rv = sm_meta_set(a, META_MAX_SESSIONS, l->sessions)) != 0 ||
	    (rv = sm_meta_set(a, META_MAX_OBJECTS, l->objects)) != 0 ||
	    (rv = sm_meta_set(a, META_MAX_WAITERS, l->waiters)) != 0)
		return rv;
	a->out->status = COORD_ST_OK;
	return 0;
}

/* One limit: its row, or DEF when there is none (a limit is never 0). */
static int limitGet(sqlite3 *db, struct sm_stmt_cache *cache, const char *key, uint32_t def,
                    uint32_t *out)
{
	uint64_t v;
	int rv = sm_meta_get(db, cache, key, &v);

	*out = v != 0 ? (uint32_t)v : def;
	return rv;
}

static int limitsRead(sqlite3 *db, struct sm_stmt_cache *cache, struct coord_limits *out)
{
	const struct coord_limits def = coord_limits_default();
	int rv;

	if ((rv = limitGet(db, cache, META_MAX_SESSIONS, def.sessions, &out->sessions)) != 0 ||
	    (rv = limitGet(db, cache, META_MAX_OBJECTS, def.objects, &out->objects)) != 0 ||
	    (rv = limitGet(db, cache, META_MAX_WAITERS, def.waiters, &out->waiters)) != 0)
		return rv;
	return 0;
}

int sm_limits_in_force(struct sm_apply *a, struct coord_limits *out)
{
	return limitsRead(a->db, a->cache, out);
}

int coord_sm_limits(sqlite3 *db, struct coord_limits *out)
{
	return limitsRead(db, NULL, out);
}
