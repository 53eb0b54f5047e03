/* Private to the state machine's files (sm_*.c): the apply context, SQLite
 * statement helpers and the row operations every command is built from. */
#ifndef COORD_SM_INTERNAL_H
#define COORD_SM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "sm.h"

/* Keys of coord_meta: the modify index of each list (SM-8). */
#define SM_META_SESSIONS      "sessions_index"      /* last change of any session */
#define SM_META_LOCKS         "locks_index"         /* last change of any lock */
#define SM_META_ELECTIONS     "elections_index"     /* last change of any election */
#define SM_META_ELECTION_GONE "election_gone_index" /* last election left empty */
#define SM_META_TOKENS        "tokens_index"        /* last change of any access token */
#define SM_META_AUTH          "auth_index" /* the bootstrap's entry: auth is on (sm_token.c) */
#define SM_META_KV            "kv_index"   /* last change of any key (sm_kv.c) */
#define SM_META_KV_COMPACTED  "kv_compacted_index" /* newest change dropped from the history */
#define SM_META_KV_HISTORY    "kv_history"         /* rows of coord_kv_history */
#define SM_META_KV_KEYS       "kv_keys"            /* rows of coord_kv */
#define SM_META_KV_BYTES      "kv_bytes"           /* bytes of their values */
#define SM_META_EVENTS_ENDED  "events_ended"       /* ended sessions that keep events (EV-4) */
#define SM_META_CLOCK         "clock_ms"           /* the last applied entry's stamp */

/* The busiest rows of coord_meta: the stamps of the lists, the key/value
 * counters and the clock, written by most entries. Inside a transaction
 * the apply holds their writes in memory (struct sm_meta_held) and
 * coord_sm_flush() writes each once, before the COMMIT: a batch of puts
 * costs two statements for them, not five per put. Every read of them
 * during an apply goes through sm_meta_read(), which sees what is held;
 * nothing else reads them before the flush (queries run between
 * transactions, or on their own handles, which see only what committed). */
#define SM_META_HELD_MAX 9

struct sm_meta_held {
	size_t n;
	struct sm_meta_row {
		const char *key; /* one of the held keys (sm_db.c) */
		uint64_t value;
		bool known; /* VALUE is the row's, read or written */
		bool dirty; /* written since the flush, not yet in the table */
	} e[SM_META_HELD_MAX];
};

/* coord_kv_history.change: what happened to a key. */
#define SM_KV_CHANGE_PUT    0
#define SM_KV_CHANGE_DELETE 1

/* Prepared statements of the apply path, reused across the statements of
 * one entry and, through struct coord_sm, across entries. Keyed by the SQL
 * string's address (every SQL text is a literal). */
#define SM_STMT_CACHE_MAX 96

struct sm_stmt_cache {
	size_t n;
	struct {
		const char *sql;
		sqlite3_stmt *st;
		bool busy; /* handed out and not yet released */
	} e[SM_STMT_CACHE_MAX];
};

/* The database and the statement cache of SM (sm_apply.c). */
sqlite3 *sm_handle_db(struct coord_sm *sm);
struct sm_stmt_cache *sm_handle_cache(struct coord_sm *sm);

/* Finalizes every cached statement and empties C. */
void sm_cache_clear(struct sm_stmt_cache *c);

/* One entry being applied. */
struct sm_apply {
	sqlite3 *db;
	struct sm_stmt_cache *cache;
	struct sm_meta_held *held;   /* the transaction's held coord_meta rows */
	uint64_t index;              /* the entry's log index: every token it grants */
	const struct coord_cmd *cmd; /* decoded, validated */
	struct coord_result *out;
};

/* A lock or election, named by a borrowed, not NUL-terminated name. */
struct sm_lock {
	enum coord_kind kind;
	const char *name;
	size_t name_len;
};

/* --- sm_db.c: statements --------------------------------------------- */

