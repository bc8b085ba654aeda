#!/usr/bin/env python3
"""SSO credentials through kinesisd itself: kinesisd --once against
kinesis-mock through the strict proxy, which verifies every request's
signature with the keys the fake SSO portal (fake_sso.py) hands out and
knows no others, so a Kinesis call signed with anything else fails.

  test_sso_daemon.py KINESISD PORT_FILE

Cases, each its own profile, token cache and stream:
  session    an sso_session profile with a valid cached token; the same
             profile's static keys in the credentials file are not used; a
             group-writable cache file is warned about
  legacy     the legacy keys (sso_start_url ... in the profile), the portal
             found through the profile's services section; a token the
             portal refuses (UnauthorizedException): the login command
  refresh    a token 5 minutes from expiry: refreshed through SSO-OIDC,
             written back to the cache file (other fields kept, mode 0600),
             and only the new token is taken by the portal
  advisory   the same refresh refused: a warning, and the old token, still
             valid, is used
  expired    an expired token without a refresh token, no cached token at
             all, and a token whose refresh is refused (invalid_grant): an
             error naming the session and the login command, and never the
             [default] static keys
  portal     the portal refuses (ForbiddenException): its code and message,
             escaped, in the error
Nothing reaches anything but 127.0.0.1; no token or key is ever logged."""
import datetime
import hashlib
import json
import os
import random
import stat
import subprocess
import sys
import time

from kinesisd_test import mock, process
from kinesisd_test.checks import Failed, Suite, check_no_sanitizer
from kinesisd_test.environment import Scratch, clean_env
from kinesisd_test.ports import mock_port
from kinesisd_test.proxy import Proxy

KINESISD, PORT_FILE = sys.argv[1:3]
HERE = os.path.dirname(os.path.abspath(__file__))
S = Suite("aws-sso-daemon")
W = Scratch("kinesisd-sso-")
MOCK_PORT = mock_port(PORT_FILE)
TAG = "%05d" % (os.getpid() % 100000)
RNG = random.Random("%d %f" % (os.getpid(), time.time()))


def account():
    return "%012d" % RNG.randrange(10 ** 11, 10 ** 12)


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def cache_name(key):
    return hashlib.sha1(key.encode()).hexdigest() + ".json"


# Access key ids are 12-digit accounts (kinesis-mock keeps one namespace per
# account); each has a secret of its own, and only the proxy and the portal
# know it.
AK = {c: account() for c in ("session", "legacy", "refresh", "advisory", "static")}
SECRETS = {AK[c]: "secret-%s-%s" % (c, TAG) for c in AK}
ROLE_ACCOUNT = "123456789012"
TOKENS = {
    "at-session-" + TAG: "session",
    "at-legacy-" + TAG: "legacy",
    "at-new-" + TAG: "refresh",  # only the refreshed token is taken
    "at-advisory-" + TAG: "advisory",
}
SPEC = {
    "tokens": {tok: {"account_id": ROLE_ACCOUNT, "role_name": "Streams Admin", "accessKeyId": AK[c],
                     "secretAccessKey": SECRETS[AK[c]], "sessionToken": "st-%s-%s" % (c, TAG),
                     "lifetime": 3600} for tok, c in TOKENS.items()},
    "clients": {"cid-" + TAG: "csecret-" + TAG},
    "refresh": {"rt-1-" + TAG: {"accessToken": "at-new-" + TAG, "refreshToken": "rt-2-" + TAG,
                                "expiresIn": 28800}},
    "portal_error": None,
    "oidc_error": None,
}
SECRET_TEXTS = list(SECRETS.values()) + list(TOKENS) + [
    t + TAG for t in ("rt-1-", "rt-2-", "csecret-", "at-old-", "at-expired-", "rt-unknown-")]
SPEC_PATH = W.path("sso-spec.json")
SSO_LOG = W.path("sso.jsonl")


def write_spec():
    with open(SPEC_PATH, "w") as f:
        json.dump(SPEC, f)


