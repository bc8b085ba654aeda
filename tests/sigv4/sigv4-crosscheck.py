#!/usr/bin/python3
"""Randomized cross-check of kinesisd's SigV4 signer against botocore's.

Generates a reproducible set of random requests (seeded), signs each one
with botocore's SigV4Auth at a fixed time and with our sigv4-sign-tool, and
requires the canonical request, string to sign, signature and Authorization
value to be identical.

Run with the system python, which has python3-botocore:
    /usr/bin/python3 sigv4-crosscheck.py --tool build/tests/sigv4/sigv4-sign-tool

Exits 0 when every case agrees, 1 on any difference, 77 when botocore is not
importable (the test is then skipped).

Where botocore parts from AWS's own test suite or from HTTP, the generator
is constrained on that one dimension only; each such place is marked
"CONSTRAINT" below with the reason.
"""

import argparse
import datetime
import hashlib
import json
import random
import subprocess
import sys
import types

try:
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
except ImportError as e:  # pragma: no cover - depends on the host
    print(f"botocore not importable ({e}); skipping", file=sys.stderr)
    sys.exit(77)


# --- a fixed clock for botocore -------------------------------------------

class _FixedClock(datetime.datetime):
    """A datetime whose utcnow() is whatever the current case says."""

    current = None

    @classmethod
    def utcnow(cls):
        return cls.current


# The signer reads the clock through its module's "datetime" name; give it a
# stand-in whose datetime class has a settable utcnow(). Only the signer's
# module sees this.
botocore.auth.datetime = types.SimpleNamespace(datetime=_FixedClock)
# Later releases read it through a helper instead; cover that spelling too.
if hasattr(botocore.auth, "get_current_datetime"):
    botocore.auth.get_current_datetime = lambda *args, **kwargs: _FixedClock.current


def set_clock(epoch_seconds):
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=epoch_seconds)
    _FixedClock.current = _FixedClock(t.year, t.month, t.day, t.hour, t.minute, t.second)


class RecordingSigV4Auth(botocore.auth.SigV4Auth):
    """Keeps the intermediate steps so they can be compared, not just the result."""

    def canonical_request(self, request):
        self.last_canonical_request = super().canonical_request(request)
        return self.last_canonical_request

    def string_to_sign(self, request, canonical_request):
        self.last_string_to_sign = super().string_to_sign(request, canonical_request)
        return self.last_string_to_sign

    def signature(self, string_to_sign, request):
        self.last_signature = super().signature(string_to_sign, request)
        return self.last_signature


# --- generator ---------------------------------------------------------------

UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
RESERVED = "!*'();:@&=+$,/?#[] %\"<>\\^`{|}"
UTF8_CHARS = ["é", "ß", "ሴ", "日本", "Ω", "€", "😀", "ñ", "中文", "Ä"]
TCHAR_EXTRA = "!#$%&'*+-.^_`|~"

# CONSTRAINT: botocore leaves these headers out of the signature altogether;
# our signer signs every header its caller hands it (the caller leaves such
# headers out), so the generator never produces them.
BOTOCORE_UNSIGNED = {"user-agent", "expect", "x-amzn-trace-id"}
# CONSTRAINT: headers the signer owns. Our signer refuses them from callers;
# botocore replaces them (and on a Date header switches from X-Amz-Date to
# Date), so they are never generated.
SIGNER_OWNED = {"authorization", "x-amz-date", "date", "x-amz-security-token",
                "x-amz-content-sha256", "host"}

HEADER_NAMES = ["Content-Type", "X-Amz-Target", "My-Header1", "x-amz-meta-color",
                "Accept", "Content-Encoding", "X-Custom-Thing", "If-Match",
                "x-amz-acl", "Cache-Control", "X_Under_Score", "x.dotted.name",
                "a", "Z", "x-amz-meta-", "x-~tilde", "X-Emoji-Value"]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-2", "ap-southeast-2",
           "cn-north-1", "us-gov-west-1", "il-central-1", "sa-east-1", "me-south-1"]
SERVICES = ["kinesis", "sts", "execute-api", "dynamodb", "sqs", "service", "monitoring",
            "firehose", "iam"]
METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"]
HOSTS = ["example.amazonaws.com", "kinesis.us-east-1.amazonaws.com",
         "kinesis.cn-north-1.amazonaws.com.cn", "localhost:4567", "127.0.0.1:8080",
         "abc123.execute-api.eu-west-1.amazonaws.com", "[::1]:4566"]


def odd_case(rng, s):
    choice = rng.randrange(4)
    if choice == 0:
        return s.lower()
    if choice == 1:
        return s.upper()
    if choice == 2:
        return s
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in s)


def random_token_name(rng):
    alphabet = UNRESERVED.replace("~", "") + TCHAR_EXTRA
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))


def random_header_name(rng):
    while True:
        name = rng.choice(HEADER_NAMES) if rng.random() < 0.7 else random_token_name(rng)
        name = odd_case(rng, name)
        if name.lower() not in BOTOCORE_UNSIGNED | SIGNER_OWNED:
            return name


def random_word(rng, alphabet=UNRESERVED, lo=1, hi=10):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def random_header_value(rng):
    # CONSTRAINT: botocore folds white space with Python's str.split(), which
    # also treats Unicode spaces (U+00A0, U+2000..U+200A, U+3000, ...) and the
    # ASCII separators U+001C..U+001F as white space. HTTP's white space is
    # space and tab (and obs-fold line breaks), and our signer folds exactly
    # those; so values never contain the others.
    kind = rng.randrange(10)
    if kind == 0:
        return ""
    if kind == 1:
        return rng.choice([" ", "\t", "  \t  "])
    parts = []
    for _ in range(rng.randint(1, 6)):
        pick = rng.randrange(5)
        if pick == 0:
            parts.append(rng.choice(UTF8_CHARS))
        elif pick == 1:
            parts.append(random_word(rng, "\"',;:=/()[]{}<>?@!#$%&*+.^_`|~", 1, 4))
        else:
            parts.append(random_word(rng, UNRESERVED))
        parts.append(rng.choice([" ", "  ", "\t", " \t ", "", ",", "   "]))
    value = "".join(parts)
    if rng.random() < 0.4:
        value = rng.choice([" ", "  ", "\t", " \t"]) + value
    if rng.random() < 0.4:
        value = value + rng.choice([" ", "  ", "\t", "\t "])
    if rng.random() < 0.05:
        # An obs-fold continuation, as in the suite's multiline case.
        value = value + "\r\n  " + random_word(rng)
    return value


def random_path(rng):
    # CONSTRAINT: no tab, CR or LF (Python's URL splitter deletes them) and no
    # '?' or '#' (they end the path); neither can be in a request path anyway.
    segments = []
    for _ in range(rng.randint(0, 6)):
        pick = rng.randrange(10)
        if pick == 0:
            segments.append(".")
        elif pick == 1:
            segments.append("..")
        elif pick == 2:
            segments.append("")
        elif pick == 3:
            segments.append(rng.choice(UTF8_CHARS) + random_word(rng, lo=0, hi=3))
        elif pick == 4:
            segments.append(random_word(rng, "!$&'()*+,;=:@ %~-._" + "abc", 1, 6))
        elif pick == 5:
            segments.append(rng.choice(["%2F", "%20", "a%41b", "%E1%88%B4", "%7e"]))
        else:
            segments.append(random_word(rng))
    path = "/" + "/".join(segments)
    if segments and rng.random() < 0.3:
        path += "/"
    return path


def random_query_component(rng, allow_empty=True):
    if allow_empty and rng.random() < 0.15:
        return ""
    out = []
    for _ in range(rng.randint(1, 5)):
        pick = rng.randrange(6)
        if pick == 0:
            out.append(rng.choice(UTF8_CHARS))
        elif pick == 1:
            out.append(random_word(rng, RESERVED, 1, 3))
        else:
            out.append(random_word(rng, UNRESERVED, 1, 6))
    return "".join(out)


def wire_encode(rng, raw, is_key):
    """Percent-encodes raw text the way some client might put it on the wire:
    unreserved characters sometimes escaped, hex case at random, harmless
    reserved characters sometimes left bare. The signer must canonicalize
    every spelling to the same thing."""
    out = []
    for ch in raw:
        data = ch.encode("utf-8")
        must = ch in "&#%" or (is_key and ch == "=") or len(data) > 1 and rng.random() < 0.5
        if not must and (ch in UNRESERVED or ch in "!*'();:@$,/?[]+ " or (not is_key and ch == "=")
                         or len(data) > 1):
            if rng.random() < 0.8:
                out.append(ch)
                continue
        hexfmt = "%{:02X}" if rng.random() < 0.7 else "%{:02x}"
        out.append("".join(hexfmt.format(b) for b in data))
    return "".join(out)


