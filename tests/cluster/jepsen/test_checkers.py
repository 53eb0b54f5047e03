"""Each checker on hand-made histories: a good one it accepts and a bad one
it must reject, so that no checker can pass by accident.
Run: python3 tests/cluster/jepsen/test_checkers.py"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import checkers  # noqa: E402
import leaders  # noqa: E402
import linear  # noqa: E402
from history import op  # noqa: E402

L = "jepsen/lock"


def session(p, sid, t, ttl=10.0):
    """Client P opens session SID at time T (answered 0.01 s later)."""
    return op(p, "create_session", t, t + 0.01, session=sid, ttl=ttl)


def grant(p, sid, inv, cmp, token, key=L):
    return op(p, "acquire", inv, cmp, key=key, session=sid, token=token)


def refused(p, sid, inv, cmp, error="lock_held", key=L):
    return op(p, "acquire", inv, cmp, key=key, session=sid, error=error)


def release(p, sid, inv, cmp, released=True, type_="ok", key=L):
    return op(p, "release", inv, cmp, type_, key=key, session=sid, released=released)


def read(p, inv, cmp, holders, consistency="linearizable", key=L):
    return op(p, "read", inv, cmp, key=key, holders=holders, consistency=consistency)


def keepalive(p, sid, inv, cmp, error=None):
    if error:
        return op(p, "keepalive", inv, cmp, session=sid, error=error)
    return op(p, "keepalive", inv, cmp, session=sid)


def handover():
    """A holds the lock, releases it, then B is granted it: a clean history."""
    return [session(1, "A", 0), session(2, "B", 0),
            grant(1, "A", 1, 1.1, 10), refused(2, "B", 1.2, 1.3),
            release(1, "A", 2, 2.1), grant(2, "B", 2.2, 2.3, 12),
            read(3, 2.4, 2.5, [["B", 12]])]


class MutualExclusion(unittest.TestCase):
    def test_a_release_before_the_next_grant_is_exclusive(self):
        self.assertTrue(checkers.mutual_exclusion(handover())["valid"])

    def test_two_overlapping_believed_grants_are_caught(self):
        h = [session(1, "A", 0), session(2, "B", 0),
             grant(1, "A", 1, 1.1, 10), grant(2, "B", 1.5, 1.6, 12)]
        r = checkers.mutual_exclusion(h)
        self.assertFalse(r["valid"])
        self.assertEqual(r["overlaps"][0]["b"][1], "B")

    def test_a_belief_ends_when_the_clients_own_lease_runs_out(self):
        # A's lease (TTL 2 s from 0) ends before B is granted at 3 s.
        h = [session(1, "A", 0, ttl=2.0), session(2, "B", 0),
             grant(1, "A", 1, 1.1, 10), grant(2, "B", 2.9, 3.0, 12)]
        self.assertTrue(checkers.mutual_exclusion(h)["valid"])
        # A keepalive sent at 1.5 and answered extends A's lease past 3 s.
        h.append(keepalive(1, "A", 1.5, 1.6))
        self.assertFalse(checkers.mutual_exclusion(h)["valid"])


    def test_a_keepalive_acknowledged_after_a_lapse_renews_the_belief(self):
        # A's lease lapses at ~2 s; a keepalive sent at 2.5 is acknowledged
        # (the session lived), so A believes again from 2.6: B's grant at 3
        # overlaps.
        h = [session(1, "A", 0, ttl=2.0), session(2, "B", 0),
             grant(1, "A", 1, 1.1, 10), keepalive(1, "A", 2.5, 2.6),
             grant(2, "B", 2.9, 3.0, 12)]
        r = checkers.mutual_exclusion(h)
        self.assertFalse(r["valid"])
        self.assertEqual(r["overlaps"][0]["a"][2], 2.6)


class TokenOrder(unittest.TestCase):
    def test_tokens_rising_in_grant_order_pass(self):
        self.assertTrue(checkers.token_order(handover())["valid"])

    def test_a_later_grant_with_a_lower_token_is_caught(self):
        h = handover() + [grant(1, "A", 3, 3.1, 11)]
        self.assertFalse(checkers.token_order(h)["valid"])

    def test_a_retry_answering_an_earlier_unknown_grant_is_not_a_violation(self):
        # A's acquire timed out; the grant (token 9) happened then, before B
        # was granted 10, and A's retry after that answers the same grant.
        h = [session(1, "A", 0), session(2, "B", 0),
             op(1, "acquire", 1, None, "info", key=L, session="A"),
             grant(2, "B", 2, 2.1, 10, key="other"), grant(1, "A", 3, 3.1, 9)]
        self.assertTrue(checkers.token_order(h)["valid"])
        # Without the timed-out request, token 9 after 10 is a violation.
        del h[2]
        self.assertFalse(checkers.token_order(h)["valid"])

    def test_one_token_for_two_grants_is_caught(self):
        h = [session(1, "A", 0), session(2, "B", 0),
             grant(1, "A", 1, 1.1, 10), grant(2, "B", 1.0, 1.2, 10, key="other")]
        self.assertFalse(checkers.token_order(h)["valid"])


def store_write(seq, token, read_, wrote, accepted):
    return op(9, "store_write", seq, seq, seq=seq, token=token, read=read_,
              wrote=wrote, accepted=accepted)


class FencedStore(unittest.TestCase):
    def test_a_chain_of_fenced_increments_passes(self):
        h = [store_write(1, 10, 0, 1, True), store_write(2, 9, 1, 2, False),
             store_write(3, 12, 1, 2, True)]
        r = checkers.fenced_store(h)
        self.assertTrue(r["valid"])
        self.assertEqual((r["accepted"], r["rejected"]), (2, 1))

    def test_a_lower_token_accepted_after_a_higher_is_caught(self):
        h = [store_write(1, 12, 0, 1, True), store_write(2, 10, 1, 2, True)]
        self.assertFalse(checkers.fenced_store(h)["valid"])

    def test_a_lost_update_is_caught(self):
        # Two holders both read 0: the second accepted write loses the first.
        h = [store_write(1, 10, 0, 1, True), store_write(2, 12, 0, 1, True)]
        self.assertFalse(checkers.fenced_store(h)["valid"])


def fenced(f, p, sid, t, token, lock_top, lease_end, accepted, seq=None, key=L, **value):
    """A store_read or store_write (F) by client P of session SID at T with
    TOKEN of KEY, after the store had let through LOCK_TOP of KEY, while the
    client tracked its lease until LEASE_END."""
    v = dict(token=token, accepted=accepted, lock_top=lock_top, lease_end=lease_end,
             top=lock_top, top_lock=key, **value)
    if seq is not None:
        v["seq"] = seq
    return op(p, f, t, t, key=key, session=sid, **v)


class FenceRefusals(unittest.TestCase):
    """Rule 3 of checkers.fenced_store: a refusal while the client's lease
    ran and nothing of its own could have let the lock go."""

    def overlap(self):
        """A broken server grants L to B (12) while A (10) holds it within
        its 2 s lease (until 0.9 * 2 = 1.8 from its creation at 0): B passes
        the store first, and A's write at 1.4 is refused."""
        return [session(1, "A", 0, ttl=2.0), session(2, "B", 0, ttl=2.0),
                grant(1, "A", 1, 1.1, 10),
                fenced("store_read", 1, "A", 1.15, 10, None, 1.8, True, read=0,
                       shadow_read=0),
                grant(2, "B", 1.2, 1.3, 12),
                fenced("store_read", 2, "B", 1.32, 12, 10, 1.8, True, read=0, shadow_read=0),
                fenced("store_write", 2, "B", 1.35, 12, 10, 1.8, True, seq=1, read=0, wrote=1,
                       shadow_read=0),
                fenced("store_write", 1, "A", 1.4, 10, 12, 1.8, False, seq=2, read=0, wrote=1,
                       shadow_read=0),
                release(2, "B", 1.5, 1.6), release(1, "A", 1.5, 1.6)]

    def test_a_clean_handover_with_excused_refusals_passes(self):
        # A holds and writes, releases; B is granted and writes. C's token
        # of an older name (rotation) is refused for B's token of L; D's
        # write comes after its lease ran out; both are excused.
        old = "jepsen/lock/old"
        h = [session(1, "A", 0, ttl=2.0), session(2, "B", 0, ttl=2.0),
             session(3, "C", 0, ttl=2.0),
             grant(1, "A", 1, 1.1, 10),
             fenced("store_read", 1, "A", 1.15, 10, None, 1.8, True, read=0, shadow_read=0),
             fenced("store_write", 1, "A", 1.2, 10, 10, 1.8, True, seq=1, read=0, wrote=1,
                    shadow_read=0),
             release(1, "A", 1.25, 1.3), grant(2, "B", 1.35, 1.4, 12),
             grant(3, "C", 0.5, 0.6, 8, key=old),
             fenced("store_read", 2, "B", 1.45, 12, 10, 1.8, True, read=1, shadow_read=1),
             fenced("store_read", 3, "C", 1.5, 8, None, 1.8, False, key=old, read=None,
                    shadow_read=1),
             fenced("store_write", 2, "B", 1.55, 12, 12, 1.8, True, seq=2, read=1, wrote=2,
                    shadow_read=1),
             fenced("store_write", 3, "C", 1.6, 8, None, 1.8, False, seq=3, key=old,
                    read=None, wrote=None, shadow_read=1)]
        r = checkers.fenced_store(h)
        self.assertTrue(r["valid"], r)
        self.assertEqual(r["fence_refusals"], 1)
        self.assertEqual(r["excused"]["other_lock"], 1)
        # The unfenced shadow took C's write after B's: one lost update.
        self.assertEqual(r["lost_updates_prevented"], 1)
        self.assertEqual((r["accepted"], r["rejected"]), (2, 1))

    def test_a_write_refused_within_the_lease_is_caught(self):
        r = checkers.fenced_store(self.overlap())
        self.assertFalse(r["valid"])
        v = r["violations"][0]
        self.assertEqual(v["refused_within_lease"]["session"], "A")
        self.assertEqual(v["beaten_by_token"], 12)
        self.assertEqual(r["refused_within_lease"], 1)
        self.assertEqual(r["lost_updates_prevented"], 1)

    def test_a_read_refused_within_the_lease_is_caught(self):
        h = self.overlap()
        h[3] = fenced("store_read", 1, "A", 1.34, 10, 12, 1.8, False, read=None, shadow_read=0)
        h[7] = fenced("store_write", 1, "A", 1.4, 10, 12, 1.8, False, seq=2, read=None,
                      wrote=None, shadow_read=0)
        r = checkers.fenced_store(h)
        self.assertFalse(r["valid"])
        self.assertEqual(r["violations"][0]["refused_within_lease"]["f"], "store_read")
        self.assertEqual(r["fence_refusals"], 1)  # the write is judged by its read

    def test_a_refusal_after_the_lease_ran_out_is_excused(self):
        # The client's own lease ended at 1.35, before the refusal at 1.4.
        h = self.overlap()
        h[7]["value"]["lease_end"] = 1.35
        r = checkers.fenced_store(h)
        self.assertTrue(r["valid"], r)
        self.assertEqual(r["excused"]["lease_out"], 1)
        # The client claims a lease to 1.8, but the history proves less:
        # a 1.4 s session created at 0 lasts to 1.4*(1-RHO)-SLACK < 1.4.
        h = self.overlap()
        h[0] = session(1, "A", 0, ttl=1.4)
        self.assertTrue(checkers.fenced_store(h)["valid"])
        # An acknowledged keepalive sent at 1.0 proves the lease again.
        h.insert(1, keepalive(1, "A", 1.0, 1.05))
        self.assertFalse(checkers.fenced_store(h)["valid"])

    def test_an_unanswered_release_of_the_client_is_excused(self):
        # An unanswered release of L by A (a paused node may apply it late,
        # after A's next grant) may have freed the lock for B.
        h = self.overlap()
        h.insert(2, release(1, "A", 0.5, None, type_="info"))
        r = checkers.fenced_store(h)
        self.assertTrue(r["valid"], r)
        self.assertEqual(r["excused"]["let_go"], 1)
        # A release answered before the grant was asked for cannot free it.
        h[2] = release(1, "A", 0.5, 0.6)
        self.assertFalse(checkers.fenced_store(h)["valid"])
        # Nor does a refused close (503: no effect); an unanswered one may.
        h[2] = op(1, "close_session", 0.5, 0.6, "fail", session="A")
        self.assertFalse(checkers.fenced_store(h)["valid"])
        h[2] = op(1, "close_session", 0.5, None, "info", session="A")
        self.assertTrue(checkers.fenced_store(h)["valid"])


