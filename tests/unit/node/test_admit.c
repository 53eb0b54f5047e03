/* The admission rule of peers (admit.h), case by case: who may speak Raft to
 * whom when data folders are new, lost, or of another cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "admit.h"

#define X "5f0c2a9d3b7e41d8a6c0e9f1b2d3c4a5"
#define Y "0123456789abcdef0123456789abcdef"

static struct admit_side member(const char *cluster, enum admit_role lists)
{
	return (struct admit_side){.cluster = cluster, .lists = lists, .configured = true};
}

static struct admit_side empty(void)
{
	return (struct admit_side){.cluster = "", .lists = ADMIT_ROLE_NONE};
}

static void members_of_one_cluster_talk(void **state)
{
	struct admit_side a = member(X, ADMIT_ROLE_VOTER), b = member(X, ADMIT_ROLE_VOTER);

	(void)state;
	assert_int_equal(admit_peer(&a, &b), ADMIT_OK);
	assert_true(admit_talks(admit_peer(&a, &b)));
}

static void servers_of_two_clusters_never_talk(void **state)
{
	struct admit_side a = member(X, ADMIT_ROLE_VOTER), b = member(Y, ADMIT_ROLE_VOTER);

	(void)state;
	assert_int_equal(admit_peer(&a, &b), ADMIT_OTHER);
	assert_false(admit_talks(ADMIT_OTHER));
}

static void a_server_the_configuration_does_not_list_is_refused(void **state)
{
	/* A removed server keeps its old configuration and keeps dialling. */
	struct admit_side self = member(X, ADMIT_ROLE_NONE);
	struct admit_side removed = member(X, ADMIT_ROLE_VOTER);

	(void)state;
	assert_int_equal(admit_peer(&self, &removed), ADMIT_STRANGER);
}

static void a_lagging_server_admits_a_member_added_after_its_configuration(void **state)
{
	/* It stops before the entry that added the sender (its leader, say):
	 * refusing would keep it behind for good. A removed server's own
	 * configuration is older than the one that removed it. */
	struct admit_side lagging = member(X, ADMIT_ROLE_NONE);
	struct admit_side newer = member(X, ADMIT_ROLE_VOTER);
	struct admit_side up_to_date = member(X, ADMIT_ROLE_NONE);
	struct admit_side removed = member(X, ADMIT_ROLE_VOTER);

	(void)state;
	lagging.conf_index = 10;
	newer.conf_index = 50;
	up_to_date.conf_index = 60;
	removed.conf_index = 50;
	assert_int_equal(admit_peer(&lagging, &newer), ADMIT_OK);
	assert_int_equal(admit_peer(&up_to_date, &removed), ADMIT_STRANGER);
	removed.conf_index = 60; /* same view: still not listed, refused */
	assert_int_equal(admit_peer(&up_to_date, &removed), ADMIT_STRANGER);
}

static void a_joining_server_without_configuration_hears_its_cluster(void **state)
{
	/* Adopted the id, has no entries yet: it cannot know who is listed. */
	struct admit_side self = {.cluster = X, .lists = ADMIT_ROLE_NONE, .configured = false};
	struct admit_side leader = member(X, ADMIT_ROLE_LEARNER);

	(void)state;
	assert_int_equal(admit_peer(&self, &leader), ADMIT_OK);
}

static void an_empty_server_adopts_the_id_of_a_cluster_that_expects_it_as_learner(void **state)
{
	struct admit_side self = empty(), leader = member(X, ADMIT_ROLE_LEARNER);

	(void)state;
	assert_int_equal(admit_peer(&self, &leader), ADMIT_ADOPT);
	assert_true(admit_talks(ADMIT_ADOPT));
}

static void a_cluster_admits_an_empty_learner_as_a_newcomer(void **state)
{
	struct admit_side self = member(X, ADMIT_ROLE_LEARNER), joiner = empty();

	(void)state;
	assert_int_equal(admit_peer(&self, &joiner), ADMIT_NEWCOMER);
}

