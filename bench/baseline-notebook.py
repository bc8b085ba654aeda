"""Baseline (a): the boto3 notebook loop.

What a notebook cell does to get N streams: for each stream in turn, create it,
then describe it and sleep 5 s until it is ACTIVE. Sequential on purpose:
that is how the procedure is written and run by hand.

  python3 baseline-notebook.py ENDPOINT PREFIX N

Credentials and region come from the environment (bench.py passes fake ones);
the endpoint is always the loopback mock.
"""
import sys
import time

import boto3


def main():
    endpoint, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    kinesis = boto3.client("kinesis", endpoint_url=endpoint)
    for i in range(n):
        name = "%s-%04d" % (prefix, i)
        kinesis.create_stream(StreamName=name, ShardCount=1)
        while True:
            status = kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamStatus"]
            if status == "ACTIVE":
                break
            time.sleep(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
