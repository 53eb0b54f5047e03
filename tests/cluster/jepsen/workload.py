"""Workload clients: each a thread that sends HTTP requests to random nodes
(followers forward) and records every operation in the history.

- LockClient: many contend for one exclusive lock; a holder does a fenced
  read-modify-write of the FencedStore, then releases. With MODE "shared"
  (on the mixed lock, MIXED, beside exclusive ones) it holds a while and
  releases: several shared holders at once, none beside an exclusive one. After an
  indeterminate acquire it closes its session (release-all), as Jepsen's
  etcd client revokes its lease, and never enters the critical section.
  With REUSE_SESSIONS it numbers its session's requests (seq, API.md
  Retries) and keeps the session after a lost answer instead: its next
  request has the next number, so the lost one can no longer apply after
  it.
  With ABANDON it gives up its session instead, closing it or leaving it
  to expire. KEYFN (the queued_release scenario's rivals) names the lock
  to contend for; a LockClient without a FencedStore only holds the lock.
- Reader: linearizable and stale reads of the lock.
- Candidate / Observer: several candidates (LockClient of kind "election")
  campaign in one election, each campaign with a value of its own, and the
  leader proclaims new values (each one used once) before it resigns;
  observers (Reader) read the election, its leader's value with it.
- Stopper: opens a session, keeps it alive a little, then stops and polls
  until it is gone (the lease-timing evidence).
- Ledger: the write load for durability: one long session that acquires
  fresh lock names and releases every third one.
- Abandoner (S20, runner --abandoners): holds a lock of its own under a
  session of ABANDON_TTL_S, keeps it alive a few times, stops at a recorded
  time (an "abandon" operation), then watches the session end from an heir
  session: it polls GET /v1/sessions/{id} and try-locks the lock
  (checkers.session_bound).

Lock and election names rotate every ROTATE_S seconds so that each
linearizability search stays small (docs/DESIGN.md, How it is tested)."""

import random
import threading
import time

import history as hist
from secure import request

# Writes answered 503 are indeterminate rather than failed (runner option
# --unknown-503); see history.classify.
UNKNOWN_503 = False
WRITES = ("create_session", "close_session", "acquire", "release", "campaign", "resign",
          "proclaim")
# How long a contended acquire or campaign waits in the lock's FIFO queue
# (runner option --wait-ms; 0 makes them try-locks).
WAIT_MS = 300
CLIENT_TIMEOUT_S = 7.0  # above coordd's write time-out plus forward slack
# Lock and election clients keep their session after a request whose
# answer was lost (runner option --reuse-sessions), numbering its requests
# unless NUMBERED is off (--no-seq: what reuse does without numbers).
REUSE_SESSIONS = False
NUMBERED = True
# Lock and election clients give up their session after any request whose
# answer was lost, a release too (--abandon): the one safe way to go on
# without seq, since a lost release may apply after a later acquire.
# "close" closes it (release-all at once); "expire" (--abandon expire, the
# way issue 24 describes) stops keeping it alive and opens a new one, so
# that whatever it holds stays held until its TTL runs out.
ABANDON = False
# The TTL of the lock and election clients' sessions (--session-ttl).
LOCK_TTL_S = 2.0
ROTATE_S = 30.0
LOCK = "jepsen/lock"
ELECTION = "jepsen/elect"
MIXED = "jepsen/mixed"  # shared and exclusive lock clients on one lock
LEDGER = "jepsen/ledger"
ABANDONED = "jepsen/abandoned"  # the Abandoners' locks, one name per round
ABANDON_TTL_S = 5.0  # above the churn's interval (nemesis.CHURN_EVERY_S)


