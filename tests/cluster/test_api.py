"""The HTTP contract of API.md through real HTTP against a running cluster:
every row of the error table, malformed input of every kind, long-polls,
waits that time out or whose client hangs up. For each refused request: the
exact status and error code, no change of state, and the node still serving.
Run: COORDD=build/coord/coordd python3 tests/cluster/test_api.py [TEST...]"""

import http.client
import json
import random
import socket
import sys
import threading
import time

from harness import Cluster, coordd_path, request, run, wait_for

COORDD = coordd_path()
SID0 = "0123456789abcdef0123456789abcdef"  # well-formed, never issued


def raw(node, method, path, body=b"", headers=None, timeout=5):
    """A request with an arbitrary body (bytes), for malformed input."""
    host, port = node.http.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        text = r.read().decode()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, text
    finally:
        conn.close()


def announce_big_body(node, path, size=2 << 20):
    """Sends only the headers of a SIZE-byte PUT and reads the answer: a
    body over the limit is refused before it is read."""
    host, port = node.http.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(("PUT %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n" % (path, size)).encode())
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, {}, body.decode()


def state(node):
    """Everything a refused request must not change (not the leader's time
    left per session, which moves by itself)."""
    locks = node.call("GET", "/v1/locks").json
    sessions = node.call("GET", "/v1/sessions").json
    for s in sessions["sessions"]:
        s.pop("expires_in_ms", None)
    election = node.call("GET", "/v1/elections/e1").json
    return json.dumps([locks, sessions, election], sort_keys=True)


def session(node, **kw):
    body = {"ttl_ms": 60000}
    body.update(kw)
    r = node.call("POST", "/v1/sessions", body)
    assert r.status == 201, r
    return r.json["id"]


