/* coord_seq.c: numbered requests of the coord clients (API.md, Retries) and
 * the order invariant of SM-9 (DESIGN.md rule 14).
 *
 * Clients number most requests of a session (seq rising, with gaps) and
 * now and then send a numbered request again, re-stamped by the leader as
 * coordd stamps a forwarded one: soon after (a duplicate, a retry after a
 * lost answer) or after later ones of its session (a request delayed on a
 * paused node). The committed log must then read, per session:
 *   - a request applies only if its seq is above every seq the session
 *     applied before (no request applies after a later-numbered one);
 *   - at the session's last applied seq it changes nothing and answers
 *     that request's first answer again, marked a retry (a queued acquire
 *     answers where its wait stands: granted, queued or refused);
 *   - below it, stale_request naming the last applied seq, no grants.
 * The check reads each committed index once, on the first node to apply it
 * (every node applies the same results, invariant I7), so the model
 * follows the log however nodes crash, restart or install snapshots. */
#include <string.h>

#include "coord_client.h"

/* The types a client numbers: the requests of a session (commands.c). */
static bool ccNumbered(enum coord_cmd_type type)
{
	return type == COORD_CMD_CLOSE || type == COORD_CMD_ACQUIRE || type == COORD_CMD_RELEASE ||
	       type == COORD_CMD_PROCLAIM;
}

void cc_seq_number(struct sim_world *w, struct cc_session *s, struct coord_cmd *cmd)
{
	struct sim_coord *c = w->coord;
	struct cc_sent *sent;

	if (!ccNumbered(cmd->type) || !sim_chance(&w->rng, CC_NUMBER_LIKE))
		return;
	/* Gaps: a request whose answer was lost may never be seen again. */
	s->next_seq += 1 + (sim_chance(&w->rng, 200) ? sim_below(&w->rng, 3) : 0);
	cmd->seq = s->next_seq;
	sent = &c->sent[c->n_sent++ % CC_SENT];
	if (coord_cmd_encode(cmd, sent->bytes, sizeof(sent->bytes), &sent->len) != 0)
		sent->len = 0;
}

size_t cc_seq_replay(struct sim_world *w, uint64_t now_ms, uint8_t *buf, size_t cap)
{
	struct sim_coord *c = w->coord;
	size_t n = c->n_sent < CC_SENT ? c->n_sent : CC_SENT;
	const struct cc_sent *sent;
	struct coord_cmd cmd;
	size_t len = 0;

	if (n == 0 || !sim_chance(&w->rng, CC_REPLAY_LIKE))
		return 0;
	/* Mostly the latest (a retry), else an older one (delayed). */
	sent = sim_chance(&w->rng, 500) ? &c->sent[(c->n_sent - 1) % CC_SENT]
	                                : &c->sent[sim_below(&w->rng, (uint64_t)n)];
	if (sent->len == 0 || coord_cmd_decode(sent->bytes, sent->len, &cmd) != 0)
		return 0;
	cmd.now_ms = now_ms;
	if (coord_cmd_encode(&cmd, buf, cap, &len) != 0)
		return 0;
	sim_trace(w, "a numbered request of type %d, seq %llu, comes again", (int)cmd.type,
	          (unsigned long long)cmd.seq);
	return len;
}

/* A result of a numbered request of session S (known to the log as live)
 * that breaks SM-9, or NULL. */
static const char *ccSeqBroken(const struct cc_session *s, const struct coord_cmd *cmd,
                               const struct coord_result *res)
{
	if (res->status == COORD_ST_STALE_REQUEST) {
		if (cmd->seq >= s->log_seq)
			return "stale_request for a seq above the session's last applied";
		if (res->seq != s->log_seq)
			return "stale_request names another seq than the session's last applied";
		if (res->n_grants != 0 || res->session_ended)
			return "a stale request changed something";
		return NULL;
	}
	if (res->retry) {
		if (cmd->seq != s->log_seq)
			return "a retry's answer for a seq that is not the session's last applied";
		if (s->log_status != COORD_ST_QUEUED &&
		    (res->status != s->log_status || res->token != s->log_token))
			return "a retry's answer differs from the first answer";
		if (res->n_grants != 0 || res->session_ended)
			return "a retry changed something";
		return NULL;
	}
	if (cmd->seq <= s->log_seq)
		return "a request applied after a later-numbered request of its session";
	return NULL;
}

void cc_seq_check(struct sim_world *w, int slot, const struct raft_entry *e,
                  const struct coord_result *res)
{
	struct sim_coord *c = w->coord;
	struct coord_cmd cmd;
	struct cc_session *s;
	const char *broken;
	int i;

	if (e->index <= c->seq_checked)
		return; /* read once, on its first application anywhere */
	c->seq_checked = e->index;
	if (e->type != RAFT_ENTRY_NORMAL || coord_cmd_decode(e->data, e->len, &cmd) != 0 ||
	    (i = cc_find(c, &res->session)) < 0)
		return;
	s = &c->s[i];
	if (cmd.type == COORD_CMD_OPEN && res->status == COORD_ST_OK) {
		s->log_live = true;
		return;
	}
	if (cmd.seq != 0 && s->log_live && (broken = ccSeqBroken(s, &cmd, res)) != NULL) {
		sim_fail(w, slot, "request order",
		         "entry %llu, session %d, type %d, seq %llu (last applied %llu): %s",
		         (unsigned long long)e->index, i, (int)cmd.type,
		         (unsigned long long)cmd.seq, (unsigned long long)s->log_seq, broken);
		return;
	}
	if (res->session_ended) {
		s->log_live = false;
		return;
	}
	if (cmd.seq == 0 || !s->log_live || res->retry || res->status == COORD_ST_STALE_REQUEST)
		return;
	s->log_seq = cmd.seq;
	s->log_status = res->status;
	s->log_token = res->token;
}
