/* codec_decode.c: decoding frames into Raft messages (format in codec.h).
 *
 * Invariants of the decoder (DESIGN.md safety rule 11):
 *   D1. No byte is read before the reader (bytes.h) proved it lies within
 *       the frame.
 *   D2. A count or length is compared with its named limit before it is
 *       used to index, loop or size anything.
 *   D3. A frame decodes only if it is consumed exactly (no trailing bytes).
 *   D4. On any error the output is zeroed: no half-filled message escapes.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "codec.h"

/* Decoding ------------------------------------------------------------------ */

/* bytes.h's reader over the body, and the error it stopped on. The reader
 * latches the first failure and every read after it returns zero, so the
 * decode functions check once at the end (D1). It only records *that* it
 * stopped; `err` says why when a check of this file refused a value. A
 * failed reader with `err` unset ran past the end of the body: the header
 * announced a length its fields do not fill, RAFT_CODEC_EMALFORMED. */
struct codec_rd {
	struct bytes_reader b;
	int err;
};

static bool rd_ok(const struct codec_rd *r)
{
	return !r->b.fail;
}

/* Refuses the frame with ERR unless it already failed: the first failure
 * is the one reported. */
static void rd_fail(struct codec_rd *r, int err)
{
	if (rd_ok(r)) {
		r->err = err;
		bytes_refuse(&r->b);
	}
}

static int rd_error(const struct codec_rd *r)
{
	if (rd_ok(r))
		return RAFT_CODEC_OK;
	return r->err != RAFT_CODEC_OK ? r->err : RAFT_CODEC_EMALFORMED;
}

static uint8_t rd_u8(struct codec_rd *r)
{
	return bytes_get_u8(&r->b);
}

static uint32_t rd_u32(struct codec_rd *r)
{
	return bytes_get_u32(&r->b);
}

static uint64_t rd_u64(struct codec_rd *r)
{
	return bytes_get_u64(&r->b);
}

/* A boolean travels as one byte, 0 or 1; anything else is malformed. */
static bool rd_bool(struct codec_rd *r)
{
	uint8_t v = rd_u8(r);

	if (v > 1)
		rd_fail(r, RAFT_CODEC_EMALFORMED);
	return v == 1;
}

/* Returns a pointer to the next N bytes (already limit-checked by the
 * caller, D2) and skips them; NULL when N is 0 or out of bytes. The decoded
 * message borrows these bytes, hence the const being dropped: see
 * raft_codec_decode() in codec.h. */
static uint8_t *rd_span(struct codec_rd *r, size_t n)
{
	if (n == 0)
		return NULL;
	return (uint8_t *)(uintptr_t)bytes_take(&r->b, n);
}

static void codec_decode_entries(struct codec_rd *r, struct raft_codec_msg *out)
{
	uint32_t n = rd_u32(r);

	if (n > RAFT_MAX_MSG_ENTRIES) {
		rd_fail(r, RAFT_CODEC_ELIMIT);
		return;
	}
	for (uint32_t i = 0; i < n && rd_ok(r); i++) {
		struct raft_entry *e = &out->entries[i];

		e->term = rd_u64(r);
		e->index = rd_u64(r);
		e->type = rd_u8(r);
		e->len = rd_u32(r);
		if (!rd_ok(r))
			return;
		if (e->type < RAFT_ENTRY_NORMAL || e->type > RAFT_ENTRY_CONF)
			rd_fail(r, RAFT_CODEC_ETYPE);
		else if (e->len > RAFT_MAX_ENTRY_BYTES)
			rd_fail(r, RAFT_CODEC_ELIMIT);
		else
			e->data = rd_span(r, e->len);
	}
	out->msg.n_entries = n;
	out->msg.entries = n > 0 ? out->entries : NULL;
}

static void codec_decode_snap(struct codec_rd *r, struct raft_msg *m)
{
	const uint8_t *conf;
	uint32_t clen;

	m->snap.index = rd_u64(r);
	m->snap.term = rd_u64(r);
	m->snap.size = rd_u64(r);
	m->snap.crc = rd_u32(r);
	clen = rd_u32(r);
	if (clen > RAFT_CONF_MAX_BYTES) {
		rd_fail(r, RAFT_CODEC_ELIMIT);
		return;
	}
	conf = bytes_take(&r->b, clen);
	if (conf == NULL)
		return;
	/* The wire carries the current version only (raft.h). */
	if (clen == 0 || conf[0] != RAFT_CONF_VERSION ||
	    raft_conf_decode(conf, clen, &m->snap.conf) != RAFT_OK) {
		rd_fail(r, RAFT_CODEC_EMALFORMED);
		return;
	}
	m->offset = rd_u64(r);
	m->len = rd_u32(r);
	m->last = rd_bool(r);
	if (!rd_ok(r))
		return;
	if (m->len > RAFT_SNAPSHOT_CHUNK) {
		rd_fail(r, RAFT_CODEC_ELIMIT);
		return;
	}
	if (m->offset > m->snap.size || m->len > m->snap.size - m->offset ||
	    (m->last && m->offset + m->len != m->snap.size)) {
		rd_fail(r, RAFT_CODEC_EMALFORMED);
		return;
	}
	m->data = rd_span(r, m->len);
}

