/* coord_client.c: clients and lease keepers of the coord machine under the
 * simulator, and the session expiry invariant (issue 5).
 *
 * Time: one simulator step is SIM_MS_PER_STEP milliseconds of true time. A node's local
 * clock runs at its tick rate (per mille of true time, skewed per seed), and
 * the leader stamps every command with its local clock, as coordd stamps its
 * wall clock (DESIGN.md, The state machine).
 *
 * Clients open sessions (ids drawn from the world's generator), send
 * keepalives, and issue random acquires (exclusive or shared, try or queue,
 * locks and elections), releases, cancels, proclaims and closes to whoever
 * is leader. Some clients stop sending keepalives, so their sessions expire.
 *
 * A keepalive is what coordd does with it: a quorum read (rule 5), then, once
 * the read point applied, the leader's lease keeper moves the deadline before
 * the client counts it acknowledged (rule 8).
 *
 * Each leader runs a lease keeper (coord/lease.h): it starts once an entry
 * of its term committed (rule 4) from the sessions in its tables, follows
 * applied OPENs and session ends, proposes an EXPIRE for each due session
 * and a WAKE when a lock-delay ended.
 *
 * Expiry invariant: an EXPIRE that ends a session must have been proposed at
 * least TTL after the last keepalive acknowledged before it was SENT by the
 * client, on the true clock. A leader whose clock runs fast counts TTL in
 * fewer true milliseconds: the bound allows the seed's largest clock rate
 * (bounded drift, as Chubby assumes) and one millisecond of clock
 * granularity, nothing more.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "sim_coord.h"

#define CC_ACKS      32  /* acknowledged keepalives remembered per session */
#define CC_LEASE_CAP 128 /* sessions one keeper tracks (>= SIM_COORD_SESSIONS) */
#define CC_OPEN_LIKE 300 /* per mille: open a session while below the goal */
#define CC_ABANDON   60  /* per mille per keepalive: the client stops sending them */

enum cc_state { CC_PROPOSED = 0, CC_LIVE, CC_ENDED };

struct cc_session {
	struct coord_session_id id;
	uint32_t ttl_ms;
	enum cc_state state;
	bool abandoned;
	uint64_t next_keepalive;
	uint64_t acks[CC_ACKS]; /* true send times of acknowledged keepalives (ring) */
	size_t n_acks;
};

struct cc_keeper {
	bool active, ready;
	uint64_t term;
	unsigned incarnation;
	uint64_t wake_for; /* lock-delay end a WAKE was proposed for */
	struct coord_lease lease;
};

struct cc_keepalive {
	uint64_t ctx, sent, index;
	int slot, session;
	unsigned incarnation;
	bool done;
};

struct cc_expiry {
	uint64_t index, term, proposed;
	int session;
};

struct sim_coord {
	struct cc_session s[SIM_COORD_SESSIONS];
	int n;
	struct cc_keeper k[SIM_MAX_SLOTS];
	struct cc_keepalive ka[SIM_COORD_KEEPALIVES];
	struct cc_expiry ex[SIM_COORD_EXPIRIES];
	size_t n_ex;
	uint64_t next_ctx;
	int pending_open; /* session of the command just made, or -1 */
};

struct sim_coord *sim_coord_new(void)
{
	struct sim_coord *c = calloc(1, sizeof(*c));

	if (c != NULL)
		c->pending_open = -1;
	return c;
}

void sim_coord_free(struct sim_coord *c)
{
	if (c == NULL)
		return;
	for (int s = 0; s < SIM_MAX_SLOTS; s++) {
		if (c->k[s].ready)
			coord_lease_free(&c->k[s].lease);
	}
	free(c);
}

static uint64_t cc_true_ms(const struct sim_world *w)
{
	return w->now * SIM_MS_PER_STEP;
}

static uint64_t cc_local_ms(const struct sim_node *n)
{
	return n->clock_pm / 1000;
}

static int cc_find(const struct sim_coord *c, const struct coord_session_id *id)
{
	for (int i = 0; i < c->n; i++) {
		if (coord_session_id_equal(&c->s[i].id, id))
			return i;
	}
	return -1;
}

static void cc_ack(struct cc_session *s, uint64_t sent)
{
	s->acks[s->n_acks % CC_ACKS] = sent;
	s->n_acks++;
}

/* The latest acknowledged keepalive sent before BEFORE, or 0. */
static uint64_t cc_last_ack(const struct cc_session *s, uint64_t before)
{
	uint64_t best = 0;
	size_t n = s->n_acks < CC_ACKS ? s->n_acks : CC_ACKS;

	for (size_t i = 0; i < n; i++) {
		if (s->acks[i] <= before && s->acks[i] > best)
			best = s->acks[i];
	}
	return best;
}

