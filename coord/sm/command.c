/* Encoding and decoding of state-machine commands (layout in command.h).
 *
 * Every step walks the type's row of the command table (commands.h): the
 * fields it carries, each at its place in the one fixed wire order, so the
 * encoder, the encoded length and the decoder cannot disagree. Bytes go
 * through bytes.h, whose reader refuses to read past its end and latches
 * the failure, so no length from the wire is used before it is checked; a
 * string's length is compared with its limit before its bytes are taken;
 * trailing bytes are refused; and the decoder ends with the same validation
 * the encoder starts with, so the encoder refuses what the decoder would
 * refuse (DESIGN.md rule 11). */
#include "command.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "commands.h"
#include "sm_error.h"

/* Widths of the length prefixes of command.h's strings. */
#define CMD_NAME_LEN_BYTES  2 /* LABEL and NAME: u16 */
#define CMD_VALUE_LEN_BYTES 4 /* VALUE: u32 */

/* The flag bits an ACQ field may carry. */
#define CMD_ACQ_FLAGS (COORD_ACQ_QUEUE | COORD_ACQ_VALUE)
/* The flag bits an AUTH field may carry. */
#define CMD_AUTH_FLAGS (COORD_AUTH_ADMIN | COORD_AUTH_BOOTSTRAP)
/* The width of a rule's prefix length (RULES). */
#define CMD_PREFIX_LEN_BYTES 2
/* The flag bits a KV field may carry. */
#define CMD_KV_FLAGS (COORD_KV_CAS | COORD_KV_FENCE | COORD_KV_EPHEMERAL)

/* The longest TOKEN (name, hash, flags, every rule with the longest
 * prefix) fits the bound callers size their buffers by. */
_Static_assert(1 + 1 + 8 + CMD_NAME_LEN_BYTES + COORD_LABEL_MAX + COORD_TOKEN_HASH_LEN + 1 + 1 +
                       COORD_TOKEN_RULES_MAX * (1 + 1 + CMD_PREFIX_LEN_BYTES + COORD_NAME_MAX) <=
                   COORD_CMD_MAX_LEN,
               "COORD_CMD_MAX_LEN holds the longest TOKEN");
/* ... and the longest KV_TXN: every check and operation at its longest, and
 * its values at their limit together. */
_Static_assert(1 + 1 + 8 + COORD_SESSION_ID_LEN + 8 + COORD_CMD_TXN_MAX_LEN +
                       COORD_TXN_VALUES_MAX <=
                   COORD_CMD_MAX_LEN,
               "COORD_CMD_MAX_LEN holds the longest KV_TXN");

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

/* MIN..MAX bytes of valid text at S. */
static bool cmdStringValid(const char *s, size_t n, size_t min, size_t max)
{
	return n >= min && n <= max && (s != NULL || n == 0) && cmdTextValid(s, n);
}

/* MODE is known, and shared only where KIND (NULL: none) allows it. */
static bool cmdModeValid(enum coord_mode mode, const struct coord_kind_info *kind)
{
	if (kind == NULL || (int)mode < 0 || mode >= COORD_MODE_COUNT)
		return false;
	return mode != COORD_MODE_SHARED || kind->shared;
}

/* A TOKEN's rules: at most COORD_TOKEN_RULES_MAX, each of a known resource
 * and access, its prefix 0..COORD_NAME_MAX bytes of text. */
static bool cmdRulesValid(const struct coord_cmd *c)
{
	if (c->n_rules > COORD_TOKEN_RULES_MAX)
		return false;
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct coord_rule *r = &c->rules[i];

		if ((int)r->resource < 0 || r->resource >= COORD_RESOURCE_COUNT ||
		    (int)r->access < 0 || r->access >= COORD_ACCESS_COUNT ||
		    !cmdStringValid(r->prefix, r->prefix_len, 0, COORD_NAME_MAX))
			return false;
	}
	return true;
}

/* True when the LEN bytes at P are all zero. */
static bool cmdZero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/* The rules of the version 3 fields ROW carries, and none set that it
 * does not carry (they would be lost in encoding). */
