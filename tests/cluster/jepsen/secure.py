"""TLS and access tokens for a run (runner --tls, --auth): the certificates
made for it, and the one function every HTTP call of the runner goes
through (the workload's clients, the nemeses' status and member reads, the
probes and the read-back).

--tls: a CA made for the run with openssl (test_tls.Certs, whose other CA
and "stranger" certificate the rogue node uses), and one node certificate
from it whose subjectAltName lists 127.0.0.1 and, in network namespaces,
every address a node of the run may have. Every node serves HTTPS with it
(--tls-cert/--tls-key) and runs its peer connections over mutual TLS with
it (--peer-cert/--peer-key/--peer-ca). Every call verifies the node's
certificate against the run's CA and its address (no unverified context).

--auth: every node runs with --auth; once the cluster is up the admin token
comes from POST /v1/auth/bootstrap, and the workload's clients get a token
of their own with rules on exactly the names they use (CLIENT_RULES), no
admin flag. Status, member, metrics and token calls (the nemeses, the
probes' leader searches) use the admin token; everything the workload does,
the liveness probe's write and the read-back use the clients' token.

Without either option request() is harness.request, unchanged."""

import http.client
import json
import ssl
import time

import harness

CTX = None  # the clients' TLS context (the run's CA), None: plain HTTP
TOKEN = None  # the workload clients' token, None: no Authorization header
ADMIN = None  # the bootstrap (admin) token
CERTS = None  # RunCerts of the run

# The clients' token: the names the workload uses (workload.LOCK, LEDGER,
# the probe's jepsen/probe; ELECTION) and sessions without a label.
CLIENT_RULES = [
    {"resource": "locks", "prefix": "jepsen/", "access": "write"},
    {"resource": "elections", "prefix": "jepsen/elect/", "access": "write"},
    {"resource": "sessions", "prefix": "", "access": "write"},
]


def on():
    return CTX is not None or TOKEN is not None or ADMIN is not None


def request(addr, method, path, body=None, timeout=5.0, refused=None, admin=False,
            plain=False):
    """harness.request over HTTPS with the run's CA and with the clients'
    token (ADMIN: the admin token) when the run has them. PLAIN: a plain
    HTTP call without a token (the rogue node's own port). With REFUSED
    set, a connection that could not be made or whose handshake failed
    returns REFUSED: no byte of the request was sent."""
    if plain or not on():
        return harness.request(addr, method, path, body, timeout, refused)
    host, port = addr.rsplit(":", 1)
    if CTX is not None:
        conn = http.client.HTTPSConnection(host, int(port), timeout=timeout, context=CTX)
    else:
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        if refused is not None:
            try:
                conn.connect()  # TCP and, with TLS, the whole handshake
            except OSError:
                return refused
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if data else {}
        token = ADMIN if admin else TOKEN
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        raw = r.read().decode()
        return harness.Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, raw)
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def admin_request(addr, method, path, body=None, timeout=5.0, refused=None):
    return request(addr, method, path, body, timeout, refused, admin=True)


def bind(node):
    """NODE's call (and so its status()) goes through request() with the
    admin token."""
    node.call = (lambda method, path, body=None, timeout=5.0:
                 admin_request(node.http, method, path, body, timeout))


def serving(node):
    """Whether NODE serves its client port: its status answers, or, under
    --auth, its /v1/health does (a server started with --join and --auth
    answers nothing else until it has the cluster's tokens)."""
    if node.status() is not None:
        return True
    return ADMIN is not None and request(node.http, "GET", "/v1/health", timeout=1.0) is not None


