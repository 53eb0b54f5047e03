/* The access token store: tokens by the SHA-256 of their secret, each with
 * its rules (coord_tokens, coord_token_rules; sm_schema.c), and the
 * bootstrap that turns authentication on for the cluster (coord_meta
 * SM_META_AUTH: the index of the bootstrap entry, 0 or absent before).
 *
 * Invariants (with SM-1..SM-9 of sm.h):
 *   T-1 no two tokens have the same hash (a UNIQUE index, and TOKEN answers
 *       exists before it inserts);
 *   T-2 a token's id is the index of the entry that created it, so ids are
 *       never reused, even after a revoke;
 *   T-3 tokens exist only once authentication is on: the bootstrap is the
 *       first token, applies once per cluster, and a plain TOKEN before it
 *       is refused (not_found), so no token made while anyone could ask
 *       outlives the bootstrap;
 *   T-4 at most COORD_TOKENS_MAX tokens (SM-7: at the limit nothing
 *       changes), each with at most COORD_TOKEN_RULES_MAX rules (the codec);
 *   T-5 a revoke deletes the token and its rules in its own entry: every
 *       lookup at or after that index finds nothing.
 * Every change stamps SM_META_TOKENS (SM-8). */
#include <assert.h>
#include <string.h>

#include "auth.h"
#include "sm_query.h"
#include "sm_token.h"

/* Whether a bootstrap applied (*AT its index, 0 before). */
static int tokenAuthIndex(sqlite3 *db, struct sm_stmt_cache *cache, uint64_t *at)
{
	return sm_meta_get(db, cache, SM_META_AUTH, at);
}

/* Inserts the command's token with id = the entry's index, and its rules
 * in their order. */
static int tokenInsert(struct sm_apply *a)
{
	const struct coord_cmd *c = a->cmd;
	sqlite3_stmt *st;
	int rv;

	if (sm_stmt(a,
	            "INSERT INTO coord_tokens(id, hash, name, admin, create_ms)"
	            " VALUES(?1, ?2, ?3, ?4, ?5)",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_u64(st, 1, a->index);
	sqlite3_bind_blob(st, 2, c->hash, COORD_TOKEN_HASH_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, c->name_len > 0 ? c->name : "", (int)c->name_len,
	                  SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 4, c->admin ? 1 : 0);
	sm_bind_u64(st, 5, c->now_ms);
	if ((rv = sm_done(a, st)) != 0)
		return rv;
	assert(c->n_rules <= COORD_TOKEN_RULES_MAX); /* the codec's */
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct coord_rule *r = &c->rules[i];

		if (sm_stmt(a,
		            "INSERT INTO coord_token_rules(token, pos, resource, access, prefix)"
		            " VALUES(?1, ?2, ?3, ?4, ?5)",
		            &st) != 0)
			return COORD_EDB;
		sm_bind_u64(st, 1, a->index);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		sqlite3_bind_int(st, 3, (int)r->resource);
		sqlite3_bind_int(st, 4, (int)r->access);
		sqlite3_bind_text(st, 5, r->prefix_len > 0 ? r->prefix : "", (int)r->prefix_len,
		                  SQLITE_TRANSIENT);
		if ((rv = sm_done(a, st)) != 0)
			return rv;
	}
	return 0;
}

/* The bootstrap's rule (T-3): a bootstrap only before any, a plain TOKEN
 * only after one. *STATUS is ok, exists or not_found. */
static int tokenAuthOrder(struct sm_apply *a, enum coord_status *status)
{
	uint64_t auth;
	int rv;

	*status = COORD_ST_OK;
	if ((rv = tokenAuthIndex(a->db, a->cache, &auth)) != 0)
		return rv;
	if (a->cmd->bootstrap && auth != 0)
		*status = COORD_ST_EXISTS;
	else if (!a->cmd->bootstrap && auth == 0)
		*status = COORD_ST_NOT_FOUND;
	return 0;
}

/* Whether a token has the command's hash (T-1). */
static int tokenHashTaken(struct sm_apply *a, bool *taken)
{
	sqlite3_stmt *st;
	int row;

	if (sm_stmt(a, "SELECT 1 FROM coord_tokens WHERE hash = ?1", &st) != 0)
		return COORD_EDB;
	sqlite3_bind_blob(st, 1, a->cmd->hash, COORD_TOKEN_HASH_LEN, SQLITE_TRANSIENT);
	row = sm_row(st);
	sm_release_in(a, st);
	if (row < 0)
		return COORD_EDB;
	*taken = row == 1;
	return 0;
}

int sm_apply_token(struct sm_apply *a)
{
	enum coord_status status;
	uint64_t tokens;
	bool taken = false;
	int rv;

	if ((rv = tokenAuthOrder(a, &status)) != 0)
		return rv;
	if (status == COORD_ST_OK && (rv = tokenHashTaken(a, &taken)) != 0)
		return rv;
	if (status == COORD_ST_OK && taken)
		status = COORD_ST_EXISTS;
	if (status != COORD_ST_OK) {
		a->out->status = status;
		return 0;
	}
	if ((rv = sm_count(a->db, a->cache, "SELECT count(*) FROM coord_tokens", NULL, &tokens)) !=
	    0)
		return rv;
	if (tokens >= COORD_TOKENS_MAX) { /* T-4, SM-7 */
		a->out->status = COORD_ST_LIMIT;
		a->out->limit = sm_limit_phrase[SM_LIMIT_TOKENS];
		return 0;
	}
	if ((rv = tokenInsert(a)) != 0 || (rv = sm_meta_set(a, SM_META_TOKENS, a->index)) != 0)
		return rv;
	if (a->cmd->bootstrap && (rv = sm_meta_set(a, SM_META_AUTH, a->index)) != 0)
		return rv;
	a->out->status = COORD_ST_OK;
	a->out->token = a->index; /* T-2 */
	return 0;
}

int sm_apply_revoke_token(struct sm_apply *a)
{
	static const char *const sql[] = {
	    "DELETE FROM coord_token_rules WHERE token = ?1",
	    "DELETE FROM coord_tokens WHERE id = ?1",
	};
	sqlite3_stmt *st;
	int rv;

	if (sm_stmt(a, "SELECT 1 FROM coord_tokens WHERE id = ?1", &st) != 0)
		return COORD_EDB;
	sm_bind_u64(st, 1, a->cmd->token_id);
	rv = sm_row(st);
	sm_release_in(a, st);
	if (rv < 0)
		return COORD_EDB;
	if (rv == 0) {
		a->out->status = COORD_ST_NOT_FOUND;
		return 0;
	}
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if (sm_stmt(a, sql[i], &st) != 0)
			return COORD_EDB;
		sm_bind_u64(st, 1, a->cmd->token_id);
		if ((rv = sm_done(a, st)) != 0)
			return rv;
	}
	a->out->status = COORD_ST_OK;
	return sm_meta_set(a, SM_META_TOKENS, a->index); /* T-5 */
}
