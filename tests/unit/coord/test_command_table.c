/* The command table (commands.h) and the kinds (command.h), as a
 * specification: every type has a row that keeps the row contract, every
 * type encodes to the exact bytes pinned here by hand, at version 1 and,
 * with a seq or token, at version 2 (so a change of the layout, which would
 * strand existing logs, fails), decodes back, and
 * applies through its row; a kind byte out of range is refused by every
 * type that carries one (DESIGN.md rule 11). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "commands.h"
#include "sm_fixture.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The examples' stamp and session: every byte differs, so little-endian
 * order shows in the pinned bytes. */
#define NOW_MS UINT64_C(0x0102030405060708)
#define SID_BYTES                                                                                  \
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae,  \
	    0xaf
/* u8 version | u8 type | u64 now_ms: the header before the session id, of
 * version 1 (HDR) and of version 2 (HDR2, an entry with a seq or token). */
#define HDR(type)  0x01, (type), 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01
#define HDR2(type) 0x02, (type), 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01
/* A seq whose bytes all differ (below COORD_SEQ_MAX), and its u64. */
#define SEQ         UINT64_C(0x000a0b0c0d0e0f10)
#define SEQ_BYTES   0x10, 0x0f, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 0x00
#define KIND_OFFSET COORD_CMD_HEADER_LEN /* where ACQUIRE, RELEASE and CANCEL put it */

/* One command and its bytes, written out by hand from command.h's layout
 * (and checked against the encoder as it was before the table). */
struct pinned {
	const char *what;
	struct coord_cmd cmd;
	size_t kind_at; /* offset of the kind byte; 0 when the type has none */
	size_t len;
	uint8_t bytes[64];
};

