"""Linearizability of one lock's (or election's) history against a
sequential model of sessions and one lock held in exclusive or shared mode
(an election is an exclusive lock whose holder has a value), by a Wing-Gong
search with Lowe's memoisation (the Knossos / Porcupine algorithm, as
specified in docs/DESIGN.md, How it is tested), and one partial-order
reduction: an op that leaves the state as it is gets linearized at the first
point it can.

The model state is (holders, last_token, live, dead):
  holders     frozenset of (session, mode, token, value): nobody, one
              exclusive holder, or any number of shared ones (docs/API.md,
              Locks). A token is the grant's fencing token, or ("?", lo, hi)
              when the grant was indeterminate: above lo (the last token
              issued before it) and below hi (the first token known to be
              issued after it, None before any); a read of the holder fixes
              it. The value is an election leader's, set by its campaign and
              by every proclaim (None for locks).
  last_token  the highest token known to be issued for this lock: every
              grant has a larger one (the token is the granting entry's
              index), but for shared waiters that one entry lets through
              together (a release, docs/API.md Locks): those share its index,
              so a shared grant may repeat the last token while a shared
              holder of that token still holds (an unknown shared token,
              likewise, may equal its bounds)
  live, dead  frozensets of session ids

Indeterminate ("info") operations have no return event: the search may
place them anywhere after their invocation, or never. Session expiry is a
synthetic info operation per session, invoked when the session is created:
it happens at an unknown time, or never (DESIGN.md rule 8). Operations that
cannot change the state (info reads and keepalives, failed operations) are
left out before the search.

The lock's FIFO queue is not modelled: a waiting acquire linearizes at its
grant. A shared request is refused (lock_held) or kept waiting while an
exclusive request is queued, even if only shared holders hold; prepare()
marks a shared acquire answered lock_held "queue_possible" when an acquire
of another session that waits (wait_ms > 0) may have been queued at the
time, and the model then accepts the refusal whenever anyone holds the lock
(without a queue it needs an exclusive holder).

A request answered 409 stale_request (a numbered request whose seq was not
above its session's last applied one, docs/API.md Retries) changed nothing,
whatever the state: the model answers it with the state as it is. An
unanswered numbered request is fenced off by the first answer the state
machine gave to a later numbered request of its session (API.md: once a
numbered request is answered, no lower number of the session can apply):
prepare() gives it that answer's time as a deadline ("fence"). It still has
no return of its own: it applies before its deadline or never, so when its
deadline is the earliest pending return the search may also drop it. The
deadline is the answer's return, not the later request's linearization
point: a superset of what seq allows, so no history is refused for it. An
unanswered request with no later answer may apply at any later time."""

import sys

LOCK_KINDS = ("acquire", "release", "read", "campaign", "resign", "observe", "proclaim")
SESSION_KINDS = ("create_session", "keepalive", "close_session", "session_read")

# A search that visits more states than this gives up: "unknown", which the
# runner counts as not passing (section 4: a checker time-out is no pass).
# The busiest lock key of a 30-minute soak (1,577 ops) takes 116,792 states
# (4 s); without the reduction in check() it took 2.7 million (93 s).
MAX_STATES = 2000000


def _held(holders, sid):
    """SID's (session, mode, token, value) in HOLDERS, or None."""
    for h in holders:
        if h[0] == sid:
            return h
    return None


def _fits(tok, got, mode):
    """Whether a holder's token TOK (known, or ("?", lo, hi)) can be GOT."""
    if isinstance(tok, tuple):
        if mode == "shared":
            return got >= tok[1] and (tok[2] is None or got <= tok[2])
        return got > tok[1] and (tok[2] is None or got < tok[2])
    return tok == got


def _without(state, sid):
    holders, last, live, dead = state
    h = _held(holders, sid)
    return (holders - {h}) if h is not None else holders


def _release_if(state, sid):
    holders, last, live, dead = state
    return _without(state, sid), last, live - {sid}, dead | {sid}


