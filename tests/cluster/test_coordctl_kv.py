"""coordctl's keys against a real cluster (docs/API.md, coordctl and
Key/value): kv put/get/del/ls, refused conditions exiting 1 and changing
nothing, kv watch printing each change and resuming after a failover or a
compacted history, register keeping its key exactly while CMD runs, and the
name-service example.
Run: COORDD=... COORDCTL=... python3 tests/cluster/test_coordctl_kv.py [TEST...]"""

import http.client
import json
import os
import queue
import subprocess
import sys
import threading
import time

from harness import ClusterFixture, run, wait_for
from test_coordctl import COORDCTL, EXAMPLES, Fixture


class OneNode(Fixture):
    """Fixture's coordctl and clean-up on a cluster of one node, for a test
    that only needs many writes to go fast."""

    def __init__(self):
        self.procs = []
        ClusterFixture.__init__(self, 1, "coordctl-kv-test-")


class Lines:
    """The lines a process prints, gathered by a thread, each awaited with
    a time bound (the process may print nothing more)."""

    def __init__(self, stream):
        self.q = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def next(self, timeout=10.0):
        try:
            line = self.q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no line within %.1fs" % timeout)
        assert line is not None, "the process ended"
        return line

    def next_json(self, timeout=10.0):
        return json.loads(self.next(timeout))

    def none_within(self, seconds):
        try:
            line = self.q.get(timeout=seconds)
        except queue.Empty:
            return True
        raise AssertionError("unexpected line: %r" % line)


def kv_json(f, *args):
    """coordctl kv ARGS that must succeed, its JSON answer."""
    rc, out, err = f.ctl("kv", *args)
    assert rc == 0, (args, rc, out, err)
    return json.loads(out)


def test_put_get_del_and_ls_print_what_the_cluster_answers():
    with Fixture() as f:
        put = kv_json(f, "put", "config/db/primary", "10.0.0.5:5432")
        assert put["key"] == "config/db/primary" and put["modify_index"] > 0, put
        assert f.ctl("kv", "get", "config/db/primary") == (0, "10.0.0.5:5432\n", "")
        got = kv_json(f, "get", "config/db/primary", "--json")
        assert got["value"] == "10.0.0.5:5432" and got["session"] is None, got
        assert got["modify_index"] == put["modify_index"], (got, put)
        # Any node answers a stale read from its own state, once it has it.
        wait_for("a stale read of the key", lambda: f.ctl(
            "kv", "get", "config/db/primary", "--stale")[1] == "10.0.0.5:5432\n")
        # An empty value is a value; text beyond ASCII is kept as it is.
        kv_json(f, "put", "config/empty", "")
        assert f.ctl("kv", "get", "config/empty")[:2] == (0, "\n")
        kv_json(f, "put", "config/name", "café ✓")
        assert f.ctl("kv", "get", "config/name")[1] == "café ✓\n"
        # ls reads every page (10 keys each) and prints one object in key order.
        for i in range(23):
            kv_json(f, "put", "many/k%02d" % i, str(i))
        listed = kv_json(f, "ls", "--prefix", "many/")
        assert [k["key"] for k in listed["keys"]] == ["many/k%02d" % i for i in range(23)]
        assert [k["value"] for k in listed["keys"]] == [str(i) for i in range(23)]
        assert listed["index"] >= put["modify_index"], listed["index"]
        everything = kv_json(f, "ls")
        assert len(everything["keys"]) == 26, everything
        assert kv_json(f, "ls", "--prefix", "nothing/") == {"keys": [], "index": listed["index"]}
        # del, then a key that does not exist: get exits 1 as lock-info does.
        assert kv_json(f, "del", "config/db/primary") == {"deleted": True}
        assert kv_json(f, "del", "config/db/primary") == {"deleted": False}
        rc, out, err = f.ctl("kv", "get", "config/db/primary")
        assert rc == 1 and out == "" and "not_found" in err, (rc, out, err)
        assert f.ctl("lock-info", "no/such/lock")[0] == 1
        # Usage errors are coordctl's own, or the cluster's 400.
        assert f.ctl("kv", "get")[0] == 64
        assert f.ctl("kv", "frobnicate", "x")[0] == 64
        assert f.ctl("kv", "put", "k")[0] == 64
        assert f.ctl("kv", "put", "k", "v", "--cas", "-1")[0] == 64
        assert f.ctl("kv", "put", "k", "v", "--fence", "nolock")[0] == 64
        assert f.ctl("kv", "get", "bad key")[0] == 64
        assert f.ctl("kv", "put", "bad//key", "v")[0] == 64
        assert f.ctl("kv", "get", "/leading")[0] == 64


