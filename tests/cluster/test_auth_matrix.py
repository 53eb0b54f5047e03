"""Access control, exhaustively (API.md, Access control; issue 17): every
operation of the op table (http/op.c) with every kind of credential (none,
a malformed header, an unknown token, a revoked token, a token lacking the
rule, a token with the rule), sent to the leader and to a follower (a
follower checks before it forwards); and a session used by a token that did
not create it. A refused request answers 401 `unauthenticated` or 403
`permission_denied` naming the missing rule, and changes nothing: the state
an admin token lists afterwards (locks, sessions, elections, tokens,
members, the commit index) is the state before.
Run: COORDD=build/coord/coordd python3 tests/cluster/test_auth_matrix.py [TEST...]"""

import http.client
import json
import os
import re
import sys

from harness import Cluster, Reply, coordd_path, run, wait_for
from test_auth import bootstrap, make_token

COORDD = coordd_path()
OP_TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "http", "op.c")

# What each operation needs, as API.md's table under Access control says it:
# (resource, access) in the op table's terms (http/op.c: NO, LK, EL, SS; O
# open, T any valid token, R read, W write, A admin), with its method and
# route. A row of the op table that is not here, or differs, fails the test.
CONTRACT = {
    "session_create": ("POST", "/v1/sessions", "SS", "W"),
    "session_list": ("GET", "/v1/sessions", "SS", "R"),
    "session_get": ("GET", "/v1/sessions/{id}", "SS", "R"),
    "session_events": ("GET", "/v1/sessions/{id}/events", "SS", "R"),
    "session_keepalive": ("POST", "/v1/sessions/{id}/keepalive", "SS", "W"),
    "lock_list": ("GET", "/v1/locks", "LK", "R"),
    "lock_acquire": ("PUT", "/v1/locks/{name}", "LK", "W"),
    "lock_get": ("GET", "/v1/locks/{name}", "LK", "R"),
    "fence": ("GET", "/v1/fence", "LK", "R"),
    "lock_release": ("DELETE", "/v1/locks/{name}", "LK", "W"),
    "election_campaign": ("PUT", "/v1/elections/{name}", "EL", "W"),
    "election_get": ("GET", "/v1/elections/{name}", "EL", "R"),
    "election_proclaim": ("PATCH", "/v1/elections/{name}", "EL", "W"),
    "election_resign": ("DELETE", "/v1/elections/{name}", "EL", "W"),
    "session_close": ("DELETE", "/v1/sessions/{id}", "SS", "W"),
    "status": ("GET", "/v1/status", "NO", "T"),
    "health": ("GET", "/v1/health", "NO", "O"),
    "metrics": ("GET", "/metrics", "NO", "A"),
    "member_list": ("GET", "/v1/members", "NO", "A"),
    "member_add": ("POST", "/v1/members", "NO", "A"),
    "member_promote": ("POST", "/v1/members/{member}/promote", "NO", "A"),
    "member_remove": ("DELETE", "/v1/members/{member}", "NO", "A"),
    "member_replace": ("POST", "/v1/members/replace", "NO", "A"),
    "leader_transfer": ("POST", "/v1/leader/transfer", "NO", "A"),
    "snapshot": ("GET", "/v1/snapshot", "NO", "A"),
    "auth_bootstrap": ("POST", "/v1/auth/bootstrap", "NO", "O"),
    "token_create": ("POST", "/v1/tokens", "NO", "A"),
    "token_list": ("GET", "/v1/tokens", "NO", "A"),
    "token_revoke": ("DELETE", "/v1/tokens/{id}", "NO", "A"),
    "ui": ("GET", "/ui", "NO", "O"),
    "kv_list": ("GET", "/v1/kv", "KV", "R"),
    "kv_get": ("GET", "/v1/kv/{name}", "KV", "R"),
    "kv_put": ("PUT", "/v1/kv/{name}", "KV", "W"),
    "kv_delete": ("DELETE", "/v1/kv/{name}", "KV", "W"),
    "kv_txn": ("POST", "/v1/txn", "KV", "W"),
}

# The path kinds of op.c: the segment a row's path takes after its prefix.
PATH_SEGMENT = {"E": "", "S": "{id}", "N": "{name}", "M": "{member}", "I": "{id}"}


