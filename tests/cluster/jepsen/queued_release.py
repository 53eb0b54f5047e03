"""The queued-release scenario of issue 24 (fault "queued_release", chosen
by name only): a release queued on a node that is then paused.

One round, run by the nemesis thread in its slot of the fault schedule:

 1. client QR (process QR_P) opens a session (TTL SESSION_TTL_S) and
    acquires lock L (jepsen/lock/queued/<round>) with a queued wait, while
    RIVALS lock clients keep contending for L;
 2. it picks node X, a follower, and SIGSTOPs X (by pid: a process the
    harness started), then sends DELETE /v1/locks/L {"session", "seq":N}
    to X: the kernel accepts the connection and the bytes, which wait in
    X's socket buffer, unread;
 3. the client times out (--client-timeout; recorded as an indeterminate
    release) and moves on with the same session: it acquires L again
    through another node with seq N+1 and is told it holds it (the same
    grant: the release has not applied);
 4. X is resumed (SIGCONT): it reads the old release and forwards it to
    the leader. QR keeps its session alive and holds L for HOLD_S, reads
    L (linearizable), then releases it (N+2) and closes the session (N+3)
    through nodes other than X.

The client gave up on the late release, but the round keeps its socket open
as a witness and reads X's late answer after the resume, for the summary
only (the history keeps the release indeterminate, as the client saw it):
with seq it is 409 stale_request (the later acquire fenced it off) and
nobody else is granted L while QR holds it; without seq (--no-seq) it may
answer 200 {"released":true} and a rival be granted L while QR still
believes it holds it, which the mutual-exclusion checker reports: the
issue's failure, caused by reusing a session after an unanswered release
without seq (docs/API.md, Retries), not a server fault.

Each round is bounded (every wait has a time-out) and resumes X in a
finally block."""

import json
import random
import socket
import threading

import workload as wl

QR_P = 500             # the scenario client's process id in the history
RIVALS = (510, 511)    # lock clients contending for the scenario's lock
BASE = wl.LOCK + "/queued"  # under jepsen/lock/: judged by linearizability too
SESSION_TTL_S = 3.0
ACQUIRE_WAIT_MS = 2000  # the first acquire queues behind the rivals' short holds
HOLD_S = 1.5           # QR holds L this long after X resumed
WITNESS_S = 2.0        # how long the witness waits for X's late answer


