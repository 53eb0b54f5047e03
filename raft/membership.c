/* membership.c: membership changes by joint consensus (thesis 4.3), with new
 * servers joining as learners that neither vote nor count (4.2.1).
 *
 * A configuration takes effect as soon as its entry is in the log,
 * committed or not (thesis 4.1), so truncating a CONF entry reverts to the
 * previous one. At most one change is in flight, and only once the leader
 * has committed an entry of its term (DESIGN.md rule 10). The leader
 * appends C_new itself when C_old,new commits; a leader outside C_new steps
 * down when C_new commits (thesis 4.2.2), handing over to a caught-up voter.
 */
#include <assert.h>
#include <string.h>

#include "raft_private.h"

static bool membership_decode(const struct raft_entry *e, struct raft_conf *out)
{
	struct raft_conf c;

	if (e->type != RAFT_ENTRY_CONF || raft_conf_decode(e->data, e->len, &c) != RAFT_OK) {
		return false;
	}
	*out = c;
	return true;
}

void membership_refresh(struct raft *r)
{
	for (uint64_t i = log_last(&r->log); i > r->log.base; i--) {
		const struct raft_entry *e = log_at(&r->log, i);
		if (membership_decode(e, &r->conf)) {
			r->conf_index = i;
			goto done;
		}
	}
	r->conf = r->base_conf;
	r->conf_index = 0;
done:
	if (r->role == RAFT_LEADER) {
		progress_sync(r);
	}
}

void membership_on_append(struct raft *r, const struct raft_entry *e)
{
	if (!membership_decode(e, &r->conf)) {
		return; /* a malformed configuration is never put in force */
	}
	r->conf_index = e->index;
	if (r->role == RAFT_LEADER) {
		progress_sync(r);
	}
}

/* The log is compacted up to INDEX: keep the configuration as of INDEX. */
void membership_on_compact(struct raft *r, uint64_t index)
{
	for (uint64_t i = index; i > r->log.base; i--) {
		const struct raft_entry *e = log_at(&r->log, i);
		if (e != NULL && membership_decode(e, &r->base_conf)) {
			return;
		}
	}
}

bool membership_change_in_flight(const struct raft *r)
{
	return r->conf.joint || r->conf_index > r->hs.commit;
}

static int membership_propose(struct raft *r, const struct raft_conf *conf)
{
	uint8_t buf[RAFT_CONF_MAX_BYTES];
	size_t len = raft_conf_encode(conf, buf, sizeof(buf));
	int rv;

	if (len == 0) {
		return RAFT_EINVAL;
	}
	rv = replication_append_local(r, RAFT_ENTRY_CONF, buf, len);
	if (rv == RAFT_OK) {
		replication_broadcast_append(r, false);
	}
	return rv;
}

/* C_new of a joint configuration: the new voters and the learners that stay
 * learners; voters that were left out are gone. */
static void membership_new_half(const struct raft_conf *joint, struct raft_conf *out)
{
	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < joint->n; i++) {
		struct raft_server s = joint->servers[i];
		if (s.role != RAFT_VOTER && s.old_role == RAFT_VOTER) {
			continue;
		}
		s.old_role = s.role;
		out->servers[out->n++] = s;
	}
}

/* A leader that C_new leaves out steps down; first it tells the voter of
 * C_new that holds its whole log to campaign at once (TIMEOUT_NOW, as a
 * transfer does), so the cluster does not wait an election timeout for a
 * leader. Only an election follows, which is always safe; if the message
 * is lost, the timeout elects one as before. */
static void membership_hand_over(struct raft *r)
{
	for (uint32_t i = 0; i < r->n_prs; i++) {
		const struct raft_progress *pr = &r->prs[i];

		if (pr->id != r->cfg.id && core_is_voter(&r->conf, pr->id) &&
		    pr->match == log_last(&r->log)) {
			struct raft_msg m = {
			    .type = RAFT_MSG_TIMEOUT_NOW, .to = pr->id, .term = r->hs.term};

			step_send(r, &m);
			return;
		}
	}
}

