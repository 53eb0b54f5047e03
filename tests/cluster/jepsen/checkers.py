"""Checkers over a recorded history (see history.py for the format). Each
returns {"valid": True|False|"unknown", ...details}; only True passes.

The bounds are conservative (docs/DESIGN.md, How it is tested): a client's
lease from an acknowledged keepalive or session creation invoked at t with
TTL runs until t + TTL*(1-RHO) - SLACK, and an operation's completion time
is an upper bound on its linearization point, so a flagged violation is a
definite one."""

import bisect

import linear

RHO = 1e-3      # permitted clock drift rate
SLACK = 0.05    # seconds of scheduling slack taken off every client lease

GRANT_KINDS = ("acquire", "campaign")
RELEASE_KINDS = ("release", "resign")


def _granted(o):
    return o["f"] in GRANT_KINDS and o["type"] == "ok" and "token" in o["value"]


def _ttls(ops):
    return {o["session"]: o["value"]["ttl"] for o in ops
            if o["f"] == "create_session" and o["type"] == "ok"}


def _lease_acks(ops):
    """session -> [(invoke, completion)] of acknowledged lease extensions."""
    acks = {}
    for o in ops:
        if o["type"] != "ok" or o["value"].get("error"):
            continue
        if o["f"] in ("create_session", "keepalive"):
            acks.setdefault(o["session"], []).append((o["inv"], o["cmp"]))
    for v in acks.values():
        v.sort(key=lambda a: a[1])
    return acks


def _lease_end(acks, ttl, start):
    """The end of the lease a client believes in from time START: walks the
    acknowledgements in completion order, extending while each one arrives
    before the lease it knows of has run out."""
    safe = ttl * (1 - RHO) - SLACK
    end = None
    for inv, cmp in acks:
        if cmp <= start:
            end = inv + safe if end is None else max(end, inv + safe)
        elif end is not None and cmp < end:
            end = max(end, inv + safe)
        elif end is None:
            break
    return end if end is not None else start


def _lease_segments(acks, ttl, start, stop):
    """The times in [START, STOP) at which a client believes its lease runs:
    at time t, while t < inv + TTL*(1-RHO) - SLACK for some acknowledgement
    it has received by t (an acknowledged keepalive proves the session
    lived, so it extends the lease even after a gap)."""
    safe = ttl * (1 - RHO) - SLACK
    segs = []
    seg_start, end = start, None
    for inv, cmp in acks:
        if cmp <= start:
            end = inv + safe if end is None else max(end, inv + safe)
            continue
        if cmp >= stop:
            break
        if end is not None and cmp < end:
            end = max(end, inv + safe)
            continue
        if end is not None and end > seg_start:
            segs.append((seg_start, end))
        seg_start, end = cmp, inv + safe
    if end is not None and min(end, stop) > seg_start:
        segs.append((seg_start, min(end, stop)))
    return [(a, min(b, stop)) for a, b in segs if min(b, stop) > a]


def beliefs(ops):
    """(key, session, start, end, token, mode) for every stretch of time in
    which a client believed it held a grant: from the grant's answer until
    its release or close was sent, while its own lease ran."""
    ttls, acks = _ttls(ops), _lease_acks(ops)
    ends = {}
    for o in ops:
        if o["f"] in RELEASE_KINDS and o["type"] != "fail":
            ends.setdefault((o["key"], o["session"]), []).append(o["inv"])
        if o["f"] == "close_session" and o["type"] != "fail":
            ends.setdefault((None, o["session"]), []).append(o["inv"])
    out = []
    for o in ops:
        if not _granted(o) or o["session"] not in ttls:
            continue
        stop = float("inf")
        for t in ends.get((o["key"], o["session"]), []) + ends.get((None, o["session"]), []):
            if t >= o["inv"]:
                stop = min(stop, t)
        for a, b in _lease_segments(acks.get(o["session"], []), ttls[o["session"]],
                                    o["cmp"], stop):
            out.append((o["key"], o["session"], a, b, o["value"]["token"],
                        o["value"].get("mode", "exclusive")))
    return out


