/* The codec round trip: every message type decodes to what was encoded,
 * field by field, zero-copy and copied; frames split correctly from a
 * stream; the encoder refuses what the decoder would refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

static uint8_t frame[FIXTURE_FRAME_MAX];
static struct raft_codec_msg decoded;

static void test_every_type_round_trips_zero_copy(void **state)
{
	(void)state;
	for (int type = 1; type <= RAFT_MSG_TYPE_MAX; type++) {
		const struct raft_msg *m = fixture_msg(type);
		size_t n = fixture_encode(m, frame);

		assert_int_equal(raft_codec_decode(frame, n, &decoded), RAFT_CODEC_OK);
		fixture_assert_msg_equal(m, &decoded.msg);
		/* Zero-copy: the data points into the frame itself. */
		if (decoded.msg.n_entries > 0) {
			assert_true(decoded.msg.entries[0].data > frame);
			assert_true(decoded.msg.entries[0].data < frame + n);
		}
		if (decoded.msg.len > 0)
			assert_true(decoded.msg.data > frame && decoded.msg.data < frame + n);
	}
}

static void test_every_type_round_trips_copied(void **state)
{
	(void)state;
	for (int type = 1; type <= RAFT_MSG_TYPE_MAX; type++) {
		const struct raft_msg *m = fixture_msg(type);
		size_t n = fixture_encode(m, frame);
		struct raft_msg *copy = NULL;

		assert_int_equal(raft_codec_decode_copy(frame, n, &copy), RAFT_CODEC_OK);
		/* The copy must not depend on the frame any more. */
		memset(frame, 0xee, n);
		fixture_assert_msg_equal(m, copy);
		raft_codec_msg_free(copy);
	}
}

static void test_empty_append_has_no_entries(void **state)
{
	struct raft_msg m = {.type = RAFT_MSG_APPEND,
	                     .from = 3,
	                     .to = 1,
	                     .term = 2,
	                     .index = 10,
	                     .log_term = 2,
	                     .commit = 9};
	size_t n;

	(void)state;
	n = fixture_encode(&m, frame);
	assert_int_equal(raft_codec_decode(frame, n, &decoded), RAFT_CODEC_OK);
	assert_int_equal(decoded.msg.n_entries, 0);
	assert_null(decoded.msg.entries);
	fixture_assert_msg_equal(&m, &decoded.msg);
}

/* The format is versioned and little-endian: pin the exact bytes of the
 * smallest frame so an accidental change of the format fails here. */
static void test_wire_bytes_are_pinned(void **state)
{
	struct raft_msg m = {.type = RAFT_MSG_TIMEOUT_NOW, .from = 0x0102, .to = 3, .term = 4};
	static const uint8_t want[] = {0x4d, 0xc0, 1, RAFT_MSG_TIMEOUT_NOW,
	                               24,   0,    0, 0,
	                               0x02, 0x01, 0, 0,
	                               0,    0,    0, 0,
	                               3,    0,    0, 0,
	                               0,    0,    0, 0,
	                               4,    0,    0, 0,
	                               0,    0,    0, 0};
	size_t n;

	(void)state;
	n = fixture_encode(&m, frame);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(frame, want, sizeof(want));
}

static void test_frame_size_from_any_prefix(void **state)
{
	const struct raft_msg *m = fixture_msg(RAFT_MSG_APPEND);
	size_t n, need;

	(void)state;
	n = fixture_encode(m, frame);
	for (size_t avail = 0; avail <= n; avail++) {
		int rv = raft_codec_frame_size(frame, avail, &need);

		if (avail < RAFT_CODEC_HEADER_BYTES) {
			assert_int_equal(rv, RAFT_CODEC_ESHORT);
			assert_int_equal(need, RAFT_CODEC_HEADER_BYTES);
		} else {
			assert_int_equal(rv, RAFT_CODEC_OK);
			assert_int_equal(need, n);
		}
	}
}

/* A stream of back-to-back frames is split with raft_codec_frame_size(). */
static void test_stream_of_frames_splits(void **state)
{
	size_t len = 0, at = 0, need = 0;
	int type = 1;

	(void)state;
	for (int t = 1; t <= RAFT_MSG_TYPE_MAX; t++)
		len += fixture_encode(fixture_msg(t), frame + len);
	while (at < len) {
		assert_int_equal(raft_codec_frame_size(frame + at, len - at, &need), RAFT_CODEC_OK);
		assert_int_equal(raft_codec_decode(frame + at, need, &decoded), RAFT_CODEC_OK);
		fixture_assert_msg_equal(fixture_msg(type), &decoded.msg);
		at += need;
		type++;
	}
	assert_int_equal(type, RAFT_MSG_TYPE_MAX + 1);
}

static void test_encoder_needs_room(void **state)
{
	const struct raft_msg *m = fixture_msg(RAFT_MSG_VOTE);
	size_t size = raft_codec_size(m), n = 99;

	(void)state;
	assert_int_equal(raft_codec_encode(m, frame, size - 1, &n), RAFT_CODEC_ENOSPACE);
	assert_int_equal(n, 0);
	assert_int_equal(raft_codec_encode(m, frame, size, &n), RAFT_CODEC_OK);
	assert_int_equal(n, size);
}

