#!/usr/bin/env python3
"""daemon-drift: after kinesisd --once has converged, change each stream out
of band (shard count, retention, tags, encryption, mode, shard-level
metrics); the next --once corrects every change, which kinesis-call then
confirms. A declared 1 -> 8 shards goes through 2, 4 and 8. A further --once
finds nothing to change."""
import os
import re

from daemonlib import AWS_HEAD, Test, change_calls

T = Test("drift", "us-west-1")
P = T.prefix

CONFIG = AWS_HEAD + """reconcile:
  poll: 100ms
  timeout: 40s
defaults:
  tags: { managed-by: kinesisd }
streams:
  - name: {prefix}shards
    shards: 2
  - name: {prefix}retention
    shards: 1
    retention_hours: 48
  - name: {prefix}tags
    shards: 1
    tags: { team: alpha }
  - name: {prefix}enc
    shards: 1
    encryption: { kms_key: alias/aws/kinesis }
  - name: {prefix}mode
    shards: 1
  - name: {prefix}metrics
    shards: 1
    shard_level_metrics: [IncomingBytes]
  - name: {prefix}step
    shards: STEP
"""
cfg = T.path("kinesisd.yaml")
state = T.path("state")


def metrics_of(d):
    out = set()
    for em in d.get("EnhancedMonitoring", []):
        out |= set(em.get("ShardLevelMetrics", []))
    return out


def test_converge():
    T.write("kinesisd.yaml", CONFIG.replace("STEP", "1"))
    T.once(cfg, state)
    for s in ("shards", "retention", "tags", "enc", "mode", "metrics", "step"):
        T.check(T.describe(P + s)["StreamStatus"] == "ACTIVE", "%s ACTIVE" % s)


def test_drift_corrected():
    # Out-of-band changes, one per stream, each waited out.
    T.kc("UpdateShardCount", {"StreamName": P + "shards", "TargetShardCount": 4,
                              "ScalingType": "UNIFORM_SCALING"})
    T.kc("DecreaseStreamRetentionPeriod", {"StreamName": P + "retention", "RetentionPeriodHours": 24})
    T.kc("AddTagsToStream", {"StreamName": P + "tags", "Tags": {"rogue": "x", "team": "beta"}})
    T.kc("StopStreamEncryption", {"StreamName": P + "enc", "EncryptionType": "KMS",
                                  "KeyId": "alias/aws/kinesis"})
    arn = T.describe(P + "mode")["StreamARN"]
    T.kc("UpdateStreamMode", {"StreamARN": arn, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}})
    T.kc("DisableEnhancedMonitoring", {"StreamName": P + "metrics", "ShardLevelMetrics": ["IncomingBytes"]})
    T.wait_active(P + "metrics")
    T.kc("EnableEnhancedMonitoring", {"StreamName": P + "metrics", "ShardLevelMetrics": ["OutgoingBytes"]})
    for s in ("shards", "retention", "tags", "enc", "mode", "metrics"):
        T.wait_active(P + s)
    # The drift is really there.
    T.require(T.describe(P + "shards")["OpenShardCount"] == 4, "drift: 4 shards")
    T.require(T.describe(P + "retention")["RetentionPeriodHours"] == 24, "drift: retention 24h")
    T.require(T.describe(P + "enc").get("EncryptionType", "NONE") == "NONE", "drift: not encrypted")
    T.require(T.describe(P + "mode")["StreamModeDetails"]["StreamMode"] == "ON_DEMAND", "drift: on-demand")
    T.require(metrics_of(T.describe(P + "metrics")) == {"OutgoingBytes"}, "drift: metrics")

    out, err = T.once(cfg, state)
    d = T.describe(P + "shards")
    T.check(d["OpenShardCount"] == 2, "shards corrected 4 -> 2", str(d["OpenShardCount"]))
    d = T.describe(P + "retention")
    T.check(d["RetentionPeriodHours"] == 48, "retention corrected 24h -> 48h", str(d["RetentionPeriodHours"]))
    tags = T.tags(P + "tags")
    T.check(tags == {"managed-by": "kinesisd", "team": "alpha"},
            "undeclared tag removed, declared value restored", str(tags))
    d = T.describe(P + "enc")
    T.check(d.get("EncryptionType") == "KMS" and d.get("KeyId") == "alias/aws/kinesis",
            "encryption restarted", str(d))
    d = T.describe(P + "mode")
    T.check(d["StreamModeDetails"]["StreamMode"] == "PROVISIONED" and d["OpenShardCount"] == 1,
            "mode back to PROVISIONED with 1 shard", str(d))
    d = T.describe(P + "metrics")
    T.check(metrics_of(d) == {"IncomingBytes"}, "shard-level metrics corrected", str(metrics_of(d)))
    for op in ("UpdateShardCount", "IncreaseStreamRetentionPeriod", "RemoveTagsFromStream",
               "AddTagsToStream", "StartStreamEncryption", "UpdateStreamMode",
               "EnableEnhancedMonitoring", "DisableEnhancedMonitoring"):
        T.check(op in change_calls(err), "%s called" % op, str(change_calls(err)))
    # Every change is logged with the stream it was made to.
    for s, what in (("shards", "shards 4 -> 2"), ("retention", "retention 24h -> 48h"),
                    ("enc", "encryption with alias/aws/kinesis"), ("mode", "mode set to PROVISIONED")):
        T.check("Stream %s%s: %s." % (P, s, what) in err, "log says: %s: %s" % (s, what))
    st = T.path("state", "streams.json")
    T.check(os.path.exists(st), "streams.json written")


def test_step_up():
    T.write("kinesisd.yaml", CONFIG.replace("STEP", "8"))
    out, err = T.once(cfg, state)
    steps = re.findall(r"Stream %sstep: shards (\d+) -> (\d+)\." % re.escape(P), err)
    T.check(steps == [("1", "2"), ("2", "4"), ("4", "8")], "1 -> 8 in steps 2, 4, 8", str(steps))
    d = T.describe(P + "step")
    T.check(d["OpenShardCount"] == 8 and d["StreamStatus"] == "ACTIVE", "8 open shards, ACTIVE", str(d))


def test_converged():
    out, err = T.once(cfg, state)
    T.check(change_calls(err) == [], "nothing left to change", str(change_calls(err)))


T.run(test_converge, test_drift_corrected, test_step_up, test_converged)
