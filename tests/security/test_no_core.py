#!/usr/bin/env python3
"""No core dump of kinesisd can carry its secret key (issue 13, item 9).

  test_no_core.py KINESISD

kinesisd, running as a daemon (a configuration without streams: nothing
needs AWS), once it has written its exports:
- as root: its core size limit, soft and hard, is 0 (/proc/PID/limits);
- as another user (uid 65534): it is not dumpable, which the kernel shows by
  giving /proc/PID and its files to root instead of the process's own user
  (a dumpable process's are its user's), and its core limit is 0.
SIGTERM then ends it with exit 0. Root only (the second run changes user);
skipped otherwise."""
import os
import signal
import subprocess
import sys

from kinesisd_test.checks import check, check_no_sanitizer
from kinesisd_test.process import kill, wait_exit, wait_for
from seclib import Suite

NOBODY = 65534
# Bounds a hang, not a speed.
WAIT = 60


def core_limit(pid):
    """(soft, hard) of "Max core file size" in /proc/PID/limits."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max core file size"):
                return tuple(line.split()[4:6])
    return None


def as_user(uid):
    def become():
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    return become


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("SKIP: not root: cannot run kinesisd as another user")
        return 77
    kinesisd = sys.argv[1]
    s = Suite("security-no-core")
    # The user of the second run must reach its files.
    os.chmod(s.tmp.name, 0o755)
    cfg = s.write("kinesisd.yaml", "aws:\n  region: eu-west-1\nstreams: []\n")

    def run_daemon(name, uid, look):
        """Start the daemon as uid with a state directory of its own; once
        it has exported, call look(pid); then stop it."""
        state = s.path(name)
        os.makedirs(state)
        os.chown(state, uid, uid)
        log = s.path(name + ".log")
        with open(log, "wb") as err:
            p = subprocess.Popen([kinesisd, "-c", cfg, "--state-dir", state], env=s.env(), cwd=s.tmp.name,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                 preexec_fn=as_user(uid) if uid else None)
        try:
            # Written after start-up: whatever the daemon does first is done.
            check(wait_for(lambda: os.path.exists(os.path.join(state, "streams.env")), WAIT),
                  "%s: the exports are written" % name, open(log).read()[-2000:])
            look(p.pid)
            p.send_signal(signal.SIGTERM)
            check(wait_exit(p, WAIT) == 0, "%s: exit 0 on SIGTERM" % name)
        finally:
            kill(p)
        with open(log) as f:
            text = f.read()
        check_no_sanitizer(text)
        check("non-dumpable" not in text and "core size" not in text,
              "%s: no warning about core dumps" % name, text[-2000:])

    def test_root():
        def look(pid):
            check(core_limit(pid) == ("0", "0"), "as root: core limit 0, soft and hard", str(core_limit(pid)))
        run_daemon("root", 0, look)

    def test_other_user():
        def look(pid):
            with open("/proc/%d/status" % pid) as f:
                uids = [line.split()[1:] for line in f if line.startswith("Uid:")][0]
            check(uids == [str(NOBODY)] * 4, "runs as uid %d" % NOBODY, str(uids))
            owner = os.stat("/proc/%d/status" % pid).st_uid
            check(owner == 0, "not dumpable: /proc/PID/status belongs to root, not uid %d" % NOBODY,
                  "owner %d" % owner)
            check(core_limit(pid) == ("0", "0"), "as uid %d: core limit 0, soft and hard" % NOBODY,
                  str(core_limit(pid)))
        run_daemon("nobody", NOBODY, look)

    for t in (test_root, test_other_user):
        s.run(t)
    return s.summary()


if __name__ == "__main__":
    sys.exit(main())
