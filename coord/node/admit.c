/* admit.c: the admission rule of admit.h, as a table of cases. */
#include "admit.h"

#include <stddef.h>
#include <string.h>

/* An empty server listed with ROLE by a side that is SEALING or not. */
static enum admit_verdict admit_empty(enum admit_role role, bool sealing,
                                      enum admit_verdict expected)
{
	if (role == ADMIT_ROLE_LEARNER)
		return expected;
	if (role == ADMIT_ROLE_VOTER)
		return sealing ? expected : ADMIT_LOST_DATA;
	return ADMIT_STRANGER;
}

/* A configuration binds a server to BOUND, and its folder is FOLDER. */
static bool admit_rebound(uint64_t bound, uint64_t folder)
{
	return bound != 0 && bound != folder;
}

enum admit_verdict admit_peer(const struct admit_side *self, const struct admit_side *peer)
{
	bool self_empty = self->cluster[0] == '\0';
	bool peer_empty = peer->cluster[0] == '\0';

	if (self_empty && peer_empty)
		return ADMIT_PROBE;
	if (!self_empty && !peer_empty && strcmp(self->cluster, peer->cluster) != 0)
		return ADMIT_OTHER;
	/* Either side's configuration binds the other to another folder. */
	if (admit_rebound(self->binds, peer->folder) || admit_rebound(peer->binds, self->folder))
		return ADMIT_LOST_DATA;
	if (self_empty) /* how the sender lists us, and whether it seals */
		return admit_empty(peer->lists, peer->sealing, ADMIT_ADOPT);
	if (peer_empty) /* how we list the sender, and whether we seal */
		return admit_empty(self->lists, self->sealing, ADMIT_NEWCOMER);
	/* A joining server has no configuration until its leader sends one; a
	 * lagging one learns of newer members from them. */
	if (self->lists == ADMIT_ROLE_NONE && self->configured &&
	    self->conf_index >= peer->conf_index)
		return ADMIT_STRANGER;
	/* The sender's folder changed since we last admitted it, and our
	 * configuration binds it to none (a bound one is the folder checked
	 * above): a voter (restored, or of older data) lost its data; a learner
	 * starts its progress over. */
	if (self->binds == 0 && self->seen != 0 && self->seen != peer->folder)
		return self->lists == ADMIT_ROLE_VOTER ? ADMIT_LOST_DATA : ADMIT_NEWCOMER;
	return ADMIT_OK;
}

bool admit_talks(enum admit_verdict v)
{
	return v == ADMIT_OK || v == ADMIT_ADOPT || v == ADMIT_NEWCOMER;
}

const char *admit_verdict_name(enum admit_verdict v)
{
	static const char *const names[] = {
	    [ADMIT_OK] = "ok",
	    [ADMIT_ADOPT] = "adopt",
	    [ADMIT_NEWCOMER] = "newcomer",
	    [ADMIT_PROBE] = "probe",
	    [ADMIT_OTHER] = "other_cluster",
	    [ADMIT_LOST_DATA] = "lost_data",
	    [ADMIT_STRANGER] = "stranger",
	};
	return (unsigned)v < sizeof(names) / sizeof(names[0]) && names[v] ? names[v] : "unknown";
}
