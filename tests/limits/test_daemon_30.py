#!/usr/bin/env python3
"""limits-daemon-30: 30 new streams with retention, tags and one consumer
each converge through the strict proxy with `kinesisd --once`, with zero
refusals.

  test_daemon_30.py KINESISD KINESIS_CALL PORT_FILE WORK_DIR (as tests/daemon)

Runs on a mock and proxy of its own, with kinesisd's default settings
but for the poll interval (200 ms) and KINESISD_TEST_API_SHARE (to measure
other shares by hand).

No window of one second holds more releases of one pacer (operation, and
stream for the per-stream limits) than floor(limit x api_share), at least
one: checked on the release times the daemon logs at debug level, which
must account for every call the proxy saw. Arrival times at the proxy are
only a figure (their peak per second, and how long after its release a
call arrived): a loaded machine may hold one call back until the next
catches up with it, which no pacer can prevent.

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
import os
import re
import statistics
import time

import limitslib as lib  # noqa: E402  (puts tests/daemon on the path too)
from daemonlib import Test  # noqa: E402
import aws_limits  # noqa: E402

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
    check_windows(err, entries)
    lib.check_converged(T, names)


# The proxy's limits; an operation it does not limit (DescribeAccountSettings)
# is paced as 5 a second per account, as kinesisd(8) says.
def limit_of(op):
    return aws_limits.TPS.get(op, (5, False))


RELEASE_RE = re.compile(r"HTTP: pacer (\S+) released a call at monotonic (\d+) us")


def peak(ts, window):
    """The most of the sorted times ts in any window (t - window, t]."""
    best, j = 0, 0
    for i, t in enumerate(ts):
        while ts[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def check_windows(err, entries):
    share = float(os.environ.get("KINESISD_TEST_API_SHARE") or 0.5)
    released = collections.defaultdict(list)
    for m in RELEASE_RE.finditer(err):
        released[m.group(1)].append(int(m.group(2)) / 1e6)
    arrived = collections.defaultdict(list)
    for e in entries:
        per_stream = limit_of(e["op"])[1]
        arrived["/".join([T.region, e["op"]] + ([e["stream"]] if per_stream else []))].append(e["t"])
    # Every call the proxy saw was released by a pacer of that name, once.
    T.check({k: len(v) for k, v in released.items()} == {k: len(v) for k, v in arrived.items()},
            "one logged release per call that arrived, per pacer",
            [(k, len(released.get(k, [])), len(arrived.get(k, [])))
             for k in sorted(set(released) | set(arrived))
             if len(released.get(k, [])) != len(arrived.get(k, []))][:20])
    over, delays, arrival_peaks = [], [], {}
    for name, ts in sorted(released.items()):
        op = name.split("/")[1]
        cap = max(1, math.floor(limit_of(op)[0] * share + 1e-6))
        ts.sort()
        if peak(ts, 1.0) > cap:
            over.append((name, peak(ts, 1.0), cap))
        got = sorted(arrived.get(name, []))
        if len(got) == len(ts):
            delays += [a - r for a, r in zip(got, ts)]
        key = (op, cap)
        arrival_peaks[key] = max(arrival_peaks.get(key, 0), peak(got, 1.0))
    T.check(released and not over, "no pacer released more than floor(limit x %g) calls in any second "
            "(%d pacers, %d calls)" % (share, len(released), sum(len(v) for v in released.values())), over)
    if delays:
        delays.sort()
        print("figures: release to arrival at the proxy: median %.1f ms, 99th percentile %.1f ms, max %.1f ms"
              % (1e3 * statistics.median(delays), 1e3 * delays[int(0.99 * (len(delays) - 1))],
                 1e3 * delays[-1]))
    print("figures: peak arrivals in a 1-s window (of the cap): " +
          ", ".join("%s %d (%d)" % (op, p, cap) for (op, cap), p in sorted(arrival_peaks.items())))


T.run(test_thirty_streams)
