#!/usr/bin/env python3
"""limits-daemon-30: 30 new streams with retention, tags and one consumer
each converge through the strict proxy with `kinesisd --once`, with zero
refusals, within 1.3 x the physical bound + 1 s. The bound: ceil(N/5)
creation times of 2 s, as at most 5 streams may be CREATING at once, plus
one more for the consumer of the last wave, which can only be registered
once its stream is ACTIVE and is itself CREATING for 2 s.

  test_daemon_30.py KINESISD KINESIS_CALL PORT_FILE WORK_DIR (as tests/daemon)

Runs on a mock and proxy of its own, with kinesisd's default settings
but for the poll interval (200 ms) and KINESISD_TEST_API_SHARE (to measure
other shares by hand)."""
import math
import os
import sys
import time

import limitslib as lib  # noqa: E402  (puts tests/daemon on the path too)
from daemonlib import Test  # noqa: E402

T = Test("lim30", "us-west-2", need_mock=False)
N = 30
CREATE = 2.0
names = ["%ss%02d" % (T.prefix, i) for i in range(N)]


def test_thirty_streams():
    endpoint, log = lib.daemon_pair(T, "%dms" % (CREATE * 1000))
    cfg = T.write("kinesisd.yaml", lib.stream_config(names, endpoint, T.region))
    bound = math.ceil(N / 5) * CREATE + CREATE
    t0 = time.monotonic()
    T.once(cfg, T.path("state"), timeout=120)
    secs = time.monotonic() - t0
    entries = lib.live_entries(log)
    refused = [(e["op"], e["stream"], e["refused"]) for e in entries if e.get("refused")]
    print("figures: %d streams: %.1fs, physical bound %.0fs, allowed %.1fs, %d refused of %d calls"
          % (N, secs, bound, 1.3 * bound + 1, len(refused), len(entries)))
    T.check(not refused, "zero refusals in %d requests" % len(entries), refused[:20])
    T.check(secs <= 1.3 * bound + 1, "converged in %.1fs (physical bound %.0fs, allowed %.1fs)"
            % (secs, bound, 1.3 * bound + 1))
    lib.check_converged(T, names)


T.run(test_thirty_streams)
