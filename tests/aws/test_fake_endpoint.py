#!/usr/bin/env python3
"""Retries, backoff, the retry quota, pacing, paging, request shape and URL
policy, through kinesis-call against a scripted fake Kinesis endpoint on
127.0.0.1 that records every request with its arrival time.

  test_fake_endpoint.py KINESIS_CALL"""
import json
import sys
import time

from awstest import FakeServer, Suite, stats

S = Suite("aws-fake-endpoint", sys.argv[1])
SLACK = 0.08  # seconds of scheduling noise allowed on timing bounds


def kcall(kin, *args, env=None):
    return S.call(["--endpoint", kin.url, "--region", "us-east-1", "--stats"] + list(args), env=env)


def times(kin):
    return [r["t"] for r in kin.requests()]


def gaps(kin):
    """From each answer leaving the server to the next request arriving: the
    client's own time (backoff, pacing), without this server's (a busy
    machine slows the Python server most)."""
    r = kin.requests()
    return [b["t"] - a["t_end"] for a, b in zip(r, r[1:])]


def test_request_shape():
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, "DescribeStreamSummary", '{"StreamName": "orders"}')
        S.check(rc == 0, "exit 0", err)
        S.check(json.loads(out)["StreamDescriptionSummary"]["StreamName"] == "orders", "body printed", out)
        r = kin.requests()[0]
        S.check(r["method"] == "POST" and r["path"] == "/", "POST /", str(r))
        S.check(r["target"] == "Kinesis_20131202.DescribeStreamSummary", "target", str(r))
        S.check(r["ctype"] == "application/x-amz-json-1.1", "content type", str(r))
        S.check(json.loads(r["body"]) == {"StreamName": "orders"}, "body", str(r))
        S.check(r["akid"] == "AKIDEXAMPLE" and r["region"] == "us-east-1" and r["service"] == "kinesis",
                "credential scope", str(r))


def test_throttling_retried():
    with FakeServer(S, "kinesis", "--fail", 3, "--with", "throttle") as kin:
        rc, out, err, _ = kcall(kin, "--retry-base-ms", "10", "ListStreams", "{}")
        st = stats(err)
        S.check(rc == 0, "exit 0 after retries", err)
        S.check(len(kin.requests()) == 4, "4 attempts", str(len(kin.requests())))
        S.check(st.get("retries") == 3 and st.get("throttles") == 3, "counters", str(st))
        dates = [r["amz_date"] for r in kin.requests()]
        S.check(all(dates), "every attempt signed", str(dates))


def test_5xx_retried():
    for kind in ("500", "503"):
        with FakeServer(S, "kinesis", "--fail", 2, "--with", kind) as kin:
            rc, out, err, _ = kcall(kin, "--retry-base-ms", "10", "ListStreams", "{}")
            S.check(rc == 0 and len(kin.requests()) == 3, "%s retried" % kind, err)


def test_garbage_retried():
    with FakeServer(S, "kinesis", "--fail", 1, "--with", "garbage") as kin:
        rc, out, err, _ = kcall(kin, "--retry-base-ms", "10", "DescribeStreamSummary", '{"StreamName":"a"}')
        S.check(rc == 0 and len(kin.requests()) == 2, "truncated answer retried", err)


def test_backoff_bounded_and_capped():
    # Full jitter: retry k waits uniformly in [0, min(cap, base * 2^k)]; a
    # retry is paced like any call too (DescribeStreamSummary: 16/s).
    base, cap, pace = 0.100, 0.400, 1 / 16.0
    with FakeServer(S, "kinesis", "--fail", -1, "--with", "503") as kin:
        rc, out, err, el = kcall(kin, "--max-attempts", "7", "--retry-base-ms", "100", "--retry-cap-ms", "400",
                                 "DescribeStreamSummary", '{"StreamName":"s"}')
        S.check(rc == 1 and "InternalFailure: " in err, "gives up with the last answer", err)
        g = gaps(kin)
        S.check(len(g) == 6, "7 attempts", str(g))
        for k, x in enumerate(g):
            bound = max(min(cap, base * 2 ** k), pace)
            S.check(x <= bound + SLACK, "gap %d = %.3f over its bound %.3f" % (k, x, bound), str(g))
        S.check(sum(g) <= 0.1 + 0.2 + 4 * 0.4 + SLACK * 3, "capped in total", str(g))


