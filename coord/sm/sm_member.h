/* Private to coord_sm: servers that left the cluster. Their ids are kept in
 * coord_meta, so that they replicate, travel in snapshots and count in the
 * state hash; the members API never adds such an id again (an old process
 * of that id could otherwise come back as the new member). */
#ifndef COORD_SM_MEMBER_H
#define COORD_SM_MEMBER_H

#include "sm_internal.h"

/* Applies RETIRE: the command's server id is retired from this entry on. */
int sm_apply_retire(struct sm_apply *a);

#endif
