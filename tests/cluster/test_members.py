"""Cluster operations on real coordd processes on 127.0.0.1: founding,
data folders that were lost, joining, membership changes and leadership
transfer.
Run: COORDD=build/coord/coordd python3 tests/cluster/test_members.py [TEST...]"""

import os
import shutil
import sys
import time

from harness import Cluster, Node, coordd_path, run, wait_for

COORDD = coordd_path()


def metric(text, name):
    """The value of the Prometheus sample NAME (with its labels) in TEXT."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError("no sample %s" % name)


def write_some(node, n=5):
    """A new session holding N new locks, through NODE."""
    r = node.call("POST", "/v1/sessions", {"ttl_ms": 30000})
    assert r is not None and r.status == 201, r
    for i in range(n):
        name = "m-%s-%d" % (r.json["id"][:8], i)
        lr = node.call("PUT", "/v1/locks/" + name, {"session": r.json["id"]})
        assert lr is not None and lr.status == 200, lr
    return r.json["id"]


def joiner(c, nid):
    """Node NID of cluster C, started with --join (its ports lie next to the
    cluster's own)."""
    j = Node(c, nid, join=True)
    c.nodes.append(j)
    j.start()
    wait_for("node %d serves its status" % nid, lambda: j.status() is not None)
    return j


def members(node):
    r = node.call("GET", "/v1/members")
    assert r is not None and r.status == 200, r
    return r.json


def member(node, nid):
    return next((m for m in members(node)["members"] if m["id"] == nid), None)


def caught_up(leader, nid):
    m = member(leader, nid)
    return m is not None and m["match_index"] >= leader.status()["commit_index"]


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
                 lambda: "empty) is not the one it voted from (its data was lost)"
                 in leader.log_text())
        v = victim.status()
        # Not a zombie: no cluster, no term, no leader, nothing applied.
        assert v["cluster"] == "" and v["role"] == "none", v
        assert v["term"] == 0 and v["leader"] is None and v["applied_index"] == 0, v
        # The other two still serve writes.
        write_some(leader, 2)
        text = leader.call("GET", "/metrics").raw
        assert metric(text, 'coord_peers_refused_total{reason="lost_data"}') >= 1, text
        assert leader.status()["cluster"] == cluster_id


def test_a_voter_in_another_folder_is_refused_even_with_the_cluster_id():
    """The configuration binds each voter to the data folder it voted from
    (folder-id). A server that lost its folder and took the cluster id back
    (say from a stale member listing it as the learner it once was) holds
    the id, but not that folder: it is refused as lost data, though not
    empty. Given its own folder id back, it is a member again."""
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        write_some(leader)
        victim = c.followers(leader)[0]
        path = os.path.join(victim.data, "folder-id")
        with open(path) as f:
            own = f.read().strip()
        # Founded with it: the status and the configuration say so.
        assert victim.status()["folder"] == own, victim.status()
        assert member(leader, victim.id)["folder"] == own
        victim.kill()
        with open(path, "w") as f:
            f.write("%016x\n" % (int(own, 16) ^ 1))
        victim.start()
        wait_for("the leader refuses it",
                 lambda: "(%016x) is not the one it voted from (its data was lost)"
                 % (int(own, 16) ^ 1) in leader.log_text())
        wait_for("it explains itself",
                 lambda: "is not the one node" in victim.log_text())
        write_some(leader, 3)
        applied = leader.status()["applied_index"]
        time.sleep(0.5)
        assert victim.status()["applied_index"] < applied, victim.status()
        text = leader.call("GET", "/metrics").raw
        assert metric(text, 'coord_peers_refused_total{reason="lost_data"}') >= 1, text
        victim.kill()
        with open(path, "w") as f:
            f.write(own + "\n")
        victim.start()
        wait_for("it is a member again",
                 lambda: (victim.status() or {}).get("applied_index", 0) >= applied)


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


