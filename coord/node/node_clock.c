/* The cluster clock (node_clock.h). */
#include "node_clock.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "command.h"
#include "raft.h"

void node_clock_follow(struct node_clock *c, uint64_t index, uint64_t stamp_ms, uint64_t mono_ms)
{
	assert(c != NULL);
	c->set = true;
	c->index = index;
	c->stamp_ms = stamp_ms;
	c->at_ms = mono_ms;
}

void node_clock_start(struct node_clock *c, uint64_t log_index, uint64_t log_stamp,
                      uint64_t applied, uint64_t stored, uint64_t mono_ms)
{
	memset(c, 0, sizeof(*c));
	if (log_index > applied)
		node_clock_follow(c, log_index, log_stamp, mono_ms);
	else if (stored != 0 || log_index != 0)
		node_clock_follow(c, applied, stored != 0 ? stored : log_stamp, mono_ms);
}

void node_clock_installed(struct node_clock *c, uint64_t index, uint64_t stored, uint64_t mono_ms)
{
	if (c->index < index && stored != 0)
		node_clock_follow(c, index, stored, mono_ms);
}

void node_clock_follow_ready(struct node_clock *c, const struct raft_ready *rd, uint64_t mono_ms)
{
	uint64_t ms;

	for (size_t i = rd->n_entries; i-- > 0;) {
		const struct raft_entry *e = &rd->entries[i];

		if (rd->role == RAFT_LEADER && e->term == rd->term)
			continue;
		if (e->type == RAFT_ENTRY_NORMAL && coord_cmd_stamp(e->data, e->len, &ms)) {
			node_clock_follow(c, e->index, ms, mono_ms);
			return;
		}
	}
}

uint64_t node_clock_now(const struct node_clock *c, uint64_t mono_ms, uint64_t wall_ms)
{
	assert(c != NULL);
	if (!c->set)
		return wall_ms;
	/* The monotonic clock never goes back; a caller that read it before
	 * the follow gets the stamp itself. */
	return c->stamp_ms + (mono_ms > c->at_ms ? mono_ms - c->at_ms : 0);
}
