/* coordctl's one-shot commands: status, locks, lock-info, session, acquire,
 * release and leader (with --watch). Each prints the answer and exits with
 * the code of docs/API.md (coordctl). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

/* GET PATH and print its JSON; WHAT names the request in errors. */
static int get_and_print(struct ctl *ctl, const char *what, const char *path)
{
	struct coordc_reply r;
	int rc;

	rc = coordc_call(ctl->client, "GET", path, NULL, COORDC_IDEMPOTENT, 0, &r);
	if (rc != COORDC_OK) {
		fprintf(stderr, "coordctl: %s: %s\n", what, coordc_strerror(rc));
		return CTL_EXIT_USAGE;
	}
	rc = r.kind == COORDC_DONE_OK ? (ctl_print_json(r.body), CTL_EXIT_OK) : ctl_fail(what, &r);
	coordc_reply_clear(&r);
	return rc;
}

/* The shape of a listing in one page (ctl.h). */
int ctl_list_and_print(struct ctl *ctl, const char *what, const char *path, const char *key,
                       uint32_t limit)
{
	struct coordc_reply r;
	json_t *items, *all;
	int rc;

	rc = coordc_list(ctl->client, path, key, limit, CTL_LIST_PAGES_MAX, &items, &r);
	if (rc != COORDC_OK) {
		fprintf(stderr, "coordctl: %s: %s\n", what, coordc_strerror(rc));
		coordc_reply_clear(&r);
		return CTL_EXIT_USAGE;
	}
	if (items == NULL) {
		rc = ctl_fail(what, &r);
		coordc_reply_clear(&r);
		return rc;
	}
	coordc_reply_clear(&r);
	all = json_pack("{s:o}", key, items);
	if (all == NULL) {
		fprintf(stderr, "coordctl: %s: %s\n", what, coordc_strerror(COORDC_ERR_NOMEM));
		return CTL_EXIT_FAIL;
	}
	ctl_print_json(all);
	json_decref(all);
	return CTL_EXIT_OK;
}

/* PATH = PREFIX ARG SUFFIX, or a usage error when it does not fit. */
static bool make_path(char path[COORDC_URL_MAX], const char *prefix, const char *arg,
                      const char *suffix)
{
	int n = snprintf(path, COORDC_URL_MAX, "%s%s%s", prefix, arg, suffix);

	if (n < 0 || n >= COORDC_URL_MAX) {
		fprintf(stderr, "coordctl: argument too long\n");
		return false;
	}
	return true;
}

int ctl_cmd_status(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_args a;
	bool done;
	int rc = ctl_args("status", argc, argv, 0, 0, &a, &done);

	return done ? rc : get_and_print(ctl, "status", "/v1/status");
}

int ctl_cmd_locks(struct ctl *ctl, int argc, char **argv)
{
	char path[COORDC_URL_MAX];
	struct ctl_args a;
	bool done;
	int rc = ctl_args("locks", argc, argv, CTL_OPT_PREFIX, 0, &a, &done);

	if (done)
		return rc;
	if (!make_path(path, "/v1/locks?prefix=", a.prefix ? a.prefix : "", ""))
		return CTL_EXIT_USAGE;
	return ctl_list_and_print(ctl, "locks", path, "locks", CTL_LIST_LOCKS);
}

int ctl_cmd_lock_info(struct ctl *ctl, int argc, char **argv)
{
	char path[COORDC_URL_MAX];
	struct ctl_args a;
	bool done;
	int rc = ctl_args("lock-info", argc, argv, 0, 1, &a, &done);

	if (done)
		return rc;
	if (!make_path(path, "/v1/locks/", a.pos[0], ""))
		return CTL_EXIT_USAGE;
	return get_and_print(ctl, "lock-info", path);
}

/* session create [--ttl D] [--name N] */
static int session_create(struct ctl *ctl, int argc, char **argv)
{
	char id[COORDC_SESSION_MAX];
	struct coordc_reply r;
	struct ctl_args a;
	uint64_t sent;
	bool done;
	int rc = ctl_args("session", argc, argv, CTL_OPT_TTL | CTL_OPT_NAME, 0, &a, &done);

	if (done)
		return rc;
	rc = coordc_session_create(ctl->client, (uint32_t)a.ttl_ms, a.name, id, &sent, &r);
	if (rc == COORDC_OK && r.kind == COORDC_DONE_OK) {
		printf("%s\n", id);
		rc = CTL_EXIT_OK;
	} else {
		rc = rc != COORDC_OK ? CTL_EXIT_FAIL : ctl_fail("session create", &r);
	}
	coordc_reply_clear(&r);
	return rc;
}

