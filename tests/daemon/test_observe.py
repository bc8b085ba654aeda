#!/usr/bin/env python3
"""daemon-observe: observation that scales (issue 16).

A private mock behind the strict proxy, which answers ListStreams as AWS
does (StreamSummaries with status, mode and ARN; NextToken). The daemon
declares 6 streams, `interval: 1s` and `deep_interval: 1h`: each pass
deep-checks ceil(6 x 1 s / 1 h) = 1 stream, the one checked longest ago,
and confirms the others from the listing.

- The first pass creates the streams, the second deep-checks them all (we
  changed them: created), and from then on the proxy sees one ListStreams
  and at most one DescribeStreamSummary per pass, where a pass used to cost
  one per stream.
- kinesisd_oldest_deep_check_timestamp_seconds moves forward as the
  deep checks go round, oldest first.
- A stream deleted behind kinesisd's back (the one it deep-checked last, so
  its turn is 5 passes away) is found by the next listing (missing, or
  DELETING and then deep-checked) and created again.
- A retention changed behind its back (the listing does not carry it) is
  corrected when the stream's deep check comes round.

Then, the streams in place, a daemon whose every deep check is refused
(AccessDenied, from a proxy of faults): after its first pass
kinesisd_oldest_deep_check_timestamp_seconds is when the process began,
the age of the streams known from the listing only, not 0 (none).

Then a listing slowed down by a proxy of faults: the next pass starts
early by the time the listing took, so that no stream goes unlisted longer
than the interval.

Then a second daemon with a fresh state directory
and `api_share: 0.2` (room for three deep checks a 1-s pass):
- its first pass deep-checks fewer than all 6 (never-checked streams are
  spread too), yet it is ready with all 6 exported ACTIVE from the listing;
- each stream is deep-checked once before any twice, never-checked first;
- the second pass's first deep checks of streams known from the listing
  (they learn shards and retention, nothing another service acts on)
  rewrite streams.json once, at the pass's end, not once per check;
- it records the checks in the state directory (deep-checks).
A third daemon on that state directory at the default share (room for all
6 in its first pass):
- its first pass deep-checks only the stream whose recorded check is the
  oldest: the round goes on where it stopped, not from scratch; streams.json
  still shows the others' shards and retention as the last process did;
- a reload that changes a stream not yet deep-checked by it (known from the
  listing only) gets it checked and corrected in the next pass, not at its
  turn 5 passes later."""
import json
import os
import re
import signal
import time

from daemonlib import AWS_HEAD, Test
from kinesisd_test.environment import FAKE_SECRET_KEY
from kinesisd_test.process import wait_for
from kinesisd_test.proxy import Proxy
from kinesisd_test.state import metrics

T = Test("observe", "eu-north-1")
P = T.prefix
NAMES = [P + "s%d" % i for i in range(6)]
WAIT = 120
CONFIG = AWS_HEAD + """reconcile:
  interval: 1s
  deep_interval: 1h
  poll: 100ms
  timeout: 60s
streams:
""" + "".join("  - name: %s\n    shards: 1\n" % n for n in NAMES)


def entries():
    with open(T.path("mock0-proxy.jsonl")) as f:
        return [json.loads(l) for l in f if l.strip() and '"summary"' not in l[:12]]


def passes(state):
    return int(metrics(os.path.join(state, "metrics.prom")).get("kinesisd_reconcile_passes_total", 0))


def wait_passes(state, n):
    T.require(wait_for(lambda: passes(state) >= n, WAIT), "%d passes within %d s" % (n, WAIT))


def pass_ops(start, n_pass):
    """The calls of the n_pass-th pass (1: the first) in entries()[start:]:
    from its ListStreams to the next one."""
    later = entries()[start:]
    lists = [i for i, e in enumerate(later) if e["op"] == "ListStreams"] + [len(later)] * (n_pass + 1)
    return later[lists[n_pass - 1]:lists[n_pass]]


def deep_checks_file(state):
    """{name: seconds} from the state directory's record of deep checks."""
    with open(os.path.join(state, "deep-checks")) as f:
        lines = f.read().splitlines()
    T.check(lines and lines[0] == "kinesisd-deep-checks 1", "deep-checks starts with its header", lines[:1])
    return {l.split()[1]: int(l.split()[2]) for l in lines[1:]}


