#!/usr/bin/env python3
"""Crash consistency of the state directory.

Starts state-writer (which exports in a tight loop, content changing on every
iteration), SIGKILLs it after a random delay, and checks every file it left:
each must be complete, i.e. exactly what some iteration i would write. Then
starts it again where it left off, many times over. Finally one clean run must
leave no temp file behind (state_dir_open removes those a kill left).

The writer's content for iteration i (see state-writer.c):
  streams j = 0 .. 150 + i % 8 - 1, named s%04d, region REGIONS[j % 3];
  shards (i + j) % 100 + 1; stream s0000 has consumer "gen" whose ARN ends in
  ":<i>"; every stream with j % 5 == 0 has consumer "reader";
  metrics: kinesisd_api_calls_total i, kinesisd_reconcile_passes_total i,
  kinesisd_config_reload_failed i % 2; generated_at 1700000000 + i seconds.
Any truncated or half-written file either fails to parse or disagrees with the
i it names, so a single such file fails the test.

Python 3 standard library only.
"""

import argparse
import datetime
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import time

REGIONS = ["eu-west-1", "us-east-1", "us-west-2"]
TOP_FILES = ["streams.json", "streams.env", "metrics.prom"]
ARN = r"arn:aws:kinesis:(eu-west-1|us-east-1|us-west-2):(\d{12}):stream/(s\d{4})"
CONSUMER_ARN = ARN + r"/consumer/(gen|c\d+):(\d+)"
TEMP_RE = re.compile(r"^\.(.+)\.[A-Za-z0-9]{6}$")
ENV_LINE_RE = re.compile(r"^(KINESIS_STREAM_[A-Z0-9_]+_ARN)=(" + ARN + r"(?:/consumer/(?:gen|c\d+):\d+)?)$")
COMMENT_RE = re.compile(r"^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* \S.*$")
LABEL_VALUE = r'"(?:[^"\\\n]|\\\\|\\"|\\n)*"'
LABELS = r"\{[a-zA-Z_][a-zA-Z0-9_]*=" + LABEL_VALUE + r"(?:,[a-zA-Z_][a-zA-Z0-9_]*=" + LABEL_VALUE + r")*\}"
SAMPLE_RE = re.compile(
    r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(" + LABELS + r")? "
    r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]Inf)$")
METRIC_FAMILIES = [
    "kinesisd_stream_active", "kinesisd_stream_shards", "kinesisd_stream_retention_hours",
    "kinesisd_stream_failed", "kinesisd_stream_conflict_held", "kinesisd_stream_waiting",
    "kinesisd_stream_throughput_commitment",
    "kinesisd_api_calls_total", "kinesisd_api_errors_total", "kinesisd_api_throttled_total",
    "kinesisd_changes_total", "kinesisd_conflicts_total", "kinesisd_reconcile_passes_total",
    "kinesisd_last_pass_timestamp_seconds", "kinesisd_last_pass_duration_seconds",
    "kinesisd_oldest_deep_check_timestamp_seconds", "kinesisd_oldest_deep_check_age_seconds",
    "kinesisd_config_reload_failed",
]
STREAM_KEYS = ["name", "region", "account", "arn", "status", "mode", "shards", "retention_hours",
               "consumers", "last_change", "last_error", "waiting", "throughput_commitment", "not_managed"]


class Partial(Exception):
    pass


def n_streams(i):
    return 150 + i % 8


def n_consumers(j):
    return (1 if j == 0 else 0) + (1 if j % 5 == 0 else 0)


def shards(i, j):
    return (i + j) % 100 + 1


def expected_streams(i):
    return sorted((REGIONS[j % 3], "s%04d" % j) for j in range(n_streams(i)))


