#!/usr/bin/env python3
"""daemon-accounts: one configuration over two accounts (DESIGN §3 role_arn,
issue 14 item 6). The daemon's own identity assumes a role in account A and
one in account B (with an external ID) from the project's fake STS, which
hands out the 12-digit account as the access key id: kinesis-mock keeps one
namespace per such key, and a strict proxy of this test's own verifies every
Kinesis request with the secrets and session tokens the fake STS issued.

One stream name is declared in both accounts, and a second name in A only:
  - --plan before anything exists: ACCOUNT/NAME in the name column, exit 2;
  - --once creates each stream in its own account's namespace (listed with
    that account's key; nothing in the daemon's own);
  - each role is assumed once, signed by the daemon's own key, with the
    external ID where declared;
  - every Kinesis request is signed with an assumed key and its token, and
    each account's requests carry their own region scope;
  - streams.env names the account for the name both accounts declare
    (KINESIS_STREAM_<ACCOUNT>_<NAME>_ARN), not for the other; the .arn files
    are streams/<ACCOUNT>-<REGION>/<NAME>.arn and streams/<REGION>/<NAME>.arn;
    streams.json and metrics.prom say each stream's account;
  - --plan afterwards: every line "=" and exit 0;
  - scaling the name in A only: --plan shows the change for A and B in
    sync, --once scales A's stream alone and books the call in budgets.json
    under A's stream (the key ACCOUNT-REGION) alone;
  - a running daemon reloaded with one more stream in B creates it there;
  - 5 new streams in each account on a mock whose creations take 4 s: none
    waits for a CREATING slot, as each account has its 5
    (test_creating_slots_per_account)."""
import json
import os
import random
import signal
import subprocess
import sys
import time

from daemonlib import Test
from kinesisd_test import mock
from kinesisd_test.checks import Failed
from kinesisd_test.environment import FAKE_SECRET_KEY
from kinesisd_test.process import stop, wait_for
from kinesisd_test.proxy import Proxy
from kinesisd_test.state import env_name, read_state

T = Test("accounts", "us-east-2")
P = T.prefix
R = T.region
FAKE_STS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "aws", "fake_sts.py")

# Two accounts of this run, apart from the daemon's own (T.account).
_rng = random.Random("%s %d %f accounts" % (P, os.getpid(), time.time()))
A, B = ("%012d" % _rng.randrange(10 ** 11, 10 ** 12) for _ in range(2))
ROLE_A = "arn:aws:iam::%s:role/kinesisd" % A
ROLE_B = "arn:aws:iam::%s:role/platform/kinesisd-b" % B
EXTERNAL_ID_B = "team-b:2026"
SHARED, ONLY_A = P + "orders", P + "audit"

CONFIG = """aws:
  region: {region}
  endpoint: %s
reconcile:
  poll: 100ms
defaults:
  shards: 1
streams:
  - name: {shared}
    role_arn: %s
  - name: {only_a}
    role_arn: %s
  - name: {shared}
    role_arn: %s
    external_id: %s
"""


