/* Reads of the state machine for every GET of API.md: jansson objects shaped
 * exactly like the response bodies, read from the same tables the commands
 * write, each carrying modify_index (the index of its last change). */
#ifndef COORD_SM_QUERY_H
#define COORD_SM_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "auth.h"
#include "command.h"
#include "sm_error.h"

/* The queries read through a reader: a connection to a database set up by
 * coord_sm_schema() (any connection, read-only is enough) and the queries'
 * prepared statements, kept from one call to the next. A reader is used by
 * one thread at a time and closed before its connection is. */
struct coord_sm_reader;
/* Returns 0 or COORD_ENOMEM. */
int coord_sm_reader_open(sqlite3 *db, struct coord_sm_reader **out);
/* Finalizes the reader's statements and frees it (NULL is a no-op). */
void coord_sm_reader_close(struct coord_sm_reader *r);

/* Every query below: names are LEN
 * bytes, not NUL-terminated; on 0, *OUT is a new reference the caller drops
 * with json_decref(); on an error *OUT is NULL. Errors: COORD_EDB,
 * COORD_ENOMEM, and where said COORD_ENOTFOUND. Arrays are in a stated
 * order so every node renders the same state identically. */

/* GET /v1/locks/{name}: {"name", "mode": "exclusive"|"shared"|null,
 * "holders":[{"session","fencing_token","value","since_index"}] (token
 * order), "waiters":[{"session","mode","since_index"}] (queue order),
 * "modify_index"}. COORD_ENOTFOUND when nobody holds or waits. */
int coord_sm_query_lock(struct coord_sm_reader *r, const char *name, size_t len, json_t **out);

/* The listings answer a page: at most LIMIT (>= 1) items whose keys come
 * after the key AFTER in the listing's order (keyset paging: AFTER need not
 * exist), and "next", the key of the page's last item when more items
 * follow, else null. A page reads only its own items and one more row
 * (SELECT ... WHERE key > AFTER ORDER BY key LIMIT LIMIT + 1), never the
 * whole table. */

/* GET /v1/locks?prefix=P&after=A&limit=N: {"locks":[<lock>...], "next":
 * name|null} in name (byte) order, only locks with holders or waiters whose
 * name starts with the LEN bytes of PREFIX (LEN 0: every lock), and whose
 * name is after the AFTER_LEN bytes of AFTER (AFTER_LEN 0: the first page). */
int coord_sm_query_locks(struct coord_sm_reader *r, const char *prefix, size_t len,
                         const char *after, size_t after_len, uint32_t limit, json_t **out);

/* GET /v1/sessions/{id}: {"id","ttl_ms","lock_delay_ms","name",
 * "modify_index", "locks":[{"name","mode","fencing_token"}],
 * "waiting":[{"name","mode","since_index"}], "elections":[{"name",
 * "leader":bool,"value","fencing_token"|"since_index"}]} (name order).
 * COORD_ENOTFOUND for a session that does not exist (or ended). */
int coord_sm_query_session(struct coord_sm_reader *r, const struct coord_session_id *id,
                           json_t **out);

/* GET /v1/sessions?after=ID&limit=N: {"sessions":[<session>...], "next":
 * id|null} in id order (the bytes of the id, which is the order of its hex
 * form), the sessions whose id is after AFTER (NULL: the first page). */
int coord_sm_query_sessions(struct coord_sm_reader *r, const struct coord_session_id *after,
                            uint32_t limit, json_t **out);

/* GET /v1/sessions/{id}/events?index=SINCE (sm_event.c): {"id", "name"
 * (the label), "ended": bool, "ttl_ms" (a live session's only),
 * "events":[{"type", "index", ...}...]} with
 * the session's kept events after entry SINCE in (index, position) order,
 * each with its type's fields (API.md, Sessions: events), and *LAST the
 * index of the newest of them (0: none), *COMPACTED the newest index whose
 * events were dropped (EV-2): a read from below it may miss some.
 * COORD_ENOTFOUND for a session neither live nor among the ended ones that
 * keep their events. */
int coord_sm_query_session_events(struct coord_sm_reader *r, const struct coord_session_id *id,
                                  uint64_t since, json_t **out, uint64_t *last,
                                  uint64_t *compacted);

/* GET /v1/elections/{name}: {"name", "leader":{"session","value",
 * "fencing_token"}|null, "candidates":[{"session","value","since_index"}]
 * (queue order), "modify_index"}. Every name answers; an empty election's
 * modify_index is the index at which the last election was left empty. */
int coord_sm_query_election(struct coord_sm_reader *r, const char *name, size_t len, json_t **out);

