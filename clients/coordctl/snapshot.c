/* coordctl snapshot save FILE and snapshot info FILE. A snapshot file is
 * persist/'s format (persist/snapshot.h), so both check a file with
 * persist's own check, the one a node runs on the snapshots it finds: this
 * is the one place coordctl knows more than the HTTP API. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "persist/snapshot.h"

/* What the check of a download saw (coordc_snapshot_check_fn's ARG). */
struct saved {
	struct persist_snapshot_meta meta;
};

/* Accepts the downloaded file at TMP only if persist finds it a sound
 * snapshot of the index the answer named. */
static bool check_download(void *arg, const char *tmp, uint64_t index, char msg[COORDC_MESSAGE_MAX])
{
	struct saved *s = arg;
	struct persist_error err = {0};
	bool crc_checked;

	if (persist_snapshot_check_file(tmp, &s->meta, &crc_checked, &err) != 0) {
		snprintf(msg, COORDC_MESSAGE_MAX, "%.*s", COORDC_MESSAGE_MAX - 1, err.msg);
		return false;
	}
	if (s->meta.index != index) {
		snprintf(msg, COORDC_MESSAGE_MAX,
		         "the file records index %" PRIu64 ", the answer said %" PRIu64,
		         s->meta.index, index);
		persist_snapshot_meta_free(&s->meta);
		return false;
	}
	return true;
}

/* The exit code of a save that did not succeed. */
static int save_failed(const char *path, int rc, const struct coordc_reply *r)
{
	if (rc == COORDC_ERR_EXISTS) {
		fprintf(stderr, "coordctl: snapshot save: %s exists (--force replaces it)\n", path);
		return CTL_EXIT_CANTCREAT;
	}
	if (rc != COORDC_OK || strcmp(r->error, "write_failed") == 0) {
		fprintf(stderr, "coordctl: snapshot save: %s\n",
		        r->message[0] ? r->message : coordc_strerror(rc));
		return rc == COORDC_ERR_INVALID ? CTL_EXIT_USAGE : CTL_EXIT_IOERR;
	}
	if (strcmp(r->error, "bad_snapshot") == 0) {
		fprintf(stderr, "coordctl: snapshot save: refused: %s\n", r->message);
		return CTL_EXIT_DATAERR;
	}
	return ctl_fail("snapshot save", r);
}

/* snapshot save FILE [--force]: prints the snapshot's index. */
static int snapshot_save(struct ctl *ctl, int argc, char **argv)
{
	struct saved s = {{0}};
	struct coordc_snapshot_opts opts = {.check = check_download, .check_arg = &s};
	struct coordc_reply r;
	struct ctl_args a;
	uint64_t index, size;
	bool done;
	int rc = ctl_args("snapshot", argc, argv, CTL_OPT_FORCE, 1, &a, &done);

	if (done)
		return rc;
	opts.overwrite = a.force;
	rc = coordc_snapshot_save(ctl->client, a.pos[0], &opts, &index, &size, &r);
	if (rc != COORDC_OK || r.kind != COORDC_DONE_OK) {
		rc = save_failed(a.pos[0], rc, &r);
	} else {
		printf("%" PRIu64 "\n", index);
		fprintf(stderr,
		        "coordctl: saved %s: index %" PRIu64 ", term %" PRIu64 ", %" PRIu64
		        " bytes, crc32c %08x\n",
		        a.pos[0], index, s.meta.term, size, (unsigned)s.meta.crc);
		rc = CTL_EXIT_OK;
	}
	persist_snapshot_meta_free(&s.meta);
	coordc_reply_clear(&r);
	return rc;
}

/* snapshot info FILE: offline; prints what persist's check verified. */
static int snapshot_info(int argc, char **argv)
{
	struct persist_snapshot_meta m;
	struct persist_error err = {0};
	struct ctl_args a;
	bool done, crc_checked;
	int rc = ctl_args("snapshot", argc, argv, 0, 1, &a, &done);

	if (done)
		return rc;
	rc = persist_snapshot_check_file(a.pos[0], &m, &crc_checked, &err);
	if (rc != 0) {
		fprintf(stderr, "coordctl: snapshot info: %s\n", err.msg);
		return rc == PERSIST_ECORRUPT ? CTL_EXIT_DATAERR
		       : rc == PERSIST_ENOENT ? CTL_EXIT_NOINPUT
		       : rc == PERSIST_EIO    ? CTL_EXIT_IOERR
		                              : CTL_EXIT_FAIL;
	}
	printf("file      %s\n", a.pos[0]);
	printf("index     %" PRIu64 "\n", m.index);
	printf("term      %" PRIu64 "\n", m.term);
	printf("size      %" PRIu64 " bytes\n", m.size);
	if (crc_checked)
		printf("checksum  ok (crc32c %08x, as its name says)\n", (unsigned)m.crc);
	else
		printf("checksum  not recorded in the file (crc32c %08x; a node's snapshot\n"
		       "          carries it in its name, snap-<index>-<term>-<crc>.db)\n",
		       (unsigned)m.crc);
	printf("database  ok (integrity check; metadata and applied index agree)\n");
	printf("config    %zu bytes\n", m.config_len);
	persist_snapshot_meta_free(&m);
	return CTL_EXIT_OK;
}

int ctl_cmd_snapshot(struct ctl *ctl, int argc, char **argv)
{
	const char *verb = argc > 0 ? argv[0] : "";

	if (argc < 1 || strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		ctl_help("snapshot");
		return argc < 1 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
	}
	if (strcmp(verb, "save") == 0)
		return snapshot_save(ctl, argc - 1, argv + 1);
	if (strcmp(verb, "info") == 0)
		return snapshot_info(argc - 1, argv + 1);
	fprintf(stderr, "coordctl snapshot: unknown '%s' (save, info)\n", verb);
	return CTL_EXIT_USAGE;
}