def rotated(base, h):
    return "%s/%d" % (base, int(h.now() // ROTATE_S))


def send(addr, method, path, body=None, timeout=None):
    """secure.request (HTTPS and the clients' token with runner --tls and
    --auth), but a connection that could not even be opened is
    "refused" (the request was never sent: a definite failure) rather than
    None (no answer: indeterminate). TIMEOUT: CLIENT_TIMEOUT_S."""
    return request(addr, method, path, body, CLIENT_TIMEOUT_S if timeout is None else timeout,
                   refused="refused")


class FencedStore:
    """A register owned by the test: refuses a read or write whose token is
    below the highest it has seen (the fence). Beside it an unfenced shadow
    register takes every write attempt as if there were no fence: its lost
    updates (a write whose read value another write had already replaced)
    are the ones the fence prevented.

    Reads are fenced too (a read with a token below the highest seen is
    refused): a client thread delayed between its lease check and its write
    (the GC-pause case, S11 in docs/DESIGN.md, Known failure patterns) must not turn a correct
    server's history into a lost update.

    Every read is recorded as store_read and every write attempt as
    store_write, stamped inside the store's mutex (so their times order them
    as the store saw them), with the lock name and session as key and
    session, the client's lease end as it tracked it then, the highest token
    seen and the lock it was granted on, and the highest token seen from the
    client's own lock (checkers.fenced_store judges a refusal against the
    client's lease)."""

    def __init__(self, h, name=None):
        self.h = h
        self.name = name  # a second store of a run names itself in its records
        self.mu = threading.Lock()
        self.value = 0
        self.top = None
        self.top_lock = None  # the lock the highest token was granted on
        self.tops = {}  # lock -> the highest token of that lock that passed
        self.seq = 0
        self.refused_reads = 0
        self.refused_writes = 0
        self.shadow = 0  # the unfenced register
        self.shadow_lost = 0

    def _record(self, p, f, lock, sid, value):
        t = self.h.now()
        if self.name is not None:
            value["store"] = self.name
        self.h.add({"p": p, "f": f, "key": lock, "session": sid, "inv": t, "cmp": t,
                    "type": "ok", "value": value})

    def _pass(self, token, lock):
        """Whether TOKEN passes the fence; a passing token becomes the top."""
        if self.top is not None and token < self.top:
            return False
        self.top, self.top_lock = token, lock
        self.tops[lock] = max(token, self.tops.get(lock, token))
        return True

    def read(self, p, lock, sid, token, lease_end):
        """(value or None when TOKEN is below the highest seen, the shadow's value)."""
        with self.mu:
            top, top_lock, lock_top = self.top, self.top_lock, self.tops.get(lock)
            ok = self._pass(token, lock)
            if not ok:
                self.refused_reads += 1
            self._record(p, "store_read", lock, sid,
                         {"token": token, "accepted": ok, "read": self.value if ok else None,
                          "shadow_read": self.shadow, "lease_end": lease_end,
                          "top": top, "top_lock": top_lock, "lock_top": lock_top})
            return (self.value if ok else None), self.shadow

    def write(self, p, lock, sid, token, seen, lease_end):
        """Writes SEEN's value + 1 (SEEN: what read() answered) unless the
        fence refuses it, or refused the read; the shadow takes it anyway."""
        read_value, shadow_read = seen
        with self.mu:
            self.seq += 1
            top, top_lock, lock_top = self.top, self.top_lock, self.tops.get(lock)
            ok = read_value is not None and self._pass(token, lock)
            if ok:
                self.value = read_value + 1
            elif read_value is not None:
                self.refused_writes += 1
            lost = self.shadow != shadow_read
            self.shadow_lost += lost
            self.shadow = shadow_read + 1
            self._record(p, "store_write", lock, sid,
                         {"seq": self.seq, "token": token, "read": read_value,
                          "wrote": None if read_value is None else read_value + 1,
                          "accepted": ok, "shadow_read": shadow_read, "shadow_lost": lost,
                          "lease_end": lease_end, "top": top, "top_lock": top_lock,
                          "lock_top": lock_top})
            return ok


class Client(threading.Thread):
    def __init__(self, p, cluster, h, stop, seed):
        super().__init__(daemon=True)
        self.p = p
        self.c = cluster
        self.h = h
        self.stop = stop
        self.rng = random.Random(seed)
        self.sid = None
        self.ttl = 2.0
        self.lease_end = 0.0
        self.numbering = False  # number the session's requests (LockClient)
        self.seq = 0  # the last number used in this session

    def call(self, f, method, path, body=None, key=None, session=None, node=None, **extra):
        """Sends one request to NODE (default: a random node) and records it;
        returns (op, reply)."""
        node = node or self.rng.choice(self.c.nodes)
        if body is not None and "seq" in body:
            extra["seq"] = body["seq"]  # linear.py: a later answer fences it off
        op = self.h.invoke(self.p, f, key=key, session=session, node=node.id, **extra)
        r = send(node.http, method, path, body)
        if r == "refused":
            self.h.complete(op, "fail", status=None, error="connection_refused")
            self.stop.wait(self.rng.uniform(0.05, 0.15))  # the node is down
            return op, None
        t = hist.classify(r, f in WRITES, UNKNOWN_503)
        val = {"status": None if r is None else r.status}
        if r is not None and r.status >= 400:
            val["error"] = hist.error_code(r)
        self.h.complete(op, t, **val)
        if t != "ok":
            self.stop.wait(self.rng.uniform(0.02, 0.1))  # no hot loop on failures
        return op, r

    def open_session(self, ttl_s, lock_delay_ms=0, node=None):
        extra = {"lock_delay_ms": lock_delay_ms} if lock_delay_ms else {}
        op, r = self.call("create_session", "POST", "/v1/sessions",
                          {"ttl_ms": int(ttl_s * 1000), "lock_delay_ms": lock_delay_ms},
                          node=node, ttl=ttl_s, **extra)
        if op["type"] == "ok" and r.status == 201:
            op["session"] = r.json["id"]
            self.sid, self.ttl, self.seq = r.json["id"], ttl_s, 0
            self.lease_end = op["inv"] + ttl_s * 0.9
        return self.sid

    def keepalive(self, node=None):
        sent = self.h.now()
        op, r = self.call("keepalive", "POST", "/v1/sessions/%s/keepalive" % self.sid,
                          session=self.sid, node=node)
        if op["type"] == "ok":
            if r.status == 200:
                self.lease_end = max(self.lease_end, sent + self.ttl * 0.9)
            else:
                self.sid = None
        return op

    def numbered(self, body):
        """BODY with the session's next number when this client numbers."""
        if self.numbering:
            self.seq += 1
            body["seq"] = self.seq
        return body

    def close_session(self, node=None):
        op, r = self.call("close_session", "DELETE", "/v1/sessions/%s" % self.sid,
                          self.numbered({}) if self.numbering else None, session=self.sid,
                          node=node)
        if op["type"] == "ok" and r.status == 200:
            op["value"]["released"] = r.json.get("released", [])
        self.sid = None

    def lease_valid(self):
        return self.h.now() < self.lease_end

    def pace(self, lo=0.01, hi=0.05):
        self.stop.wait(self.rng.uniform(lo, hi))


class LockClient(Client):
    def __init__(self, p, cluster, h, stop, seed, store, base=LOCK, kind="lock", keyfn=None,
                 mode="exclusive", lock_delay_ms=0):
        super().__init__(p, cluster, h, stop, seed)
        self.lock_delay_ms = lock_delay_ms
        self.store = store
        self.base = base
        self.kind = kind
        self.mode = mode
        self.values = 0  # the election values this client has used
        self.numbering = REUSE_SESSIONS and NUMBERED
        # The name to contend for now (None: wait); default the rotated base.
        self.keyfn = keyfn or (lambda: rotated(self.base, self.h))

    def give_up_session(self):
        """After a lost answer (--abandon): close the session, or with
        "expire" leave it to run out with whatever it holds."""
        if ABANDON == "expire":
            self.sid = None
        else:
            self.close_session()

    def grant(self, key):
        if self.kind == "lock":
            f, path, body = "acquire", "/v1/locks/" + key, {"session": self.sid, "wait_ms": WAIT_MS}
            extra = {"wait_ms": WAIT_MS}
            if self.mode != "exclusive":
                body["mode"] = extra["mode"] = self.mode
        else:
            value = self.next_value("c")
            f, path, body = "campaign", "/v1/elections/" + key, \
                {"session": self.sid, "value": value, "wait_ms": WAIT_MS}
            extra = {"wait_ms": WAIT_MS, "leader_value": value}
        op, r = self.call(f, "PUT", path, self.numbered(body), key=key, session=self.sid, **extra)
        if op["type"] == "ok" and r.status == 200:
            j = r.json["leader"] if self.kind == "election" else r.json
            op["value"]["token"] = j["fencing_token"]
        return op

    def next_value(self, what):
        """An election value never used before: the model tells them apart."""
        self.values += 1
        return "p%d-%s%d" % (self.p, what, self.values)

    def proclaim(self, key):
        value = self.next_value("v")
        op, r = self.call("proclaim", "PATCH", "/v1/elections/" + key,
                          self.numbered({"session": self.sid, "value": value}),
                          key=key, session=self.sid, leader_value=value)
        return op

    def let_go(self, key):
        f, path = ("release", "/v1/locks/") if self.kind == "lock" else ("resign", "/v1/elections/")
        op, r = self.call(f, "DELETE", path + key, self.numbered({"session": self.sid}),
                          key=key, session=self.sid)
        if op["type"] == "ok" and r.status == 200:
            op["value"]["released"] = bool(r.json.get("released"))
        return op

    def run(self):
        while not self.stop.is_set():
            if self.sid is None:
                if self.open_session(LOCK_TTL_S, self.lock_delay_ms) is None:
                    self.pace(0.1, 0.3)
                    continue
            if self.h.now() > self.lease_end - self.ttl * 0.6:
                if self.keepalive()["type"] != "ok" or self.sid is None:
                    if self.sid is not None and not self.lease_valid():
                        self.sid = None
                    continue
            key = self.keyfn()
            if key is None:
                self.pace(0.1, 0.2)
                continue
            op = self.grant(key)
            if op["type"] == "info":
                if ABANDON:
                    self.give_up_session()
                elif not REUSE_SESSIONS:
                    self.close_session()
                continue  # reused: the next acquire answers the grant if it took effect
            if op["type"] != "ok" or "token" not in op["value"]:
                if op["value"].get("error") == "session_not_found":
                    self.sid = None
                self.pace()
                continue
            if self.kind == "lock" and self.store is not None and self.lease_valid():
                # The write goes on after a refused read: the shadow takes
                # it, as a store without a fence would.
                tok = op["value"]["token"]
                seen = self.store.read(self.p, key, self.sid, tok, self.lease_end)
                self.pace(0.0, 0.02)
                if self.lease_valid():
                    self.store.write(self.p, key, self.sid, tok, seen, self.lease_end)
            elif self.kind == "election":
                for _ in range(self.rng.randint(0, 2)):
                    self.pace(0.02, 0.08)
                    if self.proclaim(key)["type"] == "info":
                        break
                self.pace(0.02, 0.08)
            else:
                self.pace(0.05, 0.2)
            if self.let_go(key)["type"] == "info" and ABANDON:
                self.give_up_session()
            self.pace()


class Reader(Client):
    def __init__(self, p, cluster, h, stop, seed, base=LOCK, kind="lock"):
        super().__init__(p, cluster, h, stop, seed)
        self.base = base
        self.kind = kind

    def run(self):
        prefix = "/v1/locks/" if self.kind == "lock" else "/v1/elections/"
        f = "read" if self.kind == "lock" else "observe"
        while not self.stop.is_set():
            key = rotated(self.base, self.h)
            cons = "stale" if self.rng.random() < 0.3 else "linearizable"
            path = prefix + key + ("?consistency=stale" if cons == "stale" else "")
            op, r = self.call(f, "GET", path, key=key, consistency=cons)
            if op["type"] == "ok":
                op["value"]["holders"] = holders_of(r, self.kind)
                if op["value"]["holders"] is None:
                    op["type"] = "fail"  # an error answer says nothing of the state
                    op["value"]["holders"] = []
                elif r.status == 200 and self.kind == "lock":
                    op["value"]["mode"] = r.json.get("mode")
                elif r.status == 200 and r.json.get("leader") is not None:
                    op["value"]["leader_value"] = r.json["leader"].get("value")
                op["value"].pop("error", None)
            self.pace(0.02, 0.1)


def lock_holders(lock):
    """[[session, token]] of a lock object's holders, of either mode (a
    read records the lock's "mode" beside them)."""
    return [[x["session"], x["fencing_token"]] for x in lock["holders"]]


def holders_of(r, kind):
    """[[session, token]] from a lock or election answer (404: nobody)."""
    if r.status == 404 and kind == "lock":
        return []
    if r.status != 200 or r.json is None:
        return None
    if kind == "lock":
        return lock_holders(r.json)
    lead = r.json.get("leader")
    return [] if lead is None else [[lead["session"], lead["fencing_token"]]]


class Stopper(Client):
    """Keeps a 1.5 s session alive for a few keepalives, then stops and polls
    it until it is gone; ABANDONED collects the sessions it let go."""

    def __init__(self, p, cluster, h, stop, seed, abandoned):
        super().__init__(p, cluster, h, stop, seed)
        self.abandoned = abandoned

    def run(self):
        while not self.stop.is_set():
            if self.open_session(1.5) is None:
                self.pace(0.2, 0.5)
                continue
            sid = self.sid
            for _ in range(self.rng.randint(0, 3)):
                self.stop.wait(0.4)
                if self.sid is None or self.keepalive()["type"] == "info":
                    break
            self.abandoned[sid] = self.h.now()
            while not self.stop.is_set():
                op, r = self.call("session_read", "GET", "/v1/sessions/" + sid, session=sid)
                if op["type"] == "ok":
                    op["value"]["exists"] = r.status == 200
                    if r.status == 404:
                        break
                self.stop.wait(0.2)
            self.sid = None


class Ledger(Client):
    """Acquires fresh lock names under one long session (keepalive every
    second); releases every third. When the session holds as many locks as
    coordd allows (429 too_many), it releases the older half and goes on, so
    that the durability checker judges acquires and releases from the whole
    run, not only its first seconds. LOCKS collects the names used."""

    def __init__(self, p, cluster, h, stop, seed, locks, sessions):
        super().__init__(p, cluster, h, stop, seed)
        self.locks = locks
        self.sessions = sessions
        self.n = 0
        self.held = []  # names acquired and not yet definitely released

    def release(self, key):
        op, r = self.call("release", "DELETE", "/v1/locks/" + key, {"session": self.sid},
                          key=key, session=self.sid)
        if op["type"] == "ok" and r.status == 200:
            op["value"]["released"] = bool(r.json.get("released"))
            if key in self.held:
                self.held.remove(key)

    def run(self):
        last_ka = 0.0
        while not self.stop.is_set():
            if self.sid is None:
                if self.open_session(30.0) is None:
                    self.pace(0.1, 0.3)
                    continue
                self.sessions.append(self.sid)
                last_ka = self.h.now()
            if self.h.now() - last_ka > 1.0:
                last_ka = self.h.now()
                self.keepalive()
                continue
            self.n += 1
            key = "%s/%d/%d" % (LEDGER, self.p, self.n)
            self.locks.append(key)
            op, r = self.call("acquire", "PUT", "/v1/locks/" + key, {"session": self.sid},
                              key=key, session=self.sid)
            if op["type"] == "ok" and r.status == 200:
                op["value"]["token"] = r.json["fencing_token"]
                self.held.append(key)
                if self.n % 3 == 0:
                    self.release(key)
            elif op["type"] == "ok" and op["value"].get("error") == "session_not_found":
                self.sid = None
                self.held = []
            elif op["value"].get("error") == "too_many":
                for old in self.held[:max(1, len(self.held) // 2)]:
                    if self.stop.is_set():
                        break
                    self.release(old)
            self.pace(0.0, 0.02)


class Abandoner(Client):
    """A client that dies holding a lock, as S20 needs: each round opens a
    session of ABANDON_TTL_S, acquires a lock of its own (a new name each
    round), keeps the session alive 1-3 times a second apart, then stops
    keeping it alive and records when ("abandon", after its last keepalive
    was answered). An heir session of the same client then watches it end,
    every POLL_S: GET /v1/sessions/{id} (linearizable: "session_read" with
    "exists") and a try-lock of the lock ("acquire" with "heir_of"), until
    both saw it gone or WATCH_S after the abandon. Rounds start only before
    UNTIL (the run's clock), so that every watch lies in the churn window;
    a watch under way goes on after the stop flag (bounded by WATCH_S)."""

    POLL_S = 0.2
    WATCH_S = 10.0

    def __init__(self, p, cluster, h, stop, seed, until):
        super().__init__(p, cluster, h, stop, seed)
        self.until = until
        self.rounds = 0

    def run(self):
        while not self.stop.is_set() and self.h.now() < self.until:
            if self.open_session(ABANDON_TTL_S) is None:
                self.pace(0.2, 0.5)
                continue
            sid = self.sid
            self.rounds += 1
            key = "%s/%d/%d" % (ABANDONED, self.p, self.rounds)
            op, r = self.call("acquire", "PUT", "/v1/locks/" + key, {"session": sid},
                              key=key, session=sid)
            if op["type"] == "ok" and r.status == 200:
                op["value"]["token"] = r.json["fencing_token"]
            for _ in range(self.rng.randint(1, 3)):
                self.stop.wait(1.0)
                if self.stop.is_set() or self.sid is None:
                    break
                self.keepalive()
            if self.sid is None:  # found gone while kept alive: lease-timing judges it
                continue
            self.sid = None
            t = self.h.now()
            self.h.add({"p": self.p, "f": "abandon", "key": key, "session": sid, "inv": t,
                        "cmp": t, "type": "ok", "value": {"ttl": ABANDON_TTL_S}})
            self.watch(sid, key, t + self.WATCH_S)

    def watch(self, sid, key, until):
        heir = None
        gone = granted = False
        while self.h.now() < until and not (gone and granted):
            if not gone:
                op, r = self.call("session_read", "GET", "/v1/sessions/" + sid, session=sid)
                if op["type"] == "ok" and r.status in (200, 404):
                    op["value"]["exists"] = r.status == 200
                    gone = r.status == 404
            if heir is None:
                heir = self.open_session(ABANDON_TTL_S)
            elif self.h.now() > self.lease_end - self.ttl * 0.6:
                self.keepalive()
                heir = self.sid
            if heir is not None and not granted:
                op, r = self.call("acquire", "PUT", "/v1/locks/" + key, {"session": heir},
                                  key=key, session=heir, heir_of=sid)
                if op["type"] == "ok" and r.status == 200:
                    op["value"]["token"] = r.json["fencing_token"]
                    granted = True
                elif op["value"].get("error") == "session_not_found":
                    self.sid = heir = None
            time.sleep(self.POLL_S)
        if heir is not None:
            self.close_session()
