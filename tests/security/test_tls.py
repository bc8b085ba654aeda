#!/usr/bin/env python3
"""HTTPS to the Kinesis endpoint is verified (DESIGN section 5: "TLS is always
verified"), with aws.ca_bundle, with AWS_CA_BUNDLE and across a reload.

  test_tls.py KINESISD MOCK_PORT_FILE

kinesis-mock's own TLS port has a certificate without a usable host name, so
the test makes a verifiable endpoint of its own: with the openssl command it
creates two unrelated test CAs (A and B) and two server certificates signed
by A, one for IP:127.0.0.1 and one only for DNS:kinesis.invalid; a
TLS-terminating forwarder on 127.0.0.1 (threads and the ssl module) presents
one of them and relays the decrypted bytes to kinesis-mock's plain port on
127.0.0.1, counting the TLS handshakes that completed and those that failed.
Through it, kinesisd --once with endpoint https://127.0.0.1:PORT:

  ca_bundle_config     aws.ca_bundle = CA A: exit 0, the stream is ACTIVE in
                       the mock, its ARN is in streams.json, the requests went
                       through verified TLS (at --log-level debug)
  ca_bundle_env        the same with AWS_CA_BUNDLE = CA A and no aws.ca_bundle
  wrong_ca             aws.ca_bundle = CA B (also with AWS_CA_BUNDLE = CA A:
                       the key wins): exit 1, no stream created or exported, a
                       line about the certificate on stderr, the forwarder saw
                       failed handshakes, no completed one and no request
  wrong_name           CA A (key or AWS_CA_BUNDLE), but the server certificate
                       is for kinesis.invalid: exit 1, nothing created, the
                       line on stderr; curl checks the name after the
                       handshake, so the forwarder sees it complete and the
                       client hang up without sending a byte
  system_store         no CA bundle at all: as wrong_ca (the test CA is not
                       among the system's)
  reload               the daemon (no --once) started with CA B fails its first
                       pass; after the configuration is rewritten with CA A
                       and SIGHUP it logs "TLS: new connections verify with
                       PATH.", creates the stream and exports it; rewritten
                       back to CA B with a second stream and SIGHUP again, it
                       logs the switch, no request gets through any more (no
                       connection verified with CA A is used again) and the
                       second stream is not created; SIGTERM: exit 0
  no_secret_in_output  the secret access key appears in no output of any run
                       above (nor any 12 consecutive characters of it)

Nothing here talks to anything but 127.0.0.1. Exit 0 pass, 1 fail, 77 skip
(kinesis-mock not running and KINESISD_SKIP_INTEGRATION set, or no openssl)."""
import json
import os
import secrets
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

from kinesisd_test import mock
from kinesisd_test.checks import Failed, check, check_no_sanitizer
from kinesisd_test.ports import mock_port
from kinesisd_test.process import kill, stop
from seclib import Suite

REGION = "us-east-1"
WINDOW = 12
# How a --once run that cannot verify the endpoint must end (kinesisd(8),
# EXIT STATUS: "AWS stayed unreachable past the retry budget").
EXIT_UNREACHABLE = 1
# A failed verification is not worth retrying, but even if the daemon did
# retry it (5 attempts, backoff) a run must end well within this.
FAIL_RUN_TIMEOUT = 45
# The runs that succeed log at debug level (every request), so that the
# secret check sees as much output as there can be; the failing runs log at
# the default level, to see what an operator sees.
DEBUG = ("--log-level", "debug")

OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ip]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server_wrong_name]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:kinesis.invalid
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


# ---- certificates -----------------------------------------------------------

