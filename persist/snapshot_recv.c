/* persist/snapshot_recv.c: receiving a snapshot in chunks and installing it.
 *
 * Order of durability (reliability P10): bytes into a temporary file, fsync,
 * rename to the final name, fsync the folder; only then is the file checked
 * as a database and restored into state.db. A crash at any point leaves
 * either the old state with a stray temporary file (pruned later) or a
 * durable snapshot that persist_state_open() restores.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "persist/snapshot_impl.h"

#define RECV_TMP_SUFFIX ".recv" SNAPSHOT_TMP_SUFFIX

struct persist_snapshot_recv {
	struct persist_state *st;
	int fd;
	uint64_t index;
	uint64_t term;
	uint64_t size;     /* announced */
	uint32_t crc;      /* announced */
	uint64_t received; /* bytes so far */
	uint32_t running;  /* CRC32C of the bytes so far */
	char tmp[PERSIST_PATH_MAX];
};

int persist_snapshot_recv_begin(struct persist_state *st, uint64_t index, uint64_t term,
                                uint64_t size, uint32_t crc, struct persist_snapshot_recv **out,
                                struct persist_error *err)
{
	struct persist_snapshot_recv *r;
	int rv;

	assert(st != NULL && out != NULL);
	if (index <= st->applied_index) {
		return persist_errf(
		    err, PERSIST_ESTALE, "snapshot %llu is not ahead of applied index %llu",
		    (unsigned long long)index, (unsigned long long)st->applied_index);
	}
	if (size == 0 || size > PERSIST_SNAPSHOT_SIZE_MAX) {
		return persist_errf(err, PERSIST_ELIMIT, "snapshot of %llu bytes refused",
		                    (unsigned long long)size);
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		return persist_errf(err, PERSIST_ENOMEM, "no memory to receive a snapshot");
	}
	*r = (struct persist_snapshot_recv){
	    .st = st, .fd = -1, .index = index, .term = term, .size = size, .crc = crc};
	rv = persist_snapshot_tmp_path(st->dir, index, term, RECV_TMP_SUFFIX, r->tmp, err);
	if (rv == 0) {
		r->fd = open(r->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (r->fd < 0) {
			rv = persist_errf(err, PERSIST_EIO, "cannot create %s: %s", r->tmp,
			                  strerror(errno));
		}
	}
	if (rv != 0) {
		free(r);
		return rv;
	}
	*out = r;
	return 0;
}

int persist_snapshot_recv_chunk(struct persist_snapshot_recv *r, uint64_t offset, const void *data,
                                size_t len, struct persist_error *err)
{
	const unsigned char *p = data;
	size_t done = 0;

	if (len > PERSIST_SNAPSHOT_CHUNK_MAX) {
		return persist_errf(err, PERSIST_ELIMIT, "snapshot chunk of %zu bytes exceeds %u",
		                    len, PERSIST_SNAPSHOT_CHUNK_MAX);
	}
	if (offset != r->received || len > r->size - r->received) {
		return persist_errf(
		    err, PERSIST_EINVAL,
		    "snapshot %llu: chunk at %llu+%zu, expected offset %llu of %llu",
		    (unsigned long long)r->index, (unsigned long long)offset, len,
		    (unsigned long long)r->received, (unsigned long long)r->size);
	}
	while (done < len) {
		ssize_t n = write(r->fd, p + done, len - done);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return persist_errf(err, PERSIST_EIO, "cannot write %s: %s", r->tmp,
			                    strerror(n < 0 ? errno : ENOSPC));
		}
		done += (size_t)n;
	}
	r->running = persist_crc32c(r->running, data, len);
	r->received += len;
	return 0;
}

/* Checks what arrived and makes it durable under its final name. */
static int recvSeal(struct persist_snapshot_recv *r, const char *path, struct persist_error *err)
{
	if (r->received != r->size || r->running != r->crc) {
		return persist_errf(
		    err, PERSIST_ECORRUPT,
		    "snapshot %llu: received %llu of %llu bytes, CRC %08x, announced %08x",
		    (unsigned long long)r->index, (unsigned long long)r->received,
		    (unsigned long long)r->size, r->running, r->crc);
	}
	if (fsync(r->fd) != 0) {
		return persist_errf(err, PERSIST_EIO, "fsync of %s failed: %s", r->tmp,
		                    strerror(errno));
	}
	if (close(r->fd) != 0) {
		r->fd = -1;
		return persist_errf(err, PERSIST_EIO, "close of %s failed: %s", r->tmp,
		                    strerror(errno));
	}
	r->fd = -1;
	if (rename(r->tmp, path) != 0) {
		return persist_errf(err, PERSIST_EIO, "cannot rename %s: %s", r->tmp,
		                    strerror(errno));
	}
	return persist_dir_sync(r->st->dir, err);
}

int persist_snapshot_recv_finish(struct persist_snapshot_recv *r, struct persist_snapshot_meta *out,
                                 struct persist_error *err)
{
	const struct persist_snapshot_meta id = {.index = r->index, .term = r->term, .crc = r->crc};
	char path[PERSIST_PATH_MAX];
	int sealed = 0;
	int rv;

	memset(out, 0, sizeof(*out));
	rv = persist_snapshot_path(r->st->dir, &id, path, err);
	if (rv == 0) {
		rv = recvSeal(r, path, err);
		sealed = rv == 0;
	}
	if (rv == 0) {
		rv = persist_snapshot_inspect(path, r->index, r->term, r->crc, out, err);
	}
	if (rv == 0) {
		rv = persist_snapshot_restore(r->st, out, err);
	}
	if (rv != 0 && rv != PERSIST_EIO && sealed) {
		/* Not installed: it must not be restored by a later start either. */
		unlink(path);
	}
	if (rv != 0) {
		persist_snapshot_meta_free(out);
	}
	persist_snapshot_recv_abort(r);
	return rv;
}

void persist_snapshot_recv_abort(struct persist_snapshot_recv *r)
{
	if (r == NULL) {
		return;
	}
	if (r->fd >= 0) {
		close(r->fd);
	}
	unlink(r->tmp); /* ENOENT once renamed: nothing to do */
	free(r);
}
