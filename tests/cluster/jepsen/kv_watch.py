"""Watch completeness (docs/API.md, Key/value: "a watcher that always
passes the last M it got sees every change exactly once"): the watcher's
polls (kv_workload.Watcher, kind kv_watch) against the truth, every change
of the prefix since the watcher's first index read with one watch after the
run and the heal (kv_workload.KV.read_truth).

The watcher covered (start, end]: start the index of its first poll, end
the index its last answer gave, less the ranges (since, resync] that a 410
compacted skipped (a resync). What it saw, in order, must be exactly the
truth's changes in that range: none missed, none twice, none the truth does
not have, in the truth's order; every answer's changes within (since,
index] of its poll, each poll from the index the one before gave. The truth
itself must be in log order and reach the watcher's end.

Beside the watcher, the writes: every acknowledged put (and each put of an
acknowledged transaction) must be in the truth, a put of its key at its
modify_index; a key must have at least as many delete changes as
acknowledged deletions of it, and no more put or delete changes than its
acknowledged writes of that kind and its unanswered ones can explain.

When the oldest changes were no longer kept at the truth's read (410), the
truth starts at the lowest index still kept, and everything is judged from
there; with no truth at all the verdict is "unknown"."""

import kv_workload as kvw

SHOW = 5  # examples shown of each kind of problem


def _ident(ch):
    return (ch["key"], ch["change"], ch["modify_index"])


def check(ops, truth):
    polls = sorted((o for o in ops if o["f"] == "kv_watch" and o["type"] == "ok"),
                   key=lambda o: o["inv"])
    out = {"valid": True, "polls": len(polls), "resyncs": 0, "seen": 0, "expected": None}
    problems = {}

    def bad(kind, what):
        problems.setdefault(kind, [])
        if len(problems[kind]) < SHOW:
            problems[kind].append(what)
        out.setdefault("counts", {})
        out["counts"][kind] = out["counts"].get(kind, 0) + 1

    start = polls[0]["value"]["since"] if polls else None
    cursor = start
    seen, gaps = [], []
    for p in polls:
        v = p["value"]
        if v["since"] != cursor:
            bad("not_resumed", {"t": p["inv"], "since": v["since"], "last_index": cursor})
        if v.get("error") == "compacted":
            gaps.append((v["since"], v["resync"]))
            out["resyncs"] += 1
            cursor = v["resync"]
            continue
        if v["index"] < v["since"]:
            bad("index_backwards", {"t": p["inv"], "since": v["since"], "index": v["index"]})
        for ch in v["changes"]:
            if not v["since"] < ch["modify_index"] <= v["index"]:
                bad("outside_poll", {"t": p["inv"], "since": v["since"], "index": v["index"],
                                     "change": ch})
            seen.append(_ident(ch))
        cursor = v["index"]
    end = cursor
    out["seen"] = len(seen)
    out["range"] = [start, end]
    out["gaps"] = gaps
    if truth is None or truth.get("changes") is None:
        out["valid"] = "unknown"
        out["why"] = "no truth: the changes since the start could not be read"
        return out
    lo = truth["from"]
    if start is not None and lo > start:
        out["truth_from"] = lo  # the older changes were compacted: judged from lo
    tchs = [_ident(ch) for ch in truth["changes"]]
    for a, b in zip(tchs, tchs[1:]):
        if (a[2], a[0]) >= (b[2], b[0]):
            bad("truth_out_of_order", [a, b])
    if start is not None and truth["index"] is not None and truth["index"] < end:
        bad("truth_behind", {"truth_index": truth["index"], "watcher_end": end})
    tset = set(tchs)

    def watched(mi):
        return start is not None and max(start, lo) < mi <= end and \
            not any(g0 < mi <= g1 for g0, g1 in gaps)

    expected = [c for c in tchs if watched(c[2])]
    mine = [c for c in seen if c[2] > lo]
    out["expected"] = len(expected)
    eset = set(expected)
    first, dup = set(), set()
    for c in mine:
        if c in first and c not in dup:
            dup.add(c)
            bad("duplicated", c)
        first.add(c)
    for c in expected:
        if c not in first:
            bad("missed", c)
    for c in mine:
        if c not in eset:
            bad("phantom" if c not in tset else "outside_range", c)
    order = {c: n for n, c in enumerate(expected)}
    placed, prev = set(), None
    for c in mine:
        if c in placed or c not in order:
            continue
        placed.add(c)
        if prev is not None and order[c] < order[prev]:
            bad("out_of_order", [prev, c])
        prev = c

    # The writes against the truth.
    acked = {}  # (key, kind) -> acknowledged changes (index, or None for a delete)
    unknown = {}
    for o in ops:
        if o["f"] not in kvw.WRITES or o["type"] == "fail":
            continue
        v = o["value"]
        if o["f"] == "kv_txn":
            writes = [(k, "put") for k, _ in v.get("puts", [])]
        elif o["f"] == "kv_put":
            writes = [(o["key"], "put")]
        else:
            writes = [(o["key"], "delete")]
        for kk in writes:
            if o["type"] == "info":
                unknown[kk] = unknown.get(kk, 0) + 1
            elif kk[1] == "put" and "modify_index" in v:
                acked.setdefault(kk, []).append(v["modify_index"])
            elif kk[1] == "delete" and v.get("deleted"):
                acked.setdefault(kk, []).append(None)
    lost = 0
    for (k, kind), idxs in sorted(acked.items()):
        for mi in idxs:
            if kind == "put" and mi > lo and (k, "put", mi) not in tset:
                bad("acknowledged_put_missing", {"key": k, "modify_index": mi})
                lost += 1
    per = {}
    for c in tchs:
        per[(c[0], c[1])] = per.get((c[0], c[1]), 0) + 1
    whole = lo == start  # the truth has every change of the run
    for kk in sorted(set(per) | set(acked)):
        n = per.get(kk, 0)
        known = [mi for mi in acked.get(kk, []) if mi is None or mi > lo]
        if whole and kk[1] == "delete" and n < len(known):
            bad("acknowledged_delete_missing", {"key": kk[0], "deletes": n,
                                                "acknowledged": len(known)})
        if n > len(known) + unknown.get(kk, 0):
            bad("unexplained_changes", {"key": kk[0], "change": kk[1], "changes": n,
                                        "acknowledged": len(known),
                                        "unanswered": unknown.get(kk, 0)})
    out["acknowledged_puts"] = sum(len(v) for (k, kind), v in acked.items() if kind == "put")
    if problems:
        out["valid"] = False
        out["problems"] = problems
    return out


if __name__ == "__main__":
    import json
    import sys

    import history
    with open(sys.argv[2]) as fh:
        print(check(history.load(sys.argv[1]), json.load(fh)))
