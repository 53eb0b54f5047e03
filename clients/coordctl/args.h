/* coordctl's pure parts: option parsing, durations with units, and the exit
 * codes (docs/API.md, coordctl). No I/O, so unit tests pin them. */
#ifndef COORD_CLIENTS_COORDCTL_ARGS_H
#define COORD_CLIENTS_COORDCTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "libcoord.h"

/* Exit codes of coordctl itself (sysexits.h numbers; API.md names 69/75/76). */
#define CTL_EXIT_OK            0
#define CTL_EXIT_FAIL          1  /* the cluster refused (the message says why) */
#define CTL_EXIT_USAGE         64 /* a bad command line or argument */
#define CTL_EXIT_DATAERR       65 /* a snapshot file fails a check (truncated, corrupt, foreign) */
#define CTL_EXIT_NOINPUT       66 /* a file to read does not exist or cannot be opened */
#define CTL_EXIT_UNREACHABLE   69 /* cluster unreachable, or outcome unknown */
#define CTL_EXIT_CANTCREAT     73 /* the file to write exists (no --force) or cannot be made */
#define CTL_EXIT_IOERR         74 /* writing or syncing a file failed */
#define CTL_EXIT_NOT_ACQUIRED  75 /* not acquired within --wait */
#define CTL_EXIT_NOT_CAUGHT_UP 75 /* member add --wait: not caught up within --timeout */
#define CTL_EXIT_LOST          76 /* lock lost while CMD ran */

#define CTL_TTL_DEFAULT_MS     10000ULL
#define CTL_TTL_MIN_MS         1000ULL             /* API.md, Limits: session TTL */
#define CTL_TTL_MAX_MS         (3600ULL * 1000)    /* 1 h */
#define CTL_WAIT_MAX_MS        (10ULL * 60 * 1000) /* API.md, Limits: wait_ms */
#define CTL_CATCHUP_DEFAULT_MS (10ULL * 60 * 1000) /* member add --wait without --timeout */
#define CTL_TIMEOUT_MIN_MS     1000ULL
#define CTL_TIMEOUT_MAX_MS     (24ULL * 3600 * 1000) /* a learner may need a large snapshot */
#define CTL_POSITIONAL_MAX     3                     /* e.g. "member replace OLD NEW RAFT" */
#define CTL_RULES_MAX          32                    /* --rule of one token (API.md: 32 rules) */
#define CTL_ERR_MAX            160                   /* bytes of a parse error */
#define CTL_NUMBER_MAX         ((uint64_t)INT64_MAX) /* a cas, index or fencing token */

/* Options a command accepts (a bit set). */
enum ctl_opt {
	CTL_OPT_SHARED = 1u << 0,   /* --shared */
	CTL_OPT_WAIT = 1u << 1,     /* --wait D */
	CTL_OPT_TTL = 1u << 2,      /* --ttl D */
	CTL_OPT_VALUE = 1u << 3,    /* --value V */
	CTL_OPT_SESSION = 1u << 4,  /* --session ID */
	CTL_OPT_PREFIX = 1u << 5,   /* --prefix P */
	CTL_OPT_NAME = 1u << 6,     /* --name N */
	CTL_OPT_WATCH = 1u << 7,    /* --watch */
	CTL_OPT_CMD = 1u << 8,      /* -- CMD [ARG...] (then required) */
	CTL_OPT_JSON = 1u << 9,     /* --json */
	CTL_OPT_CATCHUP = 1u << 10, /* --wait, no value: member add waits to promote */
	CTL_OPT_TIMEOUT = 1u << 11, /* --timeout D */
	CTL_OPT_FORCE = 1u << 12,   /* --force */
	CTL_OPT_RULE = 1u << 13,    /* --rule R (repeatable, up to CTL_RULES_MAX) */
	CTL_OPT_ADMIN = 1u << 14,   /* --admin */
	CTL_OPT_CAS = 1u << 15,     /* --cas N: a key/value write's condition */
	CTL_OPT_FENCE = 1u << 16,   /* --fence LOCK:TOKEN */
	CTL_OPT_STALE = 1u << 17,   /* --stale: ?consistency=stale */
	CTL_OPT_INDEX = 1u << 18    /* --index N: where a watch starts */
};

/* A parsed command line. Strings are borrowed from argv. */
struct ctl_args {
	const char *pos[CTL_POSITIONAL_MAX];
	int npos;
	bool shared, watch, help;
	bool json, catch_up, force, admin;
	bool has_wait, has_timeout;
	uint64_t wait_ms;
	uint64_t timeout_ms; /* CTL_CATCHUP_DEFAULT_MS unless given */
	uint64_t ttl_ms;     /* CTL_TTL_DEFAULT_MS unless given */
	const char *value, *session, *prefix, *name;
	char **cmd;                       /* argv after "--", NULL-terminated; NULL if none */
	const char *rules[CTL_RULES_MAX]; /* each --rule, in order */
	int nrules;
	bool stale, has_cas, has_index;
	uint64_t cas;                             /* --cas: 0 to CTL_NUMBER_MAX */
	uint64_t index;                           /* --index: 0 to CTL_NUMBER_MAX */
	char fence_lock[COORDC_LIST_KEY_MAX + 1]; /* --fence's lock, "" when not given */
	uint64_t fence_token;                     /* --fence's token, 1 to CTL_NUMBER_MAX */
};

