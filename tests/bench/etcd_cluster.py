"""A real etcd cluster on 127.0.0.1 beside a coord cluster, for the
comparison benchmark: members started, killed (-9) and restarted by pid,
and the leader found through the JSON gateway.

With CERTS (bench_tls.Certs) every member serves its clients over HTTPS and
its peers over mutual TLS, each with a certificate of its own.

Only processes this module started are ever signalled; close() stops them
all and removes their data."""

import json
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.request

import harness
import bench_tls


def gateway(url, path, body=None, timeout=1.0, ctx=None):
    """POST BODY (a dict) to etcd's JSON gateway; the decoded reply, or None.
    CTX: the TLS context of an https URL."""
    data = json.dumps(body or {}).encode()
    req = urllib.request.Request(url + path, data=data, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
            return json.loads(r.read().decode())
    except (OSError, ValueError):
        return None


class Member:
    def __init__(self, cluster, i):
        self.cluster = cluster
        self.name = "n%d" % i
        scheme = "https" if cluster.certs else "http"
        self.client = "%s://127.0.0.1:%d" % (scheme, cluster.base + i)
        self.peer = "%s://127.0.0.1:%d" % (scheme, cluster.base + 100 + i)
        self.tls_args = []
        if cluster.certs:
            cert, key = cluster.certs.leaf("etcd-" + self.name)
            self.tls_args = bench_tls.etcd_tls_args(cert, key, cluster.certs.ca)
        self.data = os.path.join(cluster.dir, self.name)
        self.log = os.path.join(cluster.dir, self.name + ".log")
        self.proc = None

    def start(self):
        """Starts the member; a restart finds its data folder and rejoins.
        fsync of the WAL on every commit is etcd's default (no
        --unsafe-no-fsync), matching coordd's synchronous=FULL log."""
        assert self.proc is None
        args = ["etcd", "--name", self.name, "--data-dir", self.data,
                "--listen-client-urls", self.client, "--advertise-client-urls", self.client,
                "--listen-peer-urls", self.peer, "--initial-advertise-peer-urls", self.peer,
                "--initial-cluster", self.cluster.initial,
                "--initial-cluster-state", "new",
                "--initial-cluster-token", "coord-bench",
                "--heartbeat-interval", str(self.cluster.heartbeat_ms),
                "--election-timeout", str(self.cluster.election_ms),
                "--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn"]
        args += self.tls_args
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """kill -9 of the process this module started."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self, timeout=5.0):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def status(self):
        return gateway(self.client, "/v3/maintenance/status", ctx=self.cluster.tls_context)


class EtcdCluster:
    """SIZE etcd members with heartbeat and election time-out as coordd's
    defaults (100 ms, 1000 ms), each with its own data folder; with CERTS,
    TLS on both ports."""

    def __init__(self, size=3, heartbeat_ms=100, election_ms=1000, certs=None):
        self.certs = certs
        self.tls_context = ssl.create_default_context(cafile=certs.ca) if certs else None
        self.dir = tempfile.mkdtemp(prefix="etcd-cluster-")
        self.base = harness.free_port_base(size)
        self.heartbeat_ms = heartbeat_ms
        self.election_ms = election_ms
        self.members = [Member(self, i) for i in range(1, size + 1)]
        self.initial = ",".join("%s=%s" % (m.name, m.peer) for m in self.members)

    def __enter__(self):
        for m in self.members:
            m.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for m in self.members:
            m.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def leader(self, timeout=20.0):
        """The member every live member names as leader, once they agree."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            live = [m for m in self.members if m.alive()]
            views = [m.status() for m in live]
            if views and all(v is not None for v in views):
                leaders = {v.get("leader") for v in views}
                if len(leaders) == 1:
                    lid, = leaders
                    for m, v in zip(live, views):
                        if v["header"]["member_id"] == lid:
                            return m
            time.sleep(0.1)
        raise AssertionError("etcd: no agreed leader within %.0fs" % timeout)
