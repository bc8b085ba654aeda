#!/usr/bin/env python3
"""daemon-notify: kinesisd as a Type=notify service, with a NOTIFY_SOCKET
harness (a unix datagram socket the test reads).

- READY=1 arrives only once every declared stream is ACTIVE (checked against
  the mock the moment it arrives) and the state files exist; STATUS= says
  "3 streams: 3 active"; the idle daemon uses no CPU to speak of.
- SIGHUP with a configuration that adds a stream and drops one: RELOADING=1
  with MONOTONIC_USEC, READY=1; the new stream is created and exported, the
  dropped one leaves the exports but stays in AWS.
- SIGHUP with a broken configuration: RELOADING=1, READY=1, STATUS= names
  FILE:LINE:COLUMN, the running configuration goes on, exports unchanged,
  metrics say the reload failed.
- SIGTERM: STOPPING=1 and exit 0 within 3 s, also while a stream is being
  created."""
import os
import re
import signal
import time

from daemonlib import AWS_HEAD, Test
from kinesisd_test.checks import Failed
from kinesisd_test.notify import NotifySocket
from kinesisd_test.process import kill, wait_exit
from kinesisd_test.state import env_name, read_state, snapshot

T = Test("notify", "eu-central-1")
# How long to wait for what should come in well under a second: bounds a
# hang, not a speed (the machine may be busy).
WAIT = 30
P = T.prefix

HEAD = AWS_HEAD + """reconcile:
  poll: 100ms
  interval: 5m
  timeout: 30s
streams:
"""
A_B_C = HEAD + """  - name: {prefix}a
    shards: 1
  - name: {prefix}b
    shards: 1
    retention_hours: 36
  - name: {prefix}c
    shards: 1
"""
A_B_D = HEAD + """  - name: {prefix}a
    shards: 1
  - name: {prefix}b
    shards: 1
    retention_hours: 36
  - name: {prefix}d
    shards: 1
"""
BROKEN = HEAD + """  - name: {prefix}a
    shards: 1
    retention_hourz: 36
"""
state = T.path("state")
cfg = T.path("kinesisd.yaml")


class Harness(NotifySocket):
    """The daemon's datagrams; on READY=1 it looks at the mock and the state
    directory at once, before anything else can happen."""

    def __init__(self, path, expect_active):
        self.expect_active = expect_active
        super().__init__(path, self.look)

    def look(self):
        not_active = []
        for n in self.expect_active():
            try:
                d = T.mock_call("DescribeStreamSummary", {"StreamName": n})["StreamDescriptionSummary"]
                if d["StreamStatus"] != "ACTIVE":
                    not_active.append("%s %s" % (n, d["StreamStatus"]))
            except Exception as e:  # noqa: BLE001
                not_active.append("%s %s" % (n, e))
        missing = [f for f in ("streams.json", "streams.env")
                   if not os.path.exists(os.path.join(state, f))]
        missing += [n for n in self.expect_active()
                    if not os.path.exists(os.path.join(state, "streams", T.region, n + ".arn"))]
        return not_active, missing


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settled_snapshot(quiet=1.0):
    """snapshot(state) once no file but metrics.prom has changed for quiet s."""
    def files():
        return {f: v for f, v in snapshot(state).items() if f != "metrics.prom"}
    last, since = files(), time.monotonic()
    deadline = since + WAIT
    while time.monotonic() - since < quiet:
        if time.monotonic() > deadline:
            raise Failed("the state directory kept changing for %d s" % WAIT)
        time.sleep(0.1)
        now = files()
        if now != last:
            last, since = now, time.monotonic()
    return snapshot(state)


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise Failed("%s: not within %ds" % (what, timeout))
        time.sleep(0.05)


declared = [P + "a", P + "b", P + "c"]


def test_lifecycle():
    T.write("kinesisd.yaml", A_B_C)
    h = Harness(T.path("notify.sock"), lambda: list(declared))
    log = T.path("daemon.log")
    p = T.spawn("-c", cfg, "--state-dir", state, "--log-level", "debug",
                env={"NOTIFY_SOCKET": h.path}, stderr_path=log)
    try:
        lifecycle(h, p, log)
    finally:
        kill(p)
        h.close()