def op_table():
    """The rows of http/op.c: name -> (method, route, resource, access)."""
    with open(OP_TABLE) as f:
        text = f.read()
    start = text.index("{", text.index("ops[HTTP_OP_COUNT] = {")) + 1
    table = re.sub(r"/\*.*?\*/", "", text[start:text.index("\n};", start)] + "\n", flags=re.S)
    rows = {}
    for m in re.finditer(r"\[HTTP_OP_(\w+)\]\s*=\s*\{(.*?)\},\n", table, re.S):
        fields = [f.strip() for f in re.sub(r"\s+", " ", m.group(2)).split(",")]
        assert len(fields) == 12, (m.group(1), fields)
        name, method, prefix, kind, suffix = [f.strip('"') for f in fields[:5]]
        assert name == m.group(1).lower(), (name, m.group(1))
        rows[name] = (method, prefix + PATH_SEGMENT[kind] + suffix, fields[10], fields[11])
    # Every op of the enum has a row (a gap would be a zeroed row).
    with open(os.path.join(os.path.dirname(OP_TABLE), "op.h")) as f:
        enum = re.findall(r"^\s*HTTP_OP_(\w+)[ ,=]", f.read(), re.M)
    assert sorted(e.lower() for e in enum if e != "COUNT") == sorted(rows), (enum, sorted(rows))
    return rows


def call(node, method, path, body=None, token=None, auth=None):
    """test_auth.call, for answers that may be binary (GET /v1/snapshot):
    one request to NODE with "Authorization: Bearer TOKEN", or the raw
    header AUTH (None: no header); a Reply, or None when unreachable."""
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
        raw = r.read().decode(errors="replace")
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, raw)
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def refused_401(r, what):
    assert r is not None and r.status == 401 and r.json["error"] == "unauthenticated", (what, r)


def refused_403(r, missing, what):
    assert r is not None and r.status == 403 and r.json["error"] == "permission_denied", (what, r)
    assert r.json.get("missing") == missing, (what, missing, r.json)


def answered(r, status, what, error=None):
    assert r is not None and r.status == status, (what, status, r)
    if error is not None:
        assert r.json["error"] == error, (what, error, r)
    return r.json


def state(node, admin, elections):
    """Everything a refused request could have changed, as the admin token
    lists it on NODE: locks, sessions (without the leader's time left per
    session), the ELECTIONS named, tokens, members (without the leader's
    progress figures), as those move by themselves, and the commit index (a
    refused request proposes nothing)."""
    got = {}
    for key, path in (("locks", "/v1/locks"), ("sessions", "/v1/sessions"),
                      ("tokens", "/v1/tokens"), ("members", "/v1/members"),
                      ("keys", "/v1/kv"), ("status", "/v1/status")):
        r = call(node, "GET", path, token=admin)
        assert r is not None and r.status == 200, (path, r)
        got[key] = r.json
    for s in got["sessions"]["sessions"]:
        s.pop("expires_in_ms", None)
    for m in got["members"]["members"]:
        m.pop("match_index", None)
        m.pop("last_contact_ms", None)
    st = got.pop("status")
    got["index"] = (st["term"], st["commit_index"], st["leader"]["id"])
    for name in elections:
        got["election " + name] = call(node, "GET", "/v1/elections/" + name, token=admin).json
    return got