def test_grow_three_to_five_with_learners():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        write_some(leader, 20)
        for nid in (4, 5):
            j = joiner(c, nid)
            assert j.status()["role"] == "none"
            r = leader.call("POST", "/v1/members", {"id": nid, "raft": j.raft})
            assert r is not None and r.status == 201, r
            assert r.json["member"]["role"] == "learner", r.json
            assert r.json["member"]["folder"] is None, r.json  # not bound yet
            wait_for("node %d catches up" % nid, lambda: caught_up(leader, nid))
            assert j.status()["role"] == "learner"
            r = leader.call("POST", "/v1/members/%d/promote" % nid)
            assert r is not None and r.status == 200, r
            assert r.json["member"]["role"] == "voter", r.json
            # Bound to the folder it was promoted from.
            assert r.json["member"]["folder"] == j.status()["folder"], r.json
        view = members(leader)
        assert [m["role"] for m in view["members"]] == ["voter"] * 5, view
        # The leader's own match index is its durable last index, never
        # behind what it committed.
        commit = leader.status()["commit_index"]
        me = member(leader, leader.id)
        assert me["match_index"] >= commit, (commit, me)
        assert me["last_contact_ms"] == 0, me
        assert view["joint"] is False and view["leader"] == leader.id, view
        # Every node's state agrees, the new ones included.
        index = leader.status()["commit_index"]
        c.wait_applied(index)
        assert len({n.status()["cluster"] for n in c.nodes}) == 1
        # Through a follower, forwarded like every write.
        f = c.followers(leader)[0]
        assert members(f)["leader"] == leader.id
        text = leader.call("GET", "/metrics").raw
        assert 'coord_members{role="voter"} 5' in text, text
        assert metric(text, "coord_member_changes_total") == 4, text


def test_membership_refusals_change_nothing():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        before = members(leader)
        other = c.node(2).raft
        cases = [
            ("POST", "/v1/members", {"id": 2, "raft": "127.0.0.1:1"}, 409, "conflict"),
            ("POST", "/v1/members", {"id": 7, "raft": other}, 409, "conflict"),
            ("POST", "/v1/members", {"id": 0, "raft": "127.0.0.1:1"}, 400, "invalid_argument"),
            ("POST", "/v1/members", {"id": 7, "raft": "nohost"}, 400, "invalid_argument"),
            ("POST", "/v1/members", {"id": 7}, 400, "invalid_argument"),
            ("POST", "/v1/members", {"id": 7, "raft": "a:1", "x": 1}, 400, "invalid_argument"),
            ("POST", "/v1/members/9/promote", None, 404, "member_not_found"),
            ("DELETE", "/v1/members/9", None, 404, "member_not_found"),
            ("DELETE", "/v1/members/0", None, 400, "invalid_argument"),
            ("DELETE", "/v1/members/replace", None, 405, "method_not_allowed"),
            ("POST", "/v1/members/replace", {"remove": 2, "add": {"id": 9, "raft": "a:1"}},
             404, "member_not_found"),
            ("POST", "/v1/members/replace", {"remove": 2, "add": {"id": 9}}, 400,
             "invalid_argument"),
            ("POST", "/v1/leader/transfer", {"id": 9}, 404, "member_not_found"),
        ]
        for method, path, body, status, code in cases:
            r = leader.call(method, path, body)
            assert r is not None and r.status == status, (method, path, body, r)
            assert r.json["error"] == code, (method, path, r.json)
        # A learner that has not caught up is not promoted: add one that
        # never runs.
        r = leader.call("POST", "/v1/members", {"id": 8, "raft": "127.0.0.1:9"})
        assert r is not None and r.status == 201, r
        r = leader.call("POST", "/v1/members/8/promote")
        assert r is not None and r.status == 409 and r.json["error"] == "not_caught_up", r
        assert r.json["lag"] > 0, r.json
        r = leader.call("DELETE", "/v1/members/8")
        assert r is not None and r.status == 200 and r.json["removed"] == 8, r
        # A removed id is never used again, even for a server never started.
        r = leader.call("POST", "/v1/members", {"id": 8, "raft": "127.0.0.1:9"})
        assert r is not None and r.status == 409 and r.json["error"] == "conflict", r
        assert "never used again" in r.json["message"], r.json
        after = members(leader)
        assert [(m["id"], m["role"]) for m in after["members"]] == \
            [(m["id"], m["role"]) for m in before["members"]], (before, after)
        # The strict check: with one follower dead, removing the other live
        # one would leave the leader and a dead voter: refused, nothing
        # changes (?force would skip the check).
        dead, live = c.followers(leader)
        dead.kill()
        # The leader counts a voter as answering for an election timeout
        # after its last answer.
        wait_for("node %d counts as not answering" % dead.id,
                 lambda: (member(leader, dead.id)["last_contact_ms"] or 0) > c.election_ms)
        r = leader.call("DELETE", "/v1/members/%d" % live.id)
        assert r is not None and r.status == 409 and r.json["error"] == "conflict", r
        assert "answer now" in r.json["message"], r.json
        assert [m["id"] for m in members(leader)["members"]] == [1, 2, 3]


