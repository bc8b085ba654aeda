#!/usr/bin/env python3
"""daemon-conflict: two daemons on one account declare the same streams
differently (tag owner A vs B; retention 48 h vs 24 h), each with a resync
interval of 2 s. Without conflict detection each would flip both streams
back on every pass, silently. Asserted:

- each daemon logs the conflict warning (MESSAGE_ID ...c08, shown on stderr
  at debug level) naming the stream, the setting and both values, within a
  few passes;
- the flips (AddTagsToStream and retention calls of both daemons) stay well
  below one per setting per pass per daemon: corrections of a setting
  changed back are held with exponential backoff (measured: 11 flips in 16
  passes over 25 s, where flipping every pass would be about 32);
- metrics.prom counts the conflicts (kinesisd_conflicts_total >= 1) and
  shows the settings held per stream (kinesisd_stream_conflict_held)."""
import os
import re
import time

from daemonlib import AWS_HEAD, Test, calls
from kinesisd_test.process import stop, wait_for
from kinesisd_test.state import metrics, parse_prom

T = Test("conflict", "sa-east-1")
P = T.prefix
CONFLICT_ID = "6b1e5c0a7f2d4c1e9a3b8d2f4e6a1c08"
# How long both run side by side: about 12 passes each at 2 s.
WATCH = 25

CONFIG = AWS_HEAD + """reconcile:
  poll: 200ms
  interval: 2s
  timeout: 30s
streams:
  - name: {prefix}tags
    shards: 1
    tags: { owner: OWNER }
  - name: {prefix}ret
    shards: 1
    retention_hours: RETENTION
"""


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def conflict_lines(log):
    return [l for l in log.splitlines() if "[MESSAGE_ID=%s]" % CONFLICT_ID in l]


def held_now(d):
    """Settings a daemon holds now, per its metrics.prom (0 while unreadable)."""
    try:
        with open(d["metrics"]) as f:
            prom = parse_prom(f.read())
    except (OSError, ValueError):
        return 0
    return sum(v for k, v in prom.items() if k.startswith("kinesisd_stream_conflict_held{"))


def test_two_daemons():
    # Two daemons pace their calls on one stream each for itself: together
    # they may pass a per-stream rate the strict proxy enforces. That is the
    # setup under test (one kinesisd per account is the supported case).
    T.allow_refusals()
    for n in ("tags", "ret"):
        T.kc("CreateStream", {"StreamName": P + n, "ShardCount": 1})
    for n in ("tags", "ret"):
        T.wait_active(P + n)

    daemons = []
    for who, owner, retention in (("a", "A", 48), ("b", "B", 24)):
        cfg = T.write("%s.yaml" % who, CONFIG.replace("OWNER", owner).replace("RETENTION", str(retention)))
        log = T.path("%s.log" % who)
        state = T.path("state-%s" % who)
        proc = T.spawn("-c", cfg, "--state-dir", state, "--log-level", "debug", stderr_path=log)
        daemons.append({"who": who, "owner": owner, "retention": retention, "log": log, "proc": proc,
                        "metrics": os.path.join(state, "metrics.prom")})
    try:
        t0 = time.monotonic()
        # Both see the other's change back within a few passes (generous:
        # a loaded machine).
        seen = wait_for(lambda: all(len(conflict_lines(read(d["log"]))) >= 2 for d in daemons), 60)
        T.check(seen, "each daemon warns of both conflicts within 60 s",
                "\n".join(d["who"] + ":\n" + read(d["log"])[-3000:] for d in daemons))
        # Meanwhile metrics.prom shows, per stream, the settings held.
        while time.monotonic() - t0 < WATCH:
            for d in daemons:
                d["held_seen"] = max(d.get("held_seen", 0), held_now(d))
            time.sleep(0.2)
        T.check(all(d.get("held_seen", 0) >= 1 for d in daemons),
                "metrics: kinesisd_stream_conflict_held >= 1 while a setting is held, in each daemon",
                [d.get("held_seen") for d in daemons])
        # metrics.prom is written at the end of each pass.
        counted = wait_for(lambda: all(metrics(d["metrics"]).get("kinesisd_conflicts_total", 0) >= 1
                                       for d in daemons), 20)
        T.check(counted, "metrics: kinesisd_conflicts_total >= 1 in each daemon",
                [metrics(d["metrics"]).get("kinesisd_conflicts_total") for d in daemons])
    finally:
        for d in daemons:
            T.check(stop(d["proc"], 20) == 0, "daemon %s stops with 0 on SIGTERM" % d["who"])
    elapsed = time.monotonic() - t0

    flips, passes = 0, 0
    for d in daemons:
        log = read(d["log"])
        T.check_sanitizers(log, "daemon %s" % d["who"])
        other = "B" if d["owner"] == "A" else "A"
        lines = conflict_lines(log)
        T.check(any(P + "tags" in l and "tags were changed back" in l and
                    '"owner" "%s" in AWS, kinesisd set "%s"' % (other, d["owner"]) in l and
                    "another party manages it. Not correcting tags for" in l for l in lines),
                "daemon %s: the tag conflict names the stream, the key and both values" % d["who"],
                "\n".join(lines) or log[-3000:])
        other_ret = 24 if d["retention"] == 48 else 48
        T.check(any(P + "ret" in l and "retention was changed back to %dh after kinesisd set %dh" %
                    (other_ret, d["retention"]) in l for l in lines),
                "daemon %s: the retention conflict names both values" % d["who"], "\n".join(lines))
        ops = calls(log)
        d["tag_flips"] = ops.count("AddTagsToStream")
        d["ret_flips"] = ops.count("IncreaseStreamRetentionPeriod") + ops.count("DecreaseStreamRetentionPeriod")
        d["passes"] = len(re.findall(r"Pass done: ", log))
        flips += d["tag_flips"] + d["ret_flips"]
        passes += d["passes"]
    print("   %.0f s: %d passes, %d flips (%s)" % (elapsed, passes, flips, ", ".join(
        "%s: %d passes, %d tag and %d retention flips" % (d["who"], d["passes"], d["tag_flips"], d["ret_flips"])
        for d in daemons)))
    T.check(passes >= 12, "both daemons ran their passes (%d in %.0f s)" % (passes, elapsed))
    # Flipping on every pass would be one flip per setting per pass of each
    # daemon (two settings: about 2 x passes in all). Held for 1, 2, 4, 8
    # intervals after each revert, a daemon corrects a setting at most about
    # 5 times in 12 intervals, and in all less than half a flip per setting
    # per pass remains.
    for d in daemons:
        T.check(d["tag_flips"] <= 5 and d["ret_flips"] <= 5,
                "daemon %s: at most 5 corrections of each setting in %.0f s" % (d["who"], elapsed),
                "%d tag, %d retention" % (d["tag_flips"], d["ret_flips"]))
    T.check(flips <= passes, "flips well below one per setting per pass: %d flips in %d passes" %
            (flips, passes))


T.run(test_two_daemons)
