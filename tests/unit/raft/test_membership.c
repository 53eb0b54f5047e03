/* Membership changes (thesis 4.2.1, 4.3) and DESIGN.md safety rule 10:
 * learners catch up without voting or counting, voters change by joint
 * consensus, one change at a time, only after an own-term commit, and a
 * leader left out of C_new steps down once C_new commits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

static struct cluster c;

static const struct cl_options plain = {0};

static void leader_of_three(void)
{
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
}

static void add_learner_4(void)
{
	cl_add_node(&c, 4);
	assert_int_equal(raft_add_learner(cl_raft(&c, 1), 4, "node4"), RAFT_OK);
	cl_ready(&c, 1);
	cl_tick_all(&c, 2 * CL_HEARTBEAT_TICKS);
}

static bool voter(uint64_t on, uint64_t id)
{
	const struct raft_conf *conf = raft_conf(cl_raft(&c, on));

	for (uint32_t i = 0; i < conf->n; i++) {
		if (conf->servers[i].id == id) {
			return conf->servers[i].role == RAFT_VOTER;
		}
	}
	return false;
}

/* Scenario: a new empty server. Action: add it as a learner. Expected: it
 * receives the whole log but is not a voter. */
static void test_learner_catches_up_without_voting(void **state)
{
	(void)state;
	leader_of_three();
	add_learner_4();
	assert_int_equal(raft_last_index(cl_raft(&c, 4)), raft_last_index(cl_raft(&c, 1)));
	assert_int_equal(raft_conf(cl_raft(&c, 4))->n, 4);
	assert_false(voter(4, 4));
	/* A learner never campaigns. */
	cl_isolate(&c, 4);
	cl_tick(&c, 4, 5 * CL_ELECTION_TICKS);
	assert_int_equal(raft_role(cl_raft(&c, 4)), RAFT_FOLLOWER);
	assert_int_equal(raft_term(cl_raft(&c, 4)), 2);
	cl_free(&c);
}

/* Learners never count toward commitment: with voters {1,2,3} and learners
 * {4,5}, the acks of 4 and 5 do not make a majority for 1. */
static void test_learner_ack_does_not_commit(void **state)
{
	(void)state;
	cl_init(&c, 5, &(struct cl_options){.voters = 3});
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	cl_isolate(&c, 2);
	cl_isolate(&c, 3);
	uint64_t before = raft_commit_index(cl_raft(&c, 1));
	uint64_t index = cl_propose(&c, 1, "needs a voter");
	cl_deliver_all(&c);
	assert_int_equal(raft_last_index(cl_raft(&c, 4)), index);
	assert_int_equal(raft_last_index(cl_raft(&c, 5)), index);
	assert_int_equal(raft_commit_index(cl_raft(&c, 1)), before);
	cl_heal(&c);
	cl_tick_all(&c, CL_HEARTBEAT_TICKS);
	assert_int_equal(raft_commit_index(cl_raft(&c, 1)), index);
	cl_free(&c);
}

/* Learners never count as votes: with voters {1,2,3} cut off from each
 * other, server 1 cannot win with the grants of learners 4 and 5. */
static void test_learner_votes_do_not_elect(void **state)
{
	(void)state;
	cl_init(&c, 5, &(struct cl_options){.voters = 3});
	cl_cut(&c, 1, 2);
	cl_cut(&c, 1, 3);
	cl_cut(&c, 2, 3);
	cl_cut(&c, 2, 4);
	cl_cut(&c, 2, 5);
	cl_cut(&c, 3, 4);
	cl_cut(&c, 3, 5);
	cl_tick(&c, 1, 2 * CL_ELECTION_TICKS);
	cl_deliver_all(&c);
	assert_int_equal(raft_role(cl_raft(&c, 1)), RAFT_CANDIDATE);
	cl_heal(&c);
	cl_tick_all(&c, 6 * CL_ELECTION_TICKS);
	uint64_t leader = cl_leader(&c);
	assert_true(leader >= 1 && leader <= 3); /* learners never lead */
	cl_free(&c);
}

