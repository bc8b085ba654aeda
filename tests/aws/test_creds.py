#!/usr/bin/env python3
"""The credential provider chain, through kinesis-call against a fake Kinesis
endpoint on 127.0.0.1 that records which access key signed each request.

  test_creds.py KINESIS_CALL

Container and instance-metadata providers are pointed at fake loopback
servers; nothing reaches 169.254.x or any other address."""
import os
import stat
import sys
import time

from awstest import FakeServer, Suite

S = Suite("aws-credentials", sys.argv[1])
PY = sys.executable

PROC = r'''
import datetime, json, os, sys, time
counter, lifetime, status = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
n = (int(open(counter).read()) if os.path.exists(counter) else 0) + 1
open(counter, "w").write(str(n))
if status:
    print("no credentials for you", file=sys.stderr)
    sys.exit(status)
doc = {"Version": 1, "AccessKeyId": "AKIDPROC%d" % n, "SecretAccessKey": "secret%d" % n,
       "SessionToken": "token%d" % n}
if lifetime:
    t = datetime.datetime.fromtimestamp(time.time() + lifetime, datetime.timezone.utc)
    doc["Expiration"] = t.strftime("%Y-%m-%dT%H:%M:%SZ")
print(json.dumps(doc))
'''


def write(name, text, mode=0o600):
    p = S.path(name)
    with open(p, "w") as f:
        f.write(text)
    os.chmod(p, mode)
    return p


def proc_command(counter, lifetime=3600, status=0):
    script = write("proc.py", PROC, 0o700)
    return "%s %s %s %d %d" % (PY, script, S.path(counter), lifetime, status)


def kcall(kin, env, *extra, keys=False, op="DescribeStreamSummary", req='{"StreamName":"s"}'):
    return S.call(["--endpoint", kin.url, "--region", "us-east-1"] + list(extra) + [op, req],
                  env=env, keys=keys)


def akids(kin):
    return [r["akid"] for r in kin.requests() if r["method"] == "POST"]


def test_environment():
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s",
                                      "AWS_SESSION_TOKEN": "tok"})
        S.check(rc == 0, "exit 0", err)
        S.check("Using credentials from environment variables." in err, "source logged", err)
        S.check("tok" not in err and "AKIDENV" not in err, "no secret logged", err)
        r = kin.requests()[0]
        S.check(r["akid"] == "AKIDENV" and r["has_token"] and r["service"] == "kinesis", "signed", str(r))
        S.check(r["host"] == "127.0.0.1:%d" % kin.port, "Host header", str(r))


def test_shared_credentials_file():
    creds = write("credentials", "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s\n"
                  "\n# comment\n[ops]\naws_access_key_id=AKIDOPS\naws_secret_access_key = s2 \n"
                  "aws_session_token = t\n")
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, {"AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_PROFILE": "ops",
                                      "AWS_CONFIG_FILE": S.path("none")})
        S.check(rc == 0, "exit 0", err)
        S.check("Using credentials from the shared credentials file, profile ops." in err, "source", err)
        rc, out, err, _ = kcall(kin, {"AWS_SHARED_CREDENTIALS_FILE": creds,
                                      "AWS_CONFIG_FILE": S.path("none")})
        S.check(rc == 0 and "profile default" in err, "default profile", err)
        # The configuration's profile (here --profile) beats AWS_PROFILE.
        rc, out, err, _ = kcall(kin, {"AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_PROFILE": "nope",
                                      "AWS_CONFIG_FILE": S.path("none")}, "--profile", "ops")
        S.check(rc == 0, "--profile wins", err)
        got = akids(kin)
        S.check(got == ["AKIDOPS", "AKIDDEFAULT", "AKIDOPS"], "keys used", str(got))
        S.check(kin.requests()[0]["has_token"], "session token from the file")
    # ~/.aws/credentials when the variable is not set.
    os.makedirs(os.path.join(S.home, ".aws"), exist_ok=True)
    with open(os.path.join(S.home, ".aws", "credentials"), "w") as f:
        f.write("[default]\naws_access_key_id = AKIDHOME\naws_secret_access_key = s\n")
    try:
        with FakeServer(S, "kinesis") as kin:
            rc, out, err, _ = kcall(kin, {})
            S.check(rc == 0 and akids(kin) == ["AKIDHOME"], "~/.aws/credentials", err)
    finally:
        os.unlink(os.path.join(S.home, ".aws", "credentials"))


