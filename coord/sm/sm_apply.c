/* coord_sm_apply: decode one log entry and dispatch it to its command's
 * apply function, by the command table (commands.h). */
#include <assert.h>
#include <stdlib.h>

#include "commands.h"
#include "sm_internal.h"

struct coord_sm {
	sqlite3 *db;
	struct sm_stmt_cache cache;
	struct sm_meta_held held; /* until coord_sm_flush() */
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
	const struct sm_cmd_row *row;
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
	/* The cluster clock's stamp as of this entry, so that a node whose
	 * log holds nothing newer goes on from it (coord_sm_clock()). It is
	 * the apply's bookkeeping, like state.db's applied index: every entry
	 * that decodes writes it, refused or not, no answer reads it, and
	 * coord_sm_hash() leaves it out; "a refused request changes nothing"
	 * speaks of every other row. */
	if (sm_meta_set(a, SM_META_CLOCK, c.now_ms) != 0)
		return COORD_EDB;
	/* The row the decoder read the entry by (commands.h): every decoded
	 * type has one, with its apply function. */
	row = sm_cmd_row(c.type);
	if (row == NULL) {
		assert(!"decoded command without a row");
		return COORD_EMALFORMED;
	}
	/* Only the session's own token uses it (SM-10), before anything else
	 * (its seq included) is looked at. */
	if (row->fields & SM_CMD_F_ACTOR) {
		bool allowed;
		int rv = sm_owner_allows(a, &allowed);

		if (rv != 0)
			return rv;
		if (!allowed) {
			out->status = COORD_ST_PERMISSION_DENIED;
			return 0;
		}
	}
	/* A numbered request applies only in its session's order (SM-9). */
	if ((row->fields & SM_CMD_F_SEQ) && c.seq != 0)
		return sm_seq_apply(a, row->apply);
	return row->apply(a);
}

int coord_sm_apply(sqlite3 *db, uint64_t index, const void *cmd, size_t len,
                   struct coord_result *out)
{
	struct sm_stmt_cache cache = {.n = 0};
	struct sm_meta_held held = {.n = 0};
	struct sm_apply a = {.db = db, .cache = &cache, .held = &held, .index = index, .out = out};
	int rv;

	assert(db != NULL && out != NULL);
	rv = applyCmd(&a, cmd, len);
	if (rv == 0)
		rv = sm_meta_flush(db, &cache, &held);
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
	struct sm_apply a = {
	    .db = sm->db, .cache = &sm->cache, .held = &sm->held, .index = index, .out = out};
	int rv;

	assert(out != NULL);
	rv = applyCmd(&a, cmd, len);
	if (rv != 0)
		sm->held.n = 0; /* the caller rolls the transaction back */
	return rv;
}

int coord_sm_flush(struct coord_sm *sm)
{
	return sm_meta_flush(sm->db, &sm->cache, &sm->held);
}