def test_error_table_and_malformed_input():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        f = c.followers(leader)[0]
        s1 = session(leader)
        s2 = session(leader)
        assert leader.call("PUT", "/v1/locks/held", {"session": s1}).status == 200
        assert leader.call("PUT", "/v1/elections/e1", {"session": s1, "value": "a"}).status == 200
        tok = leader.call("GET", "/v1/locks/held").json["holders"][0]["fencing_token"]
        deep = b"[" * 50 + b"]" * 50
        S = '"session":"%s"' % s1
        cases = [
            # method, path, body (bytes), status, code
            ("PUT", "/v1/locks/a", b'{"session":', 400, "invalid_json"),
            ("PUT", "/v1/locks/a", b"[1]", 400, "invalid_json"),
            ("PUT", "/v1/locks/a", b"not json", 400, "invalid_json"),
            ("PUT", "/v1/locks/a", deep, 400, "invalid_json"),
            ("PUT", "/v1/locks/a", b'{"session":5}', 400, "invalid_argument"),
            ("PUT", "/v1/locks/a", b"{}", 400, "invalid_argument"),
            ("PUT", "/v1/locks/a", ("{%s,\"shade\":1}" % S).encode(), 400, "invalid_argument"),
            ("PUT", "/v1/locks/a", ("{%s,\"mode\":\"x\"}" % S).encode(), 400, "invalid_argument"),
            ("PUT", "/v1/locks/a", ("{%s,\"wait_ms\":-1}" % S).encode(), 400, "invalid_argument"),
            ("PUT", "/v1/locks/a", ("{%s,\"wait_ms\":9999999999}" % S).encode(), 400,
             "invalid_argument"),
            ("PUT", "/v1/locks/a", ("{%s,\"wait_ms\":\"1s\"}" % S).encode(), 400,
             "invalid_argument"),
            ("PUT", "/v1/locks/a//b", ("{%s}" % S).encode(), 400, "invalid_argument"),
            ("PUT", "/v1/locks//a", ("{%s}" % S).encode(), 400, "invalid_argument"),
            ("PUT", "/v1/locks/a/", ("{%s}" % S).encode(), 400, "invalid_argument"),
            ("PUT", "/v1/locks/" + "n" * 300, ("{%s}" % S).encode(), 400, "invalid_argument"),
            ("PUT", "/v1/locks/a%01b", ("{%s}" % S).encode(), 400, "invalid_argument"),
            ("POST", "/v1/sessions", b'{"ttl_ms":0}', 400, "invalid_argument"),
            ("POST", "/v1/sessions", b'{"ttl_ms":3600001}', 400, "invalid_argument"),
            ("POST", "/v1/sessions", b'{"lock_delay_ms":-5}', 400, "invalid_argument"),
            ("POST", "/v1/sessions", b'{"ttl_ms":1e30}', 400, "invalid_argument"),
            ("GET", "/v1/locks/held?wait=forever&index=1", b"", 400, "invalid_argument"),
            ("GET", "/v1/locks/held?consistency=eventual", b"", 400, "invalid_argument"),
            ("GET", "/v1/fence?lock=held", b"", 400, "invalid_argument"),
            ("GET", "/v1/locks?limit=0", b"", 400, "invalid_argument"),
            ("GET", "/v1/locks?limit=-1", b"", 400, "invalid_argument"),
            ("GET", "/v1/locks?limit=10001", b"", 400, "invalid_argument"),
            ("GET", "/v1/locks?limit=ten", b"", 400, "invalid_argument"),
            ("GET", "/v1/sessions?limit=1.5", b"", 400, "invalid_argument"),
            ("GET", "/v1/sessions?limit=", b"", 400, "invalid_argument"),
            ("GET", "/v1/locks?after=", b"", 400, "invalid_argument"),
            ("GET", "/v1/locks?after=a//b", b"", 400, "invalid_argument"),
            ("GET", "/v1/locks?prefix=a/&after=/a", b"", 400, "invalid_argument"),
            ("GET", "/v1/sessions?after=held", b"", 400, "invalid_argument"),
            ("GET", "/v1/sessions?after=" + SID0.upper(), b"", 400, "invalid_argument"),
            ("GET", "/v1/locks/held?limit=5", b"", 400, "invalid_argument"),
            ("GET", "/v1/locks?limit=0&consistency=stale", b"", 400, "invalid_argument"),
            ("PUT", "/v1/locks/a", ("{\"session\":\"%s\"}" % SID0).encode(), 404,
             "session_not_found"),
            ("POST", "/v1/sessions/%s/keepalive" % SID0, b"", 404, "session_not_found"),
            ("GET", "/v1/sessions/%s" % SID0, b"", 404, "session_not_found"),
            ("GET", "/v1/locks/nobody-holds-this", b"", 404, "not_found"),
            ("GET", "/v2/locks", b"", 404, "not_found"),
            ("GET", "/", b"", 404, "not_found"),
            ("POST", "/v1/locks/a", b"", 405, "method_not_allowed"),
            ("PATCH", "/v1/sessions", b"", 405, "method_not_allowed"),
            ("PUT", "/v1/locks/held", ("{\"session\":\"%s\"}" % s2).encode(), 409, "lock_held"),
            ("PATCH", "/v1/elections/e1", ("{\"session\":\"%s\",\"value\":\"b\"}" % s2).encode(),
             409, "not_holder"),
            ("GET", "/v1/fence?lock=held&token=%d" % (tok - 1), b"", 409, "stale_token"),
            ("PUT", "/v1/locks/a", None, 413, "too_large"),
        ]
        before = state(leader)
        for node in (leader, f):
            for method, path, body, status, code in cases:
                if body is None:
                    st, hdrs, text = announce_big_body(node, path)
                    hdrs = {"x-coord-index": "", "x-coord-term": ""}
                else:
                    st, hdrs, text = raw(node, method, path, body)
                try:
                    err = json.loads(text)
                except ValueError:
                    err = {}
                assert st == status and err.get("error") == code, (
                    node.id, method, path[:60], st, text[:200])
                assert err.get("message"), text
                assert "x-coord-index" in hdrs and "x-coord-term" in hdrs, hdrs
                if status == 405:
                    assert "allow" in hdrs, hdrs
                if code == "lock_held":
                    assert err["holders"][0]["session"] == s1, err
                if code == "stale_token":
                    assert err["current"] == [tok], err
                assert state(leader) == before, (method, path[:60])
            assert node.call("GET", "/v1/health").status == 200


def send(node, method, path, body, seq_header=None):
    """A JSON request with an optional X-Coord-Seq header: (status, JSON)."""
    headers = {"Content-Type": "application/json"}
    if seq_header is not None:
        headers["X-Coord-Seq"] = seq_header
    st, _, text = raw(node, method, path, json.dumps(body).encode() if body is not None else b"",
                      headers)
    return st, json.loads(text) if text else {}


