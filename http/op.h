/* op.h: the table of the API's operations, one row per operation, and the
 * only place its facts live: the method and path that name it, what kind of
 * work it is (flags), which query parameters and body fields it takes and
 * which it needs. Request decoding (request.c), the node's dispatch,
 * forwarding and answers (coord/node/) all ask this table; none keeps a list
 * of operations of its own.
 *
 * Adding an operation: a value in enum http_op, its row in op.c, its
 * handler entry in the resource's file in coord/node/ (api_*.c), and, for a
 * write, its command and apply function in coord/sm/ (docs/DESIGN.md,
 * Adding an operation). */
#ifndef COORD_HTTP_OP_H
#define COORD_HTTP_OP_H

#include <stdbool.h>

enum http_op {
	HTTP_OP_SESSION_CREATE = 1,
	HTTP_OP_SESSION_LIST,
	HTTP_OP_SESSION_GET,
	HTTP_OP_SESSION_CLOSE,
	HTTP_OP_SESSION_KEEPALIVE,
	HTTP_OP_LOCK_LIST,
	HTTP_OP_LOCK_GET,
	HTTP_OP_LOCK_ACQUIRE,
	HTTP_OP_LOCK_RELEASE,
	HTTP_OP_FENCE,
	HTTP_OP_ELECTION_GET,
	HTTP_OP_ELECTION_CAMPAIGN,
	HTTP_OP_ELECTION_PROCLAIM,
	HTTP_OP_ELECTION_RESIGN,
	HTTP_OP_STATUS,
	HTTP_OP_HEALTH,
	HTTP_OP_METRICS,
	HTTP_OP_MEMBER_LIST,
	HTTP_OP_MEMBER_ADD,
	HTTP_OP_MEMBER_PROMOTE,
	HTTP_OP_MEMBER_REMOVE,
	HTTP_OP_MEMBER_REPLACE,
	HTTP_OP_LEADER_TRANSFER,
	HTTP_OP_SNAPSHOT,
	HTTP_OP_AUTH_BOOTSTRAP,
	HTTP_OP_TOKEN_CREATE,
	HTTP_OP_TOKEN_LIST,
	HTTP_OP_TOKEN_REVOKE,
	HTTP_OP_UI,
	HTTP_OP_KV_LIST,
	HTTP_OP_KV_GET,
	HTTP_OP_KV_PUT,
	HTTP_OP_KV_DELETE,
	HTTP_OP_KV_TXN,
	HTTP_OP_SESSION_EVENTS,
	HTTP_OP_COUNT
};

/* What kind of work an operation is. Exactly one of WRITE, READ, CONFIRM,
 * LOCAL and ADMIN is set on every row; the others qualify it. */
enum http_op_flag {
	HTTP_OPF_WRITE = 1u << 0,       /* changes state: the leader proposes it (N-3, rule 12) */
	HTTP_OPF_READ = 1u << 1,        /* reads the state: after a ReadIndex round (rule 5), or
	                                 * at once from any node with ?consistency=stale */
	HTTP_OPF_CONFIRM = 1u << 2,     /* leader-only, no log entry: answered after a ReadIndex
	                                 * round (a keepalive, rule 8) */
	HTTP_OPF_LOCAL = 1u << 3,       /* answered by the node that receives it, from its view */
	HTTP_OPF_LONG_POLL = 1u << 4,   /* takes ?index=N&wait=D and waits for a change */
	HTTP_OPF_QUEUES = 1u << 5,      /* with wait_ms > 0 it may wait in the FIFO queue */
	HTTP_OPF_CANCELLABLE = 1u << 6, /* its queued wait is withdrawn through the log when
	                                 * wait_ms passes or the client hangs up */
	HTTP_OPF_ADMIN = 1u << 7,       /* the cluster itself (members, leadership): run by the
	                                 * leader's core, answered when the change is done */
	HTTP_OPF_WATCH = 1u << 8,       /* a listing whose long-poll (?index=) answers the changes
	                                 * since the index, not a page: then no limit or after */
};

/* Body fields (JSON keys), as bits. */
enum http_field {
	HTTP_F_SESSION = 1u << 0,    /* "session": a session id */
	HTTP_F_TTL = 1u << 1,        /* "ttl_ms" */
	HTTP_F_LABEL = 1u << 2,      /* "name": a session's label */
	HTTP_F_LOCK_DELAY = 1u << 3, /* "lock_delay_ms" */
	HTTP_F_MODE = 1u << 4,       /* "mode": exclusive or shared */
	HTTP_F_WAIT = 1u << 5,       /* "wait_ms": time to wait in the queue */
	HTTP_F_VALUE = 1u << 6,      /* "value" */
	HTTP_F_MEMBER = 1u << 7,     /* "id": a server id, 1..HTTP_MEMBER_ID_MAX */
	HTTP_F_RAFT = 1u << 8,       /* "raft": a server's Raft address, HOST:PORT */
	HTTP_F_REMOVE = 1u << 9,     /* "remove": the id of the member a replace removes */
	HTTP_F_ADD = 1u << 10,       /* "add": {"id", "raft"}, the member a replace adds */
	HTTP_F_SEQ = 1u << 11,       /* "seq": the session's number for this request,
	                              * 1..HTTP_SEQ_MAX (or the X-Coord-Seq header) */
	HTTP_F_TOKEN = 1u << 12,     /* "fencing_token": the grant a release releases */
	HTTP_F_RULES = 1u << 13,     /* "rules": an access token's rules (request.h) */
	HTTP_F_ADMIN = 1u << 14,     /* "admin": true for an admin access token */
	HTTP_F_CAS = 1u << 15,       /* "cas": a key's expected modify_index, 0: absent */
	HTTP_F_FENCE = 1u << 16,     /* "fence": {"lock": NAME, "token": N}, a write's guard */
	HTTP_F_CHECKS = 1u << 17,    /* "checks": a transaction's conditions (request.h) */
	HTTP_F_OPS = 1u << 18,       /* "ops": a transaction's puts and deletes (request.h) */
};

