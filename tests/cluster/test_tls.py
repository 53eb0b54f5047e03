"""HTTPS on the client port (API.md, coordd: --tls-cert, --tls-key,
--tls-client-ca; SIGHUP): certificates are made for each run with the openssl
CLI in a temporary folder. Each test names what must hold and checks it
against real coordd processes; every refused connection or request must leave
the node serving and the state unchanged.
Run: COORDD=build/coord/coordd [COORDCTL=...] python3 tests/cluster/test_tls.py [TEST...]"""

import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

from harness import Cluster, Reply, coordd_path, request, run, wait_for

COORDD = coordd_path()
COORDCTL = os.environ.get("COORDCTL")


# Certificates -------------------------------------------------------------------

class Certs:
    """A CA, a server certificate for 127.0.0.1 (SAN IP), a second server
    certificate from the same CA (for reloads), an expired one, a client
    certificate from the CA, and one from another CA."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="coord-tls-")
        self.ca = self._ca("ca")
        self.other_ca = self._ca("other-ca")
        self.server = self._leaf("server", "ca", san=True)
        self.server2 = self._leaf("server2", "ca", san=True)
        self.expired = self._leaf("expired", "ca", san=True, days=-1)
        self.client = self._leaf("client", "ca")
        self.stranger = self._leaf("stranger", "other-ca")

    def path(self, name):
        return os.path.join(self.dir, name)

    def _openssl(self, *args):
        subprocess.run(["openssl"] + list(args), check=True, cwd=self.dir,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _key_args(self, name):
        return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", name + ".key"]

    def _ca(self, name):
        self._openssl("req", "-x509", *self._key_args(name), "-out", name + ".pem",
                      "-days", "30", "-subj", "/CN=coord test " + name)
        return self.path(name + ".pem")

    def _leaf(self, name, ca, san=False, days=30):
        self._openssl("req", *self._key_args(name), "-out", name + ".csr",
                      "-subj", "/CN=" + ("127.0.0.1" if san else name))
        ext = self.path(name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n" if san else "extendedKeyUsage=clientAuth\n")
        self._openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem",
                      "-CAkey", ca + ".key", "-CAcreateserial", "-out", name + ".pem",
                      "-days", str(days), "-extfile", ext)
        return (self.path(name + ".pem"), self.path(name + ".key"))

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


CERTS = None


def certs():
    global CERTS
    if CERTS is None:
        CERTS = Certs()
    return CERTS


def tls_args(cert=None, client_ca=False):
    """coordd flags serving COPIES of CERT (default: the server certificate),
    so that a test may replace the files the node reads."""
    c = certs()
    cert = cert or c.server
    d = tempfile.mkdtemp(dir=c.dir)
    shutil.copy(cert[0], os.path.join(d, "cert.pem"))
    shutil.copy(cert[1], os.path.join(d, "key.pem"))
    args = ["--tls-cert", os.path.join(d, "cert.pem"), "--tls-key", os.path.join(d, "key.pem")]
    if client_ca:
        args += ["--tls-client-ca", c.ca]
    return args


def context(cafile=None, cert=None):
    """A client TLS context trusting CAFILE (None: the system's), presenting
    CERT (a (cert, key) pair) when given."""
    ctx = ssl.create_default_context(cafile=cafile)
    if cert:
        ctx.load_cert_chain(cert[0], cert[1])
    return ctx


def https(addr, method, path, body=None, ctx=None, timeout=5.0, token=None):
    """One HTTPS request, as harness.request, with "Authorization: Bearer
    TOKEN" if TOKEN; None on a connection or TLS failure."""
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPSConnection(host, int(port), timeout=timeout,
                                       context=ctx or context(certs().ca, certs().client))
    try:
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if data else {}
        if token:
            headers["Authorization"] = "Bearer " + token
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode())
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def tls_cluster(size, **kw):
    """A cluster whose nodes serve HTTPS; the harness's calls go over HTTPS
    with the test CA and the test client certificate."""
    c = Cluster(COORDD, size, **kw)
    for n in c.nodes:
        n.call = (lambda node: lambda method, path, body=None, timeout=5.0:
                  https(node.http, method, path, body, timeout=timeout))(n)
    return c


def fingerprint(addr):
    """SHA-256 of the certificate a new TLS connection to ADDR sees."""
    host, port = addr.rsplit(":", 1)
    ctx = context(certs().ca)
    with socket.create_connection((host, int(port)), timeout=5) as raw_sock:
        with ctx.wrap_socket(raw_sock, server_hostname=host) as s:
            return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()


