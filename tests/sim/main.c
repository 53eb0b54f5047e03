/* main.c: the coord-sim command line.
 *
 *     coord-sim --seeds N --first-seed S --nodes K [--steps T]
 *     coord-sim --seed X [--nodes K] [--steps T] [--trace]
 *     coord-sim ... --break NAME
 *     coord-sim ... --wipes         members lose their data folders (admission, I14)
 *
 * --break injects a host-side fault (send before persist, a lying disk, a
 * forgotten vote, reads answered from local state, corrupted frames, peers
 * admitted against the admission rule) to show that the checkers catch it:
 * such a run is expected to fail.
 *
 * Runs seeds S..S+N-1 (or the one seed X), each in its own child process so
 * that an assertion or crash inside a core fails that seed, with its replay
 * command, instead of the whole run. The last line is "P passed, F failed";
 * the exit status is 1 if any seed failed, 2 on a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim.h"

#define MAIN_SEED_TIMEOUT 300 /* seconds one seed may take before it fails */

struct main_args {
	uint64_t seeds, first;
	struct sim_run run;
	bool fork;
};

static void main_usage(void)
{
	fprintf(stderr,
	        "usage: coord-sim --seeds N --first-seed S --nodes K [--steps T] [--wipes] "
	        "[--break NAME]\n"
	        "       coord-sim --seed X [--nodes K] [--steps T] [--trace] [--no-fork]\n"
	        "K is 3, 5 or 7; T defaults to %d\n",
	        SIM_DEFAULT_STEPS);
	exit(2);
}

static uint64_t main_number(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		main_usage();
	return v;
}

static enum sim_break main_break(const char *name)
{
	for (int b = 1; b <= SIM_BREAK_MAX; b++) {
		if (strcmp(name, sim_break_name((enum sim_break)b)) == 0)
			return (enum sim_break)b;
	}
	main_usage();
	return SIM_BREAK_NONE;
}

static void main_parse(int argc, char **argv, struct main_args *a)
{
	*a = (struct main_args){.seeds = 1, .fork = true};
	a->run = (struct sim_run){.nodes = 3, .steps = SIM_DEFAULT_STEPS};
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		bool has_value = i + 1 < argc;

		if (strcmp(o, "--trace") == 0)
			a->run.trace = true;
		else if (strcmp(o, "--no-fork") == 0)
			a->fork = false;
		else if (strcmp(o, "--wipes") == 0)
			a->run.wipes = true;
		else if (!has_value)
			main_usage();
		else if (strcmp(o, "--seeds") == 0)
			a->seeds = main_number(argv[++i]);
		else if (strcmp(o, "--first-seed") == 0 || strcmp(o, "--seed") == 0)
			a->first = main_number(argv[++i]);
		else if (strcmp(o, "--nodes") == 0)
			a->run.nodes = (unsigned)main_number(argv[++i]);
		else if (strcmp(o, "--steps") == 0)
			a->run.steps = main_number(argv[++i]);
		else if (strcmp(o, "--break") == 0)
			a->run.brk = main_break(argv[++i]);
		else
			main_usage();
	}
	if ((a->run.nodes != 3 && a->run.nodes != 5 && a->run.nodes != 7) || a->seeds == 0)
		main_usage();
	/* A trace is of one seed, in this process, so that it can be debugged. */
	if (a->run.trace) {
		a->seeds = 1;
		a->fork = false;
	}
}

/* Runs SEED in a child; true if it passed. */
static bool main_run_forked(const struct main_args *a, uint64_t seed)
{
	int status = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("coord-sim: fork");
		exit(2);
	}
	if (pid == 0) {
		bool ok;

		alarm(MAIN_SEED_TIMEOUT);
		ok = sim_run_seed(seed, &a->run);
		fflush(stdout);
		_exit(ok ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("coord-sim: waitpid");
			exit(2);
		}
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status) == 0;
	printf("FAIL seed %llu: killed by signal %d (%s)\n"
	       "  replay: coord-sim --seed %llu --nodes %u --steps %llu%s --trace%s%s\n",
	       (unsigned long long)seed, WTERMSIG(status),
	       WTERMSIG(status) == SIGALRM ? "timed out" : "an assertion or crash",
	       (unsigned long long)seed, a->run.nodes, (unsigned long long)a->run.steps,
	       a->run.wipes ? " --wipes" : "", a->run.brk ? " --break " : "",
	       a->run.brk ? sim_break_name(a->run.brk) : "");
	return false;
}

int main(int argc, char **argv)
{
	struct main_args a;
	uint64_t passed = 0, failed = 0;

	main_parse(argc, argv, &a);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (uint64_t i = 0; i < a.seeds; i++) {
		uint64_t seed = a.first + i;
		bool ok = a.fork ? main_run_forked(&a, seed) : sim_run_seed(seed, &a.run);

		if (ok)
			passed++;
		else
			failed++;
	}
	printf("%llu passed, %llu failed\n", (unsigned long long)passed,
	       (unsigned long long)failed);
	return failed > 0 ? 1 : 0;
}
