"""coordd as a real cluster on 127.0.0.1: election, forwarding, failover,
catch-up (log and snapshot), a paused leader, and a whole-cluster crash.
Run: COORDD=build/coord/coordd python3 tests/cluster/test_node.py [TEST...]"""

import sys
import time

from harness import Cluster, coordd_path, run

COORDD = coordd_path()


def new_session(node, ttl_ms=10000):
    r = node.call("POST", "/v1/sessions", {"ttl_ms": ttl_ms})
    assert r is not None and r.status == 201, r
    return r.json["id"]


def acquire(node, name, sid, wait_ms=0):
    r = node.call("PUT", "/v1/locks/" + name, {"session": sid, "wait_ms": wait_ms})
    assert r is not None and r.status == 200, (name, r)
    return r.json["fencing_token"]


def keepalive_all(node, sids):
    for sid in sids:
        r = node.call("POST", "/v1/sessions/%s/keepalive" % sid)
        assert r is not None and r.status == 200, r


def test_three_and_five_nodes_elect_one_leader():
    for size in (3, 5):
        with Cluster(COORDD, size) as c:
            leader = c.leader()
            views = [n.status() for n in c.nodes]
            assert sum(v["role"] == "leader" for v in views) == 1, views
            assert len({v["term"] for v in views}) == 1, views
            assert all(len(v["members"]) == size for v in views), views
            # Every node names the leader's HTTP address (learned over Raft).
            assert all(v["leader"]["http"] == leader.http for v in views), views
            r = leader.call("GET", "/v1/health")
            assert r.status == 200, r


def test_write_to_follower_is_forwarded():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        f = c.followers(leader)[0]
        sid = new_session(f)
        token = acquire(f, "jobs/nightly", sid)
        r = leader.call("GET", "/v1/locks/jobs/nightly")
        assert r.status == 200 and r.json["holders"][0]["fencing_token"] == token, r
        assert r.headers["x-coord-leader"] == str(leader.id), r.headers
        # ?redirect answers 307 with the leader's address instead.
        r = f.call("POST", "/v1/sessions?redirect", {})
        assert r.status == 307, r
        assert r.headers["location"].startswith("http://%s/v1/sessions" % leader.http), r.headers


def test_kill_leader_keeps_every_acknowledged_lock_and_restart_catches_up():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        sid = new_session(leader, ttl_ms=30000)
        tokens = {("k%d" % i): acquire(leader, "k%d" % i, sid) for i in range(20)}
        old = leader
        old.kill()
        new = c.leader(among=[n for n in c.nodes if n is not old])
        assert new is not old
        keepalive_all(new, [sid])
        for name, tok in tokens.items():
            r = new.call("GET", "/v1/locks/" + name)
            assert r.status == 200 and r.json["holders"][0]["fencing_token"] == tok, (name, r)
        # Writes go on, with tokens above every earlier one.
        later = acquire(new, "after-failover", sid)
        assert later > max(tokens.values())
        old.start()
        target = new.status()["commit_index"]
        c.wait_applied(target, nodes=[old])
        r = old.call("GET", "/v1/locks/after-failover?consistency=stale")
        assert r.status == 200 and r.json["holders"][0]["fencing_token"] == later, r


def test_follower_behind_compacted_log_gets_a_snapshot():
    with Cluster(COORDD, 3, extra_args=["--snapshot-entries", "100", "--log-tail", "10"]) as c:
        leader = c.leader()
        lagger = c.followers(leader)[0]
        lagger.stop()
        sids = [new_session(leader, ttl_ms=60000) for _ in range(5)]
        for i in range(150):
            r = leader.call("PUT", "/v1/locks/s%d" % i, {"session": sids[i % 5]})
            assert r is not None and r.status == 200, r
        for i in range(0, 150, 2):
            r = leader.call("DELETE", "/v1/locks/s%d" % i, {"session": sids[i % 5]})
            assert r is not None and r.status == 200, r
        assert "snapshot at" in leader.log_text()
        lagger.start()
        target = leader.status()["commit_index"]
        c.wait_applied(target, nodes=[lagger], timeout=20)
        assert "installed snapshot" in lagger.log_text(), lagger.log_text()[-2000:]
        # Installed off the loop (N-6): the node reports how long it took.
        r = lagger.call("GET", "/metrics")
        assert r is not None and r.status == 200, r
        assert "\ncoord_snapshot_install_last_ms " in r.raw, r.raw[-2000:]
        a = leader.call("GET", "/v1/locks?consistency=stale").json
        b = lagger.call("GET", "/v1/locks?consistency=stale").json
        assert a == b and len(a["locks"]) == 75, (len(a["locks"]), len(b["locks"]))


