"""tests/fault/fault_proxy.py in the background, between kinesisd and
kinesis-mock: it injects the faults of a schedule (none: it only forwards),
checks every request's signature on its own and logs each request as a JSON
line. With limits (the default) it also refuses what AWS's control-plane
limits would. Used by the fault tests and, with no faults, by the load test
to count calls on the wire."""
import json
import os
import subprocess
import sys
import time

from kinesisd_test.checks import Failed, check
from kinesisd_test.process import stop

PROXY = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     "fault", "fault_proxy.py")


class Proxy:
    """A with-block: the proxy runs inside it. workdir holds its files."""
    count = 0

    def __init__(self, workdir, mock_port, rules=None, seed=1, keys=None, stall_seconds=40.0,
                 max_seconds=150.0, limits=True, refusals_ok=False, keys_file=None, list_summaries=False):
        Proxy.count += 1
        n = Proxy.count
        self.log = os.path.join(workdir, "proxy-%d.jsonl" % n)
        self.port_file = os.path.join(workdir, "proxy-%d.port" % n)
        self.stderr_path = os.path.join(workdir, "proxy-%d.stderr" % n)
        self.cmd = [sys.executable, PROXY, "--upstream-port", str(mock_port),
                    "--port-file", self.port_file, "--log", self.log,
                    "--schedule-json", json.dumps({"seed": seed, "rules": rules or []}),
                    "--stall-seconds", str(stall_seconds), "--max-seconds", str(max_seconds)]
        if keys:
            self.cmd += ["--keys-json", json.dumps(keys)]
        if keys_file:
            # Keys an STS of the tests issues while the proxy runs.
            self.cmd += ["--keys-file", keys_file]
        if limits:
            # AWS's limits too (tests/fault/aws_limits.py): a behaviour that
            # works only because the mock is lenient does not work on AWS.
            self.cmd += ["--limits"]
        if list_summaries:
            # ListStreams answered as AWS does (summaries, tokens).
            self.cmd += ["--list-summaries"]
        self.proc = None
        self._entries = None
        self.refusals_ok = refusals_ok

    def _stderr(self):
        with open(self.stderr_path) as f:
            return f.read()

    def __enter__(self):
        self.err = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self.err,
                                     stderr=subprocess.STDOUT)
        # Generous: a loaded machine may take seconds to start a Python.
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise Failed("fault proxy exited with %s\n%s" % (self.proc.returncode, self._stderr()))
            try:
                with open(self.port_file) as f:
                    self.port = int(f.read().strip())
                break
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise Failed("fault proxy did not start within 60 s")
            time.sleep(0.05)
        self.url = "http://127.0.0.1:%d/" % self.port
        return self

    def rule_fired(self, index):
        """Has rule index fired yet (read from the live log)?"""
        try:
            with open(self.log) as f:
                return any(json.loads(l).get("rule") == index for l in f if l.strip()) or \
                    self._stalled(index)
        except (OSError, ValueError):
            return False

    def _stalled(self, index):
        # A stall is logged only when it ends: ask the proxy's status file.
        try:
            with open(self.log + ".active") as f:
                return any(int(x) == index for x in f.read().split())
        except (OSError, ValueError):
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            if stop(self.proc, timeout=30) is None:
                raise Failed("fault proxy ignored SIGTERM")
        if self.proc:
            self.err.close()

    def __exit__(self, *exc):
        self.stop()

    def _read_log(self, live):
        """(entries in arrival order, summary). live: the proxy may still be
        writing, so a line not yet whole is skipped, not an error."""
        entries, summary = [], None
        try:
            with open(self.log) as f:
                for line in f:
                    if not line.strip():
                        continue
                    try:
                        d = json.loads(line)
                    except ValueError:
                        if live:
                            continue
                        raise
                    if "summary" in d:
                        summary = d["summary"]
                    else:
                        entries.append(d)
        except FileNotFoundError:
            if not live:
                raise
        entries.sort(key=lambda e: e["seq"])
        return entries, summary

    def _load(self):
        if self._entries is None:
            self.stop()
            self._entries, self._summary = self._read_log(live=False)
            refused = ["%s %s: %s" % (e.get("akid"), e.get("op"), e["refused"])
                       for e in self._entries if e.get("refused")]
            # A single kinesisd that AWS's limits would refuse is a defect,
            # whatever else the test checks.
            check(self.refusals_ok or not refused,
                  "the strict proxy refused %d request(s)" % len(refused), "\n".join(refused[:10]))
        return self._entries, self._summary

    def live_entries(self):
        """The requests finished so far, read while the proxy runs."""
        return self._read_log(live=True)[0]

    def entries(self):
        return self._load()[0]

    def summary(self):
        s = self._load()[1]
        check(s is not None, "the fault proxy wrote no summary (did it stop cleanly?)")
        return s
