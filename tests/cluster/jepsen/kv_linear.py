"""Linearizability of the key/value workload's history (kv_workload.py)
against a sequential model of compare-and-set registers, by the same
Wing-Gong search with Lowe's memoisation as linear.py, and its partial-order
reduction (an op that leaves the state as it is gets linearized at the
first point it can).

Multi-key state, not keys checked one by one: a partition is one rotation
of the workload's keys (kv_workload.KEYS keys, kv_workload.ROTATE_S
seconds), and its state holds every key of it, so a transaction (a check
and two puts) is one operation on two keys: one that applied to one key and
not the other, or whose puts show at different indexes, has no
linearization. (Checking each key alone would accept a transaction lost on
one key and applied on the other when it was unanswered.)

The state is (cells, last):
  cells   one per key of the partition, in name order: None (no key) or
          (value, index). The index is the key's modify_index, or
          ("?", lo, process, invoked) when the write was unanswered: above
          lo, fixed by the first read or refusal that names it, for every
          key that write (a transaction) put at once.
  last    the highest modify_index known to be issued: the log index of
          the entry, and the entries apply in order, so every answered
          write linearizes after every write of a lower index (a write
          with a known index must be above last). Deletes answer no index
          and leave last as it is (a weaker bound, never a wrong one).

Operations:
  kv_read     ok: found with (value, modify_index), or not found.
  kv_put      cas None (unconditional), 0 (only if absent) or N (only if
              the modify_index is N); ok with its modify_index.
  kv_delete   cas as for a put; ok {"deleted": true|false}.
  kv_txn      a check (key, N) and puts; ok with the one modify_index of
              every key it wrote.
A 409 cas_failed or check_failed ("fail": it changed nothing) still says
what the key's modify_index was when it applied ("cur", 0: no key): the
model must have a state where the condition did not hold and the key's
index was cur. Other failed operations, and unanswered reads, are left
out. An unanswered write ("info") may take effect at any time after its
invocation, or never.

A search that visits more than MAX_STATES states gives up: "unknown",
which the runner counts as not passing."""

import sys

import kv_workload as kvw

MAX_STATES = 2000000


def _fix(idx, n):
    """IDX (int or ("?", lo)) matched against the index N: the fixed index,
    or None when it cannot be N."""
    if isinstance(idx, tuple):
        return n if n > idx[1] else None
    return n if idx == n else None


def _cond(cell, cas):
    """The cell after a cas condition holds (its index fixed), or False."""
    if cas is None:
        return cell
    if cas == 0:
        return cell if cell is None else False
    if cell is None:
        return False
    n = _fix(cell[1], cas)
    return False if n is None else (cell[0], n)


def _refused(cell, cas, cur):
    """The cell after a refusal of CAS that named the index CUR, or False
    when the model cannot refuse so."""
    if cur is None:  # a refusal without its figure: the condition must fail
        if cas == 0:
            return cell if cell is not None else False
        if cell is None or isinstance(cell[1], tuple):
            return cell  # an unknown index may differ from cas
        return cell if cell[1] != cas else False
    if cur == 0:
        return cell if cell is None and cas != 0 else False
    if cell is None or cur == cas:
        return False
    n = _fix(cell[1], cur)
    return False if n is None else (cell[0], n)


def _set(cells, i, cell):
    """CELLS with CELL at I; when CELL fixes an unknown index, every cell
    of that unknown write (a transaction's puts) takes the same index."""
    old = cells[i]
    if cell is not None and old is not None and isinstance(old[1], tuple) and \
            not isinstance(cell[1], tuple) and cell[0] == old[0]:
        return tuple((c[0], cell[1]) if c is not None and c[1] == old[1] else c
                     for c in cells)
    return cells[:i] + (cell,) + cells[i + 1:]


