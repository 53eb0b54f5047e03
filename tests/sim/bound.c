/* bound.c: the session bound (C-6), after the clients stopped.
 *
 *  C-6 a session ends at most its ttl plus two election timeouts after the
 *      last keepalive any leader could have accepted, however many
 *      elections come between (rule 8, L-3; docs/API.md, Sessions): a
 *      linearizable read of it sent later answers 404.
 *
 * When the phase starts every call has been answered and every node has
 * applied the same index (check_end), so no keepalive is accepted after
 * then: each session the clients still hold must be gone by the phase's
 * start + (ttl + 2 x election timeout) on the slowest clock (-5%), + the
 * time its EXPIRE takes to be proposed and to commit across a change of
 * leader (RT_BOUND_ALLOWANCE_US). Meanwhile the leadership moves every
 * 0.3-0.9 s: a transfer (POST /v1/leader/transfer) or, one time in four,
 * the leader cut off until another is elected. A lease keeper that gave
 * every session a fresh ttl at each election would keep them alive for as
 * long as that goes on (etcd #9888). The phase runs in half of the seeds:
 * its seven seconds cost a seed a fifth more.
 */
#include <stdio.h>
#include <string.h>

#include "rt.h"

#define RT_ELECTION_US        1000000u /* the nodes' --election-timeout-ms */
#define RT_BOUND_ALLOWANCE_US 1500000u
#define RT_BOUND_READS_US     (30u * 1000000u) /* a 200 or 404 for each read, by then */

/* Kept for the front until their answers come (static: a seed is a
 * process). */
static struct probe {
	int client;
	char session[40];
	int node;
	uint64_t sent_us;
	struct rt_answer ans;
	bool sent, done;
} probes[RT_CLIENTS_MAX];
static struct rt_answer transfer;
static bool transferring;

static void probe_send(struct rt_world *w, struct probe *p)
{
	char target[96];

	json_decref(p->ans.body);
	memset(&p->ans, 0, sizeof(p->ans));
	p->node = rt_pick_node(w);
	p->sent_us = w->now_us;
	p->sent = true;
	snprintf(target, sizeof(target), "/v1/sessions/%s", p->session);
	rt_trace(w, "bound: c%d's session -> n%d GET %s", p->client, p->node + 1, target);
	rt_front_send(w, p->node, "GET", target, NULL, &p->ans);
}

/* One move of the leadership: a transfer asked of a member, or the leader
 * cut off (healed at the next move). */
static void churn(struct rt_world *w, int *cut)
{
	int leader = rt_leader(w);

	if (*cut >= 0) {
		rt_net_isolate(w, *cut, false);
		w->nodes[*cut].partitioned = false;
		*cut = -1;
	}
	if (leader >= 0 && sim_chance(&w->rng, 250)) {
		rt_trace(w, "bound: n%d (the leader) is cut off", leader + 1);
		rt_net_isolate(w, leader, true);
		w->nodes[leader].partitioned = true;
		*cut = leader;
		return;
	}
	if (transferring && !transfer.answered && !transfer.lost)
		return; /* the last one is still under way */
	json_decref(transfer.body);
	memset(&transfer, 0, sizeof(transfer));
	transferring = true;
	rt_trace(w, "bound: leadership transfer asked");
	rt_front_send(w, rt_pick_node(w), "POST", "/v1/leader/transfer", "{}", &transfer);
}

void rt_bound_phase(struct rt_world *w)
{
	const char *ids[RT_CLIENTS_MAX];
	int clients[RT_CLIENTS_MAX], n, cut = -1;
	uint64_t start = w->now_us, next_move = start, check_at, give_up;

	n = rt_clients_sessions(ids, clients, RT_CLIENTS_MAX);
	if (n == 0 || !sim_chance(&w->rng, 500))
		return;
	check_at = start + (uint64_t)((double)(RT_TTL_US + 2 * RT_ELECTION_US) / 0.95) +
	           RT_BOUND_ALLOWANCE_US;
	give_up = check_at + RT_BOUND_READS_US;
	memset(probes, 0, sizeof(probes));
	memset(&transfer, 0, sizeof(transfer));
	transferring = false;
	for (int i = 0; i < n; i++) {
		probes[i].client = clients[i];
		snprintf(probes[i].session, sizeof(probes[i].session), "%s", ids[i]);
	}
	rt_trace(w, "bound: %d sessions must be gone by %.3f ms; the leadership moves meanwhile", n,
	         (double)check_at / 1000.0);
	for (;;) {
		bool all = true;

		rt_run_until(w, w->now_us + 10000);
		if (w->failed)
			break;
		if (w->now_us >= next_move) {
			churn(w, &cut);
			next_move = w->now_us + 300000 + sim_below(&w->rng, 600000);
		}
		for (int i = 0; i < n && w->now_us >= check_at; i++) {
			struct probe *p = &probes[i];
			bool back = p->ans.answered && p->ans.at_us <= w->now_us;

			if (p->done)
				continue;
			all = false;
			if (!p->sent || p->ans.lost ||
			    (back && p->ans.status != 200 && p->ans.status != 404)) {
				probe_send(w, p); /* no leader yet, busy, a redirect: again */
				continue;
			}
			if (!back && w->now_us - p->sent_us > RT_CALL_GIVEUP_US) {
				rt_fail(w, "C-1: c%d's session's read to n%d unanswered after %u s",
				        p->client, p->node + 1, RT_CALL_GIVEUP_US / 1000000u);
				break;
			}
			if (!back)
				continue;
			p->done = true;
			rt_trace(w, "bound: c%d's session <- n%d %u", p->client, p->node + 1,
			         p->ans.status);
			if (p->ans.status == 200)
				rt_fail(
				    w,
				    "C-6: c%d's session still lives %.0f ms after the last "
				    "keepalive could be accepted (bound: ttl + 2 election timeouts "
				    "+ %u ms)",
				    p->client, (double)(p->sent_us - start) / 1000.0,
				    RT_BOUND_ALLOWANCE_US / 1000u);
		}
		if (w->now_us >= check_at && all)
			break;
		if (w->now_us >= give_up) {
			rt_fail(w, "C-6: the sessions' reads found no answering leader in %u s",
			        RT_BOUND_READS_US / 1000000u);
			break;
		}
	}
	if (cut >= 0) {
		rt_net_isolate(w, cut, false);
		w->nodes[cut].partitioned = false;
	}
	for (int i = 0; i < n; i++) {
		json_decref(probes[i].ans.body);
		probes[i].ans.body = NULL;
	}
}