static const struct pinned pinned[] = {
    {"open",
     {.type = COORD_CMD_OPEN,
      .now_ms = NOW_MS,
      .session = {.bytes = {SID_BYTES}},
      .ttl_ms = 10000,
      .lock_delay_ms = 500,
      .name = "w7",
      .name_len = 2},
     0,
     38,
     {HDR(1),                 /* header */
      SID_BYTES,              /* session */
      0x10, 0x27, 0x00, 0x00, /* ttl_ms 10000 */
      0xf4, 0x01, 0x00, 0x00, /* lock_delay_ms 500 */
      0x02, 0x00, 'w', '7'}}, /* label */
    {"close",
     {.type = COORD_CMD_CLOSE, .now_ms = NOW_MS, .session = {.bytes = {SID_BYTES}}},
     0,
     26,
     {HDR(2), SID_BYTES}},
    {"expire",
     {.type = COORD_CMD_EXPIRE, .now_ms = NOW_MS, .session = {.bytes = {SID_BYTES}}},
     0,
     26,
     {HDR(3), SID_BYTES}},
    {"queued shared lock acquire with a value",
     {.type = COORD_CMD_ACQUIRE,
      .now_ms = NOW_MS,
      .session = {.bytes = {SID_BYTES}},
      .kind = COORD_KIND_LOCK,
      .mode = COORD_MODE_SHARED,
      .queue = true,
      .has_value = true,
      .name = "jobs/a",
      .name_len = 6,
      .value = "caf\xc3\xa9",
      .value_len = 5},
     KIND_OFFSET,
     46,
     {HDR(4),                                /* header */
      SID_BYTES,                             /* session */
      0x00,                                  /* kind: lock */
      0x01,                                  /* mode: shared */
      0x03,                                  /* flags: queue | value */
      0x06,      0x00,                       /* name length */
      'j',       'o',  'b',  's',  '/', 'a', /* name */
      0x05,      0x00, 0x00, 0x00,           /* value length */
      'c',       'a',  'f',  0xc3, 0xa9}},   /* value: "café" in UTF-8 */
    {"campaign without a value, no queue",
     {.type = COORD_CMD_ACQUIRE,
      .now_ms = NOW_MS,
      .session = {.bytes = {SID_BYTES}},
      .kind = COORD_KIND_ELECTION,
      .name = "db",
      .name_len = 2},
     KIND_OFFSET,
     37,
     {HDR(4),                   /* header */
      SID_BYTES,                /* session */
      0x01,                     /* kind: election */
      0x00,                     /* mode: exclusive */
      0x00,                     /* flags: none */
      0x02, 0x00, 'd', 'b',     /* name */
      0x00, 0x00, 0x00, 0x00}}, /* an empty value */
    {"resign",
     {.type = COORD_CMD_RELEASE,
      .now_ms = NOW_MS,
      .session = {.bytes = {SID_BYTES}},
      .kind = COORD_KIND_ELECTION,
      .name = "db",
      .name_len = 2},
     KIND_OFFSET,
     31,
     {HDR(5),                 /* header */
      SID_BYTES,              /* session */
      0x01,                   /* kind: election */
      0x02, 0x00, 'd', 'b'}}, /* name */
    {"cancel",
     {.type = COORD_CMD_CANCEL,
      .now_ms = NOW_MS,
      .session = {.bytes = {SID_BYTES}},
      .kind = COORD_KIND_LOCK,
      .name = "q",
      .name_len = 1},
     KIND_OFFSET,
     30,
     {HDR(6),            /* header */
      SID_BYTES,         /* session */
      0x00,              /* kind: lock */
      0x01, 0x00, 'q'}}, /* name */
    {"proclaim",
     {.type = COORD_CMD_PROCLAIM,
      .now_ms = NOW_MS,
      .session = {.bytes = {SID_BYTES}},
      .kind = COORD_KIND_ELECTION, /* implied: no kind byte */
      .has_value = true,           /* implied: no flags byte */
      .name = "db",
      .name_len = 2,
      .value = "h:1",
      .value_len = 3},
     0,
     37,
     {HDR(7),                                                              /* header */
      SID_BYTES,                                                           /* session; no kind */
      0x02, 0x00, 'd', 'b',                                                /* name */
      0x03, 0x00, 0x00, 0x00, 'h', ':', '1'}},                             /* value */
    {"wake", {.type = COORD_CMD_WAKE, .now_ms = NOW_MS}, 0, 10, {HDR(8)}}, /* no session */
    {"limits",
     {.type = COORD_CMD_LIMITS, .now_ms = NOW_MS, .limits = {20000, 32, 300}},
     0,
     22,
     {HDR(9),                   /* header; no session */
      0x20, 0x4e, 0x00, 0x00,   /* sessions: 20000 */
      0x20, 0x00, 0x00, 0x00,   /* locks per session: 32 */
      0x2c, 0x01, 0x00, 0x00}}, /* waiters: 300 */
    {"retire",
     {.type = COORD_CMD_RETIRE, .now_ms = NOW_MS, .member = 0x01020304u},
     0,
     18,
     {HDR(10),                                          /* header; no session */
      0x04, 0x03, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00}}, /* member */
    /* Version 2: the same types with a seq (and a release's token). */
    {"numbered close",
     {.type = COORD_CMD_CLOSE, .now_ms = NOW_MS, .session = {.bytes = {SID_BYTES}}, .seq = SEQ},
     0,
     34,
     {HDR2(2), SID_BYTES, SEQ_BYTES}},
    {"numbered try-lock",
     {.type = COORD_CMD_ACQUIRE,
      .now_ms = NOW_MS,
      .session = {.bytes = {SID_BYTES}},
      .kind = COORD_KIND_LOCK,
      .name = "q",
      .name_len = 1,
      .seq = SEQ},
     KIND_OFFSET,
     44,
     {HDR2(4),                /* header, version 2 */
      SID_BYTES,              /* session */
      0x00, 0x00, 0x00,       /* kind: lock, mode: exclusive, flags: none */
      0x01, 0x00, 'q',        /* name */
      0x00, 0x00, 0x00, 0x00, /* an empty value */
      SEQ_BYTES}},            /* seq */
    {"numbered release of one grant",
     {.type = COORD_CMD_RELEASE,
      .now_ms = NOW_MS,
      .session = {.bytes = {SID_BYTES}},
      .kind = COORD_KIND_LOCK,
      .name = "q",
      .name_len = 1,
      .seq = SEQ,
      .token = 0x0302},
     KIND_OFFSET,
     46,
     {HDR2(5),                                          /* header, version 2 */
      SID_BYTES,                                        /* session */
      0x00,                                             /* kind: lock */
      0x01, 0x00, 'q',                                  /* name */
      SEQ_BYTES,                                        /* seq */
      0x02, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}}, /* token */
    {"release of one grant, not numbered",
     {.type = COORD_CMD_RELEASE,
      .now_ms = NOW_MS,
      .session = {.bytes = {SID_BYTES}},
      .kind = COORD_KIND_LOCK,
      .name = "q",
      .name_len = 1,
      .token = 7},
     KIND_OFFSET,
     46,
     {HDR2(5),                                               /* header, version 2 */
      SID_BYTES,                                             /* session */
      0x00,                                                  /* kind: lock */
      0x01,      0x00, 'q',                                  /* name */
      0x00,      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,   /* seq: none */
      0x07,      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}}, /* token */
    {"numbered proclaim",
     {.type = COORD_CMD_PROCLAIM,
      .now_ms = NOW_MS,
      .session = {.bytes = {SID_BYTES}},
      .kind = COORD_KIND_ELECTION,
      .has_value = true,
      .name = "db",
      .name_len = 2,
      .value = "h:1",
      .value_len = 3,
      .seq = SEQ},
     0,
     45,
     {HDR2(7), SID_BYTES, 0x02, 0x00, 'd', 'b', 0x03, 0x00, 0x00, 0x00, 'h', ':', '1', SEQ_BYTES}},
};

