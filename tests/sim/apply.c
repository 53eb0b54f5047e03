/* apply.c: the state machine's invariants, on every entry a real node
 * applies. coordd applies through coord_sm_apply_entry() (node_ready.c);
 * coord-sim is linked with --wrap=coord_sm_apply_entry, so each call
 * comes here first: the tables are read before the entry, the real apply
 * runs, what it holds is written (coord_sm_flush(), which sm.h allows
 * before anything reads the tables), and the checks of sm_check.c
 * and sm_kv_check.c compare the tables after it with those before
 * and with the entry's result (lock exclusion, fencing, live grants, FIFO,
 * lock-delay; ephemeral keys, conditional writes, the key/value history
 * and its watches). They read the tables directly, not through coord's
 * queries. A violation fails the seed as "SM: invariant: why".
 *
 * The checks run on one node per seed (checked_slot()); each node's
 * checker keeps what it saw (the highest token, the running
 * lock-delays, its model of the key/value changes); it starts over when
 * the node restarts or installs a snapshot (an entry that does not follow
 * the last one checked). Without access control every session belongs to
 * no token.
 *
 * Request order (SM-9, DESIGN.md rule 14), read once per committed index,
 * on the first node to apply it (every node applies the same results, I7),
 * so that the model follows the log however nodes crash, restart or
 * install snapshots: per session, a numbered request (seq) applies only
 * above every seq the session applied before; at the last one it changes
 * nothing and answers that request's first answer again, marked a retry
 * (a queued acquire answers where its wait stands); below it,
 * stale_request naming the last, without grants. The clients number most
 * of their lock and election requests and send some again (client.c).
 *
 * --break kv-NAME breaks the key/value machine around its apply
 * (sm_break.c), to show that the checks catch it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_internal.h"
#include "rt.h"
#include "sm_check.h"

int __real_coord_sm_apply_entry(struct coord_sm *sm, uint64_t index, const void *cmd, size_t len,
                                struct coord_result *out);
int __wrap_coord_sm_apply_entry(struct coord_sm *sm, uint64_t index, const void *cmd, size_t len,
                                struct coord_result *out);

struct checker {
	bool on;
	uint64_t gen, next_index; /* the node's life, the entry expected next */
	sqlite3 *db;
	struct sim_coord_pre pre;
	struct sim_coord_kv_pre kv_pre;
	struct sim_coord_kv_model kv_model;
	struct sim_coord_delays delays;
	uint64_t last_token;
};

static struct checker checkers[RT_NODES_MAX];
static struct sim_coord_row waiters[SIM_COORD_WAITERS], holders[SIM_COORD_WAITERS];
#define RT_SEQ_SESSIONS 1024 /* sessions the order check follows, per seed */

static unsigned entries_checked;
static struct seq_session {
	struct coord_session_id id;
	bool live;
	uint64_t seq; /* the last numbered request it applied, its answer */
	enum coord_status status;
	uint64_t token;
} seqs[RT_SEQ_SESSIONS];
static size_t n_seqs;
static uint64_t order_checked; /* the highest index read */
static enum sim_kv_break brk;  /* --break: none, or one of the kv breaks */

bool rt_apply_set_break(const char *name)
{
	static const struct {
		const char *name;
		enum sim_kv_break brk;
	} breaks[] = {
	    {"kv-keep-ephemeral", SIM_BREAK_KV_KEEP_EPHEMERAL},
	    {"kv-skip-history", SIM_BREAK_KV_SKIP_HISTORY},
	    {"kv-ignore-cas", SIM_BREAK_KV_IGNORE_CAS},
	    {"kv-ignore-fence", SIM_BREAK_KV_IGNORE_FENCE},
	    {"kv-no-compacted", SIM_BREAK_KV_NO_COMPACTED},
	    {"kv-gone-kept", SIM_BREAK_KV_GONE_KEPT},
	    {"kv-overtrim", SIM_BREAK_KV_OVERTRIM},
	};

	for (size_t i = 0; i < sizeof(breaks) / sizeof(breaks[0]); i++)
		if (strcmp(name, breaks[i].name) == 0) {
			brk = breaks[i].brk;
			return true;
		}
	return false;
}

/* Before the node closes its database: the model's statement goes. */
void rt_apply_node_down(int slot)
{
	struct checker *c = &checkers[slot];

	if (c->on) {
		sim_coord_kv_model_close(&c->kv_model);
		sim_stmts_forget(c->db);
	}
	c->on = false;
}

unsigned rt_apply_checked(void)
{
	return entries_checked;
}

/* The checker of the node applying now, started over if the entry does
 * not follow the last one it checked. */
static struct checker *checker_of(struct rt_world *w, uint64_t index)
{
	struct rt_node *rn = &w->nodes[w->current];
	struct checker *c = &checkers[w->current];

	if (!c->on || c->gen != rn->gen || c->next_index != index || c->db != rn->n->db) {
		rt_apply_node_down(w->current);
		memset(c, 0, sizeof(*c));
		c->on = true;
		c->gen = rn->gen;
		c->db = rn->n->db;
		sim_coord_kv_model_restart(c->db, &c->kv_model);
		c->last_token = sim_coord_max_token(c->db);
	}
	c->next_index = index + 1;
	c->pre.waiters = waiters;
	c->pre.holders = holders;
	return c;
}