def mutual_exclusion(ops):
    """No two sessions believed they held the same lock (or led the same
    election) at one instant, unless both held it in shared mode."""
    per = {}
    for b in beliefs(ops):
        per.setdefault(b[0], []).append(b)
    bad = []
    for key, bs in per.items():
        bs.sort(key=lambda b: b[2])
        for i, a in enumerate(bs):
            for b in bs[i + 1:]:
                if b[2] >= a[3]:
                    break
                if b[1] != a[1] and (a[5], b[5]) != ("shared", "shared"):
                    bad.append({"key": key, "a": a, "b": b})
    return {"valid": not bad, "beliefs": sum(len(v) for v in per.values()),
            "overlaps": bad[:5]}


def _grant_requests(ops):
    """Each distinct grant (key, session, token) once, with the earliest
    answer and, as "inv", the earliest request that may have produced it: an
    indeterminate acquire by the same session on the same key since its
    previous grant may have been granted then, and a later acquire only
    answers that same grant again (API.md: a retry is safe)."""
    grants = {}
    pending = {}
    for o in sorted(ops, key=lambda o: o["inv"]):
        if o["f"] not in GRANT_KINDS:
            continue
        ks = (o["key"], o["session"])
        if o["type"] == "info":
            pending.setdefault(ks, o["inv"])
            continue
        if not _granted(o):
            continue
        g = ks + (o["value"]["token"],)
        inv = min(o["inv"], pending.pop(ks, o["inv"]))
        if g in grants:
            old = grants[g]
            grants[g] = dict(old, inv=min(old["inv"], inv), cmp=min(old["cmp"], o["cmp"]))
        else:
            grants[g] = dict(o, inv=inv)
    return list(grants.values())


def token_order(ops):
    """Tokens rise in grant order: a grant answered before another was asked
    for has the smaller token; two different grants never share one, but
    for shared grants of one lock made by one entry (a release that lets
    several queued shared waiters through grants them all at its index,
    docs/API.md Locks)."""
    gs = _grant_requests(ops)
    bad = []
    owners = {}
    for g in gs:
        t = g["value"]["token"]
        if t in owners and (owners[t]["key"], owners[t]["session"]) != (g["key"], g["session"]) \
                and not (owners[t]["key"] == g["key"] and
                         owners[t]["value"].get("mode") == g["value"].get("mode") == "shared"):
            bad.append({"duplicate_token": t, "a": owners[t], "b": g})
        owners[t] = g
    by_cmp = sorted(gs, key=lambda g: g["cmp"])
    cmps = [g["cmp"] for g in by_cmp]
    prefix_max = []
    best = None
    for g in by_cmp:
        if best is None or g["value"]["token"] > best["value"]["token"]:
            best = g
        prefix_max.append(best)
    for g in gs:
        k = bisect.bisect_left(cmps, g["inv"])
        if k and prefix_max[k - 1]["value"]["token"] >= g["value"]["token"] \
                and prefix_max[k - 1] is not g:
            bad.append({"earlier": prefix_max[k - 1], "later": g})
    return {"valid": not bad, "grants": len(gs), "violations": bad[:5]}


def _known_lease(acks, ttl, t):
    """The latest lease end that the acknowledgements received by time T
    prove: one invoked at inv proves the session's deadline is at least
    inv + TTL (DESIGN.md rule 8, L-1), here taken in as inv +
    TTL*(1-RHO) - SLACK. None when none was received by T."""
    safe = ttl * (1 - RHO) - SLACK
    return max((inv + safe for inv, cmp in acks if cmp <= t), default=None)


