/* node_clock.h: the cluster clock, the only time the replicated state knows
 * (DESIGN.md, Time).
 *
 * Every entry carries a stamp (coord_cmd.now_ms) from the clock of the node
 * that proposed it, and the state machine compares stamps with stamps: a
 * lock-delay ends at the stamp of the expiry that began it plus the delay,
 * and only an entry stamped at or after that end grants the lock (sm_lock.c,
 * sm_grant.c). So the safety of lock-delay is one rule about stamps:
 *
 *   C-1. Along the log, stamps never run ahead of true time: for entries
 *        i < j, stamp(j) - stamp(i) <= the true time between their
 *        proposals (up to the monotonic clocks' rate error).
 *
 * The wall clock cannot give that (an NTP step, a bad RTC, a leader whose
 * clock is ahead), so stamps come from this clock instead: the stamp of the
 * last stamped entry this node took into its log, plus the time its
 * monotonic clock has run since it took it. A follower follows each entry
 * it appends from the leader; a leader proposes from the entry it had last
 * (its own proposals do not move it: they are on it already); a node that
 * starts, or installs a snapshot, follows the newest stamp it has, taken
 * now. Each stamp a node makes is then the stamp of an entry before it in
 * the log plus at most the true time since that entry was proposed, which
 * is C-1 by induction. A jump of any node's wall clock changes nothing.
 *
 * The price: the cluster clock runs behind true time by what no node
 * measured, the time between a proposal and its arrival at the next leader
 * (a round trip's half) at each election, and the whole time the cluster was
 * down. It starts from the founding node's wall clock. Stamps shown to
 * clients (an access token's create_ms) are cluster-clock times.
 *
 * Pure: every function takes the monotonic time it needs. */
#ifndef COORD_NODE_CLOCK_H
#define COORD_NODE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct node_clock {
	bool set;          /* false until a stamp was followed: the wall clock founds it */
	uint64_t index;    /* the log index of the entry followed (0: a stored stamp) */
	uint64_t stamp_ms; /* its stamp */
	uint64_t at_ms;    /* the monotonic time this node took it */
};

/* The entry at INDEX stamped STAMP_MS is now the last stamped entry this
 * node took into its log, at monotonic time MONO_MS: the clock runs on from
 * it, also when that is earlier than the stamp followed before (a follower
 * whose log was cut back, a leader behind the one before it: C-1 needs the
 * entry before, not the highest). */
void node_clock_follow(struct node_clock *c, uint64_t index, uint64_t stamp_ms, uint64_t mono_ms);

/* A node starts (node.c): its log's last stamped entry is LOG_INDEX, stamped
 * LOG_STAMP (LOG_INDEX 0: none), and state.db applied up to APPLIED, whose
 * last stamp is STORED (0: none). The clock goes on from the newer of the
 * two, taken at MONO_MS; with neither it stays unset (a founding node). */
void node_clock_start(struct node_clock *c, uint64_t log_index, uint64_t log_stamp,
                      uint64_t applied, uint64_t stored, uint64_t mono_ms);

/* A snapshot up to INDEX, whose last stamp is STORED, was installed at
 * MONO_MS: its entries never passed through the log, so the clock goes on
 * from it unless it follows a newer entry already. */
void node_clock_installed(struct node_clock *c, uint64_t index, uint64_t stored, uint64_t mono_ms);

struct raft_ready;

/* The entries of RD were taken into this node's log at MONO_MS: the clock
 * follows the last stamped one that came from another node, a leader's; a
 * leader's own entries of its term are on its clock already. */
void node_clock_follow_ready(struct node_clock *c, const struct raft_ready *rd, uint64_t mono_ms);

/* The stamp for an entry proposed now (MONO_MS monotonic, WALL_MS the wall
 * clock, used only before any stamp was followed, when this node founds the
 * cluster: the caller then follows that first stamp). Never decreases
 * between two follows. */
uint64_t node_clock_now(const struct node_clock *c, uint64_t mono_ms, uint64_t wall_ms);

#endif
