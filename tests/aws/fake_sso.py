#!/usr/bin/env python3
"""A fake SSO portal and SSO-OIDC service on 127.0.0.1 for the SSO tests
(python3 standard library only).

  fake_sso.py --spec FILE --log FILE

Prints "PORT" on the first line of stdout once listening, then serves until
killed. Both services answer on the one port, told apart by their paths, in
the documented formats:

  GET /federation/credentials?account_id=A&role_name=R   (SSO GetRoleCredentials)
      header x-amz-sso_bearer_token: the access token
      200 {"roleCredentials": {"accessKeyId", "secretAccessKey",
           "sessionToken", "expiration": milliseconds since the epoch}}
      errors: x-amzn-ErrorType and {"message": ...}; an unknown token, or
      one for another account or role, is 401 UnauthorizedException.

  POST /token   (SSO-OIDC CreateToken, application/json body)
      {"grantType": "refresh_token", "clientId", "clientSecret", "refreshToken"}
      200 {"accessToken", "tokenType": "Bearer", "expiresIn", "refreshToken"}
      errors: x-amzn-ErrorType and {"error": ..., "error_description": ...}:
      an unknown client is 401 InvalidClientException (invalid_client), an
      unknown refresh token 400 InvalidGrantException (invalid_grant).

The spec file (JSON) is read again for every request, so a test can change
it between runs:

  {"tokens": {ACCESS_TOKEN: {"account_id", "role_name", "accessKeyId",
              "secretAccessKey", "sessionToken", "lifetime": seconds}},
   "clients": {CLIENT_ID: CLIENT_SECRET},
   "refresh": {REFRESH_TOKEN: {"accessToken", "refreshToken", "expiresIn"}},
   "portal_error": null or {"status", "type", "message"},
   "oidc_error": null or {"status", "type", "error", "error_description"}}

Every request is appended to the log as one JSON line: method, path, query,
the bearer token sent (these are test tokens), the parsed JSON body, and the
status answered."""
import argparse
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
ARGS = None


def spec():
    with open(ARGS.spec) as f:
        return json.load(f)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body, error_type=None, entry=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "fake-sso-%d" % int(time.monotonic() * 1000))
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.end_headers()
        self.wfile.write(data)
        if entry is not None:
            entry["status"] = status
            with LOCK, open(ARGS.log, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        token = self.headers.get("x-amz-sso_bearer_token")
        entry = {"t": time.monotonic(), "method": "GET", "path": url.path, "query": query, "bearer": token}
        if url.path != "/federation/credentials":
            return self.answer(404, {"message": "no such path"}, "ResourceNotFoundException", entry)
        s = spec()
        err = s.get("portal_error")
        if err:
            return self.answer(err["status"], {"message": err["message"]}, err["type"], entry)
        if "account_id" not in query or "role_name" not in query:
            return self.answer(400, {"message": "account_id and role_name are required"},
                               "InvalidRequestException", entry)
        t = s.get("tokens", {}).get(token or "")
        if not t or t["account_id"] != query["account_id"] or t["role_name"] != query["role_name"]:
            return self.answer(401, {"message": "Session token not found or invalid"},
                               "UnauthorizedException", entry)
        exp = int((time.time() + t.get("lifetime", 3600)) * 1000)
        self.answer(200, {"roleCredentials": {"accessKeyId": t["accessKeyId"],
                                              "secretAccessKey": t["secretAccessKey"],
                                              "sessionToken": t["sessionToken"], "expiration": exp}},
                    entry=entry)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        entry = {"t": time.monotonic(), "method": "POST", "path": self.path,
                 "content_type": self.headers.get("Content-Type")}
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        entry["body"] = body
        if self.path != "/token":
            return self.answer(404, {"error": "not_found"}, "ResourceNotFoundException", entry)
        if not isinstance(body, dict) or self.headers.get("Content-Type") != "application/json":
            return self.answer(400, {"error": "invalid_request", "error_description": "not JSON"},
                               "InvalidRequestException", entry)
        s = spec()
        err = s.get("oidc_error")
        if err:
            return self.answer(err["status"], {"error": err["error"],
                                               "error_description": err["error_description"]},
                               err["type"], entry)
        if body.get("grantType") != "refresh_token":
            return self.answer(400, {"error": "unsupported_grant_type"}, "UnsupportedGrantTypeException",
                               entry)
        if s.get("clients", {}).get(body.get("clientId")) != body.get("clientSecret"):
            return self.answer(401, {"error": "invalid_client", "error_description": "Invalid client"},
                               "InvalidClientException", entry)
        r = s.get("refresh", {}).get(body.get("refreshToken"))
        if not r:
            return self.answer(400, {"error": "invalid_grant",
                                     "error_description": "Invalid refresh token provided"},
                               "InvalidGrantException", entry)
        out = {"accessToken": r["accessToken"], "tokenType": "Bearer", "expiresIn": r["expiresIn"]}
        if r.get("refreshToken"):
            out["refreshToken"] = r["refreshToken"]
        self.answer(200, out, entry=entry)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--log", required=True)
    ARGS = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
