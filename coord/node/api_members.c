/* Members and leadership (docs/API.md, Operating a cluster): list the
 * members, add a learner, promote it, remove a member, replace one, and
 * transfer leadership. Each runs on the leader (ADMIN, api.h): it checks the
 * request against the configuration in force, starts the change in the core
 * (one at a time, rule 10), and answers once the change is done: the
 * configuration that carries it is committed, or the new leader leads. A
 * change whose fate this node no longer sees (leadership moved) is 504: it
 * may still complete (rule 12). */
#include <string.h>

#include "api.h"
#include "log.h"
#include "node_calls.h"
#include "node_core.h"
#include "node_internal.h"
#include "node_join.h"
#include "node_leader.h"

/* A call's progress: checked and not started; a removal's RETIRE entry
 * proposed; the change started in the core. */
enum { STAGE_START = 0, STAGE_RETIRING, STAGE_WAIT };

/* A transfer to "the best voter" picks among those heard within this many
 * heartbeats. */
#define NODE_TRANSFER_FRESH_HEARTBEATS 3

static const struct raft_server *find(const struct raft_conf *conf, uint64_t id)
{
	for (uint32_t i = 0; i < conf->n; i++)
		if (conf->servers[i].id == id)
			return &conf->servers[i];
	return NULL;
}

static bool is_voter(const struct raft_conf *conf, uint64_t id)
{
	const struct raft_server *s = find(conf, id);

	return s && s->role == RAFT_VOTER;
}

/* The configuration in force is committed and not joint. */
static bool conf_settled(const struct node *n)
{
	return !raft_conf(n->raft)->joint && raft_conf_index(n->raft) <= raft_commit_index(n->raft);
}

static json_t *member_json(const struct node *n, const struct raft_server *s)
{
	uint64_t match = 0, idle = 0;
	bool known = raft_peer_progress(n->raft, s->id, &match, &idle);
	const char *http = s->id == n->cfg.id ? n->cfg.http : node_peer_http(n, s->id);
	char folder[NODE_FOLDER_HEX + 1];

	node_folder_hex(s->folder, folder);
	return json_pack("{s:I, s:s, s:s?, s:s, s:s?, s:o, s:o}", "id", (json_int_t)s->id, "raft",
	                 s->addr, "http", http, "role", s->role == RAFT_VOTER ? "voter" : "learner",
	                 "folder", s->folder ? folder : NULL, "match_index",
	                 known ? json_integer((json_int_t)match) : json_null(), "last_contact_ms",
	                 known && idle != UINT64_MAX
	                     ? json_integer((json_int_t)(idle * NODE_TICK_MS))
	                     : json_null());
}

static json_t *members_array(const struct node *n)
{
	const struct raft_conf *conf = raft_conf(n->raft);
	json_t *a = json_array();

	for (uint32_t i = 0; a && i < conf->n; i++)
		json_array_append_new(a, member_json(n, &conf->servers[i]));
	return a;
}

/* A voter counts as active when it answered within an election timeout. */
static bool active(const struct node *n, uint64_t id)
{
	uint64_t match, idle;

	return raft_peer_progress(n->raft, id, &match, &idle) &&
	       idle * NODE_TICK_MS <= n->cfg.election_ms;
}

/* The strict check of a change to the voters VOTERS (N of them): refused
 * when fewer of them answer now than the new majority needs, so that a
 * change never makes the cluster unavailable (etcd's strict reconfig). */
static bool quorum_kept(const struct node *n, const uint64_t *voters, size_t count, size_t *alive)
{
	*alive = 0;
	for (size_t i = 0; i < count; i++)
		*alive += active(n, voters[i]);
	return *alive >= count / 2 + 1;
}

/* The voters of the configuration in force, without DROP, with ADD (0: none). */
static size_t voters_with(const struct node *n, uint64_t drop, uint64_t add, uint64_t *out)
{
	const struct raft_conf *conf = raft_conf(n->raft);
	size_t k = 0;

	for (uint32_t i = 0; i < conf->n; i++)
		if (conf->servers[i].role == RAFT_VOTER && conf->servers[i].id != drop)
			out[k++] = conf->servers[i].id;
	if (add)
		out[k++] = add;
	return k;
}

