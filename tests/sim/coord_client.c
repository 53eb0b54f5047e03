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
 * of its term committed (rule 4) and it applied what is committed, from the
 * sessions in its tables, follows applied OPENs and session ends, proposes
 * an EXPIRE for each due session and a WAKE when a lock-delay ended. It
 * follows L-3 as node_lease.c does: every node anchors each session when
 * it applies its OPEN or ALIVE entries (a restart or a snapshot install:
 * every session, then); a new keeper counts each session from its anchor
 * + ttl + 2 x EVERY (coord_lease_reset_from); a keepalive is acknowledged
 * only once an ALIVE entry naming the session, proposed by this keeper at
 * most EVERY before the keepalive was first confirmed, has applied, else
 * it waits for the keeper's ALIVE entry of the next step.
 *
 * Session bound (L-3): no keeper holds a session past max(the last
 * keepalive a keeper accepted, this node's anchor) + ttl + 2 x EVERY, nor
 * proposes its EXPIRE later (unless it started later); and a session whose
 * client stopped ends within CC_END_ALLOWANCE_MS of leadership past that
 * bound (counted without partitions or crashed servers).
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
		if (c->a[s].ready)
			coord_lease_free(&c->a[s].lease);
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

	int rv;

	if (coord_cmd_encode(cmd, buf, sizeof(buf), &len) != 0)
		return RAFT_EINVAL;
	rv = raft_propose(w->nodes[slot].r, buf, len, index, term);
	if (rv == RAFT_OK)
		cc_clock_proposed(w, *index, *term, cmd->now_ms);
	return rv;
}

/* Keepers ----------------------------------------------------------------------- */

/* The bound of L-3 for session I at SLOT, on the true clock: the later of
 * the last keepalive a keeper accepted and this node's anchor, + ttl +
 * 2 x EVERY counted on this node's clock, + 2 ms of granularity. */
static uint64_t cc_bound(const struct sim_world *w, int slot, int i)
{
	const struct cc_session *s = &w->coord->s[i];
	uint64_t from = w->coord->a[slot].at[i] > s->heard ? w->coord->a[slot].at[i] : s->heard;
	uint64_t local = (uint64_t)s->ttl_ms + 2 * cc_every_ms(w) + 2;

	return from + (local * 1000 + w->nodes[slot].rate - 1) / w->nodes[slot].rate;
}

/* The bound on what SLOT's keeper, just started, holds: no session's
 * deadline beyond its bound (on the node's clock, as the keeper counts). */
static void cc_keeper_check_bound(struct sim_world *w, int slot, struct cc_keeper *k)
{
	struct sim_coord *c = w->coord;
	struct sim_node *n = &w->nodes[slot];
	uint64_t now = cc_true_ms(w), left;

	for (int i = 0; i < c->n && !w->failed; i++) {
		uint64_t bound = cc_bound(w, slot, i);
		uint64_t allowed = bound > now ? (bound - now) * n->rate / 1000 + 1 : 0;

		if (c->a[slot].at[i] == 0 ||
		    !coord_lease_remaining(&k->lease, &c->s[i].id, cc_local_ms(n), &left) ||
		    left <= allowed)
			continue;
		sim_fail(w, slot, "session bound",
		         "n%d leads term %llu from %llu ms: session %d (ttl %u ms) gets %llu ms on "
		         "its clock, beyond its bound at %llu ms (the last keepalive accepted at "
		         "%llu, this node's anchor %llu, + ttl + 2 x %llu ms)",
		         slot + 1, (unsigned long long)k->term, (unsigned long long)now, i,
		         c->s[i].ttl_ms, (unsigned long long)left, (unsigned long long)bound,
		         (unsigned long long)c->s[i].heard, (unsigned long long)c->a[slot].at[i],
		         (unsigned long long)cc_every_ms(w));
	}
}

/* Drops SLOT's keeper: the keepalives it had not answered get no answer
 * ("leadership was lost; retry"). */
static void cc_keeper_stop(struct sim_world *w, int slot, struct cc_keeper *k)
{
	coord_lease_clear(&k->lease);
	k->active = false;
	k->n_batch = k->n_props = k->n_retry = 0;
	for (int i = 0; i < SIM_COORD_KEEPALIVES; i++) {
		struct cc_keepalive *ka = &w->coord->ka[i];

		if (ka->ctx != 0 && !ka->done && ka->slot == slot && ka->alive_at != 0)
			ka->done = true;
	}
}

