/* sm_kv_check.c: the key/value invariants (coord/sm/sm_kv.c, KV-1..KV-5),
 * checked on one node after every entry it applies, from its own tables, the
 * entry's command and result, and a model of the changes kept here:
 *
 *   ephemeral keys     no key names a session that is not live (KV-3); the
 *                      entry that ends a session deletes its keys, each a
 *                      change at that entry; an ephemeral put that applied
 *                      names a live session;
 *   kv history         every put or delete that applied is exactly one row of
 *                      coord_kv_history at its entry, a session's end one per
 *                      key, other entries none; no more than
 *                      COORD_KV_HISTORY_MAX + _SLACK rows, and once
 *                      trimmed no fewer than COORD_KV_HISTORY_MAX; none below
 *                      kv_compacted_index, which never goes back; each key's
 *                      newest row is its modify_index (a put), each absent
 *                      key's a delete, which coord_kv_gone holds, and
 *                      nothing else (KV-6); and a watch from any index at or above
 *                      the compacted one (coord_sm_query_kv_changes) returns
 *                      exactly the changes this node's model holds after it,
 *                      in log order, none missing, none twice (KV-2);
 *   conditional write  a put or delete with cas applies only if the key's
 *                      modify_index before the entry was cas (0: absent), and
 *                      is refused only then; with a fence only if its token
 *                      was a current holder's of its lock (KV-4); a refused
 *                      one writes no row of any table (sqlite3_total_changes)
 *                      but the cluster clock's stamp;
 *   kv index           a put leaves the key with its value, its session (or
 *                      none), modify_index the entry's index and create_index
 *                      the creating entry's, and answers them; a delete leaves
 *                      no key and says whether there was one (KV-1, SM-8);
 *   kv meta            kv_keys and kv_bytes are count(*) and the bytes of the
 *                      values (KV-5).
 *
 * The model is this node's own list of the changes it applied, derived from
 * commands and results alone (never from the history table); a snapshot
 * restore empties it, and watches are compared only from where it starts.
 * Like sm_check.c, the checks read the tables with their own SQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "sm_check.h"

#include "sm_query.h"

/* Prefixes a watch is compared under: the workload's keys are k1 k2 k3 x1. */
static const char *const kv_prefixes[] = {"", "k", "x", "k2"};

/* One integer from SQL with up to one text (?1) and one 64-bit integer (?2)
 * parameter; *ERR set on failure. */
static int64_t kv_int(sqlite3 *db, const char *sql, const char *text, size_t len, uint64_t n,
                      int *err)
{
	sqlite3_stmt *st = NULL;
	int64_t v = 0;

	if ((st = sim_stmt(db, sql)) == NULL) {
		*err = 1;
		return 0;
	}
	if (text != NULL)
		sqlite3_bind_text(st, 1, text, (int)len, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, (sqlite3_int64)n);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		*err = 1;
	sim_stmt_done(st);
	return v;
}

static uint64_t kv_meta(sqlite3 *db, const char *key, int *err)
{
	int64_t v = kv_int(db, "SELECT coalesce(max(value), 0) FROM coord_meta WHERE key = ?1", key,
	                   strlen(key), 0, err);

	return v > 0 ? (uint64_t)v : 0;
}

static bool kv_type(const struct coord_cmd *cmd)
{
	return cmd != NULL && (cmd->type == COORD_CMD_KV_PUT || cmd->type == COORD_CMD_KV_DELETE);
}

/* Before the entry ------------------------------------------------------------------- */

/* The command's key as the store holds it before the entry. */
static int kv_pre_key(sqlite3 *db, const struct coord_cmd *cmd, struct sim_coord_kv_pre *pre)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((st = sim_stmt(db, "SELECT create_index, modify_index FROM coord_kv"
	                       " WHERE key = ?1")) == NULL)
		return COORD_EDB;
	sqlite3_bind_text(st, 1, cmd->name, (int)cmd->name_len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		pre->found = true;
		pre->create_index = (uint64_t)sqlite3_column_int64(st, 0);
		pre->modify_index = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sim_stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : COORD_EDB;
}

