#!/usr/bin/env python3
"""daemon-sts: identities that come from STS, end to end through kinesisd
against kinesis-mock, behind a strict proxy of this test's own that knows
only the keys the fake STS (tests/aws/fake_sts.py) issued: a Kinesis request
signed with any other key (the [default] profile's static keys, say) fails
its check. The fake STS verifies every signed request with botocore and hands
out, for a role in account A, the access key id A: kinesis-mock's namespace.

  - a role via source_profile, a chain of two (external_id,
    role_session_name, duration_seconds), creating a stream in the role's
    account; a source_profile loop is an error that shows the loop
  - credential_source = Environment under an explicitly named profile, its
    first AssumeRole throttled (an XML error) and tried again;
    EcsContainer and Ec2InstanceMetadata with fake_aws.py's endpoints
  - web identity from the environment in a running daemon: the call is
    unsigned and the token file is read again at each refresh
  - web identity from the profile's keys, with the default session name
  - an STS error answer: its code and message, escaped
  - a configured source that cannot be used never falls through to
    [default]'s static keys (source profile without keys, missing token file)
  - "no credentials": the message lists what was tried
  - the STS and Kinesis endpoints from the profile's [services] section
"""
import json
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "aws"))

from daemonlib import Test  # noqa: E402
from kinesisd_test import mock  # noqa: E402
from kinesisd_test.checks import Failed  # noqa: E402
from kinesisd_test.process import stop  # noqa: E402
from kinesisd_test.proxy import Proxy  # noqa: E402

T = Test("sts", "us-east-1")
FAKE_STS = os.path.join(os.path.dirname(HERE), "aws", "fake_sts.py")
# fake_aws.py's container and instance metadata answers give "secret/AKID".
SOURCE = {"AKIASOURCEKEY0001": "source-secret-1", "AKIASOURCEKEY0002": "source-secret-2",
          "AKIACONTAINER0001": "secret/AKIACONTAINER0001", "AKIAINSTANCE00001": "secret/AKIAINSTANCE00001"}
DEFAULT_AKID = "AKIADEFAULTKEY999"
# kinesisd-HOST, cut to 64, what STS refuses replaced by '-'.
DEFAULT_SESSION = "".join(c if c.isascii() and (c.isalnum() or c in "+=,.@_-") else "-"
                          for c in ("kinesisd-" + socket.gethostname())[:64])


def account(n):
    return "%03d%09d" % (n, int(T.account) % 10 ** 9)


def role(n, name="r"):
    return "arn:aws:iam::%s:role/%s" % (account(n), name)


