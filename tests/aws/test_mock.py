#!/usr/bin/env python3
"""Every Kinesis operation kinesisd uses, through kinesis-call (the daemon's
whole AWS stack) against kinesis-mock on 127.0.0.1.

  test_mock.py KINESIS_CALL PORT_FILE

Exits 77 (skip) when the port file is missing and KINESISD_SKIP_INTEGRATION
is set; fails otherwise."""
import json
import os
import sys
import time

from awstest import Suite
from kinesisd_test.mock import last_json
from kinesisd_test.ports import mock_port

kc, port_file = sys.argv[1], sys.argv[2]
PORT = mock_port(port_file)
ENDPOINT = "http://127.0.0.1:%d" % PORT
S = Suite("aws-mock", kc)
TAG = "%d-%d" % (os.getpid(), int(time.time()) % 100000)
NAME = "kc-main-" + TAG
NAME2 = "kc-second-" + TAG
state = {}


def call(op, req, *extra, expect=0, env=None):
    rc, out, err, _ = S.call(["--endpoint", ENDPOINT, "--region", "us-east-1"] + list(extra)
                             + [op, json.dumps(req)], env=env)
    S.check(rc == expect, "%s: exit %d, expected %d" % (op, rc, expect), err + out)
    if rc == 0:
        return last_json(out)
    return err


def describe(name=NAME):
    return call("DescribeStreamSummary", {"StreamName": name})["StreamDescriptionSummary"]


