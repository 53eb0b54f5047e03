/* coordd's flags: defaults, parsing and the checks that refuse a bad flag. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: coordd [--id N] [--data DIR] [--http HOST:PORT] [--raft HOST:PORT]\n"
    "              [--cluster ID=HOST:PORT,...] [--heartbeat-ms N]\n"
    "              [--election-timeout-ms N] [--log-level debug|info|warn|error]\n"
    "              [--snapshot-entries N] [--log-tail N]\n"
    "              [--max-sessions N] [--max-locks-per-session N] [--max-waiters N]\n"
    "              [--join] [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]\n"
    "              [--peer-cert FILE --peer-key FILE --peer-ca FILE]\n"
    "              [--auth] [--bootstrap-token-file FILE] [--metrics-public]\n"
    "       coordd --restore FILE --cluster ID=HOST:PORT,... [--id N] [--data DIR]\n"
    "\n"
    "With no flags: a single-node cluster, id 1, data in ./coord-data,\n"
    "HTTP on 127.0.0.1:7070, Raft on 127.0.0.1:7170.\n"
    "--cluster lists every voter's Raft address, this node's included; it is\n"
    "read when the data folder is empty and ignored afterwards. The lowest id\n"
    "founds the cluster once every node it names is up with an empty folder.\n"
    "--join (with --id, --raft, --http; no --cluster) starts a node with an\n"
    "empty folder that waits to be added to a running cluster as a learner\n"
    "(POST /v1/members).\n"
    "--restore seeds an empty or absent --data folder from a snapshot file as a\n"
    "member of a new cluster whose voters --cluster names, and exits; then\n"
    "start the node on that folder. Every new member restores the same file\n"
    "with the same --cluster.\n"
    "A snapshot is taken every --snapshot-entries applied entries (default\n"
    "20000), keeping --log-tail entries (default 5000) for slow followers.\n"
    "The leader's --max-sessions (default 10000), --max-locks-per-session\n"
    "(default 64) and --max-waiters (default 256, per lock) are the\n"
    "cluster's limits: give every node the same values.\n"
    "--tls-cert and --tls-key (PEM files, both or neither) serve HTTPS on the\n"
    "--http port; --tls-client-ca also requires a client certificate signed by\n"
    "that CA (401 unauthenticated without one). SIGHUP reloads the certificate\n"
    "and key from the same files; the client CA is read at start only.\n"
    "--peer-cert, --peer-key and --peer-ca (PEM files, all three or none) run\n"
    "every Raft and forwarding connection over mutual TLS: a peer must present\n"
    "a certificate signed by --peer-ca. Give every node of a cluster the same\n"
    "choice: TLS and plain nodes never talk. Read at start.\n"
    "--auth requires a token (Authorization: Bearer TOKEN) on every request but\n"
    "GET /v1/health and POST /v1/auth/bootstrap, even before the bootstrap;\n"
    "once a cluster is bootstrapped every node requires one, with or without\n"
    "--auth. --bootstrap-token-file FILE (implies --auth) holds the secret of\n"
    "the first admin token (one line, 32 to 128 characters of A-Z a-z 0-9\n"
    "- . _ ~ + /): the first leader of a cluster not yet bootstrapped\n"
    "bootstraps it with that secret, as POST /v1/auth/bootstrap would with a\n"
    "drawn one. --metrics-public serves /metrics without a token.\n"
    "\n"
    "example (node 2 of 3):\n"
    "  coordd --id 2 --data /var/lib/coord --http 10.0.0.2:7070 --raft 10.0.0.2:7170 \\\n"
    "         --cluster 1=10.0.0.1:7170,2=10.0.0.2:7170,3=10.0.0.3:7170\n";

const char *coord_config_usage(void)
{
	return usage;
}

static enum coord_config_result bad(char *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static enum coord_config_result bad(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, COORD_CONFIG_ERR_MAX, fmt, ap);
	va_end(ap);
	return COORD_CONFIG_BAD;
}

static bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s < '0' || *s > '9')
		return false;
	v = strtoull(s, &end, 10);
	if (*end || v > max)
		return false;
	*out = v;
	return true;
}

/* HOST:PORT with a non-empty host and a port in 1..65535. */
static bool addr_ok(const char *s)
{
	const char *colon = strrchr(s, ':');
	uint64_t port;

	return colon && colon != s && strlen(s) < COORD_CONFIG_ADDR_MAX &&
	       parse_uint(colon + 1, 65535, &port) && port > 0;
}