def fenced_store(ops):
    """The fenced store (workload.FencedStore) under three rules, and what
    its unfenced shadow register shows.

    1. It never accepted a lower token after a higher one.
    2. No accepted write was lost: each accepted read-modify-write read the
       value the previous accepted write left.
    3. The fence never refused a client that still held its lock by a safe
       margin. The store's own code keeps 1 and 2; rule 3 is the one a
       server can fail. A read or write refused to session A's token TA of
       lock K at time t (taken inside the store's mutex, on the history's
       clock) fails the rule when all of these hold, and is counted as
       excused, by the first that does not, otherwise:
       - other_lock: the store had let through a higher token TB of the
         same lock K (a refusal for another lock's token, as across the
         workload's name rotation, says nothing of K);
       - lease_out: t is before A's lease end, the smaller of the one the
         client tracked at t (value "lease_end": send time of its last
         acknowledged keepalive or creation + 0.9 TTL) and the one the
         history proves by t (_known_lease: send time + TTL*(1-RHO) -
         SLACK, as mutual_exclusion takes it);
       - unknown_grant: the history has A's grant of TA on K;
       - let_go: A sent no release of K, nor a close of its session, that
         may take effect after that grant: none unanswered, none answered
         after the grant was first asked for (an unnumbered release held
         by a paused node may release a later grant: issue 24).
       Why a correct server never fails it, at any lock-delay: a token is
       the index of its granting entry, so TB > TA means K was granted to B
       after A's grant, and K is exclusive, so A lost K in between. A
       session loses a lock only by its release, its close or its expiry;
       the first two are ruled out above. EXPIRE is proposed by a leader
       only after its lease keeper saw the deadline pass; every keepalive a
       leader acknowledged had first moved that deadline to at least its
       arrival + TTL, which is after the client sent it; a new leader
       restarts every deadline at a full TTL before it acknowledges any
       keepalive (DESIGN.md rule 8, L-1, L-2). So the expiry E applied at
       least TTL after the send time s of every acknowledgement A had
       received, E >= s + TTL. B's grant applied after E (lock-delay only
       adds to that), B's answer came after it, B passed TB through the
       store after its answer, and A's refusal came after that in the
       store's mutex: E < t. And t < s + TTL*(1-RHO) - SLACK < E: a
       contradiction. RHO and SLACK (taken off the client's lease besides
       its own 10 %) cover clock rate differences and the time between the
       store's stamp and the client's, all on one machine's monotonic
       clock (the nodes' lease keepers use it too).

    The shadow takes every write attempt without the fence: each of its
    lost updates (an attempt whose read value another attempt had already
    replaced) is one the fence prevented. A run with a second store (its
    records name it: "store") has each judged on its own."""
    stores = {}
    for o in ops:
        if o["f"] == "store_write":
            stores.setdefault(o["value"].get("store"), []).append(o)
    bad = []
    accepted = rejected = 0
    prevented = 0
    for writes in stores.values():
        a, r, p, b = _store_register(sorted(writes, key=lambda o: o["value"]["seq"]))
        accepted, rejected, prevented, bad = accepted + a, rejected + r, prevented + p, bad + b
    refusals, excused, within = _refusals_within_lease(ops)
    bad += within
    return {"valid": not bad, "accepted": accepted, "rejected": rejected,
            "lost_updates_prevented": prevented, "fence_refusals": refusals,
            "excused": excused, "refused_within_lease": len(within), "violations": bad[:5]}


def _store_register(writes):
    """Rules 1 and 2 of fenced_store and the shadow's lost updates, over one
    store's WRITES in its order: (accepted, rejected, prevented, [bad])."""
    bad = []
    top = None
    value = 0
    accepted = rejected = 0
    shadow, prevented = 0, 0
    for w in writes:
        v = w["value"]
        if "shadow_read" in v:
            prevented += v["shadow_read"] != shadow
            shadow = v["shadow_read"] + 1
        if not v["accepted"]:
            rejected += 1
            continue
        accepted += 1
        if top is not None and v["token"] < top:
            bad.append({"lower_token_accepted": v, "after": top})
        top = v["token"] if top is None else max(top, v["token"])
        if v["read"] != value:
            bad.append({"lost_update": v, "store_held": value})
        value = v["wrote"]
    return accepted, rejected, prevented, bad


