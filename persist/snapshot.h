/* persist/snapshot.h: snapshots of state.db: create, read, receive, restore.
 *
 * A snapshot is a complete SQLite database file, a copy of state.db as of its
 * applied index, named snap-<index>-<term>-<crc>.db in the data folder, where
 * crc is the CRC32C of the whole file, checked whenever the file is found. It
 * carries its own metadata (index, term and the membership configuration) in
 * table persist_snapshot, so a received file is self-describing; its size and
 * CRC32C travel beside it so a receiver can check what arrived.
 *
 * Every snapshot file in the folder is durable: it is written under a
 * temporary name, fsynced, renamed and the folder fsynced (reliability P10).
 * The log may be compacted behind a snapshot only after that.
 *
 * All calls here run on the node loop, the owner of the state handle, except
 * persist_snapshot_job_run(), which runs on any one thread at a time.
 */
#ifndef PERSIST_SNAPSHOT_H
#define PERSIST_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "persist/dir.h"
#include "persist/error.h"
#include "persist/state.h"

#define PERSIST_SNAPSHOT_CHUNK_MAX (1u << 20)   /* bytes per read or received chunk */
#define PERSIST_SNAPSHOT_SIZE_MAX  (1ull << 34) /* bytes of one snapshot file */

struct persist_snapshot_meta {
	uint64_t index; /* last entry the snapshot covers */
	uint64_t term;  /* that entry's term */
	uint64_t size;  /* bytes of the file */
	uint32_t crc;   /* CRC32C of the whole file */
	void *config;   /* owned; free with persist_snapshot_meta_free() */
	size_t config_len;
};

/* Writes a durable snapshot of st at its applied index with the given
 * membership configuration (copied; len <= PERSIST_CONFIG_MAX). Needs: at
 * least one entry applied. Returns 0 and *out (free with
 * persist_snapshot_meta_free()), or PERSIST_ELIMIT, PERSIST_EIO (fatal). */
int persist_snapshot_create(struct persist_state *st, const void *config, size_t config_len,
                            struct persist_snapshot_meta *out, struct persist_error *err);

/* Making a snapshot without holding up the loop, in three steps:
 *
 *   begin (loop)  pins state.db as of its applied index: a reader handle in
 *                 its own read transaction (WAL keeps that view while the
 *                 writer goes on applying). Cheap.
 *   run (any one  copies the pinned view into a durable snapshot file (as
 *   thread)       persist_snapshot_create() does) and checks it. Touches
 *                 nothing of st; the writer may apply meanwhile.
 *   take, free    (loop) hand over the result and release the view.
 *
 * While a job is open, call persist_snapshot_prune() only without
 * temporaries (they include the job's file), and close the job before
 * persist_state_close().
 * A cancelled job (persist_snapshot_job_cancel(), any thread) ends its run
 * within one step of the copy with PERSIST_ECANCELED and leaves no file. */
struct persist_snapshot_job;

/* Returns 0 and *out, or PERSIST_ELIMIT, PERSIST_EFAILED, PERSIST_ENOMEM,
 * PERSIST_EIO (fatal). Needs: at least one entry applied. */
int persist_snapshot_job_begin(struct persist_state *st, const void *config, size_t config_len,
                               struct persist_snapshot_job **out, struct persist_error *err);

/* Returns 0 (the snapshot is durable under its final name),
 * PERSIST_ECANCELED, or PERSIST_EIO (fatal). Call once. */
int persist_snapshot_job_run(struct persist_snapshot_job *job, struct persist_error *err);

/* Asks a running job to stop; safe from any thread, at any time. */
void persist_snapshot_job_cancel(struct persist_snapshot_job *job);

/* After run: moves the made snapshot into *out (free it with
 * persist_snapshot_meta_free()) and returns run's result. */
int persist_snapshot_job_take(struct persist_snapshot_job *job, struct persist_snapshot_meta *out);

/* Releases the job's view and memory; job may be NULL. */
void persist_snapshot_job_free(struct persist_snapshot_job *job);

/* Finds the newest snapshot in dir and checks it (CRC of every byte against
 * the name, database check, recorded index and term against the name).
 * Returns 0 and *out (free
 * with persist_snapshot_meta_free()), PERSIST_ENOENT if there is none, or
 * PERSIST_ECORRUPT (refuse to start), PERSIST_EIO. */
int persist_snapshot_latest(struct persist_dir *dir, struct persist_snapshot_meta *out,
                            struct persist_error *err);

/* Opens the snapshot m for reading: 0 with *fd (the caller closes it; the
 * file stays readable through it if it is pruned meanwhile), PERSIST_ENOENT
 * (pruned), PERSIST_EIO. */
int persist_snapshot_open(struct persist_dir *dir, const struct persist_snapshot_meta *m, int *fd,
                          struct persist_error *err);

/* Reads up to len (<= PERSIST_SNAPSHOT_CHUNK_MAX) bytes at offset of the
 * snapshot m into buf, for sending; *got is 0 at the end of the file.
 * Returns 0, PERSIST_ENOENT (pruned meanwhile), PERSIST_EIO. */
