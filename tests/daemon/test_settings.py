#!/usr/bin/env python3
"""daemon-settings: the stream settings AWS added since 2023, through the
real binary and the strict proxy against kinesis-mock.

resource_policy: a policy written as YAML, one read from a JSON file named
relative to the included file that declares it, and none (which removes a
policy set out of band). After --once each policy reads back as declared;
a second --once changes nothing; a policy changed behind kinesisd's back is
put back, while one AWS merely returns in another form (keys reordered,
whitespace, a single statement instead of a list of one) is left alone.

consumers as mappings (seven on one stream: more than the 5 that may be
CREATING at once, so the stream waits on its own registrations): tags (sent on RegisterStreamConsumer, kept with
TagResource/UntagResource on the consumer's ARN) and a consumer's own
resource_policy; read back, unchanged by a second run, drift corrected. A
stream declaring more consumers than AWS allows fails with a message that
says so.

warm_throughput_mibps and the account's minimum throughput commitment
(observed only): without a commitment the stream is not failed and the log,
streams.json and metrics.prom say why; with one (enabled here directly in
the mock, as an operator would) the warm throughput goes out with
CreateStream, is compared with the target AWS reports, and is corrected
after drift."""
import json
import os
import time

from daemonlib import AWS_HEAD, Test, calls, change_calls

T = Test("settings", "eu-west-3")
P = T.prefix

MAIN = AWS_HEAD + """reconcile:
  poll: 100ms
  timeout: 40s
include:
  - streams.d/*.yaml
streams:
  - name: {prefix}yaml
    shards: 1
    resource_policy:
      Version: "2012-10-17"
      Statement:
        - Sid: readers
          Effect: Allow
          Principal: { AWS: "arn:aws:iam::111122223333:root" }
          Action: [kinesis:GetRecords, kinesis:GetShardIterator]
          Resource: "*"
  - name: {prefix}none
    shards: 1
    resource_policy: none
  - name: {prefix}cons
    shards: 1
    consumers:
      - plain
      - p1
      - p2
      - p3
      - p4
      - name: tagged
        tags: { team: fraud, tier: "" }
      - name: pol
        resource_policy:
          Version: "2012-10-17"
          Statement: { Effect: Allow, Principal: { AWS: "111122223333" }, Action: kinesis:SubscribeToShard,
                       Resource: "*" }
"""
CONSUMER_POLICY = {"Version": "2012-10-17",
                   "Statement": {"Effect": "Allow", "Principal": {"AWS": "111122223333"},
                                 "Action": "kinesis:SubscribeToShard", "Resource": "*"}}

INCLUDED = """streams:
  - name: {prefix}file
    shards: 1
    resource_policy: { file: policies/file.json }
"""

