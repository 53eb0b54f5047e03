"""S12, clock jumps (runner.py --clock-jumps): every coordd runs under the
faultclock shim (tests/cluster/faultclock/faultclock.c, LD_PRELOAD), and a
thread of the runner jumps each node's view of wall-clock time for the
whole fault window, the way an NTP step or a bad RTC would: every
EVERY_S each node's clock jumps, mostly forward by STEP_S, and now and
then back to a time up to BACK_S behind the true one (a strobe). The monotonic clocks are
untouched. Nodes differ: each has its own offsets.

Nothing judges the clock itself. The checkers do, against true time (the
history's clock): lease-timing (no session ends before TTL after its
client sent its last acknowledged keepalive) and, with the paused client
(fault pause_client: sessions with a lock-delay that expire), lock-delay
(no other grant of a lock before its holder's earliest expiry plus the
lock-delay). A server that lets entries carry wall-clock stamps and
compares them (lock-delay end, WAKE) ends lock-delays early here whenever
the stamping leader's clock jumps forward between the expiry and a grant.

Needs FAULTCLOCK (the shim, libcoord_faultclock.so) in the environment;
not with the membership nemesis (nodes it adds would run without it)."""

import os
import random
import threading

EVERY_S = (0.2, 0.6)   # between two jumps of one node's clock
STEP_S = (2.0, 15.0)   # a forward jump
BACK_P = 0.2           # the chance that a jump goes back instead
BACK_S = 60.0          # at most this far behind true time after a jump back
AHEAD_MAX_S = 600.0    # forward jumps stop piling up here


def shim():
    path = os.environ.get("FAULTCLOCK")
    if not path or not os.path.isfile(path):
        raise SystemExit("--clock-jumps needs FAULTCLOCK: the faultclock shim "
                         "(libcoord_faultclock.so, built beside coordd)")
    return os.path.abspath(path)


class ClockNemesis:
    """Arms every node of CLUSTER (before they start) and, between start()
    and stop(), jumps their clocks; stop() sets every offset back to 0."""

    def __init__(self, cluster, seed, log):
        self.cluster, self.log = cluster, log
        self.rng = random.Random(seed ^ 0xc10c)
        self.offsets = {}  # node id -> offset in ms now
        self.jumps = {"forward": 0, "back": 0}
        self.extremes = [0, 0]
        self.stop_flag = threading.Event()
        self.thread = None
        lib = shim()
        for n in cluster.nodes:
            n.env.update({"LD_PRELOAD": lib, "FAULTCLOCK_CTL": self._ctl(n.id)})
            self._write(n.id, 0)

    def _ctl(self, nid):
        return os.path.join(self.cluster.dir, "n%d.faultclock" % nid)

    def _write(self, nid, off_ms):
        path = self._ctl(nid)
        with open(path + ".tmp", "w") as f:
            f.write("offset_ms=%d\n" % off_ms)
        os.replace(path + ".tmp", path)
        self.offsets[nid] = off_ms
        self.extremes = [min(self.extremes[0], off_ms), max(self.extremes[1], off_ms)]

    def _run(self):
        ids = sorted(self.offsets)
        while not self.stop_flag.wait(self.rng.uniform(*EVERY_S)):
            for nid in ids:
                off = self.offsets[nid]
                if self.rng.random() < BACK_P:
                    off = -int(self.rng.uniform(0, BACK_S) * 1000)
                    self.jumps["back"] += 1
                else:
                    off = min(off + int(self.rng.uniform(*STEP_S) * 1000),
                              int(AHEAD_MAX_S * 1000))
                    self.jumps["forward"] += 1
                self._write(nid, off)

    def start(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self):
        self.stop_flag.set()
        if self.thread is not None:
            self.thread.join()
        for nid in list(self.offsets):
            self._write(nid, 0)

    def summary(self):
        return ("clock jumps: %d forward, %d back; offsets from %.1f s to %.1f s of true "
                "time" % (self.jumps["forward"], self.jumps["back"],
                          self.extremes[0] / 1000.0, self.extremes[1] / 1000.0))
