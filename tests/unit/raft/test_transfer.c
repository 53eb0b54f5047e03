/* Leadership transfer (thesis 3.10): the leader brings the target up to
 * date, sends TIMEOUT_NOW, refuses proposals meanwhile, and gives up after
 * an election timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

static struct cluster c;

/* Stickiness is on (check-quorum): only the transfer flag lets the target
 * win while the old leader is alive. */
static const struct cl_options guarded = {.pre_vote = true, .check_quorum = true};

static void test_transfer_to_caught_up_follower(void **state)
{
	(void)state;
	cl_init(&c, 3, &guarded);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	assert_int_equal(raft_transfer(cl_raft(&c, 1), 2), RAFT_OK);
	cl_ready(&c, 1);
	assert_int_equal(cl_count(&c, RAFT_MSG_TIMEOUT_NOW, 1, 2), 1);
	cl_deliver_all(&c);
	assert_int_equal(cl_leader(&c), 2);
	assert_int_equal(raft_term(cl_raft(&c, 2)), 3);
	assert_int_equal(raft_role(cl_raft(&c, 1)), RAFT_FOLLOWER);
	cl_free(&c);
}

/* The target is behind: TIMEOUT_NOW goes only once its log matches. */
static void test_transfer_waits_for_target_to_catch_up(void **state)
{
	(void)state;
	cl_init(&c, 3, &guarded);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	cl_cut(&c, 1, 3);
	cl_propose(&c, 1, "3 misses this");
	cl_deliver_all(&c);
	cl_heal(&c);
	assert_int_equal(raft_transfer(cl_raft(&c, 1), 3), RAFT_OK);
	cl_ready(&c, 1);
	assert_int_equal(cl_count(&c, RAFT_MSG_TIMEOUT_NOW, 1, 3), 0);
	while (cl_count(&c, RAFT_MSG_TIMEOUT_NOW, 1, 3) == 0 && cl_deliver_one(&c, 0, 0, 0)) {
	}
	assert_int_equal(raft_last_index(cl_raft(&c, 3)), raft_last_index(cl_raft(&c, 1)));
	cl_deliver_all(&c);
	assert_int_equal(cl_leader(&c), 3);
	cl_free(&c);
}

static void test_proposals_refused_during_transfer(void **state)
{
	(void)state;
	cl_init(&c, 3, &guarded);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	assert_int_equal(raft_transfer(cl_raft(&c, 1), 2), RAFT_OK);
	assert_int_equal(raft_propose(cl_raft(&c, 1), "x", 1, NULL, NULL), RAFT_EBUSY);
	assert_int_equal(raft_transfer(cl_raft(&c, 1), 3), RAFT_EBUSY);
	cl_free(&c);
}

/* The target never answers: after an election timeout the leader gives up
 * and takes proposals again. */
static void test_transfer_aborted_after_election_timeout(void **state)
{
	(void)state;
	cl_init(&c, 3, &guarded);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	cl_isolate(&c, 2);
	assert_int_equal(raft_transfer(cl_raft(&c, 1), 2), RAFT_OK);
	cl_tick(&c, 1, CL_ELECTION_TICKS - 1);
	assert_int_equal(raft_propose(cl_raft(&c, 1), "x", 1, NULL, NULL), RAFT_EBUSY);
	cl_tick(&c, 1, 1);
	assert_int_equal(raft_role(cl_raft(&c, 1)), RAFT_LEADER);
	assert_int_equal(raft_propose(cl_raft(&c, 1), "x", 1, NULL, NULL), RAFT_OK);
	cl_free(&c);
}

static void test_transfer_arguments_checked(void **state)
{
	(void)state;
	cl_init(&c, 3, &guarded);
	cl_elect(&c, 1);
	assert_int_equal(raft_transfer(cl_raft(&c, 2), 3), RAFT_ENOTLEADER);
	assert_int_equal(raft_transfer(cl_raft(&c, 1), 1), RAFT_EINVAL);
	assert_int_equal(raft_transfer(cl_raft(&c, 1), 9), RAFT_EINVAL);
	cl_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_transfer_to_caught_up_follower),
	    cmocka_unit_test(test_transfer_waits_for_target_to_catch_up),
	    cmocka_unit_test(test_proposals_refused_during_transfer),
	    cmocka_unit_test(test_transfer_aborted_after_election_timeout),
	    cmocka_unit_test(test_transfer_arguments_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