def test_refused_conditions_exit_1_and_change_nothing():
    with Fixture() as f:
        # cas 0: only if absent.
        first = kv_json(f, "put", "cfg/x", "one", "--cas", "0")
        rc, _, err = f.ctl("kv", "put", "cfg/x", "two", "--cas", "0")
        assert rc == 1 and "cas_failed" in err, (rc, err)
        # cas N: only if the key's modify_index is N.
        rc, _, err = f.ctl("kv", "put", "cfg/x", "two", "--cas", str(first["modify_index"] + 1))
        assert rc == 1 and "cas_failed" in err, (rc, err)
        assert f.ctl("kv", "get", "cfg/x")[1] == "one\n"
        second = kv_json(f, "put", "cfg/x", "two", "--cas", str(first["modify_index"]))
        assert second["modify_index"] > first["modify_index"], (first, second)
        rc, _, err = f.ctl("kv", "del", "cfg/x", "--cas", str(first["modify_index"]))
        assert rc == 1 and "cas_failed" in err, (rc, err)
        assert f.ctl("kv", "get", "cfg/x")[1] == "two\n"
        assert kv_json(f, "del", "cfg/x", "--cas", str(second["modify_index"])) == {
            "deleted": True}
        rc, _, err = f.ctl("kv", "del", "cfg/x", "--cas", str(second["modify_index"]))
        assert rc == 1 and "cas_failed" in err, (rc, err)
        # A delete's cas 0, "only if absent", deletes nothing either way.
        assert kv_json(f, "del", "cfg/x", "--cas", "0") == {"deleted": False}
        kv_json(f, "put", "cfg/x", "three")
        rc, _, err = f.ctl("kv", "del", "cfg/x", "--cas", "0")
        assert rc == 1 and "cas_failed" in err, (rc, err)
        assert f.ctl("kv", "get", "cfg/x")[1] == "three\n"
        # A fenced write applies only while the token is a current holder's.
        sid = f.ctl("session", "create", "--ttl", "30s")[1].strip()
        token = f.ctl("acquire", "jobs/writer", "--session", sid)[1].strip()
        kv_json(f, "put", "cfg/fenced", "a", "--fence", "jobs/writer:" + token)
        rc, _, err = f.ctl("kv", "put", "cfg/fenced", "b", "--fence",
                           "jobs/writer:%d" % (int(token) + 1))
        assert rc == 1 and "stale_token" in err, (rc, err)
        assert f.ctl("release", "jobs/writer", "--session", sid)[0] == 0
        rc, _, err = f.ctl("kv", "put", "cfg/fenced", "c", "--fence", "jobs/writer:" + token)
        assert rc == 1 and "stale_token" in err, (rc, err)
        rc, _, err = f.ctl("kv", "del", "cfg/fenced", "--fence", "jobs/writer:" + token)
        assert rc == 1 and "stale_token" in err, (rc, err)
        assert f.ctl("kv", "get", "cfg/fenced")[1] == "a\n"
        # --session: the key ends with the session, in the same entry.
        kv_json(f, "put", "cfg/eph", "here", "--session", sid)
        assert kv_json(f, "get", "cfg/eph", "--json")["session"] == sid
        assert f.ctl("session", "close", sid)[0] == 0
        assert f.ctl("kv", "get", "cfg/eph")[0] == 1
        rc, _, err = f.ctl("kv", "put", "cfg/eph", "again", "--session", sid)
        assert rc == 1 and "session_not_found" in err, (rc, err)


def watch(f, prefix, *args):
    """coordctl kv watch PREFIX ARGS in the background, and its Lines."""
    p = f.spawn("kv", "watch", prefix, *args)
    return p, Lines(p.stdout)