static bool cmdAuthFieldsValid(unsigned f, const struct coord_cmd *c)
{
	if (!(f & SM_CMD_F_HASH) && !cmdZero(c->hash, sizeof(c->hash)))
		return false;
	if ((f & SM_CMD_F_AUTH) ? c->bootstrap && !c->admin : c->admin || c->bootstrap)
		return false; /* the cluster's first token manages the others */
	if ((f & SM_CMD_F_RULES) ? !cmdRulesValid(c) : c->n_rules != 0)
		return false;
	if ((f & SM_CMD_F_TOKEN_ID) ? c->token_id == 0 || c->token_id > COORD_TOKEN_MAX
	                            : c->token_id != 0)
		return false;
	return true;
}

/* The rules of the KV field (command.h's layout), or none of it set when
 * ROW's fields F do not carry it. */
static bool cmdKvValid(unsigned f, const struct coord_cmd *c)
{
	bool fence = (c->kv_flags & COORD_KV_FENCE) != 0;

	if (!(f & SM_CMD_F_KV))
		return c->kv_flags == 0 && c->cas == 0 && c->fence_lock_len == 0 &&
		       c->fence_token == 0;
	if ((c->kv_flags & ~CMD_KV_FLAGS) != 0 || c->cas > COORD_TOKEN_MAX ||
	    (!(c->kv_flags & COORD_KV_CAS) && c->cas != 0))
		return false;
	if (fence ? !cmdStringValid(c->fence_lock, c->fence_lock_len, 1, COORD_NAME_MAX) ||
	                c->fence_token == 0 || c->fence_token > COORD_TOKEN_MAX
	          : c->fence_lock_len != 0 || c->fence_token != 0)
		return false;
	/* An ephemeral key names its session; any other, none. */
	if ((f & SM_CMD_F_SESSION) && ((c->kv_flags & COORD_KV_EPHEMERAL) != 0) ==
	                                  cmdZero(c->session.bytes, COORD_SESSION_ID_LEN))
		return false;
	return (f & SM_CMD_F_SESSION) || !(c->kv_flags & COORD_KV_EPHEMERAL);
}

/* The rules of the TXN field (command.h's layout), or none of it when ROW's
 * fields F do not carry it. */
static bool cmdTxnValid(unsigned f, const struct coord_cmd *c)
{
	size_t values = 0;
	bool ephemeral = false;

	if (!(f & SM_CMD_F_TXN))
		return c->n_checks == 0 && c->n_ops == 0;
	if (c->n_checks > COORD_TXN_CHECKS_MAX || c->n_ops < 1 || c->n_ops > COORD_TXN_OPS_MAX)
		return false;
	for (size_t i = 0; i < c->n_checks; i++) {
		const struct coord_txn_check *k = &c->checks[i];
		bool session = k->kind == COORD_TXN_CHECK_SESSION;

		if ((int)k->kind < 0 || k->kind >= COORD_TXN_CHECK_KIND_COUNT ||
		    session != !cmdZero(k->session.bytes, COORD_SESSION_ID_LEN) ||
		    (session ? k->name_len != 0 || k->n != 0
		             : !cmdStringValid(k->name, k->name_len, 1, COORD_NAME_MAX)) ||
		    k->n > COORD_TOKEN_MAX || (k->kind == COORD_TXN_CHECK_LOCK && k->n == 0))
			return false;
	}
	for (size_t i = 0; i < c->n_ops; i++) {
		const struct coord_txn_op *o = &c->ops[i];

		if ((int)o->kind < 0 || o->kind >= COORD_TXN_OP_KIND_COUNT ||
		    !cmdStringValid(o->key, o->key_len, 1, COORD_NAME_MAX) ||
		    !cmdStringValid(o->value, o->value_len, 0, COORD_VALUE_MAX) ||
		    (o->kind == COORD_TXN_DELETE && (o->ephemeral || o->value_len != 0)))
			return false;
		for (size_t j = 0; j < i; j++) /* distinct keys: at most 64 x 63 / 2 */
			if (c->ops[j].key_len == o->key_len &&
			    memcmp(c->ops[j].key, o->key, o->key_len) == 0)
				return false;
		values += o->value_len;
		ephemeral = ephemeral || o->ephemeral;
	}
	/* The session: an ephemeral put's, else none. */
	return values <= COORD_TXN_VALUES_MAX &&
	       ephemeral == !cmdZero(c->session.bytes, COORD_SESSION_ID_LEN);
}

/* The rules of the IDS field: 1..COORD_ALIVE_MAX ids, none zero; none
 * when ROW's fields F do not carry it. */
