/* persist/error.h: the storage module's error codes and message buffer.
 *
 * Every persist_ function returns 0 or one positive code of enum persist_err
 * and, when given a struct persist_error, writes one printable line there that
 * says what failed and where (file, index, SQLite's own message).
 *
 * Fail-stop (DESIGN.md safety rule 7): PERSIST_EIO means a write, fsync or
 * read of the disk failed. The caller must stop the process; it must never
 * retry and must never acknowledge anything the failed call was to make
 * durable. A handle that has seen PERSIST_EIO refuses every later call with
 * PERSIST_EFAILED so that a forgotten check cannot carry on silently.
 */
#ifndef PERSIST_ERROR_H
#define PERSIST_ERROR_H

/* Longest message kept in a struct persist_error, including the NUL. */
#define PERSIST_ERRMSG_MAX 512

enum persist_err {
	PERSIST_OK = 0,
	PERSIST_EIO,       /* write, fsync or read failed: fatal, stop the node */
	PERSIST_ECORRUPT,  /* stored data fails a check: refuse to start */
	PERSIST_ELOCKED,   /* the data folder is held by another server */
	PERSIST_ELIMIT,    /* a named limit (PERSIST_*_MAX) would be exceeded */
	PERSIST_ESTALE,    /* a snapshot or compaction would move backwards */
	PERSIST_EAPPLY,    /* the apply callback failed; the batch was rolled back */
	PERSIST_ENOENT,    /* no such snapshot */
	PERSIST_ENOMEM,    /* out of memory */
	PERSIST_EINVAL,    /* a request out of order or beyond what was announced */
	PERSIST_EFAILED,   /* the handle failed earlier (fail-stop); close it */
	PERSIST_ECANCELED, /* cancelled before it finished; nothing was made */
	PERSIST_ERR_COUNT
};

struct persist_error {
	enum persist_err code;
	char msg[PERSIST_ERRMSG_MAX];
};

/* Returns a static one-line description of code; never NULL. */
const char *persist_strerror(int code);

#endif /* PERSIST_ERROR_H */
