/* The access token store (sm_token.c, T-1..T-5), as a specification: a
 * scenario, the entries it applies, what the store answers after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sm_fixture.h"

/* The hash of secret number N: distinct for distinct N. */
static void hashOf(unsigned n, uint8_t hash[COORD_TOKEN_HASH_LEN])
{
	memset(hash, 0x11, COORD_TOKEN_HASH_LEN);
	hash[0] = (uint8_t)(n >> 8);
	hash[1] = (uint8_t)n;
}

/* Applies a TOKEN for secret N with NAME, the flags and N_RULES of RULES. */
static enum coord_status token(struct fx *f, unsigned n, const char *name, bool admin,
                               bool bootstrap, const struct coord_rule *rules, size_t n_rules)
{
	struct coord_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = COORD_CMD_TOKEN;
	c.now_ms = f->now_ms;
	c.name = name;
	c.name_len = strlen(name);
	hashOf(n, c.hash);
	c.admin = admin;
	c.bootstrap = bootstrap;
	assert_true(n_rules <= COORD_TOKEN_RULES_MAX);
	for (size_t i = 0; i < n_rules; i++)
		c.rules[i] = rules[i];
	c.n_rules = n_rules;
	return fx_apply(f, &c);
}

static enum coord_status bootstrap(struct fx *f, unsigned n)
{
	return token(f, n, "root", true, true, NULL, 0);
}

static enum coord_status revoke(struct fx *f, uint64_t id)
{
	struct coord_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = COORD_CMD_REVOKE_TOKEN;
	c.now_ms = f->now_ms;
	c.token_id = id;
	return fx_apply(f, &c);
}

/* The token of secret N: 0 and *T, or COORD_ENOTFOUND. */
static int lookup(struct fx *f, unsigned n, struct coord_token *t)
{
	uint8_t hash[COORD_TOKEN_HASH_LEN];

	hashOf(n, hash);
	return coord_sm_token_by_hash(f->reader, hash, t);
}

static bool authOn(struct fx *f, uint64_t *since)
{
	bool on;

	assert_int_equal(coord_sm_auth_enabled(f->reader, &on, since), 0);
	return on;
}

static const struct coord_rule jobsWrite = {COORD_RESOURCE_LOCKS, COORD_ACCESS_WRITE, "jobs/", 5};
static const struct coord_rule allKvRead = {COORD_RESOURCE_KV, COORD_ACCESS_READ, "", 0};

/* T-3: with no bootstrap, authentication is off and no token can be made,
 * so none made while anyone could ask outlives the bootstrap. */
static void test_before_the_bootstrap_no_token_is_made(void **state)
{
	struct fx *f = *state;
	uint64_t since = 99, hash = fx_hash(f);

	assert_false(authOn(f, &since));
	assert_int_equal(since, 0);
	assert_int_equal(token(f, 1, "early", true, false, &jobsWrite, 1), COORD_ST_NOT_FOUND);
	assert_int_equal(fx_hash(f), hash);
	assert_false(authOn(f, &since));
}

/* The bootstrap makes the first (admin) token, its id its entry's index,
 * and turns authentication on from that index; a second one, with any
 * hash, answers exists and changes nothing. */
static void test_the_bootstrap_applies_once(void **state)
{
	struct fx *f = *state;
	struct coord_token t;
	uint64_t since, hash;

	f->index = 40;
	assert_int_equal(bootstrap(f, 1), COORD_ST_OK);
	assert_int_equal(f->r.token, 41);
	assert_true(authOn(f, &since));
	assert_int_equal(since, 41);
	assert_int_equal(lookup(f, 1, &t), 0);
	assert_int_equal(t.id, 41);
	assert_string_equal(t.name, "root");
	assert_true(t.admin);
	assert_int_equal(t.n_rules, 0);

	hash = fx_hash(f);
	assert_int_equal(bootstrap(f, 2), COORD_ST_EXISTS);
	assert_int_equal(bootstrap(f, 1), COORD_ST_EXISTS);
	assert_int_equal(fx_hash(f), hash);
	assert_int_equal(lookup(f, 2, &t), COORD_ENOTFOUND);
	assert_true(authOn(f, &since));
	assert_int_equal(since, 41);
}

