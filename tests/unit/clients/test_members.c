/* libcoord's cluster operations against a scripted server (libcoord.h,
 * Cluster membership): each call's request (method, path, body), its
 * answer parsed field by field, the API's errors as definite, a lost
 * answer to a change as unknown and not resent, and answers of the wrong
 * shape refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_server.h"
#include "libcoord.h"

#define MEMBERS_ANSWER                                                                             \
	"{\"members\":["                                                                           \
	"{\"id\":1,\"raft\":\"10.0.0.1:7170\",\"http\":\"10.0.0.1:7070\",\"role\":\"voter\","      \
	"\"match_index\":500,\"last_contact_ms\":null},"                                           \
	"{\"id\":2,\"raft\":\"10.0.0.2:7170\",\"http\":\"10.0.0.2:7070\",\"role\":\"voter\","      \
	"\"match_index\":498,\"last_contact_ms\":12},"                                             \
	"{\"id\":4,\"raft\":\"10.0.0.4:7170\",\"http\":null,\"role\":\"learner\","                 \
	"\"match_index\":120,\"last_contact_ms\":40}],"                                            \
	"\"leader\":1,\"config_index\":480,\"joint\":false}"

#define LEARNER_4                                                                                  \
	"{\"id\":4,\"raft\":\"10.0.0.4:7170\",\"http\":null,\"role\":\"learner\","                 \
	"\"match_index\":0,\"last_contact_ms\":null}"

/* A server answering SCRIPT and a client on it. */
struct fixture {
	struct fake_server f;
	struct coordc *c;
	struct coordc_reply r;
};

static void fixture_start(struct fixture *x, const struct fake_answer *script, int len)
{
	memset(&x->r, 0, sizeof(x->r));
	fake_start(&x->f, script, len);
	x->c = fake_client(x->f.url, 1000);
}

static void fixture_stop(struct fixture *x)
{
	coordc_reply_clear(&x->r);
	coordc_close(x->c);
	fake_stop(&x->f);
}

/* Asserts request N had METHOD_PATH and a JSON body equal to BODY. */
static void assert_request(struct fixture *x, int n, const char *method_path, const char *body)
{
	json_t *got, *want;

	assert_string_equal(x->f.seen[n], method_path);
	if (body == NULL) {
		assert_string_equal(x->f.seen_body[n], "");
		return;
	}
	got = json_loads(x->f.seen_body[n], 0, NULL);
	want = json_loads(body, 0, NULL);
	assert_non_null(got);
	assert_non_null(want);
	assert_true(json_equal(got, want));
	json_decref(got);
	json_decref(want);
}

/* Scenario: a leader, a follower and a learner not yet heard from over
 * HTTP. Action: coordc_members_get. Outcome: every field as sent. */
