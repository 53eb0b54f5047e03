"""Power loss of the whole cluster (issue 23): every node's SQLite files
are rolled back to their last sync after a kill -9 of every node at once,
as a power cut would leave them (kill -9 alone keeps the page cache). Every
coordd runs under the powerloss shim (tests/cluster/powerloss/powerloss.c,
LD_PRELOAD), which logs the pre-image of each unsynced write; coord-powerloss
undoes them. Nothing in coordd knows of it.
Run: COORDD=build/coord/coordd POWERLOSS=build/tests/cluster/libcoord_powerloss.so \\
     POWERLOSS_TOOL=build/tests/cluster/coord-powerloss python3 tests/cluster/test_power_loss.py"""

import os
import re
import subprocess
import threading
import time

from harness import Cluster, coordd_path, run

COORDD = coordd_path()
SHIM = os.environ.get("POWERLOSS")
TOOL = os.environ.get("POWERLOSS_TOOL")
if not SHIM or not os.path.isfile(SHIM) or not TOOL or not os.path.isfile(TOOL):
    raise SystemExit("set POWERLOSS (libcoord_powerloss.so) and POWERLOSS_TOOL (coord-powerloss)")
SHIM = os.path.abspath(SHIM)

WRITERS = 6        # clients, each putting its own key and locking its own lock
WRITE_S = 4.0      # how long they write before the power goes
SESSION_TTL_MS = 60000


class Writers:
    """WRITERS threads, each through its own node in turn: puts key
    power/K with values 1, 2, 3, ... and takes and releases lock power/K
    with one session. What was acknowledged is recorded: the highest value
    put of each key, every session opened, the highest fencing token of
    each lock."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.stop = threading.Event()
        self.put = {}      # key -> highest value acknowledged
        self.sessions = {}  # writer -> its session
        self.tokens = {}    # writer -> highest token of its lock acknowledged
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(k,), daemon=True)
                        for k in range(WRITERS)]

    def _run(self, k):
        key, lock, node, v = "power/%d" % k, "power/%d" % k, self.nodes[k % len(self.nodes)], 0
        r = node.call("POST", "/v1/sessions", {"ttl_ms": SESSION_TTL_MS}, timeout=5)
        if r is None or r.status != 201:
            return
        sid = r.json["id"]
        with self.lock:
            self.sessions[k] = sid
        while not self.stop.is_set():
            v += 1
            r = node.call("PUT", "/v1/kv/" + key, {"value": str(v)}, timeout=5)
            if r is not None and r.status == 200:
                with self.lock:
                    self.put[key] = v
            r = node.call("PUT", "/v1/locks/" + lock, {"session": sid}, timeout=5)
            if r is not None and r.status == 200:
                with self.lock:
                    self.tokens[k] = max(self.tokens.get(k, 0), r.json["fencing_token"])
                node.call("DELETE", "/v1/locks/" + lock, {"session": sid}, timeout=5)

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(10)


def power_cut(c, lying=False):
    """Runs the writers on cluster C (not started), cuts the power of every
    node while they write, restarts the cluster and returns (undone writes
    per node, what was acknowledged and is gone, the writers). LYING: once
    the cluster has a leader, every sync of every node lies (the mutation
    that shows the check has teeth)."""
    lie = os.path.join(c.dir, "lie")
    for n in c.nodes:
        n.env = {"LD_PRELOAD": SHIM, "POWERLOSS_LIE_FILE": lie}
    with c:
        c.leader(timeout=20)
        if lying:  # the disks lie from now on
            open(lie, "w").close()
        w = Writers(c.nodes)
        w.start()
        time.sleep(WRITE_S)
        for n in c.nodes:  # the power goes: every node at once, writes in flight
            n.kill()
        w.finish()
        out = subprocess.run([TOOL] + [n.data for n in c.nodes], capture_output=True,
                             text=True, timeout=60, check=True).stdout
        undone = [int(x) for x in re.findall(r": (\d+) unsynced writes undone", out)]
        if lying:
            os.unlink(lie)
        for n in c.nodes:
            n.env = {}
            n.start()
        lost = []
        leader = c.leader(timeout=20)
        for key, v in sorted(w.put.items()):
            r = leader.call("GET", "/v1/kv/" + key, timeout=5)
            if r is None or r.status != 200 or int(r.json["value"]) < v:
                lost.append(("put", key, v, r.json if r is not None else None))
        for sid in w.sessions.values():
            r = leader.call("GET", "/v1/sessions/" + sid, timeout=5)
            if r is None or r.status != 200:
                lost.append(("session", sid, r.status if r is not None else None))
        # A token acknowledged before the cut is below every token after it
        # (tokens are entry indexes: a lost grant's index would be reused).
        for k, t in sorted(w.tokens.items()):
            lock, sid = "/v1/locks/power/%d" % k, w.sessions[k]
            leader.call("DELETE", lock, {"session": sid}, timeout=5)
            r = leader.call("PUT", lock, {"session": sid}, timeout=5)
            if r is None or r.status != 200 or r.json["fencing_token"] <= t:
                lost.append(("token", lock, t, r.json if r is not None else None))
        print("  %d puts, %d sessions, %d locks acknowledged; undone per node %s" % (
            sum(w.put.values()), len(w.sessions), len(w.tokens), undone))
        return undone, lost, w


def test_power_loss_of_the_whole_cluster_keeps_every_acknowledged_write():
    """A put, a session and a grant acknowledged before the cut are there
    after it, though every node lost what it had not synced."""
    undone, lost, w = power_cut(Cluster(COORDD, 3))
    assert len(w.put) == WRITERS and len(w.sessions) == WRITERS, "the writers did not write"
    assert len(undone) == 3 and sum(undone) > 0, "the cut undid nothing: %r" % undone
    assert not lost, lost


def test_with_disks_that_lie_about_syncs_a_power_loss_loses_acknowledged_writes():
    """The check has teeth: the same cut, but every sync of every node lies
    once the cluster has a leader, and acknowledged writes are gone."""
    undone, lost, w = power_cut(Cluster(COORDD, 3), lying=True)
    assert sum(undone) > 0 and lost, (undone, lost)
    print("  lost: %d acknowledged writes, e.g. %r" % (len(lost), lost[:2]))


if __name__ == "__main__":
    import sys
    tests = [v for k, v in sorted(globals().items()) if k.startswith("test_")]
    names = sys.argv[1:]
    run([t for t in tests if not names or t.__name__ in names])
