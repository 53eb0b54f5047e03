/* persist/snapshot_impl.h: private to snapshot*.c. */
#ifndef PERSIST_SNAPSHOT_IMPL_H
#define PERSIST_SNAPSHOT_IMPL_H

#include "persist/snapshot.h"
#include "persist/state_impl.h"

#define SNAPSHOT_PREFIX     "snap-"
#define SNAPSHOT_SUFFIX     ".db"
#define SNAPSHOT_TMP_SUFFIX ".tmp"

/* Writes the path of snapshot (index, term), plus suffix (may be ""), into
 * buf of PERSIST_PATH_MAX bytes. */
int persist_snapshot_path(const struct persist_dir *dir, uint64_t index, uint64_t term,
                          const char *suffix, char *buf, struct persist_error *err);

/* Checks the snapshot file at path: a sound database whose persist_snapshot
 * row and applied index say (index, term); fills *out with its size, CRC (if
 * with_crc) and a copy of its configuration. */
int persist_snapshot_inspect(const char *path, uint64_t index, uint64_t term, int with_crc,
                             struct persist_snapshot_meta *out, struct persist_error *err);

#endif /* PERSIST_SNAPSHOT_IMPL_H */