/* A node that believes it is leader, at random (clients cut off with a
 * deposed leader keep talking to it), or -1. */
static int cc_leader(struct sim_world *w)
{
	int leaders[SIM_MAX_SLOTS], n = 0;

	for (int s = 0; s < w->n_slots; s++) {
		if (w->nodes[s].used && w->nodes[s].up && raft_role(w->nodes[s].r) == RAFT_LEADER)
			leaders[n++] = s;
	}
	return n == 0 ? -1 : leaders[sim_below(&w->rng, (uint64_t)n)];
}

static int cc_propose(struct sim_world *w, int slot, const struct coord_cmd *cmd, uint64_t *index,
                      uint64_t *term)
{
	uint8_t buf[COORD_CMD_HEADER_LEN + 16];
	size_t len = 0;

	if (coord_cmd_encode(cmd, buf, sizeof(buf), &len) != 0)
		return RAFT_EINVAL;
	return raft_propose(w->nodes[slot].r, buf, len, index, term);
}

/* Keepers ----------------------------------------------------------------------- */

/* Starts SLOT's keeper from the sessions in its tables (rule 8: a new
 * leader starts every deadline afresh). */
static void cc_keeper_start(struct sim_world *w, int slot, struct cc_keeper *k)
{
	struct sim_node *n = &w->nodes[slot];
	struct coord_session_ttl *ttls = NULL;
	size_t count = 0;

	if (!k->ready) {
		if (coord_lease_init(&k->lease, CC_LEASE_CAP) != 0)
			return;
		k->ready = true;
	}
	if (coord_sm_session_ttls(sim_coord_db(n->sm), &ttls, &count) != 0) {
		sim_fail(w, slot, "coord apply", "cannot list the live sessions");
		return;
	}
	coord_lease_clear(&k->lease);
	for (size_t i = 0; i < count; i++)
		coord_lease_add(&k->lease, &ttls[i].id, ttls[i].ttl_ms, cc_local_ms(n));
	free(ttls);
	coord_lease_reset_all(&k->lease, cc_local_ms(n));
	k->active = true;
	k->term = raft_term(n->r);
	k->incarnation = n->incarnation;
	k->wake_for = 0;
	sim_trace(w, "n%d lease keeper starts (term %llu, %zu sessions)", slot + 1,
	          (unsigned long long)k->term, count);
}

static void cc_keeper_expire(struct sim_world *w, int slot, struct cc_keeper *k)
{
	struct sim_coord *c = w->coord;
	struct sim_node *n = &w->nodes[slot];
	struct coord_session_id due[8];
	size_t nd = coord_lease_due(&k->lease, cc_local_ms(n), due, 8);

	for (size_t i = 0; i < nd; i++) {
		struct coord_cmd cmd = {
		    .type = COORD_CMD_EXPIRE, .now_ms = cc_local_ms(n), .session = due[i]};
		uint64_t index = 0, term = 0;
		int rv = cc_propose(w, slot, &cmd, &index, &term);

		sim_trace(w, "n%d proposes EXPIRE at %llu: %s", slot + 1, (unsigned long long)index,
		          raft_strerror(rv));
		if (rv == RAFT_OK && c->n_ex < SIM_COORD_EXPIRIES)
			c->ex[c->n_ex++] = (struct cc_expiry){.index = index,
			                                      .term = term,
			                                      .proposed = cc_true_ms(w),
			                                      .session = cc_find(c, &due[i])};
	}
}

static void cc_keeper_wake(struct sim_world *w, int slot, struct cc_keeper *k)
{
	struct sim_node *n = &w->nodes[slot];
	struct coord_cmd cmd = {.type = COORD_CMD_WAKE, .now_ms = cc_local_ms(n)};
	uint64_t at = 0, index, term;
	bool has = false;

	if (coord_sm_next_wake(sim_coord_db(n->sm), &has, &at) != 0 || !has || at > cmd.now_ms ||
	    at == k->wake_for)
		return;
	if (cc_propose(w, slot, &cmd, &index, &term) == RAFT_OK)
		k->wake_for = at;
}

static void cc_keepers(struct sim_world *w)
{
	for (int s = 0; s < w->n_slots && !w->failed; s++) {
		struct sim_node *n = &w->nodes[s];
		struct cc_keeper *k = &w->coord->k[s];
		bool leads =
		    n->used && n->up && raft_role(n->r) == RAFT_LEADER && raft_leader_ready(n->r);

		if (k->active &&
		    (!leads || k->term != raft_term(n->r) || k->incarnation != n->incarnation)) {
			coord_lease_clear(&k->lease);
			k->active = false;
		}
		if (!k->active && leads)
			cc_keeper_start(w, s, k);
		if (k->active) {
			cc_keeper_expire(w, s, k);
			cc_keeper_wake(w, s, k);
		}
	}
}