/* Joint consensus: promoting the learner goes through C_old,new, then the
 * leader appends C_new itself. */
static void test_promotion_through_joint_consensus(void **state)
{
	const uint64_t voters[] = {1, 2, 3, 4};

	(void)state;
	leader_of_three();
	add_learner_4();
	assert_int_equal(raft_change_voters(cl_raft(&c, 1), voters, NULL, 4), RAFT_OK);
	assert_true(raft_conf(cl_raft(&c, 1))->joint);
	cl_ready(&c, 1);
	cl_tick_all(&c, 2 * CL_HEARTBEAT_TICKS);
	for (uint64_t id = 1; id <= 4; id++) {
		assert_false(raft_conf(cl_raft(&c, id))->joint);
		assert_true(voter(id, 4));
	}
	/* Four voters: commitment now needs three. */
	cl_isolate(&c, 3);
	cl_isolate(&c, 4);
	uint64_t before = raft_commit_index(cl_raft(&c, 1));
	cl_propose(&c, 1, "two of four is not enough");
	cl_deliver_all(&c);
	assert_int_equal(raft_commit_index(cl_raft(&c, 1)), before);
	cl_free(&c);
}

/* Rule 10: at most one change in flight. */
static void test_one_change_at_a_time(void **state)
{
	(void)state;
	leader_of_three();
	cl_add_node(&c, 4);
	assert_int_equal(raft_add_learner(cl_raft(&c, 1), 4, "node4"), RAFT_OK);
	assert_int_equal(raft_add_learner(cl_raft(&c, 1), 5, "node5"), RAFT_EBUSY);
	cl_deliver_all(&c);
	cl_tick_all(&c, CL_HEARTBEAT_TICKS);
	assert_int_equal(raft_add_learner(cl_raft(&c, 1), 5, "node5"), RAFT_OK);
	cl_free(&c);
}

/* Rule 10: a new leader changes nothing before its no-op commits. */
static void test_no_change_before_own_term_commit(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_campaign(&c, 1);
	assert_false(raft_leader_ready(cl_raft(&c, 1)));
	assert_int_equal(raft_add_learner(cl_raft(&c, 1), 4, "node4"), RAFT_EBUSY);
	cl_deliver_all(&c);
	assert_int_equal(raft_add_learner(cl_raft(&c, 1), 4, "node4"), RAFT_OK);
	cl_free(&c);
}

/* A learner that has not caught up is not promoted. */
static void test_lagging_learner_not_promoted(void **state)
{
	const uint64_t voters[] = {1, 2, 3, 4};

	(void)state;
	leader_of_three();
	cl_add_node(&c, 4);
	cl_isolate(&c, 4);
	assert_int_equal(raft_add_learner(cl_raft(&c, 1), 4, "node4"), RAFT_OK);
	cl_deliver_all(&c);
	cl_tick_all(&c, CL_HEARTBEAT_TICKS);
	assert_int_equal(raft_change_voters(cl_raft(&c, 1), voters, NULL, 4), RAFT_ENOTCAUGHTUP);
	cl_free(&c);
}

/* Scenario: a caught-up learner whose host tells the leader it now holds an
 * empty log (it lost its data folder and was admitted again as a newcomer,
 * coord/node/admit.h). Action: raft_peer_reset on the leader. Expected: the
 * leader no longer counts what the learner acknowledged before, so
 * promoting it is refused until it has caught up again. */