def step(state, op, pos):
    """The model's answer to OP in STATE (POS: key -> cell position): the
    list of possible next states (empty: OP cannot happen here)."""
    cells, last = state
    f, t, v = op["f"], op["type"], op["value"]
    if f == "kv_read":
        i = pos[op["key"]]
        cell = cells[i]
        if not v.get("found"):
            return [state] if cell is None else []
        if cell is None or cell[0] != v["val"]:
            return []
        n = _fix(cell[1], v["modify_index"])
        if n is None:
            return []
        if n == cell[1]:
            return [state]
        return [(_set(cells, i, (cell[0], n)), max(last, n))]
    if f in ("kv_put", "kv_delete"):
        i = pos[op["key"]]
        cas = v.get("cas")
        if t == "fail":  # cas_failed: the condition did not hold
            cell = _refused(cells[i], cas, v.get("cur"))
            if cell is False:
                return []
            return [(_set(cells, i, cell), last if cell == cells[i] or cell is None
                     else max(last, cell[1]))]
        cell = _cond(cells[i], cas)
        if cell is False:
            return [] if t == "ok" else [state]
        if cell is not None and not isinstance(cell[1], tuple):
            last = max(last, cell[1])
        if f == "kv_delete":
            if t == "info":
                return [(_set(cells, i, None), last)] if cell is not None else [state]
            if v.get("deleted"):
                return [(_set(cells, i, None), last)] if cell is not None else []
            return [state] if cell is None else []
        if t == "info":
            return [(_set(cells, i, (v["val"], ("?", last, op["p"], op["inv"]))), last)]
        n = v["modify_index"]
        if n <= last:
            return []
        return [(_set(cells, i, (v["val"], n)), n)]
    if f == "kv_txn":
        ck, cas = v["check"]
        i = pos[ck]
        if t == "fail":  # check_failed
            cell = _refused(cells[i], cas, v.get("cur"))
            if cell is False:
                return []
            return [(_set(cells, i, cell), last if cell == cells[i] or cell is None
                     else max(last, cell[1]))]
        cell = _cond(cells[i], cas)
        if cell is False:
            return [] if t == "ok" else [state]
        if cell is not None and not isinstance(cell[1], tuple):
            last = max(last, cell[1])
        n = v.get("modify_index") if t == "ok" else ("?", last, op["p"], op["inv"])
        if t == "ok" and n <= last:
            return []
        out = _set(cells, i, cell)
        for k, val in v["puts"]:
            out = _set(out, pos[k], (val, n))
        return [(out, last if t == "info" else n)]
    raise ValueError("unknown kind %r" % f)


def prepare(ops, part):
    """The ops of partition PART: every kv op on its keys that may have
    changed, or says something of, the state."""
    out = []
    for o in ops:
        if o["f"] not in kvw.KINDS:
            continue
        ks = kvw.op_keys(o)
        if not ks or kvw.partition_of(ks[0]) != part:
            continue
        if o["type"] == "fail" and o["value"].get("error") not in ("cas_failed",
                                                                     "check_failed"):
            continue
        if o["f"] == "kv_read" and o["type"] != "ok":
            continue
        out.append(o)
    return out


def check(ops, part, max_states=MAX_STATES):
    """{"valid": True|False|"unknown", ...} for the partition PART of OPS."""
    sub = prepare(ops, part)
    if not sub:
        return {"valid": True, "ops": 0}
    names = sorted({k for o in sub for k in kvw.op_keys(o)})
    pos = {k: i for i, k in enumerate(names)}
    return search(sub, lambda s, o: step(s, o, pos), ((None,) * len(names), 0), max_states,
                  names)


