#!/usr/bin/env python3
"""daemon-once: kinesisd --once creates 12 new streams with varied settings,
exits 0, and every export is right: streams.json (shape, order, status,
shards, retention, consumers), streams.env (names, another region,
consumers), streams/<region>/<name>.arn and metrics.prom, with the ARNs AWS
reports. A second --once rewrites no export and makes no change in AWS.

On a terminal (a pty for stderr), --once shows one status line (active,
creating, waiting, failed, elapsed) that no log line ever shares, and that
is gone when it exits: the bytes it wrote, played on a model terminal, leave
only whole log lines."""
import fcntl
import os
import pty
import re
import struct
import subprocess
import termios

from daemonlib import Test, calls, change_calls, requests_sent
from kinesisd_test.state import env_name, read_state, snapshot

T = Test("once", "us-east-2")
REGION = T.region
P = T.prefix
OTHER = "eu-west-2"
T.regions.add(OTHER)

# name suffix -> (yaml lines, expected settings)
STREAMS = {
    "s00": ("shards: 1", dict(shards=1)),
    "s01": ("shards: 2\n    retention_hours: 48", dict(shards=2, retention=48)),
    "s02": ("shards: 2\n    tags: { team: alpha, cost-center: '42' }", dict(shards=2)),
    "s03": ("mode: on_demand", dict(mode="ON_DEMAND")),
    "s04": ("shards: 1\n    consumers: [reader, reader-2]", dict(shards=1, consumers=["reader", "reader-2"])),
    "s05": ("shards: 1\n    encryption: { kms_key: alias/aws/kinesis }", dict(shards=1, kms="alias/aws/kinesis")),
    "s06": ("shards: 2\n    shard_level_metrics: [IncomingBytes, OutgoingBytes]",
            dict(shards=2, metrics={"IncomingBytes", "OutgoingBytes"})),
    "s07": ("region: %s\n    shards: 1\n    consumers: [x.y]" % OTHER,
            dict(shards=1, region=OTHER, consumers=["x.y"])),
    "s08": ("shards: 3\n    retention_hours: 168", dict(shards=3, retention=168)),
    "s09.dot_x": ("shards: 1", dict(shards=1)),
    "s10": ("mode: on_demand\n    retention_hours: 72", dict(mode="ON_DEMAND", retention=72)),
    "s11": ("region: %s\n    shards: 2" % OTHER, dict(shards=2, region=OTHER)),
}

CONFIG = """aws:
  region: %s
  endpoint: {endpoint}
reconcile:
  poll: 100ms
  timeout: 40s
defaults:
  tags: { managed-by: kinesisd }
streams:
""" % REGION + "".join("  - name: {prefix}%s\n    %s\n" % (k, v[0]) for k, v in STREAMS.items())

cfg = T.write("kinesisd.yaml", CONFIG)
state = T.path("state")
first = {}


def expected(k):
    e = dict(region=REGION, mode="PROVISIONED", retention=24, consumers=[], kms=None, metrics=set())
    e.update(STREAMS[k][1])
    return e


