/* The command encoding: round trips, and refusal of every malformed entry,
 * identically and without a change of state (DESIGN.md rule 11). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sm_fixture.h"

/* One valid command of every type. */
static struct coord_cmd sample(enum coord_cmd_type type)
{
	struct coord_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = type;
	c.now_ms = 1234567;
	c.session = fx_sid(42);
	switch (type) {
	case COORD_CMD_OPEN:
		c.ttl_ms = 10000;
		c.lock_delay_ms = 500;
		c.name = "worker-7";
		c.name_len = 8;
		break;
	case COORD_CMD_ACQUIRE:
		c.kind = COORD_KIND_LOCK;
		c.mode = COORD_MODE_SHARED;
		c.queue = true;
		c.has_value = true;
		c.value = "caf\xc3\xa9";
		c.value_len = 5;
		__attribute__((fallthrough));
	case COORD_CMD_RELEASE:
	case COORD_CMD_CANCEL:
		c.name = "jobs/a";
		c.name_len = 6;
		break;
	case COORD_CMD_PROCLAIM:
		c.kind = COORD_KIND_ELECTION;
		c.has_value = true;
		c.name = "db";
		c.name_len = 2;
		c.value = "host:1";
		c.value_len = 6;
		break;
	case COORD_CMD_WAKE:
		memset(&c.session, 0, sizeof(c.session));
		break;
	case COORD_CMD_LIMITS:
		memset(&c.session, 0, sizeof(c.session));
		c.limits = (struct coord_limits){500, 16, 100};
		break;
	case COORD_CMD_RETIRE:
		memset(&c.session, 0, sizeof(c.session));
		c.member = 7;
		break;
	case COORD_CMD_TOKEN:
		memset(&c.session, 0, sizeof(c.session));
		memset(c.hash, 0x5a, sizeof(c.hash));
		c.name = "ci";
		c.name_len = 2;
		c.admin = true;
		c.n_rules = 2;
		c.rules[0] =
		    (struct coord_rule){COORD_RESOURCE_LOCKS, COORD_ACCESS_WRITE, "jobs/", 5};
		c.rules[1] = (struct coord_rule){COORD_RESOURCE_KV, COORD_ACCESS_READ, "", 0};
		break;
	case COORD_CMD_REVOKE_TOKEN:
		memset(&c.session, 0, sizeof(c.session));
		c.token_id = 9;
		break;
	case COORD_CMD_ALIVE: { /* two sessions' keepalives */
		static const struct coord_session_id ids[2] = {{{1, 2, 3}}, {{0xff, [15] = 9}}};

		memset(&c.session, 0, sizeof(c.session));
		c.ids = ids;
		c.n_ids = 2;
		break;
	}
	case COORD_CMD_KV_TXN: /* every kind of check and operation */
		c.actor = 3;
		c.n_checks = 3;
		c.checks[0] = (struct coord_txn_check){COORD_TXN_CHECK_KEY, "cfg/a", 5, 0, {{0}}};
		c.checks[1] =
		    (struct coord_txn_check){COORD_TXN_CHECK_LOCK, "jobs/a", 6, 12, {{0}}};
		c.checks[2] =
		    (struct coord_txn_check){COORD_TXN_CHECK_SESSION, NULL, 0, 0, fx_sid(7)};
		c.n_ops = 2;
		c.ops[0] = (struct coord_txn_op){COORD_TXN_PUT, true, "svc/1", 5, "h:1", 3};
		c.ops[1] = (struct coord_txn_op){COORD_TXN_DELETE, false, "cfg/a", 5, NULL, 0};
		break;
	case COORD_CMD_KV_PUT: /* an ephemeral, fenced, conditional put */
		c.kv_flags = COORD_KV_EPHEMERAL | COORD_KV_FENCE | COORD_KV_CAS;
		c.has_value = true;
		c.value = "10.0.0.7:80";
		c.value_len = 11;
		c.actor = 3;
		__attribute__((fallthrough));
	case COORD_CMD_KV_DELETE:
		if (type == COORD_CMD_KV_DELETE) {
			memset(&c.session, 0, sizeof(c.session));
			c.kv_flags = COORD_KV_FENCE | COORD_KV_CAS;
		}
		c.name = "svc/web/1";
		c.name_len = 9;
		c.cas = 17;
		c.fence_lock = "jobs/a";
		c.fence_lock_len = 6;
		c.fence_token = 12;
		break;
	default:
		break;
	}
	return c;
}

static void test_every_type_round_trips(void **state)
{
	(void)state;
	for (int t = COORD_CMD_OPEN; t <= COORD_CMD_TYPE_MAX; t++) {
		struct coord_cmd c = sample((enum coord_cmd_type)t), d;
		void *buf;
		size_t len;

		assert_int_equal(coord_cmd_encode_alloc(&c, &buf, &len), 0);
		assert_int_equal(len, coord_cmd_encoded_len(&c));
		assert_int_equal(coord_cmd_decode(buf, len, &d), 0);
		fx_assert_same_cmd(&c, &d);
		free(buf);
	}
}

