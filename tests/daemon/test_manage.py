#!/usr/bin/env python3
"""daemon-manage-modes: manage: create-only creates a missing stream and
never changes an existing one; manage: observe never creates or changes
anything, only exports; drift under both stays, and --plan marks it "!".
observe of a missing stream fails --once with exit 1 and a message naming
the stream."""

from daemonlib import AWS_HEAD, Test, change_calls
from kinesisd_test.state import read_state

T = Test("manage", "us-west-2")
P = T.prefix

CONFIG = AWS_HEAD + """reconcile:
  poll: 100ms
  timeout: 30s
defaults:
  tags: { managed-by: kinesisd }
streams:
  - name: {prefix}co
    shards: 1
    retention_hours: 48
    manage: create-only
  - name: {prefix}obs
    retention_hours: 72
    manage: observe
"""
MISSING = AWS_HEAD + """reconcile:
  poll: 100ms
streams:
  - name: {prefix}obs
    manage: observe
  - name: {prefix}ghost
    manage: observe
"""
cfg = T.write("kinesisd.yaml", CONFIG)
state = T.path("state")


def test_create_only_creates():
    # The observed stream is someone else's: made out of band, 2 shards, 24h.
    T.kc("CreateStream", {"StreamName": P + "obs", "ShardCount": 2})
    T.wait_active(P + "obs")
    out, err = T.once(cfg, state)
    # A stream create-only creates is finished like any new stream: its
    # declared retention is applied right after the create.
    T.check(change_calls(err) == ["CreateStream", "IncreaseStreamRetentionPeriod"],
            "only the create-only stream is created, then given its retention", str(change_calls(err)))
    d = T.describe(P + "co")
    T.check(d["OpenShardCount"] == 1 and d["StreamStatus"] == "ACTIVE", "create-only stream created", str(d))
    T.check(d["RetentionPeriodHours"] == 48, "create-only stream has its declared retention", str(d))
    d = T.describe(P + "obs")
    T.check(d["RetentionPeriodHours"] == 24 and d["OpenShardCount"] == 2, "observed stream untouched", str(d))
    T.check(T.tags(P + "obs") == {}, "observed stream: no tags added", str(T.tags(P + "obs")))
    st = read_state(state)
    T.check(st["arn"].get((T.region, P + "obs")) == d["StreamARN"], "observed stream's ARN exported")


def test_drift_stays():
    T.kc("UpdateShardCount", {"StreamName": P + "co", "TargetShardCount": 2, "ScalingType": "UNIFORM_SCALING"})
    T.wait_active(P + "co")
    T.kc("AddTagsToStream", {"StreamName": P + "co", "Tags": {"rogue": "1"}})
    T.kc("DecreaseStreamRetentionPeriod", {"StreamName": P + "co", "RetentionPeriodHours": 24})
    T.wait_active(P + "co")
    out, err = T.once(cfg, state)
    T.check(change_calls(err) == [], "no change call under create-only/observe", str(change_calls(err)))
    d = T.describe(P + "co")
    T.check(d["OpenShardCount"] == 2 and d["RetentionPeriodHours"] == 24, "create-only drift stays", str(d))
    T.check(T.tags(P + "co").get("rogue") == "1", "undeclared tag stays")
    d = T.describe(P + "obs")
    T.check(d["RetentionPeriodHours"] == 24, "observe drift stays", str(d))
    st = read_state(state)
    by = {s["name"]: s for s in st["json"]["streams"]}
    T.check(by[P + "co"]["status"] == "ACTIVE" and by[P + "co"]["shards"] == 2,
            "create-only stream exported as it is", str(by[P + "co"]))

    rc, out, err, _ = T.daemon("-c", cfg, "--plan", "--log-level", "debug")
    T.check(rc == 0, "--plan: exit 0 (nothing it may change)", "rc %d\n%s%s" % (rc, out, err[-3000:]))
    lines = {l.split()[1]: l for l in out.splitlines() if l.strip()}
    T.check(lines.get(P + "co", "").startswith("! ") and "create-only, no change" in lines.get(P + "co", ""),
            "--plan: create-only drift is '!'", out)
    T.check(lines.get(P + "obs", "").startswith("! ") and "manage: observe (no change)" in lines.get(P + "obs", ""),
            "--plan: observe drift is '!'", out)
    T.check(change_calls(err) == [], "--plan: no change call", str(change_calls(err)))