def canonical_encode(text):
    return "".join(c if c in UNRESERVED else "".join("%{:02X}".format(b) for b in c.encode("utf-8"))
                   for c in text)


def random_query(rng):
    """Returns (wire query for our signer or None, botocore params or None,
    query to put in botocore's URL)."""
    mode = rng.randrange(10)
    if mode < 2:
        return None, None, ""
    pairs = []
    keys = []
    for _ in range(rng.randint(1, 8)):
        if keys and rng.random() < 0.25:
            key = rng.choice(keys)  # repeated key
        else:
            key = random_query_component(rng, allow_empty=rng.random() < 0.05)
            keys.append(key)
        pairs.append((key, random_query_component(rng)))

    if mode < 8:
        # Botocore encodes params itself; we receive arbitrary wire spellings.
        wire = []
        for key, value in pairs:
            k = wire_encode(rng, key, True)
            if value == "" and k != "" and rng.random() < 0.5:
                wire.append(k)  # a key without '=' has an empty value
            else:
                wire.append(k + "=" + wire_encode(rng, value, False))
        return "&".join(wire), pairs, ""

    # CONSTRAINT: a query in the URL is signed by botocore exactly as it is
    # written (split on '&' and '=', sorted, not re-encoded), so in this mode
    # it is generated already in canonical form; the mode above covers other
    # spellings. Also, botocore keeps an empty "&&" segment as "=", where we
    # drop it as carrying no parameter: no empty segments here.
    wire = []
    for key, value in pairs:
        k, v = canonical_encode(key), canonical_encode(value)
        if k == "" and v == "":
            wire.append("=")
        elif v == "" and rng.random() < 0.5:
            wire.append(k)
        else:
            wire.append(k + "=" + v)
    q = "&".join(wire)
    return q, None, q


def random_body(rng):
    kind = rng.randrange(8)
    if kind == 0:
        return b""
    if kind == 1:
        return json.dumps({"StreamName": random_word(rng), "ShardCount": rng.randint(1, 99)}).encode()
    if kind == 2:
        return random_word(rng, UNRESERVED + " =&", 1, 200).encode()
    if kind == 3:
        return "".join(rng.choice(UTF8_CHARS) for _ in range(rng.randint(1, 50))).encode("utf-8")
    if kind == 4:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 20000)))
    if kind == 5:
        return bytes(rng.randrange(256) for _ in range(rng.choice([1, 63, 64, 65, 127, 128, 129])))
    if kind == 6:
        return b"\x00" * rng.randint(1, 300)
    return bytes(rng.randrange(256) for _ in range(rng.randint(1, 100)))


def random_secret(rng, n):
    return "".join(rng.choice(UNRESERVED.replace("~", "") + "/+") for _ in range(n))


def make_case(rng):
    # CONSTRAINT: botocore upper-cases the method; methods are upper case here.
    method = rng.choice(METHODS)
    host = rng.choice(HOSTS)
    path = random_path(rng)
    wire_query, params, url_query = random_query(rng)

    headers = [(odd_case(rng, "Host"), host)]
    for _ in range(rng.randint(0, 8)):
        if len(headers) > 1 and rng.random() < 0.3:
            # Same name again, maybe in another case: values join in order.
            name = odd_case(rng, rng.choice(headers[1:])[0])
        else:
            name = random_header_name(rng)
        headers.append((name, random_header_value(rng)))
    rng.shuffle(headers)

    token = None
    if rng.random() < 0.5:
        token = random_secret(rng, rng.randint(16, 600)) + rng.choice(["", "=", "=="])

    return {
        "method": method,
        "path": path,
        "query": wire_query,
        "url_query": url_query,
        "params": params,
        "headers": headers,
        "body": random_body(rng),
        "region": rng.choice(REGIONS),
        "service": rng.choice(SERVICES),
        "access_key_id": rng.choice(["AKIA", "ASIA", "AKID"]) + random_word(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 12, 16),
        # Mostly AWS's 40 characters; the others also take the HMAC's path
        # for a key longer than a block ("AWS4" + secret over 64 bytes).
        "secret_access_key": random_secret(rng, 40 if rng.random() < 0.7 else rng.randint(1, 256)),
        "session_token": token,
        "now": rng.randint(946684800, 2145916799),  # 2000 .. 2037
        "add_content_sha256": rng.random() < 0.2,
    }