class FakeSts:
    def __init__(self):
        self.log = T.path("sts.jsonl")
        self.keys = T.path("sts-keys.json")
        self.proc = subprocess.Popen(
            [sys.executable, FAKE_STS, "--log", self.log, "--keys-file", self.keys,
             "--source-keys-json", json.dumps({T.account: FAKE_SECRET_KEY})],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=open(T.path("sts.stderr"), "w"), text=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            stop(self.proc)
            raise Failed("fake STS did not start: %r" % line)
        self.url = "http://127.0.0.1:%d" % int(line)

    def entries(self):
        try:
            with open(self.log) as f:
                return [json.loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            return []

    def stop(self):
        stop(self.proc)


def names_in(account):
    """The streams account holds, asked with its own key."""
    return set(mock.call(T.port, "ListStreams", {"Limit": 1000}, account, R).get("StreamNames", []))


def cleanup_accounts():
    for account in (A, B):
        try:
            for n in names_in(account):
                mock.call(T.port, "DeleteStream", {"StreamName": n}, account, R)
        except Exception as e:  # noqa: BLE001 - best effort, as Test.cleanup
            print("cleanup of %s: %s" % (account, e))


def plan(cfg, state, env):
    rc, out, err, _ = T.daemon("-c", cfg, "--state-dir", state, "--plan", env=env, timeout=60)
    return rc, out, err


def test_two_accounts():
    sts = FakeSts()
    try:
        with Proxy(T.work, T.port, keys_file=sts.keys) as proxy:
            run(sts, proxy)
            entries = proxy.entries()
            summary = proxy.summary()
    finally:
        sts.stop()
    T.check(summary["mismatches"] == 0, "every Kinesis request verified with the issued keys", summary)
    akids = {e.get("akid") for e in entries}
    T.check(akids == {A, B}, "Kinesis requests signed by the two roles' keys only", akids)
    streams_of = {A: set(), B: set()}
    for e in entries:
        if e.get("akid") in streams_of and e.get("stream"):
            streams_of[e["akid"]].add(e["stream"])
    T.check(streams_of[A] == {SHARED, ONLY_A} and streams_of[B] == {SHARED, P + "late"},
            "each account's calls name its own streams", streams_of)

    calls = [e for e in sts.entries() if e.get("action") == "AssumeRole"]
    by_role = {}
    for c in calls:
        by_role.setdefault(c.get("RoleArn"), []).append(c)
    T.check(set(by_role) == {ROLE_A, ROLE_B}, "both roles assumed", sorted(by_role))
    for role, cs in by_role.items():
        T.check(all(c.get("sig_ok") and c.get("akid") == T.account and c.get("service") == "sts" for c in cs),
                "%s: AssumeRole signed by the daemon's own key for sts" % role, cs)
    T.check(all("ExternalId" not in c for c in by_role.get(ROLE_A, [])), "no external ID for A")
    T.check(all(c.get("ExternalId") == EXTERNAL_ID_B for c in by_role.get(ROLE_B, [])),
            "B's external ID sent", by_role.get(ROLE_B))


def run(sts, proxy):
    cfg = T.write("kinesisd.yaml", (CONFIG % (proxy.url.rstrip("/"), ROLE_A, ROLE_A, ROLE_B, EXTERNAL_ID_B))
                  .replace("{shared}", SHARED).replace("{only_a}", ONLY_A))
    state = T.path("state")
    env = {"AWS_ENDPOINT_URL_STS": sts.url}

    rc, out, err = plan(cfg, state, env)
    lines = out.splitlines()
    T.check(rc == 2, "--plan before creation exits 2", out + err[-3000:])
    for label in ("%s/%s" % (A, SHARED), "%s/%s" % (A, ONLY_A), "%s/%s" % (B, SHARED)):
        T.check(any(l.startswith("+ " + label + " ") for l in lines), "--plan: + %s" % label, out)
    T.check(len(lines) == 3, "--plan: one line per declaration", out)
    T.check(not os.path.exists(state), "--plan writes no state")

    rc, out, err, secs = T.daemon("-c", cfg, "--state-dir", state, "--once", "--log-level", "debug", env=env,
                                  timeout=120)
    T.require(rc == 0, "--once over both accounts: exit 0 (%.1fs)" % secs, err[-6000:])
    T.check(names_in(A) == {SHARED, ONLY_A}, "account A holds its two streams", names_in(A))
    T.check(names_in(B) == {SHARED}, "account B holds its one stream", names_in(B))
    T.check(not names_in(T.account) & {SHARED, ONLY_A}, "nothing in the daemon's own account")

    st = read_state(state)
    arn = lambda account, name: "arn:aws:kinesis:%s:%s:stream/%s" % (R, account, name)
    want_env = {
        env_name(SHARED, R, R, account=A): arn(A, SHARED),
        env_name(SHARED, R, R, account=B): arn(B, SHARED),
        env_name(ONLY_A, R, R): arn(A, ONLY_A),
    }
    T.check(st["env"] == want_env, "streams.env: account-qualified where the name is in two accounts",
            json.dumps(st["env"], indent=1))
    want_arn = {("%s-%s" % (A, R), SHARED): arn(A, SHARED), ("%s-%s" % (B, R), SHARED): arn(B, SHARED),
                (R, ONLY_A): arn(A, ONLY_A)}
    T.check(st["arn"] == want_arn, ".arn files under streams/ACCOUNT-REGION/ and streams/REGION/", st["arn"])
    got = sorted((s["name"], s["account"], s["status"]) for s in st["json"]["streams"])
    T.check(got == sorted([(SHARED, A, "ACTIVE"), (SHARED, B, "ACTIVE"), (ONLY_A, A, "ACTIVE")]),
            "streams.json: the account of each stream", got)
    key = 'kinesisd_stream_active{account="%s",region="%s",stream="%s"}'
    T.check(st["prom"].get(key % (A, R, SHARED)) == 1 and st["prom"].get(key % (B, R, SHARED)) == 1,
            "metrics.prom: one series per account", sorted(k for k in st["prom"] if "stream_active" in k))

    rc, out, err = plan(cfg, state, env)
    T.check(rc == 0 and all(l.startswith("= ") for l in out.splitlines()) and len(out.splitlines()) == 3,
            "--plan afterwards: in sync in both accounts", out + err[-3000:])

    # Scale the name in A only: B's stream of that name is left alone, and
    # the shard count budget is booked to A's stream alone.
    text = open(cfg).read().replace("  - name: %s\n    role_arn: %s\n" % (SHARED, ROLE_A),
                                    "  - name: %s\n    role_arn: %s\n    shards: 2\n" % (SHARED, ROLE_A))
    T.write("kinesisd.yaml", text)
    rc, out, err = plan(cfg, state, env)
    lines = out.splitlines()
    T.check(rc == 2 and any(l.startswith("~ %s/%s " % (A, SHARED)) and "shards 1 -> 2" in l for l in lines)
            and any(l.startswith("= %s/%s " % (B, SHARED)) for l in lines),
            "--plan: the change in A, B in sync", out + err[-3000:])
    rc, out, err, secs = T.daemon("-c", cfg, "--state-dir", state, "--once", env=env, timeout=120)
    T.require(rc == 0, "--once scaling A's stream: exit 0", err[-6000:])
    shards = lambda account: mock.summary(T.port, SHARED, account=account, region=R)["OpenShardCount"]
    T.check((shards(A), shards(B)) == (2, 1), "A's stream scaled, B's not", (shards(A), shards(B)))
    with open(os.path.join(state, "budgets.json")) as f:
        book = json.load(f)["streams"]
    counted = [(e["region"], e["name"]) for e in book if e.get("update_shard_count")]
    T.check(counted == [("%s-%s" % (A, R), SHARED)], "budgets.json: the scaling counted for A's stream only",
            book)

    # A running daemon reloads into a configuration with one more stream in
    # B: the roles are assumed anew, the old ones let go after the clients
    # that used them, and the new stream is created in B.
    log = T.path("daemon.log")
    p = T.spawn("-c", cfg, "--state-dir", state, "--log-level", "debug", env=env, stderr_path=log)
    try:
        T.write("kinesisd.yaml", text + "  - name: %s\n    role_arn: %s\n    external_id: %s\n"
                % (P + "late", ROLE_B, EXTERNAL_ID_B))
        # SIGHUP only once the daemon handles it (its first pass started).
        T.require(wait_for(lambda: "Pass started" in open(log).read(), 60), "the daemon started its pass")
        p.send_signal(signal.SIGHUP)
        exported = wait_for(lambda: env_name(P + "late", R, R) in (read_state(state)["env"] or {}), 60)
        T.check(exported, "after a reload: the new stream of B exported", open(log).read()[-4000:])
        T.check(names_in(B) == {SHARED, P + "late"}, "after a reload: created in B", names_in(B))
        T.check("kinesisd: %s/%s/%s: " % (B, R, P + "late") in open(log).read(),
                "log lines of a role's stream lead with ACCOUNT/REGION/STREAM")
    finally:
        T.terminate(p, log)


def test_creating_slots_per_account():
    """Five new streams in each of two accounts, on a mock of our own whose
    creations take 4 s: each account has its own 5 CREATING slots, so no
    CreateStream waits for a slot (with one set of 5 for both accounts, five
    of the ten would wait about 4 s for the first five), and the test's
    strict proxy, which refuses a sixth CREATING stream in an account, lets
    every one through."""
    cleanup_accounts()  # the shared mock's streams, before the test moves off it
    T.private_mock(duration="4000ms")
    sts = FakeSts()
    try:
        with Proxy(T.work, T.port, keys_file=sts.keys) as proxy:
            decl = "".join("  - name: %sc%d\n    role_arn: %s\n" % (P, i, ROLE_A) for i in range(5))
            decl += "".join("  - name: %sc%d\n    role_arn: %s\n    external_id: %s\n"
                            % (P, i, ROLE_B, EXTERNAL_ID_B) for i in range(5))
            cfg = T.write("slots.yaml", "aws:\n  region: {region}\n  endpoint: %s\n"
                          "reconcile:\n  poll: 200ms\ndefaults:\n  shards: 1\nstreams:\n%s"
                          % (proxy.url.rstrip("/"), decl))
            rc, out, err, secs = T.daemon("-c", cfg, "--state-dir", T.path("state-slots"), "--once",
                                          "--log-level", "debug", env={"AWS_ENDPOINT_URL_STS": sts.url},
                                          timeout=120)
            T.require(rc == 0, "--once over 10 new streams in two accounts: exit 0", err[-6000:])
            creates = [e for e in proxy.entries() if e.get("op") == "CreateStream"]
            T.check(proxy.summary()["mismatches"] == 0, "every request verified")
    finally:
        sts.stop()
    waits = [l for l in err.splitlines() if "CreateStream waits for a slot" in l]
    T.check(not waits, "no CreateStream waited for a slot: 5 per account", "\n".join(waits))
    T.check(sorted(e.get("akid") for e in creates) == sorted([A] * 5 + [B] * 5),
            "5 CreateStream calls in each account", [(e.get("akid"), e.get("stream")) for e in creates])
    want = {"%sc%d" % (P, i) for i in range(5)}
    T.check(names_in(A) == want and names_in(B) == want, "five streams in each account")


try:
    T.run(test_two_accounts, test_creating_slots_per_account)
finally:
    if not T.mocks:  # still on the shared mock: its streams of A and B go
        cleanup_accounts()
