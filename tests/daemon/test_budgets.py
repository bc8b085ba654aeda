#!/usr/bin/env python3
"""daemon-budgets: the per-stream budgets AWS counts over a rolling 24 h are
kept in budgets.json in the state directory and outlive the process.

Alternating a stream's declaration between 1 and 8 shards over eight
`--once` runs (each a new process) sends at most 10 UpdateShardCount calls
to it, counted at the strict proxy: the first three runs scale all the way
(3 steps each), the fourth takes the one step left and exits 1 saying the
budget is spent and when a call frees up, the later ones call nothing and
exit 1 likewise (8, not 10: kinesis-mock accepts 3 -> 2 without changing
the count, which 10 -> 1 passes through); --plan says the same, exits 1 and writes nothing. A corrupt
budgets.json is set aside with a warning naming it (--plan only reports it)
and the run goes on."""
import json
import os
import re
import time

from daemonlib import AWS_HEAD, Test, calls, change_calls
from kinesisd_test.state import read_streams_json, snapshot

T = Test("budgets", "eu-west-1")
P = T.prefix

CONFIG = AWS_HEAD + """reconcile:
  poll: 100ms
  timeout: 60s
streams:
  - name: {prefix}flip
    shards: SHARDS
"""
SPENT_RE = re.compile(r"UpdateShardCount budget 10/24 h spent, the next call from "
                      r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
state = T.path("state")


def proxy_calls(op, stream):
    """Requests for op on stream that reached the strict proxy of our mock."""
    n = 0
    with open(T.path("mock0-proxy.jsonl")) as f:
        for line in f:
            try:
                e = json.loads(line)
            except ValueError:
                continue  # a line still being written
            if e.get("op") == op and e.get("stream") == stream and e.get("akid") == T.account:
                n += 1
    return n


def book():
    with open(os.path.join(state, "budgets.json")) as f:
        return json.load(f)


def book_entry(name):
    for s in book()["streams"]:
        if s["name"] == name and s["region"] == T.region:
            return s
    return None


_last_start = [0.0]


def paced(*args, **kw):
    """T.daemon or T.once, started at least 0.5 s after the previous one:
    each run lists the account's streams, and AWS allows 5 ListStreams a
    second per account; separate processes share no pacer."""
    fn = kw.pop("fn")
    wait = _last_start[0] + 0.5 - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    _last_start[0] = time.monotonic()
    return fn(*args, **kw)


def config(shards):
    return T.write("kinesisd.yaml", CONFIG.replace("SHARDS", str(shards)))


def test_setup():
    # A mock of our own: ten shards are a fifth of the shared one's limit.
    T.private_mock()


def test_alternate():
    cfg = config(1)
    out, err = paced(cfg, state, fn=T.once)
    T.require(T.describe(P + "flip")["OpenShardCount"] == 1, "created with 1 shard")
    # (declared shards, exit expected, UpdateShardCount calls this run, open shards after)
    runs = [(8, 0, 3, 8), (1, 0, 3, 1), (8, 0, 3, 8), (1, 1, 1, 4),
            (8, 1, 0, 4), (1, 1, 0, 4), (8, 1, 0, 4), (1, 1, 0, 4)]
    for i, (shards, rc, n, after) in enumerate(runs):
        out, err = paced(config(shards), state, expect=rc, fn=T.once)
        sent = calls(err).count("UpdateShardCount")
        T.check(sent == n, "run %d (%d shards): %d UpdateShardCount calls, expected %d" % (i + 1, shards, sent, n),
                "\n".join(l for l in err.splitlines() if "shard" in l.lower()))
        got = T.describe(P + "flip")["OpenShardCount"]
        T.check(got == after, "run %d: %d open shards, expected %d" % (i + 1, got, after))
        if rc:
            T.check(SPENT_RE.search(err) and "is not ready" in err,
                    "run %d: --once says the budget is spent and when it frees up" % (i + 1), err[-3000:])
    T.check(proxy_calls("UpdateShardCount", P + "flip") == 10,
            "10 UpdateShardCount calls reached the strict proxy in all",
            str(proxy_calls("UpdateShardCount", P + "flip")))
    doc = read_streams_json(os.path.join(state, "streams.json"))
    errs = [s.get("last_error") or "" for s in doc["streams"] if s["name"] == P + "flip"]
    T.check(errs and SPENT_RE.search(errs[0]), "streams.json's last_error says the budget is spent", str(errs))
    e = book_entry(P + "flip")
    T.check(e is not None and len(e.get("update_shard_count", [])) == 10,
            "budgets.json holds the 10 calls", json.dumps(book()))


def test_plan_reports_spent_budget():
    cfg = config(8)
    before = snapshot(state)
    rc, out, err, _ = paced("-c", cfg, "--state-dir", state, "--plan", fn=T.daemon)
    T.check(rc == 1, "--plan exits 1 when the budget leaves drift (exit %d)" % rc, out + err)
    T.check(re.search(r"^! %sflip +shards 4 -> 8 needs 1 scaling call, 0 left" % re.escape(P), out, re.M)
            and SPENT_RE.search(out), "--plan says the budget is spent and when it frees up", out)
    T.check(snapshot(state) == before, "--plan wrote nothing to the state directory")


def test_corrupt_set_aside():
    cstate = T.path("cstate")
    cfg = T.write("corrupt.yaml", AWS_HEAD + "streams:\n  - name: {prefix}calm\n    shards: 1\n")
    paced(cfg, cstate, fn=T.once)
    path = os.path.join(cstate, "budgets.json")
    with open(path, "w") as f:
        f.write('{"version": 1, "streams": [')
    rc, out, err, _ = paced("-c", cfg, "--state-dir", cstate, "--plan", fn=T.daemon)
    T.check(rc == 0, "--plan with a corrupt budgets.json goes on (exit %d)" % rc, err)
    T.check("%s: it is not valid JSON; left as it is" % path in err, "--plan names the corrupt file", err)
    T.check(os.path.exists(path) and not os.path.exists(path + ".corrupt"), "--plan does not move it")
    # Only warnings and worse: the message is one.
    rc, out, err, _ = paced("-c", cfg, "--state-dir", cstate, "--once", "--log-level", "warning", fn=T.daemon)
    T.check(rc == 0, "--once with a corrupt budgets.json goes on (exit %d)" % rc, err)
    T.check("%s: it is not valid JSON; set aside as budgets.json.corrupt" % path in err,
            "a warning names the file set aside", err)
    with open(path + ".corrupt") as f:
        T.check(f.read() == '{"version": 1, "streams": [', "the corrupt file is kept aside as it was")
    with open(path) as f:
        T.check(json.load(f).get("version") == 1, "a fresh budgets.json is written")


T.run(test_setup, test_alternate, test_plan_reports_spent_budget, test_corrupt_set_aside)
