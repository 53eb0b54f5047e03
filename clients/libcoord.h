/* libcoord: a small C client of coord's HTTP API (docs/API.md).
 *
 * What it promises:
 * - A client is given a list of endpoints (base URLs). It finds the leader
 *   through /v1/status (the leader's HTTP address) and sends requests there;
 *   when the leader named in X-Coord-Leader changes, or an endpoint cannot be
 *   reached, it looks again. Followers forward to the leader anyway, so
 *   discovery only saves a hop. A 307 is followed only when asked
 *   (coordc_config.follow_redirects).
 * - A request that got 503, or could not be sent, is retried with exponential
 *   backoff and jitter, within a bounded number of attempts and a bounded total
 *   time. A request whose answer was lost after it may have been sent (504, or
 *   a transport time-out after connecting) is retried only when the caller
 *   says it is idempotent.
 * - Every request of a session (acquire, release, campaign, resign, close)
 *   carries a number, "seq" (API.md, Retries), taken from the client's
 *   counter (coordc_next_seq): a resend after a lost answer carries the
 *   same number, so the request applies at most once and the resend gets
 *   its first answer; and no request of the session sent earlier can apply
 *   after one sent later. A first attempt answered stale_request (the
 *   session applied a higher number, sent by another client) changed
 *   nothing and is sent once more above that number; stale_request after
 *   an attempt whose answer was lost is reported unknown.
 * - Every call reports one of three outcomes (DESIGN.md, safety rule 12):
 *   ok; a definite error (the API's error code and HTTP status: the request
 *   did not take effect, or was refused); or unknown (it may have taken
 *   effect).
 * - A keeper (coordc_keeper_*) keeps a session alive from a background thread
 *   and tracks the client's own lease: the time the last successful keepalive
 *   was SENT + TTL (API.md, Sessions). It reports when the lease is about to
 *   run out, a margin before that deadline, so a caller can stop the work the
 *   lease protects before the server could give the lock to a successor.
 *
 * Threads: a struct coordc (one libcurl easy handle) is used by one thread at
 * a time. The keeper has its own. Times are CLOCK_MONOTONIC milliseconds
 * (coordc_now_ms). */
#ifndef COORD_CLIENTS_LIBCOORD_H
#define COORD_CLIENTS_LIBCOORD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

/* Limits. */
#define COORDC_ENDPOINTS_MAX       16           /* endpoints in one client */
#define COORDC_URL_MAX             512          /* bytes in one endpoint URL or request URL */
#define COORDC_ERROR_MAX           32           /* bytes in an API error code */
#define COORDC_MESSAGE_MAX         256          /* bytes in an error message */
#define COORDC_SESSION_MAX         64           /* bytes in a session id */
#define COORDC_BODY_MAX            (4u << 20)   /* bytes of a response body kept */
#define COORDC_ATTEMPTS_MAX        64           /* ceiling of coordc_config.max_attempts */
#define COORDC_LIST_KEY_MAX        255          /* bytes of a listing's key (a lock name) */
#define COORDC_MEMBERS_MAX         16           /* members in one configuration answer */
#define COORDC_ADDR_MAX            128          /* bytes of a member's "host:port", with NUL */
#define COORDC_PATH_MAX            1024         /* bytes of a TLS file's path, with NUL */
#define COORDC_TOKEN_MAX           129          /* bytes of a bearer secret, with NUL */
#define COORDC_DOWNLOAD_MAX        (1ull << 34) /* bytes of a streamed answer (a snapshot) */
#define COORDC_CHANGE_TIMEOUT_MS   15000u       /* one attempt of a membership change or transfer */
#define COORDC_DOWNLOAD_TIMEOUT_MS (60u * 60 * 1000)         /* one attempt of a download */
#define COORDC_SEQ_MAX             ((UINT64_C(1) << 53) - 1) /* a request's number (API.md) */
#define COORDC_WAIT_MAX_MS         (10u * 60 * 1000) /* a long-poll's wait (API.md, Limits) */
#define COORDC_KV_WAIT_DEFAULT_MS  (5u * 60 * 1000)  /* a watch's wait when none is given */

