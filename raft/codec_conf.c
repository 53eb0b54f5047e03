/* codec_conf.c: the binary encoding of a configuration (struct raft_conf).
 *
 * Used for the data of CONF log entries and inside a snapshot's meta on the
 * wire, so the same bytes live in the log store and travel between peers.
 * Layout, little-endian:
 *
 *     u8  version RAFT_CONF_VERSION
 *     u8  joint (0 or 1)
 *     u32 n, at most RAFT_MAX_SERVERS
 *     n x { u64 id (non-zero, unique), u64 folder (0: none bound),
 *           u8 role, u8 old_role (0 or 1),
 *           u8 addr_len (< RAFT_ADDR_MAX), addr_len bytes without NUL }
 *
 * Version 1 (written before folders were bound) has no folder field; it
 * still decodes, with every folder 0. The address is a bytes.h string with
 * a 1-byte length. Worst case 6 + 9 * (19 + 63) bytes, within
 * RAFT_CONF_MAX_BYTES. Decoding checks every count and length first
 * (DESIGN.md rule 11).
 */
#include <assert.h>
#include <string.h>

#include "bytes.h"
#include "raft.h"

#define RAFT_CONF_VERSION_V1 1u /* no folder field (RAFT_CONF_VERSION: raft.h) */
#define CONF_HEADER_BYTES    6u
#define CONF_SERVER_FIXED    19u /* id, folder, role, old_role, addr_len */

_Static_assert(CONF_HEADER_BYTES + RAFT_MAX_SERVERS * (CONF_SERVER_FIXED + RAFT_ADDR_MAX - 1) <=
                   RAFT_CONF_MAX_BYTES,
               "RAFT_CONF_MAX_BYTES must hold the largest configuration");

size_t raft_conf_encode(const struct raft_conf *conf, uint8_t *buf, size_t cap)
{
	struct bytes_writer w;
	size_t need = CONF_HEADER_BYTES;

	assert(conf != NULL && conf->n <= RAFT_MAX_SERVERS);
	for (uint32_t i = 0; i < conf->n; i++) {
		size_t alen = strnlen(conf->servers[i].addr, RAFT_ADDR_MAX);

		/* An address without its NUL is a programmer error (raft.h). */
		assert(alen < RAFT_ADDR_MAX);
		need += CONF_SERVER_FIXED + alen;
	}
	/* Sized first so that a buffer too small is left untouched. */
	if (need > cap)
		return 0;
	w = bytes_writer_init(buf, need);
	bytes_put_u8(&w, RAFT_CONF_VERSION);
	bytes_put_u8(&w, conf->joint ? 1 : 0);
	bytes_put_u32(&w, conf->n);
	for (uint32_t i = 0; i < conf->n; i++) {
		const struct raft_server *s = &conf->servers[i];

		bytes_put_u64(&w, s->id);
		bytes_put_u64(&w, s->folder);
		bytes_put_u8(&w, s->role);
		bytes_put_u8(&w, s->old_role);
		bytes_put_str(&w, s->addr, strlen(s->addr), 1);
	}
	assert(!w.fail && w.len == need);
	return need;
}

/* Reads server I; every byte is checked to be within the input first (the
 * reader fails instead of reading past it). False if anything is refused. */
static bool conf_decode_server(struct bytes_reader *r, uint8_t version, struct raft_conf *out,
                               uint32_t i)
{
	struct raft_server *s = &out->servers[i];
	const char *addr;
	size_t alen;

	s->id = bytes_get_u64(r);
	s->folder = version == RAFT_CONF_VERSION_V1 ? 0 : bytes_get_u64(r);
	s->role = bytes_get_u8(r);
	s->old_role = bytes_get_u8(r);
	bytes_get_str(r, 1, RAFT_ADDR_MAX - 1, &addr, &alen);
	if (r->fail)
		return false;
	if (s->id == 0 || s->role > RAFT_VOTER || s->old_role > RAFT_VOTER)
		return false;
	if (memchr(addr, '\0', alen) != NULL)
		return false;
	memcpy(s->addr, addr, alen);
	s->addr[alen] = '\0';
	for (uint32_t j = 0; j < i; j++) {
		if (out->servers[j].id == s->id)
			return false;
	}
	return true;
}

int raft_conf_decode(const uint8_t *buf, size_t len, struct raft_conf *out)
{
	struct bytes_reader r;
	uint8_t version, joint;
	uint32_t n;

	assert(out != NULL);
	memset(out, 0, sizeof(*out));
	if (buf == NULL || len < CONF_HEADER_BYTES || len > RAFT_CONF_MAX_BYTES)
		return RAFT_EINVAL;
	r = bytes_reader_init(buf, len);
	version = bytes_get_u8(&r);
	joint = bytes_get_u8(&r);
	n = bytes_get_u32(&r);
	if ((version != RAFT_CONF_VERSION && version != RAFT_CONF_VERSION_V1) || joint > 1 ||
	    n > RAFT_MAX_SERVERS)
		return RAFT_EINVAL;
	out->joint = joint == 1;
	out->n = n;
	for (uint32_t i = 0; i < n; i++) {
		if (!conf_decode_server(&r, version, out, i))
			goto err_zero;
	}
	if (!bytes_done(&r))
		goto err_zero;
	return RAFT_OK;

err_zero:
	memset(out, 0, sizeof(*out));
	return RAFT_EINVAL;
}
