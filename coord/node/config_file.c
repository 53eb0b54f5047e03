/* coordd --config FILE: "key = value" lines, one per flag (config.h). Each
 * key is a row of the flag table and goes through the same setter as its
 * flag; a line this file cannot use refuses to start with "FILE:LINE: why".
 *
 *   # a comment line            (the first non-blank character is #)
 *   data = /var/lib/coord       (blanks around the key and the value go)
 *   auth = true                 (a boolean flag: true or false)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config_parse.h"

/* S without leading and trailing blanks (and a CR of a CRLF line), in place. */
static char *trim(char *s)
{
	char *end = s + strlen(s);

	while (*s == ' ' || *s == '\t')
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* Up to COORD_CONFIG_FILE_MAX bytes of PATH into BUF, NUL-terminated. */
static enum coord_config_result slurp(const char *path, char *buf, char *err)
{
	FILE *f = fopen(path, "r");
	size_t len;

	if (!f)
		return config_bad(err, "%s: cannot read: %s", path, strerror(errno));
	len = fread(buf, 1, COORD_CONFIG_FILE_MAX + 1, f);
	if (ferror(f)) {
		fclose(f);
		return config_bad(err, "%s: cannot read: %s", path, strerror(errno));
	}
	fclose(f);
	if (len > COORD_CONFIG_FILE_MAX)
		return config_bad(err, "%s: larger than %d bytes", path, COORD_CONFIG_FILE_MAX);
	if (memchr(buf, '\0', len))
		return config_bad(err, "%s: holds a NUL byte: not a text file", path);
	buf[len] = '\0';
	return COORD_CONFIG_OK;
}

/* One line (numbered NO) of PATH; FIRST[i] is the line that set flag i. */
static enum coord_config_result line_read(struct config_parse *st, const char *path, unsigned no,
                                          char *line, unsigned first[], char *err)
{
	char *eq, *key, *val;
	char why[COORD_CONFIG_ERR_MAX];
	int f;

	line = trim(line);
	if (!*line || *line == '#')
		return COORD_CONFIG_OK;
	if (!(eq = strchr(line, '=')))
		return config_bad(err, "%s:%u: not \"key = value\": '%.64s'", path, no, line);
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	if (!*key)
		return config_bad(err, "%s:%u: no key before '='", path, no);
	if ((f = config_flag_index(key)) < 0)
		return config_bad(err, "%s:%u: unknown key '%.64s'%s", path, no, key,
		                  strcmp(key, "config") == 0 ? " (a file names no other file)"
		                                             : " (see coordd --help)");
	if (first[f])
		return config_bad(err, "%s:%u: key '%s' given twice (first on line %u)", path, no,
		                  key, first[f]);
	first[f] = no;
	if (config_flag_set(st, f, key, val, why) != COORD_CONFIG_OK)
		return config_bad(err, "%s:%u: %s", path, no, why);
	return COORD_CONFIG_OK;
}

enum coord_config_result config_file_read(struct config_parse *st, const char *path, char *err)
{
	static char buf[COORD_CONFIG_FILE_MAX + 1]; /* read once, at start */
	unsigned first[COORD_CONFIG_FLAGS_MAX] = {0}, no = 0;
	enum coord_config_result r;
	char *line = buf, *next;

	if ((r = slurp(path, buf, err)) != COORD_CONFIG_OK)
		return r;
	for (; line; line = next) {
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		if ((r = line_read(st, path, ++no, line, first, err)) != COORD_CONFIG_OK)
			return r;
	}
	return COORD_CONFIG_OK;
}
