/* coord_client.h: the state shared by the coord clients and keepers
 * (coord_client.c) and their commands and expiry check (coord_workload.c);
 * private to tests/sim. See coord_client.c for the model of time and the
 * expiry invariant. */
#ifndef COORD_SIM_COORD_CLIENT_H
#define COORD_SIM_COORD_CLIENT_H

#include "sim.h"
#include "sim_coord.h"

#define CC_ACKS        32  /* acknowledged keepalives remembered per session */
#define CC_LEASE_CAP   128 /* sessions one keeper tracks (>= SIM_COORD_SESSIONS) */
#define CC_OPEN_LIKE   300 /* per mille: open a session while below the goal */
#define CC_LIMITS_LIKE 10  /* per mille: a LIMITS entry with small limits */
#define CC_ABANDON     60  /* per mille per keepalive: the client stops sending them */

enum cc_state { CC_PROPOSED = 0, CC_LIVE, CC_ENDED };

struct cc_session {
	struct coord_session_id id;
	uint32_t ttl_ms;
	enum cc_state state;
	bool abandoned;
	uint64_t next_keepalive;
	uint64_t acks[CC_ACKS]; /* true send times of acknowledged keepalives (ring) */
	size_t n_acks;
};

struct cc_keeper {
	bool active, ready;
	uint64_t term;
	unsigned incarnation;
	uint64_t wake_for; /* lock-delay end a WAKE was proposed for */
	struct coord_lease lease;
};

struct cc_keepalive {
	uint64_t ctx, sent, index;
	int slot, session;
	unsigned incarnation;
	bool done;
};

struct cc_expiry {
	uint64_t index, term, proposed;
	int session;
};

struct sim_coord {
	struct cc_session s[SIM_COORD_SESSIONS];
	int n;
	struct cc_keeper k[SIM_MAX_SLOTS];
	struct cc_keepalive ka[SIM_COORD_KEEPALIVES];
	struct cc_expiry ex[SIM_COORD_EXPIRIES];
	size_t n_ex;
	uint64_t next_ctx;
	int pending_open; /* session of the command just made, or -1 */
};

static inline uint64_t cc_true_ms(const struct sim_world *w)
{
	return w->now * SIM_MS_PER_STEP;
}

static inline uint64_t cc_local_ms(const struct sim_node *n)
{
	return n->clock_pm / 1000;
}

static inline int cc_find(const struct sim_coord *c, const struct coord_session_id *id)
{
	for (int i = 0; i < c->n; i++) {
		if (coord_session_id_equal(&c->s[i].id, id))
			return i;
	}
	return -1;
}

static inline void cc_ack(struct cc_session *s, uint64_t sent)
{
	s->acks[s->n_acks % CC_ACKS] = sent;
	s->n_acks++;
}

/* The latest acknowledged keepalive sent at or before BEFORE, or 0. */
static inline uint64_t cc_last_ack(const struct cc_session *s, uint64_t before)
{
	uint64_t best = 0;
	size_t n = s->n_acks < CC_ACKS ? s->n_acks : CC_ACKS;

	for (size_t i = 0; i < n; i++) {
		if (s->acks[i] <= before && s->acks[i] > best)
			best = s->acks[i];
	}
	return best;
}

#endif