def test_a_bad_seq_is_400_and_changes_nothing():
    """seq (body or X-Coord-Seq) is an integer 1..2^53-1: anything else is
    400 invalid_argument, on a leader or a follower, and changes nothing,
    neither the locks nor the session's last applied seq."""
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        f = c.followers(leader)[0]
        s1 = session(leader)
        st, got = send(leader, "PUT", "/v1/locks/held", {"session": s1, "seq": 5})
        assert st == 200 and "retry" not in got, got
        bodies = [{"seq": "6"}, {"seq": -6}, {"seq": 0}, {"seq": 2 ** 53}, {"seq": 6.5},
                  {"seq": True}, {"seq": None}]
        cases = [("PUT", "/v1/locks/a", dict(b, session=s1), None) for b in bodies]
        cases += [("DELETE", "/v1/locks/held", dict(b, session=s1), None) for b in bodies]
        cases += [("DELETE", "/v1/sessions/" + s1, b, None) for b in bodies]
        cases += [("POST", "/v1/sessions/%s/keepalive" % s1, b, None) for b in bodies]
        cases += [("DELETE", "/v1/locks/held", {"session": s1}, h)
                  for h in ("six", "-6", "0", str(2 ** 53), "6.5", "")]
        cases += [
            ("DELETE", "/v1/locks/held", {"session": s1, "seq": 6}, "7"),  # they disagree
            ("DELETE", "/v1/sessions/" + s1, {"seq": 7}, "6"),
            ("POST", "/v1/sessions", {}, "6"),  # not a request of a session
            ("POST", "/v1/sessions", {"seq": 6}, None),
            ("DELETE", "/v1/locks/held?session=%s&token=0" % s1, None, None),
            ("DELETE", "/v1/locks/held?token=1", {"session": s1, "fencing_token": 2}, None),
            ("DELETE", "/v1/locks/held", {"session": s1, "fencing_token": "1"}, None),
        ]
        before = state(leader)
        for node in (leader, f):
            for method, path, body, header in cases:
                st, err = send(node, method, path, body, header)
                assert st == 400 and err.get("error") == "invalid_argument", (
                    node.id, method, path, body, header, st, err)
                assert err.get("message"), err
                assert state(leader) == before, (method, path, body, header)
        # The record did not move: 5 is still the last, answered as a retry.
        st, got = send(f, "PUT", "/v1/locks/held", {"session": s1}, "5")
        assert st == 200 and got.get("retry") is True, got


def test_a_delayed_release_is_stale_after_a_later_acquire():
    """Issue 24: release 5 is held up (a paused node), the client acquires
    again with 6 and is told it holds the lock; release 5 arriving late is
    409 stale_request and the lock stays held. A repeated seq gets its first
    answer, marked as a retry, through any node."""
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        f = c.followers(leader)[0]
        s1 = session(leader)
        s2 = session(leader)
        st, got = send(leader, "PUT", "/v1/locks/L", {"session": s1, "seq": 4})
        assert st == 200, got
        token = got["fencing_token"]
        st, got = send(f, "PUT", "/v1/locks/L", {"session": s1, "seq": 6})
        assert st == 200 and got["fencing_token"] == token and "retry" not in got, got
        for node in (leader, f):  # release 5 arrives now, by either way
            st, err = send(node, "DELETE", "/v1/locks/L", {"session": s1, "seq": 5})
            assert st == 409 and err["error"] == "stale_request" and err["seq"] == 6, err
            st, err = send(node, "DELETE", "/v1/locks/L?session=" + s1, None, "5")
            assert st == 409 and err["error"] == "stale_request" and err["seq"] == 6, err
        holders = leader.call("GET", "/v1/locks/L").json["holders"]
        assert [(h["session"], h["fencing_token"]) for h in holders] == [(s1, token)], holders
        assert send(leader, "PUT", "/v1/locks/L", {"session": s2})[0] == 409
        # Exactly once: the acquire 6 again is its first answer.
        st, got = send(f, "PUT", "/v1/locks/L", {"session": s1}, "6")
        assert st == 200 and got["fencing_token"] == token and got["retry"] is True, got
        # Release 7, then 7 again: the first answer, though nothing is held now.
        st, got = send(leader, "DELETE", "/v1/locks/L", {"session": s1, "seq": 7})
        assert st == 200 and got == {"released": True}, got
        st, got = send(f, "DELETE", "/v1/locks/L?session=" + s1, None, "7")
        assert st == 200 and got == {"released": True, "retry": True}, got
        assert leader.call("GET", "/v1/sessions/" + s1).json["seq"] == 7
        # Another request under a used number is stale too.
        st, err = send(leader, "PUT", "/v1/locks/M", {"session": s1, "seq": 7})
        assert st == 409 and err["error"] == "stale_request", err
        assert leader.call("GET", "/v1/locks/M").status == 404
        # Keepalives: below the last seq stale, else fine; they move no number.
        st, err = send(f, "POST", "/v1/sessions/%s/keepalive" % s1, {"seq": 6})
        assert st == 409 and err["error"] == "stale_request" and err["seq"] == 7, err
        st, got = send(f, "POST", "/v1/sessions/%s/keepalive" % s1, {"seq": 9})
        assert st == 200, got
        st, got = send(leader, "PUT", "/v1/locks/N", {"session": s1, "seq": 8})
        assert st == 200 and "retry" not in got, got
        # Close 9, then a delayed request of the session: the session is gone.
        st, got = send(leader, "DELETE", "/v1/sessions/" + s1, {"seq": 9})
        assert st == 200 and got == {"released": ["N"]}, got
        st, err = send(leader, "PUT", "/v1/locks/L", {"session": s1, "seq": 3})
        assert st == 404 and err["error"] == "session_not_found", err