def test_credentials_directory():
    # systemd's LoadCredential=aws-credentials:... appears as
    # $CREDENTIALS_DIRECTORY/aws-credentials; an explicit
    # AWS_SHARED_CREDENTIALS_FILE still wins.
    d = S.path("credsdir")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "aws-credentials"), "w") as f:
        f.write("[default]\naws_access_key_id = AKIDCREDDIR\naws_secret_access_key = s\n")
    other = write("other-credentials", "[default]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = s\n")
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, {"CREDENTIALS_DIRECTORY": d, "AWS_CONFIG_FILE": S.path("none")})
        S.check(rc == 0, "exit 0 with the credentials directory", err)
        rc, out, err, _ = kcall(kin, {"CREDENTIALS_DIRECTORY": d, "AWS_SHARED_CREDENTIALS_FILE": other,
                                      "AWS_CONFIG_FILE": S.path("none")})
        S.check(rc == 0, "exit 0 with an explicit file", err)
        got = akids(kin)
        S.check(got == ["AKIDCREDDIR", "AKIDOTHER"], "keys used", str(got))


def test_config_file_profile_and_region():
    cfg = write("config", "[default]\nregion = us-west-1\n[profile cfg]\nregion = eu-west-3\n"
                "aws_access_key_id = AKIDCFG\naws_secret_access_key = s\n[cfg]\n"
                "aws_access_key_id = AKIDWRONG\naws_secret_access_key = s\n")
    with FakeServer(S, "kinesis") as kin:
        # No --region, no AWS_REGION: the profile's region signs the request.
        rc, out, err, _ = S.call(["--endpoint", kin.url, "DescribeStreamSummary", '{"StreamName":"s"}'],
                                 env={"AWS_CONFIG_FILE": cfg, "AWS_PROFILE": "cfg",
                                      "AWS_SHARED_CREDENTIALS_FILE": S.path("none")}, keys=False)
        S.check(rc == 0, "exit 0", err)
        S.check("the shared config file, profile cfg" in err, "source", err)
        r = kin.requests()[0]
        S.check(r["akid"] == "AKIDCFG" and r["region"] == "eu-west-3", "[profile cfg] used", str(r))
        # AWS_REGION beats the profile; AWS_DEFAULT_REGION too.
        rc, out, err, _ = S.call(["--endpoint", kin.url, "ListStreams", "{}"],
                                 env={"AWS_CONFIG_FILE": cfg, "AWS_PROFILE": "cfg",
                                      "AWS_DEFAULT_REGION": "ap-south-1",
                                      "AWS_SHARED_CREDENTIALS_FILE": S.path("none")}, keys=False)
        S.check(rc == 0 and kin.requests()[1]["region"] == "ap-south-1", "AWS_DEFAULT_REGION", err)


def test_credential_process():
    cfg = write("config-proc", "[profile proc]\ncredential_process = %s\n" % proc_command("c-proc"))
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, {"AWS_CONFIG_FILE": cfg, "AWS_PROFILE": "proc",
                                      "AWS_SHARED_CREDENTIALS_FILE": S.path("none")})
        S.check(rc == 0, "exit 0", err)
        S.check("Using credentials from credential_process of profile proc." in err, "source", err)
        r = kin.requests()[0]
        S.check(r["akid"] == "AKIDPROC1" and r["has_token"], "process credentials", str(r))


def test_credential_process_failure():
    cfg = write("config-fail", "[profile bad]\ncredential_process = %s\n" % proc_command("c-fail", 0, 3))
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, {"AWS_CONFIG_FILE": cfg, "AWS_PROFILE": "bad",
                                      "AWS_SHARED_CREDENTIALS_FILE": S.path("none")})
        S.check(rc == 2 and "exit status 3" in err, "failure exits 2", err)
        S.check(kin.requests() == [], "nothing sent without credentials")


HOSTILE_PROC = r'''
import sys
sys.stderr.write("x\nkinesisd: forged line\r\x1b]0;pwned\x07\x1b[2J\n")
sys.exit(3)
'''