class FakeSts:
    def __init__(self, name, *args):
        self.log = T.path("sts-%s.jsonl" % name)
        self.cmd = [sys.executable, FAKE_STS, "--log", self.log, "--keys-file", KEYS,
                    "--source-keys-json", json.dumps(SOURCE)] + list(args)

    def start(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            raise Failed("fake STS did not start")
        self.url = "http://127.0.0.1:%d" % int(line)
        return self

    def stop(self):
        stop(self.proc, timeout=10)
        self.proc.stdout.close()

    def requests(self, since=0):
        try:
            with open(self.log) as f:
                return [json.loads(l) for l in f if l.strip()][since:]
        except FileNotFoundError:
            return []


KEYS = T.path("sts-keys.json")
DENIED = role(6, "denied")
# Valid XML that must not reach the log as it is: a forged line, a C1
# control, a bidi override.
HOSTILE = "User: x is not authorized\nkinesisd[1]: forged \u0085 \u202e"
STS = FakeSts("main", "--deny-json", json.dumps({DENIED: ["AccessDenied", HOSTILE]}),
              "--throttle-json", json.dumps({role(3): 1}))
SHORT = FakeSts("short", "--lifetime", "24")
PROXY = None


def files(config="", credentials=""):
    """The shared files: [default] always holds static keys the proxy does
    not know, so any fall-through to them shows."""
    creds = "[default]\naws_access_key_id = %s\naws_secret_access_key = default-secret\n" % DEFAULT_AKID
    return {"AWS_CONFIG_FILE": T.write("aws-config", config),
            "AWS_SHARED_CREDENTIALS_FILE": T.write("aws-credentials", creds + credentials)}


def yaml(profile=None, endpoint=True, interval=None):
    text = "aws:\n  region: us-east-1\n"
    if endpoint:
        text += "  endpoint: %s\n" % PROXY.url.rstrip("/")
    if profile:
        text += "  profile: %s\n" % profile
    text += "reconcile:\n  poll: 200ms\n" + ("  interval: %s\n" % interval if interval else "")
    return T.write("kinesisd.yaml", text + "streams:\n  - { name: {prefix}s, shards: 1 }\n")


def env(extra):
    e = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_ENDPOINT_URL_STS": STS.url}
    e.update(extra)
    return e


def plan(cfg, extra, expect):
    """kinesisd --plan; returns its stderr."""
    rc, _, err, secs = T.daemon("-c", cfg, "--state-dir", T.path("state"), "--plan", "--log-level", "debug",
                                env=env(extra), timeout=60)
    T.check(rc == expect, "--plan exits %d (got %d, %.1fs)" % (expect, rc, secs), err[-4000:])
    return err


def check_kinesis_signed_by(acct, what):
    """The proxy logs a request once its answer is sent, which may be after
    kinesisd exited: wait for this account's requests. Each scenario has an
    account of its own; test_only_assumed_keys() checks every request in
    the end."""
    deadline = time.monotonic() + 30
    mine = []
    while not mine and time.monotonic() < deadline:
        mine = [e for e in PROXY.live_entries() if e.get("akid") == acct]
        if not mine:
            time.sleep(0.1)
    T.check(mine, "%s: Kinesis requests signed by the assumed credentials of %s reached the proxy"
            % (what, acct))
    bad = [(e.get("akid"), e.get("sig_error")) for e in mine if not e.get("sig_ok")]
    T.check(not bad, "%s: they all verify" % what, bad[:5])


def check_no_default(err, what):
    T.check(DEFAULT_AKID not in json.dumps(PROXY.live_entries()), "%s: [default]'s keys never used" % what)
    T.check("default-secret" not in err and "source-secret" not in err and "sts-secret" not in err
            and "sts-token" not in err, "%s: no secret in the log" % what)


def test_source_profile_chain():
    f = files("[profile ops]\nrole_arn = %s\nsource_profile = mid\nexternal_id = ext-1\n"
              "role_session_name = sess-ops\nduration_seconds = 1800\n"
              "[profile mid]\nrole_arn = %s\nsource_profile = src\n" % (role(1, "ops"), role(0, "mid")),
              "[src]\naws_access_key_id = AKIASOURCEKEY0001\naws_secret_access_key = source-secret-1\n")
    n0 = len(STS.requests())
    cfg = yaml("ops")
    rc, _, err, _ = T.daemon("-c", cfg, "--state-dir", T.path("state"), "--once", "--log-level", "debug",
                             env=env(f), timeout=60)
    T.check(rc == 0, "--once through a chain of two roles exits 0", err[-4000:])
    reqs = STS.requests(n0)
    T.check(len(reqs) == 2, "two AssumeRole calls", reqs)
    if len(reqs) == 2:
        mid, ops = reqs
        T.check(mid["action"] == "AssumeRole" and mid["RoleArn"] == role(0, "mid") and mid["sig_ok"]
                and mid["akid"] == "AKIASOURCEKEY0001" and mid["service"] == "sts"
                and mid["region"] == "us-east-1" and not mid["token"],
                "the first role is assumed with the source profile's keys", mid)
        T.check(mid["RoleSessionName"] == DEFAULT_SESSION,
                "the default session name names kinesisd and the host", mid)
        T.check(ops["RoleArn"] == role(1, "ops") and ops["sig_ok"] and ops["akid"] == account(0)
                and ops["token"], "the second role is assumed with the first one's credentials", ops)
        T.check(ops.get("ExternalId") == "ext-1" and ops.get("RoleSessionName") == "sess-ops"
                and ops.get("DurationSeconds") == "1800", "external_id, role_session_name, duration_seconds",
                ops)
        T.check(mid["content_type"].startswith("application/x-www-form-urlencoded"), "form-encoded", mid)
    check_kinesis_signed_by(account(1), "source_profile chain")
    T.check(mock.summary(T.port, T.prefix + "s", account=account(1), region="us-east-1") is not None,
            "the stream exists in the role's account")
    T.check(mock.summary(T.port, T.prefix + "s", account=T.account, region="us-east-1") is None,
            "and not in the test's own")
    T.check("Using credentials from role %s" % role(1, "ops") in err, "the log says which role", err[-3000:])
    check_no_default(err, "source_profile chain")
    delete_stream(account(1))


def delete_stream(acct):
    try:
        mock.call(T.port, "DeleteStream", {"StreamName": T.prefix + "s"}, account=acct, region="us-east-1")
    except mock.MockError:
        pass


def test_source_profile_loop():
    f = files("[profile ops]\nrole_arn = %s\nsource_profile = b\n"
              "[profile b]\nrole_arn = %s\nsource_profile = ops\n" % (role(1), role(2)))
    n0 = len(STS.requests())
    err = plan(yaml("ops"), f, 1)
    T.check('source_profile "ops" makes a loop: ops -> b -> ops' in err, "the loop is shown", err[-3000:])
    T.check(any(l.startswith("kinesisd: Cannot list the streams of us-east-1: ListStreams: role ")
                and l.endswith("makes a loop: ops -> b -> ops") for l in err.splitlines()),
            "the failed call says why, not a bare errno", err[-3000:])
    T.check(len(STS.requests(n0)) == 0, "no STS call")
    check_no_default(err, "loop")


def test_credential_source_environment():
    f = files("[profile envrole]\nrole_arn = %s\ncredential_source = Environment\n" % role(3))
    f.update(AWS_ACCESS_KEY_ID="AKIASOURCEKEY0002", AWS_SECRET_ACCESS_KEY="source-secret-2")
    n0 = len(STS.requests())
    err = plan(yaml("envrole"), f, 2)
    reqs = STS.requests(n0)
    T.check(len(reqs) == 2 and all(r["akid"] == "AKIASOURCEKEY0002" and r["sig_ok"] for r in reqs),
            "AssumeRole signed with the environment's keys", reqs)
    T.check([r.get("error") for r in reqs] == ["Throttling", None], "a throttled AssumeRole is tried again",
            reqs)
    check_kinesis_signed_by(account(3), "credential_source Environment")


def metadata_server(mode, akid):
    """fake_aws.py in container or imds mode: (process, URL)."""
    p = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(HERE), "aws", "fake_aws.py"), "--mode",
                          mode, "--log", T.path("fake-%s.jsonl" % mode), "--akid", akid],
                         stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    if not line.strip().isdigit():
        stop(p, timeout=10)
        raise Failed("fake %s server did not start" % mode)
    return p, "http://127.0.0.1:%d" % int(line)