/* Errors of the library itself (not of the API: those are outcomes). */
enum coordc_err {
	COORDC_OK = 0,
	COORDC_ERR_NOMEM,   /* out of memory */
	COORDC_ERR_INVALID, /* a bad argument: endpoint list, URL too long */
	COORDC_ERR_CURL,    /* libcurl could not be initialised */
	COORDC_ERR_THREAD,  /* the keeper thread could not be started */
	COORDC_ERR_EXISTS,  /* the file to write exists (and may not be replaced) */
	COORDC_ERR_IO,      /* a local file could not be created, written, synced or renamed */
	COORDC_ERR_COUNT
};

/* A static sentence for ERR. */
const char *coordc_strerror(int err);

/* The three outcomes of a request. */
enum coordc_kind {
	COORDC_DONE_OK = 0, /* 2xx: it took effect (or the read answered) */
	COORDC_DONE_ERROR,  /* refused, or definitely not executed */
	COORDC_DONE_UNKNOWN /* may or may not have taken effect */
};

/* The answer to one call. ERROR is the API's code ("lock_held"), or
 * "unreachable" when no endpoint could be reached, or "timeout" for a lost
 * answer; "" when ok. BODY is the parsed answer (NULL if none or not JSON),
 * owned by the reply: release it with coordc_reply_clear(). */
struct coordc_reply {
	enum coordc_kind kind;
	long status; /* HTTP status, 0 when no answer came */
	char error[COORDC_ERROR_MAX];
	char message[COORDC_MESSAGE_MAX];
	json_t *body;
	uint64_t index;          /* X-Coord-Index of the answer */
	uint64_t retry_after_ms; /* from retry_after_ms or Retry-After, else 0 */
	unsigned attempts;       /* requests sent for this call */
};

/* Releases REPLY's body and zeroes it. Safe on a zeroed reply. */
void coordc_reply_clear(struct coordc_reply *reply);

/* How a client behaves. Zeroed fields take the defaults shown. */
struct coordc_config {
	const char *endpoints;       /* "http://h:p,https://h2:p" (required) */
	uint32_t request_timeout_ms; /* one attempt, default 5000 */
	uint32_t max_attempts;       /* per call, default 8, <= COORDC_ATTEMPTS_MAX */
	uint32_t retry_budget_ms;    /* total time of one call's retries, default 15000 */
	uint32_t backoff_base_ms;    /* first retry delay, default 50 */
	uint32_t backoff_cap_ms;     /* largest retry delay, default 2000 */
	bool follow_redirects;       /* follow a 307 to the leader (default no) */
	uint64_t seed;               /* jitter seed; 0 picks one from the clock */
	/* TLS, for https:// endpoints (paths copied; NULL or "": not given). */
	const char *cacert; /* PEM file of the CAs to trust instead of the system's */
	const char *cert;   /* PEM client certificate (with key; both or neither) */
	const char *key;    /* its PEM private key */
	/* Access control (API.md): the bearer secret, sent as "Authorization:
	 * Bearer TOKEN" on every request of the client, its keeper's and its
	 * discovery probes (copied; NULL or "": none). libcoord never logs it
	 * and never puts it in a reply. */
	const char *token;
};

/* Whether SECRET can be sent as a bearer token: 1 to COORDC_TOKEN_MAX - 1
 * bytes of the token68 alphabet (A-Z a-z 0-9 - . _ ~ + /, then '='
 * padding), so it can never break the header it travels in. */
bool coordc_token_valid(const char *secret);

struct coordc;

/* Opens a client on CFG's endpoints (copied). Returns 0 and *OUT (free with
 * coordc_close), COORDC_ERR_INVALID for an empty or over-long list or URL,
 * a TLS path over COORDC_PATH_MAX, a cert without a key (or the reverse),
 * or a token that is not coordc_token_valid, or COORDC_ERR_NOMEM /
 * COORDC_ERR_CURL. With follow_redirects, the token goes along with a 307
 * to another node, over the scheme of the endpoint that redirected. The TLS files are read by
 * libcurl at each new connection: a bad file fails the call, not the open. A leader found through
 * /v1/status is called with the scheme of the endpoint that named it. */
int coordc_open(const struct coordc_config *cfg, struct coordc **out);
void coordc_close(struct coordc *c);

/* Flags of coordc_call. */
#define COORDC_IDEMPOTENT 1u /* safe to resend after an unknown outcome */
#define COORDC_NO_RETRY   2u /* one attempt only (the keeper schedules its own) */

