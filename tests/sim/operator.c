/* operator.c: an operator who changes the cluster through the real API
 * while the faults strike, in one of two plans:
 *  - grow and shrink: add the spare (started with --join) as a learner,
 *    promote it once caught up, then remove one of the founders, which
 *    stops for good, or, in half of these seeds, keeps running with its
 *    data (its election timers fire, it campaigns, it dials the others:
 *    removed.c's I13 says it must not disrupt the cluster);
 *  - replace a lost server: a founder's disk is lost (its folder wiped)
 *    and the server is started again on the empty folder, as a careless
 *    restart would (the others must refuse it: lost data); the operator
 *    adds the spare as a learner and swaps it in for the lost voter in one
 *    change (POST /v1/members/replace). The lost server keeps running
 *    afterwards, removed, on its empty folder.
 * Each step is asked again until its outcome is known, as an operator
 * would after a 503 or 504: a repeated add answers 409 conflict once the
 * id is in, a repeated promotion 200, a repeated removal or replacement
 * 404. Its calls are held to C-1 like the clients'. */
#include <stdio.h>
#include <string.h>

#include "node_internal.h"
#include "rt.h"

#define OP_KEEP_REMOVED_PER_MILLE 500 /* grow-and-shrink seeds whose removed founder runs on */
#define OP_SEED                   0x6f70657261746f72ull /* its own generator's, mixed with the seed */

enum step { STEP_WIPE, STEP_ADD, STEP_PROMOTE, STEP_REMOVE, STEP_REPLACE, STEP_DONE };

static struct {
	enum step step;
	bool replace; /* the plan: replace a lost server (else grow and shrink) */
	int spare, victim;
	bool waiting;
	int node;
	uint64_t sent_us;
	struct rt_answer ans;
} op;

static struct sim_rng own;

static const char *const step_names[] = {"wipe", "add", "promote", "remove", "replace", "done"};

static void later(struct rt_world *w, uint64_t us)
{
	rt_push(w, w->now_us + us, RT_EV_OPERATOR, -1, NULL, 0);
}

void rt_operator_start(struct rt_world *w)
{
	memset(&op, 0, sizeof(op));
	op.spare = op.victim = -1;
	for (int i = 0; i < w->n_nodes; i++)
		if (w->nodes[i].spare)
			op.spare = i;
	if (op.spare < 0)
		return;
	op.replace = sim_chance(&w->rng, 500);
	op.step = op.replace ? STEP_WIPE : STEP_ADD;
	/* From a generator of its own, so that every other draw of the seed
	 * stays as it was. */
	sim_rng_seed(&own, w->seed ^ OP_SEED);
	w->keep_removed = !op.replace && sim_chance(&own, OP_KEEP_REMOVED_PER_MILLE);
	if (w->keep_removed)
		rt_trace(w, "operator: the founder it removes will keep running");
	rt_push(w, 1000000 + sim_below(&w->rng, 2000000), RT_EV_OPERATOR, -1, NULL, 0);
}

bool rt_operator_idle(const struct rt_world *w)
{
	(void)w;
	return !op.waiting;
}

static void op_send(struct rt_world *w)
{
	char target[64], body[160];
	const char *method = "POST", *b = NULL;

	switch (op.step) {
	case STEP_ADD:
		snprintf(target, sizeof(target), "/v1/members");
		snprintf(body, sizeof(body), "{\"id\":%d, \"raft\":\"%s\"}", op.spare + 1,
		         w->nodes[op.spare].raft);
		b = body;
		break;
	case STEP_PROMOTE:
		snprintf(target, sizeof(target), "/v1/members/%d/promote", op.spare + 1);
		break;
	case STEP_REMOVE:
		snprintf(target, sizeof(target), "/v1/members/%d", op.victim + 1);
		method = "DELETE";
		break;
	case STEP_REPLACE:
		snprintf(target, sizeof(target), "/v1/members/replace");
		snprintf(body, sizeof(body),
		         "{\"remove\":%d, \"add\":{\"id\":%d, \"raft\":\"%s\"}}", op.victim + 1,
		         op.spare + 1, w->nodes[op.spare].raft);
		b = body;
		break;
	case STEP_WIPE:
	case STEP_DONE:
		return;
	}
	op.node = rt_pick_node(w);
	op.waiting = true;
	op.sent_us = w->now_us;
	rt_trace(w, "operator -> n%d %s %s %s", op.node + 1, method, target, b ? b : "");
	rt_front_send(w, op.node, method, target, b, &op.ans);
}

