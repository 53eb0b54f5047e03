/* coord-bench: a closed-loop load generator for coord, etcd (through its
 * JSON gateway) and ZooKeeper (through its C client); every figure it
 * prints is measured the same way for all three (see docs/BENCHMARKS.md).
 *
 *   coord-bench --target coord|etcd|zookeeper --endpoints URL[,URL...] --workload W
 *               [--clients N] [--duration 10s] [--warmup 1s] [--timeout 10s]
 *               [--retry 10ms] [--ttl 60s] [--pids PID,...] [--spread]
 *               [--rotate] [--tag T] [--cacert FILE] [--cert FILE --key FILE]
 *               [--token-file FILE]
 *   coord-bench --target coord --endpoints URL --workload fill --sessions S
 *               [--locks L] [--prefix P] [--offset N] [--clients N] [--ttl 1h]
 *
 * fill creates sessions OFFSET..OFFSET+S-1 (TTL 1 h unless --ttl says
 * otherwise, so none needs a keepalive for an hour), each holding locks
 * P/<session>/0..L-1, and leaves them; --duration (default 1 h) only bounds
 * it. Its summary says what was created and how fast, and says so loudly
 * when coord refused requests at a named limit (429 too_many).
 *
 * https endpoints are verified with --cacert (else the system's CAs);
 * --cert/--key present a client certificate. --token-file (coord only)
 * sends the file's bearer token on every request; the token is never
 * printed. Each client's connection, and so its TLS session, lasts the
 * whole run (tls.c).
 *
 * It prints a readable report and, last, one line starting "BENCH " with
 * key=value fields for scripts. Exit status: 0 after a run (errors are in
 * the report), 1 when the workload could not be set up, 2 on a bad flag. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static const char *const workload_names[BENCH_WORKLOAD_COUNT] = {
    [BENCH_LOCK_OWN] = "lock-own",
    [BENCH_LOCK_CONTENDED] = "lock-contended",
    [BENCH_KEEPALIVE] = "keepalive",
    [BENCH_READ_LINEAR] = "read-linearizable",
    [BENCH_READ_STALE] = "read-stale",
    [BENCH_SESSION_CYCLE] = "session-cycle",
    [BENCH_FILL] = "fill",
    [BENCH_KV_PUT] = "kv-put",
    [BENCH_KV_GET] = "kv-get",
    [BENCH_KV_GET_STALE] = "kv-get-stale",
    [BENCH_KV_CAS] = "kv-cas",
};

#define FILL_TTL_MS 3600000L /* coord's longest session TTL */

int bench_workload_parse(const char *name)
{
	for (int i = 0; i < BENCH_WORKLOAD_COUNT; i++) {
		if (strcmp(name, workload_names[i]) == 0) {
			return i;
		}
	}
	return -1;
}

const char *bench_target_name(int target)
{
	static const char *const names[] = {
	    [BENCH_COORD] = "coord", [BENCH_ETCD] = "etcd", [BENCH_ZOOKEEPER] = "zookeeper"};
	return target >= BENCH_COORD && target <= BENCH_ZOOKEEPER ? names[target] : "?";
}

