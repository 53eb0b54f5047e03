/* config_parse.h: what the command line and the --config file share while
 * coordd's flags are parsed (config.c, config_file.c). Private to them. */
#ifndef COORD_CONFIG_PARSE_H
#define COORD_CONFIG_PARSE_H

#include <stdbool.h>

#include "config.h"

struct config_parse {
	struct coord_config *cfg;
	bool given[COORD_CONFIG_FLAGS_MAX]; /* set by the file or the command line */
};

/* The index of flag NAME (without "--") in the table, or -1. */
int config_flag_index(const char *name);

/* Sets flag I of the table from VAL (NULL for a boolean on the command
 * line); LABEL names it in ERR ("--id" or "id"). */
enum coord_config_result config_flag_set(struct config_parse *st, int i, const char *label,
                                         const char *val, char *err);

/* Reads the --config file PATH, setting each key it names once. A file that
 * cannot be read, or a line that is not "key = value" of a known key with a
 * good value, is COORD_CONFIG_BAD with "PATH:LINE: why" in ERR. */
enum coord_config_result config_file_read(struct config_parse *st, const char *path, char *err);

/* Writes one sentence into ERR (COORD_CONFIG_ERR_MAX bytes). */
enum coord_config_result config_bad(char *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
