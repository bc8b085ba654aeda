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
not start and KINESISD_SKIP_INTEGRATION is set)."""
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
import urllib.request

SKIP_ENV = "KINESISD_SKIP_INTEGRATION"

# What kinesisd may call without changing anything in AWS.
READ_ONLY_OPS = {"ListStreams", "DescribeStreamSummary", "DescribeStream", "ListTagsForStream",
                 "ListStreamConsumers", "DescribeStreamConsumer", "DescribeLimits"}

# http.c logs every attempt at debug level: "HTTP: Kinesis.<Op> POST attempt N/M".
_ATTEMPT_RE = re.compile(r"HTTP: Kinesis\.(\w+) POST attempt (\d+)/")


class Failed(Exception):
    pass


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
        self.port = None
        if need_mock:
            if not os.path.exists(port_file):
                if os.environ.get(SKIP_ENV):
                    print("kinesis-mock not running and %s set: skipping" % SKIP_ENV)
                    sys.exit(77)
                print("ERROR: %s missing: the kinesis_mock fixture did not start" % port_file)
                sys.exit(1)
            with open(port_file) as f:
                self.port = int(f.read())
        self.endpoint = "http://127.0.0.1:%d" % self.port if self.port else None
        self.regions = {region}   # where cleanup() looks
        self.mocks = []           # private mocks: (pid file, port file)
        self.work = os.path.abspath(work)
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(os.path.join(self.work, "home"))
        # Unique per run, short enough to leave room for a suffix.
        self.prefix = "%s-%d-%d-" % (name, os.getpid() % 100000, int(time.time()) % 1000)
        self.account = "%012d" % (random.Random("%s %d %f" % (name, os.getpid(), time.time()))
                                  .randrange(10 ** 11, 10 ** 12))

    # ---- environment and processes -------------------------------------

    def env(self, extra=None):
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
             "HOME": os.path.join(self.work, "home"),
             "LANG": "C.UTF-8",
             "AWS_ACCESS_KEY_ID": self.account,
             "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
             "AWS_EC2_METADATA_DISABLED": "true",
             "AWS_CONFIG_FILE": "/dev/null",
             "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        for k, v in (extra or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        return e

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
                         (" ".join(args), timeout, _text(e.stderr)[-4000:]))
        self.check_sanitizers(p.stderr, "kinesisd " + " ".join(args))
        return p.returncode, p.stdout, p.stderr, time.monotonic() - t0

    def check_sanitizers(self, text, what):
        """Under the sanitizer build a report fails the test even when the
        exit code happens to be the one expected."""
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if marker in text:
                i = text.index(marker)
                self.check(False, "%s: sanitizer report" % what, text[max(0, i - 200):i + 3000])
                return

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
        p = subprocess.run([self.kc_path, "--endpoint", self.endpoint, "--region", region or self.region, op,
                            json.dumps(req)], env=self.env(), capture_output=True, text=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr

    def kc(self, op, req, region=None):
        """One Kinesis call out of band; returns the parsed answer or fails."""
        rc, out, err = self.kc_raw(op, req, region)
        if rc != 0:
            raise Failed("kinesis-call %s %s: exit %d: %s" % (op, json.dumps(req), rc, err.strip()))
        return json.loads(out.strip().splitlines()[-1]) if out.strip() else {}

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

    def wait_active(self, name, region=None, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            d = self.describe(name, region)
            if d["StreamStatus"] == "ACTIVE":
                return d
            if time.monotonic() > deadline:
                raise Failed("%s not ACTIVE within %ds: %s" % (name, timeout, d["StreamStatus"]))
            time.sleep(0.1)

    def mock_call(self, op, req, region=None, timeout=5.0):
        """A direct, unsigned-but-well-formed request to the mock (which
        accepts any signature): much faster than kinesis-call for sampling."""
        r = urllib.request.Request(
            self.endpoint + "/", data=json.dumps(req).encode(), method="POST",
            headers={"Content-Type": "application/x-amz-json-1.1",
                     "X-Amz-Target": "Kinesis_20131202." + op,
                     "Authorization": "AWS4-HMAC-SHA256 Credential=%s/20150830/%s/"
                                      "kinesis/aws4_request, SignedHeaders=host, "
                                      "Signature=00" % (self.account, region or self.region),
                     "X-Amz-Date": "20150830T123600Z"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(r, timeout=timeout) as resp:
            return json.loads(resp.read() or b"{}")

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

    def private_mock(self, duration="200ms", shard_limit=500):
        """Start a mock of our own (same package, same start script as the
        fixture) and point the test at it. Stopped by run()."""
        script = os.environ.get("KINESISD_MOCK_SCRIPT")
        mock_dir = os.environ.get("KINESISD_MOCK_DIR")
        if not script or not mock_dir:
            raise Failed("KINESISD_MOCK_SCRIPT and KINESISD_MOCK_DIR must be set for a private mock")
        n = len(self.mocks)
        pid_file, port_file = self.path("mock%d.pid" % n), self.path("mock%d.port" % n)
        env = dict(os.environ)
        env.update({"SHARD_LIMIT": str(shard_limit), "ON_DEMAND_STREAM_COUNT_LIMIT": "100"})
        self.mocks.append((pid_file, port_file))
        p = subprocess.run([sys.executable, script, "start", "--dir", mock_dir, "--pid-file", pid_file,
                            "--port-file", port_file, "--log", self.path("mock%d.log" % n),
                            "--duration", duration], env=env, capture_output=True, text=True,
                           timeout=60)
        if p.returncode != 0:
            raise Failed("private kinesis-mock did not start: %s%s" % (p.stdout, p.stderr))
        with open(port_file) as f:
            self.port = int(f.read())
        self.endpoint = "http://127.0.0.1:%d" % self.port

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
        script = os.environ.get("KINESISD_MOCK_SCRIPT")
        for pid_file, port_file in self.mocks:
            subprocess.run([sys.executable, script, "stop", "--pid-file", pid_file, "--port-file",
                            port_file], capture_output=True, timeout=30)

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


def _text(b):
    if b is None:
        return ""
    return b.decode(errors="replace") if isinstance(b, bytes) else b


# ---- reading the daemon's log ---------------------------------------------

def calls(log):
    """The Kinesis operations kinesisd called (first attempts), in order."""
    return [m.group(1) for m in _ATTEMPT_RE.finditer(log) if m.group(2) == "1"]


def requests_sent(log):
    """Every request kinesisd sent: each attempt of each call, each page."""
    return [m.group(1) for m in _ATTEMPT_RE.finditer(log)]


def change_calls(log):
    return [op for op in calls(log) if op not in READ_ONLY_OPS]


# ---- the state directory --------------------------------------------------

ENV_LINE = re.compile(r"^[A-Z_][A-Z0-9_]*=\S+$")
PROM_SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.eE+-]+$|'
                         r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (NaN|\+Inf|-Inf)$')


def parse_env(text):
    """streams.env -> dict; raises ValueError on any line that is not a
    comment or KEY=VALUE."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if not ENV_LINE.match(line):
            raise ValueError("bad streams.env line: %r" % line)
        k, v = line.split("=", 1)
        if k in out:
            raise ValueError("duplicate variable %s" % k)
        out[k] = v
    if text and not text.endswith("\n"):
        raise ValueError("streams.env does not end with a newline")
    return out