class Certs:
    """Two test CAs and two server certificates signed by CA A, made with the
    openssl command in d (EC P-256, SHA-256, valid for 3 days)."""

    def __init__(self, openssl, d):
        self.openssl, self.d = openssl, d
        os.makedirs(d, exist_ok=True)
        self.cnf = os.path.join(d, "openssl.cnf")
        with open(self.cnf, "w") as f:
            f.write(OPENSSL_CNF)
        self.ca_a = self.ca("ca-a", "kinesisd test CA A")
        self.ca_b = self.ca("ca-b", "kinesisd test CA B")
        self.server_ip = self.server("server-ip", "kinesisd test server", "server_ip", "ca-a")
        self.server_wrong = self.server("server-wrong", "kinesis.invalid", "server_wrong_name", "ca-a")
        # The certificates are what they should be (else the checks below
        # would prove nothing): the server chains to A, not to B.
        self.verify(self.ca_a, self.server_ip[0], True)
        self.verify(self.ca_b, self.server_ip[0], False)
        self.verify(self.ca_a, self.server_wrong[0], True)

    def run(self, *args):
        p = subprocess.run([self.openssl] + list(args), capture_output=True, text=True, errors="replace",
                           cwd=self.d, timeout=60, stdin=subprocess.DEVNULL,
                           env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OPENSSL_CONF": self.cnf})
        check(p.returncode == 0, "openssl %s failed (%d)" % (args[0], p.returncode), p.stdout + p.stderr)
        return p.stdout

    def key_args(self, key):
        return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key]

    def ca(self, name, cn):
        pem, key = self.p(name + ".pem"), self.p(name + ".key")
        self.run("req", "-x509", "-config", self.cnf, "-extensions", "ca_ext", *self.key_args(key),
                 "-out", pem, "-days", "3", "-sha256", "-subj", "/CN=" + cn)
        return pem

    def server(self, name, cn, section, ca):
        pem, key, csr = self.p(name + ".pem"), self.p(name + ".key"), self.p(name + ".csr")
        self.run("req", "-new", "-config", self.cnf, *self.key_args(key), "-out", csr, "-sha256",
                 "-subj", "/CN=" + cn)
        self.run("x509", "-req", "-in", csr, "-CA", self.p(ca + ".pem"), "-CAkey", self.p(ca + ".key"),
                 "-set_serial", "0x" + secrets.token_hex(8), "-days", "3", "-sha256",
                 "-extfile", self.cnf, "-extensions", section, "-out", pem)
        return pem, key

    def verify(self, ca, cert, good):
        p = subprocess.run([self.openssl, "verify", "-CAfile", ca, "-purpose", "sslserver", cert],
                           capture_output=True, text=True, errors="replace", timeout=60,
                           env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OPENSSL_CONF": self.cnf})
        check((p.returncode == 0) == good, "test setup: openssl verify -CAfile %s %s should %s"
              % (os.path.basename(ca), os.path.basename(cert), "pass" if good else "fail"),
              p.stdout + p.stderr)

    def p(self, name):
        return os.path.join(self.d, name)


# ---- the TLS-terminating forwarder ------------------------------------------

class Forwarder:
    """Listens on 127.0.0.1 (only), terminates TLS with the server certificate
    currently chosen and relays the plain bytes to 127.0.0.1:upstream_port,
    both ways, until either side closes.

    Counts TLS handshakes that completed (ok) or failed (failed); the
    connections the client closed after a completed handshake without sending
    a byte (abandoned: what a client does that checks the host name only
    after the handshake, as curl does with OpenSSL); and the reads of
    request bytes from clients (requests), on any connection, also on one
    opened before the counters were reset."""

    def __init__(self, upstream_port, certs):
        self.upstream_port = upstream_port
        self.contexts = {}
        for name, (pem, key) in certs.items():
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(pem, key)
            self.contexts[name] = ctx
        self.cert = next(iter(certs))
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)
        self.active = 0
        self.reset()
        self.stopping = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.accept_loop, daemon=True)
        self.thread.start()

    def reset(self):
        self.ok = self.failed = self.requests = self.abandoned = 0
        self.errors = []

    def use(self, cert):
        """Present this certificate from the next connection on; reset the counters."""
        with self.lock:
            self.cert = cert
            self.reset()

    def counts(self, settle=2.0):
        """{"ok", "failed", "requests", "abandoned", "errors"}, once every
        connection has ended (or after settle seconds: a keep-alive
        connection of a running daemon stays open)."""
        with self.idle:
            self.idle.wait_for(lambda: self.active == 0, settle)
            return {"ok": self.ok, "failed": self.failed, "requests": self.requests,
                    "abandoned": self.abandoned, "errors": list(self.errors)}

    def accept_loop(self):
        while not self.stopping:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            with self.lock:
                ctx = self.contexts[self.cert]
                self.active += 1
            threading.Thread(target=self.serve, args=(conn, ctx), daemon=True).start()

    def serve(self, conn, ctx):
        up = tls = None
        try:
            conn.settimeout(20)
            try:
                tls = ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
                tls.do_handshake()
            except (ssl.SSLError, OSError) as e:
                with self.lock:
                    self.failed += 1
                    self.errors.append("%s: %s" % (type(e).__name__, e))
                return
            with self.lock:
                self.ok += 1
            up = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
            tls.settimeout(120)
            up.settimeout(120)
            sent = [0]
            try:
                self.pump(tls, up, sent)
            finally:
                if not sent[0]:
                    with self.lock:
                        self.abandoned += 1
        except (ssl.SSLError, OSError):
            pass
        finally:
            for s in (tls, up, conn):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass
            with self.idle:
                self.active -= 1
                self.idle.notify_all()

    def pump(self, tls, up, sent):
        """One thread per connection (an SSL object is not to be read and
        written from two threads at once): relay whatever is readable.
        sent[0] counts the bytes the TLS client sent."""
        while True:
            if tls.pending():
                ready = [tls]
            else:
                ready, _w, _x = select.select([tls, up], [], [], 120)
                if not ready:
                    return
            for s in ready:
                other = up if s is tls else tls
                data = s.recv(65536)
                if not data:
                    return
                if s is tls:
                    with self.lock:
                        self.requests += 1
                    sent[0] += len(data)
                other.sendall(data)

    def stop(self):
        self.stopping = True
        try:
            self.sock.close()
        except OSError:
            pass