/* session keepalive ID | close ID */
static int session_one(struct ctl *ctl, const char *verb, int argc, char **argv)
{
	char path[COORDC_URL_MAX];
	struct coordc_reply r;
	struct ctl_args a;
	bool done;
	bool close = strcmp(verb, "close") == 0;
	int rc = ctl_args("session", argc, argv, 0, 1, &a, &done);

	if (done)
		return rc;
	if (!make_path(path, "/v1/sessions/", a.pos[0], close ? "" : "/keepalive"))
		return CTL_EXIT_USAGE;
	/* A keepalive is not retried here: a caller timing its lease must
	 * count from its own send of the request that succeeded. */
	rc = coordc_call(ctl->client, close ? "DELETE" : "POST", path, NULL,
	                 close ? COORDC_IDEMPOTENT : COORDC_NO_RETRY, 0, &r);
	if (rc != COORDC_OK)
		return CTL_EXIT_USAGE;
	rc = r.kind == COORDC_DONE_OK ? (ctl_print_json(r.body), CTL_EXIT_OK)
	                              : ctl_fail(close ? "session close" : "session keepalive", &r);
	coordc_reply_clear(&r);
	return rc;
}

static void pause_ms(uint64_t ms);

/* One poll of session events at BASE after INDEX: prints each event on a
 * line and moves *INDEX on; *ENDED once session_ended came. Returns -1 to
 * poll again, or the exit code. */
static int events_poll(struct ctl *ctl, const char *base, uint64_t *index, bool *ended)
{
	char path[COORDC_URL_MAX];
	struct coordc_reply r;
	json_t *e;
	size_t i;
	int rc = -1;
	int n = snprintf(path, sizeof(path), "%s?index=%llu&wait=%llums", base,
	                 (unsigned long long)*index, (unsigned long long)CTL_WATCH_WAIT_MS);

	if (n < 0 || n >= (int)sizeof(path))
		return CTL_EXIT_USAGE;
	coordc_call(ctl->client, "GET", path, NULL, COORDC_IDEMPOTENT,
	            (uint32_t)CTL_WATCH_WAIT_MS + 10000, &r);
	if (r.kind == COORDC_DONE_OK) {
		json_array_foreach(json_object_get(r.body, "events"), i, e)
		{
			const char *type = json_string_value(json_object_get(e, "type"));

			json_dumpf(e, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
			fputc('\n', stdout);
			*ended = *ended || (type != NULL && strcmp(type, "session_ended") == 0);
		}
		fflush(stdout);
		*index = (uint64_t)json_integer_value(json_object_get(r.body, "index"));
	} else if (r.status == 410 && strcmp(r.error, "compacted") == 0) {
		/* Events were dropped before this watcher read them: say so,
		 * and go on from where every event is kept. */
		*index = (uint64_t)json_integer_value(json_object_get(r.body, "index"));
		fprintf(stderr,
		        "coordctl: session events: some events up to index %llu were dropped\n",
		        (unsigned long long)*index);
	} else if (r.status >= 400 && r.status < 500) {
		rc = ctl_fail("session events", &r); /* 4xx is final */
	} else {
		pause_ms(CTL_WATCH_PAUSE_MS); /* a failover: keep watching */
	}
	coordc_reply_clear(&r);
	return rc;
}

/* session events ID [--watch]: the session's events as JSON; with --watch,
 * one line per event as it comes, until the session ended (API.md,
 * Sessions: Session events). */
static int session_events(struct ctl *ctl, int argc, char **argv)
{
	char path[COORDC_URL_MAX];
	struct ctl_args a;
	uint64_t index = 0;
	bool done, ended = false;
	int rc = ctl_args("session", argc, argv, CTL_OPT_WATCH, 1, &a, &done);

	if (done)
		return rc;
	if (!make_path(path, "/v1/sessions/", a.pos[0], "/events"))
		return CTL_EXIT_USAGE;
	if (!a.watch)
		return get_and_print(ctl, "session events", path);
	while ((rc = events_poll(ctl, path, &index, &ended)) < 0 && !ended)
		;
	return rc < 0 ? CTL_EXIT_OK : rc;
}

int ctl_cmd_session(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
		ctl_help("session");
		return argc < 1 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
	}
	if (strcmp(argv[0], "create") == 0)
		return session_create(ctl, argc - 1, argv + 1);
	if (strcmp(argv[0], "keepalive") == 0 || strcmp(argv[0], "close") == 0)
		return session_one(ctl, argv[0], argc - 1, argv + 1);
	if (strcmp(argv[0], "events") == 0)
		return session_events(ctl, argc - 1, argv + 1);
	if (strcmp(argv[0], "list") == 0) {
		struct ctl_args a;
		bool done;
		int rc = ctl_args("session", argc - 1, argv + 1, 0, 0, &a, &done);

		return done ? rc
		            : ctl_list_and_print(ctl, "session list", "/v1/sessions", "sessions",
		                                 CTL_LIST_SESSIONS);
	}
	fprintf(stderr, "coordctl session: unknown '%s' (create, keepalive, close, list, events)\n",
	        argv[0]);
	return CTL_EXIT_USAGE;
}

