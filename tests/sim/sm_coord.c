/* sm_coord.c: the coord state machine behind sim_sm.h (--sm coord).
 *
 * Each node keeps its tables in its own SQLite ":memory:" database and
 * applies every committed NORMAL entry the way coordd does: BEGIN;
 * coord_sm_apply_entry(); COMMIT (DESIGN.md rule 6). NOOP and CONF entries
 * change nothing. The fingerprint is coord_sm_hash(), so the simulator's
 * state machine safety check (I7) compares the tables of every node at the
 * same index.
 *
 * A snapshot is {magic, db_len, the sqlite3_serialize() image, pad, checksum}:
 * the padding makes 10% of seeds span several InstallSnapshot chunks, the
 * checksum catches a torn or misassembled one. Restore deserializes into a
 * fresh handle and binds a new coord_sm to it.
 *
 * After every entry the lock invariants (sm_coord_check.c) and the key/value
 * invariants (sm_coord_kv_check.c) are checked on this node's tables; a
 * violation is kept until the host asks (verdict).
 *
 * The key/value --break mutations are made here, around the real machine,
 * so that coord/sm carries no test switch: the entry is applied without its
 * condition (kv-ignore-cas, kv-ignore-fence), or the tables are edited in the
 * entry's own transaction into what a machine with the bug would leave:
 * a session's end that keeps its ephemeral keys (kv-keep-ephemeral), a
 * change not recorded in the history (kv-skip-history), a trimmed history
 * that does not say so (kv-no-compacted), deletions that never leave
 * coord_kv_gone (kv-gone-kept), a trim that drops one row too many, as it
 * should have dropped it (kv-overtrim). Every node makes
 * the same edit, so the nodes agree (I7) and only the key/value checks can
 * tell.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "sim_coord.h"
#include "sm_query.h"

#define COORD_SNAP_MAGIC   0x636f6f7264736e70ull /* "coordsnp" */
#define COORD_SNAP_HEADER  16u
#define COORD_SNAP_MAX_PAD (8u << 20)
#define COORD_SNAP_MAX_DB  (64u << 20)

struct sim_sm {
	sqlite3 *db;
	struct coord_sm *sm;
	struct coord_result res;
	struct sim_coord_pre pre;
	size_t pad;
	uint64_t last_token; /* highest fencing token granted on this node */
	struct sim_coord_delays delays;
	struct sim_coord_kv_pre kv_pre;
	struct sim_coord_kv_model kv_model;
	struct coord_sm_reader *reader; /* the watches the checks compare */
	const char *violation;
	char why[512];
};

sqlite3 *sim_coord_db(struct sim_sm *sm)
{
	return sm->db;
}

const struct coord_result *sim_coord_result(const struct sim_sm *sm)
{
	return &sm->res;
}

static void coord_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t coord_get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* The --break of this process (each seed runs in its own). */
static enum sim_break coord_break;

void sim_coord_set_break(int brk)
{
	coord_break = (enum sim_break)brk;
}

static void coord_unbind(struct sim_sm *sm)
{
	coord_sm_reader_close(sm->reader);
	sm->reader = NULL;
	sim_coord_kv_model_close(&sm->kv_model);
	coord_sm_close(sm->sm);
	sm->sm = NULL;
	if (sm->db != NULL) {
		sim_stmts_forget(sm->db);
		sqlite3_close(sm->db);
	}
	sm->db = NULL;
}

/* Binds SM to DB (taken over, closed on failure). */
static int coord_bind(struct sim_sm *sm, sqlite3 *db)
{
	if (coord_sm_open(db, &sm->sm) != 0) {
		sqlite3_close(db);
		return RAFT_EINVAL;
	}
	sm->db = db;
	if (coord_sm_reader_open(db, &sm->reader) != 0) {
		coord_unbind(sm);
		return RAFT_ENOMEM;
	}
	sim_coord_kv_model_restart(db, &sm->kv_model);
	return 0;
}