/* The keys of the command's session, in key order: what its end deletes. */
static int kv_pre_ending(sqlite3 *db, const struct coord_cmd *cmd, struct sim_coord_kv_pre *pre)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((st = sim_stmt(db, "SELECT key FROM coord_kv WHERE session = ?1 ORDER BY key")) == NULL)
		return COORD_EDB;
	sqlite3_bind_blob(st, 1, cmd->session.bytes, COORD_SESSION_ID_LEN, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);

		if (pre->n_ending == SIM_COORD_KV_KEYS || key == NULL ||
		    strlen(key) > SIM_COORD_KV_KEY_MAX) {
			pre->ending_overflow = true;
			continue;
		}
		snprintf(pre->ending[pre->n_ending++], SIM_COORD_KV_KEY_MAX + 1, "%s", key);
	}
	sim_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : COORD_EDB;
}

int sim_coord_kv_pre_read(sqlite3 *db, const struct coord_cmd *cmd, struct sim_coord_kv_pre *pre)
{
	int err = 0;

	memset(pre, 0, sizeof(*pre));
	if (cmd == NULL)
		return 0;
	/* Only these end a session (sm_session.c). */
	if ((cmd->type == COORD_CMD_CLOSE || cmd->type == COORD_CMD_EXPIRE) &&
	    kv_pre_ending(db, cmd, pre) != 0)
		return COORD_EDB;
	if (!kv_type(cmd))
		return 0;
	if (kv_pre_key(db, cmd, pre) != 0)
		return COORD_EDB;
	pre->writes = sqlite3_total_changes(db);
	if (cmd->kv_flags & COORD_KV_FENCE)
		pre->fence_current =
		    kv_int(db,
		           "SELECT count(*) FROM coord_holders WHERE kind = 0" /* a lock */
		           " AND name = ?1 AND token = ?2",
		           cmd->fence_lock, cmd->fence_lock_len, cmd->fence_token, &err) > 0;
	return err ? COORD_EDB : 0;
}

/* After the entry -------------------------------------------------------------------- */

/* The changes entry INDEX made, derived from its command and result alone:
 * into CH (at most SIM_COORD_KV_KEYS + 1), their number; *LOST when one
 * cannot be named (the model then starts over after it). */
static size_t kv_changes(uint64_t index, const struct coord_cmd *cmd,
                         const struct coord_result *res, const struct sim_coord_kv_pre *pre,
                         struct sim_coord_kv_change *ch, bool *lost)
{
	size_t n = 0;

	*lost = false;
	if (kv_type(cmd) && res->status == COORD_ST_OK &&
	    (cmd->type == COORD_CMD_KV_PUT || res->released)) {
		if (cmd->name_len > SIM_COORD_KV_KEY_MAX) {
			*lost = true;
		} else {
			ch[n] = (struct sim_coord_kv_change){
			    .index = index, .deleted = cmd->type == COORD_CMD_KV_DELETE};
			memcpy(ch[n++].key, cmd->name, cmd->name_len);
		}
	}
	if (res->session_ended) {
		*lost = *lost || pre->ending_overflow;
		for (size_t i = 0; i < pre->n_ending; i++) {
			ch[n] = (struct sim_coord_kv_change){.index = index, .deleted = true};
			memcpy(ch[n++].key, pre->ending[i], sizeof(pre->ending[i]));
		}
	}
	return n;
}

/* The store after the entry, in one statement: every count the checks
 * compare, read directly from the tables. */
struct kv_state {
	int64_t orphans;     /* keys of a session that is not live */
	int64_t keys, bytes; /* count(*), the bytes of the values */
	int64_t meta_keys, meta_bytes, compacted;
	int64_t rows, here, below; /* history rows: all, at the entry, below compacted */
	int64_t stale, ghosts;     /* keys whose newest row disagrees with the store */
	int64_t gone;              /* coord_kv_gone rows wrong or missing (KV-6) */
};