/* The first pinned example of TYPE. */
static const struct pinned *example(enum coord_cmd_type type)
{
	for (size_t i = 0; i < ARRAY_LEN(pinned); i++) {
		if (pinned[i].cmd.type == type)
			return &pinned[i];
	}
	fail_msg("no pinned example of type %d", (int)type);
	return &pinned[0]; /* not reached: fail_msg() ends the test */
}

/* Every type 1..COORD_CMD_TYPE_MAX has its row, at its index, named, with
 * an apply function; nothing outside that range has one. */
static void test_every_type_has_a_row(void **state)
{
	(void)state;
	for (int t = 1; t <= COORD_CMD_TYPE_MAX; t++) {
		const struct sm_cmd_row *row = sm_cmd_row(t);

		assert_non_null(row);
		assert_int_equal(row->type, t);
		assert_non_null(row->name);
		assert_true(row->name[0] != '\0');
		assert_ptr_equal(coord_cmd_type_name(t), row->name);
		assert_non_null(row->apply);
		for (int u = 1; u < t; u++)
			assert_string_not_equal(sm_cmd_row(u)->name, row->name);
	}
	assert_null(sm_cmd_row(0));
	assert_null(sm_cmd_row(COORD_CMD_TYPE_MAX + 1));
	assert_null(sm_cmd_row(-1));
	assert_string_equal(coord_cmd_type_name(0), "unknown");
	assert_string_equal(coord_cmd_type_name(COORD_CMD_TYPE_MAX + 1), "unknown");
	assert_string_equal(coord_cmd_type_name(COORD_CMD_ACQUIRE), "acquire");
}

