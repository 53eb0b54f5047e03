/* The lock, session and election state machine: applies decoded log entries
 * to SQLite tables, deterministically (DESIGN.md, The state machine).
 *
 * Invariants (numbered; the code refers to them as SM-n):
 *   SM-1 Applying is a pure function of the tables, the entry's index and
 *        the entry's bytes: no clock (time is the entry's now_ms), no
 *        randomness, an explicit ORDER BY on every iteration.
 *   SM-2 A lock has either one exclusive holder or any number of shared
 *        holders; an election only ever has one (exclusive) holder.
 *   SM-3 The fencing token of a grant is the index of the granting entry, so
 *        tokens grow strictly with every grant of every lock.
 *   SM-4 Holders and waiters belong to live sessions: a session's end
 *        releases its locks and drops its waits in the same entry, and a
 *        waiter is re-checked when its turn comes (DESIGN.md rule 9).
 *   SM-5 Waiters are granted in FIFO order (queue position = index of the
 *        entry that queued them). After every entry the head of every queue
 *        is not grantable unless the lock is in its lock-delay: one
 *        exclusive, or a run of consecutive shared waiters, is granted as
 *        soon as the holders allow it. A shared request queues behind a
 *        queued exclusive one.
 *   SM-6 A lock that a session held when its EXPIRY applied is granted to
 *        nobody (new or queued) before entry time + that session's
 *        lock_delay_ms; remaining shared holders keep their hold. A CLOSE
 *        sets no delay. The delay ends with the first entry stamped at or
 *        after its end (an acquire, or the leader's WAKE).
 *   SM-7 At a named limit a command changes nothing and says which limit
 *        (an acquire still ends a lock-delay that is over by its time, and
 *        the grants that follow are in its result as usual).
 *   SM-8 Every object carries the index of its last change (modify_index).
 *   SM-9 A session's numbered requests apply in the order of their numbers:
 *        a request whose seq is below the session's highest applied one
 *        changes nothing (stale_request); one whose seq equals it changes
 *        nothing and gets the answer saved when it applied (a retry); only
 *        a higher one applies, and is recorded with its answer in the same
 *        entry. A request without seq neither is checked nor moves the
 *        record (sm_seq.c, DESIGN.md rule 14).
 *   SM-10 A session belongs to the access token it was opened with (none
 *        without access control): a command naming it with another token,
 *        or none, changes nothing and is refused (permission_denied),
 *        before its seq is looked at (sm_owner.c).
 *   SM-11 Every grant from a queue, wait behind holders, loss of an
 *        ephemeral key and end of a session records its session events in
 *        the entry that causes it; a grant that answers the session's own
 *        acquire records none (sm_event.c, EV-1..EV-4).
 *
 * Tables (created by coord_sm_schema): coord_meta, coord_sessions,
 * coord_locks, coord_holders, coord_waiters, coord_seqs, coord_tokens,
 * coord_token_rules, coord_session_owners, coord_kv, coord_kv_history,
 * coord_kv_gone, coord_session_events, coord_session_event_logs; see
 * sm_schema.c. The key/value namespace's own invariants (KV-1..KV-6) are
 * in sm_kv.c, the session events' (EV-1..EV-4) in sm_event.c. The access
 * token store's own invariants (T-1..T-5) are in sm_token.c.
 *
 * Driving it (node runtime or simulator):
 *   - The leader turns a request into a struct coord_cmd stamped with its
 *     wall clock (now_ms), draws an OPEN's 128-bit id itself, encodes it
 *     (command.h) and proposes the bytes.
 *   - Every node, for each committed entry in order: BEGIN; apply it with
 *     coord_sm_apply_entry() (or coord_sm_apply()); after the transaction's
 *     last entry coord_sm_flush(); record applied_index; COMMIT (DESIGN.md
 *     rule 6). The result answers the request that
 *     proposed it, and its grants answer other sessions' waiting requests.
 *   - The leader's lease keeper (lease.h) follows the results: add on an
 *     applied OPEN, remove when session_ended. On becoming leader, once an
 *     entry of its term has committed (rule 4), it loads
 *     coord_sm_session_ttls() and calls coord_lease_reset_all(). Its due
 *     sessions become EXPIRE proposals; coord_sm_next_wake() says when to
 *     propose a WAKE.
 *   - coord_sm_hash() compares nodes at the same applied index. */
#ifndef COORD_SM_H
#define COORD_SM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "command.h"
#include "sm_error.h"

/* Named limits (SM-7) are replicated state: limits.h, coord_sm_limits(). */

/* The answer to one command, computed by applying it (identical on every
 * node). */
