/* coordctl's private interface: the commands of docs/API.md (coordctl), each
 * a function taking the words after its name and returning the exit code. */
#ifndef COORD_CLIENTS_COORDCTL_CTL_H
#define COORD_CLIENTS_COORDCTL_CTL_H

#include <signal.h>
#include <stdint.h>

#include <jansson.h>

#include "args.h"
#include "libcoord.h"

#define CTL_DEFAULT_ENDPOINTS "http://127.0.0.1:7070"
#define CTL_WATCH_WAIT_MS     (5ULL * 60 * 1000) /* one long-poll of leader --watch */
#define CTL_WATCH_PAUSE_MS    500                /* between long-polls that failed */
/* Listings (locks, session list) are read a page at a time, pages small
 * enough to stay below COORDC_BODY_MAX: 25 sessions with 1024 locks each
 * (the ceiling of --max-locks-per-session) or 100 locks. A listing still
 * going after 20000 pages (500,000 sessions or 2,000,000 locks, past the
 * ceilings of the state) is refused rather than followed for ever. */
#define CTL_LIST_SESSIONS 25u
#define CTL_LIST_LOCKS    100u
#define CTL_LIST_TOKENS   100u
/* Keys carry values of up to 64 KiB, which JSON may escape to 6 bytes a
 * byte (a control character as \u0001): 10 such keys stay below
 * COORDC_BODY_MAX, and the cluster's 100000 keys take 10000 pages. */
#define CTL_LIST_KEYS      10u
#define CTL_LIST_PAGES_MAX 20000u
/* member add --wait looks at the members again after a pause growing from
 * the first to the last, and after each promote refused as not_caught_up. */
#define CTL_CATCHUP_PAUSE_MIN_MS 100u
#define CTL_CATCHUP_PAUSE_MAX_MS 2000u

/* What every command gets: the client config (endpoints, TLS files, the
 * token) and a client opened on it (used by the main thread only). */
struct ctl {
	struct coordc_config cfg;
	struct coordc *client;
	char token[COORDC_TOKEN_MAX]; /* the secret read from --token-file */
};

/* One command: ARGC/ARGV are the words after its name. */
typedef int (*ctl_cmd_fn)(struct ctl *ctl, int argc, char **argv);

int ctl_cmd_status(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_locks(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_lock_info(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_session(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_acquire(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_release(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_leader(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_lock(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_elect(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_member(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_snapshot(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_auth(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_token(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_kv(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_register(struct ctl *ctl, int argc, char **argv);

/* Sets CTL->cfg.token from FLAG_TOKEN (--token), the first line of
 * TOKEN_FILE (--token-file, read into CTL->token) or ENV_TOKEN
 * ($COORD_TOKEN), each NULL when not given; the flags win over the
 * environment, and both flags at once are a usage error. The secret is
 * checked (coordc_token_valid) and never printed. Returns 0 or the exit
 * code, the message printed: CTL_EXIT_USAGE, CTL_EXIT_NOINPUT (the file
 * cannot be read), CTL_EXIT_DATAERR (its first line is empty or not a
 * token). (credentials.c) */
int ctl_token(struct ctl *ctl, const char *flag_token, const char *token_file,
              const char *env_token);

/* leader transfer [ID] (members.c); ctl_cmd_leader hands it the words
 * after "transfer". */
int ctl_leader_transfer(struct ctl *ctl, int argc, char **argv);

/* Prints the help of command NAME ("" for the overview) to stdout; returns
 * false if there is no such command. */
bool ctl_help(const char *name);

/* Parses ARGV for command NAME (see ctl_parse); on --help prints the help and
 * sets *DONE with exit 0; on a usage error prints it and sets *DONE with
 * CTL_EXIT_USAGE. Returns the exit code when *DONE. */
int ctl_args(const char *name, int argc, char **argv, unsigned allowed, int npos,
             struct ctl_args *a, bool *done);

/* ctl_args with MIN_POS to MAX_POS positional words (ctl_parse_range). */
int ctl_args_range(const char *name, int argc, char **argv, unsigned allowed, int min_pos,
                   int max_pos, struct ctl_args *a, bool *done);

/* Prints "coordctl: WHAT: <error>: <message>" for a reply that did not
 * succeed and returns the exit code for it (ctl_exit_for). */
int ctl_fail(const char *what, const struct coordc_reply *reply);

/* Ends a command on the reply of a call that returned RC: prints its JSON
 * answer (exit 0), or why it failed (ctl_fail; a usage error when RC says
 * the request could not be formed). Clears R. */
int ctl_finish(const char *what, int rc, struct coordc_reply *r);

/* GETs every page of the listing PATH, LIMIT items a page, and prints its
 * KEY items as one object {KEY: [...]}; WHAT names it in errors. Returns
 * the exit code. (query.c) */
int ctl_list_and_print(struct ctl *ctl, const char *what, const char *path, const char *key,
                       uint32_t limit);

/* Prints JSON indented to stdout. */
void ctl_print_json(const json_t *json);

/* ---- Running CMD under a lock (supervise.c) -------------------------------- */

/* What ctl_supervise needs. Strings are borrowed. */
struct ctl_supervision {
	char **cmd;          /* argv of CMD, NULL-terminated */
	const char *lock;    /* COORD_LOCK; NULL: no lock (no COORD_FENCING_TOKEN either) */
	const char *session; /* COORD_SESSION */
	uint64_t token;      /* COORD_FENCING_TOKEN */
	const char *key;     /* COORD_KEY, the ephemeral key of `register`; NULL: none */
	struct coordc_keeper *keeper;
	uint32_t grace_ms;  /* SIGTERM to SIGKILL */
	uint32_t margin_ms; /* SIGTERM this long before the lease deadline */
};

/* Creates the wake-up pipe the keeper's callback writes to and installs the
 * handlers of SIGINT, SIGTERM, SIGHUP (and SIGCHLD); call before opening the
 * session, so that a signal while waiting for the lock ends coordctl through
 * the cleanup. Returns 0 or an errno. */
int ctl_supervise_prepare(void);

/* The last of SIGINT, SIGTERM, SIGHUP received (0: none); a libcoord abort
 * flag (coordc_set_abort). */
extern volatile sig_atomic_t ctl_signalled;

/* The keeper callback (coordc_lease_fn) that wakes ctl_supervise. */
void ctl_lease_changed(void *arg, enum coordc_lease_state state);

/* Runs CMD in its own process group and waits for it. SIGINT, SIGTERM and
 * SIGHUP to coordctl are passed on to CMD's group. When the keeper's lease
 * leaves LIVE, CMD's group gets SIGTERM and, GRACE_MS later but before the
 * deadline minus (MARGIN_MS - GRACE_MS), SIGKILL; *LOST is then set. Returns
 * CMD's exit status (128 + signal if a signal ended it; 127 if it could not
 * be started). */
int ctl_supervise(const struct ctl_supervision *s, bool *lost);

#endif
