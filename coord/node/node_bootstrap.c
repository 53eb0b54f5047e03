/* coordd --bootstrap-token-file (node_bootstrap.h): the operator's secret
 * for the first admin token, read and hashed at start, and the leader's
 * proposal of the bootstrap with that hash. */
#include "node_bootstrap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <gnutls/gnutls.h>

#include "api.h"
#include "log.h"
#include "node_core.h"

/* The secret in PATH into BUF (CAP bytes) and *LEN, its line's end
 * stripped: 0, or -1 with a log line. */
static int read_secret(const char *path, char *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	bool whole;

	if (!f) {
		LOG_ERROR("--bootstrap-token-file %s: %s", path, strerror(errno));
		return -1;
	}
	*len = fread(buf, 1, cap - 1, f);
	buf[*len] = '\0';
	whole = !ferror(f) && fgetc(f) == EOF && feof(f);
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		LOG_WARN("--bootstrap-token-file %s can be read by other users than its owner; "
		         "chmod 600 it",
		         path);
	fclose(f);
	if (!whole) {
		LOG_ERROR("--bootstrap-token-file %s cannot be read, or is longer than a secret",
		          path);
		return -1;
	}
	if (*len > 0 && buf[*len - 1] == '\n')
		buf[--*len] = '\0';
	if (*len > 0 && buf[*len - 1] == '\r')
		buf[--*len] = '\0';
	return 0;
}

int node_bootstrap_load(struct node *n)
{
	const char *path = n->cfg.bootstrap_token_file;
	char buf[NODE_BOOTSTRAP_FILE_MAX + 1];
	size_t len = 0;
	int rc = -1;

	if (!path[0])
		return 0;
	if (read_secret(path, buf, sizeof(buf), &len) != 0) {
		/* read_secret() said why */
	} else if (len < NODE_BOOTSTRAP_SECRET_MIN || !http_bearer_valid(buf, len)) {
		LOG_ERROR(
		    "--bootstrap-token-file %s must hold one secret of %d to %d characters of "
		    "A-Z a-z 0-9 - . _ ~ + / (e.g. openssl rand -hex 32)",
		    path, NODE_BOOTSTRAP_SECRET_MIN, HTTP_BEARER_MAX);
	} else if (!node_token_hash(buf, len, n->bootstrap_hash)) {
		LOG_ERROR("--bootstrap-token-file %s: the secret could not be hashed", path);
	} else {
		rc = 0;
	}
	n->has_bootstrap_hash = rc == 0;
	gnutls_memset(buf, 0, sizeof(buf));
	return rc;
}

void node_bootstrap_propose(struct node *n)
{
	struct coord_cmd cmd = {0};
	uint64_t index, term;

	if (!n->has_bootstrap_hash || n->auth_on || n->bootstrap_term == raft_term(n->raft))
		return;
	node_token_bootstrap_cmd(&cmd);
	memcpy(cmd.hash, n->bootstrap_hash, sizeof(cmd.hash));
	cmd.now_ms = node_stamp_ms(n);
	if (!node_propose(n, &cmd, &index, &term))
		return; /* a full window: the next tick tries again */
	n->bootstrap_term = term;
	LOG_INFO("access control bootstrapped with --bootstrap-token-file, proposed at %llu",
	         (unsigned long long)index);
}
