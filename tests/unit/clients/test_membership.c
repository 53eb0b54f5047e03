/* coordctl's view of a configuration (membership.h): the table `member
 * list` prints, and when `member add --wait` promotes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "membership.h"

/* Leader 1, follower 2, and learner 4 at MATCH while the leader is at 500. */
static struct coordc_members three(uint64_t match)
{
	struct coordc_members m = {.n = 3, .leader = 1, .config_index = 480};

	m.member[0] = (struct coordc_member){1, "10.0.0.1:7170", "10.0.0.1:7070", true, 500, -1};
	m.member[1] = (struct coordc_member){2, "10.0.0.2:7170", "10.0.0.2:7070", true, 498, 12};
	m.member[2] = (struct coordc_member){4, "10.0.0.4:7170", "", false, match, 40};
	return m;
}

static void the_table_has_a_line_per_member_and_the_configuration(void **state)
{
	struct coordc_members m = three(120);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	(void)state;
	assert_non_null(out);
	m.joint = true;
	ctl_members_table(out, &m);
	fclose(out);
	assert_string_equal(
	    text,
	    "ID     ROLE     RAFT                     HTTP                            MATCH LAST "
	    "CONTACT\n"
	    "1      leader   10.0.0.1:7170            10.0.0.1:7070                     500 -\n"
	    "2      voter    10.0.0.2:7170            10.0.0.2:7070                     498 12ms\n"
	    "4      learner  10.0.0.4:7170            -                                 120 40ms\n"
	    "config index 480, joint: a change is in progress\n");
	free(text);
}

/* Scenario: a learner behind a leader that keeps appending. Outcome: the
 * target stays where the first look put it, so the learner reaches it;
 * after a refused promote (target reset) it aims at the leader's newer
 * index. */
static void the_target_is_fixed_until_a_promote_is_refused(void **state)
{
	struct coordc_members m = three(120);
	uint64_t target = 0;

	(void)state;
	assert_int_equal(ctl_catchup(&m, 4, &target), CTL_CATCHUP_BEHIND);
	assert_int_equal(target, 500);
	m.member[0].match_index = 900; /* the leader moved on */
	m.member[2].match_index = 500;
	assert_int_equal(ctl_catchup(&m, 4, &target), CTL_CATCHUP_READY);
	assert_int_equal(target, 500);
	target = 0; /* promote said not_caught_up */
	assert_int_equal(ctl_catchup(&m, 4, &target), CTL_CATCHUP_BEHIND);
	assert_int_equal(target, 900);
}

static void voters_gone_members_and_no_leader(void **state)
{
	struct coordc_members m = three(120);
	uint64_t target = 0;

	(void)state;
	assert_int_equal(ctl_catchup(&m, 2, &target), CTL_CATCHUP_VOTER);
	assert_int_equal(ctl_catchup(&m, 9, &target), CTL_CATCHUP_GONE);
	m.leader = 0;
	assert_int_equal(ctl_catchup(&m, 4, &target), CTL_CATCHUP_NO_LEADER);
	assert_int_equal(target, 0);
	m.leader = 7; /* a leader not in the answer's list */
	assert_int_equal(ctl_catchup(&m, 4, &target), CTL_CATCHUP_NO_LEADER);
	target = 100; /* a target already fixed needs no leader */
	assert_int_equal(ctl_catchup(&m, 4, &target), CTL_CATCHUP_READY);
}

/* Scenario: the answer came from a node that does not know the leader's
 * progress (match_index null, read as 0). Outcome: READY, so promote and
 * its not_caught_up decide; no target is fixed. */
static void without_the_leaders_progress_promote_decides(void **state)
{
	struct coordc_members m = three(0);
	uint64_t target = 0;

	(void)state;
	m.member[0].match_index = 0;
	assert_int_equal(ctl_catchup(&m, 4, &target), CTL_CATCHUP_READY);
	assert_int_equal(target, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(the_table_has_a_line_per_member_and_the_configuration),
	    cmocka_unit_test(the_target_is_fixed_until_a_promote_is_refused),
	    cmocka_unit_test(voters_gone_members_and_no_leader),
	    cmocka_unit_test(without_the_leaders_progress_promote_decides),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