static struct sim_sm *coord_create(size_t snapshot_pad)
{
	struct sim_sm *sm = calloc(1, sizeof(*sm));
	sqlite3 *db = NULL;

	if (sm == NULL)
		return NULL;
	sm->pad = snapshot_pad < COORD_SNAP_MAX_PAD ? snapshot_pad : COORD_SNAP_MAX_PAD;
	coord_result_init(&sm->res);
	sm->pre.waiters = calloc(SIM_COORD_WAITERS, sizeof(*sm->pre.waiters));
	sm->pre.holders = calloc(SIM_COORD_WAITERS, sizeof(*sm->pre.holders));
	if (sm->pre.waiters == NULL || sm->pre.holders == NULL ||
	    sqlite3_open(":memory:", &db) != SQLITE_OK || coord_bind(sm, db) != 0) {
		free(sm->pre.waiters);
		free(sm->pre.holders);
		coord_result_free(&sm->res);
		free(sm);
		return NULL;
	}
	return sm;
}

static void coord_destroy(struct sim_sm *sm)
{
	coord_unbind(sm);
	coord_result_free(&sm->res);
	free(sm->pre.waiters);
	free(sm->pre.holders);
	free(sm);
}

static void coord_violate(struct sim_sm *sm, const char *invariant, const char *why)
{
	if (sm->violation == NULL) {
		sm->violation = invariant;
		snprintf(sm->why, sizeof(sm->why), "%s", why);
	}
}