def test_credential_process_stderr_escaped():
    """What credential_process writes on stderr is quoted in kinesisd's own
    message, escaped: it cannot forge a line or reach the terminal raw."""
    script = write("hostile.py", HOSTILE_PROC, 0o700)
    cfg = write("config-hostile", "[profile h]\ncredential_process = %s %s\n" % (PY, script))
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, {"AWS_CONFIG_FILE": cfg, "AWS_PROFILE": "h",
                                      "AWS_SHARED_CREDENTIALS_FILE": S.path("none")})
        S.check(rc == 2, "failure exits 2", err)
        raw = [l for l in err.splitlines() if any(c < " " and c != "\t" or c == "\x7f" for c in l)]
        S.check(not raw, "no control character on stderr", repr(raw))
        S.check(not [l for l in err.splitlines() if l.startswith("kinesisd: forged")], "no forged line", err)
        S.check('failed (exit status 3); it said: "x\\x0akinesisd: forged line\\x0d\\x1b]0;pwned\\x07'
                '\\x1b[2J".' in err, "its stderr quoted, escaped", err)


BIG_PROC = r'''
import sys
sys.stdout.write("x" * (10 * 1024 * 1024))
'''


def test_credential_process_output_too_big():
    """10 MB on stdout: the child can write it all (its end of the pipe
    blocks as a pipe should) and the answer is refused for its size."""
    script = write("big.py", BIG_PROC, 0o700)
    cfg = write("config-big", "[profile big]\ncredential_process = %s %s\n" % (PY, script))
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, {"AWS_CONFIG_FILE": cfg, "AWS_PROFILE": "big",
                                      "AWS_SHARED_CREDENTIALS_FILE": S.path("none")})
        S.check(rc == 2 and "more than 64 KiB" in err and "exit status" not in err, "too big, said so", err)
        # One that never stops writing is refused as soon as it passed the
        # cap, not read until the process timeout.
        cfg = write("config-endless", "[profile endless]\ncredential_process = yes\n")
        rc, out, err, _ = kcall(kin, {"AWS_CONFIG_FILE": cfg, "AWS_PROFILE": "endless",
                                      "AWS_SHARED_CREDENTIALS_FILE": S.path("none")})
        S.check(rc == 2 and "more than 64 KiB" in err and "did not finish" not in err, "endless, cut", err)
        S.check(kin.requests() == [], "nothing sent")


# Leaves a grandchild holding stdout open, then prints credentials and exits.
GRANDCHILD_PROC = r'''
import json, subprocess, sys
g = subprocess.Popen(["sleep", "300"])  # inherits stdout and stderr
open(sys.argv[1], "w").write(str(g.pid))
print(json.dumps({"Version": 1, "AccessKeyId": "AKIDGRAND", "SecretAccessKey": "s"}), flush=True)
'''


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_credential_process_grandchild():
    """A grandchild that keeps stdout open neither holds kinesisd up to the
    process timeout nor outlives the fetch: the child's process group is
    ended when the child exits."""
    script = write("grandchild.py", GRANDCHILD_PROC, 0o700)
    pidfile = S.path("grandchild.pid")
    cfg = write("config-grand", "[profile g]\ncredential_process = %s %s %s\n" % (PY, script, pidfile))
    gpid = None
    try:
        with FakeServer(S, "kinesis") as kin:
            rc, out, err, _ = kcall(kin, {"AWS_CONFIG_FILE": cfg, "AWS_PROFILE": "g",
                                          "AWS_SHARED_CREDENTIALS_FILE": S.path("none")})
            with open(pidfile) as f:
                gpid = int(f.read())
            S.check(rc == 0 and akids(kin) == ["AKIDGRAND"], "credentials used", err)
            S.check("did not finish" not in err, "no wait for the grandchild's end of stdout", err)
            # kinesis-call has exited; the grandchild must be gone too (the
            # deadline only bounds a hang).
            deadline = time.monotonic() + 30
            while alive(gpid) and time.monotonic() < deadline:
                time.sleep(0.1)
            S.check(not alive(gpid), "the grandchild was ended with the child's process group")
    finally:
        if gpid and alive(gpid):
            os.kill(gpid, 9)


# Leaves a grandchild, then hangs without printing anything.
HANGING_PROC = r'''
import subprocess, sys, time
g = subprocess.Popen(["sleep", "300"])
open(sys.argv[1], "w").write("%d %d" % (g.pid, __import__("os").getpid()))
time.sleep(300)
'''