const char *bench_workload_name(int workload)
{
	return workload >= 0 && workload < BENCH_WORKLOAD_COUNT ? workload_names[workload] : "?";
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: coord-bench --target coord|etcd|zookeeper --endpoints URL[,URL...]\n"
	        "       --workload W\n"
	        "       [--clients N] [--duration D] [--warmup D] [--timeout D] [--retry D]\n"
	        "       [--ttl D] [--pids PID,...] [--spread] [--rotate] [--tag T]\n"
	        "       [--cacert FILE] [--cert FILE --key FILE] [--token-file FILE]\n"
	        "       coord-bench --target coord --endpoints URL --workload fill --sessions S\n"
	        "       [--locks L] [--prefix P] [--offset N] [--clients N] [--ttl D]\n"
	        "workloads: lock-own lock-contended keepalive read-linearizable read-stale\n"
	        "           session-cycle fill kv-put kv-get kv-get-stale kv-cas\n"
	        "fill       create sessions OFFSET..OFFSET+S-1 (default TTL 1h), each holding\n"
	        "           locks P/<session>/0..L-1 (default P fill, L 64), and keep them;\n"
	        "           --duration only bounds it (default 1h), no warm-up\n"
	        "durations: 250ms, 10s, 2m (a bare number is milliseconds)\n"
	        "zookeeper  endpoints are host:port client ports; no TLS, tokens or --rotate\n"
	        "--spread   client i starts on endpoint i %% n (default: all on the first)\n"
	        "--rotate   after a failed request, retry on the next endpoint\n"
	        "--pids     server processes whose CPU time and memory are reported\n"
	        "--cacert   CA certificate (PEM) that verifies https endpoints\n"
	        "--cert     client certificate (PEM) to present; --key: its private key\n"
	        "--token-file FILE\n"
	        "           coord: the bearer token in FILE goes with every request\n"
	        "           (Authorization: Bearer); it is never printed\n");
}

/* A duration with unit ms, s or m; -1 if malformed or over the limit. */
static long parse_ms(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	double scale = 1;
	if (end == s || v < 0) {
		return -1;
	}
	if (strcmp(end, "s") == 0) {
		scale = 1000;
	} else if (strcmp(end, "m") == 0) {
		scale = 60000;
	} else if (strcmp(end, "ms") != 0 && *end != '\0') {
		return -1;
	}
	double ms = v * scale;
	return ms > BENCH_DURATION_MAX_MS ? -1 : (long)ms;
}

static int parse_endpoints(struct bench_options *o, const char *list)
{
	char buf[BENCH_MAX_ENDPOINTS * BENCH_URL_MAX];
	snprintf(buf, sizeof(buf), "%s", list);
	o->n_endpoints = 0;
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t len = strlen(tok);
		while (len > 0 && tok[len - 1] == '/') {
			tok[--len] = '\0';
		}
		if (o->n_endpoints == BENCH_MAX_ENDPOINTS || len == 0 || len >= BENCH_URL_MAX) {
			return BENCH_EUSAGE;
		}
		memcpy(o->endpoints[o->n_endpoints++], tok, len + 1);
	}
	return o->n_endpoints > 0 ? 0 : BENCH_EUSAGE;
}

static int parse_pids(struct bench_options *o, const char *list)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", list);
	o->n_pids = 0;
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		int pid = atoi(tok);
		if (o->n_pids == BENCH_MAX_PIDS || pid <= 0) {
			return BENCH_EUSAGE;
		}
		o->pids[o->n_pids++] = pid;
	}
	return 0;
}

static int bad(const char *what, const char *value)
{
	fprintf(stderr, "coord-bench: bad %s '%s'\n", what, value);
	return BENCH_EUSAGE;
}

static int parse_duration_flag(const char *name, const char *arg, long min, long *out)
{
	*out = parse_ms(arg);
	return *out < min ? bad(name, arg) : 0;
}

/* A whole number in [MIN, MAX] into OUT. */
static int parse_count(const char *name, const char *arg, long min, long max, long *out)
{
	char *end;
	*out = strtol(arg, &end, 10);
	return end == arg || *end != '\0' || *out < min || *out > max ? bad(name, arg) : 0;
}

/* A lock name prefix: what docs/API.md allows in a name, without a leading
 * or trailing '/' or "//", short enough for "<prefix>/<session>/<lock>". */
static int valid_prefix(const char *p)
{
	size_t len = strlen(p);
	if (len == 0 || len >= BENCH_PREFIX_MAX || p[0] == '/' || p[len - 1] == '/' ||
	    strstr(p, "//") != NULL) {
		return 0;
	}
	return strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-:/") ==
	       len;
}

