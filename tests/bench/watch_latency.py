"""Watch latency (docs/BENCHMARKS.md): how long after a put is sent its
watcher is told, on coord and on etcd, the same way on both.

One watcher watches a prefix through the leader; one writer puts a new key
under it every PERIOD seconds, each key named by its sequence number, and
records when it sent each put. The watcher records when each key's change
reached it. Latency = notified - sent, so it holds the put's own commit and
the watch's delivery; both systems pay the same commit.

coord: the watcher long-polls GET /v1/kv?prefix=P&index=N&wait=D and
resumes from each answer's index. etcd: one POST /v3/watch through the
JSON gateway, a stream of one JSON object per event batch.

Plain HTTP only (plain runs of vs-etcd); figures are printed by vs-etcd:
  WATCH system=S puts=N seen=M p50_ms=.. p99_ms=.. max_ms=.."""

import base64
import http.client
import json
import threading
import time
import urllib.parse

PERIOD_S = 0.02     # one put every 20 ms
PUTS = 300          # per run
WAIT = "10s"        # a coord long-poll's wait
DEADLINE_S = 15.0   # a run gives up on changes not seen by then


def _conn(url, timeout):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)


def _b64(s):
    return base64.b64encode(s.encode()).decode()


class _Run:
    def __init__(self, prefix, puts):
        self.prefix, self.puts = prefix, puts
        self.sent = {}   # seq -> monotonic send time
        self.seen = {}   # seq -> monotonic notification time
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ready = threading.Event()

    def saw(self, key):
        if not key.startswith(self.prefix):
            return
        try:
            seq = int(key[len(self.prefix):])
        except ValueError:
            return
        with self.lock:
            self.seen.setdefault(seq, time.monotonic())

    def result(self, system):
        lat = sorted(1000.0 * (self.seen[k] - self.sent[k]) for k in self.sent if k in self.seen)

        def pct(p):
            return lat[min(len(lat) - 1, int(p / 100.0 * len(lat)))] if lat else None
        return {"system": system, "puts": len(self.sent), "seen": len(lat),
                "p50_ms": pct(50), "p99_ms": pct(99), "max_ms": lat[-1] if lat else None}


def _coord_watcher(url, run):
    conn = _conn(url, 30)
    conn.request("GET", "/v1/kv?prefix=" + urllib.parse.quote(run.prefix))
    index = json.loads(conn.getresponse().read())["index"]
    run.ready.set()
    while not run.stop.is_set():
        conn.request("GET", "/v1/kv?prefix=%s&index=%d&wait=%s" % (
            urllib.parse.quote(run.prefix), index, WAIT))
        body = json.loads(conn.getresponse().read())
        for ch in body.get("changes", []):
            run.saw(ch["key"])
        index = body.get("index", index)


def _etcd_watcher(url, run):
    conn = _conn(url, 30)
    body = {"create_request": {"key": _b64(run.prefix), "range_end": _b64(run.prefix[:-1] + "0")}}
    conn.request("POST", "/v3/watch", json.dumps(body), {"Content-Type": "application/json"})
    r = conn.getresponse()
    while not run.stop.is_set():
        line = r.readline()
        if not line:
            return
        msg = json.loads(line)
        res = msg.get("result", {})
        if res.get("created"):
            run.ready.set()
        for ev in res.get("events", []):
            run.saw(base64.b64decode(ev["kv"]["key"]).decode())


def _writer(url, run, system):
    conn = _conn(url, 10)
    for seq in range(run.puts):
        key = "%s%d" % (run.prefix, seq)
        with run.lock:
            run.sent[seq] = time.monotonic()
        if system == "coord":
            conn.request("PUT", "/v1/kv/" + key, json.dumps({"value": "x"}))
        else:
            conn.request("POST", "/v3/kv/put", json.dumps({"key": _b64(key), "value": _b64("x")}),
                         {"Content-Type": "application/json"})
        conn.getresponse().read()
        time.sleep(PERIOD_S)


def measure(system, url, tag, puts=PUTS):
    """One run against SYSTEM ("coord" or "etcd") through the leader at URL
    (http://host:port); keys under bench/TAG/watch/. Its result dict."""
    run = _Run("bench/%s/watch/" % tag, puts)
    watcher = threading.Thread(target=_coord_watcher if system == "coord" else _etcd_watcher,
                               args=(url, run), daemon=True)
    watcher.start()
    if not run.ready.wait(10):
        raise RuntimeError("%s: the watch did not start" % system)
    _writer(url, run, system)
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        with run.lock:
            if len(run.seen) >= len(run.sent):
                break
        time.sleep(0.05)
    run.stop.set()  # the watcher thread is a daemon: its connection dies with the run
    return run.result(system)


def line(r):
    def f(v):
        return "-" if v is None else "%.2f" % v
    return "WATCH system=%s puts=%d seen=%d p50_ms=%s p99_ms=%s max_ms=%s" % (
        r["system"], r["puts"], r["seen"], f(r["p50_ms"]), f(r["p99_ms"]), f(r["max_ms"]))
