#!/usr/bin/env python3
"""Secrets never leak (DESIGN section 5: "Secrets never appear in a log or a
file we write").

  test_secrets.py KINESISD KINESIS_CALL MOCK_PORT_FILE

With distinctive fake secret access keys and session tokens supplied through
each credential source (environment variables, the shared credentials file,
a credential_process in the shared config file), runs at --log-level debug

  kinesisd --plan  (changes pending), kinesisd --once, kinesisd --plan (in sync)
  kinesis-call --debug: a plain call, a paged listing, an AWS error

against kinesis-mock, and greps stdout, stderr and every file in the state
directory (and every other file left in the test's directory, other than the
inputs that hold the secrets) for the secret and the token and for any 12
consecutive characters of either. Also the failure paths: a malformed
secret in the environment and a credential_process that prints the secret in
a document kinesisd must refuse."""
import os
import secrets
import sys

from kinesisd_test.checks import check
from kinesisd_test.ports import mock_port
from kinesisd_test.state import files_under
from seclib import Suite

WINDOW = 12


def fake_secret(tag):
    # 40 characters like a real secret key, with the characters base64 uses.
    return ("Sk%s/%s+Zq" % (tag, secrets.token_hex(16)))[:40]


def fake_token(tag):
    # Session tokens are long base64 strings.
    body = "".join(secrets.token_hex(8) + ("/" if i % 3 == 0 else "+") for i in range(20))
    return "IQoJb3JpZ2luX2Vj%s%s==" % (tag, body)


def windows(s):
    return {s[i:i + WINDOW] for i in range(0, len(s) - WINDOW + 1)}