def lifecycle(h, p, log):
    i = h.wait_for(lambda kv: kv.get("READY") == "1", 2 * WAIT, "READY=1")
    T.check(len(h.ready_checks) >= 1 and h.ready_checks[0] == ([], []),
            "at READY=1 every stream is ACTIVE and exported", str(h.ready_checks))
    T.check(all(m[1].get("READY") != "1" for m in h.msgs[:i]), "READY=1 only once")
    T.check(any(m[1].get("STATUS", "").startswith("3 streams: ") for m in h.msgs[:i]),
            "STATUS= during start-up", str([m[2] for m in h.msgs[:i]]))
    h.wait_for(lambda kv: kv.get("STATUS") == "3 streams: 3 active", WAIT, 'STATUS "3 streams: 3 active"')
    for n in declared:
        T.check(T.describe(n)["StreamStatus"] == "ACTIVE", "%s ACTIVE" % n)

    # Idle: no busy loop.
    time.sleep(0.3)
    c0 = cpu_seconds(p.pid)
    time.sleep(2.0)
    used = cpu_seconds(p.pid) - c0
    T.check(used < 0.2, "idle daemon uses < 10%% CPU (%.2fs in 2s)" % used)

    # Reload: drop c, add d.
    arn_c = T.describe(P + "c")["StreamARN"]
    T.write("kinesisd.yaml", A_B_D)
    declared[:] = [P + "a", P + "b", P + "d"]
    n0 = len(h.msgs)
    p.send_signal(signal.SIGHUP)
    j = h.wait_for(lambda kv: kv.get("RELOADING") == "1", WAIT, "RELOADING=1", n0)
    mono = h.msgs[j][1].get("MONOTONIC_USEC", "")
    T.check(re.fullmatch(r"[0-9]+", mono) is not None, "RELOADING=1 carries MONOTONIC_USEC", h.msgs[j][2])
    if mono.isdigit():
        now = time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6
        T.check(abs(now - int(mono)) < 10e6, "MONOTONIC_USEC is CLOCK_MONOTONIC now", "%s vs %d" % (mono, now))
    h.wait_for(lambda kv: kv.get("READY") == "1", WAIT, "READY=1 after reload", j + 1)

    def reloaded():
        st = read_state(state)
        return (st["env"] is not None and env_name(P + "d", T.region, T.region) in st["env"]
                and (T.region, P + "c") not in st["arn"] and
                env_name(P + "c", T.region, T.region) not in st["env"])
    wait_until(reloaded, WAIT, "d exported and c dropped from the exports")
    d = T.describe(P + "d")
    T.check(d["StreamStatus"] == "ACTIVE", "d created and ACTIVE", str(d))
    st = read_state(state)
    T.check(st["arn"].get((T.region, P + "d")) == d["StreamARN"], "d's .arn file is its ARN")
    T.check(not os.path.exists(os.path.join(state, "streams", T.region, P + "c.arn")), "c's .arn removed")
    T.check(P + "c" not in [s["name"] for s in st["json"]["streams"]], "c gone from streams.json")
    T.check(T.describe(P + "c")["StreamARN"] == arn_c, "c still exists in AWS (never deleted)")
    h.wait_for(lambda kv: kv.get("STATUS") == "3 streams: 3 active", WAIT, "STATUS after reload", j + 1)
    with open(log) as f:
        text = f.read()
    T.check("Stream %sc is no longer declared" % P in text, "the log says c is no longer declared")

    # Broken reload: everything goes on as before.
    before = settled_snapshot()  # the last export of the reload done
    T.write("kinesisd.yaml", BROKEN)
    n0 = len(h.msgs)
    p.send_signal(signal.SIGHUP)
    j = h.wait_for(lambda kv: kv.get("RELOADING") == "1", WAIT, "RELOADING=1 (broken)", n0)
    k = h.wait_for(lambda kv: kv.get("READY") == "1", WAIT, "READY=1 after broken reload", j + 1)
    s = h.wait_for(lambda kv: "reload failed" in kv.get("STATUS", ""), WAIT, "STATUS reload failed", j + 1)
    status = h.msgs[s][1]["STATUS"]
    T.check(re.search(re.escape(cfg) + r":\d+:\d+: ", status) is not None,
            "STATUS names FILE:LINE:COLUMN", status)
    T.check(status.startswith("3 streams: 3 active"), "STATUS still counts the running streams", status)
    time.sleep(0.5)
    after = snapshot(state)
    for f in before:
        if f != "metrics.prom":
            T.check(after.get(f) == before[f], "broken reload leaves %s alone" % f)
    T.check(set(after) == set(before), "same files after the broken reload")
    wait_until(lambda: read_state(state)["prom"].get("kinesisd_config_reload_failed") == 1.0, WAIT,
               "metrics: kinesisd_config_reload_failed 1")
    T.check(p.poll() is None, "still running after the broken reload")

    # SIGTERM.
    n0 = len(h.msgs)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    rc = wait_exit(p, 3)
    T.check(rc == 0, "SIGTERM: exit 0 within 3 s", "rc %s after %.1fs" % (rc, time.monotonic() - t0))
    T.check(h.arrived(lambda kv: kv.get("STOPPING") == "1", WAIT, n0), "STOPPING=1 sent",
            str([m[2] for m in h.msgs[n0:]]))
    with open(log) as f:
        T.check_sanitizers(f.read(), "daemon")


def test_sigterm_while_creating():
    T.write("creating.yaml", HEAD + "".join("  - name: {prefix}t%d\n    shards: 1\n" % i for i in range(8)))
    h = Harness(T.path("notify2.sock"), lambda: [])
    p = T.spawn("-c", T.path("creating.yaml"), "--state-dir", T.path("state2"), "--log-level", "debug",
                env={"NOTIFY_SOCKET": h.path}, stderr_path=T.path("daemon2.log"))
    try:
        # Wait until a create has been sent, then stop at once.
        wait_until(lambda: "CreateStream" in open(T.path("daemon2.log")).read(), WAIT, "a CreateStream")
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        rc = wait_exit(p, 3)
        T.check(rc == 0, "SIGTERM during creation: exit 0 within 3 s",
                "rc %s after %.1fs" % (rc, time.monotonic() - t0))
        T.check(h.arrived(lambda kv: kv.get("STOPPING") == "1", WAIT), "STOPPING=1 sent")
        T.check(not any(m[1].get("READY") == "1" for m in h.msgs), "no READY=1 before the streams are ACTIVE",
                str([m[2] for m in h.msgs]))
        st = read_state(T.path("state2")) if os.path.isdir(T.path("state2")) else None
        T.check(st is None or st["temp"] == [], "no temp file left", str(st and st["temp"]))
        with open(T.path("daemon2.log")) as f:
            T.check_sanitizers(f.read(), "daemon")
    finally:
        kill(p)
        h.close()


T.run(test_lifecycle, test_sigterm_while_creating)
