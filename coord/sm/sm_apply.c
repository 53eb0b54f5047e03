/* coord_sm_apply: decode one log entry and dispatch it to its command. */
#include <assert.h>
#include <stdlib.h>

#include "sm_internal.h"

struct coord_sm {
	sqlite3 *db;
	struct sm_stmt_cache cache;
};

sqlite3 *sm_handle_db(struct coord_sm *sm)
{
	return sm->db;
}

struct sm_stmt_cache *sm_handle_cache(struct coord_sm *sm)
{
	return &sm->cache;
}

static int applyCmd(struct sm_apply *a, const void *cmd, size_t len)
{
	struct coord_result *out = a->out;
	struct coord_cmd c;

	assert(a->index > 0 && a->index <= (uint64_t)INT64_MAX);
	sm_result_reset(out);
	/* A malformed entry is refused identically everywhere: the decoder
	 * reads only the entry's bytes (SM-1, rule 11). */
	if (coord_cmd_decode(cmd, len, &c) != 0) {
		out->status = COORD_ST_INVALID;
		return 0;
	}
	a->cmd = &c;
	out->type = c.type;
	out->session = c.session;
	switch (c.type) {
	case COORD_CMD_OPEN:
		return sm_apply_open(a);
	case COORD_CMD_CLOSE:
	case COORD_CMD_EXPIRE:
		return sm_apply_end(a);
	case COORD_CMD_ACQUIRE:
		return sm_apply_acquire(a);
	case COORD_CMD_RELEASE:
		return sm_apply_release(a);
	case COORD_CMD_CANCEL:
		return sm_apply_cancel(a);
	case COORD_CMD_PROCLAIM:
		return sm_apply_proclaim(a);
	case COORD_CMD_WAKE:
		return sm_apply_wake(a);
	}
	assert(!"decoded command of unknown type");
	return COORD_EMALFORMED;
}

int coord_sm_apply(sqlite3 *db, uint64_t index, const void *cmd, size_t len,
                   struct coord_result *out)
{
	struct sm_stmt_cache cache = {.n = 0};
	struct sm_apply a = {.db = db, .cache = &cache, .index = index, .out = out};
	int rv;

	assert(db != NULL && out != NULL);
	rv = applyCmd(&a, cmd, len);
	sm_cache_clear(&cache);
	return rv;
}

int coord_sm_open(sqlite3 *db, struct coord_sm **out)
{
	int rv;

	assert(db != NULL);
	*out = NULL;
	if ((rv = coord_sm_schema(db)) != 0)
		return rv;
	*out = calloc(1, sizeof(**out));
	if (*out == NULL)
		return COORD_ENOMEM;
	(*out)->db = db;
	return 0;
}

void coord_sm_close(struct coord_sm *sm)
{
	if (sm == NULL)
		return;
	sm_cache_clear(&sm->cache);
	free(sm);
}

int coord_sm_apply_entry(struct coord_sm *sm, uint64_t index, const void *cmd, size_t len,
                         struct coord_result *out)
{
	struct sm_apply a = {.db = sm->db, .cache = &sm->cache, .index = index, .out = out};

	assert(out != NULL);
	return applyCmd(&a, cmd, len);
}
