#!/usr/bin/env python3
"""daemon-exit-codes: the exit codes of DESIGN §2 with what is said on
stderr. An unreachable endpoint (a loopback port nobody listens on) makes
--once exit 1, naming the streams and the reason, in bounded time, with a
stream-failed record (its MESSAGE_ID) for each stream; an
invalid configuration exits 78 with FILE:LINE:COLUMN; a bad command line
exits 64. Needs no mock."""
import os
import re
import socket

from daemonlib import Test

T = Test("exitcodes", "us-east-1", need_mock=False)
# "Stream ... failed" (daemon/log.h, the catalog).
STREAM_FAILED_ID = "6b1e5c0a7f2d4c1e9a3b8d2f4e6a1c04"
P = T.prefix


def dead_port():
    # Bound and closed again: nothing listens there now.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable():
    cfg = T.write("unreachable.yaml", """aws:
  region: us-east-1
  endpoint: http://127.0.0.1:%d
reconcile:
  poll: 100ms
streams:
  - name: {prefix}a
    shards: 1
  - name: {prefix}b
    region: eu-west-1
    shards: 1
""" % dead_port())
    state = T.path("state")
    rc, out, err, secs = T.daemon("-c", cfg, "--state-dir", state, "--once", "--log-level", "debug",
                                  timeout=90)
    T.check(rc == 1, "unreachable: exit 1", "rc %d\n%s" % (rc, err))
    T.check(secs < 60, "unreachable: gives up within 60 s (%.1fs)" % secs)
    for name, region in ((P + "a", "us-east-1"), (P + "b", "eu-west-1")):
        T.check(any(name in l and region in l and ("connect" in l.lower() or "ListStreams" in l)
                    for l in err.splitlines()),
                "stderr names %s (%s) and the reason" % (name, region), err)
        # Its region unreachable, each stream still has a failure record of
        # its own, with the stream-failed MESSAGE_ID (shown at debug level).
        prefix = "kinesisd: %s/%s: Stream %s failed: " % (region, name, name)
        T.check(any(l.startswith(prefix) and l.endswith("[MESSAGE_ID=%s]" % STREAM_FAILED_ID)
                    for l in err.splitlines()),
                "a stream-failed record for %s (%s)" % (name, region), err[-3000:])
    # The same through --plan: it cannot observe, so it fails with 1.
    rc, out, err, secs = T.daemon("-c", cfg, "--plan", timeout=90)
    T.check(rc == 1, "--plan unreachable: exit 1", "rc %d\n%s%s" % (rc, out, err))
    T.check(P + "a" in out and out.startswith("? "), "--plan says it cannot observe", out)


def test_bad_config():
    cfg = T.write("bad.yaml", """aws:
  region: us-east-1
streams:
  - name: {prefix}a
    shards: 1
    retention_hourz: 48
""")
    for mode in ("--once", "--plan", "--check-config", None):
        args = ["-c", cfg, "--state-dir", T.path("state-bad")] + ([mode] if mode else [])
        rc, out, err, secs = T.daemon(*args, timeout=20)
        T.check(rc == 78, "bad config %s: exit 78" % (mode or "(daemon)"), "rc %d\n%s" % (rc, err))
        T.check(re.search(re.escape(cfg) + r":6:5: ", err) is not None,
                "bad config %s: FILE:LINE:COLUMN on stderr" % (mode or "(daemon)"), err)
    T.check(not os.path.exists(T.path("state-bad")), "bad config: no state directory created")
    rc, out, err, secs = T.daemon("-c", T.path("nonexistent.yaml"), "--once", timeout=20)
    T.check(rc == 78 and "nonexistent.yaml" in err, "missing config: exit 78 naming the file",
            "rc %d\n%s" % (rc, err))


def test_bad_options():
    cfg = T.write("ok.yaml", "aws:\n  region: us-east-1\nstreams: []\n")
    for args, what in ((["--bogus"], "unknown option"),
                       (["--once", "--plan"], "two modes"),
                       (["--plan", "--check-config"], "two modes"),
                       (["--log-level", "loud"], "bad log level"),
                       (["-c"], "missing argument"),
                       (["extra-arg"], "stray argument"),
                       (["--endpoint", "http://192.0.2.10/"], "plain http to a non-loopback host"),
                       (["--endpoint", "ftp://127.0.0.1/"], "not an http(s) URL")):
        rc, out, err, secs = T.daemon(*(args + (["-c", cfg] if args != ["-c"] else [])), timeout=20)
        T.check(rc == 64, "%s: exit 64" % what, "rc %d\n%s" % (rc, err))
        T.check(err.strip() != "", "%s: says what is wrong" % what)
        if args[0] == "--endpoint":
            T.check(args[1] in err, "%s: the message names the URL" % what, err)
    rc, out, err, secs = T.daemon("--check-config", "-c", cfg, timeout=20)
    T.check(rc == 0 and out.startswith("configuration OK: 0 streams"), "--check-config OK", out + err)
    rc, out, err, secs = T.daemon("--version", timeout=20)
    T.check(rc == 0 and out.startswith("kinesisd "), "--version", out)


T.run(test_unreachable, test_bad_config, test_bad_options)
