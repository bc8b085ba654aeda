#!/usr/bin/env python3
"""limits-model: unit tests of tests/fault/aws_limits.py with a fake clock:
sliding windows, scopes, the CREATING/DELETING rule, UpdateShardCount's
range and daily budget, UpdateStreamMode and encryption budgets, consumer
limits, and the wording the daemon classifies by."""
import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
import aws_limits as L  # noqa: E402

ACCT, OTHER = "111122223333", "444455556666"
REGION = "us-east-1"
DAY = 24 * 3600.0


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def refused(r):
    return isinstance(r, L.Refusal)


class Base(unittest.TestCase):
    def setUp(self):
        self.clock = Clock()
        self.limits = L.Limits(self.clock)

    def call(self, op, stream="s", account=ACCT, region=REGION, facts=None, **body):
        if stream is not None:
            body.setdefault("StreamName", stream)
        return self.limits.admit(op, account, region, body, facts)

    def burst(self, op, n, **kw):
        """n calls at the current time; how many were refused."""
        return sum(refused(self.call(op, **kw)) for _ in range(n))

    def tick(self, secs):
        self.clock.now += secs


class TestRate(Base):
    def test_sixth_in_a_second_refused_then_allowed(self):
        for i in range(5):
            self.assertFalse(refused(self.call("CreateStream", stream="s%d" % i)))
            self.tick(0.19)
        r = self.call("CreateStream", stream="s5")
        self.assertTrue(refused(r))
        self.assertEqual(r.rule, "rate")
        self.assertEqual(r.error_type, "LimitExceededException")
        self.assertEqual(r.message, "Rate exceeded for stream s5 under account %s." % ACCT)
        # The first call is 0.95 s old: still inside the window.
        self.assertTrue(refused(self.call("CreateStream", stream="s5")))
        self.tick(0.05)   # the first call is now exactly 1 s old: it left the window
        self.assertFalse(refused(self.call("CreateStream", stream="s5")))
        self.assertTrue(refused(self.call("CreateStream", stream="s6")))

    def test_window_slides_not_resets(self):
        # 3 calls at t, 2 at t+0.6: at t+1.0 the first 3 leave, the other 2 stay.
        self.assertEqual(self.burst("ListStreams", 3, stream=None), 0)
        self.tick(0.6)
        self.assertEqual(self.burst("ListStreams", 2, stream=None), 0)
        self.tick(0.4)
        self.assertEqual(self.burst("ListStreams", 4, stream=None), 1)
        self.tick(0.59)
        self.assertEqual(self.burst("ListStreams", 1, stream=None), 1)
        self.tick(0.01)
        self.assertEqual(self.burst("ListStreams", 3, stream=None), 1)

    def test_refused_calls_take_no_slot(self):
        self.assertEqual(self.burst("ListStreams", 50, stream=None), 45)
        self.tick(1.0)
        self.assertEqual(self.burst("ListStreams", 6, stream=None), 1)

    def test_account_message_without_stream(self):
        self.burst("ListStreams", 5, stream=None)
        r = self.call("ListStreams", stream=None)
        self.assertEqual(r.message, "Rate exceeded for account %s." % ACCT)

    def test_rates(self):
        want = {"CreateStream": 5, "DeleteStream": 5, "ListStreams": 5, "AddTagsToStream": 5,
                "RemoveTagsFromStream": 5, "ListTagsForStream": 5, "RegisterStreamConsumer": 5,
                "DescribeStream": 10, "DescribeStreamSummary": 20, "UpdateShardCount": 10,
                "UpdateStreamWarmThroughput": 5, "ListStreamConsumers": 5,
                "DeregisterStreamConsumer": 5, "DescribeStreamConsumer": 20,
                "IncreaseStreamRetentionPeriod": 5, "DecreaseStreamRetentionPeriod": 5,
                "EnableEnhancedMonitoring": 5, "DisableEnhancedMonitoring": 5,
                "UpdateMaxRecordSize": 5, "PutResourcePolicy": 5, "GetResourcePolicy": 5,
                "DeleteResourcePolicy": 5, "TagResource": 5, "UntagResource": 5,
                "ListTagsForResource": 5, "UpdateStreamMode": 5, "StartStreamEncryption": 5,
                "StopStreamEncryption": 5}
        for op, n in sorted(want.items()):
            self.tick(10)
            # Distinct streams so that per-stream daily budgets stay out of it,
            # and facts that leave room for everything else.
            facts = {"busy_streams": 0, "open_shards": 4, "creating_consumers": 0,
                     "stream_consumers": 0}
            got = [refused(self.call(op, stream=None, facts=facts, StreamARN=ARN % "s",
                                     TargetShardCount=4))
                   for _ in range(n + 1)] if L.TPS[op][1] else \
                [refused(self.call(op, stream="%s-%d" % (op, i), facts=facts, TargetShardCount=4))
                 for i in range(n + 1)]
            self.assertEqual(got, [False] * n + [True], op)

    def test_unlimited_ops_pass(self):
        self.assertEqual(self.burst("PutRecord", 100), 0)
        self.assertEqual(self.burst("DescribeLimits", 100, stream=None), 0)


