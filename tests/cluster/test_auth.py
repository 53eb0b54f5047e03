"""Access tokens (API.md, Access control; issue 17): the bootstrap, creating,
listing and revoking tokens, through real coordd processes. Each test names
what must hold; a refused request must change nothing.
Run: COORDD=build/coord/coordd python3 tests/cluster/test_auth.py [TEST...]"""

import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

from harness import Cluster, Reply, coordd_path, run, wait_for

COORDD = coordd_path()

EVERYTHING = [{"resource": r, "prefix": "", "access": "write"}
              for r in ("locks", "elections", "sessions", "kv")]


def call(node, method, path, body=None, token=None, auth=None):
    """One request to NODE with "Authorization: Bearer TOKEN" (or the raw
    header AUTH); a Reply, or None when the node cannot be reached."""
    host, port = node.http.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=5.0)
    headers = {}
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    if auth is not None:
        headers["Authorization"] = auth
    data = None if body is None else json.dumps(body)
    if data:
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode())
    except OSError:
        return None
    finally:
        conn.close()


def tokens_listed(node, token=None):
    r = call(node, "GET", "/v1/tokens", token=token)
    assert r.status == 200, r
    return r.json["tokens"]


def refused_counts(node, token):
    text = call(node, "GET", "/metrics", token=token).raw
    counts = {}
    for line in text.splitlines():
        if line.startswith("coord_auth_refused_total{"):
            reason = line.split('"')[1]
            counts[reason] = int(line.split()[-1])
    return counts


def bootstrap(node):
    r = node.call("POST", "/v1/auth/bootstrap")
    assert r.status == 201, r
    return r.json["token"]


def make_token(node, admin_token, rules, name="t", admin=False):
    r = call(node, "POST", "/v1/tokens", {"name": name, "rules": rules, "admin": admin},
             token=admin_token)
    assert r.status == 201, r
    return r.json


def session(node, token, name=None):
    body = {"ttl_ms": 60000}
    if name is not None:
        body["name"] = name
    r = call(node, "POST", "/v1/sessions", body, token=token)
    assert r.status == 201, r
    return r.json["id"]


def state(node, admin):
    """Everything a refused request could have changed, as the admin token
    lists it (not the leader's time left per session, which moves by
    itself)."""
    locks = call(node, "GET", "/v1/locks", token=admin)
    sessions = call(node, "GET", "/v1/sessions", token=admin)
    assert locks.status == 200 and sessions.status == 200, (locks, sessions)
    for s in sessions.json["sessions"]:
        s.pop("expires_in_ms", None)
    return (locks.json, sessions.json, tokens_listed(node, admin),
            call(node, "GET", "/v1/elections/e/a", token=admin).json)


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
        listed = tokens_listed(leader, b["token"])
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
        root = bootstrap(leader)
        r = call(f, "POST", "/v1/tokens", {"name": "jobs", "rules": rules}, token=root)
        assert r.status == 201, r
        t = r.json
        assert t["name"] == "jobs" and t["admin"] is False and t["rules"] == rules, t
        assert t["token"].startswith("coord_"), t
        r = call(leader, "POST", "/v1/tokens", {"name": "ops", "rules": [], "admin": True},
                 token=root)
        assert r.status == 201 and r.json["admin"] is True and r.json["rules"] == [], r
        ops = r.json
        assert t["token"] != ops["token"]
        listed = tokens_listed(f, root)
        assert [x["id"] for x in listed] == sorted([listed[0]["id"], t["id"], ops["id"]]), listed
        jobs = [x for x in listed if x["id"] == t["id"]][0]
        assert jobs["name"] == "jobs" and jobs["rules"] == rules, jobs
        assert t["token"] not in str(listed) and ops["token"] not in str(listed)
        # Paging by id.
        r = call(leader, "GET", "/v1/tokens?limit=1&after=%d" % listed[0]["id"], token=root)
        assert r.status == 200 and [x["id"] for x in r.json["tokens"]] == [t["id"]], r
        # Revoking: at once, once. The token was used on both nodes first,
        # so that each has it kept (node_auth.c): the revocation must reach
        # what is kept, not only the tables.
        for node in (leader, f):
            r = call(node, "GET", "/v1/locks", token=t["token"])
            assert r.status == 200, r
        r = call(f, "DELETE", "/v1/tokens/%d" % t["id"], token=root)
        assert r.status == 200 and r.json == {"revoked": t["id"]}, r
        r = call(leader, "GET", "/v1/locks", token=t["token"])
        assert r.status == 401 and r.json["error"] == "unauthenticated", r
        # A linearizable read through the follower waits until it applied
        # the revocation; from then on it refuses the token too.
        assert call(f, "GET", "/v1/tokens", token=root).status == 200
        r = call(f, "GET", "/v1/locks", token=t["token"])
        assert r.status == 401 and r.json["error"] == "unauthenticated", r
        r = call(leader, "DELETE", "/v1/tokens/%d" % t["id"], token=root)
        assert r.status == 404 and r.json["error"] == "not_found", r
        r = call(leader, "DELETE", "/v1/tokens/999999", token=root)
        assert r.status == 404, r
        assert t["id"] not in [x["id"] for x in tokens_listed(leader, root)]


