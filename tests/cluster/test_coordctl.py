"""coordctl as users run it, against a real 3-node cluster: the environment
CMD sees, exit-status pass-through, mutual exclusion of concurrent `lock`s,
--wait expiring, elect with leader --watch, and a frozen cluster stopping CMD
before the client's lease can lapse (docs/API.md, coordctl).
Run: COORDD=... COORDCTL=... python3 tests/cluster/test_coordctl.py [TEST...]"""

import os
import signal
import subprocess
import sys
import time

from harness import ClusterFixture, coordd_path, run, wait_for

COORDD = coordd_path()
COORDCTL = os.environ.get("COORDCTL", "")
if not os.access(COORDCTL, os.X_OK):
    raise SystemExit("set COORDCTL to the coordctl binary")
PY = sys.executable
EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients",
                        "examples")

# A CMD that records, in CLOCK_MONOTONIC seconds (Python's time.monotonic is
# the clock coordctl reports its lease deadline in), when it started, when
# SIGTERM came (which it ignores) and that it is still alive every 20 ms.
STUBBORN_CMD = r"""
import signal, sys, time
out = open(sys.argv[1], "a", buffering=1)
signal.signal(signal.SIGTERM, lambda *a: out.write("term %f\n" % time.monotonic()))
out.write("start %f\n" % time.monotonic())
while True:
    out.write("alive %f\n" % time.monotonic())
    time.sleep(0.02)
"""