static void only_a_sealing_founder_admits_an_empty_founding_voter(void **state)
{
	/* Before any Raft message, every founding voter takes the id from the
	 * founder; an empty one may come back (it has done nothing yet). */
	struct admit_side founder = member(X, ADMIT_ROLE_VOTER), peer = empty();

	(void)state;
	founder.sealing = true;
	assert_int_equal(admit_peer(&founder, &peer), ADMIT_NEWCOMER);
	assert_int_equal(admit_peer(&peer, &founder), ADMIT_ADOPT);
	/* Sealed: never again, whatever anyone has committed. */
	founder.sealing = false;
	assert_int_equal(admit_peer(&founder, &peer), ADMIT_LOST_DATA);
	assert_int_equal(admit_peer(&peer, &founder), ADMIT_LOST_DATA);
}

static void an_empty_voter_of_a_founded_cluster_lost_its_data(void **state)
{
	/* The zombie: a follower whose folder was wiped, restarted with its
	 * old id. Neither side may let it back in as the member it was. */
	struct admit_side leader = member(X, ADMIT_ROLE_VOTER), wiped = empty();

	(void)state;
	assert_int_equal(admit_peer(&leader, &wiped), ADMIT_LOST_DATA);
	assert_int_equal(admit_peer(&wiped, &leader), ADMIT_LOST_DATA);
	assert_false(admit_talks(ADMIT_LOST_DATA));
}

static void an_empty_server_not_listed_is_a_stranger(void **state)
{
	struct admit_side self = member(X, ADMIT_ROLE_NONE), e = empty();
	struct admit_side other = member(X, ADMIT_ROLE_NONE);

	(void)state;
	assert_int_equal(admit_peer(&self, &e), ADMIT_STRANGER);
	assert_int_equal(admit_peer(&e, &other), ADMIT_STRANGER);
}

static void two_empty_servers_only_probe(void **state)
{
	struct admit_side a = empty(), b = empty();

	(void)state;
	assert_int_equal(admit_peer(&a, &b), ADMIT_PROBE);
	assert_false(admit_talks(ADMIT_PROBE));
}

/* Folder ids of this file's data folders: A the one a voter had when it
 * became one, B a new folder after A was lost. */
#define FOLDER_A UINT64_C(0xa1a1a1a1a1a1a1a1)
#define FOLDER_B UINT64_C(0xb2b2b2b2b2b2b2b2)

static void a_wiped_server_that_took_the_id_is_refused_under_a_bound_voter_id(void **state)
{
	/* The wiped learner took the cluster id from a stale member that lists
	 * it as a learner (ADOPT); a member that lists it as the voter it
	 * became, bound to its old folder, refuses it, and it refuses that
	 * member too. */
	struct admit_side stale = member(X, ADMIT_ROLE_LEARNER);
	struct admit_side current = member(X, ADMIT_ROLE_VOTER);
	struct admit_side wiped = empty();

	(void)state;
	wiped.folder = FOLDER_B;
	stale.folder = current.folder = UINT64_C(7);
	assert_int_equal(admit_peer(&wiped, &stale), ADMIT_ADOPT);
	wiped = member(X, ADMIT_ROLE_VOTER);
	wiped.folder = FOLDER_B;
	current.binds = FOLDER_A;
	wiped.binds = 0; /* its adopted state binds nobody yet */
	assert_int_equal(admit_peer(&current, &wiped), ADMIT_LOST_DATA);
	wiped.binds = UINT64_C(7);
	current.binds = 0;
	current.folder = UINT64_C(8); /* and the other way round */
	assert_int_equal(admit_peer(&current, &wiped), ADMIT_LOST_DATA);
}

static void a_voter_in_its_bound_folder_talks(void **state)
{
	struct admit_side a = member(X, ADMIT_ROLE_VOTER), b = member(X, ADMIT_ROLE_VOTER);

	(void)state;
	a.folder = FOLDER_A;
	b.folder = FOLDER_B;
	a.binds = FOLDER_B;
	b.binds = FOLDER_A;
	a.seen = FOLDER_B;
	assert_int_equal(admit_peer(&a, &b), ADMIT_OK);
	assert_int_equal(admit_peer(&b, &a), ADMIT_OK);
	/* B was seen as a learner in an earlier folder, lost it, and was
	 * promoted from its new one elsewhere: the binding decides. */
	b.seen = UINT64_C(0xc3);
	assert_int_equal(admit_peer(&b, &a), ADMIT_OK);
}