/* Answers a core's refusal of a change. */
static void refused(struct node *n, struct ncall *c, int rc)
{
	if (rc == RAFT_EBUSY)
		return node_answer_error(n, c, HTTP_ERR_CHANGE_IN_PROGRESS, NULL,
		                         "another membership change or a leadership transfer is "
		                         "in progress; retry when it is done");
	if (rc == RAFT_ENOTLEADER)
		return node_answer_error(n, c, HTTP_ERR_NO_LEADER, NULL,
		                         "this node stopped leading; retry");
	if (rc == RAFT_ENOTCAUGHTUP) /* change_voters(): not heard from */
		return node_answer_error(n, c, HTTP_ERR_NOT_CAUGHT_UP, NULL,
		                         "the learner is not connected to the leader; retry once "
		                         "it is");
	node_answer_error(n, c, HTTP_ERR_INVALID_ARGUMENT, NULL, "the change was refused: %s",
	                  raft_strerror(rc));
}

/* Starts a change and waits for it, or answers the refusal. */
static void started(struct node *n, struct ncall *c, int rc)
{
	if (rc != RAFT_OK)
		return refused(n, c, rc);
	c->stage = STAGE_WAIT;
	c->index = raft_conf_index(n->raft);
	if (c->req->op == HTTP_OP_LEADER_TRANSFER)
		n->metrics.transfers++;
	else
		n->metrics.member_changes++;
	LOG_INFO("membership: %s of node %llu started at index %llu", http_op_name(c->req->op),
	         (unsigned long long)c->target, (unsigned long long)c->index);
	node_admin_wait(n, c);
}

/* Until the change is done: DONE is whether it is. */
static bool waiting(struct node *n, struct ncall *c, bool done)
{
	if (done)
		return false;
	if (raft_conf_index(n->raft) < c->index)
		node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                  "the change was lost in a leader change; retry");
	else if (raft_role(n->raft) != RAFT_LEADER && !conf_settled(n))
		node_answer_error(n, c, HTTP_ERR_TIMEOUT, NULL,
		                  "leadership moved during the change; it may still complete: "
		                  "see GET /v1/members");
	else
		node_admin_wait(n, c);
	return true;
}

/* GET /v1/members ------------------------------------------------------------------ */

static void list_admin(struct node *n, struct ncall *c)
{
	uint64_t leader = raft_leader(n->raft);

	node_answer(n, c, 200,
	            json_pack("{s:o, s:o, s:I, s:b}", "members", members_array(n), "leader",
	                      leader ? json_integer((json_int_t)leader) : json_null(),
	                      "config_index", (json_int_t)raft_conf_index(n->raft), "joint",
	                      raft_conf(n->raft)->joint));
}

/* POST /v1/members ---------------------------------------------------------------- */

/* A new member's id and address may not be in the configuration. */
static bool taken(struct node *n, struct ncall *c, uint64_t id, const char *raft)
{
	const struct raft_conf *conf = raft_conf(n->raft);

	bool retired = false;

	if (find(conf, id)) {
		node_answer_error(n, c, HTTP_ERR_CONFLICT, NULL, "node %llu is already a member",
		                  (unsigned long long)id);
		return true;
	}
	if (n->installing || coord_sm_member_retired(n->db, id, &retired) != 0) {
		node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL, "the leader is busy; retry");
		return true;
	}
	if (retired) {
		node_answer_error(n, c, HTTP_ERR_CONFLICT, NULL,
		                  "node %llu was removed, and a removed id is never used again: "
		                  "give the new server another id",
		                  (unsigned long long)id);
		return true;
	}
	for (uint32_t i = 0; i < conf->n; i++)
		if (strcmp(conf->servers[i].addr, raft) == 0) {
			node_answer_error(n, c, HTTP_ERR_CONFLICT, NULL,
			                  "node %llu already has the address %s",
			                  (unsigned long long)conf->servers[i].id, raft);
			return true;
		}
	if (conf->n >= RAFT_MAX_SERVERS) {
		node_answer_error(n, c, HTTP_ERR_TOO_MANY, NULL,
		                  "a cluster has at most %d members, learners included",
		                  RAFT_MAX_SERVERS);
		return true;
	}
	return false;
}

static void add_admin(struct node *n, struct ncall *c)
{
	const struct raft_server *s;

	if (c->stage == STAGE_START) {
		c->target = c->req->member;
		if (taken(n, c, c->target, c->req->raft))
			return;
		return started(n, c, raft_add_learner(n->raft, c->target, c->req->raft));
	}
	s = find(raft_conf(n->raft), c->target);
	if (waiting(n, c, s && raft_conf_index(n->raft) <= raft_commit_index(n->raft)))
		return;
	node_answer(n, c, 201, json_pack("{s:o}", "member", member_json(n, s)));
}

