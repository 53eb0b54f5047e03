"""Runs a real coordd cluster under a seeded fault schedule while workload
clients record a history, heals, reads back, and judges the history with
every checker. Prints the fault schedule, the counts of operations by
outcome and each checker's verdict; exits 0 when all pass, 1 when one
fails (or cannot decide), 77 when the faults asked for cannot run here
(network namespaces need root / CAP_NET_ADMIN).

Besides the history, every run watches who leads (leaders.py): each node's
GET /v1/status is read every 0.1 s throughout (the admin token under
--auth), and each node's log is read at the end for its "term T: leader"
lines; the leader-per-term checker fails if two nodes ever led, or were
named leader of, the same term (Raft's Election Safety, on the real nodes).

Beside the exclusive lock, every run has a mixed lock (jepsen/mixed, its name
rotating like the others): --shared-clients acquire it in shared mode and
--mixed-exclusive in exclusive mode, with a reader of its own; and the
election's leaders proclaim new values that the observers read. The
linearizability model judges both (linear.py); the summary line "mixed
lock:" counts the grants of each mode, the most holders one read saw and
the proclaims.

--kv adds the key/value workload (kv_workload.py; always on in a soak):
clients reading, putting with cas and without, deleting with cas and
running transactions (a check and two puts) on a few keys, and a watcher
long-polling their prefix from the run's first index. After the heal, one
watch reads every change since that index (the truth). kv-linearizability
judges the clients' history against compare-and-set registers, the keys of
a rotation in one state so that a transaction is one operation
(kv_linear.py); kv-watch judges that the watcher saw every change exactly
once and in order, gaps only where a 410 made it resync, and that every
acknowledged put is a change at its modify_index (kv_watch.py). The summary
line "kv:" counts the operations by outcome and the changes watched.
--kv-break spoils the recorded history before judging it (kv_workload.
break_history): the kv checkers must then fail.

"members" in --faults adds the membership nemesis (member_nemesis.py):
servers added, removed, replaced and the leadership moved while the other
faults go on; the clients follow the membership. A soak always includes it.

"queued_release" in --faults plays issue 24's scenario in its slots of the
schedule (queued_release.py): a release queued on a follower that is then
paused (SIGSTOP), the client timing out and acquiring the lock again through
another node with the same session, the follower resumed (SIGCONT) and
reading the old release. Two more lock clients contend for that lock. With
seq (the default) the late release is refused (stale_request) and every
checker passes; with --no-seq it may apply while the client still believes
it holds the lock, and mutual exclusion fails: the failure the issue
reports. The summary counts the late releases refused and applied.

--tls runs the cluster with TLS on both ports (secure.py): a CA and a node
certificate made for the run with openssl (test_tls.Certs), every node with
--tls-cert/--tls-key and --peer-cert/--peer-key/--peer-ca, and every HTTP
call of the runner (the workload, the nemeses, the probes, the read-back)
over HTTPS verified against that CA. --auth runs every node with --auth and
bootstraps the cluster once it is up: the workload's clients use a token
with write rules on the jepsen/ locks and elections and on sessions, no
more; status, members and /metrics use the admin token. Before the
workload starts, a call without a token must be refused (401) and the
clients' token outside its rules too (403); a run in which the workload
meets a 403 fails (a rule missing would leave operations unjudged).
queued_release (raw HTTP) cannot run with --tls.

"rogue" in --faults (needs --tls; not with members or --soak) starts, in
its slots of the schedule, a coordd with a peer certificate of another CA
that dials every member's Raft port, claiming a member's id or a new one,
for 6 s while no other fault runs (rogue.py). The rogue-node checker fails
unless every member it dialed counted a refusal in
coord_peer_tls_refused_total, every member named the same leader in the
same term throughout, the commit index grew and the rogue never joined;
each visit prints the leader, term, commit index and refusal counts before
and after.

"churn" in --faults (S20) moves the leadership every ~3 s for its window
(nemesis.CHURN_S) with POST /v1/leader/transfer, and adds --abandoners
(default 4 with churn): clients that hold a lock, keep their session alive
a few times and stop at a recorded time, then watch from an heir session
for it to end (workload.Abandoner). The session-bound checker fails if one
was seen alive later than TTL + 2 election timeouts + 1 s after its last
acknowledged keepalive, or if lease-timing or mutual-exclusion (a session
ended before TTL after its last acknowledged keepalive was sent) fail.
--fresh-lease-on-election starts every coordd with that option (a new
leader gives every session a fresh TTL, the behaviour before L-3): with
churn faster than the TTL the abandoned sessions outlive the bound and
session-bound must fail. The summary prints the transfers and how long
after their last keepalive the abandoned sessions were seen gone.

  COORDD=build/coord/coordd python3 tests/cluster/jepsen/runner.py --nodes 3 \\
      --seed 20 --duration 26 --faults churn --wait-ms 0 [--fresh-lease-on-election]

"pause_client" in --faults (S11; not with --tls or --auth) plays
paused_client.py's round in its slots of the schedule: a lock holder in a
child process, its session with a 1 s lock-delay, SIGSTOPped for twice
its 3 s TTL between its read and its write of the fenced store, while two
rivals contend for its lock. The paused-client checker fails unless its
late write reached the store and was refused for its stale token;
lock-delay (checkers.lock_delay) fails if its lock was granted to another
before its earliest possible expiry plus the lock-delay.

  COORDD=build/coord/coordd python3 tests/cluster/jepsen/runner.py --nodes 3 \\
      --seed 11 --duration 16 --faults pause_client --wait-ms 0

Lock grants a minute (the lock clients' acquires answered with a grant)
compare the ways to go on after a lost answer, same seed and faults:
--reuse-sessions (with seq) against --abandon close or --abandon expire.

  COORDD=build/coord/coordd python3 tests/cluster/jepsen/runner.py --nodes 3 \\
      --seed 5 --duration 30 --faults queued_release --reuse-sessions \\
      --client-timeout 1 --wait-ms 0 [--no-seq]

  COORDD=build/coord/coordd python3 tests/cluster/jepsen/runner.py \\
      --nodes 5 --seed 7 --duration 60 [--faults process|net|all|members|LIST] \\
      [--soak MINUTES] [--tls] [--auth]

  COORDD=build/coord/coordd python3 tests/cluster/jepsen/runner.py --nodes 3 \\
      --seed 51 --duration 40 --tls --auth --wait-ms 0 \\
      --faults kill,kill_leader,pause_leader,halves,isolate_leader,rogue
"""

