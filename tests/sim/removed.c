/* removed.c: removed servers never disrupt the cluster (I13, thesis 4.2.3),
 * in the form README.md explains (a lagging member), over the real nodes. A server D is removed
 * once a committed configuration without it is seen on any node (a leader's core shows it as soon
 * as it commits), D having been listed by an earlier one. Then, for every Raft frame D sent after
 * that (its own copy or the network's duplicate), delivered to a member M of the newest committed
 * configuration:
 *  - if M's own configuration no longer lists D, the frame does not raise
 *    M's term, depose M if it leads, or make M follow D; but for two
 *    frames whose term D had from members: an answer to M's own request
 *    (a pre-vote M asked while it still listed D: seed 302571) may raise
 *    it to no more than the highest term any member other than D held,
 *    and a frame of the term D led, to a member that never heard of that
 *    term (seed 306864), to that term, or to the next one for its
 *    TIMEOUT_NOW (D hands over when its removal commits, and again while
 *    it still leads that term: seed 302571). M refuses D's
 *    HELLO (coord/node/admit.h: a stranger) and never dials D, though a
 *    connection D dialled before its removal still brings D's frames to M
 *    (a node drops the peer that left its configuration, not that peer's
 *    connection to it); and pre-vote stops D: it never wins a pre-vote
 *    quorum, since a majority of the configuration it knows holds the
 *    removal, which it lacks;
 *  - if M lags behind the removal (it still lists D, and admits it by
 *    design), the frame raises M's term to no more than the highest term
 *    any member other than D held (a pre-vote refusal carries D's term,
 *    which a lagging pre-candidate adopts; D's term came from members),
 *    and does not make M follow D.
 * In either case M may follow D in the term D won before it was removed:
 * D led that term rightfully, and a member that missed its removal learns
 * it from D's appends (seed 2205: a lagging member follows the removed
 * leader of term 3, cut off from the leader of term 4 that committed the
 * removal; check-quorum deposes D within an election timeout).
 * A frame D sent in the turn that committed the removal does not count:
 * a removed leader hands over with TIMEOUT_NOW then (raft/membership.c).
 *
 * Cost: after each event, two numbers of each core compared; at each
 * delivery of a Raft frame, one comparison unless its sender was removed.
 */
#include <assert.h>

#include "codec.h"
#include "node_internal.h"
#include "rt.h"

static struct {
	struct raft_conf conf;             /* the newest committed configuration seen */
	uint64_t conf_index;               /* ... the index of its entry (0: none seen) */
	bool listed[RT_NODES_MAX];         /* by a committed configuration, once */
	uint64_t removed_us[RT_NODES_MAX]; /* when it was seen removed (0: not) */
	uint64_t term_held[RT_NODES_MAX];  /* the highest term it held, in any life */
	uint64_t term_led[RT_NODES_MAX];   /* the highest term it led before its removal */
} rm;

static bool lists(const struct raft_conf *conf, uint64_t id)
{
	for (uint32_t i = 0; i < conf->n; i++)
		if (conf->servers[i].id == id)
			return true;
	return false;
}

/* A newer committed configuration: who it leaves out is removed now. */
static void conf_committed(struct rt_world *w, const struct raft_conf *conf, uint64_t index)
{
	rm.conf = *conf;
	rm.conf_index = index;
	for (int i = 0; i < w->n_nodes; i++) {
		if (lists(conf, w->nodes[i].id)) {
			assert(!rm.removed_us[i]); /* a removed id is never used again */
			rm.listed[i] = true;
		} else if (rm.listed[i] && !rm.removed_us[i]) {
			rm.removed_us[i] = w->now_us;
			rt_trace(w, "I13: n%d removed (configuration at %llu)", i + 1,
			         (unsigned long long)index);
		}
	}
}

void rt_removed_observe(struct rt_world *w, int node)
{
	struct raft *r = w->nodes[node].n->raft;
	uint64_t at = raft_conf_index(r);

	if (raft_term(r) > rm.term_held[node])
		rm.term_held[node] = raft_term(r);
	if (raft_role(r) == RAFT_LEADER && !rm.removed_us[node] && raft_term(r) > rm.term_led[node])
		rm.term_led[node] = raft_term(r);
	/* A configuration held in an entry (one from a snapshot shows on the
	 * leader that committed it, before any compaction). */
	if (at > rm.conf_index && at <= raft_commit_index(r))
		conf_committed(w, raft_conf(r), at);
}