def test_bad_token_requests_are_400_and_change_nothing():
    with Cluster(COORDD, 1) as c:
        leader = c.leader()
        root = bootstrap(leader)
        before = tokens_listed(leader, root)
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
            r = call(leader, "POST", "/v1/tokens", body, token=root)
            assert r.status == 400 and r.json["error"] == "invalid_argument", (body, r)
            assert word in r.json["message"], (body, r)
        for path in ("/v1/tokens/0", "/v1/tokens/x", "/v1/tokens/99999999999999999999"):
            r = call(leader, "DELETE", path, token=root)
            assert r.status in (404, 400), (path, r)
        r = call(leader, "GET", "/v1/tokens?after=x", token=root)
        assert r.status == 400, r
        assert tokens_listed(leader, root) == before


def test_before_the_bootstrap_everything_is_open():
    with Cluster(COORDD, 1) as c:
        leader = c.leader()
        sid = session(leader, None)
        assert leader.call("PUT", "/v1/locks/a", {"session": sid}).status == 200
        for path in ("/v1/locks", "/v1/sessions", "/v1/status", "/v1/members", "/metrics"):
            assert leader.call("GET", path).status == 200, path


def test_with_auth_flag_only_health_and_bootstrap_before_it():
    with Cluster(COORDD, 3, extra_args=["--auth"]) as c:
        n1 = c.node(1)
        wait_for("a node answers", lambda: getattr(call(n1, "GET", "/v1/health"), "status", 0) == 200)
        for method, path, body in (("GET", "/v1/locks", None), ("GET", "/v1/status", None),
                                   ("POST", "/v1/sessions", {}), ("GET", "/metrics", None),
                                   ("GET", "/v1/members", None), ("GET", "/v1/tokens", None),
                                   ("GET", "/v1/locks?consistency=stale", None),
                                   ("GET", "/v1/kv/a?consistency=stale", None)):
            r = call(n1, method, path, body)
            assert r.status == 401 and r.json["error"] == "unauthenticated", (path, r)
        root = None
        for _ in range(100):  # until a leader is elected
            r = call(n1, "POST", "/v1/auth/bootstrap")
            if r.status == 201:
                root = r.json["token"]
                break
            assert r.status == 503, r
            time.sleep(0.1)
        assert root, "no bootstrap"
        for n in c.nodes:
            wait_for("the token reaches node %d" % n.id,
                     lambda: call(n, "GET", "/v1/status", token=root).status == 200)
            assert call(n, "GET", "/v1/locks").status == 401


