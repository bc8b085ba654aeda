#!/usr/bin/env python3
"""daemon-wait: someone else in the account is creating streams (issue 12).

A slow private mock (creations take 3 s) behind its strict proxy; the test
itself creates 5 streams straight at the mock (they count for the account),
so the account's 5 CREATING-or-DELETING slots are full when kinesisd starts
with 3 new streams of its own. AWS (the proxy) refuses kinesisd's
CreateStream with LimitExceededException "...simultaneously be in CREATING
or DELETING...": that is a reason to wait, not to fail.

- --once: the log says the stream waits (once) and goes on; streams.json,
  sampled while it runs, shows a "waiting" reason and never FAILED; exit 0
  with all three ACTIVE and exported; the refused CreateStream calls are
  few (the region's creations are held: one probe per backoff step).
- daemon mode (NOTIFY_SOCKET): STATUS= says "waiting on AWS limits" while
  it waits, and READY=1 comes only once the three streams are ACTIVE and
  exported."""
import json
import os
import threading
import time

from daemonlib import AWS_HEAD, Test
from kinesisd_test.notify import NotifySocket
from kinesisd_test.process import kill, wait_exit

T = Test("wait", "sa-east-1")
P = T.prefix
WAIT = 90
CONFIG = AWS_HEAD + """reconcile:
  poll: 200ms
  timeout: 60s
streams:
"""


def fill_account(tag):
    """5 streams of someone else in the account, CREATING for 3 s."""
    for i in range(5):
        T.mock_call("CreateStream", {"StreamName": "%sother-%s%d" % (P, tag, i), "ShardCount": 1})


def config(names, name):
    return T.write(name, CONFIG + "".join("  - name: %s\n    shards: 1\n" % n for n in names))


def sample_json(path, stop, seen):
    """Every status and waiting reason streams.json showed while it ran."""
    while not stop.is_set():
        try:
            with open(path) as f:
                for s in json.load(f)["streams"]:
                    seen.setdefault(s["name"], set()).add((s["status"], s.get("waiting")))
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)


def exported(state, names):
    for n in names:
        if not os.path.exists(os.path.join(state, "streams", T.region, n + ".arn")):
            return False
    return True


def refused_creates(names):
    log = T.path("mock0-proxy.jsonl")
    with open(log) as f:
        entries = [json.loads(l) for l in f if l.strip() and '"summary"' not in l[:12]]
    return [e for e in entries if e["op"] == "CreateStream" and e.get("stream") in names and e.get("refused")]


def test_once_waits():
    T.private_mock(duration="3s")
    T.allow_refusals()
    names = [P + "a", P + "b", P + "c"]
    cfg = config(names, "once.yaml")
    state = T.path("state-once")
    os.makedirs(state, exist_ok=True)
    fill_account("x")
    stop, seen = threading.Event(), {}
    th = threading.Thread(target=sample_json, args=(os.path.join(state, "streams.json"), stop, seen),
                          daemon=True)
    th.start()
    t0 = time.monotonic()
    p = T.spawn("-c", cfg, "--state-dir", state, "--once", "--log-level", "debug",
                stderr_path=T.path("once.log"))
    try:
        rc = wait_exit(p, WAIT)
    finally:
        kill(p)
        stop.set()
        th.join()
    secs = time.monotonic() - t0
    with open(T.path("once.log"), errors="replace") as f:
        err = f.read()
    T.check_sanitizers(err, "kinesisd --once")
    T.check(rc == 0, "--once exits 0 after waiting (exit %s)" % rc, err[-3000:])
    waits = [l for l in err.splitlines() if "waits on the account's limit of 5 streams CREATING" in l]
    T.check(waits and all("LimitExceededException" in l for l in waits),
            "the log says it waits on the CREATING limit, with AWS's words", err[-3000:])
    T.check(any("goes on after waiting" in l for l in err.splitlines()), "the log says it goes on")
    T.check(not [l for l in err.splitlines() if "failed:" in l and "Stream" in l],
            "no stream reported failed", err[-3000:])
    waiting_seen = [n for n in names if any(w for _, w in seen.get(n, ()))]
    T.check(waiting_seen, "streams.json showed a waiting reason while it waited", str(seen))
    T.check(all("CREATING or DELETING" in w for n in names for _, w in seen.get(n, ()) if w),
            "the waiting reason is AWS's text", str(seen))
    T.check(not any(st == "FAILED" for n in names for st, _ in seen.get(n, ())),
            "streams.json never showed FAILED", str(seen))
    for n in names:
        T.check(T.describe(n)["StreamStatus"] == "ACTIVE", "%s ACTIVE" % n)
    T.check(exported(state, names), "all three exported")
    refused = refused_creates(names)
    # The first calls of all three may be in flight before the first refusal
    # arrives; after that one probe per hold step (1 s, 2 s, 4 s ...).
    T.check(1 <= len(refused) <= 8, "%d refused CreateStream calls (no storm)" % len(refused),
            [(round(e["t"], 2), e["stream"]) for e in refused])
    print("(waited and converged in %.1f s; %d CreateStream refused)" % (secs, len(refused)))


def test_daemon_ready_after_wait():
    T.private_mock(duration="3s")
    T.allow_refusals()
    names = [P + "d", P + "e", P + "f"]
    cfg = config(names, "daemon.yaml")
    state = T.path("state-daemon")
    fill_account("y")
    def look():
        not_active = [n for n in names
                      if T.mock_call("DescribeStreamSummary", {"StreamName": n})
                      ["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE"]
        return not_active, exported(state, names)
    h = NotifySocket(T.path("notify.sock"), look)
    p = T.spawn("-c", cfg, "--state-dir", state, "--log-level", "info",
                env={"NOTIFY_SOCKET": T.path("notify.sock")}, stderr_path=T.path("daemon.log"))
    try:
        st = h.wait_for(lambda m: "waiting on AWS limits" in m.get("STATUS", ""), WAIT,
                        "STATUS= with waiting on AWS limits")
        T.check(True, "STATUS= while waiting: %s" % h.msgs[st][1]["STATUS"])
        h.wait_for(lambda m: m.get("READY") == "1", WAIT, "READY=1")
        T.check(h.ready_checks[:1] == [([], True)], "at READY=1 all three are ACTIVE and exported",
                str(h.ready_checks))
    finally:
        p.terminate()
        rc = wait_exit(p, 30)
        kill(p)
        h.close()
    T.check(rc == 0, "exit 0 on SIGTERM (%s)" % rc)


T.run(test_once_waits, test_daemon_ready_after_wait)
