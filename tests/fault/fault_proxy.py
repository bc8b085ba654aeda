#!/usr/bin/env python3
"""A fault-injecting HTTP/1.1 front for kinesis-mock (python3 stdlib only).

  fault_proxy.py --upstream-port-file F | --upstream-port N
                 --port-file F --log F [--schedule FILE | --schedule-json TEXT]
                 [--keys-json TEXT | --keys-file FILE] [--max-seconds S] [--stall-seconds S]
                 [--limits]

Listens on 127.0.0.1 (a free port, written to --port-file once listening) and
forwards every request to http://127.0.0.1:<upstream>/ over one keep-alive
upstream connection per client connection. Client connections are kept alive
as long as the client wants (the daemon reuses its connections).

Every request's SigV4 signature is verified independently of the daemon's
signer, from the secret keys in --keys-json ({"AKID": "secret", ...}; default:
the test key pair of tests/aws; an entry "*" is the secret of every other
access key id, as the tests that sign with a 12-digit account id use one
secret for all), or from --keys-file, read again whenever it changes: the
keys and session tokens an STS of the tests issues ({"keys": {"AKID":
"secret"}, "tokens": {"AKID": ["token", ...]}}, tests/aws/fake_sts.py); a
request signed with such a key must carry one of its tokens, signed. A
request that does not verify is answered
403 InvalidSignatureException and counted as a mismatch; it never reaches the
mock.

The schedule ({"seed": N, "rules": [...]}, from a file or the command line)
decides which requests get a fault. Each rule:

  op          X-Amz-Target operation ("DescribeStreamSummary"), "*" or absent: any
  stream      stream name in the body (StreamName, or from StreamARN); optional
  akid        only requests signed with this access key id; optional
  fault       what to do (below)
  skip        let this many matching requests through first (default 0)
  count       inject into this many matching requests (default 1; -1: every one)
  probability inject with this probability (default 1; seeded by "seed")
  forward     send the request to the mock first (the answer is then lost or
              corrupted): default true for the answer-corrupting faults
              (reset, short-body, stall, truncated, malformed, oversized, html),
              false for the error answers (AWS refuses before acting)
  status      override the HTTP status of the answer (html, error faults)
  seconds     how long the slow fault holds the request (default 1)

The first rule that matches and fires wins. Faults:

  throttle        400 ThrottlingException "Rate exceeded"
  limit-rate      400 LimitExceededException "Rate exceeded for stream NAME under account ..."
  limit-quota     400 LimitExceededException (account shard quota: not a throttle)
  access-denied   400 AccessDeniedException
  validation      400 ValidationException
  500, 503        InternalFailure / ServiceUnavailable
  expired         400 ExpiredTokenException
  skew            400 InvalidSignatureException "Signature expired: ..."
  time-skewed     400 RequestTimeTooSkewed
  reset           headers and part of the body, then RST (SO_LINGER 0)
  short-body      headers (full Content-Length) and part of the body, then FIN
  stall           hold the answer past the client's timeout, then close
  truncated       200, the first half of the JSON answer, consistent Content-Length
  malformed       200, a body that is not JSON
  oversized       200, a valid JSON body over 1 MiB
  html            200 text/html (an HTML page, as a captive portal or balancer sends)
  accept          200 with the empty JSON object {}, and the request never reaches
                  the mock: AWS accepted a change that then does not take effect
  slow            hold the request for "seconds", then answer it as without a
                  rule: a slow AWS, or a slow page of a listing
  hostile         400 with terminal control sequences, a forged log line, a C1
                  control and a NUL in the message, and control sequences in the
                  error type (x-amzn-ErrorType and __type) and x-amzn-RequestId
                  (HOSTILE_* below): text from the network the client must escape

truncated, malformed, oversized and html corrupt only a successful answer of
the mock; an error answer passes unchanged (logged as fault_skipped).

Every request is appended to --log as one JSON line when it is finished:
seq (arrival order), t (arrival, CLOCK_MONOTONIC seconds), t_end, conn (client
connection number), op, stream, akid, amz_date, sig_ok, sig_error, fault,
rule, status (sent; null when none was), upstream_status, error_type (of the
answer the client got or would have got), body_sha256, client_closed (a
stalled client went away), held (seconds a stall held). A final line
{"summary": ...} carries the totals, mismatches included. While a stall
holds, LOG.active lists the rule index of each stall in progress, one a line.

--limits: before the schedule, every request that verifies goes through
aws_limits.py, AWS's Kinesis control-plane limits for the account (the
access key id, as kinesis-mock takes it) and region (of the credential
scope). A refused request is answered 400 LimitExceededException with AWS's
message (x-amzn-ErrorType and x-amzn-RequestId set) and never reaches the
mock. The calls the proxy makes to learn what the account holds (ListStreams,
DescribeStreamSummary, ListStreamConsumers, DescribeStreamConsumer) go
straight to the mock and count against nothing. Every log line then has
"refused" (null, or "rule: message"), "t_verdict" (when it was admitted or
refused) and "asked" (the calls to the mock that took), and the summary has
"refused": {"total", "by_akid", "by_op"}. The 24 h budgets last as long as
the proxy. Streams CREATING or DELETING are counted from a book of the
account's streams (Strict.busy_streams): every answer of the mock the proxy
forwards (CreateStream, DeleteStream, DescribeStreamSummary, DescribeStream)
is evidence of a stream's state, streams it has not seen are asked about,
and before a refusal every stream the book has busy is asked again.
With --list-summaries too, an admitted ListStreams is answered as AWS
answers it (kinesis-mock's carries names only): at most 100 streams a page,
StreamSummaries (name, ARN, status, mode) asked of the mock beside
StreamNames, and an opaque NextToken while HasMoreStreams; its log line has
"listed": the first and last name the page carried.
kinesis-mock counts streams CREATING over all accounts and regions at once;
a CreateStream the proxy admitted and the mock refuses for that reason is
held and sent again until the mock takes it (at most 60 s).

Stops by itself after --max-seconds, and on SIGTERM/SIGINT. Only ever talks to
127.0.0.1.
"""
import argparse
import contextlib
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import select
import signal
import socket
import struct
import sys
import threading
import time

import aws_limits

