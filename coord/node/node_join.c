/* node_join.c: the cluster id of the data folder, and the admission of peers
 * at HELLO (node_join.h, admit.h). */
#include "node_join.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"
#include "node_core.h"

static void file_path(const struct node *n, const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", persist_dir_path(n->dir), name);
}

int node_join_load_id(struct node *n)
{
	char path[COORD_CONFIG_PATH_MAX + 32];
	FILE *f;
	size_t len;

	n->cluster_id[0] = '\0';
	file_path(n, CLUSTER_ID_FILE, path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return errno == ENOENT
		           ? 0
		           : (LOG_ERROR("cannot read %s: %s", path, strerror(errno)), -1);
	if (!fgets(n->cluster_id, sizeof(n->cluster_id), f)) {
		n->cluster_id[0] = '\0';
		LOG_ERROR("%s is empty: the data folder is damaged", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	len = strcspn(n->cluster_id, "\r\n");
	n->cluster_id[len] = '\0';
	return 0;
}

int node_join_write_file(const char *dir, const char *name, const char *text)
{
	char path[COORD_CONFIG_PATH_MAX + 32], tmp[COORD_CONFIG_PATH_MAX + 40];
	size_t len = strlen(text);
	int fd = -1, dfd = -1, rc = -1, saved;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    fsync(fd) != 0 || rename(tmp, path) != 0)
		goto out;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0)
		goto out;
	rc = 0;
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	errno = saved;
	return rc;
}

/* node_join_write_file() in the data folder, logged. */
static int write_file(struct node *n, const char *name, const char *text)
{
	if (node_join_write_file(persist_dir_path(n->dir), name, text) == 0)
		return 0;
	LOG_ERROR("cannot write %s/%s: %s", persist_dir_path(n->dir), name, strerror(errno));
	return -1;
}

static int write_id(struct node *n, const char *id)
{
	if (write_file(n, CLUSTER_ID_FILE, id) != 0)
		return -1;
	snprintf(n->cluster_id, sizeof(n->cluster_id), "%s", id);
	return 0;
}

int node_join_seal(struct node *n)
{
	return write_file(n, CLUSTER_SEALED_FILE, n->cluster_id);
}

bool node_join_sealed(const struct node *n)
{
	char path[COORD_CONFIG_PATH_MAX + 32];

	file_path(n, CLUSTER_SEALED_FILE, path, sizeof(path));
	return access(path, F_OK) == 0;
}

bool node_join_sealing(const struct node *n)
{
	return n->sealing;
}

bool node_join_adopted_all(const struct node *n)
{
	return n->n_adopted + 1 >= n->cfg.n_members;
}

int node_join_load_folder(struct node *n)
{
	char path[COORD_CONFIG_PATH_MAX + 32], hex[NODE_FOLDER_HEX + 2]; /* and a newline */
	FILE *f;

	file_path(n, FOLDER_ID_FILE, path, sizeof(path));
	f = fopen(path, "r");
	if (f) {
		char *end = NULL;
		bool ok = fgets(hex, sizeof(hex), f) != NULL;

		fclose(f);
		n->folder_id = ok ? strtoull(hex, &end, 16) : 0;
		if (n->folder_id == 0 || end == hex || (*end != '\n' && *end != '\0')) {
			LOG_ERROR("%s does not hold a folder id: the data folder is damaged", path);
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT) {
		LOG_ERROR("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	do {
		if (!node_random(&n->folder_id, sizeof(n->folder_id))) {
			LOG_ERROR("cannot draw a random folder id: %s", strerror(errno));
			return -1;
		}
	} while (n->folder_id == 0);
	node_folder_hex(n->folder_id, hex);
	return write_file(n, FOLDER_ID_FILE, hex);
}

void node_folder_hex(uint64_t folder, char out[NODE_FOLDER_HEX + 1])
{
	snprintf(out, NODE_FOLDER_HEX + 1, "%016llx", (unsigned long long)folder);
}

/* The index of peer ID in n->peers, n->n_peers when it has none. */
static size_t peer_index(const struct node *n, uint64_t id)
{
	size_t i = 0;

	while (i < n->n_peers && n->peers[i].id != id)
		i++;
	return i;
}

uint64_t node_join_peer_folder(const struct node *n, uint64_t id)
{
	size_t i = peer_index(n, id);

	return i < n->n_peers ? n->peers[i].folder : 0;
}

uint64_t node_join_founding_folder(const struct node *n, uint64_t id)
{
	if (id == n->cfg.id)
		return n->folder_id;
	for (size_t i = 0; i < n->n_probed; i++)
		if (n->probed[i] == id)
			return n->probed_folders[i];
	return 0;
}

int node_join_new_id(struct node *n)
{
	uint8_t raw[NODE_JOIN_ID_BYTES];
	char hex[2 * NODE_JOIN_ID_BYTES + 1];

	if (!node_random(raw, sizeof(raw))) {
		LOG_ERROR("cannot draw a random cluster id: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	return write_id(n, hex);
}

bool node_join_founding(const struct node *n)
{
	return n->founding;
}

bool node_join_probed_all(const struct node *n)
{
	return n->n_probed + 1 >= n->cfg.n_members;
}

/* The configuration this node admits by: its core's, or, while a founder
 * seals and its core is inert, the founding configuration. */
static const struct raft_conf *conf_in_force(const struct node *n)
{
	return n->sealing ? &n->founding_conf : raft_conf(n->raft);
}

static const struct raft_server *server_of(const struct raft_conf *conf, uint64_t id)
{
	for (uint32_t i = 0; i < conf->n; i++)
		if (conf->servers[i].id == id)
			return &conf->servers[i];
	return NULL;
}

/* How CONF lists ID. While joint, a voter of either half is a voter: one
 * being removed still votes and counts for C_old. */
static enum admit_role conf_lists(const struct raft_conf *conf, uint64_t id)
{
	const struct raft_server *s = server_of(conf, id);

	if (!s)
		return ADMIT_ROLE_NONE;
	return s->role == RAFT_VOTER || (conf->joint && s->old_role == RAFT_VOTER)
	           ? ADMIT_ROLE_VOTER
	           : ADMIT_ROLE_LEARNER;
}

/* The folder CONF binds ID to, 0 if none. */
static uint64_t conf_binds(const struct raft_conf *conf, uint64_t id)
{
	const struct raft_server *s = server_of(conf, id);

	return s ? s->folder : 0;
}

bool node_join_standing_changed(const struct raft_conf *before, const struct raft_conf *after,
                                uint64_t id)
{
	return conf_lists(before, id) != conf_lists(after, id) ||
	       conf_binds(before, id) != conf_binds(after, id);
}

static enum admit_role listed(const struct node *n, uint64_t id)
{
	return conf_lists(conf_in_force(n), id);
}

static uint64_t binds(const struct node *n, uint64_t id)
{
	return conf_binds(conf_in_force(n), id);
}

/* The log index the configuration in force is as of: its entry's, or, when
 * it came with a snapshot, the snapshot's. */
static uint64_t conf_as_of(const struct node *n)
{
	uint64_t at = raft_conf_index(n->raft);

	return at ? at : raft_first_index(n->raft) - 1;
}

void node_join_hello_fill(void *ctx, uint64_t to, struct transport_hello *h)
{
	struct node *n = ctx;

	h->sealing = n->sealing;
	h->lists = (uint8_t)listed(n, to);
	h->conf_index = conf_as_of(n);
	h->folder = n->folder_id;
	h->binds = binds(n, to);
}

static bool in_cluster_flag(const struct node *n, uint64_t id)
{
	for (size_t i = 0; i < n->cfg.n_members; i++)
		if (n->cfg.members[i].id == id)
			return true;
	return false;
}

/* Adds founding node ID to SET (of *N) when ACTIVE; logs WHAT when it is
 * new there. The founder counts its peers twice: empty (founding), then
 * with the cluster id (sealing). FOLDERS, when not NULL, keeps the folder
 * each said HELLO from last, to be bound in the founding configuration. */
static void note_founding(struct node *n, bool active, uint64_t *set, uint64_t *folders,
                          size_t *count, const struct transport_hello *h, const char *what)
{
	uint64_t id = h->id;

	if (!active || !in_cluster_flag(n, id))
		return;
	for (size_t i = 0; i < *count; i++) {
		if (set[i] == id) {
			if (folders)
				folders[i] = h->folder;
			return;
		}
	}
	if (*count < COORD_CONFIG_MAX_MEMBERS) {
		if (folders)
			folders[*count] = h->folder;
		set[(*count)++] = id;
		LOG_INFO("%s: node %llu (%zu of %zu)", what, (unsigned long long)id, *count + 1,
		         n->cfg.n_members);
	}
}

/* True when a refusal of ID for V should be logged now (not at every redial). */
static bool refusal_due(struct node *n, uint64_t id, enum admit_verdict v)
{
	uint64_t now = node_now_ms();
	struct node_refusal *slot = &n->refusals[0];

	for (size_t i = 0; i < NODE_REFUSALS_MAX; i++) {
		struct node_refusal *r = &n->refusals[i];

		if (r->id == id) {
			slot = r;
			break;
		}
		if (r->logged_ms < slot->logged_ms)
			slot = r; /* the oldest is reused */
	}
	if (slot->id == id && slot->verdict == (int)v &&
	    now - slot->logged_ms < NODE_JOIN_LOG_EVERY_MS)
		return false;
	*slot = (struct node_refusal){.id = id, .verdict = (int)v, .logged_ms = now};
	return true;
}

static void log_refusal(struct node *n, const struct transport_hello *h, enum admit_verdict v)
{
	unsigned long long me = n->cfg.id, peer = h->id;

	switch (v) {
	case ADMIT_OTHER:
		LOG_ERROR("refused node %llu at %s: it belongs to cluster %s, this node to %s. "
		          "A node moves between clusters only with a new, empty data folder "
		          "(coordd --join, then POST /v1/members).",
		          peer, h->raft, h->cluster, n->cluster_id);
		break;
	case ADMIT_LOST_DATA:
		if (n->cluster_id[0] == '\0' || (h->binds != 0 && h->binds != n->folder_id))
			LOG_ERROR(
			    "this node's data folder (%016llx%s) is not the one node %llu of "
			    "cluster "
			    "%s knows node %llu by: its data was lost, and it is not admitted as "
			    "the "
			    "member it was. Remove it (coordctl member remove %llu), then start it "
			    "with a new --id and --join, and add it (coordctl member add ID %s "
			    "--wait).",
			    (unsigned long long)n->folder_id,
			    n->cluster_id[0] == '\0' ? ", empty" : "", peer, h->cluster, me, me,
			    n->cfg.raft);
		else
			LOG_ERROR(
			    "refused node %llu at %s: it is a voter of this cluster but its "
			    "data folder (%016llx%s) is not the one it voted from (its data "
			    "was lost). Remove it (coordctl member remove %llu) and add it back "
			    "under a new id with --join.",
			    peer, h->raft, (unsigned long long)h->folder,
			    h->cluster[0] == '\0' ? ", empty" : "", peer);
		break;
	case ADMIT_STRANGER:
		LOG_WARN("refused node %llu at %s: this node's configuration does not list it "
		         "(removed, or not added yet)",
		         peer, h->raft);
		break;
	default:
		break;
	}
}

/* Learns the peer's addresses (its HELLO is the only source of its HTTP
 * address), and dials back a peer the configuration does not name yet: a
 * joining node hears from its leader before it holds a configuration. */
static void learn_peer(struct node *n, const struct transport_hello *h)
{
	size_t at = peer_index(n, h->id);
	struct peer_info *p = at < n->n_peers ? &n->peers[at] : NULL;

	if (!p && n->n_peers < RAFT_MAX_SERVERS) {
		p = &n->peers[n->n_peers++];
		p->id = h->id;
	}
	if (p) {
		p->folder = h->folder;
		if (strcmp(p->http, h->http) != 0)
			LOG_INFO("peer %llu: http %s, raft %s", (unsigned long long)h->id, h->http,
			         h->raft);
		snprintf(p->http, sizeof(p->http), "%s", h->http);
		snprintf(p->raft, sizeof(p->raft), "%s", h->raft);
	}
	if (!transport_has_peer(n->transport, h->id) && h->raft[0])
		transport_add_peer(n->transport, h->id, h->raft);
}

bool node_join_hello(void *ctx, const struct transport_hello *h)
{
	struct node *n = ctx;
	const struct raft_conf *conf = raft_conf(n->raft);
	struct admit_side self = {.cluster = n->cluster_id,
	                          .folder = n->folder_id,
	                          .binds = binds(n, h->id),
	                          .seen = node_join_peer_folder(n, h->id),
	                          .sealing = n->sealing,
	                          .lists = listed(n, h->id),
	                          .configured = conf->n > 0,
	                          .conf_index = conf_as_of(n)};
	struct admit_side peer = {.cluster = h->cluster,
	                          .folder = h->folder,
	                          .binds = h->binds,
	                          .sealing = h->sealing,
	                          .lists = h->lists <= ADMIT_ROLE_VOTER ? (enum admit_role)h->lists
	                                                                : ADMIT_ROLE_NONE,
	                          .configured = true,
	                          .conf_index = h->conf_index};
	enum admit_verdict v = admit_peer(&self, &peer);

	switch (v) {
	case ADMIT_PROBE:
		note_founding(n, n->founding, n->probed, n->probed_folders, &n->n_probed, h,
		              "founding: up with an empty data folder");
		return false; /* nothing but HELLOs between empty folders */
	case ADMIT_ADOPT:
		if (n->founding)
			return false; /* a founder founds; it never takes another id */
		if (write_id(n, h->cluster) != 0)
			node_fatal(n, "cannot record the cluster id", n->cluster_id);
		LOG_INFO("joined cluster %s: node %llu lists this node as a %s", n->cluster_id,
		         (unsigned long long)h->id,
		         h->lists == ADMIT_ROLE_VOTER ? "voter" : "learner");
		transport_set_cluster(n->transport, n->cluster_id);
		break;
	case ADMIT_NEWCOMER:
		if (n->installing)
			return false; /* N-6: the core is held; the peer redials */
		raft_peer_reset(n->raft, h->id);
		LOG_INFO(
		    "node %llu connected with an empty data folder: its replication starts over",
		    (unsigned long long)h->id);
		break;
	case ADMIT_OK:
		note_founding(n, n->sealing, n->adopted, NULL, &n->n_adopted, h,
		              "sealing: has the cluster id");
		break;
	default:
		n->peers_refused[v]++;
		/* An empty node hears from peers that have no configuration yet
		 * while a cluster is founded: not worth a warning. */
		if (!(v == ADMIT_STRANGER && n->cluster_id[0] == '\0') && refusal_due(n, h->id, v))
			log_refusal(n, h, v);
		return false;
	}
	learn_peer(n, h);
	return true;
}
