/* codec_conf.c: the binary encoding of a configuration (struct raft_conf).
 *
 * Used for the data of CONF log entries and inside a snapshot's meta on the
 * wire, so the same bytes live in the log store and travel between peers.
 * Layout, little-endian:
 *
 *     u8  version RAFT_CONF_VERSION
 *     u8  joint (0 or 1)
 *     u32 n, at most RAFT_MAX_SERVERS
 *     n x { u64 id (non-zero, unique), u8 role, u8 old_role (0 or 1),
 *           u8 addr_len (< RAFT_ADDR_MAX), addr_len bytes without NUL }
 *
 * Worst case 6 + 9 * (11 + 63) bytes, within RAFT_CONF_MAX_BYTES.
 * Decoding checks every count and length first (DESIGN.md rule 11).
 */
#include <assert.h>
#include <string.h>

#include "raft.h"

#define RAFT_CONF_VERSION 1u
#define CONF_HEADER_BYTES 6u
#define CONF_SERVER_FIXED 11u /* id, role, old_role, addr_len */

_Static_assert(CONF_HEADER_BYTES + RAFT_MAX_SERVERS * (CONF_SERVER_FIXED + RAFT_ADDR_MAX - 1) <=
                   RAFT_CONF_MAX_BYTES,
               "RAFT_CONF_MAX_BYTES must hold the largest configuration");

static void conf_put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void conf_put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t conf_get_u32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t conf_get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

size_t raft_conf_encode(const struct raft_conf *conf, uint8_t *buf, size_t cap)
{
	size_t need = CONF_HEADER_BYTES;
	size_t at = CONF_HEADER_BYTES;

	assert(conf != NULL && conf->n <= RAFT_MAX_SERVERS);
	for (uint32_t i = 0; i < conf->n; i++) {
		size_t alen = strnlen(conf->servers[i].addr, RAFT_ADDR_MAX);

		/* An address without its NUL is a programmer error (raft.h). */
		assert(alen < RAFT_ADDR_MAX);
		need += CONF_SERVER_FIXED + alen;
	}
	if (need > cap)
		return 0;
	buf[0] = RAFT_CONF_VERSION;
	buf[1] = conf->joint ? 1 : 0;
	conf_put_u32(buf + 2, conf->n);
	for (uint32_t i = 0; i < conf->n; i++) {
		const struct raft_server *s = &conf->servers[i];
		size_t alen = strlen(s->addr);

		conf_put_u64(buf + at, s->id);
		buf[at + 8] = s->role;
		buf[at + 9] = s->old_role;
		buf[at + 10] = (uint8_t)alen;
		memcpy(buf + at + CONF_SERVER_FIXED, s->addr, alen);
		at += CONF_SERVER_FIXED + alen;
	}
	assert(at == need);
	return need;
}

/* Reads server I at *AT; every byte is checked to be within LEN first. */
static int conf_decode_server(const uint8_t *buf, size_t len, size_t *at, struct raft_conf *out,
                              uint32_t i)
{
	struct raft_server *s = &out->servers[i];
	size_t alen;

	if (len - *at < CONF_SERVER_FIXED)
		return RAFT_EINVAL;
	s->id = conf_get_u64(buf + *at);
	s->role = buf[*at + 8];
	s->old_role = buf[*at + 9];
	alen = buf[*at + 10];
	*at += CONF_SERVER_FIXED;
	if (s->id == 0 || s->role > RAFT_VOTER || s->old_role > RAFT_VOTER)
		return RAFT_EINVAL;
	if (alen >= RAFT_ADDR_MAX || len - *at < alen)
		return RAFT_EINVAL;
	if (memchr(buf + *at, '\0', alen) != NULL)
		return RAFT_EINVAL;
	memcpy(s->addr, buf + *at, alen);
	s->addr[alen] = '\0';
	*at += alen;
	for (uint32_t j = 0; j < i; j++) {
		if (out->servers[j].id == s->id)
			return RAFT_EINVAL;
	}
	return RAFT_OK;
}

int raft_conf_decode(const uint8_t *buf, size_t len, struct raft_conf *out)
{
	size_t at = CONF_HEADER_BYTES;
	uint32_t n;
	int rv;

	assert(out != NULL);
	memset(out, 0, sizeof(*out));
	if (buf == NULL || len < CONF_HEADER_BYTES || len > RAFT_CONF_MAX_BYTES)
		return RAFT_EINVAL;
	if (buf[0] != RAFT_CONF_VERSION || buf[1] > 1)
		return RAFT_EINVAL;
	n = conf_get_u32(buf + 2);
	if (n > RAFT_MAX_SERVERS)
		return RAFT_EINVAL;
	out->joint = buf[1] == 1;
	out->n = n;
	for (uint32_t i = 0; i < n; i++) {
		rv = conf_decode_server(buf, len, &at, out, i);
		if (rv != RAFT_OK)
			goto err_zero;
	}
	if (at != len) {
		rv = RAFT_EINVAL;
		goto err_zero;
	}
	return RAFT_OK;

err_zero:
	memset(out, 0, sizeof(*out));
	return rv;
}
