/* What every part of the runtime asks of the node: its stamps, fail-stop,
 * the headers of an answer, peers' HTTP addresses, marking the core as
 * stepped, and the one way into the log (node_core.h). */
#include "node_core.h"

#include <stdlib.h>
#include <unistd.h>

#include "log.h"

uint64_t node_stamp_ms(struct node *n)
{
	uint64_t mono = node_now_ms(), ms = node_clock_now(&n->clock, mono, node_wall_ms());

	/* The first stamp of a founding node founds the clock: from then on
	 * the wall clock is never read for a stamp. */
	if (!n->clock.set)
		node_clock_follow(&n->clock, 0, ms, mono);
	return ms;
}

void node_fatal(struct node *n, const char *what, const char *detail)
{
	(void)n;
	LOG_ERROR("fatal: %s: %s; stopping (fail-stop)", what, detail ? detail : "");
	_exit(70);
}

uint64_t node_applied(const struct node *n)
{
	/* During an install the worker moves state.db's index (N-6). */
	return n->installing ? n->install_from : persist_state_applied_index(n->pstate);
}

struct http_meta node_meta(const struct node *n)
{
	struct http_meta m = {0};

	m.index = node_applied(n);
	m.term = raft_term(n->raft);
	m.leader = raft_leader(n->raft);
	return m;
}

const char *node_peer_http(const struct node *n, uint64_t id)
{
	if (id == n->cfg.id)
		return n->cfg.http;
	for (size_t i = 0; i < n->n_peers; i++)
		if (n->peers[i].id == id)
			return n->peers[i].http[0] ? n->peers[i].http : NULL;
	return NULL;
}

/* Inputs only mark the core as stepped; the core's outputs are executed once
 * per turn of the loop, after every event of that turn has been fed in, so
 * that all the messages read in one turn share one fsync (group commit). */
void node_kick(struct node *n)
{
	n->dirty = true;
}

/* Proposing -------------------------------------------------------------------- */

bool node_propose(struct node *n, const struct coord_cmd *cmd, uint64_t *index, uint64_t *term)
{
	uint8_t buf[COORD_CMD_MAX_LEN];
	size_t len;
	int rc;

	if (coord_cmd_encode(cmd, buf, sizeof(buf), &len) != 0)
		return false;
	rc = raft_propose(n->raft, buf, len, index, term);
	if (rc == RAFT_OK)
		n->metrics.proposals++;
	return rc == RAFT_OK;
}