static void test_peer_reset_learner_must_catch_up_again(void **state)
{
	const uint64_t voters[] = {1, 2, 3, 4};

	(void)state;
	leader_of_three();
	add_learner_4();
	assert_int_equal(raft_last_index(cl_raft(&c, 4)), raft_last_index(cl_raft(&c, 1)));
	cl_isolate(&c, 4);
	raft_peer_reset(cl_raft(&c, 1), 4);
	assert_int_equal(raft_change_voters(cl_raft(&c, 1), voters, NULL, 4), RAFT_ENOTCAUGHTUP);
	assert_false(voter(1, 4));
	/* It answers again: the leader probes it and learns its log. */
	cl_heal(&c);
	cl_tick_all(&c, 2 * CL_HEARTBEAT_TICKS);
	assert_int_equal(raft_change_voters(cl_raft(&c, 1), voters, NULL, 4), RAFT_OK);
	cl_tick_all(&c, 2 * CL_HEARTBEAT_TICKS);
	assert_true(voter(1, 4));
	cl_free(&c);
}

static uint64_t folder(uint64_t on, uint64_t id)
{
	const struct raft_conf *conf = raft_conf(cl_raft(&c, on));

	for (uint32_t i = 0; i < conf->n; i++) {
		if (conf->servers[i].id == id)
			return conf->servers[i].folder;
	}
	return 0;
}

/* Scenario: a caught-up learner is promoted, the host naming the data
 * folder it knows each server by. Expected: the promoted server is bound to
 * its folder in C_old,new and C_new on every server; a current voter keeps
 * its binding whatever the host passes for it (folders are bound once). */
static void test_promotion_binds_the_learner_folder(void **state)
{
	const uint64_t voters[] = {1, 2, 3, 4};
	const uint64_t folders[] = {0x11, 0x22, 0x33, 0x44};

	(void)state;
	leader_of_three();
	add_learner_4();
	assert_int_equal(folder(1, 4), 0); /* a learner is not bound */
	assert_int_equal(raft_change_voters(cl_raft(&c, 1), voters, folders, 4), RAFT_OK);
	assert_int_equal(folder(1, 4), 0x44); /* C_old,new binds it */
	cl_tick_all(&c, 4 * CL_HEARTBEAT_TICKS);
	for (uint64_t on = 1; on <= 4; on++) {
		assert_true(voter(on, 4));
		assert_false(raft_conf(cl_raft(&c, on))->joint);
		assert_int_equal(folder(on, 4), 0x44);
		for (uint64_t id = 1; id <= 3; id++)
			assert_int_equal(folder(on, id), 0); /* bound at founding or never */
	}
	cl_free(&c);
}

/* raft_peer_reset does nothing on a follower, nor on the leader for itself
 * or for a server it does not know: the follower's state and the leader's
 * view of its caught-up learner are unchanged. */
static void test_peer_reset_elsewhere_does_nothing(void **state)
{
	const uint64_t voters[] = {1, 2, 3, 4};
	uint64_t term, commit;

	(void)state;
	leader_of_three();
	add_learner_4();
	term = raft_term(cl_raft(&c, 2));
	commit = raft_commit_index(cl_raft(&c, 2));
	assert_false(raft_has_ready(cl_raft(&c, 2)));
	raft_peer_reset(cl_raft(&c, 2), 4);
	raft_peer_reset(cl_raft(&c, 2), 1);
	assert_false(raft_has_ready(cl_raft(&c, 2)));
	assert_int_equal(raft_role(cl_raft(&c, 2)), RAFT_FOLLOWER);
	assert_int_equal(raft_term(cl_raft(&c, 2)), term);
	assert_int_equal(raft_commit_index(cl_raft(&c, 2)), commit);
	raft_peer_reset(cl_raft(&c, 1), 1);
	raft_peer_reset(cl_raft(&c, 1), 9);
	/* The leader's own entries still commit, and the learner is still
	 * caught up. */
	cl_propose(&c, 1, "after");
	cl_deliver_all(&c);
	assert_int_equal(raft_commit_index(cl_raft(&c, 1)), raft_last_index(cl_raft(&c, 1)));
	assert_int_equal(raft_change_voters(cl_raft(&c, 1), voters, NULL, 4), RAFT_OK);
	cl_free(&c);
}

/* Trap (anchor P9): the leader removes itself. It keeps leading C_old,new,
 * steps down once C_new commits, and the remaining voters elect a leader. */
