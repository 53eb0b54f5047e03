/* The limits an operator may set (coordd --max-sessions,
 * --max-locks-per-session, --max-waiters; API.md, Limits), and the checks
 * they pass wherever they come from: coordd's flags at start, and every
 * LIMITS entry as it is decoded (DESIGN.md rule 11).
 *
 * The limits in force are replicated state, never a node's own flags: the
 * state machine refuses a session, lock or wait beyond them in apply, so all
 * nodes must use the same values at the same index (SM-7). A leader whose
 * flags differ from the limits in force proposes them as a LIMITS entry;
 * until the first such entry the defaults below are in force. Lowering a
 * limit below what exists refuses new objects and keeps the existing ones. */
#ifndef COORD_LIMITS_H
#define COORD_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct coord_limits {
	uint32_t sessions; /* live sessions in total */
	uint32_t objects;  /* locks and elections held plus waits, per session */
	uint32_t waiters;  /* queued waiters per lock or election */
};

/* Defaults: the limits in force before any LIMITS entry. */
#define COORD_DEFAULT_MAX_SESSIONS 10000u
#define COORD_DEFAULT_MAX_OBJECTS  64u
#define COORD_DEFAULT_MAX_WAITERS  256u

/* Ceilings of each limit, and of sessions x objects: the largest state
 * coord is built and measured for (state.db holds a few hundred bytes per
 * held lock; docs/BENCHMARKS.md, Scale). */
#define COORD_SESSIONS_CEILING 100000
#define COORD_OBJECTS_CEILING  1024
#define COORD_WAITERS_CEILING  10000
#define COORD_HELD_CEILING     1000000

#define COORD_LIMITS_STR_(x) #x
#define COORD_LIMITS_STR(x)  COORD_LIMITS_STR_(x)

static inline struct coord_limits coord_limits_default(void)
{
	return (struct coord_limits){COORD_DEFAULT_MAX_SESSIONS, COORD_DEFAULT_MAX_OBJECTS,
	                             COORD_DEFAULT_MAX_WAITERS};
}

static inline bool coord_limits_equal(const struct coord_limits *a, const struct coord_limits *b)
{
	return a->sessions == b->sessions && a->objects == b->objects && a->waiters == b->waiters;
}

/* NULL when L is acceptable, else a sentence saying which rule it breaks:
 * each limit between 1 and its ceiling; sessions x objects at most
 * COORD_HELD_CEILING (what all sessions may hold together bounds the
 * size of state.db and of every snapshot). */
static inline const char *coord_limits_check(const struct coord_limits *l)
{
	if (l->sessions < 1 || l->sessions > (uint32_t)COORD_SESSIONS_CEILING)
		return "max sessions must be between 1 and " COORD_LIMITS_STR(
		    COORD_SESSIONS_CEILING);
	if (l->objects < 1 || l->objects > (uint32_t)COORD_OBJECTS_CEILING)
		return "max locks per session must be between 1 and " COORD_LIMITS_STR(
		    COORD_OBJECTS_CEILING);
	if (l->waiters < 1 || l->waiters > (uint32_t)COORD_WAITERS_CEILING)
		return "max waiters must be between 1 and " COORD_LIMITS_STR(COORD_WAITERS_CEILING);
	if ((uint64_t)l->sessions * l->objects > (uint64_t)COORD_HELD_CEILING)
		return "max sessions times max locks per session must be at most " COORD_LIMITS_STR(
		    COORD_HELD_CEILING);
	return NULL;
}

#endif