/* coord_kv_history.change: 0 a put, 1 a delete (sm_schema.c). */
static const char kv_state_sql[] =
    "WITH c(v) AS (SELECT coalesce(max(value), 0) FROM coord_meta"
    "  WHERE key = 'kv_compacted_index') SELECT"
    " (SELECT count(*) FROM coord_kv k WHERE session IS NOT NULL AND NOT EXISTS"
    "  (SELECT 1 FROM coord_sessions s WHERE s.id = k.session)),"
    " (SELECT count(*) FROM coord_kv),"
    " (SELECT coalesce(sum(length(CAST(value AS BLOB))), 0) FROM coord_kv),"
    " (SELECT coalesce(max(value), 0) FROM coord_meta WHERE key = 'kv_keys'),"
    " (SELECT coalesce(max(value), 0) FROM coord_meta WHERE key = 'kv_bytes'),"
    " (SELECT v FROM c),"
    " (SELECT count(*) FROM coord_kv_history),"
    " (SELECT count(*) FROM coord_kv_history WHERE idx = ?1),"
    " (SELECT count(*) FROM coord_kv_history WHERE idx < (SELECT v FROM c)),"
    /* a key whose modify_index is kept but is not a put row, or with a newer row */
    " (SELECT count(*) FROM coord_kv k WHERE (k.modify_index > (SELECT v FROM c) AND NOT"
    "  EXISTS (SELECT 1 FROM coord_kv_history h WHERE h.key = k.key AND"
    "  h.idx = k.modify_index AND h.change = 0)) OR EXISTS (SELECT 1 FROM"
    "  coord_kv_history h WHERE h.key = k.key AND h.idx > k.modify_index)),"
    /* an absent key whose newest row is a put */
    " (SELECT count(*) FROM coord_kv_history h WHERE change = 0 AND idx ="
    "  (SELECT max(idx) FROM coord_kv_history g WHERE g.key = h.key) AND"
    "  NOT EXISTS (SELECT 1 FROM coord_kv k WHERE k.key = h.key)),"
    /* KV-6: a row of coord_kv_gone for a present key, or not at its key's
     * newest row, a deletion; an absent key whose newest row is a deletion
     * without its row there */
    " (SELECT count(*) FROM coord_kv_gone g WHERE EXISTS (SELECT 1 FROM coord_kv k"
    "  WHERE k.key = g.key) OR NOT EXISTS (SELECT 1 FROM coord_kv_history h WHERE"
    "  h.key = g.key AND h.idx = g.idx AND h.change = 1) OR EXISTS (SELECT 1 FROM"
    "  coord_kv_history h WHERE h.key = g.key AND h.idx > g.idx)) +"
    " (SELECT count(*) FROM coord_kv_history h WHERE change = 1 AND idx ="
    "  (SELECT max(idx) FROM coord_kv_history x WHERE x.key = h.key) AND NOT EXISTS"
    "  (SELECT 1 FROM coord_kv k WHERE k.key = h.key) AND NOT EXISTS (SELECT 1 FROM"
    "  coord_kv_gone g WHERE g.key = h.key AND g.idx = h.idx))";

static int kv_state_read(sqlite3 *db, sqlite3_stmt **stp, uint64_t index, struct kv_state *k)
{
	int64_t *v[] = {&k->orphans,    &k->keys,      &k->bytes,  &k->meta_keys,
	                &k->meta_bytes, &k->compacted, &k->rows,   &k->here,
	                &k->below,      &k->stale,     &k->ghosts, &k->gone};
	int rc;

	if (*stp == NULL && sqlite3_prepare_v2(db, kv_state_sql, -1, stp, NULL) != SQLITE_OK)
		return COORD_EDB;
	sqlite3_bind_int64(*stp, 1, (sqlite3_int64)index);
	rc = sqlite3_step(*stp);
	for (int i = 0; rc == SQLITE_ROW && i < (int)(sizeof(v) / sizeof(v[0])); i++)
		*v[i] = sqlite3_column_int64(*stp, i);
	sqlite3_reset(*stp);
	return rc == SQLITE_ROW ? 0 : COORD_EDB;
}

/* KV-3: no key of a session that is not live; an ending session's keys
 * are gone; an ephemeral put that applied names a live session. */
