/* tests/unit/persist/fixture.h: a temporary data folder and entry helpers
 * shared by the persist tests. Every test gets a fresh folder under /tmp
 * (mkdtemp), removed afterwards. */
#ifndef PERSIST_TEST_FIXTURE_H
#define PERSIST_TEST_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "persist/dir.h"
#include "persist/log.h"

#define FX_PAYLOAD_MAX 128 /* bytes of a generated payload */

struct fx {
	char root[256]; /* the mkdtemp folder */
	char data[300]; /* root/data: the data folder, created by persist */
	struct persist_dir *dir;
	struct persist_error err;
};

/* cmocka setup/teardown: *state becomes a struct fx with dir open. */
int fx_setup(void **state);
int fx_teardown(void **state);

/* Closes and reopens f->dir (after closing every database in it). */
void fx_reopen_dir(struct fx *f);

/* Fills e with entry (index, term) whose payload is derived from both, so
 * that any entry read back can be checked against what was written. buf
 * must hold FX_PAYLOAD_MAX bytes and outlives e. */
void fx_entry(struct persist_entry *e, uint64_t index, uint64_t term, char *buf);

/* Asserts that e is exactly the entry fx_entry() makes for (index, term). */
void fx_assert_entry(const struct persist_entry *e, uint64_t index, uint64_t term);

/* Appends entries first..first+n-1 of the given term in one write. */
void fx_append(struct persist_log *log, uint64_t first, size_t n, uint64_t term);

/* Path of a file in the data folder, in a static buffer that the next call
 * overwrites. */
const char *fx_path(const struct fx *f, const char *name);

/* Makes every write past `bytes` of any file fail with EFBIG, a real I/O
 * error on SQLite's write path (RLIMIT_FSIZE, SIGXFSZ ignored), until
 * fx_unlimit_file_size(). */
void fx_limit_file_size(size_t bytes);
void fx_unlimit_file_size(void);

/* Removes a folder tree. */
void fx_rmtree(const char *path);

#endif /* PERSIST_TEST_FIXTURE_H */
