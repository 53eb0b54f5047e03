/* A session's request order and exactly-once retries (SM-9; DESIGN.md
 * rule 14; API.md, Retries).
 *
 * A client may number the requests of a session (seq 1, 2, ...; gaps
 * allowed). coord_seqs keeps one row per session that did: the highest seq
 * applied, the request it numbered and the answer it got, as result fields
 * (SM_SEQ_RECORD_MAX). Applying a numbered command on every node alike:
 *
 *   seq <  record   stale_request, nothing changes: a later request of the
 *                   session applied first (a delayed one arrives too late)
 *   seq == record   the same request again: its saved answer, nothing
 *                   changes (a queued acquire answers where its wait stands
 *                   now, seqReplay); another request under that seq is
 *                   stale_request
 *   seq >  record   applies; the record becomes this seq and answer, in
 *                   the same entry (rule 6), unless the session does not
 *                   exist or the command ended it (its row goes with it)
 *
 * A command without seq never reads or moves the record. */
#include <assert.h>
#include <string.h>

#include "sm_internal.h"

/* One row of coord_seqs. */
struct seq_record {
	uint64_t seq;
	enum coord_cmd_type type;
	enum coord_kind kind;
	enum coord_mode mode;
	char name[COORD_NAME_MAX + 1];
	size_t name_len;
	enum coord_status status;
	uint64_t token;
	bool released;
	uint64_t retry_after_ms;
	enum sm_limit_hit limit;
};