static const char *check_ephemeral(sqlite3 *db, uint64_t index, const struct coord_cmd *cmd,
                                   const struct coord_result *res,
                                   const struct sim_coord_kv_pre *pre, const struct kv_state *k,
                                   char *why, size_t cap)
{
	int err = 0;

	if (k->orphans != 0) {
		snprintf(
		    why, cap,
		    "after entry %llu (%s, %s) %lld key(s) belong to a session that is not live",
		    (unsigned long long)index,
		    cmd != NULL ? coord_cmd_type_name((int)cmd->type) : "undecodable",
		    coord_status_name(res->status), (long long)k->orphans);
		return "ephemeral keys";
	}
	for (size_t i = 0; res->session_ended && i < pre->n_ending; i++) {
		if (kv_int(db, "SELECT count(*) FROM coord_kv WHERE key = ?1", pre->ending[i],
		           strlen(pre->ending[i]), 0, &err) != 0) {
			snprintf(why, cap, "entry %llu ends a session but leaves its key '%s'",
			         (unsigned long long)index, pre->ending[i]);
			return "ephemeral keys";
		}
	}
	if (kv_type(cmd) && cmd->type == COORD_CMD_KV_PUT && (cmd->kv_flags & COORD_KV_EPHEMERAL) &&
	    res->status == COORD_ST_OK &&
	    kv_int(db,
	           "SELECT count(*) FROM coord_kv k JOIN coord_sessions s ON s.id = k.session"
	           " WHERE k.key = ?1",
	           cmd->name, cmd->name_len, 0, &err) != 1) {
		snprintf(why, cap, "entry %llu puts an ephemeral key of a session that is not live",
		         (unsigned long long)index);
		return "ephemeral keys";
	}
	if (err != 0) {
		snprintf(why, cap, "entry %llu: cannot read the keys", (unsigned long long)index);
		return "coord apply";
	}
	return NULL;
}

/* KV-4: the conditions decide, both ways; a refused write changes nothing. */
static const char *check_conditions(sqlite3 *db, uint64_t index, const struct coord_cmd *cmd,
                                    const struct coord_result *res,
                                    const struct sim_coord_kv_pre *pre, char *why, size_t cap)
{
	bool cas = (cmd->kv_flags & COORD_KV_CAS) != 0,
	     fence = (cmd->kv_flags & COORD_KV_FENCE) != 0;
	bool cas_holds = cmd->cas == 0 ? !pre->found : pre->found && pre->modify_index == cmd->cas;
	int writes;

	if ((cas && !cas_holds && res->status == COORD_ST_OK) ||
	    (cas && cas_holds && res->status == COORD_ST_CAS_FAILED) ||
	    (!cas && res->status == COORD_ST_CAS_FAILED)) {
		snprintf(why, cap,
		         "entry %llu: %s of '%.*s' with cas %llu answered %s; the key's "
		         "modify_index was %llu%s",
		         (unsigned long long)index, coord_cmd_type_name((int)cmd->type),
		         (int)cmd->name_len, cmd->name, (unsigned long long)cmd->cas,
		         coord_status_name(res->status), (unsigned long long)pre->modify_index,
		         pre->found ? "" : " (absent)");
		return "conditional write";
	}
	if (res->status == COORD_ST_CAS_FAILED &&
	    res->modify_index != (pre->found ? pre->modify_index : 0)) {
		snprintf(why, cap, "entry %llu: cas_failed names modify_index %llu, not %llu",
		         (unsigned long long)index, (unsigned long long)res->modify_index,
		         (unsigned long long)(pre->found ? pre->modify_index : 0));
		return "conditional write";
	}
	if ((fence && !pre->fence_current && res->status == COORD_ST_OK) ||
	    (fence && pre->fence_current && res->status == COORD_ST_STALE_TOKEN) ||
	    (!fence && res->status == COORD_ST_STALE_TOKEN)) {
		snprintf(
		    why, cap,
		    "entry %llu: %s of '%.*s' fenced by token %llu of lock '%.*s' answered %s; "
		    "the token was %sa current holder's",
		    (unsigned long long)index, coord_cmd_type_name((int)cmd->type),
		    (int)cmd->name_len, cmd->name, (unsigned long long)cmd->fence_token,
		    (int)cmd->fence_lock_len, cmd->fence_lock ? cmd->fence_lock : "",
		    coord_status_name(res->status), pre->fence_current ? "" : "not ");
		return "conditional write";
	}
	if (res->status == COORD_ST_OK)
		return NULL;
	/* No row inserted, updated or deleted, whatever its value, but the
	 * cluster clock's stamp that every entry writes (sm_apply.c). */
	if ((writes = sqlite3_total_changes(db) - pre->writes - 1) != 0) {
		snprintf(why, cap, "entry %llu: a %s refused with %s wrote %d row(s)",
		         (unsigned long long)index, coord_cmd_type_name((int)cmd->type),
		         coord_status_name(res->status), writes);
		return "conditional write";
	}
	return NULL;
}