static void test_removed_leader_steps_down(void **state)
{
	const uint64_t voters[] = {2, 3};

	(void)state;
	leader_of_three();
	assert_int_equal(raft_change_voters(cl_raft(&c, 1), voters, NULL, 2), RAFT_OK);
	cl_ready(&c, 1);
	assert_int_equal(raft_role(cl_raft(&c, 1)), RAFT_LEADER);
	cl_deliver_all(&c);
	cl_tick_all(&c, CL_HEARTBEAT_TICKS);
	assert_int_equal(raft_role(cl_raft(&c, 1)), RAFT_FOLLOWER);
	assert_false(raft_conf(cl_raft(&c, 1))->joint);
	assert_false(voter(1, 1));
	cl_tick_all(&c, 4 * CL_ELECTION_TICKS);
	uint64_t leader = cl_leader(&c);
	assert_true(leader == 2 || leader == 3);
	cl_propose(&c, leader, "after removal");
	cl_deliver_all(&c);
	assert_int_equal(raft_commit_index(cl_raft(&c, leader)),
	                 raft_last_index(cl_raft(&c, leader)));
	cl_free(&c);
}

/* The leader removes itself and hands over: once C_new commits, the
 * caught-up voter it names campaigns at once, so a new leader is in place
 * within a tick, not after an election timeout. */
static void test_removed_leader_hands_over(void **state)
{
	const uint64_t voters[] = {2, 3};
	uint64_t leader;

	(void)state;
	leader_of_three();
	assert_int_equal(raft_change_voters(cl_raft(&c, 1), voters, NULL, 2), RAFT_OK);
	cl_ready(&c, 1);
	cl_deliver_all(&c);
	cl_tick_all(&c, CL_HEARTBEAT_TICKS);
	cl_deliver_all(&c);
	assert_int_equal(raft_role(cl_raft(&c, 1)), RAFT_FOLLOWER);
	leader = cl_leader(&c);
	assert_true(leader == 2 || leader == 3); /* after CL_HEARTBEAT_TICKS only */
	cl_free(&c);
}

/* While joint, a decision needs a majority of C_old AND of C_new. */
static void test_joint_needs_both_majorities(void **state)
{
	const uint64_t voters[] = {1, 4, 5};

	(void)state;
	cl_init(&c, 5, &(struct cl_options){.voters = 3});
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	assert_int_equal(raft_change_voters(cl_raft(&c, 1), voters, NULL, 3), RAFT_OK);
	/* C_old = {1,2,3}, C_new = {1,4,5}; 4 and 5 answer, 2 and 3 do not. */
	cl_isolate(&c, 2);
	cl_isolate(&c, 3);
	cl_deliver_all(&c);
	cl_tick_all(&c, CL_HEARTBEAT_TICKS);
	assert_true(raft_conf(cl_raft(&c, 1))->joint);
	assert_true(raft_commit_index(cl_raft(&c, 1)) < raft_last_index(cl_raft(&c, 1)));
	cl_heal(&c);
	cl_tick_all(&c, 2 * CL_HEARTBEAT_TICKS);
	assert_false(raft_conf(cl_raft(&c, 1))->joint);
	cl_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_learner_catches_up_without_voting),
	    cmocka_unit_test(test_learner_ack_does_not_commit),
	    cmocka_unit_test(test_learner_votes_do_not_elect),
	    cmocka_unit_test(test_promotion_through_joint_consensus),
	    cmocka_unit_test(test_one_change_at_a_time),
	    cmocka_unit_test(test_no_change_before_own_term_commit),
	    cmocka_unit_test(test_lagging_learner_not_promoted),
	    cmocka_unit_test(test_removed_leader_steps_down),
	    cmocka_unit_test(test_removed_leader_hands_over),
	    cmocka_unit_test(test_joint_needs_both_majorities),
	    cmocka_unit_test(test_peer_reset_learner_must_catch_up_again),
	    cmocka_unit_test(test_peer_reset_elsewhere_does_nothing),
	    cmocka_unit_test(test_promotion_binds_the_learner_folder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
