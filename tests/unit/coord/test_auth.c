/* coord_auth_allows() (auth.h, A-1..A-4) as a table: a token, a request,
 * and whether it is allowed. Pure: no database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "sm_error.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A token with the rules (resource, access, prefix) given. */
static struct coord_token tokenOf(bool admin, size_t n, const struct coord_token_rule *rules)
{
	struct coord_token t;

	memset(&t, 0, sizeof(t));
	t.id = 7;
	t.admin = admin;
	for (size_t i = 0; i < n; i++)
		t.rules[i] = rules[i];
	t.n_rules = n;
	return t;
}

#define RULE(res, acc, p)                                                                          \
	{                                                                                          \
		COORD_RESOURCE_##res, COORD_ACCESS_##acc, p, sizeof(p) - 1                         \
	}

/* jobs/ writable, reports/ readable, every election readable. */
static const struct coord_token_rule worker[] = {
    RULE(LOCKS, WRITE, "jobs/"),
    RULE(LOCKS, READ, "reports/"),
    RULE(ELECTIONS, READ, ""),
};
/* One rule that allows every name of every lock. */
static const struct coord_token_rule allLocks[] = {RULE(LOCKS, WRITE, "")};

enum who { NONE, WORKER, ADMIN_NO_RULES, ALL_LOCKS };

struct decision {
	const char *why;
	enum who who;
	enum coord_resource resource;
	const char *name;
	enum coord_access access;
	bool allowed;
};

#define LOCKS     COORD_RESOURCE_LOCKS
#define ELECTIONS COORD_RESOURCE_ELECTIONS
#define SESSIONS  COORD_RESOURCE_SESSIONS
#define KV        COORD_RESOURCE_KV
#define READ      COORD_ACCESS_READ
#define WRITE     COORD_ACCESS_WRITE

static const struct decision decisions[] = {
    {"A-1 a token without rules is denied", NONE, LOCKS, "jobs/a", READ, false},
    {"A-1 no rule for the resource: denied", WORKER, KV, "jobs/a", READ, false},
    {"A-1 no rule for sessions: denied", WORKER, SESSIONS, "", READ, false},
    {"A-2 a name under the prefix", WORKER, LOCKS, "jobs/a", WRITE, true},
    {"A-2 the prefix itself is a name under it", WORKER, LOCKS, "jobs/", WRITE, true},
    {"A-2 a name that only shares the start", WORKER, LOCKS, "jobs", WRITE, false},
    {"A-2 a name outside the prefix", WORKER, LOCKS, "other/jobs/a", WRITE, false},
    {"A-2 prefixes compare bytes: case matters", WORKER, LOCKS, "Jobs/a", READ, false},
    {"A-2 the empty name is under no non-empty prefix", WORKER, LOCKS, "", READ, false},
    {"A-2 an empty prefix matches every name", WORKER, ELECTIONS, "any/thing", READ, true},
    {"A-2 an empty prefix matches the empty name", WORKER, ELECTIONS, "", READ, true},
    {"A-2 a rule is for its resource only", WORKER, ELECTIONS, "jobs/a", WRITE, false},
    {"A-2 locks and elections are separate", ALL_LOCKS, ELECTIONS, "db", READ, false},
    {"A-3 write implies read", WORKER, LOCKS, "jobs/a", READ, true},
    {"A-3 read does not imply write", WORKER, LOCKS, "reports/q1", WRITE, false},
    {"A-3 read allows reading", WORKER, LOCKS, "reports/q1", READ, true},
    {"A-3 a read-only election rule does not allow campaigning", WORKER, ELECTIONS, "db", WRITE,
     false},
    {"A-4 admin does not imply data reads", ADMIN_NO_RULES, LOCKS, "jobs/a", READ, false},
    {"A-4 admin does not imply data writes", ADMIN_NO_RULES, KV, "k", WRITE, false},
    {"A-4 an admin with rules gets their access", ALL_LOCKS, LOCKS, "anything", WRITE, true},
};