def test_unchecked_age():
    """Every deep check refused (AccessDenied from a proxy of faults in
    front of the mock): no stream is deep-checked, those not chosen for a
    check are known from the listing only, and the oldest deep check is
    the process's start, not none."""
    state = T.path("state-denied")
    os.makedirs(state)
    deny = [{"op": "DescribeStreamSummary", "fault": "access-denied", "count": -1}]
    with Proxy(T.work, T.port, rules=deny, keys={"*": FAKE_SECRET_KEY}, list_summaries=True) as px:
        cfg = T.write("kinesisd-denied.yaml", CONFIG.replace("{endpoint}", "http://127.0.0.1:%d" % px.port)
                      .replace("  poll: 100ms\n", "  poll: 100ms\n  api_share: 0.2\n"))
        spawned_at = time.time()
        p = T.spawn("-c", cfg, "--state-dir", state, "--log-level", "info", stderr_path=T.path("daemon-denied.log"))
        try:
            wait_passes(state, 1)
            m = metrics(os.path.join(state, "metrics.prom"))
        finally:
            T.terminate(p, T.path("daemon-denied.log"))
        T.check(px.rule_fired(0), "the proxy refused the deep checks")
    oldest = m.get("kinesisd_oldest_deep_check_timestamp_seconds", 0)
    T.check(spawned_at <= oldest <= time.time(), "no stream deep-checked: the oldest deep check is when the process "
            "began (%.6f, started after %.6f), the age of what is unchecked" % (oldest, spawned_at), m)


