#!/usr/bin/env python3
"""limits-proxy: the strict proxy, driven with signed requests.

  test_strict_proxy.py PORT_FILE WORK_DIR

Through the fixture's proxy (PORT_FILE.proxy; this test's account declares
it expects refusals in PORT_FILE.allow-refusals/):
  - 6 CreateStream within one second: exactly the 6th is refused, 400
    LimitExceededException with AWS's rate message, and never reaches the
    mock.
Through a private mock+proxy pair whose creations take 6 s (room for a
slow host between the 5th and the 6th):
  - a 6th stream while 5 are CREATING (3 created through the proxy, 2
    behind its back, straight at the mock) is refused with AWS's
    "simultaneously ... CREATING or DELETING" message, and admitted once one
    is ACTIVE (seen at the mock, not through the proxy: its book still has
    it CREATING and must ask again before it refuses);
  - UpdateShardCount to more than twice the open shards is refused, twice
    is admitted;
  - every refusal is in the log ("refused") and counted in the summary per
    akid and per op; the fixture's stop fails listing the refusals of an
    account that did not expect them, and only those.
Exit 0 pass, 1 fail, 77 skip (no kinesis-mock and KINESISD_SKIP_INTEGRATION)."""
import os
import shutil
import sys
import time

import limitslib as lib  # noqa: E402

REGION = "eu-central-1"
failures = []


def check(cond, what, detail=""):
    print("%s: %s%s" % ("ok" if cond else "FAIL", what, ("\n    %s" % detail) if detail and not cond
                        else ""), flush=True)
    if not cond:
        failures.append(what)
    return cond