/* Prepares SQL on DB into *ST, from CACHE when it is not NULL and holds a
 * free one (reset, bindings cleared). Returns 0 or COORD_EDB (*ST NULL).
 * Give *ST back with sm_release() on the same CACHE. */
int sm_prepare(sqlite3 *db, struct sm_stmt_cache *cache, const char *sql, sqlite3_stmt **st);
/* Returns ST to CACHE (or finalizes it when it is not cached there). */
void sm_release(struct sm_stmt_cache *cache, sqlite3_stmt *st);
/* The apply path's shorthands for the two above, on a->cache. */
int sm_stmt(struct sm_apply *a, const char *sql, sqlite3_stmt **st);
#define sm_release_in(a, st) sm_release((a)->cache, (st))
/* Steps ST, which must produce no row, and releases it: 0 or COORD_EDB. */
int sm_done(struct sm_apply *a, sqlite3_stmt *st);
/* Steps ST: 1 for a row, 0 when done, -1 on an error. */
int sm_row(sqlite3_stmt *st);
void sm_bind_session(sqlite3_stmt *st, int col, const struct coord_session_id *id);
void sm_bind_lock(sqlite3_stmt *st, int col, const struct sm_lock *l); /* binds col, col+1 */
void sm_bind_u64(sqlite3_stmt *st, int col, uint64_t v);
/* Copies the 16-byte blob of column COL into *ID (zero if not 16 bytes). */
void sm_column_session(sqlite3_stmt *st, int col, struct coord_session_id *id);
/* Sets a coord_meta value in the entry being applied: held until the
 * flush for the busiest keys (struct sm_meta_held), else written now. */
int sm_meta_set(struct sm_apply *a, const char *key, uint64_t value);
/* Reads a coord_meta value in the entry being applied, as held or, if not
 * held, from the table (a missing key reads as 0). */
int sm_meta_read(struct sm_apply *a, const char *key, uint64_t *value);
/* Writes the held values into coord_meta and forgets them all (also on an
 * error, after which the caller rolls back). Returns 0 or COORD_EDB. */
int sm_meta_flush(sqlite3 *db, struct sm_stmt_cache *cache, struct sm_meta_held *held);
/* Reads a coord_meta value from the table (a missing key reads as 0), for
 * queries and outside an apply; CACHE may be NULL. */
int sm_meta_get(sqlite3 *db, struct sm_stmt_cache *cache, const char *key, uint64_t *value);
/* Runs a single-value query with one session bound at 1 (or none if ID is
 * NULL) into *OUT (0 when no row); CACHE may be NULL. */
int sm_count(sqlite3 *db, struct sm_stmt_cache *cache, const char *sql,
             const struct coord_session_id *id, uint64_t *out);

/* --- sm_store.c: rows, each change stamping modify indexes (SM-8) ----- */

/* Whether session ID exists; with its lock_delay_ms if DELAY is not NULL. */
int sm_session_find(struct sm_apply *a, const struct coord_session_id *id, bool *found,
                    uint32_t *delay);
/* Stamps session ID (if it exists) and the session list with the entry index. */
int sm_touch_session(struct sm_apply *a, const struct coord_session_id *id);
/* Creates L's row if missing and stamps it and its list with the entry index. */
int sm_touch_lock(struct sm_apply *a, const struct sm_lock *l);
/* Finds ID's hold on L: *FOUND, its mode and token. */
int sm_holder_find(struct sm_apply *a, const struct sm_lock *l, const struct coord_session_id *id,
                   bool *found, enum coord_mode *mode, uint64_t *token);
/* Finds ID's queued wait on L: *FOUND and its mode. */
int sm_waiter_find(struct sm_apply *a, const struct sm_lock *l, const struct coord_session_id *id,
                   bool *found, enum coord_mode *mode);
/* Makes ID a holder of L with token = entry index (SM-3). VALUE may be NULL. */
int sm_holder_add(struct sm_apply *a, const struct sm_lock *l, const struct coord_session_id *id,
                  enum coord_mode mode, const char *value, size_t value_len);
