"""The key/value namespace (API.md, Key/value) through real HTTP on a
3-node loopback cluster: put, get and delete with cas and fence, ephemeral
keys and the end of their session, long-polls on a key, prefix watches that
see every change once, the listing's pages, the limits, the metrics, and the
kv rules once access control is on. Each refused write changes nothing.

The tests of one run share their clusters (one open, one with access
control, one for the history's compaction), each test under a prefix of
its own. Run: COORDD=build/coord/coordd python3 tests/cluster/test_kv.py [TEST...]"""

import http.client
import json
import random
import socket
import sys
import threading
import time

from harness import Cluster, coordd_path, request, run, wait_for
from test_auth import bootstrap, call as call_with_token, make_token

COORDD = coordd_path()
SID0 = "0123456789abcdef0123456789abcdef"  # well-formed, never issued
OBJECTS = 4  # --max-locks-per-session of the open cluster


def call(node, method, path, body=None, token=None, timeout=5.0):
    """One request to NODE, with "Authorization: Bearer TOKEN" when given
    (then in at most 5 s); a Reply, or None when the node cannot be
    reached."""
    if token is None:
        return request(node.http, method, path, body, timeout)
    return call_with_token(node, method, path, body, token=token)


def ok(r, status=200):
    assert r is not None and r.status == status, r
    return r.json


def refused(r, status, code):
    assert r is not None and r.status == status and r.json["error"] == code, r
    return r.json


def session(node, token=None, ttl_ms=60000):
    return ok(call(node, "POST", "/v1/sessions", {"ttl_ms": ttl_ms}, token), 201)["id"]


def put(node, key, value, token=None, **fields):
    fields["value"] = value
    return call(node, "PUT", "/v1/kv/" + key, fields, token)


def fencing_token(node, lock, token=None):
    return ok(call(node, "GET", "/v1/locks/" + lock, token=token))["holders"][0]["fencing_token"]


def listing(node, prefix, token=None):
    """Every key under PREFIX, as {key: object}, and the listing's index."""
    r = ok(call(node, "GET", "/v1/kv?prefix=" + prefix + "&limit=10000", token=token))
    assert r["next"] is None, r
    return {k["key"]: k for k in r["keys"]}, r["index"]


def long_poll(node, path, token=None):
    """Starts GET PATH on NODE, a long-poll, in a thread and checks that it
    still waits half a second later. Returns the thread and a dict that gets
    the reply ("r") and the time it came ("t")."""
    got = {}

    def poll():
        got["r"] = call(node, "GET", path, token=token, timeout=30)
        got["t"] = time.time()

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.5)
    assert th.is_alive(), "the long-poll answered before any change: %r" % got
    return th, got


def metrics(node, token=None):
    text = ok_text(call(node, "GET", "/metrics", token=token))
    return {l.rpartition(" ")[0]: float(l.rpartition(" ")[2])
            for l in text.splitlines() if l and l[0] != "#"}


def ok_text(r):
    assert r is not None and r.status == 200, r
    return r.raw


# Clusters shared by the tests of one run --------------------------------------

_shared = {}


def shared(name, size=3, extra_args=()):
    """The cluster NAME, started (with a leader) on first use and kept until
    the run ends."""
    if name not in _shared:
        c = Cluster(COORDD, size, extra_args=extra_args)
        c.__enter__()
        _shared[name] = c
        c.leader()
    return _shared[name]


def open_cluster():
    return shared("open", extra_args=["--max-locks-per-session", str(OBJECTS)])


def close_shared(keep):
    for c in _shared.values():
        c.close(keep=keep)
    _shared.clear()


# The open cluster -------------------------------------------------------------

