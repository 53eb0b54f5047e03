"""Smoke test of coord-bench's ZooKeeper target (clients/bench/zk.c): every
workload it maps runs briefly against a real 3-server ensemble with no
errors, and leaves nothing behind; flags ZooKeeper cannot honour are
refused before anything runs.

ZooKeeper's server is Java, and scripts/deps.sh does not install it (the
comparison script installs it when asked to run it): where it is missing,
the flag checks run and the ensemble test is reported as skipped (exit 77),
never as passed.

Usage: COORD_BENCH=... python3 zk_smoke.py"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
sys.path.insert(0, HERE)
import zk_cluster  # noqa: E402

WORKLOADS = ["lock-own", "lock-contended", "keepalive", "read-linearizable",
             "read-stale", "session-cycle", "kv-put", "kv-get", "kv-get-stale", "kv-cas"]
SKIPPED = 77


def bench(*args, timeout=60):
    return subprocess.run([os.environ["COORD_BENCH"], "--target", "zookeeper"] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def summary(out):
    lines = [l for l in out.splitlines() if l.startswith("BENCH ")]
    assert len(lines) == 1, out
    return dict(f.split("=", 1) for f in lines[0].split()[1:])


def test_flags_zookeeper_cannot_honour_are_refused():
    for extra in (["--endpoints", "http://127.0.0.1:2181"],
                  ["--endpoints", "127.0.0.1"],
                  ["--endpoints", "127.0.0.1:2181", "--rotate"],
                  ["--endpoints", "127.0.0.1:2181", "--cacert", "/dev/null"]):
        p = bench("--workload", "lock-own", *extra)
        assert p.returncode == 2, (extra, p.returncode, p.stderr)
    p = bench("--workload", "fill", "--sessions", "1", "--endpoints", "127.0.0.1:2181")
    assert p.returncode == 2 and "coord only" in p.stderr, (p.returncode, p.stderr)


def test_every_workload_runs_against_an_ensemble_without_errors():
    with zk_cluster.Ensemble(3) as z:
        leader = z.leader()
        pids = ",".join(str(s.proc.pid) for s in z.servers)
        for w in WORKLOADS:
            p = bench("--endpoints", leader.client, "--workload", w, "--clients", "4",
                      "--duration", "500ms", "--warmup", "200ms", "--timeout", "5s",
                      "--pids", pids, "--tag", "smoke")
            assert p.returncode == 0, (w, p.returncode, p.stdout, p.stderr)
            s = summary(p.stdout)
            assert s["target"] == "zookeeper", s
            assert int(s["ops"]) > 0, (w, s)
            assert s["errors"] == "0" and s["errors_by_kind"] == "-", (w, s)
            assert s["teardown_errors"] == "0", (w, s)
            assert float(s["p50_ms"]) <= float(s["p99_ms"]) <= float(s["max_ms"]), (w, s)
            assert float(s["max_gap_ms"]) <= 500.0, (w, s)
            assert len(s["server_cpu_s"].split(",")) == 3, (w, s)
        # Every run deleted its folder and closed its sessions; only the
        # common parent is left.
        assert zk_cluster.ls(leader.client, "/coord-bench") == [], \
            zk_cluster.ls(leader.client, "/coord-bench/smoke")
        count = zk_cluster.four_letter(leader.port, "mntr") or ""
        ephemerals = [l for l in count.splitlines() if l.startswith("zk_ephemerals_count")]
        assert ephemerals and ephemerals[0].split()[1] == "0", ephemerals


if __name__ == "__main__":
    test_flags_zookeeper_cannot_honour_are_refused()
    print("PASS test_flags_zookeeper_cannot_honour_are_refused")
    if not zk_cluster.installed():
        print("SKIP test_every_workload_runs_against_an_ensemble_without_errors: ZooKeeper "
              "is not installed (apt-get install zookeeper)")
        sys.exit(SKIPPED)
    test_every_workload_runs_against_an_ensemble_without_errors()
    print("PASS test_every_workload_runs_against_an_ensemble_without_errors")