def _grant(state, sid, mode, tok, value):
    """STATE with SID granted MODE with token TOK (None: unknown)."""
    holders, last, live, dead = state
    if tok is None:
        return holders | {(sid, mode, ("?", last, None), value)}, last, live, dead
    # A known token bounds from above every unknown one issued before it.
    hs = frozenset((s, m, ("?", t[1], tok) if isinstance(t, tuple) and t[2] is None else t, v)
                   for s, m, t, v in holders)
    return hs | {(sid, mode, tok, value)}, tok, live, dead


def _grantable(holders, mode):
    if mode == "exclusive":
        return not holders
    return all(m == "shared" for _, m, _, _ in holders)


def step(state, op):
    """The model's answer to OP in STATE: the list of possible next states
    (empty: OP cannot happen here). An info op offers its effect; leaving it
    out is the search's other choice."""
    holders, last, live, dead = state
    f, sid, v, t = op["f"], op["session"], op["value"], op["type"]
    err = v.get("error")
    if t == "ok" and err == "stale_request":
        return [state]  # refused by its seq: applied nothing
    if f == "create_session":
        if sid in live or sid in dead:
            return []
        return [(holders, last, live | {sid}, dead)]
    if f == "expire":
        return [_release_if(state, sid)] if sid in live else [state]
    if f in ("keepalive", "session_read"):
        alive = v.get("exists", err is None)
        return [state] if alive == (sid in live) else []
    if f == "close_session":
        nxt = _release_if(state, sid)
        if t == "ok" and "released" in v:
            if (_held(holders, sid) is not None) != (op["key"] in v["released"]):
                return []
        return [nxt]
    mine = _held(holders, sid)
    if f in ("acquire", "campaign"):
        mode = v.get("mode", "exclusive") if f == "acquire" else "exclusive"
        value = v.get("leader_value") if f == "campaign" else None
        if t == "info":
            if sid not in live or mine is not None or not _grantable(holders, mode):
                return [state]
            return [_grant(state, sid, mode, None, value)]
        if err == "session_not_found":
            return [state] if sid not in live else []
        if err == "lock_held":
            if sid not in live:
                return []
            if mine is not None:  # held in the other mode: refused
                return [state] if mine[1] != mode else []
            if mode == "exclusive" or v.get("queue_possible"):
                return [state] if holders else []
            return [state] if not _grantable(holders, mode) else []
        if err is not None:  # lock_delay, too_many: no change of state
            return [state]
        tok = v["token"]
        if sid not in live:
            return []
        if mine is not None:  # the same grant answered again (a retry is safe)
            if mine[1] != mode or not _fits(mine[2], tok, mode):
                return []
            if mine[2] == tok:
                return [state]
            return [((holders - {mine}) | {(sid, mode, tok, mine[3])}, max(last, tok), live, dead)]
        if _grantable(holders, mode) and (tok > last or (
                mode == "shared" and tok == last and any(h[2] == tok for h in holders))):
            return [_grant(state, sid, mode, tok, value)]
        return []
    if f in ("release", "resign"):
        if t == "info":
            return [(_without(state, sid), last, live, dead)] if mine is not None else [state]
        if v.get("released"):
            return [(_without(state, sid), last, live, dead)] if mine is not None else []
        return [state] if mine is None else []
    if f == "proclaim":
        if t == "info":
            if mine is None:
                return [state]
            return [((holders - {mine}) | {mine[:3] + (v.get("leader_value"),)}, last, live, dead)]
        if err == "session_not_found":
            return [state] if sid not in live else []
        if err == "not_holder":
            return [state] if sid in live and mine is None else []
        if err is not None:
            return [state]
        if mine is None:
            return []
        return [((holders - {mine}) | {mine[:3] + (v.get("leader_value"),)}, last, live, dead)]
    if f in ("read", "observe"):
        got = {s: tok for s, tok in v["holders"]}
        if len(got) != len(v["holders"]) or set(got) != {h[0] for h in holders}:
            return []
        if holders and "mode" in v and any(h[1] != v["mode"] for h in holders):
            return []
        if holders and "leader_value" in v and any(h[3] != v["leader_value"] for h in holders):
            return []
        if all(not isinstance(h[2], tuple) and h[2] == got[h[0]] for h in holders):
            return [state]
        if not all(_fits(h[2], got[h[0]], h[1]) for h in holders):
            return []
        hs = frozenset((s, m, got[s], val) for s, m, _, val in holders)
        return [(hs, max([last] + list(got.values())), live, dead)]
    raise ValueError("unknown kind %r" % f)