static void members_get_parses_every_field(void **state)
{
	const struct fake_answer script[] = {{200, MEMBERS_ANSWER, NULL}};
	const struct coordc_member *m;
	struct coordc_members ms;
	struct fixture x;

	(void)state;
	fixture_start(&x, script, 1);
	assert_int_equal(coordc_members_get(x.c, &ms, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_OK);
	assert_request(&x, 0, "GET /v1/members", NULL);
	assert_int_equal(ms.n, 3);
	assert_int_equal(ms.leader, 1);
	assert_int_equal(ms.config_index, 480);
	assert_false(ms.joint);
	m = coordc_members_find(&ms, 1);
	assert_non_null(m);
	assert_true(m->voter);
	assert_string_equal(m->http, "10.0.0.1:7070");
	assert_int_equal(m->match_index, 500);
	assert_int_equal(m->last_contact_ms, -1);
	m = coordc_members_find(&ms, 4);
	assert_non_null(m);
	assert_false(m->voter);
	assert_string_equal(m->raft, "10.0.0.4:7170");
	assert_string_equal(m->http, "");
	assert_int_equal(m->match_index, 120);
	assert_int_equal(m->last_contact_ms, 40);
	assert_null(coordc_members_find(&ms, 3));
	fixture_stop(&x);
}

/* Scenario: a node that is not the leader answers: it knows nobody's
 * progress (match_index and last_contact_ms null). Outcome: parsed, with
 * match 0 and contact -1, not refused. */
static void progress_unknown_to_the_answering_node_reads_as_zero(void **state)
{
	const struct fake_answer script[] = {
	    {200,
	     "{\"members\":[{\"id\":1,\"raft\":\"a:1\",\"http\":\"a:2\",\"role\":\"voter\","
	     "\"match_index\":null,\"last_contact_ms\":null}],"
	     "\"leader\":1,\"config_index\":3,\"joint\":true}",
	     NULL}};
	struct coordc_members ms;
	struct fixture x;

	(void)state;
	fixture_start(&x, script, 1);
	assert_int_equal(coordc_members_get(x.c, &ms, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_OK);
	assert_int_equal(ms.n, 1);
	assert_int_equal(ms.member[0].match_index, 0);
	assert_int_equal(ms.member[0].last_contact_ms, -1);
	assert_true(ms.joint);
	fixture_stop(&x);
}

/* Scenario: answers that are not the contract's shape. Action: read the
 * members. Outcome: a definite error "bad_answer" (a read changed nothing)
 * and an empty configuration. */
static void members_of_the_wrong_shape_are_refused(void **state)
{
	const struct fake_answer script[] = {
	    {200,
	     "{\"members\":[{\"id\":1,\"raft\":\"a:1\",\"role\":\"boss\",\"match_index\":1}],"
	     "\"leader\":1,\"config_index\":1,\"joint\":false}",
	     NULL},
	    {200,
	     "{\"members\":[{\"id\":1,\"raft\":\"a:1\",\"role\":\"voter\",\"match_index\":1},"
	     "{\"id\":1,\"raft\":\"b:1\",\"role\":\"voter\",\"match_index\":1}],"
	     "\"leader\":1,\"config_index\":1,\"joint\":false}",
	     NULL},
	    {200, "{\"members\":[],\"leader\":1,\"config_index\":1}", NULL}};
	struct coordc_members ms;
	struct fixture x;

	(void)state;
	fixture_start(&x, script, 3);
	for (int i = 0; i < 3; i++) {
		coordc_reply_clear(&x.r);
		assert_int_equal(coordc_members_get(x.c, &ms, &x.r), COORDC_OK);
		assert_int_equal(x.r.kind, COORDC_DONE_ERROR);
		assert_string_equal(x.r.error, "bad_answer");
		assert_int_equal(ms.n, 0);
	}
	fixture_stop(&x);
}

/* Scenario: no leader, on every attempt. Outcome: the reads are retried
 * (idempotent), then the 503 is reported as it came. */
static void members_without_a_leader_are_retried_then_reported(void **state)
{
	const struct fake_answer script[] = {
	    {503, "{\"error\":\"no_leader\",\"message\":\"no leader\"}", NULL}};
	struct coordc_members ms;
	struct fixture x;

	(void)state;
	fixture_start(&x, script, 1);
	assert_int_equal(coordc_members_get(x.c, &ms, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_ERROR);
	assert_int_equal(x.r.status, 503);
	assert_string_equal(x.r.error, "no_leader");
	assert_int_equal(x.r.attempts, 4);
	fixture_stop(&x);
}

static void add_sends_id_and_address_and_returns_the_learner(void **state)
{
	const struct fake_answer script[] = {{201, "{\"member\":" LEARNER_4 "}", NULL}};
	struct coordc_member m;
	struct fixture x;

	(void)state;
	fixture_start(&x, script, 1);
	assert_int_equal(coordc_member_add(x.c, 4, "10.0.0.4:7170", &m, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_OK);
	assert_int_equal(x.r.status, 201);
	assert_request(&x, 0, "POST /v1/members", "{\"id\":4,\"raft\":\"10.0.0.4:7170\"}");
	assert_int_equal(m.id, 4);
	assert_false(m.voter);
	assert_string_equal(m.raft, "10.0.0.4:7170");
	fixture_stop(&x);
}

/* Scenario: the id or address is taken; then another change is running.
 * Outcome: definite errors with the API's codes, sent once each. */
static void add_refusals_are_definite_errors(void **state)
{
	const struct fake_answer script[] = {
	    {409, "{\"error\":\"conflict\",\"message\":\"id 4 is a member\"}", NULL},
	    {409, "{\"error\":\"change_in_progress\",\"message\":\"joint\"}", NULL}};
	struct fixture x;

	(void)state;
	fixture_start(&x, script, 2);
	assert_int_equal(coordc_member_add(x.c, 4, "10.0.0.4:7170", NULL, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_ERROR);
	assert_string_equal(x.r.error, "conflict");
	assert_string_equal(x.r.message, "id 4 is a member");
	coordc_reply_clear(&x.r);
	assert_int_equal(coordc_member_add(x.c, 4, "10.0.0.4:7170", NULL, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_ERROR);
	assert_int_equal(x.r.status, 409);
	assert_string_equal(x.r.error, "change_in_progress");
	assert_int_equal(fake_requests(&x.f), 2);
	fixture_stop(&x);
}

/* Scenario: the answer to an add is lost (504). Outcome: unknown, and not
 * resent: a second add could meet the first as a conflict. */
static void a_lost_change_is_unknown_and_not_resent(void **state)
{
	const struct fake_answer script[] = {
	    {504, "{\"error\":\"timeout\",\"message\":\"not known in time\"}", NULL}};
	struct fixture x;

	(void)state;
	fixture_start(&x, script, 1);
	assert_int_equal(coordc_member_add(x.c, 4, "10.0.0.4:7170", NULL, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_UNKNOWN);
	assert_int_equal(x.r.attempts, 1);
	assert_int_equal(fake_requests(&x.f), 1);
	fixture_stop(&x);
}

/* Scenario: a 201 whose body has no member. Outcome: unknown (the add may
 * have happened), "bad_answer". */
static void a_change_answered_in_the_wrong_shape_is_unknown(void **state)
{
	const struct fake_answer script[] = {{201, "{\"member\":{\"id\":4}}", NULL}};
	struct fixture x;

	(void)state;
	fixture_start(&x, script, 1);
	assert_int_equal(coordc_member_add(x.c, 4, "10.0.0.4:7170", NULL, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_UNKNOWN);
	assert_string_equal(x.r.error, "bad_answer");
	fixture_stop(&x);
}

static void bad_arguments_send_nothing(void **state)
{
	const struct fake_answer script[] = {{200, "{}", NULL}};
	struct fixture x;

	(void)state;
	fixture_start(&x, script, 1);
	assert_int_equal(coordc_member_add(x.c, 0, "10.0.0.4:7170", NULL, &x.r),
	                 COORDC_ERR_INVALID);
	assert_int_equal(coordc_member_add(x.c, 4, "", NULL, &x.r), COORDC_ERR_INVALID);
	assert_int_equal(coordc_member_promote(x.c, 0, NULL, NULL, &x.r), COORDC_ERR_INVALID);
	assert_int_equal(coordc_member_remove(x.c, 0, &x.r), COORDC_ERR_INVALID);
	assert_int_equal(coordc_member_replace(x.c, 2, 2, "a:1", NULL, &x.r), COORDC_ERR_INVALID);
	assert_int_equal(coordc_member_replace(x.c, 0, 5, "a:1", NULL, &x.r), COORDC_ERR_INVALID);
	assert_int_equal(fake_requests(&x.f), 0);
	fixture_stop(&x);
}

/* Scenario: promote a learner still behind, then once caught up.
 * Outcome: not_caught_up with its lag; then the voter. */
static void promote_reports_the_lag_then_the_voter(void **state)
{
	const struct fake_answer script[] = {
	    {409, "{\"error\":\"not_caught_up\",\"message\":\"behind\",\"lag\":380}", NULL},
	    {200,
	     "{\"member\":{\"id\":4,\"raft\":\"10.0.0.4:7170\",\"http\":\"10.0.0.4:7070\","
	     "\"role\":\"voter\",\"match_index\":500,\"last_contact_ms\":3}}",
	     NULL}};
	struct coordc_member m;
	struct fixture x;
	uint64_t lag = 7;

	(void)state;
	fixture_start(&x, script, 2);
	assert_int_equal(coordc_member_promote(x.c, 4, &m, &lag, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_ERROR);
	assert_string_equal(x.r.error, "not_caught_up");
	assert_int_equal(lag, 380);
	assert_request(&x, 0, "POST /v1/members/4/promote", NULL);
	coordc_reply_clear(&x.r);
	assert_int_equal(coordc_member_promote(x.c, 4, &m, &lag, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_OK);
	assert_int_equal(lag, 0);
	assert_true(m.voter);
	assert_string_equal(m.http, "10.0.0.4:7070");
	fixture_stop(&x);
}

/* Scenario: remove a member; an answer naming another; an unknown one.
 * Outcome: ok; unknown "bad_answer"; the 404 as a definite error. */
static void remove_checks_the_member_named(void **state)
{
	const struct fake_answer script[] = {
	    {200, "{\"removed\":2}", NULL},
	    {200, "{\"removed\":3}", NULL},
	    {404, "{\"error\":\"member_not_found\",\"message\":\"no member 9\"}", NULL}};
	struct fixture x;

	(void)state;
	fixture_start(&x, script, 3);
	assert_int_equal(coordc_member_remove(x.c, 2, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_OK);
	assert_request(&x, 0, "DELETE /v1/members/2", NULL);
	coordc_reply_clear(&x.r);
	assert_int_equal(coordc_member_remove(x.c, 2, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_UNKNOWN);
	assert_string_equal(x.r.error, "bad_answer");
	coordc_reply_clear(&x.r);
	assert_int_equal(coordc_member_remove(x.c, 9, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_ERROR);
	assert_int_equal(x.r.status, 404);
	assert_string_equal(x.r.error, "member_not_found");
	fixture_stop(&x);
}

static void replace_sends_both_members_and_returns_the_new_list(void **state)
{
	const struct fake_answer script[] = {
	    {200,
	     "{\"members\":[{\"id\":1,\"raft\":\"10.0.0.1:7170\",\"http\":\"10.0.0.1:7070\","
	     "\"role\":\"voter\",\"match_index\":600,\"last_contact_ms\":null},"
	     "{\"id\":5,\"raft\":\"10.0.0.5:7170\",\"http\":null,\"role\":\"voter\","
	     "\"match_index\":600,\"last_contact_ms\":8}]}",
	     NULL},
	    {409, "{\"error\":\"change_in_progress\",\"message\":\"joint\"}", NULL}};
	struct coordc_members ms;
	struct fixture x;

	(void)state;
	fixture_start(&x, script, 2);
	assert_int_equal(coordc_member_replace(x.c, 2, 5, "10.0.0.5:7170", &ms, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_OK);
	assert_request(&x, 0, "POST /v1/members/replace",
	               "{\"remove\":2,\"add\":{\"id\":5,\"raft\":\"10.0.0.5:7170\"}}");
	assert_int_equal(ms.n, 2);
	assert_null(coordc_members_find(&ms, 2));
	assert_true(coordc_members_find(&ms, 5)->voter);
	coordc_reply_clear(&x.r);
	assert_int_equal(coordc_member_replace(x.c, 2, 5, "10.0.0.5:7170", &ms, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_ERROR);
	assert_string_equal(x.r.error, "change_in_progress");
	fixture_stop(&x);
}

/* Scenario: a transfer to member 3, one to whichever voter, and one that
 * does not complete in time. Outcome: the bodies {"id":3} and {}; the new
 * leader; the 504 as unknown, sent once. */
static void transfer_names_the_new_leader_or_is_unknown(void **state)
{
	const struct fake_answer script[] = {
	    {200, "{\"leader\":3}", NULL},
	    {200, "{\"leader\":2}", NULL},
	    {504, "{\"error\":\"timeout\",\"message\":\"3 does not lead yet\"}", NULL}};
	struct fixture x;
	uint64_t leader = 0;

	(void)state;
	fixture_start(&x, script, 3);
	assert_int_equal(coordc_leader_transfer(x.c, 3, &leader, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_OK);
	assert_int_equal(leader, 3);
	assert_request(&x, 0, "POST /v1/leader/transfer", "{\"id\":3}");
	coordc_reply_clear(&x.r);
	assert_int_equal(coordc_leader_transfer(x.c, 0, &leader, &x.r), COORDC_OK);
	assert_int_equal(leader, 2);
	assert_request(&x, 1, "POST /v1/leader/transfer", "{}");
	coordc_reply_clear(&x.r);
	assert_int_equal(coordc_leader_transfer(x.c, 3, &leader, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_UNKNOWN);
	assert_string_equal(x.r.error, "timeout");
	assert_int_equal(leader, 0);
	assert_int_equal(fake_requests(&x.f), 3);
	fixture_stop(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(members_get_parses_every_field),
	    cmocka_unit_test(progress_unknown_to_the_answering_node_reads_as_zero),
	    cmocka_unit_test(members_of_the_wrong_shape_are_refused),
	    cmocka_unit_test(members_without_a_leader_are_retried_then_reported),
	    cmocka_unit_test(add_sends_id_and_address_and_returns_the_learner),
	    cmocka_unit_test(add_refusals_are_definite_errors),
	    cmocka_unit_test(a_lost_change_is_unknown_and_not_resent),
	    cmocka_unit_test(a_change_answered_in_the_wrong_shape_is_unknown),
	    cmocka_unit_test(bad_arguments_send_nothing),
	    cmocka_unit_test(promote_reports_the_lag_then_the_voter),
	    cmocka_unit_test(remove_checks_the_member_named),
	    cmocka_unit_test(replace_sends_both_members_and_returns_the_new_list),
	    cmocka_unit_test(transfer_names_the_new_leader_or_is_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
