"""What only the AWS client tests share: a suite that runs kinesis-call with
a clean environment (fake static keys unless a test brings its own, HOME in
a fresh temporary directory), fake loopback servers (fake_aws.py) in the
background, and the --stats line. Nothing may ever reach a real AWS address."""
import json
import os
import subprocess
import sys

from kinesisd_test import checks, mock
from kinesisd_test.checks import Failed
from kinesisd_test.environment import FAKE_KEYS, Scratch, clean_env
from kinesisd_test.process import stop

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_aws.py")


class Suite(checks.Suite, Scratch):
    def __init__(self, name, kinesis_call):
        checks.Suite.__init__(self, name)
        Scratch.__init__(self, "kinesisd-aws-")
        self.kc = kinesis_call

    def env(self, extra=None, keys=True):
        return clean_env(self.home, FAKE_KEYS if keys else None, extra=extra)

    def call(self, args, env=None, keys=True, timeout=120):
        """Run kinesis-call; returns (rc, stdout, stderr, seconds)."""
        return mock.kinesis_call(self.kc, args, self.env(env, keys), timeout)


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
        stop(self.proc, timeout=10)
        self.proc.stdout.close()

    def requests(self):
        """The requests in arrival order; each has "t_end" (when its answer
        left, monotonic) once it was answered."""
        with open(self.log) as f:
            lines = [json.loads(l) for l in f if l.strip()]
        ends = {d["answered"]: d["t"] for d in lines if "answered" in d}
        reqs = [d for d in lines if "answered" not in d]
        for n, r in enumerate(reqs, 1):
            if n in ends:
                r["t_end"] = ends[n]
        return reqs


def stats(stderr):
    """The --stats line as a dict of ints."""
    for line in stderr.splitlines():
        if line.startswith("stats: "):
            return {k: int(v) for k, v in (kv.split("=") for kv in line[7:].split())}
    return {}