/* Parses ARGV[0..ARGC) (the words after the command name) accepting the
 * options in ALLOWED and exactly NPOS positional words. "--help"/"-h" sets
 * help and stops. Durations take units ("250ms", "10s", "2m"; a bare number
 * is milliseconds): --ttl within [CTL_TTL_MIN_MS, CTL_TTL_MAX_MS], --wait at
 * most CTL_WAIT_MAX_MS. Returns 0, or CTL_EXIT_USAGE with a sentence in ERR. */
int ctl_parse(int argc, char **argv, unsigned allowed, int npos, struct ctl_args *a,
              char err[CTL_ERR_MAX]);

/* ctl_parse taking MIN_POS to MAX_POS (<= CTL_POSITIONAL_MAX) positional
 * words, for a command with an optional one ("leader transfer [ID]"). */
int ctl_parse_range(int argc, char **argv, unsigned allowed, int min_pos, int max_pos,
                    struct ctl_args *a, char err[CTL_ERR_MAX]);

/* Parses TEXT, a member's id (a decimal number from 1), into *ID; returns 0
 * or CTL_EXIT_USAGE with a sentence naming WHAT in ERR. */
int ctl_node_id(const char *what, const char *text, uint64_t *id, char err[CTL_ERR_MAX]);

/* Parses TEXT, a token's id (a decimal number from 1), into *ID; returns 0
 * or CTL_EXIT_USAGE with a sentence naming WHAT in ERR. */
int ctl_token_id(const char *what, const char *text, uint64_t *id, char err[CTL_ERR_MAX]);

/* Parses TEXT, a rule of a token as --rule spells it, RESOURCE:PREFIX:ACCESS
 * ("locks:jobs/:write"; "locks::write" for every name; the prefix may hold
 * ':' itself), into *RULE, a new {"resource", "prefix", "access"} object
 * (the caller drops it with json_decref). Only the shape is checked here:
 * the cluster judges the words (400 names what it refuses). Returns 0, or
 * CTL_EXIT_USAGE with a sentence in ERR (*RULE NULL). */
int ctl_rule(const char *text, json_t **rule, char err[CTL_ERR_MAX]);

/* Parses TEXT, a decimal number within [MIN, MAX], into *OUT; returns 0 or
 * CTL_EXIT_USAGE with a sentence naming OPTION in ERR. */
int ctl_number(const char *option, const char *text, uint64_t min, uint64_t max, uint64_t *out,
               char err[CTL_ERR_MAX]);

/* Parses TEXT, a fence as --fence spells it, LOCK:TOKEN (split at the last
 * ':', since a lock name may hold ':'), into LOCK and *TOKEN (1 to
 * CTL_NUMBER_MAX); returns 0 or CTL_EXIT_USAGE with a sentence in ERR. */
int ctl_fence(const char *text, char lock[COORDC_LIST_KEY_MAX + 1], uint64_t *token,
              char err[CTL_ERR_MAX]);

/* Checks TEXT is a Raft address HOST:PORT (a host of at most
 * COORDC_ADDR_MAX - 7 bytes without spaces or '/', a port 1..65535, IPv6
 * hosts in brackets); returns 0 or CTL_EXIT_USAGE with a sentence in ERR. */
int ctl_raft_address(const char *text, char err[CTL_ERR_MAX]);

/* Parses TEXT as a duration within [MIN_MS, MAX_MS] into *OUT_MS; returns 0
 * or CTL_EXIT_USAGE with a sentence naming OPTION in ERR. */
int ctl_duration(const char *option, const char *text, uint64_t min_ms, uint64_t max_ms,
                 uint64_t *out_ms, char err[CTL_ERR_MAX]);

/* coordctl's exit status for a child's wait status: its exit code, or
 * 128 + the signal that ended it. */
int ctl_child_status(int wstatus);

/* The exit code for a call that did not succeed: KIND is the reply's kind, STATUS its HTTP status
 * (0 if none), ERROR its code. Unknown outcomes, no connection and 503 give CTL_EXIT_UNREACHABLE;
 * lock_held CTL_EXIT_NOT_ACQUIRED; 400 CTL_EXIT_USAGE; others CTL_EXIT_FAIL. */
int ctl_exit_for(enum coordc_kind kind, long status, const char *error);

#endif