class Fixture:
    """A bootstrapped 3-node cluster with one token per kind of credential,
    and objects held by the admin's session that refused requests aim at
    (so that one that slipped through would show in the state)."""

    def __init__(self, c):
        self.c = c
        self.leader = c.leader()
        self.follower = c.followers(self.leader)[0]
        self.third = [n for n in c.nodes if n.id not in (self.leader.id, self.follower.id)][0]
        self.root = bootstrap(self.leader)
        lw = lambda res, prefix, access="write": {"resource": res, "prefix": prefix,
                                                   "access": access}
        mk = lambda name, rules, admin=False: make_token(self.leader, self.root, rules,
                                                         name=name, admin=admin)
        # W: write on m/ and every session; R: read only; X: other names and
        # sessions labelled x-; NS: m/ without any sessions rule; Z: no rule
        # at all; A: admin without data rules; REV: everything, revoked.
        self.W = mk("w", [lw("locks", "m/"), lw("elections", "m/"), lw("sessions", ""),
                          lw("kv", "m/")])
        self.R = mk("r", [lw("locks", "m/", "read"), lw("elections", "m/", "read"),
                          lw("sessions", "", "read"), lw("kv", "m/", "read")])
        self.X = mk("x", [lw("locks", "x/"), lw("elections", "x/"), lw("sessions", "x-"),
                          lw("kv", "x/")])
        self.NS = mk("ns", [lw("locks", "m/"), lw("elections", "m/"), lw("kv", "m/")])
        self.Z = mk("z", [])
        self.A = mk("a", [], admin=True)
        self.target = mk("target", [])  # what a refused revoke names
        rev = mk("rev", [lw(r, "") for r in ("locks", "elections", "sessions", "kv")],
                 admin=True)
        self.throwaway = [mk("throwaway-%d" % i, []) for i in range(2)]
        self.unknown = "coord_" + "5a" * 32
        nodes = (self.leader, self.follower)
        for n in nodes:
            wait_for("the tokens reach node %d" % n.id, lambda: all(
                call(n, "GET", "/v1/status", token=t["token"]).status == 200
                for t in [self.W, self.R, self.X, self.NS, self.Z, self.A, rev]
                + self.throwaway))
        r = call(self.leader, "DELETE", "/v1/tokens/%d" % rev["id"], token=self.root)
        answered(r, 200, "revoke")
        for n in nodes:
            wait_for("the revocation reaches node %d" % n.id,
                     lambda: call(n, "GET", "/v1/status", token=rev["token"]).status == 401)
        self.revoked = rev["token"]
        # The victim's objects: a session, a held lock, a led election.
        r = call(self.leader, "POST", "/v1/sessions", {"ttl_ms": 120000, "name": "victim"},
                 token=self.root)
        self.vs = answered(r, 201, "victim session")["id"]
        r = call(self.leader, "PUT", "/v1/locks/m/held", {"session": self.vs}, token=self.root)
        self.fencing = answered(r, 200, "victim lock")["fencing_token"]
        r = call(self.leader, "PUT", "/v1/elections/m/eh", {"session": self.vs, "value": "v"},
                 token=self.root)
        answered(r, 200, "victim election")
        r = call(self.leader, "PUT", "/v1/kv/m/k", {"value": "v"}, token=self.root)
        answered(r, 200, "victim key")
        # X's own session: X's refusals are about names only.
        r = call(self.leader, "POST", "/v1/sessions", {"ttl_ms": 120000, "name": "x-1"},
                 token=self.X["token"])
        self.xs = answered(r, 201, "X's session")["id"]
        self.ws = {}  # node id -> W's session made through that node
        self.elections = ["m/eh", "m/ef"]

    def state(self):
        return state(self.leader, self.root, self.elections)


