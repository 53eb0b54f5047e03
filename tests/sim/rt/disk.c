/* disk.c: the nodes' disks, as an SQLite VFS over the real one ("unix"),
 * registered as the default so that persist/ opens every database through
 * it unchanged.
 *
 * Writes to a node's databases (main files, WAL, journals) reach the real
 * file at once, so that reads see them, but each keeps what it overwrote
 * until a sync of the file has ended: a power loss (rt_disk_power_loss)
 * puts such writes back, last first, so each file holds what its ended
 * syncs made durable; in seeds with torn writes the disk is taken to have
 * written a prefix of the others too, the last of them perhaps in part
 * (from a 512-byte sector on), which SQLite's WAL checksums must catch. A sync costs the node time:
 * the loop that called it is blocked (rt_node.busy_until_us) for the seed's fsync latency, now and
 * then for a slow disk's, and what the node sends or answers after it leaves only then
 * (rt_node_time); a power loss meanwhile loses the sync's writes, though the code went on as if it
 * had returned. The real fsync is not called: durability here is this model's, not the kernel's.
 * Files other than databases (snapshot temporaries written with write(2), ids) are not modelled:
 * what reached them is kept.
 */
#include <assert.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "rt.h"

struct undo {
	uint64_t durable_at;         /* when the sync that covers it ends (UINT64_MAX: none yet) */
	sqlite3_int64 off, old_size; /* the file's size before the write */
	int len;                     /* bytes of DATA: what the write overwrote */
	int wlen;                    /* bytes the write wrote */
	unsigned char *data;
};

/* One file of a node's data folder, shared by every handle open on it. */
struct path {
	char *name;
	int node;
	bool dead;          /* its node lost power: handles still open change nothing */
	sqlite3_int64 size; /* the file's size, kept here to spare an fstat per write */
	struct undo *undo;
	size_t n_undo, cap_undo;
	struct path *next;
};

struct file {
	sqlite3_file base;
	struct path *p; /* NULL: not a node's database (passed through) */
	sqlite3_file *real;
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs vfs;
static sqlite3_io_methods io_v1, io_v2, io_v3;
static struct path *paths;

static int node_of(const char *name)
{
	for (int i = 0; rt_w && i < rt_w->n_nodes; i++) {
		size_t k = strlen(rt_w->nodes[i].data);

		if (strncmp(name, rt_w->nodes[i].data, k) == 0 && name[k] == '/')
			return i;
	}
	return -1;
}

static struct path *path_of(const char *name, bool make)
{
	int node = node_of(name);
	struct path *p;

