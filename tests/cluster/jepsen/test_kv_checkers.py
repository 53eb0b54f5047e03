"""The key/value checkers (kv_linear.py, kv_watch.py) on hand-made
histories, on histories of a simulated correct server and on one recorded
from a real cluster under faults (testdata/kv_3nodes_seed72.json.gz: the
key/value operations of a runner.py --kv run and its truth): each good one
passes, and each fault (a stale read, a lost update, a cas granted on a
wrong index, a transaction applied on one key only; a change the watcher
missed, saw twice or out of order) is caught. The spoilers of runner
--kv-break (kv_workload.break_history) must make a correct history fail.
Run: python3 tests/cluster/jepsen/test_kv_checkers.py"""

import gzip
import heapq
import json
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kv_linear  # noqa: E402
import kv_watch  # noqa: E402
import kv_workload as kvw  # noqa: E402
from history import op  # noqa: E402

A, B, C = (kvw.PREFIX + "0/k%d" % i for i in range(3))


def read(p, inv, cmp, key, val=None, mi=None):
    if val is None:
        return op(p, "kv_read", inv, cmp, key=key, found=False)
    return op(p, "kv_read", inv, cmp, key=key, found=True, val=val, modify_index=mi)


def put(p, inv, cmp, key, val, mi=None, cas=None, type_="ok", cur=None):
    if type_ == "fail":
        return op(p, "kv_put", inv, cmp, "fail", key=key, val=val, cas=cas, status=409,
                  error="cas_failed", cur=cur)
    if type_ == "info":
        return op(p, "kv_put", inv, None, "info", key=key, val=val, cas=cas)
    return op(p, "kv_put", inv, cmp, key=key, val=val, cas=cas, modify_index=mi)


def delete(p, inv, cmp, key, deleted=True, cas=None):
    return op(p, "kv_delete", inv, cmp, key=key, cas=cas, deleted=deleted)


def txn(p, inv, cmp, check, puts, mi=None, type_="ok", cur=None):
    if type_ == "fail":
        return op(p, "kv_txn", inv, cmp, "fail", check=check, puts=puts, status=409,
                  error="check_failed", cur=cur)
    if type_ == "info":
        return op(p, "kv_txn", inv, None, "info", check=check, puts=puts)
    return op(p, "kv_txn", inv, cmp, check=check, puts=puts, modify_index=mi)


def valid(ops):
    return kv_linear.check_all(ops)["valid"]