import argparse
import json
import os
import random
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import checkers  # noqa: E402
import clock_nemesis  # noqa: E402
import history as hist  # noqa: E402
import kv_linear  # noqa: E402
import kv_watch  # noqa: E402
import kv_workload as kvw  # noqa: E402
import leaders  # noqa: E402
import member_nemesis  # noqa: E402
import membership  # noqa: E402
import nemesis  # noqa: E402
import netns  # noqa: E402
import paused_client  # noqa: E402
import queued_release  # noqa: E402
import rogue as rogue_node  # noqa: E402
import secure  # noqa: E402
import workload as wl  # noqa: E402
from harness import coordd_path  # noqa: E402
from secure import request  # noqa: E402

SKIP = 77
MEMBERS = "members"  # the membership nemesis, in --faults


def log(msg):
    print(msg, flush=True)


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of faults")
    ap.add_argument("--soak", type=float, default=None, metavar="MINUTES",
                    help="run the faults for this many minutes instead")
    ap.add_argument("--faults", default="all",
                    help="none (a fault-free run), or a comma list of process, net, all, %s or "
                         "of %s" % (MEMBERS, ",".join(
                        nemesis.PROCESS_FAULTS + nemesis.NET_FAULTS + nemesis.MIXED_FAULTS +
                        nemesis.SCENARIO_FAULTS)))
    ap.add_argument("--heartbeat-ms", type=int, default=50)
    ap.add_argument("--snapshot-entries", type=int, default=None,
                    help="coordd --snapshot-entries (with --log-tail a tenth of it), so that "
                         "nodes brought back behind the others catch up from snapshots; the "
                         "run fails unless snapshots were made and installed")
    ap.add_argument("--election-ms", type=int, default=500)
    ap.add_argument("--lock-clients", type=int, default=5)
    ap.add_argument("--readers", type=int, default=3, help="readers of the lock")
    ap.add_argument("--shared-clients", type=int, default=2,
                    help="clients acquiring the mixed lock (jepsen/mixed) in shared mode")
    ap.add_argument("--mixed-exclusive", type=int, default=2,
                    help="clients acquiring the mixed lock in exclusive mode")
    ap.add_argument("--wait-ms", type=int, default=300,
                    help="queue wait of contended acquires and campaigns (0: try-lock)")
    ap.add_argument("--unknown-503", action="store_true",
                    help="count writes answered 503 as indeterminate, not failed")
    ap.add_argument("--reuse-sessions", action="store_true",
                    help="lock and election clients number their requests (seq) and keep "
                         "their session after a lost answer instead of closing it")
    ap.add_argument("--no-seq", action="store_true",
                    help="with --reuse-sessions and in queued_release: send no seq (shows "
                         "what reuse risks)")
    ap.add_argument("--abandon", nargs="?", const="close", default=None,
                    choices=("close", "expire"),
                    help="lock and election clients give up their session after any lost "
                         "answer, a release's too: close it (the default), or (expire) "
                         "stop keeping it alive and leave what it holds held until its "
                         "TTL runs out")
    ap.add_argument("--session-ttl", type=float, default=wl.LOCK_TTL_S,
                    help="seconds: the TTL of the lock and election clients' sessions")
    ap.add_argument("--client-timeout", type=float, default=wl.CLIENT_TIMEOUT_S,
                    help="seconds a client waits for an answer (below a pause's length, "
                         "requests held by a paused node go unanswered)")
    ap.add_argument("--tls", action="store_true",
                    help="TLS on both ports: a CA and a node certificate made for the run "
                         "(openssl); every node gets --tls-cert/--tls-key and --peer-cert/"
                         "--peer-key/--peer-ca, and every call of the runner goes over "
                         "HTTPS, verified against that CA (needed by the rogue fault)")
    ap.add_argument("--auth", action="store_true",
                    help="access control: every node runs with --auth; the runner "
                         "bootstraps the cluster (admin token, for status, members and "
                         "metrics) and the workload uses a token with write rules on "
                         "jepsen/ locks and elections and on sessions, nothing else")
    ap.add_argument("--kv", action="store_true",
                    help="add the key/value workload (kv_workload.py) beside the lock clients: "
                         "clients reading, putting with and without cas, deleting and running "
                         "transactions on a few keys, and a watcher of their prefix; judged by "
                         "kv-linearizability and kv-watch (on with --soak)")
    ap.add_argument("--kv-clients", type=int, default=3, help="key/value clients (--kv)")
    ap.add_argument("--kv-break", default=None, choices=kvw.BREAKS,
                    help="spoil the recorded key/value history before judging it (a change "
                         "dropped, duplicated or swapped in the watcher's record, a read "
                         "answering a stale value, a put acknowledged at an index no change "
                         "has): the kv checkers must then fail")
    ap.add_argument("--abandoners", type=int, default=None,
                    help="clients that hold a lock and stop keeping their session alive, "
                         "judged by session-bound (default 4 with the churn fault, else 0)")
    ap.add_argument("--fresh-lease-on-election", action="store_true",
                    help="start every coordd with --fresh-lease-on-election (a fresh TTL for "
                         "every session at each election): with churn, session-bound must fail")
    ap.add_argument("--clock-jumps", action="store_true",
                    help="every node's wall clock jumped (forward, and back now and then) "
                         "through the faultclock shim for the whole fault window "
                         "(clock_nemesis.py, S12)")
    ap.add_argument("--history", default=None, help="write the history here (JSON lines)")
    a = ap.parse_args(argv)
    fs = a.faults.split(",")
    if "rogue" in fs and not a.tls:
        ap.error("the rogue fault needs --tls (peer TLS)")
    if "rogue" in fs and (MEMBERS in fs or a.soak is not None):
        ap.error("the rogue fault judges a leader and term unchanged while it runs: "
                 "not with the membership nemesis (members, --soak)")
    if "pause_client" in fs and (a.tls or a.auth):
        ap.error("pause_client's child process speaks plain HTTP: not with --tls or --auth")
    if a.clock_jumps and (MEMBERS in fs or a.soak is not None):
        ap.error("--clock-jumps arms the founding nodes only: not with the membership nemesis")
    if "queued_release" in fs and a.tls:
        ap.error("queued_release writes raw HTTP: not with --tls")
    if a.soak is not None:
        a.duration = a.soak * 60.0
        a.kv = True
    if a.kv_break:
        a.kv = True
    if a.abandoners is None:
        a.abandoners = 4 if "churn" in fs else 0
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1 << 31)
    return a


