#!/usr/bin/env python3
"""Start and stop kinesis-mock, and the strict proxy in front of it, for the
CTest fixture "kinesis_mock" (and for tests that start a private pair).

  kinesis-mock.py start --dir PKG --pid-file F --port-file F --log F [--duration 200ms]
                        [--limits-proxy-port-file P] [--proxy-log L] [--no-limits-proxy]
                        [--list-summaries]
  kinesis-mock.py stop  --pid-file F --port-file F --log F [--limits-proxy-port-file P]
                        [--proxy-log L]

start: picks two free loopback ports, runs `node main.js` from PKG in the
background (its own session, output to the log), waits until ListStreams
answers on http://127.0.0.1:PORT/, then writes PORT to the port file. State
changes take --duration; the account shard limit is 1000 unless SHARD_LIMIT
is set. The mock asks for the wildcard address; loopback.js (loaded first)
makes it listen on 127.0.0.1 only.

Then it starts tests/fault/fault_proxy.py --limits in front of the mock (on
127.0.0.1, its own session): a strict AWS that refuses what AWS's Kinesis
control-plane limits would (tests/fault/aws_limits.py), per account (the
12-digit access key id a test signs with) and region. Its port goes to
--limits-proxy-port-file (default "<port file>.proxy"), its pid to
"<pid file>.proxy", its JSON-lines log to --proxy-log (default: beside the
mock log, "<log without extension>-proxy.jsonl"). The mock's own port file is
unchanged: setup, cleanup and inspection by the test harness go straight to
the mock and spend no account's budget; only the kinesisd under test is
pointed at the proxy. The proxy's 24 h budgets live as long as it does (one
fixture: the whole ctest run).

stop: SIGTERM, a grace period, then SIGKILL, for the proxy and the mock;
removes the pid and port files. Then it reads the proxy's log and FAILS
(exit 1, one line per refusal: akid, op, reason) if any request was refused
for an account that did not declare that it expects refusals.

Expecting refusals: a test whose account is meant to be refused creates an
empty file named after its access key id in the directory
"<port file>.allow-refusals/" (e.g. build/tests/kinesis-mock.port.allow-
refusals/123456789012) before it sends the requests. start empties that
directory; refusals for the akids named there are reported but do not fail.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

SKIP_ENV = "KINESISD_SKIP_INTEGRATION"
HERE = os.path.dirname(os.path.abspath(__file__))
PROXY = os.path.join(os.path.dirname(HERE), "fault", "fault_proxy.py")
LOOPBACK = os.path.join(HERE, "loopback.js")  # every listening socket on 127.0.0.1
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"  # every test account's fake secret
PROXY_LIFETIME = 7 * 24 * 3600.0  # the fixture stops it long before


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def list_streams(port, timeout=2.0):
    req = urllib.request.Request(
        "http://127.0.0.1:%d/" % port,
        data=b"{}",
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "Kinesis_20131202.ListStreams",
            # Any signature will do for the mock.
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
                             "kinesis/aws4_request, SignedHeaders=host, Signature=00",
            "X-Amz-Date": "20150830T123600Z",
        },
    )
    # Never through a proxy: loopback only.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=timeout) as r:
        return json.loads(r.read() or b"{}")


def listening_addresses(port):
    """The local addresses of the sockets listening on TCP port (from
    /proc/net/tcp and tcp6 of this network namespace), as hex strings."""
    out = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            addr, hexport = fields[1].split(":")
            if fields[3] == "0A" and int(hexport, 16) == port:  # 0A: LISTEN
                out.append(addr)
    return out


def loopback_only(ports):
    """None when every port listens on 127.0.0.1 and nothing else; else why not."""
    for port in ports:
        addrs = listening_addresses(port)
        if not addrs or any(a != "0100007F" for a in addrs):
            return "port %d listens on %s, want 127.0.0.1 only (hex 0100007F)" % (port, addrs or "nothing")
    return None


def stop_pid(pid, grace=5.0):
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        # Reap it if it is our child (start failing half-way).
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def proxy_paths(a):
    """(pid file, port file, log, allow-refusals dir) of the strict proxy."""
    log = a.proxy_log
    if not log:
        base = a.log if a.log != os.devnull else a.port_file
        log = os.path.splitext(base)[0] + "-proxy.jsonl"
    return (a.pid_file + ".proxy", a.limits_proxy_port_file or a.port_file + ".proxy", log,
            a.port_file + ".allow-refusals")


def start_proxy(a, mock_port):
    pid_file, port_file, log, allow = proxy_paths(a)
    shutil.rmtree(allow, ignore_errors=True)
    os.makedirs(allow)
    if os.path.exists(log):
        os.unlink(log)
    err = open(log + ".stderr", "ab")
    proc = subprocess.Popen([sys.executable, PROXY, "--upstream-port", str(mock_port),
                             "--port-file", port_file, "--log", log, "--limits",
                             "--keys-json", json.dumps({"*": SECRET}),
                             "--max-seconds", str(PROXY_LIFETIME)]
                            + (["--list-summaries"] if a.list_summaries else []),
                            stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT,
                            start_new_session=True)
    err.close()
    with open(pid_file, "w") as f:
        f.write("%d\n" % proc.pid)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if os.path.exists(port_file):
            print("strict proxy pid %d on 127.0.0.1 port file %s, log %s" % (proc.pid, port_file, log))
            return True
        time.sleep(0.05)
    print("ERROR: the strict proxy did not start; see %s.stderr" % log, file=sys.stderr)
    stop_pid(proc.pid)
    return False


def refusals(log, allow):
    """(unexpected, expected) refusals in the proxy log: lists of (akid, op, reason)."""
    try:
        allowed = set(os.listdir(allow))
    except OSError:
        allowed = set()
    bad, ok = [], []
    try:
        with open(log) as f:
            lines = f.readlines()
    except OSError:
        return bad, ok
    for line in lines:
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("refused"):
            (ok if e.get("akid") in allowed else bad).append((e.get("akid"), e.get("op"), e["refused"]))
    return bad, ok


def cmd_start(a):
    # A mock left behind by an interrupted run goes first.
    for old in (read_pid(a.pid_file + ".proxy"), read_pid(a.pid_file)):
        if old:
            stop_pid(old)
    for p in (a.port_file, a.pid_file) + proxy_paths(a)[:2]:
        if os.path.exists(p):
            os.unlink(p)
    main_js = os.path.join(a.dir, "main.js")
    if not os.path.isfile(main_js):
        if os.environ.get(SKIP_ENV):
            print("kinesis-mock not installed at %s; %s is set, integration tests will skip"
                  % (a.dir, SKIP_ENV))
            return 0
        print("ERROR: kinesis-mock is not installed at %s.\n"
              "Install it: mkdir -p .deps && cd .deps && npm install kinesis-local\n"
              "(or set %s=1 to skip the integration tests)" % (a.dir, SKIP_ENV), file=sys.stderr)
        return 1
    plain, tls = free_port(), free_port()
    while tls == plain:
        tls = free_port()
    env = dict(os.environ)
    for k in list(env):
        if k.lower().endswith("_proxy"):
            del env[k]
    env.update({
        "KINESIS_MOCK_PLAIN_PORT": str(plain),
        "KINESIS_MOCK_TLS_PORT": str(tls),
        "KINESIS_MOCK_CERT_PATH": os.path.join(a.dir, "server.json"),
        "LOG_LEVEL": os.environ.get("KINESIS_MOCK_LOG_LEVEL", "WARN"),
        "SHOULD_PERSIST_DATA": "false",
        "LOAD_DATA_IF_EXISTS": "false",
    })
    for var in ("CREATE_STREAM_DURATION", "DELETE_STREAM_DURATION",
                "REGISTER_STREAM_CONSUMER_DURATION", "DEREGISTER_STREAM_CONSUMER_DURATION",
                "START_STREAM_ENCRYPTION_DURATION", "STOP_STREAM_ENCRYPTION_DURATION",
                "MERGE_SHARDS_DURATION", "SPLIT_SHARD_DURATION",
                "UPDATE_SHARD_COUNT_DURATION", "UPDATE_STREAM_MODE_DURATION"):
        env.setdefault(var, a.duration)
    # One mock serves every test of a ctest run, several at a time (-j): the
    # mock's default account limit of 50 shards is too tight for all of them.
    env.setdefault("SHARD_LIMIT", "1000")
    log = open(a.log, "ab")
    proc = subprocess.Popen(["node", "--require", LOOPBACK, "main.js"], cwd=a.dir, env=env, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    with open(a.pid_file, "w") as f:
        f.write("%d\n" % proc.pid)
    deadline = time.monotonic() + a.timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            print("ERROR: kinesis-mock exited with %s; see %s" % (proc.returncode, a.log),
                  file=sys.stderr)
            return 1
        try:
            list_streams(plain)
            wrong = loopback_only((plain, tls))
            if wrong:
                print("ERROR: kinesis-mock: %s" % wrong, file=sys.stderr)
                stop_pid(proc.pid)
                return 1
            with open(a.port_file + ".tmp", "w") as f:
                f.write("%d\n" % plain)
            os.rename(a.port_file + ".tmp", a.port_file)
            print("kinesis-mock pid %d listening on 127.0.0.1:%d (tls %d)" % (proc.pid, plain, tls))
            if a.no_limits_proxy or start_proxy(a, plain):
                return 0
            stop_pid(proc.pid)
            return 1
        except (urllib.error.URLError, OSError, ValueError) as e:
            last = e
            time.sleep(0.25)
    print("ERROR: kinesis-mock did not answer within %ds (%s); see %s" % (a.timeout, last, a.log),
          file=sys.stderr)
    stop_pid(proc.pid)
    return 1


def cmd_stop(a):
    pid_file, port_file, log, allow = proxy_paths(a)
    for p in (pid_file, a.pid_file):
        pid = read_pid(p)
        if pid:
            stop_pid(pid)
    for p in (a.pid_file, a.port_file, pid_file, port_file):
        if os.path.exists(p):
            os.unlink(p)
    bad, ok = refusals(log, allow)
    if ok:
        print("%d refusal(s) for accounts that expected them" % len(ok))
    if bad:
        print("FAIL: the strict proxy refused %d request(s) of accounts that did not expect "
              "refusals (%s):" % (len(bad), log))
        for akid, op, reason in bad:
            print("  %s %s %s" % (akid, op, reason))
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("action", choices=["start", "stop"])
    ap.add_argument("--dir")
    ap.add_argument("--pid-file", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", default=os.devnull)
    ap.add_argument("--duration", default="200ms")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--limits-proxy-port-file",
                    help='where the strict proxy writes its port (default "<port file>.proxy")')
    ap.add_argument("--proxy-log", help="the strict proxy's log (default: beside --log)")
    ap.add_argument("--no-limits-proxy", action="store_true", help="start the mock alone")
    ap.add_argument("--list-summaries", action="store_true",
                    help="the strict proxy answers ListStreams as AWS does (StreamSummaries, NextToken)")
    a = ap.parse_args()
    return cmd_start(a) if a.action == "start" else cmd_stop(a)


if __name__ == "__main__":
    sys.exit(main())