def test_put_get_and_delete_with_cas():
    c = open_cluster()
    leader = c.leader()
    f1, f2 = c.followers(leader)

    # A put (through a follower) creates the key at its entry; any node reads it.
    r = ok(put(f1, "crud/a", "v1"))
    created = r["create_index"]
    assert r == {"key": "crud/a", "create_index": created, "modify_index": created}, r
    got = ok(call(f2, "GET", "/v1/kv/crud/a"))
    assert got == {"key": "crud/a", "value": "v1", "create_index": created,
                   "modify_index": created, "session": None}, got

    # cas 0: only if absent; cas N: only at modify_index N. Refused: 409 with
    # the key's modify_index, nothing changed.
    assert refused(put(leader, "crud/a", "x", cas=0), 409, "cas_failed")["modify_index"] == created
    assert refused(put(f2, "crud/a", "x", cas=created + 1000), 409,
                   "cas_failed")["modify_index"] == created
    assert ok(call(leader, "GET", "/v1/kv/crud/a")) == got
    r = ok(put(f2, "crud/a", "v2", cas=created))
    modified = r["modify_index"]
    assert r["create_index"] == created and modified > created, r
    assert refused(put(f1, "crud/a", "v3", cas=created), 409, "cas_failed")["modify_index"] == \
        modified

    # Values are UTF-8 text of up to 64 KiB, "" included.
    for value in ("", "h\u00e9llo \u2603", "v" * 65536):
        assert ok(put(leader, "crud/text", value))
        assert ok(call(f1, "GET", "/v1/kv/crud/text"))["value"] == value

    # A delete: cas from the query or the body; refused like a put.
    assert refused(call(f1, "DELETE", "/v1/kv/crud/a?cas=%d" % created), 409,
                   "cas_failed")["modify_index"] == modified
    assert refused(call(f1, "DELETE", "/v1/kv/crud/a", {"cas": 0}), 409,
                   "cas_failed")["modify_index"] == modified
    assert ok(call(leader, "GET", "/v1/kv/crud/a"))["value"] == "v2"
    r = call(f2, "DELETE", "/v1/kv/crud/a?cas=%d" % modified, {"cas": modified})
    assert ok(r) == {"deleted": True}, r
    # Gone: 404 with the index of its deletion; a key never written has 0.
    deleted = refused(call(f1, "GET", "/v1/kv/crud/a"), 404, "not_found")["index"]
    w = ok(call(f2, "GET", "/v1/kv?prefix=crud/a&index=%d" % modified))
    assert w["changes"] == [{"key": "crud/a", "change": "delete", "modify_index": deleted}], w
    assert refused(call(f1, "GET", "/v1/kv/crud/never"), 404, "not_found")["index"] == 0
    assert ok(call(leader, "DELETE", "/v1/kv/crud/a")) == {"deleted": False}
    assert refused(call(leader, "DELETE", "/v1/kv/crud/a?cas=5"), 409,
                   "cas_failed")["modify_index"] == 0
    assert refused(put(leader, "crud/a", "x", cas=5), 409, "cas_failed")["modify_index"] == 0
    r = ok(put(leader, "crud/a", "again", cas=0))
    assert r["create_index"] == r["modify_index"] > deleted, r

    # Malformed requests are 400 and change nothing, on any node.
    before = listing(leader, "crud/")
    for node in (leader, f1):
        for method, path, body in [
                ("PUT", "/v1/kv/crud//a", {"value": "x"}),
                ("PUT", "/v1/kv/crud/a/", {"value": "x"}),
                ("PUT", "/v1/kv/" + "k" * 256, {"value": "x"}),
                ("PUT", "/v1/kv/crud/a", {}),
                ("PUT", "/v1/kv/crud/a", {"value": "v" * 65537}),
                ("PUT", "/v1/kv/crud/a", {"value": "x", "cas": -1}),
                ("PUT", "/v1/kv/crud/a", {"value": "x", "cas": "1"}),
                ("PUT", "/v1/kv/crud/a", {"value": "x", "fence": {"lock": "L"}}),
                ("PUT", "/v1/kv/crud/a", {"value": "x", "fence": {"lock": "L", "token": 0}}),
                ("DELETE", "/v1/kv/crud/a?cas=1", {"cas": 2}),
                ("GET", "/v1/kv?prefix=crud/&index=1&limit=5", None),
                ("GET", "/v1/kv/crud/a?index=x", None)]:
            refused(call(node, method, path, body), 400, "invalid_argument")
    assert listing(leader, "crud/") == before


def test_fenced_writes_apply_only_with_a_current_token():
    c = open_cluster()
    leader = c.leader()
    f1, f2 = c.followers(leader)
    s1, s2 = session(leader), session(leader)
    ok(call(leader, "PUT", "/v1/locks/fence/L", {"session": s1}))
    t1 = fencing_token(leader, "fence/L")
    ok(put(f1, "fence/cfg", "by s1", fence={"lock": "fence/L", "token": t1}))

    # s1 loses the lock to s2: its late writes are 409 stale_token with the
    # current tokens, and change nothing.
    ok(call(leader, "DELETE", "/v1/locks/fence/L", {"session": s1}))
    ok(call(leader, "PUT", "/v1/locks/fence/L", {"session": s2}))
    t2 = fencing_token(leader, "fence/L")
    for node in (leader, f2):
        r = refused(put(node, "fence/cfg", "late", fence={"lock": "fence/L", "token": t1}), 409,
                    "stale_token")
        assert r["current"] == [t2] and r["lock"] == "fence/L", r
        r = refused(call(node, "DELETE", "/v1/kv/fence/cfg",
                         {"fence": {"lock": "fence/L", "token": t1}}), 409, "stale_token")
        assert r["current"] == [t2], r
    assert ok(call(f1, "GET", "/v1/kv/fence/cfg"))["value"] == "by s1"
    ok(put(f2, "fence/cfg", "by s2", fence={"lock": "fence/L", "token": t2}))

    # Nobody holds it, or it never existed: no token is current.
    ok(call(leader, "DELETE", "/v1/locks/fence/L", {"session": s2}))
    for lock, t in (("fence/L", t2), ("fence/never", 1)):
        r = refused(put(f1, "fence/cfg", "x", fence={"lock": lock, "token": t}), 409,
                    "stale_token")
        assert r["current"] == [], r
    assert ok(call(leader, "GET", "/v1/kv/fence/cfg"))["value"] == "by s2"


