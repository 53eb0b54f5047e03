/* coordctl's help: an overview and one page per command, each with
 * examples (docs/API.md, coordctl, is the contract these describe). */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

struct page {
	const char *name;
	const char *text;
};

static const char overview[] =
    "usage: coordctl [--endpoints URL,...] COMMAND [ARGS]\n"
    "\n"
    "Endpoints default to $COORD_ENDPOINTS, else " CTL_DEFAULT_ENDPOINTS ".\n"
    "Durations take units: 250ms, 10s, 2m (a bare number is milliseconds).\n"
    "\n"
    "commands:\n"
    "  status                                 the cluster as one node sees it\n"
    "  lock NAME [--shared] [--wait D] [--ttl D] [--value V] -- CMD [ARG...]\n"
    "  elect NAME --value V [--wait D] [--ttl D] -- CMD [ARG...]\n"
    "  leader NAME [--watch]                  print the leader's value (a line per change)\n"
    "  locks [--prefix P] | lock-info NAME\n"
    "  session create [--ttl D] [--name N] | keepalive ID | close ID | list\n"
    "  acquire NAME --session ID [--shared] [--wait D] | release NAME --session ID\n"
    "\n"
    "exit codes: 0 ok (or CMD's status), 1 refused by the cluster, 64 usage,\n"
    "69 cluster unreachable, 75 not acquired within --wait, 76 lock lost while CMD ran.\n"
    "`coordctl COMMAND --help` shows a command's page.\n";

static const struct page pages[] = {
    {"status", "usage: coordctl status\n"
               "\n"
               "Prints /v1/status of the node answering (the leader when one is known) as JSON:\n"
               "its role, term, the leader and its HTTP address, commit and applied index, and\n"
               "the members.\n"
               "\n"
               "example:\n"
               "  coordctl --endpoints http://10.0.0.1:7070,http://10.0.0.2:7070 status\n"
               "  coordctl status | jq -r .leader.http\n"},
    {"lock",
     "usage: coordctl lock NAME [--shared] [--wait D] [--ttl D] [--value V] -- CMD [ARG...]\n"
     "\n"
     "Opens a session (TTL --ttl, default 10s), acquires the lock NAME (a try-lock\n"
     "unless --wait D queues for up to D), and runs CMD with COORD_LOCK, COORD_SESSION\n"
     "and COORD_FENCING_TOKEN in its environment, keeping the session alive. When CMD\n"
     "exits the lock is released, the session closed, and coordctl exits with CMD's\n"
     "status (128+N if signal N ended it). SIGINT, SIGTERM and SIGHUP are passed on to\n"
     "CMD. CMD runs in its own process group; if keepalives fail, the group gets\n"
     "SIGTERM and, a grace later, SIGKILL, both before the lease counted from the last\n"
     "keepalive's send time can lapse, so CMD never runs beside the next holder.\n"
     "\n"
     "exit: CMD's status, 69 cluster unreachable, 75 not acquired within --wait,\n"
     "76 lock lost while CMD ran.\n"
     "\n"
     "examples:\n"
     "  coordctl lock jobs/backup -- /usr/local/bin/backup   # skip if running elsewhere\n"
     "  coordctl lock jobs/migrate --wait 2m --ttl 30s -- ./migrate.sh\n"
     "  coordctl lock db/readers --shared -- sh -c 'echo token $COORD_FENCING_TOKEN'\n"},
    {"elect", "usage: coordctl elect NAME --value V [--wait D] [--ttl D] -- CMD [ARG...]\n"
              "\n"
              "Campaigns in the election NAME with value V (say, this host's address) and runs\n"
              "CMD once elected, for as long as the leadership lasts: like `lock`, CMD gets\n"
              "COORD_LOCK, COORD_SESSION and COORD_FENCING_TOKEN, is stopped (SIGTERM, then\n"
              "SIGKILL) before the lease can lapse if keepalives fail, and the candidacy is\n"
              "resigned when it exits. Without --wait it campaigns until elected.\n"
              "\n"
              "exit: CMD's status, 69, 75 (not elected within --wait), 76, as for `lock`.\n"
              "\n"
              "example:\n"
              "  coordctl elect svc/primary --value \"$(hostname):5432\" -- ./run-primary.sh\n"},
    {"leader", "usage: coordctl leader NAME [--watch]\n"
               "\n"
               "Prints the value of the election NAME's leader; exits 1 (printing nothing) when\n"
               "nobody leads. With --watch, prints a line at once and another on each change of\n"
               "leader or value (an empty line while nobody leads), using long-polls, until\n"
               "interrupted.\n"
               "\n"
               "examples:\n"
               "  coordctl leader svc/primary\n"
               "  coordctl leader svc/primary --watch | while read -r addr; do reconfigure "
               "\"$addr\"; done\n"},
    {"locks", "usage: coordctl locks [--prefix P]\n"
              "\n"
              "Lists the locks (held or waited for) in name order, as JSON, optionally only\n"
              "those whose name starts with P. The cluster answers a page at a time; coordctl\n"
              "reads every page (100 locks each, at most 20000 pages) and prints one object.\n"
              "\n"
              "example:\n"
              "  coordctl locks --prefix jobs/ | jq -r '.locks[].name'\n"},
    {"lock-info",
     "usage: coordctl lock-info NAME\n"
     "\n"
     "Prints the lock NAME as JSON: mode, holders with their fencing tokens, waiters.\n"
     "Exits 1 if nobody holds or waits for it.\n"
     "\n"
     "example:\n"
     "  coordctl lock-info jobs/backup | jq '.holders[0].fencing_token'\n"},
    {"session", "usage: coordctl session create [--ttl D] [--name N]\n"
                "       coordctl session keepalive ID | close ID | list\n"
                "\n"
                "create prints the new session's id (TTL default 10s); keepalive renews it;\n"
                "close ends it and releases what it holds; list prints all sessions as JSON,\n"
                "in id order, read 25 at a time (at most 20000 pages).\n"
                "A script that holds locks across commands must keep its session alive itself.\n"
                "\n"
                "example:\n"
                "  sid=$(coordctl session create --ttl 30s --name deploy)\n"
                "  coordctl acquire deploy/prod --session \"$sid\" && ./deploy.sh\n"
                "  coordctl session close \"$sid\"\n"},
    {"acquire", "usage: coordctl acquire NAME --session ID [--shared] [--wait D]\n"
                "\n"
                "Acquires the lock NAME for an existing session and prints the fencing token.\n"
                "A try-lock unless --wait D queues for up to D. Acquiring again is safe.\n"
                "\n"
                "exit: 0, 75 not acquired within --wait, 69 cluster unreachable.\n"
                "\n"
                "example:\n"
                "  token=$(coordctl acquire jobs/report --session \"$sid\" --wait 30s)\n"},
    {"release", "usage: coordctl release NAME --session ID\n"
                "\n"
                "Releases the lock NAME held by the session; prints {\"released\": true|false}\n"
                "(false: the session did not hold it). Releasing again is safe.\n"
                "\n"
                "example:\n"
                "  coordctl release jobs/report --session \"$sid\"\n"},
};

bool ctl_help(const char *name)
{
	if (name[0] == '\0') {
		fputs(overview, stdout);
		return true;
	}
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		if (strcmp(pages[i].name, name) == 0) {
			fputs(pages[i].text, stdout);
			return true;
		}
	}
	return false;
}