# Answers that come from the state machine applying a numbered request
# (API.md Retries): each moves or shows the session's last applied number.
FENCING_STATUSES = (200, 409, 423, 429)


def _fences(ops):
    """{id(op): deadline} for every unanswered numbered request of OPS that
    an answer to a later numbered request of its session fences off."""
    by_session = {}
    for o in ops:
        if o["session"] and "seq" in o["value"] and o["f"] in LOCK_KINDS + SESSION_KINDS:
            by_session.setdefault(o["session"], []).append(o)
    out = {}
    for mine in by_session.values():
        mine.sort(key=lambda o: o["inv"])
        deadline = None
        for o in reversed(mine):  # the earliest answer among the later requests
            if o["type"] == "info" and deadline is not None:
                out[id(o)] = deadline
            if o["type"] == "ok" and o["value"].get("status") in FENCING_STATUSES:
                deadline = o["cmp"] if deadline is None else min(deadline, o["cmp"])
    return out


def prepare(ops, key):
    """The ops of KEY's partition: the lock's ops, the ops of every session
    that touched it, and one synthetic expiry per such session; an
    unanswered numbered request carries its deadline as "fence"."""
    mine = [o for o in ops if o["key"] == key and o["f"] in LOCK_KINDS
            and o["type"] != "fail"
            and not (o["f"] in ("read", "observe") and
                     (o["type"] == "info" or o["value"].get("consistency") == "stale"))]
    sids = {o["session"] for o in mine if o["session"]}
    waits = [o for o in mine if o["f"] == "acquire" and o["value"].get("wait_ms", 0) > 0]
    for n, o in enumerate(mine):
        v = o["value"]
        if o["f"] == "acquire" and v.get("mode") == "shared" and v.get("error") == "lock_held":
            # A wait of another session may have been queued meanwhile.
            q = any(w["session"] != o["session"] and w["inv"] < o["cmp"] and
                    (w["cmp"] is None or w["cmp"] > o["inv"]) for w in waits)
            mine[n] = dict(o, value=dict(v, queue_possible=q))
    fences = _fences(ops)
    out = [dict(o, fence=fences[id(o)]) if id(o) in fences else o for o in mine]
    for o in ops:
        if o["session"] in sids and o["f"] in SESSION_KINDS and o["type"] != "fail":
            if o["f"] in ("keepalive", "session_read") and o["type"] == "info":
                continue
            if o["f"] == "close_session":
                o = dict(o, key=key, **({"fence": fences[id(o)]} if id(o) in fences else {}))
            out.append(o)
            if o["f"] == "create_session" and o["type"] == "ok":
                out.append({"p": "expire", "f": "expire", "key": key, "session": o["session"],
                            "inv": o["inv"], "cmp": None, "type": "info", "value": {}})
    return out