def test_watch_prints_each_change_once_and_resumes_after_a_failover():
    with Fixture() as f:
        kv_json(f, "put", "w/old", "before")
        index = kv_json(f, "ls", "--prefix", "w/")["index"]
        p, lines = watch(f, "w/", "--index", str(index))
        a = kv_json(f, "put", "w/a", "1")
        kv_json(f, "put", "outside/x", "not watched")
        b = kv_json(f, "put", "w/b", "2")
        kv_json(f, "del", "w/a")
        seen = [lines.next_json() for _ in range(3)]
        assert seen[0] == {"key": "w/a", "change": "put", "modify_index": a["modify_index"]}
        assert seen[1] == {"key": "w/b", "change": "put", "modify_index": b["modify_index"]}
        assert seen[2]["key"] == "w/a" and seen[2]["change"] == "delete", seen
        lines.none_within(0.5)
        # The leader dies under the long-poll: the watch goes on from where
        # it was, on the new leader, and misses nothing.
        old = f.cluster.leader()
        old.kill()
        new = f.cluster.leader(among=f.cluster.live())
        assert new.id != old.id
        c = kv_json(f, "put", "w/c", "3")
        got = lines.next_json(timeout=20)
        assert got == {"key": "w/c", "change": "put", "modify_index": c["modify_index"]}, got
        lines.none_within(0.5)
        assert p.poll() is None  # still watching
        # Without --index it starts from now: nothing of the past shows.
        p2, lines2 = watch(f, "w/")
        time.sleep(1)
        d = kv_json(f, "put", "w/d", "4")
        assert lines2.next_json() == {"key": "w/d", "change": "put",
                                      "modify_index": d["modify_index"]}
        assert lines.next_json()["key"] == "w/d"
        for proc in (p, p2):
            proc.kill()  # by its pid; the fixture reaps it
        # A watch refused outright is final: an index beyond the log.
        rc, _, err = f.ctl("kv", "watch", "w/", "--index", "999999999", timeout=30)
        assert rc == 64 and "invalid_argument" in err, (rc, err)


