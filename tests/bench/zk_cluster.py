"""A real ZooKeeper ensemble on 127.0.0.1 beside coord and etcd, for the
comparison benchmark: Debian's zookeeper package (3.8), one JVM per server,
started and stopped by pid, the leader found with the `srvr` command.

Each server's settings are ZooKeeper's defaults except where noted:
forceSync=yes (the default: the transaction log is fsynced before a write
is acknowledged, as coord's and etcd's logs are), tickTime 200 ms (so the
session time-out, 2 to 20 ticks, spans 0.4 to 4 s, and a follower is
declared lost after syncLimit = 10 ticks = 2 s, near coord's and etcd's
1 s election time-out), a fixed 256 MiB heap, and no admin server.

Only processes this module started are ever signalled; close() stops them
all and removes their data."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import harness

# zookeeper.jar's manifest names the rest of its class path.
JARS = ["/usr/share/java/zookeeper.jar", "/usr/share/java/slf4j-api.jar",
        "/usr/share/java/slf4j-simple.jar"]
TICK_MS = 200
HEAP = "256m"


def installed():
    """Whether Debian's zookeeper package and a Java runtime are here."""
    return os.path.exists(JARS[0]) and shutil.which("java") is not None


def four_letter(port, cmd, timeout=1.0):
    """The answer to a four-letter command (srvr, mntr, ...), or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(cmd.encode())
            s.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                b = s.recv(4096)
                if not b:
                    break
                chunks.append(b)
            return b"".join(chunks).decode(errors="replace")
    except OSError:
        return None


def ls(client, path):
    """The children of PATH, through ZooKeeper's own command-line client
    (one JVM start, about half a second); None if PATH does not exist."""
    p = subprocess.run(["java", "-cp", ":".join(JARS), "org.apache.zookeeper.ZooKeeperMain",
                        "-server", client, "ls", path], capture_output=True, text=True,
                       timeout=60)
    lists = [l for l in p.stdout.splitlines() if l.startswith("[") and l.endswith("]")]
    if not lists:
        return None
    inner = lists[-1][1:-1].strip()
    return [x.strip() for x in inner.split(",")] if inner else []


class Server:
    def __init__(self, ensemble, i):
        self.ensemble = ensemble
        self.myid = i
        self.port = ensemble.base + i
        self.client = "127.0.0.1:%d" % self.port
        self.dir = os.path.join(ensemble.dir, "s%d" % i)
        self.log = os.path.join(ensemble.dir, "s%d.log" % i)
        self.proc = None
        os.makedirs(os.path.join(self.dir, "data"))
        with open(os.path.join(self.dir, "data", "myid"), "w") as f:
            f.write("%d\n" % i)
        lines = ["tickTime=%d" % TICK_MS, "initLimit=20", "syncLimit=10",
                 "dataDir=%s/data" % self.dir, "dataLogDir=%s/datalog" % self.dir,
                 "clientPortAddress=127.0.0.1", "clientPort=%d" % self.port,
                 "maxClientCnxns=0", "forceSync=yes", "4lw.commands.whitelist=*",
                 "admin.enableServer=false", "autopurge.purgeInterval=0"]
        for j in range(1, ensemble.size + 1):
            lines.append("server.%d=127.0.0.1:%d:%d" % (j, ensemble.base + 100 + j,
                                                       ensemble.election_base + j))
        self.cfg = os.path.join(self.dir, "zoo.cfg")
        with open(self.cfg, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        assert self.proc is None
        cp = ":".join(JARS)
        args = ["java", "-Xms" + HEAP, "-Xmx" + HEAP, "-XX:+UseG1GC",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-Dzookeeper.admin.enableServer=false", "-cp", cp,
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", self.cfg]
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def mode(self):
        """"leader", "follower", or None while it does not serve."""
        out = four_letter(self.port, "srvr")
        for line in (out or "").splitlines():
            if line.startswith("Mode:"):
                return line.split(":", 1)[1].strip()
        return None

    def stop(self, timeout=10.0):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


class Ensemble:
    """SIZE ZooKeeper servers, each with its own data folder."""

    def __init__(self, size=3):
        self.size = size
        self.dir = tempfile.mkdtemp(prefix="zk-ensemble-")
        # Client ports base+1..base+size, quorum ports base+101..; the
        # election ports from a second base, each probed free.
        self.base = harness.free_port_base(size)
        self.election_base = harness.free_port_base(size)
        self.servers = [Server(self, i) for i in range(1, size + 1)]

    def __enter__(self):
        try:
            for s in self.servers:
                s.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for s in self.servers:
            s.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def leader(self, timeout=60.0):
        """The server in mode leader, once every live server serves."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            live = [s for s in self.servers if s.alive()]
            if not live:
                break
            modes = [s.mode() for s in live]
            if all(m in ("leader", "follower") for m in modes) and modes.count("leader") == 1:
                return live[modes.index("leader")]
            time.sleep(0.2)
        logs = "".join(open(s.log).read()[-2000:] for s in self.servers if os.path.exists(s.log))
        raise AssertionError("zookeeper: no leader within %.0fs\n%s" % (timeout, logs))