def test_after_the_bootstrap_every_request_needs_a_valid_token():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        f = c.followers(leader)[0]
        sid = session(leader, None)  # made while open
        root = bootstrap(leader)
        t = make_token(leader, root, [{"resource": "locks", "prefix": "", "access": "write"}])
        for n in (leader, f):
            wait_for("the revocable token reaches node %d" % n.id,
                     lambda: call(n, "GET", "/v1/status", token=t["token"]).status == 200)
        before = state(leader, root)
        counts = refused_counts(leader, root)
        requests = [("GET", "/v1/locks", None), ("PUT", "/v1/locks/a", {"session": sid}),
                    ("GET", "/v1/sessions", None), ("POST", "/v1/sessions", {}),
                    ("POST", "/v1/sessions/%s/keepalive" % sid, None),
                    ("DELETE", "/v1/sessions/%s" % sid, None),
                    ("GET", "/v1/status", None), ("GET", "/v1/members", None),
                    ("GET", "/metrics", None), ("GET", "/v1/tokens", None),
                    ("POST", "/v1/tokens", {"name": "x", "rules": []})]
        bad = [None, "Bearer", "Bearer ", "Basic x", "", "bearer", "Bearer a b",
               "Bearer coord_" + "0" * 64]
        for node in (leader, f):
            for method, path, body in requests:
                for auth in bad:
                    r = call(node, method, path, body, auth=auth)
                    assert r.status == 401 and r.json["error"] == "unauthenticated", \
                        (node.id, method, path, auth, r)
            assert call(node, "GET", "/v1/health").status == 200
            assert call(node, "GET", "/v1/health", auth="Basic x").status == 200
        # Revoked: refused at once, on the node that revoked it.
        r = call(leader, "DELETE", "/v1/tokens/%d" % t["id"], token=root)
        assert r.status == 200, r
        r = call(leader, "GET", "/v1/locks", token=t["token"])
        assert r.status == 401 and r.json["error"] == "unauthenticated", r
        wait_for("the revocation reaches the follower",
                 lambda: call(f, "GET", "/v1/locks", token=t["token"]).status == 401)
        after = state(leader, root)
        assert after[0] == before[0] and after[1] == before[1] and after[3] == before[3], \
            (before, after)
        moved = refused_counts(leader, root)
        want = len(requests) * len(bad) + 1
        assert moved["unauthenticated"] >= counts.get("unauthenticated", 0) + want, \
            (counts, moved)
        assert moved["permission_denied"] == counts.get("permission_denied", 0), (counts, moved)
        # Admin only: metrics unless --metrics-public.
        user = make_token(leader, root, [{"resource": "locks", "prefix": "", "access": "read"}])
        wait_for("the token reaches the leader",
                 lambda: call(leader, "GET", "/v1/status", token=user["token"]).status == 200)
        r = call(leader, "GET", "/metrics", token=user["token"])
        assert r.status == 403 and r.json["error"] == "permission_denied", r
        assert refused_counts(leader, root)["permission_denied"] == moved["permission_denied"] + 1


def test_metrics_public_serves_metrics_without_a_token():
    with Cluster(COORDD, 1, extra_args=["--metrics-public"]) as c:
        leader = c.leader()
        root = bootstrap(leader)
        r = call(leader, "GET", "/metrics")
        assert r.status == 200 and "coord_auth_refused_total" in r.raw, r
        assert call(leader, "GET", "/v1/members").status == 401
        assert call(leader, "GET", "/v1/members", token=root).status == 200


def test_rules_decide_locks_elections_and_admin_operations():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        f = c.followers(leader)[0]
        root = bootstrap(leader)
        jobs = make_token(leader, root, [{"resource": "locks", "prefix": "jobs/",
                                          "access": "write"},
                                         {"resource": "sessions", "prefix": "", "access": "write"},
                                         {"resource": "elections", "prefix": "e/",
                                          "access": "write"}])["token"]
        reader = make_token(leader, root, [{"resource": "locks", "prefix": "", "access": "read"},
                                           {"resource": "elections", "prefix": "",
                                            "access": "read"}])["token"]
        for n in (leader, f):
            wait_for("the tokens reach node %d" % n.id,
                     lambda: call(n, "GET", "/v1/status", token=reader).status == 200)
        other = session(leader, root)
        assert call(leader, "PUT", "/v1/locks/other/a", {"session": other}, token=root).status == 200
        before = state(leader, root)
        counts = refused_counts(leader, root)
        for node in (leader, f):
            sid = session(node, jobs)
            r = call(node, "PUT", "/v1/locks/jobs/a", {"session": sid}, token=jobs)
            assert r.status == 200, r
            r = call(node, "GET", "/v1/locks/jobs/a", token=reader)
            assert r.status == 200 and r.json["holders"][0]["session"] == sid, r
            r = call(node, "DELETE", "/v1/locks/jobs/a", {"session": sid}, token=jobs)
            assert r.status == 200 and r.json["released"] is True, r
            r = call(node, "PUT", "/v1/elections/e/a", {"session": sid, "value": "x"},
                     token=jobs)
            assert r.status == 200, r
            r = call(node, "DELETE", "/v1/elections/e/a", {"session": sid}, token=jobs)
            assert r.status == 200, r
            r = call(node, "DELETE", "/v1/sessions/%s" % sid, token=jobs)
            assert r.status == 200, r
        mid = state(leader, root)
        refused = [
            (jobs, "PUT", "/v1/locks/other/a", {"session": other}, "locks:other/a:write"),
            (jobs, "DELETE", "/v1/locks/other/a", {"session": other}, "locks:other/a:write"),
            (jobs, "GET", "/v1/locks/other/a", None, "locks:other/a:read"),
            (jobs, "PUT", "/v1/elections/f/a", {"session": other}, "elections:f/a:write"),
            (jobs, "GET", "/v1/fence?lock=other/a&token=1", None, "locks:other/a:read"),
            (jobs, "GET", "/v1/tokens", None, "admin"),
            (jobs, "POST", "/v1/tokens", {"name": "x", "rules": []}, "admin"),
            (jobs, "DELETE", "/v1/tokens/1", None, "admin"),
            (jobs, "GET", "/v1/members", None, "admin"),
            (jobs, "POST", "/v1/leader/transfer", {}, "admin"),
            (jobs, "GET", "/v1/snapshot", None, "admin"),
            (reader, "PUT", "/v1/locks/jobs/a", {"session": other}, "locks:jobs/a:write"),
            (reader, "DELETE", "/v1/locks/other/a", {"session": other}, "locks:other/a:write"),
            (reader, "POST", "/v1/sessions", {}, "sessions::write"),
            (reader, "POST", "/v1/sessions/%s/keepalive" % other, None, "sessions:*:write"),
            (reader, "DELETE", "/v1/sessions/%s" % other, None, "sessions:*:write"),
            (reader, "PATCH", "/v1/elections/e/a", {"session": other, "value": "v"},
             "elections:e/a:write"),
        ]
        for node in (leader, f):
            for token, method, path, body, missing in refused:
                r = call(node, method, path, body, token=token)
                assert r.status == 403 and r.json["error"] == "permission_denied", \
                    (node.id, method, path, r)
                assert r.json.get("missing") == missing, (path, r.json)
                assert "jobs/" not in r.json["message"] or "jobs/" in missing, r.json
        assert state(leader, root) == mid
        assert mid[0] == before[0], (before, mid)
        moved = refused_counts(leader, root)
        assert moved["permission_denied"] == counts["permission_denied"] + len(refused), \
            (counts, moved)
        # A read rule reads: the lock other/a is visible to the reader.
        r = call(leader, "GET", "/v1/locks/other/a", token=reader)
        assert r.status == 200, r


