#!/usr/bin/env python3
"""Plain http:// to a host that is not loopback is refused (DESIGN section 5:
"TLS is always verified. Plain http:// is accepted only for loopback hosts").

  test_http_endpoint.py KINESISD KINESIS_CALL

The endpoint is http://192.0.2.10/ (TEST-NET-1, never reached) and a few
spellings of it that URL parsers disagree about, given as aws.endpoint in the
configuration, as --endpoint, as AWS_ENDPOINT_URL_KINESIS and as
AWS_ENDPOINT_URL, to kinesisd --once, --plan and --check-config and to
kinesis-call. Each must fail with exit 78 (configuration invalid; 64 is also
accepted for --endpoint, a bad command line), say why (mention http:// and
loopback; a configuration error as FILE:LINE:COLUMN), write nothing to the
state directory (the variants may be refused for another stated reason,
e.g. user information in the URL), and open no connection: when strace is installed every run
is traced (-f -e trace=connect) and must not connect() to anything over the
network at all. Without strace the connection check is skipped (and said so),
the rest still runs."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from kinesisd_test.checks import check
from seclib import LOCATED, Suite

BAD = "http://192.0.2.10/"
# Other spellings of a non-loopback host over plain http. Each is also refused
# by curl's own reading, so a wrong check would show up as a connect().
VARIANTS = [
    "HTTP://192.0.2.10/",
    "http://192.0.2.10:80",
    "http://127.0.0.1@192.0.2.10/",            # loopback only in the userinfo
    "http://127.0.0.1:443@192.0.2.10:8080/",
    "http://192.0.2.10#@127.0.0.1/",           # loopback only after a fragment
    "http://192.0.2.10?@127.0.0.1/",           # ... or a query
    "http://[::ffff:192.0.2.10]/",             # IPv4-mapped IPv6
    "http://3221225994/",                      # 192.0.2.10 as one number
    "http://0xC000020A/",                      # ... in hex
]
NET_CONNECT = re.compile(r"connect\(\d+, \{sa_family=AF_INET6?,[^)]*")
KEYS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    kinesisd, kcall = sys.argv[1:]
    s = Suite("security-http-endpoint")
    strace = shutil.which("strace")
    if strace:
        # strace may be there and still not allowed to trace (containers).
        probe = subprocess.run([strace, "-f", "-e", "trace=connect", "-o", os.devnull, "true"],
                               capture_output=True)
        if probe.returncode != 0:
            strace = None
    if not strace:
        print("NOTE: strace is not usable here; the no-connection check is skipped "
              "(the refusal itself is still checked)")

    plain = s.write("plain.yaml", "aws:\n  region: us-east-1\nstreams:\n  - name: never-created\n    shards: 1\n")

    def run_traced(argv, env):
        """(rc, out, err, network connects). Runs argv as it is (so that a
        sanitizer build's leak checker sees the run), then, with strace, once
        more traced: LeakSanitizer cannot work under ptrace, so it is off
        for the traced run, which must exit the same way."""
        rc, out, err, _ = s.run_cmd(argv, env, timeout=60)
        if not strace:
            return rc, out, err, []
        fd, trace = tempfile.mkstemp(dir=s.tmp.name, prefix="strace-")
        os.close(fd)
        tenv = dict(env)
        asan = os.environ.get("ASAN_OPTIONS", "")
        tenv["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "detect_leaks=0"
        trc, _tout, terr, _ = s.run_cmd([strace, "-f", "-qq", "-e", "trace=connect", "-o", trace] + argv,
                                        tenv, timeout=60)
        with open(trace) as f:
            text = f.read()
        os.unlink(trace)
        check(trc == rc, "exit %d under strace, %d without" % (trc, rc), terr[-1500:])
        return rc, out, err, NET_CONNECT.findall(text)

    def expect_refused(what, argv, env, codes=(78,), located=False, why=True):
        state = s.path("state-" + re.sub(r"\W+", "_", what))
        if "--state-dir" in argv:
            argv = [state if a == "@STATE@" else a for a in argv]
        rc, out, err, connects = run_traced(argv, dict(KEYS, **env))
        check(rc in codes, "%s: exit %d, expected %s" % (what, rc, "/".join(map(str, codes))),
              (out + err)[-1500:])
        msg = out + err
        if why:
            check("http://" in msg and "loopback" in msg,
                  "%s: the message does not say that plain http:// is for loopback only" % what, msg[-1500:])
        else:  # refused for another good reason (user information, ...): say which setting
            check("endpoint" in msg.lower(), "%s: the message does not name the endpoint" % what, msg[-1500:])
        if located:
            check(LOCATED.search(err), "%s: no FILE:LINE:COLUMN in the message" % what, err[-1500:])
        check(not connects, "%s: connect() to the network although the endpoint was refused" % what,
              "\n".join(connects[:5]))
        check(not os.path.exists(state) or not os.listdir(state),
              "%s: files written to the state directory" % what, state)

    def daemon(mode, cfg, *extra):
        return [kinesisd, mode, "-c", cfg, "--state-dir", "@STATE@", "--log-level", "debug"] + list(extra)

    def test_config_endpoint():
        for url in [BAD] + VARIANTS:
            cfg = s.write("endpoint.yaml", "aws:\n  region: us-east-1\n  endpoint: \"%s\"\n"
                          "streams:\n  - name: never-created\n    shards: 1\n" % url)
            for mode in ("--once", "--plan"):
                expect_refused("aws.endpoint %s %s" % (url, mode), daemon(mode, cfg), {}, located=True,
                               why=url == BAD)
            expect_refused("aws.endpoint %s --check-config" % url, [kinesisd, "--check-config", "-c", cfg],
                           {}, located=True, why=url == BAD)

    def test_command_line_endpoint():
        for url in [BAD] + VARIANTS:
            for mode in ("--once", "--plan"):
                expect_refused("--endpoint %s %s" % (url, mode), daemon(mode, plain, "--endpoint", url), {},
                               codes=(64, 78), why=url == BAD)

    def test_environment_endpoint():
        for var in ("AWS_ENDPOINT_URL_KINESIS", "AWS_ENDPOINT_URL"):
            for url in [BAD] + VARIANTS[:3]:
                for mode in ("--once", "--plan"):
                    expect_refused("%s=%s %s" % (var, url, mode), daemon(mode, plain), {var: url},
                                   why=url == BAD)

    def test_environment_does_not_beat_a_refusal():
        # A loopback AWS_ENDPOINT_URL must not rescue a refused, more specific
        # AWS_ENDPOINT_URL_KINESIS (it comes first and is refused).
        expect_refused("AWS_ENDPOINT_URL_KINESIS refused over loopback AWS_ENDPOINT_URL",
                       daemon("--plan", plain),
                       {"AWS_ENDPOINT_URL_KINESIS": BAD, "AWS_ENDPOINT_URL": "http://127.0.0.1:9/"})

    def test_kinesis_call():
        base = [kcall, "--region", "us-east-1"]
        for url in [BAD] + VARIANTS[:3]:
            rc, out, err, connects = run_traced(base + ["--endpoint", url, "ListStreams", "{}"], KEYS)
            check(rc == 2, "kinesis-call --endpoint %s: exit %d, expected 2" % (url, rc), err)
            if url == BAD:
                check("http://" in err and "loopback" in err, "kinesis-call: unclear refusal", err)
            check(not connects, "kinesis-call --endpoint %s: connect() to the network" % url,
                  "\n".join(connects[:5]))
            rc, out, err, connects = run_traced(base + ["ListStreams", "{}"],
                                                dict(KEYS, AWS_ENDPOINT_URL_KINESIS=url))
            check(rc == 2, "kinesis-call AWS_ENDPOINT_URL_KINESIS=%s: exit %d, expected 2" % (url, rc), err)
            check(not connects, "kinesis-call AWS_ENDPOINT_URL_KINESIS=%s: connect() to the network" % url,
                  "\n".join(connects[:5]))

    for t in (test_config_endpoint, test_command_line_endpoint, test_environment_endpoint,
              test_environment_does_not_beat_a_refusal, test_kinesis_call):
        s.run(t)
    return s.summary()


if __name__ == "__main__":
    sys.exit(main())