static bool cmdIdsValid(unsigned f, const struct coord_cmd *c)
{
	if (!(f & SM_CMD_F_IDS))
		return c->n_ids == 0;
	if (c->n_ids < 1 || c->n_ids > COORD_ALIVE_MAX || c->ids == NULL)
		return false;
	for (size_t i = 0; i < c->n_ids; i++)
		if (cmdZero(c->ids[i].bytes, COORD_SESSION_ID_LEN))
			return false;
	return true;
}

/* The rules of the fields ROW carries (command.h's layout, commands.h). */
static bool cmdFieldsValid(const struct sm_cmd_row *row, const struct coord_cmd *c)
{
	const struct coord_kind_info *kind = coord_kind_info((int)c->kind);
	unsigned f = row->fields;

	if (row->kind_implied && c->kind != row->kind)
		return false;
	if ((f & SM_CMD_F_KIND) && kind == NULL)
		return false;
	if ((f & SM_CMD_F_ACQ) && !cmdModeValid(c->mode, kind))
		return false;
	if ((f & SM_CMD_F_LABEL) && !cmdStringValid(c->name, c->name_len, 0, COORD_LABEL_MAX))
		return false;
	if ((f & SM_CMD_F_NAME) && !cmdStringValid(c->name, c->name_len, 1, COORD_NAME_MAX))
		return false;
	if (f & SM_CMD_F_VALUE) {
		/* Without ACQ's flags nothing on the wire could say "no value". */
		if (!(f & SM_CMD_F_ACQ) && !c->has_value)
			return false;
		if (c->has_value ? !cmdStringValid(c->value, c->value_len, 0, COORD_VALUE_MAX)
		                 : c->value_len != 0)
			return false;
	}
	if ((f & SM_CMD_F_LIMITS) && coord_limits_check(&c->limits) != NULL)
		return false;
	if ((f & SM_CMD_F_MEMBER) && (c->member == 0 || c->member > COORD_MEMBER_MAX))
		return false;
	/* A seq or token the row does not carry would be lost in encoding. */
	if ((f & SM_CMD_F_SEQ) ? c->seq > COORD_SEQ_MAX : c->seq != 0)
		return false;
	if ((f & SM_CMD_F_TOKEN) ? c->token > COORD_TOKEN_MAX : c->token != 0)
		return false;
	if ((f & SM_CMD_F_SINCE_V4) ? c->actor > COORD_TOKEN_MAX : c->actor != 0)
		return false;
	return cmdAuthFieldsValid(f, c) && cmdKvValid(f, c) && cmdTxnValid(f, c) &&
	       cmdIdsValid(f, c);
}

/* The lowest version that holds C of ROW (command.h, Versions): its type's
 * own version, 2 for a seq or a token, 4 for an actor. */
static uint8_t cmdVersion(const struct sm_cmd_row *row, const struct coord_cmd *c)
{
	uint8_t v = c->seq != 0 || c->token != 0 ? COORD_CMD_VERSION_2 : COORD_CMD_VERSION_1;

	if (c->actor != 0)
		v = COORD_CMD_VERSION_4;
	return row->since > v ? (uint8_t)row->since : v;
}

/* The fields ROW carries at VERSION. */
static unsigned cmdFields(const struct sm_cmd_row *row, uint8_t version)
{
	unsigned f = row->fields;

	if (version < COORD_CMD_VERSION)
		f &= ~(unsigned)SM_CMD_F_SINCE_V5;
	if (version < COORD_CMD_VERSION_4)
		f &= ~(unsigned)SM_CMD_F_SINCE_V4;
	if (version == COORD_CMD_VERSION_1)
		f &= ~(unsigned)SM_CMD_F_SINCE_V2;
	return f;
}

int coord_cmd_validate(const struct coord_cmd *c)
{
	const struct sm_cmd_row *row;

	assert(c != NULL);
	row = sm_cmd_row((int)c->type);
	if (row == NULL || c->now_ms > COORD_NOW_MAX_MS || !cmdFieldsValid(row, c) ||
	    (row->validate != NULL && !row->validate(c)))
		return COORD_EMALFORMED;
	return 0;
}