def pem_fingerprint(pem_path):
    with open(pem_path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return hashlib.sha256(der).hexdigest()


def curl(*args):
    return subprocess.run(["curl", "-sS", "--max-time", "5"] + list(args),
                          capture_output=True, text=True)


def metric(node, name):
    for line in node.call("GET", "/metrics").raw.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no metric " + name)


# Tests --------------------------------------------------------------------------

def test_https_cluster_serves_curl_with_cacert_end_to_end():
    c = certs()
    with tls_cluster(3, extra_args=tls_args()) as cl:
        leader = cl.leader()
        follower = cl.followers(leader)[0]
        base = "https://" + leader.http
        r = curl("--cacert", c.ca, "-X", "POST", base + "/v1/sessions", "-d", '{"ttl_ms":60000}')
        assert r.returncode == 0, r.stderr
        sid = json.loads(r.stdout)["id"]
        r = curl("--cacert", c.ca, "-X", "PUT", base + "/v1/locks/jobs/a",
                 "-d", json.dumps({"session": sid}))
        assert r.returncode == 0 and json.loads(r.stdout)["fencing_token"] >= 1, r.stdout
        r = curl("--cacert", c.ca, base + "/v1/locks/jobs/a")
        assert json.loads(r.stdout)["holders"][0]["session"] == sid, r.stdout
        r = curl("--cacert", c.ca, "-X", "DELETE", base + "/v1/locks/jobs/a?session=" + sid)
        assert r.returncode == 0 and "error" not in json.loads(r.stdout), r.stdout
        r = curl("--cacert", c.ca, base + "/v1/locks/jobs/a")
        assert json.loads(r.stdout)["error"] == "not_found", r.stdout
        # A write to a follower is forwarded over the peer transport, and a
        # redirect (?redirect) names the leader with https.
        r = curl("--cacert", c.ca, "-X", "POST", "https://" + follower.http + "/v1/sessions")
        assert r.returncode == 0 and "id" in json.loads(r.stdout), r.stdout
        r = curl("--cacert", c.ca, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                 "-X", "POST", "https://" + follower.http + "/v1/sessions?redirect")
        assert r.stdout.startswith("307 https://" + leader.http + "/v1/sessions"), r.stdout


def test_plain_and_tls_clients_on_the_wrong_port_fail_cleanly():
    with tls_cluster(1, extra_args=tls_args()) as tls_c, Cluster(COORDD, 1) as plain_c:
        tn, pn = tls_c.node(1), plain_c.node(1)
        tls_c.leader()
        plain_c.leader()
        # Plain HTTP to the TLS port: no answer, the connection is closed.
        assert request(tn.http, "GET", "/v1/health", timeout=3) is None
        r = curl("http://" + tn.http + "/v1/health")
        assert r.returncode != 0, r
        # TLS to the plain port: the handshake fails.
        assert https(pn.http, "GET", "/v1/health", timeout=3) is None
        r = curl("--cacert", certs().ca, "https://" + pn.http + "/v1/health")
        assert r.returncode != 0, r
        # Both keep serving their own kind.
        assert tn.call("GET", "/v1/health").status == 200
        assert pn.call("GET", "/v1/health").status == 200
        assert tn.alive() and pn.alive()


def test_a_client_that_does_not_trust_the_ca_refuses_the_node():
    with tls_cluster(1, extra_args=tls_args()) as cl:
        n = cl.leader()
        assert https(n.http, "GET", "/v1/health", ctx=context(None)) is None
        r = curl("https://" + n.http + "/v1/health")  # the system's CAs only
        assert r.returncode == 60, (r.returncode, r.stderr)  # peer certificate not trusted
        assert https(n.http, "GET", "/v1/health", ctx=context(certs().other_ca)) is None
        assert n.call("GET", "/v1/health").status == 200


def test_an_expired_server_certificate_is_refused_by_clients():
    with tls_cluster(1, extra_args=tls_args(certs().expired)) as cl:
        n = cl.node(1)
        wait_for("the node listens", lambda: fingerprint_or_none(n.http))
        try:
            https_strict(n.http)
            raise AssertionError("an expired certificate was accepted")
        except ssl.SSLCertVerificationError as e:
            assert "expired" in str(e), e
        r = curl("--cacert", certs().ca, "https://" + n.http + "/v1/health")
        assert r.returncode == 60, (r.returncode, r.stderr)


def fingerprint_or_none(addr):
    host, port = addr.rsplit(":", 1)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, int(port)), timeout=2) as raw_sock:
            with ctx.wrap_socket(raw_sock) as s:
                return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()
    except OSError:
        return None