static void a_sealing_founder_admits_only_the_folder_it_bound(void **state)
{
	struct admit_side founder = member(X, ADMIT_ROLE_VOTER);
	struct admit_side voter = empty();

	(void)state;
	founder.sealing = true;
	founder.folder = UINT64_C(9);
	founder.binds = FOLDER_A;
	voter.folder = FOLDER_A;
	assert_int_equal(admit_peer(&founder, &voter), ADMIT_NEWCOMER);
	assert_int_equal(admit_peer(&voter, &founder), ADMIT_ADOPT);
	voter.folder = FOLDER_B; /* wiped while the founder seals */
	assert_int_equal(admit_peer(&founder, &voter), ADMIT_LOST_DATA);
	assert_int_equal(admit_peer(&voter, &founder), ADMIT_LOST_DATA);
}

static void a_learner_whose_folder_changed_starts_over(void **state)
{
	/* Not bound, and no longer empty (it took the id again): its progress
	 * must start over, or the leader would count entries it lost. */
	struct admit_side leader = member(X, ADMIT_ROLE_LEARNER);
	struct admit_side learner = member(X, ADMIT_ROLE_VOTER);

	(void)state;
	learner.folder = FOLDER_B;
	leader.seen = FOLDER_A;
	assert_int_equal(admit_peer(&leader, &learner), ADMIT_NEWCOMER);
	leader.seen = FOLDER_B;
	assert_int_equal(admit_peer(&leader, &learner), ADMIT_OK);
	leader.seen = 0; /* nothing admitted from it since this server started */
	assert_int_equal(admit_peer(&leader, &learner), ADMIT_OK);
}

static void an_unbound_voter_whose_folder_changed_lost_its_data(void **state)
{
	/* A voter of a restored cluster or of data older than binding. */
	struct admit_side self = member(X, ADMIT_ROLE_VOTER);
	struct admit_side voter = member(X, ADMIT_ROLE_VOTER);

	(void)state;
	voter.folder = FOLDER_B;
	self.seen = FOLDER_A;
	assert_int_equal(admit_peer(&self, &voter), ADMIT_LOST_DATA);
}

static void every_verdict_has_a_name(void **state)
{
	(void)state;
	for (int v = ADMIT_OK; v <= ADMIT_STRANGER; v++)
		assert_string_not_equal(admit_verdict_name((enum admit_verdict)v), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(members_of_one_cluster_talk),
	    cmocka_unit_test(servers_of_two_clusters_never_talk),
	    cmocka_unit_test(a_server_the_configuration_does_not_list_is_refused),
	    cmocka_unit_test(a_joining_server_without_configuration_hears_its_cluster),
	    cmocka_unit_test(a_lagging_server_admits_a_member_added_after_its_configuration),
	    cmocka_unit_test(an_empty_server_adopts_the_id_of_a_cluster_that_expects_it_as_learner),
	    cmocka_unit_test(a_cluster_admits_an_empty_learner_as_a_newcomer),
	    cmocka_unit_test(only_a_sealing_founder_admits_an_empty_founding_voter),
	    cmocka_unit_test(an_empty_voter_of_a_founded_cluster_lost_its_data),
	    cmocka_unit_test(an_empty_server_not_listed_is_a_stranger),
	    cmocka_unit_test(two_empty_servers_only_probe),
	    cmocka_unit_test(a_wiped_server_that_took_the_id_is_refused_under_a_bound_voter_id),
	    cmocka_unit_test(a_voter_in_its_bound_folder_talks),
	    cmocka_unit_test(a_sealing_founder_admits_only_the_folder_it_bound),
	    cmocka_unit_test(a_learner_whose_folder_changed_starts_over),
	    cmocka_unit_test(an_unbound_voter_whose_folder_changed_lost_its_data),
	    cmocka_unit_test(every_verdict_has_a_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
