/* persist/log_read.c: reading raft.db back and verifying what is read.
 *
 * Every row read is checked before it is trusted (DESIGN.md safety rule 11):
 * lengths against their limits before anything is allocated, the CRC32C
 * against the row's content, and entry indexes for contiguity. A failed check
 * is PERSIST_ECORRUPT with one line naming the row, so an operator can tell a
 * damaged disk from a bug.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "persist/log_impl.h"

/* A row's CRC covers its integers as a fixed little-endian head, never as
 * host memory. Every CRC already stored in a raft.db was computed over these
 * exact bytes: their layout must never change. */
uint32_t persist_log_entry_crc(const struct persist_entry *e)
{
	uint8_t head[25];
	struct bytes_writer w = bytes_writer_init(head, sizeof(head));
	uint32_t crc;

	bytes_put_u64(&w, e->index);
	bytes_put_u64(&w, e->term);
	bytes_put_u8(&w, e->type);
	bytes_put_u64(&w, (uint64_t)e->len);
	assert(!w.fail && w.len == sizeof(head));
	crc = persist_crc32c(0, head, sizeof(head));
	return persist_crc32c(crc, e->data, e->len);
}

uint32_t persist_log_row_crc(char tag, uint64_t a, uint64_t b, const void *data, size_t len)
{
	uint8_t head[17];
	struct bytes_writer w = bytes_writer_init(head, sizeof(head));
	uint32_t crc;

	bytes_put_u8(&w, (uint8_t)tag);
	bytes_put_u64(&w, a);
	bytes_put_u64(&w, b);
	assert(!w.fail && w.len == sizeof(head));
	crc = persist_crc32c(0, head, sizeof(head));
	return persist_crc32c(crc, data, len);
}

static uint64_t colU64(sqlite3_stmt *stmt, int col)
{
	return (uint64_t)sqlite3_column_int64(stmt, col);
}

static int rowCorrupt(struct persist_log *log, const char *what, struct persist_error *err)
{
	return persist_errf(err, PERSIST_ECORRUPT, "%s: %s fails its checksum", log->path, what);
}

/* Steps a single-row query: 0 with *found set, or an error. */
static int stepRow(struct persist_log *log, sqlite3_stmt *stmt, bool *found,
                   struct persist_error *err)
{
	int rc = sqlite3_step(stmt);

	*found = rc == SQLITE_ROW;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		return persist_db_error(log->db, rc, log->path, "read", err);
	}
	return 0;
}

static int loadHardstate(struct persist_log *log, struct persist_log_state *s,
                         struct persist_error *err)
{
	sqlite3_stmt *stmt = log->stmt.get_hardstate;
	bool found;
	int rv = stepRow(log, stmt, &found, err);

	if (rv == 0 && found) {
		s->hardstate.term = colU64(stmt, 0);
		s->hardstate.vote = colU64(stmt, 1);
		if (persist_log_row_crc(LOG_TAG_HARDSTATE, s->hardstate.term, s->hardstate.vote,
		                        NULL, 0) != colU64(stmt, 2)) {
			rv = rowCorrupt(log, "hard state (term, vote)", err);
		}
	}
	sqlite3_reset(stmt);
	log->hs = s->hardstate;
	return rv;
}

static int loadSnapshot(struct persist_log *log, struct persist_log_state *s,
                        struct persist_error *err)
{
	sqlite3_stmt *stmt = log->stmt.get_snapshot;
	bool found;
	int rv = stepRow(log, stmt, &found, err);

	if (rv == 0 && found) {
		s->snap_index = colU64(stmt, 0);
		s->snap_term = colU64(stmt, 1);
		if (persist_log_row_crc(LOG_TAG_SNAPSHOT, s->snap_index, s->snap_term, NULL, 0) !=
		    colU64(stmt, 2)) {
			rv = rowCorrupt(log, "snapshot metadata", err);
		}
	}
	sqlite3_reset(stmt);
	log->snap_index = s->snap_index;
	log->snap_term = s->snap_term;
	return rv;
}

static int loadConfig(struct persist_log *log, struct persist_log_state *s,
                      struct persist_error *err)
{
	sqlite3_stmt *stmt = log->stmt.get_config;
	size_t len;
	void *copy;
	bool found;
	int rv = stepRow(log, stmt, &found, err);

	if (rv != 0 || !found) {
		goto out;
	}
	len = (size_t)sqlite3_column_bytes(stmt, 1);
	if (len > PERSIST_CONFIG_MAX) {
		rv = persist_errf(err, PERSIST_ECORRUPT, "%s: configuration of %zu bytes",
		                  log->path, len);
		goto out;
	}
	copy = malloc(len + 1); /* +1: a zero-length config is still a non-NULL blob */
	if (copy == NULL) {
		rv = persist_errf(err, PERSIST_ENOMEM, "no memory for the configuration");
		goto out;
	}
	if (len > 0) { /* an empty blob reads back as NULL */
		memcpy(copy, sqlite3_column_blob(stmt, 1), len);
	}
	s->config.index = colU64(stmt, 0);
	s->config.data = copy;
	s->config.len = len;
	if (persist_log_row_crc(LOG_TAG_CONFIG, s->config.index, len, copy, len) !=
	    colU64(stmt, 2)) {
		rv = rowCorrupt(log, "membership configuration", err);
	}
out:
	sqlite3_reset(stmt);
	return rv;
}

int persist_log_load_meta(struct persist_log *log, struct persist_log_state *s,
                          struct persist_error *err)
{
	int rv = loadHardstate(log, s, err);

