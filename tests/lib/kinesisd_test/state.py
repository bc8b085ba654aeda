"""Readers of kinesisd's state directory (DESIGN §4): streams.json,
streams.env, streams/<region>/<name>.arn and metrics.prom, each validated as
it is read (ValueError on anything malformed), and the variable names
streams.env gives streams."""
import json
import os
import re

ENV_LINE = re.compile(r"^[A-Z_][A-Z0-9_]*=\S+$")
PROM_SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.eE+-]+$|'
                         r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (NaN|\+Inf|-Inf)$')


def parse_env(text):
    """streams.env -> dict; ValueError on any line that is not a comment or
    KEY=VALUE, on a variable given twice, on a missing final newline."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if not ENV_LINE.match(line):
            raise ValueError("bad streams.env line: %r" % line)
        k, v = line.split("=", 1)
        if k in out:
            raise ValueError("duplicate variable %s" % k)
        out[k] = v
    if text and not text.endswith("\n"):
        raise ValueError("streams.env does not end with a newline")
    return out


def parse_prom(text):
    """metrics.prom -> {sample name with labels: float}; ValueError."""
    out = {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("#"):
            if not (line.startswith("# HELP ") or line.startswith("# TYPE ")):
                raise ValueError("bad metrics.prom comment: %r" % line)
            continue
        if not PROM_SAMPLE.match(line):
            raise ValueError("bad metrics.prom sample: %r" % line)
        k, v = line.rsplit(" ", 1)
        out[k] = float(v)
    if text and not text.endswith("\n"):
        raise ValueError("metrics.prom does not end with a newline")
    return out


def metrics(path):
    """metrics.prom as {name: value} for the unlabelled series, or {} while
    the file is missing (a daemon that has not written it yet)."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                m = re.match(r"^([a-z_]+) ([0-9.eE+-]+)$", line.strip())
                if m:
                    out[m.group(1)] = float(m.group(2))
    except OSError:
        pass
    return out


def read_streams_json(path):
    """streams.json's document; ValueError unless it has a streams list."""
    with open(path) as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or not isinstance(doc.get("streams"), list):
        raise ValueError("streams.json has no streams list")
    return doc


def read_arn_file(path):
    """An .arn file's ARN; ValueError unless it is one line "arn:...\\n"."""
    with open(path) as f:
        text = f.read()
    if not (text.startswith("arn:") and text.endswith("\n") and text.count("\n") == 1):
        raise ValueError("bad .arn file %s: %r" % (path, text))
    return text.strip()


def read_state(state):
    """Read and validate every file of a state directory. Returns
    {"json": ..., "env": {...}, "arn": {(region, name): arn}, "prom": {...},
    "temp": [temp files]}; ValueError on anything malformed. Missing files
    read as None."""
    res = {"json": None, "env": None, "arn": {}, "prom": None, "temp": []}
    p = os.path.join(state, "streams.json")
    if os.path.exists(p):
        res["json"] = read_streams_json(p)
    p = os.path.join(state, "streams.env")
    if os.path.exists(p):
        with open(p) as f:
            res["env"] = parse_env(f.read())
    p = os.path.join(state, "metrics.prom")
    if os.path.exists(p):
        with open(p) as f:
            res["prom"] = parse_prom(f.read())
    for dirpath, dirs, files in os.walk(state):
        for fn in files:
            full = os.path.join(dirpath, fn)
            rel = os.path.relpath(full, state)
            if fn.startswith("."):
                res["temp"].append(rel)
                continue
            parts = rel.split(os.sep)
            if len(parts) == 3 and parts[0] == "streams" and fn.endswith(".arn"):
                res["arn"][(parts[1], fn[:-4])] = read_arn_file(full)
    return res


def env_name(name, region=None, default_region=None, consumer=None, account=None):
    """The streams.env variable DESIGN §4 gives a stream (or its consumer);
    account: the one it names where two accounts declare the name."""
    def up(s):
        return re.sub(r"[^A-Z0-9]", "_", s.upper())
    v = "KINESIS_STREAM_"
    if account:
        v += account + "_"
    if region and region != default_region:
        v += up(region) + "_"
    v += up(name)
    if consumer:
        v += "_CONSUMER_" + up(consumer)
    return v + "_ARN"


def snapshot(state):
    """(inode, mtime_ns) of every file under state, to see what a run wrote."""
    out = {}
    for dirpath, dirs, files in os.walk(state):
        for fn in files:
            full = os.path.join(dirpath, fn)
            st = os.stat(full)
            out[os.path.relpath(full, state)] = (st.st_ino, st.st_mtime_ns)
    return out


def files_under(d):
    """Every regular file below d: {path: bytes}."""
    out = {}
    for root, _dirs, files in os.walk(d):
        for n in files:
            p = os.path.join(root, n)
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    out[p] = f.read()
    return out