def test_credential_process_timeout_ends_group():
    """At the process timeout the child and everything it started are
    ended, not the child alone."""
    script = write("hanging.py", HANGING_PROC, 0o700)
    pidfile = S.path("hanging.pids")
    cfg = write("config-hang", "[profile h]\ncredential_process = %s %s %s\n" % (PY, script, pidfile))
    pids = []
    try:
        with FakeServer(S, "kinesis") as kin:
            rc, out, err, _ = kcall(kin, {"AWS_CONFIG_FILE": cfg, "AWS_PROFILE": "h",
                                          "AWS_SHARED_CREDENTIALS_FILE": S.path("none")},
                                    "--process-timeout-s", "2")
            if os.path.exists(pidfile):
                with open(pidfile) as f:
                    pids = [int(x) for x in f.read().split()]
            S.check(rc == 2 and "did not finish within 2 s" in err, "timed out", err)
            S.check(len(pids) == 2, "the child started its grandchild", pids)
            deadline = time.monotonic() + 30
            while any(alive(p) for p in pids) and time.monotonic() < deadline:
                time.sleep(0.1)
            S.check(not any(alive(p) for p in pids), "child and grandchild ended")
    finally:
        for p in pids:
            if alive(p):
                os.kill(p, 9)


def test_missing_profile():
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, {"AWS_PROFILE": "ghost", "AWS_CONFIG_FILE": S.path("none"),
                                      "AWS_SHARED_CREDENTIALS_FILE": S.path("none")})
        S.check(rc == 2 and "profile ghost was not found" in err, "missing named profile", err)


def test_insecure_file_warning():
    creds = write("credentials-open", "[default]\naws_access_key_id = AKIDOPEN\naws_secret_access_key = s\n",
                  0o666)
    os.chmod(creds, 0o666)
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, {"AWS_SHARED_CREDENTIALS_FILE": creds,
                                      "AWS_CONFIG_FILE": S.path("none")})
        S.check(rc == 0 and "group- or world-writable" in err, "warning", err)


def test_dev_null_and_region_file_warning():
    # /dev/null as a shared file means "none": the chain says it found no
    # credentials, instead of failing on a file that is not a regular one.
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, {"AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_CONFIG_FILE": "/dev/null"})
        S.check(rc == 2 and "No AWS credentials found" in err and "bad state" not in err,
                "/dev/null: no credentials, said plainly", err)
        # Credentials from the environment, region from a writable config file:
        # the file still decides something, so it is still warned about.
        cfg = write("config-open", "[default]\nregion = eu-west-1\n", 0o666)
        os.chmod(cfg, 0o666)
        rc, out, err, _ = S.call(["--endpoint", kin.url, "DescribeStreamSummary", '{"StreamName":"s"}'],
                                 env={"AWS_CONFIG_FILE": cfg, "AWS_SHARED_CREDENTIALS_FILE": S.path("none")})
        S.check(rc == 0 and cfg in err and "chooses the region" in err, "region file warning", err)


def test_container_full_uri_token():
    with FakeServer(S, "kinesis") as kin, \
            FakeServer(S, "container", "--akid", "AKIDCONTAINER", "--token", "Bearer abc") as ctr:
        env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": ctr.url + "/creds",
               "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer abc",
               "AWS_CONFIG_FILE": S.path("none"), "AWS_SHARED_CREDENTIALS_FILE": S.path("none")}
        rc, out, err, _ = kcall(kin, env)
        S.check(rc == 0, "exit 0", err)
        S.check("Using credentials from the container credentials endpoint." in err, "source", err)
        r = kin.requests()[0]
        S.check(r["akid"] == "AKIDCONTAINER" and r["has_token"], "container credentials", str(r))
        S.check(ctr.requests()[0]["path"] == "/creds", "path", str(ctr.requests()))
        # The token file wins over the variable and is read on every fetch.
        tok = write("token", "Bearer abc\n")
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "Bearer wrong"
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = tok
        rc, out, err, _ = kcall(kin, env)
        S.check(rc == 0, "token file", err)
        write("token", "Bearer rotated-wrong\n")
        rc, out, err, _ = kcall(kin, env)
        S.check(rc == 2 and "HTTP 403" in err, "a wrong token is refused", err)


def test_container_full_uri_refused():
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://192.0.2.1/creds",
                                      "AWS_CONFIG_FILE": S.path("none"),
                                      "AWS_SHARED_CREDENTIALS_FILE": S.path("none")})
        S.check(rc == 2 and "must be https://" in err, "non-loopback http refused", err)
        S.check(kin.requests() == [], "nothing sent")