void membership_on_commit(struct raft *r)
{
	struct raft_conf next;

	if (r->role != RAFT_LEADER || r->conf_index == 0 || r->conf_index > r->hs.commit) {
		return;
	}
	if (r->conf.joint) {
		membership_new_half(&r->conf, &next);
		if (membership_propose(r, &next) != RAFT_OK) {
			/* Out of memory: step down; the next leader finishes. */
			election_become_follower(r, r->hs.term, 0);
		}
		return;
	}
	if (!core_is_voter(&r->conf, r->cfg.id)) {
		membership_hand_over(r);
		election_become_follower(r, r->hs.term, 0);
	}
}

static int membership_check(const struct raft *r)
{
	if (r->role != RAFT_LEADER) {
		return RAFT_ENOTLEADER;
	}
	if (!r->leader_ready || membership_change_in_flight(r) || r->transfer_target != 0) {
		return RAFT_EBUSY;
	}
	return RAFT_OK;
}

int raft_add_learner(struct raft *r, uint64_t id, const char *addr)
{
	struct raft_conf next = r->conf;
	int rv;

	assert(!r->in_ready);
	rv = membership_check(r);
	if (rv != RAFT_OK) {
		return rv;
	}
	if (id == 0 || addr == NULL || strlen(addr) >= RAFT_ADDR_MAX ||
	    core_in_conf(&r->conf, id)) {
		return RAFT_EINVAL;
	}
	if (next.n >= RAFT_MAX_SERVERS) {
		return RAFT_EBUSY;
	}
	struct raft_server *s = &next.servers[next.n++];
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->role = RAFT_LEARNER;
	s->old_role = RAFT_LEARNER;
	strcpy(s->addr, addr);
	return membership_propose(r, &next);
}

/* The index of ID in VOTERS (N ids); N when it is not there. */
static size_t membership_find(const uint64_t *voters, size_t n, uint64_t id)
{
	size_t i = 0;

	while (i < n && voters[i] != id) {
		i++;
	}
	return i;
}

/* Every listed id is known and distinct; learners must have caught up with
 * the commit index so that promoting them does not stall commitment. */
static int membership_check_voters(struct raft *r, const uint64_t *voters, size_t n)
{
	if (n == 0 || n > RAFT_MAX_SERVERS) {
		return RAFT_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!core_in_conf(&r->conf, voters[i]) ||
		    membership_find(voters, i, voters[i]) < i) {
			return RAFT_EINVAL;
		}
		if (!core_is_voter(&r->conf, voters[i])) {
			const struct raft_progress *pr = progress_find(r, voters[i]);
			if (pr == NULL || pr->match < r->hs.commit) {
				return RAFT_ENOTCAUGHTUP;
			}
		}
	}
	return RAFT_OK;
}

int raft_change_voters(struct raft *r, const uint64_t *voters, const uint64_t *folders, size_t n)
{
	struct raft_conf joint = r->conf;
	int rv;

	assert(!r->in_ready);
	rv = membership_check(r);
	if (rv == RAFT_OK) {
		rv = membership_check_voters(r, voters, n);
	}
	if (rv != RAFT_OK) {
		return rv;
	}
	joint.joint = true;
	for (uint32_t i = 0; i < joint.n; i++) {
		struct raft_server *s = &joint.servers[i];
		size_t at = membership_find(voters, n, s->id);

		if (at < n && s->role != RAFT_VOTER && folders != NULL) {
			s->folder = folders[at]; /* promoted: bound to its folder */
		}
		s->old_role = s->role;
		s->role = at < n ? RAFT_VOTER : RAFT_LEARNER;
	}
	return membership_propose(r, &joint);
}

int raft_remove_learner(struct raft *r, uint64_t id)
{
	struct raft_conf next = r->conf;
	uint32_t kept = 0;
	int rv;

	assert(!r->in_ready);
	rv = membership_check(r);
	if (rv != RAFT_OK) {
		return rv;
	}
	if (!core_in_conf(&r->conf, id) || core_is_voter(&r->conf, id)) {
		return RAFT_EINVAL;
	}
	for (uint32_t i = 0; i < r->conf.n; i++) {
		if (r->conf.servers[i].id != id) {
			next.servers[kept++] = r->conf.servers[i];
		}
	}
	next.n = kept;
	return membership_propose(r, &next);
}
