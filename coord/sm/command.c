/* Encoding and decoding of state-machine commands (layout in command.h).
 * The decoder is a cursor that refuses to read past its end, so no length
 * from the wire is used before it is checked (DESIGN.md rule 11). */
#include "command.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "sm_error.h"

/* A bounded read cursor; any overrun sets bad and every later read fails. */
struct cmd_reader {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static const uint8_t *cmdTake(struct cmd_reader *r, size_t n)
{
	const uint8_t *at = r->p;

	if (r->bad || n > r->left) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return at;
}

static uint64_t cmdGetUint(struct cmd_reader *r, size_t n)
{
	const uint8_t *at = cmdTake(r, n);
	uint64_t v = 0;

	if (at == NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)at[i] << (8 * i);
	return v;
}

/* A string: a length of LEN_BYTES bytes, then that many bytes (borrowed). */
static void cmdGetString(struct cmd_reader *r, size_t len_bytes, const char **s, size_t *n)
{
	*n = (size_t)cmdGetUint(r, len_bytes);
	*s = (const char *)cmdTake(r, *n);
	if (*s == NULL)
		*n = 0;
}

static uint8_t *cmdPutUint(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return p + n;
}

static uint8_t *cmdPutString(uint8_t *p, const char *s, size_t n, size_t len_bytes)
{
	p = cmdPutUint(p, n, len_bytes);
	if (n > 0)
		memcpy(p, s, n);
	return p + n;
}

/* Valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF) and
 * no NUL byte: such text can be stored as SQLite TEXT and become a JSON
 * string on every node alike. */
static bool cmdTextValid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned c = u[i];
		size_t extra;
		uint32_t cp, min;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			extra = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			extra = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			extra = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (extra >= n - i)
			return false;
		for (size_t k = 1; k <= extra; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (u[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += extra + 1;
	}
	return true;
}

static bool cmdNameValid(const char *s, size_t n)
{
	return n >= 1 && n <= COORD_NAME_MAX && cmdTextValid(s, n);
}

static bool cmdValueValid(const struct coord_cmd *c)
{
	if (!c->has_value)
		return c->value_len == 0;
	return c->value_len <= COORD_VALUE_MAX && cmdTextValid(c->value, c->value_len);
}

int coord_cmd_validate(const struct coord_cmd *c)
{
	bool ok;

	assert(c != NULL);
	if (c->now_ms > COORD_NOW_MAX_MS)
		return COORD_EMALFORMED;
	switch (c->type) {
	case COORD_CMD_OPEN:
		ok = c->ttl_ms >= COORD_TTL_MIN_MS && c->ttl_ms <= COORD_TTL_MAX_MS &&
		     c->lock_delay_ms <= COORD_LOCK_DELAY_MAX_MS &&
		     c->name_len <= COORD_LABEL_MAX && cmdTextValid(c->name, c->name_len);
		break;
	case COORD_CMD_CLOSE:
	case COORD_CMD_EXPIRE:
	case COORD_CMD_WAKE:
		ok = true;
		break;
	case COORD_CMD_ACQUIRE:
		ok = (c->kind == COORD_KIND_LOCK || c->kind == COORD_KIND_ELECTION) &&
		     (c->mode == COORD_MODE_EXCLUSIVE ||
		      (c->mode == COORD_MODE_SHARED && c->kind == COORD_KIND_LOCK)) &&
		     cmdNameValid(c->name, c->name_len) && cmdValueValid(c);
		break;
	case COORD_CMD_RELEASE:
	case COORD_CMD_CANCEL:
		ok = (c->kind == COORD_KIND_LOCK || c->kind == COORD_KIND_ELECTION) &&
		     cmdNameValid(c->name, c->name_len);
		break;
	case COORD_CMD_PROCLAIM:
		ok = c->kind == COORD_KIND_ELECTION && c->has_value &&
		     cmdNameValid(c->name, c->name_len) && cmdValueValid(c);
		break;
	default:
		ok = false;
		break;
	}
	return ok ? 0 : COORD_EMALFORMED;
}

size_t coord_cmd_encoded_len(const struct coord_cmd *c)
{
	size_t n = 1 + 1 + 8 + (c->type == COORD_CMD_WAKE ? 0 : COORD_SESSION_ID_LEN);

	switch (c->type) {
	case COORD_CMD_OPEN:
		return n + 4 + 4 + 2 + c->name_len;
	case COORD_CMD_ACQUIRE:
		return n + 3 + 2 + c->name_len + 4 + c->value_len;
	case COORD_CMD_RELEASE:
	case COORD_CMD_CANCEL:
		return n + 1 + 2 + c->name_len;
	case COORD_CMD_PROCLAIM:
		return n + 2 + c->name_len + 4 + c->value_len;
	default:
		return n;
	}
}

int coord_cmd_encode(const struct coord_cmd *c, void *buf, size_t cap, size_t *len)
{
	uint8_t *p = buf;
	size_t need;

	if (coord_cmd_validate(c) != 0)
		return COORD_EMALFORMED;
	need = coord_cmd_encoded_len(c);
	if (need > cap)
		return COORD_ETOOSMALL;
	p = cmdPutUint(p, COORD_CMD_VERSION, 1);
	p = cmdPutUint(p, (uint64_t)c->type, 1);
	p = cmdPutUint(p, c->now_ms, 8);
	if (c->type != COORD_CMD_WAKE) {
		memcpy(p, c->session.bytes, COORD_SESSION_ID_LEN);
		p += COORD_SESSION_ID_LEN;
	}
	switch (c->type) {
	case COORD_CMD_OPEN:
		p = cmdPutUint(p, c->ttl_ms, 4);
		p = cmdPutUint(p, c->lock_delay_ms, 4);
		p = cmdPutString(p, c->name, c->name_len, 2);
		break;
	case COORD_CMD_ACQUIRE:
		p = cmdPutUint(p, (uint64_t)c->kind, 1);
		p = cmdPutUint(p, (uint64_t)c->mode, 1);
		p = cmdPutUint(
		    p, (c->queue ? COORD_ACQ_QUEUE : 0) | (c->has_value ? COORD_ACQ_VALUE : 0), 1);
		p = cmdPutString(p, c->name, c->name_len, 2);
		p = cmdPutString(p, c->value, c->value_len, 4);
		break;
	case COORD_CMD_RELEASE:
	case COORD_CMD_CANCEL:
		p = cmdPutUint(p, (uint64_t)c->kind, 1);
		p = cmdPutString(p, c->name, c->name_len, 2);
		break;
	case COORD_CMD_PROCLAIM:
		p = cmdPutString(p, c->name, c->name_len, 2);
		p = cmdPutString(p, c->value, c->value_len, 4);
		break;
	default:
		break;
	}
	*len = (size_t)(p - (uint8_t *)buf);
	assert(*len == need);
	return 0;
}

int coord_cmd_encode_alloc(const struct coord_cmd *c, void **buf, size_t *len)
{
	size_t need;
	int rv;

	if (coord_cmd_validate(c) != 0)
		return COORD_EMALFORMED;
	need = coord_cmd_encoded_len(c);
	*buf = malloc(need);
	if (*buf == NULL)
		return COORD_ENOMEM;
	rv = coord_cmd_encode(c, *buf, need, len);
	assert(rv == 0);
	return rv;
}

/* Reads the body of an ACQUIRE; kind, mode and flags are range-checked here
 * because the enums cannot hold arbitrary bytes. */
static void cmdDecodeAcquire(struct cmd_reader *r, struct coord_cmd *c)
{
	uint64_t kind = cmdGetUint(r, 1);
	uint64_t mode = cmdGetUint(r, 1);
	uint64_t flags = cmdGetUint(r, 1);

	if (kind > COORD_KIND_ELECTION || mode > COORD_MODE_SHARED ||
	    (flags & ~(uint64_t)(COORD_ACQ_QUEUE | COORD_ACQ_VALUE)) != 0)
		r->bad = true;
	c->kind = (enum coord_kind)kind;
	c->mode = (enum coord_mode)mode;
	c->queue = (flags & COORD_ACQ_QUEUE) != 0;
	c->has_value = (flags & COORD_ACQ_VALUE) != 0;
	cmdGetString(r, 2, &c->name, &c->name_len);
	cmdGetString(r, 4, &c->value, &c->value_len);
}

int coord_cmd_decode(const void *buf, size_t len, struct coord_cmd *c)
{
	struct cmd_reader r = {.p = buf, .left = len, .bad = buf == NULL};
	uint64_t type;
	const uint8_t *sid;

	memset(c, 0, sizeof(*c));
	if (cmdGetUint(&r, 1) != COORD_CMD_VERSION)
		return COORD_EMALFORMED;
	type = cmdGetUint(&r, 1);
	if (type < COORD_CMD_OPEN || type > COORD_CMD_TYPE_MAX)
		return COORD_EMALFORMED;
	c->type = (enum coord_cmd_type)type;
	c->now_ms = cmdGetUint(&r, 8);
	if (c->type != COORD_CMD_WAKE) {
		sid = cmdTake(&r, COORD_SESSION_ID_LEN);
		if (sid != NULL)
			memcpy(c->session.bytes, sid, COORD_SESSION_ID_LEN);
	}
	switch (c->type) {
	case COORD_CMD_OPEN:
		c->ttl_ms = (uint32_t)cmdGetUint(&r, 4);
		c->lock_delay_ms = (uint32_t)cmdGetUint(&r, 4);
		cmdGetString(&r, 2, &c->name, &c->name_len);
		break;
	case COORD_CMD_ACQUIRE:
		cmdDecodeAcquire(&r, c);
		break;
	case COORD_CMD_RELEASE:
	case COORD_CMD_CANCEL: {
		uint64_t kind = cmdGetUint(&r, 1);

		if (kind > COORD_KIND_ELECTION)
			r.bad = true;
		c->kind = (enum coord_kind)kind;
		cmdGetString(&r, 2, &c->name, &c->name_len);
		break;
	}
	case COORD_CMD_PROCLAIM:
		c->kind = COORD_KIND_ELECTION;
		c->has_value = true;
		cmdGetString(&r, 2, &c->name, &c->name_len);
		cmdGetString(&r, 4, &c->value, &c->value_len);
		break;
	default:
		break;
	}
	if (r.bad || r.left != 0 || coord_cmd_validate(c) != 0)
		return COORD_EMALFORMED;
	return 0;
}

void coord_session_id_format(const struct coord_session_id *id, char out[COORD_SESSION_ID_HEX + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < COORD_SESSION_ID_LEN; i++) {
		out[2 * i] = digits[id->bytes[i] >> 4];
		out[2 * i + 1] = digits[id->bytes[i] & 0xf];
	}
	out[COORD_SESSION_ID_HEX] = '\0';
}

static int cmdHexDigit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int coord_session_id_parse(const char *text, size_t len, struct coord_session_id *id)
{
	if (text == NULL || len != COORD_SESSION_ID_HEX)
		return COORD_EMALFORMED;
	for (size_t i = 0; i < COORD_SESSION_ID_LEN; i++) {
		int hi = cmdHexDigit(text[2 * i]);
		int lo = cmdHexDigit(text[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return COORD_EMALFORMED;
		id->bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

bool coord_session_id_equal(const struct coord_session_id *a, const struct coord_session_id *b)
{
	return memcmp(a->bytes, b->bytes, COORD_SESSION_ID_LEN) == 0;
}