class Linearizability(unittest.TestCase):
    def test_a_sequence_of_cas_puts_reads_and_a_txn_passes(self):
        h = [read(1, 0, 1, A), put(1, 2, 3, A, "a1", 10, cas=0),
             read(2, 4, 5, A, "a1", 10), put(2, 6, 7, A, "a2", 12, cas=10),
             put(1, 6.5, 7.5, A, "a3", cas=10, type_="fail", cur=12),
             txn(1, 8, 9, [A, 12], [[A, "a4"], [B, "b1"]], 15),
             read(2, 10, 11, B, "b1", 15), read(3, 10, 11, A, "a4", 15),
             delete(1, 12, 13, A, cas=15), read(2, 14, 15, A),
             delete(3, 14, 15, A, deleted=False)]
        self.assertIs(valid(h), True)

    def test_concurrent_writes_may_take_either_order_but_the_index_decides(self):
        h = [put(1, 0, 5, A, "x", 10), put(2, 1, 4, A, "y", 11), read(3, 6, 7, A, "y", 11)]
        self.assertIs(valid(h), True)
        h[-1] = read(3, 6, 7, A, "x", 10)  # the write at 11 came after: x is gone
        self.assertIs(valid(h), False)

    def test_a_stale_read_is_caught(self):
        h = [put(1, 0, 1, A, "a1", 10), put(1, 2, 3, A, "a2", 11),
             read(2, 4, 5, A, "a1", 10)]
        r = kv_linear.check_all(h)
        self.assertIs(r["valid"], False)
        self.assertEqual(r["parts"][kvw.partition_of(A)]["stuck_at"]["f"], "kv_read")

    def test_a_lost_update_is_caught(self):
        # Both cas puts on index 10 acknowledged: one must have been refused.
        h = [put(1, 0, 1, A, "a1", 10), put(2, 2, 3, A, "a2", 11, cas=10),
             put(3, 2, 3.5, A, "a3", 12, cas=10)]
        self.assertIs(valid(h), False)
        # An acknowledged write that a later read does not show.
        h = [put(1, 0, 1, A, "a1", 10), put(2, 2, 3, A, "a2", 11),
             read(3, 4, 5, A, "a1", 10)]
        self.assertIs(valid(h), False)

    def test_a_cas_granted_on_a_wrong_index_is_caught(self):
        h = [put(1, 0, 1, A, "a1", 10), read(2, 2, 3, A, "a1", 10),
             put(2, 4, 5, A, "a2", 14, cas=9)]
        self.assertIs(valid(h), False)
        # cas 0 ("only if absent") granted on a key that exists.
        h = [put(1, 0, 1, A, "a1", 10), put(2, 2, 3, A, "a2", 11, cas=0)]
        self.assertIs(valid(h), False)
        # A refusal naming an index the key did not have.
        h = [put(1, 0, 1, A, "a1", 10), put(2, 2, 3, A, "a2", cas=9, type_="fail", cur=11)]
        self.assertIs(valid(h), False)
        h[-1] = put(2, 2, 3, A, "a2", cas=9, type_="fail", cur=10)
        self.assertIs(valid(h), True)

    def test_a_txn_applied_on_one_key_only_is_caught(self):
        base = [put(1, 0, 1, A, "a1", 10), put(1, 1.5, 2, B, "b1", 11)]
        # Acknowledged, but key B still shows its old value afterwards.
        h = base + [txn(2, 3, 4, [A, 10], [[A, "a2"], [B, "b2"]], 13),
                    read(3, 5, 6, A, "a2", 13), read(3, 7, 8, B, "b1", 11)]
        self.assertIs(valid(h), False)
        # Unanswered: it may have applied, or not, but not on A alone. A
        # check of each key alone would accept this one.
        h = base + [txn(2, 3, None, [A, 10], [[A, "a2"], [B, "b2"]], type_="info"),
                    read(3, 5, 6, A, "a2", 13), read(3, 7, 8, B, "b1", 11)]
        self.assertIs(valid(h), False)
        h[-1] = read(3, 7, 8, B, "b2", 13)
        self.assertIs(valid(h), True)
        # Its puts at two indexes.
        h = base + [txn(2, 3, None, [A, 10], [[A, "a2"], [B, "b2"]], type_="info"),
                    read(3, 5, 6, A, "a2", 13), read(3, 7, 8, B, "b2", 14)]
        self.assertIs(valid(h), False)

    def test_a_refused_txn_changed_nothing(self):
        h = [put(1, 0, 1, A, "a1", 10),
             txn(2, 2, 3, [A, 9], [[A, "a2"], [B, "b2"]], type_="fail", cur=10),
             read(3, 4, 5, B)]
        self.assertIs(valid(h), True)
        h[-1] = read(3, 4, 5, B, "b2", 12)
        self.assertIs(valid(h), False)

    def test_an_unanswered_put_may_apply_late_or_never(self):
        h = [put(1, 0, 1, A, "a1", 10), put(2, 2, None, A, "a2", type_="info"),
             read(3, 3, 4, A, "a1", 10), read(3, 9, 10, A, "a2", 17),
             put(1, 11, 12, A, "a3", 19, cas=17)]
        self.assertIs(valid(h), True)
        # ... but not before its invocation.
        h = [put(1, 0, 1, A, "a1", 10), read(3, 3, 4, A, "a2", 17),
             put(2, 5, None, A, "a2", type_="info")]
        self.assertIs(valid(h), False)

    def test_a_search_over_its_budget_is_unknown(self):
        h = simulate(3)[0]
        self.assertEqual(kv_linear.check_all(h, max_states=5)["valid"], "unknown")


