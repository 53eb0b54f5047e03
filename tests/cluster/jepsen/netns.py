"""A coord cluster whose nodes live in network namespaces this test creates,
so that partitions are cut by the kernel (iptables in each namespace), not
by code inside coordd.

Layout: one bridge in the root namespace with 10.77.K.254/24, and per node a
namespace with a veth pair to the bridge and the address 10.77.K.<id>. The
test's clients stay in the root namespace and reach every node through the
bridge; cuts only ever drop traffic between nodes. Nothing here sends to an
address outside 127.0.0.0/8 or the namespaces it made, and close() removes
the namespaces, links and the wrapper it wrote, also after a failure."""

import os
import shutil
import subprocess
import tempfile

from harness import Cluster

HTTP_PORT = 7080
RAFT_PORT = 7180
MAX_ID = 253  # node I is 10.77.K.I; .254 is the bridge


class Unsupported(Exception):
    """Network namespaces (or iptables in them) are not available here."""


def _run(args, check=True):
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def probe():
    """None if namespaces with iptables can be used, else the reason."""
    if os.geteuid() != 0:
        return "not root (network namespaces need CAP_NET_ADMIN)"
    if shutil.which("ip") is None:
        return "iproute2 'ip' not found"
    if shutil.which("iptables") is None:
        return "iptables not found (scripts/deps.sh installs it)"
    name = "cjprobe%d" % os.getpid()
    r = _run(["ip", "netns", "add", name], check=False)
    if r.returncode != 0:
        return "ip netns add failed: %s" % r.stderr.strip()
    try:
        r = _run(["ip", "netns", "exec", name, "iptables", "-L", "INPUT", "-n"], check=False)
        if r.returncode != 0:
            return "iptables unusable in a namespace: %s" % r.stderr.strip()
    finally:
        _run(["ip", "netns", "del", name], check=False)
    return None


class Net:
    """The namespaces, bridge and veths of one run."""

    def __init__(self, size):
        self.tag = "cj%d" % (os.getpid() % 100000)
        self.subnet = self._free_subnet()
        self.size = size
        self.bridge = self.tag + "b"
        self.made = []
        self.ids = []  # the nodes that have a namespace

    @staticmethod
    def _free_subnet():
        """A 10.77.K.0/24 that no route of this host uses yet (another run
        may be going on beside this one)."""
        routes = _run(["ip", "-4", "route", "show"], check=False).stdout
        start = os.getpid() % 200
        for k in range(200):
            sub = 10 + (start + k) % 200
            if "10.77.%d." % sub not in routes:
                return sub
        raise Unsupported("no free 10.77.K.0/24 subnet")

    def ns(self, nid):
        return "%sn%d" % (self.tag, nid)

    def addr(self, nid):
        return "10.77.%d.%d" % (self.subnet, nid)

    def setup(self):
        try:
            _run(["ip", "link", "add", self.bridge, "type", "bridge"])
            self.made.append(("link", self.bridge))
            _run(["ip", "addr", "add", "10.77.%d.254/24" % self.subnet, "dev", self.bridge])
            _run(["ip", "link", "set", self.bridge, "up"])
            for nid in range(1, self.size + 1):
                self.add(nid)
        except Exception:
            self.close()
            raise

    def add(self, nid):
        """A namespace for node NID (at most MAX_ID) on the bridge: at
        setup, and for a server the membership nemesis adds."""
        assert 1 <= nid <= MAX_ID and nid not in self.ids
        ns, veth = self.ns(nid), "%sv%d" % (self.tag, nid)
        _run(["ip", "netns", "add", ns])
        self.made.append(("netns", ns))
        self.ids.append(nid)
        _run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
        self.made.append(("link", veth))
        _run(["ip", "link", "set", veth, "master", self.bridge, "up"])
        _run(["ip", "-n", ns, "addr", "add", self.addr(nid) + "/24", "dev", "eth0"])
        _run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        _run(["ip", "-n", ns, "link", "set", "lo", "up"])

    def drop(self, src, dst):
        """The kernel in DST's namespace drops every packet from SRC: a
        one-way cut (SRC's messages and answers no longer reach DST)."""
        _run(["ip", "netns", "exec", self.ns(dst), "iptables", "-A", "INPUT",
              "-s", self.addr(src), "-j", "DROP"])

    def partition(self, groups):
        """Cuts every link between nodes of different GROUPS (lists of ids)."""
        where = {nid: g for g, members in enumerate(groups) for nid in members}
        for a in where:
            for b in where:
                if where[a] != where[b]:
                    self.drop(a, b)

    def heal(self):
        for nid in self.ids:
            _run(["ip", "netns", "exec", self.ns(nid), "iptables", "-F", "INPUT"], check=False)

    def close(self):
        for kind, name in reversed(self.made):
            if kind == "netns":
                _run(["ip", "netns", "del", name], check=False)
            else:
                _run(["ip", "link", "del", name], check=False)
        self.made = []
        self.ids = []


class NetCluster(Cluster):
    """harness.Cluster with node I in namespace I at 10.77.K.I. Each node is
    started through a wrapper that execs `ip netns exec` (so the pid the
    harness signals is coordd's own)."""

    def __init__(self, coordd, size, heartbeat_ms, election_ms, extra_args=()):
        self.net = Net(size)
        self.net.setup()
        self.wrapdir = tempfile.mkdtemp(prefix="coord-jepsen-wrap-")
        wrapper = os.path.join(self.wrapdir, "coordd-in-netns")
        with open(wrapper, "w") as fh:
            # coordd's first arguments are "--id N" (harness.Node.start).
            fh.write('#!/bin/sh\nexec ip netns exec %sn"$2" %s "$@"\n'
                     % (self.net.tag, os.path.abspath(coordd)))
        os.chmod(wrapper, 0o755)
        super().__init__(wrapper, size, heartbeat_ms, election_ms, extra_args)
        for n in self.nodes:
            n.http = "%s:%d" % (self.net.addr(n.id), HTTP_PORT)
            n.raft = "%s:%d" % (self.net.addr(n.id), RAFT_PORT)
        self.members = ",".join("%d=%s" % (n.id, n.raft) for n in self.nodes)

    def close(self, keep=False):
        try:
            super().close(keep)
        finally:
            self.net.close()
            shutil.rmtree(self.wrapdir, ignore_errors=True)
