/* persist/dir.h: the node's data folder, created private and locked.
 *
 * The folder holds raft.db, state.db, snapshots and LOCK. It is created with
 * mode 0700 and every file in it 0600. LOCK is flock()ed exclusively for as
 * long as the folder is open, so a second server pointed at the same folder
 * refuses to start instead of sharing (and corrupting) the log.
 */
#ifndef PERSIST_DIR_H
#define PERSIST_DIR_H

#include "persist/error.h"

/* Longest data-folder path, including file names inside it. */
#define PERSIST_PATH_MAX 1024

struct persist_dir;

/* Opens the data folder at path, creating it (0700) if missing, and takes its
 * lock. A folder that already exists has its mode forced to 0700.
 * Needs: path not NULL. Returns 0 and *out (caller closes with
 * persist_dir_close()), or PERSIST_ELOCKED if another process holds the
 * folder, PERSIST_ELIMIT if the path is too long, PERSIST_EIO otherwise. */
int persist_dir_open(const char *path, struct persist_dir **out, struct persist_error *err);

/* Releases the lock and frees d. Every database opened in d must be closed
 * first. d may be NULL. */
void persist_dir_close(struct persist_dir *d);

/* The folder's path as given to persist_dir_open(); borrowed until close. */
const char *persist_dir_path(const struct persist_dir *d);

#endif /* PERSIST_DIR_H */
