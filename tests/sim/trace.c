/* trace.c: the readable trace of a replayed seed, and failure reports.
 *
 * A trace has one line per event, prefixed with the step ("t=..."): ticks,
 * sends, deliveries, drops, crashes, restarts, partitions, elections,
 * commits, proposals, reads, snapshots. A failure names the invariant, the
 * node and the step, and prints the exact command that replays the seed.
 */
#include <stdarg.h>
#include <stdio.h>

#include "sim.h"

void sim_trace(struct sim_world *w, const char *fmt, ...)
{
	va_list ap;

	if (!w->trace)
		return;
	printf("t=%llu ", (unsigned long long)w->now);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void sim_fail(struct sim_world *w, int slot, const char *invariant, const char *fmt, ...)
{
	va_list ap;

	if (w->failed)
		return; /* the first violation is the one to replay */
	w->failed = true;
	printf("FAIL seed %llu, step %llu, %s: %s%d: ", (unsigned long long)w->seed,
	       (unsigned long long)w->now, invariant, slot >= 0 ? "n" : "world ",
	       slot >= 0 ? slot + 1 : 0);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n  replay: coord-sim --seed %llu --nodes %u --steps %llu%s --trace%s%s\n",
	       (unsigned long long)w->seed, w->p.nodes, (unsigned long long)w->p.steps,
	       w->wipes ? " --wipes" : "", w->brk ? " --break " : "",
	       w->brk ? sim_break_name(w->brk) : "");
	fflush(stdout);
}

const char *sim_msg_line(const struct raft_msg *m, char *buf, size_t cap)
{
	switch (m->type) {
	case RAFT_MSG_APPEND:
		snprintf(buf, cap,
		         "n%llu->n%llu %s term %llu prev %llu/%llu commit %llu entries %u",
		         (unsigned long long)m->from, (unsigned long long)m->to,
		         raft_msg_type_name(m->type), (unsigned long long)m->term,
		         (unsigned long long)m->index, (unsigned long long)m->log_term,
		         (unsigned long long)m->commit, m->n_entries);
		break;
	case RAFT_MSG_SNAPSHOT:
		snprintf(buf, cap, "n%llu->n%llu %s term %llu snapshot %llu/%llu chunk %llu+%u%s",
		         (unsigned long long)m->from, (unsigned long long)m->to,
		         raft_msg_type_name(m->type), (unsigned long long)m->term,
		         (unsigned long long)m->snap.index, (unsigned long long)m->snap.term,
		         (unsigned long long)m->offset, m->len, m->last ? " last" : "");
		break;
	default:
		snprintf(
		    buf, cap,
		    "n%llu->n%llu %s term %llu index %llu log_term %llu commit %llu%s ctx %llu",
		    (unsigned long long)m->from, (unsigned long long)m->to,
		    raft_msg_type_name(m->type), (unsigned long long)m->term,
		    (unsigned long long)m->index, (unsigned long long)m->log_term,
		    (unsigned long long)m->commit, m->reject ? " reject" : "",
		    (unsigned long long)m->ctx);
		break;
	}
	return buf;
}
