/* Validation of names, values and query-string durations (API.md,
 * Conventions). Pure functions: no allocation, no global state. */
#include "names.h"

#include <string.h>

static bool name_byte_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-' || c == ':' || c == '/';
}

static bool fail(const char **why, const char *sentence)
{
	if (why)
		*why = sentence;
	return false;
}

bool http_name_valid(const char *name, size_t len, const char **why)
{
	if (len == 0)
		return fail(why, "name is empty");
	if (len > HTTP_NAME_MAX)
		return fail(why, "name is longer than 255 bytes");
	for (size_t i = 0; i < len; i++) {
		if (!name_byte_ok((unsigned char)name[i]))
			return fail(why, "name may contain only A-Z a-z 0-9 . _ - : /");
		if (name[i] == '/' && i + 1 < len && name[i + 1] == '/')
			return fail(why, "name may not contain //");
	}
	if (name[0] == '/' || name[len - 1] == '/')
		return fail(why, "name may not start or end with /");
	return true;
}

/* Length of the UTF-8 sequence starting at S (at most AVAIL bytes), or 0 if it
 * is malformed: overlong forms, surrogates and code points above U+10FFFF are
 * refused (RFC 3629). */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

bool http_value_valid(const char *value, size_t len, const char **why)
{
	const unsigned char *s = (const unsigned char *)value;

	if (len > HTTP_VALUE_MAX)
		return fail(why, "value is longer than 65536 bytes");
	for (size_t i = 0; i < len;) {
		size_t n;

		if (s[i] == 0)
			return fail(why, "value may not contain NUL bytes");
		n = utf8_seq_len(s + i, len - i);
		if (n == 0)
			return fail(why, "value is not valid UTF-8");
		i += n;
	}
	return true;
}

bool http_duration_parse(const char *text, uint64_t *out_ms)
{
	uint64_t n = 0, scale;
	const char *p = text;

	if (!text || *p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9') {
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > HTTP_DURATION_MAX_MS)
			return false;
		p++;
	}
	if (*p == '\0' || strcmp(p, "ms") == 0)
		scale = 1;
	else if (strcmp(p, "s") == 0)
		scale = 1000;
	else if (strcmp(p, "m") == 0)
		scale = 60 * 1000;
	else if (strcmp(p, "h") == 0)
		scale = 3600 * 1000;
	else
		return false;
	if (n > HTTP_DURATION_MAX_MS / scale)
		return false;
	*out_ms = n * scale;
	return true;
}