/* The row contract of commands.h, row by row. */
static void test_every_row_keeps_the_contract(void **state)
{
	const unsigned known = SM_CMD_F_SESSION | SM_CMD_F_TTLS | SM_CMD_F_KIND | SM_CMD_F_ACQ |
	                       SM_CMD_F_LABEL | SM_CMD_F_NAME | SM_CMD_F_VALUE | SM_CMD_F_LIMITS |
	                       SM_CMD_F_MEMBER | SM_CMD_F_SEQ | SM_CMD_F_TOKEN;

	(void)state;
	for (int t = 1; t <= COORD_CMD_TYPE_MAX; t++) {
		const struct sm_cmd_row *row = sm_cmd_row(t);
		unsigned f = row->fields;

		assert_int_equal(f & ~known, 0);
		assert_false((f & SM_CMD_F_LABEL) && (f & SM_CMD_F_NAME));
		if (f & SM_CMD_F_ACQ)
			assert_true((f & SM_CMD_F_KIND) || row->kind_implied);
		if (row->kind_implied) {
			assert_false(f & SM_CMD_F_KIND);
			assert_non_null(coord_kind_info((int)row->kind));
		}
		/* The header: a session id in every type but WAKE, LIMITS and
		 * RETIRE, which act on no session. */
		assert_int_equal((f & SM_CMD_F_SESSION) != 0, t != COORD_CMD_WAKE &&
		                                                  t != COORD_CMD_LIMITS &&
		                                                  t != COORD_CMD_RETIRE);
		/* A seq on exactly what a client's request of a session
		 * proposes; a token on a release alone. */
		assert_int_equal((f & SM_CMD_F_SEQ) != 0,
		                 t == COORD_CMD_CLOSE || t == COORD_CMD_ACQUIRE ||
		                     t == COORD_CMD_RELEASE || t == COORD_CMD_PROCLAIM);
		assert_int_equal((f & SM_CMD_F_TOKEN) != 0, t == COORD_CMD_RELEASE);
	}
}

/* The versions: a command without seq or token encodes as version 1, byte
 * for byte what every log written before version 2 holds (the version 1
 * examples above); one with either is version 2. Version 1 entries decode
 * with seq and token 0. */
static void test_versions(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(pinned); i++) {
		const struct pinned *p = &pinned[i];
		bool v2 = p->cmd.seq != 0 || p->cmd.token != 0;
		struct coord_cmd d;

		print_message("%s\n", p->what);
		assert_int_equal(p->bytes[0], v2 ? COORD_CMD_VERSION : COORD_CMD_VERSION_1);
		assert_int_equal(coord_cmd_decode(p->bytes, p->len, &d), 0);
		assert_int_equal(d.seq, p->cmd.seq);
		assert_int_equal(d.token, p->cmd.token);
	}
}

/* What no encoder writes is refused: a version 2 entry that version 1
 * could hold (seq and token 0: one encoding per command), a version 1
 * entry with version 2's bytes after it (trailing), an unknown version, a
 * seq past COORD_SEQ_MAX, and a seq or token on a type that does not carry
 * it. */
static void test_version_and_seq_refusals(void **state)
{
	const struct pinned *v1 = example(COORD_CMD_CLOSE);
	uint8_t buf[64];
	struct coord_cmd c, d;
	size_t len;

	(void)state;
	memcpy(buf, v1->bytes, v1->len);
	memset(buf + v1->len, 0, 8);
	buf[0] = COORD_CMD_VERSION; /* a close with seq 0 in version 2 */
	assert_int_equal(coord_cmd_decode(buf, v1->len + 8, &d), COORD_EMALFORMED);
	buf[0] = COORD_CMD_VERSION_1;
	buf[v1->len] = 5; /* a seq after a version 1 close */
	assert_int_equal(coord_cmd_decode(buf, v1->len + 8, &d), COORD_EMALFORMED);
	for (unsigned v = 0; v < 256; v++) {
		if (v == COORD_CMD_VERSION_1 || v == COORD_CMD_VERSION)
			continue;
		buf[0] = (uint8_t)v;
		assert_int_equal(coord_cmd_decode(buf, v1->len, &d), COORD_EMALFORMED);
	}
	c = v1->cmd;
	c.seq = COORD_SEQ_MAX;
	assert_int_equal(coord_cmd_encode(&c, buf, sizeof(buf), &len), 0);
	assert_int_equal(coord_cmd_decode(buf, len, &d), 0);
	assert_int_equal(d.seq, COORD_SEQ_MAX);
	buf[len - 2] = 0x20; /* seq = 2^53 + ...: past COORD_SEQ_MAX */
	assert_int_equal(coord_cmd_decode(buf, len, &d), COORD_EMALFORMED);
	c.seq = COORD_SEQ_MAX + 1;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c = v1->cmd;
	c.token = 1; /* a close names no grant */
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c = example(COORD_CMD_CANCEL)->cmd;
	c.seq = 1; /* a cancel is the leader's, never numbered */
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
}

