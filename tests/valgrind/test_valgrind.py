#!/usr/bin/env python3
"""kinesisd under valgrind memcheck against kinesis-mock: no memory error and
no leak (definite, indirect or possible) on any path a real run takes.

  test_valgrind.py VALGRIND KINESISD MOCK_PORT_FILE SUPPRESSIONS

Five streams exercising most of the planner and the reconciler (provisioned
and on-demand, tags merged with defaults, consumers, KMS encryption, shard
level metrics, retention) under unique names, then, each under

  valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible
           --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99

1. kinesisd --once: creates everything, waits for ACTIVE, exports; exit 0.
2. kinesisd --once again: the steady-state path (everything in sync); exit 0.
3. kinesisd --plan: observes, prints "in sync"; exit 0.
4. the long-running daemon: started, left until its first pass is done (the
   pass counter in metrics.prom), then SIGTERM; exit 0.

Each must report "ERROR SUMMARY: 0 errors". Valgrind's own report goes to a
log file per run (kept in the test's directory on failure)."""
import os
import re
import subprocess
import sys
import tempfile
import time

from kinesisd_test.environment import FAKE_SECRET_KEY, clean_env
from kinesisd_test.ports import proxy_port
from kinesisd_test.process import stop

# An account of its own (a 12-digit key id), signed with the fake secret the
# strict proxy in front of the mock verifies.
ENV_KEYS = {"AWS_ACCESS_KEY_ID": "%012d" % (100000000000 + os.getpid()),
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY}
SUMMARY = re.compile(r"ERROR SUMMARY: (\d+) errors")


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    valgrind, kinesisd, port_file, supp = sys.argv[1:]
    port = proxy_port(port_file)  # kinesisd meets AWS's limits
    keep = False
    tmp = tempfile.mkdtemp(prefix="kinesisd-valgrind-")
    p = "vg%d" % os.getpid()
    cfg = os.path.join(tmp, "kinesisd.yaml")
    with open(cfg, "w") as f:
        f.write("""\
aws:
  region: us-east-1
reconcile:
  poll: 200ms
  timeout: 5m
defaults:
  retention_hours: 24
  tags: { managed-by: kinesisd, suite: valgrind }
streams:
  - name: %(p)s-orders
    shards: 2
    retention_hours: 48
    tags: { team: payments }
    consumers: [billing, audit]
    encryption: { kms_key: alias/aws/kinesis }
  - name: %(p)s-clicks
    shards: 1
    shard_level_metrics: [IncomingBytes, OutgoingRecords]
  - name: %(p)s-events
    mode: on_demand
    tags: { tier: gold }
  - name: %(p)s-audit
    shards: 1
    encryption: { kms_key: alias/aws/kinesis }
    consumers: [archiver]
  - name: %(p)s-metrics
    shards: 3
    retention_hours: 72
    shard_level_metrics: [ALL]
""" % {"p": p})
    state = os.path.join(tmp, "state")
    env = clean_env(tmp, ENV_KEYS)
    common = ["-c", cfg, "--state-dir", state, "--endpoint", "http://127.0.0.1:%d" % port]
    failures = []

    def vg(log):
        argv = [valgrind, "--leak-check=full", "--show-leak-kinds=definite,indirect,possible",
                "--errors-for-leak-kinds=definite,indirect,possible", "--error-exitcode=99",
                "--log-file=" + log]
        if os.path.getsize(supp) > 0:
            argv.append("--suppressions=" + supp)
        return argv

    def verdict(name, rc, out, err, log, want_rc=0):
        with open(log) as f:
            report = f.read()
        m = SUMMARY.findall(report)
        errors = int(m[-1]) if m else -1
        print("%-22s exit %d, valgrind: %s" % (name, rc, ("%d errors" % errors) if m else "no summary"))
        if rc != want_rc or errors != 0:
            failures.append(name)
            print("---- %s: stderr (tail)\n%s\n---- valgrind report (%s)\n%s" %
                  (name, err[-3000:], log, report[-12000:]))

    runs = [("once-create", ["--once"], 0), ("once-in-sync", ["--once"], 0), ("plan-in-sync", ["--plan"], 0)]
    for name, args, want in runs:
        log = os.path.join(tmp, "valgrind-%s.log" % name)
        t0 = time.monotonic()
        r = subprocess.run(vg(log) + [kinesisd] + args + common, env=env, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=600)
        print("%-22s %.1f s" % (name, time.monotonic() - t0))
        verdict(name, r.returncode, r.stdout, r.stderr, log, want)
        if name == "plan-in-sync" and r.returncode == 0 and "in sync" not in r.stdout:
            failures.append(name + " output")
            print("--plan did not say in sync:\n" + r.stdout)

    # The long-running daemon: one pass, then SIGTERM.
    log = os.path.join(tmp, "valgrind-daemon.log")
    errf = open(os.path.join(tmp, "daemon.err"), "w+")
    t_start = time.time()
    proc = subprocess.Popen(vg(log) + [kinesisd] + common, env=env, stdout=subprocess.DEVNULL, stderr=errf,
                            stdin=subprocess.DEVNULL)
    metrics = os.path.join(state, "metrics.prom")
    deadline = time.monotonic() + 300
    passes = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with open(metrics) as f:
                m = re.search(r"^kinesisd_reconcile_passes_total (\d+)", f.read(), re.M)
            # metrics.prom is left over from the --once runs: wait for a pass
            # of this process (the counter starts again at 0, then reaches 1
            # in the file it rewrites); the file's mtime moves too.
            if m and int(m.group(1)) >= 1 and os.stat(metrics).st_mtime > t_start:
                passes = int(m.group(1))
                break
        except OSError:
            pass
        time.sleep(0.2)
    rc = stop(proc, 120)
    if rc is None:  # killed: no exit within 120 s of SIGTERM
        rc = -9
    errf.seek(0)
    err = errf.read()
    errf.close()
    if passes < 1:
        failures.append("daemon pass")
        print("the daemon did not finish a pass in time:\n" + err[-3000:])
    verdict("daemon-sigterm", rc, "", err, log)

    if failures:
        keep = True
        print("FAILED: %s (logs kept in %s)" % (", ".join(failures), tmp))
        return 1
    if not keep:
        subprocess.run(["rm", "-rf", tmp])
    print("valgrind-once: all runs clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
