/* coordctl's table of members and the catch-up rule (see membership.h). */
#include "membership.h"

#include <inttypes.h>

void ctl_members_table(FILE *out, const struct coordc_members *m)
{
	fprintf(out, "%-6s %-8s %-24s %-24s %12s %s\n", "ID", "ROLE", "RAFT", "HTTP", "MATCH",
	        "LAST CONTACT");
	for (unsigned i = 0; i < m->n; i++) {
		const struct coordc_member *e = &m->member[i];
		const char *role = e->id == m->leader ? "leader" : e->voter ? "voter" : "learner";
		char contact[32] = "-";

		if (e->last_contact_ms >= 0)
			snprintf(contact, sizeof(contact), "%" PRId64 "ms", e->last_contact_ms);
		fprintf(out, "%-6" PRIu64 " %-8s %-24s %-24s %12" PRIu64 " %s\n", e->id, role,
		        e->raft, e->http[0] ? e->http : "-", e->match_index, contact);
	}
	fprintf(out, "config index %" PRIu64 "%s\n", m->config_index,
	        m->joint ? ", joint: a change is in progress" : "");
}

enum ctl_catchup ctl_catchup(const struct coordc_members *m, uint64_t id, uint64_t *target)
{
	const struct coordc_member *learner = coordc_members_find(m, id);
	const struct coordc_member *leader = coordc_members_find(m, m->leader);

	if (learner == NULL)
		return CTL_CATCHUP_GONE;
	if (learner->voter)
		return CTL_CATCHUP_VOTER;
	if (*target == 0) {
		if (leader == NULL)
			return CTL_CATCHUP_NO_LEADER;
		if (leader->match_index == 0)
			return CTL_CATCHUP_READY; /* no reference: let promote decide */
		*target = leader->match_index;
	}
	return learner->match_index >= *target ? CTL_CATCHUP_READY : CTL_CATCHUP_BEHIND;
}
