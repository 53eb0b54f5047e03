"""Runs the README's runbook ("Operating a cluster") end to end on loopback,
block by block, against one cluster: each block is run by bash as written,
with the machines' addresses mapped to 127.0.0.1 ports, /var/lib/coord and
/backup mapped to folders of the test, and `coordd ... &` started in the
background (and stopped at the end, by pid). What a block's marker names is
done around it: kill=N stops server N first (it "died"), lead=N moves the
leadership to N first, restart=N stops N with SIGTERM after the block and
starts it again with the same command line. After each block the test
checks the cluster's membership, and prints how long the block took.
Run: COORDD=... COORDCTL=... python3 tests/cluster/test_runbook.py"""

import os
import re
import signal
import subprocess
import sys
import time

from harness import Cluster, coordd_path, request, run

COORDD = coordd_path()
COORDCTL = os.environ.get("COORDCTL", "")
if not os.access(COORDCTL, os.X_OK):
    raise SystemExit("set COORDCTL to the coordctl binary")
README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")
BLOCK = re.compile(r"<!-- runbook:begin (\S+)([^>]*)-->\s*```sh\n(.*?)```\s*<!-- runbook:end -->",
                   re.S)


def blocks():
    text = open(README).read()
    found = []
    for m in BLOCK.finditer(text):
        marks = dict(kv.split("=", 1) for kv in m.group(2).split())
        found.append((m.group(1), marks, m.group(3)))
    return found


class Runbook:
    """The README's machines on loopback: 10.0.X.N is slot 10*X+N; slot S
    answers HTTP on base+S and Raft on base+100+S. A restored cluster's
    folders (ids start over) are kept apart from the first cluster's."""

    def __init__(self, cluster):
        self.c = cluster
        self.dir = cluster.dir
        self.pids = os.path.join(self.dir, "runbook-pids")
        os.makedirs(os.path.join(self.dir, "backup"), exist_ok=True)

    def addr(self, m):
        slot = int(m.group(2)) + 10 * int(m.group(1))
        port = self.c.base + slot + (100 if m.group(3) == "7170" else 0)
        return "127.0.0.1:%d" % port

    def endpoints(self):
        slots = list(range(1, 10)) + list(range(11, 14)) + list(range(21, 24))
        return ",".join("http://127.0.0.1:%d" % (self.c.base + s) for s in slots)

    def script(self, text):
        out = []
        for line in text.splitlines():
            restored = "10.0.2." in line
            line = re.sub(r"10\.0\.([012])\.(\d+):(7070|7170)", self.addr, line)
            line = line.replace("/backup/", os.path.join(self.dir, "backup") + "/")
            if line.startswith("coordd "):
                nid = re.search(r"--id (\d+)", line).group(1)
                data = os.path.join(self.dir, "n%s%s" % (nid, "-restored" if restored else ""))
                line = line.replace("/var/lib/coord", data)
                if line.endswith("&"):
                    line = '"$COORDD"%s --heartbeat-ms 50 --election-timeout-ms 500 >> %s.log ' \
                           '2>&1 & echo $! >> %s' % (line[len("coordd"):-1], data, self.pids)
                else:
                    line = '"$COORDD"%s' % line[len("coordd"):]
            line = re.sub(r"(?<![\w/.-])coordctl ", '"$COORDCTL" ', line)
            out.append(line)
        return "\n".join(out)

    def run(self, text):
        env = dict(os.environ, COORDD=COORDD, COORDCTL=COORDCTL,
                   COORD_ENDPOINTS=self.endpoints())
        p = subprocess.run(["bash", "-e", "-c", self.script(text)], env=env,
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, (text, p.returncode, p.stdout, p.stderr)
        return p.stdout

    def stop_all(self):
        if os.path.exists(self.pids):
            for pid in open(self.pids).read().split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def members(self):
        env = dict(os.environ, COORD_ENDPOINTS=self.endpoints())
        p = subprocess.run([COORDCTL, "member", "list", "--json"], env=env,
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        import json
        return json.loads(p.stdout)


def voters(view):
    return sorted(m["id"] for m in view["members"] if m["role"] == "voter")


# What each block leaves behind: the voters, and the leader when it says.
EXPECT = {
    "replace-dead": [1, 2, 4],
    "grow": [1, 2, 4, 5, 6],
    "drain": [1, 2, 4, 5, 6],
    "move": [4, 5, 6, 7, 8],
    "backup": [4, 5, 6, 7, 8],
    "restore": [1, 2, 3],
}


def test_runbook():
    found = blocks()
    assert [name for name, _, _ in found] == list(EXPECT), [n for n, _, _ in found]
    with Cluster(COORDD, 3) as c:
        book = Runbook(c)
        try:
            leader = c.leader()
            r = request(leader.http, "POST", "/v1/sessions", {"ttl_ms": 60000})
            sid = r.json["id"]
            for i in range(50):
                request(leader.http, "PUT", "/v1/locks/runbook/%d" % i, {"session": sid})
            for name, marks, text in found:
                if marks.get("kill") == "all":
                    book.stop_all()
                    for n in c.nodes:
                        n.kill()
                elif "kill" in marks:
                    c.node(int(marks["kill"])).kill()
                if "lead" in marks:
                    target = int(marks["lead"])
                    r = request(c.leader().http, "POST", "/v1/leader/transfer", {"id": target})
                    assert r is not None and r.status == 200, r
                t0 = time.time()
                out = book.run(text)
                took = time.time() - t0
                if "restart" in marks:
                    node = c.node(int(marks["restart"]))
                    assert node.stop() == 0
                    node.start()
                view = book.members()
                deadline = time.time() + 10
                while voters(view) != EXPECT[name] and time.time() < deadline:
                    time.sleep(0.1)
                    view = book.members()
                assert voters(view) == EXPECT[name], (name, view, out)
                assert not view["joint"], view
                if name == "drain":
                    assert view["leader"] == 5, view
                    node = c.node(1)
                    commit = max(m["match_index"] or 0 for m in view["members"])
                    deadline = time.time() + 10
                    while (node.status() or {}).get("applied_index", 0) < commit:
                        assert time.time() < deadline, node.status()
                        time.sleep(0.1)
                if name == "backup":
                    assert os.path.getsize(os.path.join(c.dir, "backup", "coord.db")) > 0
                print("runbook %-12s %.1f s" % (name, took), flush=True)
            # Every lock taken before the first block is still held, in the
            # restored cluster too.
            r = request("127.0.0.1:%d" % (c.base + 21), "GET", "/v1/locks?prefix=runbook/")
            assert r is not None and r.status == 200 and len(r.json["locks"]) == 50, r
        finally:
            book.stop_all()


if __name__ == "__main__":
    run([test_runbook])
