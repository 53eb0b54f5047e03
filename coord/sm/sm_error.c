/* coord_strerror: the table behind enum coord_err. */
#include "sm_error.h"

static const char *const sm_error_text[COORD_ERR_COUNT] = {
    [COORD_OK] = "success",
    [COORD_ENOMEM] = "out of memory",
    [COORD_EDB] = "the state database failed",
    [COORD_EMALFORMED] = "malformed command or argument",
    [COORD_ETOOSMALL] = "buffer too small",
    [COORD_ENOTFOUND] = "not found",
    [COORD_EEXIST] = "already exists",
    [COORD_ELIMIT] = "a limit is reached",
    [COORD_EEXPIRING] = "the session is expiring",
};

const char *coord_strerror(int err)
{
	if (err < 0 || err >= COORD_ERR_COUNT)
		return "unknown error";
	return sm_error_text[err];
}
