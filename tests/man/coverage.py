#!/usr/bin/env python3
"""The man pages describe everything a user can type.

- kinesisd(8): every long option that `kinesisd --help` prints and every
  option of the getopt table in daemon/main.c is the tag of an entry under
  OPTIONS, and every option described there exists (no stale entries);
  every LOG_MESSAGE_* id of daemon/log.h is listed.
- kinesisd.yaml(5): every key the configuration loader accepts is the tag of
  an entry in its section (aws keys under "aws", stream keys under STREAM
  KEYS, ...), and every value of its choice tables (mode, manage, metric
  names) is set in bold somewhere.

How the keys are found: the loader (daemon/config*.c) does not export its key
list, so this reads the C source (and daemon/stream.c for the metric names).
Every array of `struct key_desc` is a key table; its keys are the string literals given as `.name = "..."` (or, for positional
initializers, the first literal of each `{ "...", ... }` entry). The allowed
values are the string literals of the `static const char *const` arrays
(values[] of parse_choice() callers, shard_metric_names[]). To fail loudly
rather than pass on a refactoring it no longer understands, the test also
requires a few keys it knows must exist, and a non-empty result for every
table. A key table it has no section for must still be described in bold.
If config.c ever gains a function that lists its keys, use that instead.
"""

import argparse
import glob
import re
import subprocess
import sys

# key table in config.c -> the heading (.SH or .SS) of kinesisd.yaml(5) whose
# entries must include its keys. Tables not listed: bold anywhere is enough.
TABLE_SECTIONS = {
    "top_keys": "TOP-LEVEL KEYS",
    "aws_keys": "aws",
    "reconcile_keys": "reconcile",
    "state_keys": "state",
    "stream_keys": "STREAM KEYS",
}
# Keys the parser must find, or it has stopped understanding config.c.
SENTINEL_KEYS = {"streams", "region", "interval", "directory", "name", "shards", "kms_key"}

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


# ---- roff -------------------------------------------------------------------

def unescape(s):
    """Text as it renders, near enough for matching words."""
    s = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", s)  # font changes
    s = s.replace("\\-", "-").replace("\\(ti", "~").replace("\\(dq", '"')
    s = s.replace("\\(en", "-").replace("\\(em", "-").replace("\\(bu", "*")
    s = s.replace("\\e", "\\").replace("\\&", "").replace("\\c", "")
    return s


def split_args(s):
    """Macro arguments: blank-separated, "..." quoted, "" is a literal quote."""
    args, i, n = [], 0, len(s)
    while i < n:
        while i < n and s[i] == " ":
            i += 1
        if i >= n:
            break
        if s[i] == '"':
            i += 1
            buf = []
            while i < n:
                if s[i] == '"':
                    if i + 1 < n and s[i + 1] == '"':
                        buf.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                buf.append(s[i])
                i += 1
            args.append("".join(buf))
        else:
            j = i
            while j < n and s[j] != " ":
                j += 1
            args.append(s[i:j])
            i = j
    return args


FONT_MACROS = {"B": "B", "I": "I", "BR": "BR", "RB": "RB", "BI": "BI", "IB": "IB",
               "IR": "IR", "RI": "RI", "SM": "R", "SB": "B"}


def render_line(line):
    """(text, bold parts) of one input line."""
    bold = []
    if line.startswith("."):
        m = re.match(r"\.(\S+)\s*(.*)$", line)
        macro, rest = (m.group(1), m.group(2)) if m else ("", "")
        if macro not in FONT_MACROS:
            return "", []
        args = split_args(rest)
        fonts = FONT_MACROS[macro]
        parts = []
        for k, a in enumerate(args):
            font = fonts if len(fonts) == 1 else fonts[k % 2]
            text = unescape(a)
            parts.append(text)
            if font == "B":
                bold.append(text)
        joined = (" " if len(fonts) == 1 else "").join(parts)
        # Inline \fB...\fR inside macro arguments counts as bold too.
        for a in args:
            bold += [unescape(b) for b in re.findall(r"\\fB(.*?)(?:\\f[RPI]|$)", a)]
        return joined, bold
    bold += [unescape(b) for b in re.findall(r"\\fB(.*?)(?:\\f[RPI]|$)", line)]
    return unescape(line), bold


