/* ReadIndex (thesis 6.4) and DESIGN.md safety rules 4 and 5: a read point
 * is the commit index when the read arrived, served only by a leader that
 * committed an entry of its term and then heard from a quorum in a round
 * that started after the read arrived. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

static struct cluster c;

static const struct cl_options plain = {0};

/* The answer for CTX on ID, or NULL if none yet. */
static const struct raft_read *answer(uint64_t id, uint64_t ctx)
{
	const struct cl_node *nd = &c.nodes[id];

	for (size_t i = 0; i < nd->n_reads; i++) {
		if (nd->reads[i].ctx == ctx) {
			return &nd->reads[i];
		}
	}
	return NULL;
}

/* The index answered for CTX on ID; fails the test if there is none. */
static uint64_t answered(uint64_t id, uint64_t ctx)
{
	const struct raft_read *a = answer(id, ctx);

	if (a == NULL) {
		fail_msg("read %llu has no answer on server %llu", (unsigned long long)ctx,
		         (unsigned long long)id);
	}
	return a != NULL ? a->index : UINT64_MAX;
}

static void ready_leader(void)
{
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	assert_true(raft_leader_ready(cl_raft(&c, 1)));
}

/* Scenario: a ready leader. Action: a read. Expected: no answer until a
 * quorum acknowledged the heartbeat round; then the commit index of the
 * moment the read arrived. */
static void test_read_needs_a_quorum_round(void **state)
{
	(void)state;
	ready_leader();
	uint64_t commit = raft_commit_index(cl_raft(&c, 1));
	assert_int_equal(raft_read_index(cl_raft(&c, 1), 7), RAFT_OK);
	cl_ready(&c, 1);
	assert_null(answer(1, 7));
	assert_int_equal(cl_count(&c, RAFT_MSG_HEARTBEAT, 1, 0), 2);
	assert_true(cl_deliver_one(&c, RAFT_MSG_HEARTBEAT, 1, 2));
	assert_null(answer(1, 7));
	assert_true(cl_deliver_one(&c, RAFT_MSG_HEARTBEAT_RESP, 2, 1));
	assert_non_null(answer(1, 7));
	assert_int_equal(answered(1, 7), commit);
	cl_free(&c);
}

/* Rule 5: an acknowledgement of a round that started before the read
 * arrived proves nothing about leadership at the read's time. */
static void test_round_started_before_the_read_does_not_count(void **state)
{
	(void)state;
	ready_leader();
	struct raft *r = cl_raft(&c, 1);
	assert_int_equal(raft_read_index(r, 1), RAFT_OK);
	cl_ready(&c, 1); /* round 1 leaves */
	assert_int_equal(raft_read_index(r, 2), RAFT_OK);
	assert_true(cl_deliver_one(&c, RAFT_MSG_HEARTBEAT, 1, 2)); /* round 1 */
	assert_true(cl_deliver_one(&c, RAFT_MSG_HEARTBEAT_RESP, 2, 1));
	assert_non_null(answer(1, 1));
	assert_null(answer(1, 2));
	cl_deliver_all(&c);
	assert_non_null(answer(1, 2));
	cl_free(&c);
}

/* Requests that arrive between two readies share one heartbeat round. */
static void test_reads_are_batched_into_one_round(void **state)
{
	(void)state;
	ready_leader();
	for (uint64_t ctx = 1; ctx <= 5; ctx++) {
		assert_int_equal(raft_read_index(cl_raft(&c, 1), ctx), RAFT_OK);
	}
	cl_ready(&c, 1);
	assert_int_equal(cl_count(&c, RAFT_MSG_HEARTBEAT, 1, 0), 2);
	cl_deliver_all(&c);
	for (uint64_t ctx = 1; ctx <= 5; ctx++) {
		assert_non_null(answer(1, ctx));
	}
	cl_free(&c);
}

