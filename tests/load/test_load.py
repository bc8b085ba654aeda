#!/usr/bin/env python3
"""load-N: kinesisd with N declared streams (1 shard each) on a dedicated
kinesis-mock (SHARD_LIMIT raised), on loopback only.

  test_load.py KINESISD MOCK_SCRIPT MOCK_PKG_DIR N [--create K] [--rss-mib M]

1. Start a dedicated kinesis-mock (SHARD_LIMIT = 2N + 100, state changes
   take 500 ms) and create N - K of the streams directly in it: kinesisd
   paces CreateStream at 4/s (DESIGN section 6), which alone would take N/4 s.
2. kinesisd --once with all N declared: creates the K missing streams, waits
   for every one to be ACTIVE, exports. Must exit 0, export N ARNs
   (streams.json, streams.env, streams/<region>/<name>.arn), and its peak RSS
   (VmHWM, polled every 20 ms) must stay under M MiB (default 16). Not
   ru_maxrss: Linux keeps it across execve(), so a child forked from this
   Python process would report Python's RSS.
3. The long-running daemon on the same configuration (interval 1 h): its
   first pass is a steady-state pass (everything exists and is in sync). It
   must make at most N + ceil(N/100) + 10 Kinesis calls (N
   DescribeStreamSummary, the ListStreams pages, a few spare), keep VmHWM
   (polled) under M MiB, then, idle until the next pass, send nothing and
   use at most 3 clock ticks of CPU (utime + stime in /proc/PID/stat) over
   10 s, and exit 0 on SIGTERM.

kinesisd talks to the mock through tests/fault's strict proxy with no faults
scheduled: it refuses what AWS's control-plane limits would, and not one
request may be refused; calls are counted there, on the wire, each retry and
each page included, and every request's signature is checked. kinesisd's
own kinesisd_api_calls_total must agree with that count.

Prints the figures (durations, calls, RSS, ticks) whatever the outcome.
A pass over N streams cannot be quicker than N / 16 s: DescribeStreamSummary
is paced at 20/s x 0.8."""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from kinesisd_test import mock, ports
from kinesisd_test.environment import clean_env
from kinesisd_test.process import proc_cpu_ticks, proc_status_kib, stop, wait_for
from kinesisd_test.proxy import Proxy
from kinesisd_test.state import metrics

REGION = "us-east-1"
ACCESS_KEY, SECRET_KEY = "AKIDLOADTEST", "loadSecretNotReal"
IDLE_SECONDS = 10
IDLE_MAX_TICKS = 3
CALLS_SLACK = 10


class Watch(threading.Thread):
    """Polls VmHWM of a process until it exits."""

    def __init__(self, pid, period=0.05):
        super().__init__(daemon=True)
        self.pid, self.period, self.hwm_kib, self.stop_flag = pid, period, 0, False

    def run(self):
        while not self.stop_flag:
            v = proc_status_kib(self.pid, "VmHWM")
            if v is None:
                return
            self.hwm_kib = max(self.hwm_kib, v)
            time.sleep(self.period)


def settled(proxy, want, start=0):
    """The proxy's requests from start on, once it has logged the want
    requests kinesisd says it made (it logs each after the answer is sent,
    so the last lines may come after kinesisd has moved on). A proxy that
    saw fewer is returned as it is after a generous wait, for the caller to
    report."""
    wait_for(lambda: len(proxy.live_entries()) - start >= want, 60)
    return proxy.live_entries()[start:]


