/* The pure part of ZooKeeper's lock recipe (zk.c): which child a waiter
 * watches. Kept apart from the C client so that it is tested without a
 * server. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define SEQ_DIGITS 10 /* ZooKeeper's sequence suffix: %010d */

/* The sequence number at the end of NAME, or -1 if NAME does not end in
 * SEQ_DIGITS digits after "-lock-". */
static long long sequence(const char *name)
{
	size_t len = strlen(name);
	if (len < SEQ_DIGITS + 6 || strncmp(name + len - SEQ_DIGITS - 6, "-lock-", 6) != 0) {
		return -1;
	}
	long long v = 0;
	for (const char *p = name + len - SEQ_DIGITS; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			return -1;
		}
		v = v * 10 + (*p - '0');
	}
	return v;
}

int bench_zk_predecessor(const char *const *children, int n, const char *mine, char *pred,
                         size_t pred_len, const char **stale)
{
	long long own = sequence(mine);
	const char *dash = strchr(mine, '-');
	size_t prefix = dash == NULL ? 0 : (size_t)(dash - mine) + 1; /* "c<client>-" */
	const char *best = NULL;
	long long best_seq = -1;
	int found = 0;
	if (stale != NULL) {
		*stale = NULL;
	}
	if (own < 0 || prefix == 0) {
		return -1;
	}
	for (int i = 0; i < n; i++) {
		long long seq = sequence(children[i]);
		if (seq < 0) {
			return -1;
		}
		if (strcmp(children[i], mine) == 0) {
			found = 1;
			continue;
		}
		if (stale != NULL && *stale == NULL && strncmp(children[i], mine, prefix) == 0) {
			*stale = children[i];
		}
		if (seq < own && seq > best_seq) {
			best_seq = seq;
			best = children[i];
		}
	}
	if (!found) {
		return -1;
	}
	if (best == NULL) {
		return 0;
	}
	size_t len = strlen(best);
	if (len >= pred_len) {
		return -1;
	}
	memcpy(pred, best, len + 1);
	return 1;
}