def put_many(node, n, threads=16):
    """N puts of keys outside the watched prefix, over persistent
    connections to NODE from THREADS threads."""
    def work(t):
        host, port = node.http.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        for i in range(t, n, threads):
            conn.request("PUT", "/v1/kv/churn/%d" % (i % 50), body=json.dumps({"value": str(i)}),
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            assert r.status == 200, r.status
        conn.close()
    ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def test_watch_from_a_compacted_index_lists_again_and_goes_on():
    with OneNode() as f:
        kv_json(f, "put", "w/keep", "kept")
        index = kv_json(f, "ls", "--prefix", "w/")["index"]
        # The cluster keeps the last 10000 changes of keys, and trims them
        # once there are 10500: make more.
        t0 = time.time()
        put_many(f.cluster.node(1), 10550)
        print("10550 puts in %.1fs" % (time.time() - t0))
        gone = kv_json(f, "put", "w/gone", "x")
        kv_json(f, "del", "w/gone")
        p, lines = watch(f, "w/", "--index", str(index))
        first = lines.next_json(timeout=30)
        assert first["resync"] is True, first
        assert [k["key"] for k in first["keys"]] == ["w/keep"], first
        assert first["index"] > gone["modify_index"], (first, gone)
        # It goes on from the listing: the next change shows, once.
        e = kv_json(f, "put", "w/e", "5")
        assert lines.next_json() == {"key": "w/e", "change": "put",
                                     "modify_index": e["modify_index"]}
        lines.none_within(0.5)
        p.kill()


def test_register_keeps_its_key_exactly_while_cmd_runs():
    with Fixture() as f:
        env_file, stop = f.path("env"), f.path("stop")
        script = ('echo "$COORD_KEY $COORD_SESSION ${COORD_LOCK-unset}" > "$0"; '
                  'while [ ! -e "$1" ]; do sleep 0.05; done; exit 3')
        p = f.spawn("register", "services/web/1", "127.0.0.1:8081", "--ttl", "5s", "--",
                    "sh", "-c", script, env_file, stop)
        wait_for("CMD to start", lambda: os.path.exists(env_file) and
                 open(env_file).read().endswith("\n"))
        key, session, lock = open(env_file).read().split()
        assert (key, lock) == ("services/web/1", "unset"), open(env_file).read()
        got = kv_json(f, "get", "services/web/1", "--json")
        assert got["value"] == "127.0.0.1:8081" and got["session"] == session, got
        # Kept alive past its TTL while CMD runs.
        time.sleep(6)
        assert f.ctl("kv", "get", "services/web/1")[1] == "127.0.0.1:8081\n"
        open(stop, "w").close()
        assert p.wait(timeout=15) == 3  # CMD's status
        # Gone with the session's close, before coordctl exited.
        assert f.ctl("kv", "get", "services/web/1")[0] == 1
        assert f.any_node().call("GET", "/v1/sessions/" + session).status == 404
        # A put the cluster refuses: CMD never runs, nothing is left.
        rc, _, err = f.ctl("register", "bad//key", "v", "--", "touch", f.path("ran"))
        assert rc == 64 and not os.path.exists(f.path("ran")), (rc, err)
        assert f.ctl("register", "k", "v")[0] == 64  # no CMD
        assert f.any_node().call("GET", "/v1/sessions").json["sessions"] == []


def test_register_stops_cmd_and_exits_76_when_the_session_is_lost():
    with Fixture() as f:
        started = f.path("started")
        p = f.spawn("register", "services/web/2", "127.0.0.1:8082", "--ttl", "2s", "--",
                    "sh", "-c", 'touch "$0"; exec sleep 60', started)
        wait_for("CMD to start", lambda: os.path.exists(started))
        assert f.ctl("kv", "get", "services/web/2")[0] == 0
        # The whole cluster freezes: keepalives fail, CMD is stopped.
        for n in f.cluster.nodes:
            n.pause()
        try:
            assert p.wait(timeout=20) == 76
        finally:
            for n in f.cluster.nodes:
                n.resume()
        assert "session (and with it the key) lost" in p.stderr.read()
        # The session expires (a new leader counts its TTL afresh): the key goes.
        f.cluster.leader()
        wait_for("the key to go with its session",
                 lambda: f.ctl("kv", "get", "services/web/2")[0] == 1, timeout=20)


def test_example_name_service_shows_the_live_set_after_each_change():
    with Fixture() as f:
        env = dict(f.env, COORDCTL=COORDCTL)
        p = f.popen(["bash", os.path.join(EXAMPLES, "name-service.sh"), "demo"], env=env,
                    text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, (p.returncode, out, err)
        lines = out.splitlines()
        assert lines[0] == "now: (none)", lines
        sets = [line.split(": ", 1)[1] for line in lines]
        everyone = " ".join("services/web/%d=127.0.0.1:808%d" % (n, n) for n in (1, 2, 3))
        assert everyone in sets, lines
        assert sets[-1] == "(none)", lines
        changes = [line.split(": ", 1)[0] for line in lines[1:]]
        assert sorted(changes) == sorted(["put services/web/%d" % n for n in (1, 2, 3)] +
                                         ["delete services/web/%d" % n for n in (1, 2, 3)]), lines
        # Nothing left behind: the instances' sessions are closed.
        assert f.any_node().call("GET", "/v1/sessions").json["sessions"] == []


def test_help_of_kv_and_register_has_examples():
    for cmd in ("kv", "register"):
        p = subprocess.run([COORDCTL, cmd, "--help"], capture_output=True, text=True, timeout=10)
        assert p.returncode == 0 and p.stdout.startswith("usage: coordctl " + cmd), p.stdout
        assert "example" in p.stdout, cmd
    p = subprocess.run([COORDCTL, "kv"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 64 and p.stdout.startswith("usage: coordctl kv")


if __name__ == "__main__":
    everything = [test_put_get_del_and_ls_print_what_the_cluster_answers,
                  test_refused_conditions_exit_1_and_change_nothing,
                  test_watch_prints_each_change_once_and_resumes_after_a_failover,
                  test_watch_from_a_compacted_index_lists_again_and_goes_on,
                  test_register_keeps_its_key_exactly_while_cmd_runs,
                  test_register_stops_cmd_and_exits_76_when_the_session_is_lost,
                  test_example_name_service_shows_the_live_set_after_each_change,
                  test_help_of_kv_and_register_has_examples]
    chosen = sys.argv[1:]
    run([t for t in everything if not chosen or t.__name__ in chosen])
