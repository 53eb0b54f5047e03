/* coordctl member (list, add [--wait], promote, remove, replace) and leader
 * transfer: the cluster's configuration (docs/API.md, Cluster and
 * operations). Each prints the answer and exits with coordctl's codes. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "membership.h"

static void pause_ms(uint64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* Parses the words of a member command and its ids (the first NIDS
 * positional words) and Raft address (the word after them, if HAS_RAFT). */
static int member_args(int argc, char **argv, unsigned allowed, int nids, bool has_raft,
                       struct ctl_args *a, uint64_t ids[2], bool *done)
{
	char err[CTL_ERR_MAX];
	int rc = ctl_args("member", argc, argv, allowed, nids + (has_raft ? 1 : 0), a, done);

	if (*done)
		return rc;
	for (int i = 0; rc == 0 && i < nids; i++)
		rc = ctl_node_id(nids == 1 ? "ID"
		                 : i == 0  ? "OLD"
		                           : "NEW",
		                 a->pos[i], &ids[i], err);
	if (rc == 0 && has_raft)
		rc = ctl_raft_address(a->pos[nids], err);
	if (rc != 0) {
		fprintf(stderr, "coordctl member: %s\n", err);
		*done = true;
	}
	return rc;
}

static int member_list(struct ctl *ctl, int argc, char **argv)
{
	struct coordc_members m;
	struct coordc_reply r;
	struct ctl_args a;
	bool done;
	int rc = ctl_args("member", argc, argv, CTL_OPT_JSON, 0, &a, &done);

	if (done)
		return rc;
	rc = coordc_members_get(ctl->client, &m, &r);
	if (rc == COORDC_OK && r.kind == COORDC_DONE_OK && !a.json) {
		ctl_members_table(stdout, &m);
		coordc_reply_clear(&r);
		return CTL_EXIT_OK;
	}
	return ctl_finish("member list", rc, &r);
}

/* Promotes ID once the members show it caught up with the leader, or until
 * TIMEOUT_MS passes (CTL_EXIT_NOT_CAUGHT_UP). */
static int catch_up_and_promote(struct ctl *ctl, uint64_t id, uint64_t timeout_ms)
{
	uint64_t deadline = coordc_now_ms() + timeout_ms, target = 0, lag = 0, shown = UINT64_MAX;
	uint32_t pause = CTL_CATCHUP_PAUSE_MIN_MS;

	for (;;) {
		const struct coordc_member *e;
		struct coordc_members m;
		struct coordc_reply r;
		int rc = coordc_members_get(ctl->client, &m, &r);

		if (rc != COORDC_OK || r.kind != COORDC_DONE_OK)
			return ctl_finish("member list", rc, &r);
		coordc_reply_clear(&r);
		switch (ctl_catchup(&m, id, &target)) {
		case CTL_CATCHUP_GONE:
			fprintf(stderr, "coordctl: member %" PRIu64 " left the configuration\n",
			        id);
			return CTL_EXIT_FAIL;
		case CTL_CATCHUP_VOTER:
			fprintf(stderr, "coordctl: member %" PRIu64 " is a voter\n", id);
			return CTL_EXIT_OK;
		case CTL_CATCHUP_NO_LEADER:
			break;
		case CTL_CATCHUP_BEHIND:
			e = coordc_members_find(&m, id);
			if (e->match_index != shown) /* a line per step of progress */
				fprintf(stderr,
				        "coordctl: member %" PRIu64 ": match %" PRIu64
				        " of %" PRIu64 "\n",
				        id, e->match_index, target);
			shown = e->match_index;
			break;
		case CTL_CATCHUP_READY:
			rc = coordc_member_promote(ctl->client, id, NULL, &lag, &r);
			if (rc != COORDC_OK || r.kind == COORDC_DONE_OK ||
			    strcmp(r.error, "not_caught_up") != 0)
				return ctl_finish("member promote", rc, &r);
			fprintf(stderr,
			        "coordctl: member %" PRIu64 ": %" PRIu64 " entries behind\n", id,
			        lag);
			coordc_reply_clear(&r);
			target = 0; /* aim at the leader's newer index */
			break;
		}
		if (coordc_now_ms() + pause >= deadline) {
			fprintf(stderr,
			        "coordctl: member %" PRIu64 " not caught up within --timeout;"
			        " it stays a learner\n",
			        id);
			return CTL_EXIT_NOT_CAUGHT_UP;
		}
		pause_ms(pause);
		pause = pause * 2 < CTL_CATCHUP_PAUSE_MAX_MS ? pause * 2 : CTL_CATCHUP_PAUSE_MAX_MS;
	}
}

