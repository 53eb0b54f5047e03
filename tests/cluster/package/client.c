/* A program built against the installed libcoord-dev alone
 * (cc client.c $(pkg-config --cflags --libs libcoord)), run by
 * test_package.py: it opens a session on the cluster at argv[1], takes the
 * lock argv[2], prints "token N" with its fencing token, and closes the
 * session. Exits 0 on success, 1 on any failure, saying which call. */
#include <libcoord.h>

#include <stdio.h>

/* Whether a call returned 0 with the outcome ok (libcoord.h: the outcome
 * is in the reply). */
static bool done(int rc, const struct coordc_reply *r)
{
	return rc == COORDC_OK && r->kind == COORDC_DONE_OK;
}

static int fail(const char *what, const struct coordc_reply *r)
{
	fprintf(stderr, "%s: %s (%ld) %s\n", what, r->error, r->status, r->message);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s ENDPOINT LOCK\n", argv[0]);
		return 1;
	}
	struct coordc_config cfg = {.endpoints = argv[1]};
	struct coordc *c;
	int err = coordc_open(&cfg, &c);
	if (err != COORDC_OK) {
		fprintf(stderr, "coordc_open: %s\n", coordc_strerror(err));
		return 1;
	}
	struct coordc_reply r = {0};
	char session[COORDC_SESSION_MAX];
	uint64_t sent_ms, token;
	int status = 1;
	if (!done(coordc_session_create(c, 10000, "package-test", session, &sent_ms, &r), &r)) {
		status = fail("session create", &r);
		goto close_client;
	}
	coordc_reply_clear(&r);
	if (!done(coordc_lock_acquire(c, argv[2], session, false, 0, NULL, &token, &r), &r)) {
		status = fail("lock acquire", &r);
		goto close_session;
	}
	printf("token %llu\n", (unsigned long long)token);
	status = 0;
close_session:
	coordc_reply_clear(&r);
	if (!done(coordc_session_close(c, session, &r), &r))
		status = fail("session close", &r);
close_client:
	coordc_reply_clear(&r);
	coordc_close(c);
	return status;
}