static const char *error_of(json_t *body)
{
	const char *e = json_string_value(json_object_get(body, "error"));

	return e ? e : "";
}

/* The answer to the step in flight: the next step, or the same again. */
static void take(struct rt_world *w)
{
	unsigned st = op.ans.status;
	const char *e = error_of(op.ans.body);

	rt_trace(w, "operator <- n%d %s %u %s", op.node + 1, step_names[op.step], st, e);
	switch (op.step) {
	case STEP_ADD:
		if (st == 201 || (st == 409 && strcmp(e, "conflict") == 0)) {
			w->nodes[op.spare].member = true;
			op.step = op.replace ? STEP_REPLACE : STEP_PROMOTE;
		}
		break;
	case STEP_REPLACE:
		/* 404: the lost voter is gone already (an earlier attempt whose
		 * answer was lost) and the spare is a voter. */
		if (st == 200 || (st == 404 && strcmp(e, "member_not_found") == 0)) {
			rt_node_replaced(w, op.victim);
			op.step = STEP_DONE;
		}
		break;
	case STEP_PROMOTE:
		if (st == 200) {
			/* A founder to remove: any that is still a member. */
			int n = 0, pick;

			for (int i = 0; i < w->n_founders; i++)
				n += w->nodes[i].member;
			pick = n ? (int)sim_below(&w->rng, (uint64_t)n) : -1;
			for (int i = 0; i < w->n_founders && op.victim < 0; i++)
				if (w->nodes[i].member && pick-- == 0)
					op.victim = i;
			op.step = op.victim >= 0 ? STEP_REMOVE : STEP_DONE;
		}
		break;
	case STEP_REMOVE:
		if (st == 200 || (st == 404 && strcmp(e, "member_not_found") == 0)) {
			rt_node_removed(w, op.victim);
			op.step = STEP_DONE;
		}
		break;
	case STEP_WIPE: /* no call: rt_operator_event() wipes */
	case STEP_DONE:
		break;
	}
	json_decref(op.ans.body);
	op.ans.body = NULL;
}

void rt_operator_event(struct rt_world *w, struct rt_event *ev)
{
	(void)ev;
	if (op.waiting) {
		if (op.ans.answered && w->now_us >= op.ans.at_us) {
			op.waiting = false;
			take(w);
		} else if (op.ans.lost) {
			op.waiting = false;
		} else if (w->now_us - op.sent_us > RT_CALL_GIVEUP_US) {
			rt_fail(w, "C-1: the operator's %s to n%d unanswered after %u s",
			        step_names[op.step], op.node + 1, RT_CALL_GIVEUP_US / 1000000u);
			return;
		} else {
			return later(w, 1000);
		}
		if (op.step != STEP_DONE)
			later(w, 200000 + sim_below(&w->rng, 600000));
		return;
	}
	if (w->now_us >= w->end_us) /* the settle: no new change */
		return;
	if (op.step == STEP_WIPE) {
		/* A founder that is up loses its disk: the one to replace. Not
		 * before every founder holds the committed configuration (a
		 * founder that lost its disk before then leaves a cluster that
		 * cannot be saved, only founded again). */
		int n = 0, pick;

		for (int i = 0; i < w->n_founders; i++)
			if (w->nodes[i].up && raft_commit_index(w->nodes[i].n->raft) < 2)
				return later(w, 300000);
		for (int i = 0; i < w->n_founders; i++)
			n += w->nodes[i].member && w->nodes[i].up;
		pick = n ? (int)sim_below(&w->rng, (uint64_t)n) : -1;
		for (int i = 0; i < w->n_founders && op.victim < 0; i++)
			if (w->nodes[i].member && w->nodes[i].up && pick-- == 0)
				op.victim = i;
		if (op.victim < 0)
			return later(w, 300000); /* none up now: later */
		rt_node_wipe(w, op.victim);
		op.step = STEP_ADD;
		return later(w, 300000 + sim_below(&w->rng, 500000));
	}
	op_send(w);
	later(w, 1000);
}
