/* Log replication and commitment (figure 3.1 AppendEntries, thesis 3.5,
 * 3.6.2, 5.3, 10.2.1) and DESIGN.md safety rules 2 and 3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

static struct cluster c;

static const struct cl_options plain = {0};

static struct raft_entry entry(uint64_t index, uint64_t term)
{
	struct raft_entry e = {.index = index, .term = term, .type = RAFT_ENTRY_NORMAL};
	return e;
}

static struct raft_msg append_msg(uint64_t from, uint64_t to, uint64_t term, uint64_t index,
                                  uint64_t log_term, struct raft_entry *entries, uint32_t n,
                                  uint64_t commit)
{
	struct raft_msg m = {.type = RAFT_MSG_APPEND,
	                     .from = from,
	                     .to = to,
	                     .term = term,
	                     .index = index,
	                     .log_term = log_term,
	                     .n_entries = n,
	                     .entries = entries,
	                     .commit = commit};
	return m;
}

/* Scenario: a leader and two followers. Action: three proposals. Expected:
 * every server commits and applies the same five entries (bootstrap
 * configuration, the leader's no-op, the three commands). */
static void test_proposals_commit_and_apply_everywhere(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_propose(&c, 1, "a");
	cl_propose(&c, 1, "b");
	cl_propose(&c, 1, "c");
	cl_deliver_all(&c);
	cl_tick_all(&c, CL_HEARTBEAT_TICKS);
	for (uint64_t id = 1; id <= 3; id++) {
		assert_int_equal(raft_commit_index(cl_raft(&c, id)), 5);
		assert_int_equal(c.nodes[id].applied_index, 5);
	}
	assert_int_equal(c.nodes[2].applied[1].type, RAFT_ENTRY_NOOP); /* thesis 3.6.2 */
	assert_int_equal(c.nodes[2].applied[1].term, 2);
	cl_check_applied(&c);
	cl_free(&c);
}

/* Rule 2: a follower acknowledges index i only in a ready whose entries (or
 * earlier ones) make i durable. */
static void test_follower_ack_travels_with_the_entries(void **state)
{
	struct raft_ready rd;

	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	c.hold[2] = true;
	cl_propose(&c, 1, "durable first");
	cl_propose(&c, 1, "and second");
	assert_true(cl_deliver_one(&c, RAFT_MSG_APPEND, 1, 2));
	assert_true(cl_deliver_one(&c, RAFT_MSG_APPEND, 1, 2));
	raft_ready(cl_raft(&c, 2), &rd);
	uint64_t durable = cl_durable_last(&c, 2);
	if (rd.n_entries > 0) {
		durable = rd.entries[rd.n_entries - 1].index;
	}
	bool acked = false;
	for (size_t i = 0; i < rd.n_msgs; i++) {
		if (rd.msgs[i].type == RAFT_MSG_APPEND_RESP && !rd.msgs[i].reject) {
			acked = true;
			assert_true(rd.msgs[i].index <= durable);
			assert_true(rd.msgs[i].index >= 3);
		}
	}
	assert_true(acked);
	assert_false(rd.msgs_early); /* its acks wait for the persist */
	raft_advance(cl_raft(&c, 2), &rd);
	c.hold[2] = false;
	cl_free(&c);
}

/* Thesis 10.2.1: a leader whose term and vote are durable may send its
 * appends while it writes them (msgs_early); a node whose term or vote
 * changed in the ready may not (rule 1), whatever its role. */