static enum coord_config_result parse_cluster(const char *text, struct coord_config *cfg, char *err)
{
	char buf[COORD_CONFIG_MAX_MEMBERS * (COORD_CONFIG_ADDR_MAX + 24)];
	char *save = NULL;

	if (strlen(text) >= sizeof(buf))
		return bad(err, "--cluster is too long");
	strcpy(buf, text);
	cfg->n_members = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		struct coord_member *m;

		if (cfg->n_members == COORD_CONFIG_MAX_MEMBERS)
			return bad(err, "--cluster names more than %d members",
			           COORD_CONFIG_MAX_MEMBERS);
		m = &cfg->members[cfg->n_members];
		if (!eq)
			return bad(err, "--cluster entry '%.64s' is not ID=HOST:PORT", tok);
		*eq = '\0';
		if (!parse_uint(tok, UINT32_MAX, &m->id) || m->id == 0)
			return bad(err, "--cluster id '%.32s' is not a positive integer", tok);
		if (!addr_ok(eq + 1))
			return bad(err, "--cluster address '%.64s' is not HOST:PORT", eq + 1);
		for (size_t i = 0; i < cfg->n_members; i++)
			if (cfg->members[i].id == m->id)
				return bad(err, "--cluster names id %llu twice",
				           (unsigned long long)m->id);
		snprintf(m->raft, sizeof(m->raft), "%s", eq + 1);
		cfg->n_members++;
	}
	if (cfg->n_members == 0)
		return bad(err, "--cluster is empty");
	return COORD_CONFIG_OK;
}

/* Where the flags that name a file go (COORD_CONFIG_PATH_MAX bytes each). */
static const struct {
	const char *flag;
	size_t offset;
} file_flags[] = {
    {"--tls-cert", offsetof(struct coord_config, tls_cert)},
    {"--tls-key", offsetof(struct coord_config, tls_key)},
    {"--tls-client-ca", offsetof(struct coord_config, tls_client_ca)},
    {"--peer-cert", offsetof(struct coord_config, peer_cert)},
    {"--peer-key", offsetof(struct coord_config, peer_key)},
    {"--peer-ca", offsetof(struct coord_config, peer_ca)},
    {"--bootstrap-token-file", offsetof(struct coord_config, bootstrap_token_file)},
};

/* CFG's field for file flag FLAG, or NULL when FLAG names no file. */
static char *file_flag(struct coord_config *cfg, const char *flag)
{
	for (size_t i = 0; i < sizeof(file_flags) / sizeof(file_flags[0]); i++)
		if (strcmp(flag, file_flags[i].flag) == 0)
			return (char *)cfg + file_flags[i].offset;
	return NULL;
}