def simulate(seed, procs=4, n_ops=220, info=0.08):
    """A correct server under concurrent clients: each op applies atomically
    at a random point of its interval (an unanswered one at a random point
    after its invocation, or never). Returns (ops, truth of changes)."""
    rng = random.Random(seed)
    store, changes = {}, []
    index = [5]
    ops = []
    events = []  # (time, order, kind, data)
    seq = [0]
    known = {p: {} for p in range(procs)}
    vals = [0]

    def push(t, kind, data):
        seq[0] += 1
        heapq.heappush(events, (t, seq[0], kind, data))

    def new_op(p, t):
        key = rng.choice((A, B, C))
        k = known[p]
        x = rng.random()
        vals[0] += 1
        v = "p%d-%d" % (p, vals[0])
        if key not in k or x < 0.35:
            o = op(p, "kv_read", t, None, "info", key=key)
        elif x < 0.6:
            o = op(p, "kv_put", t, None, "info", key=key, val=v, cas=k[key])
        elif x < 0.7:
            o = op(p, "kv_put", t, None, "info", key=key, val=v, cas=None)
        elif x < 0.8:
            o = op(p, "kv_delete", t, None, "info", key=key, cas=k[key])
        else:
            other = rng.choice([y for y in (A, B, C) if y != key])
            o = op(p, "kv_txn", t, None, "info", check=[key, k[key]],
                   puts=[[key, v], [other, v + "b"]])
        return o

    def cas_ok(key, cas):
        cur = store.get(key)
        return cas is None or (cas == 0 and cur is None) or (
            cur is not None and cas != 0 and cur[1] == cas)

    def apply(o):
        v, f = o["value"], o["f"]
        index[0] += rng.choice((1, 1, 2, 3))  # other entries in between
        n = index[0]
        res = {}
        if f == "kv_read":
            cur = store.get(o["key"])
            res = {"found": False} if cur is None else \
                {"found": True, "val": cur[0], "modify_index": cur[1]}
        elif f in ("kv_put", "kv_delete"):
            key = o["key"]
            if not cas_ok(key, v["cas"]):
                cur = store.get(key)
                res = {"error": "cas_failed", "cur": 0 if cur is None else cur[1]}
            elif f == "kv_put":
                store[key] = (v["val"], n)
                changes.append({"key": key, "change": "put", "modify_index": n})
                res = {"modify_index": n}
            else:
                res = {"deleted": key in store}
                if key in store:
                    del store[key]
                    changes.append({"key": key, "change": "delete", "modify_index": n})
        else:
            key, cas = v["check"]
            if not cas_ok(key, cas):
                cur = store.get(key)
                res = {"error": "check_failed", "cur": 0 if cur is None else cur[1]}
            else:
                for k, val in v["puts"]:
                    store[k] = (val, n)
                for k, _ in sorted(v["puts"]):
                    changes.append({"key": k, "change": "put", "modify_index": n})
                res = {"modify_index": n}
        return res

    for p in range(procs):
        push(rng.uniform(0, 0.1), "invoke", p)
    started = 0
    while events:
        t, _, kind, data = heapq.heappop(events)
        if kind == "invoke":
            if started >= n_ops:
                continue
            started += 1
            o = new_op(data, t)
            ops.append(o)
            dur = rng.uniform(0.01, 0.3)
            lost = o["f"] != "kv_read" and rng.random() < info
            if not lost or rng.random() < 0.6:
                push(t + rng.uniform(0, dur * (5 if lost else 1)), "apply", (o, lost))
            if lost:
                known[data].pop(o["key"] if o["f"] != "kv_txn" else o["value"]["check"][0],
                                None)
                push(t + dur, "invoke", data)
            else:
                push(t + dur, "complete", o)
        elif kind == "apply":
            o, lost = data
            res = apply(o)
            if not lost:
                o["res"] = res
        else:
            o = data
            res = o.pop("res")
            o["cmp"] = t
            o["type"] = "fail" if "error" in res else "ok"
            if "error" in res:
                res["status"] = 409
            o["value"].update(res)
            p = o["p"]
            key = o["key"] if o["f"] != "kv_txn" else o["value"]["check"][0]
            if o["f"] == "kv_read":
                known[p][key] = res.get("modify_index", 0)
            elif "cur" in res:
                known[p][key] = res["cur"]
            elif o["f"] == "kv_delete":
                known[p][key] = 0
            else:
                known[p][key] = res["modify_index"]
            push(t + rng.uniform(0, 0.02), "invoke", p)
    return ops, changes


