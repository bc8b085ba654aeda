#!/usr/bin/env python3
"""concurrency-two-daemons: two kinesisd daemons with the same declarations
against the same kinesis-mock converge without flapping.

  test_concurrency.py KINESISD MOCK_PORT_FILE

Streams (unique names per run): three that do not exist yet (tags, a
consumer, encryption, metrics), and four created beforehand with drift for
both daemons to correct at the same time: too few shards (1, declared 4:
two UpdateShardCount steps), retention 24 h (declared 48 h), wrong and extra
tags, no encryption (declared KMS).

Both daemons start together (resync interval 2 s, poll 200 ms, log level
info) and run until each has finished at least 4 passes after everything is
in sync (or 200 s), then get SIGTERM. Asserted:
  - both exit 0 on SIGTERM;
  - every declared change appears at most twice across both logs (once per
    daemon at worst; CreateStream won by one daemon), counted per stream and
    kind ("created", "retention 24h -> 48h", "shards 1 -> 2", ...);
  - nothing goes back and forth: no shard or retention change that lowers
    the value, no "encryption stopped", no "disabled" metrics, no second tag
    removal once tags were set;
  - the only AWS error names in either log are ResourceInUseException (which
    kinesisd handles by waiting; the other daemon got there first), and no
    stream is reported failed;
  - the end state in the mock is what was declared, and the last passes of
    both daemons made no change (kinesisd_changes_total stops moving)."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from kinesisd_test import mock
from kinesisd_test.environment import FAKE_SECRET_KEY, clean_env
from kinesisd_test.ports import allow_refusals, mock_port, proxy_port
from kinesisd_test.process import stop
from kinesisd_test.state import metrics

REGION = "us-east-1"
# The test's own account (the mock takes a 12-digit key id as the account).
ACCOUNT = "%012d" % (200000000000 + os.getpid())
EXTRA_PASSES = 4
# Bounds a hang, not a speed: two daemons and the mock share a loaded machine.
SETTLE_SECONDS = 200
CHANGE = re.compile(r"^kinesisd: [^ ]+/(?P<stream>[^:]+): Stream (?P=stream): (?P<what>.*)\.$")
AWS_ERROR = re.compile(r"\b([A-Z][A-Za-z]+(?:Exception|Error))\b")


def classify(what):
    """A change line's kind (for counting) and whether it undoes something."""
    m = re.match(r"shards (\d+) -> (\d+)", what)
    if m:
        return "shards -> %s" % m.group(2), int(m.group(2)) < int(m.group(1))
    m = re.match(r"retention (\d+)h -> (\d+)h", what)
    if m:
        return "retention -> %sh" % m.group(2), int(m.group(2)) < int(m.group(1))
    if what.startswith("created"):
        return "created", False
    if what.startswith("encryption stopped"):
        return "encryption stopped", True
    if what.startswith("encryption with"):
        return "encryption started", False
    if re.match(r"disabled \d+ shard-level", what):
        return "metrics disabled", True
    if re.match(r"enabled \d+ shard-level", what):
        return "metrics enabled", False
    if re.match(r"\d+ tag\(s\) set", what):
        return "tags set", False
    if re.match(r"\d+ tag\(s\) removed", what):
        return "tags removed", False
    m = re.match(r"consumer (\S+) registered", what)
    if m:
        return "consumer %s registered" % m.group(1), False
    if what.startswith("mode set to"):
        return what, False
    return None, False  # not a change line (refusal, ...)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    kinesisd, port_file = sys.argv[1:]
    port = mock_port(port_file)
    kinesisd_port = proxy_port(port_file)  # the daemons meet AWS's limits
    # Two daemons on one account share its budgets: each may be refused now
    # and then, and must wait rather than fail (what this test checks).
    allow_refusals(port_file, ACCOUNT)
    tmp = tempfile.mkdtemp(prefix="kinesisd-conc-")
    p = "cc%d" % os.getpid()
    failures = []

    def fail(msg):
        failures.append(msg)
        print("FAIL: " + msg, flush=True)

    # ---- drift prepared in the mock
    pre = {"%s-shards" % p: 1, "%s-retention" % p: 1, "%s-tags" % p: 1, "%s-enc" % p: 1}
    for name, shards in pre.items():
        mock.call_retrying(port, "CreateStream", {"StreamName": name, "ShardCount": shards},
                           account=ACCOUNT)
    mock.wait_active(port, list(pre), account=ACCOUNT)
    mock.call_retrying(port, "AddTagsToStream", {"StreamName": "%s-tags" % p,
                                                    "Tags": {"team": "old", "stale": "yes"}},
                       account=ACCOUNT)

    cfg = os.path.join(tmp, "kinesisd.yaml")
    with open(cfg, "w") as f:
        f.write("""\
aws:
  region: %(r)s
reconcile:
  interval: 2s
  poll: 200ms
  timeout: 5m
streams:
  - name: %(p)s-new-a
    shards: 2
    tags: { team: data, tier: gold }
    consumers: [reader]
  - name: %(p)s-new-b
    shards: 1
    encryption: { kms_key: alias/aws/kinesis }
    shard_level_metrics: [IncomingBytes]
  - name: %(p)s-new-c
    mode: on_demand
    retention_hours: 72
  - name: %(p)s-shards
    shards: 4
  - name: %(p)s-retention
    shards: 1
    retention_hours: 48
  - name: %(p)s-tags
    shards: 1
    tags: { team: new }
  - name: %(p)s-enc
    shards: 1
    encryption: { kms_key: alias/aws/kinesis }
""" % {"r": REGION, "p": p})
    # An account of the test's own (a 12-digit key id) for the daemons and
    # the harness's calls alike; the strict proxy verifies the fake secret.
    env = clean_env(tmp, {"AWS_ACCESS_KEY_ID": ACCOUNT, "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY})

    daemons = []
    for i in (1, 2):
        state = os.path.join(tmp, "state%d" % i)
        err = open(os.path.join(tmp, "daemon%d.err" % i), "w+")
        proc = subprocess.Popen([kinesisd, "-c", cfg, "--state-dir", state, "--endpoint",
                                 "http://127.0.0.1:%d" % kinesisd_port], env=env, stdout=subprocess.DEVNULL,
                                stderr=err, stdin=subprocess.DEVNULL)
        daemons.append({"i": i, "proc": proc, "err": err, "metrics": os.path.join(state, "metrics.prom"),
                        "settled_at": None, "changes": None})

    # ---- run until both have made no change for EXTRA_PASSES passes
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        done = True
        for d in daemons:
            if d["proc"].poll() is not None:
                fail("daemon %d exited early (%s)" % (d["i"], d["proc"].returncode))
                deadline = 0
                break
            m = metrics(d["metrics"])
            passes, changes = m.get("kinesisd_reconcile_passes_total", 0), m.get("kinesisd_changes_total")
            if changes != d["changes"] or d["settled_at"] is None:
                # (re)start counting quiet passes from here
                if changes is not None:
                    d["changes"], d["settled_at"] = changes, passes
            d["passes"] = passes
            if d["settled_at"] is None or passes - d["settled_at"] < EXTRA_PASSES:
                done = False
        if done:
            break
        time.sleep(0.3)
    else:
        fail("the daemons did not settle within %d s: %s" %
             (SETTLE_SECONDS, [(d["i"], d.get("passes"), d["changes"], d["settled_at"]) for d in daemons]))

    for d in daemons:
        if d["proc"].poll() is None:
            d["proc"].send_signal(signal.SIGTERM)
    for d in daemons:
        rc = stop(d["proc"], 30)
        if rc is None:
            rc = "killed"
        if rc != 0:
            fail("daemon %d: exit %s on SIGTERM" % (d["i"], rc))
        d["err"].seek(0)
        d["log"] = d["err"].read()
        d["err"].close()
        m = metrics(d["metrics"])
        print("daemon %d: %d passes, %d changes, %d API calls, %d API errors" %
              (d["i"], m.get("kinesisd_reconcile_passes_total", 0), m.get("kinesisd_changes_total", 0),
               m.get("kinesisd_api_calls_total", 0), m.get("kinesisd_api_errors_total", 0)))

    # ---- the logs
    counts, undo = {}, []
    for d in daemons:
        for line in d["log"].splitlines():
            for name in AWS_ERROR.findall(line):
                if name != "ResourceInUseException":
                    fail("daemon %d logged an AWS error other than ResourceInUseException: %s"
                         % (d["i"], line))
            if re.search(r"Stream \S+ failed", line):
                fail("daemon %d: %s" % (d["i"], line))
            m = CHANGE.match(line)
            if not m:
                continue
            kind, undoes = classify(m.group("what"))
            if kind is None:
                continue
            key = (m.group("stream"), kind)
            counts[key] = counts.get(key, 0) + 1
            if undoes:
                undo.append("daemon %d: %s" % (d["i"], line))
    for (stream, kind), c in sorted(counts.items()):
        print("  %-22s %-28s x%d" % (stream, kind, c))
        if c > 2:
            fail("%s: \"%s\" made %d times by the two daemons (at most 2)" % (stream, kind, c))
    for line in undo:
        fail("a change that undoes another (flapping): " + line)
    if ("%s-tags" % p, "tags removed") in counts and counts[("%s-tags" % p, "tags removed")] > 2:
        fail("stale tags removed again and again")

    # ---- the end state
    try:
        want = {"%s-new-a" % p: (2, 24), "%s-new-b" % p: (1, 24), "%s-shards" % p: (4, 24),
                "%s-retention" % p: (1, 48), "%s-tags" % p: (1, 24), "%s-enc" % p: (1, 24)}
        for name, (shards, retention) in want.items():
            s = mock.summary(port, name, account=ACCOUNT)
            if s["StreamStatus"] != "ACTIVE" or s["OpenShardCount"] != shards or \
                    s["RetentionPeriodHours"] != retention:
                fail("%s ends %s with %s shards, %sh retention; declared %d shards, %dh" %
                     (name, s["StreamStatus"], s["OpenShardCount"], s["RetentionPeriodHours"], shards,
                      retention))
        s = mock.summary(port, "%s-new-c" % p, account=ACCOUNT)
        if s["StreamModeDetails"]["StreamMode"] != "ON_DEMAND" or s["RetentionPeriodHours"] != 72:
            fail("%s-new-c ends %s" % (p, s))
        for name in ("%s-new-b" % p, "%s-enc" % p):
            if mock.summary(port, name, account=ACCOUNT).get("EncryptionType") != "KMS":
                fail("%s is not encrypted" % name)
        tags = mock.call(port, "ListTagsForStream", {"StreamName": "%s-tags" % p},
                         account=ACCOUNT)["Tags"]
        if {t["Key"]: t.get("Value", "") for t in tags} != {"team": "new"}:
            fail("%s-tags ends with tags %s, declared {team: new}" % (p, tags))
        consumers = mock.call(port, "ListStreamConsumers", {
            "StreamARN": mock.summary(port, "%s-new-a" % p, account=ACCOUNT)["StreamARN"]},
            account=ACCOUNT)["Consumers"]
        if [c["ConsumerName"] for c in consumers] != ["reader"]:
            fail("%s-new-a ends with consumers %s" % (p, [c["ConsumerName"] for c in consumers]))
    except mock.MockError as e:
        fail("reading the end state: %s" % e)

    if failures:
        print("concurrency-two-daemons: FAILED (%d); logs in %s" % (len(failures), tmp))
        for d in daemons:
            print("---- daemon %d log (tail)\n%s" % (d["i"], d.get("log", "")[-4000:]))
        return 1
    subprocess.run(["rm", "-rf", tmp])
    print("concurrency-two-daemons: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