def endpoints(fx):
    """name -> (request, lacking, allowed): REQUEST (method, path, body) is
    what every refused credential sends, aimed at the victim; LACKING lists
    (token, its own request or None for REQUEST, the missing rule) for
    tokens valid but without the rule; ALLOWED(node) sends the request with
    a token that has the rule and checks the answer."""
    vs, xs, f = fx.vs, fx.xs, fx.fencing
    W, R, X, NS, Z, A = (t["token"] for t in (fx.W, fx.R, fx.X, fx.NS, fx.Z, fx.A))
    third = fx.third
    ld = fx.leader

    def ws(n):
        return fx.ws[n.id]

    def session_create(n):
        r = call(n, "POST", "/v1/sessions", {"ttl_ms": 120000}, token=W)
        fx.ws[n.id] = answered(r, 201, "session_create")["id"]

    def ui_page(n):  # open: the page holds no data (its calls need the token)
        r = call(n, "GET", "/ui")
        assert r is not None and r.status == 200 and "<html" in r.raw, r

    def listing(path, key):
        def check(n):
            for t in (Z, W):
                r = call(n, "GET", path, token=t)
                answered(r, 200, path)
            assert answered(call(n, "GET", path, token=Z), 200, path)[key] == [], \
                "a token without rules sees nothing"
        return check

    def expect(method, path, body, token, status, error=None, check=None):
        def send(n):
            p = path(n) if callable(path) else path
            b = body(n) if callable(body) else body
            got = answered(call(n, method, p, b, token=token), status, (method, p), error)
            if check:
                assert check(got), (method, p, got)
        return send

    return {
        "session_create": (
            ("POST", "/v1/sessions", {"ttl_ms": 60000, "name": "m-s"}),
            [(R, None, "sessions:m-s:write"), (X, None, "sessions:m-s:write"),
             (Z, None, "sessions:m-s:write")],
            session_create),
        "session_list": (("GET", "/v1/sessions", None), [], listing("/v1/sessions", "sessions")),
        "session_get": (
            ("GET", "/v1/sessions/" + vs, None),
            [(Z, None, "sessions:*:read"), (X, None, "sessions:victim:read")],
            expect("GET", lambda n: "/v1/sessions/" + ws(n), None, W, 200)),
        "session_events": (
            ("GET", "/v1/sessions/%s/events" % vs, None),
            [(Z, None, "sessions:*:read"), (X, None, "sessions:victim:read")],
            expect("GET", lambda n: "/v1/sessions/%s/events" % ws(n), None, W, 200)),
        "session_keepalive": (
            ("POST", "/v1/sessions/%s/keepalive" % vs, None),
            [(R, None, "sessions:*:write"), (Z, None, "sessions:*:write")],
            expect("POST", lambda n: "/v1/sessions/%s/keepalive" % ws(n), None, W, 200)),
        "lock_list": (("GET", "/v1/locks", None), [], listing("/v1/locks", "locks")),
        "lock_acquire": (
            ("PUT", "/v1/locks/m/free", {"session": vs}),
            [(R, None, "locks:m/free:write"),
             (X, ("PUT", "/v1/locks/m/free", {"session": xs}), "locks:m/free:write"),
             (NS, None, "sessions:*:write"), (Z, None, "locks:m/free:write")],
            expect("PUT", lambda n: "/v1/locks/m/w%d" % n.id, lambda n: {"session": ws(n)},
                   W, 200)),
        "lock_get": (
            ("GET", "/v1/locks/m/held", None),
            [(X, None, "locks:m/held:read"), (Z, None, "locks:m/held:read")],
            expect("GET", "/v1/locks/m/held", None, R, 200,
                   check=lambda j: j["holders"][0]["session"] == vs)),
        "fence": (
            ("GET", "/v1/fence?lock=m/held&token=%d" % f, None),
            [(X, None, "locks:m/held:read"), (Z, None, "locks:m/held:read")],
            expect("GET", "/v1/fence?lock=m/held&token=%d" % f, None, R, 200,
                   check=lambda j: j["valid"] is True)),
        "lock_release": (
            ("DELETE", "/v1/locks/m/held", {"session": vs}),
            [(R, None, "locks:m/held:write"),
             (X, ("DELETE", "/v1/locks/m/held", {"session": xs}), "locks:m/held:write"),
             (NS, None, "sessions:*:write")],
            expect("DELETE", lambda n: "/v1/locks/m/w%d" % n.id, lambda n: {"session": ws(n)},
                   W, 200, check=lambda j: j["released"] is True)),
        "election_campaign": (
            ("PUT", "/v1/elections/m/ef", {"session": vs, "value": "hijack"}),
            [(R, None, "elections:m/ef:write"),
             (X, ("PUT", "/v1/elections/m/ef", {"session": xs, "value": "x"}),
              "elections:m/ef:write"),
             (NS, None, "sessions:*:write")],
            expect("PUT", lambda n: "/v1/elections/m/we%d" % n.id,
                   lambda n: {"session": ws(n), "value": "w"}, W, 200)),
        "election_get": (
            ("GET", "/v1/elections/m/eh", None),
            [(X, None, "elections:m/eh:read"), (Z, None, "elections:m/eh:read")],
            expect("GET", "/v1/elections/m/eh", None, R, 200,
                   check=lambda j: j["leader"]["session"] == vs)),
        "election_proclaim": (
            ("PATCH", "/v1/elections/m/eh", {"session": vs, "value": "hijack"}),
            [(R, None, "elections:m/eh:write"),
             (X, ("PATCH", "/v1/elections/m/eh", {"session": xs, "value": "x"}),
              "elections:m/eh:write"),
             (NS, None, "sessions:*:write")],
            expect("PATCH", lambda n: "/v1/elections/m/we%d" % n.id,
                   lambda n: {"session": ws(n), "value": "w2"}, W, 200)),
        "election_resign": (
            ("DELETE", "/v1/elections/m/eh", {"session": vs}),
            [(R, None, "elections:m/eh:write"),
             (X, ("DELETE", "/v1/elections/m/eh", {"session": xs}), "elections:m/eh:write"),
             (NS, None, "sessions:*:write")],
            expect("DELETE", lambda n: "/v1/elections/m/we%d" % n.id,
                   lambda n: {"session": ws(n)}, W, 200,
                   check=lambda j: j["released"] is True)),
        "session_close": (
            ("DELETE", "/v1/sessions/" + vs, None),
            [(R, None, "sessions:*:write"), (Z, None, "sessions:*:write")],
            expect("DELETE", lambda n: "/v1/sessions/" + ws(n), None, W, 200)),
        "status": (("GET", "/v1/status", None), [], expect("GET", "/v1/status", None, Z, 200)),
        "health": (("GET", "/v1/health", None), [], expect("GET", "/v1/health", None, None, 200)),
        "ui": (("GET", "/ui", None), [], ui_page),
        "metrics": (("GET", "/metrics", None), [(W, None, "admin"), (R, None, "admin")],
                    expect("GET", "/metrics", None, A, 200)),
        "member_list": (("GET", "/v1/members", None), [(W, None, "admin")],
                        expect("GET", "/v1/members", None, A, 200)),
        "member_add": (
            ("POST", "/v1/members", {"id": 7, "raft": "127.0.0.1:9"}), [(W, None, "admin")],
            expect("POST", "/v1/members", {"id": ld.id, "raft": ld.raft}, A, 409, "conflict")),
        "member_promote": (
            ("POST", "/v1/members/%d/promote" % third.id, None), [(W, None, "admin")],
            expect("POST", "/v1/members/%d/promote" % ld.id, None, A, 200)),
        "member_remove": (
            ("DELETE", "/v1/members/%d" % third.id, None), [(W, None, "admin")],
            expect("DELETE", "/v1/members/9", None, A, 404, "member_not_found")),
        "member_replace": (
            ("POST", "/v1/members/replace",
             {"remove": third.id, "add": {"id": 8, "raft": "127.0.0.1:9"}}),
            [(W, None, "admin")],
            expect("POST", "/v1/members/replace",
                   {"remove": 9, "add": {"id": 8, "raft": "127.0.0.1:9"}}, A, 404)),
        "leader_transfer": (
            ("POST", "/v1/leader/transfer", {}), [(W, None, "admin")],
            expect("POST", "/v1/leader/transfer", {"id": ld.id}, A, 200,
                   check=lambda j: j["leader"] == ld.id)),
        "snapshot": (("GET", "/v1/snapshot", None), [(W, None, "admin")],
                     expect("GET", "/v1/snapshot", None, A, 200)),
        "auth_bootstrap": (("POST", "/v1/auth/bootstrap", None), [],
                           expect("POST", "/v1/auth/bootstrap", None, None, 409, "conflict")),
        "token_create": (
            ("POST", "/v1/tokens", {"name": "evil", "rules": [], "admin": True}),
            [(W, None, "admin")],
            expect("POST", "/v1/tokens", {"name": "made", "rules": []}, A, 201)),
        "token_list": (("GET", "/v1/tokens", None), [(W, None, "admin")],
                       expect("GET", "/v1/tokens", None, A, 200)),
        "token_revoke": (
            ("DELETE", "/v1/tokens/%d" % fx.target["id"], None), [(W, None, "admin")],
            lambda n: answered(call(n, "DELETE", "/v1/tokens/%d" % fx.throwaway.pop()["id"],
                                    token=A), 200, "token_revoke")),
        "kv_list": (("GET", "/v1/kv", None), [], listing("/v1/kv", "keys")),
        "kv_get": (
            ("GET", "/v1/kv/m/k", None),
            [(X, None, "kv:m/k:read"), (Z, None, "kv:m/k:read")],
            expect("GET", "/v1/kv/m/k", None, R, 200, check=lambda j: j["value"] == "v")),
        "kv_put": (
            ("PUT", "/v1/kv/m/k", {"value": "hijack"}),
            [(R, None, "kv:m/k:write"), (X, None, "kv:m/k:write"), (Z, None, "kv:m/k:write"),
             (NS, ("PUT", "/v1/kv/m/e", {"value": "x", "session": vs}), "sessions:*:write"),
             (W, ("PUT", "/v1/kv/m/e", {"value": "x", "session": vs}), "owner")],
            expect("PUT", lambda n: "/v1/kv/m/w%d" % n.id, {"value": "w"}, W, 200)),
        "kv_delete": (
            ("DELETE", "/v1/kv/m/k", None),
            [(R, None, "kv:m/k:write"), (X, None, "kv:m/k:write"), (Z, None, "kv:m/k:write")],
            expect("DELETE", lambda n: "/v1/kv/m/w%d" % n.id, None, W, 200,
                   check=lambda j: j["deleted"] is True)),
        "kv_txn": (
            ("POST", "/v1/txn", {"ops": [{"put": "m/k", "value": "hijack"}]}),
            # Without any kv write rule the row itself is refused (a rule of any
            # prefix); with one, each name the transaction writes or checks.
            [(R, None, "kv:*:write"), (X, None, "kv:m/k:write"), (Z, None, "kv:*:write"),
             (W, ("POST", "/v1/txn", {"checks": [{"key": "x/k", "modify_index": 0}],
                                       "ops": [{"put": "m/t", "value": "x"}]}), "kv:x/k:read")],
            expect("POST", "/v1/txn", lambda n: {"ops": [{"put": "m/t%d" % n.id, "value": "t"}]},
                   W, 200)),
    }


