/* coordd's flags: the one table of them, defaults, the command line, and
 * the checks that refuse a bad flag (the --config file is config_file.c). */
#include "config.h"

#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_parse.h"

static const char usage[] =
    "usage: coordd [--config FILE] [--id N] [--data DIR] [--http HOST:PORT]\n"
    "              [--raft HOST:PORT]\n"
    "              [--cluster ID=HOST:PORT,...] [--heartbeat-ms N]\n"
    "              [--election-timeout-ms N] [--log-level debug|info|warn|error]\n"
    "              [--snapshot-entries N] [--log-tail N]\n"
    "              [--max-sessions N] [--max-locks-per-session N] [--max-waiters N]\n"
    "              [--join] [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]\n"
    "              [--peer-cert FILE --peer-key FILE --peer-ca FILE]\n"
    "              [--auth] [--bootstrap-token-file FILE] [--metrics-public]\n"
    "              [--fresh-lease-on-election]\n"
    "       coordd --restore FILE --cluster ID=HOST:PORT,... [--id N] [--data DIR]\n"
    "\n"
    "With no flags: a single-node cluster, id 1, data in ./coord-data,\n"
    "HTTP on 127.0.0.1:7070, Raft on 127.0.0.1:7170.\n"
    "--config FILE reads flags from FILE, one \"key = value\" line each: the\n"
    "flag's name without --, true or false for --join, --auth,\n"
    "--metrics-public and --fresh-lease-on-election; # starts a comment line.\n"
    "Each key at most once; flags on the command line win over the file.\n"
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
    "--fresh-lease-on-election: a new leader gives every session a fresh TTL, as\n"
    "etcd, Consul and ZooKeeper do, and keepalives write nothing to the log;\n"
    "sessions then outlive a disk too slow to commit, but elections may extend\n"
    "a dead client's session without bound. By default a session ends within\n"
    "its TTL plus two election timeouts of its last acknowledged keepalive,\n"
    "however many elections come between. Give every node the same choice.\n"
    "\n"
    "example (node 2 of 3):\n"
    "  coordd --id 2 --data /var/lib/coord --http 10.0.0.2:7070 --raft 10.0.0.2:7170 \\\n"
    "         --cluster 1=10.0.0.1:7170,2=10.0.0.2:7170,3=10.0.0.3:7170\n";

const char *coord_config_usage(void)
{
	return usage;
}

enum coord_config_result config_bad(char *err, const char *fmt, ...)
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

/* --cluster's TEXT into cfg->members; LABEL names the flag or key. */
static enum coord_config_result parse_cluster(const char *text, struct coord_config *cfg,
                                              const char *label, char *err)
{
	char buf[COORD_CONFIG_MAX_MEMBERS * (COORD_CONFIG_ADDR_MAX + 24)];
	char *save = NULL;

	if (strlen(text) >= sizeof(buf))
		return config_bad(err, "%s is too long", label);
	strcpy(buf, text);
	cfg->n_members = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		struct coord_member *m;

		if (cfg->n_members == COORD_CONFIG_MAX_MEMBERS)
			return config_bad(err, "%s names more than %d members", label,
			                  COORD_CONFIG_MAX_MEMBERS);
		m = &cfg->members[cfg->n_members];
		if (!eq)
			return config_bad(err, "%s entry '%.64s' is not ID=HOST:PORT", label, tok);
		*eq = '\0';
		if (!parse_uint(tok, UINT32_MAX, &m->id) || m->id == 0)
			return config_bad(err, "%s id '%.32s' is not a positive integer", label,
			                  tok);
		if (!addr_ok(eq + 1))
			return config_bad(err, "%s address '%.64s' is not HOST:PORT", label,
			                  eq + 1);
		for (size_t i = 0; i < cfg->n_members; i++)
			if (cfg->members[i].id == m->id)
				return config_bad(err, "%s names id %llu twice", label,
				                  (unsigned long long)m->id);
		snprintf(m->raft, sizeof(m->raft), "%s", eq + 1);
		cfg->n_members++;
	}
	if (cfg->n_members == 0)
		return config_bad(err, "%s is empty", label);
	cfg->cluster_given = true;
	return COORD_CONFIG_OK;
}