def test_ephemeral_keys_end_with_their_session():
    c = open_cluster()
    leader = c.leader()
    f1, f2 = c.followers(leader)
    refused(put(f1, "eph/a", "x", session=SID0), 404, "session_not_found")
    refused(call(leader, "GET", "/v1/kv/eph/a"), 404, "not_found")

    # Closed: its keys go in the entry that ends it; a key made persistent
    # by a later put stays.
    s = session(f1)
    for key in ("eph/a", "eph/b", "eph/kept"):
        ok(put(f1, key, "here", session=s))
    assert ok(call(f2, "GET", "/v1/kv/eph/a"))["session"] == s
    ok(put(f2, "eph/kept", "persistent"))
    assert ok(call(f2, "GET", "/v1/kv/eph/kept"))["session"] is None
    _, before = listing(leader, "eph/")
    r = ok(call(f2, "DELETE", "/v1/sessions/" + s))
    ended = [refused(call(n, "GET", "/v1/kv/" + k), 404, "not_found")["index"]
             for n in (leader, f1) for k in ("eph/a", "eph/b")]
    assert len(set(ended)) == 1 and ended[0] > before, ended
    w = ok(call(f1, "GET", "/v1/kv?prefix=eph/&index=%d" % before))
    assert w["changes"] == [{"key": "eph/a", "change": "delete", "modify_index": ended[0]},
                            {"key": "eph/b", "change": "delete", "modify_index": ended[0]}], w
    assert ok(call(leader, "GET", "/v1/kv/eph/kept"))["value"] == "persistent"

    # Expired (a TTL of 1 s): the key's long-poll answers 404 once the
    # session ends, and from then on no read sees the key.
    s = session(leader, ttl_ms=1000)
    r = ok(put(leader, "eph/x", "short", session=s))
    th, got = long_poll(f1, "/v1/kv/eph/x?index=%d&wait=20s" % r["modify_index"])
    th.join(15)
    gone = refused(got["r"], 404, "not_found")["index"]
    refused(call(leader, "GET", "/v1/sessions/" + s), 404, "session_not_found")
    for node in c.nodes:
        assert refused(call(node, "GET", "/v1/kv/eph/x"), 404, "not_found")["index"] == gone

    # Ephemeral keys count among the session's locks: OBJECTS in all.
    s = session(leader)
    ok(call(leader, "PUT", "/v1/locks/eph/lock", {"session": s}))
    for i in range(OBJECTS - 1):
        ok(put(f1, "eph/n%d" % i, "x", session=s))
    keys, _ = listing(leader, "eph/n")
    refused(put(f1, "eph/more", "x", session=s), 429, "too_many")
    refused(call(f2, "PUT", "/v1/locks/eph/lock2", {"session": s}), 429, "too_many")
    refused(put(leader, "eph/kept", "x", session=s), 429, "too_many")
    assert listing(leader, "eph/n")[0] == keys
    refused(call(leader, "GET", "/v1/kv/eph/more"), 404, "not_found")
    ok(put(f1, "eph/n0", "rewritten", session=s))  # not a new object
    ok(put(f1, "eph/n0", "persistent"))  # frees its room
    ok(put(f1, "eph/more", "x", session=s))
    ok(call(leader, "DELETE", "/v1/sessions/" + s))
    assert sorted(listing(leader, "eph/")[0]) == ["eph/kept", "eph/n0"]


