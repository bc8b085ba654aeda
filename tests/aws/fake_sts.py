#!/usr/bin/env python3
"""A fake AWS STS endpoint on 127.0.0.1 for the credential tests.

  fake_sts.py --log FILE --keys-file FILE --source-keys-json TEXT
              [--lifetime S] [--deny-json TEXT]

Prints "PORT" on the first line of stdout once listening, then serves until
killed. Speaks the Query protocol (POST /, form-encoded Action=...&
Version=2011-06-15) and answers in STS's documented XML:

  AssumeRole                 signed (SigV4, service "sts"): the signature is
                             verified with botocore's signer, from the secret
                             of its access key id (--source-keys-json, or one
                             this server issued, with its session token)
  AssumeRoleWithWebIdentity  must come unsigned, with a WebIdentityToken
  GetCallerIdentity          signed, as AssumeRole

For a role ARN in account A (arn:aws:iam::A:role/NAME) it issues the access
key id A itself (kinesis-mock keeps one namespace per 12-digit access key id),
a secret of its own for A and a new session token each time, valid for
--lifetime seconds (or DurationSeconds). Every issued secret and token is
written to --keys-file ({"keys": {AKID: secret}, "tokens": {AKID: [token,
...]}}, merged with what it holds and replaced atomically), which the strict proxy (fault_proxy.py
--keys-file) reads to verify Kinesis requests signed with them.

--deny-json {"ROLE_ARN": ["Code", "Message"], ...}: that role gets an
ErrorResponse (HTTP 403) instead.
--throttle-json {"ROLE_ARN": N, ...}: the first N calls for that role get
400 Throttling "Rate exceeded", as STS throttles.

Every request is appended to --log as one JSON line: action, the form
parameters (RoleArn, RoleSessionName, ExternalId, DurationSeconds,
WebIdentityToken), signed, akid (of the signature), region and service of
its scope, sig_ok, sig_error, status. Never talks to anything but its
clients on 127.0.0.1."""
import argparse
import datetime
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

NS = "https://sts.amazonaws.com/doc/2011-06-15/"
AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,\s*"
                     r"SignedHeaders=([a-z0-9;\-]+),\s*Signature=([0-9a-f]{64})$")
ROLE_RE = re.compile(r"^arn:aws[a-z\-]*:iam::(\d{12}):role/(.+)$")

LOCK = threading.Lock()
ARGS = None
SOURCE_KEYS = {}
ISSUED = {"keys": {}, "tokens": {}}
DENY = {}
THROTTLE = {}


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def save_keys():
    """Merged with what the file holds: several fake STSs of a test may share
    it (one at a time)."""
    try:
        with open(ARGS.keys_file) as f:
            d = json.load(f)
    except (OSError, ValueError):
        d = {"keys": {}, "tokens": {}}
    d["keys"].update(ISSUED["keys"])
    for akid, tokens in ISSUED["tokens"].items():
        d["tokens"][akid] = sorted(set(d["tokens"].get(akid, [])) | set(tokens))
    tmp = "%s.%d.tmp" % (ARGS.keys_file, os.getpid())
    with open(tmp, "w") as f:
        json.dump(d, f)
    os.rename(tmp, ARGS.keys_file)


def verify(method, path, headers, body):
    """(ok, akid, region, service, error): the signature checked by botocore."""
    auth = headers.get_all("Authorization") or []
    if len(auth) != 1:
        return False, None, None, None, "no or several Authorization headers"
    m = AUTH_RE.match(auth[0].strip())
    if not m:
        return False, None, None, None, "malformed Authorization header"
    akid, date, region, service, signed, signature = m.groups()
    with LOCK:
        secret = SOURCE_KEYS.get(akid) or ISSUED["keys"].get(akid)
        tokens = list(ISSUED["tokens"].get(akid, []))
    if secret is None:
        return False, akid, region, service, "unknown access key id"
    token = headers.get("X-Amz-Security-Token")
    if akid in ISSUED["keys"] and akid not in SOURCE_KEYS and token not in tokens:
        return False, akid, region, service, "session token not one issued for this key"
    names = signed.split(";")
    if "x-amz-security-token" in {n.lower() for n in headers.keys()} and "x-amz-security-token" not in names:
        return False, akid, region, service, "session token not signed"
    hdrs = {}
    for n in names:
        v = headers.get_all(n)
        if not v:
            return False, akid, region, service, "signed header %s missing" % n
        hdrs[n] = ",".join(v)
    amz_date = hdrs.get("x-amz-date", "")
    if amz_date[:8] != date:
        return False, akid, region, service, "X-Amz-Date does not match the scope"
    req = AWSRequest(method=method, url="http://%s%s" % (hdrs.get("host", "localhost"), path), data=body,
                     headers=hdrs)
    req.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(akid, secret, token), service, region)
    creq = signer.canonical_request(req)
    want = signer.signature(signer.string_to_sign(req, creq), req)
    if want != signature:
        return False, akid, region, service, "signature mismatch"
    return True, akid, region, service, None


