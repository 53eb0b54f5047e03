"""The key/value workload (runner --kv): a few clients on a small set of
keys, so that their operations conflict, and a watcher of the keys' prefix.

- KVClient: on KEYS keys at a time (their names rotate every ROTATE_S
  seconds, so that each linearizability search stays small), linearizable
  reads (GET /v1/kv/{key}), puts with cas (the modify_index the client last
  saw of the key, or 0, "only if absent", when it last saw none),
  unconditional puts, deletes with cas, and transactions (POST /v1/txn: a
  check of one key's modify_index, then puts of that key and another, in one
  entry, so that a transaction's atomicity shows). Every value is written
  once ("p<client>-<n>"): the checkers tell the writes apart by it.
- Watcher: long-polls GET /v1/kv?prefix=PREFIX&index=N&wait=WAIT_S through
  the run, from the prefix's index at the start, each time from the "index"
  the last answer gave, on a random node, another one after an error; a 410
  compacted is recorded as a resync to the index it names.

History kinds (history.py): kv_read, kv_put, kv_delete, kv_txn, kv_watch.
Outcomes: "ok" a definite answer (200, and a read's 404 not_found); "fail"
a definite refusal that changed nothing (409 cas_failed or check_failed,
whose modify_index the checker still uses, any other 4xx, 503 with an error
code on a write, a connection refused); "info" indeterminate (no answer, a
time-out, 504, 503 without a body on a write). After the run and the heal,
read_truth() reads every change of the prefix since the watcher's first
index with one watch (kv_watch.py judges the watcher against it).

break_history() spoils a recorded history the way a wrong server would
(runner --kv-break, and test_kv_checkers.py): the checkers must then fail."""

import os
import random
import sys
import threading

# workload.py needs tests/cluster/harness.py (through secure.py): found
# also when a checker runs alone (python3 kv_watch.py HISTORY TRUTH).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import history as hist  # noqa: E402
import workload as wl  # noqa: E402

PREFIX = "jepsen/kv/"
KEYS = 3
ROTATE_S = 10.0
WAIT_S = 1.0  # a watch's long-poll wait
KINDS = ("kv_read", "kv_put", "kv_delete", "kv_txn")
WRITES = ("kv_put", "kv_delete", "kv_txn")
BREAKS = ("drop_change", "dup_change", "swap_changes", "flip_read", "lose_put")


