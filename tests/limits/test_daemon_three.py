#!/usr/bin/env python3
"""limits-daemon-three: three kinesisd (--once) at the same time on one
account, 10 new streams each (retention, tags, a consumer), through the
strict proxy: all converge, and under 5% of their calls are refused.

  test_daemon_three.py KINESISD KINESIS_CALL PORT_FILE WORK_DIR

A private mock+proxy pair (creations take 2 s). Each daemon sets
reconcile.api_share: 0.3, the documented advice for hosts that share an
account (kinesisd.yaml(5)): split it with a little room to spare; three
daemons at the default share would ask for 1.5 times the account's rates. The CREATING limit they cannot split:
their refused CreateStream calls (each a hold of that daemon's creations)
are what the 5% allows; the account expects refusals (allow_refusals)."""
import collections
import json
import os
import sys
import time

import limitslib as lib  # noqa: E402
from daemonlib import Test  # noqa: E402
from kinesisd_test.process import kill, wait_exit  # noqa: E402

T = Test("lim3", "eu-west-1", need_mock=False)
DAEMONS, PER = 3, 10
names = [["%sd%d-%02d" % (T.prefix, d, i) for i in range(PER)] for d in range(DAEMONS)]


def test_three_daemons():
    endpoint, log = lib.daemon_pair(T, "2000ms")
    T.allow_refusals()
    procs = []
    t0 = time.monotonic()
    for d in range(DAEMONS):
        cfg = T.write("kinesisd%d.yaml" % d, lib.stream_config(names[d], endpoint, T.region,
                                                              api_share="0.3"))
        procs.append(T.spawn("-c", cfg, "--state-dir", T.path("state%d" % d), "--once",
                             "--log-level", "debug", stderr_path=T.path("daemon%d.log" % d)))
    codes = [wait_exit(p, 150) for p in procs]
    secs = time.monotonic() - t0
    for p in procs:
        kill(p)
    for d, rc in enumerate(codes):
        with open(T.path("daemon%d.log" % d), errors="replace") as f:
            err = f.read()
        T.check_sanitizers(err, "kinesisd %d" % d)
        T.check(rc == 0, "kinesisd %d --once exit %s" % (d, rc), err[-4000:])
    entries = [e for e in lib.live_entries(log) if e["akid"] == T.account]
    refused = [e for e in entries if e.get("refused")]
    print("figures: three daemons, %d streams: %.1fs, %d of %d calls refused (%.1f%%): %s"
          % (DAEMONS * PER, secs, len(refused), len(entries), 100.0 * len(refused) / max(len(entries), 1),
             dict(collections.Counter(e["op"] for e in refused))))
    print("figures-json: " + json.dumps({"streams": DAEMONS * PER, "seconds": round(secs, 2),
                                         "refused": len(refused), "calls": len(entries),
                                         "refused_by_op": dict(collections.Counter(e["op"] for e in refused))}))
    T.check(entries and len(refused) < 0.05 * len(entries),
            "%d of %d calls refused (under 5%%)" % (len(refused), len(entries)),
            [(e["op"], e["refused"]) for e in refused[:20]])
    for group in names:
        lib.check_converged(T, group)


T.run(test_three_daemons)
