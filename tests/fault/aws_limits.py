"""The control-plane limits of Amazon Kinesis Data Streams, as AWS answers
them (DESIGN.md section 6), as a pure model the fault proxy puts every
request through (fault_proxy.py --limits). Python 3 standard library only.

A request is described by its operation, its scope (account, region: the
account is the access key id of the SigV4 credential, as kinesis-mock takes
it; the region comes from the credential scope) and its JSON body. Limits
that depend on what AWS holds right now (streams CREATING or DELETING, the
open shards of a stream, consumers) take those numbers as "facts" that the
caller observed; needs(op) says which facts an operation wants. Nothing in
here does any I/O, and time comes from the clock given to Limits(), so a
test can drive it with a fake clock.

    limits = Limits(clock=time.monotonic)
    r = limits.admit(op, account, region, body, facts)
    if isinstance(r, Refusal): answer 400 r.error_type with r.message
    else: forward it, then limits.done(r, answer_was_2xx)

done() gives a 24 h budget back when the mock did not carry the change out
(AWS counts only the changes it accepted).

Rules (all scopes are per account and region unless "per stream"):
  * a strict sliding one-second window for every TPS limit in TPS below: the
    n+1-th call within any one second is refused; a refused call does not
    take a slot;
  * at most 5 streams CREATING or DELETING at once (fact "busy_streams",
    whoever started them) for CreateStream and DeleteStream;
  * UpdateShardCount: target within [ceil(n/2), 2n] of the open shards
    (fact "open_shards") and at most 10000; at most 10 per stream in any
    rolling 24 h;
  * UpdateStreamMode: at most 2 per stream in any rolling 24 h;
  * StartStreamEncryption, StopStreamEncryption: 25 each per stream in any
    rolling 24 h;
  * RegisterStreamConsumer: at most 5 consumers CREATING in the account
    (fact "creating_consumers"), at most 20 consumers per stream (fact
    "stream_consumers").
"""
import collections
import math
import re
import threading

DAY = 24 * 3600.0

# operation -> (calls per second, per stream?)
TPS = {
    "CreateStream": (5, False), "DeleteStream": (5, False), "ListStreams": (5, False),
    "AddTagsToStream": (5, False), "RemoveTagsFromStream": (5, False),
    "ListTagsForStream": (5, False), "RegisterStreamConsumer": (5, False),
    "DescribeStream": (10, False), "DescribeStreamSummary": (20, False),
    "UpdateShardCount": (10, False), "UpdateStreamWarmThroughput": (5, False),
    "ListStreamConsumers": (5, True), "DeregisterStreamConsumer": (5, True),
    "DescribeStreamConsumer": (20, True),
}
# Operations AWS states no rate for: held to 5 per second per account.
UNSTATED = ("IncreaseStreamRetentionPeriod", "DecreaseStreamRetentionPeriod",
            "EnableEnhancedMonitoring", "DisableEnhancedMonitoring", "UpdateMaxRecordSize",
            "PutResourcePolicy", "GetResourcePolicy", "DeleteResourcePolicy",
            "TagResource", "UntagResource", "ListTagsForResource", "UpdateStreamMode",
            "StartStreamEncryption", "StopStreamEncryption")
for _op in UNSTATED:
    TPS.setdefault(_op, (5, False))

# operation -> calls per stream in any rolling 24 h
DAILY = {"UpdateShardCount": 10, "UpdateStreamMode": 2,
         "StartStreamEncryption": 25, "StopStreamEncryption": 25}

MAX_BUSY_STREAMS = 5        # CREATING or DELETING at once
MAX_CREATING_CONSUMERS = 5
MAX_STREAM_CONSUMERS = 20
MAX_SHARDS = 10000

LIMIT_EXCEEDED = "LimitExceededException"

# The messages. The first three are the ones AWS sends (where each was seen:
# the header of tests/limits/CMakeLists.txt); the daemon takes them as "slow
# down". The scale-up/scale-down wording is AWS's as far as known (not seen
# in a captured answer). The others are this model's own wording, kept clear
# of the phrases that mean "slow down", because AWS means a quota there.
MSG_RATE_STREAM = "Rate exceeded for stream {stream} under account {account}."
MSG_RATE_ACCOUNT = "Rate exceeded for account {account}."
MSG_BUSY_STREAMS = ("This request would have exceed the limit on the number of streams that can "
                    "simultaneously be in CREATING or DELETING for the account {account}. Limit: 5.")
MSG_SCALE_UP = ("UpdateShardCount cannot scale up over double your current open shard count. "
                "Current open shard count: {open} Target shard count: {target}")
MSG_SCALE_DOWN = ("UpdateShardCount cannot scale down below half your current open shard count. "
                  "Current open shard count: {open} Target shard count: {target}")
MSG_SCALE_MAX = ("UpdateShardCount cannot scale up over the limit of 10000 shards per stream. "
                 "Target shard count: {target}")
MSG_DAILY = ("This request would exceed the limit of {limit} {op} calls per rolling 24 hours "
             "for stream {stream} under account {account}.")
MSG_CREATING_CONSUMERS = ("This request would exceed the limit of 5 consumers that can "
                          "simultaneously be in CREATING status for the account {account}. "
                          "Limit: 5.")
MSG_STREAM_CONSUMERS = ("This request would exceed the limit of 20 consumers for stream "
                        "{stream} under account {account}.")