/* KV-1: what a put or delete that applied leaves and answers. */
static const char *check_written(sqlite3 *db, uint64_t index, const struct coord_cmd *cmd,
                                 const struct coord_result *res, const struct sim_coord_kv_pre *pre,
                                 char *why, size_t cap)
{
	static const struct coord_session_id none;
	bool ephemeral = (cmd->kv_flags & COORD_KV_EPHEMERAL) != 0;
	uint64_t create = pre->found ? pre->create_index : index;
	sqlite3_stmt *st = NULL;
	const char *bad = NULL;
	int rc;

	if (res->status != COORD_ST_OK)
		return NULL;
	if ((st = sim_stmt(db, "SELECT create_index, modify_index, session, value = ?2"
	                       " FROM coord_kv WHERE key = ?1")) == NULL)
		return "coord apply";
	sqlite3_bind_text(st, 1, cmd->name, (int)cmd->name_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, cmd->value_len > 0 ? cmd->value : "", (int)cmd->value_len,
	                  SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (cmd->type == COORD_CMD_KV_DELETE) {
		if (rc != SQLITE_DONE || res->released != pre->found)
			bad = "a delete that applied leaves the key, or says wrongly whether it "
			      "was there";
	} else if (rc != SQLITE_ROW) {
		bad = "a put that applied leaves no key";
	} else {
		const void *id = sqlite3_column_blob(st, 2);
		struct coord_session_id owner = none;

		if (id != NULL && sqlite3_column_bytes(st, 2) == COORD_SESSION_ID_LEN)
			memcpy(owner.bytes, id, COORD_SESSION_ID_LEN);
		if ((uint64_t)sqlite3_column_int64(st, 0) != create ||
		    (uint64_t)sqlite3_column_int64(st, 1) != index || res->create_index != create ||
		    res->modify_index != index)
			bad = "a put's create_index or modify_index is not the creating and this "
			      "entry's";
		else if (sqlite3_column_int(st, 3) != 1)
			bad = "a put leaves another value";
		else if (!coord_session_id_equal(&owner, ephemeral ? &cmd->session : &none))
			bad = "a put leaves the key with another session";
	}
	sim_stmt_done(st);
	if (bad != NULL)
		snprintf(why, cap, "entry %llu, key '%.*s': %s", (unsigned long long)index,
		         (int)cmd->name_len, cmd->name, bad);
	return bad != NULL ? "kv index" : NULL;
}

/* KV-5: the counters are the store's. */
static const char *check_meta(uint64_t index, const struct kv_state *k, char *why, size_t cap)
{
	if (k->meta_keys != k->keys || k->meta_bytes != k->bytes) {
		snprintf(why, cap,
		         "after entry %llu kv_keys %lld and kv_bytes %lld, but %lld keys hold %lld "
		         "bytes",
		         (unsigned long long)index, (long long)k->meta_keys,
		         (long long)k->meta_bytes, (long long)k->keys, (long long)k->bytes);
		return "kv meta";
	}
	return NULL;
}

/* KV-2 on the table: bounds, the compacted index, the rows of this entry
 * (CH, N; only some of them when the entry's own rows were trimmed), and
 * each key's newest row against the store. */
static const char *check_history_rows(sqlite3 *db, uint64_t index,
                                      const struct sim_coord_kv_change *ch, size_t n, bool lost,
                                      const struct sim_coord_kv_model *m, const struct kv_state *k,
                                      char *why, size_t cap)
{
	uint64_t compacted = (uint64_t)k->compacted;
	const char *bad = NULL;
	int err = 0;

	if (k->rows > (int64_t)(COORD_KV_HISTORY_MAX + COORD_KV_HISTORY_SLACK))
		bad = "the history holds more rows than COORD_KV_HISTORY_MAX + _SLACK";
	else if (compacted > 0 && k->rows < (int64_t)COORD_KV_HISTORY_MAX)
		bad = "a trim left fewer rows than COORD_KV_HISTORY_MAX";
	else if (compacted < m->compacted || compacted > index)
		bad = "kv_compacted_index went back, or past the entry";
	else if (k->below != 0)
		bad = "the history keeps a row below kv_compacted_index";
	else if (!lost && (compacted < index ? k->here != (int64_t)n : k->here > (int64_t)n))
		bad = "the entry's changes and its rows in the history differ in number";
	else if (k->stale != 0)
		bad = "a key's modify_index is not its newest change in the history";
	else if (k->ghosts != 0)
		bad = "a key's newest change in the history is a put, but the key is gone";
	else if (k->gone != 0)
		bad = "coord_kv_gone is not the absent keys' deletions the history holds (KV-6)";
	for (size_t i = 0; bad == NULL && i < n && compacted < index; i++) {
		if (kv_int(db,
		           "SELECT coalesce(max(change), -1) FROM coord_kv_history WHERE key = ?1"
		           " AND idx = ?2",
		           ch[i].key, strlen(ch[i].key), index, &err) != (ch[i].deleted ? 1 : 0))
			bad =
			    "a change of the entry is missing from the history, or of another kind";
	}
	if (bad != NULL)
		snprintf(
		    why, cap,
		    "after entry %llu (%zu change(s), %lld row(s) at it, %lld in all, compacted "
		    "%llu): %s",
		    (unsigned long long)index, n, (long long)k->here, (long long)k->rows,
		    (unsigned long long)compacted, bad);
	return bad != NULL ? "kv history" : NULL;
}

/* Appends CH (N changes of one entry) to the model; LOST: a change of it
 * could not be named, so the model knows nothing up to this entry. Drops
 * what no watch can ask for any more (at or below COMPACTED), then the
 * oldest quarter when full. */
static void model_add(struct sim_coord_kv_model *m, uint64_t index,
                      const struct sim_coord_kv_change *ch, size_t n, bool lost, uint64_t compacted)
{
	size_t k = 0;

	if (lost) {
		m->n = 0;
		m->from = index;
		return;
	}
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].index > compacted)
			m->v[k++] = m->v[i];
	m->n = k;
	if (compacted > m->from)
		m->from = compacted;
	if (m->n + n > SIM_COORD_KV_MODEL) {
		size_t drop = SIM_COORD_KV_MODEL / 4;

		m->from = m->v[drop - 1].index;
		memmove(m->v, m->v + drop, (m->n - drop) * sizeof(m->v[0]));
		m->n -= drop;
	}
	memcpy(m->v + m->n, ch, n * sizeof(*ch));
	m->n += n;
}

