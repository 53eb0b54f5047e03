/* disk.c: the nodes' disks, as an SQLite VFS registered as the default so
 * that persist/ opens every database through it unchanged.
 *
 * A node's databases, raft.db and state.db, and the files SQLite makes
 * beside them (-wal, -journal, the WAL's -shm) live here, in memory, not on
 * the real file system: each file's bytes in a buffer, the wal-index in
 * regions of memory, and SQLite's locks on them (xLock, xShmLock) kept as
 * the unix VFS keeps them between the connections of one process to one
 * file, so that they exclude as they would there (one writer at a time; a
 * checkpoint does not pass the read transaction a reader keeps open).
 * persist/ creates each database with open(2) before SQLite opens it
 * (persist/db.c): that real file stays and stands for it; a database's bytes
 * are taken from it when SQLite first opens it (it is empty), and are here
 * from then on (a node's restart finds them). It is marked then, so that a
 * folder wiped outside SQLite (rm, then persist/ makes the file again) wipes
 * the database too, as it is next opened.
 * Every other file passes through to the real VFS ("unix"): the snapshots
 * and their temporaries, which persist/ also writes with write(2), renames
 * with rename(2) and reads with read(2) (persist/snapshot_*.c), LOCK, the
 * ids (coord/node/node_join.c), and anything outside the nodes' folders.
 *
 * Writes to a node's databases (and to the snapshots SQLite writes: main
 * files, journals) reach the file at once, so that reads see them, but each
 * keeps what it overwrote until a sync of the file has ended: a power loss
 * (rt_disk_power_loss) puts such writes back, last first, so each file holds
 * what its ended syncs made durable; in seeds with torn writes the disk is
 * taken to have written a prefix of the others too, the last of them perhaps
 * in part (from a 512-byte sector on), which SQLite's WAL checksums must
 * catch. A sync costs the node time: the loop that called it is blocked
 * (rt_node.busy_until_us) for the seed's fsync latency, now and then for a
 * slow disk's, and what the node sends or answers after it leaves only then
 * (rt_node_time); a power loss meanwhile loses the sync's writes, though the
 * code went on as if it had returned, and every write the code made after
 * it (issued only once the sync returned, when the power was already out).
 * The real fsync is not called:
 * durability here is this model's, not the kernel's. Files written with
 * write(2) (snapshot temporaries, ids) are not modelled: what reached them
 * is kept.
 */
#include <assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "persist/state.h" /* PERSIST_STATE_FILE */
#include "rt.h"

#define MEM_LOG_FILE    "raft.db" /* persist/log_impl.h's LOG_FILE (private to persist/log*.c) */
#define MEM_SECTOR_SIZE 4096 /* what the unix VFS answers on Linux (SQLITE_DEFAULT_SECTOR_SIZE) */
#define MEM_FILE_MODE   0644 /* a database SQLite itself creates (the unix VFS's default) */
#define MEM_MARK        "coord-sim: this database is kept in memory (tests/sim/disk.c)\n"
#define BLOCK_MIN_SHIFT 12                /* a buffer's first block: 4 KiB, doubled as it grows */
#define BLOCK_CLASSES   40                /* block sizes: 2^12 .. 2^51 */
#define ARENA_BYTES     ((size_t)4 << 30) /* addresses kept for blocks; a seed touches MiBs */
#define ARENA_ALIGN     ((size_t)2 << 20) /* a transparent huge page */

struct undo {
	uint64_t issued_at;          /* when it was written: after the syncs its node waited for */
	uint64_t durable_at;         /* when the sync that covers it ends (UINT64_MAX: none yet) */
	sqlite3_int64 off, old_size; /* the file's size before the write */
	int len;                     /* bytes of DATA: what the write overwrote */
	int wlen;                    /* bytes the write wrote */
	unsigned char *data;
};

/* The files of a node's databases kept in memory, by their names' ends. */
enum mem_kind {
	MEM_NONE = -1, /* not one: passed through */
	MEM_DB,        /* raft.db, state.db */
	MEM_WAL,       /* ...-wal */
	MEM_JOURNAL,   /* ...-journal */
	MEM_SHM,       /* ...-shm: never opened (xShmMap), only asked after */
};

static const char *const mem_dbs[] = {MEM_LOG_FILE, PERSIST_STATE_FILE};
static const char *const mem_suffixes[] = {
    [MEM_DB] = "", [MEM_WAL] = "-wal", [MEM_JOURNAL] = "-journal", [MEM_SHM] = "-shm"};

