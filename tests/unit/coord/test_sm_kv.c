/* The key/value namespace as a specification (API.md, Key/value; sm_kv.c
 * KV-1..KV-5): puts and deletes with cas and fence, ephemeral keys and the
 * end of their session, the history a watch reads and its trimming, the
 * limits, the counts and the listing. Every refused write changes nothing:
 * the state hash is the same before and after it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sm_fixture.h"

#define EX COORD_MODE_EXCLUSIVE
#define SH COORD_MODE_SHARED

#define S1 1
#define S2 2

#define TOKEN_A 11 /* access token ids */
#define TOKEN_B 12

/* What a write names besides its key: a cas, an owning session (an
 * ephemeral key), a fence. Zero: none of them. */
struct kv_if {
	bool has_cas;
	uint64_t cas;
	unsigned session;
	const char *fence_lock;
	uint64_t fence_token;
};

#define PLAIN        ((struct kv_if){0})
#define CAS(n)       ((struct kv_if){.has_cas = true, .cas = (n)})
#define EPHEMERAL(s) ((struct kv_if){.session = (s)})
#define FENCE(l, t)  ((struct kv_if){.fence_lock = (l), .fence_token = (t)})

static struct coord_cmd kvCmd(struct fx *f, enum coord_cmd_type type, const char *key,
                              struct kv_if w)
{
	struct coord_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = type;
	c.now_ms = f->now_ms;
	c.name = key;
	c.name_len = strlen(key);
	if (w.has_cas) {
		c.kv_flags |= COORD_KV_CAS;
		c.cas = w.cas;
	}
	if (w.fence_lock != NULL) {
		c.kv_flags |= COORD_KV_FENCE;
		c.fence_lock = w.fence_lock;
		c.fence_lock_len = strlen(w.fence_lock);
		c.fence_token = w.fence_token;
	}
	if (w.session != 0) {
		c.kv_flags |= COORD_KV_EPHEMERAL;
		c.session = fx_sid(w.session);
	}
	return c;
}

static enum coord_status put(struct fx *f, const char *key, const char *value, struct kv_if w)
{
	struct coord_cmd c = kvCmd(f, COORD_CMD_KV_PUT, key, w);

	c.has_value = true;
	c.value = value;
	c.value_len = strlen(value);
	return fx_apply(f, &c);
}

static enum coord_status del(struct fx *f, const char *key, struct kv_if w)
{
	struct coord_cmd c = kvCmd(f, COORD_CMD_KV_DELETE, key, w);

	return fx_apply(f, &c);
}

/* The key's object, or NULL when it does not exist (then *LAST, when not
 * NULL, is the index of its last change the history keeps). */
static json_t *get(struct fx *f, const char *key, uint64_t *last)
{
	json_t *o = NULL;
	uint64_t l = 99;
	int rv = coord_sm_query_kv(f->reader, key, strlen(key), &o, &l);

	if (last != NULL)
		*last = l;
	if (rv == COORD_ENOTFOUND) {
		assert_null(o);
		return NULL;
	}
	assert_int_equal(rv, 0);
	assert_string_equal(json_string_value(json_object_get(o, "key")), key);
	return o;
}

static uint64_t field(json_t *o, const char *name)
{
	return (uint64_t)json_integer_value(json_object_get(o, name));
}

/* The key's value, or NULL when it does not exist. */
static const char *value_of(struct fx *f, const char *key)
{
	static char buf[256];
	json_t *o = get(f, key, NULL);

	if (o == NULL)
		return NULL;
	snprintf(buf, sizeof(buf), "%s", json_string_value(json_object_get(o, "value")));
	json_decref(o);
	return buf;
}

/* The key's owning session as its id in hex, "" for a persistent key. */
static const char *session_of(struct fx *f, const char *key)
{
	static char buf[COORD_SESSION_ID_HEX + 1];
	json_t *o = get(f, key, NULL), *s;

	assert_non_null(o);
	s = json_object_get(o, "session");
	assert_true(json_is_null(s) || json_is_string(s));
	snprintf(buf, sizeof(buf), "%s", json_is_string(s) ? json_string_value(s) : "");
	json_decref(o);
	return buf;
}

static const char *hex(unsigned s)
{
	static char buf[COORD_SESSION_ID_HEX + 1];
	struct coord_session_id id = fx_sid(s);

	coord_session_id_format(&id, buf);
	return buf;
}

/* The changes a watch of PREFIX from SINCE answers, as text: "key put@5,
 * other delete@6" ("" for none). Checks *last against the newest. */
static const char *watch(struct fx *f, const char *prefix, uint64_t since)
{
	static char buf[8192];
	json_t *out = NULL, *e;
	uint64_t last = 99, newest = 0;
	size_t i, len = 0;

	assert_int_equal(
	    coord_sm_query_kv_changes(f->reader, prefix, strlen(prefix), since, &out, &last), 0);
	buf[0] = '\0';
	json_array_foreach(json_object_get(out, "changes"), i, e)
	{
		newest = field(e, "modify_index");
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s %s@%llu", i ? ", " : "",
		                        json_string_value(json_object_get(e, "key")),
		                        json_string_value(json_object_get(e, "change")),
		                        (unsigned long long)newest);
		assert_true(len < sizeof(buf));
	}
	assert_int_equal(last, newest);
	json_decref(out);
	return buf;
}

static uint64_t compacted(struct fx *f)
{
	uint64_t idx = 99;

	assert_int_equal(coord_sm_kv_compacted(f->reader, &idx), 0);
	return idx;
}

static struct coord_sm_counts counts(struct fx *f)
{
	struct coord_sm_counts c;

	assert_int_equal(coord_sm_counts(f->db, &c), 0);
	return c;
}

static enum coord_status limits(struct fx *f, uint32_t sessions, uint32_t objects, uint32_t waiters)
{
	struct coord_cmd c = {
	    .type = COORD_CMD_LIMITS, .now_ms = f->now_ms, .limits = {sessions, objects, waiters}};

	return fx_apply(f, &c);
}

