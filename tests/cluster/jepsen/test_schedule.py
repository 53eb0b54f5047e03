"""The fault schedule: reproducible from its seed, within the run, and with
pauses longer than both an election timeout and a session TTL. The
membership nemesis's rules (membership.py, M1-M6): voters between 3 and 5,
one change at a time, ids never reused, a learner left behind dealt with
first, refused changes retried, nothing planned over a joint
configuration.
Run: python3 tests/cluster/jepsen/test_schedule.py"""

import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import membership  # noqa: E402
import nemesis  # noqa: E402

ALL = nemesis.PROCESS_FAULTS + nemesis.NET_FAULTS


def make(seed, duration=120.0, faults=ALL, election_s=0.5, ttl_s=2.0):
    return nemesis.schedule(seed, duration, faults, 5, election_s, ttl_s)


class Schedule(unittest.TestCase):
    def test_the_same_seed_gives_the_same_schedule_and_another_seed_another(self):
        self.assertEqual(make(7), make(7))
        self.assertNotEqual(make(7), make(8))

    def test_faults_do_not_overlap_and_end_before_the_run_does(self):
        s = make(3, duration=60.0)
        self.assertTrue(s)
        for a, b in zip(s, s[1:]):
            self.assertGreater(b["at"], a["at"] + a["dur"])
        self.assertLess(s[-1]["at"] + s[-1]["dur"], 60.0)

    def test_pauses_outlast_an_election_timeout_and_a_session_ttl(self):
        mixed = make(5, duration=60.0, faults=("pause_isolated_leader",))
        self.assertEqual({f["fault"] for f in mixed}, {"pause_isolated_leader"})
        pauses = [f for f in make(5, duration=600.0) + mixed if f["fault"].startswith("pause")]
        self.assertTrue(pauses)
        for f in pauses:
            self.assertGreater(f["dur"], 2.0)
            self.assertGreater(f["dur"], 0.5)

    def test_long_cuts_outlast_tcp_retransmission_backoff(self):
        cuts = make(5, duration=60.0, faults=("isolate_long",))
        self.assertTrue(cuts)
        for f in cuts:
            self.assertGreaterEqual(f["dur"], nemesis.LONG_CUT_S)

    def test_every_fault_of_the_menu_is_drawn_in_a_long_run(self):
        drawn = {f["fault"] for f in make(11, duration=600.0)}
        self.assertEqual(drawn, set(ALL))

    def test_only_the_faults_asked_for_are_drawn(self):
        drawn = {f["fault"] for f in make(2, faults=("kill", "halves"))}
        self.assertEqual(drawn, {"kill", "halves"})


def view(voters, learners=(), leader=None, joint=False):
    """A GET /v1/members answer."""
    ms = [{"id": i, "role": "voter"} for i in voters] + \
        [{"id": i, "role": "learner"} for i in learners]
    return {"members": sorted(ms, key=lambda m: m["id"]), "leader": leader, "joint": joint}


class ModelCluster:
    """A configuration that takes the planner's changes with outcomes drawn
    from RNG, as a cluster under faults would answer them: done, refused
    (an add or replace may leave its learner behind), or unknown (taken
    effect or not)."""

    def __init__(self, size, rng):
        self.rng = rng
        self.voters = list(range(1, size + 1))
        self.learners = []
        self.leader = 1
        self.ever = set(self.voters)

    def view(self):
        return view(self.voters, self.learners, self.leader)

    def apply(self, ch):
        k = ch["kind"]
        if k in ("add", "replace"):
            if ch["id"] not in self.learners:
                self.learners.append(ch["id"])
                self.ever.add(ch["id"])
            self.learners.remove(ch["id"])
            self.voters.append(ch["id"])
        if k in ("remove", "replace"):
            old = ch["remove"] if k == "replace" else ch["id"]
            for roster in (self.voters, self.learners):
                if old in roster:
                    roster.remove(old)
        if k == "transfer":
            self.leader = ch["to"] or self.rng.choice(self.voters)
        if self.leader not in self.voters:
            self.leader = self.rng.choice(self.voters)

    def take(self, ch):
        x = self.rng.random()
        if x < 0.6 or (x < 0.8 and self.rng.random() < 0.5):
            self.apply(ch)
            return "done" if x < 0.6 else "unknown"
        if ch["kind"] in ("add", "replace") and ch["id"] not in self.learners \
                and self.rng.random() < 0.5:
            self.learners.append(ch["id"])  # added, then not caught up in time
            self.ever.add(ch["id"])
        return "refused" if x >= 0.8 else "unknown"


def simulate(seed, size=3, slots=400):
    """Runs SLOTS changes of a membership schedule on a ModelCluster; yields
    (planner, model, change, outcome) after each."""
    rng = random.Random(seed)
    model = ModelCluster(size, rng)
    planner = membership.Planner(model.voters)
    sched = membership.schedule(seed, 10.0 * slots)
    for s in sched[:slots]:
        planner.observe(model.view())
        ch = planner.plan(s["change"], random.Random(s["pick"]))
        if ch is None:
            continue
        if ch.get("new"):
            assert ch["id"] not in model.ever, "id %d reused" % ch["id"]
        planner.begin(ch)
        outcome = model.take(ch)
        planner.end(ch, outcome)
        yield planner, model, ch, outcome


