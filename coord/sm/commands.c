/* The table of state-machine commands and the table of kinds (contracts in
 * commands.h and command.h). A new command is one row here, its apply
 * function, and its byte layout in command.h's comment. */
#include "commands.h"

#include "sm_internal.h"
#include "sm_limits.h"
#include "sm_member.h"
#include "sm_token.h"

/* OPEN: the session's TTL and lock-delay in range (API.md, Sessions). */
static bool openValid(const struct coord_cmd *c)
{
	return c->ttl_ms >= COORD_TTL_MIN_MS && c->ttl_ms <= COORD_TTL_MAX_MS &&
	       c->lock_delay_ms <= COORD_LOCK_DELAY_MAX_MS;
}

#define F(x) SM_CMD_F_##x

static const struct sm_cmd_row cmdRows[COORD_CMD_TYPE_MAX + 1] = {
    [COORD_CMD_OPEN] = {.type = COORD_CMD_OPEN,
                        .name = "open",
                        .fields = F(SESSION) | F(TTLS) | F(LABEL) | F(OWNER),
                        .validate = openValid,
                        .apply = sm_apply_open},
    [COORD_CMD_CLOSE] = {.type = COORD_CMD_CLOSE,
                         .name = "close",
                         .fields = F(SESSION) | F(SEQ) | F(ACTOR),
                         .apply = sm_apply_end},
    [COORD_CMD_EXPIRE] = {.type = COORD_CMD_EXPIRE,
                          .name = "expire",
                          .fields = F(SESSION),
                          .apply = sm_apply_end},
    [COORD_CMD_ACQUIRE] = {.type = COORD_CMD_ACQUIRE,
                           .name = "acquire",
                           .fields = F(SESSION) | F(KIND) | F(ACQ) | F(NAME) | F(VALUE) | F(SEQ) |
                                     F(ACTOR),
                           .apply = sm_apply_acquire},
    [COORD_CMD_RELEASE] = {.type = COORD_CMD_RELEASE,
                           .name = "release",
                           .fields = F(SESSION) | F(KIND) | F(NAME) | F(SEQ) | F(TOKEN) | F(ACTOR),
                           .apply = sm_apply_release},
    [COORD_CMD_CANCEL] = {.type = COORD_CMD_CANCEL,
                          .name = "cancel",
                          .fields = F(SESSION) | F(KIND) | F(NAME),
                          .apply = sm_apply_cancel},
    [COORD_CMD_PROCLAIM] = {.type = COORD_CMD_PROCLAIM,
                            .name = "proclaim",
                            .fields = F(SESSION) | F(NAME) | F(VALUE) | F(SEQ) | F(ACTOR),
                            .kind_implied = true,
                            .kind = COORD_KIND_ELECTION,
                            .apply = sm_apply_proclaim},
    [COORD_CMD_WAKE] = {.type = COORD_CMD_WAKE,
                        .name = "wake",
                        .fields = 0,
                        .apply = sm_apply_wake},
    [COORD_CMD_LIMITS] = {.type = COORD_CMD_LIMITS,
                          .name = "limits",
                          .fields = F(LIMITS),
                          .apply = sm_apply_limits},
    [COORD_CMD_RETIRE] = {.type = COORD_CMD_RETIRE,
                          .name = "retire",
                          .fields = F(MEMBER),
                          .apply = sm_apply_retire},
    [COORD_CMD_TOKEN] = {.type = COORD_CMD_TOKEN,
                         .name = "token",
                         .fields = F(LABEL) | F(HASH) | F(AUTH) | F(RULES),
                         .apply = sm_apply_token,
                         .since = 3},
    [COORD_CMD_REVOKE_TOKEN] = {.type = COORD_CMD_REVOKE_TOKEN,
                                .name = "revoke_token",
                                .fields = F(TOKEN_ID),
                                .apply = sm_apply_revoke_token,
                                .since = 3},
    [COORD_CMD_KV_PUT] = {.type = COORD_CMD_KV_PUT,
                          .name = "kv_put",
                          .fields = F(SESSION) | F(NAME) | F(VALUE) | F(ACTOR) | F(KV),
                          .apply = sm_apply_kv_put,
                          .since = 5},
    [COORD_CMD_KV_DELETE] = {.type = COORD_CMD_KV_DELETE,
                             .name = "kv_delete",
                             .fields = F(NAME) | F(KV),
                             .apply = sm_apply_kv_delete,
                             .since = 5},
    [COORD_CMD_ALIVE] = {.type = COORD_CMD_ALIVE,
                         .name = "alive",
                         .fields = F(IDS),
                         .apply = sm_apply_alive,
                         .since = 5},
    [COORD_CMD_KV_TXN] = {.type = COORD_CMD_KV_TXN,
                          .name = "kv_txn",
                          .fields = F(SESSION) | F(ACTOR) | F(TXN),
                          .apply = sm_apply_kv_txn,
                          .since = 5},
};

#undef F

const struct sm_cmd_row *sm_cmd_row(int type)
{
	/* A row left out of the table has no apply function: no such type. */
	if (type < 1 || type > COORD_CMD_TYPE_MAX || cmdRows[type].apply == NULL)
		return NULL;
	return &cmdRows[type];
}

bool coord_cmd_has_actor(int type)
{
	const struct sm_cmd_row *row = sm_cmd_row(type);

	return row != NULL && (row->fields & SM_CMD_F_SINCE_V4) != 0;
}

const char *coord_cmd_type_name(int type)
{
	const struct sm_cmd_row *row = sm_cmd_row(type);

	return row != NULL ? row->name : "unknown";
}

static const struct coord_kind_info kindInfo[COORD_KIND_COUNT] = {
    [COORD_KIND_LOCK] = {.name = "lock", .shared = true, .index_key = SM_META_LOCKS},
    [COORD_KIND_ELECTION] = {.name = "election",
                             .shared = false,
                             .index_key = SM_META_ELECTIONS,
                             .answers_empty = true},
};

const struct coord_kind_info *coord_kind_info(int kind)
{
	if (kind < 0 || kind >= COORD_KIND_COUNT)
		return NULL;
	return &kindInfo[kind];
}