def test_client_errors_not_retried():
    with FakeServer(S, "kinesis", "--fail", -1, "--with", "client") as kin:
        rc, out, err, _ = kcall(kin, "ListStreams", "{}")
        S.check(rc == 1 and "ValidationException: 1 validation error detected" in err, "reported", err)
        S.check(len(kin.requests()) == 1, "no retry", str(len(kin.requests())))


def test_limit_exceeded_quota_vs_rate():
    with FakeServer(S, "kinesis", "--fail", -1, "--with", "limit-quota") as kin:
        rc, out, err, _ = kcall(kin, "CreateStream", '{"StreamName":"x","ShardCount":1}')
        S.check(rc == 1 and "LimitExceededException: " in err and len(kin.requests()) == 1,
                "a quota LimitExceededException is final", err)
    with FakeServer(S, "kinesis", "--fail", 2, "--with", "limit-rate") as kin:
        rc, out, err, _ = kcall(kin, "--retry-base-ms", "10", "CreateStream", '{"StreamName":"x","ShardCount":1}')
        S.check(rc == 0 and len(kin.requests()) == 3, "'Rate exceeded' is retried", err)


def test_retry_quota_stops_retries():
    # 10 tokens pay for two retries at 5 each; the third is refused.
    with FakeServer(S, "kinesis", "--fail", -1, "--with", "503") as kin:
        rc, out, err, _ = kcall(kin, "--retry-quota", "10", "--max-attempts", "10", "--retry-base-ms", "5",
                                "ListStreams", "{}")
        S.check(rc == 1 and len(kin.requests()) == 3, "quota spent after 2 retries", str(len(kin.requests())))
        S.check(stats(err).get("quota") == 0, "quota empty", err)


def test_timeout_retried_then_reported():
    with FakeServer(S, "kinesis", "--fail", -1, "--with", "timeout", "--sleep", "1.5") as kin:
        rc, out, err, _ = kcall(kin, "--timeout-ms", "300", "--max-attempts", "2", "--retry-base-ms", "5",
                                "ListStreams", "{}")
        t_exit = time.monotonic()
        S.check(rc == 2 and "timed out" in err, "timeout exits 2", err)
        # From the first request's arrival (not the process start, which a
        # busy machine delays): two attempts of 300 ms, not two of 1.5 s.
        el = t_exit - times(kin)[0] if kin.requests() else -1
        S.check(len(kin.requests()) == 2 and 0 <= el < 1.4, "one retry, bounded time",
                "%d %.2f" % (len(kin.requests()), el))
        # A timeout costs 10 of the quota.
        S.check(stats(err).get("quota") == 490, "timeout retry cost", err)


def test_timeout_warned_per_attempt():
    """A server that never answers: a warning for every attempt, naming the
    URL, the attempt and what comes next; the final error says how many
    attempts were made and how long they took."""
    with FakeServer(S, "kinesis", "--fail", -1, "--with", "timeout", "--sleep", "5") as kin:
        rc, out, err, _ = kcall(kin, "--timeout-ms", "400", "--max-attempts", "3", "--retry-base-ms", "5",
                                "ListStreams", "{}")
        S.check(rc == 2, "a timeout exits 2", err)
        url = "no answer from %s/ in " % kin.url
        for k, then in ((1, "trying again in"), (2, "trying again in"), (3, "giving up")):
            want = ["Kinesis.ListStreams: " + url, ", attempt %d of 3; %s" % (k, then)]
            S.check([l for l in err.splitlines() if all(w in l for w in want)],
                    "a warning for attempt %d" % k, err)
        final = [l for l in err.splitlines() if "ListStreams failed" in l]
        S.check(final and url in final[0] and "(3 attempts in " in final[0],
                "the final error names the URL, the attempts and the time", err)