CONFIG = """[profile session]
sso_session = corp-{tag}
sso_account_id = {acct}
sso_role_name = Streams Admin
region = us-east-1

[sso-session corp-{tag}]
sso_start_url = https://corp-{tag}.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile legacy]
sso_start_url = https://legacy-{tag}.awsapps.com/start
sso_region = us-west-2
sso_account_id = {acct}
sso_role_name = Streams Admin
services = fake-sso

[services fake-sso]
sso =
  endpoint_url = {fake}
"""
# Profiles that differ only in their session's name (= the profile's).
SESSION_PROFILE = """
[profile {name}]
sso_session = {name}-{tag}
sso_account_id = {acct}
sso_role_name = Streams Admin

[sso-session {name}-{tag}]
sso_start_url = https://{name}-{tag}.awsapps.com/start
sso_region = eu-central-1
"""
CONFIG += "".join(SESSION_PROFILE.replace("{name}", n)
                  for n in ("refresh", "expired", "advisory", "missing", "refused"))

# Static keys the proxy would accept: a fall-through to them would succeed.
CREDENTIALS = """[default]
aws_access_key_id = {ak}
aws_secret_access_key = {sk}

[session]
aws_access_key_id = {ak}
aws_secret_access_key = {sk}
""".format(ak=AK["static"], sk=SECRETS[AK["static"]])


def write_cache(key, doc):
    d = os.path.join(W.home, ".aws", "sso", "cache")
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, cache_name(key))
    with open(p, "w") as f:
        json.dump(doc, f)
    os.chmod(p, 0o600)
    return p


def stream(case):
    return "sso-%s-%s" % (case, TAG)


def config(case):
    return W.write("kinesisd-%s.yaml" % case, "aws:\n  region: us-east-1\n  endpoint: %s\nreconcile:\n"
                   "  poll: 100ms\n  timeout: 60s\nstreams:\n  - { name: %s, shards: 1 }\n"
                   % (PROXY.url, stream(case)))


def once(case, profile, services_section=False):
    """kinesisd --once with AWS_PROFILE=profile; the SSO endpoints from the
    variables, or (services_section) from the profile's services section."""
    env = clean_env(W.home, extra={
        "AWS_CONFIG_FILE": AWS_CONFIG, "AWS_SHARED_CREDENTIALS_FILE": AWS_CREDENTIALS,
        "AWS_PROFILE": profile, "AWS_ENDPOINT_URL_SSO": None if services_section else FAKE_URL,
        "AWS_ENDPOINT_URL_SSO_OIDC": FAKE_URL,
        # Should the section not be read, the default https:// endpoint would
        # be asked: through a dead loopback proxy, never the network.
        "https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"})
    state = W.path("state-" + case)
    os.makedirs(state, exist_ok=True)
    rc, _, err, secs = process.run([KINESISD, "-c", config(case), "--state-dir", state, "--once",
                                    "--log-level", "debug"], env, 120)
    with open(W.path("kinesisd-%s.stderr" % case), "w") as f:
        f.write(err)
    check_no_sanitizer(err)
    for l in err.splitlines():
        if "SSO" in l and "HTTP:" not in l:
            print("  %s: %s" % (case, l))
    leaked = [s for s in SECRET_TEXTS if s in err]
    S.check(not leaked, "%s: no token, client secret or key in the log" % case, leaked)
    return rc, err


def sso_requests():
    try:
        with open(SSO_LOG) as f:
            return [json.loads(l) for l in f if l.strip()]
    except FileNotFoundError:
        return []


def kinesis_akids(name):
    """(access key ids, all verified) of the proxy's requests for a stream."""
    es = [e for e in PROXY.live_entries() if e.get("stream") == name]
    return {e.get("akid") for e in es}, all(e.get("sig_ok") for e in es), len(es)


