/* restore.c: coordd --restore FILE (restore.h), an offline command: no
 * socket, no Raft core, only the data folder.
 *
 * What a restored folder holds, so that the node started on it is a member
 * of a new cluster that goes on from where the snapshot left off:
 *  R1. The snapshot, copied with the new configuration recorded in it
 *      (persist_snapshot_import); persist_state_open() restores state.db
 *      from it, here already, so the first start finds state.db ready.
 *  R2. raft.db with its log base at the snapshot's (index, term), the new
 *      configuration (every --cluster id a voter) as the snapshot's, and
 *      the snapshot's term with no vote as hard state. Every entry the new
 *      cluster writes is above the snapshot's index, so every fencing token
 *      it grants (a log index, SM-3) is above every token in the snapshot.
 *  R3. cluster-id derived from the snapshot's bytes and the sorted
 *      --cluster: the same on every member restored from the same file with
 *      the same --cluster, so they admit one another (DESIGN.md rule 13),
 *      and not the old cluster's random id, so the old members and the new
 *      never talk.
 *  R4. All or nothing: every check runs first; the folder is built next to
 *      --data under a temporary name, fsynced, and renamed over it.
 * Sessions come back with their TTL restarted: the new leader's lease
 * keeper gives every session a full TTL when it takes over (rule 8).
 */
#include "restore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "node_join.h"
#include "raft.h"
#include "sm.h"
#include "persist/log.h"
#include "persist/snapshot.h"
#include "persist/state.h"

#define RESTORE_WHY_MAX   600 /* one line: a persist message and some context */
#define RESTORE_FNV_PRIME 0x100000001b3ull
#define RESTORE_FNV_SEED1 0xcbf29ce484222325ull /* FNV-1a's offset basis */
#define RESTORE_FNV_SEED2 0x84222325cbf29ce4ull /* a second, independent start */

struct restore {
	const struct coord_config *cfg;
	struct persist_snapshot_meta src; /* the file, as checked */
	uint8_t conf[RAFT_CONF_MAX_BYTES];
	size_t conf_len;
	char id[COORD_RESTORE_ID_HEX + 1];
	char tmp[COORD_CONFIG_PATH_MAX + 32]; /* the folder being built */
	char why[RESTORE_WHY_MAX];
};

static int refuse(struct restore *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct restore *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return -1;
}

/* The members sorted by id: the order every member's folder agrees on. */
static void sorted_members(const struct coord_config *cfg, struct coord_member *out)
{
	memcpy(out, cfg->members, cfg->n_members * sizeof(*out));
	for (size_t i = 1; i < cfg->n_members; i++)
		for (size_t j = i; j > 0 && out[j - 1].id > out[j].id; j--) {
			struct coord_member t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= RESTORE_FNV_PRIME;
	}
	return h;
}

void coord_restore_cluster_id(uint32_t crc, uint64_t size, uint64_t index, uint64_t term,
                              const struct coord_config *cfg, char out[COORD_RESTORE_ID_HEX + 1])
{
	struct coord_member m[COORD_CONFIG_MAX_MEMBERS];
	char text[64 + COORD_CONFIG_MAX_MEMBERS * (COORD_CONFIG_ADDR_MAX + 24)];
	size_t len;

	sorted_members(cfg, m);
	len = (size_t)snprintf(text, sizeof(text), "coord restore 1 %08x %llu %llu %llu",
	                       (unsigned)crc, (unsigned long long)size, (unsigned long long)index,
	                       (unsigned long long)term);
	for (size_t i = 0; i < cfg->n_members && len < sizeof(text); i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, ",%llu=%s",
		                        (unsigned long long)m[i].id, m[i].raft);
	snprintf(out, COORD_RESTORE_ID_HEX + 1, "%016llx%016llx",
	         (unsigned long long)fnv1a(RESTORE_FNV_SEED1, text),
	         (unsigned long long)fnv1a(RESTORE_FNV_SEED2, text));
}

