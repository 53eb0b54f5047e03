/* persist/log_impl.h: private to log*.c; the raft.db handle.
 *
 * Invariants (checked by assertions in log_write.c):
 *  L1. Stored entries have contiguous indexes first..last; an empty log has
 *      first == last + 1 and last == snap_index.
 *  L2. snap_index never decreases (hashicorp/raft #248).
 *  L3. The in-memory fields mirror what the last committed transaction made
 *      durable; they change only after COMMIT returned SQLITE_DONE. A
 *      compaction commits without its own fsync (lazy): it becomes durable
 *      with the next write's, and a crash before that may undo it, leaving
 *      raft.db longer than the memory said, never shorter, never torn.
 *  L4. After any failed write the handle is `failed` for good (fail-stop,
 *      DESIGN.md safety rule 7).
 */
#ifndef PERSIST_LOG_IMPL_H
#define PERSIST_LOG_IMPL_H

#include <stdbool.h>

#include "persist/internal.h"
#include "persist/log.h"

#define LOG_FILE           "raft.db"
#define LOG_FORMAT_VERSION 1

/* Row checksum domains, so a hard-state row can never pass as a snapshot row. */
#define LOG_TAG_HARDSTATE 'H'
#define LOG_TAG_SNAPSHOT  'S'
#define LOG_TAG_CONFIG    'C'

struct persist_log {
	sqlite3 *db;
	char path[PERSIST_PATH_MAX]; /* for messages */
	bool failed;
	struct persist_hardstate hs;
	uint64_t snap_index;
	uint64_t snap_term;
	uint64_t first; /* see L1 */
	uint64_t last;
	int wal_pages; /* after the last commit, once watched */
	struct {
		sqlite3_stmt *begin, *begin_read, *commit, *rollback;
		sqlite3_stmt *sync_lazy, *sync_full; /* synchronous=NORMAL / FULL */
		sqlite3_stmt *put_hardstate, *put_snapshot, *put_config;
		sqlite3_stmt *insert, *truncate, *delete_upto, *delete_all, *term_at;
		sqlite3_stmt *read_size, *read_rows;
		sqlite3_stmt *get_hardstate, *get_snapshot, *get_config;
	} stmt;
};

/* CRC32C of an entry over index, term, type, length and payload. */
uint32_t persist_log_entry_crc(const struct persist_entry *e);

/* CRC32C of a small row: tag, a, b and an optional payload. */
uint32_t persist_log_row_crc(char tag, uint64_t a, uint64_t b, const void *data, size_t len);

/* Reads the hard state, snapshot and configuration rows into log and s,
 * verifying their checksums (log_read.c). */
int persist_log_load_meta(struct persist_log *log, struct persist_log_state *s,
                          struct persist_error *err);

#endif /* PERSIST_LOG_IMPL_H */
