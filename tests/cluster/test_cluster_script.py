"""scripts/cluster.sh, the one command that starts a local cluster, run as
a user would (with $COORDD set, so that it builds nothing): it serves, and
with --tls it serves HTTPS that needs a client certificate and runs the peers
over mutual TLS with the certificates it made, with --auth every request
needs the admin token it made; SIGTERM stops every node.
Run: COORDD=build/coord/coordd python3 tests/cluster/test_cluster_script.py [TEST...]"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import shutil

from harness import coordd_path, free_port_base, request, run, wait_for
from test_tls import context, https

COORDD = coordd_path()
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                      "cluster.sh")


def start(*args):
    """Runs cluster.sh with ARGS in a folder of its own, until it says how
    to try it (its nodes are started); returns (process, folder, base port)."""
    folder = tempfile.mkdtemp(prefix="coord-script-")
    base = free_port_base(3)
    p = subprocess.Popen(["bash", SCRIPT, "--dir", os.path.join(folder, "c"),
                          "--port-base", str(base)] + list(args),
                         env=dict(os.environ, COORDD=COORDD),
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in p.stdout:  # ends when the script does, if it fails first
        if line.startswith("try:"):
            break
    return p, folder, base


def stop(p, folder):
    """SIGTERM to the script this test started: it stops its nodes and
    exits 0."""
    p.send_signal(signal.SIGTERM)
    try:
        code = p.wait(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
        shutil.rmtree(folder, ignore_errors=True)
    assert code == 0, code


def leader_of(call):
    def agreed():
        r = call()
        return r is not None and r.status == 200 and r.json["leader"] is not None
    wait_for("the cluster elects a leader", agreed, timeout=20)


def test_the_script_starts_a_cluster():
    p, folder, base = start("--fresh")
    try:
        addr = "127.0.0.1:%d" % (base + 1)
        leader_of(lambda: request(addr, "GET", "/v1/status"))
        assert len(request(addr, "GET", "/v1/status").json["members"]) == 3
    finally:
        stop(p, folder)
    assert request("127.0.0.1:%d" % (base + 1), "GET", "/v1/status") is None  # stopped


def test_the_script_with_tls_starts_a_secured_cluster():
    p, folder, base = start("--fresh", "--tls")
    try:
        t = os.path.join(folder, "c", "tls")
        addr = "127.0.0.1:%d" % (base + 1)
        ctx = context(os.path.join(t, "ca.pem"),
                      (os.path.join(t, "client.pem"), os.path.join(t, "client.key")))
        leader_of(lambda: https(addr, "GET", "/v1/status", ctx=ctx))
        # Every node answers HTTPS only, and only with a client certificate.
        assert request(addr, "GET", "/v1/status") is None
        r = https(addr, "GET", "/v1/health", ctx=context(os.path.join(t, "ca.pem")))
        assert r is not None and r.status == 401, r
        # The peers talk over TLS (the cluster was founded through it).
        r = https(addr, "POST", "/v1/sessions", {"ttl_ms": 5000}, ctx=ctx)
        assert r is not None and r.status == 201, r
    finally:
        stop(p, folder)


def test_the_script_with_tls_and_auth_needs_a_certificate_and_the_token():
    p, folder, base = start("--fresh", "--tls", "--auth")
    try:
        t = os.path.join(folder, "c", "tls")
        path = os.path.join(folder, "c", "admin.token")
        assert os.stat(path).st_mode & 0o077 == 0, "the token file is readable by others"
        with open(path) as f:
            token = f.read().strip()
        addr = "127.0.0.1:%d" % (base + 1)
        ctx = context(os.path.join(t, "ca.pem"),
                      (os.path.join(t, "client.pem"), os.path.join(t, "client.key")))
        leader_of(lambda: https(addr, "GET", "/v1/status", ctx=ctx, token=token))
        r = https(addr, "GET", "/v1/status", ctx=ctx)
        assert r is not None and r.status == 401, r  # the certificate alone is not enough
        r = https(addr, "POST", "/v1/sessions", {"ttl_ms": 5000}, ctx=ctx, token=token)
        assert r is not None and r.status == 201, r
        r = https(addr, "GET", "/v1/tokens", ctx=ctx, token=token)
        assert r is not None and r.status == 200 and r.json["tokens"][0]["admin"], r
    finally:
        stop(p, folder)


if __name__ == "__main__":
    names = sys.argv[1:]
    tests = [f for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)]
    run([t for t in tests if not names or t.__name__ in names])