def parse_prom(text):
    """metrics.prom -> {sample name with labels: float}; raises ValueError."""
    out = {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("#"):
            if not (line.startswith("# HELP ") or line.startswith("# TYPE ")):
                raise ValueError("bad metrics.prom comment: %r" % line)
            continue
        if not PROM_SAMPLE.match(line):
            raise ValueError("bad metrics.prom sample: %r" % line)
        k, v = line.rsplit(" ", 1)
        out[k] = float(v)
    if text and not text.endswith("\n"):
        raise ValueError("metrics.prom does not end with a newline")
    return out


def read_state(state):
    """Read and validate every file of a state directory. Returns
    {"json": ..., "env": {...}, "arn": {(region, name): arn}, "prom": {...},
    "temp": [temp files]}; raises ValueError on anything malformed. Missing
    files read as None."""
    res = {"json": None, "env": None, "arn": {}, "prom": None, "temp": []}
    p = os.path.join(state, "streams.json")
    if os.path.exists(p):
        with open(p) as f:
            doc = json.load(f)
        if not isinstance(doc, dict) or not isinstance(doc.get("streams"), list):
            raise ValueError("streams.json has no streams list")
        res["json"] = doc
    p = os.path.join(state, "streams.env")
    if os.path.exists(p):
        with open(p) as f:
            res["env"] = parse_env(f.read())
    p = os.path.join(state, "metrics.prom")
    if os.path.exists(p):
        with open(p) as f:
            res["prom"] = parse_prom(f.read())
    for dirpath, dirs, files in os.walk(state):
        for fn in files:
            full = os.path.join(dirpath, fn)
            if fn.startswith("."):
                res["temp"].append(os.path.relpath(full, state))
                continue
            rel = os.path.relpath(full, state)
            parts = rel.split(os.sep)
            if len(parts) == 3 and parts[0] == "streams" and fn.endswith(".arn"):
                with open(full) as f:
                    text = f.read()
                if not (text.startswith("arn:") and text.endswith("\n") and text.count("\n") == 1):
                    raise ValueError("bad .arn file %s: %r" % (rel, text))
                res["arn"][(parts[1], fn[:-4])] = text.strip()
    return res


def env_name(name, region, default_region, consumer=None):
    """The streams.env variable DESIGN §4 gives a stream (or its consumer)."""
    def up(s):
        return re.sub(r"[^A-Z0-9]", "_", s.upper())
    v = "KINESIS_STREAM_"
    if region and region != default_region:
        v += up(region) + "_"
    v += up(name)
    if consumer:
        v += "_CONSUMER_" + up(consumer)
    return v + "_ARN"


def snapshot(state):
    """(inode, mtime_ns) of every file under state, to see what a run wrote."""
    out = {}
    for dirpath, dirs, files in os.walk(state):
        for fn in files:
            full = os.path.join(dirpath, fn)
            st = os.stat(full)
            out[os.path.relpath(full, state)] = (st.st_ino, st.st_mtime_ns)
    return out


def wait_exit(p, timeout):
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def kill(p):
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
        p.wait()