/* Starts SLOT's keeper from the sessions in its tables: each counted from
 * its anchor + ttl + 2 x EVERY (rule 8, L-3), or afresh (--break
 * lease-fresh-on-election, coordd --fresh-lease-on-election). */
static void cc_keeper_start(struct sim_world *w, int slot, struct cc_keeper *k)
{
	struct sim_node *n = &w->nodes[slot];
	struct coord_session_ttl *ttls = NULL;
	size_t count = 0;
	uint64_t slack = w->brk == SIM_BREAK_ALIVE_SLACK_ZERO ? 0 : 2 * cc_every_ms(w);

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
	if (w->brk == SIM_BREAK_LEASE_FRESH)
		coord_lease_reset_all(&k->lease, cc_local_ms(n));
	else
		coord_lease_reset_from(&k->lease, &w->coord->a[slot].lease, slack, cc_local_ms(n));
	k->active = true;
	k->term = raft_term(n->r);
	k->incarnation = n->incarnation;
	k->wake_for = 0;
	k->started = cc_true_ms(w);
	k->n_batch = k->n_props = k->n_retry = 0;
	sim_trace(w, "n%d lease keeper starts (term %llu, %zu sessions)", slot + 1,
	          (unsigned long long)k->term, count);
	cc_keeper_check_bound(w, slot, k);
}

/* Proposes EXPIRE for ID; false when the core did not take it (the keeper
 * tries again next step: due() hands a session out only once). */
static bool cc_keeper_propose_expire(struct sim_world *w, int slot,
                                     const struct coord_session_id *id)
{
	struct sim_coord *c = w->coord;
	struct coord_cmd cmd = {
	    .type = COORD_CMD_EXPIRE, .now_ms = cc_stamp(w, slot), .session = *id};
	uint64_t index = 0, term = 0;
	int rv = cc_propose(w, slot, &cmd, &index, &term);

	sim_trace(w, "n%d proposes EXPIRE at %llu: %s", slot + 1, (unsigned long long)index,
	          raft_strerror(rv));
	if (rv == RAFT_OK && c->n_ex < SIM_COORD_EXPIRIES)
		c->ex[c->n_ex++] = (struct cc_expiry){.index = index,
		                                      .term = term,
		                                      .proposed = cc_true_ms(w),
		                                      .session = cc_find(c, id)};
	return rv == RAFT_OK;
}

static void cc_keeper_expire(struct sim_world *w, int slot, struct cc_keeper *k)
{
	struct sim_coord *c = w->coord;
	struct sim_node *n = &w->nodes[slot];
	struct coord_session_id due[8];
	uint64_t early = w->brk == SIM_BREAK_EARLY_EXPIRY ? 300 : 0;
	size_t nd = coord_lease_due(&k->lease, cc_local_ms(n) + early, due, 8), kept = 0;

	for (size_t i = 0; i < k->n_retry; i++)
		if (!cc_keeper_propose_expire(w, slot, &k->retry[i]))
			k->retry[kept++] = k->retry[i];
	k->n_retry = kept;
	for (size_t i = 0; i < nd && !w->failed; i++) {
		int session = cc_find(c, &due[i]);

		/* What a leader proposes: never after the bound (+ a step of
		 * the keeper's cadence, + one of clock granularity), unless its
		 * keeper started after it. */
		if (session >= 0 && early == 0 && c->a[slot].at[session] != 0 &&
		    cc_true_ms(w) > cc_bound(w, slot, session) + 2 * SIM_MS_PER_STEP &&
		    cc_true_ms(w) > k->started + 2 * SIM_MS_PER_STEP) {
			sim_fail(w, slot, "session bound",
			         "n%d proposes the expiry of session %d (ttl %u ms) at %llu, after "
			         "its bound at %llu (the last keepalive accepted at %llu, this "
			         "node's anchor %llu); its keeper started at %llu",
			         slot + 1, session, c->s[session].ttl_ms,
			         (unsigned long long)cc_true_ms(w),
			         (unsigned long long)cc_bound(w, slot, session),
			         (unsigned long long)c->s[session].heard,
			         (unsigned long long)c->a[slot].at[session],
			         (unsigned long long)k->started);
			return;
		}
		if (!cc_keeper_propose_expire(w, slot, &due[i]) && k->n_retry < SIM_COORD_SESSIONS)
			k->retry[k->n_retry++] = due[i];
	}
}

