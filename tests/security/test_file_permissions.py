#!/usr/bin/env python3
"""Files that choose what kinesisd does get a warning when anyone but their
owner may write them (group- or world-writable).

  test_file_permissions.py creds KINESISD MOCK_PORT_FILE
  test_file_permissions.py config KINESISD

creds: the shared credentials file and the shared config file, each made
group-writable and then world-writable, are used by kinesisd --plan against
kinesis-mock; stderr must name each writable file and say it is group- or
world-writable. The same files at 0600 give no such warning (the check is not
just always on).

config: kinesisd.yaml and a file it includes, group- or world-writable, must
be warned about (naming the file) by --check-config, which runs the same
loader as the daemon, --once and --plan; the same files at 0644 must not be."""
import os
import sys

from kinesisd_test.checks import check
from kinesisd_test.ports import mock_port
from seclib import Suite

KEYS_NONE = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}


def warned_about(err, path):
    """Is there a line naming path that says it is writable by others?"""
    for line in err.splitlines():
        low = line.lower()
        if path in line and "writable" in low and ("group" in low or "world" in low or "other" in low):
            return True
    return False


def creds(kinesisd, port_file):
    port = mock_port(port_file)
    s = Suite("security-creds-file-permissions")
    cfg = s.write("kinesisd.yaml", "aws:\n  region: us-east-1\nstreams:\n"
                  "  - name: perm-%d\n    shards: 1\n" % os.getpid())
    cred_path = s.write("aws/credentials", "[default]\naws_access_key_id = AKIDPERMTEST\n"
                        "aws_secret_access_key = permSecretNotReal\n", 0o600)
    conf_path = s.write("aws/config", "[default]\nregion = us-east-1\n", 0o600)
    env = dict(KEYS_NONE, AWS_SHARED_CREDENTIALS_FILE=cred_path, AWS_CONFIG_FILE=conf_path)

    def plan():
        rc, out, err, _ = s.run_cmd([kinesisd, "--plan", "-c", cfg, "--state-dir", s.path("state"),
                                     "--endpoint", "http://127.0.0.1:%d" % port], env)
        check(rc in (0, 2), "--plan failed (%d)" % rc, err[-1500:])
        return err

    def test_private_files_no_warning():
        os.chmod(cred_path, 0o600)
        os.chmod(conf_path, 0o600)
        err = plan()
        check(not warned_about(err, cred_path) and not warned_about(err, conf_path),
              "a warning about 0600 files", err)

    def test_group_writable():
        for mode in (0o620, 0o660, 0o664):
            os.chmod(cred_path, mode)
            os.chmod(conf_path, mode)
            err = plan()
            check(warned_about(err, cred_path), "no warning for the credentials file at %o" % mode, err)
            check(warned_about(err, conf_path), "no warning for the config file at %o" % mode, err)

    def test_world_writable():
        for mode in (0o602, 0o646, 0o666):
            os.chmod(cred_path, mode)
            os.chmod(conf_path, 0o600)
            err = plan()
            check(warned_about(err, cred_path), "no warning for the credentials file at %o" % mode, err)
            check(not warned_about(err, conf_path), "a warning for the 0600 config file", err)

    for t in (test_private_files_no_warning, test_group_writable, test_world_writable):
        s.run(t)
    return s.summary()


def config(kinesisd):
    s = Suite("security-config-file-permissions")
    main_cfg = s.write("etc/kinesisd.yaml", "aws:\n  region: us-east-1\ninclude:\n  - streams.d/*.yaml\n"
                       "streams:\n  - name: perm-main\n    shards: 1\n", 0o644)
    inc = s.write("etc/streams.d/extra.yaml", "streams:\n  - name: perm-extra\n    shards: 1\n", 0o644)
    env = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "notARealSecret"}

    def outputs():
        rc, out, err, _ = s.run_cmd([kinesisd, "--check-config", "-c", main_cfg], env)
        check(rc == 0, "--check-config failed (%d)" % rc, err)
        return err

    def test_private_files_no_warning():
        os.chmod(main_cfg, 0o644)
        os.chmod(inc, 0o600)
        err = outputs()
        check(not warned_about(err, main_cfg) and not warned_about(err, inc), "a warning about 0644 files",
              err)

    def test_group_writable_main():
        for mode in (0o664, 0o660):
            os.chmod(main_cfg, mode)
            os.chmod(inc, 0o644)
            err = outputs()
            check(warned_about(err, main_cfg), "no warning for kinesisd.yaml at %o" % mode, err)

    def test_world_writable_main():
        os.chmod(main_cfg, 0o646)
        os.chmod(inc, 0o644)
        err = outputs()
        check(warned_about(err, main_cfg), "no warning for kinesisd.yaml at 646", err)

    def test_writable_include():
        os.chmod(main_cfg, 0o644)
        for mode in (0o664, 0o666):
            os.chmod(inc, mode)
            err = outputs()
            check(warned_about(err, inc), "no warning for the included file at %o" % mode, err)

    for t in (test_private_files_no_warning, test_group_writable_main, test_world_writable_main,
              test_writable_include):
        s.run(t)
    return s.summary()


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "creds":
        return creds(sys.argv[2], sys.argv[3])
    if len(sys.argv) == 3 and sys.argv[1] == "config":
        return config(sys.argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
