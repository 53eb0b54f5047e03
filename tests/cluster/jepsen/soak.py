"""The soak profile (issue 23): SEEDS runs of MINUTES minutes of faults
each, one after another, the seeds spread over six configurations so that
every fault kind and scenario is in it:

  members     5 nodes, every process and network fault, membership changes,
              the key/value workload (runner.py --soak)
  members-3   the same with 3 nodes
  snapshots   3 nodes, as members-3 and a follower cut off for 15 s and a
              leader paused while cut off, snapshots every 200 entries
              (made, sent and installed under faults)
  secure      3 nodes, TLS on both ports and access control, kills, pauses,
              partitions and the rogue node (no membership changes: the
              rogue is judged on an unchanged leader)
  time        3 nodes, leader churn, the paused client, kills and pauses,
              every node's wall clock jumped (--clock-jumps)
  retries     3 nodes, the queued release of a paused follower, clients
              that keep their sessions and time out after 1 s, kills,
              pauses, partitions and a leader paused while cut off

Each run's checker verdicts are printed as it ends, and a table of every
run at the end; a failed run keeps its cluster folder (runner.py) and its
whole output in OUT/seed-N.log; every run's history is kept in
OUT/seed-N.history, to judge again with linear.py. Exits 1 if any run failed.

  COORDD=build/coord/coordd FAULTCLOCK=build/tests/cluster/libcoord_faultclock.so \\
      python3 tests/cluster/jepsen/soak.py [--seeds 20] [--minutes 5] [--first-seed 1] [--out DIR]

As root (partitions use network namespaces). 20 seeds of 5 minutes take
about 115 minutes."""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "runner.py")

PROCESS_NET = "kill,kill_leader,crash_all,pause,pause_leader,halves,isolate_leader,bridge,one_way"

# name -> (runner arguments but the seed and the window, whether the
# window is --soak MINUTES (with membership changes) or --duration)
CONFIGS = [
    ("members", ["--nodes", "5", "--faults", "all"], True),
    ("members-3", ["--nodes", "3", "--faults", "all"], True),
    ("snapshots", ["--nodes", "3", "--faults", "all,isolate_long,pause_isolated_leader",
                   "--snapshot-entries", "200"], True),
    ("secure", ["--nodes", "3", "--tls", "--auth", "--wait-ms", "0", "--faults",
                "kill,kill_leader,pause_leader,halves,isolate_leader,bridge,rogue"], False),
    ("time", ["--nodes", "3", "--wait-ms", "0", "--clock-jumps", "--faults",
              "churn,pause_client,kill,kill_leader,pause,pause_leader"], False),
    ("retries", ["--nodes", "3", "--reuse-sessions", "--client-timeout", "1", "--wait-ms", "0",
                 "--faults", "queued_release,kill_leader,pause,halves,isolate_leader,"
                 "pause_isolated_leader"], False),
]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--out", default=None, help="each run's output (default: a new folder)")
    a = ap.parse_args(argv)
    out = a.out or tempfile.mkdtemp(prefix="coord-soak-")
    os.makedirs(out, exist_ok=True)
    print("soak: %d seeds of %.1f minutes from seed %d; outputs in %s" % (
        a.seeds, a.minutes, a.first_seed, out), flush=True)
    rows, failed = [], 0
    for i in range(a.seeds):
        seed = a.first_seed + i
        name, args, soak = CONFIGS[i % len(CONFIGS)]
        window = ["--soak", str(a.minutes)] if soak else ["--duration", str(a.minutes * 60)]
        log = os.path.join(out, "seed-%d.log" % seed)
        cmd = [sys.executable, RUNNER, "--seed", str(seed), "--history",
               os.path.join(out, "seed-%d.history" % seed)] + args + window
        t0 = time.time()
        with open(log, "w") as fh:
            fh.write(" ".join(cmd) + "\n")
            fh.flush()
            rc = subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT)
        with open(log) as fh:
            text = fh.read()
        verdicts = re.findall(r"^checker (\S+)\s+(PASS|FAIL|UNKNOWN)", text, re.M)
        bad = [c for c, v in verdicts if v == "FAIL"]
        ok = rc == 0
        failed += not ok
        rows.append((seed, name, rc, len(verdicts), bad, time.time() - t0))
        print("seed %d (%s): %s in %.0fs; %d checkers, %s" % (
            seed, name, "PASS" if ok else "FAIL (exit %d)" % rc, time.time() - t0,
            len(verdicts), ("failed: " + ",".join(bad)) if bad else "none failed"), flush=True)
        for line in re.findall(r"^checker .*$", text, re.M):
            print("    " + line[:200], flush=True)
    print("\nseed  config      verdict  checkers  failed")
    for seed, name, rc, n, bad, took in rows:
        print("%4d  %-10s  %-7s  %8d  %s" % (seed, name, "PASS" if rc == 0 else "FAIL", n,
                                            ",".join(bad) or "-"))
    print("soak: %d of %d runs passed" % (len(rows) - failed, len(rows)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