def test_long_polls_on_a_key():
    c = open_cluster()
    leader = c.leader()
    f1, f2 = c.followers(leader)
    missing = refused(call(f1, "GET", "/v1/kv/lp/k"), 404, "not_found")

    # Waiting for a key to appear: from index 0 (or the 404's index).
    th, got = long_poll(f1, "/v1/kv/lp/k?index=%d&wait=20s" % missing["index"])
    t0 = time.time()
    created = ok(put(f2, "lp/k", "hello"))["modify_index"]
    th.join(10)
    r = ok(got["r"])
    assert r["value"] == "hello" and r["modify_index"] == created, r
    assert got["t"] - t0 < 2, got["t"] - t0

    # A change since the index answers at once; none, after the wait, 200.
    t0 = time.time()
    assert ok(call(f2, "GET", "/v1/kv/lp/k?index=%d&wait=20s" % (created - 1)))["value"] == "hello"
    assert time.time() - t0 < 2
    t0 = time.time()
    r = call(leader, "GET", "/v1/kv/lp/k?index=%d&wait=700ms" % created, timeout=10)
    assert ok(r)["modify_index"] == created and 0.6 < time.time() - t0 < 3, time.time() - t0

    # Waiting on an existing key answers its deletion: 404 with the index.
    th, got = long_poll(f2, "/v1/kv/lp/k?index=%d&wait=20s" % created)
    r = call(leader, "DELETE", "/v1/kv/lp/k")
    assert ok(r) == {"deleted": True}
    th.join(10)
    gone = refused(got["r"], 404, "not_found")["index"]
    assert gone > created, (gone, created)
    # Deleted since the index: 404 at once.
    t0 = time.time()
    r = call(f1, "GET", "/v1/kv/lp/k?index=%d&wait=20s" % created, timeout=30)
    assert refused(r, 404, "not_found")["index"] == gone and time.time() - t0 < 2, r
    # Still missing after the wait: 404.
    t0 = time.time()
    refused(call(f1, "GET", "/v1/kv/lp/k?index=%d&wait=700ms" % gone, timeout=10), 404,
            "not_found")
    assert 0.6 < time.time() - t0 < 3, time.time() - t0

    # An index from the future is 400, on the key and on a watch.
    applied = leader.status()["applied_index"]
    for path in ("/v1/kv/lp/k?index=%d&wait=1s", "/v1/kv?prefix=lp/&index=%d&wait=1s"):
        r = refused(call(leader, "GET", path % (applied + 1000)), 400, "invalid_argument")
        assert "above the last entry" in r["message"], r


def test_a_prefix_watch_sees_every_change_once():
    """Writers change keys under w/ (and beside it) through every node while
    a watcher polls w/ on one node after another, each time from the index
    the last answer gave, at random spacing. What it saw, in order, is
    exactly the history from its first index: no change missed or twice."""
    c = open_cluster()
    leader = c.leader()
    f1, f2 = c.followers(leader)
    nodes = [leader, f1, f2]
    start = listing(leader, "w/")[1]
    done = threading.Event()
    wrote = {"puts": [], "deletes": 0, "errors": []}

    def writer(node, n):
        try:
            write(node, n)
        except Exception as e:  # told in the main thread
            wrote["errors"].append(e)

    def write(node, n):
        rnd = random.Random(n)
        for i in range(40):
            key = "w/%d/%d" % (n, rnd.randrange(5))
            what = rnd.choice(["put", "put", "delete", "cas", "beside"])
            if what == "put":
                r = put(node, key, "v%d" % i)
                if r is None or r.status != 200:
                    wrote["errors"].append(r)
                else:
                    wrote["puts"].append((key, r.json["modify_index"]))
            elif what == "delete":
                r = call(node, "DELETE", "/v1/kv/" + key)
                wrote["deletes"] += bool(r and r.status == 200 and r.json["deleted"])
            elif what == "cas":  # refused: no change
                put(node, key, "x", cas=1)
            else:
                put(node, "wx/%d" % n, "beside")
        s = session(node)
        for k in range(OBJECTS):  # ends in one entry: OBJECTS deletes
            r = ok(put(node, "w/e/%d/%d" % (n, k), "e", session=s))
            wrote["puts"].append(("w/e/%d/%d" % (n, k), r["modify_index"]))
        wrote["deletes"] += OBJECTS
        ok(call(node, "DELETE", "/v1/sessions/" + s))

    writers = [threading.Thread(target=writer, args=(nodes[n % 3], n)) for n in range(3)]
    for t in writers:
        t.start()
    seen, index, polls = [], start, 0
    rnd = random.Random(7)
    while True:
        quiet = done.is_set()
        node = nodes[polls % 3]
        r = ok(call(node, "GET", "/v1/kv?prefix=w/&index=%d&wait=1s" % index, timeout=10))
        polls += 1
        assert r["index"] >= index, (r["index"], index)
        assert all(ch["modify_index"] > index for ch in r["changes"]), (index, r)
        seen += r["changes"]
        index = r["index"]
        if quiet and not r["changes"]:
            break
        if not any(t.is_alive() for t in writers):
            done.set()
        time.sleep(rnd.choice([0, 0, 0.01, 0.05, 0.1]))
    assert not wrote["errors"], wrote["errors"][:3]
    everything = ok(call(f2, "GET", "/v1/kv?prefix=w/&index=%d" % start))["changes"]
    assert seen == everything, (len(seen), len(everything))
    assert sorted((ch["key"], ch["modify_index"]) for ch in seen if ch["change"] == "put") == \
        sorted(wrote["puts"])
    assert sum(ch["change"] == "delete" for ch in seen) == wrote["deletes"]
    assert all(ch["key"].startswith("w/") for ch in seen)
    assert [(ch["modify_index"], ch["key"]) for ch in seen] == \
        sorted((ch["modify_index"], ch["key"]) for ch in seen)
    assert polls > 5, polls

    # A stale watch on a follower answers from its own state once it has
    # applied that far.
    c.wait_applied(index)
    r = call(f1, "GET", "/v1/kv?prefix=w/&index=%d&consistency=stale" % start)
    assert ok(r)["changes"] == everything and "x-coord-last-contact" in r.headers, r.headers


