/* coordctl's pure view of a configuration: the table `member list` prints,
 * and the rule `member add --wait` follows to decide when a learner has
 * caught up. No I/O beyond the stream given, so unit tests pin both. */
#ifndef COORD_CLIENTS_COORDCTL_MEMBERSHIP_H
#define COORD_CLIENTS_COORDCTL_MEMBERSHIP_H

#include <stdint.h>
#include <stdio.h>

#include "libcoord.h"

/* Writes M as a table to OUT: a header line, a line per member in the
 * answer's order (ROLE is "leader" for the leader's entry, else "voter" or
 * "learner"; "-" for an unknown HTTP address or contact), then a line with
 * the configuration index and, when joint, that a change is in progress. */
void ctl_members_table(FILE *out, const struct coordc_members *m);

/* Where a learner stands, as ctl_catchup sees it. */
enum ctl_catchup {
	CTL_CATCHUP_GONE = 0,  /* not in the configuration (removed meanwhile) */
	CTL_CATCHUP_VOTER,     /* already a voter: nothing left to do */
	CTL_CATCHUP_NO_LEADER, /* no leader: look again */
	CTL_CATCHUP_BEHIND,    /* a learner short of the target */
	CTL_CATCHUP_READY      /* a learner at or past the target: promote it */
};

/* Where learner ID of M stands. The target is the leader's own match index
 * (its last log entry), fixed at the first look (*TARGET 0) so that a busy
 * leader does not move the goal for ever; a promote refused as
 * not_caught_up sets *TARGET back to 0 to aim at the leader's newer index.
 * The server decides at promote; this only saves promotes bound to fail.
 * When the answer does not know the leader's match index (0: not answered
 * by the leader), it is READY, so the promote's not_caught_up and its lag
 * pace the wait instead. */
enum ctl_catchup ctl_catchup(const struct coordc_members *m, uint64_t id, uint64_t *target);

#endif