def test_imds():
    with FakeServer(S, "kinesis") as kin, FakeServer(S, "imds", "--akid", "AKIDIMDS") as md:
        env = {"AWS_EC2_METADATA_DISABLED": None, "AWS_EC2_METADATA_SERVICE_ENDPOINT": md.url + "/",
               "AWS_CONFIG_FILE": S.path("none"), "AWS_SHARED_CREDENTIALS_FILE": S.path("none")}
        rc, out, err, _ = kcall(kin, env)
        S.check(rc == 0, "exit 0", err)
        S.check("Using credentials from the EC2 instance metadata service." in err, "source", err)
        r = kin.requests()[0]
        S.check(r["akid"] == "AKIDIMDS" and r["has_token"], "IMDS credentials", str(r))
        reqs = [(q["method"], q["path"], q["imds_ttl"], q["imds_token"]) for q in md.requests()]
        S.check(reqs == [("PUT", "/latest/api/token", "21600", None),
                         ("GET", "/latest/meta-data/iam/security-credentials/", None, "tok-123"),
                         ("GET", "/latest/meta-data/iam/security-credentials/test-role", None, "tok-123")],
                "IMDSv2 sequence", str(reqs))


def test_imds_expired_credentials_backoff():
    """Instance metadata handing out expired credentials: used (AWS decides),
    warned about once, and not fetched again for every call."""
    with FakeServer(S, "kinesis") as kin, \
            FakeServer(S, "imds", "--akid", "AKIDIMDSOLD", "--lifetime", "-3600") as md:
        env = {"AWS_EC2_METADATA_DISABLED": None, "AWS_EC2_METADATA_SERVICE_ENDPOINT": md.url,
               "AWS_CONFIG_FILE": S.path("none"), "AWS_SHARED_CREDENTIALS_FILE": S.path("none")}
        rc, out, err, _ = kcall(kin, env, "--repeat", "16", "--interval-ms", "20")
        S.check(rc == 0, "exit 0: the peer does not refuse them", err)
        S.check(akids(kin) == ["AKIDIMDSOLD"] * 16, "signed with them", str(akids(kin)))
        fetches = len([q for q in md.requests() if q["method"] == "PUT"])
        # Before: a fetch (three requests) per call.
        S.check(1 <= fetches <= 3, "%d fetches for 16 calls, want a few" % fetches, err)
        warned = [l for l in err.splitlines() if "already expired" in l]
        S.check(len(warned) == 1 and "the EC2 instance metadata service" in warned[0], "one warning", err)


def test_imds_endpoint_refused():
    """An instance metadata endpoint the URL policy refuses is an error that
    says so, not a bare "Operation not permitted" (and is never reached)."""
    with FakeServer(S, "kinesis") as kin:
        base = {"AWS_EC2_METADATA_DISABLED": None, "AWS_CONFIG_FILE": S.path("none"),
                "AWS_SHARED_CREDENTIALS_FILE": S.path("none")}
        rc, out, err, _ = kcall(kin, dict(base, AWS_EC2_METADATA_SERVICE_ENDPOINT="http://192.0.2.10/"))
        S.check(rc == 2 and "AWS_EC2_METADATA_SERVICE_ENDPOINT" in err and "refused by the URL policy" in err
                and "plain http://" in err, "plain http to a foreign host: said what happened", err)
        rc, out, err, _ = kcall(kin, dict(base,
                                          AWS_EC2_METADATA_SERVICE_ENDPOINT="http://u:pw-secret@127.0.0.1:1/"))
        S.check(rc == 2 and "user information" in err and "pw-secret" not in err,
                "user information: said, the password not shown", err)
        S.check(kin.requests() == [], "nothing sent")


def test_imds_disabled():
    with FakeServer(S, "kinesis") as kin, FakeServer(S, "imds", "--akid", "AKIDIMDS") as md:
        env = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_EC2_METADATA_SERVICE_ENDPOINT": md.url,
               "AWS_CONFIG_FILE": S.path("none"), "AWS_SHARED_CREDENTIALS_FILE": S.path("none")}
        rc, out, err, _ = kcall(kin, env)
        S.check(rc == 2 and "No AWS credentials found" in err, "no credentials", err)
        S.check(md.requests() == [] and kin.requests() == [], "nothing sent")