/* Query parameters an operation takes besides ?pretty and ?redirect (every
 * operation) and those its flags imply (READ: consistency; LONG_POLL: index,
 * wait). */
enum http_param {
	HTTP_Q_PREFIX = 1u << 0,  /* ?prefix=: names that start with it */
	HTTP_Q_SESSION = 1u << 1, /* ?session=: instead of the body's "session" */
	HTTP_Q_LOCK = 1u << 2,    /* ?lock=NAME */
	HTTP_Q_TOKEN = 1u << 3,   /* ?token=N: a fence's token, or the grant a release releases */
	/* A listing's page: ?limit=N items after the key ?after= (request.h,
	 * HTTP_LIST_LIMIT_*). A row takes one form of after, never both. */
	HTTP_Q_LIMIT = 1u << 4,         /* ?limit=N: at most N items */
	HTTP_Q_AFTER_NAME = 1u << 5,    /* ?after=NAME: a lock name, exclusive */
	HTTP_Q_AFTER_SESSION = 1u << 6, /* ?after=ID: a session id, exclusive */
	HTTP_Q_FORCE = 1u << 7,         /* ?force: a membership change skips the strict check */
	HTTP_Q_AFTER_ID = 1u << 8,      /* ?after=ID: an access token's id, exclusive */
	HTTP_Q_CAS = 1u << 9,           /* ?cas=N: as the body's "cas" */
};

/* How a path is matched. The path of a row is its literal prefix; a
 * parameter follows it (and the suffix, if any, ends it). */
enum http_path_kind {
	HTTP_PATH_EXACT,   /* the path is the prefix itself */
	HTTP_PATH_NAME,    /* prefix + a lock or election name, or a key (may contain '/') */
	HTTP_PATH_SESSION, /* prefix + a session id + suffix */
	HTTP_PATH_MEMBER,  /* prefix + a server id (decimal digits) + suffix */
	HTTP_PATH_ID,      /* prefix + an access token's id (decimal digits) + suffix */
};

/* Who may run an operation once authentication is on (API.md, Access
 * control): the token a request carries must allow it. */
enum http_access {
	HTTP_ACCESS_OPEN = 0, /* no token needed: health, the bootstrap, the status
	                       * page (it holds no data: its calls carry the token) */
	HTTP_ACCESS_TOKEN,    /* any valid token */
	HTTP_ACCESS_READ,     /* a read (or write) rule of the row's resource */
	HTTP_ACCESS_WRITE,    /* a write rule of the row's resource */
	HTTP_ACCESS_ADMIN,    /* an admin token (or none, for /metrics with
	                       * coordd --metrics-public) */
};

/* The resource a READ or WRITE row's rule is of. Which name the rule must
 * match follows from the row: a NAME path's name or ?lock= (locks,
 * elections); a session create's label; a listing (HTTP_Q_LIMIT) is
 * filtered item by item; a row naming a session by its id matches any
 * prefix. A row that takes a session (body, query or path) on another
 * resource also needs a sessions write rule, of any prefix. */
enum http_resource {
	HTTP_RES_NONE = 0,
	HTTP_RES_LOCKS,
	HTTP_RES_ELECTIONS,
	HTTP_RES_SESSIONS,
	HTTP_RES_KV,
};

struct http_op_info {
	const char *name;   /* for logs and metrics: "lock_acquire" */
	const char *method; /* "PUT" */
	const char *path;   /* the literal part before the parameter: "/v1/locks/" */
	enum http_path_kind path_kind;
	const char *suffix; /* after the parameter ("/keepalive"), or "" */
	unsigned flags;     /* enum http_op_flag */
	unsigned params;    /* enum http_param: query parameters it takes */
	unsigned params_needed;
	unsigned accepts;            /* enum http_field: body fields it takes */
	unsigned needs;              /* fields it needs; a needed field whose query parameter
	                              * it takes (session) may come from either */
	enum http_resource resource; /* for READ and WRITE access */
	enum http_access access;
};

/* The row of OP (an op in 1..HTTP_OP_COUNT-1). */
const struct http_op_info *http_op_info(enum http_op op);

/* True when OP's row has every flag of FLAGS; false for an op out of range. */
bool http_op_is(enum http_op op, unsigned flags);

/* OP's name for logs and metrics ("unknown" out of range). */
const char *http_op_name(enum http_op op);

#endif