class LeaseTiming(unittest.TestCase):
    def test_expiry_after_the_ttl_passes(self):
        h = [session(1, "A", 0, ttl=2.0), keepalive(1, "A", 1, 1.1),
             keepalive(1, "A", 3.5, 3.6, error="session_not_found")]
        self.assertTrue(checkers.lease_timing(h)["valid"])

    def test_expiry_before_the_ttl_after_an_acknowledged_keepalive_is_caught(self):
        h = [session(1, "A", 0, ttl=2.0), keepalive(1, "A", 1, 1.1),
             keepalive(1, "A", 2.5, 2.6, error="session_not_found")]
        r = checkers.lease_timing(h)
        self.assertFalse(r["valid"])
        self.assertAlmostEqual(r["early"][0]["lease_until"], 1 + 2 * (1 - checkers.RHO) - checkers.SLACK)

    def test_a_session_the_client_closed_is_not_an_early_expiry(self):
        h = [session(1, "A", 0, ttl=2.0), op(1, "close_session", 0.5, 0.6, session="A", released=[]),
             keepalive(1, "A", 0.7, 0.8, error="session_not_found")]
        self.assertTrue(checkers.lease_timing(h)["valid"])


class Durability(unittest.TestCase):
    def final(self, locks, sessions, at=5.0):
        return {"locks": locks, "sessions": sessions, "at": at}

    def test_every_acknowledged_grant_release_and_session_is_found(self):
        h = [session(1, "A", 0, ttl=60), grant(1, "A", 1, 1.1, 7, key="ledger/1"),
             grant(1, "A", 1.2, 1.3, 8, key="ledger/2"), release(1, "A", 1.4, 1.5, key="ledger/2")]
        f = self.final({"ledger/1": [["A", 7]], "ledger/2": []}, {"A": True})
        r = checkers.durability(h, f)
        self.assertTrue(r["valid"])
        self.assertEqual(r["checked"], 3)

    def test_a_lost_acquire_is_caught(self):
        h = [session(1, "A", 0, ttl=60), grant(1, "A", 1, 1.1, 7, key="ledger/1")]
        f = self.final({"ledger/1": []}, {"A": True})
        self.assertFalse(checkers.durability(h, f)["valid"])

    def test_a_lost_release_is_caught(self):
        h = [session(1, "A", 0, ttl=60), grant(1, "A", 1, 1.1, 7, key="ledger/1"),
             release(1, "A", 1.4, 1.5, key="ledger/1")]
        f = self.final({"ledger/1": [["A", 7]]}, {"A": True})
        self.assertFalse(checkers.durability(h, f)["valid"])

    def test_a_lost_session_is_caught(self):
        h = [session(1, "A", 0, ttl=60)]
        self.assertFalse(checkers.durability(h, self.final({}, {"A": False}))["valid"])


