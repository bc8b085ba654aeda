"""Talking to kinesis-mock without the daemon: direct calls with a forged
signature (the mock checks the form of the Authorization header, not the
signature; it takes a 12-digit access key id as the account to use), a mock
of one's own, and kinesis-call (one operation through the daemon's whole
AWS stack). Loopback only, never through a proxy."""
import concurrent.futures
import http.client
import json
import os
import subprocess
import sys
import time

from kinesisd_test.environment import FAKE_ACCESS_KEY

REGION = "us-east-1"
MOCK_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "kinesis-mock", "kinesis-mock.py")


class MockError(Exception):
    """A non-200 answer: .status and .body (text), .type (the __type, if any)."""

    def __init__(self, op, status, body):
        super().__init__("%s: HTTP %d: %s" % (op, status, body[:300]))
        self.status = status
        self.body = body
        try:
            self.type = json.loads(body).get("__type", "")
        except (ValueError, AttributeError):
            self.type = ""


def request(port, op, body=None, account=FAKE_ACCESS_KEY, region=REGION, timeout=30):
    """One operation on 127.0.0.1:port; returns (HTTP status, body text)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("POST", "/", body=json.dumps(body or {}), headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "Kinesis_20131202." + op,
            "X-Amz-Date": "20150830T123600Z",
            "Authorization": "AWS4-HMAC-SHA256 Credential=%s/20150830/%s/kinesis/aws4_request, "
                             "SignedHeaders=host, Signature=00" % (account, region)})
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


def call(port, op, body=None, account=FAKE_ACCESS_KEY, region=REGION, timeout=30):
    """One operation; the parsed answer, or MockError."""
    status, text = request(port, op, body, account, region, timeout)
    if status != 200:
        raise MockError(op, status, text)
    return json.loads(text) if text else {}


def call_retrying(port, op, body=None, attempts=100, **kw):
    """call(), retrying what the mock answers with LimitExceeded/5xx (a test
    helper: the daemon is what must behave, not this)."""
    for i in range(attempts):
        try:
            return call(port, op, body, **kw)
        except MockError as e:
            if e.status >= 500 or "LimitExceeded" in e.body:
                time.sleep(min(0.05 * (i + 1), 1.0))
                continue
            raise
        except (OSError, http.client.HTTPException):
            time.sleep(0.2)
    raise RuntimeError("%s kept failing" % op)


def summary(port, name, **kw):
    """DescribeStreamSummary's summary, or None when the stream does not exist."""
    try:
        return call(port, "DescribeStreamSummary", {"StreamName": name}, **kw)["StreamDescriptionSummary"]
    except MockError as e:
        if e.status == 400 and "ResourceNotFound" in e.type:
            return None
        raise


def create_streams(port, names, shards=1, workers=8, **kw):
    """CreateStream for every name (already existing ones are fine)."""
    def one(name):
        try:
            call_retrying(port, "CreateStream", {"StreamName": name, "ShardCount": shards}, **kw)
        except MockError as e:
            if "ResourceInUse" not in e.body:
                raise
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        list(ex.map(one, names))


def wait_active(port, names, timeout=120, **kw):
    """Wait until every stream is ACTIVE; RuntimeError after timeout seconds."""
    deadline = time.monotonic() + timeout
    pending = list(names)
    while pending:
        pending = [n for n in pending if (summary(port, n, **kw) or {}).get("StreamStatus") != "ACTIVE"]
        if pending and time.monotonic() > deadline:
            raise RuntimeError("not ACTIVE within %d s: %s" % (timeout, pending[:5]))
        if pending:
            time.sleep(0.2)


def list_stream_names(port, **kw):
    """Every stream of the account, all pages."""
    names, start = [], None
    while True:
        body = {"Limit": 1000}
        if start:
            body["ExclusiveStartStreamName"] = start
        r = call(port, "ListStreams", body, **kw)
        names += r.get("StreamNames", [])
        if not r.get("HasMoreStreams") or not r.get("StreamNames"):
            return names
        start = r["StreamNames"][-1]


class MockProcess:
    """A kinesis-mock of one's own, started and stopped with the fixture's
    script (tests/kinesis-mock/kinesis-mock.py). env: variables for the mock
    (SHARD_LIMIT, ...) on top of this process's environment."""

    def __init__(self, pkg_dir, workdir, name="mock", env=None, duration="200ms",
                 python=sys.executable, script=MOCK_SCRIPT, list_summaries=False):
        self.list_summaries = list_summaries
        self.script, self.pkg_dir, self.python = script, pkg_dir, python
        self.pid_file = os.path.join(workdir, name + ".pid")
        self.port_file = os.path.join(workdir, name + ".port")
        self.log = os.path.join(workdir, name + ".log")
        self.env = dict(os.environ, **(env or {}))
        self.duration = duration
        self.port = None

    def start(self):
        r = subprocess.run([self.python, self.script, "start", "--dir", self.pkg_dir, "--pid-file",
                            self.pid_file, "--port-file", self.port_file, "--log", self.log,
                            "--duration", self.duration, "--timeout", "60"]
                           + (["--list-summaries"] if self.list_summaries else []),
                           env=self.env, capture_output=True, text=True, timeout=120)
        if r.returncode != 0 or not os.path.exists(self.port_file):
            raise RuntimeError("kinesis-mock did not start: %s%s" % (r.stdout, r.stderr))
        with open(self.port_file) as f:
            self.port = int(f.read())
        # The script starts the strict proxy beside the mock.
        with open(self.port_file + ".proxy") as f:
            self.proxy_port = int(f.read())
        return self.port

    def allow_refusals(self, akid):
        """The account akid is meant to be refused (see the script's stop)."""
        d = self.port_file + ".allow-refusals"
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, akid), "w").close()

    def stop(self):
        """Stops the proxy and the mock; returns (exit code, output): not 0
        when the proxy refused an account that did not expect it."""
        p = subprocess.run([self.python, self.script, "stop", "--pid-file", self.pid_file, "--port-file",
                            self.port_file, "--log", self.log], capture_output=True, text=True,
                           timeout=60)
        return p.returncode, p.stdout + p.stderr


def kinesis_call(kc_path, args, env, timeout=120):
    """Run kinesis-call with args; returns (rc, stdout, stderr, seconds)."""
    t0 = time.monotonic()
    p = subprocess.run([kc_path] + list(args), env=env, capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def last_json(out):
    """kinesis-call's answer: the last line of its stdout, parsed ({} if none)."""
    return json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
