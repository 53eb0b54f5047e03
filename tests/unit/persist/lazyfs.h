/* tests/unit/persist/lazyfs.h: power loss for SQLite files, in the spirit of
 * LazyFS (reliability S9): the page cache is lost, only what was fsynced
 * survives.
 *
 * lazyfs_register() makes a wrapping VFS the process's default. It writes
 * through to the real files, but first appends the pre-image of every write
 * (and truncation) of a database or WAL file to "<file>.undo", and empties
 * that log when SQLite syncs the file. lazyfs_power_loss() run afterwards,
 * in another process, on the folder of a killed one, undoes every unsynced
 * change: each file is left as it was at its last sync, as after a power
 * cut. Torn sector writes and unsynced directory entries are not modelled.
 * Connections of several threads may share a file: each undo record is
 * one append. A sync that overlaps another connection's write may count
 * that write as synced (a test then misses a loss; it never invents one). */
#ifndef PERSIST_TEST_LAZYFS_H
#define PERSIST_TEST_LAZYFS_H

/* Registers the VFS as default; idempotent. Returns 0 (SQLITE_OK) or an
 * SQLite error code. */
int lazyfs_register(void);

/* From then on, a sync for which LYING() answers non-zero reports success
 * and syncs nothing (a disk that lies): a power loss undoes every write
 * since the last true sync. For showing that a durability check has
 * teeth. NULL: every sync is true. */
void lazyfs_set_lying(int (*lying)(void));

/* Rolls every file in folder back to its last sync, removes the undo logs
 * and SQLite's -shm files. Returns how many unsynced writes were undone. */
long lazyfs_power_loss(const char *folder);

#endif /* PERSIST_TEST_LAZYFS_H */