def watch_polls(changes, start, cuts, t0=100.0, resync=None):
    """The watcher's polls over CHANGES from START, answers cut at the
    indexes CUTS; RESYNC (since, to) adds a 410 at that point."""
    polls, since, t = [], start, t0
    for cut in list(cuts) + [None]:
        if resync is not None and since == resync[0]:
            polls.append(op(650, "kv_watch", t, t + 0.1, key=kvw.PREFIX, since=since,
                            status=410, error="compacted", resync=resync[1]))
            since, t = resync[1], t + 0.2
        upto = cut if cut is not None else max([since] + [c["modify_index"] for c in changes])
        chs = [c for c in changes if since < c["modify_index"] <= upto]
        polls.append(op(650, "kv_watch", t, t + 0.1, key=kvw.PREFIX, since=since,
                        status=200, changes=chs, index=upto))
        since, t = upto, t + 0.2
    return polls


def simulated_run(seed):
    ops, changes = simulate(seed)
    last = max(c["modify_index"] for c in changes)
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(6, last), 12))
    ops += watch_polls(changes, 5, cuts)
    truth = {"from": 5, "changes": changes, "index": last + 3}
    return ops, truth


class SimulatedServer(unittest.TestCase):
    def test_histories_of_a_correct_server_pass_both_checkers(self):
        for seed in range(6):
            ops, truth = simulated_run(seed)
            lin = kv_linear.check_all(ops)
            self.assertIs(lin["valid"], True, (seed, lin))
            w = kv_watch.check(ops, truth)
            self.assertIs(w["valid"], True, (seed, w))
            self.assertGreater(w["seen"], 50)
            self.assertTrue(any(o["type"] == "info" for o in ops))
            self.assertTrue(any(o["f"] == "kv_txn" and o["type"] == "ok" for o in ops))
            self.assertTrue(any(o.get("value", {}).get("error") == "cas_failed" for o in ops))

    def test_each_spoiler_of_kv_break_fails_a_correct_history(self):
        for seed in range(4):
            ops, truth = simulated_run(seed)
            for how in kvw.BREAKS:
                bad, what = kvw.break_history(ops, how, seed)
                self.assertIsNotNone(what, (seed, how))
                lin = kv_linear.check_all(bad)["valid"]
                w = kv_watch.check(bad, truth)["valid"]
                if how == "flip_read":
                    self.assertIs(lin, False, (seed, how, what))
                else:
                    self.assertIs(w, False, (seed, how, what))
            # The original is untouched.
            self.assertIs(kv_watch.check(ops, truth)["valid"], True)


RECORDED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata",
                        "kv_3nodes_seed72.json.gz")