def fault_list(spec, size, soak=False):
    groups = {"process": nemesis.PROCESS_FAULTS, "net": nemesis.NET_FAULTS,
              "all": nemesis.PROCESS_FAULTS + nemesis.NET_FAULTS, "none": ()}
    fs = []
    for item in spec.split(","):
        for f in groups.get(item, (item,)):
            if f not in fs:
                fs.append(f)
    if soak and MEMBERS not in fs:
        fs.append(MEMBERS)
    if size < 5 and "ring" in fs:
        fs.remove("ring")  # with 3 nodes every ring neighbour set is everyone
    return fs


def start_cluster(a, fs):
    coordd = coordd_path()
    extra = []
    if a.snapshot_entries is not None:
        extra = ["--snapshot-entries", str(a.snapshot_entries),
                 "--log-tail", str(max(1, a.snapshot_entries // 10))]
    if a.auth:
        extra.append("--auth")
    if a.fresh_lease_on_election:
        extra.append("--fresh-lease-on-election")
    if any(f in nemesis.NET_FAULTS + nemesis.MIXED_FAULTS for f in fs):
        why = netns.probe()
        if why is not None:
            log("SKIP: partition faults need network namespaces: %s" % why)
            raise SystemExit(SKIP)
        c = member_nemesis.NsCluster(coordd, a.nodes, a.heartbeat_ms, a.election_ms, extra)
    else:
        c = member_nemesis.LocalCluster(coordd, a.nodes, heartbeat_ms=a.heartbeat_ms,
                                        election_ms=a.election_ms, extra_args=extra)
    if a.tls:
        # One node certificate for every address a node of the run may
        # have: 127.0.0.1, or each address of the namespaces' subnet.
        ips = ["127.0.0.1"]
        if getattr(c, "net", None) is not None:
            ips += [c.net.addr(i) for i in range(1, netns.MAX_ID + 1)]
        try:
            secure.enable_tls(secure.make_certs(ips))
        except Exception:
            c.close()
            raise
        c.extra_args += secure.tls_args(secure.CERTS)
        log("tls: HTTPS and peer mutual TLS, CA and node certificate made for the run")
    clock = clock_nemesis.ClockNemesis(c, a.seed, log) if a.clock_jumps else None
    return c.__enter__(), clock


def describe_process(n):
    """Whether node N's process runs, exited (with its status) or is stopped."""
    if n.proc is None:
        return "node %d: not started" % n.id
    rc = n.proc.poll()
    if rc is not None:
        return "node %d: exited %d" % (n.id, rc)
    try:
        with open("/proc/%d/status" % n.proc.pid) as fh:
            state = [ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("State:")]
        with open("/proc/%d/wchan" % n.proc.pid) as fh:
            wchan = fh.read().strip()
    except OSError:
        state, wchan = ["?"], "?"
    return "node %d: pid %d %s wchan %s" % (n.id, n.proc.pid, state[0], wchan)


def probe_liveness(c, h, heal, election_s):
    """After healing: when a leader is named by a majority in its term (the
    issue's "a leader within two election timeouts"), when every node agrees
    on it (reported, not judged: a node cut off may wait for the leader's
    transport to reconnect), when a write (session + acquire through
    that leader) is acknowledged, and when every node has applied the
    leader's commit index as it stood after that write."""
    out = {"heal": heal, "leader": None, "all_agree": None, "write": None, "caught_up": None}
    leader = None
    deadline = time.time() + 10
    while time.time() < deadline and out["all_agree"] is None:
        views = [(n, n.status()) for n in c.nodes]
        named = {}
        for n, v in views:
            if v is not None and v.get("leader"):
                named.setdefault((v["term"], v["leader"]["id"]), []).append(n.id)
        for (term, lid), ids in named.items():
            lnode = next((n for n in c.nodes if n.id == lid), None)  # a current member
            lv = dict(views).get(lnode)
            if len(ids) > len(c.nodes) // 2 and lv is not None and lv["role"] == "leader" \
                    and lv["term"] == term:
                if out["leader"] is None:
                    out["leader"] = h.now()
                    leader = lnode
                if len(ids) == len(c.nodes):
                    out["all_agree"] = h.now()
        time.sleep(0.02)
    if leader is None:
        log("liveness: no leader within 10s: %r" % [v for _, v in views])
        log("node processes: %s" % "; ".join(describe_process(n) for n in c.nodes))
        return out
    deadline = time.time() + 10
    while time.time() < deadline:
        r = request(leader.http, "POST", "/v1/sessions", {"ttl_ms": 5000}, timeout=3)
        if r is not None and r.status == 201:
            r2 = request(leader.http, "PUT", "/v1/locks/jepsen/probe",
                         {"session": r.json["id"]}, timeout=3)
            if r2 is not None and r2.status == 200:
                out["write"] = h.now()
                break
        time.sleep(0.1)
    lv = leader.status() if out["write"] is not None else None
    if lv is not None and nemesis.wait_applied(c.nodes, lv["commit_index"], 5.0):
        out["caught_up"] = h.now()
    return out


def read_back(c, h, ledger_locks, ledger_sessions, abandoned):
    """The durability read-back and the abandoned sessions' fate, read
    linearizably through the leader. The ledger's locks come from one prefix
    listing in one page of the largest size (10000 locks, far more than the
    workers hold at once), so they are one instant's state however many
    names the run used. "at" is when the last read
    completed: a lease the checker counts as running at that time ran
    through every read."""
    leader = c.leader(timeout=10.0, among=c.nodes)
    final = {"locks": {}, "sessions": {}}
    for _ in range(5):
        r = request(leader.http, "GET", "/v1/locks?limit=10000&prefix=" + wl.LEDGER + "/",
                    timeout=10)
        if r is not None and r.status == 200 and r.json is not None:
            assert r.json.get("next") is None, "the ledger's locks did not fit in one page"
            held = {x["name"]: wl.lock_holders(x) for x in r.json["locks"]}
            final["locks"] = {key: held.get(key, []) for key in ledger_locks}
            break
        time.sleep(0.5)
    else:
        log("read-back: the ledger's locks could not be listed; durability judges sessions only")
    for sid in ledger_sessions:
        r = request(leader.http, "GET", "/v1/sessions/" + sid, timeout=5)
        if r is not None and r.status in (200, 404):
            final["sessions"][sid] = r.status == 200
    fates = {}
    for sid in abandoned:
        r = request(leader.http, "GET", "/v1/sessions/" + sid, timeout=5)
        if r is not None and r.status in (200, 404):
            fates[sid] = r.status == 200
    final["at"] = h.now()
    return final, fates


def judge(ops, final, probe, election_s, rogue=None, claims=None, kv_truth=None,
          bound=False, outages=()):
    keys = sorted({o["key"] for o in ops if o["key"] and (
        o["key"].startswith(wl.LOCK + "/") or o["key"].startswith(wl.ELECTION + "/") or
        o["key"].startswith(wl.MIXED + "/"))})
    extra = [] if rogue is None else [("rogue-node", rogue.verdict())]
    mutex, timing = checkers.mutual_exclusion(ops), checkers.lease_timing(ops)
    if bound:  # S20: its safety half is these two verdicts
        extra.append(("session-bound", checkers.session_bound(
            ops, election_s, safety=[("lease-timing", timing), ("mutual-exclusion", mutex)],
            outages=outages)))
    return extra + [
        ("mutual-exclusion", mutex),
        ("token-order", checkers.token_order(ops)),
        ("fenced-store", checkers.fenced_store(ops)),
        ("durability", checkers.durability(ops, final)),
        ("linearizability", checkers.linearizability(ops, keys)),
        ("stale-reads", checkers.stale_reads(ops)),
        ("lease-timing", timing),
        ("liveness", checkers.liveness(probe, election_s)),
    ] + ([] if claims is None else [("leader-per-term", checkers.one_leader_per_term(claims))]) \
      + ([] if kv_truth is None else [("kv-linearizability", kv_linear.check_all(ops)),
                                      ("kv-watch", kv_watch.check(ops, kv_truth))])


def summary(name, r):
    if name == "linearizability":
        ks = r["keys"]
        bad = {k: v for k, v in ks.items() if v["valid"] is not True}
        return "%d keys, %d ops%s" % (len(ks), sum(v["ops"] for v in ks.values()),
                                     (" ; " + json.dumps(bad)[:1500]) if bad else "")
    if name == "kv-linearizability":
        ps = r["parts"]
        bad = {k: v for k, v in ps.items() if v["valid"] is not True}
        return "%d rotations of %d keys, %d ops, %d states%s" % (
            len(ps), kvw.KEYS, sum(v["ops"] for v in ps.values()),
            sum(v.get("states", 0) for v in ps.values()),
            (" ; " + json.dumps(bad)[:1500]) if bad else "")
    return json.dumps({k: v for k, v in r.items() if k != "valid"})[:1500]


def abandon_summary(ops):
    """What the abandoners gave session-bound: the sessions abandoned, the
    heirs' grants, and the sessions' terms of life after their last
    keepalive, as the watchers saw them end."""
    abandoned = [o for o in ops if o["f"] == "abandon"]
    heirs = sum(1 for o in ops if o["f"] == "acquire" and o["value"].get("heir_of") and
                o["type"] == "ok" and "token" in o["value"])
    reads = sum(1 for o in ops if o["f"] == "session_read" and o["type"] == "ok" and
                any(a["session"] == o["session"] for a in abandoned))
    return "abandoned sessions: %d, watched by %d session reads; heirs granted their lock " \
        "%d times" % (len(abandoned), reads, heirs)


def mixed_summary(ops):
    """What the mixed lock and the elections' proclaims gave the
    linearizability checker to judge."""
    mixed = [o for o in ops if o["key"] and o["key"].startswith(wl.MIXED + "/")]
    grants = {m: sum(1 for o in mixed if o["f"] == "acquire" and o["type"] == "ok" and
                     "token" in o["value"] and o["value"].get("mode", "exclusive") == m)
              for m in ("shared", "exclusive")}
    most = max((len(o["value"]["holders"]) for o in mixed
                if o["f"] == "read" and o["type"] == "ok"), default=0)
    procs = [o for o in ops if o["f"] == "proclaim"]
    seen = sum(1 for o in ops if o["f"] == "observe" and o["type"] == "ok" and
               o["value"].get("consistency") != "stale" and "-v" in
               (o["value"].get("leader_value") or ""))
    return ("mixed lock: %d shared and %d exclusive grants, at most %d holders in one read; "
            "proclaims: %d ok, %d not_holder, %d unknown; %d linearizable observes saw a "
            "proclaimed value" % (
                grants["shared"], grants["exclusive"], most,
                sum(1 for o in procs if o["type"] == "ok" and "error" not in o["value"]),
                sum(1 for o in procs if o["value"].get("error") == "not_holder"),
                sum(1 for o in procs if o["type"] == "info"), seen))


def _terminated(signum, frame):
    # SIGTERM and SIGINT (also when a shell started us with SIGINT ignored)
    # unwind through the finally blocks, so that the nodes are stopped and the
    # namespaces removed.
    raise SystemExit(128 + signum)


def main(argv):
    a = parse(argv)
    signal.signal(signal.SIGTERM, _terminated)
    signal.signal(signal.SIGINT, _terminated)
    fs = fault_list(a.faults, a.nodes, soak=a.soak is not None)
    election_s = a.election_ms / 1000.0
    faults = [f for f in fs if f != MEMBERS]
    sched = nemesis.schedule(a.seed, a.duration, faults, a.nodes, election_s, 2.0)
    msched = membership.schedule(a.seed, a.duration) if MEMBERS in fs else []
    log("jepsen: %d nodes, seed %d, %.0fs of faults from %s; acquires wait %d ms" % (
        a.nodes, a.seed, a.duration, ",".join(fs), a.wait_ms))
    log("fault schedule:\n" + (nemesis.format_schedule(sched) or "  (none)"))
    if msched:
        log("membership schedule:\n" + membership.format_schedule(msched))
    wl.UNKNOWN_503 = a.unknown_503
    wl.WAIT_MS = a.wait_ms
    wl.CLIENT_TIMEOUT_S = a.client_timeout
    wl.REUSE_SESSIONS = a.reuse_sessions
    wl.ABANDON = a.abandon or False
    wl.LOCK_TTL_S = a.session_ttl
    if a.abandon:
        log("note: clients give up their sessions after lost answers (%s)" % (
            "closed" if a.abandon == "close" else "left to expire, TTL %.1fs" % a.session_ttl))
    wl.NUMBERED = not a.no_seq
    if a.reuse_sessions:
        log("note: clients keep their sessions after lost answers, %s" % (
            "without seq" if a.no_seq else "numbering their requests (seq)"))
    if a.unknown_503:
        log("note: writes answered 503 count as indeterminate (--unknown-503)")
    c, clock = start_cluster(a, fs)
    failed = True
    try:
        if a.auth:
            if a.kv:
                secure.CLIENT_RULES.append({"resource": "kv", "prefix": kvw.PREFIX,
                                            "access": "write"})
            secure.bootstrap(c, log)
        c.leader(timeout=15.0)
        h = hist.History()
        watch = leaders.LeaderWatch(c, h)  # every node's status, for leader-per-term
        watch.start()
        stop = threading.Event()
        store = wl.FencedStore(h)
        ledger_locks, ledger_sessions, abandoned = [], [], {}
        rng = random.Random(a.seed)
        clients = [wl.LockClient(p, c, h, stop, rng.random(), store)
                   for p in range(a.lock_clients)]
        clients += [wl.LockClient(100 + p, c, h, stop, rng.random(), store,
                                  base=wl.ELECTION, kind="election") for p in range(3)]
        clients += [wl.Reader(200 + p, c, h, stop, rng.random()) for p in range(a.readers)]
        # The mixed lock: shared and exclusive holders (their own random
        # stream, so the clients above act as they did before it existed).
        mrng = random.Random(a.seed ^ 0x5eed)
        clients += [wl.LockClient(500 + p, c, h, stop, mrng.random(), None, base=wl.MIXED,
                                  mode="shared" if p < a.shared_clients else "exclusive")
                    for p in range(a.shared_clients + a.mixed_exclusive)]
        if a.shared_clients + a.mixed_exclusive:
            clients.append(wl.Reader(550, c, h, stop, mrng.random(), base=wl.MIXED))
        kv = None
        if a.kv:
            # Their own random stream: the clients above act as without them.
            kv = kvw.KV(c, h, stop, a.seed ^ 0x6b76, clients=a.kv_clients)
            clients += kv.threads()
            log("kv: %d clients on %d keys under %s (rotating every %.0fs), a watcher from "
                "index %d" % (a.kv_clients, kvw.KEYS, kvw.PREFIX, kvw.ROTATE_S, kv.start))
        queued = None
        if "queued_release" in fs:
            queued = queued_release.QueuedRelease(c, h, stop, rng.random())
            clients += queued.rivals(stop, rng.random())
        if a.abandoners:
            # Their own random stream; rounds start early enough that the
            # abandoned sessions' bound lies in the churn window.
            arng = random.Random(a.seed ^ 0xab)
            churn_end = max([x["at"] + x["dur"] for x in sched if x["fault"] == "churn"],
                            default=a.duration)
            until = churn_end - (wl.ABANDON_TTL_S + 2 * election_s +
                                 checkers.BOUND_ALLOWANCE_S + 3.0)
            clients += [wl.Abandoner(600 + p, c, h, stop, arng.random(), until)
                        for p in range(a.abandoners)]
            log("abandoners: %d clients, sessions of %.0fs abandoned until t=%.1f; bound "
                "TTL + 2 x %.1fs + %.1fs after the last acknowledged keepalive" % (
                    a.abandoners, wl.ABANDON_TTL_S, until, election_s,
                    checkers.BOUND_ALLOWANCE_S))
        paused = None
        if "pause_client" in fs:
            paused = paused_client.PausedClient(c, h, stop, log)
            clients += paused.rivals(stop, a.seed ^ 0x511)
        clients += [wl.Reader(250, c, h, stop, rng.random(), base=wl.ELECTION, kind="election"),
                    wl.Stopper(300, c, h, stop, rng.random(), abandoned),
                    wl.Ledger(400, c, h, stop, rng.random(), ledger_locks, ledger_sessions)]
        for cl in clients:
            cl.start()
        rogue = None
        if "rogue" in fs:
            rogue = rogue_node.Rogue(c, coordd_path(), h, log)
        nem = nemesis.Nemesis(c, sched, h, log, queued=queued, rogue=rogue, paused=paused)
        nem.start()
        if clock is not None:
            clock.start()
        mem = member_nemesis.MemberNemesis(c, msched, h, log)
        mem.start()
        nem.join(a.duration + 60)
        while h.now() < a.duration:
            time.sleep(0.1)
        nem.stop_flag.set()
        mem.stop_flag.set()
        nem.join()
        mem.join()  # its change in flight ends: every wait in it is bounded
        if clock is not None:
            clock.stop()
        nem.heal()
        heal = h.now()
        log("healed at t=%.2f" % heal)
        probe = probe_liveness(c, h, heal, election_s)
        if msched:
            mem.finish()  # after the probe, which times the cluster from the heal
        time.sleep(1.0)  # the workload runs on a healed cluster for a moment
        stop.set()
        for cl in clients:
            cl.join(max(wl.CLIENT_TIMEOUT_S, getattr(cl, "WATCH_S", 0)) + 3)
        # An abandoned session must be gone a TTL (plus an election) after
        # its client stopped, or after the heal that restarted its clock.
        last = max(list(abandoned.values()) + [heal])
        wait_until = max(last, heal) + 1.5 + 2 * election_s + 1.0
        while h.now() < wait_until:
            time.sleep(0.1)
        final, fates = read_back(c, h, ledger_locks, ledger_sessions, abandoned)
        kv_truth = kv.read_truth() if kv is not None else None
        watch.stop()
        probe["abandoned"] = fates
        probe["catchups"] = nem.catchups
        ops = h.snapshot()
        if a.history:
            hist.save(ops, a.history)
            if kv_truth is not None:
                with open(a.history + ".kv-truth.json", "w") as fh:
                    json.dump(kv_truth, fh)
        if a.kv_break:  # after saving: the saved history is the one recorded
            ops, what = kvw.break_history(ops, a.kv_break, a.seed)
            log("kv-break %s: %s" % (a.kv_break, what or "nothing to spoil in this history"))
        log("operations by outcome:\n" + hist.format_counts(ops))
        refused = {e: sum(1 for o in ops if o["value"].get("error") == e)
                   for e in ("unauthenticated", "permission_denied")}
        if a.auth:
            # A 403 means the clients' rules miss a name the workload uses:
            # the run would judge fewer operations than it claims.
            log("refused by access control: %d unauthenticated, %d permission_denied" % (
                refused["unauthenticated"], refused["permission_denied"]))
        # The lock clients' grants (not the ledger's): what reusing sessions
        # after lost answers (--reuse-sessions) saves against --abandon.
        grants = sum(1 for o in ops if o["p"] < a.lock_clients and o["f"] == "acquire" and
                     o["type"] == "ok")
        log("lock grants: %d, %.0f a minute" % (grants, grants * 60.0 / max(heal, 1.0)))
        log(mixed_summary(ops))
        if kv is not None:
            log(kvw.summary(ops, kv_truth))
        log("fenced store: value %d; the fence refused %d reads and %d writes for a stale"
            " token and prevented %d lost updates (the unfenced shadow's, value %d)" % (
                store.value, store.refused_reads, store.refused_writes, store.shadow_lost,
                store.shadow))
        if nem.transfers:
            log(nem.churn_summary())
        if a.abandoners:
            log(abandon_summary(ops))
        if msched:
            log(mem.summary())
        if queued is not None:
            log(queued.summary())
        if paused is not None:
            log(paused.summary())
        if clock is not None:
            log(clock.summary())
        logs = [n.log_text() for n in c.every.values()]
        snaps = (sum(t.count("INFO  snapshot at ") for t in logs),
                 sum(t.count("installed snapshot") for t in logs))
        log("snapshots: %d made, %d installed from a leader" % snaps)
        claims = watch.claims()
        log("leaders: %d status reads of %d nodes" % (watch.samples, len(c.every)))
        for nid, n in c.every.items():
            claims += leaders.log_claims(nid, n.log_text())
        t0 = time.time()
        verdicts = judge(ops, final, probe, election_s, rogue, claims, kv_truth,
                         bound=bool(a.abandoners), outages=nem.outages(election_s))
        if paused is not None or clock is not None:
            verdicts = [("lock-delay", checkers.lock_delay(ops))] + verdicts
        if paused is not None:
            verdicts = [("paused-client", paused.verdict())] + verdicts
        failed = False
        for name, r in verdicts:
            ok = r["valid"] is True
            failed |= not ok
            log("checker %-17s %s  %s" % (name, "PASS" if ok else
                                          ("UNKNOWN" if r["valid"] == "unknown" else "FAIL"),
                                          summary(name, r)))
        if a.auth and refused["permission_denied"]:
            failed = True
            log("FAILED: %d of the workload's requests were refused for a missing rule" %
                refused["permission_denied"])
        if mem.error is not None:
            failed = True
            log("membership nemesis FAILED: %s" % mem.error)
        unanswered = sum(1 for o in ops if o["type"] == "info")
        if not fs and unanswered:
            # Nothing was cut, paused or killed: every call must get its answer.
            failed = True
            log("FAILED: a run without faults left %d operations unanswered" % unanswered)
        if a.snapshot_entries is not None and not all(snaps):
            # The run was to make, send and install snapshots under faults:
            # without one of each it judged nothing of them.
            failed = True
            log("FAILED: --snapshot-entries %d, but %d snapshots made and %d installed: "
                "choose faults or a seed that leave a node behind the log tail" % (
                    (a.snapshot_entries,) + snaps))
        log("checked in %.1fs; verdict: %s (seed %d)" % (time.time() - t0,
                                                        "FAIL" if failed else "PASS", a.seed))
    finally:
        c.close(keep=failed)
        secure.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