def test_paused_leader_steps_down_and_serves_nothing_stale():
    with Cluster(COORDD, 3) as c:
        old = c.leader()
        sid = new_session(old, ttl_ms=30000)
        acquire(old, "before", sid)
        old.pause()
        time.sleep(c.election_ms * 3 / 1000)
        new = c.leader(among=c.followers(old))
        r = new.call("DELETE", "/v1/locks/before", {"session": sid})
        assert r.status == 200 and r.json["released"] is True, r
        old.resume()
        # Linearizable reads through the old leader never show the released lock.
        deadline = time.time() + 5
        while time.time() < deadline:
            r = old.call("GET", "/v1/locks/before", timeout=2)
            assert r is None or r.status in (404, 503), r
            if r is not None and r.status == 404:
                break
            time.sleep(0.05)
        assert r is not None and r.status == 404, r
        st = old.status()
        assert st["role"] != "leader" or st["term"] > new.status()["term"] - 1, st
        assert c.leader().id != 0


def test_whole_cluster_crash_loses_nothing_acknowledged():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        sid = new_session(leader, ttl_ms=60000)
        acked = {}
        for i in range(30):
            acked["w%d" % i] = acquire(leader, "w%d" % i, sid)
        for n in c.nodes:
            n.kill()
        for n in c.nodes:
            n.start()
        leader = c.leader(timeout=15)
        for name, tok in acked.items():
            r = leader.call("GET", "/v1/locks/" + name)
            assert r.status == 200 and r.json["holders"][0]["fencing_token"] == tok, (name, r)


def test_clean_shutdown_and_refusals():
    with Cluster(COORDD, 1) as c:
        n = c.node(1)
        c.leader()
        assert n.stop() == 0
        assert "stopped cleanly" in n.log_text()
        # A second server on the same data folder is refused while one runs.
        n.start()
        c.leader()
        import subprocess
        p = subprocess.run([COORDD, "--data", n.data, "--http", "127.0.0.1:1",
                            "--raft", "127.0.0.1:2"], capture_output=True, timeout=10)
        assert p.returncode != 0 and p.stderr.count(b"\n") == 1, p
        # A port in use, and a bad flag: one line, non-zero exit.
        p = subprocess.run([COORDD, "--data", n.data + "-other", "--http", n.http,
                            "--raft", "127.0.0.1:3"], capture_output=True, timeout=10)
        assert p.returncode != 0 and b"HTTP" in p.stderr, p
        p = subprocess.run([COORDD, "--bogus"], capture_output=True, timeout=10)
        assert p.returncode == 2 and p.stderr.count(b"\n") == 1, p