static const char *kv_str(json_t *o, const char *field)
{
	const char *v = json_string_value(json_object_get(o, field));

	return v != NULL ? v : "";
}

/* A watch of PREFIX from SINCE (coord_sm_query_kv_changes) against the
 * model's changes above SINCE under PREFIX: the same, in the same order. */
static const char *check_watch(struct coord_sm_reader *r, uint64_t index,
                               const struct sim_coord_kv_model *m, const char *prefix,
                               uint64_t since, char *why, size_t cap)
{
	json_t *out = NULL, *changes;
	uint64_t last = 0;
	size_t plen = strlen(prefix), want = 0, i;
	const char *bad = NULL;

	if (coord_sm_query_kv_changes(r, prefix, plen, since, &out, &last) != 0)
		return "coord apply";
	changes = json_object_get(out, "changes");
	for (i = 0; i < m->n && bad == NULL; i++) {
		const struct sim_coord_kv_change *c = &m->v[i];
		json_t *o;

		if (c->index <= since || strncmp(c->key, prefix, plen) != 0)
			continue;
		o = json_array_get(changes, want++);
		if (o == NULL)
			bad = "missing";
		else if (strcmp(kv_str(o, "key"), c->key) != 0 ||
		         strcmp(kv_str(o, "change"), c->deleted ? "delete" : "put") != 0 ||
		         (uint64_t)json_integer_value(json_object_get(o, "modify_index")) !=
		             c->index)
			bad = "another change in its place";
	}
	if (bad == NULL && json_array_size(changes) != want)
		bad = "a change the node never made, or one twice", want++;
	if (bad != NULL)
		snprintf(why, cap,
		         "after entry %llu a watch of '%s' from %llu answers %zu change(s); at the "
		         "node's change %zu after it: %s",
		         (unsigned long long)index, prefix, (unsigned long long)since,
		         json_array_size(changes), want, bad);
	json_decref(out);
	return bad != NULL ? "kv history" : NULL;
}

