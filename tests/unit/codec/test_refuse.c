/* The decoder trusts no length or count (DESIGN.md rule 11): truncated,
 * extended and corrupted frames are refused with the right error, and
 * random mutations never crash it (this test also runs under ASan+UBSan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

/* Offsets in the sample frames (see the layout in codec.h). */
#define OFF_TYPE           3
#define OFF_BODY_LEN       4
#define OFF_FIELDS         32 /* first field after from/to/term */
#define OFF_APPEND_N       56 /* after index, log_term, commit */
#define OFF_ENTRY0_TYPE    76
#define OFF_ENTRY0_LEN     77
#define OFF_SNAP_CONF_LEN  60 /* after snap index, term, size, crc */
#define OFF_SNAP_CONF_N    66
#define OFF_SNAP_ADDR0_LEN 88 /* conf header 6, id 8, folder 8, roles 2 */
#define MUTATION_ROUNDS    20000

static uint8_t frame[FIXTURE_FRAME_MAX + 16];
static struct raft_codec_msg decoded;

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static size_t encode_sample(int type)
{
	return fixture_encode(fixture_msg(type), frame);
}

/* Decodes LEN bytes of the frame, expecting ERR and a zeroed message. */
static void expect_refused(size_t len, int err)
{
	assert_int_equal(raft_codec_decode(frame, len, &decoded), err);
	assert_int_equal(decoded.msg.type, 0);
	assert_int_equal(decoded.msg.n_entries, 0);
	assert_null(decoded.msg.data);
}

static void test_every_truncation_is_refused(void **state)
{
	(void)state;
	for (int type = 1; type <= RAFT_MSG_TYPE_MAX; type++) {
		size_t n = encode_sample(type);

		for (size_t len = 0; len < n; len++)
			expect_refused(len, RAFT_CODEC_ESHORT);
	}
}

/* Cut the body and fix up its length so the header agrees: the body's own
 * fields must then notice the missing bytes. */
static void test_truncated_body_with_consistent_header_is_refused(void **state)
{
	(void)state;
	for (int type = 1; type <= RAFT_MSG_TYPE_MAX; type++) {
		size_t n = encode_sample(type);

		for (size_t len = RAFT_CODEC_HEADER_BYTES; len < n; len++) {
			encode_sample(type);
			put_u32(frame + OFF_BODY_LEN, (uint32_t)(len - RAFT_CODEC_HEADER_BYTES));
			expect_refused(len, RAFT_CODEC_EMALFORMED);
		}
	}
}

static void test_trailing_bytes_are_refused(void **state)
{
	(void)state;
	for (int type = 1; type <= RAFT_MSG_TYPE_MAX; type++) {
		size_t n = encode_sample(type);

		frame[n] = 0;
		expect_refused(n + 1, RAFT_CODEC_ETRAILING);
		/* A longer body that claims the extra byte is refused too. */
		put_u32(frame + OFF_BODY_LEN, get_u32(frame + OFF_BODY_LEN) + 1);
		expect_refused(n + 1, RAFT_CODEC_ETRAILING);
	}
}

static void test_bad_header_is_refused(void **state)
{
	size_t n, need;

	(void)state;
	n = encode_sample(RAFT_MSG_HEARTBEAT);
	frame[0] ^= 0xff;
	expect_refused(n, RAFT_CODEC_EMAGIC);
	assert_int_equal(raft_codec_frame_size(frame, 1, &need), RAFT_CODEC_EMAGIC);
	n = encode_sample(RAFT_MSG_HEARTBEAT);
	frame[2] = RAFT_CODEC_VERSION + 1;
	expect_refused(n, RAFT_CODEC_EVERSION);
	frame[2] = RAFT_CODEC_VERSION;
	frame[OFF_TYPE] = 0;
	expect_refused(n, RAFT_CODEC_ETYPE);
	frame[OFF_TYPE] = RAFT_MSG_TYPE_MAX + 1;
	expect_refused(n, RAFT_CODEC_ETYPE);
	n = encode_sample(RAFT_MSG_HEARTBEAT);
	put_u32(frame + OFF_BODY_LEN, RAFT_CODEC_MAX_BODY + 1);
	expect_refused(n, RAFT_CODEC_ELIMIT);
	assert_int_equal(raft_codec_frame_size(frame, RAFT_CODEC_HEADER_BYTES, &need),
	                 RAFT_CODEC_ELIMIT);
}

static void test_corrupt_entry_counts_and_lengths_are_refused(void **state)
{
	size_t n;

	(void)state;
	n = encode_sample(RAFT_MSG_APPEND);
	put_u32(frame + OFF_APPEND_N, RAFT_MAX_MSG_ENTRIES + 1);
	expect_refused(n, RAFT_CODEC_ELIMIT);
	put_u32(frame + OFF_APPEND_N, 0xffffffffu);
	expect_refused(n, RAFT_CODEC_ELIMIT);
	put_u32(frame + OFF_APPEND_N, FIXTURE_ENTRIES + 1); /* more than present */
	expect_refused(n, RAFT_CODEC_EMALFORMED);
	n = encode_sample(RAFT_MSG_APPEND);
	put_u32(frame + OFF_ENTRY0_LEN, RAFT_MAX_ENTRY_BYTES + 1);
	expect_refused(n, RAFT_CODEC_ELIMIT);
	put_u32(frame + OFF_ENTRY0_LEN, (uint32_t)n); /* within the limit, beyond the frame */
	expect_refused(n, RAFT_CODEC_EMALFORMED);
	n = encode_sample(RAFT_MSG_APPEND);
	frame[OFF_ENTRY0_TYPE] = 0;
	expect_refused(n, RAFT_CODEC_ETYPE);
	frame[OFF_ENTRY0_TYPE] = RAFT_ENTRY_CONF + 1;
	expect_refused(n, RAFT_CODEC_ETYPE);
}

