/* coord-bench's shared types: the run's options, one simulated client, the
 * latency histogram, the error tally, and the two targets (coord, etcd) that
 * turn a workload step into an HTTP request and judge its reply.
 *
 * The load generator is one thread driving libcurl's multi interface: every
 * simulated client owns one easy handle (so one keep-alive connection) and
 * runs its workload in a closed loop. The engine (driver.c) knows nothing of
 * either server's API; a target (target_coord.c, target_etcd.c) knows
 * nothing of sockets. */
#ifndef COORD_BENCH_H
#define COORD_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

/* Named limits (STYLE.md rule 7). */
#define BENCH_MAX_CLIENTS     1024        /* concurrent simulated clients */
#define BENCH_MAX_ENDPOINTS   8           /* --endpoints entries */
#define BENCH_MAX_PIDS        8           /* --pids entries */
#define BENCH_URL_MAX         512         /* one endpoint or one request URL */
#define BENCH_BODY_MAX        1024        /* one request body */
#define BENCH_REPLY_MAX       (64 * 1024) /* one reply body kept for parsing */
#define BENCH_ID_MAX          64          /* a session id or an etcd lease id */
#define BENCH_KEY_MAX         256         /* an etcd lock key (base64) */
#define BENCH_ERROR_KINDS     32          /* distinct error kinds tallied */
#define BENCH_ERROR_KIND_MAX  48          /* length of one error kind's name */
#define BENCH_HIST_SUB_BITS   6           /* 64 linear sub-buckets per power of two */
#define BENCH_HIST_MAX_SHIFT  34          /* values up to 2^40 us (12 days) */
#define BENCH_HIST_BUCKETS    ((BENCH_HIST_MAX_SHIFT + 2) << BENCH_HIST_SUB_BITS)
#define BENCH_DURATION_MAX_MS (3600 * 1000) /* one timed phase */
#define BENCH_PREFIX_MAX      64            /* fill: the lock name prefix */
#define BENCH_FILL_MAX        100000000L    /* fill: sessions, and first session index */
#define BENCH_FILL_LOCKS_MAX  100000        /* fill: locks per session */
#define BENCH_PATH_MAX        512           /* --cacert, --cert, --key, --token-file */
#define BENCH_TOKEN_MAX       256           /* a bearer token (coord's: "coord_" + 64 hex) */
#define BENCH_AUTH_HEADER_MAX (BENCH_TOKEN_MAX + 32) /* "Authorization: Bearer " + token */

enum bench_err {
	BENCH_OK = 0,
	BENCH_EUSAGE,     /* a bad flag or flag value */
	BENCH_ECURL,      /* libcurl refused to set up a handle */
	BENCH_ESETUP,     /* a client's sessions/leases could not be created */
	BENCH_EPROC,      /* a server pid's /proc entry could not be read */
	BENCH_ETOKEN,     /* --token-file could not be read, or holds no usable token */
	BENCH_EZOOKEEPER, /* built without ZooKeeper's C client */
	BENCH_ERR_COUNT
};

/* A one-line description of CODE; never NULL. */
const char *bench_strerror(int code);

enum bench_target { BENCH_COORD, BENCH_ETCD, BENCH_ZOOKEEPER };

enum bench_workload {
	BENCH_LOCK_OWN,       /* acquire + release of a lock of the client's own */
	BENCH_LOCK_CONTENDED, /* acquire (waiting in line) + release of one shared lock */
	BENCH_KEEPALIVE,      /* one keepalive of the client's session / lease */
	BENCH_READ_LINEAR,    /* one linearizable read of a small object */
	BENCH_READ_STALE,     /* the same read answered from local state */
	BENCH_SESSION_CYCLE,  /* create + close of a session / grant + revoke of a lease */
	BENCH_FILL,           /* coord only: create sessions holding locks, and keep them */
	BENCH_KV_PUT,         /* a put of the client's own key */
	BENCH_KV_GET,         /* a linearizable get of the client's own key */
	BENCH_KV_GET_STALE,   /* the same get answered from local state */
	BENCH_KV_CAS,         /* a put conditional on the index of the client's last write */
	BENCH_WORKLOAD_COUNT
};

/* Whether WORKLOAD works on a key of each client's own, which setup writes
 * (and records its index in the client's key) instead of opening a
 * session. */
int bench_is_kv(int workload);

/* "coord", "etcd" or "zookeeper". */
const char *bench_target_name(int target);

/* The workload named NAME (as on the command line), or -1. */
int bench_workload_parse(const char *name);
const char *bench_workload_name(int workload);

/* The phases every client goes through; only RUN is timed. */
enum bench_phase { BENCH_SETUP, BENCH_RUN, BENCH_TEARDOWN };

