#!/usr/bin/env python3
"""An endpoint URL with user information (user:password@host) is refused
wherever it comes from, and the password is never shown (issue 13, item 9).

  test_endpoint_userinfo.py KINESISD

The URL is http://user:PASSWORDVALUE@127.0.0.1:9/ (loopback, so plain http
alone would be allowed; port 9 is never answered). Given as --endpoint it is
a bad command line (exit 64); as aws.endpoint a configuration error (exit 78,
FILE:LINE:COLUMN); as AWS_ENDPOINT_URL_KINESIS or AWS_ENDPOINT_URL it fails
the start (exit 78). Each run is --plan at --log-level debug (and
--check-config for aws.endpoint); the message must name the endpoint and
user information, and PASSWORDVALUE must appear nowhere in the output."""
import sys

from kinesisd_test.checks import check, check_no_sanitizer
from seclib import LOCATED, Suite

PASSWORD = "PASSWORDVALUE"
URL = "http://user:%s@127.0.0.1:9/" % PASSWORD
KEYS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
STREAMS = "streams:\n  - name: never-created\n    shards: 1\n"


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    kinesisd = sys.argv[1]
    s = Suite("security-endpoint-userinfo")
    plain = s.write("plain.yaml", "aws:\n  region: us-east-1\n" + STREAMS)
    in_config = s.write("endpoint.yaml", "aws:\n  region: us-east-1\n  endpoint: \"%s\"\n" % URL + STREAMS)

    def expect_refused(what, argv, env, code, located=False):
        rc, out, err, _ = s.run_cmd(argv, env=dict(KEYS, **env), timeout=60)
        msg = out + err
        check_no_sanitizer(msg)
        check(rc == code, "%s: exit %d, expected %d" % (what, rc, code), msg[-1500:])
        check(PASSWORD not in msg, "%s: the password is shown" % what, msg[-1500:])
        check("endpoint" in msg and "user information" in msg,
              "%s: the message does not say the endpoint has user information" % what, msg[-1500:])
        if located:
            check(LOCATED.search(err), "%s: no FILE:LINE:COLUMN" % what, err[-1500:])

    def plan(cfg, *extra):
        return [kinesisd, "--plan", "-c", cfg, "--state-dir", s.path("state"), "--log-level", "debug"] + list(extra)

    def test_command_line():
        expect_refused("--endpoint", plan(plain, "--endpoint", URL), {}, 64)

    def test_config():
        expect_refused("aws.endpoint --plan", plan(in_config), {}, 78, located=True)
        expect_refused("aws.endpoint --check-config", [kinesisd, "--check-config", "-c", in_config], {}, 78,
                       located=True)

    def test_environment():
        for var in ("AWS_ENDPOINT_URL_KINESIS", "AWS_ENDPOINT_URL"):
            expect_refused(var, plan(plain), {var: URL}, 78)

    for t in (test_command_line, test_config, test_environment):
        s.run(t)
    return s.summary()


if __name__ == "__main__":
    sys.exit(main())