class Fixture(ClusterFixture):
    """A cluster of 3 and a coordctl pointed at all of its nodes. Whatever it
    made goes when the test ends, passed or failed: the processes it started
    (each in a process group of its own, so that a shell's coordctl goes
    too), the cluster and the folder."""

    def __init__(self):
        self.procs = []
        super().__init__(3, "coordctl-test-")

    def __enter__(self):
        super().__enter__()
        self.env = dict(os.environ)
        self.env["COORD_ENDPOINTS"] = ",".join("http://" + n.http for n in self.cluster.nodes)
        return self

    def cleanup(self):
        for n in self.cluster.nodes:
            if n.paused:
                n.resume()
        for p in self.procs:
            end_group(p)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def ctl(self, *args, timeout=30):
        """Runs coordctl to completion: (exit status, stdout, stderr)."""
        p = subprocess.run([COORDCTL] + list(args), env=self.env, capture_output=True,
                           text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def popen(self, args, **kw):
        """subprocess.Popen(ARGS), ended with the fixture if still running."""
        p = subprocess.Popen(args, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def spawn(self, *args):
        return self.popen([COORDCTL] + list(args), env=self.env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def any_node(self):
        return self.cluster.live()[0]

    def example(self, script, *args):
        """Starts clients/examples/SCRIPT with COORD on a follower (which
        forwards to the leader, as any node does)."""
        env = dict(self.env)
        env["COORD"] = "http://" + self.cluster.followers(self.cluster.leader())[0].http
        return self.popen(["sh", os.path.join(EXAMPLES, script)] + list(args), env=env,
                          text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def end_group(p, grace=5.0):
    """Ends P if it still runs: SIGTERM to its process group (coordctl
    passes it on to CMD's group), then after GRACE SIGKILL to that group
    and to every process P had started (coordctl's CMD has a group of its
    own, and may ignore SIGTERM); then reaps P and closes its pipes."""
    if p.poll() is None:
        below = descendants(p.pid)
        try:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=grace)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            for pid in [-p.pid] + below:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    p.wait()
    for fh in (p.stdout, p.stderr):
        if fh is not None:
            fh.close()


def descendants(pid):
    """The processes below PID (children, theirs, ...), read from /proc."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def read_lines(path):
    try:
        with open(path) as f:
            return [line.split() for line in f if line.strip()]
    except FileNotFoundError:
        return []


def test_cmd_sees_lock_session_and_token_and_everything_is_released_after():
    with Fixture() as f:
        info = f.path("info")
        # CMD asks the cluster itself who holds the lock while it runs.
        rc, out, err = f.ctl("lock", "jobs/nightly", "--", "sh", "-c",
                             'echo "$COORD_LOCK $COORD_SESSION $COORD_FENCING_TOKEN"; '
                             '"$0" lock-info "$COORD_LOCK" > "$1"', COORDCTL, info)
        assert rc == 0, (rc, out, err)
        lock, session, token = out.split()
        assert lock == "jobs/nightly"
        import json
        with open(info) as fh:
            held = json.load(fh)
        assert held["holders"] == [h for h in held["holders"] if h["session"] == session]
        assert held["holders"][0]["fencing_token"] == int(token), (held, token)
        # Released and closed once CMD ended.
        node = f.any_node()
        assert node.call("GET", "/v1/locks/jobs/nightly").status == 404
        assert node.call("GET", "/v1/sessions/" + session).status == 404


def test_exit_status_of_cmd_is_passed_through():
    with Fixture() as f:
        assert f.ctl("lock", "x", "--", "true")[0] == 0
        assert f.ctl("lock", "x", "--", "sh", "-c", "exit 3")[0] == 3
        assert f.ctl("lock", "x", "--", "sh", "-c", "kill -KILL $$")[0] == 128 + 9
        assert f.ctl("elect", "e", "--value", "v", "--", "sh", "-c", "exit 42")[0] == 42
        rc, _, err = f.ctl("lock", "x", "--", "/nonexistent/cmd")
        assert rc == 127, (rc, err)
        # Usage errors are coordctl's own.
        assert f.ctl("lock", "x")[0] == 64
        assert f.ctl("lock", "x", "--ttl", "10parsecs", "--", "true")[0] == 64
        assert f.ctl("lock", "bad//name", "--", "true")[0] == 64
        # Nothing was left behind by any of these.
        assert f.any_node().call("GET", "/v1/sessions").json["sessions"] == []


def test_two_concurrent_locks_on_one_name_never_overlap():
    with Fixture() as f:
        log = f.path("intervals")
        cmd = ("echo enter $(date +%s%N) $COORD_FENCING_TOKEN >> {0}; sleep 0.2; "
               "echo leave $(date +%s%N) >> {0}").format(log)
        workers = [f.popen(
            ["sh", "-c", 'for i in 1 2 3; do "$0" lock shared/resource --wait 30s -- '
                         'sh -c "$1" || exit $?; done', COORDCTL, cmd],
            env=f.env) for _ in range(3)]
        assert [w.wait(timeout=60) for w in workers] == [0, 0, 0]
        events = read_lines(log)
        assert len(events) == 18, events
        # Enter and leave strictly alternate in time: no two CMDs overlap.
        events.sort(key=lambda e: int(e[1]))
        assert [e[0] for e in events] == ["enter", "leave"] * 9, events
        tokens = [int(e[2]) for e in events if e[0] == "enter"]
        assert tokens == sorted(tokens) and len(set(tokens)) == 9, tokens


def test_wait_expiring_gives_75_and_cmd_never_runs():
    with Fixture() as f:
        node = f.any_node()
        sid = node.call("POST", "/v1/sessions", {"ttl_ms": 30000}).json["id"]
        assert node.call("PUT", "/v1/locks/busy", {"session": sid}).status == 200
        marker = f.path("ran")
        t0 = time.monotonic()
        rc, _, err = f.ctl("lock", "busy", "--wait", "1500ms", "--", "touch", marker)
        elapsed = time.monotonic() - t0
        assert rc == 75, (rc, err)
        assert 1.4 <= elapsed < 6.0, elapsed
        assert not os.path.exists(marker)
        # Without --wait it is a try-lock.
        t0 = time.monotonic()
        assert f.ctl("lock", "busy", "--", "touch", marker)[0] == 75
        assert time.monotonic() - t0 < 3.0
        # The waiter left nothing behind: the holder alone remains.
        r = node.call("GET", "/v1/locks/busy")
        assert [h["session"] for h in r.json["holders"]] == [sid] and r.json["waiters"] == [], r


def test_elect_and_leader_watch_show_each_change():
    with Fixture() as f:
        watch = f.spawn("leader", "svc/primary", "--watch")
        try:
            assert watch.stdout.readline() == "\n"  # nobody leads yet
            a = f.spawn("elect", "svc/primary", "--value", "host-a:1", "--", "sleep", "60")
            assert watch.stdout.readline() == "host-a:1\n"
            b = f.spawn("elect", "svc/primary", "--value", "host-b:2", "--", "sleep", "60")
            wait_for("b to queue", lambda: len(f.any_node().call(
                "GET", "/v1/elections/svc/primary").json["candidates"]) >= 1)
            assert f.ctl("leader", "svc/primary")[1] == "host-a:1\n"
            # SIGTERM to coordctl reaches CMD; it resigns; b takes over.
            a.send_signal(signal.SIGTERM)
            assert a.wait(timeout=10) == 128 + signal.SIGTERM
            assert watch.stdout.readline() == "host-b:2\n"
            b.send_signal(signal.SIGINT)
            assert b.wait(timeout=10) == 128 + signal.SIGINT
            assert watch.stdout.readline() == "\n"
        finally:
            watch.kill()
            watch.wait()


def parse_deadline(stderr):
    """The lease deadline (monotonic seconds) coordctl reports on trouble."""
    for line in stderr.splitlines():
        if "lease deadline" in line:
            return int(line.split("lease deadline ")[1].split(",")[0]) / 1000.0
    raise AssertionError("no deadline reported: %r" % stderr)


def test_frozen_cluster_stops_cmd_before_the_lease_can_lapse_and_exits_76():
    ttl = 3.0
    with Fixture() as f:
        trace = f.path("trace")
        p = f.spawn("lock", "frozen", "--ttl", "3s", "--", PY, "-c", STUBBORN_CMD, trace)
        wait_for("CMD to start", lambda: read_lines(trace))
        time.sleep(1.5)  # a few keepalives succeed
        frozen_at = time.monotonic()
        for n in f.cluster.nodes:  # SIGSTOP by pid, every node this test started
            n.pause()
        rc = p.wait(timeout=30)
        err = p.stderr.read()
        assert rc == 76, (rc, err)
        deadline = parse_deadline(err)
        # The deadline counts from a keepalive sent before the freeze, and
        # keepalives went every ttl/3 until then.
        assert frozen_at - ttl / 3 - 0.3 <= deadline - ttl <= frozen_at, (frozen_at, deadline)
        lines = read_lines(trace)
        term = [float(t) for kind, t in lines if kind == "term"]
        alive = [float(t) for kind, t in lines if kind == "alive"]
        assert term and frozen_at < term[0] < deadline, (frozen_at, term, deadline)
        # It ignored SIGTERM, so SIGKILL ended it: its last sign of life came
        # before the deadline, and so before ttl after the last keepalive.
        assert alive[-1] < deadline, (alive[-1], deadline)
        assert alive[-1] < frozen_at + ttl


def test_help_of_every_command_has_examples():
    def ctl(*args):
        p = subprocess.run([COORDCTL] + list(args), capture_output=True, text=True, timeout=10)
        return p.returncode, p.stdout
    for cmd in ["status", "lock", "elect", "leader", "locks", "lock-info", "session",
                "acquire", "release"]:
        rc, out = ctl(cmd, "--help")
        assert rc == 0 and out.startswith("usage: coordctl " + cmd), (cmd, out)
        assert "example" in out, cmd
    rc, out = ctl("--help")
    assert rc == 0 and "76" in out
    assert ctl("no-such-command")[0] == 64


def test_endpoint_list_survives_a_dead_first_node():
    with Fixture() as f:
        leader = f.cluster.leader()
        # The first endpoint refuses connections: coordctl moves on.
        f.env["COORD_ENDPOINTS"] = "http://127.0.0.1:1," + f.env["COORD_ENDPOINTS"]
        rc, out, err = f.ctl("lock", "y", "--", "sh", "-c", "echo $COORD_FENCING_TOKEN")
        assert rc == 0 and int(out) > 0, (rc, out, err)
        # Nothing to reach at all: 69.
        f.env["COORD_ENDPOINTS"] = "http://127.0.0.1:1"
        t0 = time.monotonic()
        rc, _, err = f.ctl("status")
        assert rc == 69, (rc, err)
        assert time.monotonic() - t0 < 20
        assert leader.alive()


def test_example_cron_job_never_overlaps_and_runs_again_later():
    with Fixture() as f:
        ran = f.path("ran")
        job = ["sh", "-c", 'echo "$COORD_FENCING_TOKEN" >> "$0"; sleep 1.5', ran]
        first = f.example("cron-no-overlap.sh", "jobs/cron", *job)
        wait_for("the first run's job", lambda: read_lines(ran))
        second = f.example("cron-no-overlap.sh", "jobs/cron", *job)
        _, err = second.communicate(timeout=30)
        assert second.returncode == 0 and "skipped" in err, (second.returncode, err)
        assert first.wait(timeout=30) == 0
        assert len(read_lines(ran)) == 1
        # The lock was released with the session: the next run runs.
        third = f.example("cron-no-overlap.sh", "jobs/cron", *job)
        assert third.wait(timeout=30) == 0
        tokens = [int(t[0]) for t in read_lines(ran)]
        assert len(tokens) == 2 and tokens[1] > tokens[0], tokens
        assert f.any_node().call("GET", "/v1/locks/jobs/cron").status == 404


def test_example_service_runs_only_while_elected():
    with Fixture() as f:
        pidfile = f.path("service.pid")
        svc = f.example("run-while-elected.sh", "svc/db", "10.0.0.7:5432", "sh", "-c",
                        'echo $$ > "$0"; exec sleep 60', pidfile)
        pid = int(wait_for("the service", lambda: read_lines(pidfile))[0][0])
        node = f.any_node()
        leader = node.call("GET", "/v1/elections/svc/db").json["leader"]
        assert leader["value"] == "10.0.0.7:5432", leader
        # The session ends behind its back: the service must stop.
        assert node.call("DELETE", "/v1/sessions/" + leader["session"]).status == 200
        assert svc.wait(timeout=20) == 76
        assert not os.path.exists("/proc/%d" % pid) or \
            open("/proc/%d/stat" % pid).read().split()[2] == "Z", pid


def test_example_waits_for_a_leaders_address():
    with Fixture() as f:
        waiter = f.example("wait-for-leader.sh", "svc/cache")
        time.sleep(0.5)
        assert waiter.poll() is None  # nobody leads yet: still waiting
        node = f.any_node()
        sid = node.call("POST", "/v1/sessions", {}).json["id"]
        r = node.call("PUT", "/v1/elections/svc/cache", {"session": sid, "value": "10.0.0.8:11211"})
        assert r.status == 200, r
        out, err = waiter.communicate(timeout=20)
        assert waiter.returncode == 0 and out == "10.0.0.8:11211\n", (out, err)


def test_session_acquire_and_release_commands_compose_in_a_script():
    import json
    with Fixture() as f:
        rc, sid, _ = f.ctl("session", "create", "--ttl", "20s", "--name", "deploy")
        sid = sid.strip()
        assert rc == 0 and len(sid) >= 16, sid
        rc, token, _ = f.ctl("acquire", "deploy/prod", "--session", sid)
        assert rc == 0 and int(token) > 0, token
        rc, info, _ = f.ctl("lock-info", "deploy/prod")
        assert json.loads(info)["holders"][0]["fencing_token"] == int(token), info
        rc, listed, _ = f.ctl("locks", "--prefix", "deploy/")
        assert [l["name"] for l in json.loads(listed)["locks"]] == ["deploy/prod"], listed
        # A second session cannot have it: try-lock and --wait both give 75.
        other = f.ctl("session", "create")[1].strip()
        assert f.ctl("acquire", "deploy/prod", "--session", other)[0] == 75
        assert f.ctl("acquire", "deploy/prod", "--session", other, "--wait", "300ms")[0] == 75
        assert f.ctl("session", "keepalive", sid)[0] == 0
        rc, out, _ = f.ctl("release", "deploy/prod", "--session", sid)
        assert rc == 0 and json.loads(out) == {"released": True}, out
        rc, out, _ = f.ctl("release", "deploy/prod", "--session", sid)
        assert rc == 0 and json.loads(out) == {"released": False}, out
        sessions = json.loads(f.ctl("session", "list")[1])["sessions"]
        assert sorted(s["id"] for s in sessions) == sorted([sid, other]), sessions
        assert f.ctl("session", "close", sid)[0] == 0
        assert f.ctl("session", "keepalive", sid)[0] == 1  # session_not_found
        assert f.ctl("lock-info", "deploy/prod")[0] == 1   # not_found


def test_locks_and_session_list_read_every_page_and_print_one_object():
    import json
    import threading
    with Fixture() as f:
        leader = f.cluster.leader()
        # 250 locks over 5 sessions and 60 sessions in all: more than a page
        # of either (100 locks, 25 sessions), so coordctl must follow "next".
        sessions = [leader.call("POST", "/v1/sessions", {"ttl_ms": 60000}).json["id"]
                    for _ in range(60)]
        names = ["page/%03d" % i for i in range(250)]
        failed = []

        def take(part):
            for i in part:
                r = leader.call("PUT", "/v1/locks/" + names[i], {"session": sessions[i // 50]})
                if r is None or r.status != 200:
                    failed.append((names[i], r))

        ts = [threading.Thread(target=take, args=(range(k, 250, 5),)) for k in range(5)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert not failed, failed[:3]
        assert f.ctl("lock-info", "page/000")[0] == 0
        rc, out, err = f.ctl("locks")
        listed = json.loads(out)
        assert rc == 0 and list(listed) == ["locks"], (rc, err, list(listed))
        assert [l["name"] for l in listed["locks"]] == names, len(listed["locks"])
        # A prefix with exactly a page of locks: one full page, then the end.
        rc, out, _ = f.ctl("locks", "--prefix", "page/1")
        assert [l["name"] for l in json.loads(out)["locks"]] == names[100:200], out[:200]
        rc, out, err = f.ctl("session", "list")
        listed = json.loads(out)
        assert rc == 0 and list(listed) == ["sessions"], (rc, err, list(listed))
        assert [s["id"] for s in listed["sessions"]] == sorted(sessions), len(listed["sessions"])
        assert sum(len(s["locks"]) for s in listed["sessions"]) == 250


def test_signal_while_waiting_for_the_lock_withdraws_and_exits_128_plus_n():
    with Fixture() as f:
        node = f.any_node()
        sid = node.call("POST", "/v1/sessions", {"ttl_ms": 30000}).json["id"]
        assert node.call("PUT", "/v1/locks/queue", {"session": sid}).status == 200
        marker = f.path("ran")
        p = f.spawn("lock", "queue", "--wait", "60s", "--", "touch", marker)
        wait_for("the waiter", lambda: node.call("GET", "/v1/locks/queue").json["waiters"])
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=15) == 128 + signal.SIGINT
        assert time.monotonic() - t0 < 5.0
        assert not os.path.exists(marker)
        # Its session was closed, so it waits no more and holds nothing.
        r = node.call("GET", "/v1/locks/queue")
        assert r.json["waiters"] == [], r
        assert [s["id"] for s in node.call("GET", "/v1/sessions").json["sessions"]] == [sid]


def keeps_running_when_the_leader(fail):
    """CMD under a 6 s lease outlives the leader's failure FAIL(node)."""
    with Fixture() as f:
        done = f.path("done")
        p = f.spawn("lock", "through-failover", "--ttl", "6s", "--", "sh", "-c",
                    'sleep 9; echo "$COORD_FENCING_TOKEN" > "$0"', done)
        time.sleep(2.5)  # after the first keepalive (ttl/3) went to the leader
        old = f.cluster.leader()
        fail(old)
        new = f.cluster.leader(among=[n for n in f.cluster.nodes if n is not old])
        _, err = p.communicate(timeout=30)
        # The keeper found the new leader in time: CMD ran to its end.
        assert p.returncode == 0, (p.returncode, err)
        assert read_lines(done), err
        assert new.call("GET", "/v1/locks/through-failover").status == 404


def test_cmd_keeps_running_across_a_leader_failover():
    keeps_running_when_the_leader(lambda node: node.kill())


def test_cmd_keeps_running_when_the_leader_freezes_alone():
    # Keepalives to the frozen leader get no answer at all (not a refusal).
    keeps_running_when_the_leader(lambda node: node.pause())

def test_snapshot_save_then_info_and_a_damaged_copy_is_refused():
    with Fixture() as f:
        sid = f.ctl("session", "create", "--ttl", "30s")[1].strip()
        for i in range(20):
            assert f.ctl("acquire", "backup/%d" % i, "--session", sid)[0] == 0
        index = f.cluster.leader().status()["applied_index"]
        out = f.path("backup.db")
        rc, printed, err = f.ctl("snapshot", "save", out)
        assert rc == 0, (rc, err)
        assert int(printed.strip()) >= index, (printed, index)
        # A second save refuses to overwrite the first (73), unless --force.
        assert f.ctl("snapshot", "save", out)[0] == 73
        assert f.ctl("snapshot", "save", out, "--force")[0] == 0
        rc, info, err = f.ctl("snapshot", "info", out)
        assert rc == 0 and str(index)[:1] in info, (rc, info, err)
        # A truncated copy and a copy with one byte changed: exit 65, one line.
        data = open(out, "rb").read()
        bad = f.path("truncated.db")
        with open(bad, "wb") as fh:
            fh.write(data[:len(data) // 2])
        rc, _, err = f.ctl("snapshot", "info", bad)
        assert rc == 65 and len(err.strip().splitlines()) == 1, (rc, err)
        # A row changed after the save: the database is sound, its content
        # checksum is not.
        import sqlite3
        changed = f.path("changed.db")
        with open(changed, "wb") as fh:
            fh.write(data)
        db = sqlite3.connect(changed)
        db.execute("UPDATE coord_meta SET value = value + 1 "
                   "WHERE rowid = (SELECT min(rowid) FROM coord_meta)")
        db.commit()
        db.close()
        rc, _, err = f.ctl("snapshot", "info", changed)
        assert rc == 65 and "content checksum" in err, (rc, err)
        garbage = f.path("garbage.db")
        with open(garbage, "wb") as fh:
            fh.write(b"not a snapshot\n" * 100)
        assert f.ctl("snapshot", "info", garbage)[0] == 65
        assert f.ctl("snapshot", "info", f.path("absent.db"))[0] == 66
        # The answer over HTTP: the file's bytes, its index and checksum.
        import http.client
        node = f.cluster.leader()
        host, port = node.http.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("GET", "/v1/snapshot")
        r = conn.getresponse()
        body = r.read()
        conn.close()
        assert r.status == 200 and r.getheader("Content-Type") == "application/octet-stream"
        assert int(r.getheader("X-Coord-Index")) >= index
        assert len(r.getheader("X-Coord-Crc32c")) == 8
        assert body[:16] == b"SQLite format 3\x00"
        print("snapshot of %d bytes at index %s" % (len(body), r.getheader("X-Coord-Index")))


if __name__ == "__main__":
    everything = [test_cmd_sees_lock_session_and_token_and_everything_is_released_after,
                  test_exit_status_of_cmd_is_passed_through,
                  test_two_concurrent_locks_on_one_name_never_overlap,
                  test_wait_expiring_gives_75_and_cmd_never_runs,
                  test_elect_and_leader_watch_show_each_change,
                  test_frozen_cluster_stops_cmd_before_the_lease_can_lapse_and_exits_76,
                  test_help_of_every_command_has_examples,
                  test_endpoint_list_survives_a_dead_first_node,
                  test_example_cron_job_never_overlaps_and_runs_again_later,
                  test_example_service_runs_only_while_elected,
                  test_example_waits_for_a_leaders_address,
                  test_session_acquire_and_release_commands_compose_in_a_script,
                  test_locks_and_session_list_read_every_page_and_print_one_object,
                  test_signal_while_waiting_for_the_lock_withdraws_and_exits_128_plus_n,
                  test_cmd_keeps_running_across_a_leader_failover,
                  test_cmd_keeps_running_when_the_leader_freezes_alone,
                  test_snapshot_save_then_info_and_a_damaged_copy_is_refused]
    chosen = sys.argv[1:]
    run([t for t in everything if not chosen or t.__name__ in chosen])