def test_first_run():
    out, err = T.once(cfg, state)
    first["log"] = err
    ops = calls(err)
    T.check(ops.count("CreateStream") == len(STREAMS), "one CreateStream per stream",
            "%d CreateStream calls" % ops.count("CreateStream"))
    st = read_state(state)
    T.require(st["json"] is not None and st["env"] is not None and st["prom"] is not None,
              "streams.json, streams.env and metrics.prom exist", str(os.listdir(state)))
    T.check(st["temp"] == [], "no temp file left", str(st["temp"]))
    doc = st["json"]
    T.check(set(doc) == {"generated_at", "streams"}, "streams.json top-level keys", str(sorted(doc)))
    T.check(isinstance(doc["generated_at"], str) and doc["generated_at"].endswith("Z"),
            "generated_at is an RFC 3339 UTC time", doc["generated_at"])
    got = doc["streams"]
    order = [(s["region"], s["name"]) for s in got]
    want_order = sorted((expected(k)["region"], P + k) for k in STREAMS)
    T.check(order == want_order, "streams.json sorted by region, then name", "%s\n%s" % (order, want_order))

    by_name = {s["name"]: s for s in got}
    keys = {"name", "region", "account", "arn", "status", "mode", "shards", "retention_hours", "consumers",
            "last_change", "last_error", "waiting", "throughput_commitment", "not_managed"}
    for k in STREAMS:
        name, e = P + k, expected(k)
        s = by_name.get(name)
        if not T.check(s is not None, "%s in streams.json" % name):
            continue
        T.check(set(s) == keys, "%s: streams.json keys" % name, str(sorted(s)))
        # No role_arn: the daemon's own account, as the ARN shows it.
        T.check(s.get("account") == T.account, "%s: streams.json account" % name, s.get("account"))
        d = T.describe(name, e["region"])
        arn = d["StreamARN"]
        T.check(d["StreamStatus"] == "ACTIVE", "%s ACTIVE in AWS" % name, d["StreamStatus"])
        T.check(s["arn"] == arn, "%s: ARN in streams.json is AWS's" % name, "%s vs %s" % (s["arn"], arn))
        T.check(s["status"] == "ACTIVE", "%s: status ACTIVE" % name, s["status"])
        T.check(s["region"] == e["region"], "%s: region" % name, s["region"])
        T.check(s["mode"] == e["mode"] and d["StreamModeDetails"]["StreamMode"] == e["mode"],
                "%s: mode %s" % (name, e["mode"]), "%s / %s" % (s["mode"], d["StreamModeDetails"]))
        T.check(s["shards"] == d["OpenShardCount"], "%s: shards as AWS reports" % name,
                "%s vs %s" % (s["shards"], d["OpenShardCount"]))
        if "shards" in e:
            T.check(d["OpenShardCount"] == e["shards"], "%s: %d shards in AWS" % (name, e["shards"]),
                    str(d["OpenShardCount"]))
        T.check(s["retention_hours"] == e["retention"] == d["RetentionPeriodHours"],
                "%s: retention %dh" % (name, e["retention"]),
                "%s / %s" % (s["retention_hours"], d["RetentionPeriodHours"]))
        T.check(s["last_error"] is None, "%s: no last_error" % name, str(s["last_error"]))
        T.check(s["waiting"] is None, "%s: not waiting once converged" % name, str(s["waiting"]))
        T.check(isinstance(s["last_change"], str), "%s: last_change set (it was created)" % name,
                str(s["last_change"]))
        if e["kms"]:
            T.check(d.get("EncryptionType") == "KMS" and d.get("KeyId") == e["kms"],
                    "%s: encrypted with %s" % (name, e["kms"]), str(d))
        else:
            T.check(d.get("EncryptionType", "NONE") == "NONE", "%s: not encrypted" % name, str(d))
        mets = set()
        for em in d.get("EnhancedMonitoring", []):
            mets |= set(em.get("ShardLevelMetrics", []))
        T.check(mets == e["metrics"], "%s: shard-level metrics" % name, str(mets))
        tags = T.tags(name, e["region"])
        want_tags = {"managed-by": "kinesisd"}
        if k == "s02":
            want_tags.update({"team": "alpha", "cost-center": "42"})
        T.check(tags == want_tags, "%s: tags" % name, str(tags))

        # Consumers: the exported ARNs are the registered consumers'.
        cons = {}
        if e["consumers"]:
            ans = T.kc("ListStreamConsumers", {"StreamARN": arn}, e["region"])
            cons = {c["ConsumerName"]: c["ConsumerARN"] for c in ans.get("Consumers", [])}
        T.check(s["consumers"] == {c: cons.get(c) for c in e["consumers"]} and None not in s["consumers"].values(),
                "%s: consumers in streams.json" % name, "%s vs %s" % (s["consumers"], cons))

        # streams.env
        var = env_name(name, e["region"], REGION)
        T.check(st["env"].get(var) == arn, "streams.env %s" % var, str(st["env"].get(var)))
        for c in e["consumers"]:
            cv = env_name(name, e["region"], REGION, consumer=c)
            T.check(st["env"].get(cv) == cons.get(c) and cons.get(c), "streams.env %s" % cv,
                    str(st["env"].get(cv)))
        # .arn file
        T.check(st["arn"].get((e["region"], name)) == arn, "streams/%s/%s.arn" % (e["region"], name),
                str(st["arn"].get((e["region"], name))))
        # metrics
        lab = '{region="%s",stream="%s"}' % (e["region"], name)
        T.check(st["prom"].get("kinesisd_stream_active" + lab) == 1.0, "metrics: %s active" % name)
        T.check(st["prom"].get("kinesisd_stream_failed" + lab) == 0.0, "metrics: %s not failed" % name)
        T.check(st["prom"].get("kinesisd_stream_shards" + lab) == d["OpenShardCount"],
                "metrics: %s shards" % name)
        T.check(st["prom"].get("kinesisd_stream_retention_hours" + lab) == e["retention"],
                "metrics: %s retention" % name)

    n_vars = len(STREAMS) + sum(len(expected(k)["consumers"]) for k in STREAMS)
    T.check(len(st["env"]) == n_vars, "streams.env has exactly %d variables" % n_vars, str(st["env"]))
    T.check(len(st["arn"]) == len(STREAMS), "one .arn file per stream", str(sorted(st["arn"])))
    # The metrics count what was done.
    prom = st["prom"]
    T.check(prom.get("kinesisd_reconcile_passes_total") == 1.0, "metrics: one pass",
            str(prom.get("kinesisd_reconcile_passes_total")))
    n_changes = len(change_calls(err))
    T.check(prom.get("kinesisd_changes_total") == n_changes and n_changes >= len(STREAMS),
            "metrics: changes_total counts the %d changes made" % n_changes,
            str(prom.get("kinesisd_changes_total")))
    # The counter counts every request sent (each page, each retry), as the
    # debug log shows them.
    sent = len(requests_sent(err))
    T.check(prom.get("kinesisd_api_calls_total") == sent,
            "metrics: api calls counted", "%s vs %s" % (prom.get("kinesisd_api_calls_total"), sent))
    for path in ["streams.json", "streams.env", "metrics.prom"]:
        mode = os.stat(os.path.join(state, path)).st_mode & 0o777
        T.check(mode == 0o644, "%s mode 0644" % path, oct(mode))
    first["json"] = doc