/* The bytes of C by ROW: the header and each field it carries. */
static size_t cmdLen(const struct sm_cmd_row *row, const struct coord_cmd *c)
{
	unsigned f = cmdFields(row, cmdVersion(row, c));
	size_t n = 1 + 1 + 8;

	if (f & SM_CMD_F_SESSION)
		n += COORD_SESSION_ID_LEN;
	if (f & SM_CMD_F_TTLS)
		n += 4 + 4;
	if (f & SM_CMD_F_KIND)
		n += 1;
	if (f & SM_CMD_F_ACQ)
		n += 1 + 1;
	if (f & (SM_CMD_F_LABEL | SM_CMD_F_NAME))
		n += CMD_NAME_LEN_BYTES + c->name_len;
	if (f & SM_CMD_F_VALUE)
		n += CMD_VALUE_LEN_BYTES + c->value_len;
	if (f & SM_CMD_F_LIMITS)
		n += 3 * 4;
	if (f & SM_CMD_F_MEMBER)
		n += 8;
	if (f & SM_CMD_F_SEQ)
		n += 8;
	if (f & SM_CMD_F_TOKEN)
		n += 8;
	if (f & SM_CMD_F_HASH)
		n += COORD_TOKEN_HASH_LEN;
	if (f & SM_CMD_F_AUTH)
		n += 1;
	if (f & SM_CMD_F_RULES) {
		n += 1;
		for (size_t i = 0; i < c->n_rules; i++)
			n += 1 + 1 + CMD_PREFIX_LEN_BYTES + c->rules[i].prefix_len;
	}
	if (f & SM_CMD_F_TOKEN_ID)
		n += 8;
	if (f & SM_CMD_F_SINCE_V4)
		n += 8;
	if (f & SM_CMD_F_KV)
		n += 1 + 8 + CMD_NAME_LEN_BYTES + c->fence_lock_len + 8;
	if (f & SM_CMD_F_TXN) {
		n += 1 + 1;
		for (size_t i = 0; i < c->n_checks; i++)
			n += 1 + CMD_NAME_LEN_BYTES + c->checks[i].name_len + 8 +
			     COORD_SESSION_ID_LEN;
		for (size_t i = 0; i < c->n_ops; i++)
			n += 1 + 1 + CMD_NAME_LEN_BYTES + c->ops[i].key_len + CMD_VALUE_LEN_BYTES +
			     c->ops[i].value_len;
	}
	if (f & SM_CMD_F_IDS)
		n += 2 + c->n_ids * COORD_SESSION_ID_LEN;
	return n;
}

size_t coord_cmd_encoded_len(const struct coord_cmd *c)
{
	const struct sm_cmd_row *row = sm_cmd_row((int)c->type);

	return row != NULL ? cmdLen(row, c) : 0;
}

