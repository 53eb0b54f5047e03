"""The fault injector: a fault schedule drawn from a seed, and the thread
that applies it to a cluster (harness.Cluster or netns.NetCluster).

Process faults signal only the coordd processes the harness started: kill -9
and restart (a random node or the leader), SIGSTOP/SIGCONT for longer than an
election timeout and longer than a session TTL, and a whole-cluster crash
(every node killed at once, under the workload's writes). Network faults
(NetCluster only) cut links with iptables inside the nodes' namespaces:
majority/minority halves, an isolated leader, a bridge (two halves joined by
one node), a one-way cut (the leader can send but hears nothing), and a ring
of overlapping majorities. A mixed fault (NetCluster only, chosen only by
name) pauses the leader and cuts it off at once, resumes it while it is
still cut off and heals the cut a moment later: a deposed leader that wakes
up believing it leads, with reads queued at it and no word of the new term.
Another (also by name only) cuts one follower off for LONG_CUT_S, long
enough for TCP's retransmission backoff to reach seconds, and then times
how long the follower takes to apply the leader's commit index once healed.
A scenario (by name only, no network namespaces needed), "queued_release",
is issue 24's: a release queued on a follower that is then paused, the
client moving on with the same session through another node, the follower
resumed (queued_release.py plays the round and says what it expects).
Another, "rogue" (runner --tls), starts a coordd with a peer certificate of
another CA that dials every member, and judges that they refused it and
that nobody voted for it or stepped down (rogue.py, R1-R4).
"churn" (by name only, no namespaces needed; S20) moves the leadership
every CHURN_EVERY_S (drawn from 2.5-3.5 s) for CHURN_S: POST
/v1/leader/transfer to the leader, to the most caught-up voter ({}) or to a
member the draw chooses. Each transfer is noted (time, target, answer, the
leader after it) for the summary; the checker session-bound
(checkers.session_bound) judges what the elections did to the sessions of
clients that stopped keeping alive (workload.Abandoner).
"pause_client" (by name only; S11) SIGSTOPs a lock holder in a process of
its own between its read and its write of the fenced store, for twice its
TTL, its session with a lock-delay (paused_client.py plays the round).
Every fault is healed before the next starts.

Targets are drawn among the cluster's current members (cluster.nodes),
which the membership nemesis (member_nemesis.py) changes while these
faults go on; a node it removed and stopped ("retired") is never
restarted by a heal. Both nemeses signal processes under the cluster's
lock (cluster.mu)."""

import random
import threading
import time

PROCESS_FAULTS = ("kill", "kill_leader", "pause", "pause_leader", "crash_all")
NET_FAULTS = ("halves", "isolate_leader", "bridge", "one_way", "ring")
MIXED_FAULTS = ("pause_isolated_leader", "isolate_long")  # not in "net" or "all": by name only
# By name only: queued_release.py, rogue.py, churn (S20), paused_client.py (S11).
SCENARIO_FAULTS = ("queued_release", "rogue", "churn", "pause_client")
CHURN_S = 22.0  # churn: how long the leadership keeps moving
CHURN_EVERY_S = (2.5, 3.5)  # churn: between two transfers (below the abandoners' TTL)
CHURN_TRANSFER_S = 3.0  # churn: how long a transfer's answer is waited for
PAUSE_CLIENT_S = 12.0  # pause_client: the schedule's slot for one round (paused_client.py)
CUT_AFTER_RESUME_S = 1.0  # the paused leader stays cut off this long after SIGCONT
LONG_CUT_S = 15.0  # isolate_long
CATCH_UP_WAIT_S = 10.0  # how long isolate_long waits for the follower to catch up
QUEUED_RELEASE_S = 6.0  # queued_release: the schedule's slot for one round
ROGUE_S = 6.0  # rogue: how long the rogue node runs (rogue.ROGUE_S)


