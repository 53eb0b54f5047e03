/* persist/state.h: state.db, the state machine's database.
 *
 * The state machine (coord/) owns its own tables in state.db; persist owns
 * the table persist_meta (applied_index, applied_term) and persist_snapshot.
 * persist_state_apply() runs a batch of committed entries and records the new
 * applied index in ONE transaction (DESIGN.md safety rule 6; etcd #13766).
 *
 * WAL mode, synchronous=NORMAL: a crash may lose the latest applies but never
 * tears one; the node replays them from raft.db. If raft.db was compacted
 * past what state.db kept, persist_state_open() restores the newest snapshot
 * (which is always fsynced) before returning.
 *
 * The write handle belongs to one thread (the node loop). Other threads read
 * through their own handles from persist_state_open_reader().
 */
#ifndef PERSIST_STATE_H
#define PERSIST_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "persist/dir.h"
#include "persist/error.h"
#include "persist/log.h"

#define PERSIST_STATE_FILE "state.db"

/* Applies one committed entry with SQL on db, inside the batch transaction.
 * Returns 0, or non-zero to roll the whole batch back. Must not begin, commit
 * or roll back itself. */
typedef int (*persist_apply_fn)(void *ctx, sqlite3 *db, const struct persist_entry *e);

struct persist_state;

/* Opens (creating if new) state.db in dir and checks it; restores the newest
 * snapshot first if it is ahead of the applied index. Needs: dir open.
 * Returns 0 with *out (close with persist_state_close()), or
 * PERSIST_ECORRUPT (one line in err; refuse to start), PERSIST_ENOMEM,
 * PERSIST_EIO. */
int persist_state_open(struct persist_dir *dir, struct persist_state **out,
                       struct persist_error *err);

/* Closes st; st may be NULL. Close every reader handle first. */
void persist_state_close(struct persist_state *st);

/* The write handle, borrowed until close, for the state machine's schema and
 * its reads on the node loop. Writes belong inside persist_state_apply(). */
sqlite3 *persist_state_db(struct persist_state *st);

/* The data folder st lives in; borrowed. */
struct persist_dir *persist_state_dir(struct persist_state *st);

/* Index and term of the last applied entry (0, 0 before any). */
uint64_t persist_state_applied_index(const struct persist_state *st);
uint64_t persist_state_applied_term(const struct persist_state *st);

/* Applies entries[0..n) in one transaction: fn once per entry in order, then
 * applied_index = entries[n-1].index. Needs (asserted): entries contiguous
 * from applied_index + 1, n <= PERSIST_BATCH_MAX. Returns 0, PERSIST_EAPPLY
 * (fn failed: nothing of the batch is applied; the caller decides whether to
 * stop), PERSIST_EIO (fatal, also when fn failed because SQLite could not
 * write), PERSIST_EFAILED. */
int persist_state_apply(struct persist_state *st, const struct persist_entry *entries, size_t n,
                        persist_apply_fn fn, void *ctx, struct persist_error *err);

/* Turns SQLite's checkpoint at commit off for st's handle: from then on
 * the owner checkpoints with persist_state_checkpoint() on any thread when
 * persist_state_wal_pages() (the WAL's size after the last commit) is
 * large, so no commit copies pages and fsyncs on the owner's thread. */
void persist_state_watch_wal(struct persist_state *st);
int persist_state_wal_pages(const struct persist_state *st);
/* A PASSIVE checkpoint of dir's state.db through a handle of its own; any
 * thread. Returns 0 (also when readers kept some pages back) or
 * PERSIST_EIO. */
int persist_state_checkpoint(struct persist_dir *dir, struct persist_error *err);
/* Then, on st's own thread: the rest since, which is little, so that the
 * WAL starts again from its head at the next commit. 0 or PERSIST_EIO. */
int persist_state_checkpoint_tail(struct persist_state *st, struct persist_error *err);

/* Opens a read-only handle on state.db for another thread (stale reads). It
 * sees every committed apply; the caller owns it and closes it with
 * sqlite3_close_v2() before persist_state_close(). Returns 0 or PERSIST_EIO. */
int persist_state_open_reader(struct persist_dir *dir, sqlite3 **out, struct persist_error *err);

/* A reader: such a handle with the statements of its read transactions, for
 * a thread that reads state.db again and again (stale reads on an HTTP
 * thread). Between begin and end every read through persist_state_reader_db()
 * sees one committed state, whose applied index begin returns: the state
 * and its index always match (rule 6). Used by one thread at a time; closed
 * before persist_state_close(). */
struct persist_state_reader;
/* Returns 0, PERSIST_EIO or PERSIST_ENOMEM. */
int persist_state_reader_open(struct persist_dir *dir, struct persist_state_reader **out,
                              struct persist_error *err);
sqlite3 *persist_state_reader_db(struct persist_state_reader *r);
/* Returns 0 with *APPLIED, or PERSIST_EIO (no transaction is left open). */
int persist_state_reader_begin(struct persist_state_reader *r, uint64_t *applied,
                               struct persist_error *err);
void persist_state_reader_end(struct persist_state_reader *r);
void persist_state_reader_close(struct persist_state_reader *r); /* NULL: no-op */

#endif /* PERSIST_STATE_H */