def test_trickle_cut_short():
    """A server that sends its headers and then a byte now and then: the
    attempt ends on the low-speed limit, long before its 60 s timeout, and
    says so."""
    with FakeServer(S, "kinesis", "--fail", -1, "--with", "trickle", "--sleep", "0.5") as kin:
        rc, out, err, _ = kcall(kin, "--timeout-ms", "60000", "--max-attempts", "1", "ListStreams", "{}")
        S.check(rc == 2, "a trickled answer exits 2", err)
        S.check("answer from %s/ too slow: " % kin.url in err and "bytes in" in err,
                "the low-speed limit ended the attempt", err)
        S.check("(1 attempt in " in err, "the final error says one attempt", err)


def test_huge_body_refused():
    with FakeServer(S, "kinesis", "--fail", -1, "--with", "huge") as kin:
        rc, out, err, _ = kcall(kin, "ListStreams", "{}")
        S.check(rc == 2 and "too large" in err.lower(), "over 1 MiB refused", err)
        S.check(len(kin.requests()) == 1, "not retried", str(len(kin.requests())))


def window_max(ts, width=1.0):
    ts = sorted(ts)
    best, j = 0, 0
    for i in range(len(ts)):
        while ts[i] - ts[j] >= width:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_pacing_burst():
    # DescribeStreamSummary: 20 TPS x 0.8 = 16/s, a burst of 20 x (1 - 0.8) = 4:
    # never more than AWS's 20 in any second.
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, "--burst", "30", "DescribeStreamSummary", '{"StreamName":"s-{i}"}')
        S.check(rc == 0 and len(out.splitlines()) == 30, "30 answers", err)
        t = times(kin)
        names = {json.loads(r["body"])["StreamName"] for r in kin.requests()}
        S.check(len(t) == 30 and len(names) == 30, "30 streams", str(len(t)))
        S.check(window_max(t) <= 20, "at most 20 (4 + 16) in any second", str(window_max(t)))
        S.check(max(t) - min(t) >= 26 / 16.0 - SLACK, "spread over the rate after the burst",
                "%.3f" % (max(t) - min(t)))
        # Keep-alive: 30 calls over a handful of connections, not 30.
        S.check(0 < stats(err).get("sockets", 99) <= 4, "connections reused", err)


def test_per_stream_buckets():
    # ListStreamConsumers is limited per stream (5 TPS x 0.8, a burst of one):
    # different streams do not wait for each other, the same stream does.
    arn = "arn:aws:kinesis:us-east-1:123456789012:stream/%s"
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, "--burst", "10", "ListStreamConsumers",
                                '{"StreamARN":"%s"}' % (arn % "s-{i}"))
        t = times(kin)
        S.check(rc == 0 and max(t) - min(t) < 0.5, "different streams not serialized", "%.3f" % (max(t) - min(t)))
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, "--burst", "10", "ListStreamConsumers", '{"StreamARN":"%s"}' % (arn % "same"))
        t = times(kin)
        S.check(rc == 0 and max(t) - min(t) >= 9 / 4.0 - SLACK, "one stream paced at 4/s", "%.3f" % (max(t) - min(t)))
        S.check(window_max(t) <= 5, "at most 4 (+1) per second", str(window_max(t)))
    # ListTagsForStream is limited per account: different streams share it.
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, "--burst", "10", "ListTagsForStream", '{"StreamName":"s-{i}"}')
        t = times(kin)
        S.check(rc == 0 and max(t) - min(t) >= 9 / 4.0 - SLACK, "per-account call paced at 4/s across streams",
                "%.3f" % (max(t) - min(t)))
        S.check(window_max(t) <= 5, "at most 5 per second, AWS's limit", str(window_max(t)))


