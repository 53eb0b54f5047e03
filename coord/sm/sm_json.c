/* Helpers that turn state-machine rows into the JSON of API.md. */
#include <string.h>

#include "sm_internal.h"

json_t *sm_json_text(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	/* Stored text passed coord_cmd_validate(): UTF-8 without NUL, so
	 * json_stringn() accepts it. */
	return json_stringn((const char *)sqlite3_column_text(st, col),
	                    (size_t)sqlite3_column_bytes(st, col));
}

json_t *sm_json_session(sqlite3_stmt *st, int col)
{
	struct coord_session_id id;
	char hex[COORD_SESSION_ID_HEX + 1];

	sm_column_session(st, col, &id);
	coord_session_id_format(&id, hex);
	return json_string(hex);
}

json_t *sm_json_mode(int mode)
{
	return json_string(mode == COORD_MODE_SHARED ? "shared" : "exclusive");
}

json_t *sm_json_int(sqlite3_stmt *st, int col)
{
	return json_integer((json_int_t)sqlite3_column_int64(st, col));
}

int sm_json_set(json_t *obj, const char *key, json_t *v)
{
	if (v == NULL)
		return COORD_ENOMEM;
	return json_object_set_new(obj, key, v) == 0 ? 0 : COORD_ENOMEM;
}

int sm_json_rows(struct sm_stmt_cache *cache, sqlite3_stmt *st, sm_row_fn fn, json_t **arr)
{
	int row = 0, rv = 0;

	*arr = json_array();
	if (*arr == NULL)
		rv = COORD_ENOMEM;
	while (rv == 0 && (row = sm_row(st)) == 1) {
		json_t *v = fn(st);

		if (v == NULL || json_array_append_new(*arr, v) != 0)
			rv = COORD_ENOMEM;
	}
	if (rv == 0 && row < 0)
		rv = COORD_EDB;
	sm_release(cache, st);
	if (rv != 0) {
		json_decref(*arr);
		*arr = NULL;
	}
	return rv;
}

int sm_page(int rv, const char *list, json_t *items, json_t *next, json_t **out)
{
	*out = NULL;
	if (rv == 0 && (*out = json_object()) == NULL)
		rv = COORD_ENOMEM;
	if (rv == 0) {
		rv = sm_json_set(*out, list, items);
		items = NULL;
	}
	if (rv == 0) {
		rv = sm_json_set(*out, "next", next != NULL ? next : json_null());
		next = NULL;
	}
	json_decref(items);
	json_decref(next);
	if (rv != 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rv;
}

int sm_page_rows(struct coord_sm_reader *r, sqlite3_stmt *st, uint32_t limit, sm_item_fn fn,
                 const char *list, const char *key, json_t **out)
{
	json_t *items = json_array(), *o, *next = NULL;
	int row = 0, rv = items == NULL ? COORD_ENOMEM : 0;

	for (uint32_t n = 0; rv == 0 && (row = sm_row(st)) == 1; n++) {
		if (n == limit) { /* more follow: the next page starts after the last */
			next = json_incref(json_object_get(
			    json_array_get(items, json_array_size(items) - 1), key));
			rv = next == NULL ? COORD_ENOMEM : 0;
			break;
		}
		if ((o = fn(r, st, &rv)) != NULL && json_array_append_new(items, o) != 0)
			rv = COORD_ENOMEM;
	}
	if (rv == 0 && row < 0)
		rv = COORD_EDB;
	sm_release(&r->cache, st);
	return sm_page(rv, list, items, next, out);
}

/* Sets *UPPER (ULEN bytes) to the end of the names that start with the LEN
 * bytes of PREFIX: the range [PREFIX, UPPER), UPPER being PREFIX with
 * trailing 0xff bytes dropped and its last byte then raised by one; *ULEN 0
 * when there is no upper end. Names compare as bytes (BINARY collation:
 * SM-1). */
void sm_prefix_end(const char *prefix, size_t len, char upper[COORD_NAME_MAX], size_t *ulen)
{
	*ulen = len;
	memcpy(upper, prefix, len);
	while (*ulen > 0 && (unsigned char)upper[*ulen - 1] == 0xff)
		(*ulen)--;
	if (*ulen > 0)
		upper[*ulen - 1] = (char)((unsigned char)upper[*ulen - 1] + 1);
}

/* Compares the names A (ALEN bytes) and B (BLEN bytes) as SQLite's BINARY
 * collation does: bytes, then length. */
int sm_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c != 0 ? c : (alen > blen) - (alen < blen);
}

void sm_bind_range(sqlite3_stmt *st, const char *from, size_t len, const char *upper, size_t ulen)
{
	sqlite3_bind_text(st, 1, len > 0 ? from : "", (int)len, SQLITE_TRANSIENT);
	if (ulen > 0)
		sqlite3_bind_text(st, 2, upper, (int)ulen, SQLITE_TRANSIENT);
}