/* A database's wal-index (its -shm), while a handle maps it. The unix VFS
 * empties a -shm when the first connection of a process maps it (its
 * dead-man switch): one that nothing maps holds nothing worth keeping. */
struct shm {
	int region_size, n_regions;
	unsigned char **regions;     /* each zeroed when made, and never moved */
	int n_maps;                  /* handles that map it */
	int locks[SQLITE_SHM_NLOCK]; /* per slot: 0 free, -1 held exclusive, N>0 shared by N */
};

/* One file of a node's data folder, shared by every handle open on it. */
struct path {
	char *name;
	int node;
	bool dead;          /* its node lost power: handles still open change nothing */
	sqlite3_int64 size; /* the file's size, kept here to spare an fstat per write */
	struct undo *undo;
	size_t n_undo, cap_undo;
	/* In memory (enum mem_kind): */
	bool mem;
	bool exists;          /* created and not deleted since */
	unsigned char *bytes; /* SIZE bytes, CAP allocated */
	size_t cap;
	int n_open;      /* handles open on it */
	int lock;        /* the strongest SQLITE_LOCK_* of its handles */
	int n_shared;    /* its handles that hold SHARED or more */
	struct shm *shm; /* a database's wal-index, while mapped */
	bool shm_left;   /* ... or its -shm file left behind (what was in it does not matter) */
	struct path *next;
};

struct file {
	sqlite3_file base;
	struct path *p;     /* NULL: not a node's database (passed through) */
	sqlite3_file *real; /* NULL when P is in memory */
	/* In memory: */
	int flags;              /* as opened (SQLITE_OPEN_*) */
	int lock;               /* the SQLITE_LOCK_* it holds */
	bool persist_wal, psow; /* SQLITE_FCNTL_PERSIST_WAL, SQLITE_FCNTL_POWERSAFE_OVERWRITE */
	bool mapped;            /* it maps p->shm */
	uint16_t shm_shared, shm_excl; /* the wal-index slots it holds, by bit */
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs vfs;
static sqlite3_io_methods io_v1, io_v2, io_v3, io_mem;
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

/* What NAME is among a node's files kept in memory, and the length of the
 * name of its database (NAME without the suffix). Only absolute names: the
 * names SQLite opens are its full path names. */
static enum mem_kind mem_kind_of(const char *name, size_t *db_len)
{
	int node = name && name[0] == '/' ? node_of(name) : -1;
	const char *base;

	if (node < 0)
		return MEM_NONE;
	base = name + strlen(rt_w->nodes[node].data) + 1;
	for (size_t i = 0; i < sizeof(mem_dbs) / sizeof(mem_dbs[0]); i++) {
		size_t k = strlen(mem_dbs[i]);

		if (strncmp(base, mem_dbs[i], k) != 0)
			continue;
		for (int kind = MEM_DB; kind <= MEM_SHM; kind++)
			if (strcmp(base + k, mem_suffixes[kind]) == 0) {
				*db_len = (size_t)(base + k - name);
				return (enum mem_kind)kind;
			}
	}
	return MEM_NONE;
}

/* The path of the first LEN bytes of NAME, if there is one. */
static struct path *path_find(const char *name, size_t len)
{
	for (struct path *p = paths; p; p = p->next)
		if (strncmp(p->name, name, len) == 0 && p->name[len] == '\0')
			return p;
	return NULL;
}

static struct path *path_of(const char *name, bool make)
{
	int node = node_of(name);
	size_t db_len;
	struct path *p;

