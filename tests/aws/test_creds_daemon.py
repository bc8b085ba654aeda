#!/usr/bin/env python3
"""The credential chain under kinesisd itself: many streams, so many calls
want credentials at once, against kinesis-mock on 127.0.0.1.

  test_creds_daemon.py KINESISD KINESIS_CALL PORT_FILE

A credential source that hands out credentials already expired is asked
again with backoff, not once per call, and is warned about once."""
import os
import random
import sys

from awstest import Suite
from kinesisd_test import process
from kinesisd_test.ports import mock_port

KINESISD, KC, PORT_FILE = sys.argv[1:4]
S = Suite("aws-credentials-daemon", KC)
PY = sys.executable
ENDPOINT = "http://127.0.0.1:%d" % mock_port(PORT_FILE)
N_STREAMS = 10

# Appends a line to the counter file per run, prints credentials that
# expired in 2020.
EXPIRED_PROC = r'''
import json, sys
with open(sys.argv[1], "a") as f:
    f.write("run\n")
print(json.dumps({"Version": 1, "AccessKeyId": sys.argv[2], "SecretAccessKey": "s3cr3t-expired",
                  "SessionToken": "t0ken-expired", "Expiration": "2020-01-01T00:00:00Z"}))
'''


def account():
    return "%012d" % random.Random("%d %f" % (os.getpid(), random.random())).randrange(10 ** 11, 10 ** 12)


def config(name, prefix):
    streams = "".join("  - { name: %s-%02d, shards: 1 }\n" % (prefix, i) for i in range(N_STREAMS))
    return S.write(name, "aws:\n  region: us-east-1\n  endpoint: %s\nreconcile:\n  poll: 200ms\n"
                   "streams:\n%s" % (ENDPOINT, streams))


def run(argv, env, timeout=120):
    return process.run(argv, env, timeout, cwd=S.tmp.name)


def cleanup(akid, prefix):
    env = {"AWS_ACCESS_KEY_ID": akid, "AWS_SECRET_ACCESS_KEY": "x"}
    for i in range(N_STREAMS):
        S.call(["--endpoint", ENDPOINT, "--region", "us-east-1", "DeleteStream",
                '{"StreamName":"%s-%02d"}' % (prefix, i)], env=env, keys=False)


def test_expired_process_credentials_backoff():
    akid = account()
    prefix = "credexp-%d" % (os.getpid() % 100000)
    script = S.write("expired-proc.py", EXPIRED_PROC, 0o700)
    counter = S.path("expired-runs")
    aws_cfg = S.write("aws-config-expired", "[default]\ncredential_process = %s %s %s %s\n"
                      % (PY, script, counter, akid), 0o600)
    cfg = config("kinesisd-expired.yaml", prefix)
    env = S.env({"AWS_CONFIG_FILE": aws_cfg, "AWS_SHARED_CREDENTIALS_FILE": S.path("none")}, keys=False)
    try:
        rc, out, err, _ = run([KINESISD, "-c", cfg, "--state-dir", S.path("state-expired"), "--once"], env)
    finally:
        cleanup(akid, prefix)
    S.check(rc == 0, "--once exits 0 (the peer does not refuse the expired set)", err[-3000:])
    with open(counter) as f:
        runs = len(f.read().splitlines())
    # Before: one run per call that found no usable set (42 for 20 streams).
    S.check(1 <= runs <= 6, "credential_process ran %d times, want a handful" % runs, err[-3000:])
    warnings = [l for l in err.splitlines() if "already expired" in l]
    S.check(len(warnings) == 1, "exactly one warning about the expired set", "\n".join(warnings) or err[-3000:])
    S.check(warnings and "credential_process of profile default" in warnings[0]
            and "2020-01-01T00:00:00Z" in warnings[0], "the warning names the source and the time",
            warnings)
    S.check("s3cr3t" not in err and "t0ken" not in err, "no secret logged")
    print("credential_process ran %d times" % runs)


for t in (test_expired_process_credentials_backoff,):
    S.run(t)
sys.exit(S.summary())
