/* Crash safety of raft.db: a child process appends batches (each with a hard
 * state) as fast as it can and reports every batch persist_log_write()
 * called durable; the parent kills it with SIGKILL at a random moment, then
 * reopens the log and checks that it
 *   - holds every batch the child reported (nothing acknowledged is lost,
 *     safety rule 2),
 *   - is a prefix of what the child attempted, ending on a batch boundary
 *     (a batch is all or nothing: group commit is one transaction),
 *   - has the hard state of its last batch, term and vote together (rule 1).
 * The child continues from whatever the reopened log holds, so the log grows
 * across rounds. The seed is printed; PERSIST_CRASH_SEED replays one.
 *
 * SIGKILL alone keeps the page cache, so it cannot tell a synced write from
 * an unsynced one. The second test also cuts the power (lazyfs.h): every
 * write SQLite had not synced when the child died is undone before the log
 * is reopened, so a batch reported durable without its fsync would be lost
 * and caught. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "lazyfs.h"

#define CRASH_ROUNDS        200
#define POWER_ROUNDS        60
#define CRASH_BATCH_MAX     32    /* entries per batch */
#define CRASH_DELAY_MAX_US  10000 /* longest wait before a kill */
#define CRASH_CHILD_FAILURE 3     /* child's exit status if a write fails */

/* The batch starting at index `first` has this many entries, all of term
 * `first`, and writes hard state (first, vote_for(first)). */
static size_t batch_size(uint64_t first)
{
	uint64_t h = first * 0x9E3779B97F4A7C15ull;

	return 1 + (size_t)((h >> 40) % CRASH_BATCH_MAX);
}

static uint64_t vote_for(uint64_t term)
{
	return term % 5 + 1;
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The child: append batches forever, reporting each durable last index. */
static void child_run(const char *data, int out, int lazy)
{
	struct persist_entry e[CRASH_BATCH_MAX];
	char bufs[CRASH_BATCH_MAX][FX_PAYLOAD_MAX];
	struct persist_log_state s;
	struct persist_log *log;
	struct persist_dir *dir;
	uint64_t next;

	if ((lazy && lazyfs_register() != 0) || persist_dir_open(data, &dir, NULL) != 0 ||
	    persist_log_open(dir, &log, &s, NULL) != 0) {
		_exit(CRASH_CHILD_FAILURE);
	}
	persist_log_state_free(&s);
	for (next = persist_log_last_index(log) + 1;;) {
		struct persist_hardstate hs = {.term = next, .vote = vote_for(next)};
		struct persist_write w = {
		    .hardstate = &hs, .entries = e, .n_entries = batch_size(next)};
		uint64_t last = next + w.n_entries - 1;

		for (size_t i = 0; i < w.n_entries; i++) {
			fx_entry(&e[i], next + i, next, bufs[i]);
		}
		if (persist_log_write(log, &w, NULL) != 0) {
			_exit(CRASH_CHILD_FAILURE);
		}
		/* Durable: report it (8 bytes < PIPE_BUF, so never torn). */
		if (write(out, &last, sizeof(last)) != sizeof(last)) {
			_exit(CRASH_CHILD_FAILURE);
		}
		next = last + 1;
	}
}

/* Three rounds in four, the kill waits for the child's first durable batch,
 * so it lands among writes; the fourth may land anywhere, start-up and
 * recovery of the WAL included. Returns the first report, or 0. */
static uint64_t await_kill(int in, uint64_t *rng)
{
	uint64_t first = 0;

	if (rng_next(rng) % 4 != 0) {
		assert_int_equal(read(in, &first, sizeof(first)), sizeof(first));
	}
	usleep((useconds_t)(rng_next(rng) % CRASH_DELAY_MAX_US));
	return first;
}

/* Reads everything the killed child reported; returns the highest index. */
static uint64_t drain_reports(int in, uint64_t max)
{
	uint64_t v;
	ssize_t n;

	while ((n = read(in, &v, sizeof(v))) == sizeof(v)) {
		max = v > max ? v : max;
	}
	assert_int_equal(n, 0);
	return max;
}

/* Checks the reopened log against the deterministic sequence of batches. */
static uint64_t verify_log(struct fx *f, uint64_t reported)
{
	struct persist_log_state s;
	struct persist_log *log;
	uint64_t first = 1;
	uint64_t last_batch = 0;
	size_t i = 0;

	fx_reopen_dir(f);
	assert_int_equal(persist_log_open(f->dir, &log, &s, &f->err), 0);
	while (i < s.entries.n) {
		size_t n = batch_size(first);

		assert_true(i + n <= s.entries.n); /* no torn batch */
		for (size_t k = 0; k < n; k++) {
			fx_assert_entry(&s.entries.v[i + k], first + k, first);
		}
		last_batch = first;
		i += n;
		first += n;
	}
	assert_true(s.entries.n >= reported); /* nothing acknowledged lost */
	assert_int_equal(s.hardstate.term, last_batch);
	assert_int_equal(s.hardstate.vote, last_batch ? vote_for(last_batch) : 0);
	persist_log_state_free(&s);
	persist_log_close(log);
	persist_dir_close(f->dir); /* the next child takes the lock */
	f->dir = NULL;
	return first - 1;
}

struct crash_run {
	int rounds;
	int power_loss;  /* undo unsynced writes after each kill */
	int killed_busy; /* rounds in which the child had made progress */
	long undone;     /* unsynced writes undone, over all rounds */
	uint64_t held;   /* last index of the log after the last round */
};

/* One round: fork a child, kill it, (cut the power,) check the log. */
static void crash_round(struct fx *f, struct crash_run *run, uint64_t *rng)
{
	int fds[2];
	int status;
	pid_t pid;
	uint64_t reported;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		child_run(f->data, fds[1], run->power_loss);
	}
	close(fds[1]);
	reported = await_kill(fds[0], rng);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* Killed, not failed: a child that stopped by itself proves nothing. */
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	reported = drain_reports(fds[0], reported);
	close(fds[0]);
	if (run->power_loss) {
		run->undone += lazyfs_power_loss(f->data);
	}
	run->killed_busy += reported > run->held;
	run->held = verify_log(f, reported);
}

static void crash_rounds(struct fx *f, struct crash_run *run)
{
	const char *env = getenv("PERSIST_CRASH_SEED");
	uint64_t seed = env != NULL ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) | 1;
	uint64_t rng = seed;

	printf("crash test seed %llu (PERSIST_CRASH_SEED to replay)\n", (unsigned long long)seed);
	persist_dir_close(f->dir);
	f->dir = NULL;
	for (int round = 0; round < run->rounds; round++) {
		crash_round(f, run, &rng);
	}
	printf("%d kills%s, %d after durable progress, %ld unsynced writes undone,"
	       " log ends at %llu\n",
	       run->rounds, run->power_loss ? " with power loss" : "", run->killed_busy,
	       run->undone, (unsigned long long)run->held);
	/* The kills must have landed while the child was writing. */
	assert_true(run->killed_busy >= run->rounds / 2);
	fx_reopen_dir(f);
}

static void test_sigkill_never_loses_a_durable_batch(void **state)
{
	struct crash_run run = {.rounds = CRASH_ROUNDS};

	crash_rounds(*state, &run);
}

static void test_power_loss_never_loses_a_durable_batch(void **state)
{
	struct crash_run run = {.rounds = POWER_ROUNDS, .power_loss = 1};

	crash_rounds(*state, &run);
	/* Some kills must have caught writes in flight, or nothing was tested. */
	assert_true(run.undone > 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_sigkill_never_loses_a_durable_batch),
	    T(test_power_loss_never_loses_a_durable_batch),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
