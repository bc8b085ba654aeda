#!/usr/bin/env python3
"""daemon-region: --region replaces aws.region, and with it the region of
every stream that inherited it; a stream that names its own region stays
there. The streams.env names follow the effective default region."""

from daemonlib import Test
from kinesisd_test.state import read_state

T = Test("region", "us-west-1")
P = T.prefix
T.regions.add("sa-east-1")  # so cleanup() deletes the moved stream too

CONFIG = """aws:
  region: us-west-1
  endpoint: {endpoint}
reconcile:
  poll: 100ms
streams:
  - name: {prefix}moved
    shards: 1
  - name: {prefix}pinned
    region: us-west-1
    shards: 1
"""
cfg = T.write("kinesisd.yaml", CONFIG)
state = T.path("state")


def test_region_override():
    T.once(cfg, state, "--region", "sa-east-1")
    st = read_state(state)
    moved = st["arn"].get(("sa-east-1", P + "moved"))
    pinned = st["arn"].get(("us-west-1", P + "pinned"))
    T.check(moved is not None and ":sa-east-1:" in moved, "inherited region follows --region", str(st["arn"]))
    T.check(pinned is not None and ":us-west-1:" in pinned, "explicit region stays", str(st["arn"]))
    var = lambda n: n.upper().replace("-", "_").replace(".", "_")
    T.check(("KINESIS_STREAM_%s_ARN" % var(P + "moved")) in st["env"], "default-region stream: plain name",
            str(sorted(st["env"])))
    T.check(("KINESIS_STREAM_US_WEST_1_%s_ARN" % var(P + "pinned")) in st["env"],
            "other-region stream: region in the name", str(sorted(st["env"])))


T.run(test_region_override)