static enum coord_config_result parse_flag(const char *flag, const char *val,
                                           struct coord_config *cfg, const char **cluster,
                                           char *err)
{
	char *file = file_flag(cfg, flag);
	uint64_t n;

	if (strcmp(flag, "--id") == 0) {
		if (!parse_uint(val, UINT32_MAX, &cfg->id) || cfg->id == 0)
			return bad(err, "--id must be a positive integer");
		cfg->id_given = true;
	} else if (strcmp(flag, "--data") == 0) {
		if (!*val || strlen(val) >= sizeof(cfg->data))
			return bad(err, "--data must be a folder path");
		snprintf(cfg->data, sizeof(cfg->data), "%s", val);
	} else if (strcmp(flag, "--http") == 0 || strcmp(flag, "--raft") == 0) {
		if (!addr_ok(val))
			return bad(err, "%s must be HOST:PORT", flag);
		snprintf(flag[2] == 'h' ? cfg->http : cfg->raft, COORD_CONFIG_ADDR_MAX, "%s", val);
		if (flag[2] == 'r')
			cfg->raft_given = true;
	} else if (strcmp(flag, "--cluster") == 0) {
		*cluster = val;
	} else if (strcmp(flag, "--restore") == 0) {
		if (!*val || strlen(val) >= sizeof(cfg->restore))
			return bad(err, "--restore must be a snapshot file's path");
		snprintf(cfg->restore, sizeof(cfg->restore), "%s", val);
	} else if (file) {
		if (!*val || strlen(val) >= COORD_CONFIG_PATH_MAX)
			return bad(err, "%s must be a file's path", flag);
		snprintf(file, COORD_CONFIG_PATH_MAX, "%s", val);
	} else if (strcmp(flag, "--heartbeat-ms") == 0) {
		if (!parse_uint(val, COORD_ELECTION_MAX_MS, &n) || n < COORD_HEARTBEAT_MIN_MS)
			return bad(err, "--heartbeat-ms must be an integer from %d to %d",
			           COORD_HEARTBEAT_MIN_MS, COORD_ELECTION_MAX_MS);
		cfg->heartbeat_ms = (unsigned)n;
	} else if (strcmp(flag, "--election-timeout-ms") == 0) {
		if (!parse_uint(val, COORD_ELECTION_MAX_MS, &n) || n == 0)
			return bad(err, "--election-timeout-ms must be an integer up to %d",
			           COORD_ELECTION_MAX_MS);
		cfg->election_ms = (unsigned)n;
	} else if (strcmp(flag, "--snapshot-entries") == 0) {
		if (!parse_uint(val, UINT32_MAX, &n) || n < COORD_SNAPSHOT_ENTRIES_MIN)
			return bad(err, "--snapshot-entries must be an integer of at least %d",
			           COORD_SNAPSHOT_ENTRIES_MIN);
		cfg->snapshot_entries = (unsigned)n;
	} else if (strcmp(flag, "--log-tail") == 0) {
		if (!parse_uint(val, UINT32_MAX, &n))
			return bad(err, "--log-tail must be a non-negative integer");
		cfg->log_tail = (unsigned)n;
	} else if (strcmp(flag, "--max-sessions") == 0) {
		if (!parse_uint(val, UINT32_MAX, &n))
			return bad(err, "--max-sessions must be a positive integer");
		cfg->limits.sessions = (uint32_t)n;
	} else if (strcmp(flag, "--max-locks-per-session") == 0) {
		if (!parse_uint(val, UINT32_MAX, &n))
			return bad(err, "--max-locks-per-session must be a positive integer");
		cfg->limits.objects = (uint32_t)n;
	} else if (strcmp(flag, "--max-waiters") == 0) {
		if (!parse_uint(val, UINT32_MAX, &n))
			return bad(err, "--max-waiters must be a positive integer");
		cfg->limits.waiters = (uint32_t)n;
	} else if (strcmp(flag, "--log-level") == 0) {
		static const char *const levels[] = {"debug", "info", "warn", "error"};
		size_t i;

		for (i = 0; i < 4 && strcmp(val, levels[i]) != 0; i++)
			;
		if (i == 4)
			return bad(err, "--log-level must be debug, info, warn or error");
		cfg->log_level = (enum coord_log_level)i;
	} else {
		return bad(err, "unknown flag %.64s (see --help)", flag);
	}
	return COORD_CONFIG_OK;
}

static void set_defaults(struct coord_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->id = 1;
	snprintf(cfg->data, sizeof(cfg->data), "%s", COORD_DEFAULT_DATA);
	snprintf(cfg->http, sizeof(cfg->http), "%s", COORD_DEFAULT_HTTP);
	snprintf(cfg->raft, sizeof(cfg->raft), "%s", COORD_DEFAULT_RAFT);
	cfg->heartbeat_ms = COORD_DEFAULT_HEARTBEAT_MS;
	cfg->election_ms = COORD_DEFAULT_ELECTION_MS;
	cfg->log_level = COORD_LOG_INFO;
	cfg->snapshot_entries = COORD_DEFAULT_SNAPSHOT_ENTRIES;
	cfg->log_tail = COORD_DEFAULT_LOG_TAIL;
	cfg->limits = coord_limits_default();
}

/* Cross-flag checks, once every flag is known. */
static enum coord_config_result check(struct coord_config *cfg, const char *cluster, char *err)
{
	enum coord_config_result r;
	const struct coord_member *self = NULL;
	const char *why = coord_limits_check(&cfg->limits);