enum coord_status {
	COORD_ST_OK = 0,            /* done (acquire: granted, token set) */
	COORD_ST_QUEUED,            /* acquire joined (or is already in) the queue */
	COORD_ST_LOCK_HELD,         /* not granted; holders lists the holders */
	COORD_ST_NOT_HOLDER,        /* proclaim by a session that does not lead */
	COORD_ST_LOCK_DELAY,        /* in lock-delay; retry_after_ms says how long */
	COORD_ST_SESSION_NOT_FOUND, /* the command's session does not exist */
	COORD_ST_NOT_FOUND,         /* cancel: nothing queued for that session; revoke_token:
	                             * no such token; token: auth was never bootstrapped */
	COORD_ST_LIMIT,             /* a named limit; limit names which; no change */
	COORD_ST_EXISTS,            /* open: the id is taken; token: the hash is taken, or
	                             * (bootstrap) the cluster was bootstrapped already */
	COORD_ST_INVALID,           /* malformed entry, refused (same on every node) */
	COORD_ST_STALE_REQUEST,     /* seq below the session's last applied (SM-9); seq says it */
	COORD_ST_PERMISSION_DENIED, /* the session belongs to another token (SM-10) */
	COORD_ST_CAS_FAILED,        /* kv: the key's modify_index is not the cas (modify_index
	                             * says what it is, 0: no key) (KV-4) */
	COORD_ST_STALE_TOKEN,       /* kv: the fence's token is not a current holder's; holders
	                             * lists the lock's holders (KV-4) */
	COORD_ST_CHECK_FAILED,      /* kv txn: check failed_check does not hold: modify_index
	                             * (a key's) or holders (a lock's) say what is (KV-4) */
	COORD_ST_COUNT
};

/* A static name for STATUS ("ok", "lock_held", ...), as API.md spells the
 * error codes where one exists. */
const char *coord_status_name(enum coord_status status);

struct coord_holder {
	struct coord_session_id session;
	enum coord_mode mode;
	uint64_t token;
};

/* A grant this entry made to a queued waiter (not to the command's own
 * session): the node runtime answers that waiter's HTTP request with it. */
struct coord_grant {
	struct coord_session_id session;
	enum coord_kind kind;
	enum coord_mode mode;
	uint64_t token;
	char name[COORD_NAME_MAX + 1];
};

/* A lock or election released by the end of the command's session. */
struct coord_lockref {
	enum coord_kind kind;
	char name[COORD_NAME_MAX + 1];
};

/* The typed result of coord_sm_apply(). Owns its arrays: initialise with
 * coord_result_init() once, reuse across applies (each apply resets it),
 * release with coord_result_free(). */
struct coord_result {
	enum coord_status status;
	enum coord_cmd_type type;        /* 0 when the entry did not decode */
	struct coord_session_id session; /* the command's session (zero for WAKE) */
	uint64_t token;                  /* acquire/cancel/proclaim: the grant's token;
	                                  * TOKEN: the new access token's id */
	uint64_t create_index;           /* kv put: the key's create_index */
	uint64_t modify_index;           /* kv put, delete: this entry's index; COORD_ST_CAS_FAILED:
	                                  * the key's modify_index (0: no key) */
	uint32_t failed_check;           /* COORD_ST_CHECK_FAILED: the check's position */
	uint64_t retry_after_ms;         /* COORD_ST_LOCK_DELAY */
	uint64_t seq;                    /* COORD_ST_STALE_REQUEST: the session's last seq */
	bool retry;                      /* the saved answer of an applied seq, again (SM-9) */
	bool released;                   /* release: the session held the lock; kv delete: the
	                                  * key existed */
	bool session_ended;              /* close/expire ended a live session */
	const char *limit;               /* COORD_ST_LIMIT: a static phrase */
	struct coord_holder *holders;    /* COORD_ST_LOCK_HELD, COORD_ST_STALE_TOKEN: holders */
	size_t n_holders;
	struct coord_grant *grants; /* grants to other sessions, in grant order */
	size_t n_grants;
	struct coord_lockref *released_locks; /* close/expire, in (kind, name) order */
	size_t n_released;
	size_t cap_holders, cap_grants, cap_released;
};

void coord_result_init(struct coord_result *r);
void coord_result_free(struct coord_result *r);

/* Creates the state machine's tables and indexes if missing, fills a table
 * this version added from the older tables it derives from, and drops what
 * this version retired (idempotent). Returns 0 or COORD_EDB. */
int coord_sm_schema(sqlite3 *db);

/* Whether TYPE NAME ("index", "...") is an object an older version made and
 * this one drops when it opens the state: a backup may hold it. */
bool coord_sm_schema_retired(const char *type, const char *name);

