/* Key/value transactions (KV_TXN, API.md "Transactions"; KV-4 in sm_kv.c)
 * as a specification: every check holds against the state before the
 * entry, or nothing changes; the operations apply together in one entry,
 * each a change in the history at that entry; the limits count the
 * operations together; a transaction's ephemeral puts belong to its
 * session (SM-10, KV-3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sm_fixture.h"
#include "sm_query.h"

/* A transaction being written by a test. */
static struct coord_cmd txn(void)
{
	struct coord_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = COORD_CMD_KV_TXN;
	return c;
}

static void check_key(struct coord_cmd *c, const char *key, uint64_t modify_index)
{
	c->checks[c->n_checks++] =
	    (struct coord_txn_check){COORD_TXN_CHECK_KEY, key, strlen(key), modify_index, {{0}}};
}

static void check_lock(struct coord_cmd *c, const char *lock, uint64_t token)
{
	c->checks[c->n_checks++] =
	    (struct coord_txn_check){COORD_TXN_CHECK_LOCK, lock, strlen(lock), token, {{0}}};
}

static void check_session(struct coord_cmd *c, unsigned s)
{
	c->checks[c->n_checks++] =
	    (struct coord_txn_check){COORD_TXN_CHECK_SESSION, NULL, 0, 0, fx_sid(s)};
}

static void put(struct coord_cmd *c, const char *key, const char *value)
{
	c->ops[c->n_ops++] =
	    (struct coord_txn_op){COORD_TXN_PUT, false, key, strlen(key), value, strlen(value)};
}

/* An ephemeral put: the key belongs to session S, the transaction's. */
static void put_ephemeral(struct coord_cmd *c, unsigned s, const char *key, const char *value)
{
	c->session = fx_sid(s);
	c->ops[c->n_ops++] =
	    (struct coord_txn_op){COORD_TXN_PUT, true, key, strlen(key), value, strlen(value)};
}

static void del(struct coord_cmd *c, const char *key)
{
	c->ops[c->n_ops++] =
	    (struct coord_txn_op){COORD_TXN_DELETE, false, key, strlen(key), NULL, 0};
}

/* The key's object, or NULL when it does not exist. Caller decrefs. */
static json_t *key_json(struct fx *f, const char *key)
{
	json_t *o = NULL;
	uint64_t last;
	int rc = coord_sm_query_kv(f->reader, key, strlen(key), &o, &last);

	assert_true(rc == 0 || rc == COORD_ENOTFOUND);
	return o;
}

static uint64_t key_index(struct fx *f, const char *key)
{
	json_t *o = key_json(f, key);
	uint64_t i = o ? (uint64_t)json_integer_value(json_object_get(o, "modify_index")) : 0;

	json_decref(o);
	return i;
}

/* The changes after SINCE, as "put:key" / "delete:key" at their index. */
static size_t changes(struct fx *f, uint64_t since, json_t **out)
{
	uint64_t last;

	assert_int_equal(coord_sm_query_kv_changes(f->reader, "", 0, since, out, &last), 0);
	return json_array_size(json_object_get(*out, "changes"));
}

/* Scenario: a transaction whose checks hold. Outcome: its puts and deletes
 * all apply in its entry: every key it wrote has that entry as its
 * modify_index, and the history holds one change per operation there. */
