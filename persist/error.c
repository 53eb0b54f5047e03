/* persist/error.c: error descriptions and the message formatter. */
#include <stdarg.h>
#include <stdio.h>

#include "persist/error.h"
#include "persist/internal.h"

static const char *const messages[PERSIST_ERR_COUNT] = {
    [PERSIST_OK] = "success",
    [PERSIST_EIO] = "disk write, fsync or read failed (fatal)",
    [PERSIST_ECORRUPT] = "stored data is corrupt",
    [PERSIST_ELOCKED] = "data folder is in use by another server",
    [PERSIST_ELIMIT] = "storage limit exceeded",
    [PERSIST_ESTALE] = "snapshot or compaction would go backwards",
    [PERSIST_EAPPLY] = "apply callback failed; batch rolled back",
    [PERSIST_ENOENT] = "no such snapshot",
    [PERSIST_ENOMEM] = "out of memory",
    [PERSIST_EINVAL] = "request out of order or beyond its announced size",
    [PERSIST_EFAILED] = "storage failed earlier; the node must stop",
    [PERSIST_ECANCELED] = "cancelled before it finished",
};

const char *persist_strerror(int code)
{
	if (code < 0 || code >= PERSIST_ERR_COUNT) {
		return "unknown storage error";
	}
	return messages[code];
}

int persist_errf(struct persist_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	assert_code(code);
	if (err == NULL) {
		return code;
	}
	err->code = (enum persist_err)code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* One line, always: SQLite's integrity reports span several. */
	for (char *p = err->msg; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r') {
			*p = ' ';
		}
	}
	return code;
}
