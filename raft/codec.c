/* codec.c: encoding Raft messages into frames (format in codec.h).
 *
 * One table says which fields of struct raft_msg each type carries (raft.h
 * names them per type); the encoder, the size computation and the decoder
 * (codec_decode.c, through raft_codec_fields()) all walk that same table in
 * the same order, so they cannot disagree. The encoder refuses what the
 * decoder would refuse, so a frame that leaves always decodes. Bytes are
 * written with bytes.h, the writer every codec of coord shares.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "codec.h"

static const unsigned codec_fields[RAFT_MSG_TYPE_MAX + 1] = {
    [RAFT_MSG_PREVOTE] = RAFT_CODEC_F_INDEX | RAFT_CODEC_F_LOG_TERM | RAFT_CODEC_F_TRANSFER,
    [RAFT_MSG_PREVOTE_RESP] = RAFT_CODEC_F_REJECT,
    [RAFT_MSG_VOTE] = RAFT_CODEC_F_INDEX | RAFT_CODEC_F_LOG_TERM | RAFT_CODEC_F_TRANSFER,
    [RAFT_MSG_VOTE_RESP] = RAFT_CODEC_F_REJECT,
    [RAFT_MSG_APPEND] =
        RAFT_CODEC_F_INDEX | RAFT_CODEC_F_LOG_TERM | RAFT_CODEC_F_COMMIT | RAFT_CODEC_F_ENTRIES,
    [RAFT_MSG_APPEND_RESP] = RAFT_CODEC_F_INDEX | RAFT_CODEC_F_REJECT | RAFT_CODEC_F_HINT,
    [RAFT_MSG_HEARTBEAT] = RAFT_CODEC_F_COMMIT | RAFT_CODEC_F_CTX,
    [RAFT_MSG_HEARTBEAT_RESP] = RAFT_CODEC_F_CTX,
    [RAFT_MSG_SNAPSHOT] = RAFT_CODEC_F_SNAP,
    [RAFT_MSG_SNAPSHOT_RESP] = RAFT_CODEC_F_INDEX | RAFT_CODEC_F_REJECT | RAFT_CODEC_F_OFFSET,
    [RAFT_MSG_TIMEOUT_NOW] = 0,
};

unsigned raft_codec_fields(int type)
{
	return type >= 1 && type <= RAFT_MSG_TYPE_MAX ? codec_fields[type] : 0;
}

const char *raft_codec_strerror(int err)
{
	switch (err) {
	case RAFT_CODEC_OK:
		return "success";
	case RAFT_CODEC_ESHORT:
		return "incomplete frame";
	case RAFT_CODEC_EMAGIC:
		return "not a Raft frame (bad magic)";
	case RAFT_CODEC_EVERSION:
		return "unsupported frame version";
	case RAFT_CODEC_ETYPE:
		return "message or entry type out of range";
	case RAFT_CODEC_ELIMIT:
		return "length or count over its limit";
	case RAFT_CODEC_EMALFORMED:
		return "malformed field";
	case RAFT_CODEC_ETRAILING:
		return "trailing bytes after the message";
	case RAFT_CODEC_ENOSPACE:
		return "buffer too small";
	case RAFT_CODEC_ENOMEM:
		return "out of memory";
	default:
		return "unknown codec error";
	}
}

/* Validation shared by size and encode ---------------------------------------- */

static int codec_check_snap(const struct raft_msg *m)
{
	const struct raft_conf *c = &m->snap.conf;

	if (m->len > RAFT_SNAPSHOT_CHUNK || c->n > RAFT_MAX_SERVERS)
		return RAFT_CODEC_ELIMIT;
	if (m->len > 0 && m->data == NULL)
		return RAFT_CODEC_EMALFORMED;
	if (m->offset > m->snap.size || m->len > m->snap.size - m->offset)
		return RAFT_CODEC_EMALFORMED;
	if (m->last && m->offset + m->len != m->snap.size)
		return RAFT_CODEC_EMALFORMED;
	for (uint32_t i = 0; i < c->n; i++) {
		if (strnlen(c->servers[i].addr, RAFT_ADDR_MAX) >= RAFT_ADDR_MAX)
			return RAFT_CODEC_EMALFORMED;
	}
	return RAFT_CODEC_OK;
}

