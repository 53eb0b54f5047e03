/* Snapshots (persist/snapshot.h): created from state.db at its applied
 * index, read in chunks, received in chunks by another node, installed
 * without ever going back, and pruned. Two data folders play leader and
 * follower. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "persist/internal.h" /* persist_crc32c, to forge a transfer */
#include "persist/snapshot.h"
#include "state_fixture.h"

#define CHUNK 1000 /* small, so that a snapshot takes many chunks */

static const char config[] = "voters=1,2,3";

struct pair {
	struct fx *leader;
	struct fx *follower;
	struct persist_state *lst; /* leader's state, 120 entries applied */
	struct persist_state *fst; /* follower's state, 10 entries applied */
};

static int pair_setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	void *fx;

	assert_non_null(p);
	fx_setup(&fx);
	p->leader = fx;
	fx_setup(&fx);
	p->follower = fx;
	assert_int_equal(persist_state_open(p->leader->dir, &p->lst, NULL), 0);
	assert_int_equal(persist_state_open(p->follower->dir, &p->fst, NULL), 0);
	sm_schema(p->lst);
	sm_schema(p->fst);
	sm_apply_range(p->lst, 1, 120);
	sm_apply_range(p->fst, 1, 10);
	*state = p;
	return 0;
}

static int pair_teardown(void **state)
{
	struct pair *p = *state;
	void *fx;

	persist_state_close(p->lst);
	persist_state_close(p->fst);
	fx = p->leader;
	fx_teardown(&fx);
	fx = p->follower;
	fx_teardown(&fx);
	free(p);
	return 0;
}

/* Streams snapshot m from the leader's folder to r, CHUNK bytes at a time. */
static void stream(struct pair *p, const struct persist_snapshot_meta *m,
                   struct persist_snapshot_recv *r)
{
	char buf[CHUNK];
	uint64_t off = 0;
	size_t got;

	for (;;) {
		assert_int_equal(
		    persist_snapshot_read(p->leader->dir, m, off, buf, sizeof(buf), &got, NULL), 0);
		if (got == 0) {
			break;
		}
		assert_int_equal(persist_snapshot_recv_chunk(r, off, buf, got, NULL), 0);
		off += got;
	}
	assert_int_equal(off, m->size);
}

static void test_create_at_applied_index(void **state)
{
	struct pair *p = *state;
	struct persist_snapshot_meta m;
	struct persist_snapshot_meta latest;
	unsigned char header[100];
	char name[96];
	size_t got;

	assert_int_equal(persist_snapshot_create(p->lst, config, sizeof(config), &m, NULL), 0);
	assert_int_equal(m.index, 120);
	assert_int_equal(m.term, 1);
	assert_true(m.size > 0);
	assert_int_equal(m.config_len, sizeof(config));
	assert_memory_equal(m.config, config, sizeof(config));
	snprintf(name, sizeof(name), "snap-%020d-%020d-%08x.db", 120, 1, (unsigned)m.crc);
	assert_int_equal(access(fx_path(p->leader, name), F_OK), 0);
	/* Self-contained: a rollback-journal database (header bytes 18 and 19
	 * are 1, not WAL's 2) with no WAL beside it, so its bytes are the whole
	 * state and a receiver can open it read-only. */
	strcat(name, "-wal");
	assert_int_not_equal(access(fx_path(p->leader, name), F_OK), 0);
	assert_int_equal(
	    persist_snapshot_read(p->leader->dir, &m, 0, header, sizeof(header), &got, NULL), 0);
	assert_int_equal(got, sizeof(header));
	assert_memory_equal(header, "SQLite format 3", 16);
	assert_int_equal(header[18], 1);
	assert_int_equal(header[19], 1);
	assert_int_equal(persist_snapshot_latest(p->leader->dir, &latest, NULL), 0);
	assert_int_equal(latest.index, 120);
	assert_int_equal(latest.size, m.size);
	assert_int_equal(latest.crc, m.crc);
	persist_snapshot_meta_free(&latest);
	persist_snapshot_meta_free(&m);
}

static void test_no_snapshot_is_enoent(void **state)
{
	struct pair *p = *state;
	struct persist_snapshot_meta m;

	assert_int_equal(persist_snapshot_latest(p->follower->dir, &m, NULL), PERSIST_ENOENT);
}

