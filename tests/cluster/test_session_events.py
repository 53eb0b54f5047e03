"""Session events (API.md, Sessions: Session events) through real HTTP on a
3-node loopback cluster: a holder learns that another session queued, a
waiter learns of a grant whose answer it never got, an expired session's
events list what it lost, a long-poll on events wakes on the next one, and
a read from before the kept events is 410.

The tests of one run share one cluster, each with locks of its own.
Run: COORDD=build/coord/coordd python3 tests/cluster/test_session_events.py [TEST...]"""

import sys
import threading
import time

from harness import Cluster, coordd_path, request, run, wait_for

COORDD = coordd_path()
KEPT = 64  # COORD_SESSION_EVENTS_MAX


def ok(r, status=200):
    assert r is not None and r.status == status, r
    return r.json


def refused(r, status, code):
    assert r is not None and r.status == status and r.json["error"] == code, r
    return r.json


def session(node, ttl_ms=60000):
    return ok(node.call("POST", "/v1/sessions", {"ttl_ms": ttl_ms}), 201)["id"]


def events(node, sid, query=""):
    return ok(node.call("GET", "/v1/sessions/%s/events%s" % (sid, query)))


def kinds(answer):
    """The events of ANSWER as "type subject why" lines, as the unit test
    writes them."""
    return ["%s" % " ".join(str(e[f]) for f in ("type", "lock", "election", "key", "why")
                             if f in e) for e in answer["events"]]


_shared = {}


def cluster():
    if "c" not in _shared:
        c = Cluster(COORDD, 3)
        c.__enter__()
        _shared["c"] = c
        c.leader()
    return _shared["c"]


def test_a_holder_learns_of_a_waiter_and_the_waiter_of_a_grant_it_was_not_answered():
    c = cluster()
    leader = c.leader()
    follower = c.followers(leader)[0]
    s1, s2 = session(leader), session(leader)
    token = ok(leader.call("PUT", "/v1/locks/ev/a", {"session": s1}))["fencing_token"]
    assert events(leader, s1)["events"] == []  # an uncontended grant records nothing

    # S2 queues through a follower, which is then paused: the answer of its
    # acquire never reaches the client.
    got = {}
    th = threading.Thread(target=lambda: got.update(r=follower.call(
        "PUT", "/v1/locks/ev/a", {"session": s2, "wait_ms": 60000}, timeout=3)))
    th.start()
    conflict = wait_for("S1 learns that S2 waits",
                        lambda: events(leader, s1)["events"])
    assert kinds(events(leader, s1)) == ["conflicting_request ev/a"], conflict
    assert conflict[0]["session"] == s2 and conflict[0]["mode"] == "exclusive", conflict
    assert conflict[0]["fencing_token"] == token, conflict
    follower.pause()
    try:
        # The holder finishes and releases: cooperative release.
        ok(leader.call("DELETE", "/v1/locks/ev/a?session=" + s1))
        th.join()
        assert got["r"] is None, got  # the client gave up without an answer
        e = events(leader, s2)
        assert kinds(e) == ["lock_granted ev/a"], e
        holders = ok(leader.call("GET", "/v1/locks/ev/a"))["holders"]
        assert holders[0]["session"] == s2, holders
        assert e["events"][0]["fencing_token"] == holders[0]["fencing_token"], (e, holders)
        assert e["ended"] is False and e["index"] >= e["events"][0]["index"], e
    finally:
        follower.resume()
    # Any node answers the same events (a stale read once it caught up).
    c.wait_applied(e["index"])
    assert events(follower, s2, "?consistency=stale")["events"] == e["events"]