def test_credential_source_container_and_instance():
    for mode, source, akid, n, var in (
            ("container", "EcsContainer", "AKIACONTAINER0001", 10, "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
            ("imds", "Ec2InstanceMetadata", "AKIAINSTANCE00001", 11, "AWS_EC2_METADATA_SERVICE_ENDPOINT")):
        proc, url = metadata_server(mode, akid)
        try:
            f = files("[profile m]\nrole_arn = %s\ncredential_source = %s\n" % (role(n), source))
            f[var] = url + ("/creds" if mode == "container" else "")
            if mode == "imds":
                f["AWS_EC2_METADATA_DISABLED"] = None
            n0 = len(STS.requests())
            err = plan(yaml("m"), f, 2)
        finally:
            stop(proc, timeout=10)
            proc.stdout.close()
        reqs = STS.requests(n0)
        T.check(len(reqs) == 1 and reqs[0]["akid"] == akid and reqs[0]["sig_ok"] and reqs[0]["token"],
                "credential_source %s: AssumeRole signed with those credentials" % source, reqs)
        check_kinesis_signed_by(account(n), "credential_source " + source)
        check_no_default(err, "credential_source " + source)


def test_web_identity_env_refresh():
    token = T.path("token")
    with open(token, "w") as fh:
        fh.write("tok-1\n")
    f = files()
    f.update(AWS_WEB_IDENTITY_TOKEN_FILE=token, AWS_ROLE_ARN=role(4), AWS_ROLE_SESSION_NAME="web-sess",
             AWS_ENDPOINT_URL_STS=SHORT.url)
    log = T.path("daemon-web.log")
    # Passes every second: the daemon keeps wanting credentials.
    p = T.spawn("-c", yaml(interval="1s"), "--state-dir", T.path("state-web"), "--log-level", "debug", env=env(f),
                stderr_path=log)
    try:
        deadline = time.monotonic() + 60
        while not SHORT.requests() and time.monotonic() < deadline:
            time.sleep(0.1)
        first = SHORT.requests()
        T.require(first, "the daemon calls AssumeRoleWithWebIdentity")
        T.check(first[0]["action"] == "AssumeRoleWithWebIdentity" and not first[0]["signed"]
                and first[0]["WebIdentityToken"] == "tok-1" and first[0]["RoleArn"] == role(4)
                and first[0]["RoleSessionName"] == "web-sess", "unsigned, with the token and the role", first[0])
        with open(token + ".tmp", "w") as fh:
            fh.write("tok-2")
        os.rename(token + ".tmp", token)
        # The credentials last 24 s: refreshed half-way.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            later = [r for r in SHORT.requests() if r.get("WebIdentityToken") == "tok-2"]
            if later:
                break
            time.sleep(0.2)
        T.check(later and not later[0]["signed"], "the refresh reads the token file again",
                SHORT.requests())
        # Kinesis calls after the refresh use the new credentials too.
        deadline = time.monotonic() + 30
        n = len(PROXY.live_entries())
        while len(PROXY.live_entries()) <= n and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        T.terminate(p, log)
    with open(log, errors="replace") as fh:
        err = fh.read()
    check_kinesis_signed_by(account(4), "web identity")
    check_no_default(err, "web identity")
    T.check("tok-1" not in err and "tok-2" not in err, "the token is never logged")
    delete_stream(account(4))


def test_web_identity_profile():
    token = T.path("token-profile")
    with open(token, "w") as fh:
        fh.write("tok-profile")
    f = files("[profile wi]\nweb_identity_token_file = %s\nrole_arn = %s\n" % (token, role(5)))
    n0 = len(STS.requests())
    err = plan(yaml("wi"), f, 2)
    reqs = STS.requests(n0)
    T.check(len(reqs) == 1 and reqs[0]["action"] == "AssumeRoleWithWebIdentity" and not reqs[0]["signed"]
            and reqs[0]["WebIdentityToken"] == "tok-profile"
            and reqs[0]["RoleSessionName"].startswith("kinesisd-"), "web identity from the profile's keys", reqs)
    check_kinesis_signed_by(account(5), "web identity profile")

    # From the environment alone: no shared file at all.
    n0 = len(STS.requests())
    err = plan(yaml(), {"AWS_CONFIG_FILE": T.path("none-config"), "AWS_SHARED_CREDENTIALS_FILE": T.path("none"),
                        "AWS_WEB_IDENTITY_TOKEN_FILE": token, "AWS_ROLE_ARN": role(5)}, 2)
    reqs = STS.requests(n0)
    T.check(len(reqs) == 1 and reqs[0]["WebIdentityToken"] == "tok-profile"
            and reqs[0]["RoleSessionName"] == DEFAULT_SESSION, "web identity without any shared file", reqs)
    check_kinesis_signed_by(account(5), "web identity without files")


def test_sts_error():
    f = files("[profile d]\nrole_arn = %s\nsource_profile = src\n" % DENIED,
              "[src]\naws_access_key_id = AKIASOURCEKEY0001\naws_secret_access_key = source-secret-1\n")
    err = plan(yaml("d"), f, 1)
    said = "AccessDenied: User: x is not authorized\\x0akinesisd[1]: forged \\x85 \\u202e (HTTP 403)"
    T.check("AssumeRole role %s" % DENIED in err and said in err,
            "the STS error code and message are said", err[-3000:])
    T.check("\nkinesisd[1]: forged" not in err and "\u0085" not in err and "\u202e" not in err,
            "the message is escaped", err[-3000:])
    check_no_default(err, "STS error")

    # An STS endpoint the URL policy refuses is refused before any traffic.
    f["AWS_ENDPOINT_URL_STS"] = "http://192.0.2.1:9"
    err = plan(yaml("d"), f, 1)
    T.check("no usable STS endpoint (plain http:// is allowed only to loopback hosts, from "
            "$AWS_ENDPOINT_URL_STS)" in err, "a refused STS endpoint names its variable", err[-3000:])
    check_no_default(err, "refused STS endpoint")


def test_broken_source_no_fall_through():
    f = files("[profile broken]\nrole_arn = %s\nsource_profile = empty\n[profile empty]\nregion = us-east-1\n"
              % role(7))
    n0 = len(STS.requests())
    err = plan(yaml("broken"), f, 1)
    T.check('profile "empty" in %s holds no credentials' % T.path("aws-config") in err,
            "the empty source profile is named with its file", err[-3000:])
    T.check(len(STS.requests(n0)) == 0, "no STS call")
    check_no_default(err, "source profile without keys")

    f = files()
    f.update(AWS_WEB_IDENTITY_TOKEN_FILE=T.path("no-such-token"), AWS_ROLE_ARN=role(7))
    err = plan(yaml(), f, 1)
    T.check("cannot read the web identity token file %s" % T.path("no-such-token") in err
            and "$AWS_WEB_IDENTITY_TOKEN_FILE" in err, "a missing token file is named with its variable",
            err[-3000:])
    check_no_default(err, "missing token file")

    f = files("[profile half]\nrole_arn = %s\n" % role(7))
    err = plan(yaml("half"), f, 1)
    T.check('profile "half" in %s: role_arn needs source_profile or credential_source' % T.path("aws-config")
            in err, "role_arn alone is an error naming the profile, file and key", err[-3000:])
    check_no_default(err, "role_arn alone")

    cfg = T.path("aws-config")
    for body, want in (
            ("credential_source = Bogus\x1b[2J", 'profile "bad" in %s: credential_source "Bogus\\x1b[2J" is not '
             "Environment, Ec2InstanceMetadata or EcsContainer" % cfg),
            ("source_profile = src\nduration_seconds = 60", 'profile "bad" in %s: duration_seconds "60" is not a '
             "number of seconds from 900 to 43200" % cfg),
            ("source_profile = src\ncredential_source = Environment", 'profile "bad" in %s: role_arn needs '
             "source_profile or credential_source, not both" % cfg)):
        f = files("[profile bad]\nrole_arn = %s\n%s\n" % (role(7), body),
                  "[src]\naws_access_key_id = AKIASOURCEKEY0001\naws_secret_access_key = source-secret-1\n")
        err = plan(yaml("bad"), f, 1)
        T.check(want in err, "a role setting that cannot be used names profile, file and key", err[-3000:])
        check_no_default(err, body.splitlines()[-1])


def test_no_credentials_message():
    e = {"AWS_CONFIG_FILE": T.path("none-config"), "AWS_SHARED_CREDENTIALS_FILE": T.path("none-creds")}
    err = plan(yaml(), e, 1)
    want = ('no credentials: environment (none), profile "default" (not in %s or %s), container '
            '(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set), IMDS (disabled by '
            'AWS_EC2_METADATA_DISABLED)' % (T.path("none-creds"), T.path("none-config")))
    T.check(want in err, "the message lists what was tried", err[-3000:])
    T.check("Required key not available" not in err, "no bare errno", err[-3000:])

    # A failing credential_process: the failed call says what failed.
    f = files("[profile proc]\ncredential_process = sh -c 'echo broken >&2; exit 3'\n")
    err = plan(yaml("proc"), f, 1)
    said = ('kinesisd: Cannot list the streams of us-east-1: ListStreams: credential_process of profile proc '
            'failed (exit status 3); it said: "broken"')
    T.check(any(l.startswith(said) for l in err.splitlines()),
            "a failing credential_process is said by the call it failed", err[-3000:])
    T.check("Input/output error" not in err, "no bare errno", err[-3000:])
    check_no_default(err, "failing credential_process")


def test_services_section_endpoints():
    f = files("[profile svc]\nrole_arn = %s\nsource_profile = src\nservices = local\n"
              "[services local]\nsts =\n  endpoint_url = %s\nkinesis =\n  endpoint_url = %s\n"
              % (role(8), STS.url, PROXY.url.rstrip("/")),
              "[src]\naws_access_key_id = AKIASOURCEKEY0001\naws_secret_access_key = source-secret-1\n")
    f["AWS_ENDPOINT_URL_STS"] = None
    n0 = len(STS.requests())
    err = plan(yaml("svc", endpoint=False), f, 2)
    T.check(len(STS.requests(n0)) == 1, "STS reached through the services section", err[-3000:])
    check_kinesis_signed_by(account(8), "services section")


def test_role_provider_api():
    """creds_provider_new_role() (a stream's role_arn) through kinesis-call:
    the role is assumed with the chain's credentials."""
    n0 = len(STS.requests())
    e = T.env(env({"AWS_ACCESS_KEY_ID": "AKIASOURCEKEY0001", "AWS_SECRET_ACCESS_KEY": "source-secret-1",
                   "AWS_ENDPOINT_URL_STS": None}))
    rc, out, err, _ = mock.kinesis_call(T.kc_path, ["--endpoint", PROXY.url.rstrip("/"), "--region", "us-east-1",
                                                    "--role-arn", role(9), "--external-id", "e9",
                                                    "--sts-endpoint", STS.url, "ListStreams", "{}"], e, timeout=60)
    T.check(rc == 0, "ListStreams with an assumed role succeeds", err[-3000:])
    reqs = STS.requests(n0)
    T.check(len(reqs) == 1 and reqs[0]["akid"] == "AKIASOURCEKEY0001" and reqs[0]["sig_ok"]
            and reqs[0].get("ExternalId") == "e9" and reqs[0]["RoleSessionName"] == DEFAULT_SESSION,
            "AssumeRole signed by the source, with the external id", reqs)
    check_kinesis_signed_by(account(9), "role provider")


def test_only_assumed_keys():
    """Every Kinesis request the proxy saw was signed, verifiably, with a key
    the fake STS issued: never [default]'s or a source's."""
    with open(KEYS) as f:
        issued = set(json.load(f)["keys"])
    entries = PROXY.entries()  # stops the proxy: every line is written
    T.check(entries, "the proxy saw requests")
    bad = [(e.get("akid"), e.get("sig_error")) for e in entries
           if not e.get("sig_ok") or e.get("akid") not in issued]
    T.check(not bad, "every Kinesis request signed with issued credentials", bad[:10])


def main():
    global PROXY
    STS.start()
    SHORT.start()
    try:
        with Proxy(T.work, T.port, keys_file=KEYS, max_seconds=600) as PROXY:
            T.run(test_source_profile_chain, test_source_profile_loop, test_credential_source_environment,
                  test_web_identity_profile, test_sts_error, test_broken_source_no_fall_through,
                  test_no_credentials_message, test_services_section_endpoints,
                  test_role_provider_api, test_credential_source_container_and_instance,
                  test_web_identity_env_refresh, test_only_assumed_keys)
    finally:
        STS.stop()
        SHORT.stop()


if __name__ == "__main__":
    main()
