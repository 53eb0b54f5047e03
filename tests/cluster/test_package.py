"""The Debian packages (issue 20): scripts/package/build-deb.sh builds coord,
libcoord0 and libcoord-dev from this checkout; lintian finds no error in
them; installed on this machine they give a coord system user, its data
folder, /etc/coord/coordd.conf as a conffile, the man pages, and a coordd
that the unit starts (systemd where it runs, else the unit's ExecStart line
as the unit's user) and that serves the README's walkthrough, coordctl and
a C program built with pkg-config against libcoord. A purge removes all of
it but the coord user (scripts/package/debian/coord.postrm).

Run: LIBCOORD=... python3 tests/cluster/test_package.py [TEST...]
The install test changes the machine (packages, a user), so it runs as
root only, on a machine where no coord package is installed (CI's
throwaway machine), and exits 77 (skipped) anywhere else. Everything it
installs or starts is removed afterwards, also when it fails."""

import grp
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from harness import free_port_base, request, wait_for
from test_readme import run_walkthrough

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PACKAGE = os.path.join(ROOT, "scripts", "package")
PACKAGES = ["coord", "libcoord0", "libcoord-dev"]
SKIP = 77  # SKIP_RETURN_CODE in tests/cluster/CMakeLists.txt
APT_ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")


def sh(argv, timeout=120, check=True, **kw):
    """Runs ARGV, its output captured; fails with the output on a nonzero exit."""
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check:
        assert r.returncode == 0, "%s exited %d\n%s\n%s" % (
            " ".join(argv), r.returncode, r.stdout[-3000:], r.stderr[-3000:])
    return r


def header_functions():
    """The functions clients/libcoord.h declares: the library's whole API."""
    with open(os.path.join(ROOT, "clients", "libcoord.h")) as f:
        text = f.read()
    return set(re.findall(r"^[a-z][^;(]*?[ *](coordc_[a-z0-9_]+)\(", text, re.M))


def exported(lib):
    """The function names LIB exports (nm -D), without their version."""
    out = sh(["nm", "-D", "--defined-only", lib]).stdout
    return {line.split()[2].split("@")[0] for line in out.splitlines()
            if len(line.split()) == 3 and line.split()[1] == "T"}


def test_the_library_exports_the_functions_of_its_header_only():
    lib = os.environ.get("LIBCOORD", "")
    assert os.path.exists(lib), "set LIBCOORD to the built libcoord.so"
    api = header_functions()
    assert {"coordc_open", "coordc_lock_acquire", "coordc_keeper_start"} <= api, api
    got = exported(lib)
    assert got == api, "exported but not in libcoord.h: %s; in libcoord.h but not exported: %s" % (
        sorted(got - api), sorted(api - got))
    with open(os.path.join(PACKAGE, "debian", "libcoord0.symbols")) as f:
        listed = set(re.findall(r"^ (coordc_[a-z0-9_]+)@LIBCOORD_0 ", f.read(), re.M))
    assert listed == api, "debian/libcoord0.symbols differs: %s" % sorted(listed ^ api)
    soname = sh(["objdump", "-p", lib]).stdout
    assert re.search(r"SONAME\s+libcoord\.so\.0\n", soname), soname


# The install test ------------------------------------------------------------------

def installed(pkg):
    r = sh(["dpkg-query", "-W", "-f=${Status}", pkg], check=False)
    return r.returncode == 0 and "installed" in r.stdout.split()[-1:]


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def skip_reason():
    if os.geteuid() != 0:
        return "not root: the test installs packages on this machine"
    for tool in ("dpkg-buildpackage", "dh", "lintian", "apt-get", "setpriv", "cc"):
        if not shutil.which(tool):
            return "%s is not installed (bash scripts/deps.sh installs it)" % tool
    busy = [p for p in PACKAGES if installed(p)]
    if busy:
        return "%s already installed here: the test leaves this machine's own alone" % \
            ", ".join(busy)
    if os.path.exists("/usr/bin/coordd") or os.path.exists("/etc/coord"):
        return "/usr/bin/coordd or /etc/coord exists outside the package: not touching it"
    return None


def build(out):
    t0 = time.time()
    r = sh(["bash", os.path.join(PACKAGE, "build-deb.sh"), out], timeout=900)
    debs = {}
    for path in r.stdout.split():
        name = os.path.basename(path).split("_")[0]
        debs[name] = path
    assert set(PACKAGES) <= set(debs), r.stdout
    print("built %s in %.0fs" % (" ".join(sorted(debs)), time.time() - t0))
    return debs