def test_throttling_slows_the_bucket():
    # Five throttling answers halve the rate each time (16 -> 1/s, its floor),
    # successes then win it back step by step: 20 calls take clearly longer
    # than the 1.2 s they take at full rate.
    with FakeServer(S, "kinesis", "--fail", 5, "--with", "throttle") as kin:
        rc, out, err, _ = kcall(kin, "--burst", "20", "--retry-base-ms", "5", "DescribeStreamSummary",
                                '{"StreamName":"s-{i}"}')
        t = times(kin)
        S.check(rc == 0 and len(t) == 25, "all succeed after retries", err)
        S.check(max(t) - min(t) >= 2.0, "slowed down", "%.3f" % (max(t) - min(t)))
        # 16/s with a burst of 4 (20 x (1 - 0.8)): never above AWS's 20 per second.
        S.check(window_max(t) <= 20, "never above AWS's limit", str(window_max(t)))


def test_paging():
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, "--paged", "--limit", "2", "ListStreams", "{}")
        S.check(rc == 0, "exit 0", err)
        got = json.loads(out)["Streams"]
        S.check([s["StreamName"] for s in got] == ["stream-%d" % i for i in range(5)], "all pages", out)
        S.check(all(s["StreamARN"].endswith(s["StreamName"]) and s["StreamStatus"] == "ACTIVE" for s in got),
                "summaries read", out)
        bodies = [json.loads(r["body"]) for r in kin.requests()]
        S.check(bodies == [{"Limit": 2}, {"NextToken": "2"}, {"NextToken": "4"}], "NextToken alone", str(bodies))
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, "--paged", "--limit", "2", "ListTagsForStream", '{"StreamName":"s"}')
        S.check(rc == 0 and json.loads(out)["Tags"] == {"k%d" % i: "vk%d" % i for i in range(5)}, "tags", out)
        bodies = [json.loads(r["body"]).get("ExclusiveStartTagKey") for r in kin.requests()]
        S.check(bodies == [None, "k1", "k3"], "ExclusiveStartTagKey", str(bodies))
    with FakeServer(S, "kinesis") as kin:
        rc, out, err, _ = kcall(kin, "--paged", "--limit", "2", "ListStreamConsumers",
                                '{"StreamARN":"arn:aws:kinesis:us-east-1:123456789012:stream/s"}')
        names = [c["ConsumerName"] for c in json.loads(out)["Consumers"]] if rc == 0 else []
        S.check(names == ["c%d" % i for i in range(5)] and len(kin.requests()) == 3, "consumers", out + err)


def test_plain_http_to_other_hosts_refused():
    for url in ("http://192.0.2.1:4568/", "http://10.1.2.3/", "http://[2001:db8::1]/", "http://127.0.0.1.example/"):
        rc, out, err, el = S.call(["--endpoint", url, "--region", "us-east-1", "ListStreams", "{}"])
        S.check(rc == 2 and "refusing plain http://" in err and el < 2, "%s refused" % url, err)
    rc, out, err, el = S.call(["--region", "us-east-1", "ListStreams", "{}"],
                              env={"AWS_ENDPOINT_URL_KINESIS": "http://192.0.2.1/"})
    S.check(rc == 2 and "refusing plain http://" in err, "from the environment too", err)
    rc, out, err, el = S.call(["--endpoint", "ftp://127.0.0.1/", "--region", "us-east-1", "ListStreams", "{}"])
    S.check(rc == 2, "other schemes refused", err)


def test_loopback_names_allowed():
    with FakeServer(S, "kinesis") as kin:
        for host in ("localhost", "127.0.0.1"):
            rc, out, err, _ = S.call(["--endpoint", "http://%s:%d" % (host, kin.port), "--region", "us-east-1",
                                      "ListStreams", "{}"])
            S.check(rc == 0, "%s allowed" % host, err)


for t in (test_request_shape, test_throttling_retried, test_5xx_retried, test_garbage_retried,
          test_backoff_bounded_and_capped, test_client_errors_not_retried, test_limit_exceeded_quota_vs_rate,
          test_retry_quota_stops_retries, test_timeout_retried_then_reported, test_timeout_warned_per_attempt,
          test_trickle_cut_short, test_huge_body_refused,
          test_pacing_burst, test_per_stream_buckets, test_throttling_slows_the_bucket, test_paging,
          test_plain_http_to_other_hosts_refused, test_loopback_names_allowed):
    S.run(t)
sys.exit(S.summary())