/* Queues ID on L at position = entry index (SM-5). VALUE may be NULL. */
int sm_waiter_add(struct sm_apply *a, const struct sm_lock *l, const struct coord_session_id *id,
                  enum coord_mode mode, const char *value, size_t value_len);
int sm_holder_remove(struct sm_apply *a, const struct sm_lock *l,
                     const struct coord_session_id *id);
int sm_waiter_remove(struct sm_apply *a, const struct sm_lock *l,
                     const struct coord_session_id *id);
/* What session ID holds, waits for and owns (ephemeral keys) together: what
 * the limit of locks per session bounds (SM-7). */
int sm_session_objects(struct sm_apply *a, const struct coord_session_id *id, uint64_t *out);
/* Counts L's holders (all, and exclusive ones) and waiters. */
int sm_lock_counts(struct sm_apply *a, const struct sm_lock *l, uint64_t *holders,
                   uint64_t *exclusive, uint64_t *waiters);
/* L's lock-delay end (0 if none or no row). */
int sm_lock_delay(struct sm_apply *a, const struct sm_lock *l, uint64_t *until);
int sm_lock_set_delay(struct sm_apply *a, const struct sm_lock *l, uint64_t until);
/* Drops L's row when nobody holds or waits and no lock-delay is running. */
int sm_lock_gc(struct sm_apply *a, const struct sm_lock *l);
/* Fills out->holders with L's holders in token order. */
int sm_result_holders(struct sm_apply *a, const struct sm_lock *l);

/* --- sm_grant.c ------------------------------------------------------ */

/* Grants L's queue head (one exclusive or a run of shared) while the
 * holders allow it and no lock-delay runs; ends a lock-delay that is over;
 * drops the row if L is left empty (SM-4, SM-5, SM-6). */
int sm_promote(struct sm_apply *a, const struct sm_lock *l);

/* --- sm_result.c ----------------------------------------------------- */

/* The limits an apply can reach (COORD_ST_LIMIT), each with the phrase that
 * result.limit points at; a saved answer (sm_seq.c) keeps the number. */
enum sm_limit_hit {
	SM_LIMIT_NONE = 0,
	SM_LIMIT_SESSIONS, /* sessions */
	SM_LIMIT_OBJECTS,  /* locks and waits of one session */
	SM_LIMIT_WAITERS,  /* waiters of one lock */
	SM_LIMIT_TOKENS,   /* access tokens in the store (COORD_TOKENS_MAX) */
	SM_LIMIT_KEYS,     /* keys in the store (COORD_KV_KEYS_MAX) */
	SM_LIMIT_KV_BYTES, /* bytes of all values (COORD_KV_BYTES_MAX) */
	SM_LIMIT_HIT_COUNT
};
extern const char *const sm_limit_phrase[SM_LIMIT_HIT_COUNT]; /* NONE: NULL */

void sm_result_reset(struct coord_result *r);
int sm_result_push_holder(struct coord_result *r, const struct coord_holder *h);
int sm_result_push_grant(struct coord_result *r, const struct coord_grant *g);
int sm_result_push_released(struct coord_result *r, const struct coord_lockref *l);

/* --- sm_seq.c: a session's request order (SM-9) ----------------------- */

/* A session's record: its highest applied seq, the request that carried it
 * (type, kind, mode, name) and that request's answer as result fields
 * (status, token, released, retry_after_ms, limit): a fixed set of integers
 * and a name, never a value or a list, so at most this many bytes whatever
 * the request carried. */
#define SM_SEQ_RECORD_MAX (COORD_SESSION_ID_LEN + 10 * 8 + COORD_NAME_MAX)