/* What a numbered request of session S (live in the log) did wrong, or NULL. */
static const char *order_broken(const struct seq_session *s, const struct coord_cmd *cmd,
                                const struct coord_result *res)
{
	if (res->status == COORD_ST_STALE_REQUEST) {
		if (cmd->seq >= s->seq)
			return "stale_request for a seq above the session's last applied";
		if (res->seq != s->seq)
			return "stale_request names another seq than the session's last applied";
		if (res->n_grants != 0 || res->session_ended)
			return "a stale request changed something";
		return NULL;
	}
	if (res->retry) {
		if (cmd->seq != s->seq)
			return "a retry's answer for a seq that is not the session's last applied";
		if (s->status != COORD_ST_QUEUED &&
		    (res->status != s->status || res->token != s->token))
			return "a retry's answer differs from the first answer";
		if (res->n_grants != 0 || res->session_ended)
			return "a retry changed something";
		return NULL;
	}
	if (cmd->seq <= s->seq)
		return "a request applied after a later-numbered request of its session";
	return NULL;
}

static void check_order(struct rt_world *w, uint64_t index, const struct coord_cmd *cmd,
                        const struct coord_result *res)
{
	struct seq_session *s = NULL;
	const char *broken;

	if (index <= order_checked || !cmd)
		return;
	order_checked = index;
	for (size_t i = 0; i < n_seqs && !s; i++)
		if (coord_session_id_equal(&seqs[i].id, &res->session))
			s = &seqs[i];
	if (!s && cmd->type == COORD_CMD_OPEN && res->status == COORD_ST_OK &&
	    n_seqs < RT_SEQ_SESSIONS) {
		s = &seqs[n_seqs++];
		*s = (struct seq_session){.id = res->session, .live = true};
		return;
	}
	if (!s || !s->live)
		return;
	if (cmd->seq != 0 && (broken = order_broken(s, cmd, res)) != NULL) {
		rt_fail(
		    w,
		    "SM: request order: entry %llu, %s of seq %llu (the session's last %llu): %s",
		    (unsigned long long)index, coord_cmd_type_name((int)cmd->type),
		    (unsigned long long)cmd->seq, (unsigned long long)s->seq, broken);
		return;
	}
	if (res->session_ended)
		s->live = false;
	if (cmd->seq == 0 || res->session_ended || res->retry ||
	    res->status == COORD_ST_STALE_REQUEST)
		return;
	s->seq = cmd->seq;
	s->status = res->status;
	s->token = res->token;
}

/* The node whose applies are checked: one per seed (I7 and convergence
 * hold the others to the same states at the same indexes), the seed's
 * founder while it is a member, else the first member. Checking every
 * node's applies tripled the checks' cost, a third of a seed's. */
static int checked_slot(const struct rt_world *w)
{
	int s = (int)(w->seed % (uint64_t)w->n_founders);

	for (int i = 0; i < w->n_nodes && !w->nodes[s].member; i++)
		if (w->nodes[i].member)
			s = i;
	return s;
}

int __wrap_coord_sm_apply_entry(struct coord_sm *sm, uint64_t index, const void *data, size_t len,
                                struct coord_result *out)
{
	struct rt_world *w = rt_w;
	static uint8_t mutated[COORD_CMD_MAX_LEN];
	struct coord_cmd cmd;
	const struct coord_cmd *cp;
	size_t n;
	struct checker *c;
	const char *bad;
	char why[512];
	bool checking;
	int rc;

	if (!w || w->current < 0 || !w->nodes[w->current].n || w->failed)
		return __real_coord_sm_apply_entry(sm, index, data, len, out);
	cp = coord_cmd_decode(data, len, &cmd) == 0 ? &cmd : NULL;
	checking = w->current == checked_slot(w);
	if (!checking && !brk) {
		rc = __real_coord_sm_apply_entry(sm, index, data, len, out);
		if (rc == 0)
			check_order(w, index, cp, out);
		return rc;
	}
	c = checker_of(w, index);
	if (coord_sm_flush(sm) != 0 || sim_coord_pre_read(c->db, cp, 0, &c->pre) != 0 ||
	    sim_coord_kv_pre_read(c->db, cp, &c->kv_pre) != 0) {
		rt_fail(w, "SM: n%d: cannot read the tables before entry %llu", w->current + 1,
		        (unsigned long long)index);
		return __real_coord_sm_apply_entry(sm, index, data, len, out);
	}
	if (brk && cp && (n = sim_break_condition(brk, cp, mutated, sizeof(mutated))) > 0) {
		data = mutated;
		len = n;
	}
	if (brk && cp && sim_break_tables(brk, c->db, &c->kv_pre, index, cp, out, true) != 0)
		rt_fail(w, "SM: n%d: --break could not edit the tables", w->current + 1);
	rc = __real_coord_sm_apply_entry(sm, index, data, len, out);
	if (rc != 0)
		return rc;
	if (coord_sm_flush(sm) != 0 ||
	    (brk && cp && sim_break_tables(brk, c->db, &c->kv_pre, index, cp, out, false) != 0)) {
		rt_fail(w, "SM: n%d: cannot write what entry %llu left", w->current + 1,
		        (unsigned long long)index);
		return rc;
	}
	if (!checking) {
		check_order(w, index, cp, out);
		return rc;
	}
	entries_checked++;
	bad = sim_coord_check(c->db, index, cp, out, &c->pre, &c->last_token, &c->delays, why,
	                      sizeof(why));
	if (!bad)
		bad = sim_coord_kv_check(c->db, w->nodes[w->current].n->reader, index, cp, out,
		                         &c->kv_pre, &c->kv_model, why, sizeof(why));
	if (bad)
		rt_fail(w, "SM: %s: n%d: %s", bad, w->current + 1, why);
	check_order(w, index, cp, out);
	return rc;
}
