/* persist/internal.h: private to persist/; helpers shared by its files.
 * Nothing outside persist/ includes this header, except its white-box unit
 * tests (tests/unit/persist/). */
#ifndef PERSIST_INTERNAL_H
#define PERSIST_INTERNAL_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "persist/dir.h"
#include "persist/error.h"

#define assert_code(c) assert((c) > PERSIST_OK && (c) < PERSIST_ERR_COUNT)

/* The data folder (dir.c). Held for the life of the server. */
struct persist_dir {
	int fd;      /* the folder itself, for fsync after a rename */
	int lock_fd; /* LOCK, flock()ed exclusively */
	char path[PERSIST_PATH_MAX];
};

/* Formats a message into err (may be NULL); returns code unchanged. */
int persist_errf(struct persist_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* CRC32C (Castagnoli) of len bytes, continuing from crc (start with 0). */
uint32_t persist_crc32c(uint32_t crc, const void *data, size_t len);

/* Writes "<dir>/<name>" into buf; PERSIST_ELIMIT if it does not fit. */
int persist_dir_join(const struct persist_dir *dir, const char *name, char *buf, size_t size,
                     struct persist_error *err);

/* fsync()s the folder so that a create, rename or unlink in it is durable. */
int persist_dir_sync(const struct persist_dir *dir, struct persist_error *err);

/* fsync()s the file at path. */
int persist_file_sync(const char *path, struct persist_error *err);

/* How a database is opened (db.c). */
struct persist_db_opts {
	const char *name;        /* file name inside the data folder */
	const char *synchronous; /* "FULL" or "NORMAL" */
	int readonly;            /* open read-only; the file must exist */
	int check;               /* run PRAGMA quick_check */
};

/* Opens <dir>/<name> in WAL mode with files 0600 and extended result codes,
 * and checks it if asked. On success *out is owned by the caller
 * (sqlite3_close_v2). On failure nothing is left open. */
int persist_db_open(const struct persist_dir *dir, const struct persist_db_opts *o, sqlite3 **out,
                    struct persist_error *err);

/* Maps an SQLite failure rc on db to a persist code and message:
 * SQLITE_CORRUPT/NOTADB -> PERSIST_ECORRUPT, SQLITE_NOMEM -> PERSIST_ENOMEM,
 * anything else -> PERSIST_EIO (fail-stop, DESIGN.md rule 7). */
int persist_db_error(sqlite3 *db, int rc, const char *file, const char *what,
                     struct persist_error *err);

/* Prepares sql once (SQLITE_PREPARE_PERSISTENT); *out is finalized by the caller. */
int persist_db_prepare(sqlite3 *db, const char *file, const char *sql, sqlite3_stmt **out,
                       struct persist_error *err);

/* Steps a statement that returns no rows and resets it: SQLITE_DONE or the failure rc. */
int persist_db_exec(sqlite3_stmt *stmt);

/* Checkpoints off the writer's thread. persist_db_watch_wal() installs a WAL
 * hook on the writer's handle db that stores the WAL's size in pages in
 * *pages after each commit; a hook of its own turns SQLite's checkpoint at
 * commit off (it would copy pages and fsync inside the writer's commit), so
 * from then on the owner runs persist_db_checkpoint() on any thread. That
 * opens its own handle on <dir>/<name> and runs a PASSIVE checkpoint, which
 * waits for no reader or writer: SQLITE_BUSY is not an error. */
void persist_db_watch_wal(sqlite3 *db, int *pages);
int persist_db_checkpoint(const struct persist_dir *dir, const char *name,
                          struct persist_error *err);
/* The writer's own PASSIVE checkpoint on db, after persist_db_checkpoint()
 * did the bulk: it copies only what was committed since, and, the WAL then
 * being wholly copied, lets the next commit start it again from its head
 * (a checkpoint by another handle never can while commits keep coming). */
int persist_db_checkpoint_tail(sqlite3 *db, const char *file, struct persist_error *err);

/* Runs constant SQL (schema, pragmas) at open time. */
int persist_db_run(sqlite3 *db, const char *file, const char *sql, struct persist_error *err);

/* The snapshot table every state.db and snapshot file carries (state.c). */
#define PERSIST_SNAPSHOT_TABLE "persist_snapshot"

/* snapshot_content.c: a snapshot's content checksum, CRC32C over every row
 * of every table but persist's and SQLite's own. stamp computes it and
 * records it in the copy being made; check compares, when it is recorded
 * (*RECORDED), and answers PERSIST_ECORRUPT (one line in ERR) on a
 * mismatch. Both return SQLite codes / persist codes as named. */
int persist_content_crc(sqlite3 *db, uint32_t *crc);
int persist_content_stamp(sqlite3 *db);
int persist_content_check(sqlite3 *db, const char *path, bool *recorded, struct persist_error *err);

#endif /* PERSIST_INTERNAL_H */