def search(part, stepf, init, max_states, names=()):
    """The Wing-Gong search of linear.check over the ops PART, with the
    model STEPF from the state INIT."""
    events = []
    for i, o in enumerate(part):
        events.append((o["inv"], 1, i, True))
        if o["type"] != "info" and o["cmp"] is not None:
            events.append((o["cmp"], 0, i, False))
    events.sort()
    nev = len(events)
    nxt = list(range(1, nev + 1))
    prv = list(range(-1, nev - 1))
    head = [0]
    call_pos, ret_pos = {}, {}
    for p, e in enumerate(events):
        (call_pos if e[3] else ret_pos)[e[2]] = p

    def unlink(p):
        a, b = prv[p], nxt[p]
        if a >= 0:
            nxt[a] = b
        else:
            head[0] = b
        if b < nev:
            prv[b] = a

    def relink(p):
        a, b = prv[p], nxt[p]
        if a >= 0:
            nxt[a] = p
        else:
            head[0] = p
        if b < nev:
            prv[b] = p

    def candidates():
        sure, maybe = [], []
        p = head[0]
        while p < nev and events[p][3]:
            i = events[p][2]
            (maybe if part[i]["type"] == "info" else sure).append(i)
            p = nxt[p]
        return sure + maybe

    def choices_of(state, i):
        cs = stepf(state, part[i])
        if part[i]["type"] == "info":
            cs = [c for c in cs if c != state]  # leaving it pending is never worse
        return cs

    returns_left = len(ret_pos)
    state = init
    linearized = 0
    seen = set()
    stack = []
    visited = 0
    deepest = None
    cands, ci, chs, chi = candidates(), 0, None, 0
    while True:
        if returns_left == 0:
            return {"valid": True, "ops": len(part), "states": visited}
        moved = False
        if ci == 0 and chs is None:
            for i in cands:  # the partial-order reduction of linear.check
                if part[i]["type"] != "info" and stepf(state, part[i]) == [state]:
                    cands = [i]
                    break
        while ci < len(cands):
            i = cands[ci]
            if chs is None:
                chs, chi = choices_of(state, i), 0
            while chi < len(chs):
                key_ = (linearized | (1 << i), chs[chi])
                chi += 1
                if key_ in seen:
                    continue
                seen.add(key_)
                visited += 1
                if visited > max_states:
                    return {"valid": "unknown", "ops": len(part), "states": visited}
                stack.append((i, state, cands, ci, chs, chi))
                state = key_[1]
                linearized = key_[0]
                unlink(call_pos[i])
                if i in ret_pos:
                    unlink(ret_pos[i])
                    returns_left -= 1
                moved = True
                break
            if moved:
                break
            ci, chs = ci + 1, None
        if moved:
            cands, ci, chs, chi = candidates(), 0, None, 0
            continue
        if deepest is None or returns_left < deepest[0]:
            deepest = (returns_left, _describe(part, events, head[0], nxt), state)
        if not stack:
            return {"valid": False, "ops": len(part), "states": visited,
                    "stuck_at": deepest[1], "model_state": _show(deepest[2], names)}
        i, state, cands, ci, chs, chi = stack.pop()
        if i in ret_pos:
            relink(ret_pos[i])
            returns_left += 1
        relink(call_pos[i])
        linearized &= ~(1 << i)


def _describe(part, events, p, nxt):
    while p < len(events) and events[p][3]:
        p = nxt[p]
    if p >= len(events):
        return None
    o = part[events[p][2]]
    return {k: o[k] for k in ("p", "f", "key", "inv", "cmp", "type", "value")}


def _show(state, names):
    cells, last = state
    return {"keys": {n: (None if c is None else [c[0], list(c[1]) if isinstance(c[1], tuple)
                                                  else c[1]])
                     for n, c in zip(names, cells)}, "last": last}


def check_all(ops, max_states=MAX_STATES):
    """{"valid", "parts": {partition: result}}: every rotation of the keys."""
    parts = sorted({kvw.partition_of(k) for o in ops if o["f"] in kvw.KINDS
                    for k in kvw.op_keys(o)})
    res = {p: check(ops, p, max_states) for p in parts}
    vs = [r["valid"] for r in res.values()]
    valid = False if False in vs else ("unknown" if "unknown" in vs else True)
    return {"valid": valid, "parts": res}


if __name__ == "__main__":
    import history
    print(check_all(history.load(sys.argv[1])))
