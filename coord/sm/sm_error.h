/* The coord module's error codes: one enum, one strerror table (STYLE.md 4). */
#ifndef COORD_SM_ERROR_H
#define COORD_SM_ERROR_H

/* Every coord_* function returns 0 or one of these. They describe operating
 * errors of the call itself; the outcome of a state-machine command (lock
 * held, session not found, ...) is a coord_status in struct coord_result. */
enum coord_err {
	COORD_OK = 0,
	COORD_ENOMEM,     /* an allocation failed */
	COORD_EDB,        /* SQLite failed: the caller rolls back and stops (rule 7) */
	COORD_EMALFORMED, /* a command or argument breaks the encoding's rules */
	COORD_ETOOSMALL,  /* the caller's buffer cannot hold the result */
	COORD_ENOTFOUND,  /* the object asked for does not exist */
	COORD_EEXIST,     /* the object to add exists already */
	COORD_ELIMIT,     /* a named limit is reached; nothing changed */
	COORD_EEXPIRING,  /* the session's expiry was proposed (rule 8) */
	COORD_ERR_COUNT
};

/* A static, one-sentence description of ERR; never NULL (unknown codes get a
 * generic sentence). */
const char *coord_strerror(int err);

#endif
