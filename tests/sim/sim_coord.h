/* sim_coord.h: the coord lock/session/election machine under the simulator,
 * private to tests/sim.
 *
 * Two halves:
 *   sm_coord.c, sm_coord_check.c  the sim_sm_ops behind --sm coord: one SQLite
 *       ":memory:" database per node, applied through coord/sm/sm.h, snapshot
 *       by sqlite3_serialize; after every entry the node's own tables and the
 *       entry's result are checked (lock invariants, read per node).
 *   coord_client.c  the world around it: clients opening sessions, sending
 *       keepalives (a quorum read, as coordd does, DESIGN.md rule 5) and
 *       lock/election commands stamped with the leader's local clock; each
 *       leader's lease keeper (coord/sm/lease.h) proposing EXPIRE and WAKE; and
 *       the expiry invariant on the simulator's true clock.
 */
#ifndef COORD_SIM_COORD_H
#define COORD_SIM_COORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "lease.h"
#include "sm.h"

struct sim_world;
struct sim_sm;

/* Named limits ------------------------------------------------------------ */

#define SIM_COORD_SESSIONS   64   /* sessions clients open over one seed */
#define SIM_COORD_LIVE_GOAL  5    /* clients keep about this many sessions open */
#define SIM_COORD_KEEPALIVES 256  /* keepalives in flight at once */
#define SIM_COORD_EXPIRIES   2048 /* EXPIRE proposals tracked per seed */
#define SIM_COORD_WAITERS    1024 /* waiter rows one check reads (>= 4 * limits used) */
#define SIM_COORD_DELAYS     256  /* running lock-delays one node's checker tracks */
#define SIM_COORD_CTX_BIT    (UINT64_C(1) << 62) /* read ctx of a keepalive */

/* Access tokens (SM-10): every session of the workload belongs to the
 * token its id names, a pure function of the id, so that the checker knows
 * each session's owner without keeping any state; 0 is "opened without a
 * token", as in a cluster without access control. The workload sends a
 * request of a session with another token now and then (a hijack). */
#define SIM_COORD_TOKENS 3 /* token ids 1..this */
static inline uint64_t sim_coord_owner(const struct coord_session_id *id)
{
	return id->bytes[0] % (SIM_COORD_TOKENS + 1);
}

/* sm_coord.c: the machine's state, for the checks and the workload --------- */

/* The --break (enum sim_break) the machine's key/value mutations follow:
 * one per process, set before the seed runs. */
void sim_coord_set_break(int brk);

/* The node's database (owned by the machine; valid until the next restore). */
sqlite3 *sim_coord_db(struct sim_sm *sm);
/* The result of the last NORMAL entry applied (type 0 after any other). */
const struct coord_result *sim_coord_result(const struct sim_sm *sm);

/* sm_coord_check.c: checks around one apply, on one node --------------------- */

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

/* sm_coord_kv_check.c: the key/value checks around one apply, on one node -- */

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

/* BRK (enum sim_break) kv-ignore-cas or kv-ignore-fence: CMD without its
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

/* coord_client.c: the world's clients and lease keepers ----------------------- */

struct sim_coord *sim_coord_new(void);
void sim_coord_free(struct sim_coord *c);
/* Once per step: keepers follow leadership, propose EXPIRE and WAKE,
 * clients send keepalives. */
void sim_coord_step(struct sim_world *w);
/* A client command for the leader at SLOT into BUF (CAP bytes), stamped
 * with its clock; 0 when there is none to make. */
size_t sim_coord_command(struct sim_world *w, int slot, uint8_t *buf, size_t cap);
/* The command just made was proposed at (INDEX, TERM). */
void sim_coord_proposed(struct sim_world *w, int slot, uint64_t index, uint64_t term);
/* Entry E was applied at SLOT (after the machine's own checks). */
void sim_coord_applied(struct sim_world *w, int slot, const struct raft_entry *e);
/* A keepalive's quorum read at SLOT came back (index 0: failed). */
void sim_coord_read_ready(struct sim_world *w, int slot, const struct raft_read *rd);
/* Acknowledges keepalives of SLOT whose read point has been applied. */
void sim_coord_answer(struct sim_world *w, int slot);
/* SLOT (re)started (RESTARTED) or installed a snapshot, its state now at
 * INDEX: every session in its tables is anchored now (L-3: later than the
 * truth), and its cluster clock goes on from the newest stamp it holds. */
void sim_coord_restored(struct sim_world *w, int slot, bool restarted, uint64_t index);
/* SLOT took the entries of RD into its log: its cluster clock follows the
 * last stamped one from a leader (coord_clock.c, node_ready.c). */
void sim_coord_persisted(struct sim_world *w, int slot, const struct raft_ready *rd);

#endif