/* --data must be absent or an empty folder (it would be replaced). */
static int check_target(struct restore *r)
{
	const char *path = r->cfg->data;
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if (stat(path, &sb) != 0)
		return errno == ENOENT ? 0 : refuse(r, "cannot use %s: %s", path, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return refuse(r, "%s is not a folder", path);
	d = opendir(path);
	if (!d)
		return refuse(r, "cannot list %s: %s", path, strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			break;
	closedir(d);
	if (de != NULL)
		return refuse(r,
		              "the data folder %s is not empty: a restore seeds only an empty "
		              "or absent folder",
		              path);
	return 0;
}

/* The state machine's objects (everything but persist's own tables), with
 * their SQL; user_version first. */
static const char schema_sql[] =
    "SELECT 'user_version', '', '', user_version FROM pragma_user_version UNION ALL "
    "SELECT * FROM (SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master"
    " WHERE name NOT LIKE 'persist\\_%' ESCAPE '\\' ORDER BY type, name)";
/* One object of this version's schema, by type and name. */
static const char object_sql[] =
    "SELECT type, name, tbl_name, coalesce(sql, '') FROM (SELECT 'user_version' AS type,"
    " '' AS name, '' AS tbl_name, user_version AS sql FROM pragma_user_version UNION ALL"
    " SELECT type, name, tbl_name, sql FROM sqlite_master) WHERE type = ?1 AND name = ?2";

/* The first object of SNAP that REF (this version's schema) lacks or holds
 * otherwise ("" when none), but for an index this version retired. REF may
 * hold more: the tables a later version added, which the node creates when
 * it starts (coord_sm_open), as it does for an older state.db. */
static void schema_diff(sqlite3 *snap, sqlite3 *ref, char *what, size_t cap)
{
	sqlite3_stmt *ss = NULL, *rs = NULL;
	int rc;

	snprintf(what, cap, "its schema cannot be read");
	if (sqlite3_prepare_v2(snap, schema_sql, -1, &ss, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(ref, object_sql, -1, &rs, NULL) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(ss)) == SQLITE_ROW) {
		bool same = false;

		/* Dropped when the node opens the state (coord_sm_schema). */
		if (coord_sm_schema_retired((const char *)sqlite3_column_text(ss, 0),
		                            (const char *)sqlite3_column_text(ss, 1)))
			continue;
		sqlite3_reset(rs);
		sqlite3_bind_text(rs, 1, (const char *)sqlite3_column_text(ss, 0), -1,
		                  SQLITE_TRANSIENT);
		sqlite3_bind_text(rs, 2, (const char *)sqlite3_column_text(ss, 1), -1,
		                  SQLITE_TRANSIENT);
		if (sqlite3_step(rs) == SQLITE_ROW) {
			same = true;
			for (int c = 2; c < 4; c++)
				same =
				    same && strcmp((const char *)sqlite3_column_text(ss, c),
				                   (const char *)sqlite3_column_text(rs, c)) == 0;
		}
		if (!same) {
			snprintf(what, cap, "%s %s differs",
			         (const char *)sqlite3_column_text(ss, 0),
			         (const char *)sqlite3_column_text(ss, 1));
			goto out;
		}
	}
	what[0] = rc == SQLITE_DONE ? '\0' : what[0];
out:
	sqlite3_finalize(ss);
	sqlite3_finalize(rs);
}

/* The file is of this version's format or an older one: each of the state
 * machine's tables exactly as this coordd creates it (an older file may
 * lack tables this version added), and a configuration this coordd
 * decodes. */
static int check_format(struct restore *r)
{
	const char *path = r->cfg->restore;
	struct raft_conf old;
	sqlite3 *snap = NULL, *ref = NULL;
	char what[160];

	if (r->src.config_len > 0 &&
	    raft_conf_decode(r->src.config, r->src.config_len, &old) != RAFT_OK)
		return refuse(r,
		              "%s: its configuration does not decode: a snapshot of another "
		              "format version",
		              path);
	if (sqlite3_open_v2(path, &snap, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_open(":memory:", &ref) != SQLITE_OK || coord_sm_schema(ref) != 0)
		snprintf(what, sizeof(what), "cannot be read");
	else
		schema_diff(snap, ref, what, sizeof(what));
	sqlite3_close_v2(snap);
	sqlite3_close_v2(ref);
	if (what[0])
		return refuse(r, "%s: a snapshot of another format version (%s)", path, what);
	return 0;
}

/* The new configuration: every --cluster member a voter, sorted by id. */
static int new_conf(struct restore *r)
{
	struct coord_member m[COORD_CONFIG_MAX_MEMBERS];
	struct raft_conf conf = {0};

	sorted_members(r->cfg, m);
	conf.n = (uint32_t)r->cfg->n_members;
	for (size_t i = 0; i < r->cfg->n_members; i++) {
		conf.servers[i].id = m[i].id;
		conf.servers[i].role = RAFT_VOTER;
		snprintf(conf.servers[i].addr, sizeof(conf.servers[i].addr), "%s", m[i].raft);
	}
	r->conf_len = raft_conf_encode(&conf, r->conf, sizeof(r->conf));
	return r->conf_len > 0 ? 0 : refuse(r, "cannot encode the new configuration");
}

/* R2: raft.db based at the snapshot, with the new configuration. */
static int build_log(struct restore *r, struct persist_dir *dir)
{
	struct persist_hardstate hs = {.term = r->src.term, .vote = 0};
	struct persist_write w = {.hardstate = &hs};
	struct persist_config pc = {.index = r->src.index, .data = r->conf, .len = r->conf_len};
	struct persist_log_state loaded = {0};
	struct persist_log *log = NULL;
	struct persist_error err;
	int rv;

	rv = persist_log_open(dir, &log, &loaded, &err);
	if (rv == 0)
		rv = persist_log_write(log, &w, &err);
	if (rv == 0)
		rv = persist_log_reset(log, r->src.index, r->src.term, &pc, &err);
	persist_log_state_free(&loaded);
	persist_log_close(log);
	return rv == 0 ? 0 : refuse(r, "raft.db: %s", err.msg);
}

/* R1: the snapshot in the folder, and state.db restored from it. */
static int build_state(struct restore *r, struct persist_dir *dir)
{
	struct persist_snapshot_meta got = {0};
	struct persist_state *st = NULL;
	struct persist_error err;
	uint64_t applied = 0;

	if (persist_snapshot_import(dir, r->cfg->restore, r->conf, r->conf_len, &got, &err) != 0)
		return refuse(r, "%s", err.msg);
	applied = got.index;
	persist_snapshot_meta_free(&got);
	if (applied != r->src.index)
		return refuse(r, "%s changed while it was being restored", r->cfg->restore);
	if (persist_state_open(dir, &st, &err) != 0)
		return refuse(r, "state.db: %s", err.msg);
	applied = persist_state_applied_index(st);
	persist_state_close(st);
	if (applied != r->src.index)
		return refuse(r, "state.db holds index %llu after the restore, not %llu",
		              (unsigned long long)applied, (unsigned long long)r->src.index);
	return 0;
}

/* Removes the temporary folder and what is in it (files only). */
static void discard(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(path);
}

static int sync_folder(struct restore *r, const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd >= 0 ? fsync(fd) : -1;

	if (rc != 0)
		refuse(r, "cannot sync %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc == 0 ? 0 : -1;
}

/* R4: builds the folder under r->tmp, then puts it in place of --data. */
static int build(struct restore *r)
{
	struct persist_dir *dir = NULL;
	struct persist_error err;
	char parent[sizeof(r->cfg->data)];
	char *slash;
	int rv;

	if (persist_dir_open(r->tmp, &dir, &err) != 0)
		return refuse(r, "cannot create %s: %s", r->tmp, err.msg);
	rv = build_state(r, dir);
	if (rv == 0)
		rv = build_log(r, dir);
	if (rv == 0)
		rv = node_join_write_file(r->tmp, CLUSTER_ID_FILE, r->id) == 0
		         ? 0
		         : refuse(r, "cannot write %s/%s: %s", r->tmp, CLUSTER_ID_FILE,
		                  strerror(errno));
	persist_dir_close(dir);
	if (rv == 0)
		rv = sync_folder(r, r->tmp);
	if (rv == 0 && rename(r->tmp, r->cfg->data) != 0)
		rv = refuse(r, "cannot rename %s to %s: %s", r->tmp, r->cfg->data,
		            errno == ENOTEMPTY || errno == EEXIST ? "it is no longer empty"
		                                                  : strerror(errno));
	if (rv != 0) {
		discard(r->tmp);
		return rv;
	}
	snprintf(parent, sizeof(parent), "%s", r->cfg->data);
	slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	return sync_folder(r, slash ? parent : ".");
}

/* The temporary folder next to --data (trailing slashes dropped). */
static int tmp_name(struct restore *r)
{
	char data[sizeof(r->cfg->data)];
	size_t len;

	snprintf(data, sizeof(data), "%s", r->cfg->data);
	len = strlen(data);
	while (len > 1 && data[len - 1] == '/')
		data[--len] = '\0';
	snprintf(r->tmp, sizeof(r->tmp), "%s.restore-%ld", data, (long)getpid());
	if (access(r->tmp, F_OK) == 0)
		return refuse(r, "%s exists (a restore that did not finish?): remove it", r->tmp);
	return 0;
}

static uint64_t elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (uint64_t)(t1.tv_sec - t0->tv_sec) * 1000 +
	       (uint64_t)((t1.tv_nsec - t0->tv_nsec) / 1000000);
}

int coord_restore_run(const struct coord_config *cfg)
{
	struct restore *r = calloc(1, sizeof(*r));
	struct persist_error err;
	struct timespec t0;
	bool crc_checked = false;
	int rv;

	if (!r) {
		fprintf(stderr, "coordd: cannot restore: out of memory\n");
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r->cfg = cfg;
	rv = check_target(r);
	if (rv == 0 && persist_snapshot_check_file(cfg->restore, &r->src, &crc_checked, &err) != 0)
		rv = refuse(r, "%s", err.msg);
	if (rv == 0)
		rv = check_format(r);
	if (rv == 0)
		rv = new_conf(r);
	if (rv == 0)
		rv = tmp_name(r);
	if (rv == 0) {
		coord_restore_cluster_id(r->src.crc, r->src.size, r->src.index, r->src.term, cfg,
		                         r->id);
		rv = build(r);
	}
	if (rv != 0)
		fprintf(stderr, "coordd: cannot restore: %s\n", r->why);
	else
		printf("coordd: restored %s (index %llu, term %llu, %llu bytes%s) into %s as "
		       "member %llu of cluster %s in %llu ms\n",
		       cfg->restore, (unsigned long long)r->src.index,
		       (unsigned long long)r->src.term, (unsigned long long)r->src.size,
		       crc_checked ? ", checksum checked" : "", cfg->data,
		       (unsigned long long)cfg->id, r->id, (unsigned long long)elapsed_ms(&t0));
	persist_snapshot_meta_free(&r->src);
	free(r);
	return rv;
}