def test_second_run_changes_nothing():
    before = snapshot(state)
    out, err = T.once(cfg, state)
    after = snapshot(state)
    T.check(change_calls(err) == [], "second run makes no change in AWS", str(change_calls(err)))
    # metrics.prom carries counters and the pass time, deep-checks the time
    # of each stream's deep check: they change on every pass by design.
    # Everything else must stay the very same file.
    for f in before:
        if f in ("metrics.prom", "deep-checks"):
            continue
        T.check(after.get(f) == before[f], "second run leaves %s alone (inode, mtime)" % f,
                "%s -> %s" % (before[f], after.get(f)))
    T.check(set(after) == set(before), "same set of files", "%s vs %s" % (sorted(before), sorted(after)))
    st = read_state(state)
    T.check(st["json"] == first.get("json"), "streams.json identical")
    T.check(st["prom"].get("kinesisd_changes_total") == 0.0, "metrics: no change this run",
            str(st["prom"].get("kinesisd_changes_total")))


def test_unreachable_keeps_arns():
    # AWS unreachable at start: the streams fail for this pass, but the ARNs
    # the previous run exported stay, so other services do not lose them.
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    before = read_state(state)
    T.once(cfg, state, "--endpoint", "http://127.0.0.1:%d" % dead, expect=1)
    after = read_state(state)
    T.check(after["env"] == before["env"], "streams.env keeps every ARN",
            "%s\nvs\n%s" % (before["env"], after["env"]))
    T.check(after["arn"] == before["arn"], ".arn files kept", "%s vs %s" % (before["arn"], after["arn"]))
    T.check(all(s["status"] == "FAILED" for s in after["json"]["streams"]), "streams.json says FAILED")


def screen(data):
    """The lines a terminal shows for data (\\r, \\n, ESC [K, text), and what
    stands on the last, unfinished line."""
    lines, cur, col = [], [], 0
    i = 0
    while i < len(data):
        if data.startswith("\033[K", i):
            del cur[col:]
            i += 3
            continue
        ch = data[i]
        i += 1
        if ch == "\r":
            col = 0
        elif ch == "\n":
            lines.append("".join(cur))
            cur, col = [], 0
        else:
            if col < len(cur):
                cur[col] = ch
            else:
                cur.append(ch)
            col += 1
    return lines, "".join(cur)


def test_terminal_progress():
    c = T.write("tty.yaml", CONFIG.split("streams:\n")[0] + "streams:\n" +
                "".join("  - name: {prefix}tty%d\n    shards: 1\n" % i for i in range(2)))
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    p = subprocess.Popen([T.kinesisd, "-c", c, "--state-dir", T.path("state-tty"), "--once"], env=T.env(),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the last writer closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    rc = p.wait(timeout=60)
    text = out.decode(errors="replace")
    T.check(rc == 0, "--once on a terminal: exit 0 (got %d)" % rc, text[-3000:])
    T.check_sanitizers(text, "kinesisd --once on a terminal")
    frame = re.compile(r"kinesisd: 2 streams: \d+ active, \d+ creating, (\d+ updating, )?\d+ waiting, "
                       r"(\d+ pending, )?\d+ failed; \d+ s")
    T.check(frame.search(text) is not None, "a status line with active, creating, waiting, failed and the "
            "seconds elapsed", repr(text[:2000]))
    lines, last = screen(text)
    T.check(last == "", "the status line is gone at exit", repr(last))
    bad = [l for l in lines if not l.startswith("kinesisd: ") or l.count("kinesisd:") != 1 or frame.search(l)]
    T.check(lines and bad == [], "every line left on the terminal is one whole log line", "\n".join(bad[:5]))
    T.check(any("is ACTIVE" in l for l in lines), "the log lines are there", "\n".join(lines))


T.run(test_first_run, test_second_run_changes_nothing, test_unreachable_keeps_arns, test_terminal_progress)
