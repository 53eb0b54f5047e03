/* coord_workload.c: the coord clients' commands (random session, lock,
 * election and key/value commands (coord_kv.c) stamped with the leader's
 * clock), what they learn from
 * applied results, and the session expiry invariant (see coord_client.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_client.h"

/* Commands ------------------------------------------------------------------------- */

static const char *const cc_lock_names[] = {"a", "b", "c"};
static const char *const cc_election_names[] = {"e1", "e2"};

static int cc_pick_session(struct sim_world *w)
{
	struct sim_coord *c = w->coord;
	int i = (int)sim_below(&w->rng, (uint64_t)c->n);

	/* Mostly sessions the client believes live; now and then an ended one
	 * (which must be refused). */
	if (c->s[i].state == CC_ENDED && !sim_chance(&w->rng, 100))
		i = (int)sim_below(&w->rng, (uint64_t)c->n);
	return i;
}

static void cc_make_open(struct sim_world *w, struct coord_cmd *cmd)
{
	struct sim_coord *c = w->coord;
	struct cc_session *s = &c->s[c->n];

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < COORD_SESSION_ID_LEN; i++)
		s->id.bytes[i] = (uint8_t)sim_rand(&w->rng);
	s->ttl_ms = COORD_TTL_MIN_MS + (uint32_t)sim_below(&w->rng, 2001);
	cmd->type = COORD_CMD_OPEN;
	cmd->session = s->id;
	cmd->ttl_ms = s->ttl_ms;
	cmd->lock_delay_ms = sim_chance(&w->rng, 500) ? (uint32_t)sim_below(&w->rng, 400) : 0;
	cmd->name = "sim";
	cmd->name_len = 3;
	cmd->actor = sim_coord_owner(&s->id);
	c->pending_open = c->n;
}

static void cc_make_lock_command(struct sim_world *w, struct coord_cmd *cmd)
{
	uint64_t r = sim_below(&w->rng, 100);
	bool election = sim_chance(&w->rng, 250);
	const char *name = election ? cc_election_names[sim_below(&w->rng, 2)]
	                            : cc_lock_names[sim_below(&w->rng, 3)];

	cmd->kind = election ? COORD_KIND_ELECTION : COORD_KIND_LOCK;
	cmd->name = name;
	cmd->name_len = strlen(name);
	if (r < 50) {
		cmd->type = COORD_CMD_ACQUIRE;
		cmd->mode = !election && sim_chance(&w->rng, 400) ? COORD_MODE_SHARED
		                                                  : COORD_MODE_EXCLUSIVE;
		cmd->queue = sim_chance(&w->rng, 600);
		cmd->has_value = sim_chance(&w->rng, 500);
	} else if (r < 75) {
		cmd->type = COORD_CMD_RELEASE;
	} else if (r < 85) {
		cmd->type = COORD_CMD_CANCEL;
	} else if (r < 95) {
		cmd->type = COORD_CMD_PROCLAIM;
		cmd->kind = COORD_KIND_ELECTION;
		cmd->name = cc_election_names[sim_below(&w->rng, 2)];
		cmd->name_len = strlen(cmd->name);
		cmd->has_value = true;
	} else {
		cmd->type = COORD_CMD_CLOSE;
	}
	if (cmd->has_value) {
		cmd->value = "v";
		cmd->value_len = 1;
	}
}

size_t sim_coord_command(struct sim_world *w, int slot, uint8_t *buf, size_t cap)
{
	struct sim_coord *c = w->coord;
	struct coord_cmd cmd = {.now_ms = cc_stamp(w, slot)};
	struct cc_session *s = NULL;
	int live = 0;
	size_t len = 0;

	c->pending_open = -1;
	c->pending_stamp = cmd.now_ms;
	if ((len = cc_seq_replay(w, cmd.now_ms, buf, cap)) > 0)
		return len;
	for (int i = 0; i < c->n; i++)
		live += c->s[i].state != CC_ENDED && !c->s[i].abandoned;
	if (c->n < SIM_COORD_SESSIONS &&
	    (c->n == 0 || (live < SIM_COORD_LIVE_GOAL && sim_chance(&w->rng, CC_OPEN_LIKE)))) {
		cc_make_open(w, &cmd);
	} else if (c->n > 0 && sim_chance(&w->rng, CC_LIMITS_LIKE)) {
		/* Small limits now and then, so that refusals at a limit are
		 * replicated under faults like every other answer. */
		cmd.type = COORD_CMD_LIMITS;
		cmd.limits.sessions = 2 + (uint32_t)sim_below(&w->rng, 30);
		cmd.limits.objects = 1 + (uint32_t)sim_below(&w->rng, 6);
		cmd.limits.waiters = 1 + (uint32_t)sim_below(&w->rng, 4);
	} else if (c->n > 0) {
		int i = cc_pick_session(w);

		s = &c->s[i];
		cmd.session = s->id;
		if (sim_chance(&w->rng, w->kv ? CC_KV_HEAVY : CC_KV_LIKE))
			cc_kv_command(w, slot, i, &cmd);
		else
			cc_make_lock_command(w, &cmd);
	} else {
		return 0;
	}
	if (s != NULL && coord_cmd_has_actor((int)cmd.type) &&
	    sim_chance(&w->rng, CC_HIJACK_LIKE)) {
		/* Another token's request (never numbered: it must change
		 * nothing, its seq included, SM-10). */
		cmd.actor = (sim_coord_owner(&s->id) + 1 + sim_below(&w->rng, SIM_COORD_TOKENS)) %
		            (SIM_COORD_TOKENS + 1);
	} else if (s != NULL) {
		if (coord_cmd_has_actor((int)cmd.type))
			cmd.actor = sim_coord_owner(&s->id);
		cc_seq_number(w, s, &cmd);
	}
	if (coord_cmd_encode(&cmd, buf, cap, &len) != 0) {
		sim_fail(w, slot, "coord client", "cannot encode a command of type %d", cmd.type);
		return 0;
	}
	return len;
}

