"""Baseline (c): a model of a declarative provisioning tool's create-and-wait behaviour.

How such a tool's apply step creates N stream resources, as a model:
at most 10 resources at once (its default parallelism); each one calls
CreateStream, retrying it while AWS answers LimitExceededException (the
5-CREATING rule, or a rate), then waits for ACTIVE: the first look 10 s
after the creation, then one every 3 s.

  python3 baseline-apply.py ENDPOINT PREFIX N

Credentials and region come from the environment (bench.py passes fake ones);
the endpoint is always a loopback one (the strict proxy in front of the mock).
The SDK's own retries are off: the retry on LimitExceededException is the
model's, with a doubling backoff from 1 s to 20 s as the provider's retryer
does. Prints "refusals N" (LimitExceededException answers seen) on stdout.
"""
import sys
import threading
import time

import boto3
import botocore.config
import botocore.exceptions

PARALLELISM = 10
FIRST_POLL = 10.0
POLL = 3.0
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 20.0


def main():
    endpoint, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cfg = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})
    todo = ["%s-%04d" % (prefix, i) for i in range(n)]
    lock = threading.Lock()
    refusals = [0]
    errors = []

    def limited(e):
        return e.response.get("Error", {}).get("Code") == "LimitExceededException"

    def call(kinesis, fn, **kw):
        backoff = BACKOFF_FIRST
        while True:
            try:
                return fn(**kw)
            except botocore.exceptions.ClientError as e:
                if not limited(e):
                    raise
                with lock:
                    refusals[0] += 1
                time.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)

    def worker():
        kinesis = boto3.client("kinesis", endpoint_url=endpoint, config=cfg)
        try:
            while True:
                with lock:
                    if not todo:
                        return
                    name = todo.pop(0)
                call(kinesis, kinesis.create_stream, StreamName=name, ShardCount=1)
                time.sleep(FIRST_POLL)
                while call(kinesis, kinesis.describe_stream_summary, StreamName=name)[
                        "StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
                    time.sleep(POLL)
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(PARALLELISM)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("refusals %d" % refusals[0])
    if errors:
        print("error: %s" % errors[0], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
