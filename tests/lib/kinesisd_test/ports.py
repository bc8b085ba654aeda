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


def proxy_port(port_file):
    """The port of the strict proxy the fixture starts in front of the mock
    ("<port file>.proxy"): where the kinesisd under test is pointed, so that
    it meets AWS's limits. The harness's own calls go to mock_port()."""
    return mock_port(port_file + ".proxy")


def allow_refusals(port_file, akid):
    """Declare that the account akid is meant to be refused by the strict
    proxy (tests/kinesis-mock/kinesis-mock.py: the fixture's stop fails on
    any other refusal)."""
    d = port_file + ".allow-refusals"
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, akid), "w").close()
