#!/usr/bin/env python3
"""daemon-crash: crash consistency through the real binary. kinesisd
reconciles 30 streams while the test keeps switching between configurations
that change the exports (retention, consumers, streams dropped and added),
and kills it with SIGKILL at random (seeded) moments, 40 times, in --once and
in daemon mode. After every kill each state file is whole: streams.json is
JSON, streams.env is KEY=VALUE lines, every .arn file one line starting with
arn: (and the stream's real ARN), metrics.prom samples. A clean run at the
end converges, leaves no temp file, and exports what AWS says.

Runs on a mock of its own: 30 streams are more shards than the shared mock
can spare."""
import os
import random
import signal
import time

from daemonlib import AWS_HEAD, Test
from kinesisd_test.checks import Failed
from kinesisd_test.state import env_name, read_state

T = Test("crash", "sa-east-1")
SEED = int(os.environ.get("KINESISD_CRASH_SEED", "20240611"))
KILLS = 40
N = 30
names = ["%sc%02d" % (T.prefix, i) for i in range(N)]
state = T.path("state")


def config(variant):
    head = AWS_HEAD + """reconcile:
  poll: 100ms
  interval: 1s
  timeout: 40s
streams:
"""
    body = ""
    for i, n in enumerate(names):
        if variant == 1 and i >= 25:
            continue          # dropped: their exports go
        if variant == 2 and i < 3:
            continue
        retention = 48 if (variant == 1 and i < 10) else 24
        body += "  - name: %s\n    shards: 1\n    retention_hours: %d\n" % (n, retention)
        if i in (5, 6) and variant != 2:
            body += "    consumers: [r%d]\n" % variant
    return T.write("v%d.yaml" % variant, head + body)


def validate(where):
    try:
        st = read_state(state)
    except (ValueError, UnicodeDecodeError) as e:
        raise Failed("%s: a state file is broken: %s" % (where, e))
    if st["json"] is not None:
        for s in st["json"]["streams"]:
            if s["name"] not in names:
                raise Failed("%s: unknown stream in streams.json: %s" % (where, s["name"]))
    for (region, name), arn in st["arn"].items():
        if region != T.region or name not in names or arn != arns.get(name, arn):
            raise Failed("%s: wrong .arn file %s/%s: %s" % (where, region, name, arn))
    return st


arns = {}


def test_kill_storm():
    T.private_mock(duration="200ms")
    cfgs = [config(v) for v in range(3)]
    T.once(cfgs[0], state, timeout=55)
    for n in names:
        arns[n] = T.describe(n)["StreamARN"]
    validate("after the first run")
    rng = random.Random(SEED)
    t0 = time.monotonic()
    for k in range(KILLS):
        cfg = cfgs[k % 3]
        args = ["-c", cfg, "--state-dir", state, "--log-level", "debug"]
        if rng.random() < 0.5:
            args.append("--once")
        p = T.spawn(*args, stderr_path=T.path("kills.log"))
        time.sleep(rng.uniform(0.01, 0.9))
        p.send_signal(signal.SIGKILL)
        p.wait()
        validate("after kill %d (%s)" % (k + 1, " ".join(args[-1:])))
        T.passed += 1
    print("   %d kills in %.1fs (seed %d)" % (KILLS, time.monotonic() - t0, SEED))


def test_clean_run():
    out, err = T.once(T.path("v0.yaml"), state, timeout=55)
    st = validate("after the clean run")
    T.check(st["temp"] == [], "no temp file lingers after a clean run", str(st["temp"]))
    T.check(len(st["json"]["streams"]) == N and all(s["status"] == "ACTIVE" for s in st["json"]["streams"]),
            "all 30 streams ACTIVE in streams.json")
    T.check(set(st["arn"]) == {(T.region, n) for n in names}, "one .arn file per stream")
    for n in names:
        T.check(st["env"].get(env_name(n, T.region, T.region)) == arns[n], "streams.env %s" % n)
        T.check(T.describe(n)["RetentionPeriodHours"] == 24, "%s retention back to 24h" % n)
    by = {s["name"]: s for s in st["json"]["streams"]}
    for i in (5, 6):
        T.check(set(by[names[i]]["consumers"]) == {"r0"}, "%s: consumer r0 exported" % names[i],
                str(by[names[i]]["consumers"]))


T.run(test_kill_storm, test_clean_run)
