/* coordctl's command lines as docs/API.md shows them: durations with units,
 * options per command, "-- CMD", and the exit codes of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "args.h"

#define LOCK_OPTS (CTL_OPT_SHARED | CTL_OPT_WAIT | CTL_OPT_TTL | CTL_OPT_VALUE | CTL_OPT_CMD)

#define WORDS_MAX 16

/* A command line as words: LINE split at '|' into a copy kept in BUF
 * (argv strings are writable, as main's are). Returns the word count. */
static int split(const char *line, char buf[256], char *words[WORDS_MAX])
{
	int n = 0;

	snprintf(buf, 256, "%s", line);
	for (char *p = buf; *p && n < WORDS_MAX - 1;) {
		words[n++] = p;
		p += strcspn(p, "|");
		if (*p)
			*p++ = '\0';
	}
	words[n] = NULL;
	return n;
}

/* Parses LINE (words separated by '|') as the arguments of a `lock`. */
static int parse_lock(const char *line, char buf[256], char *words[WORDS_MAX], struct ctl_args *a,
                      char *err)
{
	return ctl_parse(split(line, buf, words), words, LOCK_OPTS, 1, a, err);
}

static void durations_take_units(void **state)
{
	char err[CTL_ERR_MAX];
	uint64_t ms;

	(void)state;
	assert_int_equal(ctl_duration("--wait", "250ms", 0, 600000, &ms, err), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(ctl_duration("--wait", "10s", 0, 600000, &ms, err), 0);
	assert_int_equal(ms, 10000);
	assert_int_equal(ctl_duration("--wait", "2m", 0, 600000, &ms, err), 0);
	assert_int_equal(ms, 120000);
	assert_int_equal(ctl_duration("--wait", "1500", 0, 600000, &ms, err), 0);
	assert_int_equal(ms, 1500);
}

static void bad_or_out_of_range_durations_are_usage_errors(void **state)
{
	char err[CTL_ERR_MAX];
	uint64_t ms = 7;

	(void)state;
	assert_int_equal(ctl_duration("--ttl", "ten", 0, 10, &ms, err), CTL_EXIT_USAGE);
	assert_non_null(strstr(err, "--ttl"));
	assert_int_equal(ctl_duration("--ttl", "-1s", 0, 10000, &ms, err), CTL_EXIT_USAGE);
	assert_int_equal(ctl_duration("--ttl", "1.5s", 0, 10000, &ms, err), CTL_EXIT_USAGE);
	assert_int_equal(ctl_duration("--ttl", "500ms", 1000, 10000, &ms, err), CTL_EXIT_USAGE);
	assert_int_equal(ctl_duration("--ttl", "2h", 1000, 3600000, &ms, err), CTL_EXIT_USAGE);
	assert_int_equal(ms, 7); /* untouched on error */
}

static void lock_line_with_options_and_command(void **state)
{
	const char *words = "jobs/nightly|--wait|5s|--ttl=3s|--shared|--value|me|--|sh|-c|echo hi";
	char buf[256], *w[WORDS_MAX];
	struct ctl_args a;
	char err[CTL_ERR_MAX];

	(void)state;
	assert_int_equal(parse_lock(words, buf, w, &a, err), 0);
	assert_string_equal(a.pos[0], "jobs/nightly");
	assert_true(a.has_wait);
	assert_int_equal(a.wait_ms, 5000);
	assert_int_equal(a.ttl_ms, 3000);
	assert_true(a.shared);
	assert_string_equal(a.value, "me");
	assert_string_equal(a.cmd[0], "sh");
	assert_string_equal(a.cmd[2], "echo hi");
	assert_null(a.cmd[3]);
}

static void words_after_the_double_dash_belong_to_the_command(void **state)
{
	const char *words = "x|--|prog|--wait|--help";
	char buf[256], *w[WORDS_MAX];
	struct ctl_args a;
	char err[CTL_ERR_MAX];

	(void)state;
	assert_int_equal(parse_lock(words, buf, w, &a, err), 0);
	assert_false(a.has_wait);
	assert_false(a.help);
	assert_int_equal(a.ttl_ms, CTL_TTL_DEFAULT_MS);
	assert_string_equal(a.cmd[1], "--wait");
}

static void lock_without_command_is_refused(void **state)
{
	const char *bare = "x";
	const char *empty = "x|--";
	char buf[256], *w[WORDS_MAX];
	struct ctl_args a;
	char err[CTL_ERR_MAX];

	(void)state;
	assert_int_equal(parse_lock(bare, buf, w, &a, err), CTL_EXIT_USAGE);
	assert_int_equal(parse_lock(empty, buf, w, &a, err), CTL_EXIT_USAGE);
	assert_non_null(strstr(err, "CMD"));
}

static void options_of_other_commands_are_refused(void **state)
{
	const char *watch = "x|--watch|--|true";
	const char *missing = "x|--wait";
	char buf[256], *w[WORDS_MAX];
	struct ctl_args a;
	char err[CTL_ERR_MAX];

	(void)state;
	assert_int_equal(parse_lock(watch, buf, w, &a, err), CTL_EXIT_USAGE);
	assert_non_null(strstr(err, "--watch"));
	assert_int_equal(parse_lock(missing, buf, w, &a, err), CTL_EXIT_USAGE);
	assert_non_null(strstr(err, "needs a value"));
}

/* Parses LINE (words separated by '|') for a command taking ALLOWED options
 * and NPOS positional words. */
static int parse(const char *line, unsigned allowed, int npos, char buf[256],
                 char *words[WORDS_MAX], struct ctl_args *a, char *err)
{
	return ctl_parse(split(line, buf, words), words, allowed, npos, a, err);
}

static void unknown_options_are_refused_and_help_wins_when_first(void **state)
{
	char buf[256], *w[WORDS_MAX];
	struct ctl_args a;
	char err[CTL_ERR_MAX];

	(void)state;
	assert_int_equal(parse("--bogus", 0, 0, buf, w, &a, err), CTL_EXIT_USAGE);
	assert_non_null(strstr(err, "--bogus"));
	assert_int_equal(parse("--help|--bogus", 0, 0, buf, w, &a, err), 0);
	assert_true(a.help);
}

static void positional_count_is_exact(void **state)
{
	char buf[256], *w[WORDS_MAX];
	struct ctl_args a;
	char err[CTL_ERR_MAX];

	(void)state;
	assert_int_equal(parse("a|b", 0, 1, buf, w, &a, err), CTL_EXIT_USAGE);
	assert_int_equal(parse("", 0, 1, buf, w, &a, err), CTL_EXIT_USAGE);
	assert_int_equal(parse("a|b", 0, 2, buf, w, &a, err), 0);
	assert_string_equal(a.pos[1], "b");
}

static void child_status_passes_through_exit_codes_and_signals(void **state)
{
	(void)state;
	assert_int_equal(ctl_child_status(0), 0);
	assert_int_equal(ctl_child_status(3 << 8), 3);              /* exited 3 */
	assert_int_equal(ctl_child_status(SIGTERM), 128 + SIGTERM); /* killed */
	assert_int_equal(ctl_child_status(SIGKILL), 128 + SIGKILL);
}

static void exit_codes_of_coordctl_itself(void **state)
{
	(void)state;
	assert_int_equal(ctl_exit_for(COORDC_DONE_ERROR, 0, "unreachable"), CTL_EXIT_UNREACHABLE);
	assert_int_equal(ctl_exit_for(COORDC_DONE_ERROR, 503, "no_leader"), CTL_EXIT_UNREACHABLE);
	assert_int_equal(ctl_exit_for(COORDC_DONE_UNKNOWN, 504, "timeout"), CTL_EXIT_UNREACHABLE);
	assert_int_equal(ctl_exit_for(COORDC_DONE_ERROR, 409, "lock_held"), CTL_EXIT_NOT_ACQUIRED);
	assert_int_equal(ctl_exit_for(COORDC_DONE_ERROR, 400, "invalid_argument"), CTL_EXIT_USAGE);
	assert_int_equal(ctl_exit_for(COORDC_DONE_ERROR, 404, "not_found"), CTL_EXIT_FAIL);
}

#define MEMBER_ADD_OPTS (CTL_OPT_CATCHUP | CTL_OPT_TIMEOUT)

/* member add ID RAFT [--wait [--timeout D]]: here --wait takes no value. */
static void member_add_wait_is_a_flag_bounded_by_timeout(void **state)
{
	char buf[256], *w[WORDS_MAX];
	struct ctl_args a;
	char err[CTL_ERR_MAX];

	(void)state;
	assert_int_equal(
	    parse("4|10.0.0.4:7170|--wait|--timeout|30m", MEMBER_ADD_OPTS, 2, buf, w, &a, err), 0);
	assert_string_equal(a.pos[0], "4");
	assert_string_equal(a.pos[1], "10.0.0.4:7170");
	assert_true(a.catch_up);
	assert_false(a.has_wait);
	assert_true(a.has_timeout);
	assert_int_equal(a.timeout_ms, 30 * 60 * 1000);
	assert_int_equal(parse("4|h:1|--wait", MEMBER_ADD_OPTS, 2, buf, w, &a, err), 0);
	assert_false(a.has_timeout);
	assert_int_equal(a.timeout_ms, CTL_CATCHUP_DEFAULT_MS);
	assert_int_equal(parse("4|h:1|--wait=5s", MEMBER_ADD_OPTS, 2, buf, w, &a, err),
	                 CTL_EXIT_USAGE);
	assert_non_null(strstr(err, "takes no value"));
	assert_int_equal(parse("4|h:1|--timeout|500ms", MEMBER_ADD_OPTS, 2, buf, w, &a, err),
	                 CTL_EXIT_USAGE);
	assert_non_null(strstr(err, "--timeout"));
	assert_int_equal(parse("4|h:1|--timeout|2d", MEMBER_ADD_OPTS, 2, buf, w, &a, err),
	                 CTL_EXIT_USAGE);
}

/* The same spelling keeps its meaning per command: lock's --wait D. */
static void wait_takes_a_duration_where_the_command_says_so(void **state)
{
	char buf[256], *w[WORDS_MAX];
	struct ctl_args a;
	char err[CTL_ERR_MAX];

	(void)state;
	assert_int_equal(parse_lock("x|--wait|5s|--|true", buf, w, &a, err), 0);
	assert_true(a.has_wait);
	assert_false(a.catch_up);
	assert_int_equal(a.wait_ms, 5000);
	assert_int_equal(parse("x|--wait|--", CTL_OPT_WAIT, 1, buf, w, &a, err), CTL_EXIT_USAGE);
}

static void json_and_force_are_flags_of_their_commands(void **state)
{
	char buf[256], *w[WORDS_MAX];
	struct ctl_args a;
	char err[CTL_ERR_MAX];

	(void)state;
	assert_int_equal(parse("--json", CTL_OPT_JSON, 0, buf, w, &a, err), 0);
	assert_true(a.json);
	assert_int_equal(parse("f.db|--force", CTL_OPT_FORCE, 1, buf, w, &a, err), 0);
	assert_true(a.force);
	assert_int_equal(parse("f.db|--force", 0, 1, buf, w, &a, err), CTL_EXIT_USAGE);
	assert_non_null(strstr(err, "--force"));
	assert_int_equal(parse("--json", 0, 0, buf, w, &a, err), CTL_EXIT_USAGE);
}

/* member replace OLD NEW RAFT has three words; leader transfer [ID] 0..1. */
static void positional_ranges(void **state)
{
	char buf[256], *w[WORDS_MAX];
	struct ctl_args a;
	char err[CTL_ERR_MAX];

	(void)state;
	assert_int_equal(parse("2|5|10.0.0.5:7170", 0, 3, buf, w, &a, err), 0);
	assert_string_equal(a.pos[2], "10.0.0.5:7170");
	assert_int_equal(parse("2|5|h:1|extra", 0, 3, buf, w, &a, err), CTL_EXIT_USAGE);
	assert_non_null(strstr(err, "extra"));
	assert_int_equal(ctl_parse_range(0, w, 0, 0, 1, &a, err), 0);
	assert_int_equal(a.npos, 0);
	assert_int_equal(ctl_parse_range(split("3", buf, w), w, 0, 0, 1, &a, err), 0);
	assert_int_equal(a.npos, 1);
	assert_string_equal(a.pos[0], "3");
	assert_int_equal(ctl_parse_range(split("3|4", buf, w), w, 0, 0, 1, &a, err),
	                 CTL_EXIT_USAGE);
}

static void member_ids_are_positive_numbers(void **state)
{
	const char *bad[] = {
	    "0", "-1", "4x", "", "+4", " 4", "99999999999999999999", "9223372036854775808"};
	char err[CTL_ERR_MAX];
	uint64_t id = 77;

	(void)state;
	assert_int_equal(ctl_node_id("ID", "4", &id, err), 0);
	assert_int_equal(id, 4);
	assert_int_equal(ctl_node_id("ID", "9223372036854775807", &id, err), 0);
	assert_int_equal(id, 9223372036854775807ULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		id = 77;
		assert_int_equal(ctl_node_id("OLD", bad[i], &id, err), CTL_EXIT_USAGE);
		assert_non_null(strstr(err, "OLD"));
		assert_int_equal(id, 77);
	}
}

static void raft_addresses_are_host_and_port(void **state)
{
	const char *good[] = {"10.0.0.4:7170", "node-4.example.com:7170", "[::1]:7170", "h:65535"};
	const char *bad[] = {"10.0.0.4", ":7170", "h:0", "h:65536", "h:70x",    "::1:7170",
	                     "h/x:1",    "h :1",  "h:",  "",        "h:1234567"};
	char err[CTL_ERR_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(ctl_raft_address(good[i], err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ctl_raft_address(bad[i], err), CTL_EXIT_USAGE);
		assert_non_null(strstr(err, "HOST:PORT"));
	}
}

/* The cluster's refusals of a change are 1, a lost answer 69. */
static void exit_codes_of_cluster_operations(void **state)
{
	(void)state;
	assert_int_equal(ctl_exit_for(COORDC_DONE_ERROR, 409, "conflict"), CTL_EXIT_FAIL);
	assert_int_equal(ctl_exit_for(COORDC_DONE_ERROR, 409, "change_in_progress"), CTL_EXIT_FAIL);
	assert_int_equal(ctl_exit_for(COORDC_DONE_ERROR, 409, "not_caught_up"), CTL_EXIT_FAIL);
	assert_int_equal(ctl_exit_for(COORDC_DONE_UNKNOWN, 504, "timeout"), CTL_EXIT_UNREACHABLE);
	assert_int_equal(ctl_exit_for(COORDC_DONE_UNKNOWN, 200, "bad_answer"),
	                 CTL_EXIT_UNREACHABLE);
}

/* --rule repeats, up to CTL_RULES_MAX; --admin is a flag of token create. */
static void rules_repeat_up_to_their_limit(void **state)
{
	char buf[256], err[CTL_ERR_MAX], *w[WORDS_MAX], *many[2 * (CTL_RULES_MAX + 1)];
	char flag[] = "--rule", rule[] = "locks::read";
	struct ctl_args a;

	(void)state;
	assert_int_equal(
	    ctl_parse(split("ci|--rule|locks:jobs/:write|--admin|--rule=sessions::write", buf, w),
	              w, CTL_OPT_RULE | CTL_OPT_ADMIN, 1, &a, err),
	    0);
	assert_int_equal(a.nrules, 2);
	assert_string_equal(a.rules[0], "locks:jobs/:write");
	assert_string_equal(a.rules[1], "sessions::write");
	assert_true(a.admin);
	assert_int_equal(ctl_parse(split("ci|--admin", buf, w), w, CTL_OPT_RULE, 1, &a, err),
	                 CTL_EXIT_USAGE);
	for (int i = 0; i < CTL_RULES_MAX + 1; i++) {
		many[2 * i] = flag;
		many[2 * i + 1] = rule;
	}
	assert_int_equal(ctl_parse(2 * CTL_RULES_MAX, many, CTL_OPT_RULE, 0, &a, err), 0);
	assert_int_equal(a.nrules, CTL_RULES_MAX);
	assert_int_equal(ctl_parse(2 * (CTL_RULES_MAX + 1), many, CTL_OPT_RULE, 0, &a, err),
	                 CTL_EXIT_USAGE);
	assert_non_null(strstr(err, "at most 32"));
}

/* RESOURCE:PREFIX:ACCESS; the prefix may be empty or hold ':'. */
static void rules_are_resource_prefix_access(void **state)
{
	static const struct {
		const char *text, *resource, *prefix, *access;
	} good[] = {{"locks:jobs/:write", "locks", "jobs/", "write"},
	            {"locks::write", "locks", "", "write"},
	            {"elections:a:b/:read", "elections", "a:b/", "read"}};
	const char *bad[] = {"locks", "locks:jobs/", ":jobs/:write", "locks:jobs/:", "", "::"};
	char err[CTL_ERR_MAX];
	json_t *rule;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(ctl_rule(good[i].text, &rule, err), 0);
		assert_string_equal(json_string_value(json_object_get(rule, "resource")),
		                    good[i].resource);
		assert_string_equal(json_string_value(json_object_get(rule, "prefix")),
		                    good[i].prefix);
		assert_string_equal(json_string_value(json_object_get(rule, "access")),
		                    good[i].access);
		assert_int_equal(json_object_size(rule), 3);
		json_decref(rule);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ctl_rule(bad[i], &rule, err), CTL_EXIT_USAGE);
		assert_null(rule);
		assert_non_null(strstr(err, "RESOURCE:PREFIX:ACCESS"));
	}
}

