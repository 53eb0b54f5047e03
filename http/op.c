/* The table of operations (op.h), indexed by op. A path matches a row only
 * whole (a session id is one segment, a suffix must end the path), so no
 * two rows' paths overlap and the order of the rows does not matter to the
 * router; rows of one resource are listed together for the reader. */
#include "op.h"

#include <assert.h>
#include <stddef.h>

#define S HTTP_PATH_SESSION
#define N HTTP_PATH_NAME
#define E HTTP_PATH_EXACT
#define M HTTP_PATH_MEMBER
#define I HTTP_PATH_ID
/* Resources and access (op.h, Access control). */
#define NO HTTP_RES_NONE
#define LK HTTP_RES_LOCKS
#define EL HTTP_RES_ELECTIONS
#define SS HTTP_RES_SESSIONS
#define KV HTTP_RES_KV
#define O  HTTP_ACCESS_OPEN
#define T  HTTP_ACCESS_TOKEN
#define R  HTTP_ACCESS_READ
#define W  HTTP_ACCESS_WRITE
#define A  HTTP_ACCESS_ADMIN

static const struct http_op_info ops[HTTP_OP_COUNT] = {
    /* Sessions (API.md, Sessions) */
    [HTTP_OP_SESSION_CREATE] = {"session_create", "POST", "/v1/sessions", E, "", HTTP_OPF_WRITE, 0,
                                0, HTTP_F_TTL | HTTP_F_LABEL | HTTP_F_LOCK_DELAY, 0, SS, W},
    [HTTP_OP_SESSION_LIST] = {"session_list", "GET", "/v1/sessions", E, "",
                              HTTP_OPF_READ | HTTP_OPF_LONG_POLL,
                              HTTP_Q_LIMIT | HTTP_Q_AFTER_SESSION, 0, 0, 0, SS, R},
    [HTTP_OP_SESSION_KEEPALIVE] = {"session_keepalive", "POST", "/v1/sessions/", S, "/keepalive",
                                   HTTP_OPF_CONFIRM, 0, 0, HTTP_F_SEQ, 0, SS, W},
    [HTTP_OP_SESSION_GET] = {"session_get", "GET", "/v1/sessions/", S, "",
                             HTTP_OPF_READ | HTTP_OPF_LONG_POLL, 0, 0, 0, 0, SS, R},
    [HTTP_OP_SESSION_EVENTS] = {"session_events", "GET", "/v1/sessions/", S, "/events",
                                HTTP_OPF_READ | HTTP_OPF_LONG_POLL, 0, 0, 0, 0, SS, R},
    [HTTP_OP_SESSION_CLOSE] = {"session_close", "DELETE", "/v1/sessions/", S, "", HTTP_OPF_WRITE, 0,
                               0, HTTP_F_SEQ, 0, SS, W},
    /* Locks (API.md, Locks) */
    [HTTP_OP_LOCK_LIST] = {"lock_list", "GET", "/v1/locks", E, "",
                           HTTP_OPF_READ | HTTP_OPF_LONG_POLL,
                           HTTP_Q_PREFIX | HTTP_Q_LIMIT | HTTP_Q_AFTER_NAME, 0, 0, 0, LK, R},
    [HTTP_OP_LOCK_GET] = {"lock_get", "GET", "/v1/locks/", N, "",
                          HTTP_OPF_READ | HTTP_OPF_LONG_POLL, 0, 0, 0, 0, LK, R},
    [HTTP_OP_LOCK_ACQUIRE] = {"lock_acquire", "PUT", "/v1/locks/", N, "",
                              HTTP_OPF_WRITE | HTTP_OPF_QUEUES | HTTP_OPF_CANCELLABLE, 0, 0,
                              HTTP_F_SESSION | HTTP_F_MODE | HTTP_F_WAIT | HTTP_F_VALUE |
                                  HTTP_F_SEQ,
                              HTTP_F_SESSION, LK, W},
    [HTTP_OP_LOCK_RELEASE] = {"lock_release", "DELETE", "/v1/locks/", N, "", HTTP_OPF_WRITE,
                              HTTP_Q_SESSION | HTTP_Q_TOKEN, 0,
                              HTTP_F_SESSION | HTTP_F_SEQ | HTTP_F_TOKEN, HTTP_F_SESSION, LK, W},
    [HTTP_OP_FENCE] = {"fence", "GET", "/v1/fence", E, "", HTTP_OPF_READ,
                       HTTP_Q_LOCK | HTTP_Q_TOKEN, HTTP_Q_LOCK | HTTP_Q_TOKEN, 0, 0, LK, R},
    /* Elections (API.md, Elections) */
    [HTTP_OP_ELECTION_GET] = {"election_get", "GET", "/v1/elections/", N, "",
                              HTTP_OPF_READ | HTTP_OPF_LONG_POLL, 0, 0, 0, 0, EL, R},
    [HTTP_OP_ELECTION_CAMPAIGN] = {"election_campaign", "PUT", "/v1/elections/", N, "",
                                   HTTP_OPF_WRITE | HTTP_OPF_QUEUES | HTTP_OPF_CANCELLABLE, 0, 0,
                                   HTTP_F_SESSION | HTTP_F_VALUE | HTTP_F_WAIT | HTTP_F_SEQ,
                                   HTTP_F_SESSION, EL, W},
    [HTTP_OP_ELECTION_PROCLAIM] = {"election_proclaim", "PATCH", "/v1/elections/", N, "",
                                   HTTP_OPF_WRITE, 0, 0, HTTP_F_SESSION | HTTP_F_VALUE | HTTP_F_SEQ,
                                   HTTP_F_SESSION | HTTP_F_VALUE, EL, W},
    [HTTP_OP_ELECTION_RESIGN] = {"election_resign", "DELETE", "/v1/elections/", N, "",
                                 HTTP_OPF_WRITE, HTTP_Q_SESSION | HTTP_Q_TOKEN, 0,
                                 HTTP_F_SESSION | HTTP_F_SEQ | HTTP_F_TOKEN, HTTP_F_SESSION, EL, W},
    /* The cluster (API.md, Cluster) */
    [HTTP_OP_STATUS] = {"status", "GET", "/v1/status", E, "", HTTP_OPF_LOCAL, 0, 0, 0, 0, NO, T},
    [HTTP_OP_HEALTH] = {"health", "GET", "/v1/health", E, "", HTTP_OPF_LOCAL, 0, 0, 0, 0, NO, O},
    [HTTP_OP_METRICS] = {"metrics", "GET", "/metrics", E, "", HTTP_OPF_LOCAL, 0, 0, 0, 0, NO, A},
    /* Members and leadership (API.md, Operating a cluster) */
    [HTTP_OP_MEMBER_LIST] = {"member_list", "GET", "/v1/members", E, "", HTTP_OPF_ADMIN, 0, 0, 0, 0,
                             NO, A},
    [HTTP_OP_MEMBER_ADD] = {"member_add", "POST", "/v1/members", E, "", HTTP_OPF_ADMIN, 0, 0,
                            HTTP_F_MEMBER | HTTP_F_RAFT, HTTP_F_MEMBER | HTTP_F_RAFT, NO, A},
    [HTTP_OP_MEMBER_PROMOTE] = {"member_promote", "POST", "/v1/members/", M, "/promote",
                                HTTP_OPF_ADMIN, HTTP_Q_FORCE, 0, 0, 0, NO, A},
    [HTTP_OP_MEMBER_REMOVE] = {"member_remove", "DELETE", "/v1/members/", M, "", HTTP_OPF_ADMIN,
                               HTTP_Q_FORCE, 0, 0, 0, NO, A},
    [HTTP_OP_MEMBER_REPLACE] = {"member_replace", "POST", "/v1/members/replace", E, "",
                                HTTP_OPF_ADMIN, HTTP_Q_FORCE, 0, HTTP_F_REMOVE | HTTP_F_ADD,
                                HTTP_F_REMOVE | HTTP_F_ADD, NO, A},
    [HTTP_OP_LEADER_TRANSFER] = {"leader_transfer", "POST", "/v1/leader/transfer", E, "",
                                 HTTP_OPF_ADMIN, 0, 0, HTTP_F_MEMBER, 0, NO, A},
    [HTTP_OP_SNAPSHOT] = {"snapshot", "GET", "/v1/snapshot", E, "", HTTP_OPF_LOCAL, 0, 0, 0, 0, NO,
                          A},
    /* Access tokens (API.md, Access control) */
    [HTTP_OP_AUTH_BOOTSTRAP] = {"auth_bootstrap", "POST", "/v1/auth/bootstrap", E, "",
                                HTTP_OPF_WRITE, 0, 0, 0, 0, NO, O},
    [HTTP_OP_TOKEN_CREATE] = {"token_create", "POST", "/v1/tokens", E, "", HTTP_OPF_WRITE, 0, 0,
                              HTTP_F_LABEL | HTTP_F_RULES | HTTP_F_ADMIN, 0, NO, A},
    [HTTP_OP_TOKEN_LIST] = {"token_list", "GET", "/v1/tokens", E, "", HTTP_OPF_READ,
                            HTTP_Q_LIMIT | HTTP_Q_AFTER_ID, 0, 0, 0, NO, A},
    [HTTP_OP_TOKEN_REVOKE] = {"token_revoke", "DELETE", "/v1/tokens/", I, "", HTTP_OPF_WRITE, 0, 0,
                              0, 0, NO, A},
    /* The status page (API.md, GET /ui): HTML embedded in coordd, holding no
     * data; the calls it makes need their own token. */
    [HTTP_OP_UI] = {"ui", "GET", "/ui", E, "", HTTP_OPF_LOCAL, 0, 0, 0, 0, NO, O},
    /* Keys (API.md, Key/value) */
    [HTTP_OP_KV_LIST] = {"kv_list", "GET", "/v1/kv", E, "",
                         HTTP_OPF_READ | HTTP_OPF_LONG_POLL | HTTP_OPF_WATCH,
                         HTTP_Q_PREFIX | HTTP_Q_LIMIT | HTTP_Q_AFTER_NAME, 0, 0, 0, KV, R},
    [HTTP_OP_KV_GET] = {"kv_get", "GET", "/v1/kv/", N, "", HTTP_OPF_READ | HTTP_OPF_LONG_POLL, 0, 0,
                        0, 0, KV, R},
    [HTTP_OP_KV_PUT] = {"kv_put", "PUT", "/v1/kv/", N, "", HTTP_OPF_WRITE, 0, 0,
                        HTTP_F_VALUE | HTTP_F_CAS | HTTP_F_SESSION | HTTP_F_FENCE, HTTP_F_VALUE, KV,
                        W},
    [HTTP_OP_KV_DELETE] = {"kv_delete", "DELETE", "/v1/kv/", N, "", HTTP_OPF_WRITE, HTTP_Q_CAS, 0,
                           HTTP_F_CAS | HTTP_F_FENCE, 0, KV, W},
    [HTTP_OP_KV_TXN] = {"kv_txn", "POST", "/v1/txn", E, "", HTTP_OPF_WRITE, 0, 0,
                        HTTP_F_CHECKS | HTTP_F_OPS, HTTP_F_OPS, KV, W},
};

#undef S
#undef N
#undef E
#undef M
#undef I
#undef NO
#undef LK
#undef EL
#undef SS
#undef KV
#undef O
#undef T
#undef R
#undef W
#undef A

const struct http_op_info *http_op_info(enum http_op op)
{
	assert(op > 0 && op < HTTP_OP_COUNT && ops[op].name != NULL);
	return &ops[op];
}

bool http_op_is(enum http_op op, unsigned flags)
{
	return op > 0 && op < HTTP_OP_COUNT && (ops[op].flags & flags) == flags;
}

const char *http_op_name(enum http_op op)
{
	return op > 0 && op < HTTP_OP_COUNT ? ops[op].name : "unknown";
}
