"""Smoke test of coord-bench against a real 3-node coord cluster: every
workload, run briefly through the leader, completes operations with no
errors, and the summary line carries the fields vs-etcd reads.

Usage: COORDD=... COORD_BENCH=... python3 smoke.py"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cluster"))
import harness  # noqa: E402

WORKLOADS = ["lock-own", "lock-contended", "keepalive", "read-linearizable",
             "read-stale", "session-cycle", "kv-put", "kv-get",
             "kv-get-stale", "kv-cas"]
FIELDS = ["ops", "ops_per_s", "p50_ms", "p99_ms", "max_ms", "errors", "bench_cpu_s",
          "server_cpu_s", "server_hwm_kib"]


def summary(out):
    """The key=value fields of coord-bench's BENCH line."""
    lines = [l for l in out.splitlines() if l.startswith("BENCH ")]
    assert len(lines) == 1, out
    return dict(f.split("=", 1) for f in lines[0].split()[1:])


def run_bench(bench, leader, cluster, workload, clients, duration):
    pids = ",".join(str(n.proc.pid) for n in cluster.nodes)
    args = [bench, "--target", "coord", "--endpoints", "http://" + leader.http,
            "--workload", workload, "--clients", str(clients), "--duration", duration,
            "--warmup", "200ms", "--timeout", "5s", "--pids", pids]
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    return summary(p.stdout)


def test_every_workload_completes_operations_without_errors():
    bench = os.environ["COORD_BENCH"]
    with harness.Cluster(harness.coordd_path(), 3, heartbeat_ms=100, election_ms=1000) as c:
        leader = c.leader()
        for w in WORKLOADS:
            s = run_bench(bench, leader, c, w, 4, "300ms")
            for f in FIELDS:
                assert f in s, (w, f, s)
            assert int(s["ops"]) > 0, (w, s)
            assert s["errors"] == "0", (w, s)
            assert s["errors_by_kind"] == "-", (w, s)
            assert float(s["p50_ms"]) <= float(s["p99_ms"]) <= float(s["max_ms"]), (w, s)
            assert len(s["server_cpu_s"].split(",")) == 3, (w, s)
            assert s["teardown_errors"] == "0", (w, s)
        # Teardown closed every session the runs opened.
        r = leader.call("GET", "/v1/sessions")
        assert r is not None and r.status == 200 and r.json["sessions"] == [], r
        # ... and deleted every key the key/value runs wrote.
        r = leader.call("GET", "/v1/kv?prefix=bench/")
        assert r is not None and r.status == 200 and r.json["keys"] == [], r


def test_lock_cycle_runs_for_the_duration_asked():
    bench = os.environ["COORD_BENCH"]
    with harness.Cluster(harness.coordd_path(), 3, heartbeat_ms=100, election_ms=1000) as c:
        s = run_bench(bench, c.leader(), c, "lock-own", 8, "2s")
        assert float(s["duration_s"]) == 2.0, s
        assert int(s["ops"]) >= 10, s
        assert s["errors"] == "0", s
        # The server did the work: its CPU time in the window is not zero.
        assert sum(float(x) for x in s["server_cpu_s"].split(",")) > 0, s


if __name__ == "__main__":
    names = sys.argv[1:]
    tests = [test_every_workload_completes_operations_without_errors,
             test_lock_cycle_runs_for_the_duration_asked]
    harness.run([t for t in tests if not names or t.__name__ in names])
