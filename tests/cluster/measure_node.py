"""Figures for the node runtime (prints, asserts nothing): the time from
kill -9 of the leader to the next successful write (median of N trials), and
the peak RSS of an idle node and of a node under load.
Run: COORDD=build/coord/coordd python3 tests/cluster/measure_node.py [--trials 10]"""

import argparse
import statistics
import threading
import time

from harness import Cluster, coordd_path, request

COORDD = coordd_path()


def session(node):
    r = node.call("POST", "/v1/sessions", {"ttl_ms": 60000})
    return r.json["id"]


def failover_trial(c):
    leader = c.leader()
    others = c.followers(leader)
    sid = session(others[0])
    t_kill = time.monotonic()
    leader.kill()
    i = 0
    while True:
        node = others[i % len(others)]
        i += 1
        r = request(node.http, "PUT", "/v1/locks/failover",
                    {"session": sid}, timeout=0.5)
        if r is not None and r.status == 200:
            gap = time.monotonic() - t_kill
            node.call("DELETE", "/v1/locks/failover", {"session": sid})
            break
        time.sleep(0.01)
    leader.start()
    c.wait_applied(others[0].status()["commit_index"], nodes=[leader], timeout=20)
    return gap


def load(c, seconds, threads=8):
    stop = time.monotonic() + seconds
    done = [0]

    def worker(k):
        node = c.nodes[k % len(c.nodes)]
        sid = session(node)
        while time.monotonic() < stop:
            name = "load/%d" % k
            r = node.call("PUT", "/v1/locks/" + name, {"session": sid})
            if r is not None and r.status == 200:
                node.call("DELETE", "/v1/locks/" + name, {"session": sid})
                done[0] += 1
            node.call("GET", "/v1/locks?prefix=load/")

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return done[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--load-seconds", type=int, default=10)
    a = ap.parse_args()
    with Cluster(COORDD, 3, heartbeat_ms=100, election_ms=1000) as c:
        c.leader()
        time.sleep(3)
        idle = [n.rss_kib() for n in c.nodes]
        print("idle peak RSS per node (KiB):", idle)
        cycles = load(c, a.load_seconds)
        loaded = [n.rss_kib() for n in c.nodes]
        print("after %ds of load (%d lock cycles): peak RSS per node (KiB): %s"
              % (a.load_seconds, cycles, loaded))
        gaps = [failover_trial(c) for _ in range(a.trials)]
        print("failover gaps (s):", " ".join("%.3f" % g for g in gaps))
        print("RESULT failover_median_s=%.3f min=%.3f max=%.3f idle_rss_kib=%d loaded_rss_kib=%d"
              % (statistics.median(gaps), min(gaps), max(gaps), max(idle), max(loaded)))


if __name__ == "__main__":
    main()