def test_observe_missing_fails():
    cfg2 = T.write("missing.yaml", MISSING)
    rc, out, err, secs = T.daemon("-c", cfg2, "--state-dir", T.path("state2"), "--once")
    T.check(rc == 1, "observe of a missing stream: exit 1", "rc %d\n%s" % (rc, err[-3000:]))
    T.check(any(P + "ghost" in l and "does not exist" in l for l in err.splitlines()),
            "the message names the stream and says it does not exist", err[-3000:])
    T.check(not any(P + "ghost" in l and "does not exist" in l and "(will retry)" in l for l in err.splitlines()),
            "a missing observed stream is no transient failure: it waits for the next interval", err[-3000:])
    T.check(not T.exists(P + "ghost"), "the observed-only stream was not created")
    st = read_state(T.path("state2"))
    by = {s["name"]: s for s in st["json"]["streams"]}
    T.check(by[P + "ghost"]["status"] == "FAILED" and by[P + "ghost"]["arn"] is None,
            "missing stream exported as FAILED without ARN", str(by[P + "ghost"]))
    T.check(by[P + "ghost"]["last_error"] and "does not exist" in by[P + "ghost"]["last_error"],
            "last_error says why", str(by[P + "ghost"]["last_error"]))
    lab = '{region="%s",stream="%s"}' % (T.region, P + "ghost")
    T.check(st["prom"].get("kinesisd_stream_failed" + lab) == 1.0, "metrics: ghost failed")
    T.check(by[P + "obs"]["status"] == "ACTIVE", "the other stream is fine", str(by[P + "obs"]))


BAD_KEY = AWS_HEAD + """reconcile:
  poll: 100ms
streams:
  - name: {prefix}badkey
    shards: 1
    encryption: { kms_key: "arn:aws:kms:{region}:123456789012:key/not-a-key" }
"""


def test_failed_existing_stream():
    # The stream exists, but its pass fails (AWS refuses the key): it is
    # exported with its ARN, status FAILED, the error, and the failed gauge.
    cfg3 = T.write("badkey.yaml", BAD_KEY)
    st3 = T.path("state3")
    rc, out, err, secs = T.daemon("-c", cfg3, "--state-dir", st3, "--once")
    T.check(rc == 1, "refused change: exit 1", "rc %d\n%s" % (rc, err[-3000:]))
    T.check(any(P + "badkey" in l and "StartStreamEncryption" in l for l in err.splitlines()),
            "the log names the stream and the refused operation", err[-3000:])
    d = T.describe(P + "badkey")
    st = read_state(st3)
    s = {x["name"]: x for x in st["json"]["streams"]}[P + "badkey"]
    T.check(s["status"] == "FAILED" and s["arn"] == d["StreamARN"], "exported FAILED with its ARN", str(s))
    T.check(s["last_error"] and "StartStreamEncryption" in s["last_error"], "last_error says why", str(s))
    T.check(st["arn"].get((T.region, P + "badkey")) == d["StreamARN"], ".arn file kept for the existing stream")
    lab = '{region="%s",stream="%s"}' % (T.region, P + "badkey")
    T.check(st["prom"].get("kinesisd_stream_failed" + lab) == 1.0, "metrics: badkey failed",
            str(st["prom"].get("kinesisd_stream_failed" + lab)))
    T.check(st["prom"].get("kinesisd_stream_active" + lab) == 0.0, "metrics: badkey not counted active",
            str(st["prom"].get("kinesisd_stream_active" + lab)))


T.run(test_create_only_creates, test_drift_stays, test_observe_missing_fails, test_failed_existing_stream)
