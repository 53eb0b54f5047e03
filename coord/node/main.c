/* coordd: a coord server. Flags are in API.md ("coordd") and --help. */
#include <signal.h>
#include <stdio.h>

#include <sqlite3.h>

#include "config.h"
#include "log.h"
#include "node.h"
#include "restore.h"

int main(int argc, char **argv)
{
	struct coord_config cfg;
	char err[COORD_CONFIG_ERR_MAX];

	switch (coord_config_parse(argc, (const char *const *)argv, &cfg, err)) {
	case COORD_CONFIG_HELP:
		fputs(coord_config_usage(), stdout);
		return 0;
	case COORD_CONFIG_BAD:
		fprintf(stderr, "coordd: %s\n", err);
		return 2;
	case COORD_CONFIG_OK:
		break;
	}
	coord_log_set_level(cfg.log_level);
	/* A peer that dies mid-write must cost a connection, not this process:
	 * write errors come back as EPIPE and close that connection. */
	signal(SIGPIPE, SIG_IGN);
	/* SIGHUP reloads the TLS certificate once the loop runs (node.c); one
	 * that comes while the node starts (a large log takes a while to open)
	 * must not end it, as the default action would. */
	signal(SIGHUP, SIG_IGN);
	/* Every SQLite handle lives on one thread at a time (persist/db.c), and
	 * nothing reads SQLite's memory statistics: without them its allocator
	 * takes no global mutex on every malloc and free. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	/* No bulk page-cache allocation per connection (20 pages each, all
	 * touched at open): a page costs memory once it is read, so an idle node
	 * keeps only the pages it has used. */
	sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
	if (cfg.restore[0]) /* offline: seeds --data, then exits */
		return coord_restore_run(&cfg) == 0 ? 0 : 1;
	return coord_node_run(&cfg) == 0 ? 0 : 1;
}