int persist_snapshot_read(struct persist_dir *dir, const struct persist_snapshot_meta *m,
                          uint64_t offset, void *buf, size_t len, size_t *got,
                          struct persist_error *err);

/* Deletes every snapshot older than keep_index and, with temporaries, any
 * unfinished temporary file (so only when no snapshot is being made or
 * received: at start). Keep the newest snapshot: persist_state_open() may
 * need it. Touches only files, so it may run on any thread while the node
 * goes on, as long as nothing reads the old snapshots it removes. Returns 0
 * or PERSIST_EIO. */
int persist_snapshot_prune(struct persist_dir *dir, uint64_t keep_index, bool temporaries,
                           struct persist_error *err);

/* Replaces state.db's contents with snapshot m (in one transaction) and
 * makes it durable. Refuses (PERSIST_ESTALE) an index at or below the
 * applied index: state never goes back. Returns 0, PERSIST_ESTALE,
 * PERSIST_ECORRUPT, PERSIST_EIO (fatal). */
int persist_snapshot_restore(struct persist_state *st, const struct persist_snapshot_meta *m,
                             struct persist_error *err);

/* Checks the snapshot file at path on its own, outside any data folder (a
 * copy an operator saved): it is a sound database whose metadata records
 * an index and term, with the applied index equal to that index. A file's
 * CRC32C is recorded only in the name the data folder gives it
 * (snap-<index>-<term>-<crc>.db), so it is checked (and the name's index
 * and term too) only when path's last component still has that form: then
 * *crc_checked is true. Read-only. Returns 0 and *out (size, CRC32C of the
 * content, index, term, configuration; free with
 * persist_snapshot_meta_free()), PERSIST_ECORRUPT (not a snapshot, or it
 * fails a check), PERSIST_ENOENT (no such file), PERSIST_EIO, or
 * PERSIST_ENOMEM. */
int persist_snapshot_check_file(const char *path, struct persist_snapshot_meta *out,
                                bool *crc_checked, struct persist_error *err);

/* Copies the snapshot file at path (check it first with
 * persist_snapshot_check_file()) into dir as a durable snapshot, as
 * persist_snapshot_create() writes one: its index and term are the file's
 * applied ones, its recorded configuration is config (copied; len <=
 * PERSIST_CONFIG_MAX) instead of the file's, and its name carries the new
 * CRC32C. For a restore into a new data folder: persist_state_open() then
 * restores state.db from it. Reads path only. Returns 0 and *out (free with
 * persist_snapshot_meta_free()), PERSIST_ECORRUPT (path is not a snapshot,
 * or the copy fails its check: dir may then hold that copy, so discard
 * dir), PERSIST_ELIMIT, PERSIST_ENOMEM, PERSIST_EIO. */
int persist_snapshot_import(struct persist_dir *dir, const char *path, const void *config,
                            size_t config_len, struct persist_snapshot_meta *out,
                            struct persist_error *err);

/* Frees what a meta owns; m may be zeroed. */
void persist_snapshot_meta_free(struct persist_snapshot_meta *m);

/* Receiving a snapshot in chunks (InstallSnapshot). */
struct persist_snapshot_recv;

/* Starts receiving snapshot (index, term) of size bytes and CRC32C crc into a
 * temporary file. Returns 0 and *out (finish or abort it), PERSIST_ESTALE if
 * index <= the applied index, PERSIST_ELIMIT, PERSIST_EIO. */
int persist_snapshot_recv_begin(struct persist_state *st, uint64_t index, uint64_t term,
                                uint64_t size, uint32_t crc, struct persist_snapshot_recv **out,
                                struct persist_error *err);

/* Writes the chunk at offset. Chunks must arrive in order: offset must equal
 * the bytes received so far, and the total must stay within size. Returns 0,
 * PERSIST_EINVAL (out of order or too long: abort), PERSIST_EIO. */
int persist_snapshot_recv_chunk(struct persist_snapshot_recv *r, uint64_t offset, const void *data,
                                size_t len, struct persist_error *err);

/* Checks size and CRC, makes the file durable under its final name, checks
 * it as a database, and restores state.db from it. Always frees r. Returns 0
 * and *out (free with persist_snapshot_meta_free(); its config is the one
 * inside the snapshot), PERSIST_ECORRUPT (nothing installed), PERSIST_ESTALE,
 * PERSIST_EIO (fatal). The caller then calls persist_log_reset() or
 * persist_log_compact() so raft.db agrees. */
int persist_snapshot_recv_finish(struct persist_snapshot_recv *r, struct persist_snapshot_meta *out,
                                 struct persist_error *err);

/* Restart after a crash between persist_snapshot_recv_finish() and the
 * persist_log_reset()/persist_log_compact() that should follow it: state.db
 * is then ahead of raft.db's snapshot index (persist_state_applied_index() >
 * persist_log_snap_index()). The node finishes the step at start: compact if
 * the log holds the snapshot's entry with its term, else reset. */

/* Abandons r and removes its temporary file; r may be NULL. */
void persist_snapshot_recv_abort(struct persist_snapshot_recv *r);

#endif /* PERSIST_SNAPSHOT_H */