	if (node < 0)
		return NULL;
	p = path_find(name, strlen(name));
	if (p || !make)
		return p;
	p = calloc(1, sizeof(*p));
	assert(p);
	p->name = strdup(name);
	assert(p->name);
	p->node = node;
	p->mem = mem_kind_of(name, &db_len) != MEM_NONE;
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

/* Keeps what a write of LEN bytes at OFF is about to overwrite in P (read
 * from its buffer, or through REAL when P is not in memory). */
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
	*u = (struct undo){.issued_at = rt_node_time(rt_w, p->node),
	                   .durable_at = UINT64_MAX,
	                   .off = off,
	                   .old_size = size,
	                   .wlen = len};
	if (off < size) {
		u->len = (int)(size - off < len ? size - off : len);
		u->data = malloc((size_t)u->len);
		assert(u->data);
		if (p->mem)
			memcpy(u->data, p->bytes + off, (size_t)u->len);
		else if (real->pMethods->xRead(real, u->data, u->len, off) != SQLITE_OK)
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

/* A file in memory: its buffer, in blocks of powers of two.
 *
 * A page of memory the process touches first costs a fault, and where page
 * tables are shadowed (a VM) a fault costs ~12 us per 4 KiB page but ~0.3 us
 * per 4 KiB of a 2 MiB huge page: a seed's files, MiBs each time a seed's
 * process starts, would cost more in faults than the system calls of the
 * real files they replace. So blocks come from one arena advised to be of
 * transparent huge pages (where there are none it is only slower), and a
 * block freed is used again by the next of its size. Under AddressSanitizer
 * they come from malloc, which it checks. */
#if defined(__SANITIZE_ADDRESS__)
#define BLOCK_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BLOCK_MALLOC 1
#endif
#endif

static unsigned char *arena, *arena_next;
static void *blocks_free[BLOCK_CLASSES]; /* each free block's first word: the next */

static int block_class(size_t size)
{
	int c = __builtin_ctzll((unsigned long long)size) - BLOCK_MIN_SHIFT;

	assert(c >= 0 && c < BLOCK_CLASSES && size == (size_t)1 << (c + BLOCK_MIN_SHIFT));
	return c;
}

/* A block of SIZE bytes (a power of two), its content undefined. */
static void *block_get(size_t size)
{
	int c = block_class(size);
	void *b = blocks_free[c];

#ifndef BLOCK_MALLOC
	static bool tried;

	if (!tried) { /* once: if the addresses are refused, malloc it is */
		unsigned char *m = mmap(NULL, ARENA_BYTES + ARENA_ALIGN, PROT_READ | PROT_WRITE,
		                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		tried = true;
		if (m != MAP_FAILED) {
			arena = m + (ARENA_ALIGN - (uintptr_t)m % ARENA_ALIGN) % ARENA_ALIGN;
			arena_next = arena;
			madvise(arena, ARENA_BYTES, MADV_HUGEPAGE);
		}
	}
#endif
	if (b) {
		blocks_free[c] = *(void **)b;
		return b;
	}
	if (arena && size <= (size_t)(arena + ARENA_BYTES - arena_next)) {
		b = arena_next;
		arena_next += size;
		return b;
	}
	b = malloc(size); /* the arena is spent (or not used) */
	assert(b);
	return b;
}

static void block_put(void *b, size_t size)
{
	int c = block_class(size);

	if (!arena || (unsigned char *)b < arena || (unsigned char *)b >= arena + ARENA_BYTES) {
		free(b);
		return;
	}
	*(void **)b = blocks_free[c];
	blocks_free[c] = b;
}

/* P's buffer holds N bytes at least. */
static void mem_reserve(struct path *p, size_t n)
{
	size_t cap = p->cap ? p->cap : (size_t)1 << BLOCK_MIN_SHIFT;
	unsigned char *bytes;

	if (n <= p->cap)
		return;
	while (cap < n)
		cap *= 2;
	bytes = block_get(cap);
	if (p->size > 0)
		memcpy(bytes, p->bytes, (size_t)p->size);
	if (p->bytes)
		block_put(p->bytes, p->cap);
	p->bytes = bytes;
	p->cap = cap;
}

/* P's size becomes SIZE: cut, or grown with zeros (ftruncate(2)). */
static void mem_resize(struct path *p, sqlite3_int64 size)
{
	assert(p->mem && size >= 0);
	mem_reserve(p, (size_t)size);
	if (size > p->size)
		memset(p->bytes + p->size, 0, (size_t)(size - p->size));
	p->size = size;
}

/* LEN bytes of BUF at OFF in P, which grows as needed (pwrite(2)). */
static void mem_put(struct path *p, sqlite3_int64 off, const void *buf, int len)
{
	mem_reserve(p, (size_t)(off + len));
	if (off > p->size) /* a hole: zeros */
		memset(p->bytes + p->size, 0, (size_t)(off - p->size));
	memcpy(p->bytes + off, buf, (size_t)len);
	if (off + len > p->size)
		p->size = off + len;
}

/* P no longer exists: its bytes are gone, and so is what a power loss
 * would have put back (a deletion is taken as durable). Its buffer stays,
 * for the file of that name SQLite makes next (a WAL, a journal). */
static void mem_drop(struct path *p)
{
	assert(p->n_open == 0);
	undo_clear(p);
	p->size = 0;
	p->exists = false;
}

/* The methods of a file passed through: each passes through, but for the
 * model when P is a node's. */

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
	(void)f;
	(void)off;
	(void)amt;
	*pp = NULL; /* no memory-mapped reads: every read goes through xRead */
	return SQLITE_OK;
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	(void)f;
	(void)off;
	(void)p;
	return SQLITE_OK;
}

/* The methods of a file in memory. Its locks follow the unix VFS's for the
 * connections of one process (os_unix.c: unixLock, posixUnlock,
 * unixShmLock), with no other process to ask. */

static int m_unlock(sqlite3_file *f, int level)
{
	struct file *x = (struct file *)f;
	struct path *p = x->p;

	assert(level <= SQLITE_LOCK_SHARED);
	if (x->lock <= level)
		return SQLITE_OK;
	assert(p->n_shared > 0);
	if (x->lock > SQLITE_LOCK_SHARED) {
		assert(p->lock == x->lock);
		p->lock = SQLITE_LOCK_SHARED;
	}
	if (level == SQLITE_LOCK_NONE && --p->n_shared == 0)
		p->lock = SQLITE_LOCK_NONE;
	x->lock = level;
	return SQLITE_OK;
}

static int m_lock(sqlite3_file *f, int level)
{
	struct file *x = (struct file *)f;
	struct path *p = x->p;

	if (x->lock >= level)
		return SQLITE_OK;
	assert(level != SQLITE_LOCK_PENDING);
	assert(x->lock != SQLITE_LOCK_NONE || level == SQLITE_LOCK_SHARED);
	/* Another handle holds a lock that precludes it. */
	if (x->lock != p->lock && (p->lock >= SQLITE_LOCK_PENDING || level > SQLITE_LOCK_SHARED))
		return SQLITE_BUSY;
	if (level == SQLITE_LOCK_SHARED &&
	    (p->lock == SQLITE_LOCK_SHARED || p->lock == SQLITE_LOCK_RESERVED)) {
		x->lock = SQLITE_LOCK_SHARED;
		p->n_shared++;
		return SQLITE_OK;
	}
	/* From RESERVED, EXCLUSIVE takes PENDING first, and keeps it when
	 * readers are still there: no new one comes in meanwhile. */
	if (level == SQLITE_LOCK_EXCLUSIVE && x->lock == SQLITE_LOCK_RESERVED)
		x->lock = p->lock = SQLITE_LOCK_PENDING;
	if (level == SQLITE_LOCK_SHARED) {
		assert(p->n_shared == 0 && p->lock == SQLITE_LOCK_NONE);
		p->n_shared = 1;
	} else if (level == SQLITE_LOCK_EXCLUSIVE && p->n_shared > 1) {
		return SQLITE_BUSY;
	}
	x->lock = p->lock = level;
	return SQLITE_OK;
}

static int m_reserved(sqlite3_file *f, int *out)
{
	struct file *x = (struct file *)f;

	*out = x->p->lock > SQLITE_LOCK_SHARED;
	return SQLITE_OK;
}

static int m_shm_unmap(sqlite3_file *f, int del)
{
	struct file *x = (struct file *)f;
	struct shm *s = x->p->shm;

	if (!x->mapped)
		return SQLITE_OK;
	for (int i = 0; i < SQLITE_SHM_NLOCK; i++) /* what it held, it lets go */
		if (x->shm_excl & (1u << i))
			s->locks[i] = 0;
		else if (x->shm_shared & (1u << i))
			s->locks[i]--;
	x->shm_excl = x->shm_shared = 0;
	x->mapped = false;
	if (--s->n_maps == 0) {
		x->p->shm_left = !del; /* as the unix VFS leaves its -shm file */
		for (int i = 0; i < s->n_regions; i++)
			free(s->regions[i]);
		free(s->regions);
		free(s);
		x->p->shm = NULL;
	}
	return SQLITE_OK;
}

static int m_close(sqlite3_file *f)
{
	struct file *x = (struct file *)f;

	m_unlock(f, SQLITE_LOCK_NONE);
	assert(!x->mapped); /* SQLite unmaps the wal-index before it closes */
	assert(x->p->n_open > 0);
	x->p->n_open--;
	return SQLITE_OK;
}

static int m_read(sqlite3_file *f, void *buf, int len, sqlite3_int64 off)
{
	struct file *x = (struct file *)f;
	struct path *p = x->p;
	sqlite3_int64 have = off < p->size ? p->size - off : 0;

	if (have >= len) {
		memcpy(buf, p->bytes + off, (size_t)len);
		return SQLITE_OK;
	}
	if (have > 0)
		memcpy(buf, p->bytes + off, (size_t)have);
	memset((unsigned char *)buf + have, 0, (size_t)(len - have));
	return SQLITE_IOERR_SHORT_READ;
}

static int m_write(sqlite3_file *f, const void *buf, int len, sqlite3_int64 off)
{
	struct file *x = (struct file *)f;

	if (!(x->flags & SQLITE_OPEN_READWRITE))
		return SQLITE_IOERR_WRITE; /* as a file opened O_RDONLY */
	if (x->p->dead)
		return SQLITE_OK;
	undo_push(x->p, NULL, off, len);
	mem_put(x->p, off, buf, len);
	return SQLITE_OK;
}

static int m_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct file *x = (struct file *)f;
	struct path *p = x->p;

	if (!(x->flags & SQLITE_OPEN_READWRITE))
		return SQLITE_IOERR_TRUNCATE;
	if (p->dead)
		return SQLITE_OK;
	if (size < p->size)
		undo_push(p, NULL, size, (int)(p->size - size));
	mem_resize(p, size);
	return SQLITE_OK;
}

static int m_sync(sqlite3_file *f, int flags)
{
	struct file *x = (struct file *)f;

	(void)flags;
	if (!x->p->dead)
		sync_path(x->p);
	return SQLITE_OK;
}

static int m_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct file *x = (struct file *)f;

