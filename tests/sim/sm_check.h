/* sm_check.h: the state machine's invariants, checked around each entry a
 * node applies (apply.c calls them from the wrapped apply), private to the
 * runtime simulator:
 *   sm_check.c     locks and elections: exclusion, fencing, live grants,
 *                  FIFO, lock-delay, session owners;
 *   sm_kv_check.c  keys: ephemeral keys, conditional writes, the history,
 *                  its trims and watches, the counters;
 *   sm_break.c     the key/value machine broken on purpose (--break kv-*);
 *   sm_stmt.c      the checks' prepared statements, kept.
 * The checks read the tables directly (not through coord's queries), so a
 * broken query cannot hide a broken apply.
 */
#ifndef COORD_RT_SM_CHECK_H
#define COORD_RT_SM_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "lease.h"
#include "sm.h"

/* Named limits ------------------------------------------------------------ */

#define SIM_COORD_WAITERS 1024 /* waiter rows one check reads (>= 4 * limits used) */
#define SIM_COORD_DELAYS  256  /* running lock-delays one node's checker tracks */

/* --break kv-NAME: the key/value machine broken around its apply. */
enum sim_kv_break {
	SIM_BREAK_KV_NONE = 0,
	SIM_BREAK_KV_KEEP_EPHEMERAL, /* a session's end leaves its ephemeral keys */
	SIM_BREAK_KV_SKIP_HISTORY,   /* a put or delete is not recorded in the history */
	SIM_BREAK_KV_IGNORE_CAS,     /* a write applies whatever its cas */
	SIM_BREAK_KV_IGNORE_FENCE,   /* a write applies whatever its fence */
	SIM_BREAK_KV_NO_COMPACTED,   /* the history is trimmed, kv_compacted_index stays 0 */
	SIM_BREAK_KV_GONE_KEPT,      /* a row of coord_kv_gone is never deleted */
	SIM_BREAK_KV_OVERTRIM,       /* a trim drops one row past COORD_KV_HISTORY_MAX */
};

/* sm_check.c: checks around one apply, on one node --------------------- */

/* Waiter and holder rows read before an entry applies. */
struct sim_coord_row {
	int kind;
	char name[COORD_NAME_MAX + 1];
	struct coord_session_id session;
	int mode;
	uint64_t pos; /* waiters: since_index; holders: token */
};

struct sim_coord_pre {
	struct sim_coord_row *waiters, *holders;
	size_t n_waiters, n_holders;
	bool overflow;              /* more rows than SIM_COORD_WAITERS: checks skipped */
	uint32_t expiring_delay_ms; /* an EXPIRE's session: its lock-delay */
	uint64_t owner;             /* the token the entry's session belongs to (0: none) */
	bool foreign;               /* a request with a token not its live session's owner */
	uint64_t foreign_hash;      /* then: the tables' hash before it */
};

/* Reads the rows the checks compare against, before the entry whose command
 * is CMD (NULL if it does not decode) applies; OWNER is the token CMD's
 * session belongs to as the workload knows it (0: none, as without access
 * control). Returns 0 or COORD_EDB. */
int sim_coord_pre_read(sqlite3 *db, const struct coord_cmd *cmd, uint64_t owner,
                       struct sim_coord_pre *pre);

/* The lock-delays the checker saw start on one node (SM-6), kept apart from
 * the machine's own tables so that a machine that forgets one is caught.
 * Emptied by a snapshot restore: the checks then only start later. */
struct sim_coord_delays {
	size_t n;
	struct {
		int kind;
		char name[COORD_NAME_MAX + 1];
		uint64_t until_ms;
	} v[SIM_COORD_DELAYS];
};

/* Checks entry INDEX, the command CMD (NULL if it did not decode) whose
 * result is RES, against PRE and the tables after it; *LAST_TOKEN is the highest token granted
 * before (updated), DELAYS the running lock-delays (updated). Returns NULL if every invariant
 * holds, else the invariant's name, and WHY says what broke. */
const char *sim_coord_check(sqlite3 *db, uint64_t index, const struct coord_cmd *cmd,
                            const struct coord_result *res, const struct sim_coord_pre *pre,
                            uint64_t *last_token, struct sim_coord_delays *delays, char *why,
                            size_t cap);

