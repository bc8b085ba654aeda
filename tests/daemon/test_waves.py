#!/usr/bin/env python3
"""daemon-waves: what services that read the exports see while kinesisd
creates many streams, and a reload that can be waited for.

On a mock of its own whose streams take 3 s to become ACTIVE, the daemon
(NOTIFY_SOCKET harness) starts with 10 new streams, one with a consumer:

- streams.env and the .arn files never hold the ARN of a stream (or
  consumer) that is not ACTIVE: sampled all along, each ARN found is looked
  up in the mock at once; streams.json meanwhile shows streams CREATING with
  their ARN;
- streams.env is replaced (inotify counts the renames) at most once for
  its first write and once per wave of 5 creations;
- EXTEND_TIMEOUT_USEC arrives before READY=1; READY=1 only once every
  stream is ACTIVE and in streams.env;
- with stderr not a terminal, an info line says how many streams it still
  waits for (a start of two waves of 3 s lasts long enough for one);
- "Stream ... is ACTIVE" is logged once per stream, also for the one with
  a consumer and a retention set after its creation (ACTIVE, UPDATING,
  ACTIVE: one stream became usable once).

Then `kinesisd --reload PID` (the unit's ExecReload=): three at once, for
a configuration that adds 3 streams, each exit 0 only once the new streams
are ACTIVE and in streams.env; EXTEND_TIMEOUT_USEC and READY=1 come between
RELOADING=1 and the answers. A stream deleted behind the daemon's back is
DELETING for a while: a reload waited for recreates it, its wait logged
once, its return to ACTIVE once; one resharded behind its back is UPDATING
and corrected back meanwhile, and keeps its streams.env line all along. A refused configuration: exit 78 at once,
the running one stays. A daemon killed while a reload waits: the waiter
exits 1, it does not hang. Started again with two more streams to create,
the new process keeps every ARN the killed one exported in streams.env all
along, and adds the new ones once they are ACTIVE.

In a private mount namespace (when root), a socket stands in for the
journal's: one `--once` run sends structured records, each with exactly one
CODE_FILE, CODE_LINE and CODE_FUNC, and one ACTIVE record (MESSAGE_ID ...c02)
for a stream created with a consumer. Without the namespace that part is
skipped (it says so)."""
import math
import os
import re
import signal
import subprocess
import threading
import time

from daemonlib import AWS_HEAD, Test
from kinesisd_test.checks import Failed
from kinesisd_test.inotify import RenameCounter
from kinesisd_test.journal import JournalCapture
from kinesisd_test.mountns import in_private_mount_ns
from kinesisd_test.notify import NotifySocket
from kinesisd_test.process import kill, wait_exit
from kinesisd_test.state import env_name, parse_env, read_state

NAMESPACE = in_private_mount_ns("KINESISD_TEST_WAVES_MOUNTNS")

T = Test("waves", "us-east-2")
# "Stream ... is ACTIVE" (daemon/log.h, the catalog).
MESSAGE_ACTIVE = "6b1e5c0a7f2d4c1e9a3b8d2f4e6a1c02"
# Bounds a hang, not a speed (the machine may be busy).
WAIT = 90
P = T.prefix
N = 10
WAVE = 5
NAMES = [P + "s%d" % i for i in range(N)]
ADDED = [P + "t%d" % i for i in range(3)]

HEAD = AWS_HEAD + """reconcile:
  poll: 200ms
  interval: 5m
  timeout: 60s
streams:
"""


def streams_yaml(names):
    out = ""
    for n in names:
        out += "  - name: %s\n    shards: 1\n" % n
        if n == NAMES[0]:
            # Applied after the creation: UPDATING, then ACTIVE again.
            out += "    retention_hours: 48\n    consumers: [c1]\n"
    return out


state = T.path("state")
cfg = T.path("kinesisd.yaml")
log = T.path("daemon.log")