	*size = x->p->size;
	return SQLITE_OK;
}

/* A flag set, cleared, or asked (*ARG < 0) as the unix VFS's unixModeBit. */
static void mode_bit(bool *flag, void *arg)
{
	int *v = arg;

	if (*v < 0)
		*v = *flag;
	else
		*flag = *v != 0;
}

/* The unix VFS's answers, but for what needs a real file (SQLITE_NOTFOUND,
 * as the unix VFS answers what it does not know). */
static int m_control(sqlite3_file *f, int op, void *arg)
{
	struct file *x = (struct file *)f;

	switch (op) {
	case SQLITE_FCNTL_LOCKSTATE:
		*(int *)arg = x->lock;
		return SQLITE_OK;
	case SQLITE_FCNTL_LAST_ERRNO:
		*(int *)arg = 0;
		return SQLITE_OK;
	case SQLITE_FCNTL_SIZE_HINT: /* the unix VFS ignores it without a chunk size */
		return SQLITE_OK;
	case SQLITE_FCNTL_PERSIST_WAL:
		mode_bit(&x->persist_wal, arg);
		return SQLITE_OK;
	case SQLITE_FCNTL_POWERSAFE_OVERWRITE:
		mode_bit(&x->psow, arg);
		return SQLITE_OK;
	case SQLITE_FCNTL_HAS_MOVED:
		*(int *)arg = !x->p->exists;
		return SQLITE_OK;
	case SQLITE_FCNTL_EXTERNAL_READER: /* no other process */
		*(int *)arg = 0;
		return SQLITE_OK;
	default:
		return SQLITE_NOTFOUND;
	}
}

static int m_sector(sqlite3_file *f)
{
	(void)f;
	return MEM_SECTOR_SIZE;
}

static int m_device(sqlite3_file *f)
{
	struct file *x = (struct file *)f;

	return x->psow ? SQLITE_IOCAP_POWERSAFE_OVERWRITE : 0;
}

static int m_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **out)
{
	struct file *x = (struct file *)f;
	struct shm *s;

	if (!x->mapped) {
		if (!x->p->shm) {
			x->p->shm = calloc(1, sizeof(*x->p->shm));
			assert(x->p->shm);
		}
		x->p->shm->n_maps++;
		x->mapped = true;
	}
	s = x->p->shm;
	assert(s->n_regions == 0 || s->region_size == pgsz);
	if (pg >= s->n_regions && extend) {
		s->regions = realloc(s->regions, (size_t)(pg + 1) * sizeof(*s->regions));
		assert(s->regions);
		for (; s->n_regions <= pg; s->n_regions++) {
			s->regions[s->n_regions] = calloc(1, (size_t)pgsz);
			assert(s->regions[s->n_regions]);
		}
		s->region_size = pgsz;
	}
	*out = pg < s->n_regions ? s->regions[pg] : NULL; /* NULL: not made, and not to be */
	return SQLITE_OK;
}