ARN = "arn:aws:kinesis:us-east-1:111122223333:stream/%s"


class TestScope(Base):
    def test_per_stream(self):
        for op, n in (("ListStreamConsumers", 5), ("DeregisterStreamConsumer", 5),
                      ("DescribeStreamConsumer", 20)):
            self.tick(5)
            self.assertEqual(self.burst(op, n + 1, stream=None, StreamARN=ARN % "a"), 1, op)
            self.assertEqual(self.burst(op, n, stream=None, StreamARN=ARN % "b"), 0, op)
        # A consumer ARN names its stream.
        self.tick(5)
        carn = ARN % "c" + "/consumer/x:1"
        self.assertEqual(self.burst("DescribeStreamConsumer", 20, stream=None, ConsumerARN=carn), 0)
        self.assertEqual(self.burst("DescribeStreamConsumer", 1, stream=None, ConsumerARN=carn), 1)
        self.assertEqual(self.burst("DescribeStreamConsumer", 1, stream="d"), 0)

    def test_per_account(self):
        for i in range(5):
            self.assertFalse(refused(self.call("ListTagsForStream", stream="a%d" % i)))
        self.assertTrue(refused(self.call("ListTagsForStream", stream="b")))
        # Another account, another region: budgets of their own.
        self.assertFalse(refused(self.call("ListTagsForStream", stream="b", account=OTHER)))
        self.assertFalse(refused(self.call("ListTagsForStream", stream="b", region="eu-west-1")))

    def test_ops_do_not_share(self):
        self.assertEqual(self.burst("AddTagsToStream", 5), 0)
        self.assertEqual(self.burst("RemoveTagsFromStream", 5), 0)
        self.assertEqual(self.burst("AddTagsToStream", 1), 1)


class TestBusyStreams(Base):
    def test_five_creating_or_deleting(self):
        for op in ("CreateStream", "DeleteStream"):
            self.tick(5)
            self.assertFalse(refused(self.call(op, stream="x", facts={"busy_streams": 4})))
            r = self.call(op, stream="y", facts={"busy_streams": 5})
            self.assertTrue(refused(r), op)
            self.assertEqual(r.rule, "busy-streams")
            self.assertEqual(r.message, L.MSG_BUSY_STREAMS.format(account=ACCT))
            self.assertIn("simultaneously be in CREATING or DELETING", r.message)
        # Other operations do not care.
        self.assertFalse(refused(self.call("AddTagsToStream", facts={"busy_streams": 9})))

    def test_rate_is_checked_first(self):
        self.assertEqual(self.burst("CreateStream", 5, facts={"busy_streams": 0}), 0)
        self.assertEqual(self.call("CreateStream", facts={"busy_streams": 5}).rule, "rate")


class TestShardCount(Base):
    def usc(self, target, n, stream="s"):
        return self.call("UpdateShardCount", stream=stream, facts={"open_shards": n},
                         TargetShardCount=target, ScalingType="UNIFORM_SCALING")

    def test_range(self):
        cases = [(3, 2, True), (3, 1, False), (3, 6, True), (3, 7, False), (4, 2, True),
                 (4, 1, False), (1, 2, True), (1, 3, False), (1, 1, True),
                 (6000, 10000, True), (6000, 10001, False), (10000, 10001, False)]
        for i, (n, target, ok) in enumerate(cases):
            self.tick(1)
            r = self.usc(target, n, stream="s%d" % i)
            self.assertEqual(not refused(r), ok, (n, target, r))
            if not ok:
                self.assertEqual(r.rule, "shard-range")
        self.assertEqual(self.usc(3, 1, stream="u").message, L.MSG_SCALE_UP.format(open=1, target=3))
        self.tick(1)
        self.assertEqual(self.usc(1, 4, stream="u").message,
                         L.MSG_SCALE_DOWN.format(open=4, target=1))

    def test_ten_per_rolling_day(self):
        for i in range(10):
            self.assertFalse(refused(self.usc(2, 1)), i)
            self.tick(3600)
        r = self.usc(2, 1)
        self.assertEqual(r.rule, "daily")
        self.assertIn("10 UpdateShardCount calls per rolling 24 hours for stream s", r.message)
        self.assertFalse(refused(self.usc(2, 1, stream="other")))
        self.tick(DAY - 10 * 3600 - 1)      # the first call is 1 s short of 24 h old
        self.assertTrue(refused(self.usc(2, 1)))
        self.tick(1)
        self.assertFalse(refused(self.usc(2, 1)))
        self.assertTrue(refused(self.usc(2, 1)))
        self.assertEqual(self.limits.daily_used("UpdateShardCount", ACCT, REGION, "s"), 10)

    def test_refused_by_the_mock_gives_budget_back(self):
        tickets = []
        for _ in range(10):
            tickets.append(self.usc(2, 1))
            self.tick(1)
        self.assertTrue(refused(self.usc(2, 1)))
        self.limits.done(tickets[3], ok=False)   # e.g. ResourceInUseException
        self.limits.done(tickets[4], ok=True)
        self.assertEqual(self.limits.daily_used("UpdateShardCount", ACCT, REGION, "s"), 9)
        self.assertFalse(refused(self.usc(2, 1)))


