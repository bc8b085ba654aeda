#!/usr/bin/env python3
"""A file that is not a configuration is refused without quoting it (issue
13, item 8), through `kinesisd --check-config`.

  test_foreign_files.py KINESISD

Each case is a file a careless include: glob (or -c) could reach: shared
credentials files with and without a [section] line, an environment file, a
bare token, lists that carry anchors, tags and duplicate keys. Each one holds
SECRETVALUE (and an access key id, AKIDSECRETID). Included from a valid main
file, and given as the main file itself, it must be refused with exit 78 and
a FILE:LINE:COLUMN error naming that file, and neither secret may appear
anywhere in the output. A file whose top level is a mapping is still
reported in full, but a quoted value is cut after 64 characters."""
import re
import subprocess
import sys

from kinesisd_test.checks import Suite, check, check_no_sanitizer
from kinesisd_test.environment import Scratch, clean_env

EXIT_CONFIG = 78
SECRETS = ("SECRETVALUE", "AKIDSECRETID")
QUOTE_CHARS = 64

FOREIGN = {
    # The shared credentials file: a flow list, then a syntax error.
    "credentials": "[default]\naws_access_key_id = AKIDSECRETID\naws_secret_access_key = SECRETVALUE\n",
    # The same without a section line: one multi-line plain value.
    "credentials-no-section": "aws_access_key_id = AKIDSECRETID\naws_secret_access_key = SECRETVALUE\n",
    "one-line": "aws_secret_access_key = SECRETVALUE\n",
    "no-spaces": "aws_secret_access_key=SECRETVALUE\n",
    "env-file": "export AWS_ACCESS_KEY_ID=AKIDSECRETID\nexport AWS_SECRET_ACCESS_KEY=SECRETVALUE\n",
    "token": "SECRETVALUE\n",
    "quoted-token": "\"AKIDSECRETID SECRETVALUE\"\n",
    # Lists whose problems would each quote a piece of the file.
    "list-anchor": "- &SECRETVALUE AKIDSECRETID\n- *SECRETVALUE\n",
    "list-tag": "- !SECRETVALUE AKIDSECRETID\n",
    "list-duplicate": "- {SECRETVALUE: 1, SECRETVALUE: 2, AKIDSECRETID: 3}\n",
    "list-broken": "- AKIDSECRETID\n- SECRETVALUE: [\n",
}


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    kinesisd = sys.argv[1]
    s = Scratch("kinesisd-foreign-files-")
    suite = Suite("config-foreign-files")
    for name, text in FOREIGN.items():
        s.write("secrets/" + name, text, mode=0o600)
    s.write("streams.d/ok.yaml", "streams: [{name: ok, shards: 1}]\n")

    def check_config(config):
        p = subprocess.run([kinesisd, "--check-config", "-c", config], cwd=s.tmp.name,
                           env=clean_env(s.home, extra={"LC_ALL": "C"}), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        check_no_sanitizer(out)
        return p.returncode, out

    def expect_refused_quietly(config, named, what):
        rc, out = check_config(config)
        check(rc == EXIT_CONFIG, "%s: exit %d, expected %d" % (what, rc, EXIT_CONFIG), out)
        for secret in SECRETS:
            check(secret not in out, "%s: %s shown" % (what, secret), out)
        check(re.search(r"^%s:\d+:\d+: " % re.escape(named), out, re.M),
              "%s: no FILE:LINE:COLUMN error naming %s" % (what, named), out)

    def test_included():
        for name in FOREIGN:
            main = "main-%s.yaml" % name
            s.write(main, "include:\n  - streams.d/*.yaml\n  - secrets/%s\n" % name)
            expect_refused_quietly(main, "secrets/" + name, "included " + name)

    def test_included_by_glob():
        s.write("main-glob.yaml", "include: [streams.d/*.yaml, 'secrets/*']\n")
        rc, out = check_config("main-glob.yaml")
        check(rc == EXIT_CONFIG, "exit %d, expected %d" % (rc, EXIT_CONFIG), out)
        for secret in SECRETS:
            check(secret not in out, "%s shown" % secret, out)
        for name in FOREIGN:
            check("secrets/%s:" % name in out, "secrets/%s is not named" % name, out)

    def test_as_main_file():
        for name in FOREIGN:
            expect_refused_quietly("secrets/" + name, "secrets/" + name, "-c " + name)

    def test_top_level_kind_is_said():
        rc, out = check_config("secrets/credentials-no-section")
        check("at the top level, got a single value" in out, "the kind is not said", out)
        rc, out = check_config("secrets/credentials")
        check("at the top level, got a list" in out, "the kind is not said", out)

    def test_long_values_are_cut():
        long_value = "v" * 300
        s.write("main-long.yaml", "streams:\n  - { name: a, shards: 1, mode: %s }\n" % long_value)
        rc, out = check_config("main-long.yaml")
        check(rc == EXIT_CONFIG, "exit %d, expected %d" % (rc, EXIT_CONFIG), out)
        check("main-long.yaml:2:33: " in out, "no located error", out)
        check("v" * 16 in out and "v" * (QUOTE_CHARS + 1) not in out,
              "the value is not cut after %d characters" % QUOTE_CHARS, out)

    for t in (test_included, test_included_by_glob, test_as_main_file, test_top_level_kind_is_said,
              test_long_values_are_cut):
        suite.run(t)
    return suite.summary()


if __name__ == "__main__":
    sys.exit(main())
