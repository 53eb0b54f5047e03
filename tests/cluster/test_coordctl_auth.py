"""coordctl with access control on (docs/API.md, coordctl and Access control;
issue 17), against real coordd processes: auth bootstrap, token create / list
/ revoke; the token from --token, $COORD_TOKEN or --token-file, flags first;
a token restricted to locks:jobs/:write + sessions::write locking under
jobs/ only; a revoked token refused; and no secret in any node's log.
Run: COORDD=... COORDCTL=... python3 tests/cluster/test_coordctl_auth.py [TEST...]"""

import json
import os
import subprocess
import sys

from harness import ClusterFixture, coordd_path, run, wait_for
from test_auth import call

COORDD = coordd_path()
COORDCTL = os.environ.get("COORDCTL", "")
if not os.access(COORDCTL, os.X_OK):
    raise SystemExit("set COORDCTL to the coordctl binary")

JOBS_RULES = [{"resource": "locks", "prefix": "jobs/", "access": "write"},
              {"resource": "sessions", "prefix": "", "access": "write"}]
EXIT_REFUSED, EXIT_USAGE, EXIT_DATAERR, EXIT_NOINPUT = 1, 64, 65, 66


class Fixture(ClusterFixture):
    """A cluster of SIZE, coordctl pointed at all of its nodes with no token
    in its environment, and a folder for token files (both removed at the
    end, whether the test passed or not)."""

    def __init__(self, size=3):
        super().__init__(size, "coordctl-auth-test-")
        self.secrets = []  # every secret coordctl was shown

    def __enter__(self):
        super().__enter__()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("COORD_")}
        self.env["COORD_ENDPOINTS"] = ",".join("http://" + n.http for n in self.cluster.nodes)
        return self

    def ctl(self, *args, env=None, timeout=30):
        """Runs coordctl: (exit status, stdout, stderr). ENV adds to the
        fixture's environment."""
        e = dict(self.env, **(env or {}))
        p = subprocess.run([COORDCTL] + list(args), env=e, capture_output=True, text=True,
                           timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def file(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def bootstrap(self):
        rc, out, err = self.ctl("auth", "bootstrap")
        assert rc == 0, (rc, out, err)
        answer = json.loads(out)
        self.secrets.append(answer["token"])
        return answer

    def create(self, admin_secret, *args):
        rc, out, err = self.ctl("--token", admin_secret, "token", "create", *args)
        assert rc == 0, (args, rc, out, err)
        answer = json.loads(out)
        self.secrets.append(answer["token"])
        return answer

    def assert_no_secret_logged(self):
        for n in self.cluster.nodes:
            text = n.log_text()
            for s in self.secrets:
                assert s not in text, "node %d logged a secret" % n.id


def test_bootstrap_then_create_list_and_revoke_tokens():
    with Fixture() as f:
        for cmd in ("auth", "token"):
            rc, out, _ = f.ctl(cmd, "--help")
            assert rc == 0 and out.startswith("usage: coordctl " + cmd) and "example" in out, out
            assert cmd + " " in f.ctl("--help")[1], "the overview does not list " + cmd
        root = f.bootstrap()
        assert root["admin"] is True and root["token"].startswith("coord_"), root
        rc, out, err = f.ctl("auth", "bootstrap")
        assert rc == EXIT_REFUSED and out == "" and "conflict" in err, (rc, out, err)
        admin = {"COORD_TOKEN": root["token"]}

        ci = f.create(root["token"], "ci", "--rule", "locks:jobs/:write",
                      "--rule", "sessions::write")
        assert ci["name"] == "ci" and ci["admin"] is False and ci["rules"] == JOBS_RULES, ci
        ops = f.create(root["token"], "ops", "--admin")
        assert ops["admin"] is True and ops["rules"] == [], ops
        every = f.create(root["token"], "every", "--rule", "locks::read")
        assert every["rules"] == [{"resource": "locks", "prefix": "", "access": "read"}], every

        # Enough tokens for two pages of coordctl's 100: the list follows next.
        for i in range(100):  # through any node: a follower forwards
            r = call(f.cluster.nodes[i % 3], "POST", "/v1/tokens",
                     {"name": "bulk%d" % i, "rules": []}, token=root["token"])
            assert r.status == 201, r
            f.secrets.append(r.json["token"])
        rc, out, err = f.ctl("token", "list", env=admin)
        assert rc == 0, (rc, out, err)
        listed = json.loads(out)["tokens"]
        ids = [t["id"] for t in listed]
        assert len(ids) == 104 and ids == sorted(set(ids)), ids
        assert {root["id"], ci["id"], ops["id"], every["id"]} <= set(ids)
        assert not any(s in out for s in f.secrets), "a listing showed a secret"

        rc, out, err = f.ctl("token", "revoke", str(ci["id"]), env=admin)
        assert rc == 0 and json.loads(out) == {"revoked": ci["id"]}, (rc, out, err)
        rc, out, err = f.ctl("token", "list", env=admin)
        assert ci["id"] not in [t["id"] for t in json.loads(out)["tokens"]], out
        rc, out, err = f.ctl("token", "revoke", str(ci["id"]), env=admin)
        assert rc == EXIT_REFUSED and "not_found" in err, (rc, out, err)

        # Bad words are usage errors, the cluster's 400 for a rule too;
        # nothing is created by any of them.
        for args in (["token"], ["token", "frob"], ["token", "create"],
                     ["token", "create", "a", "b"], ["token", "create", "n", "--rule"],
                     ["token", "create", "n", "--rule", "locks:jobs/"],
                     ["token", "create", "n", "--rule", "tables::write"],
                     ["token", "create", "n", "--rule", "locks::admin"],
                     ["token", "create", "n", "--shared"],
                     ["token", "revoke"], ["token", "revoke", "x"], ["token", "revoke", "0"],
                     ["token", "list", "extra"], ["auth"], ["auth", "frob"],
                     ["auth", "bootstrap", "extra"]):
            rc, out, err = f.ctl(*args, env=admin)
            # A command without its verb shows its help; the others say why.
            assert rc == EXIT_USAGE and (err or out.startswith("usage:")), (args, rc, out, err)
        rc, out, _ = f.ctl("token", "list", env=admin)
        assert len(json.loads(out)["tokens"]) == 103, out
        # Only an admin token manages tokens: 403, exit 1, a clear message.
        rc, out, err = f.ctl("--token", every["token"], "token", "list")
        assert rc == EXIT_REFUSED and "permission_denied" in err, (rc, out, err)
        assert "lacks the rule" in err, err
        f.assert_no_secret_logged()


def test_token_flag_environment_and_file_each_work_flags_first():
    with Fixture(size=1) as f:
        root = f.bootstrap()["token"]
        bad = "coord_" + "0" * 64  # well formed, but no such token
        rc, out, err = f.ctl("locks")
        assert rc == EXIT_REFUSED and "unauthenticated" in err and "--token" in err, (rc, err)

        assert f.ctl("--token", root, "locks")[0] == 0
        assert f.ctl("--token=" + root, "locks")[0] == 0
        assert f.ctl("locks", env={"COORD_TOKEN": root})[0] == 0
        for text in (root + "\n", root, root + "\r\n", root + "\nsecond line\n"):
            path = f.file("token", text)
            rc, out, err = f.ctl("--token-file", path, "locks")
            assert rc == 0, (repr(text), rc, err)
        good_file = f.file("good", root + "\n")
        bad_file = f.file("bad", bad + "\n")

        # A flag wins over the environment, whichever of them is wrong.
        assert f.ctl("--token", root, "locks", env={"COORD_TOKEN": bad})[0] == 0
        assert f.ctl("--token-file", good_file, "locks", env={"COORD_TOKEN": bad})[0] == 0
        rc, _, err = f.ctl("--token", bad, "locks", env={"COORD_TOKEN": root})
        assert rc == EXIT_REFUSED and "unauthenticated" in err, (rc, err)
        rc, _, err = f.ctl("--token-file", bad_file, "locks", env={"COORD_TOKEN": root})
        assert rc == EXIT_REFUSED and "unauthenticated" in err, (rc, err)

        # Token files that cannot be used say why, and never what they hold.
        cases = [(["--token-file", os.path.join(f.tmp, "missing")], EXIT_NOINPUT, "missing"),
                 (["--token-file", f.tmp], EXIT_NOINPUT, f.tmp),
                 (["--token-file", f.file("empty", "")], EXIT_DATAERR, "empty"),
                 (["--token-file", f.file("blank", "\nx\n")], EXIT_DATAERR, "empty"),
                 (["--token-file", f.file("spaced", root + " x\n")], EXIT_DATAERR, "not a token"),
                 (["--token-file", f.file("long", "x" * 129 + "\n")], EXIT_DATAERR, "not a token"),
                 (["--token", root, "--token-file", good_file], EXIT_USAGE, "not both"),
                 (["--token", root + " x"], EXIT_USAGE, "not a token"),
                 (["--token", ""], EXIT_USAGE, "not a token")]
        for args, code, words in cases:
            rc, out, err = f.ctl(*args, "locks")
            assert rc == code and words in err, (args, rc, err)
            assert root not in err and root not in out, "coordctl printed a secret"
        rc, _, err = f.ctl("--token-file")
        assert rc == EXIT_USAGE and "needs a value" in err, (rc, err)
        rc, _, err = f.ctl("locks", env={"COORD_TOKEN": root + "\n"})
        assert rc == EXIT_USAGE and "$COORD_TOKEN" in err and root not in err, (rc, err)
        f.assert_no_secret_logged()


def test_a_token_for_jobs_locks_under_jobs_only():
    with Fixture() as f:
        root = f.bootstrap()["token"]
        ci = f.create(root, "ci", "--rule", "locks:jobs/:write",
                      "--rule", "sessions::write")["token"]
        env = {"COORD_TOKEN": ci}
        marker = os.path.join(f.tmp, "ran")
        # CMD outlives the TTL: the keeper's keepalives carry the token too,
        # or the lease lapses and coordctl exits 76.
        rc, out, err = f.ctl("lock", "jobs/x", "--ttl", "1s", "--", "sh", "-c",
                             'sleep 2.5; echo "$COORD_FENCING_TOKEN"', env=env)
        assert rc == 0 and int(out) > 0, (rc, out, err)
        rc, out, err = f.ctl("lock", "other/x", "--", "touch", marker, env=env)
        assert rc == EXIT_REFUSED, (rc, out, err)
        assert "permission_denied" in err and "other/x" in err, err
        assert not os.path.exists(marker), "CMD ran without the lock"

        rc, sid, err = f.ctl("session", "create", "--ttl", "30s", env=env)
        assert rc == 0, (rc, sid, err)
        sid = sid.strip()
        rc, out, err = f.ctl("acquire", "jobs/y", "--session", sid, env=env)
        assert rc == 0 and int(out) > 0, (rc, out, err)
        rc, out, err = f.ctl("acquire", "other/y", "--session", sid, env=env)
        assert rc == EXIT_REFUSED and "permission_denied" in err, (rc, out, err)
        rc, out, err = f.ctl("release", "jobs/y", "--session", sid, env=env)
        assert rc == 0 and json.loads(out)["released"] is True, (rc, out, err)
        assert f.ctl("session", "close", sid, env=env)[0] == 0

        # Nothing is left behind: lock closed its sessions, the refused one
        # too, without ever holding anything.
        admin = {"COORD_TOKEN": root}
        rc, out, err = f.ctl("session", "list", env=admin)
        assert rc == 0 and json.loads(out)["sessions"] == [], (rc, out, err)
        rc, out, err = f.ctl("locks", env=admin)
        assert rc == 0 and json.loads(out)["locks"] == [], (rc, out, err)
        f.assert_no_secret_logged()


def test_a_revoked_token_is_refused_with_401():
    with Fixture() as f:
        root = f.bootstrap()["token"]
        t = f.create(root, "short-lived", "--rule", "locks::read")
        env = {"COORD_TOKEN": t["token"]}
        assert f.ctl("locks", env=env)[0] == 0
        rc, out, err = f.ctl("--token", root, "token", "revoke", str(t["id"]))
        assert rc == 0, (rc, out, err)
        # Refused at once by the node that answered the revoke, and by every
        # other as soon as it applied it: coordctl may ask either.
        wait_for("every node refuses the revoked token",
                 lambda: all(call(n, "GET", "/v1/locks", token=t["token"]).status == 401
                             for n in f.cluster.nodes))
        rc, out, err = f.ctl("locks", env=env)
        assert rc == EXIT_REFUSED and out == "", (rc, out, err)
        assert "unauthenticated" in err and "revoked" in err, err
        assert t["token"] not in err
        f.assert_no_secret_logged()


ALL = [
    test_bootstrap_then_create_list_and_revoke_tokens,
    test_token_flag_environment_and_file_each_work_flags_first,
    test_a_token_for_jobs_locks_under_jobs_only,
    test_a_revoked_token_is_refused_with_401,
]

if __name__ == "__main__":
    names = sys.argv[1:]
    run([t for t in ALL if not names or t.__name__ in names])
