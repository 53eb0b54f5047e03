/* Private to coord_sm: the table of state-machine commands, one row per
 * type (commands.c). The codec (command.c) and the apply dispatch
 * (sm_apply.c) both walk a type's row, so encoding, the encoded length,
 * decoding and applying cannot disagree about what a command carries; the
 * pattern of raft/codec.c. Adding a command is one row and its apply
 * function.
 *
 * Contract of a row (test_command_table.c checks every one):
 *  - Every type 1..COORD_CMD_TYPE_MAX has a row, at its own index, with a
 *    name and an apply function.
 *  - fields names what the type carries after `u8 version | u8 type | u64
 *    now_ms`, as SM_CMD_F_* bits. The wire order is the order of the bits
 *    (command.h's layout), never the order they are written in the row.
 *  - At most one of LABEL and NAME (both are struct coord_cmd's name), and
 *    of OWNER and ACTOR (both are its actor).
 *  - OWNER on the type that creates a session (open); ACTOR on the types a
 *    client's request of an existing session proposes (close, acquire,
 *    release, proclaim, and kv_put, whose session, an ephemeral key's, may
 *    be none): the state machine refuses an ACTOR that is not the session's
 *    owner before anything else (SM-10, sm_apply.c). Never on what the
 *    leader proposes by itself.
 *  - SEQ on the types a client's request of a session proposes (close,
 *    acquire, release, proclaim): the state machine checks and records it
 *    before and after the apply function (sm_seq.c), so no apply function
 *    sees a stale or repeated request. Never on what the leader proposes by
 *    itself (open has no session yet; expire, cancel, wake, limits, retire).
 *  - A type that carries ACQ has a kind: its KIND byte or an implied one.
 *  - kind_implied (never with KIND): the type is always of that kind and
 *    carries no kind byte; the decoder sets it and validation insists on it.
 *  - VALUE without ACQ: the value is always present (has_value is true),
 *    since no flags byte could say otherwise.
 *  - validate, when not NULL, holds the type's own rules beyond its fields'
 *    (the fields' are the codec's: lengths, text, kind and mode ranges).
 *    It sees a command whose fields already passed, and answers true when C
 *    is valid. It must be a pure function of C: validation runs in the
 *    decoder of every node alike (DESIGN.md rule 11).
 *  - apply runs a decoded, valid command of the type (sm_internal.h).
 *  - since is the encoding version that added the type (0 reads as 1): its
 *    entries are written at that version or above, never below, and a type
 *    that carries a SINCE_V3 field is a version 3 type, one that carries the
 *    SINCE_V5 field (KV) a version 5 type (command.h,
 *    Versions). */
#ifndef COORD_SM_COMMANDS_H
#define COORD_SM_COMMANDS_H

#include <stdbool.h>

#include "command.h"

struct sm_apply;

/* The fields of a command, in wire order (command.h). */
enum sm_cmd_field {
	SM_CMD_F_SESSION = 1u << 0,   /* 16-byte session id */
	SM_CMD_F_TTLS = 1u << 1,      /* u32 ttl_ms | u32 lock_delay_ms */
	SM_CMD_F_KIND = 1u << 2,      /* u8 kind */
	SM_CMD_F_ACQ = 1u << 3,       /* u8 mode | u8 flags (COORD_ACQ_*) */
	SM_CMD_F_LABEL = 1u << 4,     /* u16 len | label: 0..COORD_LABEL_MAX bytes */
	SM_CMD_F_NAME = 1u << 5,      /* u16 len | name: 1..COORD_NAME_MAX bytes */
	SM_CMD_F_VALUE = 1u << 6,     /* u32 len | value: 0..COORD_VALUE_MAX bytes */
	SM_CMD_F_LIMITS = 1u << 7,    /* u32 sessions | u32 objects | u32 waiters */
	SM_CMD_F_MEMBER = 1u << 8,    /* u64 server id: 1..COORD_MEMBER_MAX */
	SM_CMD_F_SEQ = 1u << 9,       /* u64 seq: 0 or 1..COORD_SEQ_MAX (version 2) */
	SM_CMD_F_TOKEN = 1u << 10,    /* u64 token: 0 or 1..COORD_TOKEN_MAX (version 2) */
	SM_CMD_F_HASH = 1u << 11,     /* 32 bytes: SHA-256 of a token's secret (version 3) */
	SM_CMD_F_AUTH = 1u << 12,     /* u8 flags: COORD_AUTH_* (version 3) */
	SM_CMD_F_RULES = 1u << 13,    /* u8 n | n rules (version 3) */
	SM_CMD_F_TOKEN_ID = 1u << 14, /* u64 token id: 1..COORD_TOKEN_MAX (version 3) */
	SM_CMD_F_OWNER = 1u << 15,    /* u64 token id: 0 or 1..COORD_TOKEN_MAX (version 4) */
	SM_CMD_F_ACTOR = 1u << 16,    /* u64 token id: 0 or 1..COORD_TOKEN_MAX (version 4) */
	SM_CMD_F_KV = 1u << 17,       /* u8 flags | u64 cas | u16 len | lock | u64 token (v5) */
	SM_CMD_F_TXN = 1u << 18,      /* a transaction's checks and operations (v5) */
	SM_CMD_F_IDS = 1u << 19       /* u16 n | n session ids (v5) */
};

/* The fields version 1 of the encoding does not have (command.h, Versions). */
#define SM_CMD_F_SINCE_V2 (SM_CMD_F_SEQ | SM_CMD_F_TOKEN)
/* The fields only version 3's types carry. */
#define SM_CMD_F_SINCE_V3 (SM_CMD_F_HASH | SM_CMD_F_AUTH | SM_CMD_F_RULES | SM_CMD_F_TOKEN_ID)
/* The fields versions 1 to 3 do not have: present only when not 0. */
#define SM_CMD_F_SINCE_V4 (SM_CMD_F_OWNER | SM_CMD_F_ACTOR)
/* The fields only version 5's types carry. */
#define SM_CMD_F_SINCE_V5 (SM_CMD_F_KV | SM_CMD_F_TXN | SM_CMD_F_IDS)

struct sm_cmd_row {
	enum coord_cmd_type type;                    /* equals the row's index */
	const char *name;                            /* for logs: coord_cmd_type_name() */
	unsigned fields;                             /* SM_CMD_F_* */
	bool kind_implied;                           /* the type implies kind (no kind byte) */
	enum coord_kind kind;                        /* that kind, when kind_implied */
	bool (*validate)(const struct coord_cmd *c); /* or NULL */
	int (*apply)(struct sm_apply *a);
	unsigned since; /* the version that added the type; 0: version 1 */
};

/* The row of TYPE, or NULL when TYPE is not 1..COORD_CMD_TYPE_MAX. */
const struct sm_cmd_row *sm_cmd_row(int type);

#endif