def wait_for(pred, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def refusal_ok(status, headers, doc, message):
    return (status == 400 and doc.get("__type") == "LimitExceededException" and
            doc.get("message") == message and
            headers.get("x-amzn-errortype", "").startswith("LimitExceededException") and
            bool(headers.get("x-amzn-requestid")))


def six_creates(proxy_port, akid, tag):
    """6 CreateStream one after the other: (names, answers, seconds taken)."""
    names = ["rate-%d-%s-%d" % (os.getpid(), tag, i) for i in range(6)]
    t0 = time.monotonic()
    answers = [lib.call(proxy_port, akid, REGION, "CreateStream", {"StreamName": n, "ShardCount": 1})
               for n in names]
    return names, answers, time.monotonic() - t0


def test_fixture_rate(port_file):
    mock_port, proxy_port = lib.read_port(port_file), lib.read_port(port_file + ".proxy")
    akid = lib.new_account("rate")
    open(os.path.join(port_file + ".allow-refusals", akid), "w").close()
    created = []
    try:
        # The claim needs all 6 within one second; a loaded host may not
        # manage that, so up to 3 tries (each on a fresh second).
        for attempt in range(3):
            names, answers, secs = six_creates(proxy_port, akid, attempt)
            created += names
            if secs < 1.0:
                break
            time.sleep(1.1)
        check(secs < 1.0, "6 CreateStream sent within one second (%.2fs)" % secs)
        check([a[0] for a in answers] == [200] * 5 + [400], "exactly the 6th refused",
              [a[0] for a in answers])
        msg = "Rate exceeded for stream %s under account %s." % (names[5], akid)
        check(refusal_ok(*answers[5], msg), "AWS's rate message, error type and request id",
              answers[5])
        check(lib.status_of(mock_port, akid, REGION, names[5]) is None,
              "the refused CreateStream never reached the mock")
        check(all(lib.status_of(mock_port, akid, REGION, n) for n in names[:5]),
              "the 5 admitted streams exist in the mock")
    finally:
        for n in created:
            lib.mock(mock_port, akid, REGION, "DeleteStream", {"StreamName": n})


def test_private_pair(work):
    pair = lib.Pair(os.path.join(work, "pair"), duration="6s").start()
    akid, other = lib.new_account("busy"), lib.new_account("other")
    pair.allow(akid)
    call = lambda op, req, who=akid: lib.call(pair.proxy_port, who, REGION, op, req)  # noqa: E731
    names = ["busy-%d" % i for i in range(7)]
    try:
        for n in names[:3]:
            check(call("CreateStream", {"StreamName": n, "ShardCount": 1})[0] == 200,
                  "CreateStream %s admitted" % n)
        for n in names[3:5]:
            st, _, doc = lib.mock(pair.mock_port, akid, REGION, "CreateStream",
                                  {"StreamName": n, "ShardCount": 1})
            check(st == 200, "CreateStream %s behind the proxy's back" % n, doc)
        time.sleep(1.05)   # out of the rate window
        check(all(lib.status_of(pair.mock_port, akid, REGION, n) == "CREATING" for n in names[:5]),
              "5 streams CREATING")
        st, h, doc = call("CreateStream", {"StreamName": names[5], "ShardCount": 1})
        busy = ("This request would have exceed the limit on the number of streams that can "
                "simultaneously be in CREATING or DELETING for the account %s. Limit: 5." % akid)
        check(refusal_ok(st, h, doc, busy), "a 6th stream while 5 are CREATING refused", doc)
        check(lib.status_of(pair.mock_port, akid, REGION, names[5]) is None,
              "the refused stream was not created")
        # Another account has room of its own.
        check(call("CreateStream", {"StreamName": names[5], "ShardCount": 1}, other)[0] == 200,
              "another account may create meanwhile")
        first_active = lambda: lib.status_of(pair.mock_port, akid, REGION, names[0]) == "ACTIVE"  # noqa
        check(wait_for(first_active, 20), "the first stream became ACTIVE")
        st, _, doc = call("CreateStream", {"StreamName": names[5], "ShardCount": 1})
        check(st == 200, "the 6th stream admitted once one is ACTIVE", doc)

        st, h, doc = call("UpdateShardCount", {"StreamName": names[0], "TargetShardCount": 3,
                                              "ScalingType": "UNIFORM_SCALING"})
        check(refusal_ok(st, h, doc, "UpdateShardCount cannot scale up over double your current "
                                     "open shard count. Current open shard count: 1 Target shard "
                                     "count: 3"), "UpdateShardCount 1 -> 3 refused", doc)
        st, _, doc = call("UpdateShardCount", {"StreamName": names[0], "TargetShardCount": 2,
                                              "ScalingType": "UNIFORM_SCALING"})
        check(st == 200, "UpdateShardCount 1 -> 2 admitted", doc)

        # The other account, not allowed: one refusal, by rate.
        got = [call("ListStreams", {}, other)[0] for _ in range(6)]
        check(got.count(400) == 1, "the other account: 1 of 6 ListStreams refused", got)
    finally:
        rc, out = pair.stop()
    entries, summary = lib.read_log(pair.proxy_log)
    refused = [(e["akid"], e["op"]) for e in entries if e["refused"]]
    check(all("refused" in e for e in entries), "every log line has 'refused'")
    check(sorted(refused) == sorted([(akid, "CreateStream"), (akid, "UpdateShardCount"),
                                     (other, "ListStreams")]), "the log has the 3 refusals", refused)
    check(all(e["upstream_status"] is None for e in entries if e["refused"]),
          "no refused request reached the mock")
    check(any(e["refused"] and e["refused"].startswith("busy-streams: ") for e in entries),
          "the log names the rule")
    want = {"total": 3, "by_akid": {akid: 2, other: 1},
            "by_op": {"CreateStream": 1, "UpdateShardCount": 1, "ListStreams": 1}}
    check(summary and summary.get("refused") == want, "the summary counts refusals per akid and op",
          summary)
    check(rc == 1, "the fixture's stop fails on an unexpected refusal (exit %d)" % rc, out)
    check(("%s ListStreams rate: Rate exceeded" % other) in out and akid not in out.split(
        "FAIL")[-1], "it lists the unexpected refusal, not the expected ones", out)


def main():
    if len(sys.argv) != 3:
        print("usage: %s PORT_FILE WORK_DIR" % sys.argv[0])
        return 2
    port_file, work = sys.argv[1:]
    if not os.path.exists(port_file + ".proxy"):
        if os.environ.get("KINESISD_SKIP_INTEGRATION"):
            return 77
        print("FAIL: %s.proxy missing: the kinesis_mock fixture did not start its proxy" % port_file)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    for t in (test_fixture_rate, test_private_pair):
        print("== %s" % t.__name__, flush=True)
        try:
            t(port_file if t is test_fixture_rate else work)
        except Exception as e:  # noqa: BLE001
            import traceback
            traceback.print_exc()
            failures.append("%s: %s" % (t.__name__, e))
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
