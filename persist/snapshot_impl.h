/* persist/snapshot_impl.h: private to snapshot*.c. */
#ifndef PERSIST_SNAPSHOT_IMPL_H
#define PERSIST_SNAPSHOT_IMPL_H

#include "persist/snapshot.h"
#include "persist/state_impl.h"

#define SNAPSHOT_PREFIX     "snap-"
#define SNAPSHOT_SUFFIX     ".db"
#define SNAPSHOT_TMP_SUFFIX ".tmp"

/* Writes the final path of snapshot m, snap-<index>-<term>-<crc>.db, into
 * buf of PERSIST_PATH_MAX bytes. The name carries the CRC32C of the content,
 * so that a file is checked against it at every start; the rename that gives
 * it the name is atomic with the content (reliability P10). */
int persist_snapshot_path(const struct persist_dir *dir, const struct persist_snapshot_meta *m,
                          char *buf, struct persist_error *err);

/* Writes the temporary path snap-<index>-<term><suffix> into buf. */
int persist_snapshot_tmp_path(const struct persist_dir *dir, uint64_t index, uint64_t term,
                              const char *suffix, char *buf, struct persist_error *err);

/* CRC32C and size of the file at path. */
int persist_snapshot_file_crc(const char *path, uint64_t *size, uint32_t *crc,
                              struct persist_error *err);

/* Checks the snapshot file at path: its CRC32C is crc, it is a sound
 * database, and its persist_snapshot row and applied index say (index,
 * term); fills *out with size, CRC and a copy of its configuration. */
int persist_snapshot_inspect(const char *path, uint64_t index, uint64_t term, uint32_t crc,
                             struct persist_snapshot_meta *out, struct persist_error *err);

#endif /* PERSIST_SNAPSHOT_IMPL_H */