class RecordedRun(unittest.TestCase):
    """The checkers have teeth against what the real system answers: its
    history passes, and spoiled as runner --kv-break would spoil it, fails."""

    @classmethod
    def setUpClass(cls):
        with gzip.open(RECORDED, "rt") as fh:
            rec = json.load(fh)
        cls.ops, cls.truth = rec["ops"], rec["truth"]

    def test_the_recorded_history_passes(self):
        lin = kv_linear.check_all(self.ops)
        self.assertIs(lin["valid"], True, lin)
        w = kv_watch.check(self.ops, self.truth)
        self.assertIs(w["valid"], True, w)
        self.assertEqual(w["seen"], w["expected"])
        self.assertGreater(w["seen"], 400)
        self.assertTrue(any(o["type"] == "info" for o in self.ops))

    def test_each_spoiler_makes_it_fail(self):
        for how in kvw.BREAKS:
            for seed in range(3):
                bad, what = kvw.break_history(self.ops, how, seed)
                self.assertIsNotNone(what, how)
                if how == "flip_read":
                    r = kv_linear.check_all(bad)
                else:
                    r = kv_watch.check(bad, self.truth)
                self.assertIs(r["valid"], False, (how, seed, what))


def ch(key, mi, change="put"):
    return {"key": key, "change": change, "modify_index": mi}


TRUTH = [ch(A, 11), ch(B, 12), ch(A, 14, "delete"), ch(A, 15), ch(C, 15), ch(B, 17)]


def writes():
    """The writes that made TRUTH, acknowledged."""
    return [put(1, 0, 1, A, "a1", 11), put(2, 0, 1, B, "b1", 12), delete(1, 1.5, 2, A),
            txn(1, 3, 4, [A, 0], [[A, "a2"], [C, "c1"]], 15), put(2, 5, 6, B, "b2", 17)]


def polled(*answers, start=10, t0=10):
    """Polls answering ANSWERS, lists of changes each with the index after
    it, one after the other from START, at T0 on."""
    out, since = [], start
    for n, (chs, index) in enumerate(answers):
        out.append(op(650, "kv_watch", t0 + n, t0 + 0.1 + n, key=kvw.PREFIX, since=since,
                      status=200, changes=chs, index=index))
        since = index
    return out


def truth(changes=TRUTH, start=10, index=18):
    return {"from": start, "changes": list(changes), "index": index}


