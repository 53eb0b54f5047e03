/* Snapshots (thesis 5.1): compaction behind a durable snapshot, and
 * InstallSnapshot in chunks to a follower that needs compacted entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

static struct cluster c;

static const struct cl_options plain = {0};

/* Scenario: ten applied entries. Action: a snapshot at the applied index
 * keeping 3. Expected: the log starts 3 entries before the snapshot. */
static void test_snapshot_compacts_keeping_a_tail(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	for (int i = 0; i < 10; i++) {
		cl_propose(&c, 1, "entry");
	}
	cl_deliver_all(&c);
	uint64_t applied = raft_applied_index(cl_raft(&c, 1));
	assert_int_equal(applied, 12);
	assert_int_equal(cl_snapshot(&c, 1, 100, 3), 9);
	assert_int_equal(raft_first_index(cl_raft(&c, 1)), 10);
	uint64_t term;
	assert_true(raft_term_at(cl_raft(&c, 1), 9, &term)); /* the base stays known */
	assert_false(raft_term_at(cl_raft(&c, 1), 8, &term));
	/* Replication past the base still works. */
	cl_propose(&c, 1, "after");
	cl_deliver_all(&c);
	assert_int_equal(raft_commit_index(cl_raft(&c, 1)), 13);
	cl_free(&c);
}

/* A follower behind the leader's base receives the snapshot chunk by chunk
 * (each at most RAFT_SNAPSHOT_CHUNK, one at a time), installs it, then
 * continues from the log. */
static void test_lagging_follower_installs_snapshot_in_chunks(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	cl_isolate(&c, 3);
	for (int i = 0; i < 10; i++) {
		cl_propose(&c, 1, "entry");
	}
	cl_deliver_all(&c);
	cl_snapshot(&c, 1, 2 * RAFT_SNAPSHOT_CHUNK + 5, 0);
	cl_propose(&c, 1, "after the snapshot");
	cl_deliver_all(&c);
	cl_heal(&c);
	size_t max_inflight_chunks = 0;
	for (int i = 0; i < 1000; i++) {
		cl_ready_all(&c);
		size_t n = cl_count(&c, RAFT_MSG_SNAPSHOT, 1, 3);
		max_inflight_chunks = n > max_inflight_chunks ? n : max_inflight_chunks;
		if (!cl_deliver_one(&c, 0, 0, 0)) {
			for (uint64_t id = 1; id <= 3; id++) {
				cl_tick(&c, id, 1);
			}
		}
		if (raft_applied_index(cl_raft(&c, 3)) == 13) {
			break;
		}
	}
	assert_int_equal(max_inflight_chunks, 1);
	assert_int_equal(c.nodes[3].chunks, 3);
	assert_int_equal(c.nodes[3].snap.index, 12);
	assert_int_equal(c.nodes[3].snap.crc, c.nodes[1].snap.crc); /* carried unchanged */
	assert_int_equal(raft_first_index(cl_raft(&c, 3)), 13);
	assert_int_equal(raft_applied_index(cl_raft(&c, 3)), 13);
	assert_int_equal(c.nodes[3].applied_index, 13);
	/* It restarts from the snapshot and its log. */
	cl_crash(&c, 3);
	cl_restart(&c, 3);
	assert_int_equal(raft_first_index(cl_raft(&c, 3)), 13);
	assert_int_equal(raft_conf(cl_raft(&c, 3))->n, 3);
	cl_free(&c);
}

static struct raft_msg chunk(uint64_t index, uint64_t term, uint64_t offset, uint32_t len,
                             uint64_t size)
{
	static const uint8_t bytes[16];
	struct raft_msg m = {.type = RAFT_MSG_SNAPSHOT,
	                     .from = 1,
	                     .to = 3,
	                     .term = 2,
	                     .offset = offset,
	                     .len = len,
	                     .data = bytes,
	                     .last = offset + len == size};
	m.snap.index = index;
	m.snap.term = term;
	m.snap.size = size;
	return m;
}

