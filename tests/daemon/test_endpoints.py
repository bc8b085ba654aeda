#!/usr/bin/env python3
"""daemon-endpoints: settings some endpoints do not have.

- kinesalite (npm package, installed by contrib/install-deps, started here on
  127.0.0.1 only) answers UnknownOperationException for UpdateMaxRecordSize
  and for the resource policy operations. kinesisd creates the streams,
  marks those settings unsupported for the region's endpoint, says so once
  each (with the endpoint's answer), fails no stream, and --once exits 0.
  Each unknown operation is tried once, not once per stream.
- record_distribution_strategy against the project's fake endpoint
  (tests/aws/fake_aws.py --on-demand), which implements
  UpdateStreamRecordDistributionStrategy and reports the strategy in
  DescribeStreamSummary: set, left alone once set, corrected after drift.
- the same setting against kinesis-mock (through the strict proxy), which
  does not know the operation: reported unsupported, not failed."""
import json
import os
import subprocess
import sys
import urllib.request

from daemonlib import AWS_HEAD, Test, calls, change_calls
from kinesisd_test import ports
from kinesisd_test.checks import Failed

T = Test("endpoints", "ap-south-1")
P = T.prefix
FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws", "fake_aws.py")
P = T.prefix

# kinesalite's own command line listens on every interface: start its
# server from its module, bound to loopback, on a free port.
START_JS = """
var server = require(process.argv[1])({createStreamMs: 50, deleteStreamMs: 50, updateStreamMs: 50})
  .listen(0, '127.0.0.1', function() { console.log(server.address().port) })
"""

CONFIG = AWS_HEAD + """reconcile:
  poll: 100ms
  timeout: 30s
streams:
  - name: {prefix}a
    shards: 1
    max_record_size_kib: 2048
    resource_policy:
      Version: "2012-10-17"
      Statement: { Effect: Allow, Principal: { AWS: "111122223333" }, Action: kinesis:GetRecords,
                   Resource: "*" }
  - name: {prefix}b
    shards: 1
    max_record_size_kib: 4096
    tags: { team: a }
"""

procs = []


def start_kinesalite():
    pkg = os.environ.get("KINESISD_KINESALITE_DIR", "")
    if not os.path.isfile(os.path.join(pkg, "index.js")):
        ports.skip_or_fail("kinesalite is not installed in %r (contrib/install-deps)" % pkg)
    log = open(T.path("kinesalite.log"), "wb")
    return start(["node", "-e", START_JS, pkg], log, "kinesalite")


def start(cmd, log, what):
    """A loopback server that prints its port first; its URL."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
    log.close()
    procs.append(p)
    line = p.stdout.readline().decode().strip()
    if not line.isdigit():
        raise Failed("%s did not start: %r" % (what, line))
    return "http://127.0.0.1:%s" % line


class Endpoint:
    """Point the test's configurations and checks at another endpoint."""
    def __init__(self, url):
        self.url = url

    def __enter__(self):
        self.saved = (T.endpoint, T.mock_endpoint)
        T.endpoint = T.mock_endpoint = self.url

    def __exit__(self, *exc):
        T.endpoint, T.mock_endpoint = self.saved


def test_unknown_operations():
    with Endpoint(start_kinesalite()):
        cfg = T.write("kinesalite.yaml", CONFIG)
        out, err = T.once(cfg, T.path("state-kinesalite"), expect=0, timeout=90)
        for s in ("a", "b"):
            T.check(T.describe(P + s)["StreamStatus"] == "ACTIVE", "%s created and ACTIVE" % s)
        T.check(T.tags(P + "b") == {"team": "a"}, "the settings the endpoint knows are applied")
    for op, setting in (("UpdateMaxRecordSize", "max record size"), ("GetResourcePolicy", "resource policy")):
        said = "does not know %s (%s: UnknownOperationException)" % (op, op)
        T.check(err.count(said) == 1, "%s said once, with the answer" % op, err[-4000:])
        T.check(("%s is not managed there" % setting) in err, "%s named as not managed" % setting)
        T.check(calls(err).count(op) == 1, "%s tried once for both streams" % op, str(calls(err)))
    T.check("Pass done: 2 of 2 streams ready, 0 failed." in err, "no stream failed", err[-2000:])
    T.check("PutResourcePolicy" not in calls(err), "no policy sent to an endpoint that cannot read one")
    with open(T.path("state-kinesalite", "streams.json")) as f:
        got = {s["name"]: s["not_managed"] for s in json.load(f)["streams"]}
    T.check(got.get(P + "a") == "max record size: the endpoint does not support it; resource policy: the endpoint "
            "does not support it" and got.get(P + "b") == "max record size: the endpoint does not support it",
            "streams.json names the settings not managed", str(got))