class WatchCompleteness(unittest.TestCase):
    def test_every_change_once_in_order_passes(self):
        h = writes() + polled((TRUTH[:2], 12), ([], 13), (TRUTH[2:5], 16), (TRUTH[5:], 18))
        r = kv_watch.check(h, truth())
        self.assertIs(r["valid"], True, r)
        self.assertEqual((r["seen"], r["expected"], r["acknowledged_puts"]), (6, 6, 5))

    def test_a_missed_change_is_caught(self):
        h = writes() + polled((TRUTH[:2], 12), (TRUTH[3:5], 16), (TRUTH[5:], 18))
        r = kv_watch.check(h, truth())
        self.assertIs(r["valid"], False)
        self.assertEqual(r["problems"]["missed"], [(A, "delete", 14)])

    def test_a_change_seen_twice_is_caught(self):
        h = writes() + polled((TRUTH[:2], 12), (TRUTH[1:5], 16), (TRUTH[5:], 18))
        r = kv_watch.check(h, truth())
        self.assertIs(r["valid"], False)
        self.assertEqual(r["problems"]["duplicated"], [(B, "put", 12)])

    def test_changes_out_of_order_are_caught(self):
        swapped = [TRUTH[0], TRUTH[2], TRUTH[1]] + TRUTH[3:]
        h = writes() + polled((swapped[:3], 14), (swapped[3:], 18))
        r = kv_watch.check(h, truth())
        self.assertIs(r["valid"], False)
        self.assertIn("out_of_order", r["problems"])
        # One entry's keys out of key order, too.
        h = writes() + polled((TRUTH[:3] + [TRUTH[4], TRUTH[3]] + TRUTH[5:], 18))
        self.assertIs(kv_watch.check(h, truth())["valid"], False)

    def test_a_poll_not_from_the_last_index_or_outside_its_range_is_caught(self):
        h = writes() + polled((TRUTH[:2], 12), (TRUTH[2:], 18))
        h[-1]["value"]["since"] = 13  # skipped (12, 13]
        self.assertIn("not_resumed", kv_watch.check(h, truth())["problems"])
        h = writes() + polled((TRUTH[:2], 11), (TRUTH[2:], 18))
        self.assertIn("outside_poll", kv_watch.check(h, truth())["problems"])

    def test_a_resync_after_410_excuses_its_gap_only(self):
        gone = op(650, "kv_watch", 10.5, 10.6, key=kvw.PREFIX, since=12, status=410,
                  error="compacted", resync=15)
        h = writes() + polled((TRUTH[:2], 12)) + [gone] + \
            polled((TRUTH[5:], 18), start=15, t0=11)
        r = kv_watch.check(h, truth())
        self.assertIs(r["valid"], True, r)
        self.assertEqual((r["resyncs"], r["gaps"]), (1, [(12, 15)]))
        h = writes() + polled((TRUTH[:1], 12)) + [gone] + \
            polled((TRUTH[5:], 18), start=15, t0=11)
        self.assertEqual(kv_watch.check(h, truth())["problems"]["missed"], [(B, "put", 12)])

    def test_an_acknowledged_put_missing_from_the_changes_is_caught(self):
        h = writes() + polled((TRUTH, 18))
        h[4] = put(2, 5, 6, B, "b2", 16)  # acknowledged at 16; the change is at 17
        r = kv_watch.check(h, truth())
        self.assertIs(r["valid"], False)
        self.assertEqual(r["problems"]["acknowledged_put_missing"],
                         [{"key": B, "modify_index": 16}])

    def test_changes_no_write_explains_are_caught(self):
        h = writes()[:4] + polled((TRUTH, 18))  # nobody wrote B at 17
        self.assertIn("unexplained_changes", kv_watch.check(h, truth())["problems"])
        h.append(put(2, 5, None, B, "b2", type_="info"))  # an unanswered put may have
        self.assertIs(kv_watch.check(h, truth())["valid"], True)

    def test_a_compacted_truth_judges_from_what_is_kept_and_none_is_unknown(self):
        h = writes() + polled((TRUTH[:1], 11), (TRUTH[1:], 18))
        r = kv_watch.check(h, truth(TRUTH[3:], start=14))
        self.assertIs(r["valid"], True, r)
        self.assertEqual(r["expected"], 3)
        self.assertEqual(kv_watch.check(h, {"from": 10, "changes": None, "index": None})["valid"],
                         "unknown")


class TruthRead(unittest.TestCase):
    """KV.read_truth against a stand-in server that dropped the changes up
    to index 50: it finds the lowest index still kept by bisection."""

    def test_a_compacted_start_reads_the_kept_changes(self):
        import history
        import workload

        changes = [ch(A, i) for i in range(11, 90, 3)]
        asked = []

        class Node:
            http = "127.0.0.1:1"

        class Cluster:
            nodes = [Node()]

            def leader(self, timeout=None):
                return Node()

        class Reply:
            def __init__(self, status, body):
                self.status, self.json = status, body

        def send(addr, method, path, body=None, timeout=None):
            since = int(path.split("index=")[1].split("&")[0])
            asked.append(since)
            if since < 50:
                return Reply(410, {"error": "compacted", "index": 95})
            return Reply(200, {"changes": [c for c in changes if c["modify_index"] > since],
                               "index": 95})

        saved = workload.send
        workload.send = send
        try:
            kv = kvw.KV(Cluster(), history.History(), None, 1)
            kv.start = 7
            t = kv.read_truth()
        finally:
            workload.send = saved
        self.assertEqual(t["from"], 50)
        self.assertEqual(t["changes"], [c for c in changes if c["modify_index"] > 50])
        self.assertLess(len(asked), 12)
        kv.start = 60
        workload.send = send
        try:
            t = kv.read_truth()
        finally:
            workload.send = saved
        self.assertEqual((t["from"], len(t["changes"])), (60, 10))


if __name__ == "__main__":
    unittest.main(verbosity=1)