	if (node < 0)
		return NULL;
	for (p = paths; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	if (!make)
		return NULL;
	p = calloc(1, sizeof(*p));
	assert(p);
	p->name = strdup(name);
	p->node = node;
	p->next = paths;
	paths = p;
	return p;
}

static void undo_clear(struct path *p)
{
	for (size_t i = 0; i < p->n_undo; i++)
		free(p->undo[i].data);
	p->n_undo = 0;
}

static void undo_push(struct path *p, sqlite3_file *real, sqlite3_int64 off, int len)
{
	sqlite3_int64 size = p->size;
	struct undo *u;

	if (p->n_undo == p->cap_undo) {
		p->cap_undo = p->cap_undo ? 2 * p->cap_undo : 16;
		p->undo = realloc(p->undo, p->cap_undo * sizeof(*p->undo));
		assert(p->undo);
	}
	u = &p->undo[p->n_undo++];
	*u = (struct undo){.durable_at = UINT64_MAX, .off = off, .old_size = size, .wlen = len};
	if (off < size) {
		u->len = (int)(size - off < len ? size - off : len);
		u->data = malloc((size_t)u->len);
		assert(u->data);
		if (real->pMethods->xRead(real, u->data, u->len, off) != SQLITE_OK)
			memset(u->data, 0, (size_t)u->len);
	}
}

/* A sync of P: it blocks its node's loop for the sync's time, and what
 * was written before it is durable once that time has passed (a power loss
 * before then loses it, though the node went on as if it were done). */
static void sync_path(struct path *p)
{
	struct rt_node *rn = &rt_w->nodes[p->node];
	uint64_t cost = rt_w->fsync_us;
	size_t kept = 0;

	if (sim_chance(&rt_w->rng, rt_w->slow_sync_per_mille))
		cost += 50000 + sim_below(&rt_w->rng, 400000);
	if (rn->busy_until_us < rt_w->now_us)
		rn->busy_until_us = rt_w->now_us;
	rn->busy_until_us += cost;
	for (size_t i = 0; i < p->n_undo; i++) {
		struct undo *u = &p->undo[i];

		if (u->durable_at == UINT64_MAX)
			u->durable_at = rn->busy_until_us;
		if (u->durable_at <= rt_w->now_us) /* durable for good: forget it */
			free(u->data);
		else
			p->undo[kept++] = *u;
	}
	p->n_undo = kept;
}

/* The methods: each passes through, but for the model. */

static int f_close(sqlite3_file *f)
{
	struct file *x = (struct file *)f;
	int rc = x->real->pMethods ? x->real->pMethods->xClose(x->real) : SQLITE_OK;

	free(x->real);
	return rc;
}

static int f_read(sqlite3_file *f, void *buf, int len, sqlite3_int64 off)
{
	struct file *x = (struct file *)f;

	return x->real->pMethods->xRead(x->real, buf, len, off);
}

static int f_write(sqlite3_file *f, const void *buf, int len, sqlite3_int64 off)
{
	struct file *x = (struct file *)f;

	if (x->p && x->p->dead)
		return SQLITE_OK;
	if (x->p) {
		undo_push(x->p, x->real, off, len);
		if (off + len > x->p->size)
			x->p->size = off + len;
	}
	return x->real->pMethods->xWrite(x->real, buf, len, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct file *x = (struct file *)f;
	sqlite3_int64 now = 0;

	if (x->p && x->p->dead)
		return SQLITE_OK;
	if (x->p) {
		now = x->p->size;
		if (size < now)
			undo_push(x->p, x->real, size, (int)(now - size));
		x->p->size = size;
	}
	return x->real->pMethods->xTruncate(x->real, size);
}

static int f_sync(sqlite3_file *f, int flags)
{
	struct file *x = (struct file *)f;

	if (!x->p)
		return x->real->pMethods->xSync(x->real, flags);
	if (!x->p->dead)
		sync_path(x->p);
	return SQLITE_OK;
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct file *x = (struct file *)f;

	return x->real->pMethods->xFileSize(x->real, size);
}

static int f_lock(sqlite3_file *f, int level)
{
	struct file *x = (struct file *)f;

	return x->real->pMethods->xLock(x->real, level);
}

static int f_unlock(sqlite3_file *f, int level)
{
	struct file *x = (struct file *)f;

	return x->real->pMethods->xUnlock(x->real, level);
}

static int f_reserved(sqlite3_file *f, int *out)
{
	struct file *x = (struct file *)f;

	return x->real->pMethods->xCheckReservedLock(x->real, out);
}

static int f_control(sqlite3_file *f, int op, void *arg)
{
	struct file *x = (struct file *)f;

	return x->real->pMethods->xFileControl(x->real, op, arg);
}

static int f_sector(sqlite3_file *f)
{
	struct file *x = (struct file *)f;

	return x->real->pMethods->xSectorSize(x->real);
}

static int f_device(sqlite3_file *f)
{
	struct file *x = (struct file *)f;

	return x->real->pMethods->xDeviceCharacteristics(x->real);
}

static int f_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **out)
{
	struct file *x = (struct file *)f;

	return x->real->pMethods->xShmMap(x->real, pg, pgsz, extend, out);
}

static int f_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	struct file *x = (struct file *)f;

	return x->real->pMethods->xShmLock(x->real, off, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
	struct file *x = (struct file *)f;

	x->real->pMethods->xShmBarrier(x->real);
}

static int f_shm_unmap(sqlite3_file *f, int del)
{
	struct file *x = (struct file *)f;

	return x->real->pMethods->xShmUnmap(x->real, del);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
	struct file *x = (struct file *)f;

	*pp = NULL; /* no memory-mapped reads: every read goes through f_read */
	(void)x;
	(void)off;
	(void)amt;
	return SQLITE_OK;
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	(void)f;
	(void)off;
	(void)p;
	return SQLITE_OK;
}

static int v_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *f, int flags, int *out)
{
	struct file *x = (struct file *)f;
	int rc, version;

	(void)v;
	memset(x, 0, sizeof(*x));
	x->real = calloc(1, (size_t)real_vfs->szOsFile);
	if (!x->real)
		return SQLITE_NOMEM;
	rc = real_vfs->xOpen(real_vfs, name, x->real, flags, out);
	if (rc != SQLITE_OK || !x->real->pMethods) {
		free(x->real);
		x->real = NULL;
		return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
	}
	if (name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL))) {
		x->p = path_of(name, true);
		if (x->p) /* written with write(2) meanwhile, perhaps (snapshots) */
			x->real->pMethods->xFileSize(x->real, &x->p->size);
	}
	version = x->real->pMethods->iVersion;
	x->base.pMethods = version >= 3 ? &io_v3 : version == 2 ? &io_v2 : &io_v1;
	return SQLITE_OK;
}