/* The record of the command's session: *FOUND false when there is none. */
static int seqRead(struct sm_apply *a, bool *found, struct seq_record *rec)
{
	sqlite3_stmt *st;
	int row;

	*found = false;
	if (sm_stmt(a,
	            "SELECT seq, type, kind, mode, name, status, token, released,"
	            " retry_after_ms, limit_hit FROM coord_seqs WHERE session = ?1",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_session(st, 1, &a->cmd->session);
	row = sm_row(st);
	if (row == 1) {
		const unsigned char *name = sqlite3_column_text(st, 4);
		size_t len = (size_t)sqlite3_column_bytes(st, 4);
		int64_t limit = sqlite3_column_int64(st, 9);

		*found = true;
		memset(rec, 0, sizeof(*rec));
		rec->seq = (uint64_t)sqlite3_column_int64(st, 0);
		rec->type = (enum coord_cmd_type)sqlite3_column_int(st, 1);
		rec->kind = (enum coord_kind)sqlite3_column_int(st, 2);
		rec->mode = (enum coord_mode)sqlite3_column_int(st, 3);
		rec->name_len = len <= COORD_NAME_MAX ? len : COORD_NAME_MAX;
		if (name != NULL)
			memcpy(rec->name, name, rec->name_len);
		rec->status = (enum coord_status)sqlite3_column_int(st, 5);
		rec->token = (uint64_t)sqlite3_column_int64(st, 6);
		rec->released = sqlite3_column_int(st, 7) != 0;
		rec->retry_after_ms = (uint64_t)sqlite3_column_int64(st, 8);
		rec->limit = limit > 0 && limit < SM_LIMIT_HIT_COUNT ? (enum sm_limit_hit)limit
		                                                     : SM_LIMIT_NONE;
	}
	sm_release_in(a, st);
	return row < 0 ? COORD_EDB : 0;
}

/* The limit RESULT names, as a number a record keeps. */
static enum sm_limit_hit seqLimitHit(const char *limit)
{
	for (int i = SM_LIMIT_NONE + 1; i < SM_LIMIT_HIT_COUNT; i++)
		if (limit == sm_limit_phrase[i])
			return (enum sm_limit_hit)i;
	assert(limit == NULL); /* every limit's phrase is in the table */
	return SM_LIMIT_NONE;
}

/* Sets the session's record to the command's seq and answer. */
static int seqWrite(struct sm_apply *a)
{
	const struct coord_cmd *c = a->cmd;
	const struct coord_result *r = a->out;
	sqlite3_stmt *st;

	assert(c->name_len <= COORD_NAME_MAX); /* SM_SEQ_RECORD_MAX */
	if (sm_stmt(a,
	            "INSERT OR REPLACE INTO coord_seqs(session, seq, type, kind, mode, name,"
	            " status, token, released, retry_after_ms, limit_hit)"
	            " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	            &st) != 0)
		return COORD_EDB;
	sm_bind_session(st, 1, &c->session);
	sm_bind_u64(st, 2, c->seq);
	sqlite3_bind_int(st, 3, (int)c->type);
	sqlite3_bind_int(st, 4, (int)c->kind);
	sqlite3_bind_int(st, 5, (int)c->mode);
	sqlite3_bind_text(st, 6, c->name_len > 0 ? c->name : "", (int)c->name_len,
	                  SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 7, (int)r->status);
	sm_bind_u64(st, 8, r->token);
	sqlite3_bind_int(st, 9, r->released ? 1 : 0);
	sm_bind_u64(st, 10, r->retry_after_ms);
	sqlite3_bind_int(st, 11, (int)seqLimitHit(r->limit));
	return sm_done(a, st);
}

/* Does REC number the command being applied (same type, object and mode)? */
static bool seqSameRequest(const struct seq_record *rec, const struct coord_cmd *c)
{
	return rec->type == c->type && rec->kind == c->kind && rec->mode == c->mode &&
	       rec->name_len == c->name_len &&
	       (c->name_len == 0 || memcmp(rec->name, c->name, c->name_len) == 0);
}

static int seqStale(struct sm_apply *a, uint64_t last)
{
	a->out->status = COORD_ST_STALE_REQUEST;
	a->out->seq = last;
	return 0;
}

/* A queued acquire asked again: where its wait stands now. Granted since:
 * the grant; still queued: queued (the caller waits as the first call
 * did); neither (withdrawn, or granted and given up): lock_held. It never
 * queues a second time. */
static int seqRequeue(struct sm_apply *a, const struct sm_lock *l)
{
	enum coord_mode mode;
	uint64_t token;
	bool found;
	int rv;

	if ((rv = sm_holder_find(a, l, &a->cmd->session, &found, &mode, &token)) != 0)
		return rv;
	if (found) {
		a->out->status = COORD_ST_OK;
		a->out->token = token;
		return 0;
	}
	if ((rv = sm_waiter_find(a, l, &a->cmd->session, &found, &mode)) != 0)
		return rv;
	if (found)
		return 0; /* still COORD_ST_QUEUED */
	a->out->status = COORD_ST_LOCK_HELD;
	return sm_result_holders(a, l);
}

/* The answer REC saved, again. What a saved answer cannot hold is read
 * now: the holders of a lock_held, and where a queued wait stands. */
static int seqReplay(struct sm_apply *a, const struct seq_record *rec)
{
	struct sm_lock l = {
	    .kind = a->cmd->kind, .name = a->cmd->name, .name_len = a->cmd->name_len};
	struct coord_result *out = a->out;

	out->retry = true;
	out->status = rec->status;
	out->token = rec->token;
	out->released = rec->released;
	out->retry_after_ms = rec->retry_after_ms;
	out->limit = sm_limit_phrase[rec->limit];
	if (rec->status == COORD_ST_LOCK_HELD)
		return sm_result_holders(a, &l);
	if (rec->status == COORD_ST_QUEUED)
		return seqRequeue(a, &l);
	return 0;
}

int sm_seq_apply(struct sm_apply *a, int (*apply)(struct sm_apply *a))
{
	const struct coord_cmd *c = a->cmd;
	struct seq_record rec;
	bool found;
	int rv;

	assert(c->seq > 0 && c->seq <= COORD_SEQ_MAX);
	if ((rv = seqRead(a, &found, &rec)) != 0)
		return rv;
	if (found && c->seq < rec.seq)
		return seqStale(a, rec.seq);
	if (found && c->seq == rec.seq)
		return seqSameRequest(&rec, c) ? seqReplay(a, &rec) : seqStale(a, rec.seq);
	if ((rv = apply(a)) != 0)
		return rv;
	/* A session that ended took its record along; one that does not
	 * exist (a close of it is answered ok) gets none. */
	if (a->out->session_ended || (rv = sm_session_find(a, &c->session, &found, NULL)) != 0)
		return rv;
	return found ? seqWrite(a) : 0;
}

int coord_sm_session_seq(struct coord_sm_reader *r, const struct coord_session_id *id,
                         uint64_t *seq)
{
	return sm_count(r->db, &r->cache, "SELECT seq FROM coord_seqs WHERE session = ?1", id, seq);
}
