"""A real coord cluster on 127.0.0.1 for tests: coordd processes started,
paused, killed and restarted by pid, and a small JSON/HTTP client.

Only processes this harness started are ever signalled, and every node is
stopped when the cluster is closed (also on a failing test)."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def _ephemeral_low():
    """The lowest port the kernel hands out to outgoing connections."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_bases_given = set()  # never the same base twice in one process


def free_port_base(count):
    """A base port such that base+1..base+count and base+101..base+100+count
    are free now (probed by binding). The ports lie below the kernel's
    ephemeral range when it leaves room, so that a restarted node never finds
    its port taken by some client's outgoing connection."""
    low, span = 10000, _ephemeral_low() - 10000 - 200
    if span < 1000:
        low, span = 20000, 30000
    for _ in range(200):
        base = low + (os.getpid() * 37 + int(time.time() * 1000)) % span
        base -= base % 10
        # A cluster made a moment ago may not have bound its ports yet.
        ok = all(abs(base - b) >= 200 for b in _bases_given)
        for off in list(range(1, count + 1)) + list(range(101, 101 + count)):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", base + off))
            except OSError:
                ok = False
            finally:
                s.close()
            if not ok:
                break
        if ok:
            _bases_given.add(base)
            return base
        time.sleep(0.01)
    raise RuntimeError("no free ports")


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "Reply(%d, %r)" % (self.status, self.raw[:200])


def request(addr, method, path, body=None, timeout=5.0, refused=None):
    """One HTTP request; returns a Reply, or None on a connection error or
    time-out (an indeterminate outcome). With REFUSED set, a connection that
    could not be made returns REFUSED instead: nothing was sent, so the
    outcome is a definite failure."""
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        if refused is not None:
            try:
                conn.connect()
            except OSError:
                return refused
        data = None if body is None else json.dumps(body)
        conn.request(method, path, body=data,
                     headers={"Content-Type": "application/json"} if data else {})
        r = conn.getresponse()
        raw = r.read().decode()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, raw)
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


class Node:
    """Node NID of CLUSTER: HTTP on base+NID, Raft on base+100+NID. With JOIN
    it starts with --join (an empty folder that waits to be added) instead
    of --cluster."""

    def __init__(self, cluster, nid, join=False):
        self.cluster = cluster
        self.id = nid
        self.join = join
        self.http = "127.0.0.1:%d" % (cluster.base + nid)
        self.raft = "127.0.0.1:%d" % (cluster.base + 100 + nid)
        self.data = os.path.join(cluster.dir, "n%d" % nid)
        self.log = os.path.join(cluster.dir, "n%d.log" % nid)
        self.proc = None
        self.paused = False
        self.env = {}  # added to the inherited environment (e.g. LD_PRELOAD)

    def start(self):
        assert self.proc is None
        args = [self.cluster.coordd, "--id", str(self.id), "--data", self.data,
                "--http", self.http, "--raft", self.raft]
        args += ["--join"] if self.join else ["--cluster", self.cluster.members]
        args += ["--heartbeat-ms", str(self.cluster.heartbeat_ms),
                "--election-timeout-ms", str(self.cluster.election_ms)]
        args += self.cluster.extra_args
        env = dict(os.environ, **self.env) if self.env else None
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, env=env)
        self.paused = False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """kill -9 of the process this harness started."""
        if self.proc is not None:
            if self.paused:
                self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self, timeout=10):
        """SIGTERM and wait: a clean shutdown; returns the exit status."""
        if self.proc is None:
            return None
        if self.paused:
            self.resume()
        self.proc.terminate()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        return rc

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def call(self, method, path, body=None, timeout=5.0):
        return request(self.http, method, path, body, timeout)

    def status(self):
        r = self.call("GET", "/v1/status", timeout=1.0)
        return r.json if r is not None and r.status == 200 else None

    def rss_kib(self):
        """Peak resident set size (VmHWM) of the node, in KiB."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def log_text(self):
        with open(self.log) as f:
            return f.read()


class Cluster:
    def __init__(self, coordd, size, heartbeat_ms=50, election_ms=500, extra_args=()):
        self.coordd = coordd
        self.dir = tempfile.mkdtemp(prefix="coord-cluster-")
        self.base = free_port_base(size)
        self.heartbeat_ms = heartbeat_ms
        self.election_ms = election_ms
        self.extra_args = list(extra_args)
        self.nodes = [Node(self, i) for i in range(1, size + 1)]
        self.members = ",".join("%d=%s" % (n.id, n.raft) for n in self.nodes)

    def __enter__(self):
        try:
            for n in self.nodes:
                n.start()
        except BaseException:
            self.close(keep=True)  # the nodes started so far, and the folder
            raise
        return self

    def __exit__(self, *exc):
        self.close(keep=exc[0] is not None)

    def close(self, keep=False):
        for n in self.nodes:
            n.kill()
        if keep:
            for n in self.nodes:
                try:
                    print("---- log of node %d ----" % n.id)
                    print(n.log_text()[-4000:])
                except OSError:
                    pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def node(self, nid):
        return self.nodes[nid - 1]

    def live(self):
        return [n for n in self.nodes if n.alive() and not n.paused]

    def leader(self, timeout=10.0, among=None):
        """The node that every live node (or AMONG) names as leader, once they
        agree on one leader in one term; raises after TIMEOUT."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            nodes = among if among is not None else self.live()
            views = [n.status() for n in nodes]
            if all(v is not None for v in views):
                leaders = {(v["term"], v["leader"]["id"] if v["leader"] else None)
                           for v in views}
                roles = [v["role"] for v in views]
                if len(leaders) == 1 and roles.count("leader") == 1:
                    (term, lid), = leaders
                    if lid is not None:
                        return self.node(lid)
            time.sleep(0.05)
        raise AssertionError("no agreed leader within %.1fs: %r" % (
            timeout, [n.status() for n in (among or self.live())]))

    def followers(self, leader):
        return [n for n in self.live() if n.id != leader.id]

    def wait_applied(self, index, nodes=None, timeout=10.0):
        deadline = time.time() + timeout
        nodes = nodes or self.live()
        while time.time() < deadline:
            views = [n.status() for n in nodes]
            if all(v is not None and v["applied_index"] >= index for v in views):
                return
            time.sleep(0.05)
        raise AssertionError("applied index %d not reached: %r" % (
            index, [n.status() for n in nodes]))


