/* Elections: campaign, leadership, proclaim, resign, and what an observer
 * sees (API.md, Elections). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sm_fixture.h"

static json_t *election(struct fx *f, const char *name)
{
	json_t *o = NULL;

	assert_int_equal(coord_sm_query_election(f->reader, name, strlen(name), &o), 0);
	return o;
}

/* The value of the election's leader, or NULL when nobody leads. */
static const char *leaderValue(json_t *e)
{
	return json_string_value(json_object_get(json_object_get(e, "leader"), "value"));
}

static void test_first_candidate_leads_with_its_value(void **state)
{
	struct fx *f = *state;
	json_t *e;

	fx_open(f, 1, FX_TTL, 0);
	assert_int_equal(fx_campaign(f, 1, "db", "host1:5432", true), COORD_ST_OK);
	assert_int_equal(f->r.token, f->index);
	e = election(f, "db");
	assert_string_equal(leaderValue(e), "host1:5432");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(e, "leader"), "fencing_token")),
	    f->index);
	json_decref(e);
}

static void test_candidates_queue_and_take_over_on_resign(void **state)
{
	struct fx *f = *state;
	json_t *e;

	fx_open(f, 1, FX_TTL, 0);
	fx_open(f, 2, FX_TTL, 0);
	fx_campaign(f, 1, "db", "one", true);
	assert_int_equal(fx_campaign(f, 2, "db", "two", true), COORD_ST_QUEUED);
	e = election(f, "db");
	assert_int_equal(json_array_size(json_object_get(e, "candidates")), 1);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(e, "candidates"), 0), "value")),
	                    "two");
	json_decref(e);

	assert_int_equal(fx_resign(f, 1, "db"), COORD_ST_OK);
	assert_true(f->r.released);
	assert_true(fx_granted(f, 2, "db"));
	assert_int_equal(f->r.grants[0].kind, COORD_KIND_ELECTION);
	e = election(f, "db");
	assert_string_equal(leaderValue(e), "two");
	json_decref(e);
}

static void test_proclaim_by_leader_changes_value(void **state)
{
	struct fx *f = *state;
	uint64_t token, before;
	json_t *e;

	fx_open(f, 1, FX_TTL, 0);
	fx_campaign(f, 1, "db", "old", true);
	token = f->r.token;
	e = election(f, "db");
	before = (uint64_t)json_integer_value(json_object_get(e, "modify_index"));
	json_decref(e);
	assert_int_equal(fx_proclaim(f, 1, "db", "new"), COORD_ST_OK);
	assert_int_equal(f->r.token, token); /* still the same leadership */
	e = election(f, "db");
	assert_string_equal(leaderValue(e), "new");
	assert_true((uint64_t)json_integer_value(json_object_get(e, "modify_index")) > before);
	json_decref(e);
}

static void test_proclaim_by_others_is_not_holder(void **state)
{
	struct fx *f = *state;
	uint64_t hash;

	fx_open(f, 1, FX_TTL, 0);
	fx_open(f, 2, FX_TTL, 0);
	fx_campaign(f, 1, "db", "one", true);
	fx_campaign(f, 2, "db", "two", true);
	hash = fx_hash(f);
	assert_int_equal(fx_proclaim(f, 2, "db", "mine"), COORD_ST_NOT_HOLDER);
	assert_int_equal(fx_proclaim(f, 2, "other", "mine"), COORD_ST_NOT_HOLDER);
	assert_int_equal(fx_proclaim(f, 7, "db", "mine"), COORD_ST_SESSION_NOT_FOUND);
	assert_int_equal(fx_hash(f), hash);
}

static void test_leader_expiry_leaves_null_leader_and_wakes_observers(void **state)
{
	struct fx *f = *state;
	uint64_t seen;
	json_t *e;

	fx_open(f, 1, FX_TTL, 0);
	fx_campaign(f, 1, "db", "one", true);
	e = election(f, "db");
	seen = (uint64_t)json_integer_value(json_object_get(e, "modify_index"));
	json_decref(e);
	fx_expire(f, 1);
	e = election(f, "db");
	assert_true(json_is_null(json_object_get(e, "leader")));
	assert_int_equal(json_array_size(json_object_get(e, "candidates")), 0);
	/* A long-poll with index=seen must wake: the index moved on. */
	assert_true((uint64_t)json_integer_value(json_object_get(e, "modify_index")) > seen);
	json_decref(e);
}

static void test_try_campaign_on_led_election_is_lock_held(void **state)
{
	struct fx *f = *state;

	fx_open(f, 1, FX_TTL, 0);
	fx_open(f, 2, FX_TTL, 0);
	fx_campaign(f, 1, "db", "one", true);
	assert_int_equal(fx_campaign(f, 2, "db", "two", false), COORD_ST_LOCK_HELD);
	assert_int_equal(fx_cancel(f, 2, COORD_KIND_ELECTION, "db"), COORD_ST_NOT_FOUND);
}

static void test_shared_campaign_is_malformed(void **state)
{
	struct fx *f = *state;
	struct coord_cmd c = {.type = COORD_CMD_ACQUIRE,
	                      .session = fx_sid(1),
	                      .kind = COORD_KIND_ELECTION,
	                      .mode = COORD_MODE_SHARED,
	                      .name = "db",
	                      .name_len = 2};
	uint8_t buf[64];
	size_t len;

	(void)f;
	assert_int_equal(coord_cmd_encode(&c, buf, sizeof(buf), &len), COORD_EMALFORMED);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_first_candidate_leads_with_its_value),
	    T(test_candidates_queue_and_take_over_on_resign),
	    T(test_proclaim_by_leader_changes_value),
	    T(test_proclaim_by_others_is_not_holder),
	    T(test_leader_expiry_leaves_null_leader_and_wakes_observers),
	    T(test_try_campaign_on_led_election_is_lock_held),
	    T(test_shared_campaign_is_malformed),
	};

	return cmocka_run_group_tests_name("coord_sm_elections", tests, NULL, NULL);
}