class Linearizability(unittest.TestCase):
    def test_a_clean_handover_is_linearizable(self):
        self.assertIs(linear.check(handover(), L)["valid"], True)

    def test_long_reads_do_not_multiply_the_search(self):
        # 30 hand-overs between A and B, each with a refused acquire, under 8
        # reads that span them all and see the lock free; then a read of a
        # token never granted, so the search must exhaust every order. A
        # read, which changes no state, is linearized as soon as it can be,
        # never tried at each later point too: 362 states here, where
        # trying every point took 93,188.
        h = [session(1, "A", 0, ttl=600), session(2, "B", 0, ttl=600)]
        for i in range(30):
            s, p, o = ("A", 1, "B") if i % 2 == 0 else ("B", 2, "A")
            h += [grant(p, s, 1 + i, 1.1 + i, 10 + i), refused(3 - p, o, 1.2 + i, 1.3 + i),
                  release(p, s, 1.4 + i, 1.5 + i)]
        h += [read(10 + r, 0.5, 32, []) for r in range(8)]
        h.append(read(20, 37, 37.1, [["A", 999]]))
        r = linear.check(h, L)
        self.assertIs(r["valid"], False)
        self.assertLess(r["states"], 5000)

    def test_a_read_showing_a_released_holder_is_caught(self):
        # The read starts after A's release was answered, yet shows A.
        h = [session(1, "A", 0), grant(1, "A", 1, 1.1, 10), release(1, "A", 2, 2.1),
             read(3, 2.2, 2.3, [["A", 10]])]
        self.assertIs(linear.check(h, L)["valid"], False)

    def test_a_grant_to_a_second_session_while_held_is_caught(self):
        # A's later release proves A still held the lock (its session had
        # not expired) when B was granted it.
        h = [session(1, "A", 0), session(2, "B", 0),
             grant(1, "A", 1, 1.1, 10), grant(2, "B", 2, 2.1, 12)]
        self.assertIs(linear.check(h, L)["valid"], True)  # A may have expired
        h.append(release(1, "A", 3, 3.1))
        self.assertIs(linear.check(h, L)["valid"], False)

    def test_expiry_at_an_unknown_time_explains_a_later_grant(self):
        # A never releases; its session expires at some unknown time, and the
        # expiry is what lets B in. Then A's keepalive must answer 404.
        h = [session(1, "A", 0, ttl=2), session(2, "B", 0),
             grant(1, "A", 1, 1.1, 10), grant(2, "B", 5, 5.1, 12),
             keepalive(1, "A", 6, 6.1, error="session_not_found")]
        self.assertIs(linear.check(h, L)["valid"], True)
        # ...but a keepalive acknowledged after B's grant contradicts it.
        h[-1] = keepalive(1, "A", 6, 6.1)
        self.assertIs(linear.check(h, L)["valid"], False)

    def test_a_timed_out_acquire_may_take_effect_late(self):
        # A's acquire timed out (info); a later read shows A holding it.
        h = [session(1, "A", 0), op(1, "acquire", 1, None, "info", key=L, session="A"),
             read(3, 4, 4.1, [["A", 10]]), read(3, 4.2, 4.3, [["A", 10]])]
        self.assertIs(linear.check(h, L)["valid"], True)
        # The unknown grant is then fixed: a read with another token is stale.
        h.append(read(3, 4.4, 4.5, [["A", 11]]))
        self.assertIs(linear.check(h, L)["valid"], False)

    def test_a_token_not_above_the_last_is_caught(self):
        h = [session(1, "A", 0), grant(1, "A", 1, 1.1, 10), release(1, "A", 2, 2.1),
             grant(1, "A", 3, 3.1, 9)]
        self.assertIs(linear.check(h, L)["valid"], False)

    def test_concurrent_operations_may_take_either_order(self):
        # The read overlaps both A's release and B's grant: both orders fit.
        h = [session(1, "A", 0), session(2, "B", 0), grant(1, "A", 1, 1.1, 10),
             release(1, "A", 2, 3), grant(2, "B", 2.5, 3.5, 12), read(3, 1.9, 3.6, [])]
        self.assertIs(linear.check(h, L)["valid"], True)

    def test_a_request_refused_as_stale_changed_nothing(self):
        # A numbered release answered 409 stale_request (API.md Retries)
        # while A holds the lock released nothing: A still holds it.
        h = [session(1, "A", 0), grant(1, "A", 1, 1.1, 10),
             op(1, "release", 2, 2.1, key=L, session="A", status=409, error="stale_request"),
             read(3, 3, 3.1, [["A", 10]])]
        self.assertIs(linear.check(h, L)["valid"], True)

    def test_the_queued_release_may_apply_late_without_seq(self):
        # Issue 24: A's release is unanswered (a paused node holds it), A
        # acquires again and is told it holds grant 10, then the late release
        # applies and B is granted. The contract allows it (an unanswered
        # request may apply at any later time), so the history is
        # linearizable; but A believes it holds the lock while B does, which
        # mutual exclusion reports: the client's mistake that seq prevents.
        h = [session(1, "A", 0), session(2, "B", 0), grant(1, "A", 1, 1.1, 10),
             release(1, "A", 2, None, type_="info"), grant(1, "A", 3, 3.1, 10),
             grant(2, "B", 3.5, 3.6, 12), read(3, 3.7, 3.8, [["B", 12]])]
        self.assertIs(linear.check(h, L)["valid"], True)
        self.assertFalse(checkers.mutual_exclusion(h)["valid"])
        self.assertTrue(checkers.token_order(h)["valid"])
        # With seq the late release is refused: B is refused, A holds on.
        h[-2:] = [refused(2, "B", 3.5, 3.6), read(3, 3.7, 3.8, [["A", 10]])]
        self.assertIs(linear.check(h, L)["valid"], True)
        self.assertTrue(checkers.mutual_exclusion(h)["valid"])

    def test_a_later_answer_fences_off_an_unanswered_numbered_release(self):
        # The queued release again, numbered (API.md Retries): A's release
        # (seq 2) is unanswered, A's acquire (seq 3) is answered grant 10.
        # From that answer on the release can no longer apply, so B's grant
        # while A still holds (a read after the answer shows A, and A's
        # keepalive after B's grant succeeds) is a violation; unnumbered it
        # was allowed.
        h = [session(1, "A", 0), session(2, "B", 0),
             op(1, "acquire", 1, 1.1, key=L, session="A", status=200, token=10, seq=1),
             op(1, "release", 2, None, "info", key=L, session="A", seq=2),
             op(1, "acquire", 3, 3.1, key=L, session="A", status=200, token=10, seq=3),
             read(3, 3.2, 3.3, [["A", 10]]),
             grant(2, "B", 3.5, 3.6, 12), keepalive(1, "A", 4, 4.1)]
        self.assertIs(linear.check(h, L)["valid"], False)
        unnumbered = [dict(o, value={k: v for k, v in o["value"].items() if k != "seq"})
                      for o in h]
        self.assertIs(linear.check(unnumbered, L)["valid"], True)

    def test_an_answer_on_another_lock_fences_too(self):
        # The session's next numbered request went to another lock (names
        # rotate): its answer fences the release off all the same.
        h = [session(1, "A", 0), session(2, "B", 0),
             op(1, "acquire", 1, 1.1, key=L, session="A", status=200, token=10, seq=1),
             op(1, "release", 2, None, "info", key=L, session="A", seq=2),
             op(1, "acquire", 3, 3.1, key=L + "2", session="A", status=200, token=11, seq=3),
             read(3, 3.2, 3.3, [["A", 10]]),
             grant(2, "B", 3.5, 3.6, 12), keepalive(1, "A", 4, 4.1)]
        self.assertIs(linear.check(h, L)["valid"], False)
        h[4] = op(1, "acquire", 3, 3.1, "fail", key=L + "2", session="A", status=503,
                  error="unavailable", seq=3)  # not an answer of the state machine: no fence
        self.assertIs(linear.check(h, L)["valid"], True)

    def test_a_fenced_request_applies_before_its_deadline_or_never(self):
        # A's acquire (seq 1) is unanswered; a read sees its grant before
        # A's release (seq 2) is answered: it applied in time.
        h = [session(1, "A", 0), session(2, "B", 0),
             op(1, "acquire", 1, None, "info", key=L, session="A", seq=1),
             read(3, 2, 2.1, [["A", 10]]),
             op(1, "release", 3, 3.1, key=L, session="A", status=200, released=True, seq=2),
             grant(2, "B", 4, 4.1, 12)]
        self.assertIs(linear.check(h, L)["valid"], True)
        # Or it never applied: the release finds nothing, and B gets the lock.
        h[3] = read(3, 2, 2.1, [])
        h[4] = op(1, "release", 3, 3.1, key=L, session="A", status=200, released=False, seq=2)
        self.assertIs(linear.check(h, L)["valid"], True)
        # But not after its deadline: a read after B's grant cannot show A.
        h.append(read(3, 5, 5.1, [["A", 13]]))
        self.assertIs(linear.check(h, L)["valid"], False)

    def test_unanswered_numbered_requests_do_not_multiply_the_search(self):
        # Twelve rounds of A and B taking turns: an acquire that times out,
        # the same acquire again (answered grant), a release; then a read of
        # a session that never existed, so the search must exhaust every
        # order. Each unanswered acquire is fenced off by the next answer of
        # its session: 224 states here; unnumbered (each may still apply at
        # any later time) the same history takes 125,693.
        h = [session(1, "A", 0, ttl=600), session(2, "B", 0, ttl=600)]
        seqs = {"A": 0, "B": 0}

        def numbered(sid, **value):
            seqs[sid] += 1
            return dict(value, seq=seqs[sid])

        for i in range(12):
            s, p, t = ("A", 1, 1.0 + i) if i % 2 == 0 else ("B", 2, 1.0 + i)
            h += [op(p, "acquire", t, None, "info", key=L, session=s, **numbered(s)),
                  op(p, "acquire", t + 0.2, t + 0.3, key=L, session=s,
                     **numbered(s, status=200, token=10 + i)),
                  op(p, "release", t + 0.4, t + 0.5, key=L, session=s,
                     **numbered(s, status=200, released=True))]
        h.append(read(3, 20, 20.1, [["C", 999]]))
        r = linear.check(h, L)
        self.assertIs(r["valid"], False)
        self.assertLess(r["states"], 1000)

    def test_a_search_over_its_budget_is_unknown_not_a_pass(self):
        h = handover()
        self.assertEqual(linear.check(h, L, max_states=2)["valid"], "unknown")
        r = checkers.linearizability(h, [L], max_states=2)
        self.assertEqual(r["valid"], "unknown")