static int coord_apply(struct sim_sm *sm, const struct raft_entry *e)
{
	static uint8_t mutated[SIM_PAYLOAD_MAX];
	char why[sizeof(sm->why)];
	struct coord_cmd cmd;
	const struct coord_cmd *cp;
	const void *data = e->data;
	size_t len = e->len, n;
	const char *bad;
	int rc;

	sm->res.type = 0;
	if (e->type != RAFT_ENTRY_NORMAL)
		return 0;
	cp = coord_cmd_decode(e->data, e->len, &cmd) == 0 ? &cmd : NULL;
	if (sim_coord_pre_read(sm->db, cp, cp ? sim_coord_owner(&cp->session) : 0, &sm->pre) != 0 ||
	    sim_coord_kv_pre_read(sm->db, cp, &sm->kv_pre) != 0) {
		coord_violate(sm, "coord apply", "cannot read the tables before an entry");
		return 0;
	}
	if (cp != NULL &&
	    (n = sim_break_condition(coord_break, cp, mutated, sizeof(mutated))) > 0) {
		data = mutated;
		len = n;
	}
	/* One transaction per entry (DESIGN.md rule 6). */
	if (sqlite3_exec(sm->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		coord_violate(sm, "coord apply", sqlite3_errmsg(sm->db));
		return 0;
	}
	rc = cp != NULL
	         ? sim_break_tables(coord_break, sm->db, &sm->kv_pre, e->index, cp, &sm->res, true)
	         : 0;
	if (rc == 0)
		rc = coord_sm_apply_entry(sm->sm, e->index, data, len, &sm->res);
	if (rc == 0)
		rc = coord_sm_flush(sm->sm);
	if (rc == 0 && cp != NULL)
		rc = sim_break_tables(coord_break, sm->db, &sm->kv_pre, e->index, cp, &sm->res,
		                      false);
	if (rc != 0) {
		snprintf(why, sizeof(why), "entry %llu: %s", (unsigned long long)e->index,
		         coord_strerror(rc));
		coord_violate(sm, "coord apply", why);
		sqlite3_exec(sm->db, "ROLLBACK", NULL, NULL, NULL);
		return 0;
	}
	if (sqlite3_exec(sm->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		coord_violate(sm, "coord apply", sqlite3_errmsg(sm->db));
		return 0;
	}
	bad = sim_coord_check(sm->db, e->index, cp, &sm->res, &sm->pre, &sm->last_token,
	                      &sm->delays, why, sizeof(why));
	if (bad == NULL)
		bad = sim_coord_kv_check(sm->db, sm->reader, e->index, cp, &sm->res, &sm->kv_pre,
		                         &sm->kv_model, why, sizeof(why));
	if (bad != NULL)
		coord_violate(sm, bad, why);
	return 0;
}

static int coord_snapshot(const struct sim_sm *sm, uint8_t **bytes, size_t *len)
{
	sqlite3_int64 db_len = 0;
	unsigned char *image = sqlite3_serialize(sm->db, "main", &db_len, 0);
	size_t n;
	uint8_t *p;

	if (image == NULL)
		return RAFT_ENOMEM;
	n = COORD_SNAP_HEADER + (size_t)db_len + sm->pad + 8;
	p = malloc(n);
	if (p == NULL) {
		sqlite3_free(image);
		return RAFT_ENOMEM;
	}
	coord_put64(p, COORD_SNAP_MAGIC);
	coord_put64(p + 8, (uint64_t)db_len);
	memcpy(p + COORD_SNAP_HEADER, image, (size_t)db_len);
	sqlite3_free(image);
	memset(p + COORD_SNAP_HEADER + db_len, 0xa5, sm->pad);
	coord_put64(p + n - 8, sim_hash_bytes(p, n - 8));
	*bytes = p;
	*len = n;
	return 0;
}

static int coord_restore(struct sim_sm *sm, const uint8_t *bytes, size_t len)
{
	uint64_t db_len;
	unsigned char *image;
	sqlite3 *db = NULL;

	if (len < COORD_SNAP_HEADER + 8 || coord_get64(bytes) != COORD_SNAP_MAGIC)
		return RAFT_EINVAL;
	db_len = coord_get64(bytes + 8);
	if (db_len > COORD_SNAP_MAX_DB || db_len > len - COORD_SNAP_HEADER - 8 ||
	    coord_get64(bytes + len - 8) != sim_hash_bytes(bytes, len - 8))
		return RAFT_EINVAL;
	image = sqlite3_malloc64(db_len == 0 ? 1 : db_len);
	if (image == NULL)
		return RAFT_ENOMEM;
	memcpy(image, bytes + COORD_SNAP_HEADER, (size_t)db_len);
	if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
		sqlite3_free(image);
		sqlite3_close(db);
		return RAFT_ENOMEM;
	}
	/* The handle owns IMAGE from here, even when deserializing fails. */
	if (sqlite3_deserialize(db, "main", image, (sqlite3_int64)db_len, (sqlite3_int64)db_len,
	                        SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		return RAFT_EINVAL;
	}
	coord_unbind(sm);
	if (coord_bind(sm, db) != 0)
		return RAFT_EINVAL;
	sm->res.type = 0;
	sm->last_token = sim_coord_max_token(sm->db);
	sm->delays.n = 0; /* the delays running in the image are not known here */
	return 0;
}

static uint64_t coord_hash(const struct sim_sm *sm)
{
	uint64_t h = 0;

	if (coord_sm_hash_state(sm->sm, &h) != 0)
		return 0;
	return h;
}

/* The generic client's command: a WAKE (changes nothing unless a lock-delay
 * is over). coord-sim's clients go through sim_coord_command() instead. */
static size_t coord_command(struct sim_rng *g, uint64_t seq, uint8_t *buf, size_t cap)
{
	struct coord_cmd c = {.type = COORD_CMD_WAKE, .now_ms = seq};
	size_t len = 0;

	(void)g;
	if (coord_cmd_encode(&c, buf, cap, &len) != 0)
		return 0;
	return len;
}

static const char *coord_verdict(struct sim_sm *sm, char *why, size_t cap)
{
	const char *v = sm->violation;

	if (v != NULL)
		snprintf(why, cap, "%s", sm->why);
	sm->violation = NULL;
	return v;
}

const struct sim_sm_ops sim_sm_coord = {
    .name = "coord",
    .create = coord_create,
    .destroy = coord_destroy,
    .apply = coord_apply,
    .snapshot = coord_snapshot,
    .restore = coord_restore,
    .hash = coord_hash,
    .command = coord_command,
    .verdict = coord_verdict,
};
