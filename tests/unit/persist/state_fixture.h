/* tests/unit/persist/state_fixture.h: a tiny state machine for the
 * state.db and snapshot tests: each entry inserts one row (index, payload)
 * into table kv. */
#ifndef PERSIST_TEST_STATE_FIXTURE_H
#define PERSIST_TEST_STATE_FIXTURE_H

#include <stdint.h>

#include "persist/state.h"

/* Creates table kv on st's handle. */
void sm_schema(struct persist_state *st);

/* persist_apply_fn: inserts the entry; fails (returns 1) on an entry whose
 * type is SM_TYPE_FAIL, after inserting, to prove the rollback. */
#define SM_TYPE_FAIL 9
int sm_apply(void *ctx, sqlite3 *db, const struct persist_entry *e);

/* Applies entries first..first+n-1 (term 1) in one batch; asserts success. */
void sm_apply_range(struct persist_state *st, uint64_t first, uint64_t n);

/* Number of rows in kv as seen by db. */
int64_t sm_rows(sqlite3 *db);

#endif /* PERSIST_TEST_STATE_FIXTURE_H */
