"""Smoke test of the scale benchmark (docs/BENCHMARKS.md, "Scale"): coord-bench's
fill workload against a real 3-node cluster leaves the sessions and locks it
reports, says so when coord refuses at a named limit, and tests/bench/scale
runs at tiny sizes and prints its RESULT lines.

Usage: COORDD=... COORD_BENCH=... python3 scale_smoke.py"""

import os
import subprocess
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
import harness  # noqa: E402

MAX_PAGES = 100
PAGE = 16   # small, so that a paged listing takes several pages


def fill(cluster, leader, *args):
    bench = os.environ["COORD_BENCH"]
    pids = ",".join(str(n.proc.pid) for n in cluster.nodes)
    cmd = [bench, "--target", "coord", "--endpoints", "http://" + leader.http,
           "--workload", "fill", "--timeout", "5s", "--duration", "60s",
           "--pids", pids] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    lines = [l for l in p.stdout.splitlines() if l.startswith("BENCH ")]
    assert len(lines) == 1, p.stdout
    return dict(f.split("=", 1) for f in lines[0].split()[1:]), p


def listing(node, what, query=""):
    """Every item of GET /v1/WHAT, following "next" pages where the server
    pages its listings; the unpaged listing where it does not."""
    sep = "&" if query else ""
    r = node.call("GET", "/v1/%s?%s%slimit=%d" % (what, query, sep, PAGE))
    assert r is not None, what
    if r.status == 400:   # no paging (yet): the whole listing in one answer
        r = node.call("GET", "/v1/%s?%s" % (what, query) if query else "/v1/" + what)
        assert r is not None and r.status == 200, r
        return r.json[what]
    items = []
    for _ in range(MAX_PAGES):
        assert r is not None and r.status == 200, r
        items += r.json[what]
        after = r.json.get("next")
        if not after:
            return items
        r = node.call("GET", "/v1/%s?%s%slimit=%d&after=%s" % (
            what, query, sep, PAGE, urllib.parse.quote(after, safe="")))
    raise AssertionError("more than %d pages of %s" % (MAX_PAGES, what))


def test_fill_leaves_the_sessions_and_locks_it_reports():
    with harness.Cluster(harness.coordd_path(), 3, heartbeat_ms=100, election_ms=1000) as c:
        leader = c.leader()
        s, _ = fill(c, leader, "--sessions", "20", "--locks", "3", "--clients", "4",
                    "--prefix", "smoke")
        assert s["workload"] == "fill", s
        assert s["sessions_created"] == "20" and s["locks_created"] == "60", s
        assert s["errors"] == "0" and s["too_many"] == "0", s
        assert int(s["ops"]) == 80, s          # 20 session creations + 60 acquires
        assert float(s["locks_per_s"]) > 0, s

        locks = listing(leader, "locks", "prefix=smoke/")
        names = {l["name"] for l in locks}
        assert len(names) >= 60, len(names)
        for i in range(20):
            for j in range(3):
                assert "smoke/%d/%d" % (i, j) in names, (i, j)
        # Each lock is held by the session of its number; the sessions stay
        # (a fill closes nothing) with the longest TTL.
        sessions = [x for x in listing(leader, "sessions")
                    if (x.get("name") or "").startswith("smoke/")]
        assert len(sessions) == 20, sessions
        assert all(x["ttl_ms"] == 3600000 for x in sessions), sessions
        by_id = {x["id"]: x["name"] for x in sessions}
        for l in locks:
            holder = l["holders"][0]["session"]
            assert l["name"].startswith(by_id[holder] + "/"), (l, by_id[holder])

        # A second fill goes on from an offset, beside the first.
        s, _ = fill(c, leader, "--sessions", "2", "--locks", "2", "--offset", "20",
                    "--prefix", "smoke")
        assert s["locks_created"] == "4" and s["errors"] == "0", s
        assert len(listing(leader, "locks", "prefix=smoke/")) == 64


def test_fill_reports_coords_limit_clearly():
    with harness.Cluster(harness.coordd_path(), 3, heartbeat_ms=100, election_ms=1000) as c:
        leader = c.leader()
        # 66 locks for one session: the last two are past the per-session limit.
        s, p = fill(c, leader, "--sessions", "1", "--locks", "66", "--clients", "1")
        assert s["locks_created"] == "64", s
        assert s["too_many"] == "2", s
        assert "http_429_too_many:2" in s["errors_by_kind"], s
        assert "LIMIT" in p.stdout and "429 too_many" in p.stdout, p.stdout
        assert "429 too_many" in p.stderr, p.stderr


def test_scale_script_runs_at_tiny_sizes_and_prints_its_results():
    cmd = [sys.executable, os.path.join(HERE, "scale"), "--sizes", "50,200",
           "--duration", "1s", "--warmup", "300ms", "--snapshot-entries", "1000",
           "--coordd", harness.coordd_path(), "--bench", os.environ["COORD_BENCH"]]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
    assert p.returncode == 0, (p.returncode, p.stdout[-3000:], p.stderr[-3000:])
    results = [dict(f.split("=", 1) for f in l.split()[1:])
               for l in p.stdout.splitlines() if l.startswith("RESULT ")]
    # The empty cluster, then 50 and 200 locks rounded up to whole sessions of 64.
    assert [r["locks"] for r in results] == ["0", "64", "256"], p.stdout
    for r in results:
        for key in ("lock_p99_ms", "read_p99_ms", "probe_gap_ms", "catchup_s", "restart_s"):
            assert r[key] != "n/a", (key, r)
        assert len(r["rss_kib"].split(",")) == 3 and len(r["disk_bytes"].split(",")) == 3, r
    assert results[2]["fill_errors"] == "0", results[2]
    targets = [l for l in p.stdout.splitlines() if l.startswith("TARGET ")]
    assert len(targets) >= 6, p.stdout


if __name__ == "__main__":
    names = sys.argv[1:]
    tests = [test_fill_leaves_the_sessions_and_locks_it_reports,
             test_fill_reports_coords_limit_clearly,
             test_scale_script_runs_at_tiny_sizes_and_prints_its_results]
    harness.run([t for t in tests if not names or t.__name__ in names])