/* A watch of everything from where the model and the history both start,
 * and one from a point after it under one of the workload's prefixes, both
 * drawn from the index (deterministic). */
static const char *check_watches(struct coord_sm_reader *r, uint64_t index,
                                 const struct sim_coord_kv_model *m, uint64_t compacted, char *why,
                                 size_t cap)
{
	uint64_t start = m->from > compacted ? m->from : compacted;
	uint64_t mix = sim_mix(index, 0x6b76);
	uint64_t since[2] = {start, start + mix % (index - start + 1)};
	const char *prefix[2] = {
	    "", kv_prefixes[(mix >> 32) % (sizeof(kv_prefixes) / sizeof(kv_prefixes[0]))]};
	const char *bad = check_watch(r, index, m, prefix[0], since[0], why, cap);

	return bad != NULL ? bad : check_watch(r, index, m, prefix[1], since[1], why, cap);
}

const char *sim_coord_kv_check(sqlite3 *db, struct coord_sm_reader *r, uint64_t index,
                               const struct coord_cmd *cmd, const struct coord_result *res,
                               const struct sim_coord_kv_pre *pre, struct sim_coord_kv_model *m,
                               char *why, size_t cap)
{
	struct sim_coord_kv_change ch[SIM_COORD_KV_KEYS + 1];
	struct kv_state k;
	bool lost;
	size_t n = kv_changes(index, cmd, res, pre, ch, &lost);
	const char *bad;

	if (kv_state_read(db, &m->state, index, &k) != 0) {
		snprintf(why, cap, "entry %llu: cannot read the keys", (unsigned long long)index);
		return "coord apply";
	}
	bad = check_ephemeral(db, index, cmd, res, pre, &k, why, cap);
	if (bad == NULL && kv_type(cmd))
		bad = check_conditions(db, index, cmd, res, pre, why, cap);
	if (bad == NULL && kv_type(cmd))
		bad = check_written(db, index, cmd, res, pre, why, cap);
	if (bad == NULL)
		bad = check_meta(index, &k, why, cap);
	if (bad == NULL)
		bad = check_history_rows(db, index, ch, n, lost, m, &k, why, cap);
	if (bad != NULL)
		return bad;
	model_add(m, index, ch, n, lost, (uint64_t)k.compacted);
	m->compacted = (uint64_t)k.compacted;
	/* Every change, and every eighth entry besides. */
	if (n > 0 || index % 8 == 0)
		bad = check_watches(r, index, m, (uint64_t)k.compacted, why, cap);
	return bad;
}

void sim_coord_kv_model_restart(sqlite3 *db, struct sim_coord_kv_model *m)
{
	int err = 0;

	/* No change in the image is above its last one: from there on the
	 * model sees every change the node makes. */
	sim_coord_kv_model_close(m);
	m->n = 0;
	m->from = kv_meta(db, "kv_index", &err);
	m->compacted = kv_meta(db, "kv_compacted_index", &err);
}

void sim_coord_kv_model_close(struct sim_coord_kv_model *m)
{
	sqlite3_finalize(m->state);
	m->state = NULL;
}