/* The flags, in --help's order. Every flag is a row: the command line and
 * the --config file both read it through config_flag_set(), so a flag and
 * its key cannot disagree. --config and --help are the command line's own. */
#define FIELD(f)     offsetof(struct coord_config, f), sizeof(((struct coord_config *)0)->f)
#define NUM(f, a, b) COORD_CONFIG_UINT, FIELD(f), (a), (b)
static const struct coord_config_flag flags[] = {
    {"id", NUM(id, 1, UINT32_MAX), "2"},
    {"data", COORD_CONFIG_PATH, FIELD(data), 0, 0, "/var/lib/coord"},
    {"http", COORD_CONFIG_ADDR, FIELD(http), 0, 0, "127.0.0.1:7072"},
    {"raft", COORD_CONFIG_ADDR, FIELD(raft), 0, 0, "127.0.0.1:7172"},
    {"cluster", COORD_CONFIG_CLUSTER, 0, 0, 0, 0, "1=127.0.0.1:7170,2=127.0.0.1:7171"},
    {"heartbeat-ms", NUM(heartbeat_ms, COORD_HEARTBEAT_MIN_MS, COORD_ELECTION_MAX_MS), "50"},
    {"election-timeout-ms", NUM(election_ms, 1, COORD_ELECTION_MAX_MS), "2000"},
    {"log-level", COORD_CONFIG_LEVEL, FIELD(log_level), 0, 0, "debug"},
    {"snapshot-entries", NUM(snapshot_entries, COORD_SNAPSHOT_ENTRIES_MIN, UINT32_MAX), "500"},
    {"log-tail", NUM(log_tail, 0, UINT32_MAX), "100"},
    {"max-sessions", NUM(limits.sessions, 1, UINT32_MAX), "500"},
    {"max-locks-per-session", NUM(limits.objects, 1, UINT32_MAX), "8"},
    {"max-waiters", NUM(limits.waiters, 1, UINT32_MAX), "16"},
    {"join", COORD_CONFIG_BOOL, FIELD(join), 0, 0, "true"},
    {"tls-cert", COORD_CONFIG_PATH, FIELD(tls_cert), 0, 0, "/etc/coord/server.pem"},
    {"tls-key", COORD_CONFIG_PATH, FIELD(tls_key), 0, 0, "/etc/coord/server.key"},
    {"tls-client-ca", COORD_CONFIG_PATH, FIELD(tls_client_ca), 0, 0, "/etc/coord/clients.pem"},
    {"peer-cert", COORD_CONFIG_PATH, FIELD(peer_cert), 0, 0, "/etc/coord/peer.pem"},
    {"peer-key", COORD_CONFIG_PATH, FIELD(peer_key), 0, 0, "/etc/coord/peer.key"},
    {"peer-ca", COORD_CONFIG_PATH, FIELD(peer_ca), 0, 0, "/etc/coord/peer-ca.pem"},
    {"auth", COORD_CONFIG_BOOL, FIELD(auth), 0, 0, "true"},
    {"bootstrap-token-file", COORD_CONFIG_PATH, FIELD(bootstrap_token_file), 0, 0,
     "/etc/coord/bootstrap-token"},
    {"metrics-public", COORD_CONFIG_BOOL, FIELD(metrics_public), 0, 0, "true"},
    {"fresh-lease-on-election", COORD_CONFIG_BOOL, FIELD(fresh_lease), 0, 0, "true"},
    {"restore", COORD_CONFIG_PATH, FIELD(restore), 0, 0, "/var/backups/coord.db"},
};
#undef NUM
#undef FIELD
#define N_FLAGS (sizeof(flags) / sizeof(flags[0]))
_Static_assert(N_FLAGS <= COORD_CONFIG_FLAGS_MAX, "raise COORD_CONFIG_FLAGS_MAX");

const struct coord_config_flag *coord_config_flags(size_t *n)
{
	*n = N_FLAGS;
	return flags;
}

int config_flag_index(const char *name)
{
	for (size_t i = 0; i < N_FLAGS; i++)
		if (strcmp(flags[i].name, name) == 0)
			return (int)i;
	return -1;
}

