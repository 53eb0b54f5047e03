/* fuzz_codec.c: libFuzzer target for the Raft wire codec (DESIGN.md rule 11).
 *
 * Arbitrary bytes go to every decoder. Whatever decodes must re-encode to
 * the very same bytes (the format is canonical, so a difference means a
 * field was misread), decode again to the same message, and the copying
 * decoder must agree with the zero-copy one. Any mismatch aborts.
 *
 *     fuzz_codec -max_total_time=60 corpus/
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with WHAT when COND is false: a finding, not a recoverable error. */
#define FUZZ_CHECK(cond, what)                                                                     \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_codec: %s\n", what);                                 \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static bool fuzz_bytes_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	return n == 0 || (a != NULL && b != NULL && memcmp(a, b, n) == 0);
}

static bool fuzz_conf_equal(const struct raft_conf *a, const struct raft_conf *b)
{
	if (a->n != b->n || a->joint != b->joint)
		return false;
	for (uint32_t i = 0; i < a->n; i++) {
		const struct raft_server *x = &a->servers[i], *y = &b->servers[i];

		if (x->id != y->id || x->folder != y->folder || x->role != y->role ||
		    x->old_role != y->old_role || strcmp(x->addr, y->addr) != 0)
			return false;
	}
	return true;
}

static bool fuzz_msg_equal(const struct raft_msg *a, const struct raft_msg *b)
{
	if (a->type != b->type || a->from != b->from || a->to != b->to || a->term != b->term ||
	    a->index != b->index || a->log_term != b->log_term || a->commit != b->commit ||
	    a->reject != b->reject || a->hint_index != b->hint_index ||
	    a->hint_term != b->hint_term || a->ctx != b->ctx || a->transfer != b->transfer ||
	    a->n_entries != b->n_entries || a->offset != b->offset || a->len != b->len ||
	    a->last != b->last || a->snap.index != b->snap.index || a->snap.term != b->snap.term ||
	    a->snap.size != b->snap.size || a->snap.crc != b->snap.crc ||
	    !fuzz_conf_equal(&a->snap.conf, &b->snap.conf))
		return false;
	for (uint32_t i = 0; i < a->n_entries; i++) {
		const struct raft_entry *x = &a->entries[i], *y = &b->entries[i];

		if (x->term != y->term || x->index != y->index || x->type != y->type ||
		    x->len != y->len || !fuzz_bytes_equal(x->data, y->data, x->len))
			return false;
	}
	return fuzz_bytes_equal(a->data, b->data, a->len);
}

/* The configuration decoder alone: accepted input of the current version
 * re-encodes identically; an older version's re-encodes in the current one
 * to the same configuration. */
static void fuzz_conf(const uint8_t *data, size_t size)
{
	uint8_t again[RAFT_CONF_MAX_BYTES];
	struct raft_conf conf, back;
	size_t n;

	if (raft_conf_decode(data, size, &conf) != RAFT_OK)
		return;
	n = raft_conf_encode(&conf, again, sizeof(again));
	FUZZ_CHECK(n > 0, "conf does not re-encode");
	if (data[0] == RAFT_CONF_VERSION) {
		FUZZ_CHECK(n == size, "conf size differs");
		FUZZ_CHECK(memcmp(again, data, size) == 0, "conf re-encoding differs");
	}
	FUZZ_CHECK(raft_conf_decode(again, n, &back) == RAFT_OK, "re-encoded conf refused");
	FUZZ_CHECK(fuzz_conf_equal(&conf, &back), "re-encoded conf differs");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct raft_codec_msg first, second;
	struct raft_msg *copy = NULL;
	uint8_t *buf, *again;
	size_t frame = 0, n = 0;
	int rv;

	fuzz_conf(data, size);
	(void)raft_codec_frame_size(data, size, &frame);
	buf = malloc(size > 0 ? size : 1);
	FUZZ_CHECK(buf != NULL, "out of memory");
	if (size > 0)
		memcpy(buf, data, size);
	rv = raft_codec_decode(buf, size, &first);
	FUZZ_CHECK(raft_codec_decode_copy(data, size, &copy) == rv, "decoders disagree");
	if (rv != RAFT_CODEC_OK) {
		FUZZ_CHECK(copy == NULL, "copy set on error");
		free(buf);
		return 0;
	}
	FUZZ_CHECK(frame == size, "frame size differs from the decoded frame");
	FUZZ_CHECK(fuzz_msg_equal(&first.msg, copy), "copy differs from zero-copy decode");
	FUZZ_CHECK(raft_codec_size(&first.msg) == size, "size differs");
	again = malloc(size);
	FUZZ_CHECK(again != NULL, "out of memory");
	FUZZ_CHECK(raft_codec_encode(&first.msg, again, size, &n) == RAFT_CODEC_OK, "re-encode");
	FUZZ_CHECK(n == size && memcmp(again, data, size) == 0, "re-encoding differs");
	FUZZ_CHECK(raft_codec_decode(again, n, &second) == RAFT_CODEC_OK, "second decode");
	FUZZ_CHECK(fuzz_msg_equal(&first.msg, &second.msg), "second decode differs");
	raft_codec_msg_free(copy);
	free(again);
	free(buf);
	return 0;
}
