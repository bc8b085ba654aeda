#!/usr/bin/env python3
"""A fake AWS endpoint on 127.0.0.1 for the AWS client tests.

  fake_aws.py --mode kinesis|container|imds --log FILE [options]

Prints "PORT" on the first line of stdout once listening, then serves until
killed. Every request is appended to FILE as one JSON line: arrival time
(monotonic), method, path, target, access key id, whether a session token
came, selected headers (never a signature); and when the answer to it left,
as a line {"answered": N, "t": monotonic time}.

kinesis mode: the first --fail N requests (-1: all) get the --with answer:
  throttle, limit-rate, limit-quota, 500, 503, client, expired, garbage,
  timeout (sleep --sleep s, then answer), huge (a body over 1 MiB),
  trickle (the headers of a 200 at once, then its body a byte every --sleep s).
Requests signed with --expired-akid get ExpiredTokenException. Otherwise
DescribeStreamSummary gets a summary of the named stream, others "{}".
With --on-demand the streams are on-demand and keep a record distribution
strategy (USER_PARTITION_KEY at first): UpdateStreamRecordDistributionStrategy
(StreamARN, RecordDistributionStrategy AUTO or USER_PARTITION_KEY) sets it,
DescribeStreamSummary reports it as RecordDistributionStrategy.

container mode: GET answers credentials (--akid, --lifetime s) if the
Authorization header equals --token (when given), else 403.

imds mode: PUT /latest/api/token (needs the TTL header) gives a token;
GET .../security-credentials/ (needs the token) gives "test-role";
GET .../security-credentials/test-role gives credentials.
"""
import argparse
import datetime
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"count": 0}
ARGS = None


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, body):
        auth = self.headers.get("Authorization", "")
        m = re.search(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request", auth)
        entry = {
            "t": time.monotonic(),
            "method": self.command,
            "path": self.path,
            "target": self.headers.get("X-Amz-Target"),
            "akid": m.group(1) if m else None,
            "region": m.group(2) if m else None,
            "service": m.group(3) if m else None,
            "has_token": "X-Amz-Security-Token" in self.headers,
            "authorization_present": bool(auth),
            "imds_ttl": self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"),
            "imds_token": self.headers.get("X-aws-ec2-metadata-token"),
            "host": self.headers.get("Host"),
            "ctype": self.headers.get("Content-Type"),
            "amz_date": self.headers.get("X-Amz-Date"),
            "user_agent": self.headers.get("User-Agent"),
            "body": body.decode("utf-8", "replace")[:2000],
        }
        with LOCK:
            STATE["count"] += 1
            n = STATE["count"]
            with open(ARGS.log, "a") as f:
                f.write(json.dumps(entry) + "\n")
        self.n = n
        return n, entry

    def answered(self):
        """Log when the answer to request n left: the time between it and the
        next arrival is the client's alone, whatever this server's speed."""
        with LOCK:
            with open(ARGS.log, "a") as f:
                f.write(json.dumps({"answered": self.n, "t": time.monotonic()}) + "\n")

    def send(self, status, body, ctype="application/x-amz-json-1.1", headers=None):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "req-%d" % STATE["count"])
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        self.answered()

    def trickle(self, data):
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.flush()
        try:
            for i in range(len(data)):
                time.sleep(ARGS.sleep)
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
        except OSError:
            self.close_connection = True
            return
        self.answered()

    def err(self, status, typ, msg, header_form=False):
        if header_form:
            # The header form carries a ":url" suffix; the body names none.
            self.send(status, json.dumps({"message": msg}),
                      headers={"x-amzn-ErrorType": typ + ":http://internal.example/"})
        else:
            self.send(status, json.dumps({"__type": "com.amazonaws.kinesis.v20131202#" + typ,
                                          "message": msg}))

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_POST(self):
        body = self.read_body()
        n, e = self.record(body)
        if ARGS.mode != "kinesis":
            return self.send(405, "{}")
        if ARGS.expired_akid and e["akid"] == ARGS.expired_akid:
            return self.err(400, "ExpiredTokenException", "The security token included in the request is expired")
        if ARGS.fail < 0 or n <= ARGS.fail:
            w = ARGS.with_
            if w == "throttle":
                return self.err(400, "ThrottlingException", "Rate exceeded", header_form=True)
            if w == "limit-rate":
                return self.err(400, "LimitExceededException", "Rate exceeded for stream s")
            if w == "limit-quota":
                return self.err(400, "LimitExceededException", "This request would exceed the shard limit")
            if w in ("500", "503"):
                return self.send(int(w), json.dumps({"__type": "InternalFailure", "message": "boom"})
                                 if w == "500" else "Service Unavailable", "text/plain" if w == "503" else
                                 "application/x-amz-json-1.1")
            if w == "client":
                return self.err(400, "ValidationException", "1 validation error detected")
            if w == "expired":
                return self.err(400, "ExpiredTokenException", "expired")
            if w == "garbage":
                return self.send(200, '{"StreamDescriptionSummary": {"StreamName": ')
            if w == "timeout":
                time.sleep(ARGS.sleep)
            if w == "trickle":
                return self.trickle(json.dumps({"StreamNames": [], "HasMoreStreams": False,
                                                 "Padding": "x" * 200}).encode())
            if w == "huge":
                return self.send(200, '{"x":"' + "a" * (1024 * 1024 + 100) + '"}')
        target = (e["target"] or "").split(".")[-1]
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return self.err(400, "SerializationException", "bad json")
        if target == "ListStreams":
            # The real service's shape: StreamSummaries and NextToken (an index here).
            names = ["stream-%d" % i for i in range(5)]
            if "NextToken" in req and len(req) != 1:
                return self.err(400, "InvalidArgumentException", "NextToken with other parameters")
            start = int(req.get("NextToken", "0"))
            if "ExclusiveStartStreamName" in req:
                start = names.index(req["ExclusiveStartStreamName"]) + 1
            page = names[start:start + int(req.get("Limit", 2))]
            end = start + len(page)
            out = {"StreamNames": page, "HasMoreStreams": end < len(names),
                   "StreamSummaries": [{"StreamName": n, "StreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/" + n,
                                        "StreamStatus": "ACTIVE", "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}
                                       for n in page]}
            if end < len(names):
                out["NextToken"] = str(end)
            return self.send(200, json.dumps(out))
        if target == "ListTagsForStream":
            keys = ["k%d" % i for i in range(5)]
            start = keys.index(req["ExclusiveStartTagKey"]) + 1 if "ExclusiveStartTagKey" in req else 0
            page = keys[start:start + int(req.get("Limit", 2))]
            return self.send(200, json.dumps({"Tags": [{"Key": k, "Value": "v" + k} for k in page],
                                              "HasMoreTags": start + len(page) < len(keys)}))
        if target == "ListStreamConsumers":
            start = int(req.get("NextToken", "0"))
            page = list(range(start, min(5, start + int(req.get("MaxResults", 2)))))
            out = {"Consumers": [{"ConsumerName": "c%d" % i, "ConsumerARN": "arn:c%d" % i,
                                  "ConsumerStatus": "ACTIVE"} for i in page]}
            if start + len(page) < 5:
                out["NextToken"] = str(start + len(page))
            return self.send(200, json.dumps(out))
        if target == "DescribeStreamSummary":
            name = req.get("StreamName", "x")
            summary = {
                "StreamName": name,
                "StreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/" + name,
                "StreamStatus": "ACTIVE", "StreamModeDetails": {"StreamMode": "PROVISIONED"},
                "OpenShardCount": 1, "RetentionPeriodHours": 24, "EncryptionType": "NONE",
                "EnhancedMonitoring": [{"ShardLevelMetrics": []}], "ConsumerCount": 0}
            if ARGS.on_demand:
                summary["StreamModeDetails"]["StreamMode"] = "ON_DEMAND"
                with LOCK:
                    summary["RecordDistributionStrategy"] = STATE.get("dist", {}).get(name, "USER_PARTITION_KEY")
            return self.send(200, json.dumps({"StreamDescriptionSummary": summary}))
        if target == "UpdateStreamRecordDistributionStrategy" and ARGS.on_demand:
            arn, strategy = req.get("StreamARN"), req.get("RecordDistributionStrategy")
            if not isinstance(arn, str) or "/" not in arn or "StreamName" in req:
                return self.err(400, "InvalidArgumentException", "StreamARN is required")
            if strategy not in ("AUTO", "USER_PARTITION_KEY"):
                return self.err(400, "ValidationException", "RecordDistributionStrategy must be AUTO or "
                                "USER_PARTITION_KEY")
            with LOCK:
                STATE.setdefault("dist", {})[arn.rsplit("/", 1)[1]] = strategy
            return self.send(200, "{}")
        return self.send(200, "{}")

    def do_PUT(self):
        body = self.read_body()
        n, e = self.record(body)
        if ARGS.mode == "imds" and self.path == "/latest/api/token":
            if not e["imds_ttl"]:
                return self.send(400, "missing ttl", "text/plain")
            return self.send(200, "tok-123", "text/plain")
        return self.send(404, "not found", "text/plain")

    def creds(self, token_key):
        now = time.time()
        return json.dumps({"Code": "Success", "AccessKeyId": ARGS.akid,
                           "SecretAccessKey": "secret/" + ARGS.akid,
                           token_key: "token-" + ARGS.akid,
                           "Expiration": iso(now + ARGS.lifetime)})

    def do_GET(self):
        n, e = self.record(b"")
        if ARGS.mode == "container":
            if ARGS.token and self.headers.get("Authorization") != ARGS.token:
                return self.send(403, '{"message":"bad token"}')
            return self.send(200, self.creds("Token"), "application/json")
        if ARGS.mode == "imds":
            if e["imds_token"] != "tok-123":
                return self.send(401, "unauthorized", "text/plain")
            if self.path == "/latest/meta-data/iam/security-credentials/":
                return self.send(200, "test-role\n", "text/plain")
            if self.path == "/latest/meta-data/iam/security-credentials/test-role":
                return self.send(200, self.creds("Token"), "text/plain")
        return self.send(404, "not found", "text/plain")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that gave up on us (timeouts, oversized answers) is expected


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["kinesis", "container", "imds"], required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--fail", type=int, default=0)
    ap.add_argument("--with", dest="with_", default="throttle")
    ap.add_argument("--sleep", type=float, default=2.0)
    ap.add_argument("--expired-akid")
    ap.add_argument("--akid", default="AKIDFAKE")
    ap.add_argument("--token")
    ap.add_argument("--lifetime", type=int, default=3600)
    ap.add_argument("--on-demand", action="store_true")
    ARGS = ap.parse_args()
    open(ARGS.log, "w").close()
    srv = Server(("127.0.0.1", 0), Handler)
    print(srv.server_address[1], flush=True)
    # Bounded life: a test that forgets us does not leave a server behind.
    t = threading.Timer(300, srv.shutdown)
    t.daemon = True
    t.start()
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
