#!/usr/bin/env python3
"""Start and stop kinesis-mock for the CTest fixture "kinesis_mock".

  kinesis-mock.py start --dir PKG --pid-file F --port-file F --log F [--duration 200ms]
  kinesis-mock.py stop  --pid-file F --port-file F

start: picks two free loopback ports, runs `node main.js` from PKG in the
background (its own session, output to the log), waits until ListStreams
answers on http://127.0.0.1:PORT/, then writes PORT to the port file.
stop: SIGTERM, a grace period, then SIGKILL; removes the pid and port files.
State changes take --duration; the account shard limit is 1000 unless
SHARD_LIMIT is set.

The mock listens on every interface; we only ever talk to 127.0.0.1.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

SKIP_ENV = "KINESISD_SKIP_INTEGRATION"


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


def cmd_start(a):
    # A mock left behind by an interrupted run goes first.
    old = read_pid(a.pid_file)
    if old:
        stop_pid(old)
    for p in (a.port_file, a.pid_file):
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
    proc = subprocess.Popen(["node", "main.js"], cwd=a.dir, env=env, stdin=subprocess.DEVNULL,
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
            with open(a.port_file + ".tmp", "w") as f:
                f.write("%d\n" % plain)
            os.rename(a.port_file + ".tmp", a.port_file)
            print("kinesis-mock pid %d listening on 127.0.0.1:%d (tls %d)" % (proc.pid, plain, tls))
            return 0
        except (urllib.error.URLError, OSError, ValueError) as e:
            last = e
            time.sleep(0.25)
    print("ERROR: kinesis-mock did not answer within %ds (%s); see %s" % (a.timeout, last, a.log),
          file=sys.stderr)
    stop_pid(proc.pid)
    return 1


def cmd_stop(a):
    pid = read_pid(a.pid_file)
    if pid:
        stop_pid(pid)
    for p in (a.pid_file, a.port_file):
        if os.path.exists(p):
            os.unlink(p)
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
    a = ap.parse_args()
    return cmd_start(a) if a.action == "start" else cmd_stop(a)


if __name__ == "__main__":
    sys.exit(main())
