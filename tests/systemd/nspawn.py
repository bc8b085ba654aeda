#!/usr/bin/env python3
"""kinesisd's Debian package under a real systemd: a Debian 12 tree made by
debootstrap (cached between runs) boots with systemd as PID 1 in
systemd-nspawn (no network but its own loopback), the package is installed
with apt-get, and the installed unit runs against kinesis-mock and the strict
proxy, both started in the container's network namespace on 127.0.0.1.

  nspawn.py DEB_DIR MOCK_DIR WORK_DIR MAX_EXPOSURE

DEB_DIR holds the package package.sh built (kinesisd_*.deb). On one boot
it checks what the README and kinesisd(8) promise: "systemctl start" returns once every stream is
ACTIVE and exported; STATUS=; an ARN is never exported before its stream is
ACTIVE and streams.env changes at most once per wave of creations; the
example consumer (EnvironmentFile=) and the .path/restart pair (which no
start or trigger limit can fail); "systemctl reload" that returns once the
added stream is exported; a refused reload; kill -9 and Restart=; the
watchdog; one CODE_FILE/CODE_LINE/CODE_FUNC per journal record and one
"is ACTIVE" record per stream; a DELETING stream's wait logged once;
journalctl -x with the catalog; the
credentials drop-in; a start with TimeoutStartSec= shorter than the
creations (EXTEND_TIMEOUT_USEC from the first second); a failure record per
stream when AWS is unreachable; systemd-analyze security (exposure at most
MAX_EXPOSURE); stop; purge.

The tree is cached as a tarball in $KINESISD_NSPAWN_CACHE (default
~/.cache/kinesisd/nspawn), named after a hash of what it holds (suite,
mirror, architecture, the package's dependencies), and unpacked once into
WORK_DIR/../nspawn-root-<hash>; the container writes into a tmpfs over it
(--volatile=overlay), so the tree is never changed. KINESISD_DEBIAN_MIRROR
overrides the mirror (default http://deb.debian.org/debian).

Exit 77 (skipped) only where systemd-nspawn cannot run: not root, no
systemd-nspawn or nsenter, or no namespaces to make. Everything kinesisd
talks to is on the container's 127.0.0.1."""
import functools
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

from kinesisd_test import mock
from kinesisd_test.checks import Failed, Suite, check
from kinesisd_test.environment import FAKE_SECRET_KEY
from kinesisd_test.inotify import RenameCounter
from kinesisd_test.process import wait_for
from kinesisd_test.state import env_name, parse_env, read_streams_json

SUITE = "bookworm"
MIRROR = os.environ.get("KINESISD_DEBIAN_MIRROR", "http://deb.debian.org/debian")
CACHE_FORMAT = 1            # bump when the way the tree is made changes
PKG_MOUNT = "/mnt/kinesisd-package"
REGION = "us-east-1"
CREATE_DURATION = "4s"      # the mock's state changes: waves are seconds apart
N_FIRST = 10                # streams of the first start: two waves of 5
STATE = "/var/lib/kinesisd"
MSG = {"created": "6b1e5c0a7f2d4c1e9a3b8d2f4e6a1c01", "active": "6b1e5c0a7f2d4c1e9a3b8d2f4e6a1c02",
       "failed": "6b1e5c0a7f2d4c1e9a3b8d2f4e6a1c04", "rejected": "6b1e5c0a7f2d4c1e9a3b8d2f4e6a1c05"}
