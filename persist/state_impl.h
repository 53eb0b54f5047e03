/* persist/state_impl.h: private to state*.c and snapshot*.c. */
#ifndef PERSIST_STATE_IMPL_H
#define PERSIST_STATE_IMPL_H

#include <stdbool.h>

#include "persist/internal.h"
#include "persist/state.h"

struct persist_state {
	sqlite3 *db;
	struct persist_dir *dir;
	char path[PERSIST_PATH_MAX];
	bool failed;
	uint64_t applied_index;
	uint64_t applied_term;
	int wal_pages; /* after the last commit, once watched */
	struct {
		sqlite3_stmt *begin, *commit, *rollback, *set_applied, *get_applied;
	} stmt;
};

/* Reads persist_meta into st->applied_*. */
int persist_state_load_applied(struct persist_state *st, struct persist_error *err);

/* Marks st failed (fail-stop) and reports the SQLite error. */
int persist_state_fail(struct persist_state *st, int rc, const char *what,
                       struct persist_error *err);

#endif /* PERSIST_STATE_IMPL_H */