static void test_only_a_durable_leader_sends_before_persisting(void **state)
{
	struct raft_ready rd;
	uint64_t index = 0;
	bool append = false;

	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_tick_all(&c, CL_HEARTBEAT_TICKS);
	struct raft *r = cl_raft(&c, 1);
	assert_int_equal(raft_propose(r, "x", 1, &index, NULL), RAFT_OK);
	raft_ready(r, &rd);
	assert_int_equal(rd.n_entries, 1);
	for (size_t i = 0; i < rd.n_msgs; i++)
		append |= rd.msgs[i].type == RAFT_MSG_APPEND && rd.msgs[i].n_entries == 1;
	assert_true(append);
	assert_true(rd.msgs_early);
	raft_advance(r, &rd);

	/* A vote request of a higher term deposes it: the new term must be
	 * durable before its answer leaves. */
	struct raft_msg vote = {.type = RAFT_MSG_VOTE,
	                        .from = 2,
	                        .to = 1,
	                        .term = raft_term(r) + 1,
	                        .index = index,
	                        .log_term = raft_term(r)};
	assert_int_equal(raft_step(r, &vote), RAFT_OK);
	raft_ready(r, &rd);
	assert_true(rd.hs_changed);
	assert_int_not_equal(rd.role, RAFT_LEADER);
	assert_false(rd.msgs_early);
	raft_advance(r, &rd);

	/* A candidate's vote requests wait for its new term and vote. */
	c.hold[3] = true;
	struct raft *cand = cl_raft(&c, 3);
	for (unsigned i = 0; i < 4 * CL_ELECTION_TICKS && raft_role(cand) == RAFT_FOLLOWER; i++)
		raft_tick(cand);
	raft_ready(cand, &rd);
	assert_true(rd.hs_changed);
	assert_false(rd.msgs_early);
	raft_advance(cand, &rd);
	c.hold[3] = false;
	cl_free(&c);
}

/* Rule 2: the leader counts itself only once its own entries are durable,
 * i.e. in raft_advance() after the host persisted the ready. */
static void test_leader_counts_itself_after_its_fsync(void **state)
{
	struct raft_ready rd;
	uint64_t index = 0;

	(void)state;
	cl_init(&c, 1, &plain);
	cl_elect(&c, 1);
	struct raft *r = cl_raft(&c, 1);
	uint64_t before = raft_commit_index(r);
	assert_int_equal(raft_propose(r, "x", 1, &index, NULL), RAFT_OK);
	raft_ready(r, &rd);
	assert_int_equal(rd.n_entries, 1);
	assert_int_equal(raft_commit_index(r), before);
	for (size_t i = 0; i < rd.n_committed; i++) {
		assert_true(rd.committed[i].index < index);
	}
	raft_advance(r, &rd);
	assert_int_equal(raft_commit_index(r), index);
	cl_free(&c);
}

/* A long backlog of committed entries is handed out to apply in readies of
 * at most RAFT_MAX_READY_APPLY, in order, none skipped: a host catching up
 * serves between them. */
static void test_committed_backlog_comes_in_bounded_readies(void **state)
{
	const uint64_t k = 2 * RAFT_MAX_READY_APPLY + 10;
	struct raft_ready rd;
	uint64_t index = 0, next;
	size_t readies = 0;

	(void)state;
	cl_init(&c, 1, &plain);
	cl_elect(&c, 1);
	struct raft *r = cl_raft(&c, 1);
	while (raft_has_ready(r)) {
		raft_ready(r, &rd);
		raft_advance(r, &rd);
	}
	next = raft_applied_index(r) + 1;
	for (uint64_t i = 0; i < k; i++)
		assert_int_equal(raft_propose(r, "x", 1, &index, NULL), RAFT_OK);
	raft_ready(r, &rd); /* persists them; the leader commits in advance */
	assert_int_equal(rd.n_entries, k);
	raft_advance(r, &rd);
	assert_int_equal(raft_commit_index(r), index);
	while (raft_has_ready(r)) {
		raft_ready(r, &rd);
		assert_true(rd.n_committed <= RAFT_MAX_READY_APPLY);
		for (size_t i = 0; i < rd.n_committed; i++)
			assert_int_equal(rd.committed[i].index, next++);
		readies += rd.n_committed > 0;
		raft_advance(r, &rd);
	}
	assert_int_equal(next, index + 1);
	assert_int_equal(readies, 3);
	cl_free(&c);
}

/* Trap (paper figure 8, thesis 3.6.2): an entry of an earlier term stored on
 * a majority is not committed by counting; it commits only with an entry of
 * the current term. */
