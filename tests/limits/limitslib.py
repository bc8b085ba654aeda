"""Helpers of the tests in tests/limits: signed calls through the strict
proxy (signed by fault_proxy.sign, the code that verifies them on arrival),
unsigned questions straight to kinesis-mock, and a private mock+proxy pair
started and stopped with the fixture's own script. 127.0.0.1 only."""
import http.client
import json
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
import fault_proxy  # noqa: E402

MOCK_SCRIPT = os.path.join(TESTS, "kinesis-mock", "kinesis-mock.py")
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def new_account(tag):
    return "%012d" % random.Random("%s %d %f" % (tag, os.getpid(), time.time())).randrange(
        10 ** 11, 10 ** 12)


def _post(port, op, body, headers, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("POST", "/", body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        try:
            doc = json.loads(data or b"{}")
        except ValueError:
            doc = {"raw": data.decode(errors="replace")}
        return r.status, {k.lower(): v for k, v in r.getheaders()}, doc
    finally:
        c.close()


def call(port, akid, region, op, req):
    """A signed call through the proxy: (status, headers, answer)."""
    body = json.dumps(req).encode()
    return _post(port, op, body, fault_proxy.sign(akid, SECRET, region, "127.0.0.1:%d" % port, op,
                                                  body))


def mock(port, akid, region, op, req):
    """A question straight to the mock (which takes any signature)."""
    return _post(port, op, json.dumps(req).encode(), {
        "Content-Type": fault_proxy.JSON_CT, "X-Amz-Target": fault_proxy.TARGET_PREFIX + op,
        "X-Amz-Date": "20150830T123600Z",
        "Authorization": "AWS4-HMAC-SHA256 Credential=%s/20150830/%s/kinesis/aws4_request, "
                         "SignedHeaders=host, Signature=00" % (akid, region)})


def status_of(port, akid, region, name):
    st, _, doc = mock(port, akid, region, "DescribeStreamSummary", {"StreamName": name})
    return doc["StreamDescriptionSummary"]["StreamStatus"] if st == 200 else None


def read_port(path):
    with open(path) as f:
        return int(f.read().strip())


def read_log(path):
    """(entries, summary) of a proxy log."""
    entries, summary = [], None
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            if "summary" in e:
                summary = e["summary"]
            else:
                entries.append(e)
    return entries, summary


class Pair:
    """A private kinesis-mock with the strict proxy in front, in work/."""

    def __init__(self, work, duration="2s", mock_dir=None, env=None):
        self.work = work
        self.duration = duration
        self.mock_dir = mock_dir or os.environ.get("KINESISD_MOCK_DIR") or \
            os.path.join(os.path.dirname(TESTS), ".deps", "node_modules", "kinesis-local")
        self.env = env
        p = lambda n: os.path.join(work, n)  # noqa: E731
        self.args = ["--pid-file", p("mock.pid"), "--port-file", p("mock.port"),
                     "--log", p("mock.log"), "--limits-proxy-port-file", p("proxy.port")]
        self.proxy_log = p("mock-proxy.jsonl")
        self.allow_dir = p("mock.port.allow-refusals")

    def start(self):
        os.makedirs(self.work, exist_ok=True)
        env = dict(os.environ)
        env.update({"SHARD_LIMIT": "500"}, **(self.env or {}))
        p = subprocess.run([sys.executable, MOCK_SCRIPT, "start", "--dir", self.mock_dir,
                            "--duration", self.duration] + self.args, env=env,
                           capture_output=True, text=True, timeout=90)
        if p.returncode != 0:
            raise RuntimeError("private mock+proxy did not start: %s%s" % (p.stdout, p.stderr))
        self.mock_port = read_port(os.path.join(self.work, "mock.port"))
        self.proxy_port = read_port(os.path.join(self.work, "proxy.port"))
        return self

    def allow(self, akid):
        open(os.path.join(self.allow_dir, akid), "w").close()

    def stop(self):
        """Stops both; returns (exit code, output) of the fixture's stop."""
        p = subprocess.run([sys.executable, MOCK_SCRIPT, "stop"] + self.args,
                           capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout + p.stderr


# ---- the real kinesisd through a private pair (tests/daemon's harness) ------

def daemon_pair(t, duration):
    """Start a private mock+proxy for a daemonlib Test t (the fixture's
    script starts the proxy beside the mock); returns (kinesisd's endpoint:
    the proxy, the proxy's log). t's own calls still go to the mock."""
    t.private_mock(duration=duration)
    n = len(t.mocks) - 1
    port = read_port(t.path("mock%d.port" % n) + ".proxy")
    return "http://127.0.0.1:%d" % port, t.path("mock%d-proxy.jsonl" % n)


def stream_config(names, endpoint, region, api_share=None):
    """A kinesisd.yaml declaring names: 1 shard, 48 h retention, two tags and
    one consumer each; reconcile.api_share as given (None: the default)."""
    out = ["aws:", "  region: %s" % region, "  endpoint: %s" % endpoint,
           "reconcile:", "  poll: 200ms", "  timeout: 90s"]
    share = api_share or os.environ.get("KINESISD_TEST_API_SHARE")
    if share:
        out.append("  api_share: %s" % share)
    out.append("streams:")
    for n in names:
        out += ["  - name: %s" % n, "    shards: 1", "    retention_hours: 48",
                "    tags: { owner: limits, stream: %s }" % n, "    consumers:", "      - %s-c" % n]
    return "\n".join(out) + "\n"


def live_entries(log):
    """The request lines of a proxy log that is still being written."""
    with open(log) as f:
        return [json.loads(l) for l in f if l.strip() and '"summary"' not in l[:12]]


def check_converged(t, names):
    """Every stream ACTIVE in the mock with what stream_config declared."""
    for n in names:
        d = t.mock_call("DescribeStreamSummary", {"StreamName": n})["StreamDescriptionSummary"]
        tags = {x["Key"]: x.get("Value") for x in
                t.mock_call("ListTagsForStream", {"StreamName": n}).get("Tags", [])}
        cons = t.mock_call("ListStreamConsumers", {"StreamARN": d["StreamARN"]}).get("Consumers", [])
        t.check(d["StreamStatus"] == "ACTIVE" and d["RetentionPeriodHours"] == 48 and
                tags == {"owner": "limits", "stream": n} and
                [c["ConsumerName"] for c in cons] == [n + "-c"],
                "%s converged" % n, (d["StreamStatus"], d["RetentionPeriodHours"], tags, cons))