def metric(node, name):
    """NAME's value in NODE's /metrics (admin token), None without an
    answer."""
    r = admin_request(node.http, "GET", "/metrics", timeout=2.0)
    if r is None or r.status != 200:
        return None
    for line in r.raw.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def make_certs(ips):
    """The run's certificates: test_tls.Certs (a CA, another CA and its
    "stranger" leaf) plus a node certificate for IPS."""
    from test_tls import Certs  # needs COORDD set, as the runner does

    class RunCerts(Certs):
        def __init__(self, ips):
            super().__init__()
            self.node = self._node_leaf("node", ips)

        def _node_leaf(self, name, ips):
            self._openssl("req", *self._key_args(name), "-out", name + ".csr",
                          "-subj", "/CN=coord jepsen node")
            with open(self.path(name + ".ext"), "w") as f:
                f.write("subjectAltName=%s\n" % ",".join("IP:" + ip for ip in ips))
            self._openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem",
                          "-CAkey", "ca.key", "-CAcreateserial", "-out", name + ".pem",
                          "-days", "2", "-extfile", name + ".ext")
            return (self.path(name + ".pem"), self.path(name + ".key"))

    return RunCerts(ips)


def tls_args(certs):
    cert, key = certs.node
    return ["--tls-cert", cert, "--tls-key", key,
            "--peer-cert", cert, "--peer-key", key, "--peer-ca", certs.ca]


def enable_tls(certs):
    global CTX, CERTS
    CERTS = certs
    CTX = ssl.create_default_context(cafile=certs.ca)  # verifies chain and address


def bootstrap(cluster, log, timeout_s=30.0):
    """The admin token (POST /v1/auth/bootstrap, retried on 503 and lost
    answers until a leader takes it), then the clients' token, and a wait
    until every node accepts both. Raises when the bootstrap answers 409
    after a lost answer (the secret is gone with it)."""
    global ADMIN, TOKEN
    deadline = time.time() + timeout_s
    lost = 0
    i = 0
    while ADMIN is None:
        if time.time() > deadline:
            raise AssertionError("no bootstrap within %.0fs" % timeout_s)
        n = cluster.nodes[i % len(cluster.nodes)]
        i += 1
        r = request(n.http, "POST", "/v1/auth/bootstrap", timeout=10.0)
        if r is None:
            lost += 1
        elif r.status == 201:
            ADMIN = r.json["token"]
        elif r.status == 409:
            raise AssertionError("bootstrap: 409 after %d lost answers: the secret is lost"
                                 % lost)
        time.sleep(0.1)
    while TOKEN is None:
        if time.time() > deadline:
            raise AssertionError("the clients' token was not created within %.0fs" % timeout_s)
        leader = cluster.leader(timeout=max(1.0, deadline - time.time()))
        r = admin_request(leader.http, "POST", "/v1/tokens",
                          {"name": "jepsen-clients", "rules": CLIENT_RULES, "admin": False},
                          timeout=10.0)
        if r is not None and r.status == 201:
            TOKEN = r.json["token"]
        else:
            time.sleep(0.2)
    for n in cluster.nodes:
        harness.wait_for("node %d accepts the clients' token" % n.id,
                         lambda: getattr(request(n.http, "GET", "/v1/status", timeout=1.0),
                                         "status", 0) == 200,
                         timeout=max(1.0, deadline - time.time()))
    deny_by_default(cluster.nodes[0])
    log("auth: bootstrapped; clients use token \"jepsen-clients\" with rules %s" %
        ", ".join("%s:%s:%s" % (x["resource"], x["prefix"], x["access"]) for x in CLIENT_RULES))


def deny_by_default(node):
    """Raises unless NODE refuses a call without a token (401), and the
    clients' token outside its rules (403): the workload then runs with
    access control that is really on."""
    saved = globals()["TOKEN"]
    try:
        globals()["TOKEN"] = None
        r = request(node.http, "GET", "/v1/status", timeout=5.0)
    finally:
        globals()["TOKEN"] = saved
    checks = [("no token, GET /v1/status", r, 401)]
    for what, path in (("GET /v1/members", "/v1/members"),
                       ("GET /v1/locks/outside-jepsen", "/v1/locks/outside-jepsen")):
        checks.append(("the clients' token, " + what,
                       request(node.http, "GET", path, timeout=5.0), 403))
    for what, r, want in checks:
        if r is None or r.status != want:
            raise AssertionError("access control is not on: %s answered %r, not %d" % (
                what, r, want))


def close():
    if CERTS is not None:
        CERTS.close()

