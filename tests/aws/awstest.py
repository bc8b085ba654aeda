"""Helpers for the AWS client tests: run kinesis-call with a clean
environment, start fake loopback servers, check results.

Every test runs kinesis-call with HOME in a fresh temporary directory, no AWS_*
variable from the caller, no proxy variables, and AWS_EC2_METADATA_DISABLED=true
unless the test sets its own: nothing may ever reach a real AWS address."""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_aws.py")
FAKE_KEYS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
             "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}


class Failed(Exception):
    pass


class Suite:
    def __init__(self, name, kinesis_call):
        self.name = name
        self.kc = kinesis_call
        self.passed = 0
        self.failed = 0
        self.tmp = tempfile.TemporaryDirectory(prefix="kinesisd-aws-")
        self.home = os.path.join(self.tmp.name, "home")
        os.makedirs(self.home)

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def env(self, extra=None, keys=True):
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home,
             "LANG": "C.UTF-8", "AWS_EC2_METADATA_DISABLED": "true"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        if keys:
            e.update(FAKE_KEYS)
        for k, v in (extra or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        return e

    def call(self, args, env=None, keys=True, timeout=120):
        """Run kinesis-call; returns (rc, stdout, stderr, seconds)."""
        t0 = time.monotonic()
        p = subprocess.run([self.kc] + list(args), env=self.env(env, keys), capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr, time.monotonic() - t0

    def check(self, cond, what, detail=""):
        if not cond:
            raise Failed("%s%s" % (what, ("\n    " + detail.replace("\n", "\n    ")) if detail else ""))

    def run(self, fn):
        name = fn.__name__
        try:
            fn()
            self.passed += 1
            print("PASS %s" % name, flush=True)
        except Failed as e:
            self.failed += 1
            print("FAIL %s: %s" % (name, e), flush=True)
        except Exception as e:  # a test bug is a failure too
            self.failed += 1
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)

    def summary(self):
        print("%s: %d passed, %d failed" % (self.name, self.passed, self.failed))
        return 1 if self.failed else 0


class FakeServer:
    """fake_aws.py in the background for a with-block."""
    count = 0

    def __init__(self, suite, mode, *args):
        FakeServer.count += 1
        self.log = suite.path("fake-%s-%d.jsonl" % (mode, FakeServer.count))
        self.cmd = [sys.executable, FAKE, "--mode", mode, "--log", self.log] + [str(a) for a in args]

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     text=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.proc.kill()
            raise Failed("fake server did not start")
        self.port = int(line)
        self.url = "http://127.0.0.1:%d" % self.port
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()

    def requests(self):
        with open(self.log) as f:
            return [json.loads(l) for l in f if l.strip()]


def stats(stderr):
    """The --stats line as a dict of ints."""
    for line in stderr.splitlines():
        if line.startswith("stats: "):
            return {k: int(v) for k, v in (kv.split("=") for kv in line[7:].split())}
    return {}