def https_strict(addr):
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as raw_sock:
        with context(certs().ca).wrap_socket(raw_sock, server_hostname=host):
            pass


def test_client_ca_refuses_a_missing_or_foreign_client_certificate_with_401():
    c = certs()
    with tls_cluster(3, extra_args=tls_args(client_ca=True)) as cl:
        leader = cl.leader()
        assert leader.call("GET", "/v1/health").status == 200  # the right certificate
        before = leader.call("GET", "/v1/sessions").json
        refused0 = metric(leader, "coord_tls_client_refused_total")
        for who, ctx in (("no certificate", context(c.ca)),
                         ("another CA's", context(c.ca, c.stranger))):
            for method, path, body in (("POST", "/v1/sessions", {"ttl_ms": 60000}),
                                       ("GET", "/v1/health", None),
                                       ("GET", "/v1/sessions", None)):
                r = https(leader.http, method, path, body, ctx=ctx)
                assert r is not None and r.status == 401, (who, path, r)
                assert r.json["error"] == "unauthenticated" and r.json["message"], r
        r = curl("--cacert", c.ca, "https://" + leader.http + "/v1/health")
        assert r.returncode == 0 and json.loads(r.stdout)["error"] == "unauthenticated", r
        assert leader.call("GET", "/v1/sessions").json == before  # nothing changed
        assert metric(leader, "coord_tls_client_refused_total") == refused0 + 7
        r = curl("--cacert", c.ca, "--cert", c.client[0], "--key", c.client[1],
                 "-X", "POST", "https://" + leader.http + "/v1/sessions")
        assert r.returncode == 0 and "id" in json.loads(r.stdout), r.stdout