def _refusals_within_lease(ops):
    """Rule 3 of fenced_store: (fence refusals judged, {reason: excused},
    [violations])."""
    ttls, acks = _ttls(ops), _lease_acks(ops)
    asked = {(g["key"], g["session"], g["value"]["token"]): g["inv"]
             for g in _grant_requests(ops)}
    let_go = {}
    for o in ops:
        if o["f"] in RELEASE_KINDS + ("close_session",) and o["type"] != "fail":
            let_go.setdefault((o["key"] if o["f"] != "close_session" else None, o["session"]),
                              []).append(o)
    excused = {"other_lock": 0, "lease_out": 0, "unknown_grant": 0, "let_go": 0}
    bad = []
    n = 0
    for o in ops:
        v = o["value"]
        if o["f"] not in ("store_read", "store_write") or v["accepted"]:
            continue
        if o["f"] == "store_write" and v["read"] is None:
            continue  # the read was refused: judged there
        n += 1
        key, sid, t, tok = o["key"], o["session"], o["inv"], v["token"]
        if v.get("lock_top") is None or v["lock_top"] <= tok:
            excused["other_lock"] += 1
            continue
        lease = _known_lease(acks.get(sid, []), ttls[sid], t) if sid in ttls else None
        if lease is not None and v.get("lease_end") is not None:
            lease = min(lease, v["lease_end"])
        if lease is None or t >= lease:
            excused["lease_out"] += 1
            continue
        g = asked.get((key, sid, tok))
        if g is None:
            excused["unknown_grant"] += 1
            continue
        if any(x["inv"] < t and (x["cmp"] is None or x["cmp"] > g)
               for x in let_go.get((key, sid), []) + let_go.get((None, sid), [])):
            excused["let_go"] += 1
            continue
        bad.append({"refused_within_lease": o, "lease_until": lease,
                    "beaten_by_token": v["lock_top"]})
    return n, excused, bad


def lease_timing(ops):
    """No session was seen expired before TTL after the last acknowledged
    keepalive (or creation) was sent, unless its client closed it."""
    ttls = _ttls(ops)
    sends = {}
    closed = {}
    for o in ops:
        if o["type"] == "ok" and not o["value"].get("error") and \
                o["f"] in ("create_session", "keepalive"):
            sends.setdefault(o["session"], []).append(o["inv"])
        if o["f"] == "close_session" and o["type"] != "fail":
            closed[o["session"]] = min(closed.get(o["session"], o["inv"]), o["inv"])
    bad = []
    seen = 0
    for o in ops:
        if o["type"] != "ok" or o["session"] not in ttls:
            continue
        gone = o["value"].get("error") == "session_not_found" or \
            (o["f"] == "session_read" and o["value"].get("exists") is False)
        if not gone:
            continue
        seen += 1
        if o["session"] in closed and closed[o["session"]] < o["cmp"]:
            continue
        safe = ttls[o["session"]] * (1 - RHO) - SLACK
        lease = max((t + safe for t in sends.get(o["session"], []) if t < o["cmp"]), default=None)
        if lease is not None and o["cmp"] < lease:
            bad.append({"op": o, "lease_until": lease})
    return {"valid": not bad, "expiries_seen": seen, "early": bad[:5]}


def durability(ops, final):
    """Nothing acknowledged is lost. FINAL is the read-back after healing:
    {"locks": {key: [[session, token], ...]}, "sessions": {id: exists},
    "at": time}. An acknowledged acquire not released (nor its session
    closed) is still held with its token, an acknowledged release stays
    released, and every acknowledged session whose client lease still runs
    at the read-back exists."""
    ttls, acks = _ttls(ops), _lease_acks(ops)
    at = final["at"]
    lease_ok = {s: _lease_end(acks.get(s, []), ttls[s], at) > at for s in ttls}
    let_go = {}
    for o in ops:
        if o["f"] in RELEASE_KINDS + ("close_session",) and o["type"] != "fail":
            let_go.setdefault((o["key"] if o["f"] != "close_session" else None, o["session"]),
                              []).append(o)
    bad = []
    checked = 0
    for o in ops:
        if o["key"] not in final["locks"]:
            continue
        held = final["locks"][o["key"]]
        if _granted(o):
            if let_go.get((o["key"], o["session"])) or let_go.get((None, o["session"])):
                continue
            if not lease_ok.get(o["session"]):
                continue
            checked += 1
            if [o["session"], o["value"]["token"]] not in [list(h) for h in held]:
                bad.append({"lost_acquire": o, "final": held})
        elif o["f"] in RELEASE_KINDS and o["type"] == "ok" and o["value"].get("released"):
            checked += 1
            if any(h[0] == o["session"] for h in held):
                later = [g for g in ops if _granted(g) and g["key"] == o["key"] and
                         g["session"] == o["session"] and g["inv"] > o["inv"]]
                if not later:
                    bad.append({"lost_release": o, "final": held})
    for sid, exists in final["sessions"].items():
        if sid in ttls and lease_ok.get(sid) and not let_go.get((None, sid)):
            checked += 1
            if not exists:
                bad.append({"lost_session": sid})
    return {"valid": not bad, "checked": checked, "lost": bad[:5]}


