/* coordctl's supervision of CMD under a lock or leadership (docs/API.md,
 * coordctl): CMD runs in its own process group; signals to coordctl are
 * passed on; when the client's lease leaves LIVE (keepalives failing, or the
 * session gone), the group gets SIGTERM and, a grace later, SIGKILL, both
 * before the lease counted from the last keepalive's SEND time can lapse, so
 * CMD never runs beside a successor (DESIGN.md, sessions; safety rule 8). */
#define _GNU_SOURCE /* pipe2, execvpe */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"

#define WAKE_MAX_MS   1000 /* longest sleep of the loop, a backstop */
#define ENV_EXTRA     4    /* the variables of env_names */
#define ENV_VALUE_MAX 512  /* bytes of one of those variables */

/* The variables coordctl gives CMD; none is inherited from its own
 * environment, so CMD never sees another run's lock beside this session. */
static const char *const env_names[ENV_EXTRA] = {
    "COORD_LOCK=", "COORD_SESSION=", "COORD_FENCING_TOKEN=", "COORD_KEY="};

extern char **environ;

/* Signal handlers and the keeper thread wake the loop through this pipe: a
 * byte per event, the signal number, or 0 for a change of the lease. */
static int wake_fd[2] = {-1, -1};

static void wake(unsigned char what)
{
	int saved = errno;

	if (write(wake_fd[1], &what, 1) < 0) {
		/* A full pipe already holds a wake-up. */
	}
	errno = saved;
}

volatile sig_atomic_t ctl_signalled;

static void on_signal(int sig)
{
	if (sig != SIGCHLD)
		ctl_signalled = sig;
	wake((unsigned char)sig);
}

static void install_handlers(void);

int ctl_supervise_prepare(void)
{
	if (wake_fd[0] >= 0)
		return 0;
	if (pipe2(wake_fd, O_CLOEXEC | O_NONBLOCK) != 0)
		return errno;
	install_handlers();
	return 0;
}

void ctl_lease_changed(void *arg, enum coordc_lease_state state)
{
	(void)arg;
	(void)state;
	wake(0);
}

static void install_handlers(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* Whether the environment entry VAR is one of env_names. */
static bool ours(const char *var)
{
	for (int i = 0; i < ENV_EXTRA; i++)
		if (strncmp(var, env_names[i], strlen(env_names[i])) == 0)
			return true;
	return false;
}

/* CMD's environment: ours without the variables of env_names, then those
 * S sets. Built before fork: the child of a threaded process may only call
 * async-signal-safe functions. Caller frees the array (VARS are its). */
static char **child_env(const struct ctl_supervision *s, char vars[ENV_EXTRA][ENV_VALUE_MAX])
{
	size_t n = 0, k = 0;
	int v = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + ENV_EXTRA + 1, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!ours(environ[i]))
			env[k++] = environ[i];
	}
	snprintf(vars[v++], ENV_VALUE_MAX, "COORD_SESSION=%s", s->session);
	if (s->lock != NULL) {
		snprintf(vars[v++], ENV_VALUE_MAX, "COORD_LOCK=%s", s->lock);
		snprintf(vars[v++], ENV_VALUE_MAX, "COORD_FENCING_TOKEN=%llu",
		         (unsigned long long)s->token);
	}
	if (s->key != NULL)
		snprintf(vars[v++], ENV_VALUE_MAX, "COORD_KEY=%s", s->key);
	for (int i = 0; i < v; i++)
		env[k++] = vars[i];
	env[k] = NULL;
	return env;
}

/* Forks and execs CMD in a new process group; returns its pid or -1. */
static pid_t spawn(const struct ctl_supervision *s)
{
	char vars[ENV_EXTRA][ENV_VALUE_MAX];
	char **env = child_env(s, vars);
	pid_t pid;

	if (env == NULL)
		return -1;
	pid = fork();
	if (pid == 0) {
		static const char msg[] = "coordctl: cannot run CMD\n";

		setpgid(0, 0);
		execvpe(s->cmd[0], s->cmd, env);
		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
			/* Nothing more to say. */
		}
		_exit(errno == ENOENT ? 127 : 126);
	}
	if (pid > 0)
		setpgid(pid, pid); /* also here: whichever runs first */
	free(env);
	return pid;
}

/* Passes the signals that woke us on to CMD's group. */
static void drain(pid_t group)
{
	unsigned char buf[64];
	ssize_t n;

	while ((n = read(wake_fd[0], buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == SIGINT || buf[i] == SIGTERM || buf[i] == SIGHUP)
				kill(-group, buf[i]);
		}
	}
}

int ctl_supervise(const struct ctl_supervision *s, bool *lost)
{
	bool terminating = false, killed = false;
	uint64_t kill_at = 0;
	int wstatus = 0;
	pid_t pid;

	*lost = false;
	if (ctl_supervise_prepare() != 0)
		return 127;
	pid = spawn(s);
	if (pid < 0)
		return 127;
	for (;;) {
		struct pollfd p = {wake_fd[0], POLLIN, 0};
		uint64_t now, deadline, wake_at;

		if (waitpid(pid, &wstatus, WNOHANG) == pid)
			break;
		now = coordc_now_ms();
		if (!terminating &&
		    coordc_keeper_state(s->keeper, &deadline) != COORDC_LEASE_LIVE) {
			/* SIGKILL a grace after SIGTERM, but never later than
			 * the safety slack before the deadline. */
			uint64_t latest = deadline - (s->margin_ms - s->grace_ms);

			terminating = *lost = true;
			kill(-pid, SIGTERM);
			/* The deadline in CLOCK_MONOTONIC ms, for whoever checks
			 * that CMD stopped before it. */
			fprintf(stderr,
			        "coordctl: keepalives failing; stopping CMD (lease deadline %llu, "
			        "now %llu, monotonic ms)\n",
			        (unsigned long long)deadline, (unsigned long long)now);
			kill_at = now + s->grace_ms < latest ? now + s->grace_ms : latest;
		}
		if (terminating && !killed && now >= kill_at) {
			kill(-pid, SIGKILL);
			killed = true;
		}
		if (!terminating)
			wake_at = deadline - s->margin_ms;
		else
			wake_at = killed ? now + WAKE_MAX_MS : kill_at;
		if (wake_at > now + WAKE_MAX_MS)
			wake_at = now + WAKE_MAX_MS;
		poll(&p, 1, wake_at > now ? (int)(wake_at - now) : 0);
		drain(pid);
	}
	/* Whatever CMD left behind in its group must not outlive the lease. */
	if (*lost)
		kill(-pid, SIGKILL);
	return ctl_child_status(wstatus);
}
