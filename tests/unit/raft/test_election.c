/* Leader election (thesis 3.4, 3.6.1, figure 3.1 RequestVote and "Rules for
 * Servers"), pre-vote (9.6), check-quorum (6.2), leader stickiness (4.2.3)
 * and DESIGN.md safety rule 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

static struct cluster c;

static const struct cl_options plain = {0};
static const struct cl_options guarded = {.pre_vote = true, .check_quorum = true};

/* Scenario: three servers start. Action: server 1 times out first.
 * Expected: it wins with a new term; the others follow it in that term. */
static void test_first_timeout_wins(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	assert_int_equal(raft_term(cl_raft(&c, 1)), 2);
	for (uint64_t id = 2; id <= 3; id++) {
		assert_int_equal(raft_role(cl_raft(&c, id)), RAFT_FOLLOWER);
		assert_int_equal(raft_leader(cl_raft(&c, id)), 1);
		assert_int_equal(raft_term(cl_raft(&c, id)), 2);
	}
	cl_free(&c);
}

/* Thesis 3.4: timeouts are drawn in [E, 2E) from the seeded generator, so
 * two servers rarely time out together, and a seed replays exactly. */
static void test_timeouts_randomized_in_range(void **state)
{
	unsigned seen[2 * CL_ELECTION_TICKS + 1] = {0};
	unsigned distinct = 0;

	(void)state;
	for (uint64_t seed = 1; seed <= 64; seed++) {
		struct raft_config cfg = {.id = 1,
		                          .election_ticks = CL_ELECTION_TICKS,
		                          .heartbeat_ticks = 1,
		                          .seed = seed};
		uint8_t buf[RAFT_CONF_MAX_BYTES];
		struct raft_conf conf = {.n = 2};
		struct raft_entry boot;
		conf.servers[0] = (struct raft_server){.id = 1, .role = RAFT_VOTER};
		conf.servers[1] = (struct raft_server){.id = 2, .role = RAFT_VOTER};
		assert_int_equal(raft_bootstrap_entry(&conf, buf, &boot), RAFT_OK);
		struct raft_restore rs = {.hs = {.term = 1}, .n_entries = 1, .entries = &boot};
		struct raft *r = raft_new(&cfg, &rs);
		unsigned ticks = 0;
		while (raft_role(r) == RAFT_FOLLOWER && ticks < 4 * CL_ELECTION_TICKS) {
			raft_tick(r);
			ticks++;
		}
		assert_in_range(ticks, CL_ELECTION_TICKS, 2 * CL_ELECTION_TICKS - 1);
		distinct += seen[ticks]++ == 0;
		raft_free(r);
	}
	assert_true(distinct >= CL_ELECTION_TICKS / 2);
}

/* Rule 1: term and vote are durable before any vote request or vote leaves:
 * they travel in the same ready, which the host persists first. */
static void test_vote_request_and_vote_carry_their_hard_state(void **state)
{
	struct raft_ready rd;
	bool saw_request = false, saw_grant = false;

	(void)state;
	cl_init(&c, 3, &plain);
	c.hold[1] = c.hold[2] = true;
	cl_tick(&c, 1, 2 * CL_ELECTION_TICKS);
	raft_ready(cl_raft(&c, 1), &rd);
	for (size_t i = 0; i < rd.n_msgs; i++) {
		if (rd.msgs[i].type == RAFT_MSG_VOTE) {
			saw_request = true;
			assert_true(rd.hs_changed);
			assert_int_equal(rd.hs.term, rd.msgs[i].term);
			assert_int_equal(rd.hs.vote, 1);
		}
	}
	assert_true(saw_request);
	struct raft_msg req = rd.msgs[0];
	req.to = 2;
	raft_advance(cl_raft(&c, 1), &rd);

	assert_int_equal(raft_step(cl_raft(&c, 2), &req), RAFT_OK);
	raft_ready(cl_raft(&c, 2), &rd);
	for (size_t i = 0; i < rd.n_msgs; i++) {
		if (rd.msgs[i].type == RAFT_MSG_VOTE_RESP && !rd.msgs[i].reject) {
			saw_grant = true;
			assert_true(rd.hs_changed);
			assert_int_equal(rd.hs.term, req.term);
			assert_int_equal(rd.hs.vote, 1);
		}
	}
	assert_true(saw_grant);
	raft_advance(cl_raft(&c, 2), &rd);
	c.hold[1] = c.hold[2] = false;
	cl_free(&c);
}

