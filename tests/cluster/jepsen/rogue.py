"""The rogue node (runner fault "rogue", by name only; needs --tls): a coordd
that is not a member, with valid addresses and a peer certificate of
ANOTHER CA (test_tls.Certs's "stranger"), visits the cluster for ROGUE_S
seconds while no other fault runs (the fault nemesis runs one fault at a
time, healed before the next; the membership nemesis may not run with it).

It claims a real member's id or a new one (drawn from the slot's pick) and
names every member's real Raft address in its --cluster, so it dials each
of them and, as a candidate, asks them for (pre-)votes; its election timeout
is short so that it campaigns often. In network namespaces it gets a
namespace (and an address on the bridge) of its own, slot ROGUE_SLOT.

A visit waits until the cluster is settled (every member up and naming
one leader in one term for STABLE_S), reads the leader, term and commit
index and each member's coord_peer_tls_refused_total (/metrics, with the
admin token under --auth), starts the rogue, samples every member's status
while it runs, stops it (by pid), and reads them again. It fails unless:
  R1 the coord_peer_tls_refused_total of every member it dials grew (each
     refused it; a member whose id it claims is not dialed: its address
     in the rogue's --cluster is the rogue's own);
  R2 every sample during the visit shows the leader and term read before
     it, with one leader and the same member list: nobody voted for it or
     stepped down;
  R3 the leader's commit index grew across the visit (the workload's
     writes went on);
  R4 the rogue never joined the cluster (its own status has not the
     cluster's id).
A visit before which the cluster never settled (SETTLE_WAIT_S) is not
judged, and the verdict is then "unknown" (the run fails, saying why).
The linearizability and mutual exclusion checkers judge the same run."""

import os
import random
import shutil
import subprocess
import time

import netns
import secure

ROGUE_S = 6.0  # how long the rogue runs (its slot in the schedule)
STABLE_S = 1.5  # the settled window before it starts
SETTLE_WAIT_S = 15.0
SAMPLE_S = 0.1
ROGUE_SLOT = netns.MAX_ID  # its namespace (address) in network namespaces
NEW_ID = 200  # the id it claims when it does not claim a member's
ROGUE_HEARTBEAT_MS = 30
ROGUE_ELECTION_MS = 150
REFUSED = "coord_peer_tls_refused_total"


def _views(nodes):
    return {n.id: n.status() for n in nodes}


def _agreed(c, views):
    """(leader id, term) when every member is up and names the same leader
    in the same term, that leader saying it leads; else None."""
    if any(v is None or v.get("leader") is None for v in views.values()):
        return None
    named = {(v["term"], v["leader"]["id"]) for v in views.values()}
    if len(named) != 1:
        return None
    (term, lid), = named
    lv = views.get(lid)
    if lv is None or lv["role"] != "leader":
        return None
    return lid, term


