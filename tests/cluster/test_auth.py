"""Access tokens (API.md, Access control; issue 17): the bootstrap, creating,
listing and revoking tokens, through real coordd processes. Each test names
what must hold; a refused request must change nothing.
Run: COORDD=build/coord/coordd python3 tests/cluster/test_auth.py [TEST...]"""

import sys

from harness import Cluster, coordd_path, run

COORDD = coordd_path()

EVERYTHING = [{"resource": r, "prefix": "", "access": "write"}
              for r in ("locks", "elections", "sessions", "kv")]


def tokens_listed(node):
    r = node.call("GET", "/v1/tokens")
    assert r.status == 200, r
    return r.json["tokens"]


def test_bootstrap_works_once_and_shows_the_secret_once():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        f = c.followers(leader)[0]
        # Through a follower: the write is forwarded to the leader, and the
        # answer (with the secret the leader drew) comes back.
        r = f.call("POST", "/v1/auth/bootstrap")
        assert r.status == 201, r
        b = r.json
        assert b["admin"] is True and b["id"] > 0, b
        assert b["token"].startswith("coord_") and len(b["token"]) == 70, b
        assert b["rules"] == EVERYTHING, b
        again = leader.call("POST", "/v1/auth/bootstrap")
        assert again.status == 409 and again.json["error"] == "conflict", again
        listed = tokens_listed(leader)
        assert [t["id"] for t in listed] == [b["id"]], listed
        assert b["token"] not in str(listed)
        assert "hash" not in listed[0] and "token" not in listed[0], listed
        for n in c.nodes:
            assert b["token"] not in n.log_text(), "a node logged the secret"


def test_create_list_and_revoke_tokens():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        f = c.followers(leader)[0]
        rules = [{"resource": "locks", "prefix": "jobs/", "access": "write"},
                 {"resource": "sessions", "prefix": "", "access": "read"}]
        # Before the bootstrap no token may exist.
        r = leader.call("POST", "/v1/tokens", {"name": "early", "rules": rules})
        assert r.status == 409 and r.json["error"] == "conflict", r
        assert leader.call("POST", "/v1/auth/bootstrap").status == 201
        r = f.call("POST", "/v1/tokens", {"name": "jobs", "rules": rules})
        assert r.status == 201, r
        t = r.json
        assert t["name"] == "jobs" and t["admin"] is False and t["rules"] == rules, t
        assert t["token"].startswith("coord_"), t
        r = leader.call("POST", "/v1/tokens", {"name": "ops", "rules": [], "admin": True})
        assert r.status == 201 and r.json["admin"] is True and r.json["rules"] == [], r
        ops = r.json
        assert t["token"] != ops["token"]
        listed = tokens_listed(f)
        assert [x["id"] for x in listed] == sorted([listed[0]["id"], t["id"], ops["id"]]), listed
        jobs = [x for x in listed if x["id"] == t["id"]][0]
        assert jobs["name"] == "jobs" and jobs["rules"] == rules, jobs
        assert t["token"] not in str(listed) and ops["token"] not in str(listed)
        # Paging by id.
        r = leader.call("GET", "/v1/tokens?limit=1&after=%d" % listed[0]["id"])
        assert r.status == 200 and [x["id"] for x in r.json["tokens"]] == [t["id"]], r
        # Revoking: at once, once.
        r = f.call("DELETE", "/v1/tokens/%d" % t["id"])
        assert r.status == 200 and r.json == {"revoked": t["id"]}, r
        r = leader.call("DELETE", "/v1/tokens/%d" % t["id"])
        assert r.status == 404 and r.json["error"] == "not_found", r
        r = leader.call("DELETE", "/v1/tokens/999999")
        assert r.status == 404, r
        assert t["id"] not in [x["id"] for x in tokens_listed(leader)]


def test_bad_token_requests_are_400_and_change_nothing():
    with Cluster(COORDD, 1) as c:
        leader = c.leader()
        assert leader.call("POST", "/v1/auth/bootstrap").status == 201
        before = tokens_listed(leader)
        rule = {"resource": "locks", "prefix": "a/", "access": "write"}
        cases = [
            ({"rules": [dict(rule, resource="tables")]}, "resource"),
            ({"rules": [dict(rule, access="admin")]}, "access"),
            ({"rules": [dict(rule, prefix="x" * 256)]}, "prefix"),
            ({"rules": [dict(rule, prefix=5)]}, "prefix"),
            ({"rules": [{"resource": "locks", "prefix": "a/"}]}, "rules[0]"),
            ({"rules": [dict(rule, extra=1)]}, "rules[0]"),
            ({"rules": [rule] * 33}, "rules"),
            ({"rules": rule}, "rules"),
            ({"admin": "yes"}, "admin"),
            ({"name": 7}, "name"),
            ({"secret": "x"}, "secret"),
        ]
        for body, word in cases:
            r = leader.call("POST", "/v1/tokens", body)
            assert r.status == 400 and r.json["error"] == "invalid_argument", (body, r)
            assert word in r.json["message"], (body, r)
        for path in ("/v1/tokens/0", "/v1/tokens/x", "/v1/tokens/99999999999999999999"):
            r = leader.call("DELETE", path)
            assert r.status in (404, 400), (path, r)
        r = leader.call("GET", "/v1/tokens?after=x")
        assert r.status == 400, r
        assert tokens_listed(leader) == before


ALL = [
    test_bootstrap_works_once_and_shows_the_secret_once,
    test_create_list_and_revoke_tokens,
    test_bad_token_requests_are_400_and_change_nothing,
]

if __name__ == "__main__":
    names = sys.argv[1:]
    run([t for t in ALL if not names or t.__name__ in names])