struct bench_options {
	enum bench_target target;
	int workload;
	int clients;
	char endpoints[BENCH_MAX_ENDPOINTS][BENCH_URL_MAX];
	int n_endpoints;
	int spread;       /* clients start on endpoint i % n, not all on the first */
	int rotate;       /* after a failed request, move to the next endpoint */
	long duration_ms; /* the timed phase */
	long warmup_ms;   /* closed-loop load before the timed phase, not recorded */
	long timeout_ms;  /* one request (a contended wait gets this much more) */
	long retry_ms;    /* pause after a failed request before the retry */
	long ttl_ms;      /* session / lease TTL */
	int pids[BENCH_MAX_PIDS];
	int n_pids;
	char run_tag[32]; /* makes lock names unique to this run */
	/* fill: sessions OFFSET .. OFFSET+SESSIONS-1, each holding locks
	 * PREFIX/<session>/0 .. PREFIX/<session>/LOCKS-1; nothing is closed. */
	long fill_sessions;
	long fill_offset;
	int fill_locks;
	char fill_prefix[BENCH_PREFIX_MAX];
	/* TLS and access control (clients/bench/tls.c); "" for none. The CA
	 * verifies https endpoints; cert and key are a client certificate. The
	 * header carries the bearer token and is never printed. */
	char cacert[BENCH_PATH_MAX];
	char cert[BENCH_PATH_MAX];
	char key[BENCH_PATH_MAX];
	char auth_header[BENCH_AUTH_HEADER_MAX];
};

/* Latency histogram, HDR-style: values (microseconds) below 128 are exact;
 * above, each power of two is cut into 64 linear sub-buckets, so any
 * percentile is reported within 1/64 (1.6 %) of the true value. */
struct bench_hist {
	uint64_t counts[BENCH_HIST_BUCKETS];
	uint64_t total;
	uint64_t max_us;
};

void bench_hist_record(struct bench_hist *h, uint64_t us);
/* The smallest bucket bound at or above which no more than (100-PCT) % of
 * the values lie; 0 for an empty histogram. PCT in [0, 100]. */
uint64_t bench_hist_percentile(const struct bench_hist *h, double pct);

/* Errors by kind ("http_409_lock_held", "transport_timeout", ...). Kinds
 * past BENCH_ERROR_KINDS are counted under "other". */
struct bench_errors {
	char kind[BENCH_ERROR_KINDS][BENCH_ERROR_KIND_MAX];
	uint64_t count[BENCH_ERROR_KINDS];
	int n;
	uint64_t total;
};

void bench_errors_add(struct bench_errors *e, const char *kind);

/* What a target asks the engine to send. PATH begins with '/'. */
struct bench_request {
	const char *method; /* "GET", "POST", "PUT", "DELETE" */
	char path[BENCH_URL_MAX];
	char body[BENCH_BODY_MAX]; /* "" for none */
	long extra_timeout_ms;     /* added to the options' time-out (a FIFO wait) */
};

/* One simulated client: its connection, its workload position and the ids
 * its workload created. */
struct bench_client {
	int id;
	CURL *easy;
	int endpoint;
	enum bench_phase phase;
	int step;
	int busy;                 /* a request is in the multi handle */
	int in_cycle;             /* RUN: an operation has started and not finished */
	struct bench_request req; /* the request in flight (curl borrows its body) */
	int done;                 /* finished this phase */
	uint64_t resume_us;       /* after an error: do not retry before this */
	uint64_t cycle_start_us;
	char *reply; /* BENCH_REPLY_MAX + 1 bytes */
	size_t reply_len;
	int reply_truncated;
	char errbuf[CURL_ERROR_SIZE];
	char session[BENCH_ID_MAX]; /* coord session id / etcd lease id (string) */
	char temp_id[BENCH_ID_MAX]; /* session-cycle's session / lease */
	char key[BENCH_KEY_MAX];    /* etcd: the key /v3/lock/lock returned; key/value
	                             * workloads: the index (revision) of the client's last
	                             * write of its key, as decimal text ("" before setup) */
	/* fill: this client's share is every clients-th session from its id. */
	long fill_next;                  /* the share's next session (0-based, without offset) */
	int fill_lock;                   /* its next lock; -1 while the session is not created */
	char fill_session[BENCH_ID_MAX]; /* the id of that session */
	uint64_t made_sessions;          /* fill: created and kept */
	uint64_t made_locks;
};

/* A target: fills REQ for CLIENT's current phase and step and returns 1, or
 * returns 0 when the phase's sequence is complete (for RUN: one operation
 * finished), or, in RUN, -1 when the client has no work left (a workload
 * with a fixed amount of work, fill: the client is done before the window
 * closes). */
typedef int (*bench_prepare_fn)(const struct bench_options *o, struct bench_client *c,
                                struct bench_request *req);
