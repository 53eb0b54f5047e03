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
    "usage: coordctl [--endpoints URL,...] [--cacert FILE] [--cert FILE --key FILE]\n"
    "                COMMAND [ARGS]\n"
    "\n"
    "Endpoints default to $COORD_ENDPOINTS, else " CTL_DEFAULT_ENDPOINTS ".\n"
    "For https:// endpoints, --cacert ($COORD_CACERT) names the CA to trust,\n"
    "--cert and --key ($COORD_CERT, $COORD_KEY) a client certificate (PEM).\n"
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
    "cluster operations:\n"
    "  member list [--json]                   the configuration: voters, learners, progress\n"
    "  member add ID RAFT [--wait [--timeout D]] | promote ID | remove ID\n"
    "  member replace OLD NEW RAFT            swap a member for a new one in one change\n"
    "  leader transfer [ID]                   move the Raft leadership (to ID)\n"
    "  snapshot save FILE [--force] | info FILE\n"
    "\n"
    "exit codes: 0 ok (or CMD's status), 1 refused by the cluster, 64 usage,\n"
    "65 snapshot file fails a check, 66 no such file, 69 cluster unreachable or\n"
    "outcome unknown, 73 file exists, 74 file write failed, 75 not acquired within\n"
    "--wait (member add: not caught up within --timeout), 76 lock lost while CMD ran.\n"
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
               "       coordctl leader transfer [ID]\n"
               "\n"
               "Prints the value of the election NAME's leader; exits 1 (printing nothing) when\n"
               "nobody leads. With --watch, prints a line at once and another on each change of\n"
               "leader or value (an empty line while nobody leads), using long-polls, until\n"
               "interrupted.\n"
               "\n"
               "leader transfer moves the cluster's Raft leadership to member ID (a voter),\n"
               "or to a voter the leader picks, and prints {\"leader\": N} once N leads. The\n"
               "word transfer is taken: an election named \"transfer\" cannot be read here.\n"
               "exit: 1 refused, 69 no new leader in time (it may still take over).\n"
               "\n"
               "examples:\n"
               "  coordctl leader svc/primary\n"
               "  coordctl leader transfer 2    # before restarting the current leader\n"
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
    {"member",
     "usage: coordctl member list [--json]\n"
     "       coordctl member add ID RAFT [--wait [--timeout D]]\n"
     "       coordctl member promote ID | remove ID\n"
     "       coordctl member replace OLD NEW RAFT\n"
     "\n"
     "list prints the members as a table (ID, ROLE leader/voter/learner, RAFT and HTTP\n"
     "addresses, MATCH index, LAST CONTACT with the leader), then the configuration's\n"
     "index and whether a change is in progress; --json prints the answer as it came.\n"
     "add adds node ID, reachable for Raft at RAFT (HOST:PORT), as a learner: it\n"
     "receives the log but does not vote. With --wait, coordctl then watches it catch\n"
     "up with the leader's log and promotes it, waiting up to --timeout (default 10m;\n"
     "a new node may first need a snapshot). promote makes a caught-up learner a\n"
     "voter; remove takes a member out; replace removes OLD and adds NEW at RAFT as a\n"
     "voter in one change. Each prints the answer as JSON. One change runs at a\n"
     "time (409 change_in_progress); a change whose answer is lost is not resent\n"
     "(exit 69): run `member list` to see what happened.\n"
     "\n"
     "exit: 0, 1 refused (conflict, change_in_progress, not_caught_up), 64 usage,\n"
     "69 unreachable or outcome unknown, 75 not caught up within --timeout.\n"
     "\n"
     "examples:\n"
     "  coordctl member list\n"
     "  coordctl member add 4 10.0.0.4:7170 --wait --timeout 30m\n"
     "  coordctl member remove 2\n"
     "  coordctl member list --json | jq '.members[] | select(.role==\"learner\") | .id'\n"},
    {"snapshot", "usage: coordctl snapshot save FILE [--force]\n"
                 "       coordctl snapshot info FILE\n"
                 "\n"
                 "save downloads the leader's newest snapshot of the state into FILE and prints\n"
                 "its index. The file is written beside FILE under a temporary name, fsynced,\n"
                 "checked (a sound database recording the index the answer named), then renamed\n"
                 "to FILE, so FILE is never a partial snapshot. An existing FILE is kept unless\n"
                 "--force. Details (term, size, CRC32C) go to stderr.\n"
                 "info reads FILE without the cluster and prints its index, term, size, CRC32C\n"
                 "and what was verified: the database's integrity, and its metadata agreeing\n"
                 "with its applied index. The CRC32C is checked when FILE keeps the name a node\n"
                 "gives its snapshots (snap-<index>-<term>-<crc>.db), which carries it.\n"
                 "\n"
                 "exit: 0, 65 the file fails a check (truncated, corrupt, not a snapshot), 66 no\n"
                 "such file, 69 unreachable, 73 FILE exists, 74 writing FILE failed.\n"
                 "\n"
                 "examples:\n"
                 "  idx=$(coordctl snapshot save /backup/coord-$(date +%F).db)\n"
                 "  coordctl snapshot info /backup/coord-2026-01-31.db\n"},
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