def test_listings_show_only_what_the_token_may_read():
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        f = c.followers(leader)[0]
        root = bootstrap(leader)
        jobs = make_token(leader, root, [{"resource": "locks", "prefix": "jobs/",
                                          "access": "read"},
                                         {"resource": "sessions", "prefix": "ci-",
                                          "access": "write"}])["token"]
        for n in (leader, f):
            wait_for("the token reaches node %d" % n.id,
                     lambda: call(n, "GET", "/v1/status", token=jobs).status == 200)
        mine = session(leader, jobs, name="ci-1")
        r = call(leader, "POST", "/v1/sessions", {"name": "prod"}, token=jobs)
        assert r.status == 403 and r.json["missing"] == "sessions:prod:write", r
        theirs = session(leader, root, name="prod")
        for name in ("jobs/a", "jobs/b", "other/a", "zz/a"):
            r = call(leader, "PUT", "/v1/locks/" + name, {"session": theirs}, token=root)
            assert r.status == 200, r
        for node in (leader, f):
            for q in ("", "?consistency=stale"):
                r = call(node, "GET", "/v1/locks" + q, token=jobs)
                assert r.status == 200, r
                assert [x["name"] for x in r.json["locks"]] == ["jobs/a", "jobs/b"], r
                r = call(node, "GET", "/v1/sessions" + q, token=jobs)
                assert r.status == 200, r
                assert [x["id"] for x in r.json["sessions"]] == [mine], r
            # Paging stays correct: pages of one, some of them empty.
            seen, after = [], None
            for _ in range(10):
                path = "/v1/locks?limit=1" + ("&after=" + after if after else "")
                r = call(node, "GET", path, token=jobs)
                assert r.status == 200 and len(r.json["locks"]) <= 1, r
                seen += [x["name"] for x in r.json["locks"]]
                after = r.json["next"]
                if after is None:
                    break
            assert seen == ["jobs/a", "jobs/b"], seen
            # A session by id is read by its label, as the listing shows it.
            r = call(node, "GET", "/v1/sessions/%s" % theirs, token=jobs)
            assert r.status == 403 and r.json["missing"] == "sessions:prod:read", r
        r = call(leader, "GET", "/v1/locks", token=root)
        assert len(r.json["locks"]) == 4, r
        # A session's own parts are filtered too: another token's session
        # whose label the token may read shows only the locks it may read.
        shared = session(leader, root, name="ci-shared")
        for name in ("jobs/c", "other/c"):
            r = call(leader, "PUT", "/v1/locks/" + name, {"session": shared}, token=root)
            assert r.status == 200, r
        for node in (leader, f):
            wait_for("node %d applied the locks" % node.id,
                     lambda: len(call(node, "GET", "/v1/locks?consistency=stale",
                                      token=root).json["locks"]) == 6)
            r = call(node, "GET", "/v1/sessions/%s" % shared, token=jobs)
            assert r.status == 200, r
            assert [x["name"] for x in r.json["locks"]] == ["jobs/c"], r


