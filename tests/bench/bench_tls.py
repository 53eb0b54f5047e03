"""TLS and access control for the comparison benchmark (vs-etcd --tls):
certificates made for one run, and a coord cluster whose nodes serve HTTPS,
talk to each other over mutual TLS, and require a bearer token.

Certificates: one CA, and one certificate per node (ECDSA P-256, valid for
IP 127.0.0.1 and DNS localhost, no extended key usage, so that one
certificate serves a node as TLS server and as TLS client of its peers),
made with openssl in a temporary folder that close() removes."""

import http.client
import os
import shutil
import ssl
import subprocess
import tempfile
import time

import harness


class Certs:
    """A CA and, on demand, one certificate per node name."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="bench-tls-")
        self._openssl("req", "-x509", *self._key_args("ca"), "-out", "ca.pem",
                      "-days", "2", "-subj", "/CN=coord-bench CA")
        self.ca = self.path("ca.pem")

    def path(self, name):
        return os.path.join(self.dir, name)

    def _openssl(self, *args):
        subprocess.run(["openssl"] + list(args), check=True, cwd=self.dir,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    @staticmethod
    def _key_args(name):
        return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", name + ".key"]

    def leaf(self, name):
        """(certificate, key) paths of NAME's certificate, signed by the CA."""
        with open(self.path(name + ".ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        self._openssl("req", *self._key_args(name), "-out", name + ".csr",
                      "-subj", "/CN=" + name)
        self._openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem",
                      "-CAkey", "ca.key", "-CAcreateserial", "-out", name + ".pem",
                      "-days", "2", "-extfile", name + ".ext")
        return self.path(name + ".pem"), self.path(name + ".key")

    def secret_file(self, name, text):
        """Writes TEXT to a file only this user can read; its path."""
        p = self.path(name)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n")
        return p

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def https_request(addr, method, path, ctx, token=None, timeout=5.0):
    """One HTTPS request as harness.request does it; a harness.Reply, or
    None on a connection, TLS or time-out failure."""
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPSConnection(host, int(port), timeout=timeout, context=ctx)
    headers = {"Authorization": "Bearer " + token} if token else {}
    try:
        conn.request(method, path, headers=headers)
        r = conn.getresponse()
        return harness.Reply(r.status, {k.lower(): v for k, v in r.getheaders()},
                             r.read().decode())
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


class SecureNode(harness.Node):
    """A coord node with its own certificate on both ports (--tls-*,
    --peer-*) and --auth; the harness's calls go over HTTPS with the CA and
    the cluster's token once it has one."""

    def __init__(self, cluster, nid, certs):
        super().__init__(cluster, nid)
        cert, key = certs.leaf("coord-n%d" % nid)
        self.tls_args = ["--tls-cert", cert, "--tls-key", key,
                         "--peer-cert", cert, "--peer-key", key, "--peer-ca", certs.ca,
                         "--auth"]

    def start(self):
        # harness.Node.start passes the cluster's extra_args to every node;
        # this node's certificate is its own.
        shared = self.cluster.extra_args
        self.cluster.extra_args = shared + self.tls_args
        try:
            super().start()
        finally:
            self.cluster.extra_args = shared

    def call(self, method, path, body=None, timeout=5.0):
        assert body is None, "the benchmark's harness calls send no body"
        return https_request(self.http, method, path, self.cluster.tls_context,
                             self.cluster.token, timeout)


def secure_coord(coordd, certs, size=3, **kw):
    """A harness.Cluster (not started) of SecureNodes. Start it with `with`,
    then bootstrap(cluster) before anything but /v1/health."""
    c = harness.Cluster(coordd, size, **kw)
    c.tls_context = ssl.create_default_context(cafile=certs.ca)
    c.token = None
    c.nodes = [SecureNode(c, i, certs) for i in range(1, size + 1)]
    return c


def bootstrap(cluster, timeout=30.0):
    """POST /v1/auth/bootstrap until a node answers 201 (before a leader is
    elected the nodes cannot); keeps the admin token in cluster.token and
    returns it. The secret is never logged."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        for n in cluster.nodes:
            r = https_request(n.http, "POST", "/v1/auth/bootstrap", cluster.tls_context)
            if r is not None and r.status == 201 and r.json and r.json.get("token"):
                cluster.token = r.json["token"]
                # What is measured is access control at work: a request
                # without the token is refused.
                r = https_request(n.http, "GET", "/v1/sessions", cluster.tls_context)
                assert r is not None and r.status == 401, ("coord: auth is not on", r)
                return cluster.token
            if r is not None and r.status == 409:
                raise AssertionError("coord: already bootstrapped, its token is lost")
            last = None if r is None else (r.status, (r.json or {}).get("error"))
        time.sleep(0.2)
    raise AssertionError("coord: no bootstrap within %.0fs (last answer %r)" % (timeout, last))


def etcd_tls_args(cert, key, ca):
    """etcd's flags for TLS on both ports: HTTPS for clients, and mutual TLS
    between members, as coord's peers. No --trusted-ca-file: etcd 3.4 then
    requires a client certificate on the client port ("tls: client didn't
    provide a certificate"), and coord asks its clients for none."""
    return ["--cert-file", cert, "--key-file", key,
            "--peer-cert-file", cert, "--peer-key-file", key, "--peer-trusted-ca-file", ca,
            "--peer-client-cert-auth"]
