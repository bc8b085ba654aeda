"""Helpers for the fault tests: a scratch directory, kinesisd runs with a
clean environment, direct questions to kinesis-mock, and the checks the fault
tests share (state files, signatures, retry chains and their timing). The
proxy itself is kinesisd_test.proxy; the environment, the mock client and the
sanitizer scan are kinesisd_test's.

Nothing here talks to anything but 127.0.0.1. Credentials are fake."""
import glob
import http.client
import json
import os
import random
import shutil
import subprocess
import tempfile
import time

from kinesisd_test import mock, ports, state as state_files
from kinesisd_test.checks import Failed, Skip, check, check_no_sanitizer  # noqa: F401 - re-exported
from kinesisd_test.environment import FAKE_ACCESS_KEY as ACCESS_KEY, FAKE_SECRET_KEY as SECRET_KEY, clean_env
from kinesisd_test.process import stop, text
from kinesisd_test.proxy import Proxy

REGION = "us-east-1"

# http.h defaults the daemon runs with (not configurable from YAML).
MAX_ATTEMPTS = 5
BACKOFF_BASE = 0.1
BACKOFF_CAP = 20.0
CLIENT_TIMEOUT = 30.0
RATE_FRACTION = 0.5  # reconcile.api_share's default (config.h CONFIG_API_SHARE_DEFAULT)
# DESIGN §6 rates (kinesis.c's table); (rate, per_stream). Unlisted: (5, False).
RATES = {
    "CreateStream": (5, False), "DeleteStream": (5, False), "ListStreams": (5, False),
    "AddTagsToStream": (5, False), "RemoveTagsFromStream": (5, False),
    "ListTagsForStream": (5, False), "RegisterStreamConsumer": (5, False),
    "DescribeStream": (10, False), "DescribeStreamSummary": (20, False),
    "UpdateShardCount": (10, False), "UpdateStreamWarmThroughput": (5, False),
    "IncreaseStreamRetentionPeriod": (5, False), "DecreaseStreamRetentionPeriod": (5, False),
    "EnableEnhancedMonitoring": (5, False), "DisableEnhancedMonitoring": (5, False),
    "DescribeLimits": (1, False),
    "ListStreamConsumers": (5, True), "DeregisterStreamConsumer": (5, True),
    "DescribeStreamConsumer": (20, True),
}
# Outcomes the standard retry mode retries (http_retry_classify()).
RETRYABLE_FAULTS = {"throttle", "limit-rate", "500", "503", "reset", "short-body", "stall",
                    "truncated", "malformed", "html"}
THROTTLE_FAULTS = {"throttle", "limit-rate"}
def ceiling_rate(op):
    rate, _ = RATES.get(op, (5, False))
    return rate * RATE_FRACTION


def floor_rate(op):
    c = ceiling_rate(op)
    return min(c, max(c / 16, 0.1))


def per_stream(op):
    return RATES.get(op, (5, False))[1]


# ---- the test context -----------------------------------------------------

