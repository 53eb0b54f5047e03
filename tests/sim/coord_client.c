/* coord_client.c: clients and lease keepers of the coord machine under the
 * simulator, and the session expiry invariant.
 *
 * Time: one simulator step is SIM_MS_PER_STEP milliseconds of true time. A node's local
 * clock runs at its tick rate (per mille of true time, skewed per seed), and
 * the leader stamps every command with its local clock, as coordd stamps its
 * wall clock (DESIGN.md, The state machine).
 *
 * Clients open sessions (ids drawn from the world's generator), send
 * keepalives, and issue random acquires (exclusive or shared, try or queue,
 * locks and elections), releases, cancels, proclaims and closes to whoever
 * is leader, most of them numbered, some sent again (coord_seq.c). Some
 * clients stop sending keepalives, so their sessions expire.
 *
 * A keepalive is what coordd does with it: a quorum read (rule 5), then, once
 * the read point applied, the leader's lease keeper moves the deadline before
 * the client counts it acknowledged (rule 8).
 *
 * Each leader runs a lease keeper (coord/sm/lease.h): it starts once an entry
 * of its term committed (rule 4) from the sessions in its tables, follows
 * applied OPENs and session ends, proposes an EXPIRE for each due session
 * and a WAKE when a lock-delay ended.
 *
 * Expiry invariant: an EXPIRE that ends a session must have been proposed at
 * least TTL after the client SENT the last keepalive acknowledged, on the
 * true clock, and no keepalive sent after the proposal may be acknowledged
 * (rule 8), whichever leader answers it. A leader whose clock runs fast counts TTL in
 * fewer true milliseconds: the bound allows the seed's largest clock rate
 * (bounded drift, as Chubby assumes) and one millisecond of clock
 * granularity, nothing more.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_client.h"

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

/* A node that believes it is leader, at random (clients cut off with a
 * deposed leader keep talking to it), or -1. */
static int cc_leader(struct sim_world *w)
{
	int leaders[SIM_MAX_SLOTS], n = 0;

	for (int s = 0; s < w->n_slots; s++) {
		if (sim_client_leader_ok(w, s))
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
	uint64_t early = w->brk == SIM_BREAK_EARLY_EXPIRY ? 300 : 0;
	size_t nd = coord_lease_due(&k->lease, cc_local_ms(n) + early, due, 8);

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