class Sampler:
    """Reads streams.env and the .arn files over and over; every ARN found
    there must be ACTIVE (or UPDATING) in the mock right then. Also notes
    whether streams.json showed a CREATING stream with its ARN."""

    def __init__(self):
        self.active = set()      # ARNs the mock said are ACTIVE (they stay so)
        self.bad = []
        self.samples = 0
        self.json_creating_with_arn = False
        self.done = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def status(self, arn):
        if ":stream/" in arn and "/consumer/" in arn:
            d = T.mock_call("DescribeStreamConsumer", {"ConsumerARN": arn})["ConsumerDescription"]
            return d["ConsumerStatus"]
        name = arn.split(":stream/", 1)[1]
        return T.mock_call("DescribeStreamSummary", {"StreamName": name})["StreamDescriptionSummary"][
            "StreamStatus"]

    def look(self):
        try:
            st = read_state(state)
        except (ValueError, OSError):
            return  # a file replaced while read: the next sample reads it
        arns = list((st["env"] or {}).values()) + list(st["arn"].values())
        for arn in arns:
            if arn in self.active:
                continue
            s = self.status(arn)
            if s in ("ACTIVE", "UPDATING"):
                self.active.add(arn)
            else:
                self.bad.append("%s was exported while %s" % (arn, s))
        for s in (st["json"] or {}).get("streams", []):
            if s.get("status") == "CREATING" and s.get("arn"):
                self.json_creating_with_arn = True
        self.samples += 1

    def loop(self):
        while not self.done:
            try:
                self.look()
            except Exception as e:  # noqa: BLE001 - reported by the test
                self.bad.append("sampler: %s" % e)
            time.sleep(0.02)

    def close(self):
        self.done = True
        self.thread.join()


def env_now():
    try:
        with open(os.path.join(state, "streams.env")) as f:
            return parse_env(f.read())
    except FileNotFoundError:
        return {}


def exported_and_active(names):
    """(missing from streams.env, not ACTIVE in the mock), looked at now."""
    env = env_now()
    missing = [n for n in names if env_name(n, T.region, T.region) not in env]
    not_active = []
    for n in names:
        s = T.mock_call("DescribeStreamSummary", {"StreamName": n})["StreamDescriptionSummary"]
        if s["StreamStatus"] != "ACTIVE":
            not_active.append("%s %s" % (n, s["StreamStatus"]))
    return missing, not_active