/* Sends METHOD PATH (starting "/v1/...", query allowed) with BODY (borrowed,
 * may be NULL) and fills *REPLY (zeroed first; the caller releases it with
 * coordc_reply_clear). TIMEOUT_MS bounds one attempt (0: the config's);
 * long-polls pass their wait plus a slack. Returns 0 with the outcome in
 * REPLY, or COORDC_ERR_INVALID (path too long) / COORDC_ERR_NOMEM when the
 * request could not be formed, in which case nothing was sent. */
int coordc_call(struct coordc *c, const char *method, const char *path, const json_t *body,
                unsigned flags, uint32_t timeout_ms, struct coordc_reply *reply);

/* Makes calls of C give up as soon as *FLAG is nonzero (checked by libcurl
 * while it waits, and between retries), for instance when a signal handler
 * sets it. The reply is then an error "aborted" if nothing was sent, else
 * unknown. FLAG is borrowed for the client's life; NULL turns this off. */
void coordc_set_abort(struct coordc *c, volatile sig_atomic_t *flag);

/* Like coordc_call for a GET of PATH whose 2xx answer is a stream of bytes
 * (not JSON, up to COORDC_DOWNLOAD_MAX): its body is written to FD (a
 * regular file opened for writing, borrowed) instead of REPLY->body; an
 * answer that is not 2xx fills REPLY as coordc_call does and writes nothing.
 * Each attempt starts FD over (truncated, offset 0), so after a retry FD
 * holds one whole answer. TIMEOUT_MS bounds one attempt's whole transfer;
 * an attempt during which nothing arrives for the config's request time-out
 * is given up as well. On ok *BYTES (may be NULL) is the body's length. A
 * write to FD that fails ends the call with a definite error "write_failed"
 * (the message says why). Returns 0, or COORDC_ERR_INVALID (path too long). */
int coordc_download(struct coordc *c, const char *path, int fd, uint32_t timeout_ms,
                    uint64_t *bytes, struct coordc_reply *reply);

/* The base URL the next request goes to (borrowed until the next call). */
const char *coordc_target(const struct coordc *c);

/* Current CLOCK_MONOTONIC time in milliseconds. */
uint64_t coordc_now_ms(void);

/* Takes the number of C's next request of a session: above every number C
 * took before and above ABOVE (0: none), and at least the wall clock in
 * microseconds, so that clients using one session one after another (a
 * script's commands) number upwards too (coordc_seq_after). */
uint64_t coordc_next_seq(struct coordc *c, uint64_t above);

/* ---- Sessions and locks: thin wrappers of coordc_call ---------------------- */

/* POST /v1/sessions. On ok copies the id into ID (COORDC_SESSION_MAX bytes)
 * and stores in *SENT_MS the time the request was sent, where the client's
 * lease starts. Not idempotent: an unknown outcome is reported, not resent. */
int coordc_session_create(struct coordc *c, uint32_t ttl_ms, const char *label, char *id,
                          uint64_t *sent_ms, struct coordc_reply *reply);
/* DELETE /v1/sessions/{id} (numbered: exactly once). */
int coordc_session_close(struct coordc *c, const char *id, struct coordc_reply *reply);

/* PUT /v1/locks/{name} (numbered: exactly once). On ok *TOKEN is the
 * fencing token. VALUE may be NULL. */
int coordc_lock_acquire(struct coordc *c, const char *name, const char *session, bool shared,
                        uint64_t wait_ms, const char *value, uint64_t *token,
                        struct coordc_reply *reply);
/* DELETE /v1/locks/{name} (numbered: exactly once, and never after a
 * later request of the session). */
int coordc_lock_release(struct coordc *c, const char *name, const char *session,
                        struct coordc_reply *reply);

/* PUT /v1/elections/{name}: campaign until leader or WAIT_MS (numbered). On
 * ok *TOKEN is the leader's fencing token. */
int coordc_campaign(struct coordc *c, const char *name, const char *session, const char *value,
                    uint64_t wait_ms, uint64_t *token, struct coordc_reply *reply);
/* DELETE /v1/elections/{name}: resign or withdraw (numbered). */
int coordc_resign(struct coordc *c, const char *name, const char *session,
                  struct coordc_reply *reply);

/* ---- Listings: every page of a paged GET ----------------------------------- */

