"""Smoke test of `vs-etcd --tls`: certificates made, both clusters up with
TLS on both ports, coord's access control bootstrapped, and every workload
run briefly against each system through HTTPS with no errors, over the
connection each client opened in setup (no new connection in the window).
Where etcd is not installed (scripts/deps.sh does not install it), the coord
half alone: the same secured coord cluster, and coord-bench's runs of every
workload against it with the CA and the token.

Usage: COORDD=... COORD_BENCH=... python3 tls_smoke.py"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
sys.path.insert(0, HERE)
import bench_tls  # noqa: E402
WORKLOADS = ["lock-own", "lock-contended", "keepalive", "read-linearizable",
             "read-stale", "session-cycle"]
CLIENTS = 2


def fields(line):
    return dict(f.split("=", 1) for f in line.split()[1:])


def check_runs(runs, targets):
    seen = {(r["target"], r["workload"]) for r in runs}
    want = {(t, w) for t in targets for w in WORKLOADS}
    assert seen == want, sorted(want - seen)
    for r in runs:
        what = (r["target"], r["workload"])
        assert int(r["ops"]) > 0, (what, r)
        assert r["errors"] == "0" and r["errors_by_kind"] == "-", (what, r)
        assert r["teardown_errors"] == "0", (what, r)
        assert r["connects"] == "0", (what, r)  # no handshake in the window


def no_token_printed(text):
    assert not re.search("coord_[0-9a-f]{64}", text), "a token was printed"


def coord_alone():
    """The secured coord cluster of vs-etcd --tls and coord-bench against it."""
    certs = bench_tls.Certs()
    runs = []
    try:
        cluster = bench_tls.secure_coord(os.environ["COORDD"], certs, 3, heartbeat_ms=100,
                                         election_ms=1000)
        with cluster as c:
            token_file = certs.secret_file("coord.token", bench_tls.bootstrap(c))
            leader = c.leader(timeout=20)
            for w in WORKLOADS:
                cmd = [os.environ["COORD_BENCH"], "--target", "coord",
                       "--endpoints", "https://" + leader.http, "--workload", w,
                       "--clients", str(CLIENTS), "--duration", "300ms", "--warmup", "200ms",
                       "--timeout", "5s", "--cacert", certs.ca, "--token-file", token_file]
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
                assert p.returncode == 0, (w, p.returncode, p.stdout, p.stderr)
                no_token_printed(p.stdout + p.stderr)
                runs += [fields(l) for l in p.stdout.splitlines() if l.startswith("BENCH ")]
            # Without the token coord refuses every request: access control
            # was on.
            p = subprocess.run(cmd[:cmd.index("--token-file")], capture_output=True, text=True,
                               timeout=60)
            assert "http_401_unauthenticated" in p.stdout + p.stderr, p
            assert "ops=0 " in p.stdout, p.stdout
    finally:
        certs.close()
    check_runs(runs, ["coord"])
    print("coord alone over TLS with a token (etcd is not installed): %d runs, no errors"
          % len(runs))


def main():
    if shutil.which("etcd") is None:
        coord_alone()
        return 0
    tmp = tempfile.mkdtemp(prefix="tls-smoke-")
    try:
        raw = os.path.join(tmp, "tls.raw")
        # A made-up plain run, so that the OVERHEAD lines are printed.
        baseline = os.path.join(tmp, "plain.raw")
        with open(baseline, "w") as f:
            f.write("BENCH target=coord workload=lock-own clients=%d ops_per_s=100.0\n" % CLIENTS)
        cmd = [sys.executable, os.path.join(HERE, "vs-etcd"), "--tls",
               "--workloads", ",".join(WORKLOADS), "--clients", str(CLIENTS),
               "--duration", "300ms", "--warmup", "200ms", "--timeout", "5s", "--reps", "1",
               "--no-failover", "--raw", raw, "--baseline", baseline]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, (p.returncode, p.stdout, p.stderr[-4000:])
        no_token_printed(p.stdout + p.stderr)
        assert p.stdout.count("\nRESULT ") == len(WORKLOADS), p.stdout
        assert "OVERHEAD target=coord workload=lock-own clients=%d plain_ops=100.0" % CLIENTS \
            in p.stdout, p.stdout
        with open(raw) as f:
            runs = [fields(l) for l in f if l.startswith("BENCH ")]
        check_runs(runs, ["coord", "etcd"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("vs-etcd --tls: %d runs, no errors" % len(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