static enum coord_config_result set_uint(const struct coord_config_flag *f, const char *label,
                                         const char *val, char *field, char *err)
{
	uint64_t n;
	uint32_t n32;

	if (!parse_uint(val, f->max, &n) || n < f->min)
		return config_bad(err, "%s must be an integer from %llu to %llu", label,
		                  (unsigned long long)f->min, (unsigned long long)f->max);
	if (f->size == sizeof(uint64_t)) {
		memcpy(field, &n, sizeof(n));
	} else {
		assert(f->size == sizeof(uint32_t) && f->max <= UINT32_MAX);
		n32 = (uint32_t)n;
		memcpy(field, &n32, sizeof(n32));
	}
	return COORD_CONFIG_OK;
}

enum coord_config_result config_flag_set(struct config_parse *st, int i, const char *label,
                                         const char *val, char *err)
{
	static const char *const levels[] = {"debug", "info", "warn", "error"};
	const struct coord_config_flag *f = &flags[i];
	char *field = (char *)st->cfg + f->offset;
	bool yes;
	size_t l;

	assert(i >= 0 && (size_t)i < N_FLAGS && (val != NULL || f->kind == COORD_CONFIG_BOOL));
	st->given[i] = true;
	switch (f->kind) {
	case COORD_CONFIG_BOOL: /* the command line's flag alone says true */
		if (val && strcmp(val, "true") != 0 && strcmp(val, "false") != 0)
			return config_bad(err, "%s must be true or false", label);
		yes = !val || strcmp(val, "true") == 0;
		memcpy(field, &yes, sizeof(yes));
		return COORD_CONFIG_OK;
	case COORD_CONFIG_UINT:
		return set_uint(f, label, val, field, err);
	case COORD_CONFIG_ADDR:
		if (!addr_ok(val))
			return config_bad(err, "%s must be HOST:PORT", label);
		break;
	case COORD_CONFIG_PATH:
		if (!*val || strlen(val) >= f->size)
			return config_bad(err, "%s must be a path of 1 to %zu bytes", label,
			                  f->size - 1);
		break;
	case COORD_CONFIG_LEVEL:
		for (l = 0; l < 4 && strcmp(val, levels[l]) != 0; l++)
			;
		if (l == 4)
			return config_bad(err, "%s must be debug, info, warn or error", label);
		st->cfg->log_level = (enum coord_log_level)l;
		return COORD_CONFIG_OK;
	case COORD_CONFIG_CLUSTER:
		return parse_cluster(val, st->cfg, label, err);
	}
	snprintf(field, f->size, "%s", val); /* ADDR and PATH: checked to fit */
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
static enum coord_config_result check(struct coord_config *cfg, char *err)
{
	const struct coord_member *self = NULL;
	const char *why = coord_limits_check(&cfg->limits);

	if (cfg->heartbeat_ms * 2 > cfg->election_ms)
		return config_bad(err,
		                  "--election-timeout-ms must be at least twice --heartbeat-ms");
	if (why != NULL) /* the flags' names for limits.h's rules */
		return config_bad(
		    err, "%s (--max-sessions %u, --max-locks-per-session %u, --max-waiters %u)",
		    why, cfg->limits.sessions, cfg->limits.objects, cfg->limits.waiters);
	if (!cfg->tls_cert[0] != !cfg->tls_key[0])
		return config_bad(err,
		                  "--tls-cert and --tls-key go together: give both or neither");
	if (cfg->tls_client_ca[0] && !cfg->tls_cert[0])
		return config_bad(err, "--tls-client-ca needs --tls-cert and --tls-key");
	if (!cfg->peer_cert[0] != !cfg->peer_key[0] || !cfg->peer_cert[0] != !cfg->peer_ca[0])
		return config_bad(
		    err, "--peer-cert, --peer-key and --peer-ca go together: give all three "
		         "or none");
	if (cfg->bootstrap_token_file[0]) /* a cluster meant to be secured never runs open */
		cfg->auth = true;
	if (cfg->restore[0] && cfg->join)
		return config_bad(err, "--restore takes no --join: the restored members form a new "
		                       "cluster of their own");
	if (cfg->restore[0] && !cfg->cluster_given)
		return config_bad(err, "--restore needs --cluster: every voter of the new cluster");
	if (cfg->join && (cfg->cluster_given || !cfg->id_given))
		return config_bad(err, "--join needs --id and takes no --cluster: the cluster "
		                       "adds the node through POST /v1/members");
	if (!cfg->cluster_given) {
		cfg->n_members = 1;
		cfg->members[0].id = cfg->id;
		snprintf(cfg->members[0].raft, sizeof(cfg->members[0].raft), "%s", cfg->raft);
		return COORD_CONFIG_OK;
	}
	for (size_t i = 0; i < cfg->n_members; i++)
		if (cfg->members[i].id == cfg->id)
			self = &cfg->members[i];
	if (!self)
		return config_bad(err, "--cluster must name this node's id %llu",
		                  (unsigned long long)cfg->id);
	if (!cfg->raft_given)
		snprintf(cfg->raft, sizeof(cfg->raft), "%s", self->raft);
	else if (strcmp(self->raft, cfg->raft) != 0)
		return config_bad(err, "--cluster gives node %llu the address %s but --raft is %s",
		                  (unsigned long long)cfg->id, self->raft, cfg->raft);
	return COORD_CONFIG_OK;
}

/* One flag of ARGV at *I (moved past its value). With ST NULL it is only
 * read: --config's value goes to CFG, and nothing else is set. */
static enum coord_config_result argv_flag(int argc, const char *const argv[], int *i,
                                          struct config_parse *st, struct coord_config *cfg,
                                          char *err)
{
	const char *flag = argv[*i], *val = NULL, *eq = strchr(flag, '=');
	char name[48];
	int f;

	if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
		cfg->help = true;
		return COORD_CONFIG_HELP;
	}
	if (strncmp(flag, "--", 2) != 0 || (eq && (size_t)(eq - flag) >= sizeof(name)))
		return config_bad(err, "unknown flag %.64s (see --help)", flag);
	snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - flag) : (int)strlen(flag), flag);
	f = config_flag_index(name + 2);
	if (f < 0 && strcmp(name, "--config") != 0)
		return config_bad(err, "unknown flag %.64s (see --help)", name);
	if (f >= 0 && flags[f].kind == COORD_CONFIG_BOOL) {
		if (eq)
			return config_bad(err, "%s takes no value", name);
	} else if (eq) {
		val = eq + 1;
	} else if (*i + 1 < argc) {
		val = argv[++*i];
	} else {
		return config_bad(err, "%.64s needs a value (see --help)", name);
	}
	if (f < 0) { /* --config, read in the first pass */
		if (st)
			return COORD_CONFIG_OK;
		if (cfg->config[0])
			return config_bad(err, "--config is given twice");
		if (!*val || strlen(val) >= sizeof(cfg->config))
			return config_bad(err, "--config must be a file's path");
		snprintf(cfg->config, sizeof(cfg->config), "%s", val);
		return COORD_CONFIG_OK;
	}
	return st ? config_flag_set(st, f, name, val, err) : COORD_CONFIG_OK;
}