/* Applies the log entry INDEX (> every index applied before), whose payload is
 * CMD (LEN bytes), inside a transaction the CALLER opened and will commit
 * together with its applied index (DESIGN.md rule 6). Fills *OUT (see
 * struct coord_result). A malformed payload is refused with
 * COORD_ST_INVALID and changes nothing. Returns 0, COORD_ENOMEM or
 * COORD_EDB; on an error the tables may be half-changed: the caller rolls
 * the transaction back and stops (DESIGN.md rule 7). */
int coord_sm_apply(sqlite3 *db, uint64_t index, const void *cmd, size_t len,
                   struct coord_result *out);

/* A state machine bound to one database, keeping the apply path's prepared
 * statements from one entry to the next (coord_sm_apply() prepares them
 * anew for every entry). The node runtime and the simulator apply through
 * one of these per database. */
struct coord_sm;

/* Binds a new state machine to DB (borrowed: DB must outlive it; its schema
 * is created if missing). Returns 0, COORD_ENOMEM or COORD_EDB. */
int coord_sm_open(sqlite3 *db, struct coord_sm **out);

/* Finalizes the statements and frees SM (NULL is a no-op); DB stays open
 * and is the caller's to close afterwards (close SM first: SQLite refuses
 * to close a handle with statements). Statements re-prepare by themselves
 * when the schema changes under them (e.g. a snapshot restored through the
 * same handle). */
void coord_sm_close(struct coord_sm *sm);

/* coord_sm_apply() on SM's database, with its statements kept, and the
 * writes of coord_meta's busiest rows (list stamps, key counters, the
 * clock) held in SM from one entry to the next of the transaction: the
 * entries applied see them, the table has them only after
 * coord_sm_flush(). On an error SM forgets what it held (the caller rolls
 * back). */
int coord_sm_apply_entry(struct coord_sm *sm, uint64_t index, const void *cmd, size_t len,
                         struct coord_result *out);

/* Writes what SM holds into coord_meta: call it after the last entry of a
 * transaction and before COMMIT, or before anything else reads the
 * tables in it. Returns 0, or COORD_EDB (roll back: SM forgot it). */
int coord_sm_flush(struct coord_sm *sm);

/* A 64-bit hash of every row of every state-machine table, read in primary
 * key order: equal states give equal hashes on every node. Returns 0 or
 * COORD_EDB. */
int coord_sm_hash(sqlite3 *db, uint64_t *out);

/* coord_sm_hash() of SM's database, with its statements kept. */
int coord_sm_hash_state(struct coord_sm *sm, uint64_t *out);

/* A live session and its TTL, for the lease keeper's reset on becoming leader. */
struct coord_session_ttl {
	struct coord_session_id id;
	uint32_t ttl_ms;
};

/* Lists every live session in id order into a malloc'd array (*OUT, caller
 * frees; NULL when *N is 0). At most COORD_SESSIONS_CEILING entries. Returns 0,
 * COORD_ENOMEM or COORD_EDB. */
int coord_sm_session_ttls(sqlite3 *db, struct coord_session_ttl **out, size_t *n);

/* The earliest end (entry-time ms) of any lock-delay still recorded. The
 * leader proposes a WAKE entry stamped at or after it, so queued waiters get
 * their grant and delay-only rows are dropped. Sets *HAS false when no lock
 * is in lock-delay. Returns 0 or COORD_EDB. */
int coord_sm_next_wake(sqlite3 *db, bool *has, uint64_t *at_ms);

/* The stamp of the last applied entry (0 before any): where the cluster
 * clock goes on from on a node whose log holds no newer entry
 * (coord/node/node_clock.h). Returns 0 or COORD_EDB. */
int coord_sm_clock(sqlite3 *db, uint64_t *stamp_ms);

/* The limits in force as of the last applied entry (limits.h): the
 * defaults until a LIMITS entry applied. Returns 0 or COORD_EDB. */
int coord_sm_limits(sqlite3 *db, struct coord_limits *out);

struct coord_sm_reader; /* sm_query.h */

/* The highest seq applied for session ID (SM-9): 0 when none was, or the
 * session does not exist, read through R (sm_query.h: its statements are
 * kept, as every request of a numbered keepalive asks). Returns 0 or
 * COORD_EDB. */
int coord_sm_session_seq(struct coord_sm_reader *r, const struct coord_session_id *id,
                         uint64_t *seq);

/* Whether session ID exists (*FOUND), and the id of the access token it
 * belongs to (*OWNER; 0 when it was opened without one) (SM-10), read
 * through R (sm_query.h: its statement is kept, as every write with a token
 * asks). Returns 0 or COORD_EDB. */
int coord_sm_session_owner(struct coord_sm_reader *r, const struct coord_session_id *id,
                           bool *found, uint64_t *owner);

/* Whether server ID was retired (a RETIRE entry applied: it left the
 * cluster, and its id is never used again). Returns 0 or COORD_EDB. */
int coord_sm_member_retired(sqlite3 *db, uint64_t id, bool *retired);

#endif