/* Kinds: a table below COORD_KIND_COUNT, each named; only locks share. */
static void test_kinds(void **state)
{
	(void)state;
	for (int k = 0; k < COORD_KIND_COUNT; k++) {
		assert_non_null(coord_kind_info(k));
		assert_non_null(coord_kind_info(k)->name);
	}
	assert_string_equal(coord_kind_info(COORD_KIND_LOCK)->name, "lock");
	assert_true(coord_kind_info(COORD_KIND_LOCK)->shared);
	assert_string_equal(coord_kind_info(COORD_KIND_ELECTION)->name, "election");
	assert_false(coord_kind_info(COORD_KIND_ELECTION)->shared);
	assert_null(coord_kind_info(COORD_KIND_COUNT));
	assert_null(coord_kind_info(-1));
	assert_null(coord_kind_info(255));
}

/* Every type has a pinned example, so a new type needs its bytes here. */
static void test_every_type_is_pinned(void **state)
{
	(void)state;
	for (int t = 1; t <= COORD_CMD_TYPE_MAX; t++)
		assert_int_equal(example((enum coord_cmd_type)t)->cmd.type, t);
}

/* Each example encodes to exactly its bytes, and those bytes decode to it. */
static void test_pinned_bytes(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(pinned); i++) {
		const struct pinned *p = &pinned[i];
		uint8_t buf[64];
		struct coord_cmd d;
		size_t len = 0;

		print_message("%s\n", p->what);
		assert_int_equal(coord_cmd_encoded_len(&p->cmd), p->len);
		assert_int_equal(coord_cmd_encode(&p->cmd, buf, sizeof(buf), &len), 0);
		assert_int_equal(len, p->len);
		assert_memory_equal(buf, p->bytes, p->len);
		assert_int_equal(coord_cmd_decode(p->bytes, p->len, &d), 0);
		fx_assert_same_cmd(&p->cmd, &d);
	}
}

/* Each example round-trips through an allocated buffer too, and a buffer
 * one byte short is refused. */
static void test_every_type_round_trips(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(pinned); i++) {
		const struct pinned *p = &pinned[i];
		struct coord_cmd d;
		uint8_t shorter[64];
		void *buf;
		size_t len;

		assert_int_equal(coord_cmd_encode_alloc(&p->cmd, &buf, &len), 0);
		assert_int_equal(len, p->len);
		assert_int_equal(coord_cmd_decode(buf, len, &d), 0);
		fx_assert_same_cmd(&p->cmd, &d);
		free(buf);
		assert_int_equal(coord_cmd_encode(&p->cmd, shorter, p->len - 1, &len),
		                 COORD_ETOOSMALL);
	}
}

/* Every type that carries a kind byte refuses one out of range, both on the
 * wire and in the encoder; the pinned kind offsets agree with the table. */
static void test_out_of_range_kind_is_refused(void **state)
{
	static const uint8_t bad[] = {COORD_KIND_COUNT, COORD_KIND_COUNT + 1, 0x7f, 0xff};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(pinned); i++) {
		const struct pinned *p = &pinned[i];
		bool carries = (sm_cmd_row(p->cmd.type)->fields & SM_CMD_F_KIND) != 0;
		struct coord_cmd c = p->cmd, d;
		uint8_t buf[64], out[64];
		size_t len;

		print_message("%s\n", p->what);
		assert_int_equal(carries, p->kind_at != 0);
		if (!carries)
			continue;
		assert_int_equal(p->bytes[p->kind_at], p->cmd.kind);
		for (size_t b = 0; b < ARRAY_LEN(bad); b++) {
			memcpy(buf, p->bytes, p->len);
			buf[p->kind_at] = bad[b];
			assert_int_equal(coord_cmd_decode(buf, p->len, &d), COORD_EMALFORMED);
		}
		c.kind = COORD_KIND_COUNT;
		assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
		assert_int_equal(coord_cmd_encode(&c, out, sizeof(out), &len), COORD_EMALFORMED);
	}
}