# The credentials that never get past the check: a missing header, the
# malformed ones API.md names, a token nobody made, a revoked one.
def bad_credentials(fx):
    return [("no token", None), ("Bearer alone", "Bearer"), ("Basic", "Basic abc"),
            ("empty header", ""), ("unknown token", "Bearer " + fx.unknown),
            ("revoked token", "Bearer " + fx.revoked)]


def test_the_contract_covers_every_row_of_the_op_table():
    rows = op_table()
    assert sorted(rows) == sorted(CONTRACT), \
        ("rows without a contract here", sorted(set(rows) - set(CONTRACT)),
         "contracts without a row", sorted(set(CONTRACT) - set(rows)))
    for name, row in rows.items():
        assert row == CONTRACT[name], (name, "op.c says", row, "API.md says", CONTRACT[name])
    # Each route is the one API.md documents ("{name}", "{id}": any word).
    with open(os.path.join(os.path.dirname(OP_TABLE), "..", "docs", "API.md")) as f:
        doc = f.read()
    for name, (method, route, _, _) in CONTRACT.items():
        pattern = re.sub(r"\\\{\w+\\\}", r"\\{\\w+\\}", re.escape(method + " " + route))
        assert re.search(pattern + r"(?![\w/-])", doc), (name, method, route, "not in API.md")