class Test:
    def __init__(self, case, kinesisd, mock_port_file):
        self.case = case
        self.kinesisd = kinesisd
        self.mock_port = ports.mock_port(mock_port_file)
        self.tmp = tempfile.mkdtemp(prefix="kinesisd-fault-%s-" % case)
        self.home = self.path("home")
        os.makedirs(self.home)
        # Empty shared files: nothing from the caller's ~/.aws. (Not /dev/null:
        # kinesisd refuses a shared file that is not a regular file.)
        self.empty_file = self.path("aws-empty")
        open(self.empty_file, "w").close()
        # Unique per test and per run: the mock lives as long as the fixture.
        self.tag = "%s-%d-%d" % (case, os.getpid(), int(time.time() * 1000) % 100000)
        # An account of its own (the mock takes a 12-digit access key id as
        # the account): AWS's limits per account, which the strict proxy
        # enforces, are then this test's alone.
        self.account = "%012d" % random.Random(self.tag).randrange(10 ** 11, 10 ** 12)
        self.runs = 0
        self.names = []

    def path(self, *p):
        return os.path.join(self.tmp, *p)

    def stream(self, letter):
        name = "fault-%s-%s" % (self.tag, letter)
        if name not in self.names:
            self.names.append(name)
        return name

    def cleanup(self, keep):
        # kinesis-mock enforces an account shard limit (50 by default) and
        # lives as long as the fixture: give the shards back.
        for name in self.names:
            try:
                self.mock("DeleteStream", {"StreamName": name, "EnforceConsumerDeletion": True})
            except (OSError, ValueError, http.client.HTTPException):
                pass
        if keep:
            print("(scratch files kept in %s)" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- configuration and runs --

    def write_config(self, streams, name="kinesisd.yaml", poll="100ms", timeout="60s"):
        """streams: list of dicts (name, shards, tags, retention_hours, ...)."""
        lines = ["aws:", "  region: %s" % REGION, "reconcile:", "  poll: %s" % poll,
                 "  timeout: %s" % timeout, "  interval: 5m", "streams:"]
        for s in streams:
            lines.append("  - name: %s" % s["name"])
            for k in ("shards", "retention_hours", "mode", "manage"):
                if k in s:
                    lines.append("    %s: %s" % (k, s[k]))
            if s.get("tags"):
                lines.append("    tags:")
                for k, v in sorted(s["tags"].items()):
                    lines.append("      %s: %s" % (k, json.dumps(v)))
        p = self.path(name)
        with open(p, "w") as f:
            f.write("\n".join(lines) + "\n")
        return p

    def env(self, extra=None, keys=True):
        return clean_env(self.home, {"AWS_ACCESS_KEY_ID": self.account, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
                         if keys else None, self.empty_file, extra)

    def proxy(self, rules=None, **kw):
        """A fault proxy to kinesis-mock, its files in the scratch directory."""
        kw.setdefault("keys", {"*": SECRET_KEY})
        return Proxy(self.tmp, self.mock_port, rules, **kw)

    def state_dir(self, n=0):
        return self.path("state-%d" % n)

    def args(self, proxy, config, state, log_level):
        a = [self.kinesisd, "--config", config, "--state-dir", state,
             "--endpoint", proxy.url if hasattr(proxy, "url") else proxy]
        if log_level:
            a += ["--log-level", log_level]
        return a

    def once(self, proxy, config, state=None, env=None, keys=True, log_level="debug", timeout=100):
        """kinesisd --once; returns (rc, stderr, seconds)."""
        state = state or self.state_dir()
        os.makedirs(state, exist_ok=True)
        self.runs += 1
        t0 = time.monotonic()
        try:
            p = subprocess.run(self.args(proxy, config, state, log_level) + ["--once"],
                               env=self.env(env, keys), capture_output=True, text=True,
                               timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise Failed("kinesisd --once did not finish within %d s\n%s"
                         % (timeout, text(e.stderr)[-4000:]))
        with open(self.path("kinesisd-%d.stderr" % self.runs), "w") as f:
            f.write(p.stderr)
        check_no_sanitizer(p.stderr)
        return p.returncode, p.stderr, time.monotonic() - t0

    def daemon(self, proxy, config, state=None, env=None, log_level="debug"):
        state = state or self.state_dir()
        os.makedirs(state, exist_ok=True)
        self.runs += 1
        errp = self.path("kinesisd-%d.stderr" % self.runs)
        err = open(errp, "w")
        proc = subprocess.Popen(self.args(proxy, config, state, log_level), env=self.env(env),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        err.close()
        return proc, errp

    # -- kinesis-mock, asked directly --

    def mock(self, op, body):
        """(HTTP status, parsed answer) of one call to kinesis-mock."""
        status, body = mock.request(self.mock_port, op, body, account=self.account, timeout=10)
        return status, json.loads(body or "{}")

    def mock_describe(self, name):
        st, d = self.mock("DescribeStreamSummary", {"StreamName": name})
        if st == 400 and "ResourceNotFound" in str(d.get("__type")):
            return None
        check(st == 200, "kinesis-mock DescribeStreamSummary %s: HTTP %d" % (name, st), d)
        return d["StreamDescriptionSummary"]

    def mock_tags(self, name):
        st, d = self.mock("ListTagsForStream", {"StreamName": name})
        check(st == 200, "kinesis-mock ListTagsForStream %s: HTTP %d" % (name, st), d)
        return {t["Key"]: t.get("Value", "") for t in d.get("Tags", [])}

    def check_converged(self, streams):
        """Every declared stream exists in the mock, ACTIVE, as declared."""
        arns = {}
        for s in streams:
            d = self.mock_describe(s["name"])
            check(d is not None, "stream %s does not exist in kinesis-mock" % s["name"])
            check(d["StreamStatus"] == "ACTIVE", "stream %s is %s in kinesis-mock, not ACTIVE"
                  % (s["name"], d["StreamStatus"]))
            if "shards" in s:
                check(d.get("OpenShardCount") == s["shards"], "stream %s has %s open shards, "
                      "declared %d" % (s["name"], d.get("OpenShardCount"), s["shards"]))
            if "retention_hours" in s:
                check(d.get("RetentionPeriodHours") == s["retention_hours"],
                      "stream %s retention %s, declared %d" % (s["name"], d.get("RetentionPeriodHours"),
                                                               s["retention_hours"]))
            if s.get("tags"):
                tags = self.mock_tags(s["name"])
                check(tags == s["tags"], "stream %s tags %s, declared %s" % (s["name"], tags, s["tags"]))
            arns[s["name"]] = d["StreamARN"]
        return arns


# ---- shared checks ------------------------------------------------------------

def stop_daemon(proc, timeout):
    """SIGTERM; the daemon's exit status, or Failed (and killed) when it does
    not stop within timeout s."""
    rc = stop(proc, timeout)
    check(rc is not None, "the daemon did not stop within %d s of SIGTERM" % timeout)
    return rc


def check_stopped(rc, errp):
    """A daemon stopped by stop_daemon() exited 0 and its stderr (in errp,
    returned) holds no sanitizer report."""
    with open(errp) as f:
        err = f.read()
    check_no_sanitizer(err)
    check(rc == 0, "the daemon exited %d on SIGTERM, want 0" % rc, "\n".join(err.splitlines()[-30:]))
    return err


def check_no_secrets(stderr, secrets=(SECRET_KEY,)):
    for s in secrets:
        check(s not in stderr, "a secret appears in kinesisd's stderr")
    check("Signature=" not in stderr and "Credential=" not in stderr,
          "an Authorization header appears in kinesisd's stderr")


def env_name(name):
    return state_files.env_name(name, REGION, REGION)


def check_state(state, expect):
    """Parse every file of the state directory. expect: name -> ARN (the stream
    must be ACTIVE and exported) or None (declared but not ready: no ARN file
    unless known; only the JSON entry is required)."""
    check(os.path.isdir(state), "no state directory %s" % state)
    leftovers = [p for p in glob.glob(os.path.join(state, "**", ".*"), recursive=True)]
    check(not leftovers, "temporary files left in the state directory", leftovers)
    try:
        with open(os.path.join(state, "streams.json")) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise Failed("streams.json is missing or not JSON: %s" % e)
    check(isinstance(doc.get("streams"), list), "streams.json has no streams list", doc)
    by_name = {s.get("name"): s for s in doc["streams"]}
    check(set(by_name) == set(expect), "streams.json lists %s, declared %s"
          % (sorted(by_name), sorted(expect)))
    order = [(s.get("region"), s.get("name")) for s in doc["streams"]]
    check(order == sorted(order), "streams.json is not sorted by region, name", order)
    try:
        with open(os.path.join(state, "streams.env")) as f:
            env = state_files.parse_env(f.read())
    except OSError as e:
        raise Failed("streams.env is missing: %s" % e)
    except ValueError as e:
        raise Failed("streams.env is malformed: %s" % e)
    for name, arn in expect.items():
        s = by_name[name]
        arn_file = os.path.join(state, "streams", REGION, name + ".arn")
        if arn:
            check(s.get("status") == "ACTIVE", "streams.json: %s is %s, not ACTIVE"
                  % (name, s.get("status")), s)
            check(s.get("arn") == arn, "streams.json: %s has ARN %s, AWS says %s"
                  % (name, s.get("arn"), arn))
            check(s.get("last_error") in (None, ""), "streams.json: %s still has an error" % name, s)
            check(env.get(env_name(name)) == arn, "streams.env: %s is %r, want %s"
                  % (env_name(name), env.get(env_name(name)), arn))
            try:
                with open(arn_file) as f:
                    content = f.read()
            except OSError as e:
                raise Failed("no ARN file for %s: %s" % (name, e))
            check(content == arn + "\n", "ARN file of %s holds %r" % (name, content))
    metrics = os.path.join(state, "metrics.prom")
    if os.path.exists(metrics):
        with open(metrics) as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    check(len(line.split()) >= 2, "metrics.prom: malformed line", line)
    return by_name


def check_signatures(proxy, allow_mismatch=False):
    entries = proxy.entries()
    bad = [e for e in entries if not e["sig_ok"]]
    summary = proxy.summary()
    if not allow_mismatch:
        check(not bad and summary["mismatches"] == 0,
              "%d request(s) failed independent SigV4 verification" % summary["mismatches"],
              "\n".join("%s %s: %s" % (e["op"], e["stream"], e["sig_error"]) for e in bad[:10]))
    return bad


def retryable(e):
    if e["fault"]:
        return e["fault"] in RETRYABLE_FAULTS
    st = e["status"] or 0
    return st >= 500 or e.get("error_type") in ("ThrottlingException",)


def chains(entries, gap_break=25.0):
    """Group attempts of one HTTP request: a request follows the previous one
    with the same operation, stream and body when that one ended in an outcome
    the standard mode retries. Returns a list of lists, in arrival order.
    The HTTP layer never makes more than MAX_ATTEMPTS: a request after those
    is the reconciler trying the step again after a wait (throttling is not
    a failure), so it opens a new chain."""
    open_chain = {}
    out = []
    for e in entries:
        key = (e["op"], e["stream"], e["body_sha256"])
        c = open_chain.get(key)
        if c is not None and retryable(c[-1]) and e["t"] - c[-1]["t_end"] < gap_break and \
                len(c) < MAX_ATTEMPTS:
            c.append(e)
        else:
            c = [e]
            out.append(c)
            open_chain[key] = c
    return out


def describe_chain(c):
    t0 = c[0]["t"]
    return " | ".join("#%d %s %s +%.3fs %s/%s" % (e["seq"], e["op"], e["stream"], e["t"] - t0,
                                                   e["fault"], e["status"]) for e in c)


def check_chains(proxy, max_attempts=MAX_ATTEMPTS):
    """Bounded retries, and backoff honoured between attempts."""
    entries = proxy.entries()
    all_chains = chains(entries)
    for c in all_chains:
        check(len(c) <= max_attempts, "%d attempts for one request (max %d)" % (len(c), max_attempts),
              describe_chain(c))
        for k in range(1, len(c)):
            a, b = c[k - 1], c[k]
            check(b["t"] > a["t"] and b["t"] >= a["t_end"] - 0.005,
                  "a retry arrived before the previous attempt ended", describe_chain(c))
            # Full jitter: at most min(cap, base * 2^k) after the failure, plus
            # the pacer (as slow as its floor rate once throttled; one token
            # per request of the same bucket in between), plus slack.
            op = a["op"]
            between = [e for e in entries if a["t"] < e["t"] < b["t"] and e["op"] == op and
                       (not per_stream(op) or e["stream"] == a["stream"])]
            bound = (min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (k - 1)) +
                     (len(between) + 1) / floor_rate(op) + 1.0)
            gap = b["t"] - a["t_end"]
            check(gap <= bound, "retry %d came %.3f s after the failure, more than the backoff "
                  "bound %.3f s" % (k, gap, bound), describe_chain(c))
    return all_chains


def chain_of(all_chains, op, stream, fault=None):
    """The chains of op/stream (that include the fault, when given)."""
    return [c for c in all_chains if c[0]["op"] == op and c[0]["stream"] == stream and
            (fault is None or any(e["fault"] == fault for e in c))]


def check_throttle_growth(c):
    """After each throttling answer the pacer halves its rate (DESIGN §6): in a
    chain of throttled attempts of a bucket nobody else uses, the k-th retry
    comes at least 2^k / ceiling after the attempt before it."""
    op = c[0]["op"]
    rate = ceiling_rate(op)
    gaps = []
    for k in range(1, len(c)):
        a, b = c[k - 1], c[k]
        if a["fault"] not in THROTTLE_FAULTS:
            break
        rate = max(floor_rate(op), rate / 2)
        gap = b["t"] - a["t"]
        gaps.append(gap)
        check(gap >= 0.85 / rate, "retry %d of a throttled %s came %.3f s after the attempt "
              "before it; the pacer (rate %.2f/s after %d throttles) allows one every %.3f s"
              % (k, op, gap, rate, k, 1 / rate), describe_chain(c))
    return gaps


def stderr_lines(stderr, *words):
    return [l for l in stderr.splitlines() if all(w in l for w in words)]


def check_logged(stderr, *words, what=None):
    lines = stderr_lines(stderr, *words)
    check(lines, "no kinesisd log line names %s" % (what or " + ".join(words)),
          "\n".join(stderr.splitlines()[-30:]))
    return lines