class Page:
    def __init__(self, path):
        self.path = path
        self.sections = []  # (heading, [tag texts], [bold parts], [text lines])
        heading = ""
        tags, bold, text = [], [], []
        lines = [l.rstrip("\n") for l in open(path, encoding="utf-8")]
        lines = [l for l in lines if not l.startswith('.\\"')]
        i = 0
        while i < len(lines):
            line = lines[i]
            m = re.match(r"\.(SH|SS)\s+(.*)$", line)
            if m:
                self.sections.append((heading, tags, bold, text))
                heading = " ".join(split_args(m.group(2)))
                tags, bold, text = [], [], []
                i += 1
                continue
            if line.startswith(".TP") and i + 1 < len(lines):
                t, b = render_line(lines[i + 1])
                tags.append(t)
                bold += b
                text.append(t)
                i += 2
                continue
            t, b = render_line(line)
            bold += b
            text.append(t)
            i += 1
        self.sections.append((heading, tags, bold, text))

    def section(self, heading):
        for h, tags, bold, text in self.sections:
            if h == heading:
                return tags, bold, text
        return None

    def all_bold(self):
        return [b for _, _, bold, _ in self.sections for b in bold]

    def all_text(self):
        return "\n".join(t for _, _, _, text in self.sections for t in text)


def has_word(texts, word):
    pat = re.compile(r"(?<![\w.-])" + re.escape(word) + r"(?![\w-])")
    return any(pat.search(t) for t in texts)


# ---- sources ----------------------------------------------------------------

def c_blocks(src, decl_regex):
    """Bodies of array initializers whose declaration matches decl_regex."""
    out = []
    for m in re.finditer(decl_regex + r"\s*(\w+)\s*\[[^]]*\]\s*=\s*\{", src):
        depth, j = 1, m.end()
        while j < len(src) and depth:
            depth += {"{": 1, "}": -1}.get(src[j], 0)
            j += 1
        out.append((m.group(1), src[m.end():j - 1]))
    return out


def strip_c_comments(src):
    return re.sub(r"/\*.*?\*/|//[^\n]*", "", src, flags=re.S)


def config_keys(paths):
    path = ", ".join(paths)
    src = "\n".join(strip_c_comments(open(p, encoding="utf-8").read()) for p in paths)
    tables = {}
    for name, body in c_blocks(src, r"static\s+const\s+struct\s+key_desc"):
        keys = re.findall(r"\.name\s*=\s*\"([^\"]+)\"", body)
        keys += re.findall(r"\{\s*\"([^\"]+)\"", body)
        tables[name] = sorted(set(keys))
        if not keys:
            fail(f"{path}: found no key in table {name}: update tests/man/coverage.py")
    if not tables:
        fail(f"{path}: found no struct key_desc table: update tests/man/coverage.py")
    found = {k for keys in tables.values() for k in keys}
    missing = SENTINEL_KEYS - found
    if missing:
        fail(f"{path}: keys {sorted(missing)} not found in any table: update tests/man/coverage.py")
    values = []
    for name, body in c_blocks(src, r"static\s+const\s+char\s*\*\s*const"):
        values += re.findall(r"\"([^\"]+)\"", body)
    if not values:
        fail(f"{path}: found no value table: update tests/man/coverage.py")
    return tables, sorted(set(values))


def metric_names(path):
    """The shard-level metric names: the string table of stream.c named for metrics."""
    src = strip_c_comments(open(path, encoding="utf-8").read())
    names = []
    for name, body in c_blocks(src, r"static\s+const\s+char\s*\*\s*const"):
        if "metric" in name:
            names += re.findall(r"\"([^\"]+)\"", body)
    if not names:
        fail(f"{path}: found no metric name table: update tests/man/coverage.py")
    return names