def test_sighup_reloads_the_certificate_without_a_restart():
    c = certs()
    args = tls_args()
    cert_file, key_file = args[1], args[3]
    with tls_cluster(1, extra_args=args) as cl:
        n = cl.leader()
        pid = n.proc.pid
        assert fingerprint(n.http) == pem_fingerprint(c.server[0])
        for i in range(3):
            assert n.call("POST", "/v1/sessions", {"ttl_ms": 60000}).status == 201
        applied = n.status()["applied_index"]
        # A connection opened before the reload keeps working after it.
        host, port = n.http.rsplit(":", 1)
        kept = http.client.HTTPSConnection(host, int(port), timeout=5,
                                           context=context(c.ca))
        kept.request("GET", "/v1/health")
        assert kept.getresponse().read()
        shutil.copy(c.server2[0], cert_file)
        shutil.copy(c.server2[1], key_file)
        os.kill(pid, signal.SIGHUP)
        wait_for("new connections see the new certificate",
                 lambda: fingerprint(n.http) == pem_fingerprint(c.server2[0]))
        kept.request("GET", "/v1/health")
        assert kept.getresponse().status == 200
        kept.close()
        assert n.proc.pid == pid and n.alive()
        assert n.status()["applied_index"] >= applied
        assert len(n.call("GET", "/v1/sessions").json["sessions"]) == 3
        # A broken file: the node keeps the certificate it has, in one line.
        with open(key_file, "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
        os.kill(pid, signal.SIGHUP)
        wait_for("the refusal is logged",
                 lambda: "kept the previous certificate" in n.log_text())
        assert key_file in n.log_text()
        assert fingerprint(n.http) == pem_fingerprint(c.server2[0])
        assert n.call("GET", "/v1/health").status == 200 and n.alive()


def ctl(env_extra, *args, timeout=30):
    """coordctl ARGS with the environment plus ENV_EXTRA; (rc, out, err)."""
    if not COORDCTL:
        raise SystemExit("set COORDCTL to the coordctl binary")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COORD_")}
    env.update(env_extra)
    r = subprocess.run([COORDCTL] + list(args), capture_output=True, text=True,
                       timeout=timeout, env=env)
    return r.returncode, r.stdout, r.stderr


def test_coordctl_with_cacert_and_client_certificate_end_to_end():
    c = certs()
    with tls_cluster(3, extra_args=tls_args(client_ca=True)) as cl:
        leader = cl.leader()
        # Every endpoint listed, the leader found through /v1/status: the
        # leader's URL must keep the https scheme.
        eps = ",".join("https://" + n.http for n in cl.nodes)
        flags = ["--endpoints", eps, "--cacert", c.ca, "--cert", c.client[0],
                 "--key", c.client[1]]
        rc, sid, err = ctl({}, *flags, "session", "create", "--ttl", "20s")
        assert rc == 0, err
        sid = sid.strip()
        rc, token, err = ctl({}, *flags, "acquire", "tls/a", "--session", sid)
        assert rc == 0 and int(token) > 0, (token, err)
        rc, out, err = ctl({}, *flags, "release", "tls/a", "--session", sid)
        assert rc == 0 and json.loads(out) == {"released": True}, (out, err)
        # The same through the environment, and lock -- CMD (its keeper).
        env = {"COORD_ENDPOINTS": eps, "COORD_CACERT": c.ca, "COORD_CERT": c.client[0],
               "COORD_KEY": c.client[1]}
        rc, out, err = ctl(env, "lock", "tls/b", "--", "sh", "-c", 'echo "$COORD_LOCK"')
        assert rc == 0 and out.strip() == "tls/b", (rc, out, err)
        assert leader.call("GET", "/v1/locks/tls/b").status == 404
        # Without the client certificate: 401, told and refused.
        rc, out, err = ctl({}, "--endpoints", eps, "--cacert", c.ca, "session", "create")
        assert rc != 0 and "unauthenticated" in out + err, (rc, out, err)
        # Without trusting the CA: coordctl's own verification refuses.
        rc, out, err = ctl({}, "--endpoints", eps, "--cert", c.client[0], "--key",
                           c.client[1], "session", "create", timeout=60)
        assert rc == 69, (rc, out, err)
        rc, out, err = ctl({}, "--endpoints", eps, "--cert", c.client[0], "status")
        assert rc == 64 and "--key" in err, (rc, out, err)
        assert len(leader.call("GET", "/v1/sessions").json["sessions"]) == 1


def test_sighup_on_a_plain_node_is_logged_and_changes_nothing():
    with Cluster(COORDD, 1) as cl:
        n = cl.leader()
        assert n.call("POST", "/v1/sessions", {"ttl_ms": 60000}).status == 201
        pid = n.proc.pid
        os.kill(pid, signal.SIGHUP)
        wait_for("the signal is logged", lambda: "no --tls-cert to reload" in n.log_text())
        assert n.alive() and n.proc.pid == pid
        assert len(n.call("GET", "/v1/sessions").json["sessions"]) == 1


def test_bad_tls_flags_and_files_refuse_to_start():
    c = certs()
    d = tempfile.mkdtemp(dir=c.dir)
    base = [COORDD, "--data", os.path.join(d, "data"), "--http", "127.0.0.1:1",
            "--raft", "127.0.0.1:2"]

    def start(*extra):
        return subprocess.run(base + list(extra), capture_output=True, text=True, timeout=10)

    r = start("--tls-cert", c.server[0])
    assert r.returncode == 2 and "--tls-key" in r.stderr, r
    r = start("--tls-client-ca", c.ca)
    assert r.returncode == 2 and "--tls-client-ca" in r.stderr, r
    missing = os.path.join(d, "nope.pem")
    r = start("--tls-cert", missing, "--tls-key", c.server[1])
    assert r.returncode == 1 and missing in r.stdout + r.stderr, r
    r = start("--tls-cert", c.server[0], "--tls-key", c.ca)  # a certificate, not a key
    assert r.returncode == 1 and c.ca in r.stdout + r.stderr, r
    r = start("--tls-cert", c.server[0], "--tls-key", c.client[1])  # not its key
    assert r.returncode == 1 and "does not go with" in r.stdout + r.stderr, r
    r = start("--tls-cert", c.server[0], "--tls-key", c.server[1], "--tls-client-ca", missing)
    assert r.returncode == 1 and missing in r.stdout + r.stderr, r
    assert not os.path.exists(os.path.join(d, "data")), "the data folder was touched"


ALL = [test_https_cluster_serves_curl_with_cacert_end_to_end,
       test_plain_and_tls_clients_on_the_wrong_port_fail_cleanly,
       test_a_client_that_does_not_trust_the_ca_refuses_the_node,
       test_an_expired_server_certificate_is_refused_by_clients,
       test_client_ca_refuses_a_missing_or_foreign_client_certificate_with_401,
       test_sighup_reloads_the_certificate_without_a_restart,
       test_bad_tls_flags_and_files_refuse_to_start,
       test_sighup_on_a_plain_node_is_logged_and_changes_nothing,
       test_coordctl_with_cacert_and_client_certificate_end_to_end]

if __name__ == "__main__":
    names = sys.argv[1:]
    try:
        run([t for t in ALL if not names or t.__name__ in names])
    finally:
        if CERTS is not None:
            CERTS.close()
