"""coordd --restore FILE on real processes: a snapshot file taken from a
node's data folder seeds the empty folders of a new cluster; the new cluster
has the old one's sessions and locks, grants tokens above every old one, and
has a cluster id of its own, so old and new members never talk; bad input is
refused with one line and changes nothing.
Run: COORDD=build/coord/coordd python3 tests/cluster/test_restore.py [TEST...]"""

import glob
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from harness import Cluster, coordd_path, run, wait_for
from test_node import acquire, keepalive_all, new_session

COORDD = coordd_path()
LAPSE_TTL_MS = 2000  # a session whose TTL passes while the cluster is down


def snapshots(folder):
    """The snapshot files in a data folder, oldest first, as (index, path)."""
    found = []
    for path in glob.glob(os.path.join(folder, "snap-*.db")):
        found.append((int(os.path.basename(path).split("-")[1]), path))
    return sorted(found)


def restore(path, nid, data, members, *more):
    t0 = time.time()
    p = subprocess.run([COORDD, "--restore", path, "--id", str(nid), "--data", data,
                        "--cluster", members] + list(more),
                       capture_output=True, timeout=60)
    return p, time.time() - t0


def workload(c):
    """On the running cluster C: a session kept alive, one that will lapse
    while the cluster is down, locks of both, and filler until node 1 has a
    snapshot that covers them. Returns (keep, lapse, tokens)."""
    leader = c.leader()
    keep = new_session(leader, 60000)
    lapse = new_session(leader, LAPSE_TTL_MS)
    tokens = {}
    for i in range(12):
        tokens["jobs/%d" % i] = acquire(leader, "jobs/%d" % i, keep)
    tokens["lapse/held"] = acquire(leader, "lapse/held", lapse)
    last = max(tokens.values())
    for i in range(200):  # each PUT and DELETE is one entry
        if snapshots(c.node(1).data) and snapshots(c.node(1).data)[-1][0] >= last:
            break
        acquire(leader, "filler", keep)
        r = leader.call("DELETE", "/v1/locks/filler", {"session": keep})
        assert r is not None and r.status == 200, r
        keepalive_all(leader, [lapse])
    assert snapshots(c.node(1).data)[-1][0] >= last, snapshots(c.node(1).data)
    return keep, lapse, tokens


def take_snapshot(c, into):
    """Kills every node of C, copies node 1's newest snapshot file into
    folder INTO (same name) and returns its path and index."""
    for n in c.nodes:
        n.kill()
    index, path = snapshots(c.node(1).data)[-1]
    copy = os.path.join(into, os.path.basename(path))
    shutil.copyfile(path, copy)
    return copy, index


def other_ports(old):
    """A cluster of 3 not started yet, on ports other than those of OLD,
    which is running (its ports are taken, so the probe skips them)."""
    new = Cluster(COORDD, 3)
    assert not {n.raft for n in new.nodes} & {n.raft for n in old.nodes}
    return new


def restore_all(new, path, members_for=None):
    """Restores PATH into every node's (absent) folder of cluster NEW;
    MEMBERS_FOR(node) gives that node's --cluster text (same members, any
    order). Prints how long each took."""
    for n in new.nodes:
        members = members_for(n) if members_for else new.members
        p, took = restore(path, n.id, n.data, members)
        assert p.returncode == 0, p
        assert p.stderr == b"" and p.stdout.count(b"\n") == 1, p
        print("restore of %d bytes into node %d took %.0f ms (%s)" % (
            os.path.getsize(path), n.id, took * 1000, p.stdout.decode().strip()))
    for n in new.nodes:
        n.start()