def test_a_retried_queued_acquire_never_queues_twice():
    """A queued acquire whose answer was lost, asked again with its seq:
    answered where its wait stands (here: withdrawn, so 409 lock_held), and
    never queued a second time."""
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        s1, s2 = session(leader), session(leader)
        assert send(leader, "PUT", "/v1/locks/Q", {"session": s1})[0] == 200
        st, err = send(leader, "PUT", "/v1/locks/Q", {"session": s2, "wait_ms": 300, "seq": 1})
        assert st == 409 and err["error"] == "lock_held", err
        st, err = send(leader, "PUT", "/v1/locks/Q", {"session": s2, "wait_ms": 300, "seq": 1})
        assert st == 409 and err["error"] == "lock_held" and err["retry"] is True, err
        assert leader.call("GET", "/v1/locks/Q").json["waiters"] == []


def test_a_release_by_token_releases_that_grant_only():
    """DELETE with ?token= or "fencing_token" releases the session's grant
    of that token only: any other token is 200 released:false, no change."""
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        f = c.followers(leader)[0]
        s1 = session(leader)
        st, got = send(leader, "PUT", "/v1/locks/T", {"session": s1})
        token = got["fencing_token"]
        before = state(leader)
        st, got = send(f, "DELETE", "/v1/locks/T?session=%s&token=%d" % (s1, token - 1), None)
        assert st == 200 and got == {"released": False}, got
        st, got = send(leader, "DELETE", "/v1/locks/T", {"session": s1, "fencing_token": token + 1})
        assert st == 200 and got == {"released": False}, got
        assert state(leader) == before
        st, got = send(f, "DELETE", "/v1/locks/T", {"session": s1, "fencing_token": token})
        assert st == 200 and got == {"released": True}, got
        assert leader.call("GET", "/v1/locks/T").status == 404
        st, got = send(leader, "PUT", "/v1/elections/e", {"session": s1, "value": "a"})
        term = got["leader"]["fencing_token"]
        st, got = send(leader, "DELETE", "/v1/elections/e?token=%d" % (term + 1), {"session": s1})
        assert st == 200 and got == {"released": False}, got
        st, got = send(leader, "DELETE", "/v1/elections/e?token=%d" % term, {"session": s1})
        assert st == 200 and got == {"released": True}, got


def long_poll(node, path):
    """Starts GET PATH on NODE, a long-poll, in a thread and checks that it
    still waits half a second later. Returns the thread and a dict that gets
    the reply ("r") and the time it came ("t")."""
    got = {}

    def poll():
        got["r"] = node.call("GET", path, timeout=30)
        got["t"] = time.time()

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.5)
    assert th.is_alive(), "the long-poll answered before any change"
    return th, got