static void token_ids_are_positive_numbers(void **state)
{
	char err[CTL_ERR_MAX];
	uint64_t id = 0;

	(void)state;
	assert_int_equal(ctl_token_id("ID", "12", &id, err), 0);
	assert_int_equal(id, 12);
	assert_int_equal(ctl_token_id("ID", "x", &id, err), CTL_EXIT_USAGE);
	assert_non_null(strstr(err, "token id"));
}

/* kv put's --cas (0 is a condition of its own: "only if absent"), --fence
 * LOCK:TOKEN split at the last ':', kv watch's --index, kv get's --stale. */
static void key_value_options_are_numbers_and_fences(void **state)
{
	const unsigned put = CTL_OPT_CAS | CTL_OPT_SESSION | CTL_OPT_FENCE;
	const char *bad_fences[] = {"jobs/x",
	                            "jobs/x:",
	                            ":4",
	                            "jobs/x:0",
	                            "jobs/x:-1",
	                            "jobs/x:4 ",
	                            "jobs/x:9223372036854775808"};
	char buf[256], *w[WORDS_MAX];
	struct ctl_args a;
	char err[CTL_ERR_MAX];

	(void)state;
	assert_int_equal(parse("k|v", put, 2, buf, w, &a, err), 0);
	assert_false(a.has_cas);
	assert_string_equal(a.fence_lock, "");
	assert_int_equal(parse("k|v|--cas|0", put, 2, buf, w, &a, err), 0);
	assert_true(a.has_cas);
	assert_int_equal(a.cas, 0);
	assert_int_equal(parse("k|v|--cas=9223372036854775807", put, 2, buf, w, &a, err), 0);
	assert_int_equal(a.cas, 9223372036854775807ULL);
	assert_int_equal(parse("k|v|--cas|9223372036854775808", put, 2, buf, w, &a, err),
	                 CTL_EXIT_USAGE);
	assert_non_null(strstr(err, "--cas"));
	assert_int_equal(parse("k|v|--cas|x", put, 2, buf, w, &a, err), CTL_EXIT_USAGE);
	assert_int_equal(parse("k|v|--fence|db:primary:42", put, 2, buf, w, &a, err), 0);
	assert_string_equal(a.fence_lock, "db:primary");
	assert_int_equal(a.fence_token, 42);
	for (size_t i = 0; i < sizeof(bad_fences) / sizeof(bad_fences[0]); i++) {
		char line[96];

		snprintf(line, sizeof(line), "k|v|--fence|%s", bad_fences[i]);
		assert_int_equal(parse(line, put, 2, buf, w, &a, err), CTL_EXIT_USAGE);
		assert_non_null(strstr(err, "--fence"));
	}
	assert_int_equal(parse("p/|--index|0", CTL_OPT_INDEX, 1, buf, w, &a, err), 0);
	assert_true(a.has_index);
	assert_int_equal(a.index, 0);
	assert_int_equal(parse("p/|--index|12", CTL_OPT_CAS, 1, buf, w, &a, err), CTL_EXIT_USAGE);
	assert_int_equal(parse("k|--stale", CTL_OPT_STALE | CTL_OPT_JSON, 1, buf, w, &a, err), 0);
	assert_true(a.stale);
	assert_int_equal(parse("k|--stale=1", CTL_OPT_STALE, 1, buf, w, &a, err), CTL_EXIT_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(durations_take_units),
	    cmocka_unit_test(bad_or_out_of_range_durations_are_usage_errors),
	    cmocka_unit_test(lock_line_with_options_and_command),
	    cmocka_unit_test(words_after_the_double_dash_belong_to_the_command),
	    cmocka_unit_test(lock_without_command_is_refused),
	    cmocka_unit_test(options_of_other_commands_are_refused),
	    cmocka_unit_test(unknown_options_are_refused_and_help_wins_when_first),
	    cmocka_unit_test(positional_count_is_exact),
	    cmocka_unit_test(child_status_passes_through_exit_codes_and_signals),
	    cmocka_unit_test(exit_codes_of_coordctl_itself),
	    cmocka_unit_test(member_add_wait_is_a_flag_bounded_by_timeout),
	    cmocka_unit_test(wait_takes_a_duration_where_the_command_says_so),
	    cmocka_unit_test(json_and_force_are_flags_of_their_commands),
	    cmocka_unit_test(positional_ranges),
	    cmocka_unit_test(member_ids_are_positive_numbers),
	    cmocka_unit_test(raft_addresses_are_host_and_port),
	    cmocka_unit_test(exit_codes_of_cluster_operations),
	    cmocka_unit_test(rules_repeat_up_to_their_limit),
	    cmocka_unit_test(rules_are_resource_prefix_access),
	    cmocka_unit_test(token_ids_are_positive_numbers),
	    cmocka_unit_test(key_value_options_are_numbers_and_fences),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