/* A type that implies its kind refuses any other, and a value it always
 * carries cannot be absent. */
static void test_implied_kind_and_value(void **state)
{
	const struct pinned *p = example(COORD_CMD_PROCLAIM);
	struct coord_cmd c = p->cmd;

	(void)state;
	assert_true(sm_cmd_row(COORD_CMD_PROCLAIM)->kind_implied);
	assert_int_equal(sm_cmd_row(COORD_CMD_PROCLAIM)->kind, COORD_KIND_ELECTION);
	assert_int_equal(coord_cmd_validate(&c), 0);
	c.kind = COORD_KIND_LOCK;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c = p->cmd;
	c.has_value = false;
	c.value_len = 0;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
}

/* Shared mode is allowed exactly where the kind table says so, and a mode
 * byte past the last mode is refused. */
static void test_shared_mode_follows_the_kind_table(void **state)
{
	const struct pinned *p = example(COORD_CMD_ACQUIRE);
	struct coord_cmd d;
	uint8_t buf[64];

	(void)state;
	for (int k = 0; k < COORD_KIND_COUNT; k++) {
		struct coord_cmd c = p->cmd;

		c.kind = (enum coord_kind)k;
		c.mode = COORD_MODE_SHARED;
		assert_int_equal(coord_cmd_validate(&c) == 0, coord_kind_info(k)->shared);
		c.mode = COORD_MODE_EXCLUSIVE;
		assert_int_equal(coord_cmd_validate(&c), 0);
		c.mode = COORD_MODE_COUNT;
		assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	}
	memcpy(buf, p->bytes, p->len);
	buf[KIND_OFFSET + 1] = COORD_MODE_COUNT; /* the mode byte */
	assert_int_equal(coord_cmd_decode(buf, p->len, &d), COORD_EMALFORMED);
}

/* Applying goes through the row: every pinned example applies as its own
 * type (whatever its outcome), and one with a bad kind byte is refused as
 * invalid without any change. */
static void test_every_type_applies_through_its_row(void **state)
{
	struct fx *f = *state;
	uint64_t hash;

	for (size_t i = 0; i < ARRAY_LEN(pinned); i++) {
		const struct pinned *p = &pinned[i];

		print_message("%s\n", p->what);
		assert_int_not_equal(fx_apply_raw(f, p->bytes, p->len), COORD_ST_INVALID);
		assert_int_equal(f->r.type, p->cmd.type);
	}
	hash = fx_hash(f);
	for (size_t i = 0; i < ARRAY_LEN(pinned); i++) {
		const struct pinned *p = &pinned[i];
		uint8_t buf[64];

		if (p->kind_at == 0)
			continue;
		memcpy(buf, p->bytes, p->len);
		buf[p->kind_at] = COORD_KIND_COUNT;
		assert_int_equal(fx_apply_raw(f, buf, p->len), COORD_ST_INVALID);
	}
	assert_int_equal(fx_hash(f), hash);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_type_has_a_row),
	    cmocka_unit_test(test_every_row_keeps_the_contract),
	    cmocka_unit_test(test_kinds),
	    cmocka_unit_test(test_every_type_is_pinned),
	    cmocka_unit_test(test_pinned_bytes),
	    cmocka_unit_test(test_every_type_round_trips),
	    cmocka_unit_test(test_out_of_range_kind_is_refused),
	    cmocka_unit_test(test_implied_kind_and_value),
	    cmocka_unit_test(test_shared_mode_follows_the_kind_table),
	    cmocka_unit_test(test_versions),
	    cmocka_unit_test(test_version_and_seq_refusals),
	    cmocka_unit_test_setup_teardown(test_every_type_applies_through_its_row, fx_setup,
	                                    fx_teardown),
	};

	return cmocka_run_group_tests_name("coord_command_table", tests, NULL, NULL);
}
