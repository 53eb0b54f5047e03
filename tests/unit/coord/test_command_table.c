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
/* Version 3's header: the token types. */
#define HDR3(type) 0x03, (type), 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01
/* Version 4's header: a session's command with the request's token id. */
#define HDR4(type) 0x04, (type), 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01
/* Version 5's header: the key/value types. */
#define HDR5(type) 0x05, (type), 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01
/* A token id whose bytes all differ, and its u64. */
#define ACTOR       UINT64_C(0x0000000000c0c1c2)
#define ACTOR_BYTES 0xc2, 0xc1, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00
/* A SHA-256 whose bytes all differ: 0x20, 0x21, ... 0x3f. */
#define HASH_BYTES                                                                                 \
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e,  \
	    0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c,    \
	    0x3d, 0x3e, 0x3f
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
	uint8_t bytes[80];
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
    /* Version 3: the token types. */
    {"token with two rules",
     {.type = COORD_CMD_TOKEN,
      .now_ms = NOW_MS,
      .name = "ci",
      .name_len = 2,
      .hash = {HASH_BYTES},
      .n_rules = 2,
      .rules = {{COORD_RESOURCE_LOCKS, COORD_ACCESS_WRITE, "j/", 2},
                {COORD_RESOURCE_KV, COORD_ACCESS_READ, "", 0}}},
     0,
     58,
     {HDR3(11),                 /* header, version 3; no session */
      0x02, 0x00, 'c', 'i',     /* name */
      HASH_BYTES,               /* hash */
      0x00,                     /* flags: none */
      0x02,                     /* two rules */
      0x00, 0x01, 0x02, 0x00,   /* locks, write, prefix length 2 */
      'j', '/',                 /* prefix */
      0x03, 0x00, 0x00, 0x00}}, /* kv, read, empty prefix */
    {"bootstrap",
     {.type = COORD_CMD_TOKEN,
      .now_ms = NOW_MS,
      .hash = {HASH_BYTES},
      .admin = true,
      .bootstrap = true},
     0,
     46,
     {HDR3(11),   /* header, version 3 */
      0x00, 0x00, /* name: empty */
      HASH_BYTES, /* hash */
      0x03,       /* flags: admin | bootstrap */
      0x00}},     /* no rules */
    {"revoke token",
     {.type = COORD_CMD_REVOKE_TOKEN, .now_ms = NOW_MS, .token_id = 0x0a0b},
     0,
     18,
     {HDR3(12),                                         /* header, version 3; no session */
      0x0b, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}}, /* token id */
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
    {"open by a token",
     {.type = COORD_CMD_OPEN,
      .now_ms = NOW_MS,
      .session = {.bytes = {SID_BYTES}},
      .ttl_ms = 10000,
      .lock_delay_ms = 500,
      .name = "w7",
      .name_len = 2,
      .actor = ACTOR},
     0,
     46,
     {HDR4(1),                /* header, version 4 */
      SID_BYTES,              /* session */
      0x10, 0x27, 0x00, 0x00, /* ttl_ms 10000 */
      0xf4, 0x01, 0x00, 0x00, /* lock_delay_ms 500 */
      0x02, 0x00, 'w', '7',   /* label */
      ACTOR_BYTES}},          /* owner */
    /* Version 5: the key/value types. */
    {"ephemeral put with cas and fence, by a token",
     {.type = COORD_CMD_KV_PUT,
      .now_ms = NOW_MS,
      .session = {.bytes = {SID_BYTES}},
      .name = "k",
      .name_len = 1,
      .has_value = true, /* implied: no flags byte */
      .value = "v",
      .value_len = 1,
      .actor = ACTOR,
      .kv_flags = COORD_KV_CAS | COORD_KV_FENCE | COORD_KV_EPHEMERAL,
      .cas = 0x0102,
      .fence_lock = "L",
      .fence_lock_len = 1,
      .fence_token = 0x0304},
     0,
     62,
     {HDR5(13),                                                /* header, version 5 */
      SID_BYTES,                                               /* session */
      0x01,        0x00, 'k',                                  /* key */
      0x01,        0x00, 0x00, 0x00, 'v',                      /* value */
      ACTOR_BYTES,                                             /* actor */
      0x07,                                                    /* flags: cas | fence | ephemeral */
      0x02,        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,   /* cas */
      0x01,        0x00, 'L',                                  /* fence: lock */
      0x04,        0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}}, /* fence: token */
    {"delete without conditions",
     {.type = COORD_CMD_KV_DELETE, .now_ms = NOW_MS, .name = "k", .name_len = 1},
     0,
     32,
     {HDR5(14),                                             /* header, version 5; no session */
      0x01,     0x00, 'k',                                  /* key */
      0x00,                                                 /* flags: none */
      0x00,     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,   /* cas: none */
      0x00,     0x00,                                       /* fence: no lock */
      0x00,     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}}, /* fence: no token */
    {"transaction: a key check, then a put",
     {.type = COORD_CMD_KV_TXN,
      .now_ms = NOW_MS,
      .n_checks = 1,
      .checks = {{COORD_TXN_CHECK_KEY, "k", 1, 0x0102, {{0}}}},
      .n_ops = 1,
      .ops = {{COORD_TXN_PUT, false, "k", 1, "v", 1}}},
     0,
     74,
     {HDR5(15),                                           /* header, version 5 */
      0x00,     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* session: none */
      0x00,     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* ... */
      0x00,     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* actor: none */
      0x01,                                               /* one check */
      0x00,     0x01, 0x00, 'k',                          /* key check of k */
      0x02,     0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* modify_index */
      0x00,     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* no session */
      0x00,     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* ... */
      0x01,                                               /* one operation */
      0x00,     0x00,                                     /* put, not ephemeral */
      0x01,     0x00, 'k',                                /* key */
      0x01,     0x00, 0x00, 0x00, 'v'}},                  /* value */
    {"keepalives heard",
     {.type = COORD_CMD_ALIVE,
      .now_ms = NOW_MS,
      .ids = (const struct coord_session_id[]){{{SID_BYTES}}},
      .n_ids = 1},
     0,
     28,
     {HDR5(16),    /* header, version 5; no session */
      0x01, 0x00,  /* one id */
      SID_BYTES}}, /* the session */
    {"close by a token, not numbered",
     {.type = COORD_CMD_CLOSE, .now_ms = NOW_MS, .session = {.bytes = {SID_BYTES}}, .actor = ACTOR},
     0,
     42,
     {HDR4(2),                                        /* header, version 4 */
      SID_BYTES,                                      /* session */
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* seq: none */
      ACTOR_BYTES}},                                  /* actor */
    {"numbered release by a token",
     {.type = COORD_CMD_RELEASE,
      .now_ms = NOW_MS,
      .session = {.bytes = {SID_BYTES}},
      .kind = COORD_KIND_LOCK,
      .name = "q",
      .name_len = 1,
      .seq = SEQ,
      .actor = ACTOR},
     KIND_OFFSET,
     54,
     {HDR4(5),                                        /* header, version 4 */
      SID_BYTES,                                      /* session */
      0x00,                                           /* kind: lock */
      0x01, 0x00, 'q',                                /* name */
      SEQ_BYTES,                                      /* seq */
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* token: any */
      ACTOR_BYTES}},                                  /* actor */
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
	                       SM_CMD_F_MEMBER | SM_CMD_F_SEQ | SM_CMD_F_TOKEN | SM_CMD_F_SINCE_V3 |
	                       SM_CMD_F_SINCE_V4 | SM_CMD_F_SINCE_V5;

	(void)state;
	for (int t = 1; t <= COORD_CMD_TYPE_MAX; t++) {
		const struct sm_cmd_row *row = sm_cmd_row(t);
		unsigned f = row->fields;

		assert_int_equal(f & ~known, 0);
		assert_false((f & SM_CMD_F_LABEL) && (f & SM_CMD_F_NAME));
		assert_false((f & SM_CMD_F_OWNER) && (f & SM_CMD_F_ACTOR));
		if (f & SM_CMD_F_ACQ)
			assert_true((f & SM_CMD_F_KIND) || row->kind_implied);
		if (row->kind_implied) {
			assert_false(f & SM_CMD_F_KIND);
			assert_non_null(coord_kind_info((int)row->kind));
		}
		/* The header: a session id in every type but WAKE, LIMITS,
		 * RETIRE, the token types and a key's delete, which act on no
		 * session (a put's names an ephemeral key's session). */
		assert_int_equal((f & SM_CMD_F_SESSION) != 0,
		                 t != COORD_CMD_WAKE && t != COORD_CMD_LIMITS &&
		                     t != COORD_CMD_RETIRE && t != COORD_CMD_TOKEN &&
		                     t != COORD_CMD_REVOKE_TOKEN && t != COORD_CMD_KV_DELETE &&
		                     t != COORD_CMD_ALIVE);
		/* A transaction's checks and operations, on it alone. */
		assert_int_equal((f & SM_CMD_F_TXN) != 0, t == COORD_CMD_KV_TXN);
		/* A list of sessions on ALIVE alone. */
		assert_int_equal((f & SM_CMD_F_IDS) != 0, t == COORD_CMD_ALIVE);
		/* Version 3's fields on version 3's types only, and those are
		 * the token types; no type is newer than the encoding. */
		assert_true(row->since <= COORD_CMD_VERSION);
		if (f & SM_CMD_F_SINCE_V3)
			assert_int_equal(row->since, 3);
		assert_int_equal(row->since == 3,
		                 t == COORD_CMD_TOKEN || t == COORD_CMD_REVOKE_TOKEN);
		/* Version 5's field on version 5's types, the key/value ones. */
		assert_int_equal((f & SM_CMD_F_SINCE_V5) != 0, row->since == 5);
		assert_int_equal(row->since == 5,
		                 t == COORD_CMD_KV_PUT || t == COORD_CMD_KV_DELETE ||
		                     t == COORD_CMD_KV_TXN || t == COORD_CMD_ALIVE);
		/* A seq on exactly what a client's request of a session
		 * proposes; a token on a release alone. */
		assert_int_equal((f & SM_CMD_F_SEQ) != 0,
		                 t == COORD_CMD_CLOSE || t == COORD_CMD_ACQUIRE ||
		                     t == COORD_CMD_RELEASE || t == COORD_CMD_PROCLAIM);
		assert_int_equal((f & SM_CMD_F_TOKEN) != 0, t == COORD_CMD_RELEASE);
		/* The request's token on what opens a session (OWNER) and on
		 * what a client's request of a session proposes (ACTOR): the
		 * types with a seq, and a key's put, which may name an
		 * ephemeral key's session (SM-10). */
		assert_int_equal((f & SM_CMD_F_OWNER) != 0, t == COORD_CMD_OPEN);
		assert_int_equal((f & SM_CMD_F_ACTOR) != 0, (f & SM_CMD_F_SEQ) != 0 ||
		                                                t == COORD_CMD_KV_PUT ||
		                                                t == COORD_CMD_KV_TXN);
		assert_int_equal(coord_cmd_has_actor(t), (f & SM_CMD_F_SINCE_V4) != 0);
	}
	assert_false(coord_cmd_has_actor(0));
	assert_false(coord_cmd_has_actor(COORD_CMD_TYPE_MAX + 1));
}