M = "jepsen/mixed/0"
E = "jepsen/elect/0"


def shared(p, sid, inv, cmp, token=None, error=None, wait_ms=0):
    """A shared acquire of M: granted TOKEN, or refused with ERROR."""
    if error:
        return op(p, "acquire", inv, cmp, key=M, session=sid, mode="shared", wait_ms=wait_ms,
                  error=error)
    return op(p, "acquire", inv, cmp, key=M, session=sid, mode="shared", wait_ms=wait_ms,
              token=token)


def mread(p, inv, cmp, holders, mode):
    return op(p, "read", inv, cmp, key=M, holders=holders, mode=mode,
              consistency="linearizable")


def sharing():
    """A and B hold M in shared mode at once, then release; C is granted it
    exclusively after both releases."""
    return [session(1, "A", 0), session(2, "B", 0), session(3, "C", 0),
            shared(1, "A", 1, 1.1, 10), shared(2, "B", 1.2, 1.3, 11),
            mread(4, 1.4, 1.5, [["A", 10], ["B", 11]], "shared"),
            refused(3, "C", 1.6, 1.7, key=M),
            release(1, "A", 2, 2.1, key=M), release(2, "B", 2.2, 2.3, key=M),
            grant(3, "C", 2.4, 2.5, 12, key=M), mread(4, 2.6, 2.7, [["C", 12]], "exclusive")]