/* A token is found by the hash of its secret with its name, admin flag
 * and rules in the order they were given; another hash finds nothing. */
static void test_a_token_is_found_by_its_hash(void **state)
{
	struct fx *f = *state;
	const struct coord_rule rules[] = {jobsWrite, allKvRead};
	struct coord_token t;

	bootstrap(f, 1);
	assert_int_equal(token(f, 2, "ci runner", false, false, rules, 2), COORD_ST_OK);
	assert_int_equal(f->r.token, f->index);
	assert_int_equal(lookup(f, 2, &t), 0);
	assert_int_equal(t.id, f->index);
	assert_string_equal(t.name, "ci runner");
	assert_int_equal(t.name_len, 9);
	assert_false(t.admin);
	assert_int_equal(t.n_rules, 2);
	assert_int_equal(t.rules[0].resource, COORD_RESOURCE_LOCKS);
	assert_int_equal(t.rules[0].access, COORD_ACCESS_WRITE);
	assert_string_equal(t.rules[0].prefix, "jobs/");
	assert_int_equal(t.rules[0].prefix_len, 5);
	assert_int_equal(t.rules[1].resource, COORD_RESOURCE_KV);
	assert_int_equal(t.rules[1].access, COORD_ACCESS_READ);
	assert_string_equal(t.rules[1].prefix, "");
	assert_int_equal(lookup(f, 3, &t), COORD_ENOTFOUND);
	assert_int_equal(t.id, 0);
}

/* T-1: a second token with a hash already stored answers exists and
 * changes nothing, the bootstrap token's hash included. */
static void test_a_second_token_with_the_same_hash_is_refused(void **state)
{
	struct fx *f = *state;
	struct coord_token t;
	uint64_t hash, id;

	bootstrap(f, 1);
	token(f, 2, "first", false, false, &jobsWrite, 1);
	id = f->r.token;
	hash = fx_hash(f);
	assert_int_equal(token(f, 2, "second", true, false, NULL, 0), COORD_ST_EXISTS);
	assert_int_equal(token(f, 1, "root again", false, false, NULL, 0), COORD_ST_EXISTS);
	assert_int_equal(fx_hash(f), hash);
	assert_int_equal(lookup(f, 2, &t), 0);
	assert_int_equal(t.id, id);
	assert_string_equal(t.name, "first");
}

/* T-4 (SM-7): at COORD_TOKENS_MAX tokens a TOKEN answers limit "tokens"
 * and changes nothing; a revoke makes room again. */
static void test_the_store_holds_at_most_its_limit(void **state)
{
	struct fx *f = *state;
	uint64_t hash;

	fx_use_coord_sm(f);
	bootstrap(f, 0);
	for (unsigned n = 1; n < COORD_TOKENS_MAX; n++)
		assert_int_equal(token(f, n, "t", false, false, &allKvRead, 1), COORD_ST_OK);
	hash = fx_hash(f);
	assert_int_equal(token(f, COORD_TOKENS_MAX, "one more", false, false, NULL, 0),
	                 COORD_ST_LIMIT);
	assert_string_equal(f->r.limit, "tokens");
	assert_int_equal(fx_hash(f), hash);
	assert_int_equal(revoke(f, 2), COORD_ST_OK); /* the first after the bootstrap */
	assert_int_equal(token(f, COORD_TOKENS_MAX, "one more", false, false, NULL, 0),
	                 COORD_ST_OK);
}

/* T-5: a revoke deletes the token and its rules in its own entry; the
 * next lookup finds nothing, a second revoke answers not_found, and the
 * id is never given again (T-2). Revoking does not turn auth off. */