/* Copies the path ARG of flag NAME into OUT (BENCH_PATH_MAX bytes). */
static int parse_path(const char *name, const char *arg, char *out)
{
	if (arg[0] == '\0' || strlen(arg) >= BENCH_PATH_MAX) {
		return bad(name, arg);
	}
	snprintf(out, BENCH_PATH_MAX, "%s", arg);
	return 0;
}

/* The TLS and token flags, checked together once all are parsed: a client
 * certificate needs its key, and only coord takes a token. */
static int tls_flags(struct bench_options *o, const char *token_file, int target)
{
	if ((o->cert[0] == '\0') != (o->key[0] == '\0')) {
		fprintf(stderr, "coord-bench: --cert and --key go together\n");
		return BENCH_EUSAGE;
	}
	if (token_file == NULL) {
		return 0;
	}
	if (target != BENCH_COORD) {
		fprintf(stderr, "coord-bench: --token-file is for --target coord only\n");
		return BENCH_EUSAGE;
	}
	char errmsg[BENCH_PATH_MAX + 128];
	if (bench_token_header(token_file, o->auth_header, sizeof(o->auth_header), errmsg,
	                       sizeof(errmsg)) != 0) {
		fprintf(stderr, "coord-bench: --token-file: %s\n", errmsg);
		return BENCH_EUSAGE;
	}
	return 0;
}

/* ZooKeeper's endpoints are host:port of client ports, and its sessions are
 * plain, without tokens (coord-bench does not set up ZooKeeper's TLS). */
static int zookeeper_flags(const struct bench_options *o)
{
	if (o->cacert[0] != '\0' || o->cert[0] != '\0' || o->auth_header[0] != '\0' || o->rotate) {
		fprintf(stderr, "coord-bench: --cacert, --cert, --key, --token-file and --rotate "
		                "are not for --target zookeeper\n");
		return BENCH_EUSAGE;
	}
	for (int i = 0; i < o->n_endpoints; i++) {
		if (strstr(o->endpoints[i], "://") != NULL ||
		    strchr(o->endpoints[i], ':') == NULL) {
			fprintf(stderr,
			        "coord-bench: --target zookeeper takes host:port endpoints, not "
			        "%s\n",
			        o->endpoints[i]);
			return BENCH_EUSAGE;
		}
	}
	return 0;
}

/* What a flag left unset means for a fill: no warm-up, the longest TTL, and
 * the longest duration as a mere bound. Other workloads ignore the fill
 * flags; a fill is coord's alone. */
static int fill_defaults(struct bench_options *o, int ttl_set, int duration_set, int target)
{
	if (o->workload != BENCH_FILL) {
		return 0;
	}
	if (target != BENCH_COORD) {
		fprintf(stderr, "coord-bench: the fill workload is for --target coord only\n");
		return BENCH_EUSAGE;
	}
	if (o->fill_sessions < 1) {
		fprintf(stderr, "coord-bench: fill needs --sessions\n");
		return BENCH_EUSAGE;
	}
	o->warmup_ms = 0;
	if (!ttl_set) {
		o->ttl_ms = FILL_TTL_MS;
	}
	if (!duration_set) {
		o->duration_ms = BENCH_DURATION_MAX_MS;
	}
	return 0;
}