FILE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "writers", "Effect": "Allow",
                   "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
                   "Action": ["kinesis:PutRecord", "kinesis:PutRecords"], "Resource": "*"}],
}
YAML_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "readers", "Effect": "Allow",
                   "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                   "Action": ["kinesis:GetRecords", "kinesis:GetShardIterator"], "Resource": "*"}],
}
ROGUE = {"Version": "2012-10-17",
         "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "kinesis:*", "Resource": "*"}]}

cfg = T.path("kinesisd.yaml")
state = T.path("state")


def arn(name):
    return T.describe(name)["StreamARN"]


def consumer_arn(stream, consumer):
    for c in T.mock_call("ListStreamConsumers", {"StreamARN": arn(stream)}).get("Consumers", []):
        if c["ConsumerName"] == consumer:
            return c["ConsumerARN"]
    raise AssertionError("consumer %s of %s not registered" % (consumer, stream))


def consumer_tags(stream, consumer):
    ans = T.mock_call("ListTagsForResource", {"ResourceARN": consumer_arn(stream, consumer)})
    return {t["Key"]: t.get("Value", "") for t in ans.get("Tags", [])}


def policy_of(name, resource_arn=None):
    """The stream's (or the resource's) policy as the mock holds it: a dict, or None."""
    try:
        ans = T.mock_call("GetResourcePolicy", {"ResourceARN": resource_arn or arn(name)})
    except Exception as e:  # noqa: BLE001 - the mock answers "none" with an error
        if "ResourceNotFoundException" in str(e):
            return None
        raise
    text = ans.get("Policy")
    doc = json.loads(text) if text else {}
    return doc or None


def plan(expect):
    """--plan: exit 0 when in sync, 2 when it would change something."""
    rc, out, err, _ = T.daemon("-c", cfg, "--state-dir", state, "--plan")
    T.check(rc == expect, "--plan exit %d" % expect, "rc %d\n%s%s" % (rc, out, err[-3000:]))
    return out


def put_policy(name, doc, text=None):
    T.mock_call("PutResourcePolicy", {"ResourceARN": arn(name), "Policy": text or json.dumps(doc)})


def test_policy_converge():
    T.write("kinesisd.yaml", MAIN)
    T.write("streams.d/file.yaml", INCLUDED)
    T.write("streams.d/policies/file.json", json.dumps(FILE_POLICY, indent=2) + "\n")
    # A stream declared with none already carries a policy: it goes.
    T.mock_call("CreateStream", {"StreamName": P + "none", "ShardCount": 1})
    T.wait_active(P + "none")
    put_policy(P + "none", ROGUE)
    T.require(policy_of(P + "none") == ROGUE, "setup: a policy on the none stream")

    out, err = T.once(cfg, state)
    T.check(policy_of(P + "yaml") == YAML_POLICY, "YAML policy reads back as declared",
            str(policy_of(P + "yaml")))
    T.check(policy_of(P + "file") == FILE_POLICY,
            "file policy (relative to the including file) reads back as declared", str(policy_of(P + "file")))
    T.check(policy_of(P + "none") is None, "resource_policy: none removed the policy",
            str(policy_of(P + "none")))
    ops = change_calls(err)
    T.check(ops.count("PutResourcePolicy") == 3 and ops.count("DeleteResourcePolicy") == 1,
            "three policies put (two streams, one consumer), one deleted", str(ops))
    T.check(consumer_tags(P + "cons", "tagged") == {"team": "fraud", "tier": ""},
            "consumer tags read back as declared", str(consumer_tags(P + "cons", "tagged")))
    T.check(consumer_tags(P + "cons", "plain") == {}, "a plain consumer gets no tags")
    got = policy_of(None, consumer_arn(P + "cons", "pol"))
    T.check(got == CONSUMER_POLICY, "consumer policy reads back as declared", str(got))


def test_policy_second_run_changes_nothing():
    out, err = T.once(cfg, state)
    T.check(change_calls(err) == [], "a second --once changes nothing", str(change_calls(err)))
    with open(os.path.join(state, "metrics.prom")) as f:
        T.check("kinesisd_changes_total 0\n" in f.read(), "metrics.prom: no change made by the second run")
    T.check(calls(err).count("GetResourcePolicy") == 4, "each declared policy read once",
            str(calls(err)))
    T.check(calls(err).count("ListTagsForResource") == 1, "the tagged consumer's tags read once",
            str(calls(err)))
    out = plan(0)
    T.check(out.count("in sync") == 4, "--plan: all in sync", out)


def test_policy_drift():
    # Changed behind kinesisd's back: put back. Only reformatted: left alone.
    put_policy(P + "yaml", ROGUE)
    reformatted = json.dumps({"Statement": {k: v for k, v in reversed(list(FILE_POLICY["Statement"][0].items()))},
                              "Version": "2012-10-17"}, indent=4)
    put_policy(P + "file", None, reformatted)
    put_policy(P + "none", ROGUE)
    out = plan(2)
    T.check("%sfile in sync" % P in out, "--plan: a reformatted equal policy is in sync", out)
    T.check("%syaml" % P in out and "resource policy differs -> declared" in out, "--plan shows the drift", out)
    T.check("resource policy -> none" in out, "--plan shows the policy to remove", out)
    out, err = T.once(cfg, state)
    T.check(policy_of(P + "yaml") == YAML_POLICY, "drifted policy put back", str(policy_of(P + "yaml")))
    T.check(policy_of(P + "none") is None, "policy set out of band on a none stream removed again")
    T.check("Stream %sfile: resource policy set." % P not in err, "a reformatted equal policy is not rewritten")
    T.check("Stream %syaml: resource policy set." % P in err, "the correction is logged")
    ops = change_calls(err)
    T.check(sorted(ops) == ["DeleteResourcePolicy", "PutResourcePolicy"], "exactly the two corrections",
            str(ops))
    out, err = T.once(cfg, state)
    T.check(change_calls(err) == [], "converged after the drift", str(change_calls(err)))


def test_consumer_drift():
    tagged = consumer_arn(P + "cons", "tagged")
    T.mock_call("TagResource", {"ResourceARN": tagged, "Tags": {"rogue": "x", "team": "other"}})
    pol = consumer_arn(P + "cons", "pol")
    T.mock_call("PutResourcePolicy", {"ResourceARN": pol, "Policy": json.dumps(ROGUE)})
    out = plan(2)
    T.check("consumer tagged tags ~1 -1" in out and "consumer pol resource policy differs -> declared" in out,
            "--plan shows the consumers' drift", out)
    out, err = T.once(cfg, state)
    T.check(consumer_tags(P + "cons", "tagged") == {"team": "fraud", "tier": ""},
            "consumer tags corrected", str(consumer_tags(P + "cons", "tagged")))
    T.check(policy_of(None, pol) == CONSUMER_POLICY, "consumer policy put back", str(policy_of(None, pol)))
    T.check(sorted(change_calls(err)) == ["PutResourcePolicy", "TagResource", "UntagResource"],
            "exactly the consumer corrections", str(change_calls(err)))
    out, err = T.once(cfg, state)
    T.check(change_calls(err) == [], "converged after the consumers' drift", str(change_calls(err)))


WARM = AWS_HEAD + """reconcile: { poll: 100ms, timeout: 40s }
streams:
  - name: {prefix}warm
    mode: on_demand
    warm_throughput_mibps: 20
"""


def streams_json(state):
    with open(os.path.join(state, "streams.json")) as f:
        return {s["name"]: s for s in json.load(f)["streams"]}


def metric(state, name, stream):
    want = '%s{region="%s",stream="%s"} ' % (name, T.region, stream)
    with open(os.path.join(state, "metrics.prom")) as f:
        for line in f:
            if line.startswith(want):
                return line[len(want):].strip()
    return None


def test_warm_without_commitment():
    cfg = T.write("warm.yaml", WARM)
    state = T.path("state-warm")
    out, err = T.once(cfg, state)
    T.check("warm throughput: the account has no minimum throughput commitment (NONE)" in err,
            "the log says why warm throughput is not applied", err[-3000:])
    T.check("UpdateStreamWarmThroughput" not in calls(err), "no warm throughput call without a commitment")
    T.check("DescribeAccountSettings" in calls(err), "the account settings were read")
    s = streams_json(state)[P + "warm"]
    T.check(s["throughput_commitment"] == "NONE" and "minimum throughput commitment" in (s["not_managed"] or ""),
            "streams.json says so", str(s))
    T.check(metric(state, "kinesisd_stream_throughput_commitment", P + "warm") == "0", "metrics.prom: 0")
    T.check(not any(c in calls(err) for c in ("UpdateAccountSettings",)), "account settings never changed")


def test_warm_with_commitment():
    T.mock_call("UpdateAccountSettings", {"MinimumThroughputBillingCommitment": {"Status": "ENABLED"}})
    T.mock_call("DeleteStream", {"StreamName": P + "warm"})
    deadline = time.monotonic() + 30
    while T.exists(P + "warm") and time.monotonic() < deadline:
        time.sleep(0.2)
    cfg = T.path("warm.yaml")
    state = T.path("state-warm")
    out, err = T.once(cfg, state)
    d = T.describe(P + "warm")
    T.check(d.get("WarmThroughput", {}).get("TargetMiBps") == 20, "created with 20 MiB/s", str(d))
    T.check("UpdateStreamWarmThroughput" not in calls(err), "sent with CreateStream, no update needed")
    s = streams_json(state)[P + "warm"]
    T.check(s["throughput_commitment"] == "ENABLED" and s["not_managed"] is None, "streams.json: ENABLED", str(s))
    T.check(metric(state, "kinesisd_stream_throughput_commitment", P + "warm") == "1", "metrics.prom: 1")
    out, err = T.once(cfg, state)
    T.check(change_calls(err) == [], "a second --once changes nothing", str(change_calls(err)))
    T.mock_call("UpdateStreamWarmThroughput", {"StreamName": P + "warm", "WarmThroughputMiBps": 40})
    T.wait_active(P + "warm")
    out, err = T.once(cfg, state)
    d = T.describe(P + "warm")
    T.check(d.get("WarmThroughput", {}).get("TargetMiBps") == 20, "drift corrected back to 20", str(d))
    T.check(change_calls(err) == ["UpdateStreamWarmThroughput"], "with one call", str(change_calls(err)))
    T.check("warm throughput 40 -> 20 MiB/s" in err, "the correction is logged")


def test_consumer_limit():
    # 21 consumers: the config allows it for an on-demand stream (50 with a
    # minimum throughput commitment), AWS here allows 20. The strict proxy
    # refuses the 21st, as AWS would: expected, last in this test.
    T.allow_refusals()
    names = ", ".join("c%02d" % i for i in range(21))
    T.write("limit.yaml", AWS_HEAD + "reconcile: { poll: 100ms, timeout: 40s }\nstreams:\n"
            "  - name: {prefix}many\n    mode: on_demand\n    consumers: [ %s ]\n" % names)
    out, err = T.once(T.path("limit.yaml"), T.path("state-limit"), expect=1, timeout=90)
    T.check("AWS refused another consumer: a stream may have at most 20" in err,
            "the refusal says what limit it is", err[-3000:])
    T.check(err.count("registered.") == 20, "20 consumers registered first", str(err.count("registered.")))
    T.check("consumers CREATING" not in err, "never refused for the 5 consumers CREATING")


T.run(test_policy_converge, test_policy_second_run_changes_nothing, test_policy_drift, test_consumer_drift,
      test_warm_without_commitment, test_warm_with_commitment, test_consumer_limit)