static void test_decisions(void **state)
{
	struct coord_token tokens[] = {
	    [NONE] = tokenOf(false, 0, NULL),
	    [WORKER] = tokenOf(false, ARRAY_LEN(worker), worker),
	    [ADMIN_NO_RULES] = tokenOf(true, 0, NULL),
	    [ALL_LOCKS] = tokenOf(true, ARRAY_LEN(allLocks), allLocks),
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(decisions); i++) {
		const struct decision *d = &decisions[i];

		print_message("%s\n", d->why);
		assert_int_equal(coord_auth_allows(&tokens[d->who], d->resource, d->name,
		                                   strlen(d->name), d->access),
		                 d->allowed);
	}
}

/* A name is LEN bytes, not a C string: bytes past LEN do not count, and a
 * NUL inside does not end it. */
static void test_names_are_lengths_not_strings(void **state)
{
	struct coord_token t = tokenOf(false, ARRAY_LEN(worker), worker);

	(void)state;
	assert_false(coord_auth_allows(&t, LOCKS, "jobs/a", 4, READ)); /* "jobs" */
	assert_true(coord_auth_allows(&t, LOCKS, "jobs/\0x", 7, READ));
}

/* What cannot be decided is denied: no token, a resource or access out of
 * range, a NULL name with a length, a rule count past the limit. */
static void test_what_cannot_be_decided_is_denied(void **state)
{
	struct coord_token t = tokenOf(false, ARRAY_LEN(allLocks), allLocks);

	(void)state;
	assert_true(coord_auth_allows(&t, LOCKS, NULL, 0, WRITE));
	assert_false(coord_auth_allows(NULL, LOCKS, "a", 1, READ));
	assert_false(coord_auth_allows(&t, COORD_RESOURCE_COUNT, "a", 1, READ));
	assert_false(coord_auth_allows(&t, (enum coord_resource) - 1, "a", 1, READ));
	assert_false(coord_auth_allows(&t, LOCKS, "a", 1, COORD_ACCESS_COUNT));
	assert_false(coord_auth_allows(&t, LOCKS, NULL, 1, READ));
	t.n_rules = COORD_TOKEN_RULES_MAX + 1;
	assert_false(coord_auth_allows(&t, LOCKS, "a", 1, READ));
}

/* The API's names of resources and accesses, both ways. */
static void test_names(void **state)
{
	static const char *const resources[] = {"locks", "elections", "sessions", "kv"};
	enum coord_resource r;
	enum coord_access a;

	(void)state;
	assert_int_equal(ARRAY_LEN(resources), COORD_RESOURCE_COUNT);
	for (int i = 0; i < COORD_RESOURCE_COUNT; i++) {
		assert_string_equal(coord_resource_name(i), resources[i]);
		assert_int_equal(coord_resource_parse(resources[i], strlen(resources[i]), &r), 0);
		assert_int_equal(r, i);
	}
	assert_null(coord_resource_name(COORD_RESOURCE_COUNT));
	assert_null(coord_resource_name(-1));
	assert_string_equal(coord_access_name(COORD_ACCESS_READ), "read");
	assert_string_equal(coord_access_name(COORD_ACCESS_WRITE), "write");
	assert_null(coord_access_name(COORD_ACCESS_COUNT));
	assert_int_equal(coord_access_parse("write", 5, &a), 0);
	assert_int_equal(a, COORD_ACCESS_WRITE);
	assert_int_equal(coord_access_parse("writ", 4, &a), COORD_EMALFORMED);
	assert_int_equal(coord_resource_parse("lock", 4, &r), COORD_EMALFORMED);
	assert_int_equal(coord_resource_parse("locks!", 6, &r), COORD_EMALFORMED);
	assert_int_equal(coord_resource_parse(NULL, 0, &r), COORD_EMALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decisions),
	    cmocka_unit_test(test_names_are_lengths_not_strings),
	    cmocka_unit_test(test_what_cannot_be_decided_is_denied),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests_name("coord_auth", tests, NULL, NULL);
}