_CONSUMER_ARN = re.compile(r"^arn:[^:]+:kinesis:[^:]*:[^:]*:stream/([^/]+)/consumer/")


def stream_of(body):
    """The stream a request names: StreamName, else from StreamARN, else from
    ConsumerARN; None when it names none."""
    if not isinstance(body, dict):
        return None
    name = body.get("StreamName")
    if isinstance(name, str) and name:
        return name
    arn = body.get("StreamARN")
    if isinstance(arn, str) and "/" in arn:
        return arn.split("/", 1)[1].split("/", 1)[0]
    arn = body.get("ConsumerARN")
    if isinstance(arn, str):
        m = _CONSUMER_ARN.match(arn)
        if m:
            return m.group(1)
    return None


def needs(op):
    """The facts admit() wants for op (a set of names)."""
    if op in ("CreateStream", "DeleteStream"):
        return {"busy_streams"}
    if op == "UpdateShardCount":
        return {"open_shards"}
    if op == "RegisterStreamConsumer":
        return {"creating_consumers", "stream_consumers"}
    return set()


class Refusal:
    def __init__(self, rule, message, error_type=LIMIT_EXCEEDED):
        self.rule = rule            # short name of the rule that refused
        self.message = message
        self.error_type = error_type

    def reason(self):
        return "%s: %s" % (self.rule, self.message)

    def __repr__(self):
        return "Refusal(%r, %r)" % (self.rule, self.message)


class Admitted:
    def __init__(self, daily_key, at):
        self.daily_key = daily_key  # the 24 h budget this call spent, or None
        self.at = at


class Window:
    """Timestamps of the calls admitted within the last `span` seconds."""

    def __init__(self, limit, span):
        self.limit = limit
        self.span = span
        self.times = collections.deque()

    def _expire(self, now):
        while self.times and self.times[0] <= now - self.span:
            self.times.popleft()

    def full(self, now):
        self._expire(now)
        return len(self.times) >= self.limit

    def take(self, now):
        self.times.append(now)

    def give_back(self, at):
        try:
            self.times.remove(at)
        except ValueError:
            pass

    def used(self, now):
        self._expire(now)
        return len(self.times)


class Limits:
    def __init__(self, clock):
        self.clock = clock
        self.lock = threading.Lock()
        self.rate = {}   # (op, account, region[, stream]) -> Window of 1 s
        self.daily = {}  # (op, account, region, stream) -> Window of 24 h

    def _window(self, table, key, limit, span):
        w = table.get(key)
        if w is None:
            w = table[key] = Window(limit, span)
        return w

    def admit(self, op, account, region, body, facts=None):
        """Returns a Refusal, or an Admitted ticket for done()."""
        facts = facts or {}
        stream = stream_of(body)
        with self.lock:
            now = self.clock()
            fill = {"account": account, "stream": stream or "-", "op": op}
            if op in TPS:
                limit, per_stream = TPS[op]
                key = (op, account, region) + ((stream,) if per_stream else ())
                w = self._window(self.rate, key, limit, 1.0)
                if w.full(now):
                    msg = MSG_RATE_STREAM if stream else MSG_RATE_ACCOUNT
                    return Refusal("rate", msg.format(**fill))
            refusal = self._quota(op, body, facts, fill)
            if refusal:
                return refusal
            daily_key = None
            if op in DAILY and stream:
                daily_key = (op, account, region, stream)
                w = self._window(self.daily, daily_key, DAILY[op], DAY)
                if w.full(now):
                    return Refusal("daily", MSG_DAILY.format(limit=DAILY[op], **fill))
                w.take(now)
            if op in TPS:
                self.rate[key].take(now)
            return Admitted(daily_key, now)

    def _quota(self, op, body, facts, fill):
        if op in ("CreateStream", "DeleteStream"):
            if facts.get("busy_streams", 0) >= MAX_BUSY_STREAMS:
                return Refusal("busy-streams", MSG_BUSY_STREAMS.format(**fill))
        elif op == "UpdateShardCount":
            target = body.get("TargetShardCount") if isinstance(body, dict) else None
            n = facts.get("open_shards")
            if isinstance(target, int) and not isinstance(target, bool):
                if target > MAX_SHARDS:
                    return Refusal("shard-range", MSG_SCALE_MAX.format(target=target))
                if isinstance(n, int) and n > 0:
                    if target > 2 * n:
                        return Refusal("shard-range", MSG_SCALE_UP.format(open=n, target=target))
                    if target < math.ceil(n / 2):
                        return Refusal("shard-range",
                                       MSG_SCALE_DOWN.format(open=n, target=target))
        elif op == "RegisterStreamConsumer":
            if facts.get("creating_consumers", 0) >= MAX_CREATING_CONSUMERS:
                return Refusal("creating-consumers", MSG_CREATING_CONSUMERS.format(**fill))
            if facts.get("stream_consumers", 0) >= MAX_STREAM_CONSUMERS:
                return Refusal("stream-consumers", MSG_STREAM_CONSUMERS.format(**fill))
        return None

    def done(self, ticket, ok):
        """The admitted call came back; a change the mock did not carry out
        gives its 24 h budget back."""
        if ok or not isinstance(ticket, Admitted) or ticket.daily_key is None:
            return
        with self.lock:
            w = self.daily.get(ticket.daily_key)
            if w:
                w.give_back(ticket.at)

    def daily_used(self, op, account, region, stream):
        with self.lock:
            w = self.daily.get((op, account, region, stream))
            return w.used(self.clock()) if w else 0