/* This step's ALIVE entry (node_lease_flush_alive): one for every session
 * whose keepalive waits for one; the keepalives then wait for it to apply,
 * or, when the core does not take it, get no answer. */
static void cc_keeper_flush_alive(struct sim_world *w, int slot, struct cc_keeper *k)
{
	struct coord_cmd cmd = {.type = COORD_CMD_ALIVE,
	                        .now_ms = cc_stamp(w, slot),
	                        .ids = k->batch,
	                        .n_ids = k->n_batch};
	uint8_t buf[COORD_CMD_HEADER_LEN + 64 + SIM_COORD_SESSIONS * COORD_SESSION_ID_LEN];
	uint64_t index = 0, term = 0;
	size_t len = 0;
	bool ok;

	if (k->n_batch == 0)
		return;
	ok = k->n_props < CC_ALIVE_PROPS && coord_cmd_encode(&cmd, buf, sizeof(buf), &len) == 0 &&
	     raft_propose(w->nodes[slot].r, buf, len, &index, &term) == RAFT_OK;
	sim_trace(w, "n%d proposes ALIVE for %zu sessions at %llu: %s", slot + 1, k->n_batch,
	          (unsigned long long)index, ok ? "ok" : "refused");
	if (ok) {
		cc_clock_proposed(w, index, term, cmd.now_ms);
		k->props[k->n_props++] = (struct cc_alive_prop){
		    .index = index, .term = term, .at_ms = cc_local_ms(&w->nodes[slot])};
	}
	k->n_batch = 0;
	for (int i = 0; i < SIM_COORD_KEEPALIVES; i++) {
		struct cc_keepalive *ka = &w->coord->ka[i];

		if (ka->ctx == 0 || ka->done || ka->slot != slot || !ka->batched)
			continue;
		ka->batched = false;
		if (ok)
			ka->index = index;
		else
			ka->done = true;
	}
}

static void cc_keeper_wake(struct sim_world *w, int slot, struct cc_keeper *k)
{
	struct sim_node *n = &w->nodes[slot];
	struct coord_cmd cmd = {.type = COORD_CMD_WAKE, .now_ms = cc_stamp(w, slot)};
	uint64_t at = 0, index, term;
	bool has = false;

	if (coord_sm_next_wake(sim_coord_db(n->sm), &has, &at) != 0 || !has || at > cmd.now_ms ||
	    at == k->wake_for)
		return;
	if (cc_propose(w, slot, &cmd, &index, &term) == RAFT_OK)
		k->wake_for = at;
}

/* The end of a dead client's session (the bound's liveness half): while
 * no partition is in force and every server runs, the time in which a
 * leader whose keeper is live holds an abandoned session past that
 * leader's bound counts; more than CC_END_ALLOWANCE_MS of it and the
 * session has not ended is a failure. */
static void cc_check_ends(struct sim_world *w)
{
	struct sim_coord *c = w->coord;
	int leader = -1;

	if (w->net.partitioned)
		return;
	for (int s = 0; s < w->n_slots; s++) {
		const struct sim_node *n = &w->nodes[s];

		if (n->used && !n->retired && n->removed_at == 0 && !n->up)
			return;
		if (n->used && n->up && c->k[s].active)
			leader = s;
	}
	for (int i = 0; leader >= 0 && i < c->n && !w->failed; i++) {
		struct cc_session *s = &c->s[i];

		if (!s->abandoned || s->state != CC_LIVE || c->a[leader].at[i] == 0 ||
		    cc_true_ms(w) <= cc_bound(w, leader, i))
			continue;
		s->overdue += SIM_MS_PER_STEP;
		if (s->overdue > CC_END_ALLOWANCE_MS)
			sim_fail(w, leader, "session bound",
			         "session %d (ttl %u ms), whose client stopped, has not ended: "
			         "leaders with a live keeper held it %llu ms past their bound (now "
			         "n%d's, at %llu: the last keepalive accepted at %llu, its anchor "
			         "%llu, + ttl + 2 x %llu ms)",
			         i, s->ttl_ms, (unsigned long long)s->overdue, leader + 1,
			         (unsigned long long)cc_bound(w, leader, i),
			         (unsigned long long)s->heard,
			         (unsigned long long)c->a[leader].at[i],
			         (unsigned long long)cc_every_ms(w));
	}
}

