/* coordctl kv (docs/API.md, coordctl): get, put, del and ls of keys, and a
 * watch of a prefix that prints a line per change for ever, resuming where
 * it stopped after a failover and listing the prefix again when the
 * cluster no longer keeps the changes it would need. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

/* A watch that is refused as 400 after it has polled may have met a node
 * that has not applied as far as the index it passes (a new leader): it
 * tries again for this long before the refusal is final. */
#define KV_WATCH_BEHIND_MS 10000u

static void pause_ms(uint64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* The condition of a write from --cas and --fence. */
static struct coordc_kv_cond cond_of(const struct ctl_args *a)
{
	return (struct coordc_kv_cond){.has_cas = a->has_cas,
	                               .cas = a->cas,
	                               .fence_lock = a->fence_lock[0] ? a->fence_lock : NULL,
	                               .fence_token = a->fence_token};
}

/* kv get KEY [--stale] [--json] */
static int kv_get(struct ctl *ctl, int argc, char **argv)
{
	struct coordc_reply r;
	struct ctl_args a;
	const char *value;
	bool done;
	int rc = ctl_args("kv", argc, argv, CTL_OPT_STALE | CTL_OPT_JSON, 1, &a, &done);

	if (done)
		return rc;
	rc = coordc_kv_get(ctl->client, a.pos[0], a.stale, &value, &r);
	if (rc == COORDC_OK && r.kind == COORDC_DONE_OK && !a.json) {
		printf("%s\n", value);
		coordc_reply_clear(&r);
		return CTL_EXIT_OK;
	}
	return ctl_finish("kv get", rc, &r);
}

/* kv put KEY VALUE [--cas N] [--session ID] [--fence LOCK:TOKEN], or
 * kv del KEY [--cas N] [--fence LOCK:TOKEN]. */
static int kv_write(struct ctl *ctl, bool put, int argc, char **argv)
{
	unsigned opts = CTL_OPT_CAS | CTL_OPT_FENCE | (put ? CTL_OPT_SESSION : 0);
	struct coordc_kv_cond cond;
	struct coordc_reply r;
	struct ctl_args a;
	bool done;
	int rc = ctl_args("kv", argc, argv, opts, put ? 2 : 1, &a, &done);

	if (done)
		return rc;
	cond = cond_of(&a);
	if (put)
		rc = coordc_kv_put(ctl->client, a.pos[0], a.pos[1], a.session, &cond, NULL, &r);
	else
		rc = coordc_kv_delete(ctl->client, a.pos[0], &cond, NULL, &r);
	return ctl_finish(put ? "kv put" : "kv del", rc, &r);
}

/* Lists PREFIX (every page) into *OUT, {"keys": [...], "index": N}, and
 * *INDEX. Returns 0, or the exit code with the reason printed. */
static int list(struct ctl *ctl, const char *prefix, json_t **out, uint64_t *index)
{
	struct coordc_reply r;
	json_t *keys;
	int rc;

	*out = NULL;
	rc = coordc_kv_list(ctl->client, prefix, CTL_LIST_KEYS, CTL_LIST_PAGES_MAX, &keys, index,
	                    &r);
	if (rc != COORDC_OK) {
		fprintf(stderr, "coordctl: kv ls: prefix '%.60s': %s\n", prefix,
		        coordc_strerror(rc));
		coordc_reply_clear(&r);
		return CTL_EXIT_USAGE;
	}
	rc = keys == NULL ? ctl_fail("kv ls", &r) : CTL_EXIT_OK;
	coordc_reply_clear(&r);
	if (keys != NULL) {
		*out = json_pack("{s:o, s:I}", "keys", keys, "index", (json_int_t)*index);
		if (*out == NULL) {
			fprintf(stderr, "coordctl: kv ls: %s\n", coordc_strerror(COORDC_ERR_NOMEM));
			rc = CTL_EXIT_FAIL;
		}
	}
	return rc;
}

/* kv ls [--prefix P] */
static int kv_ls(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_args a;
	uint64_t index = 0;
	json_t *all;
	bool done;
	int rc = ctl_args("kv", argc, argv, CTL_OPT_PREFIX, 0, &a, &done);

	if (done)
		return rc;
	rc = list(ctl, a.prefix ? a.prefix : "", &all, &index);
	if (rc == CTL_EXIT_OK)
		ctl_print_json(all);
	json_decref(all);
	return rc;
}

/* Prints J on one line. */
static void print_line(const json_t *j)
{
	json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	fflush(stdout);
}

/* Whether a watch's failed poll R is worth another: a failover (no
 * answer, an unknown outcome, 5xx), the long-poll limit (429), or a node
 * behind the index (400) within KV_WATCH_BEHIND_MS of the last answer. */
static bool watch_transient(const struct coordc_reply *r, bool polled, uint64_t since_ok_ms)
{
	if (r->kind == COORDC_DONE_UNKNOWN || r->status == 0 || r->status >= 500 ||
	    r->status == 429)
		return true;
	return r->status == 400 && polled && since_ok_ms < KV_WATCH_BEHIND_MS;
}

/* Lists PREFIX to watch it from the listing's index (at least FLOOR, the
 * index a 410 named: a watch from below it would be refused again),
 * printing the listing as a resync line when ANNOUNCE. Returns 0 with
 * *INDEX set, -1 to try again later, or the exit code. */
static int resync(struct ctl *ctl, const char *prefix, uint64_t floor, bool announce,
                  uint64_t *index)
{
	struct coordc_reply r;
	json_t *keys, *line;
	uint64_t at = 0;
	int rc =
	    coordc_kv_list(ctl->client, prefix, CTL_LIST_KEYS, CTL_LIST_PAGES_MAX, &keys, &at, &r);

	if (rc != COORDC_OK) {
		fprintf(stderr, "coordctl: kv watch: prefix '%.60s': %s\n", prefix,
		        coordc_strerror(rc));
		coordc_reply_clear(&r);
		return CTL_EXIT_USAGE;
	}
	if (keys == NULL) {
		rc = watch_transient(&r, false, 0) ? -1 : ctl_fail("kv watch", &r);
		coordc_reply_clear(&r);
		return rc;
	}
	coordc_reply_clear(&r);
	*index = at > floor ? at : floor;
	if (announce) {
		line = json_pack("{s:b, s:I, s:o}", "resync", 1, "index", (json_int_t)*index,
		                 "keys", keys);
		if (line != NULL)
			print_line(line);
		json_decref(line);
	} else {
		json_decref(keys);
	}
	return 0;
}

/* kv watch PREFIX [--index N]: a line per change, until killed. Without
 * --index it starts from a listing's index, so only later changes show. */
static int kv_watch(struct ctl *ctl, const char *prefix, bool has_index, uint64_t index)
{
	bool need_list = !has_index, announce = false, polled = false;
	uint64_t floor = 0, ok_at = coordc_now_ms();

	for (;;) {
		const json_t *changes, *ch;
		struct coordc_reply r;
		uint64_t next;
		size_t i;
		int rc;

		if (need_list) {
			rc = resync(ctl, prefix, floor, announce, &index);
			if (rc > 0)
				return rc;
			if (rc < 0) {
				pause_ms(CTL_WATCH_PAUSE_MS);
				continue;
			}
			need_list = false;
		}
		rc = coordc_kv_watch(ctl->client, prefix, index, CTL_WATCH_WAIT_MS, &changes, &next,
		                     &r);
		if (rc != COORDC_OK) {
			fprintf(stderr, "coordctl: kv watch: prefix '%.60s': %s\n", prefix,
			        coordc_strerror(rc));
			return CTL_EXIT_USAGE;
		}
		if (r.kind == COORDC_DONE_OK) {
			json_array_foreach(changes, i, ch) print_line(ch);
			index = next;
			polled = true;
			ok_at = coordc_now_ms();
		} else if (r.status == 410 && strcmp(r.error, "compacted") == 0) {
			/* Changes were lost to the watcher: start over from a list. */
			need_list = announce = true;
			floor = next;
		} else if (watch_transient(&r, polled, coordc_now_ms() - ok_at)) {
			pause_ms(CTL_WATCH_PAUSE_MS);
		} else {
			rc = ctl_fail("kv watch", &r);
			coordc_reply_clear(&r);
			return rc;
		}
		coordc_reply_clear(&r);
	}
}

int ctl_cmd_kv(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_args a;
	bool done;
	int rc;

	if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
		ctl_help("kv");
		return argc < 1 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
	}
	if (strcmp(argv[0], "get") == 0)
		return kv_get(ctl, argc - 1, argv + 1);
	if (strcmp(argv[0], "put") == 0 || strcmp(argv[0], "del") == 0)
		return kv_write(ctl, argv[0][0] == 'p', argc - 1, argv + 1);
	if (strcmp(argv[0], "ls") == 0)
		return kv_ls(ctl, argc - 1, argv + 1);
	if (strcmp(argv[0], "watch") == 0) {
		rc = ctl_args("kv", argc - 1, argv + 1, CTL_OPT_INDEX, 1, &a, &done);
		return done ? rc : kv_watch(ctl, a.pos[0], a.has_index, a.index);
	}
	fprintf(stderr, "coordctl kv: unknown '%s' (get, put, del, ls, watch)\n", argv[0]);
	return CTL_EXIT_USAGE;
}
