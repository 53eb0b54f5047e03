/* The data folder (persist/dir.h): private, and locked against a second
 * server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "fixture.h"
#include "persist/log.h"
#include "persist/state.h"

static unsigned modeOf(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return sb.st_mode & 07777;
}

static void test_folder_created_private(void **state)
{
	struct fx *f = *state;

	assert_int_equal(modeOf(f->data), 0700);
	assert_int_equal(modeOf(fx_path(f, "LOCK")), 0600);
	assert_string_equal(persist_dir_path(f->dir), f->data);
}

static void test_existing_open_folder_made_private(void **state)
{
	struct fx *f = *state;

	assert_int_equal(chmod(f->data, 0755), 0);
	fx_reopen_dir(f);
	assert_int_equal(modeOf(f->data), 0700);
}

/* Every file persist creates, SQLite's -wal and -shm included, is 0600. */
static void test_database_files_private(void **state)
{
	struct fx *f = *state;
	const char *files[] = {"raft.db", "raft.db-wal", "state.db", "state.db-wal",
	                       "state.db-shm"};
	struct persist_log_state s;
	struct persist_log *log;
	struct persist_state *st;

	umask(022);
	assert_int_equal(persist_log_open(f->dir, &log, &s, &f->err), 0);
	fx_append(log, 1, 3, 1);
	assert_int_equal(persist_state_open(f->dir, &st, &f->err), 0);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		assert_int_equal(modeOf(fx_path(f, files[i])), 0600);
	}
	persist_state_close(st);
	persist_log_state_free(&s);
	persist_log_close(log);
}

static void test_second_server_refused(void **state)
{
	struct fx *f = *state;
	struct persist_dir *second = NULL;
	struct persist_error err;

	assert_int_equal(persist_dir_open(f->data, &second, &err), PERSIST_ELOCKED);
	assert_null(second);
	assert_non_null(strstr(err.msg, "in use by another server"));
	assert_null(strchr(err.msg, '\n'));
	/* Once the first lets go, the folder opens again. */
	fx_reopen_dir(f);
}

static void test_overlong_path_refused(void **state)
{
	char path[PERSIST_PATH_MAX];
	struct persist_dir *d = NULL;
	struct persist_error err;

	(void)state;
	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(persist_dir_open(path, &d, &err), PERSIST_ELIMIT);
	assert_null(d);
}

static void test_every_code_has_a_description(void **state)
{
	(void)state;
	for (int c = 0; c < PERSIST_ERR_COUNT; c++) {
		assert_non_null(persist_strerror(c));
		assert_string_not_equal(persist_strerror(c), "unknown storage error");
	}
	assert_string_equal(persist_strerror(PERSIST_ERR_COUNT), "unknown storage error");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_folder_created_private), T(test_existing_open_folder_made_private),
	    T(test_database_files_private), T(test_second_server_refused),
	    T(test_overlong_path_refused),  T(test_every_code_has_a_description),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
