"""Runs the README's curl walkthrough against a fresh 3-node cluster, so it
cannot rot: every command runs in one bash session, and each '# →' line is
the previous command's output, literally, except that <n> stands for any
integer."""

import os
import re
import subprocess

from harness import Cluster, coordd_path, run

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")


def walkthrough():
    text = open(README).read()
    block = text.split("<!-- walkthrough:begin -->")[1].split("<!-- walkthrough:end -->")[0]
    lines = block.split("```sh", 1)[1].rsplit("```", 1)[0].splitlines()
    steps = []  # [command, [expected...]]
    for line in lines:
        if line.startswith("# →"):
            assert steps, "an expectation before any command"
            steps[-1][1].append(line[len("# →"):].strip())
        elif line.strip() and not line.startswith("#"):
            steps.append([line, []])
    return steps


def run_walkthrough(url):
    """Runs the walkthrough in one bash session against the node at URL
    (http://host:port: the block's C= line is pointed there) and checks
    every '# →' line. test_package.py runs it against the installed coordd."""
    steps = walkthrough()
    assert sum(len(e) for _, e in steps) >= 8, "the walkthrough lost its checks"
    script = []
    for i, (cmd, _) in enumerate(steps):
        if cmd.startswith("C="):
            cmd = "C=" + url
        script.append("echo '@@@ %d'" % i)
        script.append(cmd)
    p = subprocess.run(["bash", "-c", "\n".join(script)], capture_output=True, text=True,
                       timeout=60)
    outputs = {}
    for chunk in p.stdout.split("@@@ ")[1:]:
        num, _, out = chunk.partition("\n")
        outputs[int(num)] = out.strip()
    for i, (cmd, expected) in enumerate(steps):
        if not expected:
            continue
        got = outputs.get(i, "").splitlines()
        assert len(got) == len(expected), (cmd, got, expected, p.stderr)
        for g, e in zip(got, expected):
            pattern = "[0-9]+".join(re.escape(part) for part in e.split("<n>"))
            assert re.fullmatch(pattern, g), "%s\n  got:  %s\n  want: %s" % (cmd, g, e)


def test_readme_walkthrough():
    with Cluster(coordd_path(), 3) as c:
        c.leader()
        run_walkthrough("http://" + c.node(1).http)


if __name__ == "__main__":
    run([test_readme_walkthrough])