static void test_figure8_previous_term_entry_not_committed_by_counting(void **state)
{
	const struct cl_options one_entry = {.max_msg_bytes = 1};

	(void)state;
	cl_init(&c, 3, &one_entry);
	cl_elect(&c, 1);
	cl_tick_all(&c, CL_HEARTBEAT_TICKS);
	/* Entry 3 of term 2 reaches server 2 only; no one learns it is stored. */
	cl_propose(&c, 1, "xx");
	assert_true(cl_deliver_one(&c, RAFT_MSG_APPEND, 1, 2));
	cl_drop(&c, 0, 1, 0);
	cl_drop(&c, 0, 0, 1);
	cl_crash(&c, 1);

	cl_campaign(&c, 2); /* term 3, no-op at 4 */
	/* Server 3 gets entry 3 (term 2) alone first: {2, 3} store it. */
	assert_true(cl_deliver_one(&c, RAFT_MSG_APPEND, 2, 3));
	assert_true(cl_deliver_one(&c, RAFT_MSG_APPEND_RESP, 3, 2));
	assert_true(cl_deliver_one(&c, RAFT_MSG_APPEND, 2, 3));
	assert_int_equal(raft_last_index(cl_raft(&c, 3)), 3);
	assert_true(cl_deliver_one(&c, RAFT_MSG_APPEND_RESP, 3, 2));
	assert_int_equal(raft_commit_index(cl_raft(&c, 2)), 2);

	/* Once the no-op of term 3 is on a majority, both commit. */
	cl_drop(&c, 0, 0, 1);
	while (cl_deliver_one(&c, 0, 2, 3) || cl_deliver_one(&c, 0, 3, 2)) {
	}
	assert_int_equal(raft_commit_index(cl_raft(&c, 2)), 4);
	cl_free(&c);
}

/* Rule 2 within one ready (simulator seed 6487): a follower appends entries
 * 3..5 from the leader of term 2 and queues its acknowledgement, then, before
 * its next ready, a leader of term 3 replaces them. The acknowledgement of
 * 5 must not leave: the server no longer holds those entries. */
static void test_ack_dropped_when_its_entries_are_truncated(void **state)
{
	struct raft_ready rd;

	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	c.hold[2] = true;
	struct raft *f = cl_raft(&c, 2);
	struct raft_entry old[3] = {entry(3, 2), entry(4, 2), entry(5, 2)};
	struct raft_msg a = append_msg(1, 2, 2, 2, 2, old, 3, 2);
	assert_int_equal(raft_step(f, &a), RAFT_OK);
	struct raft_entry newer = entry(3, 3);
	struct raft_msg b = append_msg(3, 2, 3, 2, 2, &newer, 1, 2);
	assert_int_equal(raft_step(f, &b), RAFT_OK);
	raft_ready(f, &rd);
	uint64_t last = rd.entries[rd.n_entries - 1].index;
	assert_int_equal(last, 3);
	for (size_t i = 0; i < rd.n_msgs; i++) {
		if (rd.msgs[i].type == RAFT_MSG_APPEND_RESP && !rd.msgs[i].reject) {
			assert_true(rd.msgs[i].index <= last);
		}
	}
	raft_advance(f, &rd);
	c.hold[2] = false;
	cl_free(&c);
}

/* Figure 3.1 AppendEntries rule 3: a conflicting uncommitted suffix is
 * replaced from the first conflicting entry on. */
static void test_conflicting_suffix_is_replaced(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	cl_isolate(&c, 1);
	cl_propose(&c, 1, "lost-1");
	cl_propose(&c, 1, "lost-2");
	cl_deliver_all(&c);
	assert_int_equal(raft_last_index(cl_raft(&c, 1)), 4);
	cl_elect(&c, 2);
	cl_propose(&c, 2, "kept");
	cl_deliver_all(&c);
	cl_heal(&c);
	cl_tick_all(&c, 2 * CL_HEARTBEAT_TICKS);
	assert_int_equal(raft_role(cl_raft(&c, 1)), RAFT_FOLLOWER);
	for (uint64_t i = 1; i <= raft_last_index(cl_raft(&c, 2)); i++) {
		assert_int_equal(cl_durable_term(&c, 1, i), cl_durable_term(&c, 2, i));
	}
	assert_int_equal(raft_last_index(cl_raft(&c, 1)), raft_last_index(cl_raft(&c, 2)));
	cl_check_applied(&c);
	cl_free(&c);
}

/* Rule 3: a follower never truncates at or below its commit index; an
 * AppendEntries that starts below it is answered with the commit index. */