def wait_active(name=NAME, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d = describe(name)
        if d["StreamStatus"] == "ACTIVE":
            return d
        time.sleep(0.2)
    S.check(False, "stream %s not ACTIVE within %ds" % (name, timeout))


def test_create_and_wait_active():
    call("CreateStream", {"StreamName": NAME, "ShardCount": 2,
                          "StreamModeDetails": {"StreamMode": "PROVISIONED"},
                          "Tags": {"team": "ops"}})
    call("CreateStream", {"StreamName": NAME2, "ShardCount": 1})
    d = wait_active()
    S.check(d["OpenShardCount"] == 2, "shards", str(d))
    S.check(d["StreamARN"].endswith(":stream/" + NAME), "arn", str(d))
    state["arn"] = d["StreamARN"]
    wait_active(NAME2)


def test_list_streams():
    names = call("ListStreams", {})["StreamNames"]
    S.check(NAME in names and NAME2 in names, "ListStreams names", str(names))
    # Paged through the helper with pages of one: the mock answers names only,
    # so this pages by ExclusiveStartStreamName.
    streams = call("ListStreams", {}, "--paged", "--limit", "1")["Streams"]
    got = [s["StreamName"] for s in streams]
    S.check(NAME in got and NAME2 in got and len(got) == len(set(got)), "paged ListStreams", str(got))


def test_tags():
    call("AddTagsToStream", {"StreamName": NAME, "Tags": {"env": "test", "owner": "kinesisd"}})
    tags = call("ListTagsForStream", {"StreamName": NAME})["Tags"]
    got = {t["Key"]: t["Value"] for t in tags}
    S.check(got == {"team": "ops", "env": "test", "owner": "kinesisd"}, "tags after add", str(got))
    paged = call("ListTagsForStream", {"StreamName": NAME}, "--paged", "--limit", "1")["Tags"]
    S.check(paged == got, "paged ListTagsForStream", str(paged))
    call("RemoveTagsFromStream", {"StreamName": NAME, "TagKeys": ["env", "team"]})
    tags = call("ListTagsForStream", {"StreamName": NAME})["Tags"]
    S.check([t["Key"] for t in tags] == ["owner"], "tags after remove", str(tags))


def test_retention():
    call("IncreaseStreamRetentionPeriod", {"StreamName": NAME, "RetentionPeriodHours": 48})
    S.check(wait_active()["RetentionPeriodHours"] == 48, "retention 48")
    call("DecreaseStreamRetentionPeriod", {"StreamName": NAME, "RetentionPeriodHours": 24})
    S.check(wait_active()["RetentionPeriodHours"] == 24, "retention 24")


def test_encryption():
    call("StartStreamEncryption", {"StreamName": NAME, "EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"})
    d = wait_active()
    S.check(d.get("EncryptionType") == "KMS" and d.get("KeyId") == "alias/aws/kinesis", "encrypted", str(d))
    call("StopStreamEncryption", {"StreamName": NAME, "EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"})
    d = wait_active()
    S.check(d.get("EncryptionType") == "NONE", "not encrypted", str(d))


def test_monitoring():
    r = call("EnableEnhancedMonitoring", {"StreamName": NAME, "ShardLevelMetrics": ["IncomingBytes", "OutgoingRecords"]})
    S.check(sorted(r.get("DesiredShardLevelMetrics", [])) == ["IncomingBytes", "OutgoingRecords"], "enable", str(r))
    d = wait_active()
    got = sorted(m for e in d.get("EnhancedMonitoring", []) for m in e.get("ShardLevelMetrics", []))
    S.check(got == ["IncomingBytes", "OutgoingRecords"], "metrics on", str(d))
    call("DisableEnhancedMonitoring", {"StreamName": NAME, "ShardLevelMetrics": ["ALL"]})
    d = wait_active()
    got = [m for e in d.get("EnhancedMonitoring", []) for m in e.get("ShardLevelMetrics", [])]
    S.check(got == [], "metrics off", str(d))


def test_update_shard_count():
    r = call("UpdateShardCount", {"StreamName": NAME, "TargetShardCount": 4, "ScalingType": "UNIFORM_SCALING"})
    S.check(r.get("TargetShardCount") == 4, "UpdateShardCount answer", str(r))
    S.check(wait_active()["OpenShardCount"] == 4, "4 shards")


def test_update_stream_mode():
    # The mock allows ON_DEMAND_STREAM_COUNT_LIMIT (10) on-demand streams; go
    # back to provisioned so reruns on the same mock do not pile up.
    call("UpdateStreamMode", {"StreamARN": state["arn"], "StreamModeDetails": {"StreamMode": "ON_DEMAND"}})
    d = wait_active()
    S.check(d["StreamModeDetails"]["StreamMode"] == "ON_DEMAND", "on demand", str(d))
    call("UpdateStreamMode", {"StreamARN": state["arn"], "StreamModeDetails": {"StreamMode": "PROVISIONED"}})
    d = wait_active()
    S.check(d["StreamModeDetails"]["StreamMode"] == "PROVISIONED", "provisioned", str(d))


def test_consumers():
    r = call("RegisterStreamConsumer", {"StreamARN": state["arn"], "ConsumerName": "reader"})
    S.check(r["Consumer"]["ConsumerName"] == "reader", "register", str(r))
    call("RegisterStreamConsumer", {"StreamARN": state["arn"], "ConsumerName": "auditor"})
    deadline = time.monotonic() + 60
    while True:
        d = call("DescribeStreamConsumer", {"StreamARN": state["arn"], "ConsumerName": "reader"})
        if d["ConsumerDescription"]["ConsumerStatus"] == "ACTIVE":
            break
        S.check(time.monotonic() < deadline, "consumer not ACTIVE", str(d))
        time.sleep(0.2)
    lst = call("ListStreamConsumers", {"StreamARN": state["arn"]})
    names = sorted(c["ConsumerName"] for c in lst["Consumers"])
    S.check(names == ["auditor", "reader"], "ListStreamConsumers", str(lst))
    # kinesis-mock 0.6 answers NextToken null even when it cut a page short, so
    # paging by MaxResults is tested against the fake endpoint (test_fake_endpoint.py).
    paged = call("ListStreamConsumers", {"StreamARN": state["arn"]}, "--paged")
    S.check(sorted(c["ConsumerName"] for c in paged["Consumers"]) == names, "paged consumers", str(paged))


def test_describe_limits():
    r = call("DescribeLimits", {})
    S.check(r.get("ShardLimit", 0) > 0 and "OpenShardCount" in r, "DescribeLimits", str(r))


def test_update_max_record_size():
    # kinesis-mock 0.6 implements UpdateMaxRecordSize and reports it back.
    call("UpdateMaxRecordSize", {"StreamARN": state["arn"], "MaxRecordSizeInKiB": 2048})
    d = wait_active()
    S.check(d.get("MaxRecordSizeInKiB") == 2048, "MaxRecordSizeInKiB", str(d))


def test_create_on_demand_with_max_record_size():
    name = "kc-od-" + TAG
    call("CreateStream", {"StreamName": name, "StreamModeDetails": {"StreamMode": "ON_DEMAND"},
                          "MaxRecordSizeInKiB": 4096})
    d = wait_active(name)
    S.check(d["StreamModeDetails"]["StreamMode"] == "ON_DEMAND", "on-demand created", str(d))
    call("DeleteStream", {"StreamName": name})


def test_resource_not_found():
    err = call("DescribeStreamSummary", {"StreamName": "kc-missing-" + TAG}, expect=1)
    lines = [l for l in err.splitlines() if l.startswith("ResourceNotFoundException: ")]
    S.check(len(lines) == 1 and "not found" in lines[0], "error line", err)
    # Transport failure: exit 2 (nothing listens on port 1).
    rc, out, err, _ = S.call(["--endpoint", "http://127.0.0.1:1", "--region", "us-east-1",
                              "--max-attempts", "2", "--retry-base-ms", "1", "ListStreams", "{}"])
    S.check(rc == 2 and "Connection refused" in err, "connection refused exits 2", err)


def test_endpoint_from_environment():
    rc, out, err, _ = S.call(["ListStreams", "{}"],
                             env={"AWS_ENDPOINT_URL_KINESIS": ENDPOINT, "AWS_REGION": "us-east-1",
                                  "AWS_ENDPOINT_URL": "http://127.0.0.2:1/"})
    S.check(rc == 0 and NAME in out, "AWS_ENDPOINT_URL_KINESIS wins", err)
    rc, out, err, _ = S.call(["ListStreams", "{}"],
                             env={"AWS_ENDPOINT_URL": ENDPOINT, "AWS_DEFAULT_REGION": "us-east-1"})
    S.check(rc == 0 and NAME in out, "AWS_ENDPOINT_URL", err)


def test_https_to_mock_is_verified():
    # The mock's TLS port uses a self-signed certificate: verification must fail.
    # (Its TLS port is not published; the plain port speaking https fails too.)
    rc, out, err, _ = S.call(["--endpoint", "https://127.0.0.1:%d" % PORT, "--region", "us-east-1",
                              "--max-attempts", "1", "ListStreams", "{}"])
    S.check(rc == 2, "https to a plain port fails", err)


for t in (test_create_and_wait_active, test_list_streams, test_tags, test_retention, test_encryption,
          test_monitoring, test_update_shard_count, test_update_stream_mode, test_consumers,
          test_describe_limits, test_update_max_record_size, test_create_on_demand_with_max_record_size,
          test_resource_not_found, test_endpoint_from_environment, test_https_to_mock_is_verified):
    S.run(t)
call("DeleteStream", {"StreamName": NAME2})
sys.exit(S.summary())
