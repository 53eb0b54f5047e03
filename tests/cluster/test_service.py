"""coordd as an installed service (issue 20): the --config file, systemd's
notification protocol, the unit file, the man pages and the bash completion
of coordctl, which the Debian package installs.

Run: COORDD=... COORDCTL=... python3 tests/cluster/test_service.py [TEST...]
SCDOC=path overrides the scdoc found on PATH. Nothing here needs systemd;
where systemd runs the machine's services, the unit is also started for
real with systemd-run."""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from harness import Skipped, free_port_base, request, run, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PACKAGE = os.path.join(ROOT, "scripts", "package")
MAN = os.path.join(ROOT, "docs", "man")
COORDD = os.environ.get("COORDD", "")
COORDCTL = os.environ.get("COORDCTL", "")
for what, path in (("COORDD", COORDD), ("COORDCTL", COORDCTL)):
    if not os.access(path, os.X_OK):
        raise SystemExit("set %s to the binary" % what)


def coordd_flags():
    """Every flag coordd --help names (the unit tests hold it to the table)."""
    out = subprocess.run([COORDD, "--help"], capture_output=True, text=True).stdout
    return sorted(set(re.findall(r"--([a-z][a-z-]+)", out)) - {"help"})


def coordctl_help():
    return subprocess.run([COORDCTL, "--help"], capture_output=True, text=True).stdout


class Proc:
    """A coordd this test started, with its log in a file; killed on close."""

    def __init__(self, args, log, env=None):
        self.log = log
        with open(log, "a") as f:
            self.p = subprocess.Popen([COORDD] + args, stdout=f, stderr=f, env=env)

    def text(self):
        with open(self.log) as f:
            return f.read()

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


class Tmp:
    """A temporary folder, removed afterwards, and ports: HTTP on base+N,
    Raft on base+100+N."""

    def __init__(self, nodes=2):
        self.dir = tempfile.mkdtemp(prefix="coord-service-")
        self.base = free_port_base(nodes + 1)
        self.procs = []

    def http(self, n):
        return "127.0.0.1:%d" % (self.base + n)

    def raft(self, n):
        return "127.0.0.1:%d" % (self.base + 100 + n)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def start(self, args, name, env=None):
        p = Proc(args, self.path(name + ".log"), env)
        self.procs.append(p)
        return p

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.close()
            if exc[0] is not None:
                print("---- %s ----\n%s" % (p.log, p.text()[-3000:]))
        shutil.rmtree(self.dir, ignore_errors=True)


def healthy(addr):
    r = request(addr, "GET", "/v1/health", timeout=1.0)
    return r is not None and r.status == 200


def status(addr):
    r = request(addr, "GET", "/v1/status", timeout=1.0)
    return r.json if r is not None and r.status == 200 else None


# (a) --config -----------------------------------------------------------------

def test_a_config_file_sets_the_node_and_a_flag_wins_over_it():
    with Tmp(2) as t:
        conf = t.write("coordd.conf", """\
# a node from a file
id = 1
data = %s
http = %s
raft = %s
  heartbeat-ms = 50
election-timeout-ms=500
log-level = warn
max-sessions = 123
metrics-public = true
""" % (t.path("data"), t.http(2), t.raft(1)))
        # The flag's --http wins over the file's; the rest is the file's.
        node = t.start(["--config", conf, "--http", t.http(1)], "n1")
        wait_for("the node from the file serves", lambda: healthy(t.http(1)))
        wait_for("the file's max-sessions in force",
                 lambda: (status(t.http(1)) or {}).get("limits", {}).get("max_sessions") == 123)
        st = status(t.http(1))
        assert st["role"] == "leader" and st["id"] == 1, st
        assert request(t.http(2), "GET", "/v1/health", timeout=1.0) is None, \
            "the file's http address is served though the flag replaced it"
        assert os.path.exists(os.path.join(t.path("data"), "raft.db"))
        assert " INFO " not in node.text(), "log-level = warn was not applied"
        node.p.send_signal(signal.SIGTERM)
        assert node.p.wait(10) == 0


