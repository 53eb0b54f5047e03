/* admit.h: which peers a node lets speak Raft to it (DESIGN.md rule 13).
 *
 * A cluster gets a random id when it is founded; every data folder that
 * joins it keeps that id. Each peer connection opens with a HELLO saying
 * which cluster the sender's data folder belongs to ("" while it has none),
 * whether the sender is a founder still sealing its cluster, and how the
 * sender's configuration lists the receiver. The receiver decides with admit_peer(), a pure
 * function, before it believes anything else on that connection.
 *
 * The rule it enforces: a server's Raft state (its votes, the entries it
 * acknowledged) lives in its data folder. A server that lost its folder and
 * came back empty under the same id could vote twice in one term or forget
 * entries a majority counted on, so it is never admitted as the member it
 * was. An empty server is admitted only as what it can safely be:
 *  - a learner the configuration expects (added through the members API
 *    and started with --join): it holds nothing anyone counted on;
 *  - a founding voter, by the founder only, while it seals the cluster:
 *    before any Raft message is sent, the founder waits until every
 *    founding voter has taken the cluster id durably (node_join.h). No
 *    vote and no entry exist before the seal, so an empty founding voter
 *    holds nothing anyone counted on; after it, an empty voter is always
 *    one that lost its data.
 * A voter is also bound to its data folder: every folder gets a random
 * folder id when it is created, and the configuration binds each voter's id
 * to the folder it had when it became one (founding, promotion). A server
 * whose folder is not the bound one is refused as lost data, even once it
 * holds the cluster id: a wiped learner or ex-learner could have taken the
 * id from a stale member that still lists it as a learner, and would
 * otherwise pass for the voter it became. A learner is not bound; when its
 * folder changes the receiver starts its progress over (NEWCOMER), since
 * nothing it acknowledged before is on its disk.
 * Servers of different clusters never talk, and a server never admits one
 * its configuration does not list (a removed server cannot disrupt it),
 * unless the sender's configuration is newer than its own (the receiver
 * lags behind the entry that added the sender: refusing would keep it
 * behind for good, its leader included) or the receiver has none yet (a
 * joining server hearing from its leader).
 */
#ifndef COORD_ADMIT_H
#define COORD_ADMIT_H

#include <stdbool.h>
#include <stdint.h>

enum admit_role { ADMIT_ROLE_NONE = 0, ADMIT_ROLE_LEARNER = 1, ADMIT_ROLE_VOTER = 2 };

/* One side of a connection, as its HELLO (or the node itself) tells it. */
struct admit_side {
	const char *cluster;   /* "" while the data folder belongs to no cluster */
	uint64_t folder;       /* its data folder's id (never 0) */
	uint64_t binds;        /* the folder its configuration binds the other side
	                        * to, 0 if none (a learner, or not listed) */
	uint64_t seen;         /* the receiver only: the folder it last admitted
	                        * under the sender's id since it started, 0 if none */
	bool sealing;          /* a founder whose founding voters may still take the id */
	enum admit_role lists; /* how its configuration lists the other side */
	bool configured;       /* it holds a configuration (a log or a snapshot) */
	uint64_t conf_index;   /* the log index its configuration is as of */
};

enum admit_verdict {
	ADMIT_OK,        /* same cluster, listed: talk */
	ADMIT_ADOPT,     /* the receiver is empty and expected: it takes the
	                  * sender's cluster id durably, then talks */
	ADMIT_NEWCOMER,  /* the sender is empty and expected: talk, and its
	                  * progress starts over (raft_peer_reset) */
	ADMIT_PROBE,     /* both empty: only HELLOs (a founder counts them) */
	ADMIT_OTHER,     /* refused: another cluster */
	ADMIT_LOST_DATA, /* refused: an empty server the cluster knows as a
	                  * founded voter, or a folder other than the one bound
	                  * to its id: its data folder was lost */
	ADMIT_STRANGER   /* refused: not in the configuration */
};

/* What SELF (the receiver) does with a HELLO from PEER. */
enum admit_verdict admit_peer(const struct admit_side *self, const struct admit_side *peer);

/* True for the verdicts after which the connection carries Raft frames. */
bool admit_talks(enum admit_verdict v);

/* A short name of V, for logs and metrics labels. */
const char *admit_verdict_name(enum admit_verdict v);

#endif
