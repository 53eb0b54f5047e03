/* Validation of the user-supplied strings of the API: lock and election
 * names, values, and durations given in query strings (API.md, Conventions). */
#ifndef COORD_HTTP_NAMES_H
#define COORD_HTTP_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits named in API.md. */
#define HTTP_NAME_MAX        255         /* bytes in a lock or election name */
#define HTTP_VALUE_MAX       (64 * 1024) /* bytes in a lock or election value */
#define HTTP_DURATION_MAX_MS (10ULL * 365 * 24 * 3600 * 1000) /* parse ceiling */

/* True when NAME (LEN bytes, not necessarily NUL-terminated) is a valid lock
 * or election name: 1..HTTP_NAME_MAX bytes of [A-Za-z0-9._-:/], not starting
 * or ending with '/', and without "//". On false, *WHY (if not NULL) points to
 * a static sentence naming the problem. */
bool http_name_valid(const char *name, size_t len, const char **why);

/* True when VALUE (LEN bytes) is at most HTTP_VALUE_MAX bytes of valid UTF-8
 * without NUL bytes. On false, *WHY (if not NULL) names the problem. */
bool http_value_valid(const char *value, size_t len, const char **why);

/* Parses a query-string duration: digits followed by an optional unit "ms",
 * "s", "m" or "h"; a bare number means milliseconds ("250ms", "10s", "2m",
 * "1500"). Stores milliseconds in *OUT_MS and returns true; returns false on
 * an empty string, a sign, a fraction, an unknown unit, trailing bytes, or a
 * value above HTTP_DURATION_MAX_MS (so no overflow can reach the caller). */
bool http_duration_parse(const char *text, uint64_t *out_ms);

#endif