class SharedLocks(unittest.TestCase):
    def test_shared_holders_at_once_then_an_exclusive_one_pass(self):
        h = sharing()
        self.assertIs(linear.check(h, M)["valid"], True)
        self.assertTrue(checkers.mutual_exclusion(h)["valid"])
        self.assertTrue(checkers.token_order(h)["valid"])

    def test_an_exclusive_grant_while_a_shared_holder_holds_is_caught(self):
        # C is granted M exclusively before B's release was sent: B's later
        # release proves B still held it (its session had not expired).
        h = sharing()
        h[-2] = grant(3, "C", 2.15, 2.19, 12, key=M)
        self.assertIs(linear.check(h, M)["valid"], False)
        self.assertFalse(checkers.mutual_exclusion(h)["valid"])

    def test_a_shared_grant_while_an_exclusive_holder_holds_is_caught(self):
        h = [session(1, "A", 0), session(2, "B", 0), grant(1, "A", 1, 1.1, 10, key=M),
             shared(2, "B", 1.2, 1.3, 11), release(1, "A", 2, 2.1, key=M)]
        self.assertIs(linear.check(h, M)["valid"], False)
        self.assertFalse(checkers.mutual_exclusion(h)["valid"])
        h[-2] = shared(2, "B", 1.2, 1.3, error="lock_held")
        self.assertIs(linear.check(h, M)["valid"], True)

    def test_a_read_must_show_every_shared_holder_in_shared_mode(self):
        h = sharing()
        h[5] = mread(4, 1.4, 1.5, [["A", 10]], "shared")  # B missing
        self.assertIs(linear.check(h, M)["valid"], False)
        h[5] = mread(4, 1.4, 1.5, [["A", 10], ["B", 11]], "exclusive")
        self.assertIs(linear.check(h, M)["valid"], False)

    def test_a_shared_refusal_needs_an_exclusive_holder_or_a_queue(self):
        # Only A holds, in shared mode, and nobody waits: B must be granted.
        h = [session(1, "A", 0), session(2, "B", 0), session(3, "C", 0),
             shared(1, "A", 1, 1.1, 10), shared(2, "B", 1.2, 1.3, error="lock_held")]
        self.assertIs(linear.check(h, M)["valid"], False)
        # C's exclusive request waiting in the queue meanwhile keeps B out
        # (a shared request waits behind a queued exclusive one).
        h.append(op(3, "acquire", 1.15, 1.6, key=M, session="C", wait_ms=300, error="lock_held"))
        self.assertIs(linear.check(h, M)["valid"], True)

    def test_shared_waiters_granted_by_one_release_share_its_token(self):
        # X holds M exclusively; A and B wait in shared mode; X's release
        # (entry 20) grants both at index 20.
        h = [session(1, "A", 0), session(2, "B", 0), session(3, "X", 0),
             grant(3, "X", 0.5, 0.6, 10, key=M),
             shared(1, "A", 1, 2.2, 20, wait_ms=300), shared(2, "B", 1.1, 2.2, 20, wait_ms=300),
             release(3, "X", 2, 2.1, key=M), mread(4, 2.3, 2.4, [["A", 20], ["B", 20]], "shared")]
        self.assertIs(linear.check(h, M)["valid"], True)
        self.assertTrue(checkers.token_order(h)["valid"])
        # Two exclusive grants never share a token.
        h[4:6] = [grant(1, "A", 1, 2.2, 20, key=M), grant(2, "B", 1.1, 2.2, 20, key=M)]
        h[-1] = release(1, "A", 2.3, 2.4, key=M)
        self.assertIs(linear.check(h, M)["valid"], False)
        self.assertFalse(checkers.token_order(h)["valid"])

    def test_an_unknown_shared_grant_is_fixed_by_a_read(self):
        # A's shared acquire timed out; B is granted 12 after it; a read
        # shows A with 11: below 12, so A's grant came first. It fits.
        h = [session(1, "A", 0), session(2, "B", 0),
             op(1, "acquire", 1, None, "info", key=M, session="A", mode="shared"),
             shared(2, "B", 2, 2.1, 12), mread(4, 3, 3.1, [["A", 11], ["B", 12]], "shared")]
        self.assertIs(linear.check(h, M)["valid"], True)
        # An unknown exclusive grant asked for after token 10 was issued
        # cannot be shown with token 9.
        h = [session(1, "A", 0), session(2, "B", 0), grant(2, "B", 0.5, 0.6, 10, key=M),
             release(2, "B", 0.7, 0.8, key=M),
             op(1, "acquire", 1, None, "info", key=M, session="A"),
             mread(4, 3, 3.1, [["A", 9]], "exclusive")]
        self.assertIs(linear.check(h, M)["valid"], False)