def test_the_listing_pages_keys_in_order():
    c = open_cluster()
    leader = c.leader()
    f1 = c.followers(leader)[0]
    names = ["pg/%02d" % i for i in range(25)]
    for name in random.Random(3).sample(names, len(names)) + ["pg", "pgx", "pg0"]:
        ok(put(leader, name, name))
    last = ok(put(f1, "pg/24", "last"))["modify_index"]

    items, after, pages = [], None, 0
    while True:
        q = "/v1/kv?prefix=pg/&limit=7" + ("&after=" + after if after else "")
        r = ok(call(f1, "GET", q))
        pages += 1
        items += r["keys"]
        assert r["index"] == last, (r["index"], last)
        if r["next"] is None:
            break
        assert len(r["keys"]) == 7 and r["next"] == r["keys"][-1]["key"], r
        after = r["next"]
    assert [k["key"] for k in items] == names and pages == 4, (pages, items[:2])
    assert items[-1] == {"key": "pg/24", "value": "last", "create_index": items[-1]["create_index"],
                         "modify_index": last, "session": None}, items[-1]
    r = ok(call(leader, "GET", "/v1/kv?prefix=pg/&after=pg/20x&limit=2"))
    assert [k["key"] for k in r["keys"]] == ["pg/21", "pg/22"] and r["next"] == "pg/22", r
    r = ok(call(leader, "GET", "/v1/kv?prefix=pg/&after=zzz"))
    assert r["keys"] == [] and r["next"] is None, r
    r = ok(call(leader, "GET", "/v1/kv?prefix=pg"))
    assert [k["key"] for k in r["keys"]] == ["pg"] + names + ["pg0", "pgx"], r

    # A deletion is a change: the listing's index moves to it.
    d = call(leader, "DELETE", "/v1/kv/pgx")
    gone = refused(call(leader, "GET", "/v1/kv/pgx"), 404, "not_found")["index"]
    assert ok(call(leader, "GET", "/v1/kv?prefix=pg/&limit=1"))["index"] == gone, d

    # ?consistency=stale on a follower: its own state, with its last contact.
    c.wait_applied(gone)
    r = call(f1, "GET", "/v1/kv?prefix=pg/&consistency=stale")
    assert [k["key"] for k in ok(r)["keys"]] == names and r.json["index"] == gone, r
    assert "x-coord-last-contact" in r.headers, r.headers
    r = call(f1, "GET", "/v1/kv/pg/00?consistency=stale")
    assert ok(r)["value"] == "pg/00" and "x-coord-last-contact" in r.headers, r


def test_metrics_count_keys_bytes_and_watchers():
    c = open_cluster()
    leader = c.leader()
    f1 = c.followers(leader)[0]
    m = metrics(leader)
    keys, size = m["coord_kv_keys"], m["coord_kv_bytes"]
    index = ok(put(f1, "metrics/a", "0123456789"))["modify_index"]
    ok(put(f1, "metrics/b", "xyz"))
    index = ok(put(f1, "metrics/b", "xy"))["modify_index"]
    c.wait_applied(index)
    for node in c.nodes:
        m = metrics(node)
        assert m["coord_kv_keys"] == keys + 2 and m["coord_kv_bytes"] == size + 12, m
    ok(call(leader, "DELETE", "/v1/kv/metrics/a"))
    m = metrics(leader)
    assert m["coord_kv_keys"] == keys + 1 and m["coord_kv_bytes"] == size + 2, m

    # A long-poll on a key, and a watch, wait on the node that serves them.
    assert metrics(leader)["coord_kv_watchers"] == 0
    applied = leader.status()["applied_index"]
    th1, got1 = long_poll(leader, "/v1/kv/metrics/new?index=0&wait=20s")
    th2, got2 = long_poll(leader, "/v1/kv?prefix=metrics/new&index=%d&wait=20s" % applied)
    wait_for("two watchers", lambda: metrics(leader)["coord_kv_watchers"] == 2)
    ok(put(f1, "metrics/new", "!"))
    th1.join(10)
    th2.join(10)
    assert ok(got1["r"])["value"] == "!", got1
    assert [ch["key"] for ch in ok(got2["r"])["changes"]] == ["metrics/new"], got2
    wait_for("no watcher left", lambda: metrics(leader)["coord_kv_watchers"] == 0)