static int member_add(struct ctl *ctl, int argc, char **argv)
{
	struct coordc_reply r;
	struct ctl_args a;
	uint64_t ids[2];
	bool done;
	int rc =
	    member_args(argc, argv, CTL_OPT_CATCHUP | CTL_OPT_TIMEOUT, 1, true, &a, ids, &done);

	if (done)
		return rc;
	if (a.has_timeout && !a.catch_up) {
		fprintf(stderr, "coordctl member: --timeout goes with --wait\n");
		return CTL_EXIT_USAGE;
	}
	rc = coordc_member_add(ctl->client, ids[0], a.pos[1], NULL, &r);
	if (!a.catch_up || rc != COORDC_OK || r.kind != COORDC_DONE_OK)
		return ctl_finish("member add", rc, &r);
	coordc_reply_clear(&r);
	return catch_up_and_promote(ctl, ids[0], a.timeout_ms);
}

/* member promote ID | remove ID */
static int member_one(struct ctl *ctl, bool promote, int argc, char **argv)
{
	struct coordc_reply r;
	struct ctl_args a;
	uint64_t ids[2];
	bool done;
	int rc = member_args(argc, argv, 0, 1, false, &a, ids, &done);

	if (done)
		return rc;
	if (promote)
		return ctl_finish("member promote",
		                  coordc_member_promote(ctl->client, ids[0], NULL, NULL, &r), &r);
	return ctl_finish("member remove", coordc_member_remove(ctl->client, ids[0], &r), &r);
}

static int member_replace(struct ctl *ctl, int argc, char **argv)
{
	struct coordc_reply r;
	struct ctl_args a;
	uint64_t ids[2];
	bool done;
	int rc = member_args(argc, argv, 0, 2, true, &a, ids, &done);

	if (done)
		return rc;
	if (ids[0] == ids[1]) {
		fprintf(stderr, "coordctl member: replace needs two different ids\n");
		return CTL_EXIT_USAGE;
	}
	return ctl_finish("member replace",
	                  coordc_member_replace(ctl->client, ids[0], ids[1], a.pos[2], NULL, &r),
	                  &r);
}

int ctl_cmd_member(struct ctl *ctl, int argc, char **argv)
{
	const char *verb = argc > 0 ? argv[0] : "";

	if (argc < 1 || strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		ctl_help("member");
		return argc < 1 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
	}
	if (strcmp(verb, "list") == 0)
		return member_list(ctl, argc - 1, argv + 1);
	if (strcmp(verb, "add") == 0)
		return member_add(ctl, argc - 1, argv + 1);
	if (strcmp(verb, "promote") == 0 || strcmp(verb, "remove") == 0)
		return member_one(ctl, strcmp(verb, "promote") == 0, argc - 1, argv + 1);
	if (strcmp(verb, "replace") == 0)
		return member_replace(ctl, argc - 1, argv + 1);
	fprintf(stderr, "coordctl member: unknown '%s' (list, add, promote, remove, replace)\n",
	        verb);
	return CTL_EXIT_USAGE;
}

int ctl_leader_transfer(struct ctl *ctl, int argc, char **argv)
{
	struct coordc_reply r;
	struct ctl_args a;
	char err[CTL_ERR_MAX];
	uint64_t id = 0, leader;
	bool done;
	int rc = ctl_args_range("leader", argc, argv, 0, 0, 1, &a, &done);

	if (done)
		return rc;
	if (a.npos == 1 && ctl_node_id("ID", a.pos[0], &id, err) != 0) {
		fprintf(stderr, "coordctl leader transfer: %s\n", err);
		return CTL_EXIT_USAGE;
	}
	return ctl_finish("leader transfer", coordc_leader_transfer(ctl->client, id, &leader, &r),
	                  &r);
}