static void test_no_truncation_at_or_below_commit(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_propose(&c, 1, "a");
	cl_deliver_all(&c);
	cl_tick_all(&c, CL_HEARTBEAT_TICKS);
	struct raft *f = cl_raft(&c, 2);
	assert_int_equal(raft_commit_index(f), 3);
	/* A message of term 3 whose entries 2..3 conflict with committed ones. */
	struct raft_entry forged[2] = {entry(2, 3), entry(3, 3)};
	struct raft_msg m = {.type = RAFT_MSG_APPEND,
	                     .from = 3,
	                     .to = 2,
	                     .term = 3,
	                     .index = 1,
	                     .log_term = 1,
	                     .n_entries = 2,
	                     .entries = forged};
	assert_int_equal(raft_step(f, &m), RAFT_OK);
	assert_int_equal(raft_last_index(f), 3);
	assert_int_equal(raft_entry_at(f, 2)->term, 2);
	assert_int_equal(raft_entry_at(f, 3)->term, 2);
	cl_ready(&c, 2);
	const struct raft_msg *resp = cl_find(&c, RAFT_MSG_APPEND_RESP, 2, 3);
	assert_non_null(resp);
	assert_false(resp->reject);
	assert_int_equal(resp->index, 3);
	cl_free(&c);
}

/* Rule 3 / figure 3.1 rule 5: commitIndex = min(leaderCommit, index of the
 * last new entry), never beyond what the message vouched for: the entries
 * after it may be a stale suffix. */
static void test_commit_bounded_by_last_new_entry(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	struct raft *f = cl_raft(&c, 3);
	/* Entries 3..4 of term 2 reach server 3 only. */
	struct raft_entry old[2] = {entry(3, 2), entry(4, 2)};
	struct raft_msg a = append_msg(1, 3, 2, 2, 2, old, 2, 2);
	assert_int_equal(raft_step(f, &a), RAFT_OK);
	assert_int_equal(raft_last_index(f), 4);
	/* Leader 2 of term 3 (whose 3..4 differ) vouches only up to 2. */
	struct raft_msg b = append_msg(2, 3, 3, 2, 2, NULL, 0, 4);
	assert_int_equal(raft_step(f, &b), RAFT_OK);
	assert_int_equal(raft_commit_index(f), 2);
	cl_free(&c);
}

/* Thesis 5.3: on a conflict the follower names the conflicting term and its
 * first index there, so the leader skips the whole term in one round trip
 * instead of one entry per round trip.
 * Scenario: server 1 holds 20 uncommitted entries of term 2; the cluster
 * moved on (terms 3 and 4, 30 more entries). Expected: at most two refusals
 * (log too short, then the term-2 conflict) bring 1 in line. */
static void test_fast_backup_skips_conflicting_term(void **state)
{
	(void)state;
	cl_init(&c, 5, &plain);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	cl_isolate(&c, 1);
	for (int i = 0; i < 20; i++) {
		cl_propose(&c, 1, "doomed");
	}
	cl_deliver_all(&c);
	cl_elect(&c, 2);
	for (int i = 0; i < 30; i++) {
		cl_propose(&c, 2, "kept");
	}
	cl_deliver_all(&c);
	cl_crash(&c, 2);
	cl_elect(&c, 3); /* its next index for 1 starts past all of this */
	cl_deliver_all(&c);
	cl_crash(&c, 1); /* back as a plain follower: no stale heartbeats */
	cl_restart(&c, 1);
	memset(c.rejected, 0, sizeof(c.rejected));
	cl_heal(&c);
	cl_tick_all(&c, 2 * CL_HEARTBEAT_TICKS);
	assert_int_equal(raft_last_index(cl_raft(&c, 1)), raft_last_index(cl_raft(&c, 3)));
	assert_true(c.rejected[RAFT_MSG_APPEND_RESP] >= 1);
	assert_true(c.rejected[RAFT_MSG_APPEND_RESP] <= 2);
	cl_check_applied(&c);
	cl_free(&c);
}

/* Flow control (thesis 10.2.1): a follower in REPLICATE has at most
 * max_inflight AppendEntries outstanding, however many proposals come. */
static void test_inflight_window_bounds_pipelining(void **state)
{
	const struct cl_options window = {.max_inflight = 2};

	(void)state;
	cl_init(&c, 3, &window);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	for (int i = 0; i < 10; i++) {
		cl_propose(&c, 1, "pipelined");
	}
	assert_int_equal(cl_count(&c, RAFT_MSG_APPEND, 1, 2), 2);
	assert_int_equal(cl_count(&c, RAFT_MSG_APPEND, 1, 3), 2);
	cl_deliver_all(&c);
	assert_int_equal(raft_commit_index(cl_raft(&c, 1)), 12);
	cl_free(&c);
}

/* Batching: one AppendEntries carries at most max_msg_bytes of payload (a
 * single larger entry still goes alone) and at most RAFT_MAX_MSG_ENTRIES. */