# ---- the test -----------------------------------------------------------------

def windows(s):
    return {s[i:i + WINDOW] for i in range(0, len(s) - WINDOW + 1)}


def cert_lines(err):
    """The lines of stderr about the certificate, SSL or TLS ("TLS:" only:
    the test's stream names start with "tls-")."""
    return [ln for ln in err.splitlines()
            if "certificate" in ln.lower() or "ssl" in ln.lower() or "TLS:" in ln]


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    kinesisd, port_file = os.path.abspath(sys.argv[1]), sys.argv[2]
    port = mock_port(port_file)
    openssl = shutil.which("openssl")
    if not openssl:
        print("SKIP: the openssl command is not installed (Debian package openssl)")
        return 77

    s = Suite("security-tls")
    t_start = time.monotonic()
    try:
        certs = Certs(openssl, s.path("pki"))
    except Failed as e:
        print("FAIL making the test certificates: %s" % e)
        return 1
    fwd = Forwarder(port, {"ip": certs.server_ip, "wrong-name": certs.server_wrong})
    endpoint = "https://127.0.0.1:%d" % fwd.port
    print("forwarder https://127.0.0.1:%d -> http://127.0.0.1:%d (kinesis-mock)" % (fwd.port, port))

    # One account of the mock for this run (it takes a 12-digit access key
    # id as the account), so that the streams listed are only ours.
    account = "%012d" % (10 ** 11 + secrets.randbelow(9 * 10 ** 11))
    secret = ("SkTls/%s+Zq" % secrets.token_hex(16))[:40]
    keys = {"AWS_ACCESS_KEY_ID": account, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": REGION,
            "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    tag = "tls-%d-%s" % (os.getpid() % 100000, secrets.token_hex(3))
    outputs = []         # (what, text) of every run, for no_secret_in_output
    created = []

    def mock_call(op, req):
        return mock.call(port, op, req, account, REGION)

    def stream_names():
        return mock_call("ListStreams", {"Limit": 1000}).get("StreamNames", [])

    def stream_status(name):
        return mock.summary(port, name, account=account, region=REGION)

    def config(name, stream, ca_bundle=None, reconcile="{ poll: 200ms, timeout: 20s }"):
        text = "aws:\n  region: %s\n  endpoint: \"%s\"\n" % (REGION, endpoint)
        if ca_bundle:
            text += "  ca_bundle: \"%s\"\n" % ca_bundle
        text += "reconcile: %s\nstreams:\n  - name: %s\n    shards: 1\n" % (reconcile, stream)
        return s.write(name + "/kinesisd.yaml", text)

    def once(what, cfg, env=None, timeout=FAIL_RUN_TIMEOUT, extra=()):
        state = s.path(what, "state")
        try:
            rc, out, err, secs = s.run_cmd([kinesisd, "--once", "-c", cfg, "--state-dir", state]
                                           + list(extra), dict(keys, **(env or {})), timeout=timeout)
        except subprocess.TimeoutExpired as e:
            err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
            outputs.append((what + " stderr", err))
            check(False, "%s: kinesisd --once did not end within %ds" % (what, timeout), err[-3000:])
        outputs.extend([(what + " stdout", out), (what + " stderr", err)])
        check_no_sanitizer(err, what)
        return rc, out, err, secs, state

    def streams_json_arn(state, name):
        p = os.path.join(state, "streams.json")
        if not os.path.exists(p):
            return None
        with open(p) as f:
            doc = json.load(f)
        for st in doc.get("streams", []):
            if st.get("name") == name and st.get("region", REGION) == REGION:
                return st.get("arn")
        return None

    def expect_created(what, rc, err, state, stream):
        c = fwd.counts()
        check(rc == 0, "%s: --once should exit 0, got %d" % (what, rc), err[-3000:])
        d = stream_status(stream)
        check(d is not None and d["StreamStatus"] == "ACTIVE",
              "%s: %s should be ACTIVE in the mock" % (what, stream), d)
        arn = streams_json_arn(state, stream)
        check(arn == d["StreamARN"], "%s: streams.json should hold %s's ARN %s, has %s"
              % (what, stream, d["StreamARN"], arn))
        # It really went through the forwarder, over verified TLS.
        check(c["ok"] >= 1 and c["requests"] >= 1 and c["failed"] == 0 and c["abandoned"] == 0,
              "%s: the forwarder should have seen completed handshakes carrying requests only" % what, c)
        print("    %s: exit 0, %s ACTIVE, ARN exported; %d TLS handshake(s), %d read(s) of requests "
              "relayed" % (what, stream, c["ok"], c["requests"]))

    def expect_refused(what, cert, ca_bundle=None, env=None, name_check=False, used=None):
        """The run must fail on the certificate. name_check: the chain is good
        and only the host name is wrong; curl (OpenSSL) checks the name after
        the handshake, so the forwarder sees the handshake complete and the
        client hang up without sending anything."""
        stream = "%s-%s" % (tag, what.replace("_", "-"))
        fwd.use(cert)
        cfg = config(what, stream, ca_bundle)
        rc, _out, err, secs, state = once(what, cfg, env)
        c = fwd.counts()
        lines = cert_lines(err)
        for ln in lines:
            print("    stderr: %s" % ln)
        check(rc == EXIT_UNREACHABLE, "%s: --once should exit %d, got %d (%.1fs)"
              % (what, EXIT_UNREACHABLE, rc, secs), err[-3000:])
        check(stream_status(stream) is None and stream not in stream_names(),
              "%s: the stream %s was created although TLS could not be verified" % (what, stream))
        check(streams_json_arn(state, stream) is None, "%s: streams.json names %s" % (what, stream))
        check(any("certificate" in ln.lower() or "ssl" in ln.lower() for ln in lines),
              "%s: no line on stderr mentions the certificate (or SSL)" % what, err[-3000:])
        # The message says what was verified against what.
        said = "(127.0.0.1:%d, verified with %s)" % (
            fwd.port, "the CA bundle " + used if used else "the system's CA store")
        check(any(said in ln for ln in lines), "%s: no line on stderr says %r" % (what, said), err[-3000:])
        check(c["requests"] == 0, "%s: kinesisd sent %d request(s) over TLS it should not have "
              "trusted" % (what, c["requests"]), c)
        if name_check:
            check(c["abandoned"] + c["failed"] >= 1, "%s: kinesisd never connected to the forwarder" % what,
                  c)
        else:
            check(c["failed"] >= 1, "%s: the forwarder saw no failed handshake" % what, c)
            check(c["ok"] == 0, "%s: the forwarder saw %d completed handshake(s): kinesisd accepted the "
                  "server's certificate chain" % (what, c["ok"]), c)
        print("    %s: exit %d in %.1fs; handshakes: %d failed (%s), %d completed and dropped unused"
              % (what, rc, secs, c["failed"], c["errors"][0] if c["errors"] else "-", c["abandoned"]))

    def test_ca_bundle_config():
        stream = tag + "-config"
        fwd.use("ip")
        cfg = config("ca_bundle_config", stream, certs.ca_a)
        rc, _out, err, _secs, state = once("ca_bundle_config", cfg, timeout=60, extra=DEBUG)
        created.append(stream)
        expect_created("ca_bundle_config", rc, err, state, stream)

    def test_ca_bundle_env():
        stream = tag + "-env"
        fwd.use("ip")
        cfg = config("ca_bundle_env", stream)
        rc, _out, err, _secs, state = once("ca_bundle_env", cfg, {"AWS_CA_BUNDLE": certs.ca_a}, timeout=60,
                                           extra=DEBUG)
        created.append(stream)
        expect_created("ca_bundle_env", rc, err, state, stream)

    def test_wrong_ca():
        expect_refused("wrong_ca", "ip", certs.ca_b, used=certs.ca_b)
        # ... also when AWS_CA_BUNDLE names the right one: the key wins.
        expect_refused("wrong_ca_key_beats_env", "ip", certs.ca_b, {"AWS_CA_BUNDLE": certs.ca_a},
                       used=certs.ca_b)

    def test_wrong_name():
        expect_refused("wrong_name", "wrong-name", certs.ca_a, name_check=True, used=certs.ca_a)
        expect_refused("wrong_name_env", "wrong-name", None, {"AWS_CA_BUNDLE": certs.ca_a}, name_check=True,
                       used=certs.ca_a)

    def test_system_store():
        expect_refused("system_store", "ip", None)

    def test_reload():
        what = "reload"
        stream = tag + "-reload"
        fwd.use("ip")
        cfg = config(what, stream, certs.ca_b, "{ interval: 1h, poll: 200ms, timeout: 20s }")
        state = s.path(what, "state")
        log = s.path(what, "daemon.log")
        errf = open(log, "wb")
        p = subprocess.Popen([kinesisd, "-c", cfg, "--state-dir", state], env=s.env(keys),
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf,
                             cwd=s.tmp.name)
        errf.close()

        def text():
            with open(log, errors="replace") as f:
                return f.read()

        def wait_for(pred, timeout, what_):
            deadline = time.monotonic() + timeout
            while not pred():
                check(p.poll() is None, "reload: the daemon exited (%s) while waiting for %s"
                      % (p.returncode, what_), text()[-3000:])
                check(time.monotonic() < deadline, "reload: no %s within %ds" % (what_, timeout),
                      text()[-3000:])
                time.sleep(0.1)

        def metric(name):
            try:
                with open(os.path.join(state, "metrics.prom")) as f:
                    for ln in f:
                        if ln.startswith(name + " "):
                            return float(ln.split()[1])
            except (OSError, ValueError):
                pass
            return None

        def show_new_lines(old, new):
            lines = cert_lines(new[len(old):])
            for ln in lines:
                print("    stderr: %s" % ln)
            return lines

        try:
            # First pass with CA B: refused.
            wait_for(lambda: cert_lines(text()) or (metric("kinesisd_reconcile_passes_total") or 0) >= 1,
                     30, "failed first pass (a certificate error on stderr or a pass in metrics.prom)")
            time.sleep(0.5)
            before = text()
            lines = show_new_lines("", before)
            c = fwd.counts()
            check(any("certificate" in ln.lower() or "ssl" in ln.lower() for ln in lines),
                  "reload: the failed first pass printed no line about the certificate", before[-3000:])
            check(c["ok"] == 0 and c["failed"] >= 1 and c["requests"] == 0,
                  "reload: with CA B the forwarder should see failed handshakes only", c)
            check(stream_status(stream) is None, "reload: %s created with the wrong CA" % stream)
            check(p.poll() is None, "reload: the daemon exited after a failed pass", before[-3000:])

            # Rewrite with CA A, SIGHUP: the stream is created.
            config(what, stream, certs.ca_a, "{ interval: 1h, poll: 200ms, timeout: 20s }")
            fwd.use("ip")
            t0 = time.monotonic()
            p.send_signal(signal.SIGHUP)
            want = "TLS: new connections verify with %s." % certs.ca_a
            wait_for(lambda: want in text()[len(before):], 30, repr(want))
            wait_for(lambda: (stream_status(stream) or {}).get("StreamStatus") == "ACTIVE", 30,
                     "%s ACTIVE in the mock after the reload" % stream)
            created.append(stream)
            arn = stream_status(stream)["StreamARN"]
            wait_for(lambda: streams_json_arn(state, stream) == arn, 30,
                     "%s's ARN in streams.json after the reload" % stream)
            c = fwd.counts(settle=0)
            check(c["ok"] >= 1 and c["requests"] >= 1 and c["failed"] == 0,
                  "reload: after the reload to CA A the forwarder should see completed handshakes "
                  "carrying requests only", c)
            print("    reload: logged %r; %s ACTIVE and exported %.1fs after SIGHUP"
                  % (want, stream, time.monotonic() - t0))

            # And back to CA B, with one more stream: the connection verified
            # with CA A (kept alive) must not be used again (kinesisd(8), SIGHUP).
            time.sleep(0.5)
            middle = text()
            stream2 = stream + "-back"
            s.write(what + "/kinesisd.yaml", "aws:\n  region: %s\n  endpoint: \"%s\"\n  ca_bundle: \"%s\"\n"
                    "reconcile: { interval: 1h, poll: 200ms, timeout: 20s }\nstreams:\n"
                    "  - name: %s\n    shards: 1\n  - name: %s\n    shards: 1\n"
                    % (REGION, endpoint, certs.ca_b, stream, stream2))
            fwd.use("ip")
            p.send_signal(signal.SIGHUP)
            want_b = "TLS: new connections verify with %s." % certs.ca_b
            wait_for(lambda: want_b in text()[len(middle):], 30, repr(want_b))
            wait_for(lambda: cert_lines(text()[len(middle):].split(want_b, 1)[-1]), 30,
                     "certificate error after the reload back to CA B")
            time.sleep(1.0)
            show_new_lines(middle, text())
            c = fwd.counts(settle=0)
            check(stream_status(stream2) is None,
                  "reload: %s created after the reload to CA B (an old connection reused?)" % stream2, c)
            check(c["requests"] == 0, "reload: after the reload to CA B requests still went through "
                  "(the connection verified with CA A was used again)", c)
            check(c["failed"] >= 1 and c["ok"] == 0,
                  "reload: after the reload to CA B the forwarder should see failed handshakes only", c)
            check(streams_json_arn(state, stream) == arn,
                  "reload: %s left the exports after a failed pass" % stream)

            rc = stop(p, timeout=30)
            check(rc == 0, "reload: SIGTERM should end the daemon with exit 0, got %s" % rc, text()[-3000:])
        finally:
            kill(p)
            t = text()
            outputs.append((what + " stderr", t))
            check_no_sanitizer(t, "reload")

    def test_no_secret_in_output():
        check(len(outputs) >= 10, "no_secret_in_output: only %d outputs collected (a run is missing)"
              % len(outputs))
        needles = windows(secret)
        for name, t in outputs:
            found = sorted(n for n in needles if n in t)
            check(not found, "no_secret_in_output: the secret access key appears in %s" % name, found[:3])
        print("    %d outputs scanned" % len(outputs))

    try:
        for t in (test_ca_bundle_config, test_ca_bundle_env, test_wrong_ca, test_wrong_name,
                  test_system_store, test_reload, test_no_secret_in_output):
            s.run(t)
    finally:
        fwd.stop()
        for name in created:  # the shared mock's shard limit is shared by every test
            try:
                mock_call("DeleteStream", {"StreamName": name, "EnforceConsumerDeletion": True})
            except Exception as e:  # noqa: BLE001 - best effort
                print("cleanup of %s: %s" % (name, e))
    print("security-tls: %.1fs" % (time.monotonic() - t_start))
    return s.summary()


if __name__ == "__main__":
    sys.exit(main())