static struct raft_msg vote_request(uint64_t from, uint64_t to, uint64_t term, uint64_t index,
                                    uint64_t log_term)
{
	struct raft_msg m = {.type = RAFT_MSG_VOTE,
	                     .from = from,
	                     .to = to,
	                     .term = term,
	                     .index = index,
	                     .log_term = log_term};
	return m;
}

/* Rule 1, two terms in one ready: a vote granted in term 5 and superseded by
 * term 9 before the ready is not sent; the term-9 vote is, with its hard
 * state. */
static void test_superseded_vote_not_sent(void **state)
{
	struct raft_ready rd;

	(void)state;
	cl_init(&c, 3, &plain);
	c.hold[3] = true;
	struct raft_msg a = vote_request(1, 3, 5, 1, 1), b = vote_request(2, 3, 9, 1, 1);
	assert_int_equal(raft_step(cl_raft(&c, 3), &a), RAFT_OK);
	assert_int_equal(raft_step(cl_raft(&c, 3), &b), RAFT_OK);
	raft_ready(cl_raft(&c, 3), &rd);
	assert_int_equal(rd.hs.term, 9);
	assert_int_equal(rd.hs.vote, 2);
	assert_int_equal(rd.n_msgs, 1);
	assert_int_equal(rd.msgs[0].to, 2);
	assert_false(rd.msgs[0].reject);
	raft_advance(cl_raft(&c, 3), &rd);
	c.hold[3] = false;
	cl_free(&c);
}

/* Figure 3.1 RequestVote: at most one vote per term, kept across a crash. */
static void test_one_vote_per_term_survives_restart(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	struct raft_msg a = vote_request(1, 3, 5, 1, 1), b = vote_request(2, 3, 5, 1, 1);
	assert_int_equal(raft_step(cl_raft(&c, 3), &a), RAFT_OK);
	cl_ready(&c, 3);
	cl_crash(&c, 3);
	cl_restart(&c, 3);
	assert_int_equal(raft_vote(cl_raft(&c, 3)), 1);
	assert_int_equal(raft_step(cl_raft(&c, 3), &b), RAFT_OK);
	cl_ready(&c, 3);
	const struct raft_msg *resp = cl_find(&c, RAFT_MSG_VOTE_RESP, 3, 2);
	assert_non_null(resp);
	assert_true(resp->reject);
	assert_int_equal(raft_vote(cl_raft(&c, 3)), 1);
	cl_free(&c);
}

/* Thesis 3.6.1: a vote goes only to a candidate whose log is at least as
 * up-to-date (last term, then last index). */
static void test_vote_refused_to_stale_log(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_propose(&c, 1, "x");
	cl_deliver_all(&c);
	cl_crash(&c, 3); /* forgets its leader: stickiness out of the way */
	cl_restart(&c, 3);
	struct raft_msg old = vote_request(2, 3, 9, 2, 2); /* lacks entry 3 */
	assert_int_equal(raft_step(cl_raft(&c, 3), &old), RAFT_OK);
	cl_ready(&c, 3);
	const struct raft_msg *resp = cl_find(&c, RAFT_MSG_VOTE_RESP, 3, 2);
	assert_non_null(resp);
	assert_true(resp->reject);
	assert_int_equal(raft_term(cl_raft(&c, 3)), 9); /* the term was still adopted */
	assert_int_equal(raft_vote(cl_raft(&c, 3)), 0);
	cl_free(&c);
}

/* Rules for Servers: a higher term in any message turns a leader into a
 * follower of that term; a lower term is refused. */
