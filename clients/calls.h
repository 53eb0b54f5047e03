/* libcoord's private helpers for its typed calls (api.c, kv.c): paths,
 * bodies handed over, long-poll time-outs and paged listings. Not part of
 * libcoord.h, so libcoord.so.0 does not export them (libcoord.map). */
#ifndef COORD_CLIENTS_CALLS_H
#define COORD_CLIENTS_CALLS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "libcoord.h"

/* Whether S is 1 to COORDC_LIST_KEY_MAX bytes of the names' alphabet
 * (API.md, Conventions: A-Z a-z 0-9 . _ - : /), so that a URL can carry it
 * as it is; "" too when EMPTY_OK (a prefix that matches everything). */
bool coordc_name_chars(const char *s, bool empty_ok);

/* PATH = PREFIX + NAME + SUFFIX. Returns COORDC_OK, or COORDC_ERR_INVALID
 * when it does not fit in COORDC_URL_MAX. */
int coordc_path(char path[COORDC_URL_MAX], const char *prefix, const char *name,
                const char *suffix);

/* coordc_call with BODY (reference taken over, then released; NULL: out of
 * memory, nothing sent). */
int coordc_call_owned(struct coordc *c, const char *method, const char *path, json_t *body,
                      unsigned flags, uint32_t timeout_ms, struct coordc_reply *reply);

/* The attempt time-out of a request that may wait WAIT_MS on the server: 0
 * (the config's) for no wait, else the wait plus a slack for the answer. */
uint32_t coordc_wait_timeout(uint64_t wait_ms);

/* coordc_list, and with INDEX_KEY (may be NULL) the first page's INDEX_KEY
 * in *FIRST_INDEX: a page without it (or not a number from 0) is refused
 * as bad_listing. The first page is the earliest read of the listing, so
 * its index is one no change made while the pages were read is before. */
int coordc_list_pages(struct coordc *c, const char *path, const char *key, uint32_t limit,
                      uint32_t pages_max, const char *index_key, uint64_t *first_index,
                      json_t **items, struct coordc_reply *reply);

#endif