/* Trap (etcd #7331, rule 4): a new leader does not know the commit index
 * until its no-op commits; a read that arrives earlier waits for it and is
 * answered with at least the no-op's index. */
static void test_read_before_noop_commits_waits(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_propose(&c, 1, "x");
	cl_deliver_all(&c);
	/* Server 2 knows entry 3 is stored but not that it committed. */
	cl_crash(&c, 1);
	cl_campaign(&c, 2);
	struct raft *r = cl_raft(&c, 2);
	assert_false(raft_leader_ready(r));
	assert_int_equal(raft_read_index(r, 9), RAFT_OK);
	/* Heartbeat rounds complete, but the no-op has not committed. */
	cl_drop(&c, RAFT_MSG_APPEND, 2, 0);
	while (cl_deliver_one(&c, RAFT_MSG_HEARTBEAT, 2, 3) ||
	       cl_deliver_one(&c, RAFT_MSG_HEARTBEAT_RESP, 3, 2)) {
	}
	assert_null(answer(2, 9));
	cl_tick_all(&c, 2 * CL_HEARTBEAT_TICKS);
	assert_true(raft_leader_ready(r));
	assert_non_null(answer(2, 9));
	assert_true(answered(2, 9) >= 4); /* entry 3 and the no-op at 4 */
	cl_free(&c);
}

/* Trap (anchor P1): a deposed leader must not serve a read. Leader 1 is cut
 * off; the majority elects 2 and commits a write; 1's pending read fails
 * (index 0) once it learns the new term, and is never answered as served. */
static void test_deposed_leader_fails_its_reads(void **state)
{
	(void)state;
	ready_leader();
	cl_isolate(&c, 1);
	assert_int_equal(raft_read_index(cl_raft(&c, 1), 5), RAFT_OK);
	cl_tick(&c, 1, 1);
	cl_deliver_all(&c);
	assert_null(answer(1, 5));
	cl_elect(&c, 2);
	cl_propose(&c, 2, "newer");
	cl_deliver_all(&c);
	cl_heal(&c);
	cl_tick_all(&c, 2 * CL_HEARTBEAT_TICKS);
	assert_int_equal(raft_role(cl_raft(&c, 1)), RAFT_FOLLOWER);
	assert_non_null(answer(1, 5));
	assert_int_equal(answered(1, 5), 0);
	cl_free(&c);
}

/* With check-quorum, a leader cut off for an election timeout steps down on
 * its own, failing its reads without ever hearing the new term. */
static void test_check_quorum_fails_reads_of_cut_off_leader(void **state)
{
	const struct cl_options guarded = {.pre_vote = true, .check_quorum = true};

	(void)state;
	cl_init(&c, 3, &guarded);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	cl_isolate(&c, 1);
	assert_int_equal(raft_read_index(cl_raft(&c, 1), 3), RAFT_OK);
	cl_tick(&c, 1, 2 * CL_ELECTION_TICKS);
	assert_non_null(answer(1, 3));
	assert_int_equal(answered(1, 3), 0);
	cl_free(&c);
}

static void test_read_refused_by_follower_and_bad_ctx(void **state)
{
	(void)state;
	ready_leader();
	assert_int_equal(raft_read_index(cl_raft(&c, 2), 1), RAFT_ENOTLEADER);
	assert_int_equal(raft_read_index(cl_raft(&c, 1), 0), RAFT_EINVAL);
	cl_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_needs_a_quorum_round),
	    cmocka_unit_test(test_round_started_before_the_read_does_not_count),
	    cmocka_unit_test(test_reads_are_batched_into_one_round),
	    cmocka_unit_test(test_read_before_noop_commits_waits),
	    cmocka_unit_test(test_deposed_leader_fails_its_reads),
	    cmocka_unit_test(test_check_quorum_fails_reads_of_cut_off_leader),
	    cmocka_unit_test(test_read_refused_by_follower_and_bad_ctx),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