static void test_encode_into_short_buffer(void **state)
{
	struct coord_cmd c = sample(COORD_CMD_ACQUIRE);
	uint8_t buf[COORD_CMD_HEADER_LEN];
	size_t len;

	(void)state;
	assert_int_equal(coord_cmd_encode(&c, buf, sizeof(buf), &len), COORD_ETOOSMALL);
}

/* Applies every strict prefix of every command, and the command with a byte
 * more: each is refused as invalid and the state does not change. */
static void test_every_truncation_is_refused_without_change(void **state)
{
	struct fx *f = *state;
	uint64_t hash;

	fx_open(f, 42, FX_TTL, 0);
	hash = fx_hash(f);
	for (int t = COORD_CMD_OPEN; t <= COORD_CMD_TYPE_MAX; t++) {
		struct coord_cmd c = sample((enum coord_cmd_type)t), d;
		uint8_t *buf;
		size_t len;

		assert_int_equal(coord_cmd_encode_alloc(&c, (void **)&buf, &len), 0);
		for (size_t cut = 0; cut < len; cut++) {
			/* A copy of exactly CUT bytes, so ASan sees any overread. */
			uint8_t *part = malloc(cut > 0 ? cut : 1);

			memcpy(part, buf, cut);
			assert_int_equal(coord_cmd_decode(part, cut, &d), COORD_EMALFORMED);
			assert_int_equal(fx_apply_raw(f, part, cut), COORD_ST_INVALID);
			free(part);
		}
		buf = realloc(buf, len + 1);
		buf[len] = 0;
		assert_int_equal(fx_apply_raw(f, buf, len + 1), COORD_ST_INVALID);
		free(buf);
	}
	assert_int_equal(fx_hash(f), hash);
}

/* Encodes a valid ACQUIRE, lets EDIT damage it, and expects a refusal. */
static void assertRefused(void (*edit)(uint8_t *buf, size_t len))
{
	struct coord_cmd c = sample(COORD_CMD_ACQUIRE), d;
	uint8_t buf[128];
	size_t len;

	assert_int_equal(coord_cmd_encode(&c, buf, sizeof(buf), &len), 0);
	edit(buf, len);
	assert_int_equal(coord_cmd_decode(buf, len, &d), COORD_EMALFORMED);
}

/* Byte offsets in an ACQUIRE. */
#define OFF_KIND  COORD_CMD_HEADER_LEN
#define OFF_MODE  (OFF_KIND + 1)
#define OFF_FLAGS (OFF_KIND + 2)
#define OFF_NLEN  (OFF_KIND + 3)
#define OFF_NAME  (OFF_KIND + 5)

static void badVersion(uint8_t *b, size_t n)
{
	(void)n;
	b[0] = COORD_CMD_VERSION + 1;
}
static void badType(uint8_t *b, size_t n)
{
	(void)n;
	b[1] = COORD_CMD_TYPE_MAX + 1;
}
static void badKind(uint8_t *b, size_t n)
{
	(void)n;
	b[OFF_KIND] = 2;
}
static void badMode(uint8_t *b, size_t n)
{
	(void)n;
	b[OFF_MODE] = 2;
}
static void badFlags(uint8_t *b, size_t n)
{
	(void)n;
	b[OFF_FLAGS] |= 0x80;
}
static void hugeNameLength(uint8_t *b, size_t n)
{
	(void)n;
	b[OFF_NLEN] = 0xff;
	b[OFF_NLEN + 1] = 0xff;
}
static void nulInName(uint8_t *b, size_t n)
{
	(void)n;
	b[OFF_NAME + 1] = 0;
}
static void badUtf8Value(uint8_t *b, size_t n)
{
	b[n - 1] = 0xff;
}
static void hugeValueLength(uint8_t *b, size_t n)
{
	/* value length field sits 4+5 bytes before the end ("caf\xc3\xa9"). */
	b[n - 5 - 1] = 0x7f;
}
static void hugeStamp(uint8_t *b, size_t n)
{
	(void)n;
	b[2 + 7] = 0x80; /* now_ms >= 2^63 */
}

static void test_damaged_fields_are_refused(void **state)
{
	(void)state;
	assertRefused(badVersion);
	assertRefused(badType);
	assertRefused(badKind);
	assertRefused(badMode);
	assertRefused(badFlags);
	assertRefused(hugeNameLength);
	assertRefused(nulInName);
	assertRefused(badUtf8Value);
	assertRefused(hugeValueLength);
	assertRefused(hugeStamp);
}