/* Applies a command that carries a seq (its row has SEQ and cmd->seq > 0)
 * with APPLY, its row's apply function, in SM-9's order: below the
 * session's record, stale_request (result.seq the record's); equal, the
 * record's answer again (result.retry) if it numbered the same request,
 * else stale_request; above (or no record), APPLY, then the record is set
 * to this seq and answer unless the session does not exist or just ended.
 * Returns what APPLY returns, or COORD_EDB / COORD_ENOMEM. */
int sm_seq_apply(struct sm_apply *a, int (*apply)(struct sm_apply *a));

/* --- sm_owner.c: sessions belong to their token (SM-10) --------------- */

/* Records the OPEN being applied as its session's owner's (nothing when
 * its actor is 0). Returns 0 or COORD_EDB. */
int sm_owner_set(struct sm_apply *a);
/* Whether the command being applied (its row has ACTOR) may use its
 * session: the session does not exist, or its owner is the command's
 * actor (0 and 0 included). Returns 0 or COORD_EDB (*ALLOWED false). */
int sm_owner_allows(struct sm_apply *a, bool *allowed);

/* --- commands: sm_session.c, sm_lock.c ------------------------------- */

/* The apply functions of the command table's rows (commands.c). */
int sm_apply_open(struct sm_apply *a);
int sm_apply_end(struct sm_apply *a); /* CLOSE and EXPIRE */
int sm_apply_alive(struct sm_apply *a);
int sm_apply_acquire(struct sm_apply *a);
int sm_apply_release(struct sm_apply *a);
int sm_apply_cancel(struct sm_apply *a);
int sm_apply_proclaim(struct sm_apply *a);
int sm_apply_wake(struct sm_apply *a);

/* --- sm_kv.c: the key/value namespace (KV-1..KV-5) ------------------- */

int sm_apply_kv_put(struct sm_apply *a);
int sm_apply_kv_delete(struct sm_apply *a);
int sm_apply_kv_txn(struct sm_apply *a);
/* Deletes the ephemeral keys of the command's session, which is ending
 * (KV-3), each a change in the history and a key_deleted event (EV-1). Returns 0, COORD_ENOMEM or
 * COORD_EDB. */
int sm_kv_session_end(struct sm_apply *a);

/* --- sm_event.c: session events (EV-1..EV-4, SM-11) ------------------ */

/* coord_session_events.type; a lock's or an election's by kind. */
enum sm_event_type {
	SM_EVENT_GRANTED = 1,      /* lock_granted, election_won: from the queue */
	SM_EVENT_LOST = 2,         /* lock_lost, election_lost: the session ended */
	SM_EVENT_CONFLICT = 3,     /* conflicting_request: OTHER queued behind it */
	SM_EVENT_KEY_DELETED = 4,  /* key_deleted: an ephemeral key of the session */
	SM_EVENT_SESSION_ENDED = 5 /* session_ended */
};

/* coord_session_events.why. */
enum sm_event_why {
	SM_EVENT_WHY_NONE = 0,
	SM_EVENT_WHY_EXPIRED = 1,       /* lost, ended: an EXPIRE */
	SM_EVENT_WHY_CLOSED = 2,        /* lost, ended: a CLOSE */
	SM_EVENT_WHY_DELETED = 3,       /* key: a delete (alone or in a transaction) */
	SM_EVENT_WHY_REPLACED = 4,      /* key: a put that did not keep it the session's */
	SM_EVENT_WHY_SESSION_ENDED = 5, /* key: its session ended */
};

/* One event; what a type does not use is zero (NAME NULL, OTHER NULL). */
struct sm_event {
	enum sm_event_type type;
	enum coord_kind kind;
	const char *name; /* a lock's, an election's or a key's, NAME_LEN bytes */
	size_t name_len;
	uint64_t token;                       /* granted, lost, conflict: the grant's */
	const struct coord_session_id *other; /* conflict: the waiter */
	enum coord_mode mode;                 /* granted: the grant's; conflict: the wait's */
	enum sm_event_why why;
};