def help_options(binary):
    r = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        fail(f"{binary} --help exited {r.returncode}")
    opts = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", r.stdout))
    opts |= set(re.findall(r"(?<![\w-])(-[a-zA-Z])(?![\w-])", r.stdout))
    if "--help" not in opts or "--config" not in opts:
        fail(f"{binary} --help: could not find its options in: {r.stdout!r}")
    return opts


def getopt_options(path):
    src = strip_c_comments(open(path, encoding="utf-8").read())
    longs = re.findall(r"\{\s*\"([a-z][a-z0-9-]*)\"\s*,\s*(?:no|required|optional)_argument", src)
    m = re.search(r"getopt_long\s*\([^,]+,[^,]+,\s*\"([^\"]*)\"", src)
    shorts = re.findall(r"[a-zA-Z]", m.group(1)) if m else []
    if not longs:
        fail(f"{path}: found no getopt option table: update tests/man/coverage.py")
    return {"--" + l for l in longs} | {"-" + s for s in shorts}


def message_ids(path):
    src = open(path, encoding="utf-8").read()
    ids = re.findall(r"#define\s+LOG_MESSAGE_\w+\s+\"([0-9a-fA-F]+)\"", src)
    if not ids:
        fail(f"{path}: found no LOG_MESSAGE_* id")
    return ids


# ---- checks -----------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinesisd", required=True)
    ap.add_argument("--source", required=True, help="the repository")
    args = ap.parse_args()
    src = args.source

    man8 = Page(f"{src}/man/kinesisd.8")
    man5 = Page(f"{src}/man/kinesisd.yaml.5")

    # kinesisd(8) OPTIONS.
    sec = man8.section("OPTIONS")
    if sec is None:
        fail("kinesisd.8 has no OPTIONS section")
        option_tags = []
    else:
        option_tags = sec[0]
    documented = set()
    for t in option_tags:
        documented |= set(re.findall(r"(?<![\w-])(--?[a-zA-Z][a-z0-9-]*)", t))
    wanted = help_options(args.kinesisd) | getopt_options(f"{src}/daemon/main.c")
    for opt in sorted(wanted - documented):
        fail(f"option {opt} is not described under OPTIONS in kinesisd.8")
    for opt in sorted(documented - wanted):
        fail(f"kinesisd.8 describes {opt}, which kinesisd does not have")

    text8 = man8.all_text()
    for mid in message_ids(f"{src}/daemon/log.h"):
        if mid not in text8:
            fail(f"MESSAGE_ID {mid} of daemon/log.h is not listed in kinesisd.8")

    # kinesisd.yaml(5) keys and values.
    # The key tables live in the loader's files; the metric names in stream.c.
    sources = sorted(glob.glob(f"{src}/daemon/config*.c"))
    tables, values = config_keys(sources)
    values = sorted(set(values + metric_names(f"{src}/daemon/stream.c")))
    bold5 = man5.all_bold()
    n_keys = 0
    for table, keys in sorted(tables.items()):
        heading = TABLE_SECTIONS.get(table)
        sec = man5.section(heading) if heading else None
        if heading and sec is None:
            fail(f"kinesisd.yaml.5 has no section \"{heading}\" for the keys of {table}")
        for key in keys:
            n_keys += 1
            if sec is not None:
                if not has_word(sec[0], key):
                    fail(f"key {key} ({table}) is not an entry of \"{heading}\" in kinesisd.yaml.5")
            elif not has_word(bold5, key):
                fail(f"key {key} ({table}) is not described (in bold) in kinesisd.yaml.5")
    for v in values:
        if not has_word(bold5, v):
            fail(f"value {v} of the configuration loader is not described (in bold) in kinesisd.yaml.5")

    if failures:
        print(f"{len(failures)} problem(s)")
        return 1
    print(f"PASS: {len(wanted)} options, {n_keys} keys in {len(tables)} tables, "
          f"{len(values)} values documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())