def raw_send(addr, method, path, body):
    """Connects to ADDR and writes one HTTP request; returns the socket (or
    None when the connection could not be made)."""
    host, port = addr.rsplit(":", 1)
    data = json.dumps(body).encode()
    head = ("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % (method, path, addr, len(data)))
    try:
        s = socket.create_connection((host, int(port)), timeout=2.0)
        s.sendall(head.encode() + data)
        return s
    except OSError:
        return None


def raw_answer(s, timeout_s):
    """(status, json or None) read from socket S within TIMEOUT_S, or None."""
    s.settimeout(timeout_s)
    buf = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except OSError:
        pass
    if not buf.startswith(b"HTTP/"):
        return None
    head, _, body = buf.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None
    try:
        j = json.loads(body.decode()) if body else None
    except ValueError:
        j = None
    return status, j


class QueuedRelease(wl.Client):
    """The scenario's client; round() plays one round (called by the
    nemesis). KEY is the lock the rivals contend for (None before the
    first round). STATS counts the rounds' outcomes for the summary."""

    def __init__(self, cluster, h, stop, seed):
        super().__init__(QR_P, cluster, h, stop, seed)
        self.numbering = wl.NUMBERED
        self.key = None
        self.rounds = 0
        self.stats = {"rounds": 0, "played": 0, "same_grant": 0, "late_refused": 0,
                      "late_applied": 0, "late_other": 0, "late_unseen": 0,
                      "held_after": 0, "lost_after": 0}
        self.mu = getattr(cluster, "mu", None) or threading.RLock()

    def rivals(self, stop, seed):
        """The lock clients that contend for KEY (they hold it and let go;
        the fenced store is the main lock's)."""
        rng = random.Random(seed)
        return [wl.LockClient(p, self.c, self.h, stop, rng.random(), None,
                              keyfn=lambda: self.key) for p in RIVALS]

    def leader_id(self):
        for n in self.c.nodes:
            if n.alive() and not n.paused:
                st = n.status()
                if st and st.get("leader"):
                    return st["leader"]["id"]
        return None

    def up(self, exclude=()):
        return [n for n in self.c.nodes if n.alive() and not n.paused and n not in exclude]

    def round(self, s):
        """One round; returns what happened, for the nemesis log."""
        rng = random.Random(s["pick"])
        self.rounds += 1
        self.stats["rounds"] += 1
        self.key = "%s/%d" % (BASE, self.rounds)
        key = self.key
        up = self.up()
        if not up:
            return "no node up"
        if self.open_session(SESSION_TTL_S, node=rng.choice(up)) is None:
            return "no session"
        try:
            return self._round(rng, key)
        finally:
            if self.sid is not None:
                self.close_session(node=rng.choice(self.up() or self.c.nodes))

    def _acquire(self, key, node, wait_ms):
        body = self.numbered({"session": self.sid, "wait_ms": wait_ms})
        op, r = self.call("acquire", "PUT", "/v1/locks/" + key, body, key=key,
                          session=self.sid, node=node)
        if op["type"] == "ok" and r.status == 200:
            op["value"]["token"] = r.json["fencing_token"]
        return op

    def _release(self, key, node):
        op, r = self.call("release", "DELETE", "/v1/locks/" + key,
                          self.numbered({"session": self.sid}), key=key, session=self.sid,
                          node=node)
        if op["type"] == "ok" and r.status == 200:
            op["value"]["released"] = bool(r.json.get("released"))
        return op

    def _round(self, rng, key):
        lid = self.leader_id()
        followers = [n for n in self.up() if n.id != lid]
        if lid is None or not followers:
            return "no leader or no follower up"
        x = rng.choice(followers)
        others = self.up(exclude=(x,))
        g1 = self._acquire(key, rng.choice(others), ACQUIRE_WAIT_MS)
        if "token" not in g1["value"]:
            return "first acquire not granted (%s)" % (g1["value"].get("error") or g1["type"])
        token = g1["value"]["token"]
        if self.keepalive(node=rng.choice(others))["type"] != "ok" or self.sid is None:
            return "keepalive failed before the pause"
        with self.mu:
            if not (x.alive() and not x.paused and x in self.c.nodes):
                return "node %d went away" % x.id
            x.pause()
        sock = None
        try:
            body = self.numbered({"session": self.sid})
            seq = body.get("seq")
            late = self.h.invoke(self.p, "release", key=key, session=self.sid, node=x.id,
                                 late_release=True)
            sock = raw_send(x.http, "DELETE", "/v1/locks/" + key, body)
            if sock is None:
                self.h.complete(late, "fail", status=None, error="connection_refused")
                return "could not connect to paused node %d" % x.id
            early = raw_answer(sock, wl.CLIENT_TIMEOUT_S)
            if early is not None:  # a stopped process cannot answer
                self.h.complete(late, "ok", status=early[0],
                                released=bool((early[1] or {}).get("released")))
                return "paused node %d answered %r" % (x.id, early)
            # Unanswered: the op stays indeterminate. The client moves on.
            self.stats["played"] += 1
            g2 = self._acquire(key, rng.choice(self.up(exclude=(x,)) or others), 0)
        finally:
            with self.mu:
                if x.proc is not None and x.paused:
                    x.resume()
        resumed = self.h.now()
        same = g2["value"].get("token") == token
        self.stats["same_grant"] += same
        answer = raw_answer(sock, WITNESS_S)
        sock.close()
        with self.h.lock:
            late["value"]["late_answer"] = None if answer is None else {
                "status": answer[0], "body": answer[1]}
        if answer is None:
            self.stats["late_unseen"] += 1
            seen = "no late answer within %.1fs" % WITNESS_S
        else:
            st, j = answer
            err = (j or {}).get("error")
            if st == 409 and err == "stale_request":
                self.stats["late_refused"] += 1
            elif st == 200 and (j or {}).get("released"):
                self.stats["late_applied"] += 1
            else:
                self.stats["late_other"] += 1
            seen = "late release answered %d %s" % (st, json.dumps(j, sort_keys=True)[:200])
        # Hold on, as a client told it holds L would: keepalives through the
        # nodes that were not paused, then a linearizable read of L.
        while self.h.now() < resumed + HOLD_S and not self.stop.is_set():
            self.stop.wait(0.4)
            self.keepalive(node=rng.choice(others))
            if self.sid is None:
                break
        holders = None
        if self.sid is not None:
            op, r = self.call("read", "GET", "/v1/locks/" + key, key=key,
                              node=rng.choice(others), consistency="linearizable")
            if op["type"] == "ok":
                op["value"]["holders"] = wl.holders_of(r, "lock")
                if op["value"]["holders"] is None:
                    op["type"] = "fail"
                    op["value"]["holders"] = []
                op["value"].pop("error", None)
                holders = op["value"]["holders"]
                if [self.sid, token] in [list(x_) for x_ in holders]:
                    self.stats["held_after"] += 1
                else:
                    self.stats["lost_after"] += 1
            self._release(key, rng.choice(others))
        return ("SIGSTOP node %d, release%s queued on it; re-acquired through another node: "
                "%s; SIGCONT; %s; then L held by %s" % (
                    x.id, "" if seq is None else " (seq %d)" % seq,
                    ("the same grant, token %d" % token) if same else
                    (g2["value"].get("error") or g2["type"]),
                    seen, holders))

    def summary(self):
        s = self.stats
        return ("queued releases: %d rounds, %d played (release unanswered while its node "
                "was stopped), %d re-acquires answered the same grant; late releases: %d "
                "refused (stale_request), %d applied, %d other, %d unseen; after the resume "
                "the client still held its grant in %d rounds, had lost it in %d" % (
                    s["rounds"], s["played"], s["same_grant"], s["late_refused"],
                    s["late_applied"], s["late_other"], s["late_unseen"], s["held_after"],
                    s["lost_after"]))