/* Elections while a dead client's session lives: the leader hands over
 * to another voter now and then (fault phase). */
static void cc_transfer(struct sim_world *w)
{
	struct sim_coord *c = w->coord;
	const struct raft_conf *conf;
	const struct raft_server *to;
	bool dead = false;
	int slot = -1;

	for (int i = 0; i < c->n; i++)
		dead |= c->s[i].abandoned && c->s[i].state == CC_LIVE;
	for (int s = 0; s < w->n_slots; s++)
		if (w->nodes[s].used && w->nodes[s].up && c->k[s].active)
			slot = s;
	if (!dead || slot < 0 || w->phase != SIM_FAULTS || !sim_chance(&w->rng, CC_TRANSFER))
		return;
	conf = raft_conf(w->nodes[slot].r);
	if (conf->n == 0)
		return;
	to = &conf->servers[sim_below(&w->rng, conf->n)];
	if (to->id != w->nodes[slot].id && to->role == RAFT_VOTER)
		sim_trace(w, "n%d hands the leadership to n%llu: %s", slot + 1,
		          (unsigned long long)to->id,
		          raft_strerror(raft_transfer(w->nodes[slot].r, to->id)));
}

static void cc_keepers(struct sim_world *w)
{
	for (int s = 0; s < w->n_slots && !w->failed; s++) {
		struct sim_node *n = &w->nodes[s];
		struct cc_keeper *k = &w->coord->k[s];
		bool leads =
		    n->used && n->up && raft_role(n->r) == RAFT_LEADER && raft_leader_ready(n->r);

		if (k->active &&
		    (!leads || k->term != raft_term(n->r) || k->incarnation != n->incarnation))
			cc_keeper_stop(w, s, k);
		/* Only once it applied what is committed: its anchors must
		 * include the ALIVE entries of earlier terms (node_lease_ready). */
		if (!k->active && leads && n->applied >= raft_commit_index(n->r))
			cc_keeper_start(w, s, k);
		if (k->active && !w->failed) {
			cc_keeper_flush_alive(w, s, k);
			cc_keeper_expire(w, s, k);
			cc_keeper_wake(w, s, k);
		}
	}
	if (!w->failed)
		cc_check_ends(w);
	if (!w->failed)
		cc_transfer(w);
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

/* Whether KA, a keepalive of session ID that SLOT's keeper accepted at
 * NOW (its clock), may be acknowledged (L-3, node_lease_alive): an ALIVE
 * entry naming ID that this keeper proposed at most EVERY before the
 * keepalive was first confirmed has applied. Otherwise it waits for this
 * step's ALIVE entry. */
static bool cc_alive(struct sim_world *w, struct cc_keeper *k, struct cc_keepalive *ka,
                     const struct coord_session_id *id, uint64_t now)
{
	uint64_t at, since = ka->alive_at != 0 ? ka->alive_at : now;
	size_t i;

	if (w->brk == SIM_BREAK_LEASE_FRESH || w->brk == SIM_BREAK_ALIVE_ACK_EARLY)
		return true; /* fresh: no entry needed; ack-early: the rule broken */
	if (coord_lease_alive_ms(&k->lease, id, &at) && at + cc_every_ms(w) >= since)
		return true;
	if (ka->alive_at == 0)
		ka->alive_at = now;
	for (i = 0; i < k->n_batch; i++)
		if (coord_session_id_equal(&k->batch[i], id))
			break;
	if (i == k->n_batch && k->n_batch < SIM_COORD_SESSIONS)
		k->batch[k->n_batch++] = *id;
	ka->batched = true;
	ka->index = UINT64_MAX; /* cc_keeper_flush_alive() sets it */
	return false;
}

void sim_coord_answer(struct sim_world *w, int slot)
{
	struct sim_coord *c = w->coord;
	struct sim_node *n = &w->nodes[slot];
	struct cc_keeper *k = &c->k[slot];

	for (int i = 0; i < SIM_COORD_KEEPALIVES; i++) {
		struct cc_keepalive *ka = &c->ka[i];
		struct cc_session *s = &c->s[ka->session];

		if (ka->ctx == 0 || ka->done || ka->slot != slot || ka->index == 0 || ka->batched ||
		    n->applied < ka->index)
			continue;
		if (ka->incarnation != n->incarnation || !k->active) {
			ka->done = true;
			continue;
		}
		/* The deadline moves before the acknowledgement (rule 8). */
		if (coord_lease_keepalive(&k->lease, &s->id, cc_local_ms(n), NULL) != 0) {
			ka->done = true;
			continue;
		}
		if (cc_true_ms(w) > s->heard)
			s->heard = cc_true_ms(w);
		if (!cc_alive(w, k, ka, &s->id, cc_local_ms(n)))
			continue;
		ka->done = true;
		cc_ack(s, ka->sent);
		sim_trace(w, "n%d acknowledges the keepalive of session %d sent at %llu", slot + 1,
		          ka->session, (unsigned long long)ka->sent);
	}
}

/* Anchors ------------------------------------------------------------------------- */

static struct cc_anchors *cc_anchors(struct sim_world *w, int slot)
{
	struct cc_anchors *a = &w->coord->a[slot];

	if (!a->ready && coord_lease_init(&a->lease, CC_LEASE_CAP) == 0)
		a->ready = true;
	return a->ready ? a : NULL;
}

void sim_coord_restored(struct sim_world *w, int slot, bool restarted, uint64_t index)
{
	struct sim_coord *c = w->coord;
	struct sim_node *n = &w->nodes[slot];
	struct cc_anchors *a = cc_anchors(w, slot);
	struct coord_session_ttl *ttls = NULL;
	size_t count = 0;

	if (a == NULL) {
		sim_fail(w, slot, "coord apply", "cannot keep anchors");
		return;
	}
	cc_clock_restored(w, slot, restarted, index);
	coord_lease_clear(&a->lease);
	memset(a->at, 0, sizeof(a->at));
	if (coord_sm_session_ttls(sim_coord_db(n->sm), &ttls, &count) != 0) {
		sim_fail(w, slot, "coord apply", "cannot list the live sessions");
		return;
	}
	for (size_t i = 0; i < count; i++) {
		int session = cc_find(c, &ttls[i].id);

		coord_lease_add(&a->lease, &ttls[i].id, ttls[i].ttl_ms, cc_local_ms(n));
		if (session >= 0)
			a->at[session] = cc_true_ms(w);
	}
	free(ttls);
}

/* SLOT applied entry INDEX of TERM, whose result is RES: its anchors, and
 * the ALIVE times of its keeper (node_lease_applied). */
void cc_anchor_applied(struct sim_world *w, int slot, uint64_t index, uint64_t term,
                       const struct coord_cmd *cmd, const struct coord_result *res)
{
	struct sim_coord *c = w->coord;
	struct sim_node *n = &w->nodes[slot];
	struct cc_keeper *k = &c->k[slot];
	struct cc_anchors *a = cc_anchors(w, slot);
	int session = cc_find(c, &res->session);
	uint64_t at = 0;
	size_t kept = 0;

	if (a == NULL)
		return;
	if (res->session_ended)
		coord_lease_remove(&a->lease, &res->session);
	if (cmd->type == COORD_CMD_OPEN && res->status == COORD_ST_OK) {
		if (coord_lease_add(&a->lease, &res->session, cmd->ttl_ms, cc_local_ms(n)) ==
		    COORD_EEXIST)
			coord_lease_keepalive(&a->lease, &res->session, cc_local_ms(n), NULL);
		if (session >= 0)
			a->at[session] = cc_true_ms(w);
		return;
	}
	if (cmd->type != COORD_CMD_ALIVE)
		return;
	for (size_t i = 0; i < k->n_props; i++) {
		if (k->props[i].index == index && k->props[i].term == term)
			at = k->props[i].at_ms;
		if (k->props[i].index > index)
			k->props[kept++] = k->props[i];
	}
	k->n_props = kept;
	for (size_t i = 0; i < cmd->n_ids; i++) {
		if (coord_lease_keepalive(&a->lease, &cmd->ids[i], cc_local_ms(n), NULL) == 0 &&
		    (session = cc_find(c, &cmd->ids[i])) >= 0)
			a->at[session] = cc_true_ms(w);
		if (at != 0 && k->active)
			coord_lease_set_alive(&k->lease, &cmd->ids[i], at);
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
	cc_clock_step(w);
	cc_keepers(w);
	for (int i = 0; i < c->n && !w->failed; i++) {
		struct cc_session *s = &c->s[i];

		if (s->state == CC_LIVE && !s->abandoned && cc_true_ms(w) >= s->next_keepalive)
			cc_send_keepalive(w, i);
	}
}
