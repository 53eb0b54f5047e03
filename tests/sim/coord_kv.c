/* coord_kv.c: the coord clients' key/value commands (API.md, Key/value).
 *
 * Four keys (k1 k2 k3 x1), so that writes conflict: plain puts, puts with
 * cas 0 ("only if absent"), with the modify_index the client just read on
 * the leader it sends to (stale by the time it applies, now and then) or a
 * guessed one; ephemeral puts of the client's session (an ended one now
 * and then, which must be refused); puts fenced with a lock grant the
 * session got (still held or long lost) or another session's; deletes
 * with and without cas and fence. Short values of 0-6 bytes. The invariants
 * are checked on every node's tables (sm_coord_kv_check.c). */
#include <string.h>

#include "coord_client.h"

static const char *const cc_kv_keys[] = {"k1", "k2", "k3", "x1"};
static const char cc_kv_letters[] = "abcdefghijklmnopqrstuvwxyz";

/* KEY's modify_index on the leader at SLOT (its applied state), 0 when
 * absent: what a client reads before a conditional write. */
static uint64_t ccKvRead(struct sim_world *w, int slot, const char *key)
{
	sqlite3_stmt *st = NULL;
	uint64_t v = 0;

	if (sqlite3_prepare_v2(sim_coord_db(w->nodes[slot].sm),
	                       "SELECT modify_index FROM coord_kv WHERE key = ?1", -1, &st,
	                       NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void ccKvCas(struct sim_world *w, int slot, struct coord_cmd *cmd)
{
	uint64_t r = sim_below(&w->rng, 100);

	cmd->kv_flags |= COORD_KV_CAS;
	if (r < 55)
		cmd->cas = ccKvRead(w, slot, cmd->name);
	else if (r < 80)
		cmd->cas = 0;
	else
		cmd->cas = 1 + sim_below(&w->rng, w->nodes[slot].applied + 1);
}

/* A fence: mostly the session's latest grant, else any grant seen, else a
 * token no grant had. */
static void ccKvFence(struct sim_world *w, int session, struct coord_cmd *cmd)
{
	struct sim_coord *c = w->coord;
	size_t n = c->n_grants < CC_GRANTS ? c->n_grants : CC_GRANTS;
	const struct cc_grant *g = NULL;

	for (size_t i = 0; i < n && sim_chance(&w->rng, 700); i++) {
		const struct cc_grant *h = &c->grants[(c->n_grants - 1 - i) % CC_GRANTS];

		if (h->session == session) {
			g = h;
			break;
		}
	}
	if (g == NULL && n > 0 && sim_chance(&w->rng, 700))
		g = &c->grants[sim_below(&w->rng, (uint64_t)n)];
	cmd->kv_flags |= COORD_KV_FENCE;
	cmd->fence_lock = g != NULL ? g->lock : "a";
	cmd->fence_lock_len = strlen(cmd->fence_lock);
	cmd->fence_token = g != NULL ? g->token : 1 + sim_below(&w->rng, 1000);
}

void cc_kv_command(struct sim_world *w, int slot, int session, struct coord_cmd *cmd)
{
	uint64_t r = sim_below(&w->rng, 100);
	size_t off = (size_t)sim_below(&w->rng, sizeof(cc_kv_letters) - 7);

	cmd->name = cc_kv_keys[sim_below(&w->rng, 4)];
	cmd->name_len = strlen(cmd->name);
	cmd->type = r < 73 ? COORD_CMD_KV_PUT : COORD_CMD_KV_DELETE;
	if (cmd->type == COORD_CMD_KV_PUT) {
		cmd->value = cc_kv_letters + off;
		cmd->value_len = (size_t)sim_below(&w->rng, 7);
		cmd->has_value = true;
	}
	if (r < 40 || r >= 73) {
		/* plain, cas, or a delete with either or both */
		if (r >= 25 && (r < 40 || sim_chance(&w->rng, 500)))
			ccKvCas(w, slot, cmd);
		if (r >= 73 && sim_chance(&w->rng, 200))
			ccKvFence(w, session, cmd);
	} else if (r < 58) {
		cmd->kv_flags |= COORD_KV_EPHEMERAL;
		if (sim_chance(&w->rng, 250))
			ccKvCas(w, slot, cmd);
	} else {
		ccKvFence(w, session, cmd);
		if (sim_chance(&w->rng, 200))
			ccKvCas(w, slot, cmd);
	}
	/* The session travels only with an ephemeral put (command.h, KV). */
	if (!(cmd->kv_flags & COORD_KV_EPHEMERAL))
		memset(&cmd->session, 0, sizeof(cmd->session));
}

static void ccKvGrant(struct sim_coord *c, const char *lock, size_t len, uint64_t token,
                      const struct coord_session_id *session)
{
	struct cc_grant *g = &c->grants[c->n_grants++ % CC_GRANTS];

	memset(g, 0, sizeof(*g));
	memcpy(g->lock, lock, len < sizeof(g->lock) - 1 ? len : sizeof(g->lock) - 1);
	g->token = token;
	g->session = cc_find(c, session);
}

void cc_kv_learn(struct sim_world *w, const struct raft_entry *e, const struct coord_result *res)
{
	struct sim_coord *c = w->coord;
	struct coord_cmd cmd;

	if (e->index <= c->grants_seen)
		return; /* learned once, on its first application anywhere */
	c->grants_seen = e->index;
	if (res->type == COORD_CMD_ACQUIRE && res->status == COORD_ST_OK && !res->retry &&
	    res->token != 0 && coord_cmd_decode(e->data, e->len, &cmd) == 0 &&
	    cmd.kind == COORD_KIND_LOCK)
		ccKvGrant(c, cmd.name, cmd.name_len, res->token, &res->session);
	for (size_t i = 0; i < res->n_grants; i++) {
		const struct coord_grant *g = &res->grants[i];

		if (g->kind == COORD_KIND_LOCK)
			ccKvGrant(c, g->name, strlen(g->name), g->token, &g->session);
	}
}