/* GET /v1/fence?lock=NAME&token=T: *VALID says whether T is the token of a
 * current holder; *OUT is {"valid":true} or {"valid":false,"current":[...]}
 * (current holders' tokens, ascending). */
int coord_sm_query_fence(struct coord_sm_reader *r, const char *name, size_t len, uint64_t token,
                         bool *valid, json_t **out);

/* The key/value namespace (sm_kv.c, sm_query_kv.c). A key object is
 * {"key","value","create_index","modify_index","session": id|null}. */

/* GET /v1/kv/{key}: the key's object. COORD_ENOTFOUND when it does not
 * exist; *LAST is then the index of its last change in the history (its
 * deletion), or 0 when the history holds none. */
int coord_sm_query_kv(struct coord_sm_reader *r, const char *key, size_t len, json_t **out,
                      uint64_t *last);

/* GET /v1/kv?prefix=P&after=A&limit=N: {"keys":[<key>...], "next": key|null,
 * "index": the last change of any key}, a page in key (byte) order of the
 * keys that start with the LEN bytes of PREFIX and come after the
 * AFTER_LEN bytes of AFTER (0: the first page), as the lock listing. */
int coord_sm_query_kvs(struct coord_sm_reader *r, const char *prefix, size_t len, const char *after,
                       size_t after_len, uint32_t limit, json_t **out);

/* A watch, GET /v1/kv?prefix=P&index=SINCE: {"changes":[{"key","change":
 * "put"|"delete","modify_index"}...]}, every change in the history of a key
 * that starts with PREFIX after entry SINCE, in (index, key) order, and
 * *LAST the index of the newest of them (0: none). The caller first checks
 * SINCE against coord_sm_kv_compacted(): below it, changes may be missing
 * (KV-2). */
int coord_sm_query_kv_changes(struct coord_sm_reader *r, const char *prefix, size_t len,
                              uint64_t since, json_t **out, uint64_t *last);

/* The newest index of a change dropped from the history (0: none), below
 * which a watch cannot start (KV-2). */
int coord_sm_kv_compacted(struct coord_sm_reader *r, uint64_t *out);

/* Access tokens (sm_token.c; auth.h decides with them). */

/* The token whose secret has the SHA-256 HASH, into *OUT (id, name, admin,
 * rules in their order; never the hash): 0, COORD_ENOTFOUND (no such
 * token: unknown or revoked), or COORD_EDB. The node's per-request lookup;
 * *OUT is the caller's (a struct of fixed size, nothing to free). */
int coord_sm_token_by_hash(struct coord_sm_reader *r, const uint8_t hash[COORD_TOKEN_HASH_LEN],
                           struct coord_token *out);

/* GET /v1/tokens?after=ID&limit=N: {"tokens":[{"id","name","admin",
 * "rules":[{"resource","prefix","access"}],"create_ms"}...], "next":
 * id|null} in id order, the tokens whose id is above AFTER (0: the first
 * page), paged like the other listings. Never a hash or a secret. */
int coord_sm_query_tokens(struct coord_sm_reader *r, uint64_t after, uint32_t limit, json_t **out);

/* Whether authentication is on: *ON once a bootstrap TOKEN applied (it
 * never goes off), *SINCE its index (0 while off). Returns 0 or COORD_EDB. */
int coord_sm_auth_enabled(struct coord_sm_reader *r, bool *on, uint64_t *since);

/* The lists that long-polls watch (SM-8). */
enum coord_list {
	COORD_LIST_SESSIONS, /* any session changed (opened, ended, its locks) */
	COORD_LIST_LOCKS,    /* any lock changed */
	COORD_LIST_TOKENS,   /* any access token was created or revoked */
	COORD_LIST_KV,       /* any key was written or deleted */
};

/* The index of the last change of LIST into *OUT (0 if never). Returns 0 or
 * COORD_EDB. */
int coord_sm_list_index(sqlite3 *db, enum coord_list list, uint64_t *out);

/* Sizes of the state, for /metrics. */
struct coord_sm_counts {
	uint64_t sessions; /* live sessions */
	uint64_t locks;    /* locks and elections in use: held, queued or in lock-delay */
	uint64_t holders;  /* holds, shared ones counted each */
	uint64_t waiters;  /* queued requests */
	uint64_t keys;     /* keys of the key/value namespace */
	uint64_t kv_bytes; /* bytes of their values */
};

/* Fills *OUT. Returns 0 or COORD_EDB. */
int coord_sm_counts(sqlite3 *db, struct coord_sm_counts *out);

#endif
