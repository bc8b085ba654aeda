#!/usr/bin/env python3
"""daemon-reload-storm: 50 SIGHUPs in a row, each sent once the daemon has
taken the one before (so the kernel does not merge them), each after a new
configuration was written. Reloads that arrive while one is starting are
one request: a single reload after it, reading the files as they are then.

- At most 5 reloads and 5 ListStreams in all for the 50 signals (it was one
  of each per signal);
- the configuration written before the last signal is the one in effect
  (its tag value is on the stream in AWS);
- every reload that ran said RELOADING=1 and READY=1 to the NOTIFY_SOCKET,
  the last datagram of the two kinds being READY=1;
- the daemon then stops on SIGTERM with exit 0.

No assertion on timing: the test waits for the daemon to be idle, which its
debug log tells (no reload queued, a pass done after the last reload)."""
import os
import signal
import time

from daemonlib import AWS_HEAD, Test, requests_sent
from kinesisd_test.checks import Failed
from kinesisd_test.notify import NotifySocket
from kinesisd_test.process import kill, stop

T = Test("reloadstorm", "us-east-1")
P = T.prefix
# Bounds a hang, not a speed: the machine may be busy.
WAIT = 60
SIGNALS = 50
MAX_RELOADS = 5

CONFIG = AWS_HEAD + """reconcile:
  poll: 100ms
  interval: 5m
  timeout: 30s
streams:
  - name: {prefix}a
    shards: 1
    tags:
      generation: "%d"
"""
cfg = T.path("kinesisd.yaml")
state = T.path("state")
log = T.path("daemon.log")

QUEUED = "Reload requested while the last one is starting"
RELOADING = "Reloading the configuration from"
PASS_DONE = "Pass done:"


def read_log():
    with open(log, errors="replace") as f:
        return f.read()


def wait_until(pred, what, proc):
    deadline = time.monotonic() + WAIT
    while not pred():
        if proc.poll() is not None:
            raise Failed("kinesisd exited with %s while waiting for %s" % (proc.returncode, what))
        if time.monotonic() > deadline:
            raise Failed("%s: not within %d s" % (what, WAIT), read_log()[-4000:])
        time.sleep(0.05)


def sighup_pending(pid):
    """Is a SIGHUP sent to pid still waiting to be taken (the daemon reads it
    from a signalfd, so it stays pending until then)?"""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("ShdPnd:", "SigPnd:")) and int(line.split()[1], 16) & 1:
                return True
    return False


def idle(text):
    """No reload queued, and a pass ended after the last reload began."""
    queued = False
    last_reload = -1
    lines = text.splitlines()
    for i, l in enumerate(lines):
        if QUEUED in l:
            queued = True
        elif RELOADING in l:
            queued = False
            last_reload = i
    return not queued and last_reload >= 0 and any(PASS_DONE in l for l in lines[last_reload:])


def generation():
    tags = T.tags(P + "a")
    return tags.get("generation")


def test_storm():
    T.write("kinesisd.yaml", CONFIG % 0)
    h = NotifySocket(T.path("notify.sock"))
    p = T.spawn("-c", cfg, "--state-dir", state, "--log-level", "debug",
                env={"NOTIFY_SOCKET": h.path}, stderr_path=log)
    try:
        h.wait_for(lambda kv: kv.get("READY") == "1", WAIT, "READY=1")
        wait_until(lambda: generation() == "0", "the first configuration in effect", p)
        n_msgs = len(h.msgs)
        before = read_log()
        lists_before = requests_sent(before).count("ListStreams")

        for i in range(1, SIGNALS + 1):
            T.write("kinesisd.yaml", CONFIG % i)
            os.kill(p.pid, signal.SIGHUP)
            wait_until(lambda: not sighup_pending(p.pid), "SIGHUP %d taken" % i, p)

        wait_until(lambda: generation() == str(SIGNALS), "the last configuration in effect", p)
        wait_until(lambda: idle(read_log()), "the daemon idle after the reloads", p)
        text = read_log()
        after = text[len(before):]
        reloads = after.count(RELOADING)
        lists = requests_sent(text).count("ListStreams") - lists_before
        print("%d SIGHUPs: %d reloads, %d ListStreams" % (SIGNALS, reloads, lists))
        T.check(1 <= reloads <= MAX_RELOADS, "%d SIGHUPs ran %d reloads (at most %d)"
                % (SIGNALS, reloads, MAX_RELOADS))
        T.check(lists <= MAX_RELOADS, "%d SIGHUPs cost %d ListStreams (at most %d)"
                % (SIGNALS, lists, MAX_RELOADS))
        T.check(QUEUED in after, "the log says a reload was queued behind another", after[-3000:])
        T.check(generation() == str(SIGNALS), "the configuration written last is in effect",
                str(T.tags(P + "a")))

        # systemd's side: each reload that ran began with RELOADING=1 and
        # ended with READY=1; nothing is left half-way.
        h.wait_for(lambda kv: kv.get("READY") == "1", WAIT, "READY=1 after the reloads", n_msgs)
        msgs = [m[1] for m in h.msgs[n_msgs:]]
        n_reloading = sum(1 for kv in msgs if kv.get("RELOADING") == "1")
        T.check(n_reloading == reloads, "RELOADING=1 once per reload run (%d, %d reloads)"
                % (n_reloading, reloads))
        marks = [kv for kv in msgs if kv.get("RELOADING") == "1" or kv.get("READY") == "1"]
        T.check(marks and marks[-1].get("READY") == "1", "the last of RELOADING=1/READY=1 is READY=1",
                str(marks[-4:]))

        rc = stop(p, 15)
        T.check(rc == 0, "SIGTERM after the storm: exit 0 (got %s)" % rc, read_log()[-2000:])
    finally:
        kill(p)
        h.close()


T.run(test_storm)
