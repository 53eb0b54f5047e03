/* Retired server ids: one coord_meta row each, "retired/<id>", holding the
 * index of the RETIRE entry. */
#include "sm_member.h"

#include <stdio.h>

#include "sm.h"

#define RETIRED_KEY_MAX 32 /* "retired/" and 20 digits, with NUL */

static void retired_key(uint64_t id, char key[RETIRED_KEY_MAX])
{
	snprintf(key, RETIRED_KEY_MAX, "retired/%llu", (unsigned long long)id);
}

int sm_apply_retire(struct sm_apply *a)
{
	char key[RETIRED_KEY_MAX];
	int rv;

	retired_key(a->cmd->member, key);
	if ((rv = sm_meta_set(a, key, a->index)) != 0)
		return rv;
	a->out->status = COORD_ST_OK;
	return 0;
}

int coord_sm_member_retired(sqlite3 *db, uint64_t id, bool *retired)
{
	char key[RETIRED_KEY_MAX];
	uint64_t at = 0;
	int rv;

	retired_key(id, key);
	rv = sm_meta_get(db, NULL, key, &at);
	*retired = rv == 0 && at != 0;
	return rv;
}
