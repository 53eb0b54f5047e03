/* coordd's flags: defaults, every flag, and each refusal (API.md, coordd). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