/* GETs the listing PATH ("/v1/locks?prefix=jobs/", "/v1/sessions",
 * "/v1/tokens") page by page (API.md, Sessions and Locks): with
 * ?limit=LIMIT (0: the server's default), then ?after= each page's "next"
 * (a key, or a token's id: a number from 1), until a page's "next" is null
 * or absent (a server that does not page answers all at once). Each page is
 * a read of its own, so an item that changes between pages is as its page
 * saw it. On ok *ITEMS is a new array of the KEY items ("locks",
 * "sessions") of every page in order (the caller drops it with json_decref)
 * and REPLY is the last page's answer. Otherwise *ITEMS is NULL and REPLY
 * says why: a page's own error, or a definite error "bad_listing" when an
 * answer has no KEY array, its "next" is not a key past the one before, or
 * the listing has not ended after PAGES_MAX pages (so a call always ends).
 * Returns 0, or COORDC_ERR_INVALID (PAGES_MAX 0, a URL too long) /
 * COORDC_ERR_NOMEM when a request could not be formed. */
int coordc_list(struct coordc *c, const char *path, const char *key, uint32_t limit,
                uint32_t pages_max, json_t **items, struct coordc_reply *reply);

/* ---- Key/value (docs/API.md, Key/value) ----------------------------------
 *
 * A key or prefix travels in the URL as it is, so one with a byte outside
 * the names' alphabet (A-Z a-z 0-9 . _ - : /) is refused as
 * COORDC_ERR_INVALID before anything is sent; the server judges the rest
 * (400 invalid_argument: length, a leading '/', "//"). Keys take no "seq"
 * (API.md, Retries), so a put or delete whose answer was lost is an unknown
 * outcome and is never resent: a late resend could undo a newer write of
 * another client, or fail its own cas. Reads are resent freely. */

/* Conditions of a put or delete, all checked when the write applies; a
 * write whose condition fails changes nothing. Zeroed: none. */
struct coordc_kv_cond {
	bool has_cas;           /* write only if the key's modify_index is CAS */
	uint64_t cas;           /* 0: only if the key does not exist (which
	                         * leaves a delete nothing to delete); 409
	                         * cas_failed otherwise */
	const char *fence_lock; /* NULL: no fence; else only if FENCE_TOKEN is the
	                         * fencing token of a current holder of this lock
	                         * (409 stale_token otherwise) */
	uint64_t fence_token;   /* 1 to 2^63 - 1 */
};

/* GET /v1/kv/{key}, linearizable, or ?consistency=stale when STALE (any
 * node answers from its own state). On ok *VALUE (may be NULL) is the
 * key's value, borrowed from REPLY->body (the whole key: create_index,
 * modify_index, session) until coordc_reply_clear. A key that does not
 * exist is a definite error "not_found" (404), its "index" in the body.
 * An ok answer without a string value is a definite error "bad_answer". */
int coordc_kv_get(struct coordc *c, const char *key, bool stale, const char **value,
                  struct coordc_reply *reply);

/* PUT /v1/kv/{key} {"value", "session", "cas", "fence"}: writes VALUE
 * (UTF-8 text). SESSION (may be NULL) makes the key ephemeral: deleted
 * when that session ends. COND (may be NULL) as above. On ok
 * *MODIFY_INDEX (may be NULL) is the key's new modify_index. Errors:
 * cas_failed (the body's modify_index is the key's, 0 when absent),
 * stale_token, session_not_found, too_many. Not resent after a lost
 * answer. Returns COORDC_ERR_INVALID (nothing sent) for a key outside the
 * alphabet, a NULL VALUE, a VALUE or SESSION not UTF-8, a cas over
 * 2^63 - 1, a fence lock outside the alphabet or a fence token of 0 or
 * over 2^63 - 1. */
int coordc_kv_put(struct coordc *c, const char *key, const char *value, const char *session,
                  const struct coordc_kv_cond *cond, uint64_t *modify_index,
                  struct coordc_reply *reply);

/* DELETE /v1/kv/{key} {"cas", "fence"}. On ok *DELETED (may be NULL) says
 * whether a key was deleted (false: there was none). COND (may be NULL)
 * as above; errors and COORDC_ERR_INVALID as for coordc_kv_put. Not resent
 * after a lost answer. */
int coordc_kv_delete(struct coordc *c, const char *key, const struct coordc_kv_cond *cond,
                     bool *deleted, struct coordc_reply *reply);