DEFAULT_KEYS = {"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
TARGET_PREFIX = "Kinesis_20131202."
JSON_CT = "application/x-amz-json-1.1"
MAX_REQUEST = 4 * 1024 * 1024
MAX_HEADER = 64 * 1024
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade", "expect", "content-length"}
CORRUPTING = {"reset", "short-body", "stall", "truncated", "malformed", "oversized", "html"}
ERRORS = {
    # fault: (status, __type, message); {stream} is filled in
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "limit-rate": (400, "LimitExceededException",
                   "Rate exceeded for stream {stream} under account 000000000000."),
    "limit-quota": (400, "LimitExceededException",
                    "This request would exceed the shard limit for the account 000000000000 "
                    "in us-east-1. Current shard count for the account: 500. Limit: 500."),
    "access-denied": (400, "AccessDeniedException",
                      "User: arn:aws:iam::000000000000:user/fault is not authorized to perform: "
                      "kinesis:{op} on resource: {stream}"),
    "validation": (400, "ValidationException", "1 validation error detected (injected)"),
    "500": (500, "InternalFailure", "We encountered an internal error. Please try again."),
    "503": (503, "ServiceUnavailable", "The service is unavailable. Please try again."),
    "expired": (400, "ExpiredTokenException", "The security token included in the request is expired"),
    "skew": (400, "InvalidSignatureException",
             "Signature expired: {amz_date} is now earlier than {later} ({now} - 5 min.)"),
    "time-skewed": (400, "RequestTimeTooSkewed",
                    "The difference between the request time and the current time is too large."),
}
# Answered 200 {} without forwarding: a change accepted that never happens.
ACCEPTING = {"accept"}
# The hostile fault's answer: {stream} is filled in. A line that would pass
# for the daemon's own, a carriage return, a window title, a bell, a screen
# clear, a C1 CSI (U+009B) and a NUL.
HOSTILE_TYPE = "HostileException\x1b[2J"
HOSTILE_MESSAGE = ("x\nkinesisd: us-east-1/{stream}: Stream {stream} is ACTIVE (forged)\r"
                   "\x1b]0;pwned\x07\x1b[2J\u009b31m\u0000end")
HOSTILE_REQUEST_ID = "rid\x1b]0;pwned\x07"
FAULTS = set(ERRORS) | CORRUPTING | ACCEPTING | {"hostile", "slow"}
# kinesis-mock's own refusal when 5 streams of any account are CREATING.
MOCK_BUSY = b"Limit for streams being created concurrently exceeded"
MOCK_BUSY_WAIT = 60.0


def log_stderr(msg):
    print("fault_proxy: %s" % msg, file=sys.stderr, flush=True)


# ---- SigV4, recomputed from scratch ------------------------------------

AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/"
                     r"aws4_request,\s*SignedHeaders=([a-z0-9;\-]+),\s*Signature=([0-9a-f]{64})$")


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def canonical_value(v):
    return " ".join(v.strip().split())


def verify_sigv4(method, path, headers, body, keys):
    """Returns (ok, akid, error). headers: list of (name, value) as received."""
    auth = [v for n, v in headers if n.lower() == "authorization"]
    if len(auth) != 1:
        return False, None, "no or several Authorization headers"
    m = AUTH_RE.match(auth[0].strip())
    if not m:
        return False, None, "malformed Authorization header"
    akid, date, region, service, signed, signature = m.groups()
    if isinstance(keys, KeysFile):
        keys.refresh()
        tokens = keys.tokens.get(akid)
        if tokens is not None and not any(n.lower() == "x-amz-security-token" and v.strip() in tokens
                                          for n, v in headers):
            return False, akid, "not a session token issued for this access key id"
    if secret_for(keys, akid) is None:
        return False, akid, "unknown access key id"
    names = signed.split(";")
    if names != sorted(names) or len(set(names)) != len(names):
        return False, akid, "SignedHeaders not sorted/unique"
    for required in ("host", "x-amz-date"):
        if required not in names:
            return False, akid, "%s not signed" % required
    by_name = {}
    for n, v in headers:
        by_name.setdefault(n.lower(), []).append(v)
    if "x-amz-security-token" in by_name and "x-amz-security-token" not in names:
        return False, akid, "session token not signed"
    lines = []
    for n in names:
        if n not in by_name:
            return False, akid, "signed header %s missing" % n
        lines.append("%s:%s\n" % (n, ",".join(canonical_value(v) for v in by_name[n])))
    amz_date = by_name["x-amz-date"][0].strip()
    if not re.match(r"^\d{8}T\d{6}Z$", amz_date) or amz_date[:8] != date:
        return False, akid, "X-Amz-Date does not match the credential scope"
    if service != "kinesis":
        return False, akid, "service %s in scope" % service
    if "?" in path:
        path, query = path.split("?", 1)
    else:
        query = ""
    if query:
        return False, akid, "unexpected query string"
    want = sigv4_signature(secret_for(keys, akid), method, path, "".join(lines), signed, body,
                           amz_date, region, service)
    if not hmac.compare_digest(want, signature):
        return False, akid, "signature mismatch"
    return True, akid, None


