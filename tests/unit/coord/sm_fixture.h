/* Shared fixture of the state-machine tests: an in-memory database with the
 * schema, an entry counter, a leader clock, and one helper per command so a
 * test reads as scenario -> action -> expected outcome. */
#ifndef COORD_TEST_SM_FIXTURE_H
#define COORD_TEST_SM_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "command.h"
#include "sm.h"
#include "sm_query.h"

#define FX_TTL 10000u /* default session TTL in the tests */

struct fx {
	sqlite3 *db;
	uint64_t index;                 /* index of the last applied entry */
	uint64_t now_ms;                /* the leader's stamp for the next entry */
	struct coord_result r;          /* result of the last entry */
	struct coord_sm *sm;            /* when set, entries apply through it */
	struct coord_sm_reader *reader; /* the queries read through it */
	/* When not 0, the seq of the next entry a helper applies whose type
	 * carries one (close, acquire, release, proclaim); fx_apply() clears
	 * it, so each numbered request is written out in the test. */
	uint64_t seq;
	/* The token id of the requests the helpers apply (types that carry
	 * one, coord_cmd_has_actor(): open makes it the owner); 0 for none.
	 * Kept until the test changes it. */
	uint64_t actor;
	/* Between fx_batch_begin() and fx_batch_end(): the entries apply in one
	 * transaction, as a node applies a batch. */
	bool batch;
};

/* cmocka setup/teardown: *STATE becomes a struct fx. */
/* Asserts that A and B are the same command, field by field (names and
 * values by content). */
void fx_assert_same_cmd(const struct coord_cmd *a, const struct coord_cmd *b);

int fx_setup(void **state);
int fx_teardown(void **state);

/* Session number N as an id (distinct for distinct N). */
struct coord_session_id fx_sid(unsigned n);

/* Makes F apply through a struct coord_sm (statements kept across entries)
 * instead of coord_sm_apply(); fx_teardown closes it. */
void fx_use_coord_sm(struct fx *f);

/* Opens one transaction for the entries applied until fx_batch_end(),
 * which flushes what the machine held (coord_sm_flush) and commits: the
 * way a node applies a batch. Needs fx_use_coord_sm(). */
void fx_batch_begin(struct fx *f);
void fx_batch_end(struct fx *f);

/* Encodes C, applies it as the next entry in its own transaction (or the
 * batch's), asserts
 * the apply succeeded, and returns the status (also in f->r). */
enum coord_status fx_apply(struct fx *f, const struct coord_cmd *c);
/* Applies LEN raw bytes as the next entry. */
enum coord_status fx_apply_raw(struct fx *f, const void *buf, size_t len);

enum coord_status fx_open(struct fx *f, unsigned s, uint32_t ttl_ms, uint32_t lock_delay_ms);
enum coord_status fx_close(struct fx *f, unsigned s);
enum coord_status fx_expire(struct fx *f, unsigned s);
/* Acquire of any kind; VALUE NULL for none. */
enum coord_status fx_acquire(struct fx *f, unsigned s, enum coord_kind kind, const char *name,
                             enum coord_mode mode, bool queue, const char *value);
/* Lock acquire: mode exclusive or shared, QUEUE false is a try-lock. */
enum coord_status fx_lock(struct fx *f, unsigned s, const char *name, enum coord_mode mode,
                          bool queue);
enum coord_status fx_unlock(struct fx *f, unsigned s, const char *name);
/* Release of lock NAME's grant TOKEN only (0: whatever S holds). */
enum coord_status fx_unlock_token(struct fx *f, unsigned s, const char *name, uint64_t token);
enum coord_status fx_cancel(struct fx *f, unsigned s, enum coord_kind kind, const char *name);
/* Election campaign with VALUE (queued unless TRY). */
enum coord_status fx_campaign(struct fx *f, unsigned s, const char *name, const char *value,
                              bool queue);
enum coord_status fx_resign(struct fx *f, unsigned s, const char *name);
enum coord_status fx_proclaim(struct fx *f, unsigned s, const char *name, const char *value);
enum coord_status fx_wake(struct fx *f);

/* The fencing token S holds on lock NAME, or 0 when it holds none (read
 * through coord_sm_query_lock). */
uint64_t fx_token(struct fx *f, unsigned s, const char *name);
/* Whether S waits on lock NAME. */
bool fx_waiting(struct fx *f, unsigned s, const char *name);
/* True when the last entry granted NAME to S (in f->r.grants). */
bool fx_granted(const struct fx *f, unsigned s, const char *name);

/* coord_sm_query_lock on NAME; NULL when it does not exist. Caller decrefs. */
json_t *fx_lock_json(struct fx *f, const char *name);

/* The state hash. */
uint64_t fx_hash(struct fx *f);

/* A new fixture (fx_teardown() it) holding a copy of F's database at F's
 * index, as a node holds it after installing F's snapshot. */
struct fx *fx_copy(struct fx *f);

#endif