def reload_waiter(pid):
    return subprocess.Popen([T.kinesisd, "--reload", str(pid)], env=T.env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def read_log():
    with open(log, errors="replace") as f:
        return f.read()


def active_lines(text, name):
    return text.count("Stream %s is ACTIVE (" % name)


def test_start_and_reload():
    T.private_mock(duration="3s")
    os.makedirs(state, mode=0o755)
    T.write("kinesisd.yaml", HEAD + streams_yaml(NAMES))
    h = NotifySocket(T.path("notify.sock"), lambda: exported_and_active(NAMES))
    renames = RenameCounter(state)
    sampler = Sampler()
    p = T.spawn("-c", cfg, "--state-dir", state, "--log-level", "debug", env={"NOTIFY_SOCKET": h.path},
                stderr_path=log)
    try:
        start(h, renames, sampler, p)
        reloads(h, sampler, p)
        killed_while_waiting(h, p)
        restart_keeps_exports()
    finally:
        sampler.close()
        renames.close()
        kill(p)
        h.close()
    T.check(sampler.bad == [], "no ARN of a stream or consumer not ACTIVE was ever exported",
            "\n".join(sampler.bad[:20]))
    T.check(sampler.samples > 20, "the exports were sampled all along (%d samples)" % sampler.samples)
    T.check(sampler.json_creating_with_arn, "streams.json showed a CREATING stream with its ARN")


def start(h, renames, sampler, p):
    i = h.wait_for(lambda kv: kv.get("READY") == "1", WAIT, "READY=1")
    T.check(h.ready_checks and h.ready_checks[0] == ([], []),
            "at READY=1 every stream is ACTIVE and in streams.env", str(h.ready_checks[:1]))
    T.check(any("EXTEND_TIMEOUT_USEC" in m[1] for m in h.msgs[:i]),
            "EXTEND_TIMEOUT_USEC before READY=1 of a start of several seconds",
            str([m[2] for m in h.msgs[:i]]))
    st = read_state(state)
    consumer_var = env_name(NAMES[0], T.region, T.region, "c1")
    T.check(consumer_var in st["env"], "the consumer's ARN is in streams.env", str(sorted(st["env"])))
    writes = renames.count("streams.env")
    most = 1 + math.ceil(N / WAVE)
    print("streams.env replaced %d times during a start of %d new streams" % (writes, N), flush=True)
    T.check(1 <= writes <= most, "streams.env replaced %d times for %d new streams (at most %d)"
            % (writes, N, most))
    text = read_log()
    counts = {n: active_lines(text, n) for n in NAMES}
    T.check(all(c == 1 for c in counts.values()), "\"is ACTIVE\" once per stream created", str(counts))
    T.check(re.search(r"kinesisd: Waiting for \d+ of %d streams: \d+ active, " % N, text) is not None,
            "an info line while streams are waited for", text[-3000:])
    T.check(sampler.samples > 0, "the exports were sampled during the start")


def reloads(h, sampler, p):
    # Three waiters at once for one new configuration: each gets its answer
    # only once the added streams are ACTIVE and exported.
    T.write("kinesisd.yaml", HEAD + streams_yaml(NAMES + ADDED))
    n0 = len(h.msgs)
    waiters = [reload_waiter(p.pid) for _ in range(3)]
    seen = []
    for w in waiters:
        out, _ = w.communicate(timeout=WAIT)
        T.check_sanitizers(out, "kinesisd --reload")
        seen.append(exported_and_active(ADDED))
        T.check(w.returncode == 0, "kinesisd --reload: exit 0 once the reload is done", out)
    T.check(all(s == ([], []) for s in seen), "when each waiter returns, the added streams are ACTIVE "
            "and in streams.env", str(seen))
    # The datagrams sent before the answers: the harness's thread may lag.
    h.wait_for(lambda kv: kv.get("READY") == "1", WAIT, "READY=1 after the reload", n0)
    msgs = [m[1] for m in h.msgs[n0:]]
    kinds = [k for kv in msgs for k in ("RELOADING", "EXTEND_TIMEOUT_USEC", "READY") if k in kv]
    T.check(kinds[:1] == ["RELOADING"] and "EXTEND_TIMEOUT_USEC" in kinds and kinds[-1:] == ["READY"],
            "RELOADING=1, EXTEND_TIMEOUT_USEC, READY=1 around a reload of several seconds", str(kinds))

    # Deleted behind its back: DELETING for 3 s, then gone; the reload
    # waited for recreates it. Another resharded behind its back: UPDATING,
    # then corrected back (UPDATING again); its line stays all along.
    victim = NAMES[1]
    resharded = NAMES[2]
    var = env_name(resharded, T.region, T.region)
    before = read_log()
    T.mock_call("DeleteStream", {"StreamName": victim})
    T.mock_call("UpdateShardCount", {"StreamName": resharded, "TargetShardCount": 2,
                                     "ScalingType": "UNIFORM_SCALING"})
    w = reload_waiter(p.pid)
    statuses, missing = set(), 0
    deadline = time.monotonic() + WAIT
    while w.poll() is None and time.monotonic() < deadline:
        statuses.add(T.mock_call("DescribeStreamSummary", {"StreamName": resharded})
                     ["StreamDescriptionSummary"]["StreamStatus"])
        missing += var not in env_now()
        time.sleep(0.02)
    out, _ = w.communicate(timeout=WAIT)
    T.check_sanitizers(out, "kinesisd --reload")
    T.check("UPDATING" in statuses, "the resharded stream was UPDATING meanwhile", str(statuses))
    T.check(missing == 0, "an exported stream that is UPDATING keeps its streams.env line (missing in %d "
            "samples)" % missing)
    T.check(T.describe(resharded)["OpenShardCount"] == 1, "and is corrected back to its declared shards")
    T.check(w.returncode == 0, "a reload that recreates a deleted stream: exit 0", out)
    T.check(exported_and_active([victim]) == ([], []), "the deleted stream is back, ACTIVE and exported")
    after = read_log()[len(before):]
    waits = after.count("Stream %s is being deleted" % victim)
    T.check(waits == 1, "the DELETING wait logged once (%d)" % waits, after[-3000:])
    T.check(active_lines(after, victim) == 1, "its return to ACTIVE logged once", after[-3000:])

    # A refused configuration: 78 at once; the running one stays.
    T.write("kinesisd.yaml", HEAD + "  - name: %s\n    shardz: 1\n" % NAMES[0])
    w = reload_waiter(p.pid)
    out, _ = w.communicate(timeout=WAIT)
    T.check_sanitizers(out, "kinesisd --reload")
    T.check(w.returncode == 78, "kinesisd --reload of a refused configuration: exit 78 (got %s)"
            % w.returncode, out)
    T.check(exported_and_active(NAMES + ADDED)[0] == [], "the running configuration's exports stay")

    # Three passes later (start, reloads): still one "is ACTIVE" per stream
    # that became ACTIVE once, two for the one recreated.
    text = read_log()
    counts = {n: active_lines(text, n) for n in NAMES + ADDED}
    T.check(all(c == (2 if n == victim else 1) for n, c in counts.items()),
            "\"is ACTIVE\" once per transition into ACTIVE, over every pass", str(counts))


def killed_while_waiting(h, p):
    T.write("kinesisd.yaml", HEAD + streams_yaml(NAMES + ADDED + [P + "late"]))
    before = len(read_log())
    w = reload_waiter(p.pid)
    deadline = time.monotonic() + WAIT
    while "Reload requested by pid %d" % w.pid not in read_log()[before:]:
        if time.monotonic() > deadline or w.poll() is not None:
            raise Failed("the daemon never took the reload request of pid %d" % w.pid)
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    try:
        out, _ = w.communicate(timeout=WAIT)
        T.check_sanitizers(out, "kinesisd --reload")
    except subprocess.TimeoutExpired:
        w.kill()
        raise Failed("kinesisd --reload hangs after the daemon was killed")
    T.check(w.returncode == 1, "the daemon killed during a reload: the waiter exits 1 (got %s)"
            % w.returncode, out)
    T.check("exited before its reload was done" in out, "and says why", out)
    wait_exit(p, WAIT)
    T.check_sanitizers(read_log(), "daemon")


def restart_keeps_exports():
    """A new process that creates streams keeps what the last one exported
    in streams.env all along, and adds the new ARNs when they are ACTIVE."""
    before = env_now()
    T.require(len(before) >= N + len(ADDED), "streams.env holds the exports of the killed daemon",
              str(sorted(before)))
    new = [P + "r0", P + "r1"]
    T.write("kinesisd.yaml", HEAD + streams_yaml(NAMES + ADDED + [P + "late"] + new))
    h = NotifySocket(T.path("notify-restart.sock"), lambda: exported_and_active(new))
    p = T.spawn("-c", cfg, "--state-dir", state, "--log-level", "debug", env={"NOTIFY_SOCKET": h.path},
                stderr_path=T.path("daemon-restart.log"))
    dropped = set()
    try:
        deadline = time.monotonic() + WAIT
        while not any(kv.get("READY") == "1" for _, kv, _ in list(h.msgs)):
            if time.monotonic() > deadline:
                raise Failed("no READY=1 after the restart")
            now = env_now()
            dropped |= {k for k, v in before.items() if now.get(k) != v}
            time.sleep(0.02)
        T.check(not dropped, "a restart that creates streams never drops an exported ARN meanwhile",
                str(sorted(dropped)))
        T.check(h.ready_checks[:1] == [([], [])], "after the restart the new streams are ACTIVE and exported",
                str(h.ready_checks[:1]))
        T.terminate(p, T.path("daemon-restart.log"))
    finally:
        kill(p)
        h.close()


def test_journal_fields():
    if not NAMESPACE:
        print("SKIP: no private mount namespace: the journal records were not looked at", flush=True)
        return
    j = JournalCapture(T.work)
    name = P + "j"
    try:
        if not j.usable():
            print("SKIP: cannot stand in for the journal socket", flush=True)
            return
        c = T.write("journal.yaml", HEAD + "  - name: %s\n    shards: 1\n    retention_hours: 48\n"
                                             "    consumers: [c1]\n" % name)
        errpath = T.path("journal-stderr.log")
        with open(errpath, "wb") as errf:
            env = T.env({"JOURNAL_STREAM": JournalCapture.stream_env(errpath)})
            rc = subprocess.run([T.kinesisd, "-c", c, "--state-dir", T.path("state-journal"), "--once"],
                                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf,
                                timeout=WAIT).returncode
        T.check(rc == 0, "--once with journal logging: exit 0 (got %d)" % rc)
        time.sleep(0.3)  # the capture's thread reads what is queued
        recs = j.all()
        T.require(len(recs) > 3, "records reached the journal socket (%d)" % len(recs))
        for key in ("CODE_FILE", "CODE_LINE", "CODE_FUNC", "MESSAGE", "PRIORITY"):
            bad = [r for r in recs if sum(1 for k, _ in r if k == key) != 1]
            T.check(bad == [], "every record has exactly one %s" % key, str(bad[:2]))
        files = {v for r in recs for k, v in r if k == "CODE_FILE"}
        T.check(not any(f.endswith("log.c") for f in files), "CODE_FILE is the caller's, not log.c",
                str(sorted(files)))
        active = [r for r in recs if ("MESSAGE_ID", MESSAGE_ACTIVE) in r and ("STREAM", name) in r]
        T.check(len(active) == 1, "one ACTIVE record for a stream created with a consumer (%d)" % len(active),
                str(active))
        with open(errpath, errors="replace") as f:
            T.check_sanitizers(f.read(), "kinesisd --once")
    finally:
        j.close()
        # The shared mock's shards are every test's: this stream goes now
        # (run()'s cleanup looks at the private mock started next).
        if T.exists(name):
            T.mock_call("DeleteStream", {"StreamName": name, "EnforceConsumerDeletion": True})


T.run(test_journal_fields, test_start_and_reload)