# The history's compaction -----------------------------------------------------

def bulk_session_of_keys(node, prefix, n):
    """Opens a session, puts N ephemeral keys under PREFIX on one kept-alive
    connection, and closes it: 2 N changes of the history in N + 1 writes."""
    host, port = node.http.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(method, path, body):
        conn.request(method, path, body=json.dumps(body),
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, json.loads(r.read())

    try:
        st, s = send("POST", "/v1/sessions", {"ttl_ms": 60000})
        assert st == 201, s
        for i in range(n):
            st, got = send("PUT", "/v1/kv/%s%d" % (prefix, i), {"value": "v", "session": s["id"]})
            assert st == 200, got
        st, got = send("DELETE", "/v1/sessions/" + s["id"], {})
        assert st == 200, got
    finally:
        conn.close()


def test_a_watch_from_before_the_kept_history_is_410():
    """The nodes keep the last 10000 changes (up to 10500 before they trim):
    a watch from an older index is 410 compacted; list the prefix again and
    watch from its index. 10880 changes, from 16 clients at once (each a
    session of 340 ephemeral keys, whose close deletes them in one entry)."""
    c = shared("history", extra_args=["--max-locks-per-session", "1024", "--max-sessions", "100"])
    leader = c.leader()
    f1 = c.followers(leader)[0]
    first = ok(put(leader, "h/first", "x"))["modify_index"]
    ok(call(leader, "DELETE", "/v1/kv/h/first"))
    assert refused(call(f1, "GET", "/v1/kv/h/first"), 404, "not_found")["index"] > first
    ok(call(f1, "GET", "/v1/kv?prefix=h/&index=%d&wait=1ms" % (first - 1)))
    t0 = time.time()
    clients = [threading.Thread(target=bulk_session_of_keys, args=(leader, "h/%d/" % k, 340))
               for k in range(16)]
    for t in clients:
        t.start()
    for t in clients:
        t.join()
    print("10880 changes in %.1fs" % (time.time() - t0))
    keys, listed = listing(leader, "h/")
    assert keys == {}, len(keys)
    for node in (leader, f1):
        r = refused(call(node, "GET", "/v1/kv?prefix=h/&index=%d" % (first - 1)), 410,
                    "compacted")
        # "index" is the node's applied entry; the listing's index is one
        # to watch from again, and so is the 410's.
        assert r["index"] >= listed, (r, listed)
        for since in (listed, r["index"]):
            again = ok(call(node, "GET", "/v1/kv?prefix=h/&index=%d&wait=1ms" % since))
            assert again["changes"] == [], (since, again)
    refused(call(leader, "GET", "/v1/kv?prefix=h/&index=0"), 410, "compacted")
    # A deleted key whose changes were all dropped: 404 with index 0.
    assert refused(call(leader, "GET", "/v1/kv/h/first"), 404, "not_found")["index"] == 0
    assert metrics(leader)["coord_kv_keys"] == 0


# Access control ---------------------------------------------------------------

def txn(node, checks, ops, token=None):
    return call(node, "POST", "/v1/txn", {"checks": checks, "ops": ops}, token)


def test_a_transaction_applies_whole_or_not_at_all():
    c = open_cluster()
    leader = c.leader()
    f1, f2 = c.followers(leader)

    # Checks hold: every operation applies in one entry, through a follower.
    at = ok(put(leader, "tx/old", "0"))["modify_index"]
    r = ok(txn(f1, [{"key": "tx/a", "modify_index": 0}, {"key": "tx/old", "modify_index": at}],
               [{"put": "tx/a", "value": "1"}, {"put": "tx/b", "value": "2"},
                {"delete": "tx/old"}]))
    keys, _ = listing(f2, "tx/")
    assert sorted(keys) == ["tx/a", "tx/b"], keys
    assert {k["modify_index"] for k in keys.values()} == {r["modify_index"]}, keys
    changes = ok(call(f2, "GET", "/v1/kv?prefix=tx/&index=%d" % at))["changes"]
    assert [(ch["key"], ch["change"], ch["modify_index"]) for ch in changes] == [
        ("tx/a", "put", r["modify_index"]), ("tx/b", "put", r["modify_index"]),
        ("tx/old", "delete", r["modify_index"])], changes

    # One check fails: 409 naming it and what it found, nothing changed.
    before = listing(leader, "tx/")
    e = refused(txn(f2, [{"key": "tx/a", "modify_index": r["modify_index"]},
                         {"key": "tx/b", "modify_index": 0}],
                    [{"put": "tx/a", "value": "x"}, {"delete": "tx/b"}]), 409, "check_failed")
    assert e["check"] == 1 and e["modify_index"] == r["modify_index"], e
    s = session(leader)
    ok(call(leader, "PUT", "/v1/locks/tx-lock", {"session": s}))
    token = fencing_token(leader, "tx-lock")
    e = refused(txn(f1, [{"lock": "tx-lock", "token": token + 1}],
                    [{"put": "tx/c", "value": "x"}]), 409, "check_failed")
    assert e["check"] == 0 and e["current"] == [token], e
    e = refused(txn(f1, [{"session": SID0}], [{"put": "tx/c", "value": "x"}]), 409,
                "check_failed")
    assert e["check"] == 0, e
    assert listing(leader, "tx/")[0] == before[0]

    # A holder's guarded write, and ephemeral puts of the holder's session
    # that end with it.
    ok(txn(f2, [{"lock": "tx-lock", "token": token}, {"session": s}],
           [{"put": "tx/result", "value": "done"},
            {"put": "tx/worker", "value": "up", "session": s}]))
    assert ok(call(leader, "GET", "/v1/kv/tx/worker"))["session"] == s
    ok(call(leader, "DELETE", "/v1/sessions/" + s))
    refused(call(f1, "GET", "/v1/kv/tx/worker"), 404, "not_found")
    assert ok(call(f1, "GET", "/v1/kv/tx/result"))["value"] == "done"

    # Malformed: 400, nothing changed.
    before = listing(leader, "tx/")
    for bad in ({"ops": []}, {"ops": [{"put": "tx/a", "value": "1"}, {"delete": "tx/a"}]},
                {"ops": [{"put": "tx/a"}]}, {"checks": [{"key": "tx/a"}], "ops": [{"delete": "tx/a"}]},
                {"ops": [{"put": "tx/a", "value": "1", "session": SID0},
                         {"put": "tx/b", "value": "1", "session": SID0[::-1]}]},
                {"ops": [{"put": "tx/" + str(i), "value": "v" * 2000} for i in range(40)]}):
        refused(call(f1, "POST", "/v1/txn", bad), 400, "invalid_argument")
    refused(txn(f1, [], [{"put": "tx/e", "value": "1", "session": SID0}]), 404,
            "session_not_found")
    assert listing(leader, "tx/")[0] == before[0]


def auth_cluster():
    """The cluster with access control on, its leader as found before the
    bootstrap (from then on /v1/status needs a token), its admin token and
    the tokens of the tests: svc (kv write on svc/, a sessions rule, locks
    read on svc-locks/), nosessions (the same kv rule alone) and other (kv,
    sessions and locks write everywhere)."""
    c = shared("auth")
    if not hasattr(c, "tokens"):
        leader = c.auth_leader = c.leader()
        admin = bootstrap(leader)

        def token(rules):
            return make_token(leader, admin, rules)["token"]

        c.tokens = {
            "admin": admin,
            "svc": token([{"resource": "kv", "prefix": "svc/", "access": "write"},
                          {"resource": "sessions", "prefix": "", "access": "write"},
                          {"resource": "locks", "prefix": "svc-locks/", "access": "read"}]),
            "nosessions": token([{"resource": "kv", "prefix": "svc/", "access": "write"}]),
            "other": token([{"resource": "kv", "prefix": "", "access": "write"},
                            {"resource": "sessions", "prefix": "", "access": "write"},
                            {"resource": "locks", "prefix": "", "access": "write"}]),
        }
    return c


def denied(r, missing):
    assert r is not None and r.status == 403 and r.json["error"] == "permission_denied", r
    assert r.json["missing"] == missing, r.json
    return r.json


def test_kv_rules_decide_who_reads_and_writes_which_keys():
    c = auth_cluster()
    leader = c.auth_leader
    f1, f2 = c.followers(leader)
    t = c.tokens
    svc, admin, other = t["svc"], t["admin"], t["other"]

    # kv:svc/:write: read and write under svc/, nothing else; no token: 401.
    ok(put(f1, "svc/a", "1", svc))
    assert ok(call(f2, "GET", "/v1/kv/svc/a", token=svc))["value"] == "1"
    ok(put(leader, "elsewhere/x", "secret", admin))
    denied(put(f1, "elsewhere/x", "2", svc), "kv:elsewhere/x:write")
    denied(call(f1, "GET", "/v1/kv/elsewhere/x", token=svc), "kv:elsewhere/x:read")
    denied(call(f2, "DELETE", "/v1/kv/elsewhere/x", token=svc), "kv:elsewhere/x:write")
    refused(call(f1, "GET", "/v1/kv/svc/a"), 401, "unauthenticated")
    assert ok(call(leader, "GET", "/v1/kv/elsewhere/x", token=admin))["value"] == "secret"

    # The listing and a watch show only the keys the token may read.
    _, start = listing(leader, "", admin)
    ok(put(leader, "svc/b", "2", admin))
    ok(put(leader, "elsewhere/y", "3", admin))
    ok(call(leader, "DELETE", "/v1/kv/elsewhere/x", token=admin))
    for node in (leader, f1):
        keys, _ = listing(node, "", svc)
        assert sorted(keys) == ["svc/a", "svc/b"], keys
        r = ok(call(node, "GET", "/v1/kv?index=%d" % start, token=svc))
        assert [ch["key"] for ch in r["changes"]] == ["svc/b"], r
        r = ok(call(node, "GET", "/v1/kv?index=%d" % start, token=admin))
        assert [ch["key"] for ch in r["changes"]] == ["svc/b", "elsewhere/y", "elsewhere/x"], r

    # An ephemeral put: a sessions rule, and the session's own token.
    theirs, mine = session(leader, other), session(leader, svc)
    before = listing(leader, "", admin)
    denied(put(f1, "svc/e", "x", svc, session=theirs), "owner")
    denied(put(f2, "svc/e", "x", t["nosessions"], session=mine), "sessions:*:write")
    assert listing(leader, "", admin) == before
    ok(put(f1, "svc/e", "x", svc, session=mine))

    # A fenced write: locks read on the fence's lock.
    ok(call(leader, "PUT", "/v1/locks/svc-locks/L", {"session": theirs}, other))
    ok(call(leader, "PUT", "/v1/locks/private/L", {"session": theirs}, other))
    token = fencing_token(leader, "svc-locks/L", other)
    ok(put(f1, "svc/f", "fenced", svc, fence={"lock": "svc-locks/L", "token": token}))
    token = fencing_token(leader, "private/L", other)
    denied(put(f2, "svc/f", "x", svc, fence={"lock": "private/L", "token": token}),
           "locks:private/L:read")
    denied(call(f2, "DELETE", "/v1/kv/svc/f", {"fence": {"lock": "private/L", "token": token}},
                svc), "locks:private/L:read")
    assert ok(call(leader, "GET", "/v1/kv/svc/f", token=svc))["value"] == "fenced"

    # A transaction: kv write on each key written, read on each checked,
    # locks read on each lock checked; a refusal changes nothing.
    ok(txn(f1, [{"key": "svc/a", "modify_index": ok(call(leader, "GET", "/v1/kv/svc/a",
                                                         token=svc))["modify_index"]}],
           [{"put": "svc/t1", "value": "1"}, {"delete": "svc/b"}], svc))
    before = listing(leader, "", admin)
    denied(txn(f2, [], [{"put": "svc/t2", "value": "1"}, {"put": "elsewhere/t", "value": "1"}],
               svc), "kv:elsewhere/t:write")
    denied(txn(f2, [{"key": "elsewhere/y", "modify_index": 0}], [{"put": "svc/t2", "value": "1"}],
               svc), "kv:elsewhere/y:read")
    denied(txn(f1, [{"lock": "private/L", "token": token}], [{"put": "svc/t2", "value": "1"}],
               svc), "locks:private/L:read")
    assert listing(leader, "", admin) == before


ALL = [test_put_get_and_delete_with_cas,
       test_fenced_writes_apply_only_with_a_current_token,
       test_ephemeral_keys_end_with_their_session,
       test_long_polls_on_a_key,
       test_a_prefix_watch_sees_every_change_once,
       test_the_listing_pages_keys_in_order,
       test_metrics_count_keys_bytes_and_watchers,
       test_a_watch_from_before_the_kept_history_is_410,
       test_a_transaction_applies_whole_or_not_at_all,
       test_kv_rules_decide_who_reads_and_writes_which_keys]

if __name__ == "__main__":
    names = sys.argv[1:]
    failed = True
    try:
        run([t for t in ALL if not names or t.__name__ in names])
    except SystemExit as e:
        failed = e.code == 1
        raise
    finally:
        close_shared(keep=failed)
