/* The state machine's commands and their binary encoding: versioned,
 * little-endian, every length checked before use (DESIGN.md rule 11).
 *
 * Layout (all integers little-endian):
 *
 *   u8 version (1 or COORD_CMD_VERSION) | u8 type | u64 now_ms
 *   | session id (16 bytes; every type but WAKE)
 *   | body:
 *       OPEN      u32 ttl_ms | u32 lock_delay_ms | u16 len | label | {u64 owner}
 *       CLOSE     [u64 seq] | {u64 actor}
 *       EXPIRE    (empty)
 *       ACQUIRE   u8 kind | u8 mode | u8 flags | u16 len | name | u32 len | value
 *                 | [u64 seq] | {u64 actor}
 *       RELEASE   u8 kind | u16 len | name | [u64 seq] | [u64 token] | {u64 actor}
 *       CANCEL    u8 kind | u16 len | name
 *       PROCLAIM  u16 len | name | u32 len | value | [u64 seq] | {u64 actor}
 *                 (kind is election)
 *       WAKE      (empty)
 *       LIMITS    u32 sessions | u32 objects | u32 waiters        (no session)
 *       RETIRE    u64 member                                      (no session)
 *       TOKEN     u16 len | name | 32-byte hash | u8 flags | u8 n | rules  (no session)
 *       REVOKE_TOKEN  u64 token id                                (no session)
 *       KV_PUT    session | u16 len | key | u32 len | value | {u64 actor} | kv
 *                 (session zero unless the key is ephemeral)
 *       KV_DELETE u16 len | key | kv                               (no session)
 *       KV_TXN    session | {u64 actor} | txn    (session zero unless a put is ephemeral)
 *       ALIVE     u16 n | n x 16-byte session ids                 (no session)
 *
 * Nothing may follow the body. now_ms is the leader's wall-clock stamp: the
 * only time the state machine knows (DESIGN.md, The state machine).
 *
 * Versions. [Bracketed] fields are version 2's: version 1 entries (every
 * entry written before version 2 existed) carry none of them and decode
 * with seq and token 0. An entry is encoded at the lowest version that
 * holds it: version 1 unless its seq or token is set, so a command without
 * them is byte for byte what version 1 wrote, and a node of version 1
 * applies it (a cluster can be upgraded while clients send no seq).
 * Version 3 adds the types TOKEN and REVOKE_TOKEN and their fields (HASH,
 * AUTH, RULES, TOKEN_ID): an entry of those types is always version 3, and
 * every other type is written exactly as before, so versions 1 and 2 keep
 * their bytes. A node of an older version refuses a version 3 entry as
 * invalid, changing nothing: every node must run a binary that knows
 * version 3 before a leader proposes a token (DESIGN.md, Adding an
 * operation). Version 4 adds the {braced} fields, OWNER and ACTOR: the id
 * of the access token a request came with (0: none). An entry carries
 * them only when that id is not 0, so an entry of a cluster without access
 * control keeps its version 1 or 2 bytes; one with it is version 4 (and
 * version 4 also holds seq and token, as version 2 does). Version 5 adds
 * the key/value types KV_PUT and KV_DELETE and their KV field: an entry of
 * those types is always version 5, every other type is written exactly as
 * before.
 *
 * The same layout as fields, each always at its place in this fixed order;
 * a type carries the fields its row in commands.c names (commands.h):
 *
 *   SESSION  16 bytes                     the session id
 *   TTLS     u32 ttl_ms | u32 lock_delay_ms
 *   KIND     u8 kind                      < COORD_KIND_COUNT
 *   ACQ      u8 mode | u8 flags           < COORD_MODE_COUNT, COORD_ACQ_* only
 *   LABEL    u16 len | label              0..COORD_LABEL_MAX bytes, in name
 *   NAME     u16 len | name               1..COORD_NAME_MAX bytes
 *   VALUE    u32 len | value              0..COORD_VALUE_MAX bytes; present
 *                                         per COORD_ACQ_VALUE, else always
 *   LIMITS   u32 sessions | u32 objects | u32 waiters   coord_limits_check()
 *   MEMBER   u64 member                   a server id, 1..COORD_MEMBER_MAX
 *   SEQ      u64 seq                      version 2: 0 (none) or 1..COORD_SEQ_MAX
 *   TOKEN    u64 token                    version 2: 0 (any) or 1..COORD_TOKEN_MAX
 *   HASH     32 bytes                     version 3: SHA-256 of a token's secret
 *   AUTH     u8 flags                     version 3: COORD_AUTH_* only; BOOTSTRAP
 *                                         needs ADMIN
 *   RULES    u8 n | n x (u8 resource | u8 access | u16 len | prefix)
 *                                         version 3: n <= COORD_TOKEN_RULES_MAX,
 *                                         resource < COORD_RESOURCE_COUNT, access
 *                                         < COORD_ACCESS_COUNT, prefix
 *                                         0..COORD_NAME_MAX bytes of text
 *   TOKEN_ID u64 id                       version 3: 1..COORD_TOKEN_MAX
 *   OWNER    u64 token id                 version 4: 0 (none) or 1..COORD_TOKEN_MAX;
 *                                         the token the new session belongs to
 *   ACTOR    u64 token id                 version 4: 0 (none) or 1..COORD_TOKEN_MAX;
 *                                         the request's token, which must be its
 *                                         session's owner (SM-10, sm_apply.c)
 *   KV       u8 flags | u64 cas | u16 len | fence lock | u64 fence token
 *                                         version 5: flags COORD_KV_* only; cas
 *                                         0..COORD_TOKEN_MAX, 0 without CAS; the
 *                                         lock 1..COORD_NAME_MAX bytes and the
 *                                         token 1..COORD_TOKEN_MAX with FENCE, else
 *                                         empty and 0; the SESSION field not zero
 *                                         with EPHEMERAL, else zero
 *   IDS      u16 n | n x 16-byte session ids
 *                                         version 5: 1..COORD_ALIVE_MAX ids, none of
 *                                         them zero
 *   TXN      u8 n | n x (u8 kind | u16 len | name | u64 n | 16-byte session)
 *            | u8 m | m x (u8 kind | u8 flags | u16 len | key | u32 len | value)
 *                                         version 5: n checks <= COORD_TXN_CHECKS_MAX
 *                                         (KEY: name a key, n its modify_index, 0
 *                                         absent; LOCK: name a lock, n a current
 *                                         token 1..COORD_TOKEN_MAX; SESSION: no name,
 *                                         n 0, the session not zero; the session
 *                                         bytes zero but for SESSION), then 1..
 *                                         COORD_TXN_OPS_MAX ops (PUT, flags
 *                                         COORD_KV_EPHEMERAL only; DELETE, no flags
 *                                         and no value) on distinct keys, values
 *                                         COORD_TXN_VALUES_MAX bytes together; the
 *                                         SESSION field not zero exactly when a put
 *                                         is ephemeral
 *
 *   OPEN = SESSION TTLS LABEL OWNER  ACQUIRE  = SESSION KIND ACQ NAME VALUE SEQ ACTOR
 *   CLOSE = SESSION SEQ ACTOR        RELEASE  = SESSION KIND NAME SEQ TOKEN ACTOR
 *   EXPIRE = SESSION                 CANCEL   = SESSION KIND NAME
 *   WAKE = (none)                    PROCLAIM = SESSION NAME VALUE SEQ ACTOR
 *   LIMITS = LIMITS                  RETIRE   = MEMBER
 *   TOKEN = LABEL HASH AUTH RULES    REVOKE_TOKEN = TOKEN_ID
 *   KV_PUT = SESSION NAME VALUE ACTOR KV   KV_DELETE = NAME KV
 *   KV_TXN = SESSION ACTOR TXN           ALIVE = IDS
 *
 * The encoder, the encoded length and the decoder all walk that row, so
 * they cannot disagree; test_command_table.c pins the bytes of each type. */