static void test_a_revoked_token_is_gone_at_once(void **state)
{
	struct fx *f = *state;
	struct coord_token t;
	uint64_t id, hash, since;
	sqlite3_stmt *st;

	bootstrap(f, 1);
	token(f, 2, "ci", false, false, &jobsWrite, 1);
	id = f->r.token;
	hash = fx_hash(f);
	assert_int_equal(revoke(f, id + 100), COORD_ST_NOT_FOUND);
	assert_int_equal(fx_hash(f), hash);
	assert_int_equal(revoke(f, id), COORD_ST_OK);
	assert_int_equal(lookup(f, 2, &t), COORD_ENOTFOUND);
	assert_int_equal(revoke(f, id), COORD_ST_NOT_FOUND);
	assert_int_equal(
	    sqlite3_prepare_v2(f->db, "SELECT count(*) FROM coord_token_rules", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
	/* The same secret may come back, under a new id. */
	assert_int_equal(token(f, 2, "ci", false, false, &jobsWrite, 1), COORD_ST_OK);
	assert_true(f->r.token > id);
	/* Even the bootstrap token can be revoked; authentication stays on. */
	assert_int_equal(revoke(f, 1), COORD_ST_OK);
	assert_true(authOn(f, &since));
	assert_int_equal(bootstrap(f, 9), COORD_ST_EXISTS);
}

/* SM-8: the token list's index moves with every create and revoke, and
 * with nothing that was refused; a node can cache tokens until it moves. */
static void test_the_token_list_index_moves_with_every_change(void **state)
{
	struct fx *f = *state;
	uint64_t at;

	assert_int_equal(coord_sm_list_index(f->db, COORD_LIST_TOKENS, &at), 0);
	assert_int_equal(at, 0);
	token(f, 1, "early", false, false, NULL, 0); /* refused: auth is off */
	assert_int_equal(coord_sm_list_index(f->db, COORD_LIST_TOKENS, &at), 0);
	assert_int_equal(at, 0);
	bootstrap(f, 1);
	assert_int_equal(coord_sm_list_index(f->db, COORD_LIST_TOKENS, &at), 0);
	assert_int_equal(at, f->index);
	bootstrap(f, 2); /* exists */
	revoke(f, 99);   /* not_found */
	assert_int_equal(coord_sm_list_index(f->db, COORD_LIST_TOKENS, &at), 0);
	assert_int_equal(at, f->index - 2);
	revoke(f, at);
	assert_int_equal(coord_sm_list_index(f->db, COORD_LIST_TOKENS, &at), 0);
	assert_int_equal(at, f->index);
}

/* The listing pages by id like the other listings, with names, admin
 * flags and rules, and never a hash. */
static void test_the_listing_pages_by_id_without_hashes(void **state)
{
	struct fx *f = *state;
	json_t *page, *tokens, *t, *rule;
	char *text;

	f->now_ms = 5000;
	bootstrap(f, 1);                               /* id 1 */
	token(f, 2, "a", false, false, &jobsWrite, 1); /* id 2 */
	token(f, 3, "b", false, false, NULL, 0);       /* id 3 */
	revoke(f, 3);                                  /* 4 */
	token(f, 5, "c", true, false, &allKvRead, 1);  /* id 5 */

	assert_int_equal(coord_sm_query_tokens(f->reader, 0, 2, &page), 0);
	tokens = json_object_get(page, "tokens");
	assert_int_equal(json_array_size(tokens), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(tokens, 0), "id")), 1);
	t = json_array_get(tokens, 1);
	assert_int_equal(json_integer_value(json_object_get(t, "id")), 2);
	assert_string_equal(json_string_value(json_object_get(t, "name")), "a");
	assert_true(json_is_false(json_object_get(t, "admin")));
	assert_int_equal(json_integer_value(json_object_get(t, "create_ms")), 5000);
	rule = json_array_get(json_object_get(t, "rules"), 0);
	assert_string_equal(json_string_value(json_object_get(rule, "resource")), "locks");
	assert_string_equal(json_string_value(json_object_get(rule, "prefix")), "jobs/");
	assert_string_equal(json_string_value(json_object_get(rule, "access")), "write");
	assert_int_equal(json_integer_value(json_object_get(page, "next")), 2);
	text = json_dumps(page, 0);
	assert_null(strstr(text, "hash"));
	free(text);
	json_decref(page);

	assert_int_equal(coord_sm_query_tokens(f->reader, 2, 2, &page), 0);
	tokens = json_object_get(page, "tokens");
	assert_int_equal(json_array_size(tokens), 1); /* 3 was revoked */
	t = json_array_get(tokens, 0);
	assert_int_equal(json_integer_value(json_object_get(t, "id")), 5);
	assert_true(json_is_true(json_object_get(t, "admin")));
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(t, "rules"), 0), "resource")),
	                    "kv");
	assert_true(json_is_null(json_object_get(page, "next")));
	json_decref(page);

	assert_int_equal(coord_sm_query_tokens(f->reader, 5, 10, &page), 0);
	assert_int_equal(json_array_size(json_object_get(page, "tokens")), 0);
	assert_true(json_is_null(json_object_get(page, "next")));
	json_decref(page);
}