static int v_delete(sqlite3_vfs *v, const char *name, int dirsync)
{
	struct path *p = path_of(name, false);

	(void)v;
	if (p && p->dead)
		return SQLITE_OK;
	if (p)
		undo_clear(p); /* a deletion is taken as durable */
	return real_vfs->xDelete(real_vfs, name, dirsync);
}

static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int v_full(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return real_vfs->xFullPathname(real_vfs, name, n, out);
}

void rt_disk_install(void)
{
	static const sqlite3_io_methods base = {
	    .xClose = f_close,
	    .xRead = f_read,
	    .xWrite = f_write,
	    .xTruncate = f_truncate,
	    .xSync = f_sync,
	    .xFileSize = f_size,
	    .xLock = f_lock,
	    .xUnlock = f_unlock,
	    .xCheckReservedLock = f_reserved,
	    .xFileControl = f_control,
	    .xSectorSize = f_sector,
	    .xDeviceCharacteristics = f_device,
	    .xShmMap = f_shm_map,
	    .xShmLock = f_shm_lock,
	    .xShmBarrier = f_shm_barrier,
	    .xShmUnmap = f_shm_unmap,
	    .xFetch = f_fetch,
	    .xUnfetch = f_unfetch,
	};

	if (real_vfs)
		return;
	real_vfs = sqlite3_vfs_find("unix");
	assert(real_vfs);
	io_v1 = io_v2 = io_v3 = base;
	io_v1.iVersion = 1;
	io_v2.iVersion = 2;
	io_v3.iVersion = 3;
	vfs = *real_vfs;
	vfs.szOsFile = (int)sizeof(struct file);
	vfs.zName = "rtsim";
	vfs.pNext = NULL;
	vfs.xOpen = v_open;
	vfs.xDelete = v_delete;
	vfs.xAccess = v_access;
	vfs.xFullPathname = v_full;
	sqlite3_vfs_register(&vfs, 1);
}

void rt_disk_dead(int node, bool dead)
{
	for (struct path *p = paths; p; p = p->next)
		if (p->node == node)
			p->dead = dead;
}

/* Every database of NODE back to what the syncs that ended by now made
 * durable. Its handles are closed (rt_disk_dead before, so closing changed
 * nothing). */
void rt_disk_power_loss(int node)
{
	for (struct path *p = paths; p; p = p->next) {
		size_t first = p->n_undo, keep;
		int fd;

		if (p->node != node)
			continue;
		while (first > 0 && p->undo[first - 1].durable_at > rt_w->now_us)
			first--; /* undo[first..] were not durable */
		/* The disk wrote them in order and stopped somewhere: a prefix of
		 * them reached it (in seeds with torn writes), the next one perhaps
		 * in part, from a 512-byte sector on. */
		keep = rt_w->torn_writes ? first + sim_below(&rt_w->rng, p->n_undo - first + 1)
		                         : first;
		if (first < p->n_undo)
			rt_trace(rt_w, "n%d: %zu of %zu unsynced writes to %s reach the disk",
			         node + 1, keep - first, p->n_undo - first,
			         strrchr(p->name, '/') + 1);
		if (keep < p->n_undo && (fd = open(p->name, O_WRONLY | O_CLOEXEC)) >= 0) {
			for (size_t i = p->n_undo; i-- > keep;) {
				struct undo *u = &p->undo[i];
				sqlite3_int64 size = u->old_size;
				int from = 0; /* bytes of the write that stay */

				if (i == keep && rt_w->torn_writes && u->wlen > 512)
					from = 512 *
					       (int)sim_below(&rt_w->rng, (uint64_t)u->wlen / 512);
				if (from) {
					rt_trace(rt_w, "n%d: a write to %s torn at byte %d of %d",
					         node + 1, strrchr(p->name, '/') + 1, from,
					         u->wlen);
					if (u->off + from > size)
						size = u->off + from;
				}
				if (u->len > from &&
				    pwrite(fd, u->data + from, (size_t)(u->len - from),
				           u->off + from) != u->len - from)
					rt_fail(rt_w, "disk: cannot put back %s", p->name);
				if (ftruncate(fd, size) != 0)
					rt_fail(rt_w, "disk: cannot truncate %s", p->name);
			}
			close(fd);
		}
		undo_clear(p);
		p->dead = false;
	}
}