def lint(debs):
    """lintian on the three packages: warnings are printed, errors fail."""
    paths = [debs[p] for p in PACKAGES]
    r = sh(["lintian", "--fail-on", "error", "--display-info"] + paths, timeout=300, check=False)
    tags = [l for l in r.stdout.splitlines() if re.match(r"^[EWIP]: ", l)]
    print("lintian: %d error(s), %d warning(s), %d info" % (
        sum(t.startswith("E:") for t in tags), sum(t.startswith("W:") for t in tags),
        sum(t.startswith("I:") for t in tags)))
    for t in tags:
        print("  " + t)
    assert r.returncode == 0 and not any(t.startswith("E:") for t in tags), r.stdout + r.stderr


def check_installed_files():
    u = pwd.getpwnam("coord")
    assert grp.getgrgid(u.pw_gid).gr_name == "coord", u
    assert u.pw_dir == "/var/lib/coord" and u.pw_shell == "/usr/sbin/nologin", u
    assert u.pw_uid < 1000, "coord is not a system user: %s" % (u,)
    st = os.stat("/var/lib/coord")
    assert st.st_uid == u.pw_uid and st.st_gid == u.pw_gid, st
    assert st.st_mode & 0o777 == 0o700, oct(st.st_mode)
    conffiles = sh(["dpkg-query", "-W", "-f=${Conffiles}", "coord"]).stdout
    assert "/etc/coord/coordd.conf" in conffiles, conffiles
    with open("/etc/coord/coordd.conf") as a, open(os.path.join(PACKAGE, "coordd.conf")) as b:
        assert a.read() == b.read(), "the installed coordd.conf is not the shipped one"
    # The man pages, unless this machine's dpkg leaves them out (path-exclude).
    listed = sh(["dpkg", "-L", "coord"]).stdout.split()
    for page in ("/usr/share/man/man8/coordd.8.gz", "/usr/share/man/man1/coordctl.1.gz"):
        assert page in listed, listed
        if shutil.which("man") and os.path.exists(page):
            name = os.path.basename(page).split(".")[0]
            assert sh(["man", "-w", name]).stdout.strip() == page
        elif not os.path.exists(page):
            print("%s is in the package but not on disk (dpkg path-exclude?)" % page)
    assert os.path.exists("/usr/share/bash-completion/completions/coordctl")
    # The unit is shipped as scripts/package has it, and not enabled.
    unit = next(p for p in listed if p.endswith("/systemd/system/coordd.service"))
    with open(unit) as a, open(os.path.join(PACKAGE, "coordd.service")) as b:
        assert a.read() == b.read(), unit
    assert not os.path.exists("/etc/systemd/system/multi-user.target.wants/coordd.service"), \
        "the unit was enabled on installation"
    return unit


def exec_start(unit):
    with open(unit) as f:
        lines = [l.strip() for l in f if l.startswith("ExecStart=")]
    assert len(lines) == 1, lines
    return shlex.split(lines[0][len("ExecStart="):])


class Service:
    """coordd as the unit runs it, its ports moved by flags (which win over
    the config file): under systemd with a drop-in in /run, else the unit's
    ExecStart line run as User=coord with the unit's UMask."""

    DROPIN = "/run/systemd/system/coordd.service.d/package-test.conf"

    def __init__(self, unit, tmp):
        base = free_port_base(1)
        self.http = "127.0.0.1:%d" % (base + 1)
        self.raft = "127.0.0.1:%d" % (base + 101)
        self.argv = exec_start(unit) + ["--http", self.http, "--raft", self.raft]
        self.systemd = os.path.isdir("/run/systemd/system")
        self.log = os.path.join(tmp, "coordd.log")
        self.proc = None

    def start(self):
        if self.systemd:
            os.makedirs(os.path.dirname(self.DROPIN), exist_ok=True)
            with open(self.DROPIN, "w") as f:
                f.write("[Service]\nExecStart=\nExecStart=%s\n" % shlex.join(self.argv))
            sh(["systemctl", "daemon-reload"])
            sh(["systemctl", "start", "coordd"], timeout=60)  # returns at READY=1
            print("started under systemd: %s" % " ".join(self.argv))
        else:
            with open(self.log, "w") as f:
                self.proc = subprocess.Popen(
                    ["setpriv", "--reuid=coord", "--regid=coord", "--init-groups", "--"] +
                    self.argv, stdout=f, stderr=f, cwd="/", umask=0o077)
            print("started as coord (no systemd here): %s" % " ".join(self.argv))
        wait_for("the installed coordd serves GET /v1/health", self.healthy, timeout=20)

    def healthy(self):
        r = request(self.http, "GET", "/v1/health", timeout=1.0)
        return r is not None and r.status == 200

    def pid(self):
        if self.proc:
            return self.proc.pid
        out = sh(["systemctl", "show", "-p", "MainPID", "--value", "coordd"]).stdout
        return int(out.strip() or 0)

    def user(self):
        with open("/proc/%d/status" % self.pid()) as f:
            uid = re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1)
        return pwd.getpwuid(int(uid)).pw_name

    def stop(self):
        """Stops coordd by its pid (systemctl stop under systemd); its exit code."""
        if self.systemd:
            sh(["systemctl", "stop", "coordd"], timeout=60, check=False)
            if os.path.exists(self.DROPIN):
                os.unlink(self.DROPIN)
                sh(["systemctl", "daemon-reload"], check=False)
            return 0
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9

    def log_text(self):
        if self.systemd:
            return sh(["journalctl", "-u", "coordd", "-n", "60", "--no-pager"],
                      check=False).stdout
        try:
            with open(self.log) as f:
                return f.read()[-4000:]
        except OSError:
            return ""