/* The tokens count in the state hash, travel in a snapshot, and a
 * state.db of an older version (without the token tables) gains them
 * empty when it is opened, with authentication off. */
static void test_tokens_are_state(void **state)
{
	struct fx *f = *state;
	struct fx *copy;
	struct coord_sm *sm;
	struct coord_token t;
	uint64_t before = fx_hash(f), since;

	bootstrap(f, 1);
	assert_int_not_equal(fx_hash(f), before);
	token(f, 2, "ci", false, false, &jobsWrite, 1);
	before = fx_hash(f);
	copy = fx_copy(f);
	assert_int_equal(fx_hash(copy), before);
	assert_int_equal(lookup(copy, 2, &t), 0);
	assert_int_equal(t.n_rules, 1);
	assert_int_equal(fx_teardown((void **)&copy), 0);

	/* An older version's state: no token tables at all. */
	assert_int_equal(fx_setup((void **)&copy), 0);
	assert_int_equal(sqlite3_exec(copy->db,
	                              "DROP TABLE coord_tokens; DROP TABLE coord_token_rules;",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(coord_sm_open(copy->db, &sm), 0);
	coord_sm_close(sm);
	assert_false(authOn(copy, &since));
	assert_int_equal(lookup(copy, 1, &t), COORD_ENOTFOUND);
	assert_int_equal(bootstrap(copy, 1), COORD_ST_OK);
	assert_int_equal(fx_teardown((void **)&copy), 0);
}

/* An old node's log holds no token entry, and a node that meets one of an
 * unknown type refuses it as invalid: here, a token entry cut to a
 * version 2 header is refused without change, on every node alike. */
static void test_a_token_entry_in_an_older_version_changes_nothing(void **state)
{
	struct fx *f = *state;
	struct coord_cmd c;
	uint8_t *buf;
	uint64_t hash;
	size_t len;

	bootstrap(f, 1);
	hash = fx_hash(f);
	memset(&c, 0, sizeof(c));
	c.type = COORD_CMD_REVOKE_TOKEN;
	c.token_id = 1;
	assert_int_equal(coord_cmd_encode_alloc(&c, (void **)&buf, &len), 0);
	assert_int_equal(buf[0], COORD_CMD_VERSION_3);
	buf[0] = COORD_CMD_VERSION_2;
	assert_int_equal(fx_apply_raw(f, buf, len), COORD_ST_INVALID);
	free(buf);
	assert_int_equal(fx_hash(f), hash);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_before_the_bootstrap_no_token_is_made),
	    T(test_the_bootstrap_applies_once),
	    T(test_a_token_is_found_by_its_hash),
	    T(test_a_second_token_with_the_same_hash_is_refused),
	    T(test_the_store_holds_at_most_its_limit),
	    T(test_a_revoked_token_is_gone_at_once),
	    T(test_the_token_list_index_moves_with_every_change),
	    T(test_the_listing_pages_by_id_without_hashes),
	    T(test_tokens_are_state),
	    T(test_a_token_entry_in_an_older_version_changes_nothing),
	};

	return cmocka_run_group_tests_name("coord_sm_tokens", tests, NULL, NULL);
}
