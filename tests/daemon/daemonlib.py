"""Helpers for the integration tests of the kinesisd binary against the
kinesis-mock fixture.

Every test script is run as

    test_X.py KINESISD KINESIS_CALL PORT_FILE WORK_DIR

and talks to 127.0.0.1 only. Every test of a run shares the one mock, which
counts the open shards of all its streams against one limit of 50 (and
on-demand streams against 10): so a test keeps to a few shards, deletes its
streams when it ends (Test.run does), and a test that needs many streams
starts a mock of its own (Test.private_mock). Each test signs with an access
key id of 12 digits, which the mock takes as the account to use: one account
per test and run, so a test lists only its own streams. The daemon and kinesis-call run with a clean
environment: fake static keys, no shared config or credentials file, no
instance metadata, no proxy variables, HOME in the work directory.

Streams get names with a per-run prefix (test name and pid), because every
test shares one mock. Exit status: 0 pass, 1 fail, 77 skip (the fixture did
not start and KINESISD_SKIP_INTEGRATION is set).

What every Python test shares (environment, mock client, processes, state
readers) is in tests/lib/kinesisd_test; this module keeps the test context
of this folder and the readers of the daemon's debug log."""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback

from kinesisd_test import mock, ports
from kinesisd_test.checks import Failed, sanitizer_report
from kinesisd_test.environment import FAKE_SECRET_KEY, clean_env
from kinesisd_test.process import text, wait_exit

# The aws: section of a test's configuration; Test.write() fills it in.
AWS_HEAD = "aws:\n  region: {region}\n  endpoint: {endpoint}\n"

# What kinesisd may call without changing anything in AWS.
READ_ONLY_OPS = {"ListStreams", "DescribeStreamSummary", "DescribeStream", "ListTagsForStream",
                 "ListStreamConsumers", "DescribeStreamConsumer", "DescribeLimits", "GetResourcePolicy",
                 "ListTagsForResource", "DescribeAccountSettings"}

# http.c logs every attempt at debug level: "HTTP: Kinesis.<Op> POST attempt N/M".
_ATTEMPT_RE = re.compile(r"HTTP: Kinesis\.(\w+) POST attempt (\d+)/")