#ifndef COORD_COMMAND_H
#define COORD_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "limits.h"

#define COORD_CMD_VERSION   5 /* the newest encoding; versions 1 to 4 still decode */
#define COORD_CMD_VERSION_1 1 /* no SEQ, no TOKEN (see Versions above) */
#define COORD_CMD_VERSION_2 2 /* SEQ and TOKEN; no token types */
#define COORD_CMD_VERSION_3 3 /* the token types; no OWNER or ACTOR */
#define COORD_CMD_VERSION_4 4 /* OWNER and ACTOR; no key/value types */

/* Limits of API.md, Conventions and Sessions. */
#define COORD_NAME_MAX          255         /* bytes in a lock or election name */
#define COORD_LABEL_MAX         255         /* bytes in a session's label */
#define COORD_VALUE_MAX         (64 * 1024) /* bytes in a lock or election value */
#define COORD_TTL_MIN_MS        1000u       /* session TTL: 1 s ... */
#define COORD_TTL_MAX_MS        3600000u    /* ... to 1 h */
#define COORD_LOCK_DELAY_MAX_MS 60000u      /* lock-delay: 0 to 60 s */
/* Entry stamps above this are refused, so now_ms + any delay fits SQLite's
 * signed 64-bit INTEGER on every node alike. */