/* Judges the reply to the request prepare() made for the current step: 0 if
 * it succeeded (ids it carries are stored in CLIENT), else writes an error
 * kind into KIND (at most BENCH_ERROR_KIND_MAX bytes) and returns 1. */
typedef int (*bench_check_fn)(const struct bench_options *o, struct bench_client *c, long status,
                              const char *body, char *kind);

struct bench_target_ops {
	const char *name;
	bench_prepare_fn prepare;
	bench_check_fn check;
};

extern const struct bench_target_ops bench_coord_ops;
extern const struct bench_target_ops bench_etcd_ops;

/* The lock recipe's pure part (zk_lock.c). CHILDREN are the names under a
 * lock's parent, each "c<client>-lock-<10-digit sequence>"; MINE is the
 * client's own. Writes into PRED (PRED_LEN bytes) the name of the child
 * with the highest sequence below MINE's, and returns 1; returns 0 when
 * MINE has the lowest sequence (the lock is held), and -1 when MINE is not
 * among CHILDREN or a name is malformed. STALE (if not NULL) gets the first
 * child, other than MINE, that carries MINE's client prefix: a node an
 * earlier, failed cycle of the same session left behind, to delete. */
int bench_zk_predecessor(const char *const *children, int n, const char *mine, char *pred,
                         size_t pred_len, const char **stale);

/* Writes KIND for an HTTP STATUS with the JSON reply BODY: "http_<status>"
 * plus "_<code>" when the body carries an "error" string. */
void bench_http_kind(long status, const char *body, char *kind);

/* CPU time (user + system, seconds) and memory of a process. */
struct bench_proc {
	int pid;
	double cpu_s;
	long hwm_kib; /* VmHWM: peak resident set */
	long rss_kib; /* VmRSS: resident set now */
};

/* The engine's results for one timed phase. */
struct bench_result {
	uint64_t ops;
	double elapsed_s;
	struct bench_hist hist;
	struct bench_errors errors;          /* failed requests in the timed phase */
	struct bench_errors teardown_errors; /* failed clean-ups (not counted above) */
	uint64_t max_gap_us;                 /* longest time without a successful operation */
	double self_cpu_s;                   /* coord-bench's own CPU time in the timed phase */
	struct bench_proc server[BENCH_MAX_PIDS]; /* CPU in the timed phase; memory at its end */
	int n_server;
	uint64_t made_sessions; /* fill: every client's sessions and locks, summed */
	uint64_t made_locks;
	uint64_t connects; /* connections (so TLS handshakes) opened in the timed phase */
};

/* Runs setup, warm-up, the timed phase and teardown for o->clients clients.
 * A fill has no warm-up, and its window ends when every client is done (or
 * at the duration, as a bound); elapsed_s is the window's real length.
 * Returns 0, BENCH_ECURL, or BENCH_ESETUP with a reason in ERRMSG. */
int bench_run(const struct bench_options *o, const struct bench_target_ops *t,
              struct bench_result *r, char *errmsg, size_t errlen);

/* ZooKeeper (zk.c): not an HTTP target, so an engine of its own, on
 * ZooKeeper's C client; its results mean what bench_run's mean. ENDPOINTS
 * are host:port of client ports. Returns 0, BENCH_EUSAGE for a workload it
 * has no mapping for (fill), BENCH_ESETUP with a reason in ERRMSG, or
 * BENCH_EZOOKEEPER when coord-bench was built without the C client. */
int bench_run_zk(const struct bench_options *o, struct bench_result *r, char *errmsg,
                 size_t errlen);

/* Reads the bearer token in the file PATH (one line; surrounding white
 * space dropped) into HEADER as "Authorization: Bearer TOKEN". A token must
 * be 1 to BENCH_TOKEN_MAX-1 visible ASCII characters, so that it cannot
 * split the header. Returns 0, or BENCH_ETOKEN with a reason in ERRMSG that
 * never quotes the file's contents. */
int bench_token_header(const char *path, char *header, size_t len, char *errmsg, size_t errlen);
/* Sets O's TLS files on EASY (CURLOPT_CAINFO, CURLOPT_SSLCERT/SSLKEY), as
 * libcoord does; 0, or BENCH_ECURL. */
int bench_tls_setopt(const struct bench_options *o, CURL *easy);

/* Reads PID's CPU time and memory from /proc; 0 or BENCH_EPROC. */
int bench_proc_read(int pid, struct bench_proc *p);
/* This process's CPU time (user + system) in seconds, from getrusage. */
double bench_self_cpu_s(void);
/* Marks the timed window's start (END 0) or end (END 1) in R: coord-bench's
 * own CPU and each of O's server pids' CPU (at the end: the window's share)
 * and memory. A server that is gone reports no CPU and memory -1. */
void bench_window_mark(const struct bench_options *o, struct bench_result *r, int end);
/* Monotonic time in microseconds. */
uint64_t bench_now_us(void);

#endif
