#!/usr/bin/env python3
"""A reload whose include: pattern would walk an endless tree fails at once
and the watchdog keeps being fed (issue 13, item 7).

The daemon runs with one stream, a NOTIFY_SOCKET of the test's own and
WATCHDOG_USEC=6 s. tree/ holds 30 symlinks to itself, so every level of
tree/*/*/... is 30 ways into the same directory: without a bound on the
expansion a reload never ends (and takes the machine's memory). The
configuration then names tree/*/*/*/*/*/*/none-*.yaml and gets SIGHUP:
RELOADING=1, READY=1 and a STATUS= that says the reload failed at the
include: entry's FILE:LINE:COLUMN must follow; WATCHDOG=1 must keep coming
with no gap as long as WATCHDOG_USEC; the running configuration goes on and
SIGTERM still ends the daemon with exit 0. The waits bound a hang, not a
speed: the reload itself takes milliseconds."""
import os
import re
import signal
import time

from daemonlib import AWS_HEAD, Test
from kinesisd_test.notify import NotifySocket
from kinesisd_test.process import kill, wait_exit

T = Test("reload-include", "eu-west-3")
WAIT = 30
# sd-event pings between half and three quarters of it.
WATCHDOG_USEC = 6 * 1000 * 1000
FANOUT = 30

HEAD = AWS_HEAD + """reconcile:
  poll: 100ms
  interval: 5m
  timeout: 30s
"""
GOOD = HEAD + """streams:
  - name: {prefix}a
    shards: 1
"""
# The include: entry is at line 9, column 5 (HEAD is seven lines).
ENDLESS = HEAD + """include:
  - tree/*/*/*/*/*/*/none-*.yaml
streams:
  - name: {prefix}a
    shards: 1
"""


def test_reload_over_endless_tree():
    cfg = T.write("kinesisd.yaml", GOOD)
    tree = T.path("tree")
    os.makedirs(tree, exist_ok=True)
    for i in range(FANOUT):
        link = os.path.join(tree, "l%02d" % i)
        if not os.path.islink(link):
            os.symlink(".", link)
    h = NotifySocket(T.path("notify.sock"))
    log = T.path("daemon.log")
    p = T.spawn("-c", cfg, "--state-dir", T.path("state"), "--log-level", "debug",
                env={"NOTIFY_SOCKET": h.path, "WATCHDOG_USEC": str(WATCHDOG_USEC)}, stderr_path=log)
    try:
        h.wait_for(lambda kv: kv.get("READY") == "1", 2 * WAIT, "READY=1")
        h.wait_for(lambda kv: kv.get("WATCHDOG") == "1", WAIT, "WATCHDOG=1 before the reload")

        T.write("kinesisd.yaml", ENDLESS)
        n0 = len(h.msgs)
        t0 = time.monotonic()
        p.send_signal(signal.SIGHUP)
        j = h.wait_for(lambda kv: kv.get("RELOADING") == "1", WAIT, "RELOADING=1", n0)
        h.wait_for(lambda kv: kv.get("READY") == "1", WAIT, "READY=1 after the failed reload", j + 1)
        s = h.wait_for(lambda kv: "reload failed" in kv.get("STATUS", ""), WAIT, "STATUS reload failed", j + 1)
        status = h.msgs[s][1]["STATUS"]
        print("   reload refused %.2f s after SIGHUP" % (h.msgs[s][0] - t0))
        T.check(re.search(re.escape(cfg) + r":9:5: ", status) is not None,
                "STATUS names the include: entry's FILE:LINE:COLUMN", status)
        with open(log) as f:
            text = f.read()
        T.check("stopped after 65536 directory entries" in text, "the log names the cap", text[-3000:])

        # Keep listening for two more watchdog intervals, then look at the gaps.
        time.sleep(2 * WATCHDOG_USEC / 1e6)
        pings = [m[0] for m in h.msgs if m[1].get("WATCHDOG") == "1"]
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        T.check(len(pings) >= 2 and max(gaps) < WATCHDOG_USEC / 1e6,
                "WATCHDOG=1 never paused for WATCHDOG_USEC", "gaps %s" % ["%.1f" % g for g in gaps])
        T.check(p.poll() is None, "still running after the failed reload")

        p.send_signal(signal.SIGTERM)
        rc = wait_exit(p, WAIT)
        T.check(rc == 0, "SIGTERM: exit 0", "rc %s" % rc)
        with open(log) as f:
            T.check_sanitizers(f.read(), "daemon")
    finally:
        kill(p)
        h.close()


T.run(test_reload_over_endless_tree)
