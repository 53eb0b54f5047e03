/* The content checksum of a snapshot (internal.h): CRC32C over every row of
 * every table but persist's own and SQLite's, table by table in name order,
 * rows in the table's own order, each value with its type and length. The
 * file's CRC32C travels in its name; a backup under another name has only
 * this, recorded inside the file, to show that no byte of a row changed
 * (SQLite's quick_check looks at the structure, not at the values). */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "bytes.h"
#include "persist/internal.h"

#define CONTENT_TABLE "persist_content"

/* Adds one value: its type, then its bytes (integers and reals as 8 LE). */
static uint32_t add_value(uint32_t crc, sqlite3_stmt *st, int col)
{
	uint8_t head[9];
	int type = sqlite3_column_type(st, col);
	uint64_t v = 0;
	int len = 0;

	head[0] = (uint8_t)type;
	if (type == SQLITE_INTEGER) {
		v = (uint64_t)sqlite3_column_int64(st, col);
	} else if (type == SQLITE_FLOAT) {
		double d = sqlite3_column_double(st, col);

		memcpy(&v, &d, sizeof(v));
	} else if (type != SQLITE_NULL) {
		len = sqlite3_column_bytes(st, col);
		v = (uint64_t)len;
	}
	bytes_store_le(head + 1, v, 8);
	crc = persist_crc32c(crc, head, sizeof(head));
	if (len > 0) {
		crc =
		    persist_crc32c(crc,
		                   type == SQLITE_TEXT ? (const void *)sqlite3_column_text(st, col)
		                                       : sqlite3_column_blob(st, col),
		                   (size_t)len);
	}
	return crc;
}

static int table_crc(sqlite3 *db, const char *table, uint32_t *crc)
{
	char sql[256];
	sqlite3_stmt *st = NULL;
	int rc;

	*crc = persist_crc32c(*crc, table, strlen(table) + 1);
	if (snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"", table) >= (int)sizeof(sql)) {
		return SQLITE_TOOBIG;
	}
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			*crc = add_value(*crc, st, i);
		}
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int persist_content_crc(sqlite3 *db, uint32_t *crc)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*crc = 0;
	rc = sqlite3_prepare_v2(db,
	                        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT "
	                        "LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE 'persist\\_%' "
	                        "ESCAPE '\\' ORDER BY name",
	                        -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = table_crc(db, (const char *)sqlite3_column_text(st, 0), crc);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int persist_content_stamp(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	uint32_t crc;
	int rc = persist_content_crc(db, &crc);

	if (rc == SQLITE_OK) {
		rc = sqlite3_exec(db,
		                  "CREATE TABLE IF NOT EXISTS " CONTENT_TABLE
		                  "(id INTEGER PRIMARY KEY CHECK (id = 0), crc INTEGER NOT NULL)",
		                  NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK) {
		rc = sqlite3_prepare_v2(
		    db, "INSERT OR REPLACE INTO " CONTENT_TABLE " VALUES (0, ?1)", -1, &st, NULL);
	}
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (int64_t)crc);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
	}
	sqlite3_finalize(st);
	return rc;
}

int persist_content_check(sqlite3 *db, const char *path, bool *recorded, struct persist_error *err)
{
	sqlite3_stmt *st = NULL;
	uint32_t want = 0, got = 0;
	int rc;

	*recorded = false;
	rc =
	    sqlite3_prepare_v2(db, "SELECT crc FROM " CONTENT_TABLE " WHERE id = 0", -1, &st, NULL);
	if (rc != SQLITE_OK) { /* made before content checksums were recorded */
		sqlite3_finalize(st);
		return 0;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		*recorded = true;
		want = (uint32_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (!*recorded) {
		return 0;
	}
	rc = persist_content_crc(db, &got);
	if (rc != SQLITE_OK) {
		return persist_errf(err, PERSIST_ECORRUPT, "snapshot %s cannot be read: %s", path,
		                    sqlite3_errmsg(db));
	}
	if (got != want) {
		return persist_errf(
		    err, PERSIST_ECORRUPT,
		    "snapshot %s fails its content checksum (rows %08x, recorded %08x)", path,
		    (unsigned)got, (unsigned)want);
	}
	return 0;
}