def test_a_backup_restores_into_a_new_cluster_with_tokens_above_the_old():
    work = tempfile.mkdtemp(prefix="coord-restore-")
    old = Cluster(COORDD, 3, extra_args=["--snapshot-entries", "10"])
    new = None
    try:
        with old:
            new = other_ports(old)
            keep, lapse, tokens = workload(old)
            old_id = old.node(1).status()["cluster"]
            path, index = take_snapshot(old, work)
        time.sleep(LAPSE_TTL_MS / 1000.0 + 1.0)  # the lapse session's TTL passes
        # Node 2 lists the members in another order: same folder, same id.
        restore_all(new, path, lambda n: ",".join(reversed(new.members.split(",")))
                    if n.id == 2 else new.members)
        leader = new.leader()
        # Right after the restore: the session whose TTL passed while the
        # cluster was down is there, with its lock (the new leader gave
        # every session a full TTL, rule 8).
        r = leader.call("GET", "/v1/sessions/" + lapse)
        assert r is not None and r.status == 200, r
        views = [n.status() for n in new.nodes]
        ids = {v["cluster"] for v in views}
        assert len(ids) == 1, views
        new_id = ids.pop()
        assert len(new_id) == 32 and new_id != old_id, (new_id, old_id)
        assert all(sorted(m["raft"] for m in v["members"]) ==
                   sorted(n.raft for n in new.nodes) for v in views), views
        assert all(v["applied_index"] >= index for v in views), views
        for name, tok in tokens.items():
            r = leader.call("GET", "/v1/locks/" + name)
            assert r.status == 200 and r.json["holders"][0]["fencing_token"] == tok, (name, r)
        keepalive_all(leader, [keep])
        later = acquire(leader, "after-restore", keep)
        assert later > max(tokens.values()) and later > index, (later, index)
        # Not kept alive, the lapse session ends, within its TTL and an
        # election timeout or so; the kept one stays.
        deadline = time.time() + LAPSE_TTL_MS / 1000.0 + 5
        while time.time() < deadline:
            keepalive_all(leader, [keep])
            r = leader.call("GET", "/v1/sessions/" + lapse)
            if r is not None and r.status == 404:
                break
            time.sleep(0.2)
        assert r is not None and r.status == 404, r
        r = leader.call("GET", "/v1/locks/lapse/held")
        assert r is not None and (r.status == 404 or r.json["holders"] == []), r
        r = leader.call("GET", "/v1/sessions/" + keep)
        assert r is not None and r.status == 200, r
    except BaseException:
        if new:
            new.close(keep=True)
        raise
    finally:
        if new:
            new.close()
        shutil.rmtree(work, ignore_errors=True)


def test_a_backup_of_an_older_version_restores():
    """A backup made before this version added two tables and retired an
    index restores: coord_seqs (the sessions' request numbers) comes empty
    and numbered requests work; coord_kv_gone (the deletions a 404 names)
    is filled from the key history, which the older version indexed by key;
    the locks and keys are there."""
    work = tempfile.mkdtemp(prefix="coord-restore-")
    old = Cluster(COORDD, 1, extra_args=["--snapshot-entries", "10"])
    new = None
    try:
        with old:
            leader = old.leader()
            for key in ("gone", "here"):
                r = leader.call("PUT", "/v1/kv/" + key, {"value": "v"})
                assert r is not None and r.status == 200, r
            r = leader.call("DELETE", "/v1/kv/gone")
            assert r is not None and r.status == 200 and r.json["deleted"], r
            r = leader.call("GET", "/v1/kv/gone")
            assert r is not None and r.status == 404 and r.json["index"] > 0, r
            deleted_at = r.json["index"]
            keep, _, tokens = workload(old)
            good, index = take_snapshot(old, work)
        older = os.path.join(work, "older.db")
        shutil.copyfile(good, older)
        db = sqlite3.connect(older)
        db.execute("DROP TABLE coord_seqs")
        db.execute("DROP TABLE coord_kv_gone")
        db.execute("CREATE INDEX coord_kv_history_by_key ON coord_kv_history (key, idx)")
        # Written by the older version, its rows were checksummed without
        # the new table; recording none keeps the test free of that sum.
        db.execute("DROP TABLE persist_content")
        db.commit()
        db.close()
        new = Cluster(COORDD, 1)
        restore_all(new, older)
        leader = new.leader()
        assert leader.status()["applied_index"] >= index
        for name, tok in tokens.items():
            r = leader.call("GET", "/v1/locks/" + name)
            assert r.status == 200 and r.json["holders"][0]["fencing_token"] == tok, (name, r)
        r = leader.call("GET", "/v1/kv/gone")
        assert r is not None and r.status == 404 and r.json["index"] == deleted_at, r
        r = leader.call("GET", "/v1/kv/here")
        assert r is not None and r.status == 200 and r.json["value"] == "v", r
        r = leader.call("PUT", "/v1/kv/gone", {"value": "back", "cas": 0})
        assert r is not None and r.status == 200, r
        r = leader.call("PUT", "/v1/locks/numbered", {"session": keep, "seq": 7})
        assert r is not None and r.status == 200, r
        r = leader.call("PUT", "/v1/locks/numbered", {"session": keep, "seq": 7})
        assert r is not None and r.status == 200 and r.json.get("retry") is True, r
        r = leader.call("DELETE", "/v1/locks/numbered", {"session": keep, "seq": 6})
        assert r is not None and r.status == 409, r
        assert r.json["error"] == "stale_request", r.json
    except BaseException:
        if new:
            new.close(keep=True)
        raise
    finally:
        if new:
            new.close()
        shutil.rmtree(work, ignore_errors=True)