/* Writes C by ROW, in the order of command.h's layout. */
static void cmdPut(struct bytes_writer *w, const struct sm_cmd_row *row, const struct coord_cmd *c)
{
	uint8_t version = cmdVersion(row, c);
	unsigned f = cmdFields(row, version);

	bytes_put_u8(w, version);
	bytes_put_u8(w, (uint8_t)row->type);
	bytes_put_u64(w, c->now_ms);
	if (f & SM_CMD_F_SESSION)
		bytes_put(w, c->session.bytes, COORD_SESSION_ID_LEN);
	if (f & SM_CMD_F_TTLS) {
		bytes_put_u32(w, c->ttl_ms);
		bytes_put_u32(w, c->lock_delay_ms);
	}
	if (f & SM_CMD_F_KIND)
		bytes_put_u8(w, (uint8_t)c->kind);
	if (f & SM_CMD_F_ACQ) {
		bytes_put_u8(w, (uint8_t)c->mode);
		bytes_put_u8(w, (uint8_t)((c->queue ? COORD_ACQ_QUEUE : 0) |
		                          (c->has_value ? COORD_ACQ_VALUE : 0)));
	}
	if (f & (SM_CMD_F_LABEL | SM_CMD_F_NAME))
		bytes_put_str(w, c->name, c->name_len, CMD_NAME_LEN_BYTES);
	if (f & SM_CMD_F_VALUE)
		bytes_put_str(w, c->value, c->value_len, CMD_VALUE_LEN_BYTES);
	if (f & SM_CMD_F_LIMITS) {
		bytes_put_u32(w, c->limits.sessions);
		bytes_put_u32(w, c->limits.objects);
		bytes_put_u32(w, c->limits.waiters);
	}
	if (f & SM_CMD_F_MEMBER)
		bytes_put_u64(w, c->member);
	if (f & SM_CMD_F_SEQ)
		bytes_put_u64(w, c->seq);
	if (f & SM_CMD_F_TOKEN)
		bytes_put_u64(w, c->token);
	if (f & SM_CMD_F_HASH)
		bytes_put(w, c->hash, COORD_TOKEN_HASH_LEN);
	if (f & SM_CMD_F_AUTH)
		bytes_put_u8(w, (uint8_t)((c->admin ? COORD_AUTH_ADMIN : 0) |
		                          (c->bootstrap ? COORD_AUTH_BOOTSTRAP : 0)));
	if (f & SM_CMD_F_RULES) {
		bytes_put_u8(w, (uint8_t)c->n_rules);
		for (size_t i = 0; i < c->n_rules; i++) {
			bytes_put_u8(w, (uint8_t)c->rules[i].resource);
			bytes_put_u8(w, (uint8_t)c->rules[i].access);
			bytes_put_str(w, c->rules[i].prefix, c->rules[i].prefix_len,
			              CMD_PREFIX_LEN_BYTES);
		}
	}
	if (f & SM_CMD_F_TOKEN_ID)
		bytes_put_u64(w, c->token_id);
	if (f & SM_CMD_F_SINCE_V4)
		bytes_put_u64(w, c->actor);
	if (f & SM_CMD_F_KV) {
		bytes_put_u8(w, (uint8_t)c->kv_flags);
		bytes_put_u64(w, c->cas);
		bytes_put_str(w, c->fence_lock, c->fence_lock_len, CMD_NAME_LEN_BYTES);
		bytes_put_u64(w, c->fence_token);
	}
	if (f & SM_CMD_F_TXN) {
		bytes_put_u8(w, (uint8_t)c->n_checks);
		for (size_t i = 0; i < c->n_checks; i++) {
			const struct coord_txn_check *k = &c->checks[i];

			bytes_put_u8(w, (uint8_t)k->kind);
			bytes_put_str(w, k->name, k->name_len, CMD_NAME_LEN_BYTES);
			bytes_put_u64(w, k->n);
			bytes_put(w, k->session.bytes, COORD_SESSION_ID_LEN);
		}
		bytes_put_u8(w, (uint8_t)c->n_ops);
		for (size_t i = 0; i < c->n_ops; i++) {
			const struct coord_txn_op *o = &c->ops[i];

			bytes_put_u8(w, (uint8_t)o->kind);
			bytes_put_u8(w, o->ephemeral ? COORD_KV_EPHEMERAL : 0);
			bytes_put_str(w, o->key, o->key_len, CMD_NAME_LEN_BYTES);
			bytes_put_str(w, o->value, o->value_len, CMD_VALUE_LEN_BYTES);
		}
	}
	if (f & SM_CMD_F_IDS) {
		bytes_put_u16(w, (uint16_t)c->n_ids);
		for (size_t i = 0; i < c->n_ids; i++)
			bytes_put(w, c->ids[i].bytes, COORD_SESSION_ID_LEN);
	}
}