static void test_higher_term_deposes_leader(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	struct raft_msg hb = {.type = RAFT_MSG_HEARTBEAT_RESP, .from = 2, .to = 1, .term = 7};
	assert_int_equal(raft_step(cl_raft(&c, 1), &hb), RAFT_OK);
	assert_int_equal(raft_role(cl_raft(&c, 1)), RAFT_FOLLOWER);
	assert_int_equal(raft_term(cl_raft(&c, 1)), 7);

	struct raft_msg stale = vote_request(2, 3, 1, 9, 9);
	assert_int_equal(raft_step(cl_raft(&c, 3), &stale), RAFT_OK);
	cl_ready(&c, 3);
	const struct raft_msg *resp = cl_find(&c, RAFT_MSG_VOTE_RESP, 3, 2);
	assert_non_null(resp);
	assert_true(resp->reject);
	assert_int_equal(resp->term, 2);
	cl_free(&c);
}

/* Thesis 9.6: an isolated server with pre-vote does not raise its term, so
 * it does not depose the leader when it comes back. */
static void test_pre_vote_keeps_term_when_isolated(void **state)
{
	(void)state;
	cl_init(&c, 3, &guarded);
	cl_elect(&c, 1);
	cl_isolate(&c, 3);
	cl_tick_all(&c, 10 * CL_ELECTION_TICKS);
	assert_int_equal(raft_term(cl_raft(&c, 3)), 2);
	assert_int_equal(raft_vote(cl_raft(&c, 3)), 1);
	cl_heal(&c);
	cl_tick_all(&c, 2 * CL_ELECTION_TICKS);
	assert_int_equal(cl_leader(&c), 1);
	assert_int_equal(raft_term(cl_raft(&c, 1)), 2);
	assert_int_equal(raft_leader(cl_raft(&c, 3)), 1);
	cl_free(&c);
}

/* Without pre-vote the same isolated server does raise its term (this is
 * what pre-vote exists to prevent; the contrast shows the test above has
 * teeth). */
static void test_without_pre_vote_isolated_term_grows(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_isolate(&c, 3);
	cl_tick_all(&c, 10 * CL_ELECTION_TICKS);
	assert_true(raft_term(cl_raft(&c, 3)) > 2);
	cl_free(&c);
}

/* Thesis 6.2: a leader that hears from no quorum for an election timeout
 * steps down. */
static void test_check_quorum_deposes_isolated_leader(void **state)
{
	(void)state;
	cl_init(&c, 3, &guarded);
	cl_elect(&c, 1);
	cl_isolate(&c, 1);
	cl_tick(&c, 1, 2 * CL_ELECTION_TICKS);
	assert_int_equal(raft_role(cl_raft(&c, 1)), RAFT_FOLLOWER);
	cl_free(&c);
}

/* Without check-quorum the cut-off leader stays (contrast). */
static void test_without_check_quorum_leader_stays(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_isolate(&c, 1);
	cl_tick(&c, 1, 2 * CL_ELECTION_TICKS);
	assert_int_equal(raft_role(cl_raft(&c, 1)), RAFT_LEADER);
	cl_free(&c);
}

/* Thesis 4.2.3: a server that heard from its leader within the minimum
 * election timeout ignores a vote request, unless it is a transfer's. */
static void test_sticky_follower_ignores_vote_unless_transfer(void **state)
{
	(void)state;
	cl_init(&c, 3, &guarded);
	cl_elect(&c, 1);
	struct raft_msg m = vote_request(2, 3, 3, 9, 9);
	assert_int_equal(raft_step(cl_raft(&c, 3), &m), RAFT_OK);
	assert_int_equal(raft_term(cl_raft(&c, 3)), 2);
	cl_ready(&c, 3);
	assert_int_equal(cl_count(&c, RAFT_MSG_VOTE_RESP, 3, 2), 0);

	m.transfer = true;
	assert_int_equal(raft_step(cl_raft(&c, 3), &m), RAFT_OK);
	assert_int_equal(raft_term(cl_raft(&c, 3)), 3);
	assert_int_equal(raft_vote(cl_raft(&c, 3)), 2);
	cl_free(&c);
}

/* Trap (etcd #8334, anchor P11): pre-vote with check-quorum under a partial
 * partition. Server 3 cannot reach leader 1 but reaches 2; 2 still hears
 * from 1. Server 3 must neither raise its term nor win, and 1 must remain
 * leader (it still has a quorum: itself and 2). */
