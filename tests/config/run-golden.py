#!/usr/bin/env python3
"""Golden tests for the configuration loader, through `kinesisd --check-config`.

    run-golden.py KINESISD CASEDIR CASE [--update]
        Run `KINESISD --check-config -c CASE.yaml` inside CASEDIR, so that file
        names in messages are the stable relative ones, and compare with
        CASE.expected. That file is what the command prints: stdout first, then
        stderr. A case whose first expected line is "configuration OK: ..." must
        exit 0; any other case must exit 78 and print nothing on stdout.
        --update rewrites CASE.expected from the actual output (review the diff
        before committing it).

    run-golden.py --check-ok KINESISD DIR FILE
        FILE (relative to DIR) must be valid and draw no warning: for the
        example configurations that are shipped.
"""

import difflib
import os
import subprocess
import sys
import tempfile

from kinesisd_test.environment import clean_env

EXIT_CONFIG = 78


def run(kinesisd, cwd, config):
    # Nothing of the caller's environment (AWS_*, CONFIGURATION_DIRECTORY,
    # a HOME with an ~/.aws) may change a golden output.
    with tempfile.TemporaryDirectory(prefix="kinesisd-golden-") as home:
        p = subprocess.run([kinesisd, "--check-config", "-c", config], cwd=cwd,
                           env=clean_env(home, extra={"LC_ALL": "C"}),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def check_ok(kinesisd, cwd, config):
    rc, out, err = run(kinesisd, cwd, config)
    if rc != 0 or not out.startswith("configuration OK: ") or err:
        sys.stderr.write(f"{config}: expected a valid configuration without warnings\n"
                         f"exit code {rc}\nstdout:\n{out}stderr:\n{err}")
        return 1
    sys.stdout.write(out)
    return 0


def golden(kinesisd, casedir, case, update):
    expected_path = os.path.join(casedir, case + ".expected")
    rc, out, err = run(kinesisd, casedir, case + ".yaml")
    actual = out + err

    if update:
        with open(expected_path, "w", encoding="utf-8") as f:
            f.write(actual)
        print(f"{case}: wrote {case}.expected (exit code {rc})")
        return 0

    try:
        with open(expected_path, encoding="utf-8") as f:
            expected = f.read()
    except OSError as e:
        sys.stderr.write(f"{case}: cannot read {case}.expected: {e}\n")
        return 1

    good = expected.startswith("configuration OK: ")
    want_rc = 0 if good else EXIT_CONFIG
    failed = False
    if rc != want_rc:
        sys.stderr.write(f"{case}: exit code {rc}, expected {want_rc}\n")
        failed = True
    if not good and out:
        sys.stderr.write(f"{case}: a rejected configuration printed on stdout:\n{out}")
        failed = True
    if actual != expected:
        sys.stderr.write(f"{case}: output differs from {case}.expected:\n")
        sys.stderr.writelines(difflib.unified_diff(
            expected.splitlines(keepends=True), actual.splitlines(keepends=True),
            fromfile=f"{case}.expected", tofile=f"{case} (actual)"))
        failed = True
    if failed:
        return 1
    print(f"{case}: ok")
    return 0


def main(argv):
    if len(argv) == 4 and argv[0] == "--check-ok":
        return check_ok(argv[1], argv[2], argv[3])
    update = "--update" in argv
    args = [a for a in argv if a != "--update"]
    if len(args) != 3:
        sys.stderr.write(__doc__)
        return 2
    return golden(args[0], args[1], args[2], update)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