class Rogue:
    """Visits of the rogue node to CLUSTER (see the module comment). CERTS:
    secure's RunCerts."""

    def __init__(self, cluster, coordd, h, log):
        self.c = cluster
        self.coordd = coordd
        self.h = h
        self.log = log
        self.visits = []
        self.n = 0

    def settled(self):
        """(leader, term, views) once the cluster has been settled for
        STABLE_S, or None after SETTLE_WAIT_S."""
        deadline = time.time() + SETTLE_WAIT_S
        since, seen = None, None
        while time.time() < deadline:
            nodes = self.c.nodes
            ok = all(n.alive() and not n.paused for n in nodes)
            views = _views(nodes) if ok else {}
            now = _agreed(self.c, views) if ok else None
            if now is None or now != seen:
                since, seen = time.time(), now
            elif time.time() - since >= STABLE_S:
                return now[0], now[1], views
            time.sleep(SAMPLE_S)
        return None

    def place(self):
        """(http, raft, command prefix) for the rogue."""
        c = self.c
        net = getattr(c, "net", None)
        if net is not None:
            if ROGUE_SLOT not in net.ids:
                net.add(ROGUE_SLOT)
            a = net.addr(ROGUE_SLOT)
            return ("%s:%d" % (a, netns.HTTP_PORT), "%s:%d" % (a, netns.RAFT_PORT),
                    ["ip", "netns", "exec", net.ns(ROGUE_SLOT)])
        import member_nemesis
        p = c.base + 400
        while not (member_nemesis._free(p) and member_nemesis._free(p + 1)):
            p += 2
        return "127.0.0.1:%d" % p, "127.0.0.1:%d" % (p + 1), []

    def visit(self, s):
        rng = random.Random(s["pick"])
        self.n += 1
        t0 = self.h.now()
        rec = {"at": round(t0, 2), "problems": [], "judged": False}
        self.visits.append(rec)
        before = self.settled()
        if before is None:
            rec["problems"].append("the cluster did not settle within %.0fs before the visit"
                                   % SETTLE_WAIT_S)
            return "not judged: the cluster did not settle"
        lid, term, views = before
        nodes = list(self.c.nodes)
        ids = [n.id for n in nodes]
        claim = rng.choice(ids + [NEW_ID])
        rec.update(claim=claim, leader=lid, term=term,
                   commit_before=views[lid]["commit_index"],
                   members=sorted(ids), cluster=views[lid]["cluster"])
        refused0 = {n.id: secure.metric(n, REFUSED) for n in nodes}
        http, raft, prefix = self.place()
        members = ",".join(["%d=%s" % (n.id, n.raft) for n in nodes if n.id != claim] +
                           ["%d=%s" % (claim, raft)])
        certs = secure.CERTS
        # It trusts the cluster's CA (a CA certificate is no secret), so that
        # its side of each handshake goes on until the member refuses its
        # certificate; one that distrusts the members aborts the handshake
        # itself, before the member has seen a certificate to refuse.
        cert, key, ca = certs.stranger[0], certs.stranger[1], certs.ca
        data = os.path.join(self.c.dir, "rogue%d" % self.n)
        logf = os.path.join(self.c.dir, "rogue%d.log" % self.n)
        args = prefix + [self.coordd, "--id", str(claim), "--data", data, "--http", http,
                         "--raft", raft, "--cluster", members,
                         "--heartbeat-ms", str(ROGUE_HEARTBEAT_MS),
                         "--election-timeout-ms", str(ROGUE_ELECTION_MS),
                         "--peer-cert", cert, "--peer-key", key, "--peer-ca", ca]
        seen, members_seen, leaders_seen, unanswered = set(), set(), set(), 0
        rogue_view = None
        with open(logf, "a") as out:
            proc = subprocess.Popen(args, stdout=out, stderr=out)
        try:
            self.log("rogue t=%.2f: started pid %d as id %d at raft %s (%s CA), leader %d "
                     "term %d" % (self.h.now(), proc.pid, claim, raft,
                                  "another", lid, term))
            end = time.time() + s["dur"]
            while time.time() < end:
                for nid, v in _views(nodes).items():
                    if v is None:
                        unanswered += 1
                        continue
                    seen.add((v["term"], v["leader"]["id"] if v.get("leader") else None))
                    members_seen.add(tuple(sorted(m["id"] for m in v["members"])))
                    if v["role"] == "leader":
                        leaders_seen.add((v["term"], nid))
                r = secure.request(http, "GET", "/v1/status", timeout=1.0, plain=True)
                if r is not None and r.status == 200 and r.json:
                    rogue_view = r.json
                time.sleep(SAMPLE_S)
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        after = _views(nodes)
        lv = after.get(lid)
        refused1 = {n.id: secure.metric(n, REFUSED) for n in nodes}
        rec.update(commit_after=None if lv is None else lv["commit_index"],
                   leader_after=None if lv is None or not lv.get("leader") else
                   lv["leader"]["id"], term_after=None if lv is None else lv["term"],
                   refused={nid: [refused0[nid], refused1[nid]] for nid in refused0},
                   seen=sorted(seen, key=str), unanswered=unanswered,
                   rogue_term=None if rogue_view is None else rogue_view.get("term"),
                   rogue_cluster=None if rogue_view is None else rogue_view.get("cluster"),
                   rogue_role=None if rogue_view is None else rogue_view.get("role"))
        p = rec["problems"]
        for nid, (a, b) in rec["refused"].items():  # R1: each member it dials
            if nid != claim and (a is None or b is None or b <= a):
                p.append("R1: node %d's %s did not grow (%s -> %s)" % (nid, REFUSED, a, b))
        if seen != {(term, lid)} or leaders_seen != {(term, lid)}:  # R2
            p.append("R2: leader/term changed during the visit: members named %s, "
                     "leaders were %s (before: leader %d in term %d)" % (
                         ", ".join("%s in term %d" % (x, t) for t, x in sorted(seen, key=str)),
                         ", ".join("%d in term %d" % (x, t) for t, x in sorted(leaders_seen)),
                         lid, term))
        if members_seen != {tuple(sorted(ids))}:
            p.append("R2: member lists seen %s" % sorted(members_seen))
        if rec["leader_after"] != lid or rec["term_after"] != term:
            p.append("R2: after the visit leader %s term %s (before: %d, %d)" % (
                rec["leader_after"], rec["term_after"], lid, term))
        if rec["commit_after"] is None or rec["commit_after"] <= rec["commit_before"]:  # R3
            p.append("R3: commit index did not grow: %s -> %s" % (
                rec["commit_before"], rec["commit_after"]))
        if rogue_view is None:
            p.append("R4: the rogue never answered its status (did it start? see %s)" % logf)
        elif rogue_view.get("cluster") == rec["cluster"]:  # R4
            p.append("R4: the rogue joined cluster %s" % rec["cluster"])
        rec["judged"] = True
        if p:
            try:
                with open(logf) as fh:
                    self.log("rogue log (tail):\n" + fh.read()[-2000:])
            except OSError:
                pass
        shutil.rmtree(data, ignore_errors=True)
        return ("id %d for %.1fs: leader %d term %d -> leader %s term %s; commit %d -> %s; "
                "refusals %s; rogue term %s, role %s; %d status reads unanswered%s" % (
                    claim, s["dur"], lid, term, rec["leader_after"], rec["term_after"],
                    rec["commit_before"], rec["commit_after"],
                    ", ".join("node %d %s->%s" % (nid, _num(a), _num(b))
                              for nid, (a, b) in sorted(rec["refused"].items())),
                    rec["rogue_term"], rec["rogue_role"], unanswered,
                    ("; PROBLEMS: " + "; ".join(p)) if p else ""))

    def verdict(self):
        if not self.visits:
            return {"valid": "unknown", "why": "the schedule had no rogue visit"}
        bad = [v for v in self.visits if v["judged"] and v["problems"]]
        unjudged = [v for v in self.visits if not v["judged"]]
        valid = False if bad else ("unknown" if unjudged else True)
        return {"valid": valid, "visits": len(self.visits), "judged": len(self.visits) -
                len(unjudged), "refusals": sum(
                    (b or 0) - (a or 0) for v in self.visits if v["judged"]
                    for a, b in v["refused"].values()),
                "problems": [q for v in self.visits for q in v["problems"]],
                "each": [{k: v.get(k) for k in ("at", "claim", "leader", "leader_after", "term",
                                                "term_after", "commit_before", "commit_after",
                                                "refused", "rogue_term")}
                         for v in self.visits]}


def _num(x):
    return "?" if x is None else "%d" % x