def test_every_endpoint_with_every_credential():
    assert sorted(op_table()) == sorted(CONTRACT)
    with Cluster(COORDD, 3) as c:
        fx = Fixture(c)
        table = endpoints(fx)
        assert sorted(table) == sorted(CONTRACT), "every op of the table is exercised"
        for name in CONTRACT:  # in CONTRACT's order: a session before its use
            (method, path, body), lacking, allowed = table[name]
            is_open = CONTRACT[name][3] == "O"
            before = fx.state()
            for node in (fx.leader, fx.follower):
                for what, auth in bad_credentials(fx):
                    r = call(node, method, path, body, auth=auth)
                    where = (name, "node %d" % node.id, what)
                    if not is_open:
                        refused_401(r, where)
                    elif name in ("health", "ui"):
                        answered(r, 200, where)
                    else:  # the bootstrap is done: its normal answer
                        answered(r, 409, where, "conflict")
                for token, own, missing in lacking:
                    m, p, b = own or (method, path, body)
                    r = call(node, m, p, b, token=token)
                    refused_403(r, missing, (name, "node %d" % node.id, m, p))
            after = fx.state()
            # A second bootstrap is answered 409 by the leader without an
            # entry, like every refusal: the commit index stays too.
            assert after == before, (name, "a refused request changed the state", before, after)
            for node in (fx.leader, fx.follower):
                allowed(node)
        # The victim's objects are as they were made.
        r = call(fx.leader, "GET", "/v1/locks/m/held", token=fx.root)
        holders = answered(r, 200, "victim lock")["holders"]
        assert [(h["session"], h["fencing_token"]) for h in holders] == [(fx.vs, fx.fencing)], r
        r = call(fx.leader, "GET", "/v1/elections/m/eh", token=fx.root)
        leader = answered(r, 200, "victim election")["leader"]
        assert leader["session"] == fx.vs and leader["value"] == "v", r
        assert call(fx.leader, "GET", "/v1/elections/m/ef", token=fx.root).json["leader"] is None
        assert call(fx.leader, "GET", "/v1/locks/m/free", token=fx.root).status == 404
        answered(call(fx.leader, "GET", "/v1/sessions/" + fx.vs, token=fx.root), 200, "victim")
        r = call(fx.leader, "GET", "/v1/kv/m/k", token=fx.root)
        assert answered(r, 200, "victim key")["value"] == "v", r
        ids = [t["id"] for t in answered(call(fx.leader, "GET", "/v1/tokens", token=fx.root),
                                         200, "tokens")["tokens"]]
        assert fx.target["id"] in ids, "a refused revoke revoked"
        members = answered(call(fx.leader, "GET", "/v1/members", token=fx.root), 200, "members")
        assert sorted(m["id"] for m in members["members"]) == [1, 2, 3], members