def schedule(seed, duration_s, faults, size, election_s, ttl_s):
    """[{"at", "fault", "dur", "pick"}]: faults back to back with a quiet gap
    between them. PICK is a random draw a fault uses to choose its nodes, so
    the same seed gives the same schedule."""
    rng = random.Random(seed)
    out = []
    if not faults:
        return out
    t = 2.0
    pause_s = max(election_s, ttl_s) * 1.3
    order = list(faults)
    rng.shuffle(order)
    i = 0
    while True:
        f = order[i % len(order)]
        i += 1
        if i % len(order) == 0:
            rng.shuffle(order)
        dur = {"pause": pause_s, "pause_leader": pause_s, "pause_isolated_leader": pause_s,
               "crash_all": 1.0, "isolate_long": LONG_CUT_S,
               "queued_release": QUEUED_RELEASE_S, "rogue": ROGUE_S,
               "churn": CHURN_S, "pause_client": PAUSE_CLIENT_S}.get(f, rng.uniform(2.0, 5.0))
        if f.startswith("pause"):
            dur += rng.uniform(0, 1.0)
        if t + dur + 1.0 > duration_s:
            break
        out.append({"at": round(t, 2), "fault": f, "dur": round(dur, 2),
                    "pick": rng.randrange(1 << 30)})
        t += dur + rng.uniform(1.5, 3.0)
    return out