/* The follower installs the leader's snapshot: it then holds the leader's
 * state and applied index, and the configuration carried inside; a stale
 * reader open meanwhile sees the new state too. */
static void test_install_received_in_chunks(void **state)
{
	struct pair *p = *state;
	struct persist_snapshot_meta m;
	struct persist_snapshot_meta got;
	struct persist_snapshot_recv *r;
	sqlite3 *reader;

	assert_int_equal(persist_state_open_reader(p->follower->dir, &reader, NULL), 0);
	assert_int_equal(sm_rows(reader), 10);
	assert_int_equal(persist_snapshot_create(p->lst, config, sizeof(config), &m, NULL), 0);
	assert_int_equal(
	    persist_snapshot_recv_begin(p->fst, m.index, m.term, m.size, m.crc, &r, NULL), 0);
	stream(p, &m, r);
	assert_int_equal(persist_snapshot_recv_finish(r, &got, NULL), 0);
	assert_int_equal(got.index, 120);
	assert_memory_equal(got.config, config, sizeof(config));
	assert_int_equal(persist_state_applied_index(p->fst), 120);
	assert_int_equal(sm_rows(persist_state_db(p->fst)), 120);
	assert_int_equal(sm_rows(reader), 120);
	sqlite3_close_v2(reader);
	/* The state machine carries on from the snapshot. */
	sm_apply_range(p->fst, 121, 2);
	assert_int_equal(sm_rows(persist_state_db(p->fst)), 122);
	persist_snapshot_meta_free(&got);
	persist_snapshot_meta_free(&m);
}

/* A job copies state.db as of begin, however much the writer applies while
 * it runs on another thread: the snapshot says index 120 and holds exactly
 * 120 rows, while state.db goes on to 170 (safety rule 6 off the loop). */
struct job_run {
	struct persist_snapshot_job *job;
	int rv;
};

static void *job_thread(void *arg)
{
	struct job_run *jr = arg;

	jr->rv = persist_snapshot_job_run(jr->job, NULL);
	return NULL;
}

static void test_job_copies_the_view_pinned_at_begin(void **state)
{
	struct pair *p = *state;
	struct persist_snapshot_meta m;
	struct persist_snapshot_meta got;
	struct persist_snapshot_recv *r;
	struct job_run jr = {0};
	pthread_t t;

	assert_int_equal(persist_snapshot_job_begin(p->lst, config, sizeof(config), &jr.job, NULL),
	                 0);
	sm_apply_range(p->lst, 121, 25); /* before the copy starts */
	assert_int_equal(pthread_create(&t, NULL, job_thread, &jr), 0);
	sm_apply_range(p->lst, 146, 25); /* while it runs */
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(jr.rv, 0);
	assert_int_equal(persist_snapshot_job_take(jr.job, &m), 0);
	persist_snapshot_job_free(jr.job);
	assert_int_equal(m.index, 120);
	assert_int_equal(persist_state_applied_index(p->lst), 170);
	/* What it holds, seen through an install on the follower. */
	assert_int_equal(
	    persist_snapshot_recv_begin(p->fst, m.index, m.term, m.size, m.crc, &r, NULL), 0);
	stream(p, &m, r);
	assert_int_equal(persist_snapshot_recv_finish(r, &got, NULL), 0);
	assert_int_equal(persist_state_applied_index(p->fst), 120);
	assert_int_equal(sm_rows(persist_state_db(p->fst)), 120);
	persist_snapshot_meta_free(&got);
	persist_snapshot_meta_free(&m);
}

/* A cancelled job makes nothing: no snapshot, no temporary file. */
static void test_cancelled_job_leaves_no_file(void **state)
{
	struct pair *p = *state;
	struct persist_snapshot_job *job;
	struct persist_snapshot_meta m;
	struct persist_error err;

	assert_int_equal(persist_snapshot_job_begin(p->lst, NULL, 0, &job, NULL), 0);
	persist_snapshot_job_cancel(job);
	assert_int_equal(persist_snapshot_job_run(job, &err), PERSIST_ECANCELED);
	assert_int_equal(persist_snapshot_job_take(job, &m), PERSIST_ECANCELED);
	assert_int_equal(m.index, 0);
	persist_snapshot_job_free(job);
	assert_int_equal(persist_snapshot_latest(p->leader->dir, &m, NULL), PERSIST_ENOENT);
	assert_int_not_equal(access(fx_path(p->leader, "snap-00000000000000000120-"
	                                               "00000000000000000001.tmp"),
	                            F_OK),
	                     0);
}