class Test:
    def __init__(self, name, region, need_mock=True):
        if len(sys.argv) != 5:
            print("usage: %s KINESISD KINESIS_CALL PORT_FILE WORK_DIR" % sys.argv[0])
            sys.exit(2)
        self.name = name
        self.region = region
        self.kinesisd, self.kc_path, port_file, work = sys.argv[1:5]
        self.passed = 0
        self.failures = []
        self.port_file = port_file
        self.port = None          # the mock: the harness's own calls go there
        self.endpoint = None      # the strict proxy in front of it: for kinesisd
        if need_mock:
            self.port = ports.mock_port(port_file)
            self.endpoint = "http://127.0.0.1:%d" % ports.proxy_port(port_file)
        self.mock_endpoint = "http://127.0.0.1:%d" % self.port if self.port else None
        self.regions = {region}   # where cleanup() looks
        self.mocks = []           # private mocks (mock.MockProcess)
        self.refusals_allowed = False
        self.work = os.path.abspath(work)
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(os.path.join(self.work, "home"))
        # Unique per run, short enough to leave room for a suffix.
        self.prefix = "%s-%d-%d-" % (name, os.getpid() % 100000, int(time.time()) % 1000)
        self.account = "%012d" % (random.Random("%s %d %f" % (name, os.getpid(), time.time()))
                                  .randrange(10 ** 11, 10 ** 12))

    # ---- environment and processes -------------------------------------

    def env(self, extra=None):
        return clean_env(os.path.join(self.work, "home"),
                         {"AWS_ACCESS_KEY_ID": self.account, "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY},
                         "/dev/null", extra)

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def write(self, name, text):
        """Write a file in the work directory; {endpoint} and {prefix} are
        substituted. Returns its path."""
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        text = (text.replace("{endpoint}", self.endpoint or "").replace("{prefix}", self.prefix)
                .replace("{region}", self.region))
        with open(p + ".tmp", "w") as f:
            f.write(text)
        os.rename(p + ".tmp", p)
        return p

    def daemon(self, *args, timeout=50, env=None):
        """Run kinesisd to completion; returns (rc, stdout, stderr, seconds)."""
        t0 = time.monotonic()
        try:
            p = subprocess.run([self.kinesisd] + list(args), env=self.env(env), capture_output=True,
                               text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise Failed("kinesisd %s did not finish within %ds\n%s" %
                         (" ".join(args), timeout, text(e.stderr)[-4000:]))
        self.check_sanitizers(p.stderr, "kinesisd " + " ".join(args))
        return p.returncode, p.stdout, p.stderr, time.monotonic() - t0

    def check_sanitizers(self, text, what):
        """Under the sanitizer build a report fails the test even when the
        exit code happens to be the one expected."""
        report = sanitizer_report(text)
        self.check(report is None, "%s: sanitizer report" % what, report)

    def terminate(self, p, log, timeout=30):
        """SIGTERM to a daemon started by spawn(): it exits 0 within timeout,
        and its log (stderr_path) holds no sanitizer report."""
        p.send_signal(signal.SIGTERM)
        self.check(wait_exit(p, timeout) == 0, "exit 0 on SIGTERM")
        with open(log, errors="replace") as f:
            self.check_sanitizers(f.read(), "daemon")

    def once(self, config, state, *extra, expect=0, timeout=50):
        rc, out, err, secs = self.daemon("-c", config, "--state-dir", state, "--once",
                                         "--log-level", "debug", *extra, timeout=timeout)
        self.check(rc == expect, "kinesisd --once -c %s: exit %d, expected %d (%.1fs)" %
                   (os.path.basename(config), rc, expect, secs), err[-6000:])
        return out, err

    def spawn(self, *args, env=None, stderr_path=None):
        errf = open(stderr_path or self.path("daemon.log"), "ab")
        p = subprocess.Popen([self.kinesisd] + list(args), env=self.env(env), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=errf)
        errf.close()
        return p

    def kc_raw(self, op, req, region=None):
        rc, out, err, _ = mock.kinesis_call(self.kc_path, ["--endpoint", self.mock_endpoint, "--region",
                                                           region or self.region, op, json.dumps(req)],
                                            self.env(), timeout=60)
        return rc, out, err

    def kc(self, op, req, region=None):
        """One Kinesis call out of band; returns the parsed answer or fails."""
        rc, out, err = self.kc_raw(op, req, region)
        if rc != 0:
            raise Failed("kinesis-call %s %s: exit %d: %s" % (op, json.dumps(req), rc, err.strip()))
        return mock.last_json(out)

    def describe(self, name, region=None):
        return self.kc("DescribeStreamSummary", {"StreamName": name}, region)["StreamDescriptionSummary"]

    def exists(self, name, region=None):
        rc, out, err = self.kc_raw("DescribeStreamSummary", {"StreamName": name}, region)
        if rc == 0:
            return True
        if "ResourceNotFoundException" in err:
            return False
        raise Failed("DescribeStreamSummary %s: %s" % (name, err.strip()))

    def tags(self, name, region=None):
        ans = self.kc("ListTagsForStream", {"StreamName": name}, region)
        return {t["Key"]: t.get("Value", "") for t in ans.get("Tags", [])}

    def wait_active(self, name, region=None, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            d = self.describe(name, region)
            if d["StreamStatus"] == "ACTIVE":
                return d
            if time.monotonic() > deadline:
                raise Failed("%s not ACTIVE within %ds: %s" % (name, timeout, d["StreamStatus"]))
            time.sleep(0.1)

    def mock_call(self, op, req, region=None, timeout=30.0):
        """A direct request to the mock (forged signature, this test's
        account): much faster than kinesis-call for sampling."""
        return mock.call(self.port, op, req, self.account, region or self.region, timeout)

    # ---- checks ----------------------------------------------------------

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            return True
        msg = "FAIL: %s" % what
        if detail:
            msg += "\n    " + str(detail).replace("\n", "\n    ")
        print(msg, flush=True)
        self.failures.append(what)
        return False

    def require(self, cond, what, detail=""):
        if not self.check(cond, what, detail):
            raise Failed(what)

    def private_mock(self, duration="200ms", shard_limit=500, list_summaries=False):
        """Start a mock of our own (same package, same start script as the
        fixture) and point the test at it. Stopped by run(). list_summaries:
        the strict proxy answers ListStreams as AWS does (summaries, tokens)."""
        mock_dir = os.environ.get("KINESISD_MOCK_DIR")
        if not mock_dir:
            raise Failed("KINESISD_MOCK_DIR must be set for a private mock")
        m = mock.MockProcess(mock_dir, self.work, "mock%d" % len(self.mocks), duration=duration,
                             env={"SHARD_LIMIT": str(shard_limit), "ON_DEMAND_STREAM_COUNT_LIMIT": "100"},
                             list_summaries=list_summaries)
        self.mocks.append(m)
        try:
            self.port = m.start()
        except RuntimeError as e:
            raise Failed("private %s" % e)
        self.mock_endpoint = "http://127.0.0.1:%d" % self.port
        self.endpoint = "http://127.0.0.1:%d" % m.proxy_port

    def allow_refusals(self):
        """This test's account is meant to be refused by the strict proxy
        (another party spends the account's budget, say): its refusals do
        not fail the run."""
        self.refusals_allowed = True
        if self.port_file and os.path.exists(self.port_file):
            ports.allow_refusals(self.port_file, self.account)
        for m in self.mocks:
            m.allow_refusals(self.account)

    def cleanup(self):
        """Delete every stream of this test's account (the shared mock's
        shard limit is shared by every test) and wait until they are gone."""
        if not self.port or self.mocks:
            return
        for region in sorted(self.regions):
            try:
                names = self.mock_call("ListStreams", {"Limit": 1000}, region).get("StreamNames", [])
                for n in names:
                    self.mock_call("DeleteStream", {"StreamName": n, "EnforceConsumerDeletion": True},
                                   region)
                deadline = time.monotonic() + 20
                while names and time.monotonic() < deadline:
                    names = self.mock_call("ListStreams", {"Limit": 1000}, region).get("StreamNames", [])
                    time.sleep(0.2)
            except Exception as e:  # noqa: BLE001 - cleanup is best effort
                print("cleanup in %s: %s" % (region, e))

    def stop_mocks(self):
        for m in self.mocks:
            rc, out = m.stop()
            # A private pair's proxy answers for its refusals here, as the
            # fixture's stop does for the shared one.
            self.check(rc == 0 or self.refusals_allowed,
                       "the strict proxy of a private mock refused kinesisd", out[-3000:])

    def run(self, *tests):
        t0 = time.monotonic()
        try:
            self._run(tests)
        finally:
            self.cleanup()
            self.stop_mocks()
        print("%s: %d checks passed, %d failed, %.1fs" %
              (self.name, self.passed, len(self.failures), time.monotonic() - t0))
        if not self.failures and not os.environ.get("KINESISD_TEST_KEEP"):
            shutil.rmtree(self.work, ignore_errors=True)
        sys.exit(1 if self.failures else 0)

    def _run(self, tests):
        for t in tests:
            t1 = time.monotonic()
            print("== %s" % t.__name__, flush=True)
            try:
                t()
            except Failed as e:
                self.failures.append(str(e))
                print("FAIL: %s" % e, flush=True)
            except Exception:
                self.failures.append(t.__name__ + ": exception")
                traceback.print_exc()
            print("   %.1fs" % (time.monotonic() - t1), flush=True)


# ---- reading the daemon's log ---------------------------------------------

def calls(log):
    """The Kinesis operations kinesisd called (first attempts), in order."""
    return [m.group(1) for m in _ATTEMPT_RE.finditer(log) if m.group(2) == "1"]


def requests_sent(log):
    """Every request kinesisd sent: each attempt of each call, each page."""
    return [m.group(1) for m in _ATTEMPT_RE.finditer(log)]


def change_calls(log):
    return [op for op in calls(log) if op not in READ_ONLY_OPS]