class MemberSchedule(unittest.TestCase):
    def test_the_same_seed_gives_the_same_slots_and_leaves_the_faults_alone(self):
        self.assertEqual(membership.schedule(7, 120.0), membership.schedule(7, 120.0))
        self.assertNotEqual(membership.schedule(7, 120.0), membership.schedule(8, 120.0))
        self.assertEqual(make(7), nemesis.schedule(7, 120.0, ALL, 5, 0.5, 2.0))

    def test_slots_are_spaced_and_end_before_the_faults_do(self):
        s = membership.schedule(3, 60.0)
        self.assertTrue(s)
        self.assertGreaterEqual(s[0]["at"], membership.FIRST_AT_S)
        for a, b in zip(s, s[1:]):
            self.assertGreaterEqual(b["at"] - a["at"], membership.GAP_S[0] - 0.01)
        self.assertLess(s[-1]["at"], 60.0 - membership.LAST_BEFORE_END_S)

    def test_a_members_only_run_has_no_other_faults(self):
        self.assertEqual(nemesis.schedule(1, 60.0, [], 3, 0.5, 2.0), [])


class MemberRules(unittest.TestCase):
    def test_m1_voters_stay_between_three_and_five_whatever_the_outcomes(self):
        for seed in range(20):
            for size in (3, 5):
                for planner, model, ch, _ in simulate(seed, size):
                    self.assertGreaterEqual(len(model.voters), 3, ch)
                    self.assertLessEqual(len(model.voters), 5, ch)

    def test_m1_an_add_at_five_voters_becomes_a_removal_and_a_removal_at_three_an_add(self):
        p = membership.Planner([1, 2, 3, 4, 5])
        p.observe(view([1, 2, 3, 4, 5], leader=1))
        ch = p.plan("add", random.Random(1))
        self.assertEqual(ch["kind"], "remove")
        p = membership.Planner([1, 2, 3])
        p.observe(view([1, 2, 3], leader=1))
        ch = p.plan("remove", random.Random(1))
        self.assertEqual((ch["kind"], ch["id"]), ("add", 4))

    def test_m2_one_change_at_a_time(self):
        p = membership.Planner([1, 2, 3])
        p.observe(view([1, 2, 3], leader=2))
        ch = p.plan("add", random.Random(1))
        p.begin(ch)
        with self.assertRaises(AssertionError):
            p.plan("transfer", random.Random(2))
        with self.assertRaises(AssertionError):
            p.begin({"kind": "transfer", "to": None})
        p.end(ch, "done")
        self.assertIsNotNone(p.plan("transfer", random.Random(2)))

    def test_m3_ids_are_never_reused_even_after_a_failed_add_or_a_removal(self):
        p = membership.Planner([1, 2, 3])
        p.observe(view([1, 2, 3], leader=1))
        ch = p.plan("add", random.Random(1))
        p.begin(ch)
        p.end(ch, "refused")  # id 4 never joined
        p.observe(view([1, 2, 3], leader=1))
        self.assertEqual(p.plan("add", random.Random(1))["id"], 5)
        p.observe(view([2, 3, 9], leader=2))  # 1 removed, 9 added meanwhile
        self.assertEqual(p.new_id(), 10)
        for seed in range(10):
            new = [ch["id"] for _, _, ch, _ in simulate(seed) if ch.get("new")]
            self.assertEqual(len(new), len(set(new)))
            self.assertTrue(all(i > 3 for i in new))

    def test_m3_past_the_id_limit_only_the_leadership_moves(self):
        p = membership.Planner([1, 2, 3], id_limit=3)
        p.observe(view([1, 2, 3], leader=1))
        self.assertEqual(p.plan("add", random.Random(1))["kind"], "transfer")
        self.assertEqual(p.plan("replace", random.Random(1))["kind"], "transfer")

    def test_m4_a_learner_left_behind_is_promoted_or_removed_first(self):
        p = membership.Planner([1, 2, 3])
        p.observe(view([1, 2, 3], [4], leader=1))
        self.assertEqual(p.plan("transfer", random.Random(1)),
                         {"kind": "add", "id": 4, "new": False})
        p.observe(view([1, 2, 3, 5, 6], [7], leader=1))
        ch = p.plan("add", random.Random(1))
        self.assertEqual((ch["kind"], ch["id"], ch["role"]), ("remove", 7, "learner"))
        ch = p.plan("replace", random.Random(1))
        self.assertEqual((ch["kind"], ch["id"], ch["new"]), ("replace", 7, False))
        for seed in range(10):
            for planner, model, ch, _ in simulate(seed):
                self.assertLessEqual(len(model.learners), 1)

    def test_m5_a_refused_change_is_retried_at_most_twice(self):
        p = membership.Planner([1, 2, 3, 4])
        kinds = []
        for i in range(5):
            p.observe(view([1, 2, 3, 4], leader=1))
            ch = p.plan("remove" if i == 0 else "transfer", random.Random(i))
            kinds.append(ch["kind"])
            p.begin(ch)
            p.end(ch, "refused")
        self.assertEqual(kinds[:4], ["remove"] * 3 + ["transfer"])

    def test_m6_nothing_is_planned_over_a_joint_configuration(self):
        p = membership.Planner([1, 2, 3])
        p.observe(view([1, 2, 3], leader=1, joint=True))
        self.assertIsNone(p.plan("add", random.Random(1)))

    def test_every_kind_is_made_and_removals_sometimes_take_the_leader(self):
        kinds, leader_taken = set(), False
        for planner, model, ch, outcome in simulate(4):
            kinds.add(ch["kind"])
            leader_taken |= ch.get("leader", False) and ch.get("role") != "learner"
        self.assertEqual(kinds, set(membership.KINDS))
        self.assertTrue(leader_taken)


if __name__ == "__main__":
    unittest.main(verbosity=1)
