/* persist/log.h: raft.db, the durable Raft log and hard state.
 *
 * raft.db holds the hard state (term, vote), the log entries, the metadata of
 * the snapshot the log was compacted behind, and the membership configuration
 * (an opaque blob). It runs in WAL mode with synchronous=FULL: a call that
 * returns 0 has fsynced what it wrote, and only then may the node act on it
 * (DESIGN.md safety rules 1 and 2: no vote, vote request or acknowledgement
 * leaves before the state it depends on is durable).
 *
 * Every entry, the hard state, the snapshot metadata and the configuration
 * carry a CRC32C, verified whenever they are read; a mismatch is reported as
 * PERSIST_ECORRUPT with the index of the damaged entry.
 *
 * One thread (the node loop) owns a struct persist_log. Any PERSIST_EIO is
 * fatal: see persist/error.h.
 */
#ifndef PERSIST_LOG_H
#define PERSIST_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "persist/dir.h"
#include "persist/error.h"

#define PERSIST_ENTRY_DATA_MAX (1u << 20)  /* bytes of one entry's payload */
#define PERSIST_BATCH_MAX      4096        /* entries in one persist_log_write() */
#define PERSIST_CONFIG_MAX     (64u << 10) /* bytes of the membership configuration */
#define PERSIST_LOAD_MAX       (1u << 20)  /* entries returned by one read or load */
#define PERSIST_LOAD_BYTES_MAX (1u << 30)  /* payload bytes returned by one read or load */

/* One log entry. data is borrowed: persist copies what it stores. */
struct persist_entry {
	uint64_t index;
	uint64_t term;
	uint8_t type;
	const void *data; /* may be NULL when len is 0 */
	size_t len;
};

/* Term and vote: always written together (DESIGN.md safety rule 1). */
struct persist_hardstate {
	uint64_t term;
	uint64_t vote; /* 0 = no vote in this term */
};

/* The membership configuration in force as of log index `index`. */
struct persist_config {
	uint64_t index;
	const void *data;
	size_t len;
};

/* Entries read back from the log; free with persist_entries_free(). Every
 * data pointer points into memory owned by this struct. */
struct persist_entries {
	struct persist_entry *v;
	size_t n;
	unsigned char *arena;
};

/* What raft.db held at open: everything the Raft core needs to restart. */
struct persist_log_state {
	struct persist_hardstate hardstate; /* {0, 0} on a fresh log */
	uint64_t snap_index;                /* 0: the log was never compacted */
	uint64_t snap_term;
	struct persist_config config;   /* {0, NULL, 0} if never written */
	struct persist_entries entries; /* every stored entry, ascending */
};

/* One group commit: everything the node must make durable for one Raft
 * ready, written in ONE transaction with one fsync. Applied in this order:
 * hard state, truncation, configuration, entries. */
struct persist_write {
	const struct persist_hardstate *hardstate; /* NULL: unchanged */
	uint64_t truncate_from;                    /* 0: none; else drop entries >= it */
	const struct persist_config *config;       /* NULL: unchanged */
	const struct persist_entry *entries;       /* borrowed for the call */
	size_t n_entries;                          /* <= PERSIST_BATCH_MAX */
};

struct persist_log;

/* Opens (creating if new) raft.db in dir, checks the database, and loads and
 * verifies everything in it into *loaded.
 * Needs: dir open and locked. Returns 0 with *out (close with
 * persist_log_close()) and *loaded (free with persist_log_state_free()), or
 * PERSIST_ECORRUPT (one line in err naming the damage: the node must refuse
 * to start), PERSIST_ELIMIT, PERSIST_ENOMEM, PERSIST_EIO. */
int persist_log_open(struct persist_dir *dir, struct persist_log **out,
                     struct persist_log_state *loaded, struct persist_error *err);

/* Closes log; log may be NULL. */
void persist_log_close(struct persist_log *log);

/* Frees what persist_log_open() loaded; s may be zeroed or already freed. */
void persist_log_state_free(struct persist_log_state *s);

/* Makes w durable in one transaction. Programmer errors (asserted): entries
 * not contiguous, not starting right after the log's last index (after the
 * truncation, if any), or a truncation at or below the snapshot index (a
 * compacted prefix is never a conflict). An empty w costs nothing. Returns 0
 * only after the fsync, or PERSIST_ELIMIT (nothing written), PERSIST_EIO
 * (fatal; nothing may be assumed durable), PERSIST_EFAILED. */
int persist_log_write(struct persist_log *log, const struct persist_write *w,
                      struct persist_error *err);

/* Reads up to max_n entries from index `from` on, verifying each checksum.
 * Returns 0 with *out (free with persist_entries_free(); n may be 0), or
 * PERSIST_ECORRUPT, PERSIST_ELIMIT (more than PERSIST_LOAD_BYTES_MAX bytes),
 * PERSIST_ENOMEM, PERSIST_EIO. */
int persist_log_read(struct persist_log *log, uint64_t from, size_t max_n,
                     struct persist_entries *out, struct persist_error *err);

void persist_entries_free(struct persist_entries *e);

/* As persist_state_watch_wal() and its two companions (state.h), for
 * raft.db: its checkpoints then leave the writer's fsynced commits. */
void persist_log_watch_wal(struct persist_log *log);
int persist_log_wal_pages(const struct persist_log *log);
int persist_log_checkpoint(struct persist_dir *dir, struct persist_error *err);
int persist_log_checkpoint_tail(struct persist_log *log, struct persist_error *err);

/* Records that a durable snapshot covers the log up to snap_index (whose
 * entry has term snap_term), with config (NULL: unchanged) the
 * configuration as of it, and deletes the entries up to
 * snap_index - keep_tail, keeping a tail for slow followers. Needs:
 * snap_index <= last index. The caller must have made the snapshot durable
 * first (persist/snapshot.h). The transaction is lazy (log_impl.h, L3): no
 * fsync of its own, so the loop does not wait on the disk for it; the next
 * persist_log_write() makes it durable, and a crash before that leaves the
 * entries in place, which the snapshot file covers anyway. Returns 0,
 * PERSIST_ESTALE if snap_index is below the recorded one (snapshots never
 * go backwards), PERSIST_ELIMIT, PERSIST_EIO. */
int persist_log_compact(struct persist_log *log, uint64_t snap_index, uint64_t snap_term,
                        uint64_t keep_tail, const struct persist_config *config,
                        struct persist_error *err);

/* After installing a snapshot received from the leader: deletes every entry
 * and records (snap_index, snap_term) and config, in one transaction. The
 * next entry written must be snap_index + 1. Returns 0, PERSIST_ESTALE if
 * snap_index is below the recorded one, PERSIST_ELIMIT, PERSIST_EIO. */
int persist_log_reset(struct persist_log *log, uint64_t snap_index, uint64_t snap_term,
                      const struct persist_config *config, struct persist_error *err);

/* Index of the first stored entry (snapshot index + 1 when none is). */
uint64_t persist_log_first_index(const struct persist_log *log);

/* Index of the last entry, or the snapshot index when the log is empty. */
uint64_t persist_log_last_index(const struct persist_log *log);

/* The durable hard state. */
struct persist_hardstate persist_log_hardstate(const struct persist_log *log);

/* The recorded snapshot index (0 if none). */
uint64_t persist_log_snap_index(const struct persist_log *log);

#endif /* PERSIST_LOG_H */