def secret_file(directory, text, mode=0o600, name="bootstrap.token"):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def test_bootstrap_token_file_bootstraps_the_cluster_with_its_secret():
    """coordd --bootstrap-token-file: the first leader bootstraps with the
    file's secret; nothing runs open in between (it implies --auth); the
    API's bootstrap then answers 409; a restart changes nothing."""
    d = tempfile.mkdtemp(prefix="coord-boot-")
    secret = "ops-" + secrets.token_hex(32)
    path = secret_file(d, secret + "\n")
    try:
        with Cluster(COORDD, 3, extra_args=["--bootstrap-token-file", path]) as c:
            for n in c.nodes:
                wait_for("node %d takes the file's token" % n.id,
                         lambda: getattr(call(n, "GET", "/v1/tokens", token=secret),
                                         "status", 0) == 200)
                assert call(n, "GET", "/v1/locks").status == 401
            listed = tokens_listed(c.node(1), secret)
            assert [(t["name"], t["admin"]) for t in listed] == [("bootstrap", True)], listed
            r = call(c.node(1), "POST", "/v1/auth/bootstrap")
            assert r.status == 409 and r.json["error"] == "conflict", r
            sid = session(c.node(1), secret)
            r = call(c.node(2), "PUT", "/v1/locks/a", {"session": sid}, token=secret)
            assert r.status == 200, r
            leader = c.node(call(c.node(1), "GET", "/v1/status", token=secret).json["leader"]["id"])
            leader.stop()
            leader.start()
            wait_for("the restarted node serves the token",
                     lambda: getattr(call(leader, "GET", "/v1/tokens", token=secret),
                                     "status", 0) == 200)
            assert len(tokens_listed(leader, secret)) == 1
            for n in c.nodes:
                assert secret not in n.log_text(), "a node logged the secret"
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_a_bad_bootstrap_token_file_refuses_to_start():
    d = tempfile.mkdtemp(prefix="coord-boot-")
    base = [COORDD, "--data", os.path.join(d, "data"), "--http", "127.0.0.1:1",
            "--raft", "127.0.0.1:2", "--bootstrap-token-file"]
    try:
        cases = [(os.path.join(d, "missing"), "No such file"),
                 (secret_file(d, "short\n", name="short"), "32 to 128 characters"),
                 (secret_file(d, "x" * 40 + " y\n", name="space"), "32 to 128 characters"),
                 (secret_file(d, "x" * 40 + "\nsecond line\n", name="lines"),
                  "32 to 128 characters"),
                 (secret_file(d, "x" * 300, name="long"), "longer than a secret")]
        for path, why in cases:
            r = subprocess.run(base + [path], capture_output=True, text=True, timeout=10)
            assert r.returncode == 1 and why in r.stdout + r.stderr, (path, why, r)
            assert path in r.stdout + r.stderr, r
            if os.path.exists(path):
                os.unlink(path)
        assert not os.path.exists(os.path.join(d, "data")), "the data folder was touched"
    finally:
        shutil.rmtree(d, ignore_errors=True)


ALL = [
    test_bootstrap_works_once_and_shows_the_secret_once,
    test_create_list_and_revoke_tokens,
    test_bad_token_requests_are_400_and_change_nothing,
    test_before_the_bootstrap_everything_is_open,
    test_with_auth_flag_only_health_and_bootstrap_before_it,
    test_after_the_bootstrap_every_request_needs_a_valid_token,
    test_metrics_public_serves_metrics_without_a_token,
    test_rules_decide_locks_elections_and_admin_operations,
    test_listings_show_only_what_the_token_may_read,
    test_bootstrap_token_file_bootstraps_the_cluster_with_its_secret,
    test_a_bad_bootstrap_token_file_refuses_to_start,
]

if __name__ == "__main__":
    names = sys.argv[1:]
    run([t for t in ALL if not names or t.__name__ in names])