void sim_coord_proposed(struct sim_world *w, int slot, uint64_t index, uint64_t term)
{
	struct sim_coord *c = w->coord;
	struct cc_session *s;

	(void)slot;
	cc_clock_proposed(w, index, term, c->pending_stamp);
	if (c->pending_open < 0)
		return;
	s = &c->s[c->n++];
	s->state = CC_PROPOSED;
	/* The lease starts when the OPEN applies on the leader: after now. */
	cc_ack(s, cc_true_ms(w));
	s->next_keepalive = cc_true_ms(w) + s->ttl_ms / 4;
	c->pending_open = -1;
}

/* The expiry invariant: EXPIRE entry E ended session S. */
static void cc_check_expiry(struct sim_world *w, int slot, const struct raft_entry *e, int session)
{
	struct sim_coord *c = w->coord;
	uint64_t max_rate = 1000u + w->p.skew - w->p.skew / 2;

	for (size_t i = 0; i < c->n_ex; i++) {
		const struct cc_expiry *x = &c->ex[i];
		const struct cc_session *s;
		uint64_t ack;

		if (x->index != e->index || x->term != e->term)
			continue;
		if (x->session != session || session < 0) {
			sim_fail(w, slot, "session expiry",
			         "EXPIRE entry %llu ends another session than proposed",
			         (unsigned long long)e->index);
			return;
		}
		s = &c->s[session];
		/* Rule 8: once an expiry is proposed no keepalive is acknowledged
		 * (its proposer refuses, later leaders apply it first). */
		ack = cc_last_ack(s, UINT64_MAX);
		if (ack >= x->proposed) {
			sim_fail(w, slot, "session expiry",
			         "session %d expired by entry %llu proposed at %llu, after the "
			         "keepalive sent at %llu was acknowledged",
			         session, (unsigned long long)e->index,
			         (unsigned long long)x->proposed, (unsigned long long)ack);
			return;
		}
		/* true elapsed * fastest rate >= (ttl - 1 ms of granularity) * 1000 */
		if ((x->proposed - ack) * max_rate < ((uint64_t)s->ttl_ms - 1) * 1000u)
			sim_fail(
			    w, slot, "session expiry",
			    "session %d (ttl %u ms) expired by entry %llu proposed at %llu, only "
			    "%llu ms after the keepalive sent at %llu was acknowledged",
			    session, s->ttl_ms, (unsigned long long)e->index,
			    (unsigned long long)x->proposed,
			    (unsigned long long)(x->proposed - ack), (unsigned long long)ack);
		return;
	}
	if (c->n_ex < SIM_COORD_EXPIRIES)
		sim_fail(w, slot, "session expiry", "EXPIRE entry %llu was proposed by no keeper",
		         (unsigned long long)e->index);
}

void sim_coord_applied(struct sim_world *w, int slot, const struct raft_entry *e)
{
	struct sim_coord *c = w->coord;
	struct sim_node *n = &w->nodes[slot];
	struct cc_keeper *k = &c->k[slot];
	const struct coord_result *res = sim_coord_result(n->sm);
	struct coord_cmd cmd;
	int session;

	cc_clock_applied(w, slot, e);
	if (res->type == 0)
		return;
	if (coord_cmd_decode(e->data, e->len, &cmd) == 0)
		cc_anchor_applied(w, slot, e->index, e->term, &cmd, res);
	cc_seq_check(w, slot, e, res);
	cc_kv_learn(w, e, res);
	session = cc_find(c, &res->session);
	sim_trace(w, "n%d applies %llu: command %d of session %d: %s, token %llu, %zu grants",
	          slot + 1, (unsigned long long)e->index, (int)res->type, session,
	          coord_status_name(res->status), (unsigned long long)res->token, res->n_grants);
	if (res->type == COORD_CMD_OPEN && res->status == COORD_ST_OK) {
		if (session >= 0 && c->s[session].state == CC_PROPOSED)
			c->s[session].state = CC_LIVE;
		if (k->active && session >= 0)
			coord_lease_add(&k->lease, &res->session, c->s[session].ttl_ms,
			                cc_local_ms(n));
	}
	if (!res->session_ended)
		return;
	if (session >= 0)
		c->s[session].state = CC_ENDED;
	if (k->active)
		coord_lease_remove(&k->lease, &res->session);
	if (res->type == COORD_CMD_EXPIRE)
		cc_check_expiry(w, slot, e, session);
}
