"""Shared helpers for the security tests: a clean environment, running the
daemon, reading the mock's port, collecting every byte the daemon wrote.

Every run gets HOME in a fresh temporary directory, no AWS_* variable or proxy
setting from the caller, and AWS_EC2_METADATA_DISABLED=true: nothing here may
reach anything but 127.0.0.1."""
import os
import re
import subprocess
import sys
import tempfile
import time

# FILE:LINE:COLUMN: message
LOCATED = re.compile(r"[^\s:]+:[1-9][0-9]*:[1-9][0-9]*: \S")


class Failed(Exception):
    pass


def check(cond, what, detail=""):
    if not cond:
        if detail:
            detail = "\n    " + str(detail).replace("\n", "\n    ")
        raise Failed(what + detail)


class Suite:
    def __init__(self, name):
        self.name = name
        self.passed = self.failed = 0
        self.tmp = tempfile.TemporaryDirectory(prefix="kinesisd-sec-")
        self.home = self.path("home")
        os.makedirs(self.home)

    def path(self, *names):
        return os.path.join(self.tmp.name, *names)

    def write(self, name, text, mode=0o644):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def env(self, extra=None):
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home, "LANG": "C.UTF-8",
             "AWS_EC2_METADATA_DISABLED": "true"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        for k, v in (extra or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        return e

    def run_cmd(self, argv, env=None, timeout=120):
        """(rc, stdout, stderr, seconds)"""
        t0 = time.monotonic()
        p = subprocess.run(argv, env=self.env(env), capture_output=True, text=True,
                           errors="replace", timeout=timeout, stdin=subprocess.DEVNULL,
                           cwd=self.tmp.name)
        return p.returncode, p.stdout, p.stderr, time.monotonic() - t0

    def run(self, fn):
        try:
            fn()
            self.passed += 1
            print("PASS %s" % fn.__name__, flush=True)
        except Failed as e:
            self.failed += 1
            print("FAIL %s: %s" % (fn.__name__, e), flush=True)
        except Exception as e:  # a bug in the test is a failure too
            self.failed += 1
            print("FAIL %s: %s: %s" % (fn.__name__, type(e).__name__, e), flush=True)

    def summary(self):
        print("%s: %d passed, %d failed" % (self.name, self.passed, self.failed))
        return 1 if self.failed else 0


def mock_port(port_file):
    """The kinesis-mock port, or exit 77 (skip) if the fixture skipped."""
    try:
        with open(port_file) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        if os.environ.get("KINESISD_SKIP_INTEGRATION"):
            print("SKIP: kinesis-mock is not running (KINESISD_SKIP_INTEGRATION)")
            sys.exit(77)
        print("ERROR: no kinesis-mock port in %s" % port_file, file=sys.stderr)
        sys.exit(1)


def files_under(d):
    """Every regular file below d: {path: bytes}."""
    out = {}
    for root, _dirs, files in os.walk(d):
        for n in files:
            p = os.path.join(root, n)
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    out[p] = f.read()
    return out