static void test_booleans_must_be_zero_or_one(void **state)
{
	size_t n;

	(void)state;
	n = encode_sample(RAFT_MSG_VOTE_RESP);
	frame[OFF_FIELDS] = 2; /* reject */
	expect_refused(n, RAFT_CODEC_EMALFORMED);
	n = encode_sample(RAFT_MSG_VOTE);
	frame[OFF_FIELDS + 16] = 0x80; /* transfer, after index and log_term */
	expect_refused(n, RAFT_CODEC_EMALFORMED);
}

static void test_corrupt_snapshot_is_refused(void **state)
{
	size_t n, clen;

	(void)state;
	n = encode_sample(RAFT_MSG_SNAPSHOT);
	clen = get_u32(frame + OFF_SNAP_CONF_LEN);
	put_u32(frame + OFF_SNAP_CONF_LEN, RAFT_CONF_MAX_BYTES + 1);
	expect_refused(n, RAFT_CODEC_ELIMIT);
	put_u32(frame + OFF_SNAP_CONF_LEN, (uint32_t)clen - 1);
	expect_refused(n, RAFT_CODEC_EMALFORMED);
	n = encode_sample(RAFT_MSG_SNAPSHOT);
	put_u32(frame + OFF_SNAP_CONF_N, RAFT_MAX_SERVERS + 1);
	expect_refused(n, RAFT_CODEC_EMALFORMED);
	/* Version 1 of the configuration is read from old data folders only:
	 * on the wire it is refused (the same bytes would misread anyway). */
	n = encode_sample(RAFT_MSG_SNAPSHOT);
	frame[OFF_SNAP_CONF_LEN + 4] = 1;
	expect_refused(n, RAFT_CODEC_EMALFORMED);
	n = encode_sample(RAFT_MSG_SNAPSHOT);
	frame[OFF_SNAP_ADDR0_LEN] = RAFT_ADDR_MAX;
	expect_refused(n, RAFT_CODEC_EMALFORMED);
	n = encode_sample(RAFT_MSG_SNAPSHOT);
	frame[OFF_SNAP_ADDR0_LEN + 1] = '\0'; /* a NUL inside the address */
	expect_refused(n, RAFT_CODEC_EMALFORMED);
	/* Chunk fields follow the conf: offset u64, len u32, last u8, data. */
	n = encode_sample(RAFT_MSG_SNAPSHOT);
	put_u32(frame + OFF_SNAP_CONF_LEN + 4 + clen + 8, RAFT_SNAPSHOT_CHUNK + 1);
	expect_refused(n, RAFT_CODEC_ELIMIT);
	n = encode_sample(RAFT_MSG_SNAPSHOT);
	frame[OFF_SNAP_CONF_LEN + 4 + clen] ^= 0x01; /* offset 701: chunk ends past size */
	expect_refused(n, RAFT_CODEC_EMALFORMED);
}

/* Seeded random mutations of valid frames: decoding never crashes, and
 * whatever it accepts re-encodes to the very same bytes (the encoding is
 * canonical, so nothing was misread). */
static void test_random_mutations_never_crash(void **state)
{
	static uint8_t again[FIXTURE_FRAME_MAX + 16];
	uint64_t seed = 0x5eed;
	unsigned accepted = 0;

	(void)state;
	for (unsigned round = 0; round < MUTATION_ROUNDS; round++) {
		int type = (int)(fixture_rand(&seed) % RAFT_MSG_TYPE_MAX) + 1;
		size_t n = encode_sample(type), m = 0;
		unsigned flips = 1 + (unsigned)(fixture_rand(&seed) % 4);

		for (unsigned i = 0; i < flips; i++)
			frame[fixture_rand(&seed) % n] = (uint8_t)fixture_rand(&seed);
		if (fixture_rand(&seed) % 8 == 0)
			n = fixture_rand(&seed) % (n + 8);
		if (raft_codec_decode(frame, n, &decoded) != RAFT_CODEC_OK)
			continue;
		accepted++;
		assert_int_equal(raft_codec_encode(&decoded.msg, again, sizeof(again), &m),
		                 RAFT_CODEC_OK);
		assert_int_equal(m, n);
		assert_memory_equal(again, frame, n);
	}
	/* Mutations of ids, terms and payloads are valid frames: some pass. */
	assert_true(accepted > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_truncation_is_refused),
	    cmocka_unit_test(test_truncated_body_with_consistent_header_is_refused),
	    cmocka_unit_test(test_trailing_bytes_are_refused),
	    cmocka_unit_test(test_bad_header_is_refused),
	    cmocka_unit_test(test_corrupt_entry_counts_and_lengths_are_refused),
	    cmocka_unit_test(test_booleans_must_be_zero_or_one),
	    cmocka_unit_test(test_corrupt_snapshot_is_refused),
	    cmocka_unit_test(test_random_mutations_never_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