class TestDailyBudgets(Base):
    def spend(self, op, n, stream="s"):
        results = []
        for _ in range(n):
            results.append(refused(self.call(op, stream=stream)))
            self.tick(1)
        return results

    def test_stream_mode_twice(self):
        self.assertEqual(self.spend("UpdateStreamMode", 3), [False, False, True])
        self.assertEqual(self.spend("UpdateStreamMode", 1, stream="t"), [False])
        self.tick(DAY)
        self.assertEqual(self.spend("UpdateStreamMode", 3), [False, False, True])

    def test_encryption_25_each(self):
        self.assertEqual(self.spend("StartStreamEncryption", 26), [False] * 25 + [True])
        self.assertEqual(self.spend("StopStreamEncryption", 26), [False] * 25 + [True])
        self.tick(DAY - 53)   # the first Start call is 1 s short of 24 h old
        self.assertEqual(self.spend("StartStreamEncryption", 1), [True])
        # now it is 24 h old, the second one is not: room for exactly one
        self.assertEqual(self.burst("StartStreamEncryption", 2), 1)


class TestConsumers(Base):
    def reg(self, creating, on_stream):
        return self.call("RegisterStreamConsumer", stream=None, StreamARN=ARN % "s",
                         ConsumerName="c", facts={"creating_consumers": creating,
                                                  "stream_consumers": on_stream})

    def test_five_creating(self):
        self.assertFalse(refused(self.reg(4, 0)))
        r = self.reg(5, 0)
        self.assertEqual(r.rule, "creating-consumers")

    def test_twenty_per_stream(self):
        self.assertFalse(refused(self.reg(0, 19)))
        r = self.reg(0, 20)
        self.assertEqual(r.rule, "stream-consumers")
        self.assertIn("20 consumers for stream s under account", r.message)


def daemon_throttle_phrases():
    """The phrases http_error_is_throttle() takes as "slow down" in a
    LimitExceededException, read from the daemon's source when it is where
    it was; else the ones it had when this test was written."""
    src = os.path.join(os.path.dirname(os.path.dirname(HERE)), "daemon", "aws", "http.c")
    try:
        with open(src) as f:
            text = f.read()
        found = re.findall(r'strcasestr\(message, "([^"]+)"\)', text)
        if found:
            return found
    except OSError:
        pass
    return ["Rate exceeded", "simultaneously"]


def slow_down(message):
    return any(p.lower() in message.lower() for p in daemon_throttle_phrases())


class TestWording(Base):
    def test_slow_down_vs_quota(self):
        fill = {"account": ACCT, "stream": "s", "open": 2, "target": 9, "limit": 10,
                "op": "UpdateShardCount"}
        for msg in (L.MSG_RATE_STREAM, L.MSG_RATE_ACCOUNT, L.MSG_BUSY_STREAMS,
                    L.MSG_CREATING_CONSUMERS):
            self.assertTrue(slow_down(msg.format(**fill)), msg)
        for msg in (L.MSG_SCALE_UP, L.MSG_SCALE_DOWN, L.MSG_SCALE_MAX, L.MSG_DAILY,
                    L.MSG_STREAM_CONSUMERS):
            self.assertFalse(slow_down(msg.format(**fill)), msg)

    def test_aws_strings(self):
        self.assertEqual(L.MSG_RATE_STREAM.format(stream="a", account=ACCT),
                         "Rate exceeded for stream a under account 111122223333.")
        self.assertEqual(L.MSG_RATE_ACCOUNT.format(account=ACCT),
                         "Rate exceeded for account 111122223333.")
        self.assertEqual(L.MSG_BUSY_STREAMS.format(account=ACCT),
                         "This request would have exceed the limit on the number of streams "
                         "that can simultaneously be in CREATING or DELETING for the account "
                         "111122223333. Limit: 5.")


class TestStreamOf(unittest.TestCase):
    def test_names(self):
        self.assertEqual(L.stream_of({"StreamName": "a"}), "a")
        self.assertEqual(L.stream_of({"StreamARN": ARN % "b"}), "b")
        self.assertEqual(L.stream_of({"ConsumerARN": ARN % "c" + "/consumer/x:17"}), "c")
        self.assertIsNone(L.stream_of({}))
        self.assertIsNone(L.stream_of([]))


if __name__ == "__main__":
    unittest.main(verbosity=1)