/* POST /v1/members/{id}/promote ------------------------------------------------------ */

/* A learner must have every committed entry to vote (rule 10); the lag is
 * how many it still misses. */
static uint64_t lag_of(const struct node *n, uint64_t id)
{
	uint64_t match = 0, idle = 0, commit = raft_commit_index(n->raft);

	raft_peer_progress(n->raft, id, &match, &idle);
	return match < commit ? commit - match : 0;
}

static bool lagging(struct node *n, struct ncall *c, uint64_t id)
{
	uint64_t lag = lag_of(n, id);

	if (lag == 0)
		return false;
	node_answer_error(n, c, HTTP_ERR_NOT_CAUGHT_UP, json_pack("{s:I}", "lag", (json_int_t)lag),
	                  "node %llu is %llu entries behind the commit index; promote it once it "
	                  "has caught up",
	                  (unsigned long long)id, (unsigned long long)lag);
	return true;
}

/* Voters to change to, checked against who answers now, unless ?force. */
static bool unsafe(struct node *n, struct ncall *c, const uint64_t *voters, size_t count)
{
	size_t alive;

	if (quorum_kept(n, voters, count, &alive) || c->req->force)
		return false;
	node_answer_error(n, c, HTTP_ERR_CONFLICT, NULL,
	                  "the new configuration of %zu voters needs %zu of them answering, but "
	                  "only %zu answer now; bring the others back first (or ?force)",
	                  count, count / 2 + 1, alive);
	return true;
}

/* The member the path names becomes C's target; false (answered 404) when
 * the configuration has none of that id. */
static bool named_member(struct node *n, struct ncall *c)
{
	c->target = c->req->member;
	if (find(raft_conf(n->raft), c->target))
		return true;
	node_answer_error(n, c, HTTP_ERR_MEMBER_NOT_FOUND, NULL, "node %llu is not a member",
	                  (unsigned long long)c->target);
	return false;
}

/* raft_change_voters(), binding each learner it promotes to the data folder
 * it said HELLO from (admit.h); one not heard from since this node started
 * cannot be known caught up. */
static int change_voters(struct node *n, const uint64_t *voters, size_t count)
{
	uint64_t folders[RAFT_MAX_SERVERS + 1];

	for (size_t i = 0; i < count; i++) {
		folders[i] =
		    voters[i] == n->cfg.id ? n->folder_id : node_join_peer_folder(n, voters[i]);
		if (folders[i] == 0 && !is_voter(raft_conf(n->raft), voters[i]))
			return RAFT_ENOTCAUGHTUP;
	}
	return raft_change_voters(n->raft, voters, folders, count);
}

static void promote_admin(struct node *n, struct ncall *c)
{
	const struct raft_conf *conf = raft_conf(n->raft);
	uint64_t voters[RAFT_MAX_SERVERS + 1];
	size_t count;

	if (c->stage == STAGE_START) {
		if (!named_member(n, c))
			return;
		if (is_voter(conf, c->target) && conf_settled(n))
			return node_answer(
			    n, c, 200,
			    json_pack("{s:o}", "member", member_json(n, find(conf, c->target))));
		if (!conf_settled(n))
			return refused(n, c, RAFT_EBUSY);
		if (lagging(n, c, c->target))
			return;
		count = voters_with(n, 0, c->target, voters);
		if (unsafe(n, c, voters, count))
			return;
		return started(n, c, change_voters(n, voters, count));
	}
	if (waiting(n, c, is_voter(conf, c->target) && conf_settled(n)))
		return;
	node_answer(n, c, 200, json_pack("{s:o}", "member", member_json(n, find(conf, c->target))));
}

/* DELETE /v1/members/{id} --------------------------------------------------------- */

/* The voters after removing C->target, into VOTERS (a learner leaves the
 * voters as they are); false, with C answered, when it would leave no
 * voter or too few answering (the removed member is then a voter). */
static bool remove_allowed(struct node *n, struct ncall *c, uint64_t *voters, size_t *count)
{
	if (!conf_settled(n)) {
		refused(n, c, RAFT_EBUSY);
		return false;
	}
	if (!is_voter(raft_conf(n->raft), c->target))
		return true;
	*count = voters_with(n, c->target, 0, voters);
	if (*count == 0) {
		node_answer_error(n, c, HTTP_ERR_CONFLICT, NULL,
		                  "node %llu is the last voter; a cluster needs one",
		                  (unsigned long long)c->target);
		return false;
	}
	return !unsafe(n, c, voters, *count);
}