static void test_batches_bounded_by_bytes(void **state)
{
	const struct cl_options small = {.max_msg_bytes = 10};

	(void)state;
	cl_init(&c, 3, &small);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	cl_isolate(&c, 3);
	for (int i = 0; i < 12; i++) {
		cl_propose(&c, 1, "four");
	}
	cl_deliver_all(&c);
	c.max_append_entries = 0;
	c.max_append_bytes = 0;
	cl_heal(&c);
	cl_tick_all(&c, 2 * CL_HEARTBEAT_TICKS);
	assert_int_equal(raft_last_index(cl_raft(&c, 3)), 14);
	assert_true(c.max_append_bytes <= 10);
	assert_int_equal(c.max_append_entries, 2);
	cl_free(&c);
}

/* Figure 3.1 AppendEntries rule 1: a message of an older term is refused,
 * and the answer carries the current term so the stale leader steps down. */
static void test_stale_append_refused_with_current_term(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	struct raft *f = cl_raft(&c, 2);
	struct raft_entry e = entry(3, 1);
	struct raft_msg old = append_msg(3, 2, 1, 2, 2, &e, 1, 3);
	assert_int_equal(raft_step(f, &old), RAFT_OK);
	assert_int_equal(raft_last_index(f), 2);
	assert_int_equal(raft_leader(f), 1);
	cl_ready(&c, 2);
	const struct raft_msg *resp = cl_find(&c, RAFT_MSG_APPEND_RESP, 2, 3);
	assert_non_null(resp);
	assert_true(resp->reject);
	assert_int_equal(resp->term, 2);
	cl_free(&c);
}

/* Rule 11: counts and lengths in a message are checked before use; a
 * malformed message is refused and changes nothing. */
static void test_malformed_messages_refused(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	struct raft *f = cl_raft(&c, 2);
	struct raft_entry gap[2] = {entry(3, 2), entry(5, 2)};
	struct raft_msg bad = append_msg(1, 2, 2, 2, 2, gap, 2, 2);
	assert_int_equal(raft_step(f, &bad), RAFT_EINVAL); /* indexes not contiguous */
	bad = append_msg(1, 2, 2, 2, 2, NULL, 3, 2);
	assert_int_equal(raft_step(f, &bad), RAFT_EINVAL); /* count without entries */
	struct raft_entry big = entry(3, 2);
	big.len = RAFT_MAX_ENTRY_BYTES + 1;
	static uint8_t one[1];
	big.data = one;
	bad = append_msg(1, 2, 2, 2, 2, &big, 1, 2);
	assert_int_equal(raft_step(f, &bad), RAFT_EINVAL); /* payload over the limit */
	struct raft_entry future = entry(3, 7);
	bad = append_msg(1, 2, 2, 2, 2, &future, 1, 2);
	assert_int_equal(raft_step(f, &bad), RAFT_EINVAL); /* entry newer than its leader */
	bad = append_msg(1, 2, 2, 2, 2, NULL, 0, 2);
	bad.type = 99;
	assert_int_equal(raft_step(f, &bad), RAFT_EINVAL);
	bad.type = RAFT_MSG_APPEND;
	bad.to = 3;
	assert_int_equal(raft_step(f, &bad), RAFT_EINVAL); /* not for this server */
	struct raft_msg chunk = {.type = RAFT_MSG_SNAPSHOT, .from = 1, .to = 2, .term = 2};
	chunk.snap.index = 9;
	chunk.snap.term = 2;
	chunk.snap.size = 10;
	chunk.offset = 8;
	chunk.len = 4; /* past the end of the file */
	chunk.data = (const uint8_t *)"abcd";
	assert_int_equal(raft_step(f, &chunk), RAFT_EINVAL);
	assert_int_equal(raft_last_index(f), 2);
	assert_int_equal(raft_term(f), 2);
	cl_free(&c);
}

/* An AppendEntries queued by a leader that is deposed, and whose entries
 * are replaced, before its next ready is not sent with the new entries:
 * queued messages take their entries at ready time, checked by term. */