/* GET /v1/kv?prefix=PREFIX ("" for every key), every page as coordc_list
 * reads them (LIMIT keys a page, 0: the server's default; at most
 * PAGES_MAX pages). On ok *KEYS is a new array of the keys (objects: key,
 * value, create_index, modify_index, session) in key order (the caller
 * drops it with json_decref) and *INDEX (may be NULL) the first page's
 * "index": a watch from it (coordc_kv_watch) sees every change made after
 * the listing began, some of which the later pages may already show.
 * Otherwise *KEYS is NULL and REPLY says why, as for coordc_list. */
int coordc_kv_list(struct coordc *c, const char *prefix, uint32_t limit, uint32_t pages_max,
                   json_t **keys, uint64_t *index, struct coordc_reply *reply);

/* One long-poll of a watch: GET /v1/kv?prefix=PREFIX&index=INDEX&wait=WAIT_MS
 * (0: COORDC_KV_WAIT_DEFAULT_MS; at most COORDC_WAIT_MAX_MS). It answers
 * with the changes of keys under PREFIX after entry INDEX as soon as there
 * is one, or after the wait with none. On ok *CHANGES is the array of
 * changes ({"key", "change": "put"|"delete", "modify_index"}, in log order,
 * possibly empty), borrowed from REPLY->body until coordc_reply_clear, and
 * *NEXT the index to pass to the next poll: passing it each time sees
 * every change exactly once. When INDEX is older than the changes the
 * cluster keeps, the reply is a definite error "compacted" (status 410)
 * and *NEXT is the index its answer names for a resync (0 if none): list
 * the prefix again (coordc_kv_list) and watch from there. An answer of
 * another shape (no array, no index, a change not after INDEX or after
 * *NEXT) is a definite error "bad_answer". Returns COORDC_ERR_INVALID for a
 * prefix outside the alphabet or a wait over COORDC_WAIT_MAX_MS. */
int coordc_kv_watch(struct coordc *c, const char *prefix, uint64_t index, uint64_t wait_ms,
                    const json_t **changes, uint64_t *next, struct coordc_reply *reply);

/* ---- Cluster membership (docs/API.md, Cluster and operations) -------------
 *
 * Changes of the configuration are not idempotent: an unknown outcome is
 * reported, not resent (read the members to learn what happened). An answer
 * of the wrong shape is a definite error "bad_answer" on a read and an
 * unknown outcome on a change. */

/* One member, as GET /v1/members describes it. */
struct coordc_member {
	uint64_t id;
	char raft[COORDC_ADDR_MAX];
	char http[COORDC_ADDR_MAX]; /* "" when not known */
	bool voter;                 /* else a learner */
	uint64_t match_index;       /* 0 when not known (null: not the leader's answer) */
	int64_t last_contact_ms;    /* -1 when null (the leader itself, or never heard) */
};

/* A configuration. Fields an answer does not carry (replace answers only
 * the members) are zero. */
struct coordc_members {
	struct coordc_member member[COORDC_MEMBERS_MAX];
	unsigned n;
	uint64_t leader; /* its id, 0 when none */
	uint64_t config_index;
	bool joint; /* a change is in progress */
};

/* The member ID of M, or NULL. */
const struct coordc_member *coordc_members_find(const struct coordc_members *m, uint64_t id);

/* GET /v1/members (idempotent). On ok fills *OUT; REPLY->body keeps the
 * answer as sent. */
int coordc_members_get(struct coordc *c, struct coordc_members *out, struct coordc_reply *reply);

/* POST /v1/members {"id":ID, "raft":RAFT}: adds a learner. On ok fills *OUT
 * (may be NULL) with the new member. Errors: 409 "conflict" (the id or
 * address is taken), 409 "change_in_progress". Returns COORDC_ERR_INVALID
 * for ID 0 or an empty RAFT (nothing sent). */
int coordc_member_add(struct coordc *c, uint64_t id, const char *raft, struct coordc_member *out,
                      struct coordc_reply *reply);

/* POST /v1/members/{id}/promote: makes the learner a voter. On ok fills *OUT
 * (may be NULL). On 409 "not_caught_up" *LAG (may be NULL) is the entries
 * it is behind, else 0. */
int coordc_member_promote(struct coordc *c, uint64_t id, struct coordc_member *out, uint64_t *lag,
                          struct coordc_reply *reply);

/* DELETE /v1/members/{id}. On ok the answer named ID as removed. */
int coordc_member_remove(struct coordc *c, uint64_t id, struct coordc_reply *reply);