def test_transfer_then_remove_the_leader():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        write_some(leader)
        target = c.followers(leader)[0]
        t0 = time.time()
        r = leader.call("POST", "/v1/leader/transfer", {"id": target.id})
        assert r is not None and r.status == 200 and r.json["leader"] == target.id, r
        took = time.time() - t0
        assert c.leader().id == target.id
        print("transfer took %.0f ms" % (took * 1000))
        # {} picks the most caught-up voter.
        r = target.call("POST", "/v1/leader/transfer", {})
        assert r is not None and r.status == 200 and r.json["leader"] != target.id, r
        leader = c.leader()
        # {} never picks a voter that stopped answering a few heartbeats ago
        # (it would never campaign): pause one follower, then transfer.
        frozen, other = c.followers(leader)
        frozen.pause()
        time.sleep(6 * c.heartbeat_ms / 1000.0)
        r = leader.call("POST", "/v1/leader/transfer", {})
        assert r is not None and r.status == 200 and r.json["leader"] == other.id, r
        frozen.resume()
        leader = c.leader()
        # Removing the leader: it runs the change and steps down.
        r = leader.call("DELETE", "/v1/members/%d" % leader.id)
        assert r is not None and r.status == 200 and r.json["removed"] == leader.id, r
        rest = [n for n in c.nodes if n.id != leader.id]
        new = c.leader(among=rest)
        assert new.id != leader.id
        assert [m["id"] for m in members(new)["members"]] == sorted(n.id for n in rest)
        write_some(new, 2)
        # The removed node is refused by the others; it does not disrupt.
        term = new.status()["term"]
        time.sleep(2.0)
        assert c.leader(among=rest).id == new.id and new.status()["term"] == term
        # The last two: removing one leaves one voter; the last is refused.
        other = [n for n in rest if n.id != new.id][0]
        r = new.call("DELETE", "/v1/members/%d" % other.id)
        assert r is not None and r.status == 200, r
        r = new.call("DELETE", "/v1/members/%d" % new.id)
        assert r is not None and r.status == 409 and r.json["error"] == "conflict", r


def test_replace_a_dead_voter_with_a_caught_up_learner():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        write_some(leader, 10)
        dead = c.followers(leader)[0]
        dead.kill()
        j = joiner(c, 4)
        r = leader.call("POST", "/v1/members", {"id": 4, "raft": j.raft})
        assert r is not None and r.status == 201, r
        wait_for("node 4 catches up", lambda: caught_up(leader, 4))
        r = leader.call("POST", "/v1/members/replace",
                        {"remove": dead.id, "add": {"id": 4, "raft": j.raft}})
        assert r is not None and r.status == 200, r
        ids = sorted((m["id"], m["role"]) for m in r.json["members"])
        live = sorted(n.id for n in c.nodes if n.id != dead.id)
        assert ids == [(i, "voter") for i in live], ids
        # The cluster survives the loss of one more of the original nodes.
        other = [n for n in c.nodes if n.id not in (dead.id, leader.id, 4)][0]
        other.kill()
        write_some(c.leader(among=[leader, j]), 2)


if __name__ == "__main__":
    names = sys.argv[1:]
    tests = [f for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)]
    if names:
        tests = [f for f in tests if f.__name__ in names]
    run(tests)