static int m_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	struct file *x = (struct file *)f;
	struct shm *s = x->p->shm;
	uint16_t mask = (uint16_t)((1u << (off + n)) - (1u << off));

	assert(x->mapped && off >= 0 && n >= 1 && off + n <= SQLITE_SHM_NLOCK);
	if (flags & SQLITE_SHM_UNLOCK) {
		for (int i = off; i < off + n; i++)
			if (x->shm_excl & (1u << i))
				s->locks[i] = 0;
			else if (x->shm_shared & (1u << i))
				s->locks[i]--;
		x->shm_excl &= (uint16_t)~mask;
		x->shm_shared &= (uint16_t)~mask;
		return SQLITE_OK;
	}
	if (flags & SQLITE_SHM_SHARED) {
		assert(n == 1 && !(x->shm_excl & mask));
		if (x->shm_shared & mask)
			return SQLITE_OK;
		if (s->locks[off] < 0)
			return SQLITE_BUSY;
		s->locks[off]++;
		x->shm_shared |= mask;
		return SQLITE_OK;
	}
	assert(!((x->shm_shared | x->shm_excl) & mask)); /* SQLite asks only for what it lacks */
	for (int i = off; i < off + n; i++)
		if (s->locks[i] != 0)
			return SQLITE_BUSY;
	for (int i = off; i < off + n; i++)
		s->locks[i] = -1;
	x->shm_excl |= mask;
	return SQLITE_OK;
}