/* Reliability P10: a snapshot at or below the applied index is refused. */
static void test_stale_snapshot_refused(void **state)
{
	struct pair *p = *state;
	struct persist_snapshot_recv *r = NULL;
	struct persist_snapshot_meta m;
	struct persist_error err;

	assert_int_equal(persist_snapshot_recv_begin(p->fst, 10, 1, 4096, 0, &r, &err),
	                 PERSIST_ESTALE);
	assert_null(r);
	assert_int_equal(persist_snapshot_create(p->fst, NULL, 0, &m, NULL), 0);
	assert_int_equal(persist_snapshot_restore(p->fst, &m, &err), PERSIST_ESTALE);
	assert_int_equal(persist_state_applied_index(p->fst), 10);
	persist_snapshot_meta_free(&m);
}

static void test_out_of_order_chunk_refused(void **state)
{
	struct pair *p = *state;
	struct persist_snapshot_recv *r;
	char buf[16] = {0};

	assert_int_equal(persist_snapshot_recv_begin(p->fst, 50, 2, 32, 0, &r, NULL), 0);
	assert_int_equal(persist_snapshot_recv_chunk(r, 16, buf, 16, NULL), PERSIST_EINVAL);
	assert_int_equal(persist_snapshot_recv_chunk(r, 0, buf, 16, NULL), 0);
	assert_int_equal(persist_snapshot_recv_chunk(r, 16, buf, 16, NULL), 0);
	assert_int_equal(persist_snapshot_recv_chunk(r, 32, buf, 1, NULL), PERSIST_EINVAL);
	persist_snapshot_recv_abort(r);
}

/* A damaged transfer is caught by the CRC; nothing is installed or kept. */
static void test_damaged_transfer_not_installed(void **state)
{
	struct pair *p = *state;
	struct persist_snapshot_meta m;
	struct persist_snapshot_meta got;
	struct persist_snapshot_meta latest;
	struct persist_snapshot_recv *r;
	struct persist_error err;

	assert_int_equal(persist_snapshot_create(p->lst, NULL, 0, &m, NULL), 0);
	assert_int_equal(
	    persist_snapshot_recv_begin(p->fst, m.index, m.term, m.size, m.crc ^ 1, &r, NULL), 0);
	stream(p, &m, r);
	assert_int_equal(persist_snapshot_recv_finish(r, &got, &err), PERSIST_ECORRUPT);
	assert_non_null(strstr(err.msg, "CRC"));
	assert_int_equal(persist_state_applied_index(p->fst), 10);
	assert_int_equal(sm_rows(persist_state_db(p->fst)), 10);
	assert_int_equal(persist_snapshot_latest(p->follower->dir, &latest, NULL), PERSIST_ENOENT);
	persist_snapshot_meta_free(&m);
}

/* The transfer is intact (its CRC matches) but the database it carries is
 * not sound, as if the leader's disk had damaged it: nothing is installed. */