enum coord_config_result coord_config_parse(int argc, const char *const argv[],
                                            struct coord_config *cfg,
                                            char err[COORD_CONFIG_ERR_MAX])
{
	struct config_parse st = {.cfg = cfg};
	enum coord_config_result r;

	set_defaults(cfg);
	err[0] = '\0';
	/* First the command line's shape and --config, then the file, then
	 * the command line again, so that its flags win. */
	for (int i = 1; i < argc; i++)
		if ((r = argv_flag(argc, argv, &i, NULL, cfg, err)) != COORD_CONFIG_OK)
			return r;
	if (cfg->config[0] && (r = config_file_read(&st, cfg->config, err)) != COORD_CONFIG_OK)
		return r;
	for (int i = 1; i < argc; i++)
		if ((r = argv_flag(argc, argv, &i, &st, cfg, err)) != COORD_CONFIG_OK)
			return r;
	cfg->id_given = st.given[config_flag_index("id")];
	cfg->raft_given = st.given[config_flag_index("raft")];
	return check(cfg, err);
}

uint64_t coord_config_founder(const struct coord_config *cfg)
{
	uint64_t low = cfg->members[0].id;

	for (size_t i = 1; i < cfg->n_members; i++)
		if (cfg->members[i].id < low)
			low = cfg->members[i].id;
	return low;
}