def by_op(reqs):
    ops = {}
    for e in reqs:
        ops[e.get("op")] = ops.get(e.get("op"), 0) + 1
    return ops


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kinesisd")
    ap.add_argument("mock_script")
    ap.add_argument("mock_dir")
    ap.add_argument("n", type=int)
    ap.add_argument("--create", type=int, default=40, help="streams kinesisd itself creates")
    ap.add_argument("--rss-mib", type=float, default=16.0)
    ap.add_argument("--python", default=sys.executable)
    a = ap.parse_args()
    n, k = a.n, min(a.create, a.n)
    limit_kib = int(a.rss_mib * 1024)
    max_calls = n + math.ceil(n / 100) + CALLS_SLACK

    if not os.path.isfile(os.path.join(a.mock_dir, "main.js")):
        ports.skip_or_fail("kinesis-mock not installed at %s" % a.mock_dir)

    tmp = tempfile.mkdtemp(prefix="kinesisd-load-")
    own_mock = mock.MockProcess(a.mock_dir, tmp, script=a.mock_script, python=a.python, duration="500ms",
                                env={"SHARD_LIMIT": str(2 * n + 100), "ON_DEMAND_STREAM_COUNT_LIMIT": "100"})
    proxy = None
    failures = []
    figures = {}

    def fail(msg):
        failures.append(msg)
        print("FAIL: " + msg, flush=True)

    try:
        t0 = time.monotonic()
        port = own_mock.start()
        figures["mock start s"] = round(time.monotonic() - t0, 1)
        names = ["load-%05d" % i for i in range(n)]
        t0 = time.monotonic()
        mock.create_streams(port, names[k:])
        figures["direct creation of %d streams s" % (n - k)] = round(time.monotonic() - t0, 1)
        print("created %d streams directly in %.1f s" % (n - k, time.monotonic() - t0), flush=True)

        # No faults scheduled: it forwards, verifies signatures, refuses what
        # AWS's limits would, and logs.
        proxy = Proxy(tmp, port, keys={ACCESS_KEY: SECRET_KEY},
                               max_seconds=86400).__enter__()
        cfg = os.path.join(tmp, "kinesisd.yaml")
        with open(cfg, "w") as f:
            f.write("aws:\n  region: %s\nreconcile:\n  interval: 1h\n  poll: 500ms\n  timeout: 20m\n"
                    "streams:\n" % REGION)
            for name in names:
                f.write("  - { name: %s, shards: 1 }\n" % name)
        state = os.path.join(tmp, "state")
        env = clean_env(tmp, {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY})
        common = ["-c", cfg, "--state-dir", state, "--endpoint", "http://127.0.0.1:%d" % proxy.port]

        # ---- 2. --once: converge
        out_path, err_path = os.path.join(tmp, "once.out"), os.path.join(tmp, "once.err")
        with open(out_path, "w") as out, open(err_path, "w") as err:
            t0 = time.monotonic()
            p = subprocess.Popen([a.kinesisd, "--once"] + common, env=env, stdout=out, stderr=err,
                                 stdin=subprocess.DEVNULL)
            w = Watch(p.pid, period=0.02)
            w.start()
            _pid, status, usage = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            w.stop_flag = True
            w.join()
            secs = time.monotonic() - t0
        m = metrics(os.path.join(state, "metrics.prom"))
        once_reqs = settled(proxy, int(m.get("kinesisd_api_calls_total", 0)))
        figures["--once requests (proxy)"] = len(once_reqs)
        figures["--once s"] = round(secs, 1)
        figures["--once peak RSS KiB"] = w.hwm_kib
        figures["--once CPU s"] = round(usage.ru_utime + usage.ru_stime, 2)
        figures["--once API calls"] = int(m.get("kinesisd_api_calls_total", -1))
        figures["--once changes"] = int(m.get("kinesisd_changes_total", -1))
        print("--once: exit %d in %.1f s, peak RSS %d KiB, CPU %.2f s, %d calls, %d changes" %
              (p.returncode, secs, w.hwm_kib, usage.ru_utime + usage.ru_stime,
               figures["--once API calls"], figures["--once changes"]), flush=True)
        if p.returncode != 0:
            with open(err_path) as f:
                fail("--once exited %d:\n%s" % (p.returncode, f.read()[-3000:]))
        if w.hwm_kib >= limit_kib or w.hwm_kib == 0:
            fail("--once peak RSS %d KiB, limit %d KiB" % (w.hwm_kib, limit_kib))
        if figures["--once API calls"] != len(once_reqs):
            fail("--once: kinesisd_api_calls_total is %d, the proxy saw %d requests"
                 % (figures["--once API calls"], len(once_reqs)))
        if figures["--once changes"] != k:
            fail("--once made %d changes, expected %d (one CreateStream per missing stream)"
                 % (figures["--once changes"], k))

        try:
            with open(os.path.join(state, "streams.json")) as f:
                exported = json.load(f)["streams"]
        except (OSError, ValueError, KeyError) as e:
            exported = []
            fail("streams.json unreadable: %s" % e)
        active = [s for s in exported if s.get("status") == "ACTIVE" and s.get("arn")]
        if len(active) != n:
            fail("streams.json: %d of %d streams ACTIVE with an ARN" % (len(active), n))
        try:
            with open(os.path.join(state, "streams.env")) as f:
                env_lines = [l for l in f if l.startswith("KINESIS_STREAM_")]
        except OSError:
            env_lines = []
        if len(env_lines) != n:
            fail("streams.env: %d lines, expected %d" % (len(env_lines), n))
        arn_dir = os.path.join(state, "streams", REGION)
        n_arn = len(os.listdir(arn_dir)) if os.path.isdir(arn_dir) else 0
        if n_arn != n:
            fail("streams/%s/: %d .arn files, expected %d" % (REGION, n_arn, n))

        # ---- 3. the daemon: a steady-state pass, then idle
        metrics_path = os.path.join(state, "metrics.prom")
        before = os.stat(metrics_path).st_mtime if os.path.exists(metrics_path) else 0
        n_before = len(proxy.live_entries())
        err_path = os.path.join(tmp, "daemon.err")
        with open(err_path, "w") as err:
            t0 = time.monotonic()
            p = subprocess.Popen([a.kinesisd] + common, env=env, stdout=subprocess.DEVNULL, stderr=err,
                                 stdin=subprocess.DEVNULL)
            w = Watch(p.pid, period=0.1)
            w.start()
            deadline = time.monotonic() + max(300, n / 4)
            m = {}
            while time.monotonic() < deadline and p.poll() is None:
                if os.path.exists(metrics_path) and os.stat(metrics_path).st_mtime > before:
                    m = metrics(metrics_path)
                    if m.get("kinesisd_reconcile_passes_total", 0) >= 1:
                        break
                time.sleep(0.1)
            secs = time.monotonic() - t0
            pass_reqs = settled(proxy, int(m.get("kinesisd_api_calls_total", 0)), n_before)
            calls = len(pass_reqs)
            figures["steady pass s"] = round(secs, 1)
            figures["steady pass requests (proxy)"] = calls
            figures["steady pass requests by operation"] = by_op(pass_reqs)
            figures["steady pass API calls (metric)"] = int(m.get("kinesisd_api_calls_total", -1))
            figures["steady pass changes"] = int(m.get("kinesisd_changes_total", -1))
            print("daemon: first (steady-state) pass in %.1f s, %d requests at the proxy (limit %d), "
                  "%d changes; %s" % (secs, calls, max_calls, figures["steady pass changes"],
                                      json.dumps(by_op(pass_reqs), sort_keys=True)), flush=True)
            if m.get("kinesisd_reconcile_passes_total", 0) < 1:
                fail("the daemon did not finish a pass within %.0f s" % (deadline - t0))
            else:
                if calls > max_calls:
                    fail("steady-state pass made %d calls, more than N + ceil(N/100) + %d = %d"
                         % (calls, CALLS_SLACK, max_calls))
                if calls < n:
                    fail("steady-state pass made %d calls for %d streams: the proxy missed some"
                         % (calls, n))
                if figures["steady pass API calls (metric)"] != calls:
                    fail("steady-state pass: kinesisd_api_calls_total is %d, the proxy saw %d"
                         % (figures["steady pass API calls (metric)"], calls))
                if figures["steady pass changes"] != 0:
                    fail("steady-state pass changed %d things" % figures["steady pass changes"])
                # idle: nothing to do until the interval (1 h)
                time.sleep(1.0)
                r1 = len(proxy.live_entries())
                t1 = proc_cpu_ticks(p.pid)
                time.sleep(IDLE_SECONDS)
                t2 = proc_cpu_ticks(p.pid)
                r2 = len(proxy.live_entries())
                if r2 != r1:
                    fail("the idle daemon sent %d requests in %d s" % (r2 - r1, IDLE_SECONDS))
                figures["idle ticks / %d s" % IDLE_SECONDS] = t2 - t1
                print("daemon: %d clock ticks of CPU in %d s idle (limit %d, %d ticks/s)" %
                      (t2 - t1, IDLE_SECONDS, IDLE_MAX_TICKS, os.sysconf("SC_CLK_TCK")), flush=True)
                if t2 - t1 > IDLE_MAX_TICKS:
                    fail("idle daemon used %d ticks of CPU in %d s" % (t2 - t1, IDLE_SECONDS))
            hwm = max(w.hwm_kib, proc_status_kib(p.pid, "VmHWM") or 0)
            rc = stop(p, 60)
            if rc is None:
                rc = "killed (no exit within 60 s of SIGTERM)"
            w.stop_flag = True
            peak = hwm
            figures["daemon peak RSS KiB"] = peak
            print("daemon: exit %s after SIGTERM, peak RSS %d KiB" % (rc, peak), flush=True)
            if rc != 0:
                with open(err_path) as f:
                    fail("daemon exited %s on SIGTERM:\n%s" % (rc, f.read()[-3000:]))
            if peak >= limit_kib or peak == 0:
                fail("daemon peak RSS %d KiB, limit %d KiB" % (peak, limit_kib))
    except Exception as e:  # noqa: BLE001 - report, then clean up
        fail("%s: %s" % (type(e).__name__, e))
    finally:
        if proxy:
            proxy.stop()
            bad = [e for e in proxy.live_entries() if not e.get("sig_ok")]
            figures["requests (proxy)"] = len(proxy.live_entries())
            refused = [e for e in proxy.live_entries() if e.get("refused")]
            figures["refused (proxy)"] = len(refused)
            if refused:
                fail("the strict proxy refused %d requests, first: %s %s"
                     % (len(refused), refused[0].get("op"), refused[0].get("refused")))
            if bad:
                fail("%d requests failed the proxy's signature check, first: %s"
                     % (len(bad), bad[0].get("sig_error")))
        own_mock.stop()

    print("figures: " + json.dumps(figures, sort_keys=True))
    if failures:
        print("load-%d: FAILED (%d); files kept in %s" % (n, len(failures), tmp))
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print("load-%d: passed" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