/* A chunk's answer leaves in the same ready that persists the chunk; the
 * last one's ready also carries the snapshot to install (rule 2). */
static void test_chunk_acknowledged_with_its_persistence(void **state)
{
	struct raft_ready rd;

	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	c.hold[3] = true;
	struct raft *f = cl_raft(&c, 3);
	struct raft_msg first = chunk(50, 2, 0, 16, 20), last = chunk(50, 2, 16, 4, 20);
	first.snap.conf = *raft_conf(f);
	first.snap.crc = 0xc0ffee;
	last.snap = first.snap;
	assert_int_equal(raft_step(f, &first), RAFT_OK);
	raft_ready(f, &rd);
	assert_non_null(rd.snap_chunk);
	assert_int_equal(rd.snap_chunk->meta.crc, 0xc0ffee);
	assert_null(rd.snapshot);
	assert_int_equal(rd.n_msgs, 1);
	assert_int_equal(rd.msgs[0].type, RAFT_MSG_SNAPSHOT_RESP);
	assert_int_equal(rd.msgs[0].offset, 16);
	raft_advance(f, &rd);
	assert_int_equal(raft_step(f, &last), RAFT_OK);
	raft_ready(f, &rd);
	assert_non_null(rd.snap_chunk);
	assert_true(rd.snap_chunk->last);
	assert_non_null(rd.snapshot);
	assert_int_equal(rd.snapshot->index, 50);
	assert_int_equal(rd.snapshot->crc, 0xc0ffee);
	assert_int_equal(rd.msgs[0].offset, 20);
	assert_int_equal(rd.n_committed, 0);
	raft_advance(f, &rd);
	assert_int_equal(raft_commit_index(f), 50);
	assert_int_equal(raft_last_index(f), 50);
	c.hold[3] = false;
	cl_free(&c);
}

/* Anchor P10: a snapshot at or below the commit index is never installed. */
static void test_snapshot_below_commit_ignored(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_propose(&c, 1, "x");
	cl_deliver_all(&c);
	cl_tick_all(&c, CL_HEARTBEAT_TICKS);
	struct raft *f = cl_raft(&c, 3);
	assert_int_equal(raft_commit_index(f), 3);
	struct raft_msg old = chunk(2, 2, 0, 4, 4);
	assert_int_equal(raft_step(f, &old), RAFT_OK);
	cl_ready(&c, 3);
	assert_int_equal(c.nodes[3].chunks, 0);
	assert_int_equal(c.nodes[3].snap.index, 0);
	assert_int_equal(raft_last_index(f), 3);
	const struct raft_msg *resp = cl_find(&c, RAFT_MSG_SNAPSHOT_RESP, 3, 1);
	assert_non_null(resp);
	assert_int_equal(resp->offset, 4); /* "nothing more to send" */
	cl_free(&c);
}

/* Chunks out of order are not persisted; the answer names the offset
 * wanted. */
static void test_out_of_order_chunk_asks_for_expected_offset(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	struct raft *f = cl_raft(&c, 3);
	struct raft_msg first = chunk(50, 2, 0, 8, 20), skipped = chunk(50, 2, 16, 4, 20);
	assert_int_equal(raft_step(f, &first), RAFT_OK);
	cl_ready(&c, 3);
	cl_drop(&c, 0, 3, 1);
	assert_int_equal(raft_step(f, &skipped), RAFT_OK);
	cl_ready(&c, 3);
	assert_int_equal(c.nodes[3].chunks, 1);
	const struct raft_msg *resp = cl_find(&c, RAFT_MSG_SNAPSHOT_RESP, 3, 1);
	assert_non_null(resp);
	assert_int_equal(resp->offset, 8);
	assert_int_equal(raft_last_index(f), 2);
	cl_free(&c);
}

/* A chunk of another file with the same index (another crc) is not mixed
 * into the one being received. */