def check(ops, key, max_states=MAX_STATES):
    """{"valid": True|False|"unknown", ...} for KEY's partition of OPS."""
    part = prepare(ops, key)
    if not part:
        return {"valid": True, "ops": 0}
    # Events in time order; at one instant returns sort before calls, so
    # that touching intervals do not count as concurrent.
    events = []
    for i, o in enumerate(part):
        events.append((o["inv"], 1, i, True))
        end = o["cmp"] if o["cmp"] is not None else o.get("fence")
        if end is not None:
            events.append((end, 0, i, False))
    events.sort()
    nev = len(events)
    nxt = list(range(1, nev + 1))
    prv = list(range(-1, nev - 1))
    head = [0]
    call_pos, ret_pos = {}, {}
    for pos, e in enumerate(events):
        (call_pos if e[3] else ret_pos)[e[2]] = pos

    def unlink(pos):
        p, q = prv[pos], nxt[pos]
        if p >= 0:
            nxt[p] = q
        else:
            head[0] = q
        if q < nev:
            prv[q] = p

    def relink(pos):
        p, q = prv[pos], nxt[pos]
        if p >= 0:
            nxt[p] = pos
        else:
            head[0] = pos
        if q < nev:
            prv[q] = pos

    def candidates():
        """Ops that may linearize next: those called before the earliest
        pending return. Definite ops first, indeterminate ones last (they
        are seldom needed and the order only steers the search)."""
        sure, maybe = [], []
        pos = head[0]
        while pos < nev and events[pos][3]:
            i = events[pos][2]
            (maybe if part[i]["type"] == "info" else sure).append(i)
            pos = nxt[pos]
        return sure + maybe

    def due():
        """The fenced indeterminate op whose deadline is the earliest
        pending return, or None."""
        pos = head[0]
        while pos < nev and events[pos][3]:
            pos = nxt[pos]
        if pos < nev and part[events[pos][2]]["type"] == "info":
            return events[pos][2]
        return None

    def choices_of(state, i):
        cs = step(state, part[i])
        if part[i]["type"] == "info":
            # An indeterminate op has no return to wait for, so leaving it
            # pending is never worse than placing it as a no-op: only its
            # effects are worth trying (k pending timed-out ops would
            # otherwise cost 2^k equal states). A fenced one is dropped
            # (never applied) once its deadline is the next return.
            cs = [c for c in cs if c != state]
            if i == due():
                cs.append(state)
        return cs

    returns_left = len(ret_pos)
    state = (frozenset(), 0, frozenset(), frozenset())
    linearized = 0
    seen = set()
    stack = []  # frames: (op, state before, candidates, cand index, choices, choice index)
    visited = 0
    deepest = None  # (returns left, op stuck at, state) where the search got furthest
    cands, ci, chs, chi = candidates(), 0, None, 0
    while True:
        if returns_left == 0:
            return {"valid": True, "ops": len(part), "states": visited}
        moved = False
        if ci == 0 and chs is None:
            # Partial-order reduction: an op that the state answers without
            # changing (a read, a refused acquire) and that may linearize now
            # is linearized now, with no alternative tried at this point.
            # Any linearization that places it later stays valid with it
            # moved here: it changes no state, and every op still pending
            # returns after its call. Long reads that overlap many writes
            # otherwise multiply the states by the places they could go.
            for i in cands:
                if part[i]["type"] != "info" and step(state, part[i]) == [state]:
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
                    "stuck_at": deepest[1], "model_state": _show(deepest[2])}
        i, state, cands, ci, chs, chi = stack.pop()
        if i in ret_pos:
            relink(ret_pos[i])
            returns_left += 1
        relink(call_pos[i])
        linearized &= ~(1 << i)


def _describe(part, events, pos, nxt):
    """The first pending return at list position POS: the op the search
    could not linearize in time."""
    while pos < len(events) and events[pos][3]:
        pos = nxt[pos]
    if pos >= len(events):
        return None
    o = part[events[pos][2]]
    return {k: o[k] for k in ("p", "f", "key", "session", "inv", "cmp", "type", "value")}


def _show(state):
    holders, last, live, dead = state
    return {"holders": sorted([list(h) for h in holders], key=repr), "last_token": last,
            "live": sorted(live)}


if __name__ == "__main__":
    import history
    h = history.load(sys.argv[1])
    print(check(h, sys.argv[2]))
