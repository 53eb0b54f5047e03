/* Queries of the access token store (sm_token.c): the per-request lookup
 * by hash, the listing, and whether authentication is on. */
#include <assert.h>
#include <string.h>

#include "sm_internal.h"
#include "sm_query.h"

/* The rules of token ID, in their order, into T (at most
 * COORD_TOKEN_RULES_MAX: the LIMIT guards a table changed by hand). */
static int qTokenRules(struct coord_sm_reader *r, uint64_t id, struct coord_token *t)
{
	sqlite3_stmt *st;
	int row;

	t->n_rules = 0;
	if (sm_prepare(r->db, &r->cache,
	               "SELECT resource, access, prefix FROM coord_token_rules WHERE token = ?1"
	               " ORDER BY pos LIMIT ?2",
	               &st) != 0)
		return COORD_EDB;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	sqlite3_bind_int(st, 2, COORD_TOKEN_RULES_MAX);
	while ((row = sm_row(st)) == 1) {
		struct coord_token_rule *rule = &t->rules[t->n_rules];
		int resource = sqlite3_column_int(st, 0), access = sqlite3_column_int(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 2);
		const unsigned char *prefix = sqlite3_column_text(st, 2);

		/* Stored rows passed the codec; one that did not is no rule. */
		if (resource < 0 || resource >= COORD_RESOURCE_COUNT || access < 0 ||
		    access >= COORD_ACCESS_COUNT || len > COORD_NAME_MAX)
			continue;
		rule->resource = (enum coord_resource)resource;
		rule->access = (enum coord_access)access;
		rule->prefix_len = len;
		if (len > 0)
			memcpy(rule->prefix, prefix, len);
		rule->prefix[len] = '\0';
		t->n_rules++;
	}
	sm_release(&r->cache, st);
	return row < 0 ? COORD_EDB : 0;
}

int coord_sm_token_by_hash(struct coord_sm_reader *r, const uint8_t hash[COORD_TOKEN_HASH_LEN],
                           struct coord_token *out)
{
	sqlite3_stmt *st;
	int row;

	memset(out, 0, sizeof(*out));
	if (sm_prepare(r->db, &r->cache, "SELECT id, name, admin FROM coord_tokens WHERE hash = ?1",
	               &st) != 0)
		return COORD_EDB;
	sqlite3_bind_blob(st, 1, hash, COORD_TOKEN_HASH_LEN, SQLITE_TRANSIENT);
	row = sm_row(st);
	if (row == 1) {
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		const unsigned char *name = sqlite3_column_text(st, 1);

		out->id = (uint64_t)sqlite3_column_int64(st, 0);
		out->name_len = len <= COORD_LABEL_MAX ? len : COORD_LABEL_MAX;
		if (out->name_len > 0)
			memcpy(out->name, name, out->name_len);
		out->admin = sqlite3_column_int(st, 2) != 0;
	}
	sm_release(&r->cache, st);
	if (row < 0)
		return COORD_EDB;
	if (row == 0)
		return COORD_ENOTFOUND;
	return qTokenRules(r, out->id, out);
}

/* {"resource","prefix","access"} from (resource, access, prefix). */
static json_t *qRule(sqlite3_stmt *st)
{
	const char *resource = coord_resource_name(sqlite3_column_int(st, 0));
	const char *access = coord_access_name(sqlite3_column_int(st, 1));
	json_t *o = json_object();

	if (o == NULL || resource == NULL || access == NULL ||
	    sm_json_set(o, "resource", json_string(resource)) != 0 ||
	    sm_json_set(o, "prefix", sm_json_text(st, 2)) != 0 ||
	    sm_json_set(o, "access", json_string(access)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The token object of the current row of ST (id, name, admin, create_ms),
 * with its rules, or NULL with *RV set. */
static json_t *qToken(struct coord_sm_reader *r, sqlite3_stmt *st, int *rv)
{
	json_t *o = json_object(), *rules = NULL;
	sqlite3_stmt *rs;

	*rv = COORD_ENOMEM;
	if (o == NULL || sm_json_set(o, "id", sm_json_int(st, 0)) != 0 ||
	    sm_json_set(o, "name", sm_json_text(st, 1)) != 0 ||
	    sm_json_set(o, "admin", json_boolean(sqlite3_column_int(st, 2) != 0)) != 0 ||
	    sm_json_set(o, "create_ms", sm_json_int(st, 3)) != 0)
		goto fail;
	if (sm_prepare(r->db, &r->cache,
	               "SELECT resource, access, prefix FROM coord_token_rules WHERE token = ?1"
	               " ORDER BY pos",
	               &rs) != 0) {
		*rv = COORD_EDB;
		goto fail;
	}
	sqlite3_bind_int64(rs, 1, sqlite3_column_int64(st, 0));
	if ((*rv = sm_json_rows(&r->cache, rs, qRule, &rules)) != 0 ||
	    (*rv = sm_json_set(o, "rules", rules)) != 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

int coord_sm_query_tokens(struct coord_sm_reader *r, uint64_t after, uint32_t limit, json_t **out)
{
	sqlite3_stmt *st;

	assert(limit > 0);
	if (sm_prepare(r->db, &r->cache,
	               "SELECT id, name, admin, create_ms FROM coord_tokens"
	               " WHERE id > ?1 ORDER BY id LIMIT ?2",
	               &st) != 0)
		return sm_page(COORD_EDB, "tokens", NULL, NULL, out);
	/* Ids are log indexes: an AFTER past INT64_MAX leaves nothing. */
	sqlite3_bind_int64(st, 1, after > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)after);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit + 1); /* one more row decides "next" */
	return sm_page_rows(r, st, limit, qToken, "tokens", "id", out);
}

int coord_sm_auth_enabled(struct coord_sm_reader *r, bool *on, uint64_t *since)
{
	uint64_t at = 0;
	int rv = sm_meta_get(r->db, &r->cache, SM_META_AUTH, &at);

	*on = rv == 0 && at != 0;
	*since = rv == 0 ? at : 0;
	return rv;
}
