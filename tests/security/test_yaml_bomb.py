#!/usr/bin/env python3
"""YAML "billion laughs" (anchors and aliases that expand exponentially) is
refused at once (DESIGN section 3: anchors/aliases are refused).

  test_yaml_bomb.py KINESISD

Three bombs: the classic ten levels of nine aliases in the main file; the
same in a file pulled in by include:; and a file just under the 1 MiB limit
packed with aliases of one anchor (a flood of errors, not an expansion).
Each goes to --check-config and to --once (with an endpoint on loopback that
is never reached: the configuration fails first). Each run must exit 78,
print a FILE:LINE:COLUMN message naming the anchor or alias problem and
write nothing into the state directory. The bombs must be refused within
1 s wall-clock with a peak RSS under 64 MiB. The flood is a plain 1 MiB
parse, not an expansion: it gets 3 s and 128 MiB (both times 4 when
KINESISD_SANITIZED=1, as ASan and UBSan slow the loader and grow its heap)."""
import os
import resource
import subprocess
import sys
import time

from kinesisd_test.checks import check
from seclib import LOCATED, Suite

LIMIT_SECONDS = 1.0
LIMIT_RSS_KIB = 64 * 1024
SANITIZED = os.environ.get("KINESISD_SANITIZED") == "1"
FLOOD_SECONDS = 3.0 * (4 if SANITIZED else 1)
FLOOD_RSS_KIB = 128 * 1024 * (4 if SANITIZED else 1)
ENV = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "notARealSecret"}


def laughs(levels=10, width=9, indent=""):
    lines = ['%slol0: &lol0 ["%s"]' % (indent, '","'.join(["lol"] * width))]
    for i in range(1, levels):
        lines.append("%slol%d: &lol%d [%s]" % (indent, i, i, ",".join(["*lol%d" % (i - 1)] * width)))
    return lines


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    kinesisd = sys.argv[1]
    s = Suite("security-yaml-bomb")

    def run_timed(argv):
        """rc, stderr, seconds, child's peak RSS in KiB"""
        t0 = time.monotonic()
        p = subprocess.Popen(argv, env=s.env(ENV), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, cwd=s.tmp.name)
        try:
            out, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            raise
        secs = time.monotonic() - t0
        # The children's maximum RSS, which only grows. An upper bound: Linux
        # keeps ru_maxrss across execve(), so it includes this Python
        # process's RSS at fork time (10-20 MiB); fine for a "stays small" check.
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        return p.returncode, (out + err).decode(errors="replace"), secs, rss

    def expect_refused(what, cfg, limit_s=LIMIT_SECONDS, limit_kib=LIMIT_RSS_KIB):
        state = s.path("state-" + what)
        for argv in ([kinesisd, "--check-config", "-c", cfg],
                     [kinesisd, "--once", "-c", cfg, "--state-dir", state, "--endpoint",
                      "http://127.0.0.1:9/"]):
            mode = argv[1]
            rc, err, secs, rss = run_timed(argv)
            check(rc == 78, "%s %s: exit %d, expected 78" % (what, mode, rc), err[-1500:])
            check(secs < limit_s, "%s %s: took %.2f s (limit %.1f s)" % (what, mode, secs, limit_s))
            check(LOCATED.search(err), "%s %s: no FILE:LINE:COLUMN message" % (what, mode), err[-1500:])
            check("alias" in err.lower() or "anchor" in err.lower(),
                  "%s %s: the message does not name anchors or aliases" % (what, mode), err[-1500:])
            check(rss < limit_kib, "%s %s: peak RSS %d KiB (limit %d)" % (what, mode, rss, limit_kib))
            check(not os.path.exists(state) or not os.listdir(state), "%s: state written" % what)
            print("  %s %s: exit %d in %.3f s, peak RSS of children so far %d KiB" % (what, mode, rc, secs, rss))

    def test_classic_main_file():
        lines = ["aws:", "  region: us-east-1"] + laughs() + \
                ["streams:", "  - name: bomb", "    shards: 1", "    tags: *lol9"]
        cfg = s.write("classic/kinesisd.yaml", "\n".join(lines) + "\n")
        expect_refused("classic", cfg)

    def test_inside_a_stream():
        # The bomb where the loader walks: a stream's own keys.
        lines = ["aws: { region: us-east-1 }", "streams:", "  - name: bomb", "    shards: 1",
                 "    consumers: *lol9", "    x-bomb:"] + laughs(indent="      ")
        cfg = s.write("instream/kinesisd.yaml", "\n".join(lines) + "\n")
        expect_refused("in-stream", cfg)

    def test_in_included_file():
        s.write("included/streams.d/bomb.yaml",
                "\n".join(laughs() + ["streams:", "  - name: bomb", "    shards: 1", "    tags: *lol9"]) + "\n")
        cfg = s.write("included/kinesisd.yaml", "aws: { region: us-east-1 }\ninclude:\n  - streams.d/*.yaml\n")
        expect_refused("included", cfg)

    def test_alias_flood_near_size_limit():
        head = 'a: &a "lol"\nb: ['
        body = []
        size = len(head)
        while size < 1024 * 1024 - 4096:
            chunk = "*a," * 40 + "\n  "
            body.append(chunk)
            size += len(chunk)
        cfg = s.write("flood/kinesisd.yaml", head + "".join(body) + "*a]\n")
        check(os.path.getsize(cfg) < 1024 * 1024, "test bug: flood file too big")
        expect_refused("flood", cfg, FLOOD_SECONDS, FLOOD_RSS_KIB)

    for t in (test_classic_main_file, test_inside_a_stream, test_in_included_file,
              test_alias_flood_near_size_limit):
        s.run(t)
    return s.summary()


if __name__ == "__main__":
    sys.exit(main())