def check_signed_by(case, akid, err):
    akids, ok, n = kinesis_akids(stream(case))
    S.check(n > 0 and akids == {akid} and ok,
            "%s: every Kinesis call verified, signed with the portal's key %s" % (case, akid),
            "%d calls, keys %s, all verified %s\n%s" % (n, akids, ok, err[-3000:]))


def test_session():
    before = len(sso_requests())
    path = write_cache("corp-" + TAG, {"startUrl": "https://corp-%s.awsapps.com/start" % TAG,
                                       "region": "eu-west-1", "accessToken": "at-session-" + TAG,
                                       "expiresAt": iso(time.time() + 7200)})
    os.chmod(path, 0o620)
    rc, err = once("session", "session")
    S.check([l for l in err.splitlines() if path in l and "group- or world-writable" in l],
            "session: a cache file others can write is warned about", err[-3000:])
    S.check(rc == 0, "session: --once exits 0", err[-3000:])
    check_signed_by("session", AK["session"], err)
    got = [r for r in sso_requests()[before:] if r["path"] == "/federation/credentials"]
    S.check(got and all(r["bearer"] == "at-session-" + TAG and r["status"] == 200 for r in got)
            and got[0]["query"] == {"account_id": ROLE_ACCOUNT, "role_name": "Streams Admin"},
            "session: the portal was asked with the cached token, the account and the role", got)
    S.check(not [r for r in sso_requests()[before:] if r["path"] == "/token"],
            "session: a token far from expiry is not refreshed")
    S.check('SSO session "corp-%s" of profile session' % TAG in err, "session: the log names the source",
            err[-2000:])


def test_legacy():
    url = "https://legacy-%s.awsapps.com/start" % TAG
    write_cache(url, {"startUrl": url, "region": "us-west-2", "accessToken": "at-legacy-" + TAG,
                      "expiresAt": iso(time.time() + 7200)})
    rc, err = once("legacy", "legacy", services_section=True)
    S.check(rc == 0, "legacy: --once exits 0", err[-3000:])
    check_signed_by("legacy", AK["legacy"], err)

    # A token the portal does not know: UnauthorizedException, and the
    # login command for a profile without a session.
    write_cache(url, {"startUrl": url, "region": "us-west-2", "accessToken": "at-expired-" + TAG,
                      "expiresAt": iso(time.time() + 7200)})
    rc, err = once("unauthorized", "legacy", services_section=True)
    S.check(rc != 0, "unauthorized: --once fails", err[-3000:])
    lines = [l for l in err.splitlines() if "UnauthorizedException" in l]
    S.check(lines and "Session token not found or invalid" in lines[0]
            and "aws sso login --profile legacy`" in lines[0],
            "unauthorized: the portal's code and message, and the login command for the profile",
            err[-3000:])
    check_no_fallthrough("unauthorized", err)


def test_refresh():
    before = len(sso_requests())
    soon = time.time() + 300
    path = write_cache("refresh-" + TAG, {
        "startUrl": "https://refresh-%s.awsapps.com/start" % TAG, "region": "eu-central-1",
        "accessToken": "at-old-" + TAG, "expiresAt": iso(soon), "refreshToken": "rt-1-" + TAG,
        "clientId": "cid-" + TAG, "clientSecret": "csecret-" + TAG,
        "registrationExpiresAt": iso(time.time() + 30 * 86400), "custom": {"kept": True}})
    t0 = time.time()
    rc, err = once("refresh", "refresh")
    S.check(rc == 0, "refresh: --once exits 0", err[-3000:])
    check_signed_by("refresh", AK["refresh"], err)
    reqs = sso_requests()[before:]
    posts = [r for r in reqs if r["path"] == "/token"]
    S.check(len(posts) == 1 and posts[0]["status"] == 200 and posts[0]["content_type"] == "application/json"
            and posts[0]["body"] == {"grantType": "refresh_token", "clientId": "cid-" + TAG,
                                     "clientSecret": "csecret-" + TAG, "refreshToken": "rt-1-" + TAG},
            "refresh: one CreateToken with the refresh token and the client registration", posts)
    gets = [r for r in reqs if r["path"] == "/federation/credentials"]
    S.check(gets and all(r["bearer"] == "at-new-" + TAG for r in gets),
            "refresh: the portal was asked with the new token only", gets)
    with open(path) as f:
        doc = json.load(f)
    exp = datetime.datetime.strptime(doc.get("expiresAt", ""), "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    S.check(doc.get("accessToken") == "at-new-" + TAG and doc.get("refreshToken") == "rt-2-" + TAG
            and t0 + 28800 - 5 <= exp <= time.time() + 28800 + 5,
            "refresh: the new token, its expiry and the new refresh token are in the cache file", doc)
    S.check(doc.get("clientId") == "cid-" + TAG and doc.get("clientSecret") == "csecret-" + TAG
            and doc.get("custom") == {"kept": True} and doc.get("region") == "eu-central-1"
            and doc.get("startUrl") == "https://refresh-%s.awsapps.com/start" % TAG,
            "refresh: the file's other fields are kept", doc)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    S.check(mode == 0o600, "refresh: the cache file is still 0600 (it is %o)" % mode)
    leftovers = [n for n in os.listdir(os.path.dirname(path)) if n.startswith(".")]
    S.check(not leftovers, "refresh: no temporary file left beside the cache", leftovers)