def campaign(p, sid, inv, cmp, token, value):
    return op(p, "campaign", inv, cmp, key=E, session=sid, token=token, leader_value=value)


def proclaim(p, sid, inv, cmp, value, type_="ok", error=None):
    if error:
        return op(p, "proclaim", inv, cmp, type_, key=E, session=sid, leader_value=value,
                  error=error)
    return op(p, "proclaim", inv, cmp, type_, key=E, session=sid, leader_value=value)


def observe(p, inv, cmp, leader, value):
    v = {"holders": [leader] if leader else [], "consistency": "linearizable"}
    if leader:
        v["leader_value"] = value
    return op(p, "observe", inv, cmp, key=E, **v)


def proclaiming():
    """A leads with "a-c1", proclaims "a-v1" then "a-v2"; observers follow."""
    return [session(1, "A", 0), session(2, "B", 0), campaign(1, "A", 1, 1.1, 10, "a-c1"),
            observe(3, 1.2, 1.3, ["A", 10], "a-c1"), proclaim(1, "A", 2, 2.1, "a-v1"),
            observe(3, 2.2, 2.3, ["A", 10], "a-v1"), proclaim(1, "A", 3, 3.1, "a-v2"),
            observe(3, 3.2, 3.3, ["A", 10], "a-v2"),
            proclaim(2, "B", 3.4, 3.5, "b-v1", error="not_holder")]


class Proclaim(unittest.TestCase):
    def test_observers_following_the_proclaims_pass(self):
        self.assertIs(linear.check(proclaiming(), E)["valid"], True)

    def test_a_value_seen_before_it_was_proclaimed_is_caught(self):
        h = proclaiming()
        h[3] = observe(3, 1.2, 1.3, ["A", 10], "a-v1")  # before a-v1 was sent
        self.assertIs(linear.check(h, E)["valid"], False)

    def test_a_value_seen_after_a_later_proclaim_is_caught(self):
        h = proclaiming()
        h[-2] = observe(3, 3.2, 3.3, ["A", 10], "a-v1")  # a-v2 was answered at 3.1
        self.assertIs(linear.check(h, E)["valid"], False)
        # Overlapping the proclaim of a-v2, either value fits.
        h[-2] = observe(3, 2.95, 3.3, ["A", 10], "a-v1")
        self.assertIs(linear.check(h, E)["valid"], True)

    def test_an_unanswered_proclaim_may_apply_or_not_but_only_once(self):
        h = proclaiming()[:4] + [proclaim(1, "A", 2, None, "a-v1", type_="info"),
                                 observe(3, 2.2, 2.3, ["A", 10], "a-c1"),
                                 observe(3, 2.4, 2.5, ["A", 10], "a-v1")]
        self.assertIs(linear.check(h, E)["valid"], True)
        h.append(observe(3, 2.6, 2.7, ["A", 10], "a-c1"))  # back to the old value
        self.assertIs(linear.check(h, E)["valid"], False)

    def test_a_proclaim_by_a_non_leader_is_caught(self):
        h = proclaiming()
        h[-1] = proclaim(2, "B", 3.4, 3.5, "b-v1")  # answered ok although A leads
        self.assertIs(linear.check(h, E)["valid"], False)
        h = proclaiming()
        h[4] = proclaim(1, "A", 2, 2.1, "a-v1", error="not_holder")  # A leads
        self.assertIs(linear.check(h, E)["valid"], False)


class StaleReadsAndLiveness(unittest.TestCase):
    def test_a_stale_read_may_lag_but_shows_no_phantom_grant(self):
        h = handover() + [read(4, 3, 3.1, [["A", 10]], consistency="stale")]
        self.assertTrue(checkers.stale_reads(h)["valid"])
        h.append(read(4, 3, 3.1, [["A", 13]], consistency="stale"))
        self.assertFalse(checkers.stale_reads(h)["valid"])

    def test_a_leader_within_two_election_timeouts_and_a_write_pass(self):
        probe = {"heal": 10.0, "leader": 10.8, "write": 11.0, "caught_up": 11.2,
                 "abandoned": {"X": False}, "catchups": [{"at": 5.0, "node": 2, "after_s": 0.6}]}
        self.assertTrue(checkers.liveness(probe, election_s=0.5)["valid"])

    def test_a_cut_off_node_removed_from_the_cluster_meanwhile_is_not_timed(self):
        probe = {"heal": 10.0, "leader": 10.5, "write": 10.6, "caught_up": 10.7,
                 "abandoned": {}, "catchups": [{"at": 5.0, "node": 2, "after_s": None,
                                                "removed": True}]}
        self.assertTrue(checkers.liveness(probe, election_s=0.5)["valid"])

    def test_a_slow_leader_a_failed_write_or_a_surviving_session_fail(self):
        for probe in ({"heal": 10.0, "leader": 12.0, "write": 12.1, "caught_up": 12.2,
                       "abandoned": {}},
                      {"heal": 10.0, "leader": 10.5, "write": None, "abandoned": {}},
                      {"heal": 10.0, "leader": 10.5, "write": 10.6, "caught_up": 10.7,
                       "abandoned": {"X": True}},
                      # a node cut off until the heal that never catches up
                      {"heal": 10.0, "leader": 10.5, "write": 10.6, "caught_up": None,
                       "abandoned": {}},
                      {"heal": 10.0, "leader": 10.5, "write": 10.6, "caught_up": 16.0,
                       "abandoned": {}},
                      # a follower cut off for long that was slow to catch up
                      {"heal": 10.0, "leader": 10.5, "write": 10.6, "caught_up": 10.7,
                       "abandoned": {}, "catchups": [{"at": 5.0, "node": 2, "after_s": 5.2}]},
                      {"heal": 10.0, "leader": 10.5, "write": 10.6, "caught_up": 10.7,
                       "abandoned": {}, "catchups": [{"at": 5.0, "node": 2, "after_s": None}]}):
            self.assertFalse(checkers.liveness(probe, election_s=0.5)["valid"], probe)