/* Keepalives ---------------------------------------------------------------------- */

static void cc_send_keepalive(struct sim_world *w, int session)
{
	struct sim_coord *c = w->coord;
	struct cc_session *s = &c->s[session];
	int slot = cc_leader(w);
	uint64_t ctx;

	s->next_keepalive = cc_true_ms(w) + s->ttl_ms / 4 + sim_below(&w->rng, s->ttl_ms / 8 + 1);
	if (sim_chance(&w->rng, CC_ABANDON)) {
		s->abandoned = true;
		sim_trace(w, "client of session %d stops its keepalives", session);
		return;
	}
	if (slot < 0)
		return;
	for (int i = 0; i < SIM_COORD_KEEPALIVES; i++) {
		struct cc_keepalive *ka = &c->ka[i];

		if (ka->ctx != 0 && !ka->done)
			continue;
		ctx = SIM_COORD_CTX_BIT | ++c->next_ctx;
		if (raft_read_index(w->nodes[slot].r, ctx) != RAFT_OK)
			return;
		*ka = (struct cc_keepalive){.ctx = ctx,
		                            .sent = cc_true_ms(w),
		                            .slot = slot,
		                            .session = session,
		                            .incarnation = w->nodes[slot].incarnation};
		return;
	}
}

void sim_coord_read_ready(struct sim_world *w, int slot, const struct raft_read *rd)
{
	for (int i = 0; i < SIM_COORD_KEEPALIVES; i++) {
		struct cc_keepalive *ka = &w->coord->ka[i];

		if (ka->ctx != rd->ctx || ka->done || ka->slot != slot)
			continue;
		ka->index = rd->index;
		ka->done = rd->index == 0; /* leadership lost: no answer */
		return;
	}
}

void sim_coord_answer(struct sim_world *w, int slot)
{
	struct sim_coord *c = w->coord;
	struct sim_node *n = &w->nodes[slot];
	struct cc_keeper *k = &c->k[slot];

	for (int i = 0; i < SIM_COORD_KEEPALIVES; i++) {
		struct cc_keepalive *ka = &c->ka[i];
		struct cc_session *s = &c->s[ka->session];

		if (ka->ctx == 0 || ka->done || ka->slot != slot || ka->index == 0 ||
		    n->applied < ka->index)
			continue;
		ka->done = true;
		if (ka->incarnation != n->incarnation || !k->active)
			continue;
		/* The deadline moves before the acknowledgement (rule 8). */
		if (coord_lease_keepalive(&k->lease, &s->id, cc_local_ms(n), NULL) == 0) {
			cc_ack(s, ka->sent);
			sim_trace(w, "n%d acknowledges the keepalive of session %d sent at %llu",
			          slot + 1, ka->session, (unsigned long long)ka->sent);
		}
	}
}

void sim_coord_step(struct sim_world *w)
{
	struct sim_coord *c = w->coord;

	for (int i = 0; i < SIM_COORD_KEEPALIVES; i++) {
		struct cc_keepalive *ka = &c->ka[i];

		if (ka->ctx != 0 && !ka->done &&
		    (!w->nodes[ka->slot].up || w->nodes[ka->slot].incarnation != ka->incarnation))
			ka->done = true; /* the client sees a broken connection */
	}
	cc_keepers(w);
	for (int i = 0; i < c->n && !w->failed; i++) {
		struct cc_session *s = &c->s[i];

		if (s->state == CC_LIVE && !s->abandoned && cc_true_ms(w) >= s->next_keepalive)
			cc_send_keepalive(w, i);
	}
}

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
	struct coord_cmd cmd = {.now_ms = cc_local_ms(&w->nodes[slot])};
	int live = 0;
	size_t len = 0;

	c->pending_open = -1;
	for (int i = 0; i < c->n; i++)
		live += c->s[i].state != CC_ENDED && !c->s[i].abandoned;
	if (c->n < SIM_COORD_SESSIONS &&
	    (c->n == 0 || (live < SIM_COORD_LIVE_GOAL && sim_chance(&w->rng, CC_OPEN_LIKE)))) {
		cc_make_open(w, &cmd);
	} else if (c->n > 0) {
		cmd.session = c->s[cc_pick_session(w)].id;
		cc_make_lock_command(w, &cmd);
	} else {
		return 0;
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
	(void)index;
	(void)term;
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
		ack = cc_last_ack(s, x->proposed);
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
	int session;

	if (res->type == 0)
		return;
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
