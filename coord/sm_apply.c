/* coord_sm_apply: decode one log entry and dispatch it to its command. */
#include <assert.h>

#include "sm_internal.h"

int coord_sm_apply(sqlite3 *db, uint64_t index, const void *cmd, size_t len,
                   struct coord_result *out)
{
	struct coord_cmd c;
	struct sm_apply a = {.db = db, .index = index, .cmd = &c, .out = out};

	assert(db != NULL && out != NULL);
	assert(index > 0 && index <= (uint64_t)INT64_MAX);
	sm_result_reset(out);
	/* A malformed entry is refused identically everywhere: the decoder
	 * reads only the entry's bytes (SM-1, rule 11). */
	if (coord_cmd_decode(cmd, len, &c) != 0) {
		out->status = COORD_ST_INVALID;
		return 0;
	}
	out->type = c.type;
	out->session = c.session;
	switch (c.type) {
	case COORD_CMD_OPEN:
		return sm_apply_open(&a);
	case COORD_CMD_CLOSE:
	case COORD_CMD_EXPIRE:
		return sm_apply_end(&a);
	case COORD_CMD_ACQUIRE:
		return sm_apply_acquire(&a);
	case COORD_CMD_RELEASE:
		return sm_apply_release(&a);
	case COORD_CMD_CANCEL:
		return sm_apply_cancel(&a);
	case COORD_CMD_PROCLAIM:
		return sm_apply_proclaim(&a);
	case COORD_CMD_WAKE:
		return sm_apply_wake(&a);
	}
	assert(!"decoded command of unknown type");
	return COORD_EMALFORMED;
}
