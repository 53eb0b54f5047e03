/* restore.h: coordd --restore FILE (API.md, "coordd"): seeds an empty data
 * folder from a snapshot file as a member of a NEW cluster whose voters
 * --cluster names, then exits; the node is started on the folder as usual.
 *
 * Every member of the new cluster restores the same file with the same
 * --cluster, and gets the same folder: the snapshot (with the new
 * configuration recorded in it), raft.db based at the snapshot, state.db
 * restored from it, and a cluster id derived from both (restore.c lists the
 * rules). Nothing is written before every check passed, and a refusal leaves
 * the --data folder as it was.
 */
#ifndef COORD_NODE_RESTORE_H
#define COORD_NODE_RESTORE_H

#include <stdint.h>

#include "config.h"

#define COORD_RESTORE_ID_HEX 32 /* hex digits of a cluster id, as node_join.h draws */

/* The new cluster's id for a snapshot file whose content has CRC32C crc and
 * size bytes, at (index, term), restored with cfg's members: the same
 * whatever the order --cluster lists them in. Pure. */
void coord_restore_cluster_id(uint32_t crc, uint64_t size, uint64_t index, uint64_t term,
                              const struct coord_config *cfg, char out[COORD_RESTORE_ID_HEX + 1]);

/* Restores cfg->restore into cfg->data for the members cfg names. Needs:
 * cfg parsed (--restore with --cluster). Prints one line: on stdout what
 * was restored, or on stderr why nothing was. Returns 0 or -1. */
int coord_restore_run(const struct coord_config *cfg);

#endif