int coord_cmd_encode(const struct coord_cmd *c, void *buf, size_t cap, size_t *len)
{
	const struct sm_cmd_row *row;
	struct bytes_writer w;
	size_t need;

	if (coord_cmd_validate(c) != 0)
		return COORD_EMALFORMED;
	row = sm_cmd_row((int)c->type);
	need = cmdLen(row, c);
	if (need > cap)
		return COORD_ETOOSMALL;
	w = bytes_writer_init(buf, cap);
	cmdPut(&w, row, c);
	if (w.fail) /* only a NULL BUF: the length was checked */
		return COORD_ETOOSMALL;
	assert(w.len == need);
	*len = w.len;
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

/* Reads RULES into *C: the count is checked against COORD_TOKEN_RULES_MAX
 * before it bounds the loop, and each resource and access byte against its
 * range as it is read (rule 11); any refusal latches in R. */
static void cmdGetRules(struct bytes_reader *r, struct coord_cmd *c)
{
	uint8_t n = bytes_get_u8(r);

	if (n > COORD_TOKEN_RULES_MAX) {
		bytes_refuse(r);
		return;
	}
	for (size_t i = 0; i < n && !r->fail; i++) {
		struct coord_rule *rule = &c->rules[i];
		uint8_t resource = bytes_get_u8(r);
		uint8_t access = bytes_get_u8(r);

		if (resource >= COORD_RESOURCE_COUNT || access >= COORD_ACCESS_COUNT) {
			bytes_refuse(r);
			return;
		}
		rule->resource = (enum coord_resource)resource;
		rule->access = (enum coord_access)access;
		bytes_get_str(r, CMD_PREFIX_LEN_BYTES, COORD_NAME_MAX, &rule->prefix,
		              &rule->prefix_len);
		c->n_rules = i + 1;
	}
}

/* Reads TXN into *C: each count is checked against its limit before it
 * bounds a loop, each kind and flags byte as it is read (rule 11); any
 * refusal latches in R. */
static void cmdGetTxn(struct bytes_reader *r, struct coord_cmd *c)
{
	uint8_t n = bytes_get_u8(r);

	if (n > COORD_TXN_CHECKS_MAX) {
		bytes_refuse(r);
		return;
	}
	for (size_t i = 0; i < n && !r->fail; i++) {
		struct coord_txn_check *k = &c->checks[i];
		uint8_t kind = bytes_get_u8(r);
		const uint8_t *id;

		if (kind >= COORD_TXN_CHECK_KIND_COUNT) {
			bytes_refuse(r);
			return;
		}
		k->kind = (enum coord_txn_check_kind)kind;
		bytes_get_str(r, CMD_NAME_LEN_BYTES, COORD_NAME_MAX, &k->name, &k->name_len);
		k->n = bytes_get_u64(r);
		if ((id = bytes_take(r, COORD_SESSION_ID_LEN)) != NULL)
			memcpy(k->session.bytes, id, COORD_SESSION_ID_LEN);
		c->n_checks = i + 1;
	}
	n = bytes_get_u8(r);
	if (n > COORD_TXN_OPS_MAX) {
		bytes_refuse(r);
		return;
	}
	for (size_t i = 0; i < n && !r->fail; i++) {
		struct coord_txn_op *o = &c->ops[i];
		uint8_t kind = bytes_get_u8(r);
		uint8_t flags = bytes_get_u8(r);

		if (kind >= COORD_TXN_OP_KIND_COUNT || (flags & ~COORD_KV_EPHEMERAL) != 0) {
			bytes_refuse(r);
			return;
		}
		o->kind = (enum coord_txn_op_kind)kind;
		o->ephemeral = flags != 0;
		bytes_get_str(r, CMD_NAME_LEN_BYTES, COORD_NAME_MAX, &o->key, &o->key_len);
		bytes_get_str(r, CMD_VALUE_LEN_BYTES, COORD_VALUE_MAX, &o->value, &o->value_len);
		c->n_ops = i + 1;
	}
}

/* Reads the fields ROW carries at VERSION into *C, in the order of
 * command.h's layout. Kind, mode and flags are range-checked as they are
 * read, because the enums cannot hold arbitrary bytes; any refusal latches
 * in R. */
static void cmdGet(struct bytes_reader *r, const struct sm_cmd_row *row, uint8_t version,
                   struct coord_cmd *c)
{
	unsigned f = cmdFields(row, version);

	if (f & SM_CMD_F_SESSION) {
		const uint8_t *id = bytes_take(r, COORD_SESSION_ID_LEN);

		if (id != NULL)
			memcpy(c->session.bytes, id, COORD_SESSION_ID_LEN);
	}
	if (f & SM_CMD_F_TTLS) {
		c->ttl_ms = bytes_get_u32(r);
		c->lock_delay_ms = bytes_get_u32(r);
	}
	if (row->kind_implied)
		c->kind = row->kind;
	if (f & SM_CMD_F_KIND) {
		uint8_t kind = bytes_get_u8(r);

		if (coord_kind_info(kind) == NULL)
			bytes_refuse(r);
		else
			c->kind = (enum coord_kind)kind;
	}
	if (f & SM_CMD_F_ACQ) {
		uint8_t mode = bytes_get_u8(r);
		uint8_t flags = bytes_get_u8(r);

		if (mode >= COORD_MODE_COUNT || (flags & ~CMD_ACQ_FLAGS) != 0)
			bytes_refuse(r);
		else
			c->mode = (enum coord_mode)mode;
		c->queue = (flags & COORD_ACQ_QUEUE) != 0;
		c->has_value = (flags & COORD_ACQ_VALUE) != 0;
	} else if (f & SM_CMD_F_VALUE) {
		c->has_value = true; /* no flags byte: the value is always there */
	}
	if (f & SM_CMD_F_LABEL)
		bytes_get_str(r, CMD_NAME_LEN_BYTES, COORD_LABEL_MAX, &c->name, &c->name_len);
	if (f & SM_CMD_F_NAME)
		bytes_get_str(r, CMD_NAME_LEN_BYTES, COORD_NAME_MAX, &c->name, &c->name_len);
	if (f & SM_CMD_F_VALUE)
		bytes_get_str(r, CMD_VALUE_LEN_BYTES, COORD_VALUE_MAX, &c->value, &c->value_len);
	if (f & SM_CMD_F_LIMITS) {
		c->limits.sessions = bytes_get_u32(r);
		c->limits.objects = bytes_get_u32(r);
		c->limits.waiters = bytes_get_u32(r);
	}
	if (f & SM_CMD_F_MEMBER)
		c->member = bytes_get_u64(r);
	if (f & SM_CMD_F_SEQ)
		c->seq = bytes_get_u64(r);
	if (f & SM_CMD_F_TOKEN)
		c->token = bytes_get_u64(r);
	if (f & SM_CMD_F_HASH) {
		const uint8_t *hash = bytes_take(r, COORD_TOKEN_HASH_LEN);

		if (hash != NULL)
			memcpy(c->hash, hash, COORD_TOKEN_HASH_LEN);
	}
	if (f & SM_CMD_F_AUTH) {
		uint8_t flags = bytes_get_u8(r);

		if ((flags & ~CMD_AUTH_FLAGS) != 0)
			bytes_refuse(r);
		c->admin = (flags & COORD_AUTH_ADMIN) != 0;
		c->bootstrap = (flags & COORD_AUTH_BOOTSTRAP) != 0;
	}
	if (f & SM_CMD_F_RULES)
		cmdGetRules(r, c);
	if (f & SM_CMD_F_TOKEN_ID)
		c->token_id = bytes_get_u64(r);
	if (f & SM_CMD_F_SINCE_V4)
		c->actor = bytes_get_u64(r);
	if (f & SM_CMD_F_KV) {
		uint8_t flags = bytes_get_u8(r);

		if ((flags & ~CMD_KV_FLAGS) != 0)
			bytes_refuse(r);
		c->kv_flags = flags;
		c->cas = bytes_get_u64(r);
		bytes_get_str(r, CMD_NAME_LEN_BYTES, COORD_NAME_MAX, &c->fence_lock,
		              &c->fence_lock_len);
		c->fence_token = bytes_get_u64(r);
	}
	if (f & SM_CMD_F_TXN)
		cmdGetTxn(r, c);
	if (f & SM_CMD_F_IDS) {
		uint16_t n = bytes_get_u16(r);
		const uint8_t *ids;

		/* The count against its limit before it sizes the take (D2). */
		if (n > COORD_ALIVE_MAX) {
			bytes_refuse(r);
		} else if ((ids = bytes_take(r, (size_t)n * COORD_SESSION_ID_LEN)) != NULL) {
			c->ids = (const struct coord_session_id *)(const void *)ids;
			c->n_ids = n;
		}
	}
}

int coord_cmd_decode(const void *buf, size_t len, struct coord_cmd *c)
{
	struct bytes_reader r = bytes_reader_init(buf, len);
	const struct sm_cmd_row *row;
	uint8_t version;

	memset(c, 0, sizeof(*c));
	version = bytes_get_u8(&r);
	if (version < COORD_CMD_VERSION_1 || version > COORD_CMD_VERSION)
		return COORD_EMALFORMED;
	row = sm_cmd_row(bytes_get_u8(&r));
	if (row == NULL)
		return COORD_EMALFORMED;
	c->type = row->type;
	c->now_ms = bytes_get_u64(&r);
	cmdGet(&r, row, version, c);
	/* One encoding per command: the lowest version that holds it, so
	 * equal commands are equal bytes on every node. */
	if (!bytes_done(&r) || cmdVersion(row, c) != version || coord_cmd_validate(c) != 0) {
		memset(c, 0, sizeof(*c));
		return COORD_EMALFORMED;
	}
	return 0;
}

bool coord_cmd_stamp(const void *buf, size_t len, uint64_t *now_ms)
{
	struct bytes_reader r = bytes_reader_init(buf, len);
	uint8_t version = bytes_get_u8(&r);
	uint64_t ms;

	if (version < COORD_CMD_VERSION_1 || version > COORD_CMD_VERSION ||
	    sm_cmd_row(bytes_get_u8(&r)) == NULL)
		return false;
	ms = bytes_get_u64(&r);
	if (r.fail || ms > COORD_NOW_MAX_MS)
		return false;
	*now_ms = ms;
	return true;
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