def test_listing_lead():
    """A listing that takes 1.5 s (every ListStreams held by a proxy of
    faults): a stream listed late in one pass must be listed again within
    the interval (6 s here), so the next pass starts early by what the
    listing took, at most a quarter of the interval: the passes' listings
    start 4.5 s apart, not 6 s. The check takes the middle, 5.25 s: a
    daemon that waits the whole interval fails it by 0.75 s at least,
    however loaded the machine (load makes listings slower, not the lead
    shorter)."""
    state = T.path("state-lead")
    os.makedirs(state)
    slow = [{"op": "ListStreams", "fault": "slow", "seconds": 1.5, "count": -1}]
    with Proxy(T.work, T.port, rules=slow, keys={"*": FAKE_SECRET_KEY}, list_summaries=True) as px:
        cfg = T.write("kinesisd-lead.yaml", CONFIG.replace("{endpoint}", "http://127.0.0.1:%d" % px.port)
                      .replace("interval: 1s", "interval: 6s"))
        p = T.spawn("-c", cfg, "--state-dir", state, "--log-level", "debug", stderr_path=T.path("daemon-lead.log"))
        try:
            wait_passes(state, 5)
        finally:
            T.terminate(p, T.path("daemon-lead.log"))
        with open(px.log) as f:
            starts = [json.loads(l)["t"] for l in f if '"ListStreams"' in l]
    starts = [t for t in starts if t]
    T.require(len(starts) >= 5, "five listings through the proxy", starts)
    apart = sorted(b - a for a, b in zip(starts[1:], starts[2:]))  # the first pass's may be late
    T.check(apart[len(apart) // 2] < 5.25, "passes start the listing's time early: their listings %.2f s apart "
            "(median), not 6 s" % apart[len(apart) // 2], apart)
    with open(T.path("daemon-lead.log")) as f:
        took = [float(x) for x in re.findall(r"Next pass in .* the ([0-9.]+) s the listing took", f.read())]
    T.check(took and min(took) >= 1.5, "the log says what each listing took (1.5 s or more)", took)


def test_restart():
    state = T.path("state2")
    os.makedirs(state)
    cfg = T.write("kinesisd-share.yaml", CONFIG.replace("  poll: 100ms\n", "  poll: 100ms\n  api_share: 0.2\n"))
    n0 = len(entries())
    p = T.spawn("-c", cfg, "--state-dir", state, "--log-level", "debug", stderr_path=T.path("daemon2.log"))
    try:
        wait_passes(state, 1)
        first = [e["stream"] for e in pass_ops(n0, 1) if e["op"] == "DescribeStreamSummary"]
        T.check(1 <= len(first) < len(NAMES), "fresh start, room for three: the first pass deep-checks %d of %d"
                % (len(first), len(NAMES)), first)
        with open(os.path.join(state, "streams.json")) as f:
            listed = json.load(f)["streams"]
        T.check(sorted(s["name"] for s in listed if s["status"] == "ACTIVE" and s["arn"]) == NAMES,
                "every stream exported ACTIVE after the first pass (from the listing)", listed)

        def checked():
            return [e["stream"] for e in entries()[n0:] if e["op"] == "DescribeStreamSummary"]
        T.require(wait_for(lambda: set(checked()) == set(NAMES), WAIT), "every stream deep-checked in turn",
                  checked())
        order = checked()
        T.check(len(order) == len(NAMES), "each once before any twice (never-checked first)", order)
        wait_passes(state, passes(state) + 1)
    finally:
        T.terminate(p, T.path("daemon2.log"))
    # "Pass done" comes before the pass's own export: between the first two
    # are the first pass's export and what the second pass exported while
    # it ran.
    second = [e["stream"] for e in pass_ops(n0, 2) if e["op"] == "DescribeStreamSummary"]
    T.check(len(second) >= 2 and not set(second) & set(first),
            "the second pass deep-checks at least two streams for the first time", (first, second))
    with open(T.path("daemon2.log")) as f:
        marks = [l for l in f if "Pass done" in l or "(streams.json among them)" in l]
    done = [i for i, l in enumerate(marks) if "Pass done" in l]
    T.require(len(done) >= 2, "two passes logged", marks)
    between = [l for l in marks[done[0] + 1:done[1]] if "streams.json" in l]
    T.check(len(between) <= 1, "streams.json rewritten %d time(s) from the end of the first pass to the end "
            "of the second (first deep checks learn shards and retention only)" % len(between), marks)
    rec = deep_checks_file(state)
    T.check(sorted(rec) == NAMES, "deep-checks records every stream", rec)

    # The default share: a fresh start would deep-check all 6 at once.
    oldest = min(NAMES, key=lambda n: (rec[n], n))
    newest = max(NAMES, key=lambda n: (rec[n], n))
    n0 = len(entries())
    os.remove(os.path.join(state, "metrics.prom"))  # its passes count from 0 again
    slow = CONFIG.replace("interval: 1s", "interval: 3s")
    p = T.spawn("-c", T.write("kinesisd-3.yaml", slow), "--state-dir", state, "--log-level", "info",
                stderr_path=T.path("daemon3.log"))
    try:
        wait_passes(state, 1)
        first = [e["stream"] for e in pass_ops(n0, 1) if e["op"] == "DescribeStreamSummary"]
        T.check(first == [oldest], "restart: the first pass deep-checks the oldest recorded (%s) only" % oldest,
                first)
        with open(os.path.join(state, "streams.json")) as f:
            shown = {s["name"]: (s["status"], s["shards"], s["retention_hours"]) for s in json.load(f)["streams"]}
        T.check(shown == {n: ("ACTIVE", 1, 24) for n in NAMES},
                "restart: streams.json keeps the shards and retention the last process exported", shown)
        # Declared anew while known from the listing only: checked at once.
        T.write("kinesisd-3.yaml", slow.replace("  - name: %s\n    shards: 1\n" % newest,
                                                "  - name: %s\n    shards: 1\n    retention_hours: 36\n" % newest))
        p.send_signal(signal.SIGHUP)
        T.require(wait_for(lambda: T.describe(newest)["RetentionPeriodHours"] == 36, WAIT),
                  "%s: the reload's retention applied" % newest)
        later = entries()[n0:]
        done = [i for i, e in enumerate(later) if e["op"] == "IncreaseStreamRetentionPeriod"
                and e["stream"] == newest][0]
        others = {e["stream"] for e in later[:done] if e["op"] == "DescribeStreamSummary"} - {newest}
        # At its turn, the 5 others would have been checked before it.
        T.check(len(others) < len(NAMES) - 1, "%s: checked and corrected after the reload, not at its turn "
                "(checked before it: %s)" % (newest, sorted(others)))
        T.check(not [e for e in entries() if e.get("refused")], "the strict proxy refused nothing")
    finally:
        T.terminate(p, T.path("daemon3.log"))


def test_observe():
    T.private_mock(list_summaries=True)
    cfg = T.write("kinesisd.yaml", CONFIG)
    state = T.path("state")
    os.makedirs(state)
    p = T.spawn("-c", cfg, "--state-dir", state, "--log-level", "info")
    try:
        wait_passes(state, 1)
        first = [e for e in entries() if e["op"] == "CreateStream"]
        T.check(sorted({e["stream"] for e in first}) == NAMES, "first pass: every stream created", first)

        # The next pass deep-checks them all again (each was changed by us:
        # created), then passes only confirm: one listing page and one deep
        # check each.
        wait_passes(state, 3)
        n0, p0 = len(entries()), passes(state)
        m0 = metrics(os.path.join(state, "metrics.prom"))
        wait_passes(state, p0 + 6)
        later = entries()[n0:]
        p1 = passes(state)
        m1 = metrics(os.path.join(state, "metrics.prom"))
        dss = [e for e in later if e["op"] == "DescribeStreamSummary"]
        lists = [e for e in later if e["op"] == "ListStreams"]
        # The entries may run up to one pass past the metrics read.
        T.check(len(lists) >= p1 - p0 and len(dss) <= p1 - p0 + 1,
                "%d passes: %d ListStreams, %d DescribeStreamSummary (at most one a pass, not %d)"
                % (p1 - p0, len(lists), len(dss), len(NAMES)),
                [(e["op"], e.get("stream")) for e in later])
        T.check({e["op"] for e in later} <= {"ListStreams", "DescribeStreamSummary", "DescribeAccountSettings"},
                "confirming passes call nothing else (but the account's settings, once a pass)",
                {e["op"] for e in later})
        T.check(len({e["stream"] for e in dss}) == len(dss), "deep checks go round, oldest first",
                [e["stream"] for e in dss])
        t0 = m0.get("kinesisd_oldest_deep_check_timestamp_seconds", 0)
        t1 = m1.get("kinesisd_oldest_deep_check_timestamp_seconds", 0)
        T.check(0 < t0 < t1, "the oldest deep check moves forward", (t0, t1))
        T.check("kinesisd_oldest_deep_check_age_seconds" in m1, "the age metric is there", m1)

        # Deleted behind its back: the listing says so in the next pass.
        gone = [e for e in entries() if e["op"] == "DescribeStreamSummary"][-1]["stream"]
        T.mock_call("DeleteStream", {"StreamName": gone})
        n_del = len(entries())
        T.require(wait_for(lambda: any(e["op"] == "CreateStream" and e["stream"] == gone
                                       for e in entries()[n_del:]), WAIT),
                  "%s created again" % gone)
        # The first listing after the deletion may have been answered before
        # it: the pass after that one must act on it.
        after = entries()[n_del:]
        lists = [i for i, e in enumerate(after) if e["op"] == "ListStreams"] + [len(after)] * 3
        T.check(any(e.get("stream") == gone for e in after[lists[0]:lists[2]]),
                "the deleted stream is seen by the next listing (its deep check was 5 passes away)",
                [(e["op"], e.get("stream")) for e in after[:lists[2] + 1]])
        T.wait_active(gone)

        # A setting the listing does not carry: found at the stream's turn.
        drift = NAMES[0] if NAMES[0] != gone else NAMES[1]
        T.mock_call("IncreaseStreamRetentionPeriod", {"StreamName": drift, "RetentionPeriodHours": 48})
        T.wait_active(drift)
        T.require(wait_for(lambda: T.describe(drift)["RetentionPeriodHours"] == 24, WAIT),
                  "%s: retention corrected at its deep check" % drift)
        T.check(not [e for e in entries() if e.get("refused")], "the strict proxy refused nothing")
    finally:
        T.terminate(p, T.path("daemon.log"))


T.run(test_observe, test_unchecked_age, test_listing_lead, test_restart)