/* sm_kv_check.c: the key/value checks around one apply, on one node -- */

#define SIM_COORD_KV_KEYS    16  /* keys of an ending session one check reads */
#define SIM_COORD_KV_KEY_MAX 15  /* bytes of a key the model names (the workload's: 2) */
#define SIM_COORD_KV_MODEL   256 /* changes one node's model keeps */

/* What the checks compare against, read before the entry. */
struct sim_coord_kv_pre {
	/* KV_PUT, KV_DELETE: the key before, the fence, the rows written so
	 * far on the connection (sqlite3_total_changes). */
	bool found;
	uint64_t create_index, modify_index;
	bool fence_current; /* the fence's token was a current holder's */
	int writes;
	/* CLOSE, EXPIRE: the session's keys, in key order. */
	size_t n_ending;
	char ending[SIM_COORD_KV_KEYS][SIM_COORD_KV_KEY_MAX + 1];
	bool ending_overflow; /* more, or longer, than those: not modelled */
};

/* One change of a key, as the node's model of its changes holds it. */
struct sim_coord_kv_change {
	uint64_t index;
	bool deleted;
	char key[SIM_COORD_KV_KEY_MAX + 1];
};

/* The changes one node made, derived from commands and results: every
 * change above FROM, oldest first; COMPACTED is kv_compacted_index after
 * the last entry checked. Started over by a snapshot restore. */
struct sim_coord_kv_model {
	sqlite3_stmt *state; /* the store's counts, prepared once per database */
	uint64_t from, compacted;
	size_t n;
	struct sim_coord_kv_change v[SIM_COORD_KV_MODEL];
};

struct coord_sm_reader;

/* Reads PRE before the entry whose command is CMD (NULL if it does not
 * decode). Returns 0 or COORD_EDB. */
int sim_coord_kv_pre_read(sqlite3 *db, const struct coord_cmd *cmd, struct sim_coord_kv_pre *pre);
/* Checks entry INDEX against PRE, the tables after it (read directly, and
 * watched through R) and the model M (updated). NULL if every invariant
 * holds, else its name, and WHY says what broke. */
const char *sim_coord_kv_check(sqlite3 *db, struct coord_sm_reader *r, uint64_t index,
                               const struct coord_cmd *cmd, const struct coord_result *res,
                               const struct sim_coord_kv_pre *pre, struct sim_coord_kv_model *m,
                               char *why, size_t cap);
/* Starts M over on the tables of DB, a new or restored database. */
void sim_coord_kv_model_restart(sqlite3 *db, struct sim_coord_kv_model *m);
/* Lets go of M's statement: before its database closes. */
void sim_coord_kv_model_close(struct sim_coord_kv_model *m);

/* sm_break.c: the key/value machine broken on purpose (--break kv-*) -------- */

/* BRK (enum sim_kv_break) kv-ignore-cas or kv-ignore-fence: CMD without its
 * condition, encoded into BUF (CAP bytes); its length, or 0 to apply the
 * entry as it is. */
size_t sim_break_condition(int brk, const struct coord_cmd *cmd, uint8_t *buf, size_t cap);
/* The table edits of the other kv breaks around entry INDEX of command
 * CMD on DB: BEFORE its apply, or after it (RES its result); PRE as read
 * before it. Returns 0 or COORD_EDB. */
int sim_break_tables(int brk, sqlite3 *db, const struct sim_coord_kv_pre *pre, uint64_t index,
                     const struct coord_cmd *cmd, const struct coord_result *res, bool before);

/* sm_stmt.c: the checks' statements, prepared once per database --------------- */

/* The prepared statement of SQL on DB, kept from one call to the next; NULL
 * if it does not prepare. Give it back with sim_stmt_done() (reset and
 * unbound) before it is asked for again. */
sqlite3_stmt *sim_stmt(sqlite3 *db, const char *sql);
void sim_stmt_done(sqlite3_stmt *st);
/* Finalizes every statement kept on DB: call it before DB closes. */
void sim_stmts_forget(sqlite3 *db);

/* The highest token of any current holder (after a restore). */
uint64_t sim_coord_max_token(sqlite3 *db);

#endif
