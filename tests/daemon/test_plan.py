#!/usr/bin/env python3
"""daemon-plan: --plan against a fixed scenario prints exactly the expected
lines (DESIGN §2: sigil, name padded to the longest, summary; sorted by
region and name, the order of the configuration as loaded), exits 2 when there are changes and 0 when everything is in sync,
writes nothing (the state directory is not even created) and makes no
change in AWS."""
import os

from daemonlib import AWS_HEAD, Test, change_calls

T = Test("plan", "ca-central-1")
P = T.prefix

CONFIG = AWS_HEAD + """reconcile:
  poll: 100ms
streams:
  - name: {prefix}clicks
    shards: 2
    tags: { team: web, env: prod }
  - name: {prefix}orders
    shards: 8
    retention_hours: 48
  - name: {prefix}audit
    shards: 1
  - name: {prefix}legacy-stream
    manage: observe
"""
IN_SYNC = AWS_HEAD + """streams:
  - name: {prefix}audit
    shards: 1
  - name: {prefix}orders
    shards: 2
  - name: {prefix}legacy-stream
    mode: on_demand
    manage: observe
"""

# (sigil, name suffix, summary): the golden output, without the padding that
# depends on the length of this run's prefix.
GOLDEN = [
    ("=", "audit", "in sync"),
    ("+", "clicks", "create: 2 shards, provisioned, retention 24h, tags 2"),
    ("!", "legacy-stream", "exists as ON_DEMAND, declared manage: observe (no change)"),
    ("~", "orders", "shards 2 -> 8 (steps 4, 8); retention 24h -> 48h"),
]


def golden():
    width = max(len(P + n) for _, n, _ in GOLDEN)
    return "".join("%s %-*s %s\n" % (s, width, P + n, text) for s, n, text in GOLDEN)


def setup():
    T.kc("CreateStream", {"StreamName": P + "orders", "ShardCount": 2})
    T.kc("CreateStream", {"StreamName": P + "audit", "ShardCount": 1})
    T.kc("CreateStream", {"StreamName": P + "legacy-stream",
                          "StreamModeDetails": {"StreamMode": "ON_DEMAND"}})
    for n in ("orders", "audit", "legacy-stream"):
        T.wait_active(P + n)


def test_golden():
    setup()
    cfg = T.write("kinesisd.yaml", CONFIG)
    state = T.path("state-never")
    rc, out, err, _ = T.daemon("-c", cfg, "--state-dir", state, "--plan", "--log-level", "debug")
    T.check(rc == 2, "--plan with changes: exit 2", "rc %d\n%s" % (rc, err[-3000:]))
    T.check(out == golden(), "--plan output is the golden one",
            "got:\n%swant:\n%s" % (out, golden()))
    T.check(change_calls(err) == [], "--plan makes no change call", str(change_calls(err)))
    T.check(not os.path.exists(state), "--plan does not create the state directory")
    T.check(not T.exists(P + "clicks"), "--plan created nothing")
    d = T.describe(P + "orders")
    T.check(d["OpenShardCount"] == 2 and d["RetentionPeriodHours"] == 24, "--plan changed nothing", str(d))


def test_state_dir_untouched():
    # An existing state directory (with a previous export) is left alone too.
    state = T.path("state")
    os.makedirs(os.path.join(state, "streams"))
    with open(os.path.join(state, "streams.env"), "w") as f:
        f.write("KINESIS_STREAM_X_ARN=arn:aws:kinesis:x\n")
    os.utime(os.path.join(state, "streams.env"), (1, 1))
    before = sorted(os.listdir(state)), os.stat(os.path.join(state, "streams.env"))
    cfg = T.write("kinesisd.yaml", CONFIG)
    rc, out, err, _ = T.daemon("-c", cfg, "--state-dir", state, "--plan")
    after = sorted(os.listdir(state)), os.stat(os.path.join(state, "streams.env"))
    T.check(rc == 2, "exit 2 again", str(rc))
    T.check(before[0] == after[0] and before[1].st_ino == after[1].st_ino and
            before[1].st_mtime_ns == after[1].st_mtime_ns, "state directory untouched",
            "%s\n%s" % (before, after))


def test_in_sync_exit_0():
    cfg = T.write("in-sync.yaml", IN_SYNC)
    rc, out, err, _ = T.daemon("-c", cfg, "--plan", "--log-level", "debug")
    T.check(rc == 0, "--plan in sync: exit 0", "rc %d\n%s%s" % (rc, out, err[-3000:]))
    width = len(P + "legacy-stream")
    want = ("= %-*s in sync\n= %-*s in sync\n= %-*s in sync\n" %
            (width, P + "audit", width, P + "legacy-stream", width, P + "orders"))
    T.check(out == want, "every line '= ... in sync'", "got:\n%swant:\n%s" % (out, want))
    T.check(change_calls(err) == [], "no change call", str(change_calls(err)))


T.run(test_golden, test_state_dir_untouched, test_in_sync_exit_0)
