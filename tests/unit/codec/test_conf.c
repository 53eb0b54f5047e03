/* The configuration encoding (raft_conf_encode/decode): what CONF entries
 * and snapshot metas carry, in the log store and on the wire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

/* Offsets in an encoded configuration (see codec_conf.c). */
#define OFF_VERSION     0
#define OFF_JOINT       1
#define OFF_SERVER0     6
#define OFF_SERVER1     (OFF_SERVER0 + 19 + 13) /* "10.0.0.1:7000" is 13 bytes */
#define SERVER_FOLDER   8
#define SERVER_ROLE     16
#define SERVER_OLD_ROLE 17
#define SERVER_ADDR_LEN 18

static uint8_t buf[RAFT_CONF_MAX_BYTES + 8];
static struct raft_conf conf, out;

static size_t encode_sample(bool joint)
{
	size_t n;

	fixture_conf(&conf, joint);
	n = raft_conf_encode(&conf, buf, RAFT_CONF_MAX_BYTES);
	assert_true(n > 0);
	return n;
}

static void test_conf_round_trips(void **state)
{
	(void)state;
	for (int joint = 0; joint <= 1; joint++) {
		size_t n = encode_sample(joint);

		assert_int_equal(raft_conf_decode(buf, n, &out), RAFT_OK);
		fixture_assert_conf_equal(&conf, &out);
	}
}

/* The largest configuration (RAFT_MAX_SERVERS with the longest addresses)
 * fits in RAFT_CONF_MAX_BYTES, as raft.h promises. */
static void test_largest_conf_fits_the_named_limit(void **state)
{
	size_t n;

	(void)state;
	memset(&conf, 0, sizeof(conf));
	conf.n = RAFT_MAX_SERVERS;
	for (uint32_t i = 0; i < conf.n; i++) {
		conf.servers[i].id = UINT64_MAX - i;
		conf.servers[i].role = RAFT_VOTER;
		memset(conf.servers[i].addr, 'a' + (int)i, RAFT_ADDR_MAX - 1);
	}
	n = raft_conf_encode(&conf, buf, RAFT_CONF_MAX_BYTES);
	assert_true(n > 0 && n <= RAFT_CONF_MAX_BYTES);
	assert_int_equal(raft_conf_encode(&conf, buf, n - 1), 0);
	assert_int_equal(raft_conf_decode(buf, n, &out), RAFT_OK);
	fixture_assert_conf_equal(&conf, &out);
}

static void test_empty_conf_round_trips(void **state)
{
	size_t n;

	(void)state;
	memset(&conf, 0, sizeof(conf));
	n = raft_conf_encode(&conf, buf, RAFT_CONF_MAX_BYTES);
	assert_true(n > 0);
	assert_int_equal(raft_conf_decode(buf, n, &out), RAFT_OK);
	assert_int_equal(out.n, 0);
}

static void test_conf_truncations_and_trailing_bytes_are_refused(void **state)
{
	size_t n;

	(void)state;
	n = encode_sample(true);
	for (size_t len = 0; len < n; len++)
		assert_int_equal(raft_conf_decode(buf, len, &out), RAFT_EINVAL);
	buf[n] = 0;
	assert_int_equal(raft_conf_decode(buf, n + 1, &out), RAFT_EINVAL);
	assert_int_equal(out.n, 0);
}

static void test_corrupt_conf_fields_are_refused(void **state)
{
	size_t n;

	(void)state;
	n = encode_sample(false);
	buf[OFF_VERSION] = 3;
	assert_int_equal(raft_conf_decode(buf, n, &out), RAFT_EINVAL);
	n = encode_sample(false);
	buf[OFF_VERSION] = 0;
	assert_int_equal(raft_conf_decode(buf, n, &out), RAFT_EINVAL);
	n = encode_sample(false);
	buf[OFF_JOINT] = 2;
	assert_int_equal(raft_conf_decode(buf, n, &out), RAFT_EINVAL);
	n = encode_sample(false);
	buf[OFF_SERVER0 + SERVER_ROLE] = 2;
	assert_int_equal(raft_conf_decode(buf, n, &out), RAFT_EINVAL);
	n = encode_sample(false);
	buf[OFF_SERVER0 + SERVER_OLD_ROLE] = 0xff;
	assert_int_equal(raft_conf_decode(buf, n, &out), RAFT_EINVAL);
	n = encode_sample(false);
	buf[OFF_SERVER0 + SERVER_ADDR_LEN] = RAFT_ADDR_MAX;
	assert_int_equal(raft_conf_decode(buf, n, &out), RAFT_EINVAL);
	n = encode_sample(false);
	buf[2] = RAFT_MAX_SERVERS + 1; /* n */
	assert_int_equal(raft_conf_decode(buf, n, &out), RAFT_EINVAL);
}

/* Configurations written before folders were bound (version 1: no folder
 * field) still decode, every folder 0 (none bound); what is written now
 * is version 2 and carries each voter's folder. */
static void test_version_1_decodes_without_folders(void **state)
{
	uint8_t v1[RAFT_CONF_MAX_BYTES];
	size_t n, m = 0;

	(void)state;
	n = encode_sample(true);
	assert_int_equal(buf[OFF_VERSION], 2);
	/* The same configuration in version 1: drop each server's folder. */
	memcpy(v1, buf, OFF_SERVER0);
	v1[OFF_VERSION] = 1;
	m = OFF_SERVER0;
	for (size_t at = OFF_SERVER0; at < n;) {
		size_t addr = buf[at + SERVER_ADDR_LEN];

		memcpy(v1 + m, buf + at, SERVER_FOLDER);
		memcpy(v1 + m + SERVER_FOLDER, buf + at + SERVER_ROLE, 3 + addr);
		m += SERVER_FOLDER + 3 + addr;
		at += SERVER_ADDR_LEN + 1 + addr;
	}
	assert_int_equal(raft_conf_decode(v1, m, &out), RAFT_OK);
	for (uint32_t i = 0; i < conf.n; i++)
		conf.servers[i].folder = 0;
	fixture_assert_conf_equal(&conf, &out);
	/* A version 1 header over version 2 servers is refused (the bytes do
	 * not line up), not misread. */
	buf[OFF_VERSION] = 1;
	assert_int_equal(raft_conf_decode(buf, n, &out), RAFT_EINVAL);
}

static void test_zero_and_duplicate_ids_are_refused(void **state)
{
	size_t n;

	(void)state;
	n = encode_sample(false);
	memset(buf + OFF_SERVER0, 0, 8);
	assert_int_equal(raft_conf_decode(buf, n, &out), RAFT_EINVAL);
	n = encode_sample(false);
	memcpy(buf + OFF_SERVER1, buf + OFF_SERVER0, 8);
	assert_int_equal(raft_conf_decode(buf, n, &out), RAFT_EINVAL);
	assert_int_equal(out.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conf_round_trips),
	    cmocka_unit_test(test_largest_conf_fits_the_named_limit),
	    cmocka_unit_test(test_empty_conf_round_trips),
	    cmocka_unit_test(test_conf_truncations_and_trailing_bytes_are_refused),
	    cmocka_unit_test(test_corrupt_conf_fields_are_refused),
	    cmocka_unit_test(test_version_1_decodes_without_folders),
	    cmocka_unit_test(test_zero_and_duplicate_ids_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