def test_an_expired_session_lists_what_it_lost():
    c = cluster()
    leader = c.leader()
    s = session(leader, ttl_ms=2000)
    ok(leader.call("PUT", "/v1/locks/ev/b", {"session": s}))
    ok(leader.call("PUT", "/v1/elections/ev/e", {"session": s, "value": "me"}))
    ok(leader.call("PUT", "/v1/kv/ev/k", {"value": "up", "session": s}))
    ok(leader.call("POST", "/v1/sessions/%s/keepalive" % s))
    # Half the TTL without a keepalive: the leader says it is expiring.
    expiring = wait_for("an expiring event", lambda: [
        e for e in events(leader, s).get("events", []) if e["type"] == "expiring"], timeout=3)
    assert 0 <= expiring[0]["expires_in_ms"] < 1000 and "index" not in expiring[0], expiring
    wait_for("the session expired", lambda: leader.call(
        "GET", "/v1/sessions/" + s).status == 404, timeout=10)
    e = events(leader, s)
    assert e["ended"] is True and "ttl_ms" not in e, e
    assert kinds(e) == ["lock_lost ev/b expired", "election_lost ev/e expired",
                        "key_deleted ev/k session_ended", "session_ended expired"], e
    assert len({x["index"] for x in e["events"]}) == 1, e  # all in the expiring entry
    refused(leader.call("GET", "/v1/sessions/%s/events" % ("0" * 32)), 404, "session_not_found")


def test_a_long_poll_on_events_wakes_on_a_new_event():
    c = cluster()
    leader = c.leader()
    s1, s2 = session(leader), session(leader)
    ok(leader.call("PUT", "/v1/locks/ev/c", {"session": s1}))
    since = events(leader, s1)["index"]
    got = {}

    def poll():
        got["r"] = leader.call("GET", "/v1/sessions/%s/events?index=%d&wait=20s" % (s1, since),
                               timeout=30)
        got["t"] = time.time()

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.5)
    assert th.is_alive(), "the long-poll answered before any event: %r" % got
    # An unrelated write does not wake it.
    ok(leader.call("PUT", "/v1/kv/ev/other", {"value": "x"}))
    time.sleep(0.3)
    assert th.is_alive(), "the long-poll answered with no event of its own: %r" % got
    t0 = time.time()
    refused(leader.call("PUT", "/v1/locks/ev/c", {"session": s2, "wait_ms": 1}), 409, "lock_held")
    th.join()
    r = ok(got["r"])
    assert got["t"] - t0 < 5, got
    assert kinds(r) == ["conflicting_request ev/c"], r
    assert r["index"] >= r["events"][0]["index"] > since, r
    # The next poll from the answer's index waits again.
    r2 = events(leader, s1, "?index=%d&wait=300ms" % r["index"])
    assert r2["events"] == [], r2


def test_a_read_from_before_the_kept_events_is_410():
    c = cluster()
    leader = c.leader()
    s1, s2 = session(leader), session(leader)
    ok(leader.call("PUT", "/v1/locks/ev/d", {"session": s1}))
    for _ in range(KEPT + 3):  # each try queues, then is withdrawn: one event
        refused(leader.call("PUT", "/v1/locks/ev/d", {"session": s2, "wait_ms": 1}),
                409, "lock_held")
    all_kept = events(leader, s1)
    assert len(all_kept["events"]) == KEPT, len(all_kept["events"])
    gone = refused(leader.call("GET", "/v1/sessions/%s/events?index=0" % s1), 410, "compacted")
    assert 0 < gone["index"] < all_kept["events"][0]["index"], (gone, all_kept["events"][0])
    again = events(leader, s1, "?index=%d" % gone["index"])
    assert again["events"] == all_kept["events"], again


ALL = [test_a_holder_learns_of_a_waiter_and_the_waiter_of_a_grant_it_was_not_answered,
       test_an_expired_session_lists_what_it_lost,
       test_a_long_poll_on_events_wakes_on_a_new_event,
       test_a_read_from_before_the_kept_events_is_410]

if __name__ == "__main__":
    names = sys.argv[1:]
    failed = True
    try:
        run([t for t in ALL if not names or t.__name__ in names])
    except SystemExit as e:
        failed = e.code == 1
        raise
    finally:
        for cl in _shared.values():
            cl.close(keep=failed)