/* A change that removes C->target first retires its id through the log
 * (RETIRE), so that it is never added again whatever becomes of the
 * change. At STAGE_START this proposes the entry; at STAGE_RETIRING it
 * waits for it to apply. Returns true when it answered C or waits, false
 * once the id is retired and the change itself may start. */
static bool retiring(struct node *n, struct ncall *c)
{
	struct coord_cmd cmd = {.type = COORD_CMD_RETIRE, .now_ms = node_stamp_ms(n)};
	bool retired = false;

	if (c->stage == STAGE_START) {
		if (!conf_settled(n)) {
			refused(n, c, RAFT_EBUSY);
			return true;
		}
		cmd.member = c->target;
		if (!node_propose(n, &cmd, &c->index, &c->term)) {
			node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
			                  "the leader cannot take a proposal now; retry");
			return true;
		}
		c->stage = STAGE_RETIRING;
		node_admin_wait(n, c);
		return true;
	}
	if (raft_role(n->raft) != RAFT_LEADER) {
		node_answer_error(n, c, HTTP_ERR_TIMEOUT, NULL,
		                  "leadership moved during the change; it may still complete: "
		                  "see GET /v1/members");
		return true;
	}
	if (n->installing || node_applied(n) < c->index) {
		node_admin_wait(n, c);
		return true;
	}
	if (coord_sm_member_retired(n->db, c->target, &retired) != 0 || !retired) {
		node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                  "the change was lost in a leader change; retry");
		return true;
	}
	return false;
}

/* A learner leaves in one entry, a voter by joint consensus; checked
 * before the id is retired, so that a refusal changes nothing, and again
 * after, when the change starts. The leader may remove itself: it runs the
 * change and steps down once the configuration without it commits (thesis
 * 4.2.2). */
static void remove_admin(struct node *n, struct ncall *c)
{
	uint64_t voters[RAFT_MAX_SERVERS + 1];
	size_t count = 0;

	if (c->stage == STAGE_START &&
	    (!named_member(n, c) || !remove_allowed(n, c, voters, &count)))
		return;
	if (c->stage != STAGE_WAIT) {
		if (retiring(n, c))
			return;
		if (!find(raft_conf(n->raft), c->target)) /* gone meanwhile */
			return node_answer(n, c, 200,
			                   json_pack("{s:I}", "removed", (json_int_t)c->target));
		if (!remove_allowed(n, c, voters, &count))
			return;
		if (!is_voter(raft_conf(n->raft), c->target))
			return started(n, c, raft_remove_learner(n->raft, c->target));
		return started(n, c, change_voters(n, voters, count));
	}
	if (waiting(n, c, !find(raft_conf(n->raft), c->target) && conf_settled(n)))
		return;
	node_answer(n, c, 200, json_pack("{s:I}", "removed", (json_int_t)c->target));
}

/* POST /v1/members/replace -------------------------------------------------------- */

/* The voters after swapping C->target for the learner C->req->member, into
 * VOTERS; false, with C answered, when the swap cannot be done now. */
static bool replace_allowed(struct node *n, struct ncall *c, uint64_t *voters, size_t *count)
{
	const struct raft_conf *conf = raft_conf(n->raft);
	const struct raft_server *add = find(conf, c->req->member);

	if (!is_voter(conf, c->target)) {
		node_answer_error(n, c, HTTP_ERR_MEMBER_NOT_FOUND, NULL, "node %llu is not a voter",
		                  (unsigned long long)c->target);
		return false;
	}
	if (!add || add->role != RAFT_LEARNER) {
		node_answer_error(n, c, HTTP_ERR_MEMBER_NOT_FOUND, NULL,
		                  "node %llu is not a learner: add it first (POST /v1/members) and "
		                  "let it catch up",
		                  (unsigned long long)c->req->member);
		return false;
	}
	if (strcmp(add->addr, c->req->raft) != 0) {
		node_answer_error(n, c, HTTP_ERR_CONFLICT, NULL,
		                  "node %llu was added with the address %s",
		                  (unsigned long long)add->id, add->addr);
		return false;
	}
	if (!conf_settled(n)) {
		refused(n, c, RAFT_EBUSY);
		return false;
	}
	if (lagging(n, c, add->id))
		return false;
	*count = voters_with(n, c->target, add->id, voters);
	return !unsafe(n, c, voters, *count);
}