/* Records E for SESSION (live) at this entry (EV-1), dropping its oldest
 * row past COORD_SESSION_EVENTS_MAX (EV-2) and the events an ended session
 * of the same id kept (EV-3). Returns 0 or COORD_EDB. */
int sm_event_add(struct sm_apply *a, const struct coord_session_id *session,
                 const struct sm_event *e);
/* Records session_ended for the command's session, which this entry ends
 * (still in coord_sessions), and keeps its events as an ended session's
 * (EV-3). Returns 0 or COORD_EDB. */
int sm_event_session_end(struct sm_apply *a, enum sm_event_why why);

/* --- sm_json.c: row-to-JSON helpers of the queries ------------------ */

/* Each returns a new reference, or NULL when out of memory. */
json_t *sm_json_text(sqlite3_stmt *st, int col);    /* string, or null if NULL */
json_t *sm_json_session(sqlite3_stmt *st, int col); /* hex id string */
json_t *sm_json_mode(int mode);                     /* "exclusive" | "shared" */
json_t *sm_json_int(sqlite3_stmt *st, int col);     /* integer */
/* Sets OBJ[KEY] = V, stealing V. Returns 0 or COORD_ENOMEM (V NULL too). */
int sm_json_set(json_t *obj, const char *key, json_t *v);
/* Builds one JSON value from the current row of a statement. */
typedef json_t *(*sm_row_fn)(sqlite3_stmt *st);
/* Steps ST to the end, appending FN(row) to a new array *ARR, and gives ST
 * back to CACHE with sm_release() (also on errors). Returns 0, COORD_ENOMEM
 * or COORD_EDB. */
int sm_json_rows(struct sm_stmt_cache *cache, sqlite3_stmt *st, sm_row_fn fn, json_t **arr);
/* A listing's page: when RV is 0, *OUT = {LIST: ITEMS, "next": NEXT}, NEXT
 * NULL meaning null (the last page); otherwise *OUT is NULL. Steals ITEMS
 * and NEXT either way. Returns RV, or COORD_ENOMEM. */
int sm_page(int rv, const char *list, json_t *items, json_t *next, json_t **out);

/* Sets *UPPER (ULEN bytes) to the end of the names that start with the LEN
 * bytes of PREFIX: the range [PREFIX, UPPER); *ULEN 0 when there is no
 * upper end (sm_json.c). */
void sm_prefix_end(const char *prefix, size_t len, char upper[COORD_NAME_MAX], size_t *ulen);
/* Binds a listing's range to ST: ?1 its start, the LEN bytes of FROM (a
 * prefix, or the key a page starts after), and ?2 its end, the ULEN bytes of
 * UPPER, when ULEN is not 0 (sm_prefix_end()). */
void sm_bind_range(sqlite3_stmt *st, const char *from, size_t len, const char *upper, size_t ulen);
/* Compares the names A (ALEN bytes) and B (BLEN bytes) as SQLite's BINARY
 * collation does: bytes, then length. */
int sm_name_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* --- sm_query_*.c ---------------------------------------------------- */

/* A connection the queries read through, with their prepared statements. */
struct coord_sm_reader {
	sqlite3 *db;
	struct sm_stmt_cache cache;
};

/* Builds one listing item from the current row of a statement, reading
 * more through R if it needs; NULL with *RV set on an error. */
typedef json_t *(*sm_item_fn)(struct coord_sm_reader *r, sqlite3_stmt *st, int *rv);
/* A keyset page (sm_query.h, The listings): steps ST, a statement of R
 * whose rows are the items after the page's start in order, at most LIMIT
 * + 1 of them, and appends FN of each of the first LIMIT to the list; a
 * further row makes "next" the KEY of the page's last item. Gives ST back
 * and answers sm_page(..., LIST, ...) into *OUT. */
int sm_page_rows(struct coord_sm_reader *r, sqlite3_stmt *st, uint32_t limit, sm_item_fn fn,
                 const char *list, const char *key, json_t **out);

#endif