CLEAN_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "SYSTEMD_COLORS": "0",
             "SYSTEMD_PAGER": "", "DEBIAN_FRONTEND": "noninteractive"}


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def run(cmd, timeout=120, check_rc=True, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check_rc and p.returncode != 0:
        raise Failed("%s: exit %d\n%s%s" % (" ".join(cmd), p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    return p


# ---- the container tree ---------------------------------------------------

def package_depends(deb):
    """The names of the packages DEB depends on (first of alternatives)."""
    field = run(["dpkg-deb", "-f", deb, "Depends"]).stdout
    return sorted({d.split("|")[0].split()[0] for d in field.split(",") if d.strip()})


def cache_dir():
    if os.environ.get("KINESISD_NSPAWN_CACHE"):
        return os.environ["KINESISD_NSPAWN_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kinesisd", "nspawn")


def container_tree(deb, parent):
    """A Debian tree with systemd and what DEB depends on; returns its path."""
    include = sorted(set(package_depends(deb)) | {"systemd"})
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    what = json.dumps({"format": CACHE_FORMAT, "suite": SUITE, "mirror": MIRROR, "arch": arch,
                       "variant": "minbase", "include": include}, sort_keys=True)
    key = hashlib.sha256(what.encode()).hexdigest()[:16]
    tree = os.path.join(parent, "nspawn-root-" + key)
    if os.path.exists(os.path.join(tree, ".kinesisd-tree")):
        print("container tree: %s (unpacked before)" % tree)
        return tree
    for old in os.listdir(parent):        # trees of other keys
        if old.startswith("nspawn-root-"):
            shutil.rmtree(os.path.join(parent, old), ignore_errors=True)
    cache = cache_dir()
    os.makedirs(cache, exist_ok=True)
    tarball = os.path.join(cache, "debian-%s-%s-%s.tar.zst" % (SUITE, arch, key))
    t0 = time.monotonic()
    if os.path.exists(tarball):
        os.makedirs(tree)
        run(["tar", "--zstd", "-xpf", tarball, "-C", tree], timeout=300)
        print("container tree: unpacked %s in %.1f s" % (tarball, time.monotonic() - t0))
    else:
        if not shutil.which("debootstrap"):
            raise Failed("debootstrap is not installed (contrib/install-deps installs it)")
        print("container tree: debootstrap %s %s with %s (cache miss: %s)"
              % (SUITE, MIRROR, ",".join(include), tarball), flush=True)
        p = run(["debootstrap", "--variant=minbase", "--include=" + ",".join(include), SUITE, tree, MIRROR],
                timeout=900, check_rc=False)
        if p.returncode != 0:
            shutil.rmtree(tree, ignore_errors=True)
            raise Failed("debootstrap failed (exit %d): is %s reachable?\n%s"
                         % (p.returncode, MIRROR, (p.stdout + p.stderr)[-3000:]))
        shutil.rmtree(os.path.join(tree, "var/cache/apt/archives"), ignore_errors=True)
        os.makedirs(os.path.join(tree, "var/cache/apt/archives/partial"))
        print("container tree: debootstrap took %.1f s" % (time.monotonic() - t0), flush=True)
        for old in os.listdir(cache):
            if old.startswith("debian-"):
                os.unlink(os.path.join(cache, old))
        run(["tar", "--zstd", "-cpf", tarball + ".tmp", "-C", tree, "."], timeout=300)
        os.rename(tarball + ".tmp", tarball)
        print("container tree: cached as %s (%.1f s in all)" % (tarball, time.monotonic() - t0))
    open(os.path.join(tree, ".kinesisd-tree"), "w").close()
    return tree


# ---- the container ----------------------------------------------------------

def descendants(pid):
    out = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            for t in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, t)) as f:
                    kids = [int(k) for k in f.read().split()]
                out += kids
                todo += kids
        except OSError:
            pass
    return out


def container_init(nspawn_pid):
    """The pid (on the host) of the container's PID 1, or None."""
    for p in descendants(nspawn_pid):
        try:
            with open("/proc/%d/status" % p) as f:
                ns = [line.split()[1:] for line in f if line.startswith("NSpid:")]
        except OSError:
            continue
        if ns and ns[0][-1] == "1" and len(ns[0]) > 1:
            return p
    return None


def boot(tree, debdir, log):
    cmd = ["systemd-nspawn", "-D", tree, "--volatile=overlay", "--bind-ro=%s:%s" % (debdir, PKG_MOUNT),
           "--boot", "--private-network", "--register=no", "--console=passive",
           "--machine=kinesisd-test"]
    # Without systemd on the host there is no scope to make: stay in ours.
    if not os.path.isdir("/run/systemd/system"):
        cmd.append("--keep-unit")
    cmd += ["--", "systemd.firstboot=off", "systemd.mask=systemd-networkd-wait-online.service",
            "systemd.mask=console-getty.service"]
    out = open(log, "w")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    out.close()
    deadline = time.monotonic() + 60
    init = None
    while time.monotonic() < deadline and proc.poll() is None:
        init = container_init(proc.pid)
        if init:
            r = subprocess.run(["nsenter", "-t", str(init), "-a", "--", "systemctl", "is-system-running",
                                "--wait"], capture_output=True, text=True, timeout=60, env=CLEAN_ENV)
            state = r.stdout.strip()
            if state in ("running", "degraded"):
                print("container booted: init pid %d, %s" % (init, state), flush=True)
                return proc, init
        time.sleep(0.1)
    exited = proc.poll()
    shutdown(proc)
    with open(log) as f:
        text = f.read()
    if exited is not None:
        raise Failed("systemd-nspawn exited with %s:\n%s" % (exited, text[-3000:]))
    raise Failed("the container did not boot within 60 s:\n%s" % text[-3000:])


def shutdown(proc):
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)   # nspawn asks the container's systemd to power off
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def outer(debdir, mock_dir, work, max_exposure):
    if os.geteuid() != 0:
        skip("systemd-nspawn needs root")
    for tool in ("systemd-nspawn", "nsenter", "unshare"):
        if not shutil.which(tool):
            skip("%s is not installed (Debian's systemd-container and util-linux)" % tool)
    probe = subprocess.run(["unshare", "--mount", "--pid", "--net", "--uts", "--ipc", "--fork", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        skip("no namespaces can be made here: %s" % probe.stderr.strip())
    debs = [f for f in os.listdir(debdir) if f.startswith("kinesisd_") and f.endswith(".deb")]
    if len(debs) != 1:
        print("FAIL: want one kinesisd_*.deb in %s, found %s" % (debdir, debs))
        return 1
    deb = os.path.join(os.path.abspath(debdir), debs[0])
    # The mock of the checks has its own session: one a killed run left
    # behind goes before its pid file does.
    leftover = mock.MockProcess(mock_dir, work, name="mock")
    leftover.stop()
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    t0 = time.monotonic()
    try:
        tree = container_tree(deb, os.path.dirname(os.path.abspath(work)))
    except Failed as e:
        print("FAIL: %s" % e)
        return 1
    t_tree = time.monotonic() - t0
    try:
        proc, init = boot(tree, os.path.dirname(os.path.abspath(deb)), os.path.join(work, "nspawn.log"))
    except Failed as e:
        print("FAIL: %s" % e)
        return 1
    try:
        # The checks run in the container's network namespace: the mock they
        # start and the calls they make are on its loopback.
        rc = subprocess.run(["nsenter", "-t", str(init), "-n", "--", sys.executable, os.path.abspath(__file__),
                             "--inside", str(init), deb, mock_dir, work, max_exposure],
                            timeout=540).returncode
    finally:
        leftover.stop()     # normally stopped already by the checks
        shutdown(proc)
    print("nspawn: %.1f s for the tree, %.1f s in all" % (t_tree, time.monotonic() - t0))
    return rc


# ---- inside: watching the exports -------------------------------------------

class ExportWatch:
    """Every version of streams.env, as the daemon renames it into place, and
    for every ARN that appears (there or as an .arn file) the stream's status
    in the mock right then: it must already be ACTIVE."""

    def __init__(self, root, port, account):
        self.root, self.port, self.account = root, port, account
        self.state = root + STATE
        self.versions = []      # (monotonic time, {var: arn})
        self.early = []         # (what, status) of ARNs exported before ACTIVE
        self.seen = set()
        self.lock = threading.Lock()
        self.renames = RenameCounter(self.state, self.renamed)
        threading.Thread(target=self.poll_arn_files, daemon=True).start()

    def status(self, arn):
        name = arn.rsplit("/", 1)[-1]
        try:
            s = mock.summary(self.port, name, account=self.account)
            return s["StreamStatus"] if s else "missing"
        except (mock.MockError, OSError) as e:
            return "unknown (%s)" % e

    def note(self, what, arn):
        if ":stream/" not in arn or "/consumer/" in arn:
            return
        with self.lock:
            if arn in self.seen:
                return
            self.seen.add(arn)
        st = self.status(arn)
        if st not in ("ACTIVE", "UPDATING"):
            with self.lock:
                self.early.append((what, st))

    def renamed(self, name):
        if name != "streams.env":
            return
        try:
            with open(self.state + "/streams.env") as f:
                env = parse_env(f.read())
        except (OSError, ValueError):
            return
        with self.lock:
            self.versions.append((time.monotonic(), env))
        for k, v in env.items():
            self.note("streams.env " + k, v)

    def poll_arn_files(self):
        d = self.state + "/streams/" + REGION
        while True:
            try:
                for fn in os.listdir(d):
                    if fn.endswith(".arn"):
                        with open(os.path.join(d, fn)) as f:
                            self.note(fn, f.read().strip())
            except OSError:
                pass
            time.sleep(0.05)

    def changes_between(self, t0, t1):
        with self.lock:
            return [env for t, env in self.versions if t0 <= t <= t1]


# ---- inside: the checks ------------------------------------------------------

class Container:
    def __init__(self, init, deb, mock_dir, work, max_exposure):
        self.init, self.deb, self.work = init, deb, work
        self.max_exposure = float(max_exposure)
        self.root = "/proc/%d/root" % init
        self.account = "%012d" % (100000000000 + os.getpid())
        self.names = ["sys-%02d" % i for i in range(N_FIRST)]
        self.added = "sys-added"
        self.mock = mock.MockProcess(mock_dir, work, name="mock", duration=CREATE_DURATION)
        self.watch = None
        self.t_start = self.t_ready = None

    # container commands and files
    def sh(self, *cmd, timeout=120, check_rc=True):
        return run(["nsenter", "-t", str(self.init), "-a", "--"] + list(cmd), timeout=timeout,
                   check_rc=check_rc, env=CLEAN_ENV)

    def show(self, unit, *props):
        out = self.sh("systemctl", "show", unit, "-p", ",".join(props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def write(self, path, text, mode=0o644):
        p = self.root + path
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p + ".tmp", "w") as f:
            f.write(text)
        os.chmod(p + ".tmp", mode)
        os.rename(p + ".tmp", p)

    def read(self, path):
        with open(self.root + path) as f:
            return f.read()

    def env(self):
        return parse_env(self.read(STATE + "/streams.env"))

    def journal(self, *args):
        """The container's journal records matching args (json), oldest first."""
        out = self.sh("journalctl", "--no-pager", "-o", "json", *args).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def unit_journal(self, unit="kinesisd.service"):
        """What a unit's processes logged."""
        return self.journal("_SYSTEMD_UNIT=" + unit)

    def wait(self, cond, timeout, what):
        r = wait_for(cond, timeout, 0.2)
        check(r, "%s: not within %d s" % (what, timeout))
        return r

    def config(self, names, bad=False):
        text = ("aws:\n  region: %s\n  endpoint: http://127.0.0.1:%d\n"
                "reconcile:\n  poll: 1s\n  interval: 10m\nstreams:\n" % (REGION, self.mock.proxy_port))
        for n in names:
            text += "  - name: %s\n    shards: 1\n" % n
            if n == names[0]:
                text += "    consumers: [reader]\n"
        if bad:
            text += "  - name: sys-bad\n    shards: many\n"
        self.write("/etc/kinesisd/kinesisd.yaml", text)

    def active_in_mock(self, names):
        return all((mock.summary(self.mock.port, n, account=self.account) or {}).get("StreamStatus")
                   == "ACTIVE" for n in names)

    def main_pid(self):
        return int(self.show("kinesisd.service", "MainPID")["MainPID"])

    def host_pid(self, pid):
        """The host's pid of the container's process pid."""
        for p in descendants(self.init):
            try:
                with open("/proc/%d/status" % p) as f:
                    ns = [line.split()[1:] for line in f if line.startswith("NSpid:")]
            except OSError:
                continue
            if ns and ns[0][-1] == str(pid):
                return p
        raise Failed("no process %d in the container" % pid)


def check_install(c):
    p = c.sh("apt-get", "install", "-y", os.path.join(PKG_MOUNT, os.path.basename(c.deb)),
             timeout=300, check_rc=False)
    check(p.returncode == 0, "apt-get install ./%s failed" % os.path.basename(c.deb), p.stdout + p.stderr)
    pw = c.sh("getent", "passwd", "kinesisd", check_rc=False).stdout.strip()
    check(pw.split(":")[5:6] == ["/"], "postinst did not create the kinesisd user", pw)
    s = c.show("kinesisd.service", "LoadState", "UnitFileState", "ActiveState", "FragmentPath")
    frag = s.pop("FragmentPath")
    check(s == {"LoadState": "loaded", "UnitFileState": "disabled", "ActiveState": "inactive"} and
          os.path.realpath(c.root + frag) == os.path.realpath(c.root + "/usr/lib/systemd/system/kinesisd.service"),
          "after installing, the packaged unit must be loaded, disabled and stopped", (s, frag))
    cat = c.sh("journalctl", "--list-catalog").stdout
    check(all(("%s kinesisd:" % m) in cat for m in MSG.values()), "postinst did not update the catalog")
    p = c.sh("kinesisd", "--check-config", check_rc=False)
    check(p.returncode == 0 and "configuration OK" in p.stdout,
          "the packaged /etc/kinesisd/kinesisd.yaml is refused (exit %d)" % p.returncode, p.stdout + p.stderr)


def setup_units(c):
    """The credentials drop-in (credentials that exist nowhere else), a start
    timeout shorter than the first start, and the example consumer pair with
    a consumer that records the ARNs it was started with."""
    c.write("/etc/kinesisd/aws-credentials", "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
            % (c.account, FAKE_SECRET_KEY), 0o600)
    ex = "/usr/share/doc/kinesisd/examples/"
    c.write("/etc/systemd/system/kinesisd.service.d/aws-credentials.conf",
            c.read(ex + "kinesisd.service.d/aws-credentials.conf"))
    # Two waves of creations and a consumer take about 3 x CREATE_DURATION:
    # only an EXTEND_TIMEOUT_USEC within the first seconds keeps this start alive.
    c.write("/etc/systemd/system/kinesisd.service.d/test-timeout.conf", "[Service]\nTimeoutStartSec=6s\n")
    for u in ("example-consumer.service", "example-consumer-restart.path", "example-consumer-restart.service"):
        c.write("/etc/systemd/system/" + u, c.read(ex + u))
    c.write("/etc/systemd/system/example-consumer.service.d/test.conf",
            "[Service]\nExecStart=\nExecStart=/bin/sh -c 'echo \"consumer ARNs:\" $$(env | grep ^KINESIS_STREAM_"
            " | sort); exec sleep infinity'\n")
    c.sh("systemctl", "daemon-reload")
    c.sh("systemctl", "enable", "--now", "example-consumer-restart.path")
    # The exports are watched from before the first start (systemd makes it
    # kinesisd's when it starts the unit).
    c.sh("install", "-d", "-m", "0755", STATE)


def check_first_start(c):
    c.config(c.names)
    c.watch = ExportWatch(c.root, c.mock.port, c.account)
    c.t_start = time.monotonic()
    p = c.sh("systemctl", "start", "kinesisd.service", timeout=300, check_rc=False)
    c.t_ready = time.monotonic()
    check(p.returncode == 0, "systemctl start kinesisd failed (TimeoutStartSec=6s: no early "
          "EXTEND_TIMEOUT_USEC?)", p.stderr + c.sh("systemctl", "status", "--no-pager", "kinesisd",
                                                    check_rc=False).stdout)
    env = c.env()
    want = {env_name(n) for n in c.names}
    check(want <= set(env), "start returned before every ARN was in streams.env", sorted(want - set(env)))
    check(c.active_in_mock(c.names), "start returned before every stream was ACTIVE")
    doc = read_streams_json(c.root + STATE + "/streams.json")
    check(sorted(s["name"] for s in doc["streams"]) == sorted(c.names), "streams.json", doc)
    for n in c.names:
        check(os.path.exists(c.root + "%s/streams/%s/%s.arn" % (STATE, REGION, n)), "no .arn file for " + n)
    # The credentials exist only in the file the drop-in hands in (and the
    # strict proxy checks every signature against their secret).
    msgs = [str(e.get("MESSAGE", "")) for e in c.unit_journal()]
    check(any("credentials from the shared credentials file" in m for m in msgs),
          "kinesisd did not take its credentials from the drop-in's file", msgs[:5])
    took = c.t_ready - c.t_start
    check(took > 6, "the first start took %.1f s: not longer than TimeoutStartSec=6s, so the "
          "timeout extension was not tested" % took)
    print("  first start: %.1f s" % took)
    # Proven: the rest runs with the unit's own start timeout.
    os.unlink(c.root + "/etc/systemd/system/kinesisd.service.d/test-timeout.conf")
    c.sh("systemctl", "daemon-reload")


def check_status(c):
    st = c.show("kinesisd.service", "StatusText", "ActiveState", "SubState")
    check(st["ActiveState"] == "active" and st["SubState"] == "running", "not running", st)
    check(st["StatusText"] == "%d streams: %d active" % (N_FIRST, N_FIRST), "STATUS=", st)


def check_exports_waves(c):
    early = list(c.watch.early)
    check(not early, "ARNs exported while their stream was not ACTIVE", early)
    versions = c.watch.changes_between(c.t_start, c.t_ready)
    # Two waves of five creations, then the consumer's registration.
    waves = (N_FIRST + 4) // 5
    print("  streams.env versions during the first start: %d" % len(versions))
    check(versions, "no streams.env was seen renamed into place: the watch is blind")
    check(len(versions) <= waves + 1, "streams.env changed %d times during a start of %d waves "
          "and one consumer" % (len(versions), waves), [sorted(v) for v in versions])


def consumer_starts(c):
    """The ARN lists the consumer logged at each of its starts."""
    out = []
    for e in c.unit_journal("example-consumer.service"):
        m = e.get("MESSAGE", "")
        if isinstance(m, str) and m.startswith("consumer ARNs:"):
            out.append(dict(kv.split("=", 1) for kv in m.split()[2:]))
    return out


def check_consumer(c):
    # The path unit fired during the first start (the consumer did not run
    # yet: try-restart left it alone).
    ran = c.show("example-consumer-restart.service", "ExecMainExitTimestampMonotonic")
    check(ran["ExecMainExitTimestampMonotonic"] not in ("", "0"),
          "example-consumer-restart.service never ran during the first start", ran)
    p = c.sh("systemctl", "start", "example-consumer.service", check_rc=False)
    check(p.returncode == 0, "example-consumer did not start", p.stderr)
    starts = c.wait(lambda: consumer_starts(c), 30, "the consumer's record of its ARNs")
    check(starts[-1] == c.env(), "the consumer runs with other ARNs than streams.env", starts[-1])
    check(len(starts[-1]) >= N_FIRST, "the consumer lacks ARNs", starts[-1])
    path = c.show("example-consumer-restart.path", "ActiveState", "Result")
    check(path == {"ActiveState": "active", "Result": "success"}, "the path unit", path)
    svc = c.show("example-consumer-restart.service", "Result", "StartLimitIntervalUSec")
    check(svc["Result"] == "success", "the restart service", svc)
    # No start limit can fail the pair: far more starts than the default burst.
    for _ in range(12):
        c.sh("systemctl", "start", "example-consumer-restart.service", check_rc=False)
    svc = c.show("example-consumer-restart.service", "Result")
    path = c.show("example-consumer-restart.path", "ActiveState", "Result")
    consumer = c.show("example-consumer.service", "ActiveState", "Result")
    check(svc["Result"] == "success" and path["ActiveState"] == "active" and
          consumer == {"ActiveState": "active", "Result": "success"},
          "12 quick starts of example-consumer-restart.service (each restarting the consumer) failed "
          "the pair or the consumer", (svc, path, consumer))
    trig = c.show("example-consumer-restart.path", "TriggerLimitIntervalUSec", "TriggerLimitBurst")
    check(trig["TriggerLimitIntervalUSec"] in ("0", "infinity") or trig["TriggerLimitBurst"] == "0",
          "the path unit has a trigger limit that can fail it", trig)


def check_reload_adds(c):
    before = len(consumer_starts(c))
    c.config(c.names + [c.added])
    p = c.sh("systemctl", "reload", "kinesisd.service", timeout=300, check_rc=False)
    check(p.returncode == 0, "systemctl reload failed", p.stderr)
    env = c.env()
    check(env_name(c.added) in env, "systemctl reload returned before the added stream's ARN was "
          "in streams.env", sorted(env))
    check(c.active_in_mock([c.added]), "systemctl reload returned before the added stream was ACTIVE")
    # The path pair restarts the consumer on the new ARNs.
    starts = c.wait(lambda: [s for s in consumer_starts(c)[before:] if env_name(c.added) in s],
                    60, "the consumer restarted with the added ARN")
    check(starts[-1] == c.env(), "the restarted consumer's ARNs", starts[-1])


def check_refused_reload(c):
    env = c.read(STATE + "/streams.env")
    pid = c.main_pid()
    c.config(c.names + [c.added], bad=True)
    try:
        p = c.sh("systemctl", "reload", "kinesisd.service", timeout=120, check_rc=False)
        st = c.show("kinesisd.service", "StatusText", "ActiveState", "MainPID")
        print("  refused reload: systemctl reload exit %d, status \"%s\"" % (p.returncode, st["StatusText"]))
        check(st["ActiveState"] == "active" and int(st["MainPID"]) == pid, "a refused reload stopped kinesisd", st)
        check(p.returncode != 0, "systemctl reload succeeded on a refused configuration", p.stdout + p.stderr)
        check("reload failed: " in st["StatusText"], "no \"reload failed:\" in the status line", st)
        check([e for e in c.unit_journal() if e.get("MESSAGE_ID") == MSG["rejected"]],
              "no configuration-rejected record")
        check(any(re.search(r"kinesisd\.yaml:\d+:\d+: ", e.get("MESSAGE", "")) for e in c.unit_journal()),
              "no FILE:LINE:COLUMN record for the bad configuration")
        check(c.read(STATE + "/streams.env") == env, "a refused reload changed streams.env")
    finally:
        # The good configuration again, whatever happened above.
        c.config(c.names + [c.added])
        c.sh("systemctl", "reload", "kinesisd.service", timeout=120, check_rc=False)
    c.wait(lambda: "reload failed" not in c.show("kinesisd.service", "StatusText")["StatusText"], 30,
           "the status line after a good reload")


def check_journal(c):
    recs = c.unit_journal()
    check(len(recs) > N_FIRST, "too few journal records", len(recs))
    for e in recs:
        if e.get("SYSLOG_IDENTIFIER") != "kinesisd" or "CODE_FILE" not in e:
            continue
        for f in ("CODE_FILE", "CODE_LINE", "CODE_FUNC", "MESSAGE_ID"):
            check(not isinstance(e.get(f), list), "a record with %s more than once" % f,
                  {k: e.get(k) for k in ("MESSAGE", "CODE_FILE", "CODE_LINE", "CODE_FUNC")})
        check(e.get("CODE_FUNC") != "write_journal", "a record located in the logger itself", e.get("MESSAGE"))
    by = {}
    for e in recs:
        if e.get("MESSAGE_ID") in (MSG["created"], MSG["active"]):
            check("CODE_FILE" in e and "STREAM" in e, "a record without CODE_FILE or STREAM", e.get("MESSAGE"))
            by.setdefault((e["MESSAGE_ID"], e["STREAM"]), []).append(e["MESSAGE"])
    for n in c.names + [c.added]:
        for what in ("created", "active"):
            got = by.get((MSG[what], n), [])
            check(len(got) == 1, "%d \"%s\" records for stream %s, want 1" % (len(got), what, n), got)
    # The first start waits more than 5 s: progress is logged while it does.
    check(any(re.match(r"Waiting for \d+ of %d streams: " % N_FIRST, str(e.get("MESSAGE", ""))) for e in recs),
          "no \"Waiting for N of %d streams\" progress record during the first start" % N_FIRST)
    x = c.sh("journalctl", "--no-pager", "-x", "-u", "kinesisd", "MESSAGE_ID=" + MSG["active"]).stdout
    check("Subject: Kinesis stream %s is ACTIVE" % c.names[0] in x, "journalctl -x shows no catalog text", x[-2000:])
    check("Defined-By: kinesisd" in x, "journalctl -x: no Defined-By: kinesisd", x[-2000:])


def check_deleting(c):
    """A stream deleted behind kinesisd's back is waited for while DELETING
    (logged once, not per poll) and created again, ACTIVE once more."""
    name = c.names[1]
    mock.call(c.mock.port, "DeleteStream", {"StreamName": name}, account=c.account)
    c.sh("systemctl", "reload", "kinesisd.service", timeout=300, check_rc=False)   # look now

    def back():
        recs = [e for e in c.unit_journal() if e.get("STREAM") == name]
        active = [e for e in recs if e.get("MESSAGE_ID") == MSG["active"]]
        return recs if len(active) >= 2 and c.active_in_mock([name]) else None
    recs = c.wait(back, 120, "stream %s ACTIVE again after its deletion" % name)
    deleting = [e["MESSAGE"] for e in recs if "being deleted" in str(e.get("MESSAGE", ""))]
    check(len(deleting) == 1, "%d records of the DELETING wait, want 1" % len(deleting), deleting)
    created = [e for e in recs if e.get("MESSAGE_ID") == MSG["created"]]
    check(len(created) == 2, "%d created records for %s, want 2" % (len(created), name))
    c.wait(lambda: env_name(name) in c.env(), 60, "%s exported again" % name)


def check_kill9(c):
    pid = c.main_pid()
    n0 = int(c.show("kinesisd.service", "NRestarts")["NRestarts"])
    os.kill(c.host_pid(pid), signal.SIGKILL)
    c.wait(lambda: c.show("kinesisd.service", "NRestarts")["NRestarts"] != str(n0), 60, "Restart= after kill -9")
    c.wait(lambda: c.show("kinesisd.service", "ActiveState")["ActiveState"] == "active", 60,
           "kinesisd active again after kill -9")
    check(c.main_pid() != pid, "the same MainPID after kill -9")


def check_watchdog(c):
    c.write("/etc/systemd/system/kinesisd.service.d/test-watchdog.conf",
            "[Service]\nWatchdogSec=3s\nTimeoutAbortSec=2s\nRestartSec=1s\n")
    c.sh("systemctl", "daemon-reload")
    c.sh("systemctl", "restart", "kinesisd.service", timeout=120)
    pid = c.main_pid()
    time.sleep(5)     # longer than WatchdogSec: the pings keep it alive
    check(c.main_pid() == pid, "systemd's watchdog killed a kinesisd that was not stuck")
    n0 = int(c.show("kinesisd.service", "NRestarts")["NRestarts"])
    hpid = c.host_pid(pid)
    os.kill(hpid, signal.SIGSTOP)
    try:
        c.wait(lambda: c.show("kinesisd.service", "NRestarts")["NRestarts"] != str(n0), 60,
               "the watchdog restarting a stopped kinesisd")
    finally:
        try:
            os.kill(hpid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    msgs = [e.get("MESSAGE", "") for e in c.journal("UNIT=kinesisd.service")]
    check(any("Watchdog timeout" in m for m in msgs), "no watchdog timeout in systemd's log", msgs[-10:])
    c.wait(lambda: c.show("kinesisd.service", "ActiveState")["ActiveState"] == "active", 60,
           "kinesisd active again after the watchdog")
    os.unlink(c.root + "/etc/systemd/system/kinesisd.service.d/test-watchdog.conf")
    c.sh("systemctl", "daemon-reload")


def check_security(c):
    out = c.sh("systemd-analyze", "security", "--no-pager", "kinesisd.service", check_rc=False).stdout
    m = re.search(r"Overall exposure level for kinesisd\.service: *([0-9.]+)", out)
    check(m, "no exposure level from systemd-analyze security", out[-2000:])
    print("  systemd-analyze security kinesisd.service: exposure %s (at most %.1f)" % (m.group(1), c.max_exposure))
    check(float(m.group(1)) <= c.max_exposure, "exposure %s > %.1f" % (m.group(1), c.max_exposure))


def check_unreachable(c):
    """AWS gone (the proxy stopped): a failure record with its MESSAGE_ID per
    stream, and kinesisd keeps running."""
    since = c.sh("date", "+%s").stdout.strip()
    with open(c.mock.pid_file + ".proxy") as f:
        os.kill(int(f.read()), signal.SIGKILL)
    c.sh("systemctl", "kill", "-s", "HUP", "kinesisd.service")
    names = set(c.names + [c.added])

    def failed():
        got = {e.get("STREAM") for e in c.journal("-u", "kinesisd.service", "--since", "@" + since,
                                                   "MESSAGE_ID=" + MSG["failed"])}
        return names <= got
    c.wait(failed, 120, "a stream-failed record for every stream while AWS is unreachable")
    check(c.show("kinesisd.service", "ActiveState")["ActiveState"] == "active", "kinesisd stopped")


def check_stop(c):
    c.sh("systemctl", "stop", "kinesisd.service", timeout=60)
    st = c.show("kinesisd.service", "ActiveState", "Result", "ExecMainStatus")
    check(st == {"ActiveState": "inactive", "Result": "success", "ExecMainStatus": "0"}, "after stop", st)
    c.sh("systemctl", "start", "kinesisd.service", timeout=120)


def check_purge(c):
    """Purged while running and enabled: prerm stops it, postrm cleans up."""
    c.sh("systemctl", "enable", "kinesisd.service")
    p = c.sh("apt-get", "purge", "-y", "kinesisd", timeout=300, check_rc=False)
    check(p.returncode == 0, "apt-get purge kinesisd failed", p.stdout + p.stderr)
    check(not c.sh("pgrep", "-x", "kinesisd", check_rc=False).stdout.strip(), "kinesisd still runs after purge")
    s = c.show("kinesisd.service", "LoadState")
    check(s["LoadState"] == "not-found", "the unit is still known after purge", s)
    for path in (STATE, "/etc/kinesisd/kinesisd.yaml", "/etc/systemd/system/multi-user.target.wants/kinesisd.service",
                 "/usr/sbin/kinesisd"):
        check(not os.path.lexists(c.root + path), "%s is still there after purge" % path)
    check(os.path.exists(c.root + "/etc/kinesisd/aws-credentials"), "purge removed the administrator's credentials")
    cat = c.sh("journalctl", "--list-catalog").stdout
    check(MSG["active"] not in cat, "the catalog still has kinesisd's entries after purge")


def inside(init, deb, mock_dir, work, max_exposure):
    c = Container(int(init), deb, mock_dir, work, max_exposure)
    c.mock.start()
    s = Suite("nspawn")
    steps = [check_install, setup_units, check_first_start, check_status, check_exports_waves, check_consumer,
             check_reload_adds, check_refused_reload, check_journal, check_deleting, check_kill9, check_watchdog,
             check_security, check_stop, check_unreachable, check_purge]
    try:
        for fn in steps:
            t0 = time.monotonic()
            before = s.failed
            step = functools.partial(fn, c)
            step.__name__ = fn.__name__
            s.run(step)
            print("  (%s: %.1f s)" % (fn.__name__, time.monotonic() - t0), flush=True)
            if s.failed > before and fn in (check_install, setup_units, check_first_start):
                print("stopping here: later checks need this one")
                break
    finally:
        if s.failed:
            j = c.sh("journalctl", "--no-pager", "-n", "80", "-u", "kinesisd.service", check_rc=False).stdout
            print("---- the container's journal of kinesisd.service, last lines:\n" + j)
        rc, out = c.mock.stop()
        if rc != 0:     # the strict proxy refused what AWS would refuse
            print(out)
            s.failed += 1
    return s.summary()


def main():
    if len(sys.argv) == 7 and sys.argv[1] == "--inside":
        return inside(*sys.argv[2:])
    if len(sys.argv) != 5:
        print(__doc__.split("\n\n")[1])
        return 2
    return outer(*sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