static void m_shm_barrier(sqlite3_file *f)
{
	(void)f;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Whether the real file of database P bears the mark (MEM_MARK) that it
 * stands for bytes kept here: a folder wiped (and made again) since took
 * that file, and with it what was kept here. */
static bool mem_marked(const struct path *p)
{
	char mark[sizeof(MEM_MARK) - 1];
	int fd = open(p->name, O_RDONLY | O_CLOEXEC);
	bool marked = fd >= 0 && pread(fd, mark, sizeof(mark), 0) == (ssize_t)sizeof(mark) &&
	              memcmp(mark, MEM_MARK, sizeof(mark)) == 0;

	if (fd >= 0)
		close(fd);
	return marked;
}

/* Database P, its WAL and its journal are gone with their folder: nothing
 * of theirs is kept (and no handle may be open on them). */
static void mem_forget(struct path *p)
{
	char name[sizeof(rt_w->nodes[0].data) + 64];

	for (int kind = MEM_DB; kind < MEM_SHM; kind++) {
		struct path *q;

		snprintf(name, sizeof(name), "%s%s", p->name, mem_suffixes[kind]);
		q = path_find(name, strlen(name));
		if (q && q->n_open > 0)
			rt_fail(rt_w, "disk: %s was wiped while SQLite had it open", q->name);
		else if (q && q->exists)
			mem_drop(q);
	}
	if (p->shm)
		rt_fail(rt_w, "disk: %s was wiped while SQLite had it open", p->name);
	p->shm_left = false;
}

/* A database comes into memory when SQLite first opens it: with the bytes
 * of the real file persist/ made for it (empty), or, asked to create it, as
 * a new empty file made there too, as the unix VFS would. That file then
 * holds the mark, only. */
static int mem_import(struct path *p, int flags)
{
	int fd = open(p->name, O_RDWR | O_CLOEXEC);
	struct stat st;

	if (fd < 0 && (flags & SQLITE_OPEN_CREATE))
		fd = open(p->name, O_RDWR | O_CREAT | O_CLOEXEC, MEM_FILE_MODE);
	if (fd < 0)
		return SQLITE_CANTOPEN;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return SQLITE_CANTOPEN;
	}
	mem_resize(p, st.st_size);
	for (sqlite3_int64 at = 0; at < p->size;) {
		ssize_t n = pread(fd, p->bytes + at, (size_t)(p->size - at), at);

		if (n <= 0) {
			close(fd);
			mem_drop(p);
			return SQLITE_IOERR_READ;
		}
		at += n;
	}
	if (p->size == sizeof(MEM_MARK) - 1 &&
	    memcmp(p->bytes, MEM_MARK, sizeof(MEM_MARK) - 1) == 0)
		mem_resize(p, 0); /* marked by another process: what it kept is gone */
	if (ftruncate(fd, 0) != 0 ||
	    pwrite(fd, MEM_MARK, sizeof(MEM_MARK) - 1, 0) != (ssize_t)sizeof(MEM_MARK) - 1)
		rt_fail(rt_w, "disk: cannot mark %s", p->name);
	close(fd);
	p->exists = true;
	return SQLITE_OK;
}

