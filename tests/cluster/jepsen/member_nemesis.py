"""The membership nemesis: changes a running cluster's membership the way an
operator would (docs/API.md, Operating a cluster), while the other
nemeses pause, kill and cut nodes. The rules of what it changes and when
are in membership.py (M1-M6); this module does the I/O.

The clusters here keep two rosters (Roster): `nodes`, the current members,
which the workload's clients send to and the other nemeses pick targets
from, and `every`, each node ever started, which close() stops. A new
server is a Joiner (coordd --join) with a fresh id and addresses of its
own. A removed server is first dropped from `nodes`, then its process
(one this harness started, by pid) is stopped, and the fault nemesis never
restarts it (`retired`).

Answers that a change under faults may get -- 409 change_in_progress,
not_caught_up or conflict, 503, 504, no answer -- are outcomes, not errors:
each is counted in the summary. After a 504 or no answer the change may
still complete, so the configuration is read again (GET /v1/members, from
the node that names itself leader) for SETTLE_S before the change counts
as unknown. Every wait is bounded."""

import random
import socket
import subprocess
import threading
import time

import membership
import netns
import secure
from harness import Cluster, Node
from secure import admin_request as request

CHANGE_TIMEOUT_S = 8.0  # one change request: above coordd's write time-out
CATCH_UP_S = 10.0  # a learner's catch-up
SETTLE_S = 8.0  # re-reading the configuration after a lost answer
JOIN_START_S = 5.0  # a new server serves /v1/status within this
READ_S = 4.0  # finding the leader's view of the configuration
TRIES = 4  # a promotion or replacement answered not_caught_up / change_in_progress
FINAL_READ_S = 10.0  # the final configuration, after the heal
PORT_PROBES = 500  # local clusters: pairs of ports tried for a new server


class Joiner(Node):
    """A node started with an empty data folder and --join: it waits to be
    added. Restarted after a kill -9 with the same command line (coordd
    ignores --join once its folder belongs to a cluster)."""

    def start(self):
        assert self.proc is None
        args = [self.cluster.coordd, "--id", str(self.id), "--data", self.data,
                "--http", self.http, "--raft", self.raft, "--join",
                "--heartbeat-ms", str(self.cluster.heartbeat_ms),
                "--election-timeout-ms", str(self.cluster.election_ms)]
        args += self.cluster.extra_args
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log)
        self.paused = False


class Roster:
    """Mixin for harness.Cluster and netns.NetCluster (see the module
    comment). `nodes` is replaced, never changed in place, so a client
    thread sees one roster or the next. MU is held by whichever nemesis
    signals a process, so that a node is not killed by one while the other
    stops it."""

    ID_LIMIT = None

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.every = {n.id: n for n in self.nodes}
        self.mu = threading.RLock()
        for n in self.nodes:
            n.retired = False
            secure.bind(n)  # status and member reads: HTTPS and the admin token with --tls/--auth

    def node(self, nid):
        return self.every[nid]

    def set_members(self, ids):
        """NODES becomes IDS, less the nodes retired (a deposed leader's
        stale view may still list them)."""
        self.nodes = [self.every[i] for i in sorted(ids)
                      if i in self.every and not self.every[i].retired]

    def new_node(self, nid):
        """A Joiner for id NID with addresses of its own; not started."""
        assert nid not in self.every, "id %d reused (M3)" % nid
        j = Joiner(self, nid)
        secure.bind(j)
        self.place(j)
        j.retired = False
        self.every[nid] = j
        return j

    def close(self, keep=False):
        self.nodes = [self.every[i] for i in sorted(self.every)]
        super().close(keep)


class LocalCluster(Roster, Cluster):
    """Nodes on 127.0.0.1; a new server gets two ports never used before in
    this run (probed free, above the founders' ports)."""

    def place(self, j):
        if not hasattr(self, "next_port"):
            self.next_port = self.base + 200
        for _ in range(PORT_PROBES):
            p = self.next_port
            self.next_port += 2
            if _free(p) and _free(p + 1):
                j.http, j.raft = "127.0.0.1:%d" % p, "127.0.0.1:%d" % (p + 1)
                return
        raise RuntimeError("no free ports for node %d" % j.id)