def claim(term, leader, by, via="status:follower", t=1.0):
    return {"term": term, "leader": leader, "by": by, "via": via, "t": t}


class OneLeaderPerTerm(unittest.TestCase):
    def test_one_leader_a_term_named_by_its_followers_passes(self):
        cs = [claim(2, 1, 1, "status:leader"), claim(2, 1, 2), claim(2, 1, 3),
              claim(3, 2, 2, "log:leader", None), claim(3, 2, 1, "log:follower", None),
              claim(5, 3, 3, "status:leader")]
        r = checkers.one_leader_per_term(cs)
        self.assertIs(r["valid"], True)
        self.assertEqual((r["terms"], r["terms_led"]), (3, 3))

    def test_two_nodes_leading_one_term_are_caught(self):
        cs = [claim(4, 1, 1, "status:leader"), claim(4, 2, 2, "log:leader", None)]
        r = checkers.one_leader_per_term(cs)
        self.assertIs(r["valid"], False)
        self.assertEqual(sorted(r["conflicts"][0]["leaders"]), [1, 2])
        self.assertEqual(r["terms_with_two_leaders"], 1)

    def test_a_follower_naming_another_leader_of_the_term_is_caught(self):
        cs = [claim(6, 1, 1, "status:leader"), claim(6, 3, 2, "log:follower", None)]
        self.assertIs(checkers.one_leader_per_term(cs)["valid"], False)

    def test_no_node_seen_leading_proves_nothing(self):
        self.assertEqual(checkers.one_leader_per_term([])["valid"], "unknown")
        self.assertEqual(checkers.one_leader_per_term([claim(2, 1, 2)])["valid"], "unknown")

    def test_claims_are_read_from_coordds_log_and_status(self):
        text = ("2026-12-04T14:00:00.001Z INFO  term 1: pre-candidate, leader 0\n"
                "2026-12-04T14:00:00.200Z INFO  term 2: leader, leader 2\n"
                "2026-12-04T14:00:03.000Z INFO  term 3: follower, leader 1\n"
                "2026-12-04T14:00:03.100Z INFO  snapshot at 200\n")
        cs = leaders.log_claims(2, text)
        self.assertEqual([(c["term"], c["leader"], c["by"]) for c in cs], [(2, 2, 2), (3, 1, 2)])
        view = {"id": 3, "role": "leader", "term": 7, "leader": {"id": 3, "http": "x"}}
        self.assertEqual({(c["term"], c["leader"], c["by"]) for c in
                          leaders.status_claims(view, 1.0)}, {(7, 3, 3)})
        cs += leaders.status_claims(view, 1.0)
        cs += leaders.status_claims({"id": 1, "role": "leader", "term": 3, "leader": None}, 2.0)
        self.assertIs(checkers.one_leader_per_term(cs)["valid"], True)
        cs += leaders.status_claims({"id": 3, "role": "leader", "term": 2, "leader": None}, 2.0)
        self.assertIs(checkers.one_leader_per_term(cs)["valid"], False)


def answer(status, body):
    """A stand-in for harness.Reply: STATUS and the decoded JSON BODY."""
    class Reply:
        pass
    r = Reply()
    r.status, r.json = status, body
    return r


def abandoned(ka_type="ok"):
    """S20: A opens a 5 s session, takes its lock, keeps alive once (answered
    at 1.05), stops at 1.1; its heir H watches. With a 0.5 s election
    timeout the bound is 1.05 + 5 + 2 * 0.5 + 1 = 8.05."""
    k = "jepsen/abandoned/600/1"
    ka = op(1, "keepalive", 1.0, 1.05, ka_type, session="A")
    return [session(1, "A", 0, ttl=5.0), grant(1, "A", 0.1, 0.11, 20, key=k), ka,
            op(1, "abandon", 1.1, 1.1, session="A", key=k, ttl=5.0),
            session(1, "H", 1.2, ttl=5.0),
            op(1, "session_read", 3.0, 3.01, session="A", exists=True),
            op(1, "acquire", 3.02, 3.03, key=k, session="H", heir_of="A", error="lock_held")]


def watched_end(at):
    """The watcher sees A gone at AT and its heir granted A's lock."""
    k = "jepsen/abandoned/600/1"
    return [op(1, "session_read", at, at + 0.01, session="A", exists=False),
            op(1, "acquire", at + 0.02, at + 0.03, key=k, session="H", heir_of="A", token=30)]