/* Checks MSG against every limit and sets *SIZE to its frame's bytes. */
static int codec_check(const struct raft_msg *m, size_t *size)
{
	uint8_t conf[RAFT_CONF_MAX_BYTES];
	size_t body = 24;
	unsigned f;
	int rv;

	if (m->type < 1 || m->type > RAFT_MSG_TYPE_MAX)
		return RAFT_CODEC_ETYPE;
	if (m->from == 0 || m->to == 0)
		return RAFT_CODEC_EMALFORMED;
	f = codec_fields[m->type];
	body += (f & RAFT_CODEC_F_INDEX ? 8 : 0) + (f & RAFT_CODEC_F_LOG_TERM ? 8 : 0) +
	        (f & RAFT_CODEC_F_COMMIT ? 8 : 0);
	body += (f & RAFT_CODEC_F_REJECT ? 1 : 0) + (f & RAFT_CODEC_F_HINT ? 16 : 0) +
	        (f & RAFT_CODEC_F_CTX ? 8 : 0);
	body += (f & RAFT_CODEC_F_TRANSFER ? 1 : 0) + (f & RAFT_CODEC_F_OFFSET ? 8 : 0);
	if (f & RAFT_CODEC_F_ENTRIES) {
		if (m->n_entries > RAFT_MAX_MSG_ENTRIES)
			return RAFT_CODEC_ELIMIT;
		if (m->n_entries > 0 && m->entries == NULL)
			return RAFT_CODEC_EMALFORMED;
		body += 4;
		for (uint32_t i = 0; i < m->n_entries; i++) {
			const struct raft_entry *e = &m->entries[i];

			if (e->type < RAFT_ENTRY_NORMAL || e->type > RAFT_ENTRY_CONF)
				return RAFT_CODEC_ETYPE;
			if (e->len > RAFT_MAX_ENTRY_BYTES)
				return RAFT_CODEC_ELIMIT;
			if (e->len > 0 && e->data == NULL)
				return RAFT_CODEC_EMALFORMED;
			body += RAFT_CODEC_ENTRY_BYTES + e->len;
		}
	}
	if (f & RAFT_CODEC_F_SNAP) {
		rv = codec_check_snap(m);
		if (rv != RAFT_CODEC_OK)
			return rv;
		body += 24 + 4 + 4 + raft_conf_encode(&m->snap.conf, conf, sizeof(conf));
		body += 8 + 4 + 1 + m->len;
	}
	if (body > RAFT_CODEC_MAX_BODY)
		return RAFT_CODEC_ELIMIT;
	*size = RAFT_CODEC_HEADER_BYTES + body;
	return RAFT_CODEC_OK;
}

size_t raft_codec_size(const struct raft_msg *msg)
{
	size_t size = 0;

	assert(msg != NULL);
	return codec_check(msg, &size) == RAFT_CODEC_OK ? size : 0;
}

/* Encoding ------------------------------------------------------------------ */

static void codec_encode_snap(struct bytes_writer *w, const struct raft_msg *m)
{
	uint8_t conf[RAFT_CONF_MAX_BYTES];
	size_t clen = raft_conf_encode(&m->snap.conf, conf, sizeof(conf));

	assert(clen > 0);
	bytes_put_u64(w, m->snap.index);
	bytes_put_u64(w, m->snap.term);
	bytes_put_u64(w, m->snap.size);
	bytes_put_u32(w, m->snap.crc);
	bytes_put_u32(w, (uint32_t)clen);
	bytes_put(w, conf, clen);
	bytes_put_u64(w, m->offset);
	bytes_put_u32(w, m->len);
	bytes_put_u8(w, m->last ? 1 : 0);
	bytes_put(w, m->data, m->len);
}

static void codec_encode_body(struct bytes_writer *w, const struct raft_msg *m, unsigned f)
{
	bytes_put_u64(w, m->from);
	bytes_put_u64(w, m->to);
	bytes_put_u64(w, m->term);
	if (f & RAFT_CODEC_F_INDEX)
		bytes_put_u64(w, m->index);
	if (f & RAFT_CODEC_F_LOG_TERM)
		bytes_put_u64(w, m->log_term);
	if (f & RAFT_CODEC_F_COMMIT)
		bytes_put_u64(w, m->commit);
	if (f & RAFT_CODEC_F_REJECT)
		bytes_put_u8(w, m->reject ? 1 : 0);
	if (f & RAFT_CODEC_F_HINT) {
		bytes_put_u64(w, m->hint_index);
		bytes_put_u64(w, m->hint_term);
	}
	if (f & RAFT_CODEC_F_CTX)
		bytes_put_u64(w, m->ctx);
	if (f & RAFT_CODEC_F_TRANSFER)
		bytes_put_u8(w, m->transfer ? 1 : 0);
	if (f & RAFT_CODEC_F_ENTRIES) {
		bytes_put_u32(w, m->n_entries);
		for (uint32_t i = 0; i < m->n_entries; i++) {
			const struct raft_entry *e = &m->entries[i];

			bytes_put_u64(w, e->term);
			bytes_put_u64(w, e->index);
			bytes_put_u8(w, e->type);
			bytes_put_u32(w, e->len);
			bytes_put(w, e->data, e->len);
		}
	}
	if (f & RAFT_CODEC_F_SNAP)
		codec_encode_snap(w, m);
	if (f & RAFT_CODEC_F_OFFSET)
		bytes_put_u64(w, m->offset);
}

int raft_codec_encode(const struct raft_msg *msg, uint8_t *buf, size_t cap, size_t *written)
{
	struct bytes_writer w;
	size_t size = 0;
	int rv;

	assert(msg != NULL && written != NULL);
	*written = 0;
	rv = codec_check(msg, &size);
	if (rv != RAFT_CODEC_OK)
		return rv;
	/* Refused before the first byte: a too-small buffer is left untouched. */
	if (buf == NULL || cap < size)
		return RAFT_CODEC_ENOSPACE;
	w = bytes_writer_init(buf, size);
	bytes_put_u16(&w, RAFT_CODEC_MAGIC);
	bytes_put_u8(&w, RAFT_CODEC_VERSION);
	bytes_put_u8(&w, msg->type);
	bytes_put_u32(&w, (uint32_t)(size - RAFT_CODEC_HEADER_BYTES));
	codec_encode_body(&w, msg, codec_fields[msg->type]);
	/* codec_check() sized the frame from the same table: it fills exactly. */
	assert(!w.fail && w.len == size);
	*written = size;
	return RAFT_CODEC_OK;
}