static int mem_open(const char *name, enum mem_kind kind, struct file *x, int flags, int *out)
{
	struct path *p = path_of(name, true);
	int rc = SQLITE_OK;

	assert(p && p->mem && kind != MEM_SHM);
	assert(flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL));
	assert(!(flags & SQLITE_OPEN_DELETEONCLOSE));
	if (kind == MEM_DB && p->exists && !mem_marked(p))
		mem_forget(p);
	if (p->exists && (flags & SQLITE_OPEN_EXCLUSIVE))
		return SQLITE_CANTOPEN;
	if (!p->exists && kind == MEM_DB)
		rc = mem_import(p, flags);
	else if (!p->exists && !(flags & SQLITE_OPEN_CREATE))
		rc = SQLITE_CANTOPEN;
	if (rc != SQLITE_OK)
		return rc;
	p->exists = true;
	p->n_open++;
	x->p = p;
	x->flags = flags;
	x->psow = true; /* the unix VFS's default (SQLITE_POWERSAFE_OVERWRITE) */
	x->base.pMethods = &io_mem;
	if (out)
		*out = flags;
	return SQLITE_OK;
}

static int v_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *f, int flags, int *out)
{
	struct file *x = (struct file *)f;
	enum mem_kind kind;
	size_t db_len;
	int rc, version;

	(void)v;
	memset(x, 0, sizeof(*x));
	kind = mem_kind_of(name, &db_len);
	if (kind != MEM_NONE)
		return mem_open(name, kind, x, flags, out);
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
	size_t db_len;
	enum mem_kind kind = mem_kind_of(name, &db_len);
	struct path *p = path_of(name, false);

	(void)v;
	if (p && p->dead)
		return SQLITE_OK;
	if (kind == MEM_SHM) { /* its memory goes when it is unmapped (struct shm) */
		p = path_find(name, db_len);
		if (!p || (!p->shm && !p->shm_left))
			return SQLITE_IOERR_DELETE_NOENT;
		p->shm_left = false;
		return SQLITE_OK;
	}
	if (kind == MEM_NONE || (kind == MEM_DB && !(p && p->exists))) {
		if (p)
			undo_clear(p); /* a deletion is taken as durable */
		return real_vfs->xDelete(real_vfs, name, dirsync);
	}
	if (!p || !p->exists)
		return SQLITE_IOERR_DELETE_NOENT;
	mem_drop(p);
	if (kind == MEM_DB) /* and the real file that stood for it */
		real_vfs->xDelete(real_vfs, name, dirsync);
	return SQLITE_OK;
}

/* As the unix VFS: SQLITE_ACCESS_EXISTS only of a file that is not empty. */
static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	size_t db_len;
	enum mem_kind kind = mem_kind_of(name, &db_len);
	struct path *p;

	(void)v;
	if (kind == MEM_SHM) {
		p = path_find(name, db_len);
		*out = p && (p->shm_left ||
		             (p->shm && (flags != SQLITE_ACCESS_EXISTS || p->shm->n_regions > 0)));
		return SQLITE_OK;
	}
	p = kind == MEM_NONE ? NULL : path_of(name, false);
	if (kind == MEM_NONE || (kind == MEM_DB && !(p && p->exists)))
		return real_vfs->xAccess(real_vfs, name, flags, out);
	*out = p && p->exists && (flags != SQLITE_ACCESS_EXISTS || p->size > 0);
	return SQLITE_OK;
}