def test_advisory():
    """A refresh refused while the old token still serves: a warning, and
    the old token is used."""
    name = "advisory-" + TAG
    path = write_cache(name, {"accessToken": "at-advisory-" + TAG, "expiresAt": iso(time.time() + 300),
                              "refreshToken": "rt-unknown-" + TAG, "clientId": "cid-" + TAG,
                              "clientSecret": "csecret-" + TAG,
                              "registrationExpiresAt": iso(time.time() + 86400)})
    with open(path) as f:
        before_text = f.read()
    before = len(sso_requests())
    rc, err = once("advisory", "advisory")
    S.check(rc == 0, "advisory: --once exits 0", err[-3000:])
    check_signed_by("advisory", AK["advisory"], err)
    warn = [l for l in err.splitlines() if "Cannot refresh the token of" in l]
    S.check(warn and "InvalidGrantException" in warn[0] and "using the cached one" in warn[0]
            and 'sso_session "%s"' % name in warn[0], "advisory: the failed refresh is warned about",
            err[-3000:])
    reqs = sso_requests()[before:]
    S.check(reqs and reqs[0]["path"] == "/token" and
            all(r["bearer"] == "at-advisory-" + TAG for r in reqs[1:]) and len(reqs) >= 2,
            "advisory: one CreateToken, then the portal with the old token", reqs)
    with open(path) as f:
        S.check(f.read() == before_text, "advisory: the cache file is left as it was")


def check_no_fallthrough(case, err):
    akids, _, n = kinesis_akids(stream(case))
    S.check(n == 0, "%s: no Kinesis call at all (none with the [default] static keys)" % case,
            "%s\n%s" % (akids, err[-3000:]))


def test_expired():
    name = "expired-" + TAG
    write_cache(name, {"startUrl": "https://expired-%s.awsapps.com/start" % TAG, "region": "eu-central-1",
                       "accessToken": "at-expired-" + TAG, "expiresAt": iso(time.time() - 3600)})
    before = len(sso_requests())
    rc, err = once("expired", "expired")
    S.check(rc != 0, "expired: --once fails", err[-3000:])
    lines = [l for l in err.splitlines() if "aws sso login --sso-session %s" % name in l]
    S.check(lines and 'sso_session "%s" of profile "expired"' % name in lines[0]
            and "expired at" in lines[0] and "no refresh token" in lines[0],
            "expired: the error names the session, says why and gives the login command", err[-3000:])
    S.check(not sso_requests()[before:], "expired: nothing sent to the portal or SSO-OIDC")
    check_no_fallthrough("expired", err)

    # Never logged in: no cache file at all.
    name = "missing-" + TAG
    rc, err = once("missing", "missing")
    S.check(rc != 0, "missing: --once fails", err[-3000:])
    lines = [l for l in err.splitlines() if "aws sso login --sso-session %s" % name in l]
    S.check(lines and "no cached SSO token" in lines[0] and cache_name(name) in lines[0],
            "missing: the error names the missing cache file and gives the login command", err[-3000:])
    check_no_fallthrough("missing", err)


