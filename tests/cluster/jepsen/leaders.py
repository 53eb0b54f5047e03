"""Who led which term, as the real nodes tell it: the claims that
checkers.one_leader_per_term judges (at most one leader per term).

Two sources, each a list of claims {"term", "leader", "by", "via", "t"}
(node BY saw node LEADER lead TERM; BY == LEADER when it led the term
itself):

- LeaderWatch samples every node's GET /v1/status (the admin token under
  --auth, as every status read of the runner) every SAMPLE_S while the run
  goes on, each node from a thread of its own so that a paused node holds
  up only its own reads: a node whose role is "leader" claims its term, and
  a node naming a leader names it for its term (raft sets a node's leader
  only from a leader's message of its current term, step.c);
- log_claims reads a node's log after the run: coordd logs
  "term T: ROLE, leader L" whenever its role or its leader changes
  (node_ready.c), so a node that led a term for less than a sample still
  left its line there, restarts included (the log file is appended to).

Nodes the membership nemesis adds are watched from when they appear in the
cluster's roster of every node started (cluster.every)."""

import re
import threading

SAMPLE_S = 0.1  # between two status reads of one node
LINE = re.compile(r"\bterm (\d+): ([a-z-]+), leader (\d+)\s*$")


def log_claims(nid, text):
    """The claims in the log TEXT of node NID (lines with leader 0 claim
    nothing)."""
    out = []
    for line in text.splitlines():
        m = LINE.search(line)
        if m is None or int(m.group(3)) == 0:
            continue
        out.append({"term": int(m.group(1)), "leader": int(m.group(3)), "by": nid,
                    "via": "log:" + m.group(2), "t": None})
    return out


def status_claims(view, t):
    """The claims of one status answer VIEW read at time T."""
    out = []
    if view.get("role") == "leader":
        out.append({"term": view["term"], "leader": view["id"], "by": view["id"],
                    "via": "status:leader", "t": t})
    if view.get("leader"):
        out.append({"term": view["term"], "leader": view["leader"]["id"], "by": view["id"],
                    "via": "status:" + str(view.get("role")), "t": t})
    return out


class LeaderWatch(threading.Thread):
    """Samples the status of every node of CLUSTER on HISTORY's clock until
    stop(); claims() is every distinct claim seen, with the time it was
    first seen and how many samples showed it."""

    def __init__(self, cluster, history):
        super().__init__(daemon=True)
        self.c = cluster
        self.h = history
        self.stop_flag = threading.Event()
        self.mu = threading.Lock()
        self.seen = {}  # (term, leader, by, via) -> claim with "samples"
        self.samples = 0
        self.pollers = {}

    def run(self):
        while not self.stop_flag.is_set():
            for nid, n in list(getattr(self.c, "every", {n.id: n for n in self.c.nodes}).items()):
                if nid not in self.pollers:
                    p = threading.Thread(target=self.poll, args=(n,), daemon=True)
                    self.pollers[nid] = p
                    p.start()
            self.stop_flag.wait(0.2)

    def poll(self, n):
        while not self.stop_flag.is_set():
            v = n.status()
            if v is not None:
                t = self.h.now()
                with self.mu:
                    self.samples += 1
                    for c in status_claims(v, t):
                        key = (c["term"], c["leader"], c["by"], c["via"])
                        if key in self.seen:
                            self.seen[key]["samples"] += 1
                        else:
                            self.seen[key] = dict(c, samples=1)
            self.stop_flag.wait(SAMPLE_S)

    def stop(self):
        self.stop_flag.set()
        self.join(5.0)
        for p in list(self.pollers.values()):
            p.join(5.0)  # a status read waits 1 s at most

    def claims(self):
        with self.mu:
            return [dict(c) for c in self.seen.values()]
