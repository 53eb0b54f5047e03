/* bytes.h, the little-endian reader and writer every codec of coord shares.
 * Each test states one clause of its contract: the byte layout, the latched
 * failure of the writer and of the reader, and what strings refuse. A codec
 * built on it checks `fail` once, at the end (docs/DESIGN.md, rule 11), so
 * these clauses are what keeps a hostile frame from being read past. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bytes.h"

#define POISON 0xA5 /* fills buffers, so a stray write shows */

static uint8_t buf[64];

static void poison(void)
{
	memset(buf, POISON, sizeof(buf));
}

static void assert_untouched(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(p[i], POISON);
}

/* Layout -------------------------------------------------------------------- */

/* Integers are little-endian: the least significant byte comes first. */
static void test_integers_are_little_endian(void **state)
{
	static const uint8_t want[] = {0x01,                                            /* u8 */
	                               0x02, 0x01,                                      /* u16 */
	                               0x04, 0x03, 0x02, 0x01,                          /* u32 */
	                               0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01}; /* u64 */
	struct bytes_writer w;

	(void)state;
	poison();
	w = bytes_writer_init(buf, sizeof(buf));
	bytes_put_u8(&w, 0x01);
	bytes_put_u16(&w, 0x0102);
	bytes_put_u32(&w, 0x01020304u);
	bytes_put_u64(&w, 0x0102030405060708ull);
	assert_false(w.fail);
	assert_int_equal(w.len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_untouched(buf + sizeof(want), sizeof(buf) - sizeof(want));
}

/* Every width reads back what was written, at the edges of its range, and
 * the raw store/load agree with the writer and reader. */
static void test_every_width_round_trips(void **state)
{
	static const size_t widths[] = {1, 2, 4, 8};
	static const uint64_t values[] = {0,
	                                  1,
	                                  0x7f,
	                                  0x80,
	                                  0xff,
	                                  0x100,
	                                  0xffff,
	                                  0x10000,
	                                  0xffffffffu,
	                                  0x100000000ull,
	                                  0x8000000000000000ull,
	                                  UINT64_MAX};

	(void)state;
	for (size_t k = 0; k < sizeof(widths) / sizeof(widths[0]); k++) {
		size_t n = widths[k];
		uint64_t mask = n == 8 ? UINT64_MAX : (1ull << (8 * n)) - 1;

		for (size_t j = 0; j < sizeof(values) / sizeof(values[0]); j++) {
			uint64_t v = values[j] & mask;
			struct bytes_writer w = bytes_writer_init(buf, n);
			struct bytes_reader r;
			uint8_t raw[8];

			bytes_put_uint(&w, v, n);
			assert_false(w.fail);
			assert_int_equal(w.len, n);
			bytes_store_le(raw, v, n);
			assert_memory_equal(raw, buf, n);
			assert_true(bytes_load_le(buf, n) == v);
			r = bytes_reader_init(buf, n);
			assert_true(bytes_get_uint(&r, n) == v);
			assert_true(bytes_done(&r));
		}
	}
}

/* The named widths are the same bytes as bytes_put_uint/bytes_get_uint. */
static void test_named_widths_round_trip(void **state)
{
	struct bytes_writer w;
	struct bytes_reader r;

	(void)state;
	w = bytes_writer_init(buf, sizeof(buf));
	bytes_put_u8(&w, UINT8_MAX);
	bytes_put_u16(&w, UINT16_MAX - 1);
	bytes_put_u32(&w, UINT32_MAX - 2);
	bytes_put_u64(&w, UINT64_MAX - 3);
	assert_false(w.fail);
	assert_int_equal(w.len, 1 + 2 + 4 + 8);
	r = bytes_reader_init(buf, w.len);
	assert_int_equal(bytes_get_u8(&r), UINT8_MAX);
	assert_int_equal(bytes_get_u16(&r), UINT16_MAX - 1);
	assert_int_equal(bytes_get_u32(&r), UINT32_MAX - 2);
	assert_true(bytes_get_u64(&r) == UINT64_MAX - 3);
	assert_true(bytes_done(&r));
}

/* A string is its length in 1, 2 or 4 bytes, then its bytes, without NUL. */
static void test_strings_round_trip_with_every_length_width(void **state)
{
	static const size_t widths[] = {1, 2, 4};

	(void)state;
	for (size_t k = 0; k < sizeof(widths) / sizeof(widths[0]); k++) {
		size_t lw = widths[k];
		struct bytes_writer w = bytes_writer_init(buf, sizeof(buf));
		struct bytes_reader r;
		const char *s;
		size_t n;

		bytes_put_str(&w, "lock", 4, lw);
		bytes_put_str(&w, "", 0, lw);
		assert_false(w.fail);
		assert_int_equal(w.len, lw + 4 + lw);
		assert_int_equal(bytes_load_le(buf, lw), 4);
		assert_memory_equal(buf + lw, "lock", 4);
		assert_int_equal(bytes_load_le(buf + lw + 4, lw), 0);

		r = bytes_reader_init(buf, w.len);
		bytes_get_str(&r, lw, 4, &s, &n);
		assert_int_equal(n, 4);
		assert_memory_equal(s, "lock", 4);
		assert_ptr_equal(s, (const char *)buf + lw); /* borrowed, not copied */
		bytes_get_str(&r, lw, 4, &s, &n);
		assert_int_equal(n, 0);
		assert_true(bytes_done(&r));
	}
}

/* bytes_put() copies raw bytes; zero of them need no source. */
static void test_raw_bytes_and_spaces(void **state)
{
	struct bytes_writer w;
	uint8_t *at;

	(void)state;
	poison();
	w = bytes_writer_init(buf, 8);
	bytes_put(&w, "abc", 3);
	bytes_put(&w, NULL, 0);
	at = bytes_put_space(&w, 2);
	assert_ptr_equal(at, buf + 3);
	at[0] = 'd';
	at[1] = 'e';
	assert_false(w.fail);
	assert_int_equal(w.len, 5);
	assert_memory_equal(buf, "abcde", 5);
	assert_untouched(buf + 5, sizeof(buf) - 5);
}

/* Writer failure ------------------------------------------------------------- */

/* A write that would pass the capacity fails the writer and writes nothing:
 * not even the part that would have fitted. */
static void test_writer_fails_on_overflow_without_writing(void **state)
{
	struct bytes_writer w;

	(void)state;
	poison();
	w = bytes_writer_init(buf, 6);
	bytes_put_u32(&w, 0x11223344u);
	bytes_put_u32(&w, 0x55667788u); /* 2 bytes left: refused whole */
	assert_true(w.fail);
	assert_int_equal(w.len, 4);
	assert_untouched(buf + 4, sizeof(buf) - 4);
}

/* The failure latches: later writes that would fit do nothing either, so a
 * codec checks `fail` once, at the end. */
static void test_writer_failure_latches(void **state)
{
	struct bytes_writer w;

	(void)state;
	poison();
	w = bytes_writer_init(buf, 4);
	bytes_put_u64(&w, 1);
	assert_true(w.fail);
	bytes_put_u8(&w, 2);
	bytes_put_u16(&w, 3);
	bytes_put(&w, "x", 1);
	bytes_put_str(&w, "", 0, 1);
	assert_null(bytes_put_space(&w, 0));
	assert_true(w.fail);
	assert_int_equal(w.len, 0);
	assert_untouched(buf, sizeof(buf));
}

/* Filling the capacity exactly is not an overflow. */
static void test_writer_may_fill_its_capacity_exactly(void **state)
{
	struct bytes_writer w;

	(void)state;
	w = bytes_writer_init(buf, 9);
	bytes_put_u8(&w, 1);
	bytes_put_u64(&w, 2);
	assert_false(w.fail);
	assert_int_equal(w.len, 9);
	bytes_put_u8(&w, 3);
	assert_true(w.fail);
}

/* A writer without a buffer but with a capacity is failed from the start. */
static void test_writer_without_buffer_is_failed(void **state)
{
	struct bytes_writer w = bytes_writer_init(NULL, 8);

	(void)state;
	assert_true(w.fail);
	bytes_put_u8(&w, 1);
	assert_int_equal(w.len, 0);
}

/* bytes_put_str() refuses a length its length field cannot hold, and then
 * writes neither the length nor the bytes. */
static void test_put_str_refuses_a_length_its_field_cannot_hold(void **state)
{
	static char big[65536];
	static uint8_t out[70000];
	struct bytes_writer w;

	(void)state;
	memset(big, 'a', sizeof(big));
	w = bytes_writer_init(out, sizeof(out));
	bytes_put_str(&w, big, 255, 1); /* the largest a 1-byte field holds */
	assert_false(w.fail);
	assert_int_equal(w.len, 1 + 255);

	w = bytes_writer_init(out, sizeof(out));
	bytes_put_str(&w, big, 256, 1);
	assert_true(w.fail);
	assert_int_equal(w.len, 0);

	w = bytes_writer_init(out, sizeof(out));
	bytes_put_str(&w, big, 65535, 2);
	assert_false(w.fail);
	assert_int_equal(w.len, 2 + 65535);

	w = bytes_writer_init(out, sizeof(out));
	bytes_put_str(&w, big, 65536, 2);
	assert_true(w.fail);
	assert_int_equal(w.len, 0);
#if SIZE_MAX > UINT32_MAX
	/* Refused on its length alone, before a byte of BIG is read. */
	w = bytes_writer_init(out, sizeof(out));
	bytes_put_str(&w, big, (size_t)UINT32_MAX + 1, 4);
	assert_true(w.fail);
	assert_int_equal(w.len, 0);
#endif
}

/* A string whose length fits its field but whose bytes do not fit the
 * buffer fails the writer too. */
static void test_put_str_fails_when_its_bytes_do_not_fit(void **state)
{
	struct bytes_writer w;

	(void)state;
	w = bytes_writer_init(buf, 4);
	bytes_put_str(&w, "lock", 4, 1);
	assert_true(w.fail);
}

/* Reader failure ------------------------------------------------------------- */

/* A read that would pass the end fails the reader and returns zero; every
 * read after it returns zero (or NULL) even where bytes remain. */
static void test_reader_latches_on_overrun(void **state)
{
	static const uint8_t in[] = {1, 2, 3, 4, 5, 6};
	struct bytes_reader r = bytes_reader_init(in, sizeof(in));
	const char *s = "not NULL";
	size_t n = 99;

	(void)state;
	assert_int_equal(bytes_get_u16(&r), 0x0201);
	assert_int_equal(bytes_get_u64(&r), 0); /* 4 bytes left: refused */
	assert_true(r.fail);
	assert_int_equal(bytes_get_u8(&r), 0);
	assert_int_equal(bytes_get_u16(&r), 0);
	assert_int_equal(bytes_get_u32(&r), 0);
	assert_null(bytes_take(&r, 1));
	assert_null(bytes_take(&r, 0));
	bytes_get_str(&r, 1, 255, &s, &n);
	assert_null(s);
	assert_int_equal(n, 0);
	assert_int_equal(bytes_left(&r), 0);
	assert_false(bytes_done(&r));
}

/* Reading exactly to the end is not an overrun; one byte more is. */
static void test_reader_may_read_exactly_to_the_end(void **state)
{
	static const uint8_t in[] = {1, 2, 3, 4, 5};
	struct bytes_reader r = bytes_reader_init(in, sizeof(in));

	(void)state;
	assert_int_equal(bytes_get_u32(&r), 0x04030201u);
	assert_int_equal(bytes_left(&r), 1);
	assert_int_equal(bytes_get_u8(&r), 5);
	assert_int_equal(bytes_left(&r), 0);
	assert_true(bytes_done(&r));
	assert_int_equal(bytes_get_u8(&r), 0);
	assert_true(r.fail);
	assert_false(bytes_done(&r));
}

/* bytes_take() borrows the input: it returns where the bytes lie. */
static void test_take_borrows_the_input(void **state)
{
	static const uint8_t in[] = {9, 8, 7};
	struct bytes_reader r = bytes_reader_init(in, sizeof(in));

	(void)state;
	assert_ptr_equal(bytes_take(&r, 1), in);
	assert_ptr_equal(bytes_take(&r, 2), in + 1);
	assert_true(bytes_done(&r));
}

/* Trailing bytes: everything read, nothing failed, but input remains, so
 * the frame does not decode. */
static void test_done_is_false_with_trailing_bytes(void **state)
{
	static const uint8_t in[] = {1, 0, 0, 0, 0xEE};
	struct bytes_reader r = bytes_reader_init(in, sizeof(in));

	(void)state;
	assert_int_equal(bytes_get_u32(&r), 1);
	assert_false(r.fail);
	assert_int_equal(bytes_left(&r), 1);
	assert_false(bytes_done(&r));
}

/* A codec's own refusal (a value out of range) latches like an overrun. */
static void test_refuse_latches(void **state)
{
	static const uint8_t in[] = {7, 8};
	struct bytes_reader r = bytes_reader_init(in, sizeof(in));

	(void)state;
	assert_int_equal(bytes_get_u8(&r), 7);
	bytes_refuse(&r);
	assert_true(r.fail);
	assert_int_equal(bytes_get_u8(&r), 0);
	assert_int_equal(bytes_left(&r), 0);
	assert_false(bytes_done(&r));
}

/* A reader without a buffer but with a length is failed from the start;
 * an empty one is simply done. */
static void test_reader_without_buffer(void **state)
{
	struct bytes_reader r = bytes_reader_init(NULL, 8);
	struct bytes_reader empty = bytes_reader_init(NULL, 0);

	(void)state;
	assert_true(r.fail);
	assert_int_equal(bytes_left(&r), 0);
	assert_int_equal(bytes_get_u8(&r), 0);
	assert_false(bytes_done(&r));
	assert_false(empty.fail);
	assert_true(bytes_done(&empty));
}

/* bytes_get_str() refuses a length over MAX before looking at the bytes:
 * the reader fails even though the bytes are there. */
static void test_get_str_refuses_a_length_over_max(void **state)
{
	static const uint8_t in[] = {5, 'h', 'e', 'l', 'l', 'o'};
	struct bytes_reader r = bytes_reader_init(in, sizeof(in));
	const char *s;
	size_t n;

	(void)state;
	bytes_get_str(&r, 1, 4, &s, &n);
	assert_true(r.fail);
	assert_null(s);
	assert_int_equal(n, 0);

	r = bytes_reader_init(in, sizeof(in));
	bytes_get_str(&r, 1, 5, &s, &n); /* MAX itself is allowed */
	assert_false(r.fail);
	assert_int_equal(n, 5);
	assert_memory_equal(s, "hello", 5);
	assert_true(bytes_done(&r));
}

/* bytes_get_str() refuses a length that runs past the end of the input. */
static void test_get_str_refuses_a_length_past_the_end(void **state)
{
	static const uint8_t in[] = {6, 0, 'h', 'e', 'l', 'l', 'o'};
	struct bytes_reader r = bytes_reader_init(in, sizeof(in));
	const char *s;
	size_t n;

	(void)state;
	bytes_get_str(&r, 2, 255, &s, &n);
	assert_true(r.fail);
	assert_null(s);
	assert_int_equal(n, 0);
	assert_false(bytes_done(&r));
}

/* A truncated length field fails like any other overrun. */
static void test_get_str_refuses_a_truncated_length(void **state)
{
	static const uint8_t in[] = {1, 0, 0};
	struct bytes_reader r = bytes_reader_init(in, sizeof(in));
	const char *s;
	size_t n;

	(void)state;
	bytes_get_str(&r, 4, 255, &s, &n);
	assert_true(r.fail);
	assert_null(s);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_integers_are_little_endian),
	    cmocka_unit_test(test_every_width_round_trips),
	    cmocka_unit_test(test_named_widths_round_trip),
	    cmocka_unit_test(test_strings_round_trip_with_every_length_width),
	    cmocka_unit_test(test_raw_bytes_and_spaces),
	    cmocka_unit_test(test_writer_fails_on_overflow_without_writing),
	    cmocka_unit_test(test_writer_failure_latches),
	    cmocka_unit_test(test_writer_may_fill_its_capacity_exactly),
	    cmocka_unit_test(test_writer_without_buffer_is_failed),
	    cmocka_unit_test(test_put_str_refuses_a_length_its_field_cannot_hold),
	    cmocka_unit_test(test_put_str_fails_when_its_bytes_do_not_fit),
	    cmocka_unit_test(test_reader_latches_on_overrun),
	    cmocka_unit_test(test_reader_may_read_exactly_to_the_end),
	    cmocka_unit_test(test_take_borrows_the_input),
	    cmocka_unit_test(test_done_is_false_with_trailing_bytes),
	    cmocka_unit_test(test_refuse_latches),
	    cmocka_unit_test(test_reader_without_buffer),
	    cmocka_unit_test(test_get_str_refuses_a_length_over_max),
	    cmocka_unit_test(test_get_str_refuses_a_length_past_the_end),
	    cmocka_unit_test(test_get_str_refuses_a_truncated_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
