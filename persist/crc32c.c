/* persist/crc32c.c: CRC32C (Castagnoli), the checksum of log entries and
 * snapshot files. Chosen over a plain hash because it detects every burst of
 * up to 32 flipped bits, the shape of a torn or rotted sector. Table-driven,
 * one byte at a time: checksumming is far cheaper than the fsync it guards. */
#include <stdint.h>

#include "persist/internal.h"

#define CRC32C_POLY 0x82F63B78u /* reflected Castagnoli polynomial */

static uint32_t table[256];
static int tableReady;

static void crcInit(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++) {
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		}
		table[i] = c;
	}
	__atomic_store_n(&tableReady, 1, __ATOMIC_RELEASE);
}

uint32_t persist_crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	/* Racing initialisers compute identical tables, so no lock is needed. */
	if (!__atomic_load_n(&tableReady, __ATOMIC_ACQUIRE)) {
		crcInit();
	}
	crc = ~crc;
	for (size_t i = 0; i < len; i++) {
		crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
	}
	return ~crc;
}
