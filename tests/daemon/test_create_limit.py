#!/usr/bin/env python3
"""daemon-create-limit: with 12 new streams, kinesisd never has more than 5
CREATING at once (DESIGN §6), yet uses all 5 slots, and converges in close to
ceil(12/5) creation times.

Two independent checks, on a mock of our own whose creations take 2 s:
- from the daemon's debug log, whose order is the order of events (one
  thread): +1 when a CreateStream request goes out (before the mock has the
  stream), -1 when the daemon first sees the stream ACTIVE (after the mock
  made it so). The running count bounds the real number of CREATING streams
  from above; it must never exceed 5 and must reach 5.
- by sampling the mock: a thread describes every stream over and over,
  noting when it saw each one CREATING. A stream's real CREATING interval
  contains [first, last] time it was seen so; those observed intervals must
  never overlap more than 5 deep (a sound lower bound of the real overlap,
  however slow one round of samples is)."""
import re
import threading
import time

from daemonlib import AWS_HEAD, Test

T = Test("limit", "ap-northeast-1")
N = 12
DURATION = 2.0
names = ["%ss%02d" % (T.prefix, i) for i in range(N)]


def sampler(stop, seen):
    while not stop.is_set():
        for n in names:
            try:
                d = T.mock_call("DescribeStreamSummary", {"StreamName": n})["StreamDescriptionSummary"]
                if d["StreamStatus"] == "CREATING":
                    seen.setdefault(n, []).append(time.monotonic())
            except Exception:  # noqa: BLE001 - not there yet
                pass
        time.sleep(0.01)


def max_overlap(seen):
    events = []
    for ts in seen.values():
        events += [(min(ts), 1), (max(ts), -1)]
    # At equal times count the start first: overlap is closed at both ends.
    events.sort(key=lambda e: (e[0], -e[1]))
    cur = peak = 0
    for _, d in events:
        cur += d
        peak = max(peak, cur)
    return peak


def test_at_most_5_creating():
    T.private_mock(duration="%dms" % (DURATION * 1000))
    cfg = T.write("kinesisd.yaml", AWS_HEAD + """reconcile:
  poll: 100ms
  timeout: 40s
streams:
""" + "".join("  - name: %s\n    shards: 1\n" % n for n in names))
    stop, seen = threading.Event(), {}
    th = threading.Thread(target=sampler, args=(stop, seen), daemon=True)
    th.start()
    try:
        out, err = T.once(cfg, T.path("state"))
    finally:
        stop.set()
        th.join()
    creating, peak, active_seen, bad = 0, 0, set(), []
    active_re = re.compile(r"Stream (\S+) is ACTIVE \(")
    for line in err.splitlines():
        if "HTTP: Kinesis.CreateStream POST attempt" in line:
            creating += 1
        m = active_re.search(line)
        if m and m.group(1) in names and m.group(1) not in active_seen:
            active_seen.add(m.group(1))
            creating -= 1
        peak = max(peak, creating)
        if creating > 5:
            bad.append(line)
    T.check(err.count("HTTP: Kinesis.CreateStream POST attempt 1/") == N, "one CreateStream per stream")
    T.check(not bad, "never more than 5 CreateStream out without the stream seen ACTIVE", "\n".join(bad[:5]))
    T.check(peak == 5, "all 5 slots used (peak %d)" % peak)
    T.check(active_seen == set(names), "every stream seen ACTIVE", str(set(names) - active_seen))
    T.check("LimitExceededException" not in err, "no LimitExceededException")
    T.check(len(seen) >= 6 and max_overlap(seen) <= 5,
            "the mock never had more than 5 CREATING (%d seen CREATING, at most %d at once)" %
            (len(seen), max_overlap(seen)))
    for n in names:
        T.check(T.describe(n)["StreamStatus"] == "ACTIVE", "%s ACTIVE" % n)


def test_timing():
    # ceil(12/5) = 3 rounds of 2 s; allow for polling, pacing and a slow host.
    cfg = T.path("kinesisd.yaml")
    t0 = time.monotonic()
    T.write("kinesisd2.yaml", open(cfg).read().replace("s0", "t0").replace("s1", "t1"))
    T.once(T.path("kinesisd2.yaml"), T.path("state2"))
    secs = time.monotonic() - t0
    T.check(3 * DURATION <= secs < 3 * DURATION + 8, "12 streams in %.1fs: about 3 creation times" % secs)


def test_full_account_withdraws_queued():
    """The account is full of someone else's CREATING streams (made straight
    at the mock, 4 s each). kinesisd's first CreateStream is refused; the
    ones already waiting for their turn in the pacer must not go out into
    the same refusal (each would be a refused call, from a host that already
    knows better): they are withdrawn and queued again, in order."""
    T.private_mock(duration="4000ms")
    T.allow_refusals()
    foreign = ["%sx%d" % (T.prefix, i) for i in range(5)]
    mine = ["%sw%d" % (T.prefix, i) for i in range(5)]
    for n in foreign:
        T.mock_call("CreateStream", {"StreamName": n, "ShardCount": 1})
    cfg = T.write("kinesisd3.yaml", AWS_HEAD + """reconcile:
  poll: 100ms
  timeout: 40s
streams:
""" + "".join("  - name: %s\n    shards: 1\n" % n for n in mine))
    out, err = T.once(cfg, T.path("state3"))
    withdrawn = re.findall(r"Stream (\S+): CreateStream withdrawn before it went out", err)
    refused = set(re.findall(r"Kinesis CreateStream (\S+): HTTP 400 LimitExceededException", err))
    T.check(withdrawn, "CreateStream calls waiting for their turn were withdrawn", err[-3000:])
    # Paced at 2.5 a second, the first is refused and the hold begins
    # before the fourth and fifth are due: they never meet a refusal (the
    # first, and one or two whose turn came before its answer, may).
    # The line: the order their first CreateStream was answered or withdrawn.
    line = []
    for m in re.finditer(r"Kinesis CreateStream (\S+): HTTP|Stream (\S+): CreateStream withdrawn", err):
        n = m.group(1) or m.group(2)
        if n not in line:
            line.append(n)
    T.check(sorted(line) == sorted(mine), "each in line once: %s" % line)
    T.check(refused and refused <= set(line[:3]),
            "refused only at the head of the line: %s of %s" % (sorted(refused), line))
    created = re.findall(r"Stream (\S+): created \(", err)
    T.check(created == line, "created in the order they stood in line: %s" % created)
    for n in mine:
        T.check(T.describe(n)["StreamStatus"] == "ACTIVE", "%s ACTIVE" % n)


T.run(test_at_most_5_creating, test_timing, test_full_account_withdraws_queued)