def issue(role_arn, duration):
    account = ROLE_RE.match(role_arn).group(1)
    with LOCK:
        secret = ISSUED["keys"].setdefault(account, "sts-secret-" + secrets.token_hex(12))
        token = "sts-token-" + secrets.token_hex(16)
        ISSUED["tokens"].setdefault(account, []).append(token)
        save_keys()
    return account, secret, token, time.time() + duration


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, xml, entry):
        data = ('<?xml version="1.0" encoding="UTF-8"?>\n' + xml).encode("utf-8")
        entry["status"] = status
        with LOCK:
            with open(ARGS.log, "a") as f:
                f.write(json.dumps(entry) + "\n")
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "req-%s" % secrets.token_hex(4))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, message, entry):
        entry["error"] = code
        self.reply(status, '<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code>'
                   '<Message>%s</Message></Error><RequestId>req-err</RequestId></ErrorResponse>'
                   % (NS, escape(code), escape(message)), entry)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        action = form.get("Action")
        signed = self.headers.get("Authorization") is not None
        entry = {"t": time.monotonic(), "action": action, "signed": signed,
                 "content_type": self.headers.get("Content-Type")}
        for k in ("RoleArn", "RoleSessionName", "ExternalId", "DurationSeconds", "WebIdentityToken"):
            if k in form:
                entry[k] = form[k]
        if signed:
            ok, akid, region, service, err = verify("POST", self.path, self.headers, body)
            entry.update(akid=akid, region=region, service=service, sig_ok=ok, sig_error=err,
                         token=self.headers.get("X-Amz-Security-Token") is not None)
        if form.get("Version") != "2011-06-15" or self.path != "/":
            return self.error(400, "InvalidAction", "bad version or path", entry)
        if action == "AssumeRoleWithWebIdentity":
            if signed:
                return self.error(400, "InvalidRequest", "AssumeRoleWithWebIdentity must not be signed", entry)
            if not form.get("WebIdentityToken"):
                return self.error(400, "InvalidIdentityToken", "no token", entry)
        elif action in ("AssumeRole", "GetCallerIdentity"):
            if not signed:
                return self.error(403, "MissingAuthenticationToken", "Request is missing Authentication Token",
                                  entry)
            if not entry["sig_ok"]:
                return self.error(403, "SignatureDoesNotMatch", entry["sig_error"], entry)
            if entry["service"] != "sts":
                return self.error(403, "SignatureDoesNotMatch", "scope of service %s" % entry["service"], entry)
        else:
            return self.error(400, "InvalidAction", "unknown action", entry)

        if action == "GetCallerIdentity":
            akid = entry["akid"]
            return self.reply(200, '<GetCallerIdentityResponse xmlns="%s"><GetCallerIdentityResult>'
                              '<Arn>arn:aws:sts::%s:assumed-role/fake/%s</Arn><UserId>AROAFAKE:%s</UserId>'
                              '<Account>%s</Account></GetCallerIdentityResult><ResponseMetadata>'
                              '<RequestId>req-gci</RequestId></ResponseMetadata></GetCallerIdentityResponse>'
                              % (NS, akid, akid, akid, akid), entry)

        arn = form.get("RoleArn", "")
        m = ROLE_RE.match(arn)
        if not m or not form.get("RoleSessionName"):
            return self.error(400, "ValidationError", "bad RoleArn or RoleSessionName", entry)
        with LOCK:
            throttled = THROTTLE.get(arn, 0) > 0
            if throttled:
                THROTTLE[arn] -= 1
        if throttled:
            return self.error(400, "Throttling", "Rate exceeded", entry)
        if arn in DENY:
            code, message = DENY[arn]
            return self.error(403, code, message, entry)
        duration = int(form.get("DurationSeconds") or ARGS.lifetime)
        account, secret, token, exp = issue(arn, min(duration, ARGS.lifetime))
        session = form["RoleSessionName"]
        user = ('<AssumedRoleUser><Arn>arn:aws:sts::%s:assumed-role/%s/%s</Arn>'
                '<AssumedRoleId>AROAFAKE:%s</AssumedRoleId></AssumedRoleUser>'
                % (account, escape(m.group(2)), escape(session), escape(session)))
        creds = ('<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>'
                 '<SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>'
                 % (account, secret, token, iso(exp)))
        if action == "AssumeRole":
            inner = user + creds + "<PackedPolicySize>6</PackedPolicySize>"
        else:
            inner = ("<SubjectFromWebIdentityToken>system:serviceaccount:fake</SubjectFromWebIdentityToken>"
                     "<Audience>sts.amazonaws.com</Audience>" + user + creds +
                     "<Provider>oidc.fake</Provider>")
        entry["issued"] = account
        self.reply(200, '<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>'
                   'req-ok</RequestId></ResponseMetadata></%sResponse>'
                   % (action, NS, action, inner, action, action), entry)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--keys-file", required=True)
    ap.add_argument("--source-keys-json", default="{}")
    ap.add_argument("--lifetime", type=int, default=3600)
    ap.add_argument("--deny-json", default="{}")
    ap.add_argument("--throttle-json", default="{}")
    ARGS = ap.parse_args()
    SOURCE_KEYS.update(json.loads(ARGS.source_keys_json))
    DENY.update(json.loads(ARGS.deny_json))
    THROTTLE.update(json.loads(ARGS.throttle_json))
    save_keys()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
