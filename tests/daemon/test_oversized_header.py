#!/usr/bin/env python3
"""daemon-oversized-header: an answer whose headers are too large is
reported as such, naming the limit and the endpoint, and is not retried
(the same answer again is no better). Two forms: one header line larger
than the HTTP library's own limit per line (it used to be reported as
"Cannot allocate memory"), and several lines that together pass the
daemon's cap on all of them (it used to be "Failed writing header", five
times). Needs no mock: a loopback server in this script answers."""
import socket
import threading

from daemonlib import Test

T = Test("bighdr", "us-east-1", need_mock=False)
P = T.prefix
BODY = b'{"StreamSummaries": [], "StreamNames": [], "HasMoreStreams": false}'
LIMIT = 32768  # http.h HTTP_MAX_HEADER_BYTES


class Server:
    """Answers every request on 127.0.0.1 with 200, BODY and the given
    extra header lines; counts the requests it read."""

    def __init__(self, lines):
        self.lines = lines
        self.requests = 0
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        c.settimeout(30)
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                n = 0
                for l in head.split(b"\r\n"):
                    if l.lower().startswith(b"content-length:"):
                        n = int(l.split(b":", 1)[1])
                while len(buf) < n:
                    buf += c.recv(65536)
                buf = buf[n:]
                with self.lock:
                    self.requests += 1
                extra = b"".join(b"X-Padding-%d: %s\r\n" % (i, b"a" * size)
                                 for i, size in enumerate(self.lines))
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n" + extra +
                          b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.sock.close()


def run_against(lines, what):
    srv = Server(lines)
    try:
        cfg = T.write("%s.yaml" % what, """aws:
  region: us-east-1
  endpoint: http://127.0.0.1:%d
streams:
  - name: {prefix}a
    shards: 1
""" % srv.port)
        rc, out, err, secs = T.daemon("-c", cfg, "--state-dir", T.path("state-" + what), "--once",
                                      timeout=60)
    finally:
        srv.close()
    want = "response headers larger than %d bytes from http://127.0.0.1:%d/" % (LIMIT, srv.port)
    T.check(rc == 1, "%s: exit 1" % what, "rc %d\n%s" % (rc, err))
    T.check(any(want in l and P + "a" in l for l in err.splitlines()),
            "%s: stderr names the stream and says %r" % (what, want), err)
    for vague in ("Cannot allocate memory", "Failed writing header"):
        T.check(vague not in err, "%s: stderr does not say %r" % (what, vague), err)
    T.check(srv.requests == 1, "%s: one request, not retried (got %d)" % (what, srv.requests))


def test_one_huge_line():
    run_against([200 * 1024], "line")


def test_many_lines():
    run_against([20 * 1024, 20 * 1024], "lines")


def test_large_but_allowed():
    # Under the cap: the answer is read (an empty listing), the stream is
    # then described, which this server cannot answer: no header complaint.
    srv_lines = [8 * 1024, 8 * 1024]
    srv = Server(srv_lines)
    try:
        cfg = T.write("allowed.yaml", """aws:
  region: us-east-1
  endpoint: http://127.0.0.1:%d
streams:
  - name: {prefix}a
    shards: 1
""" % srv.port)
        rc, out, err, secs = T.daemon("-c", cfg, "--state-dir", T.path("state-allowed"), "--once",
                                      timeout=60)
    finally:
        srv.close()
    T.check("response headers larger" not in err, "16 KiB of headers are accepted", err)


T.run(test_one_huge_line, test_many_lines, test_large_but_allowed)