def test_old_and_new_members_never_talk():
    work = tempfile.mkdtemp(prefix="coord-restore-")
    old = Cluster(COORDD, 3, extra_args=["--snapshot-entries", "10"])
    new = None
    try:
        old.__enter__()
        new = other_ports(old)
        # The new node 3 takes the old node 3's Raft address (as if restored
        # on its machine): the old nodes 1 and 2 dial it; it dials nothing old.
        new.node(3).raft = old.node(3).raft
        new.members = ",".join("%d=%s" % (n.id, n.raft) for n in new.nodes)
        workload(old)
        old_id = old.node(1).status()["cluster"]
        path, _ = take_snapshot(old, work)
        restore_all(new, path)
        new_leader = new.leader()
        new_id = new_leader.status()["cluster"]
        assert new_id != old_id
        # The old members 1 and 2 come back on their old folders.
        for nid in (1, 2):
            old.node(nid).start()
        old_pair = [old.node(1), old.node(2)]
        old_leader = old.leader(among=old_pair, timeout=15)
        wait_for("the old members refuse the new node 3, or it them",
                 lambda: "belongs to cluster" in "".join(
                     n.log_text() for n in old_pair + [new.node(3)]))
        # Writes on each side stay on that side.
        sid = new_session(old_leader, 60000)
        acquire(old_leader, "old-side", sid)
        sid = new_session(new_leader, 60000)
        acquire(new_leader, "new-side", sid)
        deadline = time.time() + 3.0
        while time.time() < deadline:  # each keeps its own leader and id
            assert old.leader(among=old_pair) is old_leader
            assert new.leader() is new_leader
            assert {n.status()["cluster"] for n in old_pair} == {old_id}
            assert {n.status()["cluster"] for n in new.nodes} == {new_id}
            time.sleep(0.2)
        for n in new.nodes:
            r = n.call("GET", "/v1/locks/old-side?consistency=stale")
            assert r is not None and r.status == 404, r
        for n in old_pair:
            r = n.call("GET", "/v1/locks/new-side?consistency=stale")
            assert r is not None and r.status == 404, r
    except BaseException:
        old.close(keep=True)
        if new:
            new.close(keep=True)
        raise
    finally:
        old.close()
        if new:
            new.close()
        shutil.rmtree(work, ignore_errors=True)


def folder_state(path):
    """What a folder holds (names and contents), or None when absent."""
    if not os.path.exists(path):
        return None
    out = {}
    for name in sorted(os.listdir(path)):
        with open(os.path.join(path, name), "rb") as f:
            out[name] = f.read()
    return out


