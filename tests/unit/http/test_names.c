/* Names, values and durations as API.md's Conventions define them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "names.h"

static bool name_ok(const char *s)
{
	return http_name_valid(s, strlen(s), NULL);
}

static void test_names_accepted(void **state)
{
	(void)state;
	assert_true(name_ok("a"));
	assert_true(name_ok("jobs/nightly-backup"));
	assert_true(name_ok("svc:db.primary_1"));
	assert_true(name_ok("A/b/C"));
}

static void test_names_refused(void **state)
{
	const char *why = NULL;

	(void)state;
	assert_false(name_ok(""));
	assert_false(name_ok("/leading"));
	assert_false(name_ok("trailing/"));
	assert_false(name_ok("a//b"));
	assert_false(name_ok("space here"));
	assert_false(name_ok("tab\there"));
	assert_false(name_ok("caf\xc3\xa9"));
	assert_false(http_name_valid("a//b", 4, &why));
	assert_string_equal(why, "name may not contain //");
	/* An embedded NUL is a byte like any other: refused. */
	assert_false(http_name_valid("a\0b", 3, NULL));
}

static void test_name_length_limit(void **state)
{
	char buf[HTTP_NAME_MAX + 2];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	assert_true(http_name_valid(buf, HTTP_NAME_MAX, NULL));
	assert_false(http_name_valid(buf, HTTP_NAME_MAX + 1, NULL));
}

static void test_values(void **state)
{
	static char big[HTTP_VALUE_MAX + 1];
	static const char utf8[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92";

	(void)state;
	assert_true(http_value_valid("", 0, NULL));
	assert_true(http_value_valid("10.0.0.5:8080", 13, NULL));
	assert_true(http_value_valid(utf8, sizeof(utf8) - 1, NULL));
	assert_false(http_value_valid("\xc3", 1, NULL));             /* truncated */
	assert_false(http_value_valid("\xc0\xaf", 2, NULL));         /* overlong */
	assert_false(http_value_valid("\xed\xa0\x80", 3, NULL));     /* surrogate */
	assert_false(http_value_valid("\xf4\x90\x80\x80", 4, NULL)); /* > U+10FFFF */
	assert_false(http_value_valid("a\0b", 3, NULL));
	memset(big, 'v', sizeof(big));
	assert_true(http_value_valid(big, HTTP_VALUE_MAX, NULL));
	assert_false(http_value_valid(big, HTTP_VALUE_MAX + 1, NULL));
}

static void test_durations(void **state)
{
	uint64_t ms = 0;

	(void)state;
	assert_true(http_duration_parse("250ms", &ms));
	assert_int_equal(ms, 250);
	assert_true(http_duration_parse("10s", &ms));
	assert_int_equal(ms, 10000);
	assert_true(http_duration_parse("2m", &ms));
	assert_int_equal(ms, 120000);
	assert_true(http_duration_parse("1h", &ms));
	assert_int_equal(ms, 3600000);
	assert_true(http_duration_parse("1500", &ms));
	assert_int_equal(ms, 1500);
	assert_true(http_duration_parse("0", &ms));
	assert_int_equal(ms, 0);
}

static void test_durations_refused(void **state)
{
	uint64_t ms = 77;
	const char *bad[] = {"",
	                     "-5s",
	                     "+5s",
	                     "1.5s",
	                     "5x",
	                     "s",
	                     "5 s",
	                     "5sec",
	                     "5s ",
	                     "99999999999999999999",
	                     "999999999999h"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(http_duration_parse(bad[i], &ms));
		assert_int_equal(ms, 77); /* untouched on failure */
	}
	assert_false(http_duration_parse(NULL, &ms));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_accepted),    cmocka_unit_test(test_names_refused),
	    cmocka_unit_test(test_name_length_limit), cmocka_unit_test(test_values),
	    cmocka_unit_test(test_durations),         cmocka_unit_test(test_durations_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
