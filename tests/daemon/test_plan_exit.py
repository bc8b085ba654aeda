#!/usr/bin/env python3
"""daemon-plan-exit: --plan exits as --once will (DESIGN §2).

- A stream declared manage: observe that does not exist: --once fails on it
  (exit 1), and --plan, which can see that, exits 1 too, saying why.
- A stream being deleted (by someone else) that is declared: --once waits
  until it is gone and creates it again, so --plan counts it as a change
  (exit 2) and says it will be created again. Then --once recreates it and
  exits 0.

The deletion needs a mock of our own whose state changes are slow enough
for the stream to stay DELETING while --plan looks; the test checks that it
did, so a machine too slow for that fails clearly rather than passing."""
import time

from daemonlib import AWS_HEAD, Test, change_calls

T = Test("planexit", "eu-north-1")
P = T.prefix
# Seconds each state change takes in the private mock: creation and deletion.
DURATION = 8


def plan(cfg):
    return T.daemon("-c", cfg, "--plan", timeout=60)


def test_observe_missing():
    cfg = T.write("observe.yaml", AWS_HEAD + """reconcile:
  poll: 100ms
streams:
  - name: {prefix}absent
    manage: observe
""")
    rc, out, err, _ = plan(cfg)
    T.check(rc == 1, "--plan with a missing manage: observe stream: exit 1", "rc %d\n%s%s" % (rc, out, err))
    T.check(out.startswith("! ") and P + "absent" in out and
            "does not exist, declared manage: observe" in out,
            "--plan says the observed stream does not exist", out)
    rc, out, err, _ = T.daemon("-c", cfg, "--state-dir", T.path("state-observe"), "--once", timeout=60)
    T.check(rc == 1, "--once with a missing manage: observe stream: exit 1", "rc %d\n%s" % (rc, err))
    T.check(any(P + "absent" in l and "does not exist" in l for l in err.splitlines()),
            "--once names the missing stream", err)


def status_of(name):
    try:
        return T.mock_call("DescribeStreamSummary", {"StreamName": name})["StreamDescriptionSummary"][
            "StreamStatus"]
    except Exception as e:  # noqa: BLE001 - gone
        return "gone (%s)" % str(e)[:80]


def test_deleting_is_created_again():
    T.private_mock(duration="%dms" % (DURATION * 1000))
    name = P + "phoenix"
    cfg = T.write("phoenix.yaml", AWS_HEAD + """reconcile:
  poll: 100ms
  timeout: 60s
streams:
  - name: {prefix}phoenix
    shards: 1
    retention_hours: 48
""")
    T.mock_call("CreateStream", {"StreamName": name, "ShardCount": 1})
    deadline = time.monotonic() + 60
    while status_of(name) != "ACTIVE":
        T.require(time.monotonic() < deadline, "%s ACTIVE in the private mock" % name, status_of(name))
        time.sleep(0.2)
    T.mock_call("DeleteStream", {"StreamName": name})
    T.require(status_of(name) == "DELETING", "%s DELETING after DeleteStream" % name, status_of(name))

    rc, out, err, _ = plan(cfg)
    still = status_of(name)
    T.require(still == "DELETING", "%s still DELETING after --plan (the mock's %d s deletion "
              "outlasted --plan)" % (name, DURATION), still)
    T.check(rc == 2, "--plan with a declared stream being deleted: exit 2", "rc %d\n%s%s" % (rc, out, err))
    T.check(out.startswith("+ ") and name in out and
            "being deleted, then create: 1 shard, provisioned, retention 48h" in out,
            "--plan says the stream will be created again", out)
    T.check(not change_calls(err), "--plan changed nothing", err)

    out, err = T.once(cfg, T.path("state-phoenix"), timeout=120)
    T.check("CreateStream" in change_calls(err), "--once created the stream again", err[-3000:])
    T.check(any(name in l and "being deleted; waiting to create it again" in l for l in err.splitlines()),
            "--once said it waits for the deletion", err[-3000:])
    d = T.mock_call("DescribeStreamSummary", {"StreamName": name})["StreamDescriptionSummary"]
    T.check(d["StreamStatus"] == "ACTIVE" and d["RetentionPeriodHours"] == 48,
            "%s ACTIVE again with 48 h retention" % name, d)


T.run(test_observe_missing, test_deleting_is_created_again)