def wait_limits(c, want, timeout=10.0):
    """Until every live node reports the limits WANT in force."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        views = [n.status() for n in c.live()]
        if all(v is not None and v["limits"] == want for v in views):
            return
        time.sleep(0.05)
    raise AssertionError("limits %r not in force: %r" % (
        want, [v and v.get("limits") for v in views]))


def test_limits_are_replicated_from_the_leaders_flags():
    small = ["--max-sessions", "3", "--max-locks-per-session", "2", "--max-waiters", "2"]
    with Cluster(COORDD, 3, extra_args=small) as c:
        leader = c.leader()
        wait_limits(c, {"max_sessions": 3, "max_locks_per_session": 2, "max_waiters": 2})
        f = c.followers(leader)[0]
        sids = [new_session(f) for _ in range(3)]
        r = f.call("POST", "/v1/sessions", {"ttl_ms": 10000})
        assert r is not None and r.status == 429, r
        assert r.json["error"] == "too_many", r.json
        acquire(f, "a", sids[0])
        acquire(f, "b", sids[0])
        r = f.call("PUT", "/v1/locks/c", {"session": sids[0]})
        assert r is not None and r.status == 429, r
        # Restarted with larger flags, the new leader brings them into force
        # on every node, and what was refused is admitted.
        c.extra_args = ["--max-sessions", "5"]
        for n in c.nodes:
            n.stop()
        for n in c.nodes:
            n.start()
        leader = c.leader()
        wait_limits(c, {"max_sessions": 5, "max_locks_per_session": 64, "max_waiters": 256})
        new_session(leader)
        acquire(leader, "c", sids[0])


def test_elections_do_not_extend_a_dead_clients_session():
    """Rule 8, L-3: leadership moves every 0.6 s, far more often than the
    3 s TTL. A client that stops keeping its session alive loses it within
    TTL + 2 election timeouts of its last keepalive however many leaders
    come and go (a new leader counts from when it applied the session's last
    ALIVE entry, not afresh), while a client that keeps alive every 0.8 s
    never loses its own."""
    ttl_ms, election_ms = 3000, 1000
    bound_s = (ttl_ms + 2 * election_ms) / 1000.0
    with Cluster(COORDD, 3, heartbeat_ms=100, election_ms=election_ms) as c:
        leader = c.leader()
        dead, live = new_session(leader, ttl_ms), new_session(leader, ttl_ms)
        keepalive_all(leader, [dead, live])
        last = time.monotonic()  # the dead client's last keepalive was answered before this
        gone_after = None
        transfers = 0
        next_keepalive = next_transfer = time.monotonic()
        while time.monotonic() - last < bound_s + 3.0:
            now = time.monotonic()
            if now >= next_keepalive:
                r = c.leader().call("POST", "/v1/sessions/%s/keepalive" % live)
                # A keepalive may meet a leader change (503: retry soon); it
                # is never 404 while the client keeps it alive.
                assert r is None or r.status in (200, 503), r
                next_keepalive = now + (0.8 if r is not None and r.status == 200 else 0.1)
            if now >= next_transfer:
                r = c.leader().call("POST", "/v1/leader/transfer", {})
                transfers += r is not None and r.status == 200
                next_transfer = now + 0.6
            if gone_after is None:
                r = c.leader().call("GET", "/v1/sessions/" + dead)
                if r is not None and r.status == 404:
                    gone_after = time.monotonic() - last
            time.sleep(0.05)
        assert transfers >= 8, transfers
        assert gone_after is not None and gone_after <= bound_s + 0.5, (gone_after, bound_s)
        r = c.leader().call("GET", "/v1/sessions/" + live)
        assert r is not None and r.status == 200, r


def test_a_leader_stopped_with_sigterm_hands_over_before_it_goes():
    """A planned restart costs no election timeout: the leader transfers its
    leadership, then stops; the session and lock survive."""
    election_s = 3.0  # followers alone wait at least this long to campaign
    with Cluster(COORDD, 3, heartbeat_ms=50, election_ms=int(election_s * 1000)) as c:
        old = c.leader()
        sid = new_session(old)
        token = acquire(old, "planned", sid)
        rest = c.followers(old)
        t0 = time.monotonic()
        old.proc.terminate()  # SIGTERM; the harness waits below
        new = c.leader(timeout=15.0, among=rest)
        took = time.monotonic() - t0
        assert old.proc.wait(15) == 0
        old.proc = None
        text = old.log_text()
        assert "handing leadership to node %d before shutting down" % new.id in text, text
        assert "handed over; leader now node %d: shutting down" % new.id in text, text
        assert took < election_s, took
        r = new.call("GET", "/v1/locks/planned")
        assert r is not None and r.status == 200, r
        holders = [(h["session"], h["fencing_token"]) for h in r.json["holders"]]
        assert holders == [(sid, token)], r.json
        r = new.call("POST", "/v1/sessions/%s/keepalive" % sid)
        assert r is not None and r.status == 200, r


def test_a_lone_node_and_sigint_stop_at_once():
    with Cluster(COORDD, 1) as c:
        n = c.node(1)
        c.leader()
        assert n.stop() == 0
        assert "handing leadership" not in n.log_text()
    with Cluster(COORDD, 3, heartbeat_ms=50, election_ms=3000) as c:
        old = c.leader()
        old.proc.send_signal(2)  # SIGINT: Ctrl-C stops at once
        assert old.proc.wait(15) == 0
        old.proc = None
        assert "handing leadership" not in old.log_text()


ALL = [test_three_and_five_nodes_elect_one_leader, test_write_to_follower_is_forwarded,
       test_kill_leader_keeps_every_acknowledged_lock_and_restart_catches_up,
       test_follower_behind_compacted_log_gets_a_snapshot,
       test_paused_leader_steps_down_and_serves_nothing_stale,
       test_whole_cluster_crash_loses_nothing_acknowledged,
       test_clean_shutdown_and_refusals,
       test_limits_are_replicated_from_the_leaders_flags,
       test_elections_do_not_extend_a_dead_clients_session,
       test_a_leader_stopped_with_sigterm_hands_over_before_it_goes,
       test_a_lone_node_and_sigint_stop_at_once]

if __name__ == "__main__":
    names = sys.argv[1:]
    run([t for t in ALL if not names or t.__name__ in names])
