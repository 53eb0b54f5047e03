"""The membership nemesis's rules, without I/O: when changes are made (a
schedule drawn from the seed) and which change comes next given the
configuration as GET /v1/members last showed it. member_nemesis.py makes
the changes on a real cluster; test_schedule.py checks these rules.

A change is what an operator does (docs/API.md, Operating a cluster):
  add       start a new server with --join, add it as a learner, wait until
            it has caught up, promote it;
  remove    remove a voter (sometimes the leader), then stop its process;
  replace   add a caught-up learner and swap a voter for it in one change;
  transfer  move the leadership ({} or {"id": N}).

Rules (member_nemesis.py and the tests cite them):
  M1 The voters stay within [min_voters, max_voters] (3 and 5, or the
     cluster's own size when it starts outside them): an add, which ends in
     a promotion, is planned only below the maximum and a removal only above
     the minimum; a slot that drew one of them when it does not fit makes
     the other. Replace and transfer keep the count.
  M2 One change at a time: a change is planned only once the previous one
     has ended (begin() asserts it); the nemesis thread runs them one after
     another, the next no earlier than its slot.
  M3 An id is never reused: a new server gets an id above every id the
     cluster ever had, burnt as soon as the change begins (also when the
     add then fails).
  M4 A learner left by a change that did not finish (catch-up too slow, a
     refused promotion or replacement) is dealt with before anything else:
     a replace retried with it, else promoted when there is room, else
     removed. So no second learner is added while one lingers.
  M5 A change refused (or unfinished) is retried later: the next slot
     makes the same kind again, with targets drawn anew from the
     configuration as it is then, at most MAX_RETRIES times.
  M6 Nothing is planned while the configuration is joint (a change still
     under way, perhaps one whose answer was lost)."""

import random

KINDS = ("add", "remove", "replace", "transfer")
WEIGHTS = (3, 3, 3, 2)
MIN_VOTERS = 3
MAX_VOTERS = 5
MAX_RETRIES = 2
FIRST_AT_S = 3.0
GAP_S = (2.0, 4.5)  # quiet time between two slots
LAST_BEFORE_END_S = 8.0  # no slot this close to the end of the faults
LEADER_SHARE = 0.35  # how often a removal or replacement targets the leader


def schedule(seed, duration_s):
    """[{"at", "change", "pick"}]: slots for membership changes, drawn from
    SEED on a stream of its own (the fault schedule of the same seed is
    unchanged). A change starts at its slot or when the previous one ends,
    whichever is later (M2)."""
    rng = random.Random("members-%d" % seed)
    out = []
    t = FIRST_AT_S
    while t < duration_s - LAST_BEFORE_END_S:
        kind = rng.choices(KINDS, WEIGHTS)[0]
        out.append({"at": round(t, 2), "change": kind, "pick": rng.randrange(1 << 30)})
        t += rng.uniform(*GAP_S)
    return out


def format_schedule(sched):
    return "\n".join("  t=%6.2fs  %-9s (pick %d)" % (s["at"], s["change"], s["pick"])
                     for s in sched)


class Planner:
    """The configuration as last observed and the rules M1-M6 applied to it.

    VOTERS: the founding voters' ids. ID_LIMIT: the largest id a new server
    may have (network namespaces give each node one address of a /24)."""

    def __init__(self, voters, id_limit=None):
        self.voters = sorted(voters)
        self.learners = []
        self.leader = None
        self.joint = False
        self.seen = set(voters)
        self.min_voters = min(MIN_VOTERS, len(voters))
        self.max_voters = max(MAX_VOTERS, len(voters))
        self.id_limit = id_limit
        self.in_flight = None
        self.retry = None  # [kind, retries made so far]

    def observe(self, view):
        """Takes in a GET /v1/members answer."""
        ms = view["members"]
        self.voters = sorted(m["id"] for m in ms if m["role"] == "voter")
        self.learners = sorted(m["id"] for m in ms if m["role"] != "voter")
        self.seen |= set(self.voters) | set(self.learners)
        self.leader = view.get("leader")
        self.joint = bool(view.get("joint"))

    def new_id(self):
        """The id for a new server (M3), or None past ID_LIMIT."""
        nid = max(self.seen) + 1
        return None if self.id_limit is not None and nid > self.id_limit else nid

    def plan(self, kind, rng):
        """The change for a slot that drew KIND, as a dict with "kind" and
        its targets; None when none may be made now (M6)."""
        assert self.in_flight is None, "a change is in flight (M2)"
        if self.joint:
            return None
        if self.retry is not None:
            kind = self.retry[0]  # M5
        if self.learners:
            return self._settle_learner(kind, self.learners[0], rng)
        n = len(self.voters)
        if kind == "add" and n >= self.max_voters:
            kind = "remove"  # M1
        elif kind == "remove" and n <= self.min_voters:
            kind = "add"
        if kind in ("add", "replace"):
            nid = self.new_id()
            if nid is None:
                return self._transfer(rng)
            if kind == "add":
                return {"kind": "add", "id": nid, "new": True}
            old = self._victim(rng)
            return {"kind": "replace", "remove": old, "id": nid, "new": True,
                    "leader": old == self.leader}
        if kind == "remove":
            old = self._victim(rng)
            return {"kind": "remove", "id": old, "role": "voter", "leader": old == self.leader}
        return self._transfer(rng)

    def _settle_learner(self, kind, lid, rng):
        """M4: what to do with learner LID, left by an earlier change."""
        n = len(self.voters)
        if kind == "replace" and n >= self.min_voters:
            old = self._victim(rng)
            return {"kind": "replace", "remove": old, "id": lid, "new": False,
                    "leader": old == self.leader}
        if n < self.max_voters:
            return {"kind": "add", "id": lid, "new": False}
        return {"kind": "remove", "id": lid, "role": "learner", "leader": False}

    def _victim(self, rng):
        """A voter to take out: the leader sometimes, else another one."""
        if self.leader in self.voters and rng.random() < LEADER_SHARE:
            return self.leader
        others = [v for v in self.voters if v != self.leader] or self.voters
        return rng.choice(others)

    def _transfer(self, rng):
        others = [v for v in self.voters if v != self.leader]
        if not others or rng.random() < 0.5:
            return {"kind": "transfer", "to": None, "from": self.leader}
        return {"kind": "transfer", "to": rng.choice(others), "from": self.leader}

    def begin(self, change):
        assert self.in_flight is None, "a change is in flight (M2)"
        if change.get("new"):
            assert change["id"] not in self.seen, "id %d reused (M3)" % change["id"]
            self.seen.add(change["id"])
        self.in_flight = change

    def end(self, change, outcome):
        """OUTCOME: "done", "refused" or "unknown" (its answer was lost and
        no configuration read since showed it done)."""
        assert self.in_flight is change
        self.in_flight = None
        if outcome == "done":
            self.retry = None
        elif self.retry is not None and self.retry[0] == change["kind"]:
            self.retry[1] += 1
            if self.retry[1] >= MAX_RETRIES:
                self.retry = None
        else:
            self.retry = [change["kind"], 0]