def test_a_token_cannot_use_another_tokens_session():
    """Sessions belong to their token (API.md, Access control): B, with
    write rules on every lock, election and session, still cannot keep
    alive, use, release or close the session A made, through the leader or
    a follower, and neither can the admin token: 403 naming the missing
    "owner", and nothing changes, the session's seq included. A session
    made before access control was on belongs to no token."""
    with Cluster(COORDD, 3) as c:
        leader = c.leader()
        f = c.followers(leader)[0]
        r = call(leader, "POST", "/v1/sessions", {"ttl_ms": 60000})
        ownerless = answered(r, 201, "a session made while open")["id"]
        root = bootstrap(leader)
        rules = [{"resource": r, "prefix": "", "access": "write"}
                 for r in ("locks", "elections", "sessions")]
        a = make_token(leader, root, rules, name="a")["token"]
        b = make_token(leader, root, rules, name="b")["token"]
        for n in (leader, f):
            wait_for("the tokens reach node %d" % n.id, lambda: all(
                call(n, "GET", "/v1/status", token=t).status == 200 for t in (a, b)))
        r = call(leader, "POST", "/v1/sessions", {"ttl_ms": 60000, "name": "a-1"}, token=a)
        sa = answered(r, 201, "A's session")["id"]
        r = call(leader, "PUT", "/v1/locks/h/l", {"session": sa}, token=a)
        fa = answered(r, 200, "A's lock")["fencing_token"]
        r = call(leader, "PUT", "/v1/elections/h/e", {"session": sa, "value": "a"}, token=a)
        answered(r, 200, "A's election")
        r = call(leader, "POST", "/v1/sessions", {"ttl_ms": 60000, "name": "b-1"}, token=b)
        sb = answered(r, 201, "B's session")["id"]
        # B's rules are enough on B's own session: the lock is simply held.
        r = call(f, "PUT", "/v1/locks/h/l", {"session": sb}, token=b)
        answered(r, 409, "B's own session", "lock_held")
        elections = ["h/e", "h/e2"]
        keepalives = [("POST", "/v1/sessions/%s/keepalive" % sa, None),
                      ("POST", "/v1/sessions/%s/keepalive" % sa, {"seq": 7})]
        writes = [
            ("PUT", "/v1/locks/h/other", {"session": sa}),
            ("PUT", "/v1/locks/h/l", {"session": sa}),  # would answer A's grant
            ("PUT", "/v1/locks/h/l", {"session": sa, "mode": "shared", "wait_ms": 100}),
            ("DELETE", "/v1/locks/h/l", {"session": sa}),
            ("DELETE", "/v1/locks/h/l?session=" + sa, None),
            ("DELETE", "/v1/locks/h/l?session=%s&token=%d" % (sa, fa), None),
            ("DELETE", "/v1/locks/h/l", {"session": sa, "seq": 9, "fencing_token": fa}),
            ("PUT", "/v1/elections/h/e2", {"session": sa, "value": "b"}),
            ("PATCH", "/v1/elections/h/e", {"session": sa, "value": "b"}),
            ("DELETE", "/v1/elections/h/e", {"session": sa}),
            ("DELETE", "/v1/elections/h/e?session=" + sa, None),
            ("DELETE", "/v1/sessions/" + sa, None),
            ("DELETE", "/v1/sessions/" + sa, {"seq": 11}),
        ]

        def hijack(requests):
            for node in (leader, f):
                for token in (b, root):
                    for method, path, body in requests:
                        r = call(node, method, path, body, token=token)
                        refused_403(r, "owner", ("node %d" % node.id, method, path, body,
                                                 "admin" if token == root else "B"))

        # Refused before anything is proposed (API.md): the leader has
        # applied A's session, so it refuses every write before proposing
        # it, and a keepalive is no entry; the commit index stays too.
        before = state(leader, root, elections)
        hijack(keepalives)
        assert state(leader, root, elections) == before, "a refused keepalive changed the state"
        hijack(writes)
        for node in (leader, f):
            for token in (a, b, root):
                r = call(node, "POST", "/v1/sessions/%s/keepalive" % ownerless, token=token)
                refused_403(r, "owner", ("a session made while open", node.id))
                r = call(node, "PUT", "/v1/locks/h/o", {"session": ownerless}, token=token)
                refused_403(r, "owner", ("a session made while open", node.id))
        after = state(leader, root, elections)
        assert after == before, ("a hijack changed the state", before, after)
        r = call(leader, "GET", "/v1/locks/h/l", token=root)
        assert [(h["session"], h["fencing_token"]) for h in r.json["holders"]] == [(sa, fa)], r
        r = call(leader, "GET", "/v1/elections/h/e", token=root)
        assert r.json["leader"]["session"] == sa and r.json["leader"]["value"] == "a", r
        # A itself can do every one of them, through either node.
        for node in (leader, f):
            what = "A through node %d" % node.id
            answered(call(node, "POST", "/v1/sessions/%s/keepalive" % sa, token=a), 200, what)
            lock = "/v1/locks/h/a%d" % node.id
            answered(call(node, "PUT", lock, {"session": sa}, token=a), 200, what)
            r = call(node, "DELETE", lock + "?session=" + sa, token=a)
            assert answered(r, 200, what)["released"] is True, r
            r = call(node, "PUT", "/v1/elections/h/e%d" % node.id, {"session": sa, "value": "a"},
                     token=a)
            answered(r, 200, what)
            r = call(node, "DELETE", "/v1/elections/h/e%d" % node.id, {"session": sa}, token=a)
            assert answered(r, 200, what)["released"] is True, r
        r = call(f, "PATCH", "/v1/elections/h/e", {"session": sa, "value": "a2"}, token=a)
        answered(r, 200, "A proclaims")
        r = call(f, "DELETE", "/v1/elections/h/e", {"session": sa}, token=a)
        assert answered(r, 200, "A resigns")["released"] is True, r
        r = call(f, "DELETE", "/v1/locks/h/l", {"session": sa, "fencing_token": fa}, token=a)
        assert answered(r, 200, "A releases")["released"] is True, r
        r = call(f, "DELETE", "/v1/sessions/" + sa, token=a)
        answered(r, 200, "A closes")
        r = call(leader, "GET", "/v1/sessions/" + sa, token=root)
        answered(r, 404, "A's session is closed", "session_not_found")


ALL = [
    test_the_contract_covers_every_row_of_the_op_table,
    test_every_endpoint_with_every_credential,
    test_a_token_cannot_use_another_tokens_session,
]

if __name__ == "__main__":
    names = sys.argv[1:]
    run([t for t in ALL if not names or t.__name__ in names])