class SessionBound(unittest.TestCase):
    def test_a_session_seen_gone_within_the_bound_passes(self):
        r = checkers.session_bound(abandoned() + watched_end(6.5), 0.5)
        self.assertIs(r["valid"], True, r)
        self.assertEqual(r["judged"], 1)
        self.assertEqual(r["bound_s"], [7.0])

    def test_a_session_read_alive_after_the_bound_is_caught(self):
        h = abandoned() + [op(1, "session_read", 8.1, 8.11, session="A", exists=True)] + \
            watched_end(9.0)
        r = checkers.session_bound(h, 0.5)
        self.assertIs(r["valid"], False)
        self.assertEqual(r["outlived"][0]["by"], "session_read")

    def test_the_heirs_try_lock_refused_after_the_bound_is_caught(self):
        h = abandoned() + [op(1, "acquire", 8.2, 8.21, key="jepsen/abandoned/600/1",
                              session="H", heir_of="A", error="lock_held")]
        r = checkers.session_bound(h, 0.5)
        self.assertIs(r["valid"], False)
        self.assertEqual(r["outlived"][0]["by"], "acquire")

    def test_a_session_seen_gone_before_its_ttl_fails_by_lease_timing(self):
        r = checkers.session_bound(abandoned() + [
            op(1, "session_read", 4.0, 4.01, session="A", exists=False)], 0.5)
        self.assertIs(r["valid"], False)
        self.assertEqual(r["unsafe"], ["lease-timing"])

    def test_its_lock_granted_to_the_heir_before_its_ttl_fails_by_mutual_exclusion(self):
        r = checkers.session_bound(abandoned() + [
            op(1, "acquire", 4.0, 4.01, key="jepsen/abandoned/600/1", session="H",
               heir_of="A", token=30)], 0.5)
        self.assertIs(r["valid"], False)
        self.assertEqual(r["unsafe"], ["mutual-exclusion"])

    def test_a_keepalive_of_unknown_outcome_leaves_the_session_unjudged(self):
        r = checkers.session_bound(abandoned("info") + watched_end(9.5), 0.5)
        self.assertEqual(r["valid"], "unknown")
        self.assertEqual(r["skipped"]["unknown_keepalive"], 1)

    def test_a_session_whose_bound_overlaps_another_fault_is_not_judged(self):
        # A kill or a pause between its last keepalive and its deadline may
        # leave no quorum to commit the expiry: not what the bound promises.
        h = abandoned() + [op(1, "session_read", 8.1, 8.11, session="A", exists=True)] + \
            watched_end(9.0)
        r = checkers.session_bound(h, 0.5, outages=[(6.0, 9.5)])
        self.assertEqual(r["valid"], "unknown")
        self.assertEqual(r["skipped"]["in_outage"], 1)
        # One that ends before the session's window leaves it judged.
        r = checkers.session_bound(h, 0.5, outages=[(0.0, 0.9)])
        self.assertIs(r["valid"], False)

    def test_no_session_judged_is_unknown_not_a_pass(self):
        self.assertEqual(checkers.session_bound(handover(), 0.5)["valid"], "unknown")
        self.assertEqual(checkers.session_bound(abandoned(), 0.5)["skipped"]["unobserved"], 1)


def delayed(b_granted_at, release_at=None):
    """S11: A (TTL 3 s, lock-delay 1 s) holds L from 0.1, keeps alive at 1.0
    (its expiry no sooner than 1.0 + 3 s, L free no sooner than 1 s
    later, less RHO and SLACK: 4.946); B is granted L at B_GRANTED_AT."""
    h = [op(1, "create_session", 0, 0.01, session="A", ttl=3.0, lock_delay_ms=1000),
         grant(1, "A", 0.1, 0.11, 10), keepalive(1, "A", 1.0, 1.01),
         session(2, "B", 0.5),
         refused(2, "B", 4.2, 4.21, error="lock_delay"),
         grant(2, "B", b_granted_at - 0.01, b_granted_at, 20)]
    if release_at is not None:
        h.append(release(1, "A", release_at, release_at + 0.01))
    return h


class LockDelay(unittest.TestCase):
    def test_a_grant_after_the_expiry_and_the_lock_delay_passes(self):
        r = checkers.lock_delay(delayed(5.2))
        self.assertIs(r["valid"], True, r)
        self.assertEqual(r["later_grants_judged"], 1)

    def test_a_grant_after_the_expiry_but_within_the_lock_delay_is_caught(self):
        h = delayed(4.5)
        self.assertIs(checkers.lease_timing(h)["valid"], True)  # no other checker sees it
        self.assertIs(checkers.mutual_exclusion(h)["valid"], True)
        r = checkers.lock_delay(h)
        self.assertIs(r["valid"], False)
        self.assertEqual(r["violations"][0]["granted"], "B")

    def test_a_release_sent_before_the_grant_frees_the_lock_at_once(self):
        r = checkers.lock_delay(delayed(2.2, release_at=2.0))
        self.assertEqual(r["valid"], "unknown")
        self.assertEqual(r["excused_by_a_release"], 1)
        # A release sent after B's grant was answered excuses nothing.
        self.assertIs(checkers.lock_delay(delayed(4.5, release_at=6.0))["valid"], False)

    def test_sessions_without_a_lock_delay_are_not_judged(self):
        self.assertEqual(checkers.lock_delay(handover())["valid"], "unknown")


class TwoStores(unittest.TestCase):
    def test_each_named_store_is_judged_as_its_own_register(self):
        a = [store_write(1, 10, 0, 1, True), store_write(2, 11, 1, 2, True)]
        b = [store_write(1, 30, 0, 1, True), store_write(2, 31, 1, 2, True)]
        for w in b:
            w["value"]["store"] = "paused"
        self.assertIs(checkers.fenced_store(a + b)["valid"], True)
        b[1]["value"]["read"] = 0  # a lost update in the second store
        self.assertIs(checkers.fenced_store(a + b)["valid"], False)


class ClassifyAnswers(unittest.TestCase):
    """history.classify as docs/API.md (What a 503 tells) says."""

    def test_a_write_answered_503_with_an_error_code_certainly_failed(self):
        import history
        for code in ("unavailable", "no_leader"):
            self.assertEqual(history.classify(answer(503, {"error": code}), write=True), "fail")
        self.assertEqual(history.classify(answer(503, {"error": "unavailable"}), write=True,
                                          unknown_503=True), "info")

    def test_a_write_answered_503_without_a_body_is_unknown(self):
        import history
        self.assertEqual(history.classify(answer(503, None), write=True), "info")
        self.assertEqual(history.classify(answer(503, None), write=False), "fail")
        self.assertEqual(history.classify(answer(504, {"error": "timeout"}), write=True), "info")
        self.assertEqual(history.classify(None, write=True), "info")


if __name__ == "__main__":
    unittest.main(verbosity=1)