def test_a_bad_config_line_refuses_to_start_with_its_line_and_exit_2():
    with Tmp(1) as t:
        cases = [
            ("data = %s\nhttp = %s\n\nbogus = 1\n", 4, "unknown key 'bogus'"),
            ("data = %s\nhttp = %s\ndata = /x\n", 3, "key 'data' given twice (first on line 1)"),
            ("data = %s\nhttp = %s\nheartbeat-ms = fast\n", 3, "heartbeat-ms must be"),
            ("data = %s\nhttp = %s\nauth yes\n", 3, "not \"key = value\""),
        ]
        for text, line, why in cases:
            conf = t.write("bad.conf", text % (t.path("data"), t.http(1)))
            r = subprocess.run([COORDD, "--config", conf, "--raft", t.raft(1)],
                               capture_output=True, text=True, timeout=10)
            want = "coordd: %s:%d: %s" % (conf, line, why)
            assert r.returncode == 2 and r.stderr.startswith(want), (want, r)
            assert not os.path.exists(t.path("data")), "a refused start touched --data"
        r = subprocess.run([COORDD, "--config", t.path("absent.conf")],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 2 and "absent.conf: cannot read" in r.stderr, r


# (b) systemd's notification protocol ------------------------------------------

class NotifySocket:
    """What systemd listens on for a Type=notify service: an AF_UNIX datagram
    socket whose path goes to the service in NOTIFY_SOCKET."""

    def __init__(self, folder):
        self.path = os.path.join(folder, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.messages = []  # (time received, {key: value})
        self.lock = threading.Lock()
        self.done = False
        self.thread = threading.Thread(target=self._recv, daemon=True)
        self.thread.start()

    def _recv(self):
        while not self.done:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
            with self.lock:
                self.messages.append((time.time(), fields))

    def seen(self, key, value=None, after=0):
        with self.lock:
            return [(t, m) for t, m in self.messages
                    if t >= after and key in m and (value is None or m[key] == value)]

    def env(self):
        env = dict(os.environ)
        env["NOTIFY_SOCKET"] = self.path
        return env

    def close(self):
        self.done = True
        self.thread.join()
        self.sock.close()


def test_notify_ready_once_serving_then_reloading_and_stopping():
    with Tmp(2) as t:
        ns = NotifySocket(t.dir)
        try:
            cluster = "1=%s,2=%s" % (t.raft(1), t.raft(2))

            def args(n):
                return ["--id", str(n), "--data", t.path("n%d" % n), "--http", t.http(n),
                        "--raft", t.raft(n), "--cluster", cluster, "--heartbeat-ms", "50",
                        "--election-timeout-ms", "500"]

            # Node 1 founds a cluster of two: it cannot serve until node 2 is up.
            n1 = t.start(args(1), "n1", env=ns.env())
            wait_for("node 1 answers", lambda: request(t.http(1), "GET", "/v1/status",
                                                       timeout=1.0) is not None)
            time.sleep(1.5)  # three election timeouts
            assert not healthy(t.http(1))
            assert not ns.seen("READY"), ns.messages
            n2 = t.start(args(2), "n2")
            ready = wait_for("READY=1", lambda: ns.seen("READY", "1"), timeout=15)
            assert healthy(t.http(1)), "READY=1 came before /v1/health said ok"
            status = [m["STATUS"] for _, m in ready if "STATUS" in m]
            assert status and re.match(r"leader [12]( \(this node\))?, term \d+$", status[0]), \
                ready
            assert len(ns.seen("READY", "1")) == 1, "READY=1 sent again without a reload"

            # SIGHUP: RELOADING=1, then READY=1 again.
            t0 = time.time()
            n1.p.send_signal(signal.SIGHUP)
            wait_for("RELOADING=1", lambda: ns.seen("RELOADING", "1", after=t0))
            wait_for("READY=1 after the reload", lambda: ns.seen("READY", "1", after=t0))
            rel = ns.seen("RELOADING", "1", after=t0)[0]
            assert "MONOTONIC_USEC" in rel[1], rel
            assert ns.seen("READY", "1", after=t0)[0][0] >= rel[0]
            assert n1.p.poll() is None and healthy(t.http(1))

            # SIGTERM: STOPPING=1, and a clean exit.
            t0 = time.time()
            n1.p.send_signal(signal.SIGTERM)
            assert n1.p.wait(10) == 0
            wait_for("STOPPING=1", lambda: ns.seen("STOPPING", "1", after=t0), timeout=2)
            n2.p.send_signal(signal.SIGTERM)
            assert n2.p.wait(10) == 0
        finally:
            ns.close()


# (c) the unit file and the man pages -------------------------------------------

def unit():
    """coordd.service as {key: [values]} of its [Service] section."""
    keys, section = {}, None
    with open(os.path.join(PACKAGE, "coordd.service")) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = line
                continue
            k, v = line.split("=", 1)
            if section == "[Service]":
                keys.setdefault(k, []).append(v)
    return keys


def test_the_unit_starts_coordd_with_the_shipped_config():
    u = unit()
    for k, v in [("Type", "notify"), ("User", "coord"), ("Restart", "on-failure"),
                 ("ExecReload", "/bin/kill -HUP $MAINPID"), ("ProtectSystem", "strict"),
                 ("ReadWritePaths", "/var/lib/coord"), ("NoNewPrivileges", "yes"),
                 ("PrivateTmp", "yes"), ("ProtectHome", "yes"),
                 ("RestartPreventExitStatus", "2 70")]:
        assert u.get(k) == [v], (k, u.get(k))
    argv = shlex.split(u["ExecStart"][0])
    assert argv == ["/usr/bin/coordd", "--config", "/etc/coord/coordd.conf"], argv
    # The shipped file shows every key of coordd's flag table.
    with open(os.path.join(PACKAGE, "coordd.conf")) as f:
        conf = f.read()
    for flag in coordd_flags():
        if flag == "config":
            continue
        assert re.search(r"^#?%s = " % re.escape(flag), conf, re.M), \
            "coordd.conf does not show %s" % flag
    # ExecStart's command line, run with this build's coordd on the shipped
    # file: it starts and serves (ports and folder moved by flags, which win).
    with Tmp(1) as t:
        node = t.start(argv[1:2] + [os.path.join(PACKAGE, "coordd.conf"),
                                    "--data", t.path("data"), "--http", t.http(1),
                                    "--raft", t.raft(1)], "unit")
        wait_for("coordd on the shipped coordd.conf serves", lambda: healthy(t.http(1)))
        node.p.send_signal(signal.SIGTERM)
        assert node.p.wait(10) == 0
    # Where systemd-analyze can judge the hardening offline, it must stay OK.
    if shutil.which("systemd-analyze"):
        r = subprocess.run(["systemd-analyze", "security", "--offline=true",
                            os.path.join(PACKAGE, "coordd.service")],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, SYSTEMD_LOG_LEVEL="err"))
        m = re.search(r"Overall exposure level for coordd.service: ([0-9.]+)", r.stdout)
        if m:  # an older systemd-analyze has no --offline
            assert float(m.group(1)) <= 2.0, r.stdout[-2000:]


def test_the_man_pages_build_with_no_warning_and_cover_every_flag():
    pages = {"coordd.8": os.path.join(MAN, "coordd.8.scd"),
             "coordctl.1": os.path.join(MAN, "coordctl.1.scd")}
    text = {}
    for name, path in pages.items():
        with open(path) as f:
            text[name] = f.read()
        for section in ("# NAME", "# SYNOPSIS", "# EXIT STATUS", "# EXAMPLES"):
            assert section in text[name], (name, section)
    for section in ("# FILES", "# SIGNALS", "# CONFIGURATION FILE"):
        assert section in text["coordd.8"], section
    for flag in coordd_flags():
        assert "*--%s*" % flag in text["coordd.8"], "coordd(8) lacks --%s" % flag
    for flag in set(re.findall(r"--[a-z][a-z-]+", coordctl_help())):
        assert "*%s*" % flag in text["coordctl.1"], "coordctl(1) lacks %s" % flag
    for cmd in coordctl_commands():
        assert ("*%s" % cmd) in text["coordctl.1"], "coordctl(1) lacks %s" % cmd
    scdoc = os.environ.get("SCDOC") or shutil.which("scdoc")
    if not scdoc:
        print("scdoc is not installed: the pages were not built")
        return
    for name, path in pages.items():
        with open(path) as f:
            r = subprocess.run([scdoc], stdin=f, capture_output=True, timeout=30)
        assert r.returncode == 0 and not r.stderr, (name, r.stderr)
        assert r.stdout.startswith(b".\\\" Generated by scdoc"), name
        m = name.split(".")
        assert (b'.TH "%s" "%s"' % (m[0].encode(), m[1].encode())) in r.stdout, name


# (d) bash completion of coordctl -----------------------------------------------

def coordctl_commands():
    """The commands coordctl --help lists, with "COMMAND SUB" for each
    subcommand (member add, leader transfer, token revoke...)."""
    groups = ("session", "member", "snapshot", "auth", "token")
    cmds = set()
    for line in coordctl_help().splitlines():
        words = line.split()
        if not line.startswith("  ") or line.startswith("   ") or not words[0].islower():
            continue
        group = words[0] if words[0] in groups else None
        usage = re.split(r"\s{2,}", line.strip())[0]  # not the description
        for i, alt in enumerate(usage.split("|")):
            w = alt.split()
            if not w or not re.match(r"^[a-z-]+$", w[0]):
                continue
            if group and i > 0:
                cmds.add(group + " " + w[0])
                continue
            if not group:
                cmds.add(w[0])
            if len(w) > 1 and re.match(r"^[a-z-]+$", w[1]):  # "leader transfer"
                cmds.add(w[0] + " " + w[1])
    return cmds


def complete(words):
    """What the completion offers for WORDS (the last one being typed)."""
    script = os.path.join(PACKAGE, "coordctl.bash")
    cmd = ("source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _coordctl; "
           "printf '%%s\\n' \"${COMPREPLY[@]}\"" %
           (shlex.quote(script), " ".join(shlex.quote(w) for w in words), len(words) - 1))
    r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r
    return set(r.stdout.split())


def test_the_bash_completion_knows_every_command_and_flag():
    script = os.path.join(PACKAGE, "coordctl.bash")
    r = subprocess.run(["bash", "-n", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["bash", "-c", "source %s && complete -p coordctl" % shlex.quote(script)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "-F _coordctl coordctl" in r.stdout, r
    cmds = coordctl_commands()
    assert {"auth bootstrap", "token create", "token list", "member add"} <= cmds, cmds
    top = complete(["coordctl", ""])
    for cmd in cmds:
        words = cmd.split()
        assert words[0] in top, "no completion for %s" % words[0]
        if len(words) == 2:
            assert words[1] in complete(["coordctl", words[0], ""]), "no completion for " + cmd
    # The revoke that "token list | revoke ID" names, and every global flag.
    assert complete(["coordctl", "token", ""]) == {"create", "list", "revoke", "--help"}
    assert complete(["coordctl", "--token-file", "t", "auth", ""]) >= {"bootstrap"}
    assert complete(["coordctl", "token", "create", "ci", "--"]) == {"--rule", "--admin"}
    assert "--cacert" in complete(["coordctl", "--ca"])
    flags = set(re.findall(r"--[a-z][a-z-]+", coordctl_help()))
    with open(script) as f:
        body = f.read()
    for flag in flags:
        assert re.search(r"(^|[\s\"|])%s([\s\"|)]|$)" % re.escape(flag), body, re.M), \
            "the completion lacks %s" % flag


# Where systemd runs: the unit's settings for real ---------------------------------

def systemd_running():
    try:
        r = subprocess.run(["systemctl", "is-system-running"], capture_output=True,
                           text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.stdout.strip() in ("running", "degraded")


def test_under_systemd_the_unit_becomes_active_when_systemd_runs():
    if not systemd_running() or os.geteuid() != 0:
        raise Skipped("systemd does not run here (or not as root)")
    u = unit()
    props = ["Type=notify", "NotifyAccess=main", "DynamicUser=yes", "StateDirectory=coord-test"]
    for k in ("ProtectSystem", "ProtectHome", "PrivateTmp", "NoNewPrivileges",
              "RestrictAddressFamilies", "SystemCallFilter", "MemoryDenyWriteExecute"):
        props += ["%s=%s" % (k, v) for v in u.get(k, [])]
    name = "coord-test-%d" % os.getpid()
    # In /run: PrivateTmp hides this process's /tmp from the unit.
    conf = "/run/%s.conf" % name
    with Tmp(1) as t:
        with open(conf, "w") as f:
            f.write("data = /var/lib/coord-test\nhttp = %s\nraft = %s\n" % (t.http(1), t.raft(1)))
        os.chmod(conf, 0o644)
        try:
            r = subprocess.run(["systemd-run", "--unit", name] +
                               sum((["-p", p] for p in props), []) +
                               [COORDD, "--config", conf], capture_output=True, text=True,
                               timeout=60)
            assert r.returncode == 0, r  # returns once READY=1 came
            assert healthy(t.http(1))
        finally:
            subprocess.run(["systemctl", "stop", name], capture_output=True, timeout=60)
            os.unlink(conf)


ALL = [test_a_config_file_sets_the_node_and_a_flag_wins_over_it,
       test_a_bad_config_line_refuses_to_start_with_its_line_and_exit_2,
       test_notify_ready_once_serving_then_reloading_and_stopping,
       test_the_unit_starts_coordd_with_the_shipped_config,
       test_the_man_pages_build_with_no_warning_and_cover_every_flag,
       test_the_bash_completion_knows_every_command_and_flag,
       test_under_systemd_the_unit_becomes_active_when_systemd_runs]

if __name__ == "__main__":
    names = sys.argv[1:]
    run([t for t in ALL if not names or t.__name__ in names])