static void test_partial_partition_does_not_disrupt(void **state)
{
	(void)state;
	cl_init(&c, 3, &guarded);
	cl_elect(&c, 1);
	cl_cut(&c, 1, 3);
	cl_tick_all(&c, 10 * CL_ELECTION_TICKS);
	assert_int_equal(cl_leader(&c), 1);
	assert_int_equal(raft_term(cl_raft(&c, 1)), 2);
	assert_int_equal(raft_term(cl_raft(&c, 3)), 2);
	assert_int_equal(raft_leader(cl_raft(&c, 2)), 1);
	cl_propose(&c, 1, "still serving");
	cl_deliver_all(&c);
	assert_int_equal(raft_commit_index(cl_raft(&c, 1)), 3);
	cl_free(&c);
}

/* After the leader crashes, the survivors elect a new one with pre-vote and
 * check-quorum on (liveness of the guarded configuration). */
static void test_new_leader_after_crash(void **state)
{
	(void)state;
	cl_init(&c, 5, &guarded);
	cl_elect(&c, 1);
	cl_crash(&c, 1);
	cl_tick_all(&c, 5 * CL_ELECTION_TICKS);
	uint64_t leader = cl_leader(&c);
	assert_true(leader >= 2 && leader <= 5);
	assert_true(raft_term(cl_raft(&c, leader)) > 2);
	cl_free(&c);
}

/* Figure 3.1 Candidates: an AppendEntries from a leader of the same term
 * makes a candidate a follower of that leader. */
static void test_candidate_yields_to_leader_of_its_term(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	c.hold[3] = true;
	cl_tick(&c, 3, 2 * CL_ELECTION_TICKS);
	assert_int_equal(raft_role(cl_raft(&c, 3)), RAFT_CANDIDATE);
	uint64_t term = raft_term(cl_raft(&c, 3));
	struct raft_msg hb = {.type = RAFT_MSG_HEARTBEAT, .from = 1, .to = 3, .term = term};
	assert_int_equal(raft_step(cl_raft(&c, 3), &hb), RAFT_OK);
	assert_int_equal(raft_role(cl_raft(&c, 3)), RAFT_FOLLOWER);
	assert_int_equal(raft_leader(cl_raft(&c, 3)), 1);
	assert_int_equal(raft_term(cl_raft(&c, 3)), term);
	c.hold[3] = false;
	cl_free(&c);
}

/* Figure 3.1 Candidates: if the election timeout elapses without a winner
 * (a split vote, here no answers at all), start a new election in a new
 * term. */
static void test_candidate_retries_in_a_new_term(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_isolate(&c, 1);
	cl_tick(&c, 1, 2 * CL_ELECTION_TICKS);
	assert_int_equal(raft_role(cl_raft(&c, 1)), RAFT_CANDIDATE);
	uint64_t term = raft_term(cl_raft(&c, 1));
	cl_tick(&c, 1, 2 * CL_ELECTION_TICKS);
	assert_int_equal(raft_role(cl_raft(&c, 1)), RAFT_CANDIDATE);
	assert_true(raft_term(cl_raft(&c, 1)) > term);
	assert_int_equal(raft_vote(cl_raft(&c, 1)), 1);
	cl_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_timeout_wins),
	    cmocka_unit_test(test_timeouts_randomized_in_range),
	    cmocka_unit_test(test_vote_request_and_vote_carry_their_hard_state),
	    cmocka_unit_test(test_one_vote_per_term_survives_restart),
	    cmocka_unit_test(test_superseded_vote_not_sent),
	    cmocka_unit_test(test_vote_refused_to_stale_log),
	    cmocka_unit_test(test_higher_term_deposes_leader),
	    cmocka_unit_test(test_pre_vote_keeps_term_when_isolated),
	    cmocka_unit_test(test_without_pre_vote_isolated_term_grows),
	    cmocka_unit_test(test_check_quorum_deposes_isolated_leader),
	    cmocka_unit_test(test_without_check_quorum_leader_stays),
	    cmocka_unit_test(test_sticky_follower_ignores_vote_unless_transfer),
	    cmocka_unit_test(test_partial_partition_does_not_disrupt),
	    cmocka_unit_test(test_new_leader_after_crash),
	    cmocka_unit_test(test_candidate_yields_to_leader_of_its_term),
	    cmocka_unit_test(test_candidate_retries_in_a_new_term),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