#define COORD_NOW_MAX_MS (UINT64_C(1) << 62)

#define COORD_MEMBER_MAX UINT32_MAX /* server ids: 1..this (coordd --id) */

/* A session's request numbers: 1..this (2^53 - 1, exact in every JSON
 * number reader). 0 means "not numbered" (API.md, Retries). */
#define COORD_SEQ_MAX ((UINT64_C(1) << 53) - 1)
/* Fencing tokens are log indexes, stored as SQLite's signed INTEGER. */
#define COORD_TOKEN_MAX ((uint64_t)INT64_MAX)

#define COORD_SESSION_ID_LEN 16
#define COORD_SESSION_ID_HEX (2 * COORD_SESSION_ID_LEN) /* chars, without NUL */

/* Byte sizes of the encoding, for callers that size buffers. */
#define COORD_CMD_HEADER_LEN (1 + 1 + 8 + COORD_SESSION_ID_LEN)
#define COORD_CMD_MAX_LEN                                                                          \
	(COORD_CMD_HEADER_LEN + 3 + 2 + COORD_NAME_MAX + 4 + COORD_VALUE_MAX + 8 + 8 + 1 + 8 + 2 + \
	 COORD_NAME_MAX + 8 + COORD_CMD_TXN_MAX_LEN)
/* The checks and operations of the longest KV_TXN, beyond its values (which
 * the line above counts once: COORD_TXN_VALUES_MAX is COORD_VALUE_MAX). */
#define COORD_CMD_TXN_MAX_LEN                                                                      \
	(1 + COORD_TXN_CHECKS_MAX * (1 + 2 + COORD_NAME_MAX + 8 + COORD_SESSION_ID_LEN) + 1 +      \
	 COORD_TXN_OPS_MAX * (1 + 1 + 2 + COORD_NAME_MAX + 4))

enum coord_cmd_type {
	COORD_CMD_OPEN = 1,     /* open a session (id drawn by the leader) */
	COORD_CMD_CLOSE,        /* close a session: frees its locks, no lock-delay */
	COORD_CMD_EXPIRE,       /* expire a session (leader's lease keeper, rule 8) */
	COORD_CMD_ACQUIRE,      /* acquire a lock or campaign in an election */
	COORD_CMD_RELEASE,      /* release a lock or resign/withdraw from an election */
	COORD_CMD_CANCEL,       /* withdraw a queued wait whose wait_ms passed */
	COORD_CMD_PROCLAIM,     /* the election leader sets a new value */
	COORD_CMD_WAKE,         /* lock-delays ended: grant their queued waiters */
	COORD_CMD_LIMITS,       /* the leader's limits come into force (limits.h) */
	COORD_CMD_RETIRE,       /* a server leaves the cluster: its id is never used again */
	COORD_CMD_TOKEN,        /* an access token is created (or bootstraps authentication) */
	COORD_CMD_REVOKE_TOKEN, /* an access token is deleted */
	COORD_CMD_KV_PUT,       /* a key is written (created or changed) */
	COORD_CMD_KV_DELETE,    /* a key is deleted */
	COORD_CMD_KV_TXN,       /* checks, then puts and deletes of keys, all or none */
	COORD_CMD_ALIVE,        /* the leader heard these sessions' keepalives (rule 8) */
	COORD_CMD_TYPE_MAX = COORD_CMD_ALIVE
};

/* TYPE's name for logs ("open", "acquire", ...), or "unknown" when TYPE is
 * not 1..COORD_CMD_TYPE_MAX. */