class Leaks:
    def __init__(self, *values):
        self.values = [v for v in values if v]
        self.needles = set()
        for v in self.values:
            self.needles |= windows(v)
        self.needles_b = {n.encode() for n in self.needles}

    def find_text(self, text):
        return sorted(n for n in self.needles if n in text)

    def find_bytes(self, data):
        return sorted(n.decode() for n in self.needles_b if n in data)


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    kinesisd, kcall, port_file = sys.argv[1:]
    port = mock_port(port_file)
    endpoint = "http://127.0.0.1:%d" % port
    s = Suite("security-no-secrets")
    tag = "s%d" % os.getpid()
    inputs = set()  # files we wrote that legitimately hold secrets

    def scan_outputs(what, leaks, outputs, state_dir):
        for name, text in outputs:
            found = leaks.find_text(text)
            check(not found, "%s: a secret appears in %s" % (what, name),
                  "matching fragments: %s" % found[:3])
        for path, data in files_under(state_dir).items():
            found = leaks.find_bytes(data)
            check(not found, "%s: a secret appears in the state file %s" % (what, path),
                  "matching fragments: %s" % found[:3])
        # Anything else kinesisd may have left in the test's directory.
        for path, data in files_under(s.tmp.name).items():
            if path in inputs or path.startswith(state_dir + os.sep):
                continue
            found = leaks.find_bytes(data)
            check(not found, "%s: a secret appears in %s" % (what, path), found[:3])

    def daemon_cycle(what, env, leaks, streams_prefix):
        cfg = s.write("%s/kinesisd.yaml" % what, """\
aws:
  region: us-east-1
reconcile:
  poll: 200ms
  timeout: 2m
defaults:
  tags: { managed-by: kinesisd }
streams:
  - name: %(p)s-a
    shards: 1
    tags: { team: security }
    consumers: [reader]
    encryption: { kms_key: alias/aws/kinesis }
  - name: %(p)s-b
    shards: 2
    retention_hours: 48
""" % {"p": streams_prefix})
        state = s.path(what, "state")
        common = ["-c", cfg, "--state-dir", state, "--endpoint", endpoint, "--log-level", "debug"]
        runs = []
        rc, out, err, _ = s.run_cmd([kinesisd, "--plan"] + common, env)
        check(rc == 2, "%s: --plan before creating should exit 2 (changes), got %d" % (what, rc), err[-2000:])
        runs.append(("--plan (changes)", rc, out, err))
        rc, out, err, _ = s.run_cmd([kinesisd, "--once"] + common, env, timeout=240)
        check(rc == 0, "%s: --once should exit 0, got %d" % (what, rc), err[-2000:])
        check(os.path.exists(os.path.join(state, "streams.json")), "%s: --once exported nothing" % what)
        runs.append(("--once", rc, out, err))
        rc, out, err, _ = s.run_cmd([kinesisd, "--plan"] + common, env)
        check(rc == 0, "%s: --plan after --once should exit 0 (in sync), got %d" % (what, rc), err[-2000:])
        runs.append(("--plan (in sync)", rc, out, err))
        # The debug level really is on: otherwise the test proves little.
        check("HTTP" in runs[1][3] or "attempt" in runs[1][3],
              "%s: --log-level debug printed no request-level lines" % what, runs[1][3][-1000:])
        outputs = []
        for name, _rc, out, err in runs:
            outputs += [("stdout of kinesisd %s" % name, out), ("stderr of kinesisd %s" % name, err)]
        scan_outputs(what, leaks, outputs, state)

    def kcall_cycle(what, env, leaks, stream):
        base = [kcall, "--debug", "--region", "us-east-1", "--endpoint", endpoint]
        outputs = []
        rc, out, err, _ = s.run_cmd(base + ["ListStreams", "{}"], env)
        check(rc == 0, "%s: kinesis-call ListStreams failed (%d)" % (what, rc), err[-1500:])
        outputs += [("kinesis-call ListStreams stdout", out), ("kinesis-call ListStreams stderr", err)]
        rc, out, err, _ = s.run_cmd(base + ["--paged", "--limit", "50", "ListStreams", "{}"], env)
        check(rc == 0, "%s: kinesis-call --paged ListStreams failed (%d)" % (what, rc), err[-1500:])
        outputs += [("kinesis-call --paged stdout", out), ("kinesis-call --paged stderr", err)]
        rc, out, err, _ = s.run_cmd(base + ["DescribeStreamSummary",
                                            '{"StreamName":"%s-does-not-exist"}' % stream], env)
        check(rc == 1, "%s: kinesis-call for a missing stream should exit 1, got %d" % (what, rc),
              err[-1500:])
        outputs += [("kinesis-call error stdout", out), ("kinesis-call error stderr", err)]
        scan_outputs(what + " (kinesis-call)", leaks, outputs, s.path(what, "state"))

    secret_env, token_env = fake_secret("Env"), fake_token("Env")
    secret_file, token_file = fake_secret("File"), fake_token("File")
    secret_proc, token_proc = fake_secret("Proc"), fake_token("Proc")

    def test_environment_variables():
        env = {"AWS_ACCESS_KEY_ID": "AKIDSECURITYENV", "AWS_SECRET_ACCESS_KEY": secret_env,
               "AWS_SESSION_TOKEN": token_env}
        leaks = Leaks(secret_env, token_env)
        daemon_cycle("env", env, leaks, tag + "-env")
        kcall_cycle("env", env, leaks, tag)

    def test_shared_credentials_file():
        creds = s.write("aws/credentials", "[default]\naws_access_key_id = AKIDWRONGDEFAULT\n"
                        "aws_secret_access_key = %s\n\n[secprof]\naws_access_key_id = AKIDSECURITYFILE\n"
                        "aws_secret_access_key = %s\naws_session_token = %s\n"
                        % (fake_secret("Dflt"), secret_file, token_file), 0o600)
        conf = s.write("aws/config", "[profile secprof]\nregion = us-east-1\n", 0o600)
        inputs.update({creds, conf})
        env = {"AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_CONFIG_FILE": conf, "AWS_PROFILE": "secprof"}
        leaks = Leaks(secret_file, token_file)
        daemon_cycle("file", env, leaks, tag + "-file")
        kcall_cycle("file", env, leaks, tag)

    def test_credential_process():
        script = s.write("aws/creds-proc.py", """\
import json
print(json.dumps({"Version": 1, "AccessKeyId": "ASIASECURITYPROC", "SecretAccessKey": %r,
                  "SessionToken": %r, "Expiration": "2099-01-01T00:00:00Z"}))
""" % (secret_proc, token_proc), 0o600)
        conf = s.write("aws/config-proc", "[profile proc]\nregion = us-east-1\n"
                       "credential_process = %s %s\n" % (sys.executable, script), 0o600)
        inputs.update({script, conf})
        env = {"AWS_SHARED_CREDENTIALS_FILE": s.path("aws", "none"), "AWS_CONFIG_FILE": conf,
               "AWS_PROFILE": "proc"}
        leaks = Leaks(secret_proc, token_proc)
        daemon_cycle("proc", env, leaks, tag + "-proc")
        kcall_cycle("proc", env, leaks, tag)

    def test_refused_credentials_are_not_echoed():
        # A secret kinesisd must refuse (it would break a header line) ...
        bad_secret = fake_secret("Bad") + "\n" + fake_secret("Bad2")
        leaks = Leaks(*bad_secret.split("\n"))
        env = {"AWS_ACCESS_KEY_ID": "AKIDSECURITYBAD", "AWS_SECRET_ACCESS_KEY": bad_secret}
        cfg = s.write("bad/kinesisd.yaml", "aws: { region: us-east-1 }\nstreams:\n"
                      "  - { name: %s-bad, shards: 1 }\n" % tag)
        state = s.path("bad", "state")
        rc, out, err, _ = s.run_cmd([kinesisd, "--plan", "-c", cfg, "--state-dir", state, "--endpoint",
                                     endpoint, "--log-level", "debug"], env)
        check(rc != 0 and rc != 2, "a malformed secret key should make --plan fail, got %d" % rc, err)
        scan_outputs("malformed env secret", leaks, [("stdout", out), ("stderr", err)], state)
        # ... and a credential_process document it must refuse (Version 2).
        refused = fake_secret("Refused")
        script = s.write("bad/proc.py", "import json\nprint(json.dumps({'Version': 2, "
                         "'AccessKeyId': 'ASIAREFUSED', 'SecretAccessKey': %r}))\n" % refused, 0o600)
        conf = s.write("bad/config", "[default]\nregion = us-east-1\ncredential_process = %s %s\n"
                       % (sys.executable, script), 0o600)
        inputs.update({script, conf})
        env = {"AWS_SHARED_CREDENTIALS_FILE": s.path("bad", "none"), "AWS_CONFIG_FILE": conf}
        rc, out, err, _ = s.run_cmd([kinesisd, "--plan", "-c", cfg, "--state-dir", state, "--endpoint",
                                     endpoint, "--log-level", "debug"], env)
        check(rc != 0 and rc != 2, "a Version 2 credential_process document should be refused, got %d"
              % rc, err)
        scan_outputs("refused credential_process", Leaks(refused), [("stdout", out), ("stderr", err)],
                     state)

    for t in (test_environment_variables, test_shared_credentials_file, test_credential_process,
              test_refused_credentials_are_not_echoed):
        s.run(t)
    return s.summary()


if __name__ == "__main__":
    sys.exit(main())
