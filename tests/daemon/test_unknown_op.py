#!/usr/bin/env python3
"""daemon-unknown-op: an endpoint that does not know an operation.

kinesalite (npm package, installed by contrib/install-deps, started here on
127.0.0.1 only) answers UnknownOperationException for UpdateMaxRecordSize
and for the resource policy operations. kinesisd creates the streams, marks
those settings unsupported for the region's endpoint, says so once each
(with the endpoint's answer), fails no stream, and --once exits 0. Every
run tries each unknown operation once, not once per stream."""
import os
import subprocess
import time

from daemonlib import AWS_HEAD, Test, calls
from kinesisd_test import ports
from kinesisd_test.checks import Failed

T = Test("unknownop", "ap-south-1", need_mock=False)
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

proc = None


def start_kinesalite():
    global proc
    pkg = os.environ.get("KINESISD_KINESALITE_DIR", "")
    if not os.path.isfile(os.path.join(pkg, "index.js")):
        ports.skip_or_fail("kinesalite is not installed in %r (contrib/install-deps)" % pkg)
    log = open(T.path("kinesalite.log"), "wb")
    proc = subprocess.Popen(["node", "-e", START_JS, pkg], stdout=subprocess.PIPE, stderr=log,
                            stdin=subprocess.DEVNULL)
    log.close()
    line = proc.stdout.readline().decode().strip()
    if not line.isdigit():
        raise Failed("kinesalite did not start: %r" % line)
    T.endpoint = T.mock_endpoint = "http://127.0.0.1:%s" % line


def test_unknown_operations():
    start_kinesalite()
    cfg = T.write("kinesisd.yaml", CONFIG)
    out, err = T.once(cfg, T.path("state"), expect=0, timeout=90)
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


def stop():
    if proc:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


try:
    T.run(test_unknown_operations)
finally:
    stop()