/* Random damage (flipped bits, random bytes) to valid entries: never a
 * crash, and two databases given the same damaged entries stay equal. */
static void test_random_damage_is_handled_identically(void **state)
{
	struct fx *a = *state, *b = NULL;
	uint64_t seed = 0x5eed;

	(void)fx_setup((void **)&b);
	fx_open(a, 42, FX_TTL, 0);
	fx_open(b, 42, FX_TTL, 0);
	for (int i = 0; i < 4000; i++) {
		struct coord_cmd c =
		    sample((enum coord_cmd_type)(COORD_CMD_OPEN + i % COORD_CMD_TYPE_MAX));
		uint8_t *buf;
		size_t len;

		assert_int_equal(coord_cmd_encode_alloc(&c, (void **)&buf, &len), 0);
		for (int flips = 0; flips < 1 + i % 3; flips++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			buf[(seed >> 33) % len] ^= (uint8_t)(1u << ((seed >> 20) % 8));
		}
		if (i % 7 == 0) /* sometimes a shorter, random tail */
			len = (size_t)((seed >> 40) % len);
		assert_int_equal(fx_apply_raw(a, buf, len), fx_apply_raw(b, buf, len));
		free(buf);
	}
	assert_int_equal(fx_hash(a), fx_hash(b));
	(void)fx_teardown((void **)&b);
}

static void test_limits_of_validation(void **state)
{
	static char big[COORD_VALUE_MAX + 1];
	struct coord_cmd c = sample(COORD_CMD_ACQUIRE);
	char name[COORD_NAME_MAX + 1];

	(void)state;
	memset(name, 'n', sizeof(name));
	c.name = name;
	c.name_len = COORD_NAME_MAX;
	assert_int_equal(coord_cmd_validate(&c), 0);
	c.name_len = COORD_NAME_MAX + 1;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c.name_len = 0;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c = sample(COORD_CMD_ACQUIRE);
	memset(big, 'v', sizeof(big));
	c.value = big;
	c.value_len = COORD_VALUE_MAX;
	assert_int_equal(coord_cmd_validate(&c), 0);
	c.value_len = COORD_VALUE_MAX + 1;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c = sample(COORD_CMD_OPEN);
	c.ttl_ms = COORD_TTL_MIN_MS - 1;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c.ttl_ms = COORD_TTL_MAX_MS + 1;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c.ttl_ms = COORD_TTL_MAX_MS;
	c.lock_delay_ms = COORD_LOCK_DELAY_MAX_MS + 1;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	/* Overlong encoding of '/' and a UTF-16 surrogate are not UTF-8. */
	c = sample(COORD_CMD_ACQUIRE);
	c.value = "\xc0\xaf";
	c.value_len = 2;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c.value = "\xed\xa0\x80";
	c.value_len = 3;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
}

static void test_session_id_text(void **state)
{
	struct coord_session_id id = fx_sid(0xabcdef), back;
	char hex[COORD_SESSION_ID_HEX + 1];

	(void)state;
	coord_session_id_format(&id, hex);
	assert_string_equal(hex, "c0000000000000000000000000abcdef");
	assert_int_equal(coord_session_id_parse(hex, strlen(hex), &back), 0);
	assert_true(coord_session_id_equal(&id, &back));
	assert_int_equal(coord_session_id_parse("C0000000000000000000000000ABCDEF", 32, &back), 0);
	assert_true(coord_session_id_equal(&id, &back));
	assert_int_equal(coord_session_id_parse(hex, 31, &back), COORD_EMALFORMED);
	hex[3] = 'g';
	assert_int_equal(coord_session_id_parse(hex, 32, &back), COORD_EMALFORMED);
}

static void test_strerror_names_every_code(void **state)
{
	(void)state;
	for (int e = 0; e < COORD_ERR_COUNT; e++)
		assert_non_null(coord_strerror(e));
	assert_string_equal(coord_strerror(COORD_ELIMIT), "a limit is reached");
	assert_string_equal(coord_strerror(-1), "unknown error");
	assert_string_equal(coord_status_name(COORD_ST_LOCK_DELAY), "lock_delay");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_type_round_trips),
	    cmocka_unit_test(test_encode_into_short_buffer),
	    cmocka_unit_test_setup_teardown(test_every_truncation_is_refused_without_change,
	                                    fx_setup, fx_teardown),
	    cmocka_unit_test(test_damaged_fields_are_refused),
	    cmocka_unit_test_setup_teardown(test_random_damage_is_handled_identically, fx_setup,
	                                    fx_teardown),
	    cmocka_unit_test(test_limits_of_validation),
	    cmocka_unit_test(test_session_id_text),
	    cmocka_unit_test(test_strerror_names_every_code),
	};

	return cmocka_run_group_tests_name("coord_command", tests, NULL, NULL);
}