def rfc3339(secs):
    return datetime.datetime.fromtimestamp(secs, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def require(cond, what):
    if not cond:
        raise Partial(what)


def read_regular(path):
    st = os.lstat(path)
    require(stat.S_ISREG(st.st_mode), "%s is not a regular file" % path)
    require(stat.S_IMODE(st.st_mode) == 0o644, "%s has mode %o" % (path, stat.S_IMODE(st.st_mode)))
    with open(path, "rb") as f:
        data = f.read()
    require(len(data) > 0, "%s is empty" % path)
    require(data.endswith(b"\n"), "%s does not end with a newline" % path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Partial("%s is not UTF-8" % path)


def check_json(path):
    text = read_regular(path)
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise Partial("%s does not parse: %s" % (path, e))
    require(isinstance(doc, dict) and list(doc) == ["generated_at", "streams"], "streams.json top-level keys")
    streams = doc["streams"]
    require(isinstance(streams, list) and streams, "streams.json streams list")
    gen = [s for s in streams if isinstance(s, dict) and s.get("name") == "s0000"]
    require(len(gen) == 1, "streams.json has no s0000")
    m = re.fullmatch(CONSUMER_ARN, str(gen[0].get("consumers", {}).get("gen")))
    require(m, "streams.json marker consumer")
    i = int(m.group(5))
    require(doc["generated_at"] == rfc3339(1700000000 + i), "streams.json generated_at for iteration %d" % i)
    require([(s.get("region"), s.get("name")) for s in streams] == expected_streams(i),
            "streams.json streams of iteration %d, sorted by region then name" % i)
    for s in streams:
        require(list(s) == STREAM_KEYS, "streams.json keys of %s" % s.get("name"))
        j = int(s["name"][1:])
        am = re.fullmatch(ARN, s["arn"] or "")
        require(am and am.group(1) == s["region"] and am.group(3) == s["name"], "streams.json arn of %s" % s["name"])
        require(s["shards"] == shards(i, j), "streams.json shards of %s in iteration %d" % (s["name"], i))
        require(isinstance(s["consumers"], dict) and len(s["consumers"]) == n_consumers(j),
                "streams.json consumers of %s" % s["name"])
        require(s["last_change"] == rfc3339(1700000000 + i), "streams.json last_change of %s" % s["name"])
    return i


def check_env(path):
    text = read_regular(path)
    lines = text.split("\n")[:-1]
    require(lines and lines[0].startswith("# ") and "kinesisd" in lines[0], "streams.env header")
    keys, i = [], None
    for line in lines[1:]:
        m = ENV_LINE_RE.match(line)
        require(m, "streams.env line %r" % line)
        keys.append(m.group(1))
        cm = re.fullmatch(CONSUMER_ARN, m.group(2))
        if cm and cm.group(4) == "gen":
            i = int(cm.group(5))
    require(i is not None, "streams.env marker line")
    require(keys == sorted(set(keys)), "streams.env keys sorted and unique")
    want = sum(1 + n_consumers(j) for j in range(n_streams(i)))
    require(len(keys) == want, "streams.env has %d variables, iteration %d has %d" % (len(keys), i, want))
    return i


def check_metrics(path):
    text = read_regular(path)
    seen, values, shard_samples = set(), {}, []
    for line in text.split("\n")[:-1]:
        if line.startswith("#"):
            require(COMMENT_RE.match(line), "metrics.prom comment %r" % line)
            continue
        m = SAMPLE_RE.match(line)
        require(m, "metrics.prom sample %r" % line)
        seen.add(m.group(1))
        if m.group(2):
            if m.group(1) == "kinesisd_stream_shards":
                sm = re.search(r'stream="s(\d{4})"', m.group(2))
                require(sm, "metrics.prom label %r" % line)
                shard_samples.append((int(sm.group(1)), float(m.group(3))))
        else:
            values[m.group(1)] = float(m.group(3))
    require(seen == set(METRIC_FAMILIES), "metrics.prom families %s" % sorted(set(METRIC_FAMILIES) - seen))
    i = int(values["kinesisd_api_calls_total"])
    require(values["kinesisd_reconcile_passes_total"] == i, "metrics.prom passes for iteration %d" % i)
    require(values["kinesisd_config_reload_failed"] == i % 2, "metrics.prom reload flag for iteration %d" % i)
    require(len(shard_samples) == n_streams(i), "metrics.prom shard samples for iteration %d" % i)
    for j, v in shard_samples:
        require(v == shards(i, j), "metrics.prom shards of s%04d in iteration %d" % (j, i))
    return i


def check_arn_files(state):
    """Returns (files checked, temp files seen)."""
    root = os.path.join(state, "streams")
    checked = temps = 0
    if not os.path.lexists(root):
        return 0, 0
    require(stat.S_ISDIR(os.lstat(root).st_mode), "streams/ is a directory")
    for region in os.listdir(root):
        rdir = os.path.join(root, region)
        require(region in REGIONS and stat.S_ISDIR(os.lstat(rdir).st_mode), "streams/%s" % region)
        for name in os.listdir(rdir):
            path = os.path.join(rdir, name)
            tm = TEMP_RE.match(name)
            if tm:
                require(tm.group(1).endswith(".arn"), "temp file %s" % path)
                temps += 1
                continue
            require(re.fullmatch(r"s\d{4}\.arn", name), "unexpected file %s" % path)
            text = read_regular(path)
            m = re.fullmatch(ARN + "\n", text)
            require(m and m.group(1) == region and m.group(3) == name[:-4], "%s content %r" % (path, text))
            checked += 1
    return checked, temps


def check_state(state, must_exist):
    """Check every file; return (max iteration seen or None, files checked, temps seen)."""
    iters, checked, temps = [], 0, 0
    for name in os.listdir(state):
        tm = TEMP_RE.match(name)
        if tm:
            require(tm.group(1) in TOP_FILES, "unexpected temp file %s" % name)
            temps += 1
        else:
            require(name in TOP_FILES or name == "streams", "unexpected file %s" % name)
    for name, check in (("streams.json", check_json), ("streams.env", check_env),
                        ("metrics.prom", check_metrics)):
        path = os.path.join(state, name)
        if not os.path.lexists(path):
            require(name not in must_exist, "%s disappeared" % name)
            continue
        iters.append(check(path))
        must_exist.add(name)
        checked += 1
    n, t = check_arn_files(state)
    return (max(iters) if iters else None), checked + n, temps + t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--writer", required=True, help="the state-writer binary")
    ap.add_argument("--dir", required=True, help="scratch state directory (wiped first)")
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--max-delay-ms", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    state = os.path.abspath(args.dir)
    shutil.rmtree(state, ignore_errors=True)
    os.makedirs(state)

    must_exist, start = set(), 1000
    files_checked = temps_seen = kills_with_temps = 0
    first_iter = None
    for k in range(args.kills):
        proc = subprocess.Popen([args.writer, state, str(start)], stdout=subprocess.PIPE)
        proc.stdout.readline()  # "writing": start-up is over
        time.sleep(rng.uniform(0, args.max_delay_ms) / 1000.0)
        proc.send_signal(signal.SIGKILL)
        rc = proc.wait()
        proc.stdout.close()
        if rc != -signal.SIGKILL:
            print("FAIL: state-writer exited with %d before it was killed (kill %d)" % (rc, k + 1))
            return 1
        try:
            i, n, t = check_state(state, must_exist)
        except Partial as e:
            print("FAIL after kill %d (seed %d): partial or invalid file: %s" % (k + 1, args.seed, e))
            print("state directory left in %s" % state)
            return 1
        files_checked += n
        temps_seen += t
        kills_with_temps += 1 if t else 0
        if i is not None:
            first_iter = i if first_iter is None else first_iter
            start = i + 1

    # One clean iteration: completes, and leaves no temp file behind.
    rc = subprocess.call([args.writer, state, str(start), "1"], stdout=subprocess.DEVNULL)
    if rc != 0:
        print("FAIL: clean run exited with %d" % rc)
        return 1
    try:
        i, n, t = check_state(state, set(TOP_FILES))
    except Partial as e:
        print("FAIL after the clean run: %s" % e)
        return 1
    if t or i != start:
        print("FAIL: after a clean run: %d temp files left, iteration %s (want %d)" % (t, i, start))
        return 1
    files_checked += n

    iterations = start - 1000 + 1
    print("%d kills, %d files checked, %d stale temp files seen after %d of the kills "
          "(a final clean run left none), ~%d iterations written" %
          (args.kills, files_checked, temps_seen, kills_with_temps, iterations))
    # A temp file left behind is direct evidence that a kill interrupted a
    # write; without enough of those (or without exports completing, so that
    # there is an old version to replace) the test would prove nothing.
    if kills_with_temps < max(1, args.kills // 50) or iterations < 2:
        print("FAIL: the kills did not interrupt enough writes; adjust --max-delay-ms")
        return 1
    shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