def linearizability(ops, keys, max_states=linear.MAX_STATES):
    results = {k: linear.check(ops, k, max_states) for k in keys}
    valid = True
    for r in results.values():
        if r["valid"] is False:
            valid = False
        elif r["valid"] == "unknown" and valid is True:
            valid = "unknown"
    return {"valid": valid, "keys": results}


def liveness(probe, election_s, slack_s=0.5, write_s=5.0):
    """After the faults healed at probe["heal"]: one leader within two
    election timeouts (plus SLACK for restarted processes to bind), a write
    acknowledged within WRITE_S, every node caught up with the leader's
    commit index within WRITE_S of that write, every node cut off by a long
    fault caught up within WRITE_S of its heal (probe["catchups"]; one the
    membership nemesis removed meanwhile is not timed), and every
    session whose client stopped keepaliving gone by
    probe["abandoned_deadline"]."""
    bad = []
    if probe.get("leader") is None or probe["leader"] - probe["heal"] > 2 * election_s + slack_s:
        bad.append("no leader within %.2fs (got %r)" % (2 * election_s + slack_s,
                                                         None if probe.get("leader") is None
                                                         else probe["leader"] - probe["heal"]))
    if probe.get("write") is None or probe["write"] - probe["heal"] > write_s:
        bad.append("no write acknowledged within %.1fs of healing" % write_s)
    elif probe.get("caught_up") is None or probe["caught_up"] - probe["write"] > write_s:
        bad.append("a node had not applied the leader's commit index %.1fs after the write"
                   % write_s)
    slow = [x for x in probe.get("catchups", []) if not x.get("removed") and
            (x["after_s"] is None or x["after_s"] > write_s)]
    if slow:
        bad.append("a node cut off did not catch up within %.1fs of the heal: %r"
                   % (write_s, slow[:3]))
    left = [s for s, exists in probe.get("abandoned", {}).items() if exists]
    if left:
        bad.append("abandoned sessions still live: %r" % left[:3])
    since = {k: None if probe.get(k) is None else round(probe[k] - probe["heal"], 3)
             for k in ("leader", "all_agree", "write", "caught_up")}
    return {"valid": not bad, "problems": bad, "leader_after_s": since["leader"],
            "all_nodes_agree_after_s": since["all_agree"], "write_after_s": since["write"],
            "all_caught_up_after_s": since["caught_up"],
            "catch_ups_s": [x["after_s"] for x in probe.get("catchups", [])]}


def stale_reads(ops):
    """A stale read may lag, but it never shows a grant that no acquire could
    have produced (a token nobody was granted, or granted to someone else)."""
    possible = {(o["key"], o["session"], o["value"].get("token")) for o in ops
                if o["f"] in GRANT_KINDS and o["type"] == "ok"}
    maybe = {(o["key"], o["session"]) for o in ops
             if o["f"] in GRANT_KINDS and o["type"] == "info"}
    bad = []
    n = 0
    for o in ops:
        if o["f"] in ("read", "observe") and o["type"] == "ok" and \
                o["value"].get("consistency") == "stale":
            n += 1
            for sid, tok in o["value"]["holders"]:
                if (o["key"], sid, tok) not in possible and (o["key"], sid) not in maybe:
                    bad.append({"phantom": [sid, tok], "op": o})
    return {"valid": not bad, "reads": n, "phantoms": bad[:5]}


def one_leader_per_term(claims):
    """At most one leader per term (Raft's Election Safety), as the real
    nodes tell it (leaders.py): each claim {"term", "leader", "by", "via",
    "t"} says node BY saw LEADER lead TERM, itself when BY == LEADER (its
    status said role "leader", or its log "term T: leader"). Two different
    leaders of one term fail, whoever claimed them. With no node ever seen
    leading a term the run proves nothing: unknown, not a pass."""
    per = {}
    for c in claims:
        per.setdefault(c["term"], {}).setdefault(c["leader"], []).append(c)
    bad = [{"term": term, "leaders": {lid: cs[:3] for lid, cs in sorted(ls.items())}}
           for term, ls in sorted(per.items()) if len(ls) > 1]
    own = {(c["term"], c["leader"]) for c in claims if c["by"] == c["leader"]}
    valid = not bad if own else ("unknown" if not bad else False)
    return {"valid": valid, "terms": len(per), "terms_led": len(own),
            "claims": len(claims), "terms_with_two_leaders": len(bad), "conflicts": bad[:5]}