	if (cfg->heartbeat_ms * 2 > cfg->election_ms)
		return bad(err, "--election-timeout-ms must be at least twice --heartbeat-ms");
	if (why != NULL) /* the flags' names for limits.h's rules */
		return bad(err,
		           "%s (--max-sessions %u, --max-locks-per-session %u, --max-waiters %u)",
		           why, cfg->limits.sessions, cfg->limits.objects, cfg->limits.waiters);
	if (!cfg->tls_cert[0] != !cfg->tls_key[0])
		return bad(err, "--tls-cert and --tls-key go together: give both or neither");
	if (cfg->tls_client_ca[0] && !cfg->tls_cert[0])
		return bad(err, "--tls-client-ca needs --tls-cert and --tls-key");
	if (!cfg->peer_cert[0] != !cfg->peer_key[0] || !cfg->peer_cert[0] != !cfg->peer_ca[0])
		return bad(err, "--peer-cert, --peer-key and --peer-ca go together: give all three "
		                "or none");
	if (cfg->bootstrap_token_file[0]) /* a cluster meant to be secured never runs open */
		cfg->auth = true;
	if (cfg->restore[0] && cfg->join)
		return bad(err, "--restore takes no --join: the restored members form a new "
		                "cluster of their own");
	if (cfg->restore[0] && !cluster)
		return bad(err, "--restore needs --cluster: every voter of the new cluster");
	if (cfg->join && (cluster || !cfg->id_given))
		return bad(err, "--join needs --id and takes no --cluster: the cluster adds the "
		                "node through POST /v1/members");
	if (!cluster) {
		cfg->n_members = 1;
		cfg->members[0].id = cfg->id;
		snprintf(cfg->members[0].raft, sizeof(cfg->members[0].raft), "%s", cfg->raft);
		return COORD_CONFIG_OK;
	}
	cfg->cluster_given = true;
	if ((r = parse_cluster(cluster, cfg, err)) != COORD_CONFIG_OK)
		return r;
	for (size_t i = 0; i < cfg->n_members; i++)
		if (cfg->members[i].id == cfg->id)
			self = &cfg->members[i];
	if (!self)
		return bad(err, "--cluster must name this node's id %llu",
		           (unsigned long long)cfg->id);
	if (!cfg->raft_given)
		snprintf(cfg->raft, sizeof(cfg->raft), "%s", self->raft);
	else if (strcmp(self->raft, cfg->raft) != 0)
		return bad(err, "--cluster gives node %llu the address %s but --raft is %s",
		           (unsigned long long)cfg->id, self->raft, cfg->raft);
	return COORD_CONFIG_OK;
}

enum coord_config_result coord_config_parse(int argc, const char *const argv[],
                                            struct coord_config *cfg,
                                            char err[COORD_CONFIG_ERR_MAX])
{
	const char *cluster = NULL;
	enum coord_config_result r;

	set_defaults(cfg);
	err[0] = '\0';
	for (int i = 1; i < argc; i++) {
		const char *flag = argv[i], *val, *eq;
		char name[32];

		if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
			cfg->help = true;
			return COORD_CONFIG_HELP;
		}
		if (strcmp(flag, "--join") == 0) {
			cfg->join = true;
			continue;
		}
		if (strcmp(flag, "--auth") == 0) {
			cfg->auth = true;
			continue;
		}
		if (strcmp(flag, "--metrics-public") == 0) {
			cfg->metrics_public = true;
			continue;
		}
		/* --flag=value or --flag value */
		eq = strchr(flag, '=');
		if (strncmp(flag, "--", 2) == 0 && eq && (size_t)(eq - flag) < sizeof(name)) {
			memcpy(name, flag, (size_t)(eq - flag));
			name[eq - flag] = '\0';
			flag = name;
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			return bad(err, "%.64s needs a value (see --help)", flag);
		}
		if ((r = parse_flag(flag, val, cfg, &cluster, err)) != COORD_CONFIG_OK)
			return r;
	}
	return check(cfg, cluster, err);
}

uint64_t coord_config_founder(const struct coord_config *cfg)
{
	uint64_t low = cfg->members[0].id;

	for (size_t i = 1; i < cfg->n_members; i++)
		if (cfg->members[i].id < low)
			low = cfg->members[i].id;
	return low;
}
