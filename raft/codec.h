/* codec.h: the versioned binary wire format of Raft messages between peers.
 *
 * Every struct raft_msg travels as one frame, little-endian throughout
 * (written and read with coord/base/bytes.h, like every codec of coord):
 *
 *     offset 0  u16  magic RAFT_CODEC_MAGIC
 *            2  u8   version RAFT_CODEC_VERSION
 *            3  u8   type (enum raft_msg_type)
 *            4  u32  body length, at most RAFT_CODEC_MAX_BODY
 *            8  body: from u64, to u64, term u64, then the fields the type
 *               uses (raft.h names them per type), in the order of
 *               struct raft_msg; entries as {term u64, index u64, type u8,
 *               len u32, data}; a snapshot's meta as {index, term, size u64, crc u32,
 *               conf_len u32, conf as raft_conf_encode()}.
 *
 * Decoding trusts nothing (DESIGN.md safety rule 11): every length and count
 * is checked against its named limit and against the bytes that remain
 * before anything is indexed or allocated, types and booleans must be in
 * range, addresses NUL-terminated, and a frame must be consumed exactly.
 *
 * A peer connection reads a stream: raft_codec_frame_size() says, from the
 * bytes received so far, how long the next frame is (or that the header is
 * not complete yet), so the reader knows how much to wait for.
 */
#ifndef COORD_RAFT_CODEC_H
#define COORD_RAFT_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "raft.h"

/* Named limits ------------------------------------------------------------ */

#define RAFT_CODEC_MAGIC        0xC04Du /* "coord raft": first two bytes 4D C0 */
#define RAFT_CODEC_VERSION      1u
#define RAFT_CODEC_HEADER_BYTES 8u
/* Bytes of one entry's fixed part: term, index, type, len. */
#define RAFT_CODEC_ENTRY_BYTES 21u
/* The largest body: the fixed fields, a full batch of entry headers, the
 * payload bytes of a batch (a batch may overshoot max_msg_bytes by its last
 * entry, as it always carries at least one), or one snapshot chunk with its
 * configuration. */
#define RAFT_CODEC_FIXED_BYTES 128u
#define RAFT_CODEC_MAX_BODY                                                                        \
	(RAFT_CODEC_FIXED_BYTES + RAFT_MAX_MSG_ENTRIES * RAFT_CODEC_ENTRY_BYTES +                  \
	 RAFT_MAX_MSG_BYTES + RAFT_MAX_ENTRY_BYTES)
#define RAFT_CODEC_MAX_FRAME (RAFT_CODEC_HEADER_BYTES + RAFT_CODEC_MAX_BODY)

/* Errors -------------------------------------------------------------------- */

enum raft_codec_err {
	RAFT_CODEC_OK = 0,
	RAFT_CODEC_ESHORT,     /* the frame is incomplete: more bytes are needed */
	RAFT_CODEC_EMAGIC,     /* not a Raft frame */
	RAFT_CODEC_EVERSION,   /* a version this build does not speak */
	RAFT_CODEC_ETYPE,      /* message or entry type out of range */
	RAFT_CODEC_ELIMIT,     /* a length or count exceeds its named limit */
	RAFT_CODEC_EMALFORMED, /* a field is out of range or inconsistent */
	RAFT_CODEC_ETRAILING,  /* bytes left over after the message */
	RAFT_CODEC_ENOSPACE,   /* the caller's buffer is too small */
	RAFT_CODEC_ENOMEM      /* allocation failed */
};

/* A static sentence for ERR. */
const char *raft_codec_strerror(int err);

/* Which fields of struct raft_msg travel for each type, beyond from, to and
 * term (raft.h names them per type). Fields outside a type's set must be
 * zero: they are not encoded, and decode as zero. */
enum raft_codec_field {
	RAFT_CODEC_F_INDEX = 1u << 0,
	RAFT_CODEC_F_LOG_TERM = 1u << 1,
	RAFT_CODEC_F_COMMIT = 1u << 2,
	RAFT_CODEC_F_REJECT = 1u << 3,
	RAFT_CODEC_F_HINT = 1u << 4, /* hint_index, hint_term */
	RAFT_CODEC_F_CTX = 1u << 5,
	RAFT_CODEC_F_TRANSFER = 1u << 6,
	RAFT_CODEC_F_ENTRIES = 1u << 7,
	RAFT_CODEC_F_SNAP = 1u << 8,  /* snap meta, offset, len, last, data */
	RAFT_CODEC_F_OFFSET = 1u << 9 /* SNAPSHOT_RESP: the next byte wanted */
};

/* The RAFT_CODEC_F_* set TYPE carries; 0 for a type out of range. */
unsigned raft_codec_fields(int type);

/* Encoding ------------------------------------------------------------------ */

/* Bytes of MSG's frame, or 0 if MSG cannot be encoded (a type out of range, a
 * zero id, a count or length over its limit, a NULL pointer with a non-zero
 * length, an invalid configuration). */
size_t raft_codec_size(const struct raft_msg *msg);

/* Encodes MSG into BUF (CAP bytes). Returns RAFT_CODEC_OK and sets *WRITTEN
 * to raft_codec_size(msg); RAFT_CODEC_ENOSPACE if CAP is too small;
 * RAFT_CODEC_ELIMIT / RAFT_CODEC_ETYPE / RAFT_CODEC_EMALFORMED if MSG cannot
 * be encoded. MSG is only read. A SNAPSHOT message must carry its chunk in
 * data (the core emits it NULL; the host attaches the bytes first). */
int raft_codec_encode(const struct raft_msg *msg, uint8_t *buf, size_t cap, size_t *written);

/* Decoding ------------------------------------------------------------------ */

/* Given the AVAIL bytes received so far of a stream positioned at a frame
 * start: RAFT_CODEC_OK with *FRAME_LEN set to the whole frame's length (which
 * may exceed AVAIL: wait for that many), RAFT_CODEC_ESHORT with *FRAME_LEN =
 * RAFT_CODEC_HEADER_BYTES while the header is incomplete, or the header's
 * error (EMAGIC, EVERSION, ETYPE, ELIMIT): the stream is unusable, close it. */
int raft_codec_frame_size(const uint8_t *buf, size_t avail, size_t *frame_len);

/* A decoded message with room for its entries. msg.entries points into this
 * same struct, so it must not be copied by value; msg.entries[i].data and
 * msg.data point into the input buffer (zero-copy). Valid while both this
 * struct and the input buffer live, unchanged. About 16 KiB: do not put many
 * on a stack. */
struct raft_codec_msg {
	struct raft_msg msg;
	struct raft_entry entries[RAFT_MAX_MSG_ENTRIES];
};

/* Decodes exactly one frame of LEN bytes from BUF into *OUT, zero-copy (see
 * struct raft_codec_msg). BUF is not modified; it is non-const because the
 * decoded entries point into it. Returns RAFT_CODEC_OK, RAFT_CODEC_ESHORT if
 * LEN is less than the frame, RAFT_CODEC_ETRAILING if more, or the first
 * violation found; on error *OUT is zeroed. */
int raft_codec_decode(uint8_t *buf, size_t len, struct raft_codec_msg *out);

/* As raft_codec_decode(), but *OUT becomes one allocation holding the
 * message, its entries and copies of all data: independent of BUF. The
 * caller frees it with raft_codec_msg_free(). *OUT is NULL on error. */
int raft_codec_decode_copy(const uint8_t *buf, size_t len, struct raft_msg **out);
void raft_codec_msg_free(struct raft_msg *msg);

#endif
