/* config.h: coordd's flags (API.md, "coordd"), from the command line and a
 * --config file, parsed and checked before anything is opened, so a bad flag
 * or line costs one line and a non-zero exit. */
#ifndef COORD_CONFIG_H
#define COORD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "limits.h"

#define COORD_CONFIG_MAX_MEMBERS 9                             /* voters named by --cluster */
#define COORD_CONFIG_ADDR_MAX    64                            /* "host:port" with NUL */
#define COORD_CONFIG_PATH_MAX    1024                          /* --data */
#define COORD_CONFIG_ERR_MAX     (COORD_CONFIG_PATH_MAX + 256) /* "FILE:LINE: why" */
#define COORD_CONFIG_FILE_MAX    65536                         /* bytes of a --config file */
#define COORD_CONFIG_FLAGS_MAX   32                            /* entries of the flag table */

#define COORD_DEFAULT_DATA             "./coord-data"
#define COORD_DEFAULT_HTTP             "127.0.0.1:7070"
#define COORD_DEFAULT_RAFT             "127.0.0.1:7170"
#define COORD_DEFAULT_HEARTBEAT_MS     100
#define COORD_DEFAULT_ELECTION_MS      1000
#define COORD_HEARTBEAT_MIN_MS         10
#define COORD_ELECTION_MAX_MS          60000
#define COORD_DEFAULT_SNAPSHOT_ENTRIES 20000 /* applied entries between snapshots */
#define COORD_DEFAULT_LOG_TAIL         5000  /* entries kept behind a snapshot */
#define COORD_SNAPSHOT_ENTRIES_MIN     10

enum coord_log_level { COORD_LOG_DEBUG, COORD_LOG_INFO, COORD_LOG_WARN, COORD_LOG_ERROR };

struct coord_member {
	uint64_t id;
	char raft[COORD_CONFIG_ADDR_MAX];
};

struct coord_config {
	uint64_t id;
	char data[COORD_CONFIG_PATH_MAX];
	char http[COORD_CONFIG_ADDR_MAX];
	char raft[COORD_CONFIG_ADDR_MAX];
	size_t n_members; /* --cluster, or this node alone */
	struct coord_member members[COORD_CONFIG_MAX_MEMBERS];
	bool cluster_given;
	bool id_given;
	bool raft_given; /* else taken from --cluster's entry for this id */
	bool join;       /* --join: wait to be added to a running cluster */
	/* --auth: every request but health and the bootstrap needs a token,
	 * even before the bootstrap; --metrics-public: /metrics needs none. */
	bool auth;
	bool metrics_public;
	/* --fresh-lease-on-election: a new leader gives every session a fresh
	 * TTL and keepalives propose no ALIVE entry (rule 8 without L-3). */
	bool fresh_lease;
	/* --restore FILE ("" when not given): seed --data from it, then exit */
	char restore[COORD_CONFIG_PATH_MAX];
	unsigned heartbeat_ms;
	unsigned election_ms;
	enum coord_log_level log_level;
	unsigned snapshot_entries;  /* --snapshot-entries */
	unsigned log_tail;          /* --log-tail */
	struct coord_limits limits; /* --max-sessions, --max-locks-per-session, --max-waiters */
	/* --tls-cert, --tls-key, --tls-client-ca ("" when not given): HTTPS on
	 * the client port; the files are read at start and on SIGHUP. */
	char tls_cert[COORD_CONFIG_PATH_MAX];
	char tls_key[COORD_CONFIG_PATH_MAX];
	char tls_client_ca[COORD_CONFIG_PATH_MAX];
	/* --bootstrap-token-file: the first admin token's secret, which the
	 * leader bootstraps access control with (node_auth.h); implies auth. */
	char bootstrap_token_file[COORD_CONFIG_PATH_MAX];
	/* --peer-cert, --peer-key, --peer-ca ("" when not given): mutual TLS on
	 * every peer connection (peer_tls.h); read at start. */
	char peer_cert[COORD_CONFIG_PATH_MAX];
	char peer_key[COORD_CONFIG_PATH_MAX];
	char peer_ca[COORD_CONFIG_PATH_MAX];
	/* --config FILE ("" when not given): key = value lines, one per flag */
	char config[COORD_CONFIG_PATH_MAX];
	bool help;
};

/* How a flag's value is read (one kind per field type). */
enum coord_config_kind {
	COORD_CONFIG_BOOL,    /* no value on the command line; true or false in a file */
	COORD_CONFIG_UINT,    /* a decimal integer in [min, max] */
	COORD_CONFIG_ADDR,    /* HOST:PORT */
	COORD_CONFIG_PATH,    /* a non-empty path */
	COORD_CONFIG_LEVEL,   /* debug, info, warn or error */
	COORD_CONFIG_CLUSTER, /* ID=HOST:PORT,... */
};

/* One flag: "--NAME" on the command line and "NAME = value" in a --config
 * file. The one table of them is the only list of flags there is. */
struct coord_config_flag {
	const char *name;
	enum coord_config_kind kind;
	size_t offset, size; /* the field of struct coord_config it sets */
	uint64_t min, max;   /* COORD_CONFIG_UINT */
	const char *example; /* a value it accepts (for tests), "true" for a boolean */
};

enum coord_config_result { COORD_CONFIG_OK = 0, COORD_CONFIG_HELP, COORD_CONFIG_BAD };

/* Parses ARGV (ARGC entries, argv[0] the program) into *CFG: defaults, then
 * the file --config names (each key at most once), then the other flags on
 * the command line, which win over the file. On COORD_CONFIG_BAD, ERR holds
 * one sentence naming the flag, or "FILE:LINE: why" for a line of the file. */
enum coord_config_result coord_config_parse(int argc, const char *const argv[],
                                            struct coord_config *cfg,
                                            char err[COORD_CONFIG_ERR_MAX]);

/* The usage text printed by --help. */
const char *coord_config_usage(void);

/* The flag table, borrowed for the process's life; *N gets its length. */
const struct coord_config_flag *coord_config_flags(size_t *n);

/* The node that founds a new cluster: the lowest id --cluster names. */
uint64_t coord_config_founder(const struct coord_config *cfg);

#endif