def use(svc, tmp):
    """The README's walkthrough, coordctl and a libcoord program, against SVC."""
    url = "http://" + svc.http
    run_walkthrough(url)
    r = sh(["/usr/bin/coordctl", "--endpoints", url, "lock", "package/coordctl", "--",
            "sh", "-c", 'echo "token $COORD_FENCING_TOKEN"'], timeout=60)
    assert re.fullmatch(r"token [0-9]+", r.stdout.strip()), r.stdout
    r = sh(["/usr/bin/coordctl", "--endpoints", url, "status"], timeout=30)
    assert "leader" in r.stdout, r.stdout
    # A program built against the installed header, library and .pc alone.
    flags = sh(["pkg-config", "--cflags", "--libs", "libcoord"]).stdout.split()
    assert "-lcoord" in flags, flags
    prog = os.path.join(tmp, "client")
    sh(["cc", "-Wall", "-Wextra", "-Werror", "-o", prog,
        os.path.join(HERE, "package", "client.c")] + flags)
    ldd = sh(["ldd", prog]).stdout
    assert re.search(r"libcoord\.so\.0 => (/usr)?/lib/[^ ]*libcoord\.so\.0", ldd), ldd
    r = sh([prog, url, "package/libcoord"], timeout=60)
    assert re.fullmatch(r"token [0-9]+", r.stdout.strip()), r.stdout


def test_the_packages_install_serve_and_purge():
    why = skip_reason()
    if why:
        print("skipped: " + why)
        raise SystemExit(SKIP)
    tmp = tempfile.mkdtemp(prefix="coord-package-")
    os.chmod(tmp, 0o755)
    user_before = user_exists("coord")
    svc = None
    try:
        debs = build(os.path.join(tmp, "debs"))
        lint(debs)
        sh(["apt-get", "install", "-y", "--no-install-recommends"] +
           [debs[p] for p in PACKAGES], timeout=300, env=APT_ENV)
        unit = check_installed_files()
        svc = Service(unit, tmp)
        svc.start()
        assert svc.user() == "coord", "coordd runs as %s" % svc.user()
        try:
            use(svc, tmp)
        except BaseException:
            print("---- coordd ----\n" + svc.log_text())
            raise
        code = svc.stop()
        assert code == 0, "coordd exited %d on SIGTERM\n%s" % (code, svc.log_text())
        # Its data went to /var/lib/coord, written as coord.
        data = os.listdir("/var/lib/coord")
        assert "raft.db" in data, data
        assert os.stat("/var/lib/coord/raft.db").st_uid == pwd.getpwnam("coord").pw_uid

        # remove keeps the data folder and the config; purge removes both,
        # and the coord user stays (coord.postrm).
        sh(["apt-get", "remove", "-y"] + PACKAGES, timeout=300, env=APT_ENV)
        assert not os.path.exists("/usr/bin/coordd")
        assert os.path.exists("/var/lib/coord/raft.db")
        assert os.path.exists("/etc/coord/coordd.conf")
        sh(["dpkg", "--purge"] + PACKAGES, timeout=300)
        for gone in ("/var/lib/coord", "/etc/coord", "/usr/lib/x86_64-linux-gnu/libcoord.so.0",
                     "/usr/include/libcoord.h"):
            assert not os.path.exists(gone), "%s is left after the purge" % gone
        assert not any(installed(p) for p in PACKAGES)
        assert user_exists("coord"), "the purge removed the coord user"
    finally:
        if svc is not None:
            svc.stop()
        left = [p for p in PACKAGES if installed(p) or
                sh(["dpkg-query", "-W", p], check=False).returncode == 0]
        if left:
            sh(["dpkg", "--purge"] + left, timeout=300, check=False, env=APT_ENV)
        if not user_before and user_exists("coord"):
            sh(["userdel", "coord"], check=False)
            try:
                grp.getgrnam("coord")
                sh(["groupdel", "coord"], check=False)
            except KeyError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)


ALL = [test_the_library_exports_the_functions_of_its_header_only,
       test_the_packages_install_serve_and_purge]

if __name__ == "__main__":
    from harness import run
    names = sys.argv[1:]
    run([t for t in ALL if not names or t.__name__ in names])
