"""Cluster operations on real coordd processes on 127.0.0.1: founding,
data folders that were lost, joining, membership changes and leadership
transfer.
Run: COORDD=build/coord/coordd python3 tests/cluster/test_members.py [TEST...]"""

import shutil
import sys
import time

from harness import Cluster, coordd_path, run

COORDD = coordd_path()


def wait_for(what, fn, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("not within %.1fs: %s" % (timeout, what))


def write_some(node, n=5):
    """A new session holding N new locks, through NODE."""
    r = node.call("POST", "/v1/sessions", {"ttl_ms": 30000})
    assert r is not None and r.status == 201, r
    for i in range(n):
        name = "m-%s-%d" % (r.json["id"][:8], i)
        lr = node.call("PUT", "/v1/locks/" + name, {"session": r.json["id"]})
        assert lr is not None and lr.status == 200, lr
    return r.json["id"]


def wipe_and_restart(node):
    node.kill()
    shutil.rmtree(node.data)
    node.start()


def test_the_founder_waits_for_every_node_it_names():
    with Cluster(COORDD, 3) as c:
        c.node(3).kill()  # started with the others; stop it before it says HELLO
        shutil.rmtree(c.node(3).data, ignore_errors=True)
        time.sleep(1.5)
        views = [c.node(i).status() for i in (1, 2)]
        # Either the founder waited, or node 3 had said HELLO in time and the
        # cluster was founded; both are correct. Restart the test when the
        # race went the other way: what is asserted is what the founder does
        # when a named node is missing.
        if all(v["cluster"] == "" for v in views):
            assert all(v["role"] == "none" and v["term"] == 0 for v in views), views
            c.node(3).start()
            leader = c.leader(timeout=10)
            views = [n.status() for n in c.nodes]
            ids = {v["cluster"] for v in views}
            assert len(ids) == 1 and len(ids.pop()) == 32, views
            assert leader.id in (1, 2, 3)
        else:
            c.node(3).start()
            c.leader(timeout=10)


def test_a_wiped_follower_is_refused_and_says_why():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        write_some(leader)
        cluster_id = leader.status()["cluster"]
        victim = c.followers(leader)[0]
        wipe_and_restart(victim)
        wait_for("the wiped node explains itself",
                 lambda: "its data was lost" in victim.log_text())
        wait_for("the leader refuses it",
                 lambda: "data folder is empty (its data was lost)" in leader.log_text())
        v = victim.status()
        # Not a zombie: no cluster, no term, no leader, nothing applied.
        assert v["cluster"] == "" and v["role"] == "none", v
        assert v["term"] == 0 and v["leader"] is None and v["applied_index"] == 0, v
        # The other two still serve writes.
        write_some(leader, 2)
        assert leader.status()["cluster"] == cluster_id


def test_a_wiped_founder_never_founds_over_its_old_cluster():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        write_some(leader)
        founder = c.node(1)
        wipe_and_restart(founder)
        wait_for("the wiped founder explains itself",
                 lambda: "its data was lost" in founder.log_text())
        time.sleep(1.0)
        v = founder.status()
        assert v["cluster"] == "" and v["role"] == "none" and v["term"] == 0, v
        rest = [n for n in c.nodes if n.id != 1]
        leader = c.leader(among=rest)
        write_some(leader, 2)


if __name__ == "__main__":
    names = sys.argv[1:]
    tests = [f for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)]
    if names:
        tests = [f for f in tests if f.__name__ in names]
    run(tests)
