"""The fault schedule: reproducible from its seed, within the run, and with
pauses longer than both an election timeout and a session TTL.
Run: python3 tests/cluster/jepsen/test_schedule.py"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

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


if __name__ == "__main__":
    unittest.main(verbosity=1)
