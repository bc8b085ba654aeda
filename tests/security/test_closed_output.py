#!/usr/bin/env python3
"""A closed output pipe does not kill kinesisd (issue 13, item 9: SIGPIPE).

  test_closed_output.py KINESISD

stderr (or stdout) is the write end of a pipe whose read end is already
closed, as when the reader of `kinesisd ... 2>&1 | reader` went away. The
writes fail; kinesisd must still finish with its own exit code, not die of
SIGPIPE: --check-config of an invalid file (errors on stderr) exits 78, of a
valid one (the summary on stdout) exits 0, --plan with a configuration that
stops before any network (errors on stderr) exits 78."""
import os
import signal
import subprocess
import sys

from kinesisd_test.checks import check, check_no_sanitizer
from seclib import Suite


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    kinesisd = sys.argv[1]
    s = Suite("security-closed-output")
    bad = s.write("bad.yaml", "streams:\n  - name: a\n    shards: 0\n    colour: blue\n")
    good = s.write("good.yaml", "streams:\n  - name: a\n    shards: 1\n")

    def run_closed(argv, closed):
        """Exit status with the named stream ("stdout" or "stderr") a pipe
        nobody reads; the other one is captured."""
        r, w = os.pipe()
        os.close(r)
        try:
            streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
            streams[closed] = w
            p = subprocess.run(argv, env=s.env(), cwd=s.tmp.name, stdin=subprocess.DEVNULL, timeout=60,
                               **streams)
        finally:
            os.close(w)
        other = p.stderr if closed == "stdout" else p.stdout
        check_no_sanitizer((other or b"").decode(errors="replace"))
        return p.returncode

    def expect(what, argv, closed, code):
        rc = run_closed(argv, closed)
        check(rc != -signal.SIGPIPE, "%s: killed by SIGPIPE" % what)
        check(rc == code, "%s: exit %d, expected %d" % (what, rc, code))

    def test_check_config_errors():
        expect("--check-config, invalid, stderr closed", [kinesisd, "--check-config", "-c", bad], "stderr", 78)

    def test_check_config_summary():
        expect("--check-config, valid, stdout closed", [kinesisd, "--check-config", "-c", good], "stdout", 0)

    def test_plan_errors():
        expect("--plan, invalid, stderr closed",
               [kinesisd, "--plan", "-c", bad, "--state-dir", s.path("state")], "stderr", 78)

    for t in (test_check_config_errors, test_check_config_summary, test_plan_errors):
        s.run(t)
    return s.summary()


if __name__ == "__main__":
    sys.exit(main())