static int v_full(sqlite3_vfs *v, const char *name, int n, char *out)
{
	size_t db_len;

	(void)v;
	if (mem_kind_of(name, &db_len) != MEM_NONE) { /* absolute already */
		if (strlen(name) >= (size_t)n)
			return SQLITE_CANTOPEN;
		strcpy(out, name);
		return SQLITE_OK;
	}
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
	static const sqlite3_io_methods mem = {
	    .iVersion = 3,
	    .xClose = m_close,
	    .xRead = m_read,
	    .xWrite = m_write,
	    .xTruncate = m_truncate,
	    .xSync = m_sync,
	    .xFileSize = m_size,
	    .xLock = m_lock,
	    .xUnlock = m_unlock,
	    .xCheckReservedLock = m_reserved,
	    .xFileControl = m_control,
	    .xSectorSize = m_sector,
	    .xDeviceCharacteristics = m_device,
	    .xShmMap = m_shm_map,
	    .xShmLock = m_shm_lock,
	    .xShmBarrier = m_shm_barrier,
	    .xShmUnmap = m_shm_unmap,
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
	io_mem = mem;
	vfs = *real_vfs;
	vfs.szOsFile = (int)sizeof(struct file);
	vfs.zName = "coord-sim";
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

/* Puts P's writes back, from the last down to KEEP; KEEP perhaps in part
 * only (torn: its first sectors stay) when TORN. */
static void put_back(struct path *p, size_t keep, bool torn)
{
	int fd = -1;

	if (!p->mem && (fd = open(p->name, O_WRONLY | O_CLOEXEC)) < 0)
		return;
	for (size_t i = p->n_undo; i-- > keep;) {
		struct undo *u = &p->undo[i];
		sqlite3_int64 size = u->old_size;
		int from = 0; /* bytes of the write that stay */

		if (i == keep && torn && u->wlen > 512)
			from = 512 * (int)sim_below(&rt_w->rng, (uint64_t)u->wlen / 512);
		if (from) {
			rt_trace(rt_w, "n%d: a write to %s torn at byte %d of %d", p->node + 1,
			         strrchr(p->name, '/') + 1, from, u->wlen);
			if (u->off + from > size)
				size = u->off + from;
		}
		if (p->mem) {
			if (u->len > from)
				mem_put(p, u->off + from, u->data + from, u->len - from);
			mem_resize(p, size);
			continue;
		}
		if (u->len > from && pwrite(fd, u->data + from, (size_t)(u->len - from),
		                            u->off + from) != u->len - from)
			rt_fail(rt_w, "disk: cannot put back %s", p->name);
		if (ftruncate(fd, size) != 0)
			rt_fail(rt_w, "disk: cannot truncate %s", p->name);
	}
	if (fd >= 0)
		close(fd);
}

/* Every database of NODE back to what the syncs that ended by now made
 * durable. Its handles are closed (rt_disk_dead before, so closing changed
 * nothing). */
void rt_disk_power_loss(int node)
{
	for (struct path *p = paths; p; p = p->next) {
		size_t first = p->n_undo, issued, keep;

		if (p->node != node)
			continue;
		assert(!p->mem || (p->n_open == 0 && !p->shm));
		while (first > 0 && p->undo[first - 1].durable_at > rt_w->now_us)
			first--; /* undo[first..] were not durable */
		/* The code went on past a sync that had not ended (the node was
		 * blocked in it): what it wrote after one was never written, as
		 * the fsync had not returned. SQLite relies on it (a checkpoint
		 * writes the database only once the WAL's sync has returned). */
		for (issued = first; issued < p->n_undo; issued++)
			if (p->undo[issued].issued_at > rt_w->now_us)
				break;
		/* The disk wrote them in order and stopped somewhere: a prefix of
		 * them reached it (in seeds with torn writes), the next one perhaps
		 * in part, from a 512-byte sector on. */
		keep =
		    rt_w->torn_writes ? first + sim_below(&rt_w->rng, issued - first + 1) : first;
		if (first < p->n_undo)
			rt_trace(rt_w, "n%d: %zu of %zu unsynced writes to %s reach the disk",
			         node + 1, keep - first, p->n_undo - first,
			         strrchr(p->name, '/') + 1);
		if (keep < p->n_undo)
			put_back(p, keep, rt_w->torn_writes && keep < issued);
		undo_clear(p);
		p->dead = false;
	}
}

/* NODE's disk is lost (rt_node_wipe; the node is down, its handles closed):
 * nothing of its databases is kept, durable or not. The real files of its
 * folder are removed by the caller. */
void rt_disk_wipe(int node)
{
	for (struct path *p = paths; p; p = p->next) {
		if (p->node != node)
			continue;
		assert(!p->mem || (p->n_open == 0 && !p->shm));
		undo_clear(p);
		if (p->mem && p->exists)
			mem_drop(p);
		p->shm_left = false;
		p->dead = false;
	}
}
