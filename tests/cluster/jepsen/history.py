"""The history a Jepsen-style run records, and how client answers are
classified.

An operation is one dict (one JSON line when saved):

  {"p": process, "f": kind, "key": lock or election name or None,
   "session": id or None, "inv": seconds, "cmp": seconds or None,
   "type": "ok" | "fail" | "info", "value": {...}}

Times are on one monotonic clock, in seconds from the start of the run. The
outcome types follow Knossos (docs/DESIGN.md, How it is tested):

- "ok": a definite answer, including error *results* that the state machine
  computed (lock_held, not_holder, session_not_found); the models must
  accept them;
- "fail": the operation certainly took no effect (rejected before it was
  proposed: 400, 429; 503 no_leader / unavailable, whose entry, if it was
  proposed, lost its index to another leader's: docs/API.md, What a 503
  tells);
- "info": indeterminate (time-out, connection lost, 504 timeout: DESIGN.md
  rule 12). Its completion time is None: it may take effect at any time
  after its invocation, or never.

Kinds: create_session, keepalive, close_session, session_read, acquire,
release, read (lock or election state), campaign, resign, observe, and
store_read and store_write (the fenced store's verdict on a client's read
and write: key and session are the lock and session that the client's
token came from)."""

import json
import threading
import time

# Statuses after which the request certainly did not take effect.
FAIL_STATUSES = (400, 405, 413, 429, 503)


def classify(reply, write=False, unknown_503=False):
    """Outcome type of a harness.Reply (None: no answer at all). With
    UNKNOWN_503 a write answered 503 counts as indeterminate instead of
    failed: a weaker check, for servers known to break rule 12 there."""
    if reply is None:
        return "info"
    if write and unknown_503 and reply.status == 503:
        return "info"
    if write and reply.status == 503 and error_code(reply) is None:
        return "info"  # no body: the node could not write its answer (API.md)
    if reply.status in FAIL_STATUSES:
        return "fail"
    if reply.status == 504 or reply.status >= 500:
        return "info"
    return "ok"


def error_code(reply):
    if reply is None or reply.json is None or not isinstance(reply.json, dict):
        return None
    return reply.json.get("error")


class History:
    """A thread-safe list of operations on one monotonic clock."""

    def __init__(self, t0=None):
        self.t0 = time.monotonic() if t0 is None else t0
        self.ops = []
        self.lock = threading.Lock()

    def now(self):
        return time.monotonic() - self.t0

    def invoke(self, p, f, key=None, session=None, **value):
        """Records an operation as sent: until complete() it counts as
        indeterminate, so a request still in flight when the run ends is
        "info", never missing."""
        op = {"p": p, "f": f, "key": key, "session": session,
              "inv": self.now(), "cmp": None, "type": "info", "value": dict(value)}
        with self.lock:
            self.ops.append(op)
        return op

    def complete(self, op, type_, **value):
        """Gives OP its outcome; an "info" op keeps cmp None."""
        assert type_ in ("ok", "fail", "info")
        with self.lock:
            op["type"] = type_
            if type_ != "info":
                op["cmp"] = self.now()
            op["value"].update(value)
        return op

    def add(self, op):
        with self.lock:
            self.ops.append(op)

    def snapshot(self):
        """A copy of every operation, in invocation order."""
        with self.lock:
            return sorted((dict(o, value=dict(o["value"])) for o in self.ops),
                          key=lambda o: o["inv"])


def counts(ops):
    """{kind: {type: n}}: the counts by outcome that every run prints."""
    out = {}
    for op in ops:
        per = out.setdefault(op["f"], {"ok": 0, "fail": 0, "info": 0})
        per[op["type"]] += 1
    return out


def format_counts(ops):
    lines = []
    for f, per in sorted(counts(ops).items()):
        lines.append("  %-14s ok %6d  fail %5d  info %5d" % (f, per["ok"], per["fail"], per["info"]))
    return "\n".join(lines)


def save(ops, path):
    with open(path, "w") as fh:
        for op in ops:
            fh.write(json.dumps(op, sort_keys=True) + "\n")


def load(path):
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def op(p, f, inv, cmp, type_="ok", key=None, session=None, **value):
    """A hand-made operation (for checker tests)."""
    return {"p": p, "f": f, "key": key, "session": session, "inv": float(inv),
            "cmp": None if type_ == "info" else float(cmp), "type": type_,
            "value": value}
