/* Private to coord_sm: the limits in force (limits.h), kept in coord_meta
 * so that they replicate, travel in snapshots and count in the state hash. */
#ifndef COORD_SM_LIMITS_H
#define COORD_SM_LIMITS_H

#include "limits.h"
#include "sm_internal.h"

/* Applies LIMITS: the command's limits are in force from this entry on. */
int sm_apply_limits(struct sm_apply *a);

/* The limits in force for the entry being applied (the defaults until the
 * first LIMITS entry). Returns 0 or COORD_EDB. */
int sm_limits_in_force(struct sm_apply *a, struct coord_limits *out);

#endif