static void test_chunk_of_other_file_not_mixed(void **state)
{
	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	cl_deliver_all(&c);
	struct raft *f = cl_raft(&c, 3);
	struct raft_msg first = chunk(50, 2, 0, 8, 20), other = chunk(50, 2, 8, 8, 20);
	first.snap.crc = 1;
	other.snap.crc = 2;
	assert_int_equal(raft_step(f, &first), RAFT_OK);
	cl_ready(&c, 3);
	cl_drop(&c, 0, 3, 1);
	assert_int_equal(raft_step(f, &other), RAFT_OK);
	cl_ready(&c, 3);
	assert_int_equal(c.nodes[3].chunks, 1);
	const struct raft_msg *resp = cl_find(&c, RAFT_MSG_SNAPSHOT_RESP, 3, 1);
	assert_non_null(resp);
	assert_int_equal(resp->offset, 0);
	cl_free(&c);
}

/* After a restart the host's state machine may be ahead of the core (it
 * skips entries it had applied): a snapshot at the commit index is taken,
 * and those entries are not handed out for apply again. */
static void test_snapshot_ahead_of_core_after_restart(void **state)
{
	struct raft_ready rd;

	(void)state;
	cl_init(&c, 3, &plain);
	cl_elect(&c, 1);
	for (int i = 0; i < 4; i++) {
		cl_propose(&c, 1, "entry");
	}
	cl_deliver_all(&c);
	cl_tick_all(&c, CL_HEARTBEAT_TICKS);
	cl_crash(&c, 2);
	cl_restart(&c, 2);
	struct raft *r = cl_raft(&c, 2);
	assert_int_equal(raft_commit_index(r), 6);
	assert_int_equal(raft_applied_index(r), 0);
	struct raft_snapshot_meta meta = {.index = 6, .term = 2, .size = 10};
	meta.conf = *raft_conf(r);
	assert_int_equal(raft_snapshot_taken(r, &meta, 2), 4);
	assert_int_equal(raft_applied_index(r), 6);
	raft_ready(r, &rd);
	assert_int_equal(rd.n_committed, 0);
	raft_advance(r, &rd);
	cl_free(&c);
}

/* A log store may keep a tail behind its snapshot; a restore skips it. */
static void test_restore_skips_tail_behind_snapshot(void **state)
{
	struct raft_entry tail[6];
	struct raft_config cfg = {.id = 1, .election_ticks = 10, .heartbeat_ticks = 1};
	struct raft_restore rs = {.hs = {.term = 2, .commit = 8}, .n_entries = 6, .entries = tail};

	(void)state;
	for (uint64_t i = 0; i < 6; i++) {
		tail[i] = (struct raft_entry){.index = 3 + i, .term = 2, .type = RAFT_ENTRY_NOOP};
	}
	rs.snapshot.index = 5;
	rs.snapshot.term = 2;
	rs.snapshot.conf.n = 1;
	rs.snapshot.conf.servers[0] = (struct raft_server){.id = 1, .role = RAFT_VOTER};
	struct raft *r = raft_new(&cfg, &rs);
	assert_non_null(r);
	assert_int_equal(raft_first_index(r), 6);
	assert_int_equal(raft_last_index(r), 8);
	assert_int_equal(raft_applied_index(r), 5);
	raft_free(r);
	/* A gap after the snapshot is refused. */
	rs.entries = tail + 4;
	rs.n_entries = 2;
	assert_null(raft_new(&cfg, &rs));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_snapshot_compacts_keeping_a_tail),
	    cmocka_unit_test(test_lagging_follower_installs_snapshot_in_chunks),
	    cmocka_unit_test(test_chunk_acknowledged_with_its_persistence),
	    cmocka_unit_test(test_snapshot_below_commit_ignored),
	    cmocka_unit_test(test_out_of_order_chunk_asks_for_expected_offset),
	    cmocka_unit_test(test_chunk_of_other_file_not_mixed),
	    cmocka_unit_test(test_snapshot_ahead_of_core_after_restart),
	    cmocka_unit_test(test_restore_skips_tail_behind_snapshot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