/* The versions: a command without seq, token or actor encodes as version
 * 1, byte for byte what every log written before version 2 holds (the
 * version 1 examples above); one with a seq or token is version 2; a token
 * type is always version 3; one with an actor is version 4. Version 1
 * entries decode with seq and token 0, versions 1 to 3 with actor 0. */
static void test_versions(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(pinned); i++) {
		const struct pinned *p = &pinned[i];
		bool v2 = p->cmd.seq != 0 || p->cmd.token != 0;
		bool v3 = p->cmd.type == COORD_CMD_TOKEN || p->cmd.type == COORD_CMD_REVOKE_TOKEN;
		bool v4 = p->cmd.actor != 0;
		bool v5 = p->cmd.type == COORD_CMD_KV_PUT || p->cmd.type == COORD_CMD_KV_DELETE ||
		          p->cmd.type == COORD_CMD_KV_TXN || p->cmd.type == COORD_CMD_ALIVE;
		struct coord_cmd d;

		print_message("%s\n", p->what);
		assert_int_equal(p->bytes[0], v5   ? COORD_CMD_VERSION
		                              : v4 ? COORD_CMD_VERSION_4
		                              : v3 ? COORD_CMD_VERSION_3
		                              : v2 ? COORD_CMD_VERSION_2
		                                   : COORD_CMD_VERSION_1);
		assert_int_equal(coord_cmd_decode(p->bytes, p->len, &d), 0);
		assert_int_equal(d.seq, p->cmd.seq);
		assert_int_equal(d.token, p->cmd.token);
		assert_int_equal(d.actor, p->cmd.actor);
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
	buf[0] = COORD_CMD_VERSION_2; /* a close with seq 0 in version 2 */
	assert_int_equal(coord_cmd_decode(buf, v1->len + 8, &d), COORD_EMALFORMED);
	buf[0] = COORD_CMD_VERSION_1;
	buf[v1->len] = 5; /* a seq after a version 1 close */
	assert_int_equal(coord_cmd_decode(buf, v1->len + 8, &d), COORD_EMALFORMED);
	for (unsigned v = 0; v < 256; v++) {
		if (v == COORD_CMD_VERSION_1)
			continue; /* 2 and 3: a close without its seq, or in a version not its own
			           */
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

/* Version 4's actor: present only when not 0 (a version 4 entry with
 * actor 0 is one no encoder writes), never past COORD_TOKEN_MAX, never on
 * a type that does not carry it, and never in an older version's entry. */
static void test_actor_refusals(void **state)
{
	const struct pinned *p = example(COORD_CMD_CLOSE);
	const struct pinned *v4 = &pinned[ARRAY_LEN(pinned) - 2]; /* close by a token */
	uint8_t buf[64];
	struct coord_cmd c, d;

	(void)state;
	assert_int_equal(v4->cmd.type, COORD_CMD_CLOSE);
	memcpy(buf, v4->bytes, v4->len);
	memset(buf + v4->len - 8, 0, 8); /* actor 0 in version 4 */
	assert_int_equal(coord_cmd_decode(buf, v4->len, &d), COORD_EMALFORMED);
	memcpy(buf, v4->bytes, v4->len);
	buf[0] = COORD_CMD_VERSION_3; /* version 3 has no actor: trailing bytes */
	assert_int_equal(coord_cmd_decode(buf, v4->len, &d), COORD_EMALFORMED);
	buf[0] = COORD_CMD_VERSION_2;
	assert_int_equal(coord_cmd_decode(buf, v4->len, &d), COORD_EMALFORMED);
	memcpy(buf, v4->bytes, v4->len);
	buf[v4->len - 1] = 0x80; /* actor past COORD_TOKEN_MAX */
	assert_int_equal(coord_cmd_decode(buf, v4->len, &d), COORD_EMALFORMED);
	c = p->cmd;
	c.actor = COORD_TOKEN_MAX + 1;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c = example(COORD_CMD_CANCEL)->cmd;
	c.actor = 1; /* a cancel is the leader's */
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c = example(COORD_CMD_EXPIRE)->cmd;
	c.actor = 1;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
}

/* Offsets in the pinned "token with two rules". */
#define TOK_FLAGS (10 + 4 + COORD_TOKEN_HASH_LEN)
#define TOK_COUNT (TOK_FLAGS + 1)
#define TOK_RULE0 (TOK_COUNT + 1) /* resource, access, u16 len, "j/" */
#define TOK_RULE1 (TOK_RULE0 + 6) /* resource, access, u16 len (0) */

/* The pinned token's bytes, damaged by EDIT, are refused by the decoder
 * (and so applied as invalid, changing nothing). */
static void assertTokenRefused(const char *what, void (*edit)(uint8_t *b, size_t *len))
{
	const struct pinned *p = example(COORD_CMD_TOKEN);
	uint8_t buf[64];
	struct coord_cmd d;
	size_t len = p->len;

	print_message("%s\n", what);
	memcpy(buf, p->bytes, p->len);
	edit(buf, &len);
	assert_int_equal(coord_cmd_decode(buf, len, &d), COORD_EMALFORMED);
}

static void moreRulesThanTheLimit(uint8_t *b, size_t *len)
{
	(void)len;
	b[TOK_COUNT] = COORD_TOKEN_RULES_MAX + 1;
}
static void countPastTheBytes(uint8_t *b, size_t *len)
{
	(void)len;
	b[TOK_COUNT] = 3; /* two rules present */
}
static void countShortOfTheBytes(uint8_t *b, size_t *len)
{
	(void)len;
	b[TOK_COUNT] = 1; /* the second rule is trailing bytes */
}
static void unknownResource(uint8_t *b, size_t *len)
{
	(void)len;
	b[TOK_RULE1] = COORD_RESOURCE_COUNT;
}
static void unknownAccess(uint8_t *b, size_t *len)
{
	(void)len;
	b[TOK_RULE0 + 1] = COORD_ACCESS_COUNT;
}
static void prefixPastTheEnd(uint8_t *b, size_t *len)
{
	(void)len;
	b[TOK_RULE1 + 2] = 1; /* a one-byte prefix that is not there */
}
static void prefixOverTheLimit(uint8_t *b, size_t *len)
{
	(void)len;
	b[TOK_RULE0 + 2] = (COORD_NAME_MAX + 1) & 0xff;
	b[TOK_RULE0 + 3] = (COORD_NAME_MAX + 1) >> 8;
}
static void nulInPrefix(uint8_t *b, size_t *len)
{
	(void)len;
	b[TOK_RULE0 + 4] = 0;
}
static void unknownFlag(uint8_t *b, size_t *len)
{
	(void)len;
	b[TOK_FLAGS] = 0x04;
}
static void bootstrapWithoutAdmin(uint8_t *b, size_t *len)
{
	(void)len;
	b[TOK_FLAGS] = COORD_AUTH_BOOTSTRAP;
}
static void asVersion2(uint8_t *b, size_t *len)
{
	(void)len;
	b[0] = COORD_CMD_VERSION_2;
}
static void lastRuleCut(uint8_t *b, size_t *len)
{
	(void)b;
	*len -= 1;
}

/* A token's rule list is checked against the bytes present and its limits
 * before it is used (rule 11): a count over COORD_TOKEN_RULES_MAX, a count
 * that disagrees with the bytes, an unknown resource or access, a prefix
 * past the end, too long or not text, unknown flags, a bootstrap that is
 * not admin, a token type in an older version, a cut entry. The encoder
 * refuses the same commands. */
static void test_token_refusals(void **state)
{
	const struct pinned *p = example(COORD_CMD_TOKEN);
	char prefix[COORD_NAME_MAX + 1];
	uint8_t buf[64];
	struct coord_cmd c;
	size_t len;

	(void)state;
	assertTokenRefused("more rules than the limit", moreRulesThanTheLimit);
	assertTokenRefused("a count past the bytes", countPastTheBytes);
	assertTokenRefused("a count short of the bytes", countShortOfTheBytes);
	assertTokenRefused("an unknown resource", unknownResource);
	assertTokenRefused("an unknown access", unknownAccess);
	assertTokenRefused("a prefix past the end", prefixPastTheEnd);
	assertTokenRefused("a prefix over the limit", prefixOverTheLimit);
	assertTokenRefused("a NUL in a prefix", nulInPrefix);
	assertTokenRefused("an unknown flag", unknownFlag);
	assertTokenRefused("a bootstrap without admin", bootstrapWithoutAdmin);
	assertTokenRefused("a token in version 2", asVersion2);
	assertTokenRefused("the last rule cut", lastRuleCut);

	/* A count over the limit with every rule's bytes present: refused
	 * before the rules are read; the limit itself decodes. */
	for (size_t n = COORD_TOKEN_RULES_MAX; n <= COORD_TOKEN_RULES_MAX + 1; n++) {
		const struct pinned *boot = example(COORD_CMD_TOKEN) + 1; /* the bootstrap */
		uint8_t many[64 + 4 * (COORD_TOKEN_RULES_MAX + 1)];

		assert_true(boot->cmd.bootstrap);
		memcpy(many, boot->bytes, boot->len);
		many[boot->len - 1] = (uint8_t)n;
		memset(many + boot->len, 0, 4 * n); /* locks, read, empty prefix */
		assert_int_equal(coord_cmd_decode(many, boot->len + 4 * n, &c),
		                 n <= COORD_TOKEN_RULES_MAX ? 0 : COORD_EMALFORMED);
	}
	c = p->cmd;
	c.n_rules = COORD_TOKEN_RULES_MAX + 1;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c = p->cmd;
	c.rules[1].resource = COORD_RESOURCE_COUNT;
	assert_int_equal(coord_cmd_encode(&c, buf, sizeof(buf), &len), COORD_EMALFORMED);
	c = p->cmd;
	c.rules[0].access = COORD_ACCESS_COUNT;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c = p->cmd;
	memset(prefix, 'p', sizeof(prefix));
	c.rules[0].prefix = prefix;
	c.rules[0].prefix_len = COORD_NAME_MAX;
	assert_int_equal(coord_cmd_validate(&c), 0);
	c.rules[0].prefix_len = COORD_NAME_MAX + 1;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c = p->cmd;
	c.bootstrap = true; /* without admin */
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	/* Fields of the token types on other types would be lost. */
	c = example(COORD_CMD_RETIRE)->cmd;
	c.hash[31] = 1;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c = example(COORD_CMD_RETIRE)->cmd;
	c.admin = true;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c = example(COORD_CMD_RETIRE)->cmd;
	c.token_id = 1;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	/* A revoke names a token: ids are 1..COORD_TOKEN_MAX. */
	c = example(COORD_CMD_REVOKE_TOKEN)->cmd;
	c.token_id = 0;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c.token_id = COORD_TOKEN_MAX + 1;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
}

/* The longest token (every rule, every prefix and the name at their
 * limits) encodes within COORD_CMD_MAX_LEN and decodes back. */
static void test_longest_token_round_trips(void **state)
{
	static char text[COORD_NAME_MAX];
	struct coord_cmd c = example(COORD_CMD_TOKEN)->cmd, d;
	void *buf;
	size_t len;

	(void)state;
	memset(text, 'x', sizeof(text));
	c.name = text;
	c.name_len = COORD_LABEL_MAX;
	c.n_rules = COORD_TOKEN_RULES_MAX;
	for (size_t i = 0; i < c.n_rules; i++)
		c.rules[i] = (struct coord_rule){(enum coord_resource)(i % COORD_RESOURCE_COUNT),
		                                 (enum coord_access)(i % COORD_ACCESS_COUNT), text,
		                                 COORD_NAME_MAX};
	assert_int_equal(coord_cmd_encode_alloc(&c, &buf, &len), 0);
	assert_true(len <= COORD_CMD_MAX_LEN);
	assert_int_equal(coord_cmd_decode(buf, len, &d), 0);
	fx_assert_same_cmd(&c, &d);
	free(buf);
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
		uint8_t buf[sizeof(p->bytes)];
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
		uint8_t buf[sizeof(p->bytes)], out[sizeof(p->bytes)];
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
		uint8_t buf[sizeof(p->bytes)];

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
	    cmocka_unit_test(test_actor_refusals),
	    cmocka_unit_test(test_token_refusals),
	    cmocka_unit_test(test_longest_token_round_trips),
	    cmocka_unit_test_setup_teardown(test_every_type_applies_through_its_row, fx_setup,
	                                    fx_teardown),
	};

	return cmocka_run_group_tests_name("coord_command_table", tests, NULL, NULL);
}
