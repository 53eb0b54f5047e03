"""S11, a paused client (fault "pause_client", chosen by name only): a lock
holder in a process of its own is SIGSTOPped between its read and its
write of the fenced store, for PAUSE_TTLS times its TTL, with sessions that
have a lock-delay.

One round, run by the nemesis thread in its slot of the fault schedule:

 1. the runner starts this file as a child process (python3, by pid; the
    history's clock passed as its t0, CLOCK_MONOTONIC being one clock for
    every process of the machine). The child opens a session (TTL
    SESSION_TTL_S, lock_delay_ms LOCK_DELAY_MS) and acquires lock L
    (jepsen/lock/paused/<round>, queued behind RIVALS, lock clients of the
    runner that contend for L with the fenced store and sessions of the
    same lock-delay); it keeps its session alive once more and, its lease
    valid, reads the fenced store with its token;
 2. the runner answers the read, then SIGSTOPs the child (by its pid)
    before the child can act on the answer: the GC pause of S11, after
    the client's lease check and before its write;
 3. the child stays stopped PAUSE_TTLS x TTL: its session expires, L is
    free again once its lock-delay has passed after the expiry, and a
    rival takes L with a higher token and does its read and write;
 4. SIGCONT: the child writes with its stale token at once (it does not
    look at its lease again, as a paused thread would not), then releases
    L and exits.

Every step of the child is a history operation that the child prints as a
JSON line and the runner records; the store's calls go over the pipe to
the runner's FencedStore. Judged by fenced-store (the late write refused
is excused: the client's lease ran out), lease-timing, mutual-exclusion,
and lock-delay (checkers.lock_delay: no other grant of L before the
holder's earliest possible expiry + its lock-delay); verdict() fails the
round unless the late write reached the store and was refused.

Each round is bounded: the child gives up after CHILD_S, the runner kills
it (by pid) if it has not exited by then, and resumes it in a finally
block. Plain HTTP only (not with --tls or --auth)."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PC_P = 700              # the paused client's process id in the history
RIVALS = (710, 711)     # lock clients contending for its lock
SESSION_TTL_S = 3.0
LOCK_DELAY_MS = 1000
PAUSE_TTLS = 2.0        # the pause, in TTLs
CHILD_S = 20.0          # the child's whole life, at most
ACQUIRE_WAIT_MS = 2000  # the child's acquire queues behind the rivals' short holds


# -- the child process ---------------------------------------------------

def child(argv):
    """python3 paused_client.py NODES T0 KEY: NODES a comma list of
    host:port. Prints history operations ({"op": ...}) and store calls
    ({"store": ...}, answered by a line on stdin)."""
    sys.path.insert(0, os.path.dirname(HERE))
    from harness import request
    nodes, t0, key = argv[0].split(","), float(argv[1]), argv[2]
    now = lambda: time.monotonic() - t0  # noqa: E731
    end = time.monotonic() + CHILD_S
    state = {"i": 0}

    def emit(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    def call(f, method, path, body=None, key_=None, session=None, **extra):
        node = nodes[state["i"] % len(nodes)]
        state["i"] += 1
        inv = now()
        r = request(node, method, path, body, 10.0, refused="refused")
        op = {"p": PC_P, "f": f, "key": key_, "session": session, "inv": inv, "cmp": now(),
              "type": "ok", "value": dict(extra)}
        if r == "refused":
            op["type"], op["value"]["error"] = "fail", "connection_refused"
        elif r is None or r.status >= 500 and r.status != 503:
            op["type"], op["cmp"] = "info", None
        elif r.status in (400, 405, 413, 429, 503):
            op["type"] = "fail"
        if r not in (None, "refused"):
            op["value"]["status"] = r.status
            if r.status >= 400 and isinstance(r.json, dict):
                op["value"]["error"] = r.json.get("error")
        return op, (None if r == "refused" else r)

    sid, ttl = None, SESSION_TTL_S
    while sid is None and time.monotonic() < end:
        op, r = call("create_session", "POST", "/v1/sessions",
                     {"ttl_ms": int(ttl * 1000), "lock_delay_ms": LOCK_DELAY_MS},
                     ttl=ttl, lock_delay_ms=LOCK_DELAY_MS)
        if op["type"] == "ok" and r.status == 201:
            sid = op["session"] = r.json["id"]
            lease_from = op["inv"]
        emit({"op": op})
        if sid is None:
            time.sleep(0.2)
    token = None
    while sid is not None and token is None and time.monotonic() < end:
        if now() > lease_from + ttl * 0.4:
            op, r = call("keepalive", "POST", "/v1/sessions/%s/keepalive" % sid, session=sid)
            if op["type"] == "ok" and r.status == 200:
                lease_from = op["inv"]
            emit({"op": op})
        op, r = call("acquire", "PUT", "/v1/locks/" + key,
                     {"session": sid, "wait_ms": ACQUIRE_WAIT_MS}, key_=key, session=sid,
                     wait_ms=ACQUIRE_WAIT_MS)
        if op["type"] == "ok" and r.status == 200:
            token = op["value"]["token"] = r.json["fencing_token"]
        emit({"op": op})
        if op["type"] == "info":
            break  # it may hold L or not: the round ends unjudged
    if token is None:
        return 3
    op, r = call("keepalive", "POST", "/v1/sessions/%s/keepalive" % sid, session=sid)
    emit({"op": op})
    if op["type"] != "ok" or r.status != 200:
        return 3
    lease_end = op["inv"] + ttl * 0.9
    if now() >= lease_end:
        return 3
    # The lease is valid: read, then (paused by the runner here) write.
    emit({"store": "read", "key": key, "session": sid, "token": token, "lease_end": lease_end})
    seen = json.loads(sys.stdin.readline())
    emit({"store": "write", "key": key, "session": sid, "token": token,
          "lease_end": lease_end, "seen": seen["seen"]})
    json.loads(sys.stdin.readline())
    op, r = call("release", "DELETE", "/v1/locks/" + key, {"session": sid}, key_=key,
                 session=sid)
    if op["type"] == "ok" and r.status == 200:
        op["value"]["released"] = bool(r.json.get("released"))
    emit({"op": op})
    return 0


# -- the runner's side ---------------------------------------------------

class PausedClient:
    """The rounds of the scenario, played by the nemesis thread."""

    def __init__(self, cluster, h, stop, log):
        import workload as wl
        self.c = cluster
        self.h = h
        self.stop = stop
        # A register of its own: the run's store fences with every lock's
        # tokens, so its refusal would prove nothing about this one.
        self.store = wl.FencedStore(h, "paused")
        self.log = log
        self.key = None  # the lock of the round under way, for the rivals
        self.n = 0
        self.rounds = []

    def rivals(self, stop, seed):
        import random

        import workload as wl
        rng = random.Random(seed)
        return [wl.LockClient(p, self.c, self.h, stop, rng.random(), self.store,
                              keyfn=lambda: self.key, lock_delay_ms=LOCK_DELAY_MS)
                for p in RIVALS]

    def round(self, s):
        import workload as wl
        self.n += 1
        key = "%s/paused/%d" % (wl.LOCK, self.n)
        rec = {"at": round(self.h.now(), 2), "key": key, "paused_s": None, "read": None,
               "write": None, "rc": None}
        self.rounds.append(rec)
        self.key = key
        addrs = ",".join(n.http for n in self.c.nodes)
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), addrs,
                                 repr(self.h.t0), key], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, bufsize=1)
        rec["pid"] = proc.pid
        stopped = False
        timer = threading.Timer(CHILD_S + PAUSE_TTLS * SESSION_TTL_S + 5.0, proc.kill)
        timer.start()
        try:
            for line in proc.stdout:
                msg = json.loads(line)
                if "op" in msg:
                    self.h.add(msg["op"])
                    continue
                if msg["store"] == "read":
                    seen = self.store.read(PC_P, msg["key"], msg["session"], msg["token"],
                                           msg["lease_end"])
                    rec["read"] = {"token": msg["token"], "accepted": seen[0] is not None}
                    os.kill(proc.pid, signal.SIGSTOP)
                    stopped = True
                    t0 = self.h.now()
                    proc.stdin.write(json.dumps({"seen": list(seen)}) + "\n")
                    proc.stdin.flush()  # read by the child once resumed
                    self.stop.wait(PAUSE_TTLS * SESSION_TTL_S)
                    os.kill(proc.pid, signal.SIGCONT)
                    stopped = False
                    rec["paused_s"] = round(self.h.now() - t0, 2)
                else:
                    ok = self.store.write(PC_P, msg["key"], msg["session"], msg["token"],
                                          tuple(msg["seen"]), msg["lease_end"])
                    rec["write"] = {"token": msg["token"], "accepted": ok,
                                    "read_accepted": rec["read"]["accepted"],
                                    "lock_top": self.store.tops.get(msg["key"])}
                    proc.stdin.write(json.dumps({"ok": ok}) + "\n")
                    proc.stdin.flush()
            rec["rc"] = proc.wait(timeout=5.0)
        except (OSError, ValueError, subprocess.TimeoutExpired) as e:
            rec["error"] = "%s: %s" % (type(e).__name__, e)
        finally:
            if stopped and proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            timer.cancel()
            self.key = None
        return self.describe(rec)

    @staticmethod
    def describe(rec):
        if rec["write"] is None:
            return "%s: the child (pid %s) did not reach its write (exit %s%s)" % (
                rec["key"], rec.get("pid"), rec["rc"],
                ", " + rec["error"] if rec.get("error") else "")
        w = rec["write"]
        return "%s: child pid %d read with token %d (%s), SIGSTOP for %.2fs, its late write " \
            "%s (the lock's highest token through the store then %s)" % (
                rec["key"], rec["pid"], w["token"],
                "accepted" if w["read_accepted"] else "REFUSED", rec["paused_s"],
                "ACCEPTED" if w["accepted"] else "refused", w["lock_top"])

    def verdict(self):
        """Fails if a late write got through the fence. A round proves
        something only if its read was accepted (before the pause) and a
        rival passed a higher token of the same lock through the store
        before the late write (the lock was taken over meanwhile): unknown
        if no round did."""
        done = [r for r in self.rounds if r["write"] is not None]
        bad = [r for r in done if r["write"]["accepted"]]
        meant = [r for r in done if r["write"]["read_accepted"] and
                 (r["write"]["lock_top"] or 0) > r["write"]["token"]]
        return {"valid": False if bad else (True if meant else "unknown"),
                "rounds": len(self.rounds), "late_writes": len(done),
                "taken_over_and_refused": len(meant) - len([r for r in meant if r in bad]),
                "paused_s": [r["paused_s"] for r in done], "accepted": bad[:3]}

    def summary(self):
        return "paused client: " + "; ".join(self.describe(r) for r in self.rounds)


if __name__ == "__main__":
    sys.exit(child(sys.argv[1:]))
