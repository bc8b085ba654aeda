#!/usr/bin/env python3
"""daemon-create-pending: a manage: create-only stream kinesisd created is
finished on a later run when the first was cut short. SIGTERM to --once
right after CreateStream (the stream still CREATING, on a mock whose
creations take 3 s) leaves it without its declared retention and
encryption, recorded as pending in budgets.json; --plan then shows those
changes and exits 2; the next --once applies them, exits 0 and clears the
pending mark; after that the stream is left alone, as create-only says,
even when its retention is changed by hand."""
import json
import os
import signal
import time

from daemonlib import AWS_HEAD, Test, change_calls
from kinesisd_test.process import wait_for

T = Test("pending", "ap-south-1")
P = T.prefix
NAME = P + "co"

CONFIG = AWS_HEAD + """reconcile:
  poll: 200ms
  timeout: 60s
streams:
  - name: {prefix}co
    shards: 1
    retention_hours: 48
    encryption: { kms_key: alias/aws/kinesis }
    manage: create-only
"""
state = T.path("state")


def pending():
    """The stream's pending mark in budgets.json (None if not pending)."""
    try:
        with open(os.path.join(state, "budgets.json")) as f:
            book = json.load(f)
    except FileNotFoundError:
        return None
    for s in book["streams"]:
        if s["name"] == NAME and s["region"] == T.region:
            return s.get("pending")
    return None


def test_cut_short():
    T.private_mock(duration="3s")
    cfg = T.write("kinesisd.yaml", CONFIG)
    log = T.path("first.log")
    p = T.spawn("-c", cfg, "--state-dir", state, "--once", "--log-level", "debug", stderr_path=log)
    try:
        created = "Stream %s: created (1 shard)." % NAME

        def seen():
            with open(log) as f:
                return created in f.read()
        T.require(wait_for(seen, 60), "the first run creates the stream")
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    with open(log) as f:
        err = f.read()
    T.check(rc != 0, "a --once cut short does not exit 0 (exit %d)" % rc, err[-3000:])
    T.check(change_calls(err) == ["CreateStream"], "cut short right after CreateStream",
            str(change_calls(err)))
    T.check(pending() is not None, "budgets.json records the creation as pending")
    d = T.wait_active(NAME)
    T.require(d["RetentionPeriodHours"] == 24 and d.get("EncryptionType", "NONE") == "NONE",
              "declared settings not applied yet", str(d))


def test_plan_shows_pending():
    time.sleep(0.5)  # ListStreams: 5 a second per account, across processes
    rc, out, err, _ = T.daemon("-c", T.path("kinesisd.yaml"), "--state-dir", state, "--plan")
    T.check(rc == 2, "--plan exits 2 for the pending settings (exit %d)" % rc, out + err)
    T.check("~ %s" % NAME in out and "retention 24h -> 48h" in out and "encryption none -> alias/aws/kinesis"
            in out and "create-only" not in out, "--plan shows the pending settings as changes", out)


def test_second_run_completes():
    time.sleep(0.5)
    out, err = T.once(T.path("kinesisd.yaml"), state)
    T.check(change_calls(err) == ["IncreaseStreamRetentionPeriod", "StartStreamEncryption"],
            "the second run applies retention and encryption", str(change_calls(err)))
    d = T.describe(NAME)
    T.check(d["RetentionPeriodHours"] == 48 and d.get("KeyId") == "alias/aws/kinesis",
            "the stream has its declared settings", str(d))
    T.check(pending() is None, "the pending mark is cleared")


def test_then_left_alone():
    T.kc("DecreaseStreamRetentionPeriod", {"StreamName": NAME, "RetentionPeriodHours": 24})
    T.wait_active(NAME)
    time.sleep(0.5)
    out, err = T.once(T.path("kinesisd.yaml"), state)
    T.check(change_calls(err) == [], "create-only leaves the finished stream alone", str(change_calls(err)))
    T.check(T.describe(NAME)["RetentionPeriodHours"] == 24, "the retention set by hand stays")
    time.sleep(0.5)
    rc, out, err, _ = T.daemon("-c", T.path("kinesisd.yaml"), "--state-dir", state, "--plan")
    T.check(rc == 0 and "! %s" % NAME in out and "retention 24h -> 48h (create-only, no change)" in out,
            "--plan reports the drift without acting (exit %d)" % rc, out + err)


T.run(test_cut_short, test_plan_shows_pending, test_second_run_completes, test_then_left_alone)
