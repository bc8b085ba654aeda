#!/usr/bin/env python3
"""include: patterns are expanded with a bound on the work done (issue 13,
item 7), through `kinesisd --check-config`.

  test_include_bounded.py KINESISD

The tree is a directory of 30 symlinks to itself: every level of a pattern
like tree/*/*/*/... multiplies the paths by 30, an endless tree made of 30
files. An unbounded expansion lists 30^6 directories (and holds every path
in memory) before it can count; a bounded one stops at its cap of directory
entries or of matches and exits 78 with a FILE:LINE:COLUMN error at the
include: entry naming the pattern and the cap. Each run gets 60 s (it takes
well under one) and must stay under 64 MiB peak RSS (times 4 when
KINESISD_SANITIZED=1), and gets 1 GiB of address space (unless sanitized)
so that an unbounded expansion fails rather than eat the machine. Where
strace works (and not under the sanitizers, whose leak check cannot run
traced), the directories opened are counted too: at most the cap of 65536
entries.

A pattern that matches more than 1024 real files is refused the same way,
and a plain streams.d/*.yaml still loads."""
import os
import re
import resource
import shutil
import signal
import subprocess
import sys

from kinesisd_test.checks import Suite, check, check_no_sanitizer
from kinesisd_test.environment import Scratch, clean_env

EXIT_CONFIG = 78
ENTRIES_MAX = 65536
FILES_MAX = 1024
SANITIZED = os.environ.get("KINESISD_SANITIZED") == "1"
RSS_LIMIT_KIB = 64 * 1024 * (4 if SANITIZED else 1)
FANOUT = 30
# An unbounded expansion of these trees would take the machine's memory: the
# child gets 1 GiB of address space, so that it fails instead (not under the
# sanitizers, whose shadow memory is reserved address space).
AS_LIMIT = 1 << 30


def limit_memory():
    if not SANITIZED:
        resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))


class Run:
    def __init__(self, kinesisd):
        self.kinesisd = kinesisd
        self.s = Scratch("kinesisd-include-bounded-")
        tree = self.s.path("tree")
        os.makedirs(tree)
        for i in range(FANOUT):
            os.symlink(".", os.path.join(tree, "l%02d" % i))

    def check_config(self, text, strace_log=None):
        """rc, stdout + stderr of --check-config on main.yaml holding text."""
        cfg = self.s.write("main.yaml", text)
        argv = [self.kinesisd, "--check-config", "-c", cfg]
        if strace_log:
            argv = ["strace", "-f", "-qq", "-e", "trace=openat,open", "-o", strace_log] + argv
        # A session of its own, so that a timeout ends kinesisd too when it
        # runs under strace (which leaves its tracee running when killed).
        p = subprocess.Popen(argv, cwd=self.s.tmp.name, env=clean_env(self.s.home, extra={"LC_ALL": "C"}),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             preexec_fn=limit_memory, start_new_session=True)
        try:
            stdout, stderr = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            raise
        out = (stdout + stderr).decode("utf-8", "replace")
        check_no_sanitizer(out)
        return p.returncode, out

    def check_rss(self, what):
        # Children's peak RSS so far, an upper bound (see security/test_yaml_bomb.py).
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        check(rss < RSS_LIMIT_KIB, "%s: peak RSS %d KiB (limit %d)" % (what, rss, RSS_LIMIT_KIB))


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    r = Run(sys.argv[1])
    suite = Suite("config-include-bounded")

    def test_endless_tree_stops_at_entry_cap():
        # Nothing matches the last component: only the entry cap can end it.
        rc, out = r.check_config("# every level is 30 ways into the same directory\n"
                                 "include:\n"
                                 "  - tree/*/*/*/*/*/*/none-*.yaml\n")
        check(rc == EXIT_CONFIG, "exit %d, expected %d" % (rc, EXIT_CONFIG), out)
        check(re.search(r"main\.yaml:3:5: include: \"tree/\*/\*/\*/\*/\*/\*/none-\*\.yaml\": "
                        r"stopped after %d directory entries" % ENTRIES_MAX, out),
              "no located error naming the pattern and the cap", out)
        r.check_rss("entry cap")

    def test_endless_tree_stops_at_match_cap():
        rc, out = r.check_config("include: [tree/*/*/*/*/*/*/*]\n")
        check(rc == EXIT_CONFIG, "exit %d, expected %d" % (rc, EXIT_CONFIG), out)
        check(re.search(r"main\.yaml:1:11: include: \"tree(/\*){7}\" matches more than %d files"
                        % FILES_MAX, out), "no located error naming the pattern and the cap", out)
        r.check_rss("match cap")

    def test_directories_opened_are_bounded():
        if SANITIZED:
            print("  (sanitizer build: LeakSanitizer cannot run under strace, not counted)")
            return
        strace = shutil.which("strace")
        # strace may be there and still not allowed to trace (containers).
        if not strace or subprocess.run([strace, "-f", "-o", os.devnull, "true"],
                                        capture_output=True).returncode != 0:
            print("  (no working strace: directories opened not counted)")
            return
        log = r.s.path("strace.log")
        rc, out = r.check_config("include: [tree/*/*/*/*/*/*/*/*/none]\n", strace_log=log)
        check(rc == EXIT_CONFIG, "exit %d, expected %d" % (rc, EXIT_CONFIG), out)
        with open(log, errors="replace") as f:
            opened = sum(1 for line in f if "O_DIRECTORY" in line)
        print("  directories opened: %d" % opened)
        check(0 < opened <= ENTRIES_MAX, "%d directories opened (cap %d entries)" % (opened, ENTRIES_MAX))

    def test_many_real_files():
        many = r.s.path("many")
        os.makedirs(many, exist_ok=True)
        for i in range(FILES_MAX + 10):
            with open(os.path.join(many, "s%04d.yaml" % i), "w") as f:
                f.write("streams: [{name: s%04d, shards: 1}]\n" % i)
        rc, out = r.check_config("include:\n  - many/*.yaml\n")
        check(rc == EXIT_CONFIG, "exit %d, expected %d" % (rc, EXIT_CONFIG), out)
        check("main.yaml:2:5: include: \"many/*.yaml\" matches more than %d files" % FILES_MAX in out,
              "no located error naming the pattern and the cap", out)

    def test_plain_include_still_loads():
        r.s.write("streams.d/a.yaml", "streams: [{name: a, shards: 1}]\n")
        r.s.write("streams.d/b.yaml", "streams: [{name: b, shards: 1}]\n")
        r.s.write("streams.d/.hidden.yaml", "streams: [{name: hidden, shards: 1}]\n")
        rc, out = r.check_config("include: [streams.d/*.yaml]\n")
        check(rc == 0, "exit %d, expected 0" % rc, out)
        check(out.startswith("configuration OK: ") and "2 streams" in out and "3 files" in out,
              "unexpected summary", out)

    for t in (test_endless_tree_stops_at_entry_cap, test_endless_tree_stops_at_match_cap,
              test_directories_opened_are_bounded, test_many_real_files, test_plain_include_still_loads):
        suite.run(t)
    return suite.summary()


if __name__ == "__main__":
    sys.exit(main())