def fill_locks(node, names, per_session=60, threads=8):
    """Takes every lock of NAMES, PER_SESSION to a new session, from THREADS
    clients at once; returns the sessions."""
    sessions = [session(node) for _ in range((len(names) + per_session - 1) // per_session)]
    jobs = [(name, sessions[i // per_session]) for i, name in enumerate(names)]
    failed = []

    def work(part):
        for name, s in part:
            r = node.call("PUT", "/v1/locks/" + name, {"session": s}, timeout=10)
            if r is None or r.status != 200:
                failed.append((name, r))

    ts = [threading.Thread(target=work, args=(jobs[k::threads],)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not failed, failed[:3]
    return sessions


def walk(node, path, key, limit, check=None):
    """Reads the listing PATH (a query may follow) a page of LIMIT at a time,
    each page after the last one's "next", until "next" is null. Checks
    that every page but the last is full and that its "next" is its last
    item's KEY; returns the pages' items, in order, and the number of
    pages."""
    items, after, pages = [], None, 0
    field = "name" if key == "locks" else "id"
    while True:
        q = "%s%slimit=%d" % (path, "&" if "?" in path else "?", limit)
        if after is not None:
            q += "&after=" + after
        r = node.call("GET", q)
        assert r is not None and r.status == 200, (q, r)
        if check:
            check(r)
        page, nxt = r.json[key], r.json["next"]
        pages += 1
        items += page
        assert len(page) <= limit and pages <= 10000, (q, len(page))
        if nxt is None:
            return items, pages
        assert len(page) == limit and nxt == page[-1][field], (q, nxt, page[-1:])
        after = nxt


def test_listings_page_through_everything_in_order():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        f = c.followers(leader)[0]
        p_names = ["p/%04d" % i for i in range(1050)]
        q_names = ["q/%02d" % i for i in range(20)]
        mixed = p_names + q_names
        random.Random(7).shuffle(mixed)
        sessions = fill_locks(leader, mixed)
        every = sorted(mixed)

        # Without ?limit= a page holds 1000 (the default) and names the next.
        r = leader.call("GET", "/v1/locks")
        assert [l["name"] for l in r.json["locks"]] == every[:1000], len(r.json["locks"])
        assert r.json["next"] == every[999], r.json["next"]
        r = leader.call("GET", "/v1/locks?limit=10000")
        assert [l["name"] for l in r.json["locks"]] == every and r.json["next"] is None

        # Small pages from the leader, and forwarded by a follower, see every
        # lock once in name order, with or without a prefix.
        got, pages = walk(leader, "/v1/locks", "locks", 7)
        assert [l["name"] for l in got] == every and pages == 153, pages
        got, pages = walk(f, "/v1/locks?prefix=q/", "locks", 6)
        assert [l["name"] for l in got] == q_names and pages == 4, pages
        # A page that ends exactly at the end is the last: next is null.
        got, pages = walk(f, "/v1/locks?prefix=q/", "locks", 10)
        assert [l["name"] for l in got] == q_names and pages == 2, pages
        r = leader.call("GET", "/v1/locks?prefix=q/&limit=20")
        assert len(r.json["locks"]) == 20 and r.json["next"] is None, r.json["next"]
        # after need not name a lock: the page starts after it in name order;
        # past the end the page is empty and the last.
        r = leader.call("GET", "/v1/locks?after=p/0500x&limit=2")
        assert [l["name"] for l in r.json["locks"]] == ["p/0501", "p/0502"], r
        r = leader.call("GET", "/v1/locks?prefix=q/&after=a&limit=1")
        assert [l["name"] for l in r.json["locks"]] == ["q/00"] and r.json["next"] == "q/00", r
        for path in ("/v1/locks?after=zzz", "/v1/locks?prefix=p/&after=q/00"):
            r = leader.call("GET", path)
            assert r.status == 200 and r.json == {"locks": [], "next": None}, (path, r)

        # Stale reads page too, from the follower's own state.
        deadline = time.time() + 10
        while len(f.call("GET", "/v1/locks?consistency=stale&limit=10000").json["locks"]) < \
                len(every):
            assert time.time() < deadline, "the follower did not catch up"
            time.sleep(0.1)

        def stale(r):
            assert "x-coord-last-contact" in r.headers, r.headers

        got, pages = walk(f, "/v1/locks?consistency=stale", "locks", 250, stale)
        assert [l["name"] for l in got] == every and pages == 5, pages

        # Sessions page in id order, linearizable or stale.
        sessions += [session(leader) for _ in range(5)]
        got, pages = walk(leader, "/v1/sessions", "sessions", 4)
        assert [s["id"] for s in got] == sorted(sessions) and pages == 6, pages
        assert sum(len(s["locks"]) for s in got) == len(every), got[:1]
        got, _ = walk(f, "/v1/sessions?consistency=stale", "sessions", 23)
        assert sorted(s["id"] for s in got) == sorted(sessions), len(got)
        r = leader.call("GET", "/v1/sessions?after=" + "f" * 32)
        assert r.status == 200 and r.json == {"sessions": [], "next": None}, r


def test_a_long_poll_on_a_page_answers_its_page_on_a_change():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        f = c.followers(leader)[0]
        s = session(leader)
        for name in ("lp/a", "lp/b", "lp/c", "lp/d"):
            assert leader.call("PUT", "/v1/locks/" + name, {"session": s}).status == 200
        r = leader.call("GET", "/v1/locks?prefix=lp/&limit=2&after=lp/a")
        idx = int(r.headers["x-coord-index"])
        th, got = long_poll(f, "/v1/locks?prefix=lp/&limit=2&after=lp/a&index=%d&wait=20s" % idx)
        t0 = time.time()
        assert leader.call("PUT", "/v1/locks/lp/bb", {"session": s}).status == 200
        th.join(10)
        r = got["r"]
        assert r.status == 200 and got["t"] - t0 < 2, (r, got["t"] - t0)
        assert [l["name"] for l in r.json["locks"]] == ["lp/b", "lp/bb"], r
        assert r.json["next"] == "lp/bb" and int(r.headers["x-coord-index"]) > idx, r


def test_lock_delay_is_423_with_retry_after():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        s = session(leader, ttl_ms=1000, lock_delay_ms=3000)
        assert leader.call("PUT", "/v1/locks/d", {"session": s}).status == 200
        other = session(leader)
        deadline = time.time() + 10
        while leader.call("GET", "/v1/sessions/" + s).status != 404:
            assert time.time() < deadline, "the session never expired"
            time.sleep(0.1)
        r = leader.call("PUT", "/v1/locks/d", {"session": other})
        assert r.status == 423 and r.json["error"] == "lock_delay", r
        assert 0 < r.json["retry_after_ms"] <= 3000, r
        assert int(r.headers["retry-after"]) >= 1, r.headers
        time.sleep(r.json["retry_after_ms"] / 1000 + 0.3)
        r = leader.call("PUT", "/v1/locks/d", {"session": other})
        assert r.status == 200, r


def test_too_many_locks_for_one_session_is_429():
    with Cluster(COORDD, 1) as c:
        n = c.node(1)
        c.leader()
        s = session(n)
        codes = [n.call("PUT", "/v1/locks/l%d" % i, {"session": s}).status for i in range(70)]
        assert codes[:64] == [200] * 64 and set(codes[64:]) == {429}, codes
        r = n.call("PUT", "/v1/locks/one-more", {"session": s})
        assert r.json["error"] == "too_many", r


def test_no_leader_is_503_after_an_election_timeout():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        for n in c.followers(leader):
            n.kill()
        leader.kill()
        lone = c.node(1)
        lone.start()
        deadline = time.time() + 10
        while lone.status() is None:
            assert time.time() < deadline, "the node did not start"
            time.sleep(0.05)
        t0 = time.time()
        r = lone.call("POST", "/v1/sessions", {}, timeout=10)
        waited = time.time() - t0
        assert r.status == 503 and r.json["error"] == "no_leader", r
        assert r.headers["retry-after"] == "1", r.headers
        assert waited >= c.election_ms / 1000 * 0.9, waited
        assert lone.call("GET", "/v1/health").status == 503


def test_write_without_quorum_is_504_timeout():
    with Cluster(COORDD, 3, election_ms=4000, heartbeat_ms=200) as c:
        leader = c.leader()
        s = session(leader)
        for n in c.followers(leader):
            n.kill()
        r = leader.call("PUT", "/v1/locks/x", {"session": s}, timeout=15)
        # Proposed, but whether it commits is unknown: 504, never a failure;
        # or the leader stepped down first and the proposal is known lost.
        assert r is not None and (r.status, r.json["error"]) in (
            (504, "timeout"), (503, "unavailable")), r


def test_wait_ms_passing_withdraws_the_wait():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        f = c.followers(leader)[0]
        s1, s2 = session(leader), session(leader)
        assert leader.call("PUT", "/v1/locks/w", {"session": s1}).status == 200
        t0 = time.time()
        r = f.call("PUT", "/v1/locks/w", {"session": s2, "wait_ms": 700})
        assert r.status == 409 and r.json["error"] == "lock_held", r
        assert 0.6 < time.time() - t0 < 5, time.time() - t0
        assert leader.call("GET", "/v1/locks/w").json["waiters"] == []


def test_client_hanging_up_withdraws_its_wait():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        s1, s2 = session(leader), session(leader)
        assert leader.call("PUT", "/v1/locks/h", {"session": s1}).status == 200
        for node in (leader, c.followers(leader)[0]):
            r = request(node.http, "PUT", "/v1/locks/h", {"session": s2, "wait_ms": 60000},
                        timeout=0.5)
            assert r is None  # the client gave up
            deadline = time.time() + 5
            while leader.call("GET", "/v1/locks/h").json["waiters"]:
                assert time.time() < deadline, "the wait was not withdrawn"
                time.sleep(0.1)
        # And the lock's next grant does not go to the vanished waiter.
        assert leader.call("DELETE", "/v1/locks/h", {"session": s1}).json["released"]
        assert leader.call("GET", "/v1/locks/h").status == 404


def test_long_polls():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        f = c.followers(leader)[0]
        s = session(leader)
        r = leader.call("GET", "/v1/elections/e")
        idx = int(r.headers["x-coord-index"])
        th, got = long_poll(f, "/v1/elections/e?index=%d&wait=20s" % idx)
        t0 = time.time()
        leader.call("PUT", "/v1/elections/e", {"session": s, "value": "me"})
        th.join(10)
        assert got["r"].status == 200 and got["r"].json["leader"]["value"] == "me", got
        assert got["t"] - t0 < 2, got["t"] - t0
        # An unchanged object answers when the wait passes, 200, same index.
        idx2 = int(got["r"].headers["x-coord-index"])
        t0 = time.time()
        r = leader.call("GET", "/v1/elections/e?index=%d&wait=700ms" % idx2, timeout=10)
        assert r.status == 200 and 0.6 < time.time() - t0 < 3, (r, time.time() - t0)
        # A lock that ceases to exist answers 404 at once.
        assert leader.call("PUT", "/v1/locks/gone", {"session": s}).status == 200
        r = leader.call("GET", "/v1/locks/gone")
        idx3 = int(r.headers["x-coord-index"])
        th = threading.Thread(target=lambda: got.__setitem__(
            "g", leader.call("GET", "/v1/locks/gone?index=%d&wait=20s" % idx3, timeout=30)))
        th.start()
        time.sleep(0.3)
        leader.call("DELETE", "/v1/locks/gone", {"session": s})
        th.join(10)
        assert got["g"].status == 404, got["g"]


def test_stale_reads_carry_last_contact():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        f = c.followers(leader)[0]
        r = f.call("GET", "/v1/locks?consistency=stale")
        assert r.status == 200 and "x-coord-last-contact" in r.headers, r.headers
        r = f.call("GET", "/v1/locks")
        assert r.status == 200 and "x-coord-last-contact" not in r.headers, r.headers


def without_expiry(j):
    """J without the "expires_in_ms" the leader adds to linearizable answers."""
    if isinstance(j, dict):
        return {k: without_expiry(v) for k, v in j.items() if k != "expires_in_ms"}
    if isinstance(j, list):
        return [without_expiry(v) for v in j]
    return j


def direct(node):
    """coord_stale_reads_direct_total of NODE."""
    for line in node.call("GET", "/metrics").raw.splitlines():
        if line.startswith("coord_stale_reads_direct_total "):
            return int(float(line.split()[1]))
    raise AssertionError("no coord_stale_reads_direct_total")


def test_direct_stale_reads_match_the_loops_answers():
    """A stale read that cannot wait is answered as soon as it is decoded,
    from its own read transaction on state.db (DESIGN.md, The life of a
    request): the same body and errors as the loop gives, an X-Coord-Index
    that is the state's applied index, the leader and term the loop knows;
    long-polls that may wait still become calls of the loop."""
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        f = c.followers(leader)[0]
        s = session(leader)
        assert leader.call("PUT", "/v1/locks/off/a", {"session": s}).status == 200
        assert leader.call("PUT", "/v1/kv/off/k", {"value": "v"}).status == 200
        index = leader.call("GET", "/v1/kv/off/k").json["modify_index"]
        wait_for("the follower to apply the key",
                 lambda: f.call("GET", "/v1/kv/off/k?consistency=stale").status == 200)
        before = direct(f)
        paths = ["/v1/locks/off/a", "/v1/locks?prefix=off/", "/v1/sessions/" + s,
                 "/v1/sessions", "/v1/kv/off/k", "/v1/kv?prefix=off/",
                 "/v1/elections/nobody", "/v1/locks/nobody", "/v1/kv/nobody",
                 "/v1/sessions/" + "0" * 32, "/v1/fence?lock=off/a&token=1"]
        for path in paths:
            sep = "&" if "?" in path else "?"
            stale = f.call("GET", path + sep + "consistency=stale")
            linear = leader.call("GET", path)
            assert stale.status == linear.status, (path, stale.status, linear.status)
            body = without_expiry(linear.json)  # the leader's own view, never stale
            assert stale.json == body, (path, stale.json, body)
            assert int(stale.headers["x-coord-index"]) >= index, (path, stale.headers)
            assert stale.headers["x-coord-leader"] == str(leader.id), (path, stale.headers)
            assert stale.headers["x-coord-term"] == linear.headers["x-coord-term"], path
            assert ("x-coord-last-contact" in stale.headers) == (stale.status < 300), path
        assert direct(f) - before == len(paths), (direct(f), before)
        # A long-poll that may wait, and linearizable reads, go to the loop.
        before = direct(f)
        r = f.call("GET", "/v1/kv/off/k?consistency=stale&index=%d&wait=200ms" % index)
        assert r.status == 200 and r.json["value"] == "v", r.json
        assert f.call("GET", "/v1/kv/off/k").status == 200
        assert direct(f) == before, (direct(f), before)


def test_a_sessions_expires_in_ms_counts_down_and_a_keepalive_restores_it():
    """expires_in_ms (API.md, Sessions): the leader's time left before it
    expires the session, in linearizable answers (also through a follower),
    never in stale ones. Slack for a loaded machine: 500 ms.

    A session opened while the new leader is still starting its lease
    keeper is counted from its OPEN entry plus the keeper's slack (two
    keepalive-entry periods, one election timeout): "a new leader sets it
    from the session's last entry, so it can also rise without a
    keepalive". So the first answer is at most ttl + one election timeout."""
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        f = c.followers(leader)[0]
        s = session(leader, ttl_ms=10000)
        path = "/v1/sessions/" + s
        t0 = time.monotonic()
        r = leader.call("GET", path)
        assert r.status == 200 and 0 < r.json["expires_in_ms"] <= 10000 + c.election_ms, r.json
        first = r.json["expires_in_ms"]
        time.sleep(1.5)
        r = leader.call("GET", path)
        elapsed = (time.monotonic() - t0) * 1000
        second = r.json["expires_in_ms"]
        print("expires_in_ms %d, then %d after %.0f ms" % (first, second, elapsed), flush=True)
        assert 500 <= first - second <= elapsed + 500, (first, second, elapsed)
        # A follower forwards a linearizable read: the leader's view again.
        r = f.call("GET", path)
        assert r.status == 200 and 0 < r.json["expires_in_ms"] <= second, (r.json, second)
        listed = [x for x in leader.call("GET", "/v1/sessions").json["sessions"] if x["id"] == s]
        assert len(listed) == 1 and 0 < listed[0]["expires_in_ms"] <= second, listed
        # A keepalive puts it back to the ttl.
        k0 = time.monotonic()
        r = leader.call("POST", path + "/keepalive")
        assert r.status == 200 and r.json["expires_in_ms"] == 10000, r.json
        r = leader.call("GET", path)
        since = (time.monotonic() - k0) * 1000
        after = r.json["expires_in_ms"]
        print("after a keepalive: %d (%.0f ms later)" % (after, since), flush=True)
        assert 10000 - since - 500 <= after <= 10000 and after > second + 500, (after, since)
        # Stale answers never carry it, from a follower or the leader.
        for n in (f, leader):
            r = n.call("GET", path + "?consistency=stale")
            assert r.status == 200 and "expires_in_ms" not in r.json, (n.id, r.json)
            r = n.call("GET", "/v1/sessions?consistency=stale")
            assert r.status == 200 and r.json["sessions"], r.json
            assert all("expires_in_ms" not in x for x in r.json["sessions"]), r.json


def test_url_header_and_slow_client_limits():
    with Cluster(COORDD, 1) as c:
        n = c.node(1)
        c.leader()
        host, port = n.http.rsplit(":", 1)
        # A URL or headers beyond the per-connection memory: refused, not served.
        st, _, _ = raw(n, "GET", "/v1/locks/" + "a" * 100000)
        assert st in (414, 431), st
        st, _, _ = raw(n, "GET", "/v1/status", headers={"X-Big": "b" * 100000})
        assert st in (413, 431), st
        # A client that stops mid-request is cut after the idle time-out,
        # while other clients go on being served.
        slow = socket.create_connection((host, int(port)), timeout=60)
        slow.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n")
        t0 = time.time()
        while time.time() - t0 < 25:
            assert n.call("GET", "/v1/health").status == 200
            time.sleep(1)
        slow.settimeout(15)
        assert slow.recv(1) == b"", "the slow client was not cut"
        assert time.time() - t0 < 40, time.time() - t0
        slow.close()
        assert n.call("GET", "/v1/health").status == 200


def test_metrics_in_prometheus_text():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        s = session(leader)
        for name in ("m1", "m2"):
            assert leader.call("PUT", "/v1/locks/" + name, {"session": s}).status == 200
        for node in c.nodes:
            r = node.call("GET", "/metrics")
            assert r.status == 200 and r.headers["content-type"].startswith("text/plain"), r
            values = {}
            for line in r.raw.splitlines():
                if line.startswith("#") or not line:
                    continue
                name, _, value = line.rpartition(" ")
                float(value)  # every sample is a number
                values[name] = float(value)
            assert values['coord_role{role="leader"}'] == (node.id == leader.id), values
            assert values["coord_locks"] == 2 and values["coord_sessions"] == 1, values
            assert values["coord_applied_index"] >= 4, values
            assert values['coord_http_responses_total{code="2xx"}'] >= 1, values
        values = {l.rpartition(" ")[0]: float(l.rpartition(" ")[2])
                  for l in leader.call("GET", "/metrics").raw.splitlines() if l[:1] != "#"}
        assert values["coord_commit_latency_seconds_count"] >= 3, values
        assert values['coord_commit_latency_seconds_bucket{le="+Inf"}'] == \
            values["coord_commit_latency_seconds_count"], values


ALL = [test_error_table_and_malformed_input, test_listings_page_through_everything_in_order,
       test_a_long_poll_on_a_page_answers_its_page_on_a_change,
       test_lock_delay_is_423_with_retry_after,
       test_too_many_locks_for_one_session_is_429, test_no_leader_is_503_after_an_election_timeout,
       test_write_without_quorum_is_504_timeout, test_wait_ms_passing_withdraws_the_wait,
       test_client_hanging_up_withdraws_its_wait, test_long_polls,
       test_stale_reads_carry_last_contact, test_direct_stale_reads_match_the_loops_answers,
       test_a_sessions_expires_in_ms_counts_down_and_a_keepalive_restores_it,
       test_url_header_and_slow_client_limits,
       test_metrics_in_prometheus_text, test_a_bad_seq_is_400_and_changes_nothing,
       test_a_delayed_release_is_stale_after_a_later_acquire,
       test_a_retried_queued_acquire_never_queues_twice,
       test_a_release_by_token_releases_that_grant_only]

if __name__ == "__main__":
    names = sys.argv[1:]
    run([t for t in ALL if not names or t.__name__ in names])