def test_refused():
    name = "refused-" + TAG
    write_cache(name, {"startUrl": "https://refused-%s.awsapps.com/start" % TAG, "region": "eu-central-1",
                       "accessToken": "at-expired-" + TAG, "expiresAt": iso(time.time() - 60),
                       "refreshToken": "rt-unknown-" + TAG, "clientId": "cid-" + TAG,
                       "clientSecret": "csecret-" + TAG, "registrationExpiresAt": iso(time.time() + 86400)})
    before = len(sso_requests())
    rc, err = once("refused", "refused")
    S.check(rc != 0, "refused: --once fails", err[-3000:])
    lines = [l for l in err.splitlines() if "aws sso login --sso-session %s" % name in l]
    S.check(lines and "InvalidGrantException" in lines[0] and "invalid_grant" in lines[0]
            and "Invalid refresh token provided" in lines[0],
            "refused: the error has SSO-OIDC's code, error and description, and the login command",
            err[-3000:])
    reqs = sso_requests()[before:]
    S.check([r["path"] for r in reqs] == ["/token"], "refused: one CreateToken, no portal call", reqs)
    check_no_fallthrough("refused", err)


def test_portal_error():
    SPEC["portal_error"] = {"status": 403, "type": "ForbiddenException",
                            "message": "No access\x1b[31m to account\nkinesisd: forged line"}
    write_spec()
    try:
        write_cache("corp-" + TAG, {"accessToken": "at-session-" + TAG,
                                    "expiresAt": iso(time.time() + 7200)})
        rc, err = once("portal", "session")
    finally:
        SPEC["portal_error"] = None
        write_spec()
    S.check(rc != 0, "portal: --once fails", err[-3000:])
    lines = [l for l in err.splitlines() if "ForbiddenException" in l]
    S.check(lines and "No access\\x1b[31m to account\\x0akinesisd: forged line" in lines[0]
            and "account %s, role \"Streams Admin\"" % ROLE_ACCOUNT in lines[0],
            "portal: the error has the code and the message, escaped", err[-3000:])
    S.check("\x1b" not in err and not any(l.startswith("kinesisd: forged line") for l in err.splitlines()),
            "portal: no control character or forged line reaches the log")
    check_no_fallthrough("portal", err)


def cleanup():
    for case in ("session", "legacy", "refresh", "advisory"):
        ak = AK[case]
        try:
            mock.request(MOCK_PORT, "DeleteStream", {"StreamName": stream(case)}, account=ak, timeout=10)
        except OSError:
            pass


AWS_CREDENTIALS = W.write("aws-credentials", CREDENTIALS, 0o600)
write_spec()
fake = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_sso.py"), "--spec", SPEC_PATH,
                         "--log", SSO_LOG], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
try:
    line = fake.stdout.readline()
    if not line.strip().isdigit():
        raise Failed("fake SSO server did not start")
    FAKE_URL = "http://127.0.0.1:%d" % int(line)
    AWS_CONFIG = W.write("aws-config", CONFIG.format(tag=TAG, acct=ROLE_ACCOUNT, fake=FAKE_URL), 0o600)
    with Proxy(W.tmp.name, MOCK_PORT, keys=SECRETS) as PROXY:
        try:
            for t in (test_session, test_legacy, test_refresh, test_advisory, test_expired, test_refused,
                      test_portal_error):
                S.run(t)
        finally:
            cleanup()
        s = PROXY.summary()
        S.check(s.get("mismatches", 0) == 0, "the proxy verified every signature", s)
finally:
    process.stop(fake, timeout=10)
    fake.stdout.close()
sys.exit(S.summary())