const char *coord_cmd_type_name(int type);

/* Locks and elections live in separate namespaces. A kind on the wire is
 * valid when it is below COORD_KIND_COUNT; what each kind allows is in
 * coord_kind_info(), never in comparisons with one kind or the other. */
enum coord_kind {
	COORD_KIND_LOCK = 0,
	COORD_KIND_ELECTION = 1,
	COORD_KIND_COUNT /* not a kind: the number of them */
};

/* A kind's facts. */
struct coord_kind_info {
	const char *name;      /* "lock", "election": for logs */
	bool shared;           /* COORD_MODE_SHARED is allowed (elections are exclusive) */
	const char *index_key; /* the coord_meta key of the last change of any of this kind */
	bool answers_empty;    /* a GET of one nobody holds or waits for answers 200 (with
	                        * the index at which it was left empty), not 404 */
};

/* The facts of KIND, or NULL when KIND is not below COORD_KIND_COUNT. */
const struct coord_kind_info *coord_kind_info(int kind);

/* Exclusive, or shared where the kind allows it (coord_kind_info()). */
enum coord_mode {
	COORD_MODE_EXCLUSIVE = 0,
	COORD_MODE_SHARED = 1,
	COORD_MODE_COUNT /* not a mode: the number of them */
};

/* ACQUIRE flags on the wire. */
#define COORD_ACQ_QUEUE 0x01u /* join the FIFO queue instead of a try-lock */
#define COORD_ACQ_VALUE 0x02u /* a value is present (else value is null) */

struct coord_session_id {
	uint8_t bytes[COORD_SESSION_ID_LEN];
};

/* KV flags on the wire (the KV field). */
#define COORD_KV_CAS                                                                               \
	0x01u /* the write's condition: the key's modify_index is cas                              \
	       * (0: the key does not exist) */
#define COORD_KV_FENCE                                                                             \
	0x02u                    /* the write's condition: fence_token is a current token          \
	                          * of lock fence_lock */
#define COORD_KV_EPHEMERAL 0x04u /* KV_PUT: the key belongs to the command's session */

/* Limits of the key/value namespace (API.md, Key/value; SM-7). */
#define COORD_KV_KEYS_MAX  100000u               /* keys in the store */
#define COORD_KV_BYTES_MAX (UINT64_C(256) << 20) /* bytes of all values together */
/* Key changes kept for watchers: at least the last COORD_KV_HISTORY_MAX,
 * at most COORD_KV_HISTORY_SLACK more. The history is trimmed back to
 * COORD_KV_HISTORY_MAX once it would pass the sum, so that the rows go in
 * one statement per COORD_KV_HISTORY_SLACK changes rather than one per
 * change. Only the simulator builds the machine with other values (a few
 * dozen), so that a seed's few hundred entries compact the history
 * (tests/sim/CMakeLists.txt); coordd keeps 10000 to 10500. */
#ifndef COORD_KV_HISTORY_MAX
#define COORD_KV_HISTORY_MAX 10000u
#endif
#ifndef COORD_KV_HISTORY_SLACK
#define COORD_KV_HISTORY_SLACK 500u
#endif

/* Sessions one ALIVE entry names: the leader's batch of one loop turn. */
#define COORD_ALIVE_MAX 1024

/* A transaction (KV_TXN): its checks, all of which must hold, then its
 * operations, applied in one entry or not at all (API.md, Key/value). */
#define COORD_TXN_CHECKS_MAX 64              /* checks of one transaction */
#define COORD_TXN_OPS_MAX    64              /* puts and deletes of one transaction */
#define COORD_TXN_VALUES_MAX COORD_VALUE_MAX /* bytes of its values together */

/* Session events kept (API.md, Sessions: events; sm_event.c EV-2, EV-3):
 * the last this many of each session, and the events of the last this many
 * sessions that ended. */
#ifndef COORD_SESSION_EVENTS_MAX
#define COORD_SESSION_EVENTS_MAX 64u
#endif
#ifndef COORD_ENDED_SESSIONS_EVENTS_MAX
#define COORD_ENDED_SESSIONS_EVENTS_MAX 1000u
#endif

