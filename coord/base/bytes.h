/* bytes.h: the one little-endian reader and writer of every codec in coord:
 * Raft frames and configurations (raft/codec*.c), state-machine commands
 * (coord/sm/command.c), the peer transport's HELLO and the forwarding frames
 * (coord/node/), and persist's stored keys.
 *
 * Contract:
 *  - A writer appends into a buffer of fixed capacity; a reader consumes a
 *    span of fixed length. Neither allocates.
 *  - Both latch failure. After a write that would pass the capacity, every
 *    later write does nothing; after a read that would pass the end, every
 *    later read returns zero (or NULL). A codec checks `fail` once, at the
 *    end, and no byte is ever read before it is known to lie inside the span
 *    (docs/DESIGN.md, rule 11).
 *  - Integers are unsigned, little-endian, 1, 2, 4 or 8 bytes wide.
 *  - A string is a length of 1, 2 or 4 bytes, then that many bytes, no NUL.
 *
 * Header-only and libc-only, so every layer may include it. */
#ifndef COORD_BYTES_H
#define COORD_BYTES_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Raw stores and loads of N (1..8) bytes at P; the caller proved P has them. */
static inline void bytes_store_le(uint8_t *p, uint64_t v, size_t n)
{
	assert(n >= 1 && n <= 8);
	for (size_t i = 0; i < n && i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t bytes_load_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	assert(n >= 1 && n <= 8);
	for (size_t i = 0; i < n && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Writer --------------------------------------------------------------------- */

struct bytes_writer {
	uint8_t *p;
	size_t len, cap;
	bool fail; /* a write did not fit: the output is unusable */
};

static inline struct bytes_writer bytes_writer_init(void *buf, size_t cap)
{
	struct bytes_writer w = {buf, 0, cap, buf == NULL && cap > 0};

	return w;
}

/* Reserves N bytes and returns where they start, or NULL (and fails). */
static inline uint8_t *bytes_put_space(struct bytes_writer *w, size_t n)
{
	uint8_t *at;

	if (w->fail || n > w->cap - w->len) {
		w->fail = true;
		return NULL;
	}
	at = w->p ? w->p + w->len : NULL; /* NULL + 0 is not C */
	w->len += n;
	return at;
}

static inline void bytes_put(struct bytes_writer *w, const void *src, size_t n)
{
	uint8_t *at = bytes_put_space(w, n);

	if (at && n > 0)
		memcpy(at, src, n);
}

static inline void bytes_put_uint(struct bytes_writer *w, uint64_t v, size_t n)
{
	uint8_t *at = bytes_put_space(w, n);

	if (at)
		bytes_store_le(at, v, n);
}

static inline void bytes_put_u8(struct bytes_writer *w, uint8_t v)
{
	bytes_put_uint(w, v, 1);
}

static inline void bytes_put_u16(struct bytes_writer *w, uint16_t v)
{
	bytes_put_uint(w, v, 2);
}

static inline void bytes_put_u32(struct bytes_writer *w, uint32_t v)
{
	bytes_put_uint(w, v, 4);
}

static inline void bytes_put_u64(struct bytes_writer *w, uint64_t v)
{
	bytes_put_uint(w, v, 8);
}

/* A string: its length in LEN_BYTES bytes, then its N bytes. A length that
 * does not fit LEN_BYTES fails the writer. */
static inline void bytes_put_str(struct bytes_writer *w, const void *s, size_t n, size_t len_bytes)
{
	if (len_bytes < 8 && (uint64_t)n >> (8 * len_bytes) != 0) {
		w->fail = true;
		return;
	}
	bytes_put_uint(w, n, len_bytes);
	bytes_put(w, s, n);
}

/* Reader --------------------------------------------------------------------- */

struct bytes_reader {
	const uint8_t *p;
	size_t len, pos;
	bool fail; /* a read passed the end (or a codec refused a value) */
};

static inline struct bytes_reader bytes_reader_init(const void *buf, size_t len)
{
	struct bytes_reader r = {buf, buf ? len : 0, 0, buf == NULL && len > 0};

	return r;
}

static inline size_t bytes_left(const struct bytes_reader *r)
{
	return r->fail ? 0 : r->len - r->pos;
}

/* True once every byte was read and nothing failed: a frame with trailing
 * bytes does not decode. */
static inline bool bytes_done(const struct bytes_reader *r)
{
	return !r->fail && r->pos == r->len;
}

/* Marks the input as refused (a codec's own check failed). */
static inline void bytes_refuse(struct bytes_reader *r)
{
	r->fail = true;
}

/* The next N bytes (borrowed from the input), or NULL (and fails). */
static inline const uint8_t *bytes_take(struct bytes_reader *r, size_t n)
{
	const uint8_t *at;

	if (r->fail || n > r->len - r->pos) {
		r->fail = true;
		return NULL;
	}
	at = r->p ? r->p + r->pos : NULL;
	r->pos += n;
	return at;
}

static inline uint64_t bytes_get_uint(struct bytes_reader *r, size_t n)
{
	const uint8_t *at = bytes_take(r, n);

	return at ? bytes_load_le(at, n) : 0;
}

static inline uint8_t bytes_get_u8(struct bytes_reader *r)
{
	return (uint8_t)bytes_get_uint(r, 1);
}

static inline uint16_t bytes_get_u16(struct bytes_reader *r)
{
	return (uint16_t)bytes_get_uint(r, 2);
}

static inline uint32_t bytes_get_u32(struct bytes_reader *r)
{
	return (uint32_t)bytes_get_uint(r, 4);
}

static inline uint64_t bytes_get_u64(struct bytes_reader *r)
{
	return bytes_get_uint(r, 8);
}

/* A string written by bytes_put_str(): *S borrows the input, *N its length.
 * A length over MAX, or past the end, fails the reader (*S NULL, *N 0). */
static inline void bytes_get_str(struct bytes_reader *r, size_t len_bytes, size_t max,
                                 const char **s, size_t *n)
{
	uint64_t len = bytes_get_uint(r, len_bytes);

	*s = NULL;
	*n = 0;
	if (r->fail)
		return;
	if (len > max) {
		r->fail = true;
		return;
	}
	*s = (const char *)bytes_take(r, (size_t)len);
	if (*s)
		*n = (size_t)len;
}

#endif