	if (rv == 0) {
		rv = loadSnapshot(log, s, err);
	}
	if (rv == 0) {
		rv = loadConfig(log, s, err);
	}
	return rv;
}

/* Counts what [from, from + max_n) holds and allocates room for it, checking
 * both against the limits before allocating (rule 11). */
static int readAlloc(struct persist_log *log, uint64_t from, size_t max_n,
                     struct persist_entries *out, size_t *cap, size_t *bytes,
                     struct persist_error *err)
{
	sqlite3_stmt *stmt = log->stmt.read_size;
	int64_t count;
	double total;
	int rc;

	sqlite3_bind_int64(stmt, 1, (int64_t)from);
	sqlite3_bind_int64(stmt, 2, (int64_t)max_n);
	rc = sqlite3_step(stmt);
	count = sqlite3_column_int64(stmt, 0);
	total = sqlite3_column_double(stmt, 1);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW) {
		return persist_db_error(log->db, rc, log->path, "count entries", err);
	}
	if (count > PERSIST_LOAD_MAX || total > (double)PERSIST_LOAD_BYTES_MAX) {
		return persist_errf(
		    err, PERSIST_ELIMIT,
		    "%s: %lld entries of %.0f bytes exceed the load limits (%u, %u)", log->path,
		    (long long)count, total, PERSIST_LOAD_MAX, PERSIST_LOAD_BYTES_MAX);
	}
	out->v = calloc((size_t)count + 1, sizeof(*out->v));
	out->arena = malloc((size_t)total + 1);
	if (out->v == NULL || out->arena == NULL) {
		return persist_errf(err, PERSIST_ENOMEM, "no memory to read %lld entries",
		                    (long long)count);
	}
	*cap = (size_t)count;
	*bytes = (size_t)total;
	return 0;
}

/* Copies the current row into out->v[out->n], verifying it. */
static int readRow(struct persist_log *log, sqlite3_stmt *stmt, struct persist_entries *out,
                   size_t cap, size_t *used, size_t bytes, struct persist_error *err)
{
	struct persist_entry *e = &out->v[out->n];
	size_t len = (size_t)sqlite3_column_bytes(stmt, 3);
	int64_t type = sqlite3_column_int64(stmt, 2);

	assert(out->n < cap); /* rows and count come from one read transaction */
	e->index = colU64(stmt, 0);
	e->term = colU64(stmt, 1);
	if (len > PERSIST_ENTRY_DATA_MAX || len > bytes - *used || type < 0 || type > 255) {
		return persist_errf(err, PERSIST_ECORRUPT,
		                    "%s: entry %llu has a bad length or type", log->path,
		                    (unsigned long long)e->index);
	}
	if (out->n > 0 && e->index != out->v[out->n - 1].index + 1) {
		return persist_errf(err, PERSIST_ECORRUPT, "%s: entry %llu follows entry %llu",
		                    log->path, (unsigned long long)e->index,
		                    (unsigned long long)out->v[out->n - 1].index);
	}
	if (out->n > 0 && e->term < out->v[out->n - 1].term) {
		return persist_errf(
		    err, PERSIST_ECORRUPT, "%s: entry %llu has term %llu, below its predecessor's",
		    log->path, (unsigned long long)e->index, (unsigned long long)e->term);
	}
	e->type = (uint8_t)type;
	e->len = len;
	e->data = out->arena + *used;
	if (len > 0) { /* an empty blob reads back as NULL */
		memcpy(out->arena + *used, sqlite3_column_blob(stmt, 3), len);
	}
	*used += len;
	if (persist_log_entry_crc(e) != colU64(stmt, 4)) {
		return persist_errf(err, PERSIST_ECORRUPT, "%s: entry %llu fails its checksum",
		                    log->path, (unsigned long long)e->index);
	}
	out->n++;
	return 0;
}

int persist_log_read(struct persist_log *log, uint64_t from, size_t max_n,
                     struct persist_entries *out, struct persist_error *err)
{
	sqlite3_stmt *stmt = log->stmt.read_rows;
	size_t cap = 0;
	size_t bytes = 0;
	size_t used = 0;
	int rc;
	int rv;

	assert(out != NULL && max_n <= (size_t)PERSIST_LOAD_MAX + 1);
	memset(out, 0, sizeof(*out));
	if (log->failed) {
		return persist_errf(err, PERSIST_EFAILED, "%s: failed earlier", log->path);
	}
	/* The count and the rows must come from the same snapshot of the file. */
	rc = persist_db_exec(log->stmt.begin_read);
	if (rc != SQLITE_DONE) {
		return persist_db_error(log->db, rc, log->path, "begin read", err);
	}
	rv = readAlloc(log, from, max_n, out, &cap, &bytes, err);
	sqlite3_bind_int64(stmt, 1, (int64_t)from);
	sqlite3_bind_int64(stmt, 2, (int64_t)max_n);
	while (rv == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		rv = readRow(log, stmt, out, cap, &used, bytes, err);
	}
	if (rv == 0 && rc != SQLITE_DONE) {
		rv = persist_db_error(log->db, rc, log->path, "read entries", err);
	}
	sqlite3_reset(stmt);
	persist_db_exec(log->stmt.rollback);
	if (rv != 0) {
		persist_entries_free(out);
	}
	return rv;
}

void persist_entries_free(struct persist_entries *e)
{
	free(e->v);
	free(e->arena);
	memset(e, 0, sizeof(*e));
}