/* The highest term a member of the newest committed configuration other
 * than FROM held, its core's now if higher (TO's). */
static uint64_t members_term(struct rt_world *w, int from, int to)
{
	uint64_t top = raft_term(w->nodes[to].n->raft);

	for (uint32_t k = 0; k < rm.conf.n; k++) {
		int i = (int)rm.conf.servers[k].id - 1;

		if (i != from && i >= 0 && i < w->n_nodes && rm.term_held[i] > top)
			top = rm.term_held[i];
	}
	return top;
}

/* The type (0 if it does not decode) and term of the Raft frame PAYLOAD,
 * LEN bytes. */
static int frame_type(const uint8_t *payload, size_t len, uint64_t *term)
{
	struct raft_msg *m = NULL;
	int type = 0;

	*term = 0;
	if (raft_codec_decode_copy(payload, len, &m) == RAFT_CODEC_OK) {
		type = m->type;
		*term = m->term;
	}
	if (m)
		raft_codec_msg_free(m);
	return type;
}

static bool is_answer(int type)
{
	return type == RAFT_MSG_PREVOTE_RESP || type == RAFT_MSG_VOTE_RESP ||
	       type == RAFT_MSG_APPEND_RESP || type == RAFT_MSG_HEARTBEAT_RESP ||
	       type == RAFT_MSG_SNAPSHOT_RESP;
}

void rt_removed_before(struct rt_world *w, int from, int to, uint64_t sent_us,
                       const uint8_t *payload, size_t len, struct rt_removed_mark *mark)
{
	struct raft *r = w->nodes[to].n->raft;
	uint64_t msg_term, led;
	int type;

	mark->watch = rm.removed_us[from] && sent_us > rm.removed_us[from] &&
	              lists(&rm.conf, w->nodes[to].id);
	if (!mark->watch)
		return;
	mark->lagging = lists(raft_conf(r), w->nodes[from].id);
	mark->term = raft_term(r);
	type = frame_type(payload, len, &msg_term);
	mark->ceiling = mark->lagging || is_answer(type) ? members_term(w, from, to) : mark->term;
	/* D's handover: TIMEOUT_NOW of the term it led starts an election in
	 * the next one. */
	led = msg_term + (type == RAFT_MSG_TIMEOUT_NOW);
	if (msg_term && msg_term == rm.term_led[from] && led > mark->ceiling)
		mark->ceiling = led;
	mark->role = raft_role(r);
	mark->leader = raft_leader(r);
	rt_trace(w, "n%d hears removed n%d: %s of term %llu%s", to + 1, from + 1,
	         type ? raft_msg_type_name(type) : "undecodable frame",
	         (unsigned long long)msg_term,
	         mark->lagging ? " (it lags: its configuration lists it)" : "");
}

void rt_removed_after(struct rt_world *w, int from, int to, const struct rt_removed_mark *mark)
{
	struct raft *r;
	uint64_t d = w->nodes[from].id;

	if (!mark->watch || w->failed || !w->nodes[to].up)
		return;
	r = w->nodes[to].n->raft;
	if (raft_term(r) > mark->ceiling)
		rt_fail(w, "I13: a frame removed n%llu sent raises n%d's term from %llu to %llu%s",
		        (unsigned long long)d, to + 1, (unsigned long long)mark->term,
		        (unsigned long long)raft_term(r),
		        mark->lagging ? ", above every member's" : "");
	else if (!mark->lagging && mark->role == RAFT_LEADER && raft_role(r) != RAFT_LEADER)
		rt_fail(w, "I13: a frame removed n%llu sent deposes n%d, leader of term %llu",
		        (unsigned long long)d, to + 1, (unsigned long long)mark->term);
	else if (raft_leader(r) == d && mark->leader != d && raft_term(r) != rm.term_led[from])
		rt_fail(w, "I13: n%d follows removed n%llu as leader of term %llu", to + 1,
		        (unsigned long long)d, (unsigned long long)raft_term(r));
}
