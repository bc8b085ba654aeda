"""Running a test script in a mount namespace of its own, so that what it
mounts (a tmpfs, a socket over the journal's) never outlives it nor reaches
any other process."""
import os
import shutil
import subprocess
import sys


def in_private_mount_ns(mark):
    """Re-run this script in a mount namespace of its own when we may (root,
    unshare works); returns True in the process that runs in one, False when
    there is none (the script goes on without). mark: an environment variable
    the re-run script sees, so it does not try again."""
    if os.environ.get(mark) == "1":
        return True
    if os.geteuid() != 0 or os.environ.get(mark) == "0" or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if probe.returncode != 0:
        return False
    env = dict(os.environ, **{mark: "1"})
    rc = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", sys.executable]
                        + sys.argv, env=env).returncode
    sys.exit(rc)