/* Checked before the old id is retired, so that a refusal changes
 * nothing, and again after, when the change starts. */
static void replace_admin(struct node *n, struct ncall *c)
{
	const struct raft_conf *conf = raft_conf(n->raft);
	uint64_t voters[RAFT_MAX_SERVERS + 1];
	size_t count = 0;

	if (c->stage == STAGE_START) {
		c->target = c->req->remove;
		if (!replace_allowed(n, c, voters, &count))
			return;
	}
	if (c->stage != STAGE_WAIT) {
		if (retiring(n, c))
			return;
		/* The learner was caught up; it is getting the RETIRE entry. */
		if (lag_of(n, c->req->member) > 0 && find(conf, c->req->member))
			return node_admin_wait(n, c);
		if (!replace_allowed(n, c, voters, &count))
			return;
		return started(n, c, change_voters(n, voters, count));
	}
	if (waiting(n, c,
	            !find(conf, c->target) && is_voter(conf, c->req->member) && conf_settled(n)))
		return;
	node_answer(n, c, 200, json_pack("{s:o}", "members", members_array(n)));
}

/* POST /v1/leader/transfer -------------------------------------------------------- */

/* The voter that would take over soonest: the most caught up of those
 * that answered within a few heartbeats (not an election timeout: one that
 * froze a moment ago would be picked and never campaign). */
uint64_t node_best_voter(const struct node *n)
{
	const struct raft_conf *conf = raft_conf(n->raft);
	uint64_t best = 0, best_match = 0;

	for (uint32_t i = 0; i < conf->n; i++) {
		uint64_t id = conf->servers[i].id, match, idle;

		if (id == n->cfg.id || conf->servers[i].role != RAFT_VOTER ||
		    !raft_peer_progress(n->raft, id, &match, &idle) ||
		    idle * NODE_TICK_MS > NODE_TRANSFER_FRESH_HEARTBEATS * n->cfg.heartbeat_ms)
			continue;
		if (!best || match > best_match) {
			best = id;
			best_match = match;
		}
	}
	return best;
}

static void transfer_admin(struct node *n, struct ncall *c)
{
	const struct raft_conf *conf = raft_conf(n->raft);
	uint64_t leader = raft_leader(n->raft);
	uint64_t budget = 2ull * n->cfg.election_ms;

	if (c->stage == STAGE_START) {
		c->target = c->req->member ? c->req->member : node_best_voter(n);
		if (c->target == n->cfg.id)
			return node_answer(n, c, 200,
			                   json_pack("{s:I}", "leader", (json_int_t)leader));
		if (c->target == 0)
			return node_answer_error(n, c, HTTP_ERR_CONFLICT, NULL,
			                         "no other voter answers; nobody can take over");
		if (!is_voter(conf, c->target))
			return node_answer_error(n, c, HTTP_ERR_MEMBER_NOT_FOUND, NULL,
			                         "node %llu is not a voter",
			                         (unsigned long long)c->target);
		/* The contract: an election timeout or two, not the change budget. */
		if (c->admin_deadline_ms > node_now_ms() + budget)
			c->admin_deadline_ms = node_now_ms() + budget;
		return started(n, c, raft_transfer(n->raft, c->target));
	}
	if (leader == c->target)
		return node_answer(n, c, 200, json_pack("{s:I}", "leader", (json_int_t)leader));
	if (leader != 0 && leader != n->cfg.id)
		return node_answer_error(n, c, HTTP_ERR_UNAVAILABLE, NULL,
		                         "node %llu took over instead of node %llu",
		                         (unsigned long long)leader, (unsigned long long)c->target);
	node_admin_wait(n, c);
}

const struct node_api node_api_members[] = {
    {.op = HTTP_OP_MEMBER_LIST, .admin = list_admin},
    {.op = HTTP_OP_MEMBER_ADD, .admin = add_admin},
    {.op = HTTP_OP_MEMBER_PROMOTE, .admin = promote_admin},
    {.op = HTTP_OP_MEMBER_REMOVE, .admin = remove_admin},
    {.op = HTTP_OP_MEMBER_REPLACE, .admin = replace_admin},
    {.op = HTTP_OP_LEADER_TRANSFER, .admin = transfer_admin},
    {.op = 0},
};
