#!/usr/bin/python3
"""Convergence through the strict proxy (AWS's control-plane limits, issue 12):
how fast 30 new streams (tags, retention, a consumer each) converge with
`kinesisd --once`, at one or more reconcile.api_share values, and how often
three daemons sharing one account are refused.

  /usr/bin/python3 bench/limits.py [--build DIR] [--runs N] [--shares 0.5,0.8]
                                   [--three N] [--out DIR]

Each run is the test script of tests/limits (its own kinesis-mock and strict
proxy on free loopback ports, creations and registrations of 2 s), which
prints its figures; this script runs them one after the other, on an
otherwise quiet machine if the figures are to mean anything, and prints one
Markdown table: wall time, the physical bound and the target 1.3 x bound + 1 s,
calls and refusals. The tests themselves check only what must hold on any
machine (zero refusals, convergence, under 5% refused for three daemons).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
TESTS = os.path.join(TOP, "tests")


def run_script(args, script, work, share=None):
    env = dict(os.environ)
    env.update({
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": ":".join(os.path.join(TESTS, d) for d in ("lib", "fault", "daemon", "limits")),
        "KINESISD_MOCK_DIR": os.path.join(TOP, ".deps", "node_modules", "kinesis-local"),
        "KINESISD_MOCK_SCRIPT": os.path.join(TESTS, "kinesis-mock", "kinesis-mock.py"),
    })
    env.pop("KINESISD_TEST_API_SHARE", None)
    if args.out:
        env["KINESISD_TEST_KEEP"] = "1"  # the proxy's log and the daemons' debug logs
    if share:
        env["KINESISD_TEST_API_SHARE"] = share
    build = os.path.abspath(args.build)
    cmd = [sys.executable, os.path.join(TESTS, "limits", script), os.path.join(build, "kinesisd"),
           os.path.join(build, "tests", "aws", "kinesis-call"),
           os.path.join(build, "tests", "kinesis-mock.port"), work]
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600,
                       text=True)
    fig = None
    for line in p.stdout.splitlines():
        if line.startswith("figures-json: "):
            fig = json.loads(line[len("figures-json: "):])
    if p.returncode != 0 or fig is None:
        sys.stderr.write(p.stdout[-4000:])
        raise SystemExit("%s failed (exit %d)" % (script, p.returncode))
    return fig


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build", help="a build directory (default: build)")
    ap.add_argument("--runs", type=int, default=3, help="runs of 30 streams per share (default 3)")
    ap.add_argument("--shares", default="0.5,0.8", help="api_share values (default 0.5,0.8)")
    ap.add_argument("--three", type=int, default=2, help="runs of three daemons (default 2)")
    ap.add_argument("--out", help="keep the work directories (logs) here")
    args = ap.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="kinesisd-limits-bench.")
    os.makedirs(out, exist_ok=True)

    rows = []
    for share in args.shares.split(",") if args.runs > 0 else []:
        figs = []
        for i in range(args.runs):
            figs.append(run_script(args, "test_daemon_30.py", os.path.join(out, "30-%s-%d" % (share, i)),
                                   share))
            print("30 streams, api_share %s, run %d: %.1f s" % (share, i + 1, figs[-1]["seconds"]),
                  file=sys.stderr, flush=True)
        secs = [f["seconds"] for f in figs]
        f0 = figs[0]
        med = statistics.median(secs)
        rows.append("| one kinesisd `--once`, 30 streams | %s | %.1f s (%.1f–%.1f) | %.0f s | %.2f | %.1f s: %s "
                    "| %d | %d |" % (share, med, min(secs), max(secs), f0["bound"], med / f0["bound"],
                                     f0["target"], "met" if max(secs) <= f0["target"] else "MISSED",
                                     round(statistics.mean(f["calls"] for f in figs)),
                                     sum(f["refused"] for f in figs)))
    for i in range(args.three):
        f = run_script(args, "test_daemon_three.py", os.path.join(out, "three-%d" % i))
        print("three daemons, run %d: %.1f s" % (i + 1, f["seconds"]), file=sys.stderr, flush=True)
        pct = 100.0 * f["refused"] / max(f["calls"], 1)
        rows.append("| three kinesisd `--once`, 10 streams each, run %d | 0.3 each | %.1f s | – | – "
                    "| under 5%% refused: %s (%.1f%%: %s) | %d | %d |"
                    % (i + 1, f["seconds"], "met" if pct < 5 else "MISSED", pct,
                       ", ".join("%s %d" % kv for kv in sorted(f["refused_by_op"].items())) or "none",
                       f["calls"], f["refused"]))
    print("| run | api_share | wall, median (min–max) | physical bound | ÷ bound | target | calls | refused |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("\n(work directories: %s)" % out, file=sys.stderr)


if __name__ == "__main__":
    main()