class NsCluster(Roster, netns.NetCluster):
    """Nodes in network namespaces; a new server gets a namespace (and so an
    address) of its own."""

    ID_LIMIT = netns.MAX_ID

    def place(self, j):
        self.net.add(j.id)
        j.http = "%s:%d" % (self.net.addr(j.id), netns.HTTP_PORT)
        j.raft = "%s:%d" % (self.net.addr(j.id), netns.RAFT_PORT)


def _free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _member(view, nid):
    return next((m for m in view["members"] if m["id"] == nid), None)


def _role(view, nid):
    m = _member(view, nid)
    return None if m is None else m["role"]


def _lost(r):
    """An answer after which the change may still complete: 504 or none."""
    return r is None or (r.status >= 500 and r.status != 503)


class MemberNemesis(threading.Thread):
    """Makes the changes of SCHED (membership.schedule) on CLUSTER, one at a
    time (M2), on the run's clock (HISTORY.now)."""

    def __init__(self, cluster, sched, history, log):
        super().__init__(daemon=True)
        self.c = cluster
        self.sched = sched
        self.h = history
        self.log = log
        self.stop_flag = threading.Event()
        self.planner = membership.Planner([n.id for n in cluster.nodes], cluster.ID_LIMIT)
        self.view = None
        self.changes = []  # {"at", "kind", "what", "outcome", "took_s", "answers"}
        self.cur = None
        self.final = None
        self.error = None  # set when the thread died: the run then fails

    def run(self):
        try:
            self.make_changes()
        except Exception as e:  # noqa: BLE001 -- reported, and the run fails
            import traceback
            self.error = "%s: %s" % (type(e).__name__, e)
            self.log("members: the membership nemesis died:\n" + traceback.format_exc())

    def make_changes(self):
        for s in self.sched:
            while not self.stop_flag.is_set() and self.h.now() < s["at"]:
                time.sleep(0.05)
            if self.stop_flag.is_set():
                break
            self.slot(s)

    def slot(self, s):
        t0 = self.h.now()
        view = self.read_view()
        ch = None
        if view is not None:
            self.follow(view)
            self.planner.observe(view)
            ch = self.planner.plan(s["change"], random.Random(s["pick"]))
        if ch is None:
            why = "no leader's view of the configuration" if view is None else \
                "the configuration is joint"
            self.record(t0, {"kind": s["change"]}, "skipped", why)
            return
        self.planner.begin(ch)
        self.cur = []
        outcome = getattr(self, "do_" + ch["kind"])(ch)
        self.planner.end(ch, outcome)
        self.record(t0, ch, outcome, describe(ch))
        view = self.read_view(2.0)
        if view is not None:
            self.follow(view)

    def record(self, t0, ch, outcome, what):
        took = self.h.now() - t0
        rec = {"at": round(t0, 2), "kind": ch["kind"], "what": what, "outcome": outcome,
               "took_s": round(took, 2), "answers": self.cur or []}
        self.changes.append(rec)
        self.cur = None
        self.log("members t=%.2f %s: %s in %.2fs%s" % (
            t0, what, outcome, took, (" [%s]" % ", ".join(rec["answers"]))
            if rec["answers"] else ""))

    # -- reading the configuration --------------------------------------

    def read_view(self, timeout_s=READ_S):
        """A GET /v1/members answer from a node that names itself leader
        (the leader's view: match indexes, the latest configuration), or
        None within TIMEOUT_S."""
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            lid = self.view.get("leader") if self.view else None
            asked = sorted(self.c.nodes, key=lambda n: n.id != lid)
            for n in asked:
                r = request(n.http, "GET", "/v1/members", timeout=1.0)
                if r is None or r.status != 200 or not isinstance(r.json, dict):
                    continue
                named = r.json.get("leader")
                if named != n.id and named in self.c.every:
                    r = request(self.c.node(named).http, "GET", "/v1/members", timeout=1.0)
                    if r is None or r.status != 200 or not isinstance(r.json, dict):
                        continue
                if r.json.get("leader") is not None and r.json.get("leader") == named:
                    self.view = r.json
                    return r.json
                if time.time() > deadline:
                    break
            time.sleep(0.1)
        return None

    def wait_view(self, pred, timeout_s):
        """The first view within TIMEOUT_S that is not joint and shows PRED."""
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            v = self.read_view(min(2.0, max(0.1, deadline - time.time())))
            if v is not None and not v.get("joint") and pred(v):
                return v
            time.sleep(0.1)
        return None

    def settle(self, pred):
        """After a lost answer: "done" once a view shows PRED, else "unknown"."""
        return "done" if self.wait_view(pred, SETTLE_S) is not None else "unknown"

    def follow(self, view):
        """The clients' endpoints become VIEW's members (voters and learners)."""
        self.c.set_members(m["id"] for m in view["members"])

    # -- sending changes -------------------------------------------------

    def send(self, method, path, body=None):
        """A change sent to the leader last seen (any member forwards it);
        every answer but a success is noted for the summary."""
        lid = self.view.get("leader") if self.view else None
        members = list(self.c.nodes)
        to = next((n for n in members if n.id == lid), None) or random.choice(members)
        r = request(to.http, method, path, body, timeout=CHANGE_TIMEOUT_S)
        if r is None:
            self.cur.append("no answer")
        elif r.status >= 300:
            err = r.json.get("error") if isinstance(r.json, dict) else None
            self.cur.append("%d %s" % (r.status, err or ""))
        return r

    def retire(self, n):
        """Drops N from the clients' endpoints, then stops its process."""
        with self.c.mu:
            n.retired = True
            self.c.nodes = [x for x in self.c.nodes if x is not n]
            n.stop(timeout=5)

    def start_joiner(self, nid):
        with self.c.mu:
            j = self.c.new_node(nid)
            j.start()
        deadline = time.time() + JOIN_START_S
        while time.time() < deadline and j.alive():
            if secure.serving(j):
                return j
            time.sleep(0.05)
        self.cur.append("node %d did not start" % nid)
        self.retire(j)
        return None

    def add_learner(self, ch):
        """The new server started and added as a learner (or the learner M4
        found): "ok", else the change's outcome."""
        if not ch["new"]:
            return "ok"
        j = self.start_joiner(ch["id"])
        if j is None:
            return "refused"
        r = self.send("POST", "/v1/members", {"id": j.id, "raft": j.raft})
        if r is not None and r.status == 201:
            self.c.set_members([n.id for n in self.c.nodes] + [j.id])
            return "ok"
        if _lost(r):
            if self.settle(lambda v: _member(v, j.id) is not None) == "done":
                self.follow(self.view)
                return "ok"
            return "unknown"  # left running: finish() stops it unless it joined
        self.retire(j)
        return "refused"

    def catch_up(self, nid):
        """Whether learner NID's match index reaches the leader's commit
        index within CATCH_UP_S."""
        deadline = time.time() + CATCH_UP_S
        while time.time() < deadline and not self.stop_flag.is_set():
            v = self.read_view(2.0)
            m = None if v is None else _member(v, nid)
            if m is not None and m.get("match_index") is not None:
                st = self.c.node(v["leader"]).status()
                if st is not None and m["match_index"] >= st["commit_index"]:
                    return True
            time.sleep(0.1)
        self.cur.append("not caught up within %.0fs" % CATCH_UP_S)
        return False

    def do_add(self, ch):
        got = self.add_learner(ch)
        if got != "ok":
            return got
        if not self.catch_up(ch["id"]):
            return "refused"  # the learner lingers (M4)
        return self.change("POST", "/v1/members/%d/promote" % ch["id"], None,
                           lambda v: _role(v, ch["id"]) == "voter")

    def change(self, method, path, body, took_effect):
        """Sends a change that needs a caught-up learner, again (at most
        TRIES times, half a second apart) while it is answered 409
        not_caught_up or change_in_progress: the leader's commit index moves
        on under the workload's writes. After a lost answer, "done" once a
        view shows TOOK_EFFECT."""
        for _ in range(TRIES):
            r = self.send(method, path, body)
            if r is not None and r.status == 200:
                return "done"
            if _lost(r):
                return self.settle(took_effect)
            err = r.json.get("error") if isinstance(r.json, dict) else None
            if err not in ("not_caught_up", "change_in_progress"):
                return "refused"
            if self.stop_flag.wait(0.5):
                break
        return "refused"

    def do_remove(self, ch):
        nid = ch["id"]
        r = self.send("DELETE", "/v1/members/%d" % nid)
        if r is not None and r.status == 200:
            outcome = "done"
        elif _lost(r):
            outcome = self.settle(lambda v: _member(v, nid) is None)
        else:
            outcome = "refused"
        if outcome == "done":
            self.retire(self.c.node(nid))
        return outcome

    def do_replace(self, ch):
        got = self.add_learner(ch)
        if got != "ok":
            return got
        if not self.catch_up(ch["id"]):
            return "refused"
        old, new = ch["remove"], self.c.node(ch["id"])
        outcome = self.change("POST", "/v1/members/replace",
                              {"remove": old, "add": {"id": new.id, "raft": new.raft}},
                              lambda v: _member(v, old) is None and _role(v, new.id) == "voter")
        if outcome == "done":
            self.retire(self.c.node(old))
        return outcome

    def do_transfer(self, ch):
        body = {} if ch["to"] is None else {"id": ch["to"]}
        r = self.send("POST", "/v1/leader/transfer", body)
        if r is not None and r.status == 200:
            if isinstance(r.json, dict):
                ch["got"] = r.json.get("leader")
            return "done"
        if _lost(r) and ch["to"] is not None:
            return self.settle(lambda v: v.get("leader") == ch["to"])
        return "unknown" if _lost(r) else "refused"

    # -- the end of the run ----------------------------------------------

    def finish(self):
        """After the heal: reads the final configuration, points the clients
        at its members and stops every process of ours outside it (a server
        whose add's answer was lost and that never joined). A member whose
        removal was acknowledged but that is still in the configuration is
        reported and started again, so that the checks see the cluster as
        it is."""
        self.cur = []
        v = self.read_view(FINAL_READ_S)
        if v is None:
            self.log("members: no leader's view of the final configuration")
            return None
        ids = {m["id"] for m in v["members"]}
        for n in list(self.c.every.values()):
            if n.id not in ids and n.proc is not None:
                self.retire(n)
            elif n.id in ids and n.retired:
                self.log("members: node %d is in the configuration after its removal was "
                         "acknowledged" % n.id)
                with self.c.mu:
                    n.retired = False
                    if n.proc is None:
                        n.start()
        self.follow(v)
        self.final = v
        return v

    def summary(self):
        lines = ["membership changes by kind (attempted / done / refused / unknown; "
                 "skipped slots):"]
        for kind in membership.KINDS:
            rs = [c for c in self.changes if c["kind"] == kind]
            n = {o: sum(1 for c in rs if c["outcome"] == o)
                 for o in ("done", "refused", "unknown", "skipped")}
            lines.append("  %-9s %3d / %3d / %3d / %3d; %d skipped" % (
                kind, len(rs) - n["skipped"], n["done"], n["refused"], n["unknown"],
                n["skipped"]))
        answers = {}
        for c in self.changes:
            for a in c["answers"]:
                answers[a] = answers.get(a, 0) + 1
        lines.append("  answers other than success: %s" % (", ".join(
            "%s x%d" % (a, k) for a, k in sorted(answers.items())) or "none"))
        v = self.final
        if v is None:
            lines.append("  final configuration: unknown (no leader's view)")
        else:
            lines.append("  final configuration: voters %r, learners %r, leader %r, "
                         "config_index %r, joint %r" % (
                             [m["id"] for m in v["members"] if m["role"] == "voter"],
                             [m["id"] for m in v["members"] if m["role"] != "voter"],
                             v.get("leader"), v.get("config_index"), v.get("joint")))
        lines.append("  each change:")
        for c in self.changes:
            lines.append("    t=%6.2fs  %-34s %-8s %6.2fs%s" % (
                c["at"], c["what"], c["outcome"], c["took_s"],
                ("  [%s]" % ", ".join(c["answers"])) if c["answers"] else ""))
        return "\n".join(lines)


def describe(ch):
    k = ch["kind"]
    if k == "add":
        return "add %d%s" % (ch["id"], "" if ch["new"] else " (the learner left)")
    lead = " (the leader)" if ch.get("leader") else ""
    if k == "remove":
        return "remove %s %d%s" % (ch["role"], ch["id"], lead)
    if k == "replace":
        return "replace %d%s by %d%s" % (ch["remove"], lead, ch["id"],
                                         "" if ch["new"] else " (the learner left)")
    got = " (now %s)" % ch["got"] if ch.get("got") is not None else ""
    return "transfer from %s to %s%s" % (ch.get("from"), "the most caught-up" if ch["to"] is None
                                         else ch["to"], got)
