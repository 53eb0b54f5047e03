/* Private to coord_sm: the access token store's commands (sm_token.c). */
#ifndef COORD_SM_TOKEN_H
#define COORD_SM_TOKEN_H

#include "sm_internal.h"

/* Applies TOKEN: creates the token (id = the entry's index, in
 * result.token), or, with its bootstrap flag, the cluster's first one and
 * turns authentication on. ok; exists (a token has that hash, or a
 * bootstrap came before); not_found (a plain TOKEN before the bootstrap:
 * authentication is off, so no token may exist yet); limit ("tokens").
 * Anything but ok changes nothing. */
int sm_apply_token(struct sm_apply *a);

/* Applies REVOKE_TOKEN: the token and its rules are deleted in this entry
 * (ok), or not_found when no token has that id. */
int sm_apply_revoke_token(struct sm_apply *a);

#endif