static int parse_flags(int argc, char **argv, struct bench_options *o)
{
	static const struct option longopts[] = {{"target", required_argument, NULL, 'T'},
	                                         {"endpoints", required_argument, NULL, 'e'},
	                                         {"workload", required_argument, NULL, 'w'},
	                                         {"clients", required_argument, NULL, 'c'},
	                                         {"duration", required_argument, NULL, 'd'},
	                                         {"warmup", required_argument, NULL, 'W'},
	                                         {"timeout", required_argument, NULL, 't'},
	                                         {"retry", required_argument, NULL, 'r'},
	                                         {"ttl", required_argument, NULL, 'l'},
	                                         {"pids", required_argument, NULL, 'p'},
	                                         {"spread", no_argument, NULL, 's'},
	                                         {"rotate", no_argument, NULL, 'R'},
	                                         {"tag", required_argument, NULL, 'g'},
	                                         {"sessions", required_argument, NULL, 'S'},
	                                         {"locks", required_argument, NULL, 'L'},
	                                         {"offset", required_argument, NULL, 'O'},
	                                         {"prefix", required_argument, NULL, 'P'},
	                                         {"cacert", required_argument, NULL, 'C'},
	                                         {"cert", required_argument, NULL, 'E'},
	                                         {"key", required_argument, NULL, 'K'},
	                                         {"token-file", required_argument, NULL, 'k'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	int target = -1, opt, rc = 0, ttl_set = 0, duration_set = 0;
	const char *token_file = NULL;
	long n;
	while (rc == 0 && (opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'T':
			target = -1;
			for (int t = BENCH_COORD; t <= BENCH_ZOOKEEPER; t++) {
				target = strcmp(optarg, bench_target_name(t)) == 0 ? t : target;
			}
			rc = target < 0 ? bad("--target", optarg) : 0;
			break;
		case 'e':
			rc = parse_endpoints(o, optarg) != 0 ? bad("--endpoints", optarg) : 0;
			break;
		case 'w':
			o->workload = bench_workload_parse(optarg);
			rc = o->workload < 0 ? bad("--workload", optarg) : 0;
			break;
		case 'c':
			o->clients = atoi(optarg);
			rc = o->clients < 1 || o->clients > BENCH_MAX_CLIENTS
			         ? bad("--clients", optarg)
			         : 0;
			break;
		case 'd':
			rc = parse_duration_flag("--duration", optarg, 1, &o->duration_ms);
			duration_set = 1;
			break;
		case 'W':
			rc = parse_duration_flag("--warmup", optarg, 0, &o->warmup_ms);
			break;
		case 't':
			rc = parse_duration_flag("--timeout", optarg, 1, &o->timeout_ms);
			break;
		case 'r':
			rc = parse_duration_flag("--retry", optarg, 0, &o->retry_ms);
			break;
		case 'l':
			rc = parse_duration_flag("--ttl", optarg, 1000, &o->ttl_ms);
			ttl_set = 1;
			break;
		case 'p':
			rc = parse_pids(o, optarg) != 0 ? bad("--pids", optarg) : 0;
			break;
		case 's':
			o->spread = 1;
			break;
		case 'R':
			o->rotate = 1;
			break;
		case 'g':
			rc = strlen(optarg) >= sizeof(o->run_tag) || optarg[0] == '\0'
			         ? bad("--tag", optarg)
			         : 0;
			snprintf(o->run_tag, sizeof(o->run_tag), "%s", optarg);
			break;
		case 'S':
			rc =
			    parse_count("--sessions", optarg, 1, BENCH_FILL_MAX, &o->fill_sessions);
			break;
		case 'L':
			rc = parse_count("--locks", optarg, 0, BENCH_FILL_LOCKS_MAX, &n);
			o->fill_locks = (int)n;
			break;
		case 'O':
			rc = parse_count("--offset", optarg, 0, BENCH_FILL_MAX, &o->fill_offset);
			break;
		case 'P':
			rc = valid_prefix(optarg) ? 0 : bad("--prefix", optarg);
			snprintf(o->fill_prefix, sizeof(o->fill_prefix), "%s", optarg);
			break;
		case 'C':
			rc = parse_path("--cacert", optarg, o->cacert);
			break;
		case 'E':
			rc = parse_path("--cert", optarg, o->cert);
			break;
		case 'K':
			rc = parse_path("--key", optarg, o->key);
			break;
		case 'k':
			token_file = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			rc = BENCH_EUSAGE;
			break;
		}
	}
	if (rc == 0 && (target < 0 || o->workload < 0 || o->n_endpoints == 0 || optind != argc)) {
		fprintf(stderr, "coord-bench: --target, --endpoints and --workload are required\n");
		rc = BENCH_EUSAGE;
	}
	if (rc == 0) {
		rc = fill_defaults(o, ttl_set, duration_set, target);
	}
	if (rc == 0) {
		rc = tls_flags(o, token_file, target);
	}
	if (rc == 0 && target == BENCH_ZOOKEEPER) {
		rc = zookeeper_flags(o);
	}
	o->target = target < 0 ? BENCH_COORD : (enum bench_target)target;
	return rc;
}

static double ms(uint64_t us)
{
	return (double)us / 1000.0;
}

/* How many errors of KIND the tally holds. */
static unsigned long long count_kind(const struct bench_errors *e, const char *kind)
{
	for (int i = 0; i < e->n; i++) {
		if (strcmp(e->kind[i], kind) == 0) {
			return (unsigned long long)e->count[i];
		}
	}
	return 0;
}

static void print_report(const struct bench_options *o, const struct bench_result *r)
{
	const struct bench_hist *h = &r->hist;
	double rate = r->elapsed_s > 0 ? (double)r->ops / r->elapsed_s : 0;
	double busy = r->elapsed_s > 0 ? 100.0 * r->self_cpu_s / r->elapsed_s : 0;
	printf("coord-bench: %s %s, %d clients, %.1f s (warm-up %.1f s), %d endpoint(s)\n",
	       bench_target_name(o->target), bench_workload_name(o->workload), o->clients,
	       r->elapsed_s, (double)o->warmup_ms / 1000.0, o->n_endpoints);
	printf("  operations   %llu (%.1f/s)\n", (unsigned long long)r->ops, rate);
	printf("  latency ms   p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n",
	       ms(bench_hist_percentile(h, 50)), ms(bench_hist_percentile(h, 90)),
	       ms(bench_hist_percentile(h, 99)), ms(h->max_us));
	printf("  errors       %llu\n", (unsigned long long)r->errors.total);
	for (int i = 0; i < r->errors.n; i++) {
		printf("    %-30s %llu\n", r->errors.kind[i],
		       (unsigned long long)r->errors.count[i]);
	}
	printf("  longest gap  %.1f ms without a successful operation\n", ms(r->max_gap_us));
	printf("  connections  %llu opened in the window (each a TLS handshake over https)\n",
	       (unsigned long long)r->connects);
	printf("  coord-bench  cpu %.2f s (%.0f %% of one core; it uses one)\n", r->self_cpu_s,
	       busy);
	for (int i = 0; i < r->n_server; i++) {
		const struct bench_proc *p = &r->server[i];
		printf("  server %-6d cpu %.2f s (%.0f %% of one core), peak rss %ld KiB, rss %ld "
		       "KiB\n",
		       p->pid, p->cpu_s, r->elapsed_s > 0 ? 100.0 * p->cpu_s / r->elapsed_s : 0,
		       p->hwm_kib, p->rss_kib);
	}
	if (r->teardown_errors.total > 0) {
		printf("  teardown     %llu clean-up requests failed\n",
		       (unsigned long long)r->teardown_errors.total);
	}
	if (o->workload == BENCH_FILL) {
		unsigned long long too_many = count_kind(&r->errors, "http_429_too_many");
		printf("  created      %llu of %ld sessions, %llu of %lld locks, %.1f locks/s\n",
		       (unsigned long long)r->made_sessions, o->fill_sessions,
		       (unsigned long long)r->made_locks,
		       (long long)o->fill_sessions * o->fill_locks,
		       r->elapsed_s > 0 ? (double)r->made_locks / r->elapsed_s : 0);
		if (o->fill_locks > 0) {
			printf("  names        %s/%ld/0 .. %s/%ld/%d\n", o->fill_prefix,
			       o->fill_offset, o->fill_prefix,
			       o->fill_offset + o->fill_sessions - 1, o->fill_locks - 1);
		}
		if (too_many > 0) {
			printf("  LIMIT        %llu requests refused with 429 too_many: a named "
			       "limit of "
			       "coord is reached (sessions, or locks per session; docs/API.md, "
			       "Limits)\n",
			       too_many);
			fprintf(
			    stderr,
			    "coord-bench: fill hit a limit: %llu requests answered 429 too_many\n",
			    too_many);
		}
	}
}

static void print_summary(const struct bench_options *o, const struct bench_result *r)
{
	const struct bench_hist *h = &r->hist;
	double rate = r->elapsed_s > 0 ? (double)r->ops / r->elapsed_s : 0;
	printf("BENCH target=%s workload=%s clients=%d duration_s=%.3f ops=%llu ops_per_s=%.1f "
	       "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%llu errors_by_kind=",
	       bench_target_name(o->target), bench_workload_name(o->workload), o->clients,
	       r->elapsed_s, (unsigned long long)r->ops, rate, ms(bench_hist_percentile(h, 50)),
	       ms(bench_hist_percentile(h, 90)), ms(bench_hist_percentile(h, 99)), ms(h->max_us),
	       (unsigned long long)r->errors.total);
	for (int i = 0; i < r->errors.n; i++) {
		printf("%s%s:%llu", i ? "," : "", r->errors.kind[i],
		       (unsigned long long)r->errors.count[i]);
	}
	printf("%s max_gap_ms=%.1f bench_cpu_s=%.3f bench_cpu_pct=%.1f teardown_errors=%llu "
	       "connects=%llu",
	       r->errors.n ? "" : "-", ms(r->max_gap_us), r->self_cpu_s,
	       r->elapsed_s > 0 ? 100.0 * r->self_cpu_s / r->elapsed_s : 0,
	       (unsigned long long)r->teardown_errors.total, (unsigned long long)r->connects);
	const char *fields[] = {"server_cpu_s", "server_hwm_kib", "server_rss_kib"};
	for (int f = 0; f < 3 && r->n_server > 0; f++) {
		printf(" %s=", fields[f]);
		for (int i = 0; i < r->n_server; i++) {
			const struct bench_proc *p = &r->server[i];
			if (f == 0) {
				printf("%s%.2f", i ? "," : "", p->cpu_s);
			} else {
				printf("%s%ld", i ? "," : "", f == 1 ? p->hwm_kib : p->rss_kib);
			}
		}
	}
	if (o->workload == BENCH_FILL) {
		printf(" sessions_wanted=%ld locks_wanted=%lld sessions_created=%llu "
		       "locks_created=%llu locks_per_s=%.1f too_many=%llu offset=%ld prefix=%s",
		       o->fill_sessions, (long long)o->fill_sessions * o->fill_locks,
		       (unsigned long long)r->made_sessions, (unsigned long long)r->made_locks,
		       r->elapsed_s > 0 ? (double)r->made_locks / r->elapsed_s : 0,
		       count_kind(&r->errors, "http_429_too_many"), o->fill_offset, o->fill_prefix);
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	static struct bench_options o = {
	    .workload = -1,
	    .clients = 1,
	    .duration_ms = 10000,
	    .warmup_ms = 1000,
	    .timeout_ms = 10000,
	    .retry_ms = 10,
	    .ttl_ms = 60000,
	    .fill_locks = 64,
	    .fill_prefix = "fill",
	};
	snprintf(o.run_tag, sizeof(o.run_tag), "r%d", (int)getpid());
	if (parse_flags(argc, argv, &o) != 0) {
		usage(stderr);
		return 2;
	}
	/* The histogram alone is about 18 KiB: keep the result off the stack. */
	static struct bench_result r;
	char errmsg[512];
	int rc = o.target == BENCH_ZOOKEEPER
	             ? bench_run_zk(&o, &r, errmsg, sizeof(errmsg))
	             : bench_run(&o, o.target == BENCH_ETCD ? &bench_etcd_ops : &bench_coord_ops,
	                         &r, errmsg, sizeof(errmsg));
	if (rc != 0) {
		fprintf(stderr, "coord-bench: %s: %s\n", bench_strerror(rc), errmsg);
		return 1;
	}
	print_report(&o, &r);
	print_summary(&o, &r);
	return 0;
}
