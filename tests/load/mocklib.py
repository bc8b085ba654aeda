"""Helpers for the load and concurrency tests: talk to kinesis-mock directly
(loopback only, never through a proxy; the mock takes any signature), start
a dedicated mock, watch a process's memory and CPU, read metrics.prom."""
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_HEADERS = {
    "Content-Type": "application/x-amz-json-1.1",
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kinesis/aws4_request, "
                     "SignedHeaders=host, Signature=00",
    "X-Amz-Date": "20150830T123600Z",
}


class MockError(Exception):
    def __init__(self, status, body):
        super().__init__("HTTP %d: %s" % (status, body[:300]))
        self.status = status
        self.body = body


def call(port, op, body=None, timeout=30):
    """One Kinesis operation against the mock on 127.0.0.1:port."""
    headers = dict(_HEADERS, **{"X-Amz-Target": "Kinesis_20131202." + op})
    req = urllib.request.Request("http://127.0.0.1:%d/" % port, data=json.dumps(body or {}).encode(),
                                 method="POST", headers=headers)
    try:
        with _OPENER.open(req, timeout=timeout) as r:
            data = r.read()
            return json.loads(data) if data else {}
    except urllib.error.HTTPError as e:
        raise MockError(e.code, e.read().decode(errors="replace"))


def call_retrying(port, op, body=None, attempts=100):
    """Retry what the mock answers with LimitExceeded/5xx (it is a test helper:
    the daemon is what must behave, not this)."""
    for i in range(attempts):
        try:
            return call(port, op, body)
        except MockError as e:
            if e.status >= 500 or "LimitExceeded" in e.body:
                time.sleep(min(0.05 * (i + 1), 1.0))
                continue
            raise
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError("%s kept failing" % op)


def create_streams(port, names, shards=1, workers=8):
    """CreateStream for every name (already existing ones are fine)."""
    def one(name):
        try:
            call_retrying(port, "CreateStream", {"StreamName": name, "ShardCount": shards})
        except MockError as e:
            if "ResourceInUse" not in e.body:
                raise
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        list(ex.map(one, names))


def summary(port, name):
    return call(port, "DescribeStreamSummary", {"StreamName": name})["StreamDescriptionSummary"]


def wait_active(port, names, timeout=120):
    deadline = time.monotonic() + timeout
    pending = list(names)
    while pending and time.monotonic() < deadline:
        pending = [n for n in pending if summary(port, n)["StreamStatus"] != "ACTIVE"]
        if pending:
            time.sleep(0.2)
    if pending:
        raise RuntimeError("not ACTIVE in time: %s" % pending[:5])


def list_all_stream_names(port):
    names, start = [], None
    while True:
        body = {"Limit": 1000}
        if start:
            body["ExclusiveStartStreamName"] = start
        r = call(port, "ListStreams", body)
        names += r.get("StreamNames", [])
        if not r.get("HasMoreStreams") or not r.get("StreamNames"):
            return names
        start = r["StreamNames"][-1]


class Mock:
    """A dedicated kinesis-mock, started with tests/kinesis-mock/kinesis-mock.py."""

    def __init__(self, script, pkg_dir, workdir, python=sys.executable, env=None, duration="200ms"):
        self.script, self.pkg_dir, self.workdir, self.python = script, pkg_dir, workdir, python
        self.pid_file = os.path.join(workdir, "mock.pid")
        self.port_file = os.path.join(workdir, "mock.port")
        self.log = os.path.join(workdir, "mock.log")
        self.env = dict(os.environ, **(env or {}))
        self.duration = duration
        self.port = None

    def start(self):
        r = subprocess.run([self.python, self.script, "start", "--dir", self.pkg_dir, "--pid-file",
                            self.pid_file, "--port-file", self.port_file, "--log", self.log,
                            "--duration", self.duration, "--timeout", "60"],
                           env=self.env, capture_output=True, text=True)
        if r.returncode != 0 or not os.path.exists(self.port_file):
            raise RuntimeError("kinesis-mock did not start: %s%s" % (r.stdout, r.stderr))
        with open(self.port_file) as f:
            self.port = int(f.read())
        return self.port

    def stop(self):
        subprocess.run([self.python, self.script, "stop", "--pid-file", self.pid_file, "--port-file",
                        self.port_file], capture_output=True)


def proc_status_kib(pid, field):
    """VmHWM, VmRSS, ... of a live process in KiB, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_cpu_ticks(pid):
    """utime + stime of a live process, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)


def metrics(path):
    """metrics.prom as {name: value} for the unlabelled series, or {}."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                m = re.match(r"^([a-z_]+) ([0-9.eE+-]+)$", line.strip())
                if m:
                    out[m.group(1)] = float(m.group(2))
    except OSError:
        pass
    return out