def test_chain_order():
    # Environment beats the files, the files beat the container endpoint.
    creds = write("credentials-order", "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s\n")
    with FakeServer(S, "kinesis") as kin, FakeServer(S, "container", "--akid", "AKIDCTR") as ctr:
        base = {"AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_CONFIG_FILE": S.path("none"),
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": ctr.url + "/c"}
        kcall(kin, dict(base, AWS_ACCESS_KEY_ID="AKIDENV", AWS_SECRET_ACCESS_KEY="s"))
        kcall(kin, base)
        kcall(kin, dict(base, AWS_SHARED_CREDENTIALS_FILE=S.path("none")))
        S.check(akids(kin) == ["AKIDENV", "AKIDFILE", "AKIDCTR"], "order", str(akids(kin)))


def test_expiring_credentials_refreshed():
    # Credentials living 4 s are refreshed half-way (before the 5-minute margin
    # could apply): three calls 1.5 s apart see at least two key sets.
    cfg = write("config-exp", "[default]\ncredential_process = %s\n" % proc_command("c-exp", 4))
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, {"AWS_CONFIG_FILE": cfg, "AWS_SHARED_CREDENTIALS_FILE": S.path("none")},
                                "--repeat", "3", "--interval-ms", "1500", "--stats")
        S.check(rc == 0, "exit 0", err)
        got = akids(kin)
        S.check(len(got) == 3 and len(set(got)) >= 2 and got[0] == "AKIDPROC1", "refreshed", str(got))
        with open(S.path("c-exp")) as f:
            S.check(int(f.read()) >= 2, "process ran again")


def test_expired_token_refreshes_and_retries_once():
    cfg = write("config-expired", "[default]\ncredential_process = %s\n" % proc_command("c-expired"))
    with FakeServer(S, "kinesis", "--expired-akid", "AKIDPROC1") as kin:
        rc, out, err, _ = kcall(kin, {"AWS_CONFIG_FILE": cfg, "AWS_SHARED_CREDENTIALS_FILE": S.path("none")})
        S.check(rc == 0, "exit 0 after the refresh", err)
        S.check(akids(kin) == ["AKIDPROC1", "AKIDPROC2"], "fresh keys", str(akids(kin)))
    # A token that stays expired is reported after one refresh, not looped on.
    with FakeServer(S, "kinesis", "--fail", "-1", "--with", "expired") as kin:
        rc, out, err, _ = kcall(kin, {"AWS_CONFIG_FILE": cfg, "AWS_SHARED_CREDENTIALS_FILE": S.path("none")})
        S.check(rc == 1 and "ExpiredTokenException: " in err, "reported", err)
        S.check(len(kin.requests()) == 2, "one retry", str(len(kin.requests())))


def test_expired_credentials_refused_by_aws():
    """Credentials that arrive expired and that AWS refuses: ten calls at
    once each refresh once and report ExpiredTokenException, and the process
    is not run again for each of them: their refreshes share a fetch that
    waits for the backoff."""
    cfg = write("config-refused", "[default]\ncredential_process = %s\n" % proc_command("c-refused", -3600))
    with FakeServer(S, "kinesis", "--fail", "-1", "--with", "expired") as kin:
        rc, out, err, _ = kcall(kin, {"AWS_CONFIG_FILE": cfg, "AWS_SHARED_CREDENTIALS_FILE": S.path("none")},
                                "--burst", "10", req='{"StreamName":"s{i}"}')
        S.check(rc == 1 and "ExpiredTokenException" in err, "reported", err)
        S.check(len(kin.requests()) == 20, "one retry per call", str(len(kin.requests())))
        with open(S.path("c-refused")) as f:
            runs = int(f.read())
        # Before: a run for most refused answers (up to one per call).
        S.check(2 <= runs <= 4, "credential_process ran %d times for 10 calls" % runs, err)
        S.check(len([l for l in err.splitlines() if "already expired" in l]) == 1, "one warning", err)


for t in (test_environment, test_shared_credentials_file, test_credentials_directory, test_dev_null_and_region_file_warning, test_config_file_profile_and_region,
          test_credential_process, test_credential_process_failure, test_credential_process_stderr_escaped,
          test_credential_process_output_too_big, test_credential_process_grandchild,
          test_credential_process_timeout_ends_group,
          test_missing_profile,
          test_insecure_file_warning, test_container_full_uri_token, test_container_full_uri_refused,
          test_imds, test_imds_expired_credentials_backoff, test_imds_endpoint_refused,
          test_imds_disabled, test_chain_order, test_expiring_credentials_refreshed,
          test_expired_token_refreshes_and_retries_once, test_expired_credentials_refused_by_aws):
    S.run(t)
sys.exit(S.summary())