/* POST /v1/members/replace {"remove":OLD, "add":{"id":NEW, "raft":RAFT}}.
 * On ok fills *OUT (may be NULL) with the members after the change (only
 * member[] and n). Returns COORDC_ERR_INVALID for a zero id, OLD == NEW or
 * an empty RAFT. */
int coordc_member_replace(struct coordc *c, uint64_t old_id, uint64_t new_id, const char *raft,
                          struct coordc_members *out, struct coordc_reply *reply);

/* POST /v1/leader/transfer {"id":ID} ({} for ID 0: the server picks). On ok
 * *LEADER is the new leader's id. 504 "timeout" (unknown) when no transfer
 * completed in time: it may still. */
int coordc_leader_transfer(struct coordc *c, uint64_t id, uint64_t *leader,
                           struct coordc_reply *reply);

/* ---- Snapshots -------------------------------------------------------------- */

/* Checks a downloaded snapshot at TMP_PATH (a complete, synced file) before
 * it takes its final name. INDEX is the X-Coord-Index of the answer. Returns
 * true to keep it, else false with a sentence in MSG. */
typedef bool (*coordc_snapshot_check_fn)(void *arg, const char *tmp_path, uint64_t index,
                                         char msg[COORDC_MESSAGE_MAX]);

struct coordc_snapshot_opts {
	bool overwrite;                 /* replace an existing PATH */
	coordc_snapshot_check_fn check; /* may be NULL */
	void *check_arg;
};

/* GET /v1/snapshot into the file PATH: streamed to a new temporary file
 * beside PATH, fsynced, checked (OPTS->check), renamed to PATH (refusing to
 * replace an existing file unless OPTS->overwrite, even one that appears
 * meanwhile) and the folder fsynced. On ok *INDEX is the snapshot's index
 * (X-Coord-Index) and *SIZE its bytes. Otherwise nothing is left behind and
 * PATH is untouched: REPLY says why (the API's error; "bad_snapshot" when
 * the answer has no index or the check refused it; "write_failed"). Returns
 * 0, COORDC_ERR_EXISTS (PATH exists; nothing sent), COORDC_ERR_IO (with
 * REPLY->message naming the file and the system's error; when only the
 * folder's fsync after the rename failed, PATH holds the whole file, not
 * known durable) or COORDC_ERR_INVALID. OPTS may be NULL. */
int coordc_snapshot_save(struct coordc *c, const char *path,
                         const struct coordc_snapshot_opts *opts, uint64_t *index, uint64_t *size,
                         struct coordc_reply *reply);

/* ---- The keeper ------------------------------------------------------------ */

enum coordc_lease_state {
	COORDC_LEASE_LIVE = 0, /* deadline - margin not reached */
	COORDC_LEASE_EXPIRING, /* within the margin: stop the protected work now */
	COORDC_LEASE_LOST      /* deadline passed, or the server ended the session */
};

/* Called from the keeper thread on each change of state it sees (never twice
 * with the same state; LIVE may go straight to LOST on a 404); must not
 * block. A keepalive never waits past the next change, so reports come on
 * time; coordc_keeper_state reads the clock and is exact at any moment. */
typedef void (*coordc_lease_fn)(void *arg, enum coordc_lease_state state);

struct coordc_keeper;

/* Starts keeping SESSION (copied) alive with keepalives every TTL_MS/3, on a
 * new client built from CFG. CREATED_SENT_MS is when the session's creation
 * was sent (the lease's start). MARGIN_MS (< TTL_MS) is how long before the
 * deadline EXPIRING is reported. FN (may be NULL) gets each change. Returns 0
 * and *OUT, or a coordc_err. Stop with coordc_keeper_stop. */
int coordc_keeper_start(const struct coordc_config *cfg, const char *session, uint32_t ttl_ms,
                        uint64_t created_sent_ms, uint32_t margin_ms, coordc_lease_fn fn, void *arg,
                        struct coordc_keeper **out);

/* The state now; *DEADLINE_MS (may be NULL) gets the client's lease deadline
 * (send time of the last successful keepalive + TTL). Thread-safe. */
enum coordc_lease_state coordc_keeper_state(struct coordc_keeper *k, uint64_t *deadline_ms);

/* Stops the thread (waits at most one keepalive's time-out) and frees K. */
void coordc_keeper_stop(struct coordc_keeper *k);

#endif