/* A full batch is the largest count the decoder accepts: it must encode. */
static void test_full_batch_round_trips(void **state)
{
	struct raft_entry *e = calloc(RAFT_MAX_MSG_ENTRIES + 1, sizeof(*e));
	struct raft_msg m = {.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 3};
	size_t n;

	(void)state;
	assert_non_null(e);
	for (uint32_t i = 0; i <= RAFT_MAX_MSG_ENTRIES; i++)
		e[i] = (struct raft_entry){.term = 3, .index = i + 1, .type = RAFT_ENTRY_NOOP};
	m.entries = e;
	m.n_entries = RAFT_MAX_MSG_ENTRIES;
	n = fixture_encode(&m, frame);
	assert_int_equal(raft_codec_decode(frame, n, &decoded), RAFT_CODEC_OK);
	fixture_assert_msg_equal(&m, &decoded.msg);
	m.n_entries = RAFT_MAX_MSG_ENTRIES + 1;
	assert_int_equal(raft_codec_size(&m), 0);
	assert_int_equal(raft_codec_encode(&m, frame, sizeof(frame), &n), RAFT_CODEC_ELIMIT);
	free(e);
}

static void test_encoder_refuses_invalid_messages(void **state)
{
	struct raft_msg m;
	size_t n;

	(void)state;
	m = *fixture_msg(RAFT_MSG_HEARTBEAT);
	m.type = RAFT_MSG_TYPE_MAX + 1;
	assert_int_equal(raft_codec_encode(&m, frame, sizeof(frame), &n), RAFT_CODEC_ETYPE);
	m = *fixture_msg(RAFT_MSG_HEARTBEAT);
	m.from = 0;
	assert_int_equal(raft_codec_encode(&m, frame, sizeof(frame), &n), RAFT_CODEC_EMALFORMED);
	/* The core emits SNAPSHOT without data; the host must attach it. */
	m = *fixture_msg(RAFT_MSG_SNAPSHOT);
	m.data = NULL;
	assert_int_equal(raft_codec_encode(&m, frame, sizeof(frame), &n), RAFT_CODEC_EMALFORMED);
	m = *fixture_msg(RAFT_MSG_SNAPSHOT);
	m.last = true;
	m.offset = 0;
	assert_int_equal(raft_codec_encode(&m, frame, sizeof(frame), &n), RAFT_CODEC_EMALFORMED);
	m = *fixture_msg(RAFT_MSG_APPEND);
	m.entries[0].len = RAFT_MAX_ENTRY_BYTES + 1;
	assert_int_equal(raft_codec_encode(&m, frame, sizeof(frame), &n), RAFT_CODEC_ELIMIT);
}

/* raft.h: fields a type does not use are zero. The codec does not carry
 * them, so a core that sets one anyway is found by a round trip (the
 * simulator compares every message it routes). */
static void test_fields_a_type_does_not_carry_decode_as_zero(void **state)
{
	struct raft_msg m = *fixture_msg(RAFT_MSG_HEARTBEAT);
	size_t n;

	(void)state;
	assert_int_equal(raft_codec_fields(RAFT_MSG_HEARTBEAT),
	                 RAFT_CODEC_F_COMMIT | RAFT_CODEC_F_CTX);
	assert_int_equal(raft_codec_fields(0), 0);
	assert_int_equal(raft_codec_fields(RAFT_MSG_TYPE_MAX + 1), 0);
	m.index = 5;
	m.reject = true;
	n = fixture_encode(&m, frame);
	assert_int_equal(raft_codec_decode(frame, n, &decoded), RAFT_CODEC_OK);
	assert_int_equal(decoded.msg.index, 0);
	assert_false(decoded.msg.reject);
	assert_int_equal(decoded.msg.commit, m.commit);
	assert_int_equal(decoded.msg.ctx, m.ctx);
}

static void test_strerror_names_every_error(void **state)
{
	(void)state;
	for (int e = RAFT_CODEC_OK; e <= RAFT_CODEC_ENOMEM; e++)
		assert_string_not_equal(raft_codec_strerror(e), "unknown codec error");
	assert_string_equal(raft_codec_strerror(999), "unknown codec error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_type_round_trips_zero_copy),
	    cmocka_unit_test(test_every_type_round_trips_copied),
	    cmocka_unit_test(test_empty_append_has_no_entries),
	    cmocka_unit_test(test_wire_bytes_are_pinned),
	    cmocka_unit_test(test_frame_size_from_any_prefix),
	    cmocka_unit_test(test_stream_of_frames_splits),
	    cmocka_unit_test(test_encoder_needs_room),
	    cmocka_unit_test(test_full_batch_round_trips),
	    cmocka_unit_test(test_encoder_refuses_invalid_messages),
	    cmocka_unit_test(test_fields_a_type_does_not_carry_decode_as_zero),
	    cmocka_unit_test(test_strerror_names_every_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