BOUND_ALLOWANCE_S = 1.0  # session_bound: the EXPIRE's commit and the watcher's poll


def session_bound(ops, election_s, allowance_s=BOUND_ALLOWANCE_S, safety=None, outages=()):
    """S20: however many elections come between, a session ends neither
    too soon nor too late (docs/API.md Sessions; DESIGN.md rule 8, L-3).

    Safety, never sooner than TTL after the send time of the client's last
    acknowledged keepalive, is what two checkers already judge, on every
    session of the run: lease-timing (no 404 of the session, on a keepalive,
    a lock operation or a session read, before then) and mutual-exclusion
    (no grant of its lock to another session before then: a grant answered
    while the holder's own lease ran). SAFETY is their verdicts
    [(name, verdict)], computed here when not given; either failing fails
    this checker too.

    The bound is judged on the sessions of clients that stopped keeping
    alive on purpose (workload.Abandoner: an "abandon" operation after the
    last keepalive was answered). Each must have ended by
      deadline = (completion of its last acknowledged keepalive, or of its
                  creation) + TTL + 2 * ELECTION_S + ALLOWANCE_S,
    the completion being when the leader had applied the ALIVE entry that
    vouched for it (L-3: a leader counts ttl + 2 * EVERY, EVERY half an
    election timeout, from that entry; ALLOWANCE_S covers the EXPIRE's
    commit and the watcher's poll period). Evidence that it had not: a
    linearizable GET /v1/sessions/{id} answered 200 ("session_read",
    exists) or the heir's try-lock refused lock_held ("acquire" with
    "heir_of": nobody else ever asks for that lock), either invoked at or
    after the deadline: the session lived at some instant after it. A
    session with a keepalive of unknown outcome (it may have applied at
    any later time) is not judged, nor one never seen gone or alive after
    its deadline (counted as unobserved). Nor is one whose time from its
    last keepalive to its deadline overlaps an OUTAGE, a (start, end) window
    of another fault (a kill, a pause, a partition: the cluster may have had
    no quorum to commit the expiry, which the bound does not promise;
    counted as in_outage). With no session judged the verdict is unknown."""
    if safety is None:
        safety = [("lease-timing", lease_timing(ops)), ("mutual-exclusion", mutual_exclusion(ops))]
    ttls = _ttls(ops)
    per = {}
    for o in ops:
        if o["session"] is not None:
            per.setdefault(o["session"], []).append(o)
    heir = {}
    for o in ops:
        if o["f"] == "acquire" and o["value"].get("heir_of") is not None:
            heir.setdefault(o["value"]["heir_of"], []).append(o)
    outlived, ended, skipped = [], [], {"unknown_keepalive": 0, "unobserved": 0,
                                        "in_outage": 0}
    for ab in (o for o in ops if o["f"] == "abandon"):
        sid = ab["session"]
        mine = per.get(sid, [])
        lease = [o for o in mine if o["f"] in ("create_session", "keepalive")]
        if sid not in ttls or any(o["type"] == "info" for o in lease):
            skipped["unknown_keepalive"] += 1
            continue
        last = max(o["cmp"] for o in lease if o["type"] == "ok" and not o["value"].get("error"))
        deadline = last + ttls[sid] + 2 * election_s + allowance_s
        if any(a < deadline and b > last for a, b in outages):
            skipped["in_outage"] += 1
            continue
        watched = [o for o in mine if o["f"] == "session_read"] + heir.get(sid, [])
        alive = [o for o in watched if o["type"] == "ok" and (
            o["value"].get("exists") is True or o["value"].get("error") == "lock_held")]
        gone = [o["cmp"] for o in watched if o["type"] == "ok" and (
            o["value"].get("exists") is False or _granted(o))] + \
            [o["cmp"] for o in mine if o["type"] == "ok" and
             o["value"].get("error") == "session_not_found"]
        late = [o for o in alive if o["inv"] >= deadline]
        if late:
            first = min(late, key=lambda o: o["inv"])
            outlived.append({"session": sid, "ttl": ttls[sid], "last_ack": round(last, 3),
                             "deadline": round(deadline, 3),
                             "alive_at": round(first["inv"], 3), "by": first["f"],
                             "seen_gone": round(min(gone), 3) if gone else None})
            continue
        if not gone:
            skipped["unobserved"] += 1
            continue
        # The end lies between the last sign of life and the first of death.
        after = max([o["inv"] for o in alive] + [last])
        ended.append((round(after - last, 3), round(min(gone) - last, 3),
                      round(deadline - last, 3)))
    unsafe = [name for name, v in safety if v["valid"] is not True]
    judged = len(outlived) + len(ended)
    valid = False if outlived or unsafe else (True if judged else "unknown")
    by = sorted(e[1] for e in ended)
    return {"valid": valid, "judged": judged, "outlived_bound": len(outlived),
            "skipped": skipped, "unsafe": unsafe,
            "bound_s": sorted({e[2] for e in ended} | {round(o["deadline"] - o["last_ack"], 3)
                                                       for o in outlived}),
            "ended_by_s": {"min": by[0], "median": by[len(by) // 2], "max": by[-1]}
            if by else None,
            "ended_within_s": sorted(ended)[:12], "outlived": outlived[:5]}


def lock_delay(ops):
    """No other grant of a lock comes before its holder's session could
    have expired plus the session's lock-delay (docs/API.md Locks: 423
    lock_delay). For each acknowledged grant G of a lock K to session A
    opened with lock_delay_ms D > 0, and each later grant H of K to
    another session (a higher token) answered before A sent any release
    of K or close of its session after asking for G (a release frees K at
    once, without lock-delay), A lost K only by expiring, and its expiry
    applied no sooner than E = (send time of A's last acknowledged
    keepalive or creation) + TTL*(1-RHO) - SLACK (rule 8; an expiry before
    E is lease-timing's to report). So every grant of K to another session
    must have applied at or after E + D*(1-RHO): one answered (its
    completion an upper bound on when it applied) before that is a
    violation. Two shared grants are not compared. Unknown when
    no such pair was judged."""
    ttls, delays, sends = _ttls(ops), {}, {}
    for o in ops:
        if o["f"] == "create_session" and o["type"] == "ok" and o["session"]:
            delays[o["session"]] = o["value"].get("lock_delay_ms", 0) / 1000.0
        if o["type"] == "ok" and not o["value"].get("error") and \
                o["f"] in ("create_session", "keepalive"):
            sends.setdefault(o["session"], []).append(o["inv"])
    let_go = {}
    for o in ops:
        if o["f"] in RELEASE_KINDS + ("close_session",) and o["type"] != "fail":
            let_go.setdefault((o["key"] if o["f"] != "close_session" else None, o["session"]),
                              []).append(o["inv"])
    grants = _grant_requests(ops)
    per = {}
    for g in grants:
        per.setdefault(g["key"], []).append(g)
    bad, judged, released, margins = [], 0, 0, []
    for g in grants:
        sid = g["session"]
        if delays.get(sid, 0) <= 0 or sid not in ttls:
            continue
        gone = [t for t in let_go.get((g["key"], sid), []) + let_go.get((None, sid), [])
                if t >= g["inv"]]
        expiry = max(sends.get(sid, [g["inv"]])) + ttls[sid] * (1 - RHO) - SLACK
        free_at = expiry + delays[sid] * (1 - RHO)
        mode = g["value"].get("mode", "exclusive")
        for h in per[g["key"]]:
            if h["session"] == sid or h["value"]["token"] <= g["value"]["token"] or \
                    (mode, h["value"].get("mode", "exclusive")) == ("shared", "shared"):
                continue
            if any(t < h["cmp"] for t in gone):
                released += 1  # a release or close sent before it may have freed K
                continue
            judged += 1
            margins.append(h["cmp"] - free_at)
            if h["cmp"] < free_at:
                bad.append({"key": g["key"], "holder": sid, "token": g["value"]["token"],
                            "expiry_not_before": round(expiry, 3),
                            "free_not_before": round(free_at, 3),
                            "granted": h["session"], "granted_token": h["value"]["token"],
                            "answered_at": round(h["cmp"], 3)})
    return {"valid": False if bad else (True if judged else "unknown"),
            "later_grants_judged": judged, "excused_by_a_release": released,
            "closest_s": round(min(margins), 3) if margins else None,
            "violations": bad[:5]}