static void test_unsound_database_not_installed(void **state)
{
	struct pair *p = *state;
	struct persist_snapshot_meta m;
	struct persist_snapshot_meta got;
	struct persist_snapshot_recv *r;
	struct persist_error err;
	unsigned char *file;
	size_t n;

	assert_int_equal(persist_snapshot_create(p->lst, NULL, 0, &m, NULL), 0);
	file = malloc(m.size);
	assert_non_null(file);
	assert_int_equal(persist_snapshot_read(p->leader->dir, &m, 0, file, m.size, &n, NULL), 0);
	assert_int_equal(n, m.size);
	assert_true(m.size > 4 * 4096);
	memset(file + 3 * 4096, 0xA5, 12); /* page 4's b-tree header */
	assert_int_equal(persist_snapshot_recv_begin(p->fst, m.index, m.term, m.size,
	                                             persist_crc32c(0, file, n), &r, NULL),
	                 0);
	for (size_t off = 0; off < n; off += CHUNK) {
		size_t len = n - off < CHUNK ? n - off : CHUNK;

		assert_int_equal(persist_snapshot_recv_chunk(r, off, file + off, len, NULL), 0);
	}
	assert_int_equal(persist_snapshot_recv_finish(r, &got, &err), PERSIST_ECORRUPT);
	assert_non_null(strstr(err.msg, "not a sound database"));
	assert_int_equal(persist_state_applied_index(p->fst), 10);
	assert_int_equal(persist_snapshot_latest(p->follower->dir, &got, NULL), PERSIST_ENOENT);
	free(file);
	persist_snapshot_meta_free(&m);
}

/* state.db lost its latest applies (synchronous=NORMAL) while raft.db was
 * compacted behind a snapshot: opening state.db restores the snapshot. */
static void test_open_restores_newer_snapshot(void **state)
{
	struct pair *p = *state;
	struct persist_snapshot_meta m;
	const char *lost[] = {"state.db", "state.db-wal", "state.db-shm"};

	assert_int_equal(persist_snapshot_create(p->lst, NULL, 0, &m, NULL), 0);
	persist_state_close(p->lst);
	for (size_t i = 0; i < sizeof(lost) / sizeof(lost[0]); i++) {
		unlink(fx_path(p->leader, lost[i]));
	}
	assert_int_equal(persist_state_open(p->leader->dir, &p->lst, NULL), 0);
	assert_int_equal(persist_state_applied_index(p->lst), 120);
	assert_int_equal(sm_rows(persist_state_db(p->lst)), 120);
	persist_snapshot_meta_free(&m);
}

static void test_prune_keeps_newest(void **state)
{
	struct pair *p = *state;
	struct persist_snapshot_meta old;
	struct persist_snapshot_meta cur;
	struct persist_snapshot_meta latest;

	assert_int_equal(persist_snapshot_create(p->lst, NULL, 0, &old, NULL), 0);
	sm_apply_range(p->lst, 121, 30);
	assert_int_equal(persist_snapshot_create(p->lst, NULL, 0, &cur, NULL), 0);
	assert_int_equal(persist_snapshot_prune(p->leader->dir, cur.index, true, NULL), 0);
	assert_int_equal(persist_snapshot_latest(p->leader->dir, &latest, NULL), 0);
	assert_int_equal(latest.index, 150);
	{
		char buf[16];
		size_t got;

		assert_int_equal(
		    persist_snapshot_read(p->leader->dir, &old, 0, buf, sizeof(buf), &got, NULL),
		    PERSIST_ENOENT);
	}
	persist_snapshot_meta_free(&latest);
	persist_snapshot_meta_free(&cur);
	persist_snapshot_meta_free(&old);
}

/* A restore into a new data folder: the copy keeps the file's index, term
 * and state but records the configuration it is given, under a name that
 * carries its own CRC32C; the file copied from is left as it was, and
 * state.db opened in the new folder restores the copy. */
static void test_import_replaces_the_configuration(void **state)
{
	static const char next[] = "voters=7,8";
	struct pair *p = *state;
	struct persist_snapshot_meta m;
	struct persist_snapshot_meta got;
	struct persist_snapshot_meta latest;
	struct persist_snapshot_meta again;
	struct persist_state *st;
	char name[96];
	char src[512];
	bool crc_checked;
	void *fx;
	struct fx *to;

	assert_int_equal(persist_snapshot_create(p->lst, config, sizeof(config), &m, NULL), 0);
	snprintf(name, sizeof(name), "snap-%020d-%020d-%08x.db", 120, 1, (unsigned)m.crc);
	snprintf(src, sizeof(src), "%s", fx_path(p->leader, name));
	fx_setup(&fx);
	to = fx;
	assert_int_equal(persist_snapshot_import(to->dir, src, next, sizeof(next), &got, NULL), 0);
	assert_int_equal(got.index, 120);
	assert_int_equal(got.term, 1);
	assert_int_equal(got.config_len, sizeof(next));
	assert_memory_equal(got.config, next, sizeof(next));
	assert_int_not_equal(got.crc, m.crc);
	assert_int_equal(persist_snapshot_latest(to->dir, &latest, NULL), 0);
	assert_int_equal(latest.crc, got.crc);
	assert_memory_equal(latest.config, next, sizeof(next));
	assert_int_equal(persist_state_open(to->dir, &st, NULL), 0);
	assert_int_equal(persist_state_applied_index(st), 120);
	assert_int_equal(sm_rows(persist_state_db(st)), 120);
	persist_state_close(st);
	assert_int_equal(persist_snapshot_check_file(src, &again, &crc_checked, NULL), 0);
	assert_true(crc_checked);
	assert_memory_equal(again.config, config, sizeof(config));
	persist_snapshot_meta_free(&again);
	persist_snapshot_meta_free(&latest);
	persist_snapshot_meta_free(&got);
	persist_snapshot_meta_free(&m);
	fx_teardown(&fx);
}