/* Sets coord_meta's row KEY to VALUE by hand: a store that already holds
 * that many keys or bytes, without writing them one by one. */
static void meta_set(struct fx *f, const char *key, uint64_t value)
{
	char sql[128];

	snprintf(sql, sizeof(sql),
	         "INSERT OR REPLACE INTO coord_meta(key, value) VALUES('%s', %llu)", key,
	         (unsigned long long)value);
	assert_int_equal(sqlite3_exec(f->db, sql, NULL, NULL, NULL), SQLITE_OK);
}

/* One integer from SQL on the machine's tables. */
static int64_t sqlite_int(struct fx *f, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(f->db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int64_t gone_rows(struct fx *f)
{
	return sqlite_int(f, "SELECT count(*) FROM coord_kv_gone");
}

/* Put ------------------------------------------------------------------------- */

/* KV-1: a put creates the key at its entry; a later one keeps create_index
 * and moves modify_index; after a delete the key is created anew. */
static void test_a_put_creates_the_key_and_a_second_keeps_its_create_index(void **state)
{
	struct fx *f = *state;
	json_t *o;
	uint64_t created;

	assert_int_equal(put(f, "cfg/db", "10.0.0.5:5432", PLAIN), COORD_ST_OK);
	created = f->index;
	assert_int_equal(f->r.create_index, created);
	assert_int_equal(f->r.modify_index, created);
	o = get(f, "cfg/db", NULL);
	assert_string_equal(json_string_value(json_object_get(o, "value")), "10.0.0.5:5432");
	assert_int_equal(field(o, "create_index"), created);
	assert_int_equal(field(o, "modify_index"), created);
	assert_true(json_is_null(json_object_get(o, "session")));
	json_decref(o);

	fx_open(f, S1, FX_TTL, 0); /* an entry in between */
	assert_int_equal(put(f, "cfg/db", "10.0.0.6:5432", PLAIN), COORD_ST_OK);
	assert_int_equal(f->r.create_index, created);
	assert_int_equal(f->r.modify_index, f->index);
	o = get(f, "cfg/db", NULL);
	assert_string_equal(json_string_value(json_object_get(o, "value")), "10.0.0.6:5432");
	assert_int_equal(field(o, "create_index"), created);
	assert_int_equal(field(o, "modify_index"), f->index);
	json_decref(o);

	/* An empty value is a value. */
	assert_int_equal(put(f, "cfg/empty", "", PLAIN), COORD_ST_OK);
	assert_string_equal(value_of(f, "cfg/empty"), "");

	assert_int_equal(del(f, "cfg/db", PLAIN), COORD_ST_OK);
	assert_int_equal(put(f, "cfg/db", "again", PLAIN), COORD_ST_OK);
	assert_int_equal(f->r.create_index, f->index);
}

/* KV-4: cas 0 writes only a key that does not exist; else cas_failed with
 * the key's modify_index, and nothing changed. */
static void test_cas_0_writes_only_a_missing_key(void **state)
{
	struct fx *f = *state;
	uint64_t hash, first;

	assert_int_equal(put(f, "leader", "n1", CAS(0)), COORD_ST_OK);
	first = f->index;
	hash = fx_hash(f);
	assert_int_equal(put(f, "leader", "n2", CAS(0)), COORD_ST_CAS_FAILED);
	assert_int_equal(f->r.modify_index, first);
	assert_int_equal(fx_hash(f), hash);
	assert_string_equal(value_of(f, "leader"), "n1");
}

/* KV-4: cas N writes only when the key's modify_index is N; a stale N, or
 * a key that does not exist, is cas_failed with the current modify_index
 * (0 for none), nothing changed. */
static void test_cas_n_writes_only_at_that_modify_index(void **state)
{
	struct fx *f = *state;
	uint64_t hash, v1, v2;

	put(f, "counter", "1", PLAIN);
	v1 = f->index;
	assert_int_equal(put(f, "counter", "2", CAS(v1)), COORD_ST_OK);
	v2 = f->index;
	hash = fx_hash(f);
	/* A writer that read version 1 lost the race. */
	assert_int_equal(put(f, "counter", "2'", CAS(v1)), COORD_ST_CAS_FAILED);
	assert_int_equal(f->r.modify_index, v2);
	assert_int_equal(put(f, "counter", "3", CAS(v2 + 100)), COORD_ST_CAS_FAILED);
	assert_int_equal(f->r.modify_index, v2);
	assert_int_equal(put(f, "absent", "x", CAS(v2)), COORD_ST_CAS_FAILED);
	assert_int_equal(f->r.modify_index, 0);
	assert_int_equal(fx_hash(f), hash);
	assert_string_equal(value_of(f, "counter"), "2");
	assert_null(value_of(f, "absent"));
	assert_int_equal(put(f, "counter", "3", CAS(v2)), COORD_ST_OK);
}

/* Fences ---------------------------------------------------------------------- */

/* KV-4: a fenced write applies only with the token of a current holder of
 * the lock, checked as it applies: an old holder's token, a lock nobody
 * holds or that does not exist, an election's token, are stale_token with
 * the lock's current holders, and change nothing. */
static void test_a_fence_holds_only_with_a_current_holders_token(void **state)
{
	struct fx *f = *state;
	uint64_t hash, t1, t2;

	fx_open(f, S1, FX_TTL, 0);
	fx_open(f, S2, FX_TTL, 0);
	fx_lock(f, S1, "primary", EX, false);
	t1 = fx_token(f, S1, "primary");
	assert_int_equal(put(f, "config", "from S1", FENCE("primary", t1)), COORD_ST_OK);
	assert_int_equal(del(f, "other", FENCE("primary", t1)), COORD_ST_OK);

	/* S1 loses the lock to S2: its late writes are refused. */
	fx_unlock(f, S1, "primary");
	fx_lock(f, S2, "primary", EX, false);
	t2 = fx_token(f, S2, "primary");
	hash = fx_hash(f);
	assert_int_equal(put(f, "config", "late S1", FENCE("primary", t1)), COORD_ST_STALE_TOKEN);
	assert_int_equal(f->r.n_holders, 1);
	assert_int_equal(f->r.holders[0].token, t2);
	assert_int_equal(del(f, "config", FENCE("primary", t1)), COORD_ST_STALE_TOKEN);
	assert_int_equal(f->r.n_holders, 1);
	/* A lock that does not exist, and an election's token as a lock's. */
	assert_int_equal(put(f, "config", "x", FENCE("no-such-lock", t2)), COORD_ST_STALE_TOKEN);
	assert_int_equal(f->r.n_holders, 0);
	fx_campaign(f, S1, "leader", "S1", false);
	hash = fx_hash(f);
	assert_int_equal(put(f, "config", "x", FENCE("leader", f->index)), COORD_ST_STALE_TOKEN);
	assert_int_equal(fx_hash(f), hash);
	assert_string_equal(value_of(f, "config"), "from S1");
	assert_int_equal(put(f, "config", "from S2", FENCE("primary", t2)), COORD_ST_OK);

	/* Released: nobody holds it, no token is current. */
	fx_unlock(f, S2, "primary");
	hash = fx_hash(f);
	assert_int_equal(put(f, "config", "late S2", FENCE("primary", t2)), COORD_ST_STALE_TOKEN);
	assert_int_equal(f->r.n_holders, 0);
	assert_int_equal(fx_hash(f), hash);
	assert_string_equal(value_of(f, "config"), "from S2");
}

/* A shared lock has several current tokens; an expired holder's is stale. */
static void test_a_fence_on_a_shared_lock_takes_any_holders_token(void **state)
{
	struct fx *f = *state;
	uint64_t t1, t2;

	fx_open(f, S1, FX_TTL, 0);
	fx_open(f, S2, FX_TTL, 0);
	fx_lock(f, S1, "readers", SH, false);
	fx_lock(f, S2, "readers", SH, false);
	t1 = fx_token(f, S1, "readers");
	t2 = fx_token(f, S2, "readers");
	assert_int_equal(put(f, "k", "1", FENCE("readers", t1)), COORD_ST_OK);
	assert_int_equal(put(f, "k", "2", FENCE("readers", t2)), COORD_ST_OK);
	fx_expire(f, S1);
	assert_int_equal(put(f, "k", "3", FENCE("readers", t1)), COORD_ST_STALE_TOKEN);
	assert_int_equal(f->r.n_holders, 1);
	assert_int_equal(f->r.holders[0].token, t2);
	assert_string_equal(value_of(f, "k"), "2");
}

/* Both conditions must hold: a current fence with a stale cas is refused. */
static void test_cas_and_fence_together(void **state)
{
	struct fx *f = *state;
	struct kv_if w;
	uint64_t t, v;

	fx_open(f, S1, FX_TTL, 0);
	fx_lock(f, S1, "L", EX, false);
	t = fx_token(f, S1, "L");
	put(f, "k", "1", PLAIN);
	v = f->index;
	w = FENCE("L", t);
	w.has_cas = true;
	w.cas = v - 1;
	assert_int_equal(put(f, "k", "2", w), COORD_ST_CAS_FAILED);
	w.cas = v;
	w.fence_token = t - 1;
	assert_int_equal(put(f, "k", "2", w), COORD_ST_STALE_TOKEN);
	w.fence_token = t;
	assert_int_equal(put(f, "k", "2", w), COORD_ST_OK);
}

/* Ephemeral keys -------------------------------------------------------------- */

/* KV-3: an ephemeral put names a live session: one never opened, or ended,
 * is session_not_found and changes nothing. */
static void test_an_ephemeral_put_needs_a_live_session(void **state)
{
	struct fx *f = *state;
	uint64_t hash = fx_hash(f);

	assert_int_equal(put(f, "svc/a", "x", EPHEMERAL(S1)), COORD_ST_SESSION_NOT_FOUND);
	assert_int_equal(fx_hash(f), hash);
	fx_open(f, S1, FX_TTL, 0);
	fx_close(f, S1);
	hash = fx_hash(f);
	assert_int_equal(put(f, "svc/a", "x", EPHEMERAL(S1)), COORD_ST_SESSION_NOT_FOUND);
	assert_int_equal(fx_hash(f), hash);
	assert_null(get(f, "svc/a", NULL));
}

/* KV-3, KV-2: the entry that ends a session (END is fx_close or fx_expire)
 * deletes its keys, each a delete row of the history at that entry, in key
 * order; its other keys and other sessions' stay. */
static void ends_delete_the_keys(struct fx *f, enum coord_status (*end)(struct fx *, unsigned))
{
	uint64_t before, last;
	char want[256];

	fx_open(f, S1, FX_TTL, 0);
	fx_open(f, S2, FX_TTL, 0);
	assert_int_equal(put(f, "svc/web/2", "10.0.0.2", EPHEMERAL(S1)), COORD_ST_OK);
	assert_string_equal(session_of(f, "svc/web/2"), hex(S1));
	assert_int_equal(put(f, "svc/web/1", "10.0.0.1", EPHEMERAL(S1)), COORD_ST_OK);
	assert_int_equal(put(f, "svc/web/3", "10.0.0.3", EPHEMERAL(S2)), COORD_ST_OK);
	assert_int_equal(put(f, "svc/web", "3 servers", PLAIN), COORD_ST_OK);
	before = f->index;

	assert_int_equal(end(f, S1), COORD_ST_OK);
	assert_true(f->r.session_ended);
	assert_null(get(f, "svc/web/1", &last));
	assert_int_equal(last, f->index);
	assert_null(get(f, "svc/web/2", &last));
	assert_int_equal(last, f->index);
	assert_string_equal(value_of(f, "svc/web/3"), "10.0.0.3");
	assert_string_equal(value_of(f, "svc/web"), "3 servers");
	snprintf(want, sizeof(want), "svc/web/1 delete@%llu, svc/web/2 delete@%llu",
	         (unsigned long long)f->index, (unsigned long long)f->index);
	assert_string_equal(watch(f, "svc/", before), want);
	assert_int_equal(counts(f).keys, 2);
}

static void test_a_sessions_close_deletes_its_keys_in_that_entry(void **state)
{
	ends_delete_the_keys(*state, fx_close);
}

static void test_a_sessions_expiry_deletes_its_keys_in_that_entry(void **state)
{
	ends_delete_the_keys(*state, fx_expire);
}

/* A put without a session makes an ephemeral key persistent: it outlives
 * the session; a put with one makes a persistent key ephemeral. */
static void test_a_plain_put_makes_an_ephemeral_key_persistent(void **state)
{
	struct fx *f = *state;

	fx_open(f, S1, FX_TTL, 0);
	put(f, "kept", "1", EPHEMERAL(S1));
	put(f, "gone", "1", EPHEMERAL(S1));
	assert_int_equal(put(f, "kept", "2", PLAIN), COORD_ST_OK);
	assert_string_equal(session_of(f, "kept"), "");
	put(f, "persistent-then-ephemeral", "1", PLAIN);
	assert_int_equal(put(f, "persistent-then-ephemeral", "2", EPHEMERAL(S1)), COORD_ST_OK);
	fx_expire(f, S1);
	assert_string_equal(value_of(f, "kept"), "2");
	assert_null(get(f, "gone", NULL));
	assert_null(get(f, "persistent-then-ephemeral", NULL));
}

/* SM-10: an ephemeral put names a session of the request's own token; with
 * another token's, or none, it is permission_denied and changes nothing.
 * A persistent put names no session and is not checked. */
static void test_an_ephemeral_put_with_another_tokens_session_is_denied(void **state)
{
	struct fx *f = *state;
	uint64_t hash;

	f->actor = TOKEN_A;
	fx_open(f, S1, FX_TTL, 0);
	hash = fx_hash(f);
	for (uint64_t t = 0; t <= TOKEN_B; t += TOKEN_B) { /* none, then token B */
		f->actor = t;
		assert_int_equal(put(f, "svc/a", "x", EPHEMERAL(S1)), COORD_ST_PERMISSION_DENIED);
	}
	assert_int_equal(fx_hash(f), hash);
	assert_int_equal(put(f, "svc/b", "x", PLAIN), COORD_ST_OK);
	f->actor = TOKEN_A;
	assert_int_equal(put(f, "svc/a", "x", EPHEMERAL(S1)), COORD_ST_OK);
}

/* Delete ---------------------------------------------------------------------- */

/* A delete answers whether the key existed; one of no key changes nothing.
 * With cas: N only at modify_index N, 0 only when there is no key. */
static void test_delete_with_and_without_cas(void **state)
{
	struct fx *f = *state;
	uint64_t hash, v, last;

	hash = fx_hash(f);
	assert_int_equal(del(f, "k", PLAIN), COORD_ST_OK);
	assert_false(f->r.released);
	assert_int_equal(del(f, "k", CAS(0)), COORD_ST_OK);
	assert_false(f->r.released);
	assert_int_equal(del(f, "k", CAS(3)), COORD_ST_CAS_FAILED);
	assert_int_equal(f->r.modify_index, 0);
	assert_int_equal(fx_hash(f), hash);

	put(f, "k", "v", PLAIN);
	v = f->index;
	hash = fx_hash(f);
	assert_int_equal(del(f, "k", CAS(0)), COORD_ST_CAS_FAILED);
	assert_int_equal(f->r.modify_index, v);
	assert_int_equal(del(f, "k", CAS(v + 1)), COORD_ST_CAS_FAILED);
	assert_int_equal(f->r.modify_index, v);
	assert_int_equal(fx_hash(f), hash);
	assert_int_equal(del(f, "k", CAS(v)), COORD_ST_OK);
	assert_true(f->r.released);
	assert_null(get(f, "k", &last));
	assert_int_equal(last, f->index);

	put(f, "j", "v", PLAIN);
	assert_int_equal(del(f, "j", PLAIN), COORD_ST_OK);
	assert_true(f->r.released);
	assert_null(get(f, "j", NULL));
}

/* KV-6: a deleted key's 404 names its deletion; created again, the key
 * leaves nothing of it behind, and its next deletion is the one named. */
static void test_a_deleted_key_names_its_deletion_until_it_is_created_again(void **state)
{
	struct fx *f = *state;
	uint64_t first, last;

	put(f, "k", "1", PLAIN);
	del(f, "k", PLAIN);
	first = f->index;
	assert_null(get(f, "k", &last));
	assert_int_equal(last, first);
	assert_int_equal(gone_rows(f), 1);
	put(f, "k", "2", PLAIN);
	assert_int_equal(gone_rows(f), 0);
	put(f, "other", "1", PLAIN);
	del(f, "k", PLAIN);
	assert_null(get(f, "k", &last));
	assert_int_equal(last, f->index);
	assert_true(last > first);
	assert_null(get(f, "never", &last));
	assert_int_equal(last, 0);
}

/* An older state (no coord_kv_gone, the history indexed by key) opened by
 * this version: the table is filled from the history, the retired index is
 * dropped, and the state hashes as if this version had written it. */
static void test_an_older_state_gains_its_deletions_and_drops_the_retired_index(void **state)
{
	struct fx *f = *state;
	uint64_t hash, del_a, last;

	put(f, "a", "1", PLAIN);
	put(f, "b", "1", PLAIN);
	del(f, "a", PLAIN);
	del_a = f->index;
	put(f, "c", "1", PLAIN);
	del(f, "c", PLAIN);
	put(f, "c", "2", PLAIN);
	hash = fx_hash(f);
	assert_int_equal(
	    sqlite3_exec(f->db,
	                 "DROP TABLE coord_kv_gone; CREATE INDEX coord_kv_history_by_key"
	                 " ON coord_kv_history (key, idx);",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	assert_true(coord_sm_schema_retired("index", "coord_kv_history_by_key"));
	assert_false(coord_sm_schema_retired("table", "coord_kv"));

	assert_int_equal(coord_sm_schema(f->db), 0);
	assert_int_equal(fx_hash(f), hash);
	assert_int_equal(gone_rows(f), 1);
	assert_null(get(f, "a", &last));
	assert_int_equal(last, del_a);
	assert_int_equal(sqlite_int(f, "SELECT count(*) FROM sqlite_master WHERE name ="
	                               " 'coord_kv_history_by_key'"),
	                 0);
	/* Idempotent: a second open changes nothing. */
	assert_int_equal(coord_sm_schema(f->db), 0);
	assert_int_equal(fx_hash(f), hash);
}

/* History and watches --------------------------------------------------------- */

struct change {
	uint64_t idx;
	const char *key, *change;
};

/* KV-2: every change is one row of the history, and nothing else is: a
 * watch of any prefix from any index answers exactly the later changes of
 * keys under it, in (index, key) order. */
static void test_a_watch_from_any_index_answers_exactly_the_later_changes(void **state)
{
	static const char *const prefixes[] = {"", "a", "a/", "a/1", "b/", "c"};
	struct fx *f = *state;
	struct change log[32];
	size_t n = 0;
	char want[2048];

#define CHANGED(k, what) (log[n++] = (struct change){f->index, (k), (what)})
	fx_open(f, S1, FX_TTL, 0);
	put(f, "a/1", "1", PLAIN), CHANGED("a/1", "put");
	put(f, "b/1", "1", PLAIN), CHANGED("b/1", "put");
	put(f, "a/2", "1", EPHEMERAL(S1)), CHANGED("a/2", "put");
	put(f, "a/0", "1", EPHEMERAL(S1)), CHANGED("a/0", "put");
	put(f, "b/2", "1", EPHEMERAL(S1)), CHANGED("b/2", "put");
	del(f, "a/1", PLAIN), CHANGED("a/1", "delete");
	put(f, "a/1", "2", PLAIN), CHANGED("a/1", "put");
	put(f, "a/1", "3", PLAIN), CHANGED("a/1", "put");
	/* No change: a refused put, a delete of no key, other entries. */
	assert_int_equal(put(f, "a/1", "x", CAS(1)), COORD_ST_CAS_FAILED);
	assert_int_equal(del(f, "a/none", PLAIN), COORD_ST_OK);
	fx_lock(f, S1, "a/1", EX, false);
	/* One entry, three changes, in key order. */
	fx_close(f, S1);
	CHANGED("a/0", "delete"), CHANGED("a/2", "delete"), CHANGED("b/2", "delete");
	put(f, "a", "1", PLAIN), CHANGED("a", "put");
	put(f, "a0", "1", PLAIN), CHANGED("a0", "put");
	put(f, "a/10", "1", PLAIN), CHANGED("a/10", "put");
#undef CHANGED

	for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++)
		for (uint64_t since = 0; since <= f->index + 1; since++) {
			size_t len = 0;

			want[0] = '\0';
			for (size_t i = 0; i < n; i++)
				if (log[i].idx > since &&
				    strncmp(log[i].key, prefixes[p], strlen(prefixes[p])) == 0)
					len += (size_t)snprintf(want + len, sizeof(want) - len,
					                        "%s%s %s@%llu", len ? ", " : "",
					                        log[i].key, log[i].change,
					                        (unsigned long long)log[i].idx);
			if (strcmp(watch(f, prefixes[p], since), want) != 0)
				fail_msg("watch \"%s\" from %llu: got \"%s\", want \"%s\"",
				         prefixes[p], (unsigned long long)since,
				         watch(f, prefixes[p], since), want);
		}
	assert_int_equal(compacted(f), 0);
}

/* Applies N puts of keys PREFIX0..PREFIX{KEYS-1}, round robin, in one
 * transaction (as a node applies a batch of entries): the history fills
 * fast. */
static void put_many(struct fx *f, const char *prefix, unsigned n, unsigned keys)
{
	char key[64];

	assert_int_equal(sqlite3_exec(f->db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	for (unsigned i = 0; i < n; i++) {
		struct coord_cmd c;
		void *buf;
		size_t len;

		snprintf(key, sizeof(key), "%s%u", prefix, i % keys);
		c = kvCmd(f, COORD_CMD_KV_PUT, key, PLAIN);
		c.has_value = true;
		c.value = "v";
		c.value_len = 1;
		assert_int_equal(coord_cmd_encode_alloc(&c, &buf, &len), 0);
		assert_int_equal(coord_sm_apply_entry(f->sm, ++f->index, buf, len, &f->r), 0);
		assert_int_equal(f->r.status, COORD_ST_OK);
		free(buf);
	}
	assert_int_equal(coord_sm_flush(f->sm), 0);
	assert_int_equal(sqlite3_exec(f->db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
}

static size_t watched(struct fx *f, const char *prefix, uint64_t since, json_t **first)
{
	json_t *out = NULL;
	uint64_t last;
	size_t n;

	assert_int_equal(
	    coord_sm_query_kv_changes(f->reader, prefix, strlen(prefix), since, &out, &last), 0);
	n = json_array_size(json_object_get(out, "changes"));
	if (first != NULL) {
		*first = json_incref(json_array_get(json_object_get(out, "changes"), 0));
	}
	json_decref(out);
	return n;
}

/* KV-2: the history keeps at least the last COORD_KV_HISTORY_MAX changes
 * and at most COORD_KV_HISTORY_SLACK more: nothing is dropped until the
 * slack is used up, then the oldest go back to COORD_KV_HISTORY_MAX at
 * once, and the compacted index rises to the newest dropped, so a watch
 * from it or later misses nothing. An entry of several changes may be cut
 * in two: the rest of it stays, and the compacted index is that entry's. */
static void test_the_history_keeps_the_last_changes_and_says_what_it_dropped(void **state)
{
	struct fx *f = *state;
	uint64_t end, last;
	json_t *first;

	_Static_assert(COORD_KV_HISTORY_SLACK >= 4, "the oldest rows below are h/ puts");
	fx_use_coord_sm(f);
	put_many(f, "h/", COORD_KV_HISTORY_SLACK - 3, 50); /* rows 1 .. SLACK-3 */
	fx_open(f, S1, FX_TTL, 0);
	put(f, "e/a", "1", EPHEMERAL(S1)); /* rows SLACK-2 .. SLACK */
	put(f, "e/b", "1", EPHEMERAL(S1));
	put(f, "e/c", "1", EPHEMERAL(S1));
	fx_close(f, S1); /* rows SLACK+1 .. SLACK+3: e/a, e/b, e/c deleted */
	end = f->index;
	put_many(f, "h/", COORD_KV_HISTORY_MAX - 3, 50);
	/* MAX + SLACK rows: the slack is full, nothing dropped yet. */
	assert_int_equal(compacted(f), 0);
	assert_int_equal(watched(f, "", 0, NULL), COORD_KV_HISTORY_MAX + COORD_KV_HISTORY_SLACK);

	/* One more drops SLACK + 1 rows: every h/ row before the session, its
	 * three puts and the first row of its end (e/a's deletion). */
	put_many(f, "h/", 1, 50);
	assert_int_equal(compacted(f), end);
	assert_int_equal(watched(f, "", 0, &first), COORD_KV_HISTORY_MAX);
	assert_string_equal(json_string_value(json_object_get(first, "key")), "e/b");
	assert_int_equal(field(first, "modify_index"), end);
	json_decref(first);
	assert_int_equal(watched(f, "e/", end - 1, NULL), 2); /* e/b, e/c */
	assert_int_equal(watched(f, "e/", end, NULL), 0);
	assert_int_equal(watched(f, "h/", end, NULL), COORD_KV_HISTORY_MAX - 2);
	/* A deleted key whose changes were all dropped: its last index is not
	 * known any more. */
	assert_null(get(f, "e/a", &last));
	assert_int_equal(last, 0);
	assert_null(get(f, "e/b", &last));
	assert_int_equal(last, end);

	/* Every later entry is one put, one row: after each batch the history
	 * is between the two bounds and holds one row for every entry after
	 * the compacted index (and what is left of the compacted entry). */
	for (unsigned i = 0; i < 2 * (COORD_KV_HISTORY_MAX + COORD_KV_HISTORY_SLACK); i += 97) {
		size_t rows;

		put_many(f, "h/", 97, 50);
		rows = watched(f, "", 0, NULL);
		assert_true(rows >= COORD_KV_HISTORY_MAX &&
		            rows <= COORD_KV_HISTORY_MAX + COORD_KV_HISTORY_SLACK);
		assert_int_equal(watched(f, "", compacted(f), NULL), f->index - compacted(f));
		assert_true(rows >= f->index - compacted(f));
	}
}

/* Limits ---------------------------------------------------------------------- */

/* KV-5: at COORD_KV_KEYS_MAX keys a new key is refused (429 too_many
 * "keys"), changing nothing; an existing key may still be written. The
 * store is filled by setting coord_meta's kv_keys by hand. */
static void test_the_key_limit_refuses_a_new_key_and_changes_nothing(void **state)
{
	struct fx *f = *state;
	uint64_t hash;

	fx_open(f, S1, FX_TTL, 0);
	put(f, "old", "1", PLAIN);
	meta_set(f, "kv_keys", COORD_KV_KEYS_MAX - 1);
	assert_int_equal(put(f, "last", "1", PLAIN), COORD_ST_OK);
	assert_int_equal(counts(f).keys, COORD_KV_KEYS_MAX);
	hash = fx_hash(f);
	assert_int_equal(put(f, "one-more", "1", PLAIN), COORD_ST_LIMIT);
	assert_string_equal(f->r.limit, "keys");
	assert_int_equal(put(f, "one-more", "1", EPHEMERAL(S1)), COORD_ST_LIMIT);
	assert_int_equal(fx_hash(f), hash);
	assert_null(get(f, "one-more", NULL));
	assert_int_equal(put(f, "old", "2", PLAIN), COORD_ST_OK);
	assert_int_equal(del(f, "old", PLAIN), COORD_ST_OK);
	assert_int_equal(counts(f).keys, COORD_KV_KEYS_MAX - 1);
	assert_int_equal(put(f, "one-more", "1", PLAIN), COORD_ST_OK);
}

/* KV-5: the values' bytes stay at most COORD_KV_BYTES_MAX; a put is
 * weighed by what it adds over the value it replaces. The store is filled
 * by setting coord_meta's kv_bytes by hand. */
static void test_the_bytes_limit_weighs_what_a_put_adds(void **state)
{
	struct fx *f = *state;
	uint64_t hash;

	meta_set(f, "kv_bytes", COORD_KV_BYTES_MAX - 5);
	assert_int_equal(put(f, "a", "12345", PLAIN), COORD_ST_OK);
	assert_int_equal(counts(f).kv_bytes, COORD_KV_BYTES_MAX);
	assert_int_equal(put(f, "empty", "", PLAIN), COORD_ST_OK);
	hash = fx_hash(f);
	assert_int_equal(put(f, "b", "1", PLAIN), COORD_ST_LIMIT);
	assert_string_equal(f->r.limit, "bytes of values");
	assert_int_equal(put(f, "a", "123456", PLAIN), COORD_ST_LIMIT);
	assert_int_equal(fx_hash(f), hash);
	assert_string_equal(value_of(f, "a"), "12345");
	assert_int_equal(put(f, "a", "54321", PLAIN), COORD_ST_OK); /* same size */
	assert_int_equal(put(f, "a", "1234", PLAIN), COORD_ST_OK);
	assert_int_equal(put(f, "b", "1", PLAIN), COORD_ST_OK);
	assert_int_equal(counts(f).kv_bytes, COORD_KV_BYTES_MAX);
}

/* SM-7: a session's ephemeral keys count with its locks and waits against
 * the objects limit in force (limits.h); rewriting one of its own keys is
 * no new object, and a key made persistent frees its room. */
static void test_ephemeral_keys_count_against_the_sessions_objects(void **state)
{
	struct fx *f = *state;
	uint64_t hash;

	assert_int_equal(limits(f, 10, 3, 5), COORD_ST_OK);
	fx_open(f, S1, FX_TTL, 0);
	fx_open(f, S2, FX_TTL, 0);
	assert_int_equal(fx_lock(f, S1, "L", EX, false), COORD_ST_OK);
	assert_int_equal(put(f, "k1", "1", EPHEMERAL(S1)), COORD_ST_OK);
	assert_int_equal(put(f, "k2", "1", EPHEMERAL(S1)), COORD_ST_OK);
	put(f, "theirs", "1", EPHEMERAL(S2));
	hash = fx_hash(f);
	assert_int_equal(put(f, "k3", "1", EPHEMERAL(S1)), COORD_ST_LIMIT);
	assert_string_equal(f->r.limit, "locks and waits per session");
	assert_int_equal(put(f, "theirs", "1", EPHEMERAL(S1)), COORD_ST_LIMIT);
	assert_int_equal(fx_lock(f, S1, "M", EX, false), COORD_ST_LIMIT);
	assert_int_equal(fx_hash(f), hash);
	assert_int_equal(put(f, "k1", "2", EPHEMERAL(S1)), COORD_ST_OK);
	/* Persistent keys count for no session. */
	assert_int_equal(put(f, "k1", "3", PLAIN), COORD_ST_OK);
	assert_int_equal(put(f, "k3", "1", EPHEMERAL(S1)), COORD_ST_OK);
}

/* Counts and the listing ------------------------------------------------------ */

/* coord_sm_counts() follows every put, delete and session end; values
 * weigh their bytes. */
static void test_counts_follow_keys_and_bytes(void **state)
{
	struct fx *f = *state;
	struct coord_sm_counts c;

	fx_open(f, S1, FX_TTL, 0);
	put(f, "a", "123", PLAIN);
	put(f, "b", "12", EPHEMERAL(S1));
	put(f, "c", "", PLAIN);
	c = counts(f);
	assert_int_equal(c.keys, 3);
	assert_int_equal(c.kv_bytes, 5);
	put(f, "a", "1234567", PLAIN);
	assert_int_equal(counts(f).kv_bytes, 9);
	put(f, "c", "\xc3\xa9", PLAIN); /* bytes of UTF-8, not characters */
	assert_int_equal(counts(f).kv_bytes, 11);
	del(f, "c", PLAIN);
	del(f, "nothing", PLAIN);
	fx_close(f, S1);
	c = counts(f);
	assert_int_equal(c.keys, 1);
	assert_int_equal(c.kv_bytes, 7);
}

/* The keys of a page, as "k1 k2" and its next ("" for null). */
static const char *page(struct fx *f, const char *prefix, const char *after, uint32_t limit,
                        const char **next, uint64_t *index)
{
	static char buf[512], nbuf[64];
	json_t *out = NULL, *e, *n;
	size_t i, len = 0;

	assert_int_equal(coord_sm_query_kvs(f->reader, prefix, strlen(prefix), after, strlen(after),
	                                    limit, &out),
	                 0);
	buf[0] = '\0';
	json_array_foreach(json_object_get(out, "keys"), i, e)
	{
		assert_non_null(json_object_get(e, "value"));
		assert_non_null(json_object_get(e, "create_index"));
		assert_non_null(json_object_get(e, "modify_index"));
		assert_non_null(json_object_get(e, "session"));
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? " " : "",
		                        json_string_value(json_object_get(e, "key")));
	}
	n = json_object_get(out, "next");
	assert_true(json_is_null(n) || json_is_string(n));
	snprintf(nbuf, sizeof(nbuf), "%s", json_is_string(n) ? json_string_value(n) : "");
	*next = nbuf;
	*index = field(out, "index");
	json_decref(out);
	return buf;
}

/* The listing: keys under a prefix in byte order, a page at a time after
 * "after", "next" the key to pass on (null on the last page), "index" the
 * last change of any key. */
static void test_the_listing_pages_keys_under_a_prefix(void **state)
{
	struct fx *f = *state;
	const char *next;
	uint64_t index, last_change;

	put(f, "a/3", "3", PLAIN);
	put(f, "a/1", "1", PLAIN);
	put(f, "a", "0", PLAIN);
	put(f, "a0", "0", PLAIN);
	put(f, "b/1", "1", PLAIN);
	put(f, "a/2", "2", PLAIN);
	put(f, "a/gone", "x", PLAIN);
	del(f, "a/gone", PLAIN);
	last_change = f->index;
	fx_open(f, S1, FX_TTL, 0); /* not a change of a key */

	assert_string_equal(page(f, "a/", "", 2, &next, &index), "a/1 a/2");
	assert_string_equal(next, "a/2");
	assert_int_equal(index, last_change);
	assert_string_equal(page(f, "a/", next, 2, &next, &index), "a/3");
	assert_string_equal(next, "");
	assert_string_equal(page(f, "a/", "", 3, &next, &index), "a/1 a/2 a/3");
	assert_string_equal(next, "");
	assert_string_equal(page(f, "", "", 100, &next, &index), "a a/1 a/2 a/3 a0 b/1");
	assert_string_equal(page(f, "a", "a/1", 2, &next, &index), "a/2 a/3");
	assert_string_equal(next, "a/3");
	/* after need not name a key; before the prefix, the page starts at it. */
	assert_string_equal(page(f, "a/", "a/10", 10, &next, &index), "a/2 a/3");
	assert_string_equal(page(f, "a/", "a", 10, &next, &index), "a/1 a/2 a/3");
	assert_string_equal(page(f, "", "zzz", 10, &next, &index), "");
	assert_string_equal(next, "");
	assert_string_equal(page(f, "c/", "", 10, &next, &index), "");
	assert_int_equal(index, last_change);
}

/* Keys are replicated state: the hash sees them, and a copy of the store
 * (a snapshot) hashes alike and answers alike. */
static void test_keys_and_their_history_are_in_the_hash(void **state)
{
	struct fx *f = *state;
	struct fx *g;
	uint64_t hash = fx_hash(f);

	put(f, "k", "1", PLAIN);
	assert_int_not_equal(fx_hash(f), hash);
	g = fx_copy(f);
	assert_int_equal(fx_hash(g), fx_hash(f));
	hash = fx_hash(f);
	put(f, "k", "2", PLAIN);
	put(g, "k", "3", PLAIN);
	assert_int_not_equal(fx_hash(f), fx_hash(g));
	assert_int_not_equal(fx_hash(f), hash);
	fx_teardown((void **)&g);
}

/* Batches ---------------------------------------------------------------------- */

#define SCRIPT_LEN 10

/* The same ten entries, each in its own transaction or (BATCH) all in one,
 * through a struct coord_sm; their statuses into OUT. */
static void script(struct fx *f, bool batch, enum coord_status out[SCRIPT_LEN])
{
	size_t n = 0;

	fx_use_coord_sm(f);
	if (batch)
		fx_batch_begin(f);
	out[n++] = fx_open(f, S1, FX_TTL, 0);
	out[n++] = put(f, "a", "1", PLAIN);
	out[n++] = put(f, "b", "22", PLAIN);
	out[n++] = put(f, "e/1", "333", EPHEMERAL(S1));
	out[n++] = fx_lock(f, S1, "l", EX, false);
	out[n++] = del(f, "a", PLAIN);
	out[n++] = put(f, "b", "4444", PLAIN);
	out[n++] = fx_close(f, S1);
	out[n++] = put(f, "c", "5", PLAIN);
	out[n++] = put(f, "c", "x", CAS(0));
	if (batch)
		fx_batch_end(f);
	assert_int_equal(n, SCRIPT_LEN);
}

/* Every row of coord_meta, the clock too (the hash leaves it out). */
static char *meta_rows(struct fx *f)
{
	sqlite3_stmt *st = NULL;
	char *rows;

	assert_int_equal(sqlite3_prepare_v2(f->db,
	                                    "SELECT group_concat(key || '=' || value, ' ') FROM"
	                                    " (SELECT key, value FROM coord_meta ORDER BY key)",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	rows = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	assert_non_null(rows);
	return rows;
}

/* A node applies a batch of entries in one transaction, and the machine
 * holds the writes of coord_meta's busiest rows from one entry to the next
 * until coord_sm_flush(): the batch answers and leaves exactly what the
 * same entries leave one transaction each. */
static void test_a_batch_in_one_transaction_leaves_what_single_entries_leave(void **state)
{
	struct fx *f = *state, *g;
	enum coord_status one[SCRIPT_LEN], all[SCRIPT_LEN];
	char *a, *b;

	assert_int_equal(fx_setup((void **)&g), 0);
	script(f, false, one);
	script(g, true, all);
	assert_memory_equal(one, all, sizeof(one));
	assert_int_equal(one[SCRIPT_LEN - 1], COORD_ST_CAS_FAILED);
	assert_int_equal(fx_hash(f), fx_hash(g));
	a = meta_rows(f);
	b = meta_rows(g);
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "kv_keys=2 "));
	free(a);
	free(b);
	fx_teardown((void **)&g);
}

/* Within a batch each entry counts what the entries before it wrote: the
 * key limit is reached by the batch's own puts. */
static void test_a_batch_counts_its_own_keys_against_the_limit(void **state)
{
	struct fx *f = *state;

	fx_use_coord_sm(f);
	meta_set(f, "kv_keys", COORD_KV_KEYS_MAX - 2);
	fx_batch_begin(f);
	assert_int_equal(put(f, "n1", "1", PLAIN), COORD_ST_OK);
	assert_int_equal(put(f, "n2", "1", PLAIN), COORD_ST_OK);
	assert_int_equal(put(f, "n3", "1", PLAIN), COORD_ST_LIMIT);
	assert_int_equal(put(f, "n1", "2", PLAIN), COORD_ST_OK);
	fx_batch_end(f);
	assert_int_equal(counts(f).keys, COORD_KV_KEYS_MAX);
	assert_null(get(f, "n3", NULL));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_a_put_creates_the_key_and_a_second_keeps_its_create_index),
	    T(test_cas_0_writes_only_a_missing_key),
	    T(test_cas_n_writes_only_at_that_modify_index),
	    T(test_a_fence_holds_only_with_a_current_holders_token),
	    T(test_a_fence_on_a_shared_lock_takes_any_holders_token),
	    T(test_cas_and_fence_together),
	    T(test_an_ephemeral_put_needs_a_live_session),
	    T(test_a_sessions_close_deletes_its_keys_in_that_entry),
	    T(test_a_sessions_expiry_deletes_its_keys_in_that_entry),
	    T(test_a_plain_put_makes_an_ephemeral_key_persistent),
	    T(test_an_ephemeral_put_with_another_tokens_session_is_denied),
	    T(test_delete_with_and_without_cas),
	    T(test_a_deleted_key_names_its_deletion_until_it_is_created_again),
	    T(test_an_older_state_gains_its_deletions_and_drops_the_retired_index),
	    T(test_a_watch_from_any_index_answers_exactly_the_later_changes),
	    T(test_the_history_keeps_the_last_changes_and_says_what_it_dropped),
	    T(test_the_key_limit_refuses_a_new_key_and_changes_nothing),
	    T(test_the_bytes_limit_weighs_what_a_put_adds),
	    T(test_ephemeral_keys_count_against_the_sessions_objects),
	    T(test_counts_follow_keys_and_bytes),
	    T(test_the_listing_pages_keys_under_a_prefix),
	    T(test_keys_and_their_history_are_in_the_hash),
	    T(test_a_batch_in_one_transaction_leaves_what_single_entries_leave),
	    T(test_a_batch_counts_its_own_keys_against_the_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