def test_bad_input_is_refused_and_changes_nothing():
    work = tempfile.mkdtemp(prefix="coord-restore-")
    old = Cluster(COORDD, 1, extra_args=["--snapshot-entries", "10"])
    try:
        with old:
            workload(old)
            good, _ = take_snapshot(old, work)
        data = open(good, "rb").read()

        def variant(name, content):
            p = os.path.join(work, name)
            with open(p, "wb") as f:
                f.write(content)
            return p

        bad_byte = bytearray(data)
        bad_byte[len(data) // 2] ^= 0x40
        page_damage = bytearray(data)  # a b-tree page header: the database check
        assert len(data) > 4 * 4096
        page_damage[3 * 4096:3 * 4096 + 12] = b"\xa5" * 12
        other_version = variant("other-version.db", data)
        db = sqlite3.connect(other_version)
        db.execute("ALTER TABLE coord_sessions ADD COLUMN owner TEXT")
        # As another version would make it: its rows checksum their own way
        # (a file changed after the fact fails its content checksum, below).
        db.execute("DROP TABLE IF EXISTS persist_content")
        db.commit()
        db.close()
        changed_row = variant("changed-row.db", data)  # sound, but a value differs
        db = sqlite3.connect(changed_row)
        db.execute("UPDATE coord_meta SET value = value + 1 "
                   "WHERE rowid = (SELECT min(rowid) FROM coord_meta)")
        db.commit()
        db.close()
        foreign = os.path.join(work, "foreign.db")
        db = sqlite3.connect(foreign)
        db.execute("CREATE TABLE notes(x)")
        db.commit()
        db.close()
        def named_like_the_snapshot(subdir, content):
            """CONTENT under the good file's own name (its CRC in it)."""
            os.mkdir(os.path.join(work, subdir))
            return variant(os.path.join(subdir, os.path.basename(good)), content)

        files = {
            "truncated": variant("truncated.db", data[:len(data) // 2]),
            "truncated, under its snapshot name":
                named_like_the_snapshot("cut", data[:len(data) // 2]),
            "a corrupted byte, under its snapshot name":
                named_like_the_snapshot("flipped", bytes(bad_byte)),
            "a damaged page": variant("damaged.db", bytes(page_damage)),
            "a changed row, under another name": changed_row,
            "a text file": variant("notes.txt", b"not a snapshot\n" * 100),
            "a foreign database": foreign,
            "another format version": other_version,
            "a missing file": os.path.join(work, "missing.db"),
        }
        empty = os.path.join(work, "empty")
        os.mkdir(empty)
        absent = os.path.join(work, "absent")
        busy = os.path.join(work, "busy")
        os.mkdir(busy)
        with open(os.path.join(busy, "keep.txt"), "w") as f:
            f.write("something of value\n")
        members = "1=127.0.0.1:1"

        def refused(path, target, *more, code=1):
            before = folder_state(target)
            listing = sorted(os.listdir(work))
            p, _ = restore(path, 1, target, members, *more)
            assert p.returncode == code, (path, p)
            assert p.stdout == b"" and p.stderr.count(b"\n") == 1, (path, p)
            assert folder_state(target) == before, (path, target)
            assert sorted(os.listdir(work)) == listing, (path, listing)  # no temporary left
            return p.stderr.decode()

        for what, path in files.items():
            for target in (absent, empty):
                why = refused(path, target)
                print("%s -> %s" % (what, why.strip()))
        assert "another format version" in refused(other_version, empty)
        assert "content checksum" in refused(changed_row, empty)
        assert "not empty" in refused(good, busy)
        # Flags: --restore needs --cluster and takes no --join.
        p = subprocess.run([COORDD, "--restore", good, "--data", absent],
                           capture_output=True, timeout=10)
        assert p.returncode == 2 and p.stderr.count(b"\n") == 1, p
        assert refused(good, absent, "--join", code=2)
        assert not os.path.exists(absent)
        # The same good file restores, into an empty and an absent folder.
        for target in (empty, absent):
            p, _ = restore(good, 1, target, members)
            assert p.returncode == 0, p
            assert os.path.exists(os.path.join(target, "cluster-id")), os.listdir(target)
        # A restored folder is not empty: a second restore is refused.
        assert "not empty" in refused(good, absent)
    finally:
        old.close()
        shutil.rmtree(work, ignore_errors=True)


ALL = [test_a_backup_restores_into_a_new_cluster_with_tokens_above_the_old,
       test_old_and_new_members_never_talk,
       test_a_backup_of_an_older_version_restores,
       test_bad_input_is_refused_and_changes_nothing]

if __name__ == "__main__":
    names = sys.argv[1:]
    run([t for t in ALL if not names or t.__name__ in names])