def keys_now(h):
    epoch = int(h.now() // ROTATE_S)
    return ["%s%d/k%d" % (PREFIX, epoch, i) for i in range(KEYS)]


def partition_of(key):
    """The rotation a key belongs to: its name up to the last '/'."""
    return key.rsplit("/", 1)[0]


def op_keys(o):
    """Every key an operation touches: a transaction's checked and written
    keys, else its own key."""
    if o["f"] == "kv_txn":
        ks = [k for k, _ in o["value"].get("puts", [])]
        chk = o["value"].get("check")
        if chk and chk[0] not in ks:
            ks.append(chk[0])
        return ks
    return [o["key"]] if o["key"] else []


def classify(r, write):
    """history.classify, with every 4xx but a read's 404 a definite refusal."""
    if r == "refused":
        return "fail"
    t = hist.classify(r, write)
    if r is not None and 400 <= r.status < 500 and not (r.status == 404 and not write):
        t = "fail"
    return t


class KVClient(wl.Client):
    def __init__(self, p, cluster, h, stop, seed):
        super().__init__(p, cluster, h, stop, seed)
        self.n = 0
        self.known = {}  # key -> the modify_index last seen (0: absent)

    def value(self):
        self.n += 1
        return "p%d-%d" % (self.p, self.n)

    def kcall(self, f, method, path, body=None, key=None, write=False, **extra):
        node = self.rng.choice(self.c.nodes)
        op = self.h.invoke(self.p, f, key=key, node=node.id, **extra)
        r = wl.send(node.http, method, path, body)
        t = classify(r, write)
        val = {"status": None if r in (None, "refused") else r.status}
        if r == "refused":
            val["error"] = "connection_refused"
        elif r is not None and r.status >= 400:
            val["error"] = hist.error_code(r)
        self.h.complete(op, t, **val)
        if t != "ok":
            self.stop.wait(self.rng.uniform(0.02, 0.1))  # no hot loop on failures
        return op, (r if r != "refused" else None)

    def refused_index(self, op, r, key):
        """A 409's modify_index (cas_failed, check_failed) into OP and KNOWN."""
        if r is not None and r.status == 409 and isinstance(r.json, dict) and \
                "modify_index" in r.json:
            op["value"]["cur"] = r.json["modify_index"]
            self.known[key] = r.json["modify_index"]
        elif op["type"] != "fail":
            self.known.pop(key, None)  # unknown now: read it again

    def read(self, key):
        op, r = self.kcall("kv_read", "GET", "/v1/kv/" + key, key=key)
        if op["type"] != "ok":
            return
        if r.status == 200 and r.json is not None:
            op["value"].update(found=True, val=r.json["value"],
                               modify_index=r.json["modify_index"])
            self.known[key] = r.json["modify_index"]
        elif r.status == 404:
            op["value"]["found"] = False
            op["value"].pop("error", None)
            self.known[key] = 0
        else:
            op["type"] = "fail"  # an answer that says nothing of the state

    def put(self, key, cas):
        v = self.value()
        body = {"value": v}
        if cas is not None:
            body["cas"] = cas
        op, r = self.kcall("kv_put", "PUT", "/v1/kv/" + key, body, key=key, write=True,
                           val=v, cas=cas)
        if op["type"] == "ok" and r.status == 200:
            op["value"]["modify_index"] = r.json["modify_index"]
            self.known[key] = r.json["modify_index"]
        else:
            self.refused_index(op, r, key)

    def delete(self, key, cas):
        path = "/v1/kv/" + key + ("" if cas is None else "?cas=%d" % cas)
        op, r = self.kcall("kv_delete", "DELETE", path, key=key, write=True, cas=cas)
        if op["type"] == "ok" and r.status == 200:
            op["value"]["deleted"] = bool(r.json.get("deleted"))
            self.known[key] = 0
        else:
            self.refused_index(op, r, key)

    def txn(self, a, b, cas):
        va, vb = self.value(), self.value()
        body = {"checks": [{"key": a, "modify_index": cas}],
                "ops": [{"put": a, "value": va}, {"put": b, "value": vb}]}
        op, r = self.kcall("kv_txn", "POST", "/v1/txn", body, write=True,
                           check=[a, cas], puts=[[a, va], [b, vb]])
        if op["type"] == "ok" and r.status == 200:
            op["value"]["modify_index"] = r.json["modify_index"]
            self.known[a] = self.known[b] = r.json["modify_index"]
        else:
            self.refused_index(op, r, a)
            if op["type"] == "info":
                self.known.pop(b, None)

    def run(self):
        while not self.stop.is_set():
            ks = keys_now(self.h)
            key = self.rng.choice(ks)
            x = self.rng.random()
            if key not in self.known or x < 0.35:
                self.read(key)
            elif x < 0.60:
                self.put(key, self.known[key])
            elif x < 0.70:
                self.put(key, None)
            elif x < 0.80:
                self.delete(key, self.known[key])
            else:
                other = self.rng.choice([k for k in ks if k != key])
                self.txn(key, other, self.known[key])
            self.pace(0.0, 0.03)


class Watcher(wl.Client):
    """Long-polls the prefix from START, each time from the index the last
    answer gave; records every poll (kv_watch)."""

    def __init__(self, p, cluster, h, stop, seed, start):
        super().__init__(p, cluster, h, stop, seed)
        self.index = start
        self.node = None
        self.changes = 0
        self.resyncs = 0

    def poll(self):
        if self.node is None or self.node not in self.c.nodes:
            self.node = self.rng.choice(self.c.nodes)
        since = self.index
        op = self.h.invoke(self.p, "kv_watch", key=PREFIX, node=self.node.id, since=since)
        r = wl.send(self.node.http, "GET", "/v1/kv?prefix=%s&index=%d&wait=%dms" % (
            PREFIX, since, int(WAIT_S * 1000)), timeout=WAIT_S + wl.CLIENT_TIMEOUT_S)
        t = classify(r, False)
        if r == "refused" or r is None:
            self.h.complete(op, t, status=None, error="connection_refused" if r else None)
        elif r.status == 200 and isinstance(r.json, dict) and "changes" in r.json:
            self.h.complete(op, "ok", status=200, changes=r.json["changes"],
                            index=r.json["index"])
            self.index = r.json["index"]
            self.changes += len(r.json["changes"])
            return
        elif r.status == 410 and isinstance(r.json, dict) and "index" in r.json:
            self.h.complete(op, "ok", status=410, error="compacted", resync=r.json["index"])
            self.index = r.json["index"]
            self.resyncs += 1
            return
        else:
            self.h.complete(op, "fail" if t == "ok" else t, status=r.status,
                            error=hist.error_code(r))
        # An error: another node, after a moment.
        others = [n for n in self.c.nodes if n is not self.node]
        self.node = self.rng.choice(others or self.c.nodes)
        self.stop.wait(self.rng.uniform(0.05, 0.2))

    def run(self):
        while not self.stop.is_set():
            self.poll()


class KV:
    """The workload's clients and watcher, and the truth read after the run."""

    def __init__(self, cluster, h, stop, seed, clients=3):
        self.c = cluster
        self.h = h
        self.stop = stop
        self.rng = random.Random(seed)
        self.nclients = clients
        self.start = None
        self.watcher = None
        self.truth = None

    def start_index(self, timeout_s=20.0):
        """The prefix's index now (a listing through the leader): the
        watcher's first index and the truth's."""
        deadline = self.h.now() + timeout_s
        while self.h.now() < deadline:
            leader = self.c.leader(timeout=5.0)
            r = wl.send(leader.http, "GET", "/v1/kv?prefix=%s&limit=1" % PREFIX, timeout=5.0)
            if r not in (None, "refused") and r.status == 200 and r.json is not None:
                return r.json["index"]
            threading.Event().wait(0.2)
        raise AssertionError("the kv prefix could not be listed within %.0fs" % timeout_s)

    def threads(self):
        self.start = self.start_index()
        out = [KVClient(600 + p, self.c, self.h, self.stop, self.rng.random())
               for p in range(self.nclients)]
        self.watcher = Watcher(650, self.c, self.h, self.stop, self.rng.random(), self.start)
        return out + [self.watcher]

    def read_truth(self, timeout_s=20.0):
        """Every change of the prefix after the start index, with one watch
        through the leader (wait 0: at once). When the oldest of them are no
        longer kept (410), the kept ones: from the lowest index a watch
        still answers, found by bisection."""
        deadline = self.h.now() + timeout_s

        def watch(since):
            while self.h.now() < deadline:
                try:
                    leader = self.c.leader(timeout=5.0)
                except Exception:
                    continue
                r = wl.send(leader.http, "GET", "/v1/kv?prefix=%s&index=%d&wait=0ms" % (
                    PREFIX, since), timeout=10.0)
                if r not in (None, "refused") and r.status in (200, 410) and r.json is not None:
                    return r
                threading.Event().wait(0.2)
            return None

        r = watch(self.start)
        truth = {"from": self.start, "changes": None, "index": None}
        if r is not None and r.status == 410:
            lo, hi = self.start, r.json["index"]  # 410 at lo; hi answers (nothing after)
            while hi - lo > 1 and self.h.now() < deadline:
                mid = (lo + hi) // 2
                m = watch(mid)
                if m is None:
                    break
                lo, hi = (mid, hi) if m.status == 410 else (lo, mid)
            truth["from"] = hi
            r = watch(hi)
        if r is not None and r.status == 200:
            truth["changes"] = r.json["changes"]
            truth["index"] = r.json["index"]
        self.truth = truth
        return truth


def summary(ops, truth):
    """The summary line's figures."""
    kv = [o for o in ops if o["f"] in KINDS]
    by = {t: sum(1 for o in kv if o["type"] == t) for t in ("ok", "fail", "info")}
    polls = [o for o in ops if o["f"] == "kv_watch"]
    seen = sum(len(o["value"].get("changes", [])) for o in polls if o["type"] == "ok")
    resyncs = sum(1 for o in polls if o["value"].get("error") == "compacted")
    txns = [o for o in kv if o["f"] == "kv_txn"]
    return ("kv: %d ops, ok %d, fail %d, info %d (%d cas refused; %d txns, %d ok); "
            "watch: %d polls (%d ok), %d changes watched, %d resyncs; truth: %s changes "
            "from index %s" % (
                len(kv), by["ok"], by["fail"], by["info"],
                sum(1 for o in kv if o["value"].get("error") in ("cas_failed", "check_failed")),
                len(txns), sum(1 for o in txns if o["type"] == "ok"),
                len(polls), sum(1 for o in polls if o["type"] == "ok"), seen, resyncs,
                "?" if truth is None or truth["changes"] is None else len(truth["changes"]),
                None if truth is None else truth["from"]))


def break_history(ops, how, seed=0):
    """OPS (and nothing else) spoiled as HOW says, as a wrong server would
    have answered: drop_change (the watcher misses a change), dup_change
    (sees one twice), swap_changes (two of one poll, or of two polls, out of
    order), flip_read (a read answers the value a key had before its last
    acknowledged write), lose_put (an acknowledged put's modify_index no
    change has). Returns (ops, what was done) or (ops, None) when OPS gives
    nothing to spoil."""
    rng = random.Random(seed)
    ops = [dict(o, value=dict(o["value"])) for o in ops]
    polls = [o for o in ops if o["f"] == "kv_watch" and o["type"] == "ok" and
             o["value"].get("changes")]
    if how in ("drop_change", "dup_change", "swap_changes"):
        if how == "swap_changes":
            pairs = [(o, i) for o in polls for i in range(len(o["value"]["changes"]) - 1)
                     if o["value"]["changes"][i]["modify_index"] !=
                     o["value"]["changes"][i + 1]["modify_index"]]
            if not pairs:
                return ops, None
            o, i = rng.choice(pairs)
            chs = list(o["value"]["changes"])
            chs[i], chs[i + 1] = chs[i + 1], chs[i]
            o["value"]["changes"] = chs
            return ops, "swapped changes %d and %d of the poll at t=%.2f" % (i, i + 1, o["inv"])
        if not polls:
            return ops, None
        o = rng.choice(polls)
        chs = list(o["value"]["changes"])
        i = rng.randrange(len(chs))
        if how == "drop_change":
            gone = chs.pop(i)
        else:
            gone = chs[i]
            chs.insert(i, gone)
        o["value"]["changes"] = chs
        return ops, "%s %s of the poll at t=%.2f" % (
            "dropped" if how == "drop_change" else "duplicated", gone, o["inv"])
    if how == "flip_read":
        # A read that comes after an acknowledged write of its key made it
        # answer what the key held before that write (a stale read).
        writes = {}
        for o in sorted(ops, key=lambda o: o["inv"]):
            if o["f"] == "kv_put" and o["type"] == "ok" and "modify_index" in o["value"]:
                writes.setdefault(o["key"], []).append(o)
        cands = []
        for o in ops:
            if o["f"] != "kv_read" or o["type"] != "ok" or not o["value"].get("found"):
                continue
            ws = [w for w in writes.get(o["key"], []) if w["cmp"] < o["inv"]]
            if len(ws) >= 2 and ws[-1]["value"]["val"] == o["value"]["val"] and \
                    ws[-2]["cmp"] < ws[-1]["inv"]:
                cands.append((o, ws[-2]))
        if not cands:
            return ops, None
        o, old = rng.choice(cands)
        was = o["value"]["val"]
        o["value"]["val"] = old["value"]["val"]
        o["value"]["modify_index"] = old["value"]["modify_index"]
        return ops, "the read of %s at t=%.2f answers %s instead of %s" % (
            o["key"], o["inv"], old["value"]["val"], was)
    if how == "lose_put":
        puts = [o for o in ops if o["f"] == "kv_put" and o["type"] == "ok" and
                "modify_index" in o["value"]]
        if not puts:
            return ops, None
        o = rng.choice(puts)
        o["value"]["modify_index"] += 1000000  # acknowledged at an index no change has
        return ops, "the put of %s at t=%.2f acknowledged at %d" % (
            o["key"], o["inv"], o["value"]["modify_index"])
    raise ValueError("unknown break %r" % how)
