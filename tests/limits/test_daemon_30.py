#!/usr/bin/env python3
"""limits-daemon-30: 30 new streams with retention, tags and one consumer
each converge through the strict proxy with `kinesisd --once`, with zero
refusals.

  test_daemon_30.py KINESISD KINESIS_CALL PORT_FILE WORK_DIR (as tests/daemon)

Runs on a mock and proxy of its own, with kinesisd's default settings
but for the poll interval (200 ms) and KINESISD_TEST_API_SHARE (to measure
other shares by hand).

How fast it converges is a figure, not a check (a loaded machine must not
fail the suite): the test prints it beside the physical bound, ceil(N/5)
creation times of 2 s, as at most 5 streams may be CREATING at once, plus
one more for the consumer of the last wave, which can only be registered
once its stream is ACTIVE and is itself CREATING for 2 s. bench/limits.py
runs it several times and tables the figures against the target,
1.3 x that bound + 1 s (issue 12)."""
import collections
import json
import math
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
    _, err = T.once(cfg, T.path("state"), timeout=120)
    secs = time.monotonic() - t0
    with open(T.path("daemon.log"), "w") as f:  # the debug log, for a look afterwards
        f.write(err)
    entries = [e for e in lib.live_entries(log) if e["akid"] == T.account]
    refused = [(e["op"], e["stream"], e["refused"]) for e in entries if e.get("refused")]
    calls = collections.Counter(e["op"] for e in entries)
    print("figures: %d streams: %.1fs, physical bound %.0fs (%.2f x), target %.1fs, %d refused of %d calls"
          % (N, secs, bound, secs / bound, 1.3 * bound + 1, len(refused), len(entries)))
    print("figures-json: " + json.dumps({"streams": N, "seconds": round(secs, 2), "bound": bound,
                                         "target": 1.3 * bound + 1, "refused": len(refused),
                                         "calls": len(entries), "by_op": dict(calls)}))
    T.check(not refused, "zero refusals in %d requests" % len(entries), refused[:20])
    # Each stream's own calls: one creation, one registration, no storm.
    T.check(calls["CreateStream"] == N and calls["RegisterStreamConsumer"] == N,
            "one CreateStream and one RegisterStreamConsumer per stream", dict(calls))
    # A new stream's consumers are listed once (none yet); the one registered
    # is then asked for by name while CREATING (20 calls a second per
    # stream), not listed again and again (5).
    T.check(calls["ListStreamConsumers"] == N and calls["DescribeStreamConsumer"] >= N,
            "one ListStreamConsumers per stream, CREATING consumers asked for by name", dict(calls))
    lib.check_converged(T, names)


T.run(test_thirty_streams)