FAKE_CONFIG = AWS_HEAD + """reconcile:
  poll: 100ms
  timeout: 30s
streams:
  - name: stream-0
    mode: on_demand
    record_distribution_strategy: auto
  - name: stream-1
    mode: on_demand
    record_distribution_strategy: user_partition_key
"""


def fake_updates(log):
    with open(log) as f:
        reqs = [json.loads(l) for l in f if l.strip() and '"answered"' not in l]
    return [r for r in reqs if (r.get("target") or "").endswith(".UpdateStreamRecordDistributionStrategy")]


def test_distribution_fake():
    log = T.path("fake.jsonl")
    url = start([sys.executable, FAKE, "--mode", "kinesis", "--on-demand", "--log", log],
                open(T.path("fake.err"), "wb"), "fake endpoint")
    with Endpoint(url):
        cfg = T.write("fake.yaml", FAKE_CONFIG)
        state = T.path("state-fake")
        out = T.daemon("-c", cfg, "--state-dir", state, "--plan")[1]
        T.check("stream-0 record distribution USER_PARTITION_KEY -> AUTO" in out, "--plan shows the change", out)
        T.check("stream-1 in sync" in out, "--plan: user_partition_key is the default, in sync", out)
        out, err = T.once(cfg, state)
        T.check(len(fake_updates(log)) == 1, "one UpdateStreamRecordDistributionStrategy", str(fake_updates(log)))
        T.check(T.describe("stream-0").get("RecordDistributionStrategy") == "AUTO", "stream-0 is AUTO now")
        T.check("Stream stream-0: record distribution strategy AUTO." in err, "the change is logged")
        out, err = T.once(cfg, state)
        T.check(change_calls(err) == [], "a second --once changes nothing", str(change_calls(err)))
        # Changed behind kinesisd's back: corrected.
        req = urllib.request.Request(url + "/", method="POST", data=json.dumps(
            {"StreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/stream-0",
             "RecordDistributionStrategy": "USER_PARTITION_KEY"}).encode(),
            headers={"X-Amz-Target": "Kinesis_20131202.UpdateStreamRecordDistributionStrategy",
                     "Content-Type": "application/x-amz-json-1.1"})
        urllib.request.urlopen(req, timeout=10).read()
        T.require(T.describe("stream-0").get("RecordDistributionStrategy") == "USER_PARTITION_KEY", "drift made")
        out, err = T.once(cfg, state)
        T.check(T.describe("stream-0").get("RecordDistributionStrategy") == "AUTO", "drift corrected")
        T.check(change_calls(err) == ["UpdateStreamRecordDistributionStrategy"], "with one call",
                str(change_calls(err)))


MOCK_CONFIG = AWS_HEAD + """reconcile:
  poll: 100ms
  timeout: 30s
streams:
  - name: {prefix}auto
    mode: on_demand
    record_distribution_strategy: auto
"""


def test_distribution_mock():
    cfg = T.write("mock.yaml", MOCK_CONFIG)
    out, err = T.once(cfg, T.path("state-mock"), expect=0)
    T.check(T.describe(P + "auto")["StreamStatus"] == "ACTIVE", "the stream is created")
    said = ("does not know UpdateStreamRecordDistributionStrategy (UpdateStreamRecordDistributionStrategy: "
            "AccessDeniedException: Unable to determine service/operation name to be authorized)")
    T.check(err.count(said) == 1, "kinesis-mock's answer taken as an unknown operation, said once", err[-3000:])
    T.check("record distribution strategy is not managed there" in err, "the setting named")
    T.check("Pass done: 1 of 1 stream ready, 0 failed." in err, "the stream is not failed")


def stop():
    for p in procs:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


try:
    T.run(test_unknown_operations, test_distribution_fake, test_distribution_mock)
finally:
    stop()