static void codec_decode_body(struct codec_rd *r, struct raft_codec_msg *out, unsigned f)
{
	struct raft_msg *m = &out->msg;

	m->from = rd_u64(r);
	m->to = rd_u64(r);
	m->term = rd_u64(r);
	if (m->from == 0 || m->to == 0)
		rd_fail(r, RAFT_CODEC_EMALFORMED);
	if (f & RAFT_CODEC_F_INDEX)
		m->index = rd_u64(r);
	if (f & RAFT_CODEC_F_LOG_TERM)
		m->log_term = rd_u64(r);
	if (f & RAFT_CODEC_F_COMMIT)
		m->commit = rd_u64(r);
	if (f & RAFT_CODEC_F_REJECT)
		m->reject = rd_bool(r);
	if (f & RAFT_CODEC_F_HINT) {
		m->hint_index = rd_u64(r);
		m->hint_term = rd_u64(r);
	}
	if (f & RAFT_CODEC_F_CTX)
		m->ctx = rd_u64(r);
	if (f & RAFT_CODEC_F_TRANSFER)
		m->transfer = rd_bool(r);
	if (f & RAFT_CODEC_F_ENTRIES)
		codec_decode_entries(r, out);
	if (f & RAFT_CODEC_F_SNAP)
		codec_decode_snap(r, m);
	if (f & RAFT_CODEC_F_OFFSET)
		m->offset = rd_u64(r);
}

int raft_codec_frame_size(const uint8_t *buf, size_t avail, size_t *frame_len)
{
	uint32_t body;

	assert(frame_len != NULL);
	*frame_len = RAFT_CODEC_HEADER_BYTES;
	/* Refuse a foreign stream as early as its first bytes allow. */
	if (avail >= 1 && buf[0] != (RAFT_CODEC_MAGIC & 0xff))
		return RAFT_CODEC_EMAGIC;
	if (avail >= 2 && buf[1] != (RAFT_CODEC_MAGIC >> 8))
		return RAFT_CODEC_EMAGIC;
	if (avail >= 3 && buf[2] != RAFT_CODEC_VERSION)
		return RAFT_CODEC_EVERSION;
	if (avail >= 4 && (buf[3] < 1 || buf[3] > RAFT_MSG_TYPE_MAX))
		return RAFT_CODEC_ETYPE;
	if (avail < RAFT_CODEC_HEADER_BYTES)
		return RAFT_CODEC_ESHORT;
	body = (uint32_t)bytes_load_le(buf + 4, 4);
	if (body > RAFT_CODEC_MAX_BODY)
		return RAFT_CODEC_ELIMIT;
	*frame_len = RAFT_CODEC_HEADER_BYTES + body;
	return RAFT_CODEC_OK;
}

static int codec_decode(const uint8_t *buf, size_t len, struct raft_codec_msg *out)
{
	struct codec_rd r;
	size_t frame = 0;
	int rv;

	assert(out != NULL);
	memset(&out->msg, 0, sizeof(out->msg));
	if (buf == NULL)
		return len == 0 ? RAFT_CODEC_ESHORT : RAFT_CODEC_EMALFORMED;
	rv = raft_codec_frame_size(buf, len, &frame);
	if (rv != RAFT_CODEC_OK)
		return rv;
	if (len < frame)
		return RAFT_CODEC_ESHORT;
	if (len > frame)
		return RAFT_CODEC_ETRAILING;
	r.b = bytes_reader_init(buf + RAFT_CODEC_HEADER_BYTES, frame - RAFT_CODEC_HEADER_BYTES);
	r.err = RAFT_CODEC_OK;
	out->msg.type = buf[3];
	codec_decode_body(&r, out, raft_codec_fields(buf[3]));
	rv = rd_error(&r);
	if (rv == RAFT_CODEC_OK && !bytes_done(&r.b))
		rv = RAFT_CODEC_ETRAILING; /* D3 */
	if (rv != RAFT_CODEC_OK)
		memset(&out->msg, 0, sizeof(out->msg)); /* D4 */
	return rv;
}

int raft_codec_decode(uint8_t *buf, size_t len, struct raft_codec_msg *out)
{
	return codec_decode(buf, len, out);
}

int raft_codec_decode_copy(const uint8_t *buf, size_t len, struct raft_msg **out)
{
	struct raft_codec_msg *tmp;
	struct raft_msg *m;
	size_t data = 0, at;
	uint8_t *block;
	int rv;

	assert(out != NULL);
	*out = NULL;
	tmp = malloc(sizeof(*tmp));
	if (tmp == NULL)
		return RAFT_CODEC_ENOMEM;
	rv = codec_decode(buf, len, tmp);
	if (rv != RAFT_CODEC_OK)
		goto out_tmp;
	/* Sizes come from a decoded frame, so they are within the limits. */
	for (uint32_t i = 0; i < tmp->msg.n_entries; i++)
		data += tmp->entries[i].len;
	data += tmp->msg.len;
	at = sizeof(*m) + tmp->msg.n_entries * sizeof(struct raft_entry);
	block = malloc(at + data);
	if (block == NULL) {
		rv = RAFT_CODEC_ENOMEM;
		goto out_tmp;
	}
	m = (struct raft_msg *)(void *)block;
	*m = tmp->msg;
	if (m->n_entries > 0) {
		m->entries = (struct raft_entry *)(void *)(block + sizeof(*m));
		for (uint32_t i = 0; i < m->n_entries; i++) {
			m->entries[i] = tmp->entries[i];
			if (m->entries[i].len > 0) {
				memcpy(block + at, tmp->entries[i].data, m->entries[i].len);
				m->entries[i].data = block + at;
				at += m->entries[i].len;
			}
		}
	}
	if (m->len > 0) {
		memcpy(block + at, tmp->msg.data, m->len);
		m->data = block + at;
	}
	*out = m;
out_tmp:
	free(tmp);
	return rv;
}

void raft_codec_msg_free(struct raft_msg *msg)
{
	free(msg);
}
