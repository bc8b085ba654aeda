"""What only the security tests share: a suite whose runs get a clean
environment without any credential (each test brings the ones it checks)
and HOME in a fresh temporary directory, and the FILE:LINE:COLUMN pattern
of the loader's messages. Nothing here may reach anything but 127.0.0.1."""
import re

from kinesisd_test import checks, process
from kinesisd_test.environment import Scratch, clean_env

# FILE:LINE:COLUMN: message
LOCATED = re.compile(r"[^\s:]+:[1-9][0-9]*:[1-9][0-9]*: \S")


class Suite(checks.Suite, Scratch):
    def __init__(self, name):
        checks.Suite.__init__(self, name)
        Scratch.__init__(self, "kinesisd-sec-")

    def env(self, extra=None):
        return clean_env(self.home, extra=extra)

    def run_cmd(self, argv, env=None, timeout=120):
        """(rc, stdout, stderr, seconds), run in the scratch directory."""
        return process.run(argv, self.env(env), timeout, cwd=self.tmp.name)
