"""Where kinesis-mock listens: the port file the kinesis_mock fixture writes.
Without it the test skips (exit 77) when KINESISD_SKIP_INTEGRATION is set
and fails (exit 1) otherwise: a fixture that did not start is an error."""
import os
import sys

SKIP_ENV = "KINESISD_SKIP_INTEGRATION"


def skip_or_fail(why):
    """Exit 77 (skip) when integration tests may be skipped, else exit 1."""
    if os.environ.get(SKIP_ENV):
        print("SKIP: %s (%s is set)" % (why, SKIP_ENV), flush=True)
        sys.exit(77)
    print("ERROR: %s" % why, file=sys.stderr, flush=True)
    sys.exit(1)


def mock_port(port_file):
    """The fixture's kinesis-mock port, or exit (see skip_or_fail)."""
    try:
        with open(port_file) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        skip_or_fail("no kinesis-mock port in %s: the kinesis_mock fixture did not start"
                     % port_file)