def sigv4_signature(secret, method, path, canonical_headers, signed, body, amz_date, region,
                    service="kinesis"):
    """The hex signature of a request (no query string)."""
    date = amz_date[:8]
    creq = "\n".join([method, path or "/", "", canonical_headers, signed,
                      hashlib.sha256(body).hexdigest()])
    scope = "%s/%s/%s/aws4_request" % (date, region, service)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode("utf-8")).hexdigest()])
    k = _hmac(("AWS4" + secret).encode("utf-8"), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    k = _hmac(k, "aws4_request")
    return hmac.new(k, sts.encode("utf-8"), hashlib.sha256).hexdigest()


class KeysFile(dict):
    """The keys of --keys-file, read again when the file changes."""

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.tokens = {}
        self.stamp = None
        self.lock = threading.Lock()

    def refresh(self):
        with self.lock:
            try:
                st = os.stat(self.path)
            except OSError:
                return
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            if stamp == self.stamp:
                return
            with open(self.path) as f:
                d = json.load(f)
            self.clear()
            self.update(d.get("keys", {}))
            self.tokens = {k: set(v) for k, v in d.get("tokens", {}).items()}
            self.stamp = stamp


def secret_for(keys, akid):
    """The secret of akid; a "*" entry in keys stands for every other akid."""
    return keys[akid] if akid in keys else keys.get("*")


def sign(akid, secret, region, host, op, body, when=None):
    """Headers for a signed Kinesis JSON request to POST / (tests drive the
    proxy with these; the same code checks them on arrival)."""
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
    headers = {"content-type": JSON_CT, "host": host, "x-amz-date": amz_date,
               "x-amz-target": TARGET_PREFIX + op}
    signed = ";".join(sorted(headers))
    canon = "".join("%s:%s\n" % (n, canonical_value(headers[n])) for n in sorted(headers))
    sig = sigv4_signature(secret, "POST", "/", canon, signed, body, amz_date, region)
    headers["authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s/%s/kinesis/aws4_request, "
                                "SignedHeaders=%s, Signature=%s"
                                % (akid, amz_date[:8], region, signed, sig))
    return headers


def scope_of(auth):
    """(akid, region) of an Authorization header, or (None, None)."""
    m = AUTH_RE.match((auth or "").strip())
    return (m.group(1), m.group(3)) if m else (None, None)


# ---- the schedule --------------------------------------------------------

class Rule:
    def __init__(self, i, d):
        self.index = i
        self.op = d.get("op") or "*"
        self.stream = d.get("stream")
        self.akid = d.get("akid")
        self.fault = str(d["fault"])
        if self.fault not in FAULTS:
            raise ValueError("rule %d: unknown fault %r" % (i, self.fault))
        self.skip = int(d.get("skip", 0))
        self.count = int(d.get("count", 1))
        self.probability = float(d.get("probability", 1.0))
        self.forward = bool(d.get("forward", self.fault in CORRUPTING))
        self.status = d.get("status")
        self.seconds = float(d.get("seconds", 1.0))
        self.seen = 0
        self.fired = 0

    def matches(self, op, stream, akid):
        return ((self.op == "*" or self.op == op) and
                (self.stream is None or self.stream == stream) and
                (self.akid is None or self.akid == akid))


class Schedule:
    def __init__(self, spec):
        self.rules = [Rule(i, r) for i, r in enumerate(spec.get("rules", []))]
        self.rng = random.Random(spec.get("seed", 1))
        self.lock = threading.Lock()

    def pick(self, op, stream, akid):
        with self.lock:
            for r in self.rules:
                if not r.matches(op, stream, akid):
                    continue
                r.seen += 1
                if r.seen <= r.skip:
                    continue
                if r.count >= 0 and r.fired >= r.count:
                    continue
                if r.probability < 1.0 and self.rng.random() >= r.probability:
                    continue
                r.fired += 1
                return r
        return None


# ---- HTTP ----------------------------------------------------------------

class ClientGone(Exception):
    pass


class Conn:
    """One client connection, served by its own thread."""

    def __init__(self, proxy, sock, number):
        self.proxy = proxy
        self.sock = sock
        self.number = number
        self.buf = b""
        self.upstream = None

    def read_more(self):
        try:
            data = self.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            raise ClientGone()
        self.buf += data

    def read_request(self):
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > MAX_HEADER:
                raise ClientGone()
            self.read_more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("iso-8859-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            raise ClientGone()
        method, path, version = parts
        headers = []
        for l in lines[1:]:
            if not l:
                continue
            if ":" not in l:
                raise ClientGone()
            n, v = l.split(":", 1)
            headers.append((n.strip(), v.strip()))
        hd = {n.lower(): v for n, v in headers}
        if hd.get("expect", "").lower() == "100-continue":
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in hd.get("transfer-encoding", "").lower():
            body = self.read_chunked()
        else:
            n = int(hd.get("content-length", "0") or 0)
            if n < 0 or n > MAX_REQUEST:
                raise ClientGone()
            while len(self.buf) < n:
                self.read_more()
            body, self.buf = self.buf[:n], self.buf[n:]
        keep = not (hd.get("connection", "").lower() == "close" or version == "HTTP/1.0")
        return method, path, headers, body, keep

    def read_chunked(self):
        body = b""
        while True:
            while b"\r\n" not in self.buf:
                self.read_more()
            line, self.buf = self.buf.split(b"\r\n", 1)
            size = int(line.split(b";")[0], 16)
            while len(self.buf) < size + 2:
                self.read_more()
            body += self.buf[:size]
            self.buf = self.buf[size + 2:]
            if size == 0:
                return body
            if len(body) > MAX_REQUEST:
                raise ClientGone()

    def forward(self, method, path, headers, body):
        """Returns (status, reason, headers, body) from the mock. With
        --limits, a CreateStream the mock refuses for its own count of
        streams CREATING (over every account and region: AWS counts per
        account, and the proxy has already checked that) is sent again
        until the mock takes it, for up to MOCK_BUSY_WAIT seconds."""
        strict = self.proxy.strict
        since = strict.clock() if strict is not None else None
        deadline = time.monotonic() + MOCK_BUSY_WAIT
        while True:
            ans = self.forward_once(method, path, headers, body)
            if (strict is None or ans[0] != 400 or MOCK_BUSY not in ans[3] or
                    time.monotonic() >= deadline or self.proxy.stopping.is_set()):
                break
            time.sleep(0.05)
        if strict is not None:
            hd = {n.lower(): v for n, v in headers}
            target = hd.get("x-amz-target", "")
            akid, region = scope_of(hd.get("authorization"))
            strict.learn_answer(target[len(TARGET_PREFIX):], akid, region, body, ans[0], ans[3], since)
        return ans

    def forward_once(self, method, path, headers, body):
        for attempt in (1, 2):
            try:
                if self.upstream is None:
                    self.upstream = http.client.HTTPConnection("127.0.0.1", self.proxy.upstream_port,
                                                               timeout=30)
                fwd = {n: v for n, v in headers if n.lower() not in HOP_BY_HOP}
                self.upstream.request(method, path, body=body, headers=fwd)
                r = self.upstream.getresponse()
                data = r.read()
                return r.status, r.reason, [(n, v) for n, v in r.getheaders()
                                             if n.lower() not in HOP_BY_HOP], data
            except (OSError, http.client.HTTPException) as e:
                try:
                    self.upstream.close()
                except Exception:
                    pass
                self.upstream = None
                if attempt == 2:
                    return 502, "Bad Gateway", [("Content-Type", JSON_CT)], json.dumps(
                        {"__type": "InternalFailure", "message": "upstream: %s" % e}).encode()
        raise AssertionError("unreachable")

    def send(self, status, reason, headers, body, keep):
        out = ["HTTP/1.1 %d %s" % (status, reason)]
        for n, v in headers:
            out.append("%s: %s" % (n, v))
        out.append("Content-Length: %d" % len(body))
        if not keep:
            out.append("Connection: close")
        data = ("\r\n".join(out) + "\r\n\r\n").encode("iso-8859-1") + body
        self.sock.sendall(data)

    def head_bytes(self, status, reason, headers, length):
        out = ["HTTP/1.1 %d %s" % (status, reason)]
        out += ["%s: %s" % (n, v) for n, v in headers]
        out.append("Content-Length: %d" % length)
        return ("\r\n".join(out) + "\r\n\r\n").encode("iso-8859-1")

    def reset(self):
        """Abort the connection with a RST."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    def stall(self, seconds):
        """Hold the connection without answering; returns (client_closed, held)."""
        t0 = time.monotonic()
        deadline = t0 + seconds
        while not self.proxy.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False, time.monotonic() - t0
            r, _, _ = select.select([self.sock], [], [], min(left, 0.2))
            if r:
                try:
                    data = self.sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    return True, time.monotonic() - t0
        return False, time.monotonic() - t0

    def serve(self):
        try:
            while not self.proxy.stopping.is_set():
                try:
                    req = self.read_request()
                except (ClientGone, ValueError):
                    return
                if not self.handle(*req):
                    return
        finally:
            try:
                self.sock.close()
            except OSError:
                pass
            if self.upstream:
                self.upstream.close()
            self.proxy.forget(self)

    def handle(self, method, path, headers, body, keep):
        """One request. Returns False when the connection is done."""
        p = self.proxy
        t = time.monotonic()
        seq = p.next_seq()
        hd = {}
        for n, v in headers:
            hd.setdefault(n.lower(), v)
        target = hd.get("x-amz-target", "")
        op = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else target or None
        stream = None
        try:
            doc = json.loads(body.decode("utf-8")) if body else {}
            if isinstance(doc, dict):
                stream = doc.get("StreamName")
                if not stream and isinstance(doc.get("StreamARN"), str):
                    stream = doc["StreamARN"].rsplit("/", 1)[-1]
        except (ValueError, UnicodeDecodeError):
            pass
        ok, akid, sig_error = verify_sigv4(method, path, headers, body, p.keys)
        entry = {"seq": seq, "t": t, "conn": self.number, "method": method, "op": op,
                 "stream": stream, "akid": akid, "amz_date": hd.get("x-amz-date"),
                 "has_token": "x-amz-security-token" in hd, "sig_ok": ok, "sig_error": sig_error,
                 "fault": None, "rule": None, "status": None, "upstream_status": None,
                 "error_type": None, "body_sha256": hashlib.sha256(body).hexdigest(),
                 "body_len": len(body), "content_type": hd.get("content-type"),
                 "signature": signature_of(hd.get("authorization", ""))}
        if p.strict is not None:
            entry["refused"] = None
        try:
            return self.answer(entry, method, path, headers, body, keep, op, stream, akid, ok)
        finally:
            entry["t_end"] = time.monotonic()
            p.record(entry)

    def answer(self, entry, method, path, headers, body, keep, op, stream, akid, sig_ok):
        p = self.proxy
        rid = "fault-%08d" % entry["seq"]
        if not sig_ok:
            p.count_mismatch()
            entry["error_type"] = "InvalidSignatureException"
            entry["status"] = 403
            msg = ("The request signature we calculated does not match the signature you "
                   "provided (fault proxy: %s)" % entry["sig_error"])
            self.send(403, "Forbidden", [("Content-Type", JSON_CT), ("x-amzn-RequestId", rid)],
                      json.dumps({"__type": "InvalidSignatureException", "message": msg}).encode(), keep)
            return keep
        if p.strict is None:
            return self.scheduled(entry, method, path, headers, body, keep, op, stream, akid)
        _, region = scope_of(dict((n.lower(), v) for n, v in headers).get("authorization"))
        with p.strict.serial(op, akid, region):
            p.strict.local.asked = 0
            verdict = p.strict.admit(op, akid, region, body)
            entry["t_verdict"] = time.monotonic()
            entry["asked"] = p.strict.local.asked
            if isinstance(verdict, aws_limits.Refusal):
                p.strict.count_refusal(akid, op)
                entry["refused"] = verdict.reason()
                entry["status"] = 400
                entry["error_type"] = verdict.error_type
                self.send(400, "Bad Request",
                          [("Content-Type", JSON_CT), ("x-amzn-RequestId", rid),
                           ("x-amzn-ErrorType", verdict.error_type + ":")],
                          json.dumps({"__type": verdict.error_type,
                                      "message": verdict.message}).encode(), keep)
                return keep
            try:
                return self.scheduled(entry, method, path, headers, body, keep, op, stream, akid)
            finally:
                p.strict.done(verdict, op, akid, region, body, entry.get("upstream_status"))

    def scheduled(self, entry, method, path, headers, body, keep, op, stream, akid):
        """The request as the fault schedule has it: forwarded, or faulted."""
        p = self.proxy
        rid = "fault-%08d" % entry["seq"]
        rule = p.schedule.pick(op, stream, akid)
        if rule is not None and rule.fault == "slow":
            entry["fault"] = rule.fault
            entry["rule"] = rule.index
            time.sleep(rule.seconds)
            rule = None
        if rule is None and op == "ListStreams" and p.list_summaries:
            _, region = scope_of(dict((n.lower(), v) for n, v in headers).get("authorization"))
            status, doc = p.strict.list_page(akid, region, _json_object(body))
            entry["upstream_status"] = entry["status"] = status
            if status != 200:
                entry["error_type"] = doc["__type"]
            elif doc["StreamNames"]:  # the names the page confirmed, first and last
                entry["listed"] = [doc["StreamNames"][0], doc["StreamNames"][-1]]
            self.send(status, http.client.responses.get(status, "Error"),
                      [("Content-Type", JSON_CT), ("x-amzn-RequestId", rid)]
                      + ([("x-amzn-ErrorType", doc["__type"] + ":")] if status != 200 else []),
                      json.dumps(doc).encode(), keep)
            return keep
        if rule is None:
            status, reason, rh, data = self.forward(method, path, headers, body)
            entry["upstream_status"] = status
            entry["status"] = status
            entry["error_type"] = error_type_of(rh, data) if status >= 300 else None
            self.send(status, reason, rh, data, keep)
            return keep

        entry["fault"] = rule.fault
        entry["rule"] = rule.index
        f = rule.fault
        if f in ERRORS:
            status, etype, msg = ERRORS[f]
            if rule.status:
                status = int(rule.status)
            if rule.forward:
                st, _, _, _ = self.forward(method, path, headers, body)
                entry["upstream_status"] = st
            now = time.gmtime()
            msg = msg.format(stream=stream or "-", op=op or "-",
                             amz_date=entry["amz_date"] or "-",
                             later=time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 300)),
                             now=time.strftime("%Y%m%dT%H%M%SZ", now))
            entry["status"] = status
            entry["error_type"] = etype
            self.send(status, http.client.responses.get(status, "Error"),
                      [("Content-Type", JSON_CT), ("x-amzn-RequestId", rid),
                       ("x-amzn-ErrorType", etype + ":")],
                      json.dumps({"__type": etype, "message": msg}).encode(), keep)
            return keep

        if f == "hostile":
            entry["status"] = 400
            entry["error_type"] = HOSTILE_TYPE
            self.send(400, "Bad Request",
                      [("Content-Type", JSON_CT), ("x-amzn-RequestId", HOSTILE_REQUEST_ID),
                       ("x-amzn-ErrorType", HOSTILE_TYPE + ":")],
                      json.dumps({"__type": HOSTILE_TYPE,
                                  "message": HOSTILE_MESSAGE.format(stream=stream or "-")}).encode(), keep)
            return keep

        if f in ACCEPTING:
            entry["status"] = 200
            self.send(200, "OK", [("Content-Type", JSON_CT), ("x-amzn-RequestId", rid)], b"{}", keep)
            return keep

        # The answer-corrupting faults: the real answer first (or a plausible one).
        if rule.forward:
            status, reason, rh, data = self.forward(method, path, headers, body)
            entry["upstream_status"] = status
            entry["error_type"] = error_type_of(rh, data) if status >= 300 else None
            if status >= 300 and f in ("truncated", "malformed", "oversized", "html"):
                # Corrupt successful answers only: an AWS error answer the
                # client cannot read is a client error it must not retry, which
                # is another test. The rule still counts as fired.
                entry["fault"] = None
                entry["fault_skipped"] = f
                entry["status"] = status
                self.send(status, reason, rh, data, keep)
                return keep
        else:
            status, reason, rh, data = 200, "OK", [("Content-Type", JSON_CT)], json.dumps(
                {"injected": "x" * 64}).encode()
        rh = [(n, v) for n, v in rh if n.lower() != "x-amzn-requestid"] + [("x-amzn-RequestId", rid)]

        if f == "stall":
            p.stall_begins(entry)
            try:
                closed, held = self.stall(p.stall_seconds)
            finally:
                p.stall_ends(entry)
            entry["client_closed"] = closed
            entry["held"] = round(held, 3)
            return False
        if f in ("reset", "short-body"):
            if len(data) < 2:
                data = data + b" " * (64 - len(data))
            cut = max(1, len(data) // 2)
            try:
                self.sock.sendall(self.head_bytes(status, reason, rh, len(data)) + data[:cut])
                time.sleep(0.05)  # let the client read the part before the abort
            except OSError:
                pass
            entry["status"] = status
            entry["sent_bytes"] = cut
            if f == "reset":
                self.reset()
            else:
                try:
                    self.sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
            return False
        ct = [(n, v) for n, v in rh if n.lower() != "content-type"]
        if f == "truncated":
            out = data[:max(1, len(data) // 2)] if data else b'{"Stream'
            entry["status"] = status
            self.send(status, reason, rh, out, keep)
            return keep
        if f == "malformed":
            entry["status"] = 200
            self.send(200, "OK", rh, b'{"StreamDescriptionSummary": {"StreamName": ,,, ]', keep)
            return keep
        if f == "oversized":
            pad = b'{"Padding": "' + b"A" * (1024 * 1024 + 4096) + b'"}'
            entry["status"] = 200
            entry["sent_len"] = len(pad)
            try:
                self.send(200, "OK", rh, pad, keep)
            except OSError:
                return False
            return keep
        if f == "html":
            st = int(rule.status) if rule.status else 200
            page = (b"<!DOCTYPE html>\n<html><head><title>Maintenance</title></head>"
                    b"<body><h1>Down for maintenance</h1></body></html>\n")
            entry["status"] = st
            self.send(st, http.client.responses.get(st, "OK"), ct + [("Content-Type", "text/html")],
                      page, keep)
            return keep
        raise AssertionError(f)


def signature_of(auth):
    m = re.search(r"Signature=([0-9a-f]+)", auth)
    return m.group(1) if m else None


def error_type_of(headers, data):
    for n, v in headers:
        if n.lower() == "x-amzn-errortype":
            return v.split(":")[0].split("#")[-1]
    try:
        t = json.loads(data.decode("utf-8")).get("__type")
        return t.split("#")[-1] if t else None
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None


def _json_object(body):
    try:
        doc = json.loads(body.decode("utf-8")) if body else {}
    except (ValueError, UnicodeDecodeError):
        return {}
    return doc if isinstance(doc, dict) else {}


class Strict:
    """--limits: every request goes through aws_limits before the schedule.
    What the model needs to know about the account (streams CREATING or
    DELETING, open shards, consumers) is asked of the mock directly, signed
    as the account but never counted against it."""

    BUSY = ("CREATING", "DELETING")
    SETTLED_TTL = 5.0       # the refresher asks again about a settled stream this old
    SETTLED_MAX_AGE = 30.0  # a question asks again about one this old itself
    SETTLED_REASK = 20
    UNKNOWN_ASK = 100
    REFRESH_EVERY = 1.0     # seconds between the refresher's rounds...
    REFRESH_REASK = 10      # ...of at most this many questions (the mock limits its own rate)
    REFRESH_FOR = 30.0      # it refreshes an account this long after its last question
    # The operations whose answer (from the mock, forwarded) says what
    # state a stream is in.
    EVIDENCE = ("CreateStream", "DeleteStream", "DescribeStreamSummary", "DescribeStream")

    def __init__(self, upstream_port, clock=time.monotonic):
        self.clock = clock
        self.model = aws_limits.Limits(clock)
        self.port = upstream_port
        self.lock = threading.Lock()
        self.scope_locks = {}
        self.by_akid = {}
        self.by_op = {}
        # consumers registered through here and not yet seen ACTIVE:
        # (account, region) -> {(stream ARN, consumer name)}
        self.pending_consumers = {}
        # The book: (account, region) -> {stream: (status, since)}, since the
        # clock when the question that saw it was asked (see learn()).
        self.book = {}
        self.questioned = {}  # (account, region) -> when its busy streams were last counted
        self.refresher = None
        self.stopping = threading.Event()
        self.local = threading.local()

    def serial(self, op, account, region):
        """Operations whose limit depends on what the account holds are
        admitted one at a time per account and region (observe, decide,
        forward), so two of them cannot both see room for one more."""
        if not aws_limits.needs(op):
            return contextlib.nullcontext()
        with self.lock:
            return self.scope_locks.setdefault((account, region), threading.Lock())

    def ask(self, account, region, op, req):
        """One call to the mock as the account (over a keep-alive connection
        of this thread's own); the answer, or None."""
        self.local.asked = getattr(self.local, "asked", 0) + 1
        for attempt in (1, 2):
            c = getattr(self.local, "conn", None)
            if c is None:
                c = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                c.request("POST", "/", body=json.dumps(req).encode(), headers={
                    "Content-Type": JSON_CT, "X-Amz-Target": TARGET_PREFIX + op,
                    "X-Amz-Date": "20150830T123600Z",
                    "Authorization": "AWS4-HMAC-SHA256 Credential=%s/20150830/%s/kinesis/"
                                     "aws4_request, SignedHeaders=host, Signature=00"
                                     % (account, region)})
                r = c.getresponse()
                data = r.read()
                self.local.error = None if r.status == 200 else error_type_of(r.getheaders(), data)
                return json.loads(data or b"{}") if r.status == 200 else None
            except (OSError, http.client.HTTPException, ValueError):
                c.close()
                self.local.conn = None
        return None

    def stream_names(self, account, region):
        names, start = [], None
        while True:
            req = {"Limit": 1000}
            if start:
                req["ExclusiveStartStreamName"] = start
            ans = self.ask(account, region, "ListStreams", req) or {}
            got = ans.get("StreamNames") or []
            names += got
            if not ans.get("HasMoreStreams") or not got:
                return names
            start = got[-1]

    def summary(self, account, region, body):
        req = {k: body[k] for k in ("StreamName", "StreamARN") if isinstance(body.get(k), str)}
        ans = self.ask(account, region, "DescribeStreamSummary", req) if req else None
        return (ans or {}).get("StreamDescriptionSummary") or {}

    LIST_PAGE_MAX = 100  # AWS returns at most 100 streams per ListStreams call
    TOKEN_PREFIX = "fault-proxy-list:"

    def list_page(self, account, region, body):
        """--list-summaries: ListStreams as AWS answers it, from the mock's
        names: at most 100 a page, StreamSummaries (name, ARN, status, mode,
        creation time) beside StreamNames, and a NextToken (opaque to the
        client) when HasMoreStreams. Returns (status, answer)."""
        limit, token = body.get("Limit", 100), body.get("NextToken")
        start = body.get("ExclusiveStartStreamName")
        if not isinstance(limit, int) or not 1 <= limit <= 10000:
            return 400, {"__type": "ValidationException", "message": "Limit must be within [1, 10000]"}
        if token is not None:
            if not isinstance(token, str) or not token.startswith(self.TOKEN_PREFIX) or start is not None:
                return 400, {"__type": "InvalidArgumentException", "message": "bad NextToken"}
            start = bytes.fromhex(token[len(self.TOKEN_PREFIX):]).decode()
        limit = min(limit, self.LIST_PAGE_MAX)
        req = {"Limit": limit}
        if start:
            req["ExclusiveStartStreamName"] = start
        ans = self.ask(account, region, "ListStreams", req)
        if ans is None:
            return 500, {"__type": "InternalFailure", "message": "the mock did not list"}
        names = (ans.get("StreamNames") or [])[:limit]
        sums = []
        for name in names:
            asked = self.clock()
            d = self.summary_retried(account, region, name)
            if not d:  # gone between the two questions
                continue
            self.learn(account, region, name, d.get("StreamStatus"), asked)
            sums.append({k: d[k] for k in ("StreamName", "StreamARN", "StreamStatus",
                                           "StreamModeDetails", "StreamCreationTimestamp") if k in d})
        more = bool(ans.get("HasMoreStreams")) or len(ans.get("StreamNames") or []) > limit
        doc = {"StreamNames": [x["StreamName"] for x in sums], "StreamSummaries": sums,
               "HasMoreStreams": more}
        if more and names:
            doc["NextToken"] = self.TOKEN_PREFIX + names[-1].encode().hex()
        return 200, doc

    def summary_retried(self, account, region, name):
        """DescribeStreamSummary of the mock, past its own rate limit; {} when
        the stream is not there."""
        for _ in range(100):
            self.local.asked = getattr(self.local, "asked", 0) + 1
            c = getattr(self.local, "conn", None)
            if c is None:
                c = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                c.request("POST", "/", body=json.dumps({"StreamName": name}).encode(), headers={
                    "Content-Type": JSON_CT, "X-Amz-Target": TARGET_PREFIX + "DescribeStreamSummary",
                    "X-Amz-Date": "20150830T123600Z",
                    "Authorization": "AWS4-HMAC-SHA256 Credential=%s/20150830/%s/kinesis/"
                                     "aws4_request, SignedHeaders=host, Signature=00" % (account, region)})
                r = c.getresponse()
                data = r.read()
            except (OSError, http.client.HTTPException):
                c.close()
                self.local.conn = None
                continue
            if r.status == 200:
                return json.loads(data).get("StreamDescriptionSummary") or {}
            if b"LimitExceeded" not in data:
                return {}
            time.sleep(0.02)
        return {}

    def learn(self, account, region, stream, status, since):
        """The mock said stream was in status, answering a question asked at
        since (this proxy's clock). Evidence older than what the book has
        for the stream is ignored: an answer that overtook a later one
        must not undo it."""
        if not isinstance(stream, str) or not stream or not isinstance(status, str):
            return
        with self.lock:
            book = self.book.setdefault((account, region), {})
            old = book.get(stream)
            if old is None or since >= old[1]:
                book[stream] = (status, since)

    def learn_answer(self, op, account, region, body, status, data, since):
        """What an answer of the mock that this proxy forwarded (asked at
        since) says about the stream it names: an accepted CreateStream
        makes it CREATING, an accepted DeleteStream DELETING, and a
        DescribeStreamSummary or DescribeStream shows its status."""
        if op not in self.EVIDENCE or status != 200:
            return
        stream = aws_limits.stream_of(_json_object(body))
        if op == "CreateStream":
            self.learn(account, region, stream, "CREATING", since)
        elif op == "DeleteStream":
            self.learn(account, region, stream, "DELETING", since)
        else:
            doc = _json_object(data)
            d = doc.get("StreamDescriptionSummary") or doc.get("StreamDescription")
            if isinstance(d, dict):
                self.learn(account, region, d.get("StreamName") or stream, d.get("StreamStatus"), since)

    def refresh(self, account, region, names):
        """Ask the mock about each of names and write what it says in the
        book (a stream it no longer has leaves the book; one it would not
        answer about keeps its entry)."""
        for name in names:
            since = self.clock()
            self.local.error = None
            status = self.summary(account, region, {"StreamName": name}).get("StreamStatus")
            if status is not None:
                self.learn(account, region, name, status, since)
            elif self.local.error == "ResourceNotFoundException":
                with self.lock:
                    self.book.get((account, region), {}).pop(name, None)

    def stale(self, account, region, age, now, most):
        """The streams the book has settled on evidence older than age, the
        stalest first, at most most."""
        with self.lock:
            old = sorted((at, x) for x, (st, at) in self.book.get((account, region), {}).items()
                         if st not in self.BUSY and now - at > age)
        return [x for _, x in old[:most]]

    def start_refresher(self):
        with self.lock:
            if self.refresher is None:
                self.refresher = threading.Thread(target=self.refresh_loop, daemon=True)
                self.refresher.start()

    def refresh_loop(self):
        """The refresher: keeps the book's settled streams of the accounts
        questioned lately within SETTLED_TTL (plus a round) of the mock."""
        while not self.stopping.wait(self.REFRESH_EVERY):
            now = self.clock()
            with self.lock:
                scopes = [k for k, at in self.questioned.items() if now - at < self.REFRESH_FOR]
            for account, region in scopes:
                self.refresh(account, region,
                             self.stale(account, region, self.SETTLED_TTL, now, self.REFRESH_REASK))

    def stop(self):
        self.stopping.set()

    def book_busy(self, account, region):
        """The streams the book has CREATING or DELETING."""
        with self.lock:
            return [x for x, (st, _) in self.book.get((account, region), {}).items() if st in self.BUSY]

    def busy_streams(self, account, region):
        """Streams CREATING or DELETING in the account now, by the book,
        which can only count too many (a stream it saw busy may be done
        since) or, behind this proxy's back, too few:
          - the account's streams are listed (one ListStreams for up to
            1,000): a stream not in the book (it existed before this
            proxy, or was created behind its back) is asked about, at most
            UNKNOWN_ASK of them per question (an account filled out of band
            with thousands of ACTIVE streams must not stall the proxy; the
            rest count as settled until their turn); one no longer listed
            leaves the book;
          - a stream the book has settled (ACTIVE, UPDATING) is asked
            again once its evidence is SETTLED_TTL old, the stalest first,
            by a refresher thread (REFRESH_REASK every REFRESH_EVERY seconds
            for REFRESH_FOR seconds after a question, off the path of the
            requests), and by the question itself (at most SETTLED_REASK)
            once it is SETTLED_MAX_AGE old (after a quiet spell):
            only a DeleteStream behind this proxy's back makes it busy (one
            through here is in the book);
          - a stream the book has busy is not asked about, unless the count
            reaches the limit: then every busy one is asked again before
            the count is believed (a refusal is never made on stale
            evidence).
        Evidence comes from this proxy's own questions and from every
        answer of the mock it forwards (learn_answer)."""
        now = self.clock()
        self.start_refresher()
        names = self.stream_names(account, region)
        listed = set(names)
        with self.lock:
            self.questioned[(account, region)] = now
            book = self.book.setdefault((account, region), {})
            for gone in [x for x in book if x not in listed]:
                del book[gone]
        ask = [x for x in names if x not in book][:self.UNKNOWN_ASK]
        ask += self.stale(account, region, self.SETTLED_MAX_AGE, now, self.SETTLED_REASK)
        self.refresh(account, region, ask)
        busy = self.book_busy(account, region)
        if len(busy) >= aws_limits.MAX_BUSY_STREAMS:
            self.refresh(account, region, busy)
            busy = self.book_busy(account, region)
        return len(busy)

    def consumers(self, account, region, arn):
        out, token = [], None
        while True:
            req = {"NextToken": token} if token else {"StreamARN": arn}
            ans = self.ask(account, region, "ListStreamConsumers", req) or {}
            out += ans.get("Consumers") or []
            token = ans.get("NextToken")
            if not token:
                return out

    def creating_consumers(self, account, region):
        with self.lock:
            pending = set(self.pending_consumers.get((account, region), ()))
        still = set()
        for arn, name in pending:
            ans = self.ask(account, region, "DescribeStreamConsumer",
                           {"StreamARN": arn, "ConsumerName": name}) or {}
            if (ans.get("ConsumerDescription") or {}).get("ConsumerStatus") == "CREATING":
                still.add((arn, name))
        with self.lock:
            self.pending_consumers[(account, region)] = (
                self.pending_consumers.get((account, region), set()) - pending) | still
        return len(still)

    def facts(self, op, account, region, body):
        want = aws_limits.needs(op)
        facts = {}
        if "busy_streams" in want:
            facts["busy_streams"] = self.busy_streams(account, region)
        if "open_shards" in want:
            facts["open_shards"] = self.summary(account, region, body).get("OpenShardCount")
        if "stream_consumers" in want and isinstance(body.get("StreamARN"), str):
            facts["stream_consumers"] = len(self.consumers(account, region, body["StreamARN"]))
        if "creating_consumers" in want:
            facts["creating_consumers"] = self.creating_consumers(account, region)
        return facts

    def admit(self, op, account, region, body):
        doc = _json_object(body)
        return self.model.admit(op, account, region, doc, self.facts(op, account, region, doc))

    def done(self, verdict, op, account, region, body, upstream_status):
        ok = upstream_status is not None and 200 <= upstream_status < 300
        self.model.done(verdict, ok)
        if ok and op == "RegisterStreamConsumer":
            doc = _json_object(body)
            key = (doc.get("StreamARN"), doc.get("ConsumerName"))
            if not all(isinstance(k, str) for k in key):
                return
            with self.lock:
                self.pending_consumers.setdefault((account, region), set()).add(key)

    def count_refusal(self, akid, op):
        with self.lock:
            self.by_akid[akid] = self.by_akid.get(akid, 0) + 1
            self.by_op[op] = self.by_op.get(op, 0) + 1

    def refusals(self):
        with self.lock:
            return {"total": sum(self.by_op.values()), "by_akid": dict(self.by_akid),
                    "by_op": dict(self.by_op)}


class Proxy:
    def __init__(self, a, schedule, keys):
        self.upstream_port = a.upstream_port
        self.schedule = schedule
        self.keys = keys
        self.stall_seconds = a.stall_seconds
        self.log_path = a.log
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.seq = 0
        self.conns = {}
        self.n_conns = 0
        self.mismatches = 0
        self.requests = 0
        self.faults = {}
        self.stalling = {}  # seq -> rule index of the stalls in progress
        self.strict = Strict(a.upstream_port) if getattr(a, "limits", False) else None
        # AWS-shaped ListStreams answers (Strict.list_page): needs --limits.
        self.list_summaries = self.strict is not None and getattr(a, "list_summaries", False)
        self.log = open(a.log, "a", buffering=1)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]

    def next_seq(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def count_mismatch(self):
        with self.lock:
            self.mismatches += 1

    def record(self, entry):
        with self.lock:
            self.requests += 1
            if entry["fault"]:
                self.faults[entry["fault"]] = self.faults.get(entry["fault"], 0) + 1
            self.log.write(json.dumps(entry, sort_keys=True) + "\n")

    def _write_active(self):
        tmp = self.log_path + ".active.tmp"
        with open(tmp, "w") as f:
            f.write("".join("%d\n" % r for r in sorted(self.stalling.values())))
        os.rename(tmp, self.log_path + ".active")

    def stall_begins(self, entry):
        with self.lock:
            self.stalling[entry["seq"]] = entry["rule"]
            self._write_active()

    def stall_ends(self, entry):
        with self.lock:
            self.stalling.pop(entry["seq"], None)
            self._write_active()

    def forget(self, conn):
        with self.lock:
            self.conns.pop(conn.number, None)

    def accept_loop(self):
        self.listener.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                s, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            s.settimeout(None)
            with self.lock:
                self.n_conns += 1
                c = Conn(self, s, self.n_conns)
                self.conns[c.number] = c
            threading.Thread(target=c.serve, daemon=True).start()

    def shutdown(self):
        self.stopping.set()
        try:
            self.listener.close()
        except OSError:
            pass
        with self.lock:
            conns = list(self.conns.values())
        for c in conns:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        with self.lock:
            summary = {
                "requests": self.requests, "connections": self.n_conns,
                "mismatches": self.mismatches, "faults": self.faults,
                "rules": [{"index": r.index, "fault": r.fault, "seen": r.seen, "fired": r.fired}
                          for r in self.schedule.rules]}
            if self.strict is not None:
                summary["refused"] = self.strict.refusals()
                self.strict.stop()
            self.log.write(json.dumps({"summary": summary}) + "\n")
            self.log.close()


def main():
    ap = argparse.ArgumentParser(description="fault-injecting front for kinesis-mock")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--upstream-port", type=int)
    g.add_argument("--upstream-port-file")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    s = ap.add_mutually_exclusive_group()
    s.add_argument("--schedule", help="JSON schedule file")
    s.add_argument("--schedule-json", help="JSON schedule text")
    k = ap.add_mutually_exclusive_group()
    k.add_argument("--keys-json", help='{"AKID": "secret", ...} (default: the test key)')
    k.add_argument("--keys-file", help='{"keys": {"AKID": "secret"}, "tokens": {...}}, read when it changes')
    ap.add_argument("--max-seconds", type=float, default=150.0)
    ap.add_argument("--stall-seconds", type=float, default=40.0)
    ap.add_argument("--limits", action="store_true",
                    help="refuse what AWS's control-plane limits would (aws_limits.py)")
    ap.add_argument("--list-summaries", action="store_true",
                    help="with --limits: answer ListStreams as AWS does (StreamSummaries, NextToken, "
                         "100 a page)")
    a = ap.parse_args()

    if a.upstream_port_file:
        with open(a.upstream_port_file) as f:
            a.upstream_port = int(f.read().strip())
    spec = {}
    if a.schedule:
        with open(a.schedule) as f:
            spec = json.load(f)
    elif a.schedule_json:
        spec = json.loads(a.schedule_json)
    if a.keys_file:
        keys = KeysFile(a.keys_file)
    else:
        keys = json.loads(a.keys_json) if a.keys_json else dict(DEFAULT_KEYS)
    proxy = Proxy(a, Schedule(spec), keys)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    t = threading.Thread(target=proxy.accept_loop, daemon=True)
    t.start()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % proxy.port)
    os.rename(tmp, a.port_file)
    deadline = time.monotonic() + a.max_seconds
    while not done.is_set():
        if time.monotonic() >= deadline:
            log_stderr("stopping after %.0f s" % a.max_seconds)
            break
        done.wait(0.2)
    proxy.shutdown()
    t.join(2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