static void test_checks_hold_every_operation_applies_in_one_entry(void **state)
{
	struct fx *f = *state;
	struct coord_cmd c = txn();
	json_t *ch;
	uint64_t before;

	put(&c, "old", "1");
	assert_int_equal(fx_apply(f, &c), COORD_ST_OK);
	before = f->index;
	c = txn();
	check_key(&c, "cfg/a", 0); /* absent */
	check_key(&c, "old", before);
	put(&c, "cfg/a", "x");
	put(&c, "cfg/b", "y");
	del(&c, "old");
	del(&c, "never"); /* not there: no error, no change */
	assert_int_equal(fx_apply(f, &c), COORD_ST_OK);
	assert_int_equal(f->r.modify_index, f->index);
	assert_int_equal(key_index(f, "cfg/a"), f->index);
	assert_int_equal(key_index(f, "cfg/b"), f->index);
	assert_int_equal(key_index(f, "old"), 0);
	assert_int_equal(changes(f, before, &ch), 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(
		    json_integer_value(json_object_get(
		        json_array_get(json_object_get(ch, "changes"), i), "modify_index")),
		    f->index);
	json_decref(ch);
}

/* Scenario: the first check holds, the second does not. Outcome:
 * check_failed naming the second and the key's current index, and nothing
 * changed at all (the state hash is the same). */
static void test_a_failed_check_changes_nothing(void **state)
{
	struct fx *f = *state;
	struct coord_cmd c = txn();
	uint64_t hash, at;

	put(&c, "k", "1");
	assert_int_equal(fx_apply(f, &c), COORD_ST_OK);
	at = f->index;
	hash = fx_hash(f);
	c = txn();
	check_key(&c, "nobody", 0);
	check_key(&c, "k", at + 100);
	put(&c, "k", "2");
	put(&c, "other", "3");
	assert_int_equal(fx_apply(f, &c), COORD_ST_CHECK_FAILED);
	assert_int_equal(f->r.failed_check, 1);
	assert_int_equal(f->r.modify_index, at);
	assert_int_equal(fx_hash(f), hash);
	/* "absent" on a key that exists fails as well, with its index. */
	c = txn();
	check_key(&c, "k", 0);
	del(&c, "k");
	assert_int_equal(fx_apply(f, &c), COORD_ST_CHECK_FAILED);
	assert_int_equal(f->r.failed_check, 0);
	assert_int_equal(f->r.modify_index, at);
	assert_int_equal(fx_hash(f), hash);
}

/* Scenario: a lock check, the write a holder guards with its token.
 * Outcome: it applies while the token is current; after the release, the
 * same transaction fails with the lock's holders (none), nothing changed. */
static void test_a_lock_check_holds_only_while_the_token_is_current(void **state)
{
	struct fx *f = *state;
	struct coord_cmd c;
	uint64_t token, hash;

	assert_int_equal(fx_open(f, 1, FX_TTL, 0), COORD_ST_OK);
	assert_int_equal(fx_lock(f, 1, "L", COORD_MODE_EXCLUSIVE, false), COORD_ST_OK);
	token = fx_token(f, 1, "L");
	c = txn();
	check_lock(&c, "L", token);
	put(&c, "result", "done");
	assert_int_equal(fx_apply(f, &c), COORD_ST_OK);
	assert_int_equal(fx_unlock(f, 1, "L"), COORD_ST_OK);
	hash = fx_hash(f);
	assert_int_equal(fx_apply(f, &c), COORD_ST_CHECK_FAILED);
	assert_int_equal(f->r.failed_check, 0);
	assert_int_equal(f->r.n_holders, 0);
	assert_int_equal(fx_hash(f), hash);
}

/* Scenario: a session check. Outcome: it holds while the session lives,
 * and fails once the session ended. */
static void test_a_session_check_holds_while_the_session_lives(void **state)
{
	struct fx *f = *state;
	struct coord_cmd c = txn();

	assert_int_equal(fx_open(f, 2, FX_TTL, 0), COORD_ST_OK);
	check_session(&c, 2);
	put(&c, "svc/2", "up");
	assert_int_equal(fx_apply(f, &c), COORD_ST_OK);
	assert_int_equal(fx_expire(f, 2), COORD_ST_OK);
	assert_int_equal(fx_apply(f, &c), COORD_ST_CHECK_FAILED);
	assert_int_equal(f->r.failed_check, 0);
}

/* Scenario: a transaction's ephemeral puts. Outcome: their keys belong to
 * its session and go in the entry that closes it; a persistent put of the
 * same transaction stays. A transaction of a session that does not exist
 * is session_not_found and changes nothing. */
static void test_ephemeral_puts_belong_to_the_transactions_session(void **state)
{
	struct fx *f = *state;
	struct coord_cmd c = txn();
	uint64_t hash;

	assert_int_equal(fx_open(f, 3, FX_TTL, 0), COORD_ST_OK);
	put_ephemeral(&c, 3, "svc/a", "h:1");
	put_ephemeral(&c, 3, "svc/b", "h:2");
	put(&c, "cfg", "kept");
	assert_int_equal(fx_apply(f, &c), COORD_ST_OK);
	assert_int_not_equal(key_index(f, "svc/a"), 0);
	assert_int_equal(fx_close(f, 3), COORD_ST_OK);
	assert_int_equal(key_index(f, "svc/a"), 0);
	assert_int_equal(key_index(f, "svc/b"), 0);
	assert_int_not_equal(key_index(f, "cfg"), 0);
	hash = fx_hash(f);
	assert_int_equal(fx_apply(f, &c), COORD_ST_SESSION_NOT_FOUND);
	assert_int_equal(fx_hash(f), hash);
}

/* Scenario: a session holding a lock, under the default limit of 64 locks,
 * waits and ephemeral keys; a transaction of 64 ephemeral puts would make
 * 65. Outcome: limit, and none of its puts applied; 63 fit. */
static void test_the_limits_count_every_operation_together(void **state)
{
	struct fx *f = *state;
	struct coord_cmd c = txn();
	char keys[COORD_TXN_OPS_MAX][16];
	uint64_t hash;

	assert_int_equal(fx_open(f, 4, FX_TTL, 0), COORD_ST_OK);
	assert_int_equal(fx_lock(f, 4, "L", COORD_MODE_EXCLUSIVE, false), COORD_ST_OK);
	for (int i = 0; i < COORD_TXN_OPS_MAX; i++) {
		snprintf(keys[i], sizeof(keys[i]), "svc/%d", i);
		put_ephemeral(&c, 4, keys[i], "up");
	}
	hash = fx_hash(f);
	assert_int_equal(fx_apply(f, &c), COORD_ST_LIMIT);
	assert_int_equal(fx_hash(f), hash);
	c.n_ops = COORD_TXN_OPS_MAX - 1;
	assert_int_equal(fx_apply(f, &c), COORD_ST_OK);
}

/* Scenario: a transaction with an ephemeral put, by a token that does not
 * own the session. Outcome: permission_denied, nothing changed (SM-10). */
static void test_another_tokens_session_is_refused(void **state)
{
	struct fx *f = *state;
	struct coord_cmd c = txn();
	uint64_t hash;

	f->actor = 7;
	assert_int_equal(fx_open(f, 5, FX_TTL, 0), COORD_ST_OK);
	f->actor = 8;
	put_ephemeral(&c, 5, "svc/x", "up");
	c.actor = 8;
	hash = fx_hash(f);
	assert_int_equal(fx_apply(f, &c), COORD_ST_PERMISSION_DENIED);
	assert_int_equal(fx_hash(f), hash);
	c.actor = 7;
	assert_int_equal(fx_apply(f, &c), COORD_ST_OK);
}

/* Scenario: transactions no encoder may write. Outcome: each refused by
 * the codec: no operation, two on one key, a delete with a value or made
 * ephemeral, values over 64 KiB together, an ephemeral put without a
 * session or a session without one, a lock check of token 0, a session
 * check with a name. */
static void test_malformed_transactions_are_refused(void **state)
{
	static char big[COORD_TXN_VALUES_MAX / 2 + 2]; /* two: one byte over */
	struct coord_cmd c;

	(void)state;
	memset(big, 'v', sizeof(big) - 1);
	c = txn();
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	put(&c, "k", "1");
	assert_int_equal(coord_cmd_validate(&c), 0);
	put(&c, "k", "2");
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c = txn();
	del(&c, "k");
	c.ops[0].value = "x";
	c.ops[0].value_len = 1;
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c = txn();
	del(&c, "k");
	c.ops[0].ephemeral = true;
	c.session = fx_sid(1);
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c = txn();
	put(&c, "a", big);
	put(&c, "b", big);
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c.n_ops = 1;
	assert_int_equal(coord_cmd_validate(&c), 0);
	c = txn();
	put_ephemeral(&c, 1, "k", "v");
	memset(&c.session, 0, sizeof(c.session));
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c = txn();
	put(&c, "k", "v");
	c.session = fx_sid(1);
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c = txn();
	check_lock(&c, "L", 0);
	put(&c, "k", "v");
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
	c = txn();
	check_session(&c, 1);
	c.checks[0].name = "n";
	c.checks[0].name_len = 1;
	put(&c, "k", "v");
	assert_int_equal(coord_cmd_validate(&c), COORD_EMALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_checks_hold_every_operation_applies_in_one_entry,
	                                    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_a_failed_check_changes_nothing, fx_setup,
	                                    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_a_lock_check_holds_only_while_the_token_is_current,
	                                    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_a_session_check_holds_while_the_session_lives,
	                                    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_ephemeral_puts_belong_to_the_transactions_session,
	                                    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_the_limits_count_every_operation_together,
	                                    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_another_tokens_session_is_refused, fx_setup,
	                                    fx_teardown),
	    cmocka_unit_test(test_malformed_transactions_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
