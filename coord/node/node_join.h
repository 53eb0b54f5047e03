/* node_join.h: how this node's data folder comes to belong to a cluster, and
 * which peers it admits (admit.h; DESIGN.md rule 13, "Founding and joining").
 *
 * A data folder belongs to a cluster once it holds the cluster's id (the file
 * CLUSTER_ID_FILE, written durably before any Raft message is read). A node
 * whose folder is empty waits, with an inert core and no cluster id:
 *  - the founder (the only node, or the lowest id --cluster names) founds the
 *    cluster once every other node --cluster names has said HELLO with an
 *    empty folder of its own: node.c writes the founding configuration, then a
 *    new random cluster id (node_join_new_id). It then seals: its core stays
 *    inert, so no Raft message exists, until every other founding voter has
 *    said HELLO with the id (each took it durably); then it writes
 *    CLUSTER_SEALED_FILE and starts its core. Before the seal, and only the
 *    founder, admits an empty founding voter; after it, an empty voter is
 *    always one that lost its data (admit.h);
 *  - any other node (--cluster, or --join) takes the id from the first HELLO
 *    of a cluster that expects it (ADMIT_ADOPT): a founding voter, or a
 *    learner the members API added.
 * A folder that lost its data is refused by the cluster it belonged to and
 * says so, loudly, with what to do.
 */
#ifndef COORD_NODE_JOIN_H
#define COORD_NODE_JOIN_H

#include <stdbool.h>
#include <stdint.h>

#include "node_internal.h"

#define CLUSTER_ID_FILE        "cluster-id"
#define FOLDER_ID_FILE         "folder-id"      /* this data folder's random id (admit.h) */
#define CLUSTER_SEALED_FILE    "cluster-sealed" /* the founder's: every founder has the id */
#define NODE_JOIN_ID_BYTES     16               /* random bytes of a cluster id (32 hex digits) */
#define NODE_JOIN_LOG_EVERY_MS 10000            /* a refused peer is logged again after this */

/* Writes TEXT and a newline as file NAME of folder DIR durably: a temporary
 * file, fsynced, renamed over the name, and the folder fsynced, so a crash
 * leaves the old state or the new one. Returns 0, or -1 with errno. */
int node_join_write_file(const char *dir, const char *name, const char *text);

/* Loads the folder's cluster id into n->cluster_id ("" when it has none).
 * Returns -1 (logged) when the file is unreadable. */
int node_join_load_id(struct node *n);

/* Loads the data folder's id into n->folder_id; a folder without one (new,
 * wiped, or written by an older version) gets a new random id, durably,
 * before any HELLO says it. Returns 0 or -1 (logged). */
int node_join_load_folder(struct node *n);

#define NODE_FOLDER_HEX 16 /* hex digits of a folder id */

/* Writes FOLDER as NODE_FOLDER_HEX lowercase hex digits and a NUL into OUT:
 * how folder-id, the logs and the API show it. */
void node_folder_hex(uint64_t folder, char out[NODE_FOLDER_HEX + 1]);

/* The data folder peer ID said HELLO from when last admitted, or 0. */
uint64_t node_join_peer_folder(const struct node *n, uint64_t id);

/* The folder of founding voter ID as the founder bound it: its own, or the
 * one ID probed from (0 if it never did). */
uint64_t node_join_founding_folder(const struct node *n, uint64_t id);

/* Makes a new random cluster id and writes it durably. Returns 0 or -1 (logged). */
int node_join_new_id(struct node *n);

/* True while this empty node is the founder and waits for its peers. */
bool node_join_founding(const struct node *n);
/* True once every other node --cluster names said HELLO with an empty
 * folder (ADMIT_PROBE), so that no data of an older cluster is founded over. */
bool node_join_probed_all(const struct node *n);

/* True while this founder seals, and once every other node --cluster names
 * said HELLO with the cluster id. */
bool node_join_sealing(const struct node *n);
bool node_join_adopted_all(const struct node *n);
/* Writes CLUSTER_SEALED_FILE durably (0, or -1 logged); whether it exists. */
int node_join_seal(struct node *n);
bool node_join_sealed(const struct node *n);

/* True when ID stands otherwise in AFTER than in BEFORE: listed in another
 * role, or bound to another folder. A peer admitted under BEFORE must say
 * HELLO again (transport_redial()): admission is decided by the
 * configuration's view of the peer, and that view changed. */
bool node_join_standing_changed(const struct raft_conf *before, const struct raft_conf *after,
                                uint64_t id);

/* The transport's HELLO callbacks (transport.h). */
bool node_join_hello(void *ctx, const struct transport_hello *h);
void node_join_hello_fill(void *ctx, uint64_t to, struct transport_hello *h);

#endif