class ClusterFixture:
    """A cluster of SIZE, started and with a leader, and a temporary folder
    (tmp, named PREFIX...). Both go at exit, whether the test passed or
    failed, and when the start itself fails; a subclass ends what else it
    made in cleanup(), which runs first."""

    def __init__(self, size, prefix):
        self.cluster = Cluster(coordd_path(), size)
        self.tmp = tempfile.mkdtemp(prefix=prefix)

    def __enter__(self):
        try:
            self.cluster.__enter__()
            self.cluster.leader()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def cleanup(self):
        pass

    def __exit__(self, *exc):
        try:
            self.cleanup()
            self.cluster.__exit__(*exc)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


def wait_for(what, fn, timeout=10.0):
    """FN's first true value, polled until TIMEOUT; raises naming WHAT."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("not within %.1fs: %s" % (timeout, what))


def coordd_path():
    path = os.environ.get("COORDD")
    if not path or not os.access(path, os.X_OK):
        raise SystemExit("set COORDD to the coordd binary")
    return path


SKIP = 77  # the exit status ctest reports as skipped (SKIP_RETURN_CODE)


class Skipped(Exception):
    """Raised by a test that cannot run on this machine, saying why: run()
    counts it as skipped, never as passed."""


def run(tests):
    """Runs the test functions in order; prints one line each and a closing
    'N passed, F failed, S skipped'; exits 1 on any failure, SKIP when
    every test was skipped, else 0."""
    import traceback
    if not tests:  # a name that matches no test must not pass quietly
        print("no test ran: check the names given")
        raise SystemExit(2)
    passed = failed = skipped = 0
    for t in tests:
        t0 = time.time()
        try:
            t()
            passed += 1
            print("PASS %s (%.1fs)" % (t.__name__, time.time() - t0), flush=True)
        except Skipped as why:
            skipped += 1
            print("SKIP %s: %s" % (t.__name__, why), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s (%.1fs)" % (t.__name__, time.time() - t0), flush=True)
            traceback.print_exc()
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    raise SystemExit(1 if failed else SKIP if skipped and not passed else 0)