enum coord_txn_check_kind {
	COORD_TXN_CHECK_KEY = 0,     /* the key's modify_index is n (0: it does not exist) */
	COORD_TXN_CHECK_LOCK = 1,    /* n is the fencing token of a current holder of the lock */
	COORD_TXN_CHECK_SESSION = 2, /* the session is alive */
	COORD_TXN_CHECK_KIND_COUNT
};

enum coord_txn_op_kind { COORD_TXN_PUT = 0, COORD_TXN_DELETE = 1, COORD_TXN_OP_KIND_COUNT };

/* A check and an operation of a KV_TXN; strings borrowed like name. */
struct coord_txn_check {
	enum coord_txn_check_kind kind;
	const char *name; /* the key or the lock; none for SESSION */
	size_t name_len;
	uint64_t n;
	struct coord_session_id session;
};

struct coord_txn_op {
	enum coord_txn_op_kind kind;
	bool ephemeral; /* a put whose key belongs to the command's session */
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
};

/* Access tokens (issue 17; auth.h decides with them). The
 * state machine keeps only the SHA-256 of a token's secret, computed by the
 * node: nothing here hashes, draws or compares secrets. */
#define COORD_TOKEN_HASH_LEN  32   /* bytes of a SHA-256 */
#define COORD_TOKEN_RULES_MAX 32   /* rules per token */
#define COORD_TOKENS_MAX      1000 /* tokens in the store (a named limit, SM-7) */

/* What a rule grants access to: a namespace of names. A resource on the
 * wire is valid when it is below COORD_RESOURCE_COUNT. */
enum coord_resource {
	COORD_RESOURCE_LOCKS = 0,
	COORD_RESOURCE_ELECTIONS = 1,
	COORD_RESOURCE_SESSIONS = 2,
	COORD_RESOURCE_KV = 3,
	COORD_RESOURCE_COUNT /* not a resource: the number of them */
};

/* Read, or write (which implies read). */
enum coord_access {
	COORD_ACCESS_READ = 0,
	COORD_ACCESS_WRITE = 1,
	COORD_ACCESS_COUNT /* not an access: the number of them */
};

/* TOKEN flags on the wire (the AUTH field). */
#define COORD_AUTH_ADMIN     0x01u /* the token manages tokens, members, snapshots */
#define COORD_AUTH_BOOTSTRAP 0x02u /* the cluster's first token: turns auth on */

/* One rule of a TOKEN command: PREFIX (PREFIX_LEN bytes, not
 * NUL-terminated) is borrowed like the command's name. */
struct coord_rule {
	enum coord_resource resource;
	enum coord_access access;
	const char *prefix;
	size_t prefix_len;
};

/* A decoded (or to-be-encoded) command. Which fields matter depends on type,
 * as in the layout above. name/value are NOT NUL-terminated: after
 * coord_cmd_decode() they point into the decoded buffer and are borrowed for
 * as long as that buffer lives. name is the session's label for OPEN. A type
 * without a kind byte may imply a kind: PROCLAIM's is an election, and its
 * value is always present (has_value). */
struct coord_cmd {
	enum coord_cmd_type type;
	uint64_t now_ms;
	struct coord_session_id session;
	uint32_t ttl_ms;
	uint32_t lock_delay_ms;
	enum coord_kind kind;
	enum coord_mode mode;
	bool queue;
	bool has_value;
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
	struct coord_limits limits;
	uint64_t member; /* RETIRE: the server id */
	/* The session's number for this request (API.md, Retries): 0 when the
	 * client sent none, else 1..COORD_SEQ_MAX; types whose row has SEQ. */
	uint64_t seq;
	/* RELEASE: the grant it releases (its fencing token), 0 for any. */
	uint64_t token;
	/* TOKEN: the SHA-256 of the secret, the flags (name is the token's
	 * name, a label) and N_RULES rules. */
	uint8_t hash[COORD_TOKEN_HASH_LEN];
	bool admin;
	bool bootstrap;
	struct coord_rule rules[COORD_TOKEN_RULES_MAX];
	size_t n_rules;
	/* REVOKE_TOKEN: the token's id (the index of the entry that made it). */
	uint64_t token_id;
	/* KV_PUT, KV_DELETE (name is the key, value a put's value): the
	 * conditions (COORD_KV_CAS with cas, COORD_KV_FENCE with the fence's
	 * lock, borrowed like name, and token) and, for a put, whether the key
	 * is ephemeral (COORD_KV_EPHEMERAL: it belongs to session). */
	unsigned kv_flags;
	uint64_t cas;
	const char *fence_lock;
	size_t fence_lock_len;
	uint64_t fence_token;
	/* KV_TXN: its checks and operations. */
	struct coord_txn_check checks[COORD_TXN_CHECKS_MAX];
	size_t n_checks;
	struct coord_txn_op ops[COORD_TXN_OPS_MAX];
	size_t n_ops;
	/* ALIVE: N_IDS session ids, borrowed (an array, or the decoded
	 * buffer's bytes: a session id is its 16 bytes). */
	const struct coord_session_id *ids;
	size_t n_ids;
	/* The id of the access token the request came with, 0 for none (types
	 * whose row has OWNER or ACTOR; coord_cmd_has_actor()). OPEN: the new
	 * session belongs to it; the others: it must own the session. */
	uint64_t actor;
};