int ctl_cmd_acquire(struct ctl *ctl, int argc, char **argv)
{
	struct coordc_reply r;
	struct ctl_args a;
	uint64_t token = 0;
	bool done;
	int rc = ctl_args("acquire", argc, argv, CTL_OPT_SESSION | CTL_OPT_SHARED | CTL_OPT_WAIT, 1,
	                  &a, &done);

	if (done)
		return rc;
	if (a.session == NULL) {
		fprintf(stderr, "coordctl acquire: --session ID is required\n");
		return CTL_EXIT_USAGE;
	}
	rc = coordc_lock_acquire(ctl->client, a.pos[0], a.session, a.shared, a.wait_ms, NULL,
	                         &token, &r);
	if (rc != COORDC_OK)
		return CTL_EXIT_USAGE;
	if (r.kind == COORDC_DONE_OK) {
		printf("%llu\n", (unsigned long long)token);
		rc = CTL_EXIT_OK;
	} else {
		rc = ctl_fail("acquire", &r);
	}
	coordc_reply_clear(&r);
	return rc;
}

int ctl_cmd_release(struct ctl *ctl, int argc, char **argv)
{
	struct coordc_reply r;
	struct ctl_args a;
	bool done;
	int rc = ctl_args("release", argc, argv, CTL_OPT_SESSION, 1, &a, &done);

	if (done)
		return rc;
	if (a.session == NULL) {
		fprintf(stderr, "coordctl release: --session ID is required\n");
		return CTL_EXIT_USAGE;
	}
	rc = coordc_lock_release(ctl->client, a.pos[0], a.session, &r);
	if (rc != COORDC_OK)
		return CTL_EXIT_USAGE;
	rc = r.kind == COORDC_DONE_OK ? (ctl_print_json(r.body), CTL_EXIT_OK)
	                              : ctl_fail("release", &r);
	coordc_reply_clear(&r);
	return rc;
}

/* Identifies the leadership of an election answer (session, value, token)
 * by a 64-bit FNV-1a hash of its JSON text; 0 when nobody leads. *VALUE gets
 * the leader's value (borrowed from BODY), NULL when nobody leads. */
static uint64_t leader_key(const json_t *body, const char **value)
{
	const json_t *leader = json_object_get(body, "leader");
	uint64_t h = 14695981039346656037ULL;
	char *text;

	*value = json_string_value(json_object_get(leader, "value"));
	if (!json_is_object(leader))
		return 0;
	text = json_dumps(leader, JSON_COMPACT | JSON_SORT_KEYS);
	for (const char *p = text ? text : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	free(text);
	return h ? h : 1;
}

static void pause_ms(uint64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* Prints a line per change of leader, until killed. */
static int leader_watch(struct ctl *ctl, const char *name)
{
	char path[COORDC_URL_MAX];
	uint64_t index = 0, last = 0;
	bool first = true;

	for (;;) {
		struct coordc_reply r;
		const char *value;
		uint64_t key;
		/* The first read answers at once, so the current state is the
		 * first line; later ones long-poll past the index seen. */
		int n =
		    first ? snprintf(path, sizeof(path), "/v1/elections/%s", name)
		          : snprintf(path, sizeof(path), "/v1/elections/%s?index=%llu&wait=%llums",
		                     name, (unsigned long long)index,
		                     (unsigned long long)CTL_WATCH_WAIT_MS);

		if (n < 0 || n >= (int)sizeof(path))
			return CTL_EXIT_USAGE;
		coordc_call(ctl->client, "GET", path, NULL, COORDC_IDEMPOTENT,
		            (uint32_t)CTL_WATCH_WAIT_MS + 10000, &r);
		if (r.kind != COORDC_DONE_OK) {
			/* Keep watching through a failover; 4xx is final. */
			if (r.status >= 400 && r.status < 500)
				return ctl_fail("leader", &r);
			coordc_reply_clear(&r);
			pause_ms(CTL_WATCH_PAUSE_MS);
			continue;
		}
		key = leader_key(r.body, &value);
		if (first || key != last) {
			printf("%s\n", value ? value : "");
			fflush(stdout);
			last = key;
			first = false;
		}
		index = r.index;
		coordc_reply_clear(&r);
	}
}

int ctl_cmd_leader(struct ctl *ctl, int argc, char **argv)
{
	char path[COORDC_URL_MAX];
	struct coordc_reply r;
	struct ctl_args a;
	const char *value;
	bool done;
	int rc;

	/* "transfer" names the Raft leadership's move, not an election. */
	if (argc >= 1 && strcmp(argv[0], "transfer") == 0)
		return ctl_leader_transfer(ctl, argc - 1, argv + 1);
	rc = ctl_args("leader", argc, argv, CTL_OPT_WATCH, 1, &a, &done);
	if (done)
		return rc;
	if (a.watch)
		return leader_watch(ctl, a.pos[0]);
	if (!make_path(path, "/v1/elections/", a.pos[0], ""))
		return CTL_EXIT_USAGE;
	coordc_call(ctl->client, "GET", path, NULL, COORDC_IDEMPOTENT, 0, &r);
	if (r.kind != COORDC_DONE_OK) {
		rc = ctl_fail("leader", &r);
	} else {
		leader_key(r.body, &value);
		if (value)
			printf("%s\n", value);
		else
			fprintf(stderr, "coordctl: leader: nobody leads %s\n", a.pos[0]);
		rc = value ? CTL_EXIT_OK : CTL_EXIT_FAIL;
	}
	coordc_reply_clear(&r);
	return rc;
}