static void test_queued_append_dropped_when_its_entries_are_replaced(void **state)
{
	struct raft_ready rd;

	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	c.hold[1] = true;
	struct raft *r = cl_raft(&c, 1);
	assert_int_equal(raft_propose(r, "old", 3, NULL, NULL), RAFT_OK);
	struct raft_entry newer = entry(3, 3);
	struct raft_msg m = append_msg(2, 1, 3, 2, 2, &newer, 1, 2);
	assert_int_equal(raft_step(r, &m), RAFT_OK);
	assert_int_equal(raft_role(r), RAFT_FOLLOWER);
	raft_ready(r, &rd);
	assert_int_equal(rd.n_entries, 1);
	assert_int_equal(rd.entries[0].term, 3);
	for (size_t i = 0; i < rd.n_msgs; i++) {
		if (rd.msgs[i].type == RAFT_MSG_APPEND) {
			for (uint32_t j = 0; j < rd.msgs[i].n_entries; j++) {
				assert_int_equal(rd.msgs[i].entries[j].term, 2);
			}
			assert_int_equal(rd.msgs[i].n_entries, 0);
		}
	}
	raft_advance(r, &rd);
	c.hold[1] = false;
	cl_free(&c);
}

/* Rule 3 for heartbeats: a heartbeat carries the commit index only up to
 * what the follower is known to hold, since a heartbeat vouches for no
 * entries (the follower may hold a stale suffix at those indexes). */
static void test_heartbeat_commit_bounded_by_match(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	cl_isolate(&c, 3);
	cl_propose(&c, 1, "3 does not have this");
	cl_deliver_all(&c);
	assert_int_equal(raft_commit_index(cl_raft(&c, 1)), 3);
	cl_tick(&c, 1, CL_HEARTBEAT_TICKS);
	c.cut[1][3] = c.cut[3][1] = false;
	cl_tick(&c, 1, CL_HEARTBEAT_TICKS);
	const struct raft_msg *hb = cl_find(&c, RAFT_MSG_HEARTBEAT, 1, 3);
	assert_non_null(hb);
	assert_int_equal(hb->commit, 2);
	hb = cl_find(&c, RAFT_MSG_HEARTBEAT, 1, 2);
	assert_non_null(hb);
	assert_int_equal(hb->commit, 3);
	cl_free(&c);
}

/* Flow control liveness: with a window of one message that is lost, a
 * live follower's heartbeat answer lets the next message go, and the loss
 * is repaired by the refusal that follows. */
static void test_full_window_recovers_from_loss(void **state)
{
	const struct cl_options one = {.max_inflight = 1};

	(void)state;
	cl_init(&c, 3, &one);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	cl_propose(&c, 1, "lost");
	assert_int_equal(cl_drop(&c, RAFT_MSG_APPEND, 1, 2), 1);
	cl_propose(&c, 1, "held back");
	assert_int_equal(cl_count(&c, RAFT_MSG_APPEND, 1, 2), 0); /* window full */
	cl_deliver_all(&c);
	cl_tick_all(&c, 3 * CL_HEARTBEAT_TICKS);
	assert_int_equal(raft_last_index(cl_raft(&c, 2)), 4);
	assert_int_equal(raft_commit_index(cl_raft(&c, 2)), 4);
	cl_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_proposals_commit_and_apply_everywhere),
	    cmocka_unit_test(test_follower_ack_travels_with_the_entries),
	    cmocka_unit_test(test_leader_counts_itself_after_its_fsync),
	    cmocka_unit_test(test_committed_backlog_comes_in_bounded_readies),
	    cmocka_unit_test(test_only_a_durable_leader_sends_before_persisting),
	    cmocka_unit_test(test_figure8_previous_term_entry_not_committed_by_counting),
	    cmocka_unit_test(test_conflicting_suffix_is_replaced),
	    cmocka_unit_test(test_ack_dropped_when_its_entries_are_truncated),
	    cmocka_unit_test(test_no_truncation_at_or_below_commit),
	    cmocka_unit_test(test_commit_bounded_by_last_new_entry),
	    cmocka_unit_test(test_fast_backup_skips_conflicting_term),
	    cmocka_unit_test(test_inflight_window_bounds_pipelining),
	    cmocka_unit_test(test_batches_bounded_by_bytes),
	    cmocka_unit_test(test_stale_append_refused_with_current_term),
	    cmocka_unit_test(test_malformed_messages_refused),
	    cmocka_unit_test(test_queued_append_dropped_when_its_entries_are_replaced),
	    cmocka_unit_test(test_heartbeat_commit_bounded_by_match),
	    cmocka_unit_test(test_full_window_recovers_from_loss),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