/* Whether commands of TYPE carry the request's token id (OWNER or ACTOR):
 * the node sets coord_cmd.actor only on those. */
bool coord_cmd_has_actor(int type);

/* Checks C against every rule of the encoding, for the fields its type
 * carries: known type, kind and mode (shared only where the kind allows
 * it), the kind its type implies, name 1..COORD_NAME_MAX bytes (label
 * 0..LABEL_MAX), value up to COORD_VALUE_MAX, strings valid UTF-8 without
 * NUL (and not NULL unless empty), TTL and lock-delay in range, now_ms at
 * most COORD_NOW_MAX_MS, seq at most COORD_SEQ_MAX, token and actor at
 * most COORD_TOKEN_MAX; a TOKEN's rules (at most COORD_TOKEN_RULES_MAX, known
 * resource and access, prefix 0..COORD_NAME_MAX bytes of text) and flags
 * (bootstrap only with admin), a REVOKE_TOKEN's id 1..COORD_TOKEN_MAX. A
 * seq, token, flag, rule, id or actor on a type whose row does not carry it is
 * refused (it would be lost in encoding). Returns 0 or COORD_EMALFORMED. */
int coord_cmd_validate(const struct coord_cmd *c);

/* Bytes that encoding C takes. Needs a valid C. */
size_t coord_cmd_encoded_len(const struct coord_cmd *c);

/* Encodes C into BUF (CAP bytes) and stores the length in *LEN. Returns 0,
 * COORD_EMALFORMED if C is not valid, COORD_ETOOSMALL if CAP is short. */
int coord_cmd_encode(const struct coord_cmd *c, void *buf, size_t cap, size_t *len);

/* Like coord_cmd_encode() into a malloc'd buffer: *BUF is the caller's, to
 * free(). Returns 0, COORD_EMALFORMED or COORD_ENOMEM. */
int coord_cmd_encode_alloc(const struct coord_cmd *c, void **buf, size_t *len);

/* Decodes LEN bytes at BUF (version 1 to 4) into *C without trusting any
 * length or count: returns 0 or COORD_EMALFORMED (truncated, trailing bytes,
 * unknown version,
 * type, kind or mode, or anything coord_cmd_validate() refuses). Strings in
 * *C borrow BUF. On failure *C is all zero: no half-decoded command escapes. */
int coord_cmd_decode(const void *buf, size_t len, struct coord_cmd *c);

/* The stamp (now_ms) of the command encoded in BUF, read from its header
 * alone, for the cluster clock (coord/node/node_clock.h): false when the
 * header is not a command's. */
bool coord_cmd_stamp(const void *buf, size_t len, uint64_t *now_ms);

/* Writes ID as COORD_SESSION_ID_HEX lowercase hex digits and a NUL into OUT. */
void coord_session_id_format(const struct coord_session_id *id, char out[COORD_SESSION_ID_HEX + 1]);

/* Parses exactly COORD_SESSION_ID_HEX hex digits (either case) of TEXT (LEN
 * bytes) into *ID. Returns 0 or COORD_EMALFORMED. */
int coord_session_id_parse(const char *text, size_t len, struct coord_session_id *id);

/* True when A and B are the same id. */
bool coord_session_id_equal(const struct coord_session_id *a, const struct coord_session_id *b);

#endif