/* A backup under a name of its own has no CRC in its name: the content
 * checksum recorded inside it still catches a row changed after it was made,
 * which SQLite's structural check does not. */
static void test_a_backup_keeps_its_content_checksum(void **state)
{
	struct pair *p = *state;
	struct persist_snapshot_meta m, again;
	struct persist_error err;
	char name[96], copy[512], cmd[1200];
	bool crc_checked = true;
	sqlite3 *db;

	assert_int_equal(persist_snapshot_create(p->lst, config, sizeof(config), &m, NULL), 0);
	snprintf(name, sizeof(name), "snap-%020d-%020d-%08x.db", 120, 1, (unsigned)m.crc);
	snprintf(copy, sizeof(copy), "%s/backup.db", p->leader->root);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", fx_path(p->leader, name), copy);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(persist_snapshot_check_file(copy, &again, &crc_checked, NULL), 0);
	assert_false(crc_checked);
	assert_int_equal(again.index, 120);
	persist_snapshot_meta_free(&again);
	assert_int_equal(sqlite3_open(copy, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "UPDATE kv SET v = 'changed' WHERE idx = 7", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(persist_snapshot_check_file(copy, &again, &crc_checked, &err),
	                 PERSIST_ECORRUPT);
	assert_non_null(strstr(err.msg, "content checksum"));
	persist_snapshot_meta_free(&m);
}

/* Neither a text file nor a database without persist's tables becomes a
 * snapshot, and nothing is left behind. */
static void test_import_refuses_what_is_no_snapshot(void **state)
{
	struct pair *p = *state;
	struct persist_snapshot_meta got;
	struct persist_error err;
	char path[512];
	sqlite3 *db;
	FILE *f;

	snprintf(path, sizeof(path), "%s/notes.txt", p->leader->root);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a database at all, just a few words of text\n", f);
	fclose(f);
	assert_int_equal(persist_snapshot_import(p->follower->dir, path, NULL, 0, &got, &err),
	                 PERSIST_ECORRUPT);
	assert_non_null(strstr(err.msg, "is not a snapshot"));
	snprintf(path, sizeof(path), "%s/other.db", p->leader->root);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1)", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(persist_snapshot_import(p->follower->dir, path, NULL, 0, &got, &err),
	                 PERSIST_ECORRUPT);
	assert_int_equal(got.index, 0);
	assert_int_equal(persist_snapshot_latest(p->follower->dir, &got, NULL), PERSIST_ENOENT);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, pair_setup, pair_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_create_at_applied_index),
	    T(test_no_snapshot_is_enoent),
	    T(test_install_received_in_chunks),
	    T(test_stale_snapshot_refused),
	    T(test_out_of_order_chunk_refused),
	    T(test_damaged_transfer_not_installed),
	    T(test_unsound_database_not_installed),
	    T(test_open_restores_newer_snapshot),
	    T(test_prune_keeps_newest),
	    T(test_job_copies_the_view_pinned_at_begin),
	    T(test_cancelled_job_leaves_no_file),
	    T(test_import_replaces_the_configuration),
	    T(test_import_refuses_what_is_no_snapshot),
	    T(test_a_backup_keeps_its_content_checksum),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
