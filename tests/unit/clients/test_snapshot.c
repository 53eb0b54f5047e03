/* libcoord's snapshot download into a file against a scripted server
 * (libcoord.h, Snapshots): the body lands in the file whole, the index comes
 * from X-Coord-Index, the check sees the synced temporary file before it
 * takes its name, an existing file is kept unless replacing is asked for,
 * and a failure leaves nothing behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_server.h"
#include "libcoord.h"

#define SNAPSHOT_TEXT "SQLite format 3: pretend pages of a snapshot"
#define INDEX_42      "X-Coord-Index: 42\r\n"

/* A scratch folder, a server answering a script, and a client on it. */
struct fixture {
	char dir[64];
	char path[96]; /* dir/backup.db, the file saved */
	struct fake_server f;
	struct coordc *c;
	struct coordc_reply r;
};

static void fixture_start(struct fixture *x, const struct fake_answer *script, int len)
{
	memset(&x->r, 0, sizeof(x->r));
	snprintf(x->dir, sizeof(x->dir), "/tmp/coord-test-snapshot-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->path, sizeof(x->path), "%s/backup.db", x->dir);
	fake_start(&x->f, script, len);
	x->c = fake_client(x->f.url, 1000);
}

/* The names in the scratch folder, '|'-joined in readdir's order, into OUT;
 * the count. */
static int folder_names(const struct fixture *x, char *out, size_t size)
{
	DIR *d = opendir(x->dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	out[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(out + strlen(out), size - strlen(out), "%s%s", n ? "|" : "", de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static void fixture_stop(struct fixture *x)
{
	char names[512];

	coordc_reply_clear(&x->r);
	coordc_close(x->c);
	fake_stop(&x->f);
	unlink(x->path);
	assert_int_equal(folder_names(x, names, sizeof(names)), 0); /* nothing else was left */
	rmdir(x->dir);
}

/* The whole content of PATH into BUF (NUL-terminated); its length. */
static size_t slurp(const char *path, char *buf, size_t size)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, size - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return n;
}

/* What the check saw, and what it answers. */
struct check {
	bool keep;
	int calls;
	uint64_t index;
	char content[128];
	bool tmp_beside; /* the file checked is in the target's folder, not the target */
	const char *target;
};

static bool check(void *arg, const char *tmp, uint64_t index, char msg[COORDC_MESSAGE_MAX])
{
	struct check *k = arg;
	const char *slash = strrchr(k->target, '/');

	k->calls++;
	k->index = index;
	slurp(tmp, k->content, sizeof(k->content));
	k->tmp_beside = strncmp(tmp, k->target, (size_t)(slash - k->target) + 1) == 0 &&
	                strcmp(tmp, k->target) != 0;
	if (!k->keep)
		snprintf(msg, COORDC_MESSAGE_MAX, "not a snapshot");
	return k->keep;
}

/* Scenario: a snapshot at index 42. Action: save it with a check. Outcome:
 * the check saw the whole body in a temporary file beside the target;
 * the target holds exactly the body; index and size as sent; no temporary
 * file is left. */
static void a_snapshot_is_saved_whole_after_its_check(void **state)
{
	const struct fake_answer script[] = {{200, SNAPSHOT_TEXT, INDEX_42}};
	struct check k = {.keep = true};
	struct coordc_snapshot_opts o = {.check = check, .check_arg = &k};
	char content[128], names[512];
	uint64_t index, size;
	struct fixture x;

	(void)state;
	fixture_start(&x, script, 1);
	k.target = x.path;
	assert_int_equal(coordc_snapshot_save(x.c, x.path, &o, &index, &size, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_OK);
	assert_string_equal(x.f.seen[0], "GET /v1/snapshot");
	assert_int_equal(index, 42);
	assert_int_equal(size, strlen(SNAPSHOT_TEXT));
	assert_int_equal(k.calls, 1);
	assert_int_equal(k.index, 42);
	assert_true(k.tmp_beside);
	assert_string_equal(k.content, SNAPSHOT_TEXT);
	assert_int_equal(slurp(x.path, content, sizeof(content)), strlen(SNAPSHOT_TEXT));
	assert_string_equal(content, SNAPSHOT_TEXT);
	assert_int_equal(folder_names(&x, names, sizeof(names)), 1);
	assert_string_equal(names, "backup.db");
	fixture_stop(&x);
}

/* Scenario: the target exists. Action: save without, then with overwrite.
 * Outcome: refused before anything is sent, the file untouched; then
 * replaced by the snapshot. */
static void an_existing_file_is_kept_unless_overwrite(void **state)
{
	const struct fake_answer script[] = {{200, SNAPSHOT_TEXT, INDEX_42}};
	struct coordc_snapshot_opts o = {.overwrite = true};
	char content[128];
	uint64_t index = 9, size = 9;
	struct fixture x;
	FILE *fp;

	(void)state;
	fixture_start(&x, script, 1);
	fp = fopen(x.path, "w");
	assert_non_null(fp);
	fputs("precious", fp);
	fclose(fp);
	assert_int_equal(coordc_snapshot_save(x.c, x.path, NULL, &index, &size, &x.r),
	                 COORDC_ERR_EXISTS);
	assert_int_equal(x.r.kind, COORDC_DONE_ERROR);
	assert_int_equal(index, 0);
	assert_int_equal(fake_requests(&x.f), 0);
	slurp(x.path, content, sizeof(content));
	assert_string_equal(content, "precious");
	coordc_reply_clear(&x.r);
	assert_int_equal(coordc_snapshot_save(x.c, x.path, &o, &index, &size, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_OK);
	assert_int_equal(index, 42);
	slurp(x.path, content, sizeof(content));
	assert_string_equal(content, SNAPSHOT_TEXT);
	fixture_stop(&x);
}

/* Scenario: the cluster refuses (404 on a node with no snapshot yet),
 * answers without an index, or the check refuses the file. Outcome: each
 * reported (the API's error; "bad_snapshot") and no file left at all. */
static void a_refused_or_unusable_snapshot_leaves_no_file(void **state)
{
	const struct fake_answer script[] = {
	    {404, "{\"error\":\"not_found\",\"message\":\"no snapshot yet\"}", NULL},
	    {200, SNAPSHOT_TEXT, NULL},
	    {200, SNAPSHOT_TEXT, INDEX_42}};
	struct check k = {.keep = false};
	struct coordc_snapshot_opts o = {.check = check, .check_arg = &k};
	uint64_t index, size;
	struct fixture x;

	(void)state;
	fixture_start(&x, script, 3);
	k.target = x.path;
	assert_int_equal(coordc_snapshot_save(x.c, x.path, &o, &index, &size, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_ERROR);
	assert_string_equal(x.r.error, "not_found");
	assert_int_equal(k.calls, 0);
	assert_int_equal(access(x.path, F_OK), -1);
	coordc_reply_clear(&x.r);
	assert_int_equal(coordc_snapshot_save(x.c, x.path, &o, &index, &size, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_ERROR);
	assert_string_equal(x.r.error, "bad_snapshot");
	assert_non_null(strstr(x.r.message, "X-Coord-Index"));
	assert_int_equal(k.calls, 0);
	coordc_reply_clear(&x.r);
	assert_int_equal(coordc_snapshot_save(x.c, x.path, &o, &index, &size, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_ERROR);
	assert_string_equal(x.r.error, "bad_snapshot");
	assert_string_equal(x.r.message, "not a snapshot");
	assert_int_equal(k.calls, 1);
	assert_int_equal(index, 0);
	assert_int_equal(size, 0);
	assert_int_equal(access(x.path, F_OK), -1);
	fixture_stop(&x); /* asserts the folder is empty */
}

/* Scenario: no leader at first, then a connection that breaks mid-body.
 * Outcome: the download is retried (a read) and the file holds only the
 * answer that came whole, not the broken one's bytes before it. */
static void a_download_is_retried_and_starts_the_file_over(void **state)
{
	const struct fake_answer script[] = {
	    {503, "{\"error\":\"no_leader\",\"message\":\"none\"}", NULL},
	    {200, "BROKEN-BROKEN-BROKEN-BROKEN-BROKEN-BROKEN-BROKEN-BROKEN", INDEX_42},
	    {200, SNAPSHOT_TEXT, INDEX_42}};
	char content[128];
	uint64_t index, size;
	struct fixture x;

	(void)state;
	fixture_start(&x, script, 3);
	fake_cut(&x.f, 1);
	assert_int_equal(coordc_snapshot_save(x.c, x.path, NULL, &index, &size, &x.r), COORDC_OK);
	assert_int_equal(x.r.kind, COORDC_DONE_OK);
	assert_int_equal(x.r.attempts, 3);
	assert_int_equal(size, strlen(SNAPSHOT_TEXT));
	assert_int_equal(slurp(x.path, content, sizeof(content)), strlen(SNAPSHOT_TEXT));
	assert_string_equal(content, SNAPSHOT_TEXT);
	fixture_stop(&x);
}

/* Scenario: the target's folder does not exist. Outcome: COORDC_ERR_IO
 * naming it, before anything is sent. */
static void a_file_that_cannot_be_made_is_an_io_error(void **state)
{
	const struct fake_answer script[] = {{200, SNAPSHOT_TEXT, INDEX_42}};
	uint64_t index, size;
	char path[128];
	struct fixture x;

	(void)state;
	fixture_start(&x, script, 1);
	snprintf(path, sizeof(path), "%s/missing/backup.db", x.dir);
	assert_int_equal(coordc_snapshot_save(x.c, path, NULL, &index, &size, &x.r), COORDC_ERR_IO);
	assert_string_equal(x.r.error, "write_failed");
	assert_non_null(strstr(x.r.message, "missing/backup.db"));
	assert_int_equal(fake_requests(&x.f), 0);
	fixture_stop(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(a_snapshot_is_saved_whole_after_its_check),
	    cmocka_unit_test(an_existing_file_is_kept_unless_overwrite),
	    cmocka_unit_test(a_refused_or_unusable_snapshot_leaves_no_file),
	    cmocka_unit_test(a_download_is_retried_and_starts_the_file_over),
	    cmocka_unit_test(a_file_that_cannot_be_made_is_an_io_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