def wait_applied(nodes, index, timeout_s):
    """Waits until every one of NODES has applied INDEX; False after
    TIMEOUT_S."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        views = [n.status() for n in nodes]
        if all(v is not None and v["applied_index"] >= index for v in views):
            return True
        time.sleep(0.01)
    return False


def format_schedule(sched):
    return "\n".join("  t=%6.2fs  %-15s for %5.2fs  (pick %d)" % (
        s["at"], s["fault"], s["dur"], s["pick"]) for s in sched)


class Nemesis(threading.Thread):
    """Applies SCHEDULE to CLUSTER on the run's clock (HISTORY.now)."""

    def __init__(self, cluster, sched, history, log, queued=None, rogue=None, paused=None):
        super().__init__(daemon=True)
        self.paused_client = paused  # paused_client.PausedClient, for "pause_client"
        self.queued = queued  # queued_release.QueuedRelease, for "queued_release"
        self.rogue = rogue  # rogue.Rogue, for "rogue"
        self.c = cluster
        self.sched = sched
        self.h = history
        self.log = log
        self.stop_flag = threading.Event()
        self.applied = []
        self.killed = []
        self.paused = []
        self.catchups = []  # isolate_long: [{"at", "node", "after_s" or None}]
        self.cut_off = None  # isolate_long: the follower cut off
        self.transfers = []  # churn: [{"at", "from", "to", "status", "leader", "took_s"}]
        self.mu = getattr(cluster, "mu", None) or threading.RLock()

    def leader_id(self):
        """The member most live nodes name as leader, else a live one."""
        votes = {}
        members = [n.id for n in self.c.nodes]
        for n in self.c.live():
            s = n.status()
            if s and s.get("leader") and s["leader"]["id"] in members:
                votes[s["leader"]["id"]] = votes.get(s["leader"]["id"], 0) + 1
        if votes:
            return max(votes, key=votes.get)
        live = self.c.live()
        return live[0].id if live else members[0]

    def run(self):
        for s in self.sched:
            while not self.stop_flag.is_set() and self.h.now() < s["at"]:
                time.sleep(0.05)
            if self.stop_flag.is_set():
                break
            if s["fault"] == "queued_release":
                # The round signals under the lock itself; it ends healed.
                at = self.h.now()
                what = self.queued.round(s)
                self.applied.append(dict(s, at=round(at, 2), what=what))
                self.log("nemesis t=%.2f queued_release: %s" % (at, what))
                continue
            if s["fault"] == "rogue":
                # Nothing to heal: the visit stops its process itself.
                at = self.h.now()
                try:
                    what = self.rogue.visit(s)
                except Exception as e:  # noqa: BLE001 -- judged: the rogue check fails
                    what = "the visit failed: %s: %s" % (type(e).__name__, e)
                    self.rogue.visits.append({"at": round(at, 2), "judged": True,
                                              "refused": {}, "problems": [what]})
                self.applied.append(dict(s, at=round(at, 2), what=what))
                self.log("nemesis t=%.2f rogue: %s" % (at, what))
                continue
            if s["fault"] == "pause_client":
                # The round signals its own child process and resumes it.
                at = self.h.now()
                what = self.paused_client.round(s)
                self.applied.append(dict(s, at=round(at, 2), what=what))
                self.log("nemesis t=%.2f pause_client: %s" % (at, what))
                continue
            if s["fault"] == "churn":
                # Nothing to heal: every transfer ends on its own.
                at = self.h.now()
                what = self.churn(s)
                self.applied.append(dict(s, at=round(at, 2), what=what))
                self.log("nemesis t=%.2f churn: %s" % (at, what))
                continue
            with self.mu:
                what = self.apply(s)
            self.applied.append(dict(s, at=round(self.h.now(), 2), what=what))
            self.log("nemesis t=%.2f %s: %s" % (self.h.now(), s["fault"], what))
            self.stop_flag.wait(s["dur"])
            if s["fault"] == "pause_isolated_leader":
                with self.mu:
                    self.resume_paused()
                self.log("nemesis t=%.2f SIGCONT, still cut off" % self.h.now())
                self.stop_flag.wait(CUT_AFTER_RESUME_S)
            self.heal()
            if s["fault"] == "isolate_long":
                self.time_catch_up(self.cut_off)

    def churn(self, s):
        """Moves the leadership every CHURN_EVERY_S until S's window ends:
        each time to the most caught-up voter ({}) or to a member drawn from
        S's pick (never the leader itself: that would be no election). The
        request goes to the leader; any member forwards it. Bounded: each
        transfer waits CHURN_TRANSFER_S at most."""
        from secure import admin_request  # the cluster's TLS and admin token (runner only)
        rng = random.Random(s["pick"])
        end = self.h.now() + s["dur"]
        n0 = len(self.transfers)
        while not self.stop_flag.is_set() and self.h.now() < end:
            t0 = self.h.now()
            lid = self.leader_id()
            others = [n.id for n in self.c.nodes if n.id != lid]
            to = rng.choice(others) if others and rng.random() < 0.5 else None
            node = next((n for n in self.c.nodes if n.id == lid), None) or self.c.nodes[0]
            r = admin_request(node.http, "POST", "/v1/leader/transfer",
                              {} if to is None else {"id": to}, timeout=CHURN_TRANSFER_S)
            got = r.json.get("leader") if r is not None and r.status == 200 and \
                isinstance(r.json, dict) else None
            self.transfers.append({"at": round(t0, 2), "from": lid, "to": to,
                                   "status": None if r is None else r.status,
                                   "leader": got, "took_s": round(self.h.now() - t0, 3)})
            self.log("nemesis t=%.2f transfer from %d to %s: %s" % (
                t0, lid, "the most caught-up" if to is None else to,
                "no answer" if r is None else "%d, leader %s" % (r.status, got)))
            self.stop_flag.wait(max(0.0, t0 + rng.uniform(*CHURN_EVERY_S) - self.h.now()))
        done = self.transfers[n0:]
        return "%d transfers, %d answered 200" % (len(done),
                                                  sum(1 for x in done if x["status"] == 200))

    def churn_summary(self):
        """The summary line of the churn's transfers."""
        ts = self.transfers
        if not ts:
            return "churn: no transfer"
        gaps = [b["at"] - a["at"] for a, b in zip(ts, ts[1:])]
        took = sorted(x["took_s"] for x in ts if x["status"] == 200)
        moved = sum(1 for x in ts if x["status"] == 200 and x["leader"] != x["from"])
        return ("churn: %d transfers, %d moved the leadership (200), %d other answers; "
                "every %.1f-%.1fs; a transfer took %.3f-%.3fs (median %.3f)" % (
                    len(ts), moved, sum(1 for x in ts if x["status"] != 200),
                    min(gaps, default=0), max(gaps, default=0), took[0] if took else 0,
                    took[-1] if took else 0, took[len(took) // 2] if took else 0))

    def outages(self, election_s):
        """The windows (start, end) of the faults applied that may leave the
        cluster without a quorum or a leader for longer than an election:
        every fault but the churn and the paused client, from when it was
        applied until two election timeouts and a second (a killed node
        restarting) after its heal."""
        return [(x["at"], x["at"] + x["dur"] + 2 * election_s + 1.0) for x in self.applied
                if x["fault"] not in ("churn", "pause_client")]

    def member(self, nid):
        """Whether NID is in the membership now (the membership nemesis may
        have removed it)."""
        return any(n.id == nid for n in self.c.nodes)

    def time_catch_up(self, nid):
        """Seconds from the heal until node NID has applied the commit index
        the leader had at the heal, or None after CATCH_UP_WAIT_S. A node
        the membership nemesis removed before or while it is timed is not
        timed ("removed": a server no longer in the cluster is not sent the
        log)."""
        t0 = self.h.now()
        lead = self.c.node(self.leader_id()).status()
        after = None
        if self.member(nid) and lead is not None and \
                wait_applied([self.c.node(nid)], lead["commit_index"], CATCH_UP_WAIT_S):
            after = round(self.h.now() - t0, 3)
        removed = after is None and not self.member(nid)
        self.catchups.append({"at": round(t0, 2), "node": nid, "after_s": after,
                              "removed": removed})
        self.log("nemesis t=%.2f node %d %s" % (
            self.h.now(), nid, "was removed from the cluster: not timed" if removed else
            "caught up after %.2fs" % after if after is not None else
            "caught up not within %.0fs" % CATCH_UP_WAIT_S))

    def apply(self, s):
        rng = random.Random(s["pick"])
        ids = [n.id for n in self.c.nodes]
        size = len(ids)
        f = s["fault"]
        if f in ("kill", "kill_leader"):
            nid = self.leader_id() if f == "kill_leader" else rng.choice(ids)
            self.c.node(nid).kill()
            self.killed.append(nid)
            return "kill -9 node %d" % nid
        if f == "pause_isolated_leader":
            lid = self.leader_id()
            self.c.node(lid).pause()
            self.paused.append(lid)
            self.c.net.partition([[lid], [i for i in ids if i != lid]])
            return "SIGSTOP node %d and cut it off" % lid
        if f in ("pause", "pause_leader"):
            nid = self.leader_id() if f == "pause_leader" else rng.choice(ids)
            self.c.node(nid).pause()
            self.paused.append(nid)
            return "SIGSTOP node %d" % nid
        if f == "crash_all":
            for n in self.c.nodes:
                n.kill()
            self.killed.extend(ids)
            return "kill -9 every node"
        net = self.c.net
        if f == "halves":
            rng.shuffle(ids)
            groups = [ids[:size // 2], ids[size // 2:]]
            net.partition(groups)
            return "partition %r" % groups
        if f == "isolate_long":
            lid = self.leader_id()
            self.cut_off = rng.choice([i for i in ids if i != lid])
            net.partition([[self.cut_off], [i for i in ids if i != self.cut_off]])
            return "cut off follower %d for %.0fs" % (self.cut_off, s["dur"])
        if f == "isolate_leader":
            lid = self.leader_id()
            groups = [[lid], [i for i in ids if i != lid]]
            net.partition(groups)
            return "isolate leader: %r" % groups
        if f == "bridge":
            rng.shuffle(ids)
            mid = ids[0]
            rest = ids[1:]
            a, b = rest[:len(rest) // 2], rest[len(rest) // 2:]
            for x in a:
                for y in b:
                    net.drop(x, y)
                    net.drop(y, x)
            return "bridge: %r <-> %d <-> %r" % (a, mid, b)
        if f == "one_way":
            lid = self.leader_id()
            for i in ids:
                if i != lid:
                    net.drop(i, lid)
            return "one-way: leader %d sends, hears nobody" % lid
        if f == "ring":
            # Node i keeps links to its ring neighbours only: every node sees
            # a majority (of 5), and no two majorities are the same.
            order = list(ids)
            rng.shuffle(order)
            keep = set()
            for k, i in enumerate(order):
                for d in (1, -1):
                    keep.add((i, order[(k + d) % size]))
            for a in ids:
                for b in ids:
                    if a != b and (a, b) not in keep:
                        net.drop(a, b)
            return "ring %r (neighbours only)" % order
        raise ValueError(f)

    def resume_paused(self):
        for nid in self.paused:
            n = self.c.node(nid)
            if n.proc is not None and n.paused:
                n.resume()
        self.paused = []

    def heal(self):
        """Every cut removed, every paused node resumed, every killed node
        restarted (but not one the membership nemesis has removed since)."""
        with self.mu:
            if getattr(self.c, "net", None) is not None:
                self.c.net.heal()
            self.resume_paused()
            for nid in self.killed:
                n = self.c.node(nid)
                if n.proc is None and not getattr(n, "retired", False):
                    n.start()
            self.killed = []
