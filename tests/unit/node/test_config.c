/* coordd's flags and --config file: defaults, every flag, every key, and
 * each refusal (API.md, coordd). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

#define ARGV(...)                                                                                  \
	(const char *const[])                                                                      \
	{                                                                                          \
		"coordd", __VA_ARGS__                                                              \
	}
#define ARGC(...)            ((int)(sizeof((const char *const[]){"coordd", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(cfg, err, ...) coord_config_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), cfg, err)

static void test_defaults_are_a_single_node(void **state)
{
	struct coord_config cfg;
	char err[COORD_CONFIG_ERR_MAX];
	const char *const argv[] = {"coordd"};

	(void)state;
	assert_int_equal(coord_config_parse(1, argv, &cfg, err), COORD_CONFIG_OK);
	assert_int_equal(cfg.id, 1);
	assert_string_equal(cfg.data, "./coord-data");
	assert_string_equal(cfg.http, "127.0.0.1:7070");
	assert_string_equal(cfg.raft, "127.0.0.1:7170");
	assert_int_equal(cfg.n_members, 1);
	assert_int_equal(cfg.members[0].id, 1);
	assert_string_equal(cfg.members[0].raft, "127.0.0.1:7170");
	assert_false(cfg.cluster_given);
	assert_int_equal(cfg.log_level, COORD_LOG_INFO);
	assert_int_equal(cfg.limits.sessions, 10000);
	assert_int_equal(cfg.limits.objects, 64);
	assert_int_equal(cfg.limits.waiters, 256);
}

/* The limits: each flag, and the rules they keep with one another. */
static void test_limits(void **state)
{
	struct coord_config cfg;
	char err[COORD_CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(PARSE(&cfg, err, "--max-sessions", "20000", "--max-locks-per-session",
	                       "50", "--max-waiters", "1000"),
	                 COORD_CONFIG_OK);
	assert_int_equal(cfg.limits.sessions, 20000);
	assert_int_equal(cfg.limits.objects, 50);
	assert_int_equal(cfg.limits.waiters, 1000);
	/* At the ceilings: 100000 sessions x 10 locks is 1,000,000. */
	assert_int_equal(PARSE(&cfg, err, "--max-sessions", "100000", "--max-locks-per-session",
	                       "10", "--max-waiters", "10000"),
	                 COORD_CONFIG_OK);
	/* One past the product's ceiling, naming the flags. */
	assert_int_equal(
	    PARSE(&cfg, err, "--max-sessions", "100000", "--max-locks-per-session", "11"),
	    COORD_CONFIG_BAD);
	assert_non_null(strstr(err, "--max-locks-per-session 11"));
	/* A limit alone: the others keep their defaults. */
	assert_int_equal(PARSE(&cfg, err, "--max-sessions", "5"), COORD_CONFIG_OK);
	assert_int_equal(cfg.limits.waiters, 256);
}

static void test_every_flag(void **state)
{
	struct coord_config cfg;
	char err[COORD_CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(
	    PARSE(&cfg, err, "--id", "2", "--data", "/tmp/d2", "--http", "127.0.0.1:7072",
	          "--cluster", "3=127.0.0.1:7173,1=127.0.0.1:7171,2=127.0.0.1:7172",
	          "--heartbeat-ms=50", "--election-timeout-ms", "500", "--log-level", "debug"),
	    COORD_CONFIG_OK);
	assert_int_equal(cfg.id, 2);
	assert_string_equal(cfg.data, "/tmp/d2");
	assert_string_equal(cfg.http, "127.0.0.1:7072");
	assert_string_equal(cfg.raft, "127.0.0.1:7172"); /* from --cluster */
	assert_int_equal(cfg.n_members, 3);
	assert_int_equal(cfg.heartbeat_ms, 50);
	assert_int_equal(cfg.election_ms, 500);
	assert_int_equal(cfg.log_level, COORD_LOG_DEBUG);
	assert_int_equal(coord_config_founder(&cfg), 1); /* the lowest id founds */
}

static void test_join(void **state)
{
	struct coord_config cfg;
	char err[COORD_CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(PARSE(&cfg, err, "--id", "4", "--join", "--raft", "127.0.0.1:7174"),
	                 COORD_CONFIG_OK);
	assert_true(cfg.join);
	assert_int_equal(cfg.id, 4);
	assert_int_equal(PARSE(&cfg, err, "--join", "--raft", "127.0.0.1:7174"), COORD_CONFIG_BAD);
	assert_non_null(strstr(err, "--join needs --id"));
	assert_int_equal(PARSE(&cfg, err, "--id", "4", "--join", "--cluster", "4=127.0.0.1:7174"),
	                 COORD_CONFIG_BAD);
}

/* --auth and --metrics-public: flags without a value, off by default. */
static void test_auth_flags(void **state)
{
	struct coord_config cfg;
	char err[COORD_CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(PARSE(&cfg, err, "--id", "2"), COORD_CONFIG_OK);
	assert_false(cfg.auth);
	assert_false(cfg.metrics_public);
	assert_int_equal(PARSE(&cfg, err, "--auth", "--id", "2", "--metrics-public"),
	                 COORD_CONFIG_OK);
	assert_true(cfg.auth);
	assert_true(cfg.metrics_public);
	assert_int_equal(cfg.id, 2);
}

/* --restore FILE: with the new cluster's --cluster, never with --join. */
static void test_restore(void **state)
{
	struct coord_config cfg;
	char err[COORD_CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(PARSE(&cfg, err, "--id", "2", "--data", "/tmp/n2"), COORD_CONFIG_OK);
	assert_string_equal(cfg.restore, "");
	assert_int_equal(PARSE(&cfg, err, "--restore", "/backups/s.db", "--id", "2", "--data",
	                       "/tmp/n2", "--cluster", "1=127.0.0.1:7171,2=127.0.0.1:7172"),
	                 COORD_CONFIG_OK);
	assert_string_equal(cfg.restore, "/backups/s.db");
	assert_int_equal(cfg.id, 2);
	assert_int_equal(cfg.n_members, 2);
	assert_string_equal(cfg.raft, "127.0.0.1:7172");
	assert_int_equal(PARSE(&cfg, err, "--restore=s.db", "--cluster", "1=127.0.0.1:7171"),
	                 COORD_CONFIG_OK);
	assert_string_equal(cfg.restore, "s.db");
	/* Without --cluster: refused, naming the flag. */
	assert_int_equal(PARSE(&cfg, err, "--restore", "s.db", "--id", "1"), COORD_CONFIG_BAD);
	assert_non_null(strstr(err, "--restore needs --cluster"));
	assert_null(strchr(err, '\n'));
	/* With --join, with or without --cluster: refused as a restore. */
	assert_int_equal(PARSE(&cfg, err, "--restore", "s.db", "--id", "4", "--join"),
	                 COORD_CONFIG_BAD);
	assert_non_null(strstr(err, "--restore takes no --join"));
	assert_int_equal(PARSE(&cfg, err, "--restore", "s.db", "--id", "1", "--join", "--cluster",
	                       "1=127.0.0.1:7171"),
	                 COORD_CONFIG_BAD);
	assert_non_null(strstr(err, "--restore takes no --join"));
	/* The usual --cluster checks hold: this node must be named in it. */
	assert_int_equal(
	    PARSE(&cfg, err, "--restore", "s.db", "--id", "3", "--cluster", "1=127.0.0.1:7171"),
	    COORD_CONFIG_BAD);
	assert_int_equal(PARSE(&cfg, err, "--restore", "", "--cluster", "1=127.0.0.1:7171"),
	                 COORD_CONFIG_BAD);
	assert_int_equal(PARSE(&cfg, err, "--restore"), COORD_CONFIG_BAD);
}

/* TLS: both files or neither; a client CA only with them. */
static void test_tls(void **state)
{
	struct coord_config cfg;
	char err[COORD_CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(PARSE(&cfg, err, "--id", "1"), COORD_CONFIG_OK);
	assert_string_equal(cfg.tls_cert, "");
	assert_string_equal(cfg.tls_client_ca, "");
	assert_int_equal(
	    PARSE(&cfg, err, "--tls-cert", "s.pem", "--tls-key=s.key", "--tls-client-ca", "ca.pem"),
	    COORD_CONFIG_OK);
	assert_string_equal(cfg.tls_cert, "s.pem");
	assert_string_equal(cfg.tls_key, "s.key");
	assert_string_equal(cfg.tls_client_ca, "ca.pem");
	assert_int_equal(PARSE(&cfg, err, "--tls-cert", "s.pem"), COORD_CONFIG_BAD);
	assert_non_null(strstr(err, "--tls-key"));
	assert_int_equal(PARSE(&cfg, err, "--tls-key", "s.key"), COORD_CONFIG_BAD);
	assert_non_null(strstr(err, "--tls-cert"));
	assert_int_equal(PARSE(&cfg, err, "--tls-client-ca", "ca.pem"), COORD_CONFIG_BAD);
	assert_non_null(strstr(err, "--tls-client-ca"));
	assert_int_equal(PARSE(&cfg, err, "--tls-cert", ""), COORD_CONFIG_BAD);
	assert_non_null(strstr(err, "--tls-cert must be"));
}

/* Peer TLS: all three files or none. */
static void test_peer_tls(void **state)
{
	struct coord_config cfg;
	char err[COORD_CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(PARSE(&cfg, err, "--id", "1"), COORD_CONFIG_OK);
	assert_string_equal(cfg.peer_cert, "");
	assert_int_equal(
	    PARSE(&cfg, err, "--peer-cert", "n.pem", "--peer-key=n.key", "--peer-ca", "ca.pem"),
	    COORD_CONFIG_OK);
	assert_string_equal(cfg.peer_cert, "n.pem");
	assert_string_equal(cfg.peer_key, "n.key");
	assert_string_equal(cfg.peer_ca, "ca.pem");
	assert_int_equal(PARSE(&cfg, err, "--peer-cert", "n.pem", "--peer-key", "n.key"),
	                 COORD_CONFIG_BAD);
	assert_non_null(strstr(err, "--peer-ca"));
	assert_int_equal(PARSE(&cfg, err, "--peer-ca", "ca.pem"), COORD_CONFIG_BAD);
	assert_non_null(strstr(err, "all three"));
	assert_int_equal(PARSE(&cfg, err, "--peer-key", ""), COORD_CONFIG_BAD);
	assert_non_null(strstr(err, "--peer-key must be"));
}

static void test_help(void **state)
{
	struct coord_config cfg;
	char err[COORD_CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(PARSE(&cfg, err, "--help"), COORD_CONFIG_HELP);
	assert_non_null(strstr(coord_config_usage(), "--cluster"));
}

static void test_refusals(void **state)
{
	struct coord_config cfg;
	char err[COORD_CONFIG_ERR_MAX];

	(void)state;
#define REFUSED(...)                                                                               \
	do {                                                                                       \
		assert_int_equal(PARSE(&cfg, err, __VA_ARGS__), COORD_CONFIG_BAD);                 \
		assert_true(strlen(err) > 0 && strchr(err, '\n') == NULL);                         \
	} while (0)
	REFUSED("--bogus", "1");
	REFUSED("--id");
	REFUSED("--id", "0");
	REFUSED("--id", "-3");
	REFUSED("--id", "x");
	REFUSED("--http", "nohost");
	REFUSED("--http", "127.0.0.1:0");
	REFUSED("--raft", "127.0.0.1:70000");
	REFUSED("--http", ":80");
	REFUSED("--data", "");
	REFUSED("--heartbeat-ms", "5");
	REFUSED("--heartbeat-ms", "600", "--election-timeout-ms", "1000");
	REFUSED("--election-timeout-ms", "0");
	REFUSED("--log-level", "loud");
	REFUSED("--cluster", "");
	REFUSED("--cluster", "1=127.0.0.1:7170,1=127.0.0.1:7171");
	REFUSED("--cluster", "2=127.0.0.1:7172"); /* does not name this node (id 1) */
	REFUSED("--cluster", "1=nowhere");
	REFUSED("--cluster", "one=127.0.0.1:7170");
	REFUSED("--raft", "127.0.0.1:7999", "--cluster", "1=127.0.0.1:7170");
	REFUSED("--max-sessions", "0");
	REFUSED("--max-sessions", "100001");
	REFUSED("--max-sessions", "-1");
	REFUSED("--max-sessions", "many");
	REFUSED("--max-locks-per-session", "0");
	REFUSED("--max-locks-per-session", "1025");
	REFUSED("--max-waiters", "0");
	REFUSED("--max-waiters", "10001", "--max-sessions", "20000");
	REFUSED("--cluster", "1=a:1,2=a:2,3=a:3,4=a:4,5=a:5,6=a:6,7=a:7,8=a:8,9=a:9,10=a:10");
#undef REFUSED
}

/* The --config file fixture: TEXT written to a fresh file; its path in PATH. */
static void write_file(char path[64], const char *text)
{
	int fd;

	snprintf(path, 64, "/tmp/coord-test-conf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Parses --config with TEXT and then ARGV's flags. */
static enum coord_config_result parse_file(const char *text, struct coord_config *cfg, char *err,
                                           char path[64], int argc, const char *const argv[])
{
	const char *args[16] = {"coordd", "--config", path};
	enum coord_config_result r;

	assert_true(argc < 13);
	write_file(path, text);
	for (int i = 0; i < argc; i++)
		args[3 + i] = argv[i];
	r = coord_config_parse(3 + argc, args, cfg, err);
	unlink(path);
	return r;
}

/* Every row of the flag table is a key: "NAME = example" in a file sets
 * what "--NAME example" sets, and changes something from the defaults. A
 * flag handled outside the table would have no key and fail here or in
 * test_usage_and_the_table_agree. */
static void test_every_key_of_the_table(void **state)
{
	size_t n;
	const struct coord_config_flag *flags = coord_config_flags(&n);
	static struct coord_config defaults, by_flag, by_file;
	char err[COORD_CONFIG_ERR_MAX], path[64], text[256], flag[64];
	const char *const none[] = {"coordd"};

	(void)state;
	assert_true(n >= 24);
	assert_int_equal(coord_config_parse(1, none, &defaults, err), COORD_CONFIG_OK);
	for (size_t i = 0; i < n; i++) {
		bool boolean = flags[i].kind == COORD_CONFIG_BOOL;
		const char *argv[] = {"coordd", flag, flags[i].example};
		enum coord_config_result want, got;

		snprintf(flag, sizeof(flag), "--%s", flags[i].name);
		want = coord_config_parse(boolean ? 2 : 3, argv, &by_flag, err);
		snprintf(text, sizeof(text), "# key %zu\n%s = %s\n", i, flags[i].name,
		         flags[i].example);
		got = parse_file(text, &by_file, err, path, 0, NULL);
		/* A check across flags may refuse either (--tls-cert alone), but
		 * never the line itself. */
		assert_int_equal(got, want);
		assert_true(got == COORD_CONFIG_OK || strncmp(err, path, strlen(path)) != 0);
		memset(by_file.config, 0, sizeof(by_file.config));
		if (memcmp(&by_flag, &by_file, sizeof(by_flag)) != 0)
			fail_msg("key %s sets what --%s does not", flags[i].name, flags[i].name);
		if (memcmp(&defaults, &by_file, sizeof(defaults)) == 0)
			fail_msg("key %s = %s changes nothing", flags[i].name, flags[i].example);
	}
}

/* --help lists exactly the table's flags, plus --config and --help. */
static void test_usage_and_the_table_agree(void **state)
{
	size_t n;
	const struct coord_config_flag *flags = coord_config_flags(&n);
	const char *u = coord_config_usage();
	char name[64];

	(void)state;
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "--%s", flags[i].name);
		if (!strstr(u, name))
			fail_msg("--help does not mention %s", name);
	}
	for (const char *p = strstr(u, "--"); p; p = strstr(p + 2, "--")) {
		size_t len = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz-");
		bool known = false;

		if (len == 0) /* prose: "the flag's name without --" */
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)len, p + 2);
		for (size_t i = 0; i < n; i++)
			known = known || strcmp(flags[i].name, name) == 0;
		known = known || strcmp(name, "config") == 0 || strcmp(name, "help") == 0;
		if (!known)
			fail_msg("--help names --%s, which is not in the flag table", name);
	}
}

static void test_a_file_with_comments_blanks_and_spaces(void **state)
{
	struct coord_config cfg;
	char err[COORD_CONFIG_ERR_MAX], path[64];

	(void)state;
	assert_int_equal(parse_file("# coordd.conf\n"
	                            "\n"
	                            "   # indented comment\n"
	                            "data=/srv/coord\n"
	                            "  http   =   127.0.0.1:7072  \n"
	                            "\tlog-level\t=\twarn\r\n"
	                            "auth = false\n"
	                            "metrics-public = true\n"
	                            "cluster = 1=127.0.0.1:7171,2=127.0.0.1:7172\n"
	                            "id = 2", /* no newline at the end */
	                            &cfg, err, path, 0, NULL),
	                 COORD_CONFIG_OK);
	assert_string_equal(cfg.data, "/srv/coord");
	assert_string_equal(cfg.http, "127.0.0.1:7072");
	assert_int_equal(cfg.log_level, COORD_LOG_WARN);
	assert_false(cfg.auth);
	assert_true(cfg.metrics_public);
	assert_int_equal(cfg.id, 2);
	assert_true(cfg.id_given);
	assert_string_equal(cfg.raft, "127.0.0.1:7172"); /* from the file's cluster */
	assert_int_equal(cfg.n_members, 2);
	/* An empty file is the defaults. */
	assert_int_equal(parse_file("", &cfg, err, path, 0, NULL), COORD_CONFIG_OK);
	assert_string_equal(cfg.data, "./coord-data");
}

/* Flags on the command line win over the file, whatever their order. */
static void test_flags_win_over_the_file(void **state)
{
	struct coord_config cfg;
	char err[COORD_CONFIG_ERR_MAX], path[64];
	const char *const argv[] = {"--data", "/flag", "--auth", "--heartbeat-ms=20"};
	const char *const cluster[] = {"--id", "3", "--cluster",
	                               "1=127.0.0.1:7171,3=127.0.0.1:7173"};

	(void)state;
	assert_int_equal(parse_file("data = /file\nhttp = 127.0.0.1:7079\nauth = false\n"
	                            "heartbeat-ms = 40\nelection-timeout-ms = 400\n",
	                            &cfg, err, path, 4, argv),
	                 COORD_CONFIG_OK);
	assert_string_equal(cfg.data, "/flag");
	assert_string_equal(cfg.http, "127.0.0.1:7079"); /* only in the file */
	assert_true(cfg.auth);
	assert_int_equal(cfg.heartbeat_ms, 20);
	assert_int_equal(cfg.election_ms, 400);
	/* The flag's --cluster replaces the file's whole list. */
	assert_int_equal(parse_file("id = 2\ncluster = 1=127.0.0.1:7171,2=127.0.0.1:7172\n", &cfg,
	                            err, path, 4, cluster),
	                 COORD_CONFIG_OK);
	assert_int_equal(cfg.id, 3);
	assert_string_equal(cfg.raft, "127.0.0.1:7173");
	/* --config after the flags reads the same. */
	write_file(path, "data = /file\n");
	{
		const char *const late[] = {"coordd", "--data", "/flag", "--config", path};

		assert_int_equal(coord_config_parse(5, late, &cfg, err), COORD_CONFIG_OK);
	}
	unlink(path);
	assert_string_equal(cfg.data, "/flag");
	assert_string_equal(cfg.config, path);
}

/* Each refusal of a line names the file and the line, in one line. */
static void test_a_bad_line_refuses_with_its_number(void **state)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *why;
	} cases[] = {
	    {"data = /d\n\nbogus = 1\n", 3, "unknown key 'bogus'"},
	    {"# c\ndata = /a\nhttp = 127.0.0.1:7071\ndata = /b\n", 4,
	     "key 'data' given twice (first on line 2)"},
	    {"heartbeat-ms = 5\n", 1, "heartbeat-ms must be an integer from 10 to 60000"},
	    {"\n\nid = zero\n", 3, "id must be an integer"},
	    {"auth = yes\n", 1, "auth must be true or false"},
	    {"join =\n", 1, "join must be true or false"},
	    {"# ok\ndata /var/lib/coord\n", 2, "not \"key = value\""},
	    {" = 3\n", 1, "no key before '='"},
	    {"config = /etc/other.conf\n", 1, "unknown key 'config'"},
	    {"--data = /d\n", 1, "unknown key '--data'"},
	    {"http = nohost\n", 1, "http must be HOST:PORT"},
	    {"data =\n", 1, "data must be a path"},
	    {"log-level = loud\n", 1, "log-level must be debug"},
	    {"cluster = 1=nowhere\n", 1, "cluster address 'nowhere'"},
	    {"max-waiters = 0\n", 1, "max-waiters must be"},
	    {"auth = true # inline comments are values\n", 1, "auth must be true or false"},
	};
	struct coord_config cfg;
	char err[COORD_CONFIG_ERR_MAX], path[64], want[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse_file(cases[i].text, &cfg, err, path, 0, NULL),
		                 COORD_CONFIG_BAD);
		snprintf(want, sizeof(want), "%s:%u: %s", path, cases[i].line, cases[i].why);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err, want);
		assert_null(strchr(err, '\n'));
	}
}

/* --config itself: a readable file, given once. */
static void test_a_bad_config_flag(void **state)
{
	struct coord_config cfg;
	char err[COORD_CONFIG_ERR_MAX], path[64];
	char *big = malloc(COORD_CONFIG_FILE_MAX + 2);

	(void)state;
	assert_int_equal(PARSE(&cfg, err, "--config", "/nonexistent/coordd.conf"),
	                 COORD_CONFIG_BAD);
	assert_non_null(strstr(err, "/nonexistent/coordd.conf: cannot read"));
	assert_int_equal(PARSE(&cfg, err, "--config"), COORD_CONFIG_BAD);
	assert_int_equal(PARSE(&cfg, err, "--config", ""), COORD_CONFIG_BAD);
	assert_int_equal(PARSE(&cfg, err, "--config", "a", "--config", "b"), COORD_CONFIG_BAD);
	assert_non_null(strstr(err, "--config is given twice"));
	/* A bad flag is refused before the file is read. */
	assert_int_equal(PARSE(&cfg, err, "--bogus", "--config", "/nonexistent"), COORD_CONFIG_BAD);
	assert_non_null(strstr(err, "unknown flag --bogus"));
	/* Larger than COORD_CONFIG_FILE_MAX: refused whole. */
	assert_non_null(big);
	memset(big, '#', COORD_CONFIG_FILE_MAX + 1);
	big[COORD_CONFIG_FILE_MAX + 1] = '\0';
	assert_int_equal(parse_file(big, &cfg, err, path, 0, NULL), COORD_CONFIG_BAD);
	assert_non_null(strstr(err, "larger than"));
	free(big);
	/* The cross-flag checks hold for the file's values too. */
	assert_int_equal(parse_file("tls-cert = s.pem\n", &cfg, err, path, 0, NULL),
	                 COORD_CONFIG_BAD);
	assert_non_null(strstr(err, "--tls-key"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_are_a_single_node),
	    cmocka_unit_test(test_every_flag),
	    cmocka_unit_test(test_help),
	    cmocka_unit_test(test_join),
	    cmocka_unit_test(test_auth_flags),
	    cmocka_unit_test(test_restore),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_tls),
	    cmocka_unit_test(test_peer_tls),
	    cmocka_unit_test(test_every_key_of_the_table),
	    cmocka_unit_test(test_usage_and_the_table_agree),
	    cmocka_unit_test(test_a_file_with_comments_blanks_and_spaces),
	    cmocka_unit_test(test_flags_win_over_the_file),
	    cmocka_unit_test(test_a_bad_line_refuses_with_its_number),
	    cmocka_unit_test(test_a_bad_config_flag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
