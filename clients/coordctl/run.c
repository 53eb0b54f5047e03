/* coordctl lock, elect and register (docs/API.md, coordctl): open a
 * session, keep it alive from the keeper thread, acquire the lock, win the
 * election or put the ephemeral key, run CMD under supervision, then
 * release and close (closing the session deletes the key with it). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "lease.h"

/* Release and close after CMD: a few short attempts, so a frozen cluster
 * cannot hold coordctl long (the session then simply expires). */
#define CLEANUP_TIMEOUT_MS 2000
#define CLEANUP_ATTEMPTS   3
#define CLEANUP_BUDGET_MS  4000

struct run {
	bool elect;
	bool reg;         /* register: NAME is a key, the ephemeral key of the session */
	const char *name; /* the lock, election or key */
	struct ctl_args a;
	char session[COORDC_SESSION_MAX];
	uint64_t token;
	struct coordc_keeper *keeper;
	uint32_t grace_ms, margin_ms;
};

static void pause_ms(uint64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* Puts the key of `register`, VALUE, as the session's ephemeral key: it
 * lives until the session ends. Not resent after a lost answer (libcoord.h):
 * then the exit is 69, and the close that follows deletes the key if the
 * put did apply. Returns 0 or the exit code. */
static int put_key(struct ctl *ctl, struct run *run)
{
	struct coordc_reply r;
	int rc = coordc_kv_put(ctl->client, run->name, run->a.pos[1], run->session, NULL, NULL, &r);

	if (rc != COORDC_OK) {
		fprintf(stderr, "coordctl: register: %s: %s\n", run->name, coordc_strerror(rc));
		rc = CTL_EXIT_USAGE;
	} else {
		rc = r.kind == COORDC_DONE_OK ? 0 : ctl_fail("register", &r);
	}
	coordc_reply_clear(&r);
	return rc;
}

/* Acquires the lock (or wins the election) within --wait. Without --wait a
 * lock is a try-lock and an election is contested until won. Returns 0 or
 * the exit code. */
static int obtain(struct ctl *ctl, struct run *run)
{
	uint64_t until = coordc_now_ms() + run->a.wait_ms;

	if (run->reg)
		return put_key(ctl, run);

	for (;;) {
		uint64_t now = coordc_now_ms(), wait;
		struct coordc_reply r;
		int rc;

		if (!run->a.has_wait)
			wait = run->elect ? CTL_WAIT_MAX_MS : 0;
		else
			wait = until > now ? until - now : 0;
		if (run->elect)
			rc = coordc_campaign(ctl->client, run->name, run->session, run->a.value,
			                     wait, &run->token, &r);
		else
			rc =
			    coordc_lock_acquire(ctl->client, run->name, run->session, run->a.shared,
			                        wait, run->a.value, &run->token, &r);
		if (rc != COORDC_OK) {
			fprintf(stderr, "coordctl: %s: %s\n", run->name, coordc_strerror(rc));
			return CTL_EXIT_USAGE;
		}
		if (r.kind == COORDC_DONE_OK) {
			coordc_reply_clear(&r);
			return 0;
		}
		if (ctl_signalled) {
			coordc_reply_clear(&r);
			return CTL_EXIT_FAIL; /* run_cmd reports the signal */
		}
		now = coordc_now_ms();
		if (coordc_keeper_state(run->keeper, NULL) == COORDC_LEASE_LOST) {
			coordc_reply_clear(&r);
			fprintf(stderr, "coordctl: %s: the session expired while waiting\n",
			        run->name);
			return CTL_EXIT_LOST;
		}
		/* A lock-delay (423) is waited out within --wait; an election
		 * without --wait is contested again after each long wait. */
		if (r.status == 423 && run->a.has_wait && until > now) {
			uint64_t left = until - now;

			pause_ms(r.retry_after_ms && r.retry_after_ms < left ? r.retry_after_ms
			                                                     : left);
		} else if (!(r.status == 409 && run->elect && !run->a.has_wait)) {
			rc = ctl_fail(run->name, &r);
			coordc_reply_clear(&r);
			return rc;
		}
		coordc_reply_clear(&r);
	}
}

/* Releases (or resigns) and closes with a short-lived client. After a lost
 * lease only the close is tried: it releases everything the session holds,
 * and the cluster is likely unreachable. */
static void cleanup(const struct ctl *ctl, const struct run *run, bool release)
{
	struct coordc_config cfg = ctl->cfg;
	struct coordc_reply r;
	struct coordc *c;

	cfg.request_timeout_ms = CLEANUP_TIMEOUT_MS;
	cfg.max_attempts = CLEANUP_ATTEMPTS;
	cfg.retry_budget_ms = CLEANUP_BUDGET_MS;
	if (coordc_open(&cfg, &c) != COORDC_OK)
		return;
	if (release) {
		if (run->elect)
			coordc_resign(c, run->name, run->session, &r);
		else
			coordc_lock_release(c, run->name, run->session, &r);
		coordc_reply_clear(&r);
	}
	/* Closing also releases anything a lost answer left granted. */
	coordc_session_close(c, run->session, &r);
	coordc_reply_clear(&r);
	coordc_close(c);
}

/* The exit status after a signal ended the wait: the shell's 128 + N. */
static int interrupted(void)
{
	fprintf(stderr, "coordctl: interrupted by signal %d\n", (int)ctl_signalled);
	return 128 + ctl_signalled;
}

/* Session, keeper, obtain, supervise, cleanup. */
static int run_cmd(struct ctl *ctl, struct run *run)
{
	struct coordc_reply r;
	struct ctl_supervision sup;
	uint64_t sent;
	bool lost = false;
	int rc;

	if (ctl_supervise_prepare() != 0) {
		fprintf(stderr, "coordctl: cannot set up signal handling\n");
		return CTL_EXIT_FAIL;
	}
	coordc_set_abort(ctl->client, &ctl_signalled);
	rc = coordc_session_create(ctl->client, (uint32_t)run->a.ttl_ms, "coordctl", run->session,
	                           &sent, &r);
	if (rc != COORDC_OK || r.kind != COORDC_DONE_OK) {
		rc = rc != COORDC_OK ? CTL_EXIT_FAIL
		     : ctl_signalled ? interrupted()
		                     : ctl_fail("session create", &r);
		coordc_reply_clear(&r);
		return rc;
	}
	coordc_reply_clear(&r);
	coordc_lease_plan((uint32_t)run->a.ttl_ms, &run->grace_ms, &run->margin_ms);
	rc = coordc_keeper_start(&ctl->cfg, run->session, (uint32_t)run->a.ttl_ms, sent,
	                         run->margin_ms, ctl_lease_changed, NULL, &run->keeper);
	if (rc != 0) {
		fprintf(stderr, "coordctl: cannot keep the session alive: %s\n",
		        coordc_strerror(rc));
		cleanup(ctl, run, false);
		return CTL_EXIT_FAIL;
	}
	rc = obtain(ctl, run);
	if (rc != 0 && ctl_signalled)
		rc = interrupted();
	if (rc == 0 && coordc_keeper_state(run->keeper, NULL) != COORDC_LEASE_LIVE) {
		/* Granted, but too late to run anything safely under it. */
		fprintf(stderr, "coordctl: %s: session lease ran short before CMD started\n",
		        run->name);
		rc = CTL_EXIT_LOST;
		lost = true;
	}
	if (rc == 0) {
		sup = (struct ctl_supervision){.cmd = run->a.cmd,
		                               .lock = run->reg ? NULL : run->name,
		                               .session = run->session,
		                               .token = run->token,
		                               .key = run->reg ? run->name : NULL,
		                               .keeper = run->keeper,
		                               .grace_ms = run->grace_ms,
		                               .margin_ms = run->margin_ms};
		rc = ctl_supervise(&sup, &lost);
		if (lost) {
			fprintf(stderr, "coordctl: %s: %s lost while CMD ran; CMD stopped\n",
			        run->name, run->reg ? "session (and with it the key)" : "lock");
			rc = CTL_EXIT_LOST;
		}
	}
	coordc_keeper_stop(run->keeper);
	cleanup(ctl, run, !run->reg && !lost && rc != CTL_EXIT_NOT_ACQUIRED);
	return rc;
}

int ctl_cmd_lock(struct ctl *ctl, int argc, char **argv)
{
	struct run run = {.elect = false};
	bool done;
	int rc = ctl_args("lock", argc, argv,
	                  CTL_OPT_SHARED | CTL_OPT_WAIT | CTL_OPT_TTL | CTL_OPT_VALUE | CTL_OPT_CMD,
	                  1, &run.a, &done);

	if (done)
		return rc;
	run.name = run.a.pos[0];
	return run_cmd(ctl, &run);
}

int ctl_cmd_elect(struct ctl *ctl, int argc, char **argv)
{
	struct run run = {.elect = true};
	bool done;
	int rc =
	    ctl_args("elect", argc, argv, CTL_OPT_VALUE | CTL_OPT_WAIT | CTL_OPT_TTL | CTL_OPT_CMD,
	             1, &run.a, &done);

	if (done)
		return rc;
	if (run.a.value == NULL) {
		fprintf(stderr, "coordctl elect: --value V is required\n");
		return CTL_EXIT_USAGE;
	}
	run.name = run.a.pos[0];
	return run_cmd(ctl, &run);
}

int ctl_cmd_register(struct ctl *ctl, int argc, char **argv)
{
	struct run run = {.reg = true};
	bool done;
	int rc = ctl_args("register", argc, argv, CTL_OPT_TTL | CTL_OPT_CMD, 2, &run.a, &done);

	if (done)
		return rc;
	run.name = run.a.pos[0];
	return run_cmd(ctl, &run);
}