# --- the two signers ---------------------------------------------------------

def sign_with_botocore(case):
    url = "https://" + case["headers_host"] + case["path"]
    if case["url_query"]:
        url += "?" + case["url_query"]
    request = botocore.awsrequest.AWSRequest(method=case["method"], url=url, data=case["body"],
                                             params=case["params"] or {})
    for name, value in case["headers"]:
        request.headers[name] = value  # appends: duplicates are kept in order
    if case["add_content_sha256"]:
        # SigV4Auth takes the payload hash from this header when present and
        # signs the header itself: the same as our add_content_sha256.
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(case["body"]).hexdigest()

    set_clock(case["now"])
    creds = botocore.credentials.Credentials(case["access_key_id"], case["secret_access_key"],
                                             case["session_token"])
    auth = RecordingSigV4Auth(creds, case["service"], case["region"])
    auth.add_auth(request)
    return {
        "canonical_request": auth.last_canonical_request,
        "string_to_sign": auth.last_string_to_sign,
        "signature": auth.last_signature,
        "authorization": request.headers["Authorization"],
        "amz_date": request.headers["X-Amz-Date"],
        "security_token": request.headers.get("X-Amz-Security-Token"),
    }


def tool_input(case):
    return json.dumps({
        "method": case["method"],
        "path": case["path"],
        "query": case["query"],
        "headers": [list(h) for h in case["headers"]],
        "body_hex": case["body"].hex(),
        "region": case["region"],
        "service": case["service"],
        "access_key_id": case["access_key_id"],
        "secret_access_key": case["secret_access_key"],
        "session_token": case["session_token"],
        "now": case["now"],
        "normalize": True,
        "double_encode": True,
        "add_content_sha256": case["add_content_sha256"],
    }, ensure_ascii=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tool", required=True, help="path to sigv4-sign-tool")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20150830)
    ap.add_argument("--show", type=int, default=5, help="differences to print in full")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    cases = []
    for _ in range(args.count):
        case = make_case(rng)
        case["headers_host"] = next(v for n, v in case["headers"] if n.lower() == "host")
        cases.append(case)

    proc = subprocess.run([args.tool], input="\n".join(tool_input(c) for c in cases).encode("utf-8"),
                          stdout=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        print(f"sign tool exited with {proc.returncode}", file=sys.stderr)
        return 1
    ours = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    if len(ours) != len(cases):
        print(f"sign tool answered {len(ours)} of {len(cases)} requests", file=sys.stderr)
        return 1

    failed = 0
    stats = {"session_token": 0, "duplicate_headers": 0, "query": 0, "params_query": 0,
             "empty_body": 0, "content_sha256": 0, "dot_segments": 0}
    for i, (case, mine) in enumerate(zip(cases, ours)):
        theirs = sign_with_botocore(case)
        diffs = []
        if not mine.get("ok"):
            diffs.append(f"our signer refused it: {mine.get('error')}")
        else:
            for key in ("canonical_request", "string_to_sign", "signature", "authorization",
                        "amz_date", "security_token"):
                if mine.get(key) != theirs[key]:
                    diffs.append(f"{key}:\n  ours:     {mine.get(key)!r}\n  botocore: {theirs[key]!r}")
        if diffs:
            failed += 1
            if failed <= args.show:
                print(f"--- case {i} differs; request: {tool_input(case)}")
                for d in diffs:
                    print(d)

        names = [n.lower() for n, _ in case["headers"]]
        stats["session_token"] += case["session_token"] is not None
        stats["duplicate_headers"] += len(names) != len(set(names))
        stats["query"] += case["query"] is not None
        stats["params_query"] += case["params"] is not None
        stats["empty_body"] += not case["body"]
        stats["content_sha256"] += case["add_content_sha256"]
        stats["dot_segments"] += "/." in case["path"]

    print(f"seed {args.seed}: {len(cases) - failed} of {len(cases)} randomized requests agree with botocore "
          f"({', '.join(f'{k} {v}' for k, v in stats.items())})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
