#!/usr/bin/env python3
"""daemon-exports: what kinesisd reports when its exports cannot be written.

- A read-only state directory (a tmpfs mounted read-only): --once exits 1,
  and its log names streams.env and streams.json with "Read-only file
  system" and says how many streams are not exported.
- A full one (a tmpfs of two pages): streams.env and streams.json are
  written first and whole, with every ARN; the .arn files that find no room
  are named with "No space left on device"; --once exits 1; no temp file is
  left behind.
- streams/ a symlink: it is not followed (nothing lands where it points),
  the log says so, streams.env and streams.json are written, --once exits 1.
- The daemon in a directory it may not write (its own, mode 0555, run
  without the capability to override that): no READY=1; STATUS= and the
  journal name the files and "Permission denied"; once the directory is
  made writable the daemon, retrying on its own, writes everything and only
  then sends READY=1; STATUS= is clean again. A reload in the meantime sends
  RELOADING=1 but no READY=1.

- The state directory removed and made again (rm -rf, mkdir) while the
  daemon runs: after SIGHUP every file is in the new one and no descriptor
  is left on the old; with a short interval the next pass does the same
  without a signal; removed and not made again, it is made again, 0755.

The mount cases run in a private mount namespace (the script re-executes
itself under unshare), so no mount outlives the test; without the right to
mount they, and the capability case without setpriv, are skipped (each
says so) and the rest still runs."""
import os
import shutil
import signal
import subprocess
import time

from daemonlib import AWS_HEAD, Test
from kinesisd_test.checks import Failed
from kinesisd_test.mountns import in_private_mount_ns
from kinesisd_test.notify import NotifySocket
from kinesisd_test.process import kill, wait_exit, wait_for
from kinesisd_test.state import env_name, read_state

MOUNTS = in_private_mount_ns("KINESISD_TEST_EXPORTS_MOUNTNS")

T = Test("exports", "ap-south-1")
# Bounds a hang, not a speed (the machine may be busy).
WAIT = 60
P = T.prefix
NAMES = [P + "a", P + "b", P + "c"]

CONFIG = AWS_HEAD + """reconcile:
  poll: 100ms
  interval: 5m
  timeout: 40s
streams:
""" + "".join("  - name: %s\n    shards: 1\n" % n for n in NAMES)
cfg = T.write("kinesisd.yaml", CONFIG)
arns = {}


def skip(what):
    print("SKIP: %s" % what, flush=True)


def mount_tmpfs(path, options):
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", path], check=True)


def check_env_json(state, what):
    """streams.env and streams.json are there, whole, with every ARN."""
    st = read_state(state)
    T.require(st["env"] is not None and st["json"] is not None, "%s: streams.env and streams.json written" % what,
              str(os.listdir(state)))
    for n in NAMES:
        T.check(st["env"].get(env_name(n, T.region, T.region)) == arns[n], "%s: %s in streams.env" % (what, n),
                str(st["env"]))
    got = {s["name"]: s["arn"] for s in st["json"]["streams"]}
    T.check(got == arns, "%s: every stream and ARN in streams.json" % what, str(got))
    T.check(st["temp"] == [], "%s: no temp file left" % what, str(st["temp"]))
    return st


def test_setup():
    """Create the streams with a run that can write: every later run only
    looks at them."""
    state = T.path("state-ok")
    T.once(cfg, state)
    for n in NAMES:
        arns[n] = T.describe(n)["StreamARN"]
    st = read_state(state)
    T.require(all(st["arn"].get((T.region, n)) == arns[n] for n in NAMES), "a writable directory gets every file")


def test_read_only():
    if not MOUNTS:
        return skip("no private mount namespace: read-only state directory not tried")
    state = T.path("state-ro")
    mount_tmpfs(state, "ro,mode=0755")
    try:
        out, err = T.once(cfg, state, expect=1)
        T.check(os.listdir(state) == [], "nothing written", str(os.listdir(state)))
    finally:
        subprocess.run(["umount", state])
    T.check("streams.env (Read-only file system)" in err and "streams.json (Read-only file system)" in err,
            "the log names streams.env and streams.json and why", err[-3000:])
    T.check("3 of 3 streams not exported" in err, "the log says no stream is exported", err[-3000:])


def test_full():
    if not MOUNTS:
        return skip("no private mount namespace: full state directory not tried")
    state = T.path("state-full")
    # Two pages: room for streams.env and streams.json, none for the rest.
    mount_tmpfs(state, "size=8k,mode=0755")
    try:
        out, err = T.once(cfg, state, expect=1)
        st = check_env_json(state, "full disk")
    finally:
        subprocess.run(["umount", state])
    missing = [n for n in NAMES if (T.region, n) not in st["arn"]]
    T.check(len(missing) > 0, "the disk was too small for some .arn file", str(st["arn"]))
    for n in missing:
        T.check("streams/%s/%s.arn (No space left on device)" % (T.region, n) in err,
                "the log names %s.arn and why" % n, err[-3000:])
    T.check("%d of 3 streams not exported" % len(missing) in err, "the log counts the streams not exported",
            err[-3000:])


def test_symlink():
    state = T.path("state-symlink")
    elsewhere = T.path("elsewhere")
    os.makedirs(state)
    os.makedirs(elsewhere)
    os.symlink(elsewhere, os.path.join(state, "streams"))
    out, err = T.once(cfg, state, expect=1)
    check_env_json(state, "streams/ a symlink")
    T.check(os.path.islink(os.path.join(state, "streams")), "streams/ is still the symlink")
    T.check(os.listdir(elsewhere) == [], "nothing written where the symlink points", str(os.listdir(elsewhere)))
    T.check("streams/ (a symbolic link, not followed)" in err, "the log says streams/ is a symlink", err[-3000:])


def test_daemon_retries():
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        return skip("not root or no setpriv: the daemon in an unwritable directory not tried")
    state = T.path("state-0555")
    os.makedirs(state)
    os.chmod(state, 0o555)
    log = T.path("daemon.log")

    def look():
        st = read_state(state)
        return (st["env"] is not None and all(env_name(n, T.region, T.region) in st["env"] for n in NAMES)
                and st["json"] is not None and all((T.region, n) in st["arn"] for n in NAMES))
    h = NotifySocket(T.path("notify.sock"), look)
    # Root without the capabilities that ignore file modes: the 0555
    # directory refuses it as it would refuse any unprivileged user.
    p = subprocess.Popen([setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search,-fowner",
                          "--", T.kinesisd, "-c", cfg, "--state-dir", state, "--log-level", "debug"],
                         env=T.env({"NOTIFY_SOCKET": h.path}), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
    try:
        i = h.wait_for(lambda kv: "3 active; 3 not exported" in kv.get("STATUS", ""), WAIT,
                       "STATUS with the failed exports")
        status = h.msgs[i][1]["STATUS"]
        T.check(status.startswith("3 streams: 3 active; 3 not exported, cannot write streams.env "
                                  "(Permission denied), streams.json (Permission denied)"),
                "STATUS= names the files and why", status)
        T.check(not any(m[1].get("READY") == "1" for m in h.msgs[:i + 1]),
                "no READY=1 while nothing is exported", str([m[2] for m in h.msgs[:i + 1]]))
        T.check(wait_for(lambda: "streams.env (Permission denied)" in open(log).read(), WAIT),
                "the log names streams.env and why")

        # A reload meanwhile sends RELOADING=1, but no READY=1 of its own:
        # that would tell systemd the start-up is complete. The datagrams
        # keep their order: a READY=1 of the first reload would come before
        # the second reload's RELOADING=1, and its pass is done by then.
        def passes():
            with open(log) as f:
                return f.read().count("Pass done:")
        n0, before = len(h.msgs), passes()
        p.send_signal(signal.SIGHUP)
        h.wait_for(lambda kv: kv.get("RELOADING") == "1", WAIT, "RELOADING=1", n0)
        T.check(wait_for(lambda: passes() > before, WAIT), "the reload's pass is done")
        p.send_signal(signal.SIGHUP)
        k = h.wait_for(lambda kv: kv.get("RELOADING") == "1", WAIT, "RELOADING=1 again", n0)
        k = h.wait_for(lambda kv: kv.get("RELOADING") == "1", WAIT, "RELOADING=1 again", k + 1)
        T.check(not any(m[1].get("READY") == "1" for m in h.msgs[:k]),
                "no READY=1 from a reload while nothing is exported", str([m[2] for m in h.msgs[n0:k]]))
        os.chmod(state, 0o755)
        j = h.wait_for(lambda kv: kv.get("READY") == "1", WAIT, "READY=1 once the directory is writable", i)
        T.check(h.ready_checks[:1] == [True], "at READY=1 every file is in place", str(h.ready_checks))
        T.check(not any(m[1].get("READY") == "1" for m in h.msgs[:j]), "READY=1 only once")
        h.wait_for(lambda kv: kv.get("STATUS") == "3 streams: 3 active", WAIT, "a clean STATUS= again", i)
        with open(log) as f:
            text = f.read()
        T.check("every export written" in text, "the log says the exports are written again")
        T.check("Ready: 3 of 3 streams active and exported." in text, "the log says ready")
        p.send_signal(signal.SIGTERM)
        T.check(wait_exit(p, WAIT) == 0, "exit 0 on SIGTERM")
        T.check_sanitizers(text, "daemon")
    except Failed:
        with open(log) as f:
            print(f.read()[-4000:])
        raise
    finally:
        kill(p)
        h.close()
        os.chmod(state, 0o755)


def deleted_state_fds(pid, state):
    """The daemon's descriptors on a removed state directory."""
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith(state) and target.endswith(" (deleted)"):
            out.append(target)
    return out


def test_replaced_dir():
    state = T.path("state-replaced")
    log = T.path("daemon-replaced.log")

    def exported():
        try:
            st = read_state(state)
        except (OSError, ValueError):
            return False
        return (st["env"] is not None and st["json"] is not None and st["prom"] is not None
                and all(st["env"].get(env_name(n, T.region, T.region)) == arns[n] for n in NAMES)
                and {s["name"]: s["arn"] for s in st["json"]["streams"]} == arns
                and all(st["arn"].get((T.region, n)) == arns[n] for n in NAMES))

    def replace(make_again=True):
        # rm -rf as one step: a pass of the daemon may come at any moment,
        # and must find either the old directory or none.
        os.rename(state, state + ".old")
        # The daemon may still be finishing a file of its own in the old
        # directory (deep-checks is written after READY=1): a file renamed or
        # made while rmtree runs makes it fail; try again until it is gone.
        for _ in range(100):
            try:
                shutil.rmtree(state + ".old")
                break
            except OSError:
                time.sleep(0.05)
        T.require(not os.path.exists(state + ".old"), "the old state directory could be removed")
        if make_again:
            # The daemon may have made it again already.
            os.makedirs(state, exist_ok=True)

    h = NotifySocket(T.path("notify-replaced.sock"), exported)
    p = T.spawn("-c", cfg, "--state-dir", state, "--log-level", "debug", env={"NOTIFY_SOCKET": h.path},
                stderr_path=log)
    try:
        h.wait_for(lambda kv: kv.get("READY") == "1", WAIT, "READY=1")
        T.require(h.ready_checks[:1] == [True], "at READY=1 every file is in place")

        # Replaced, then a reload with the same configuration (interval 5 m:
        # no pass of its own comes in between).
        replace()
        n0 = len(h.msgs)
        p.send_signal(signal.SIGHUP)
        h.wait_for(lambda kv: kv.get("READY") == "1", WAIT, "READY=1 after the reload", n0)
        T.check(wait_for(exported, WAIT), "after a reload every file is in the new directory",
                str(os.listdir(state)))
        T.check(deleted_state_fds(p.pid, state) == [], "no descriptor left on the removed directory",
                str(deleted_state_fds(p.pid, state)))

        # A short interval, then replaced with no signal: the next pass finds out.
        T.write("kinesisd.yaml", CONFIG.replace("interval: 5m", "interval: 2s"))
        n0 = len(h.msgs)
        p.send_signal(signal.SIGHUP)
        h.wait_for(lambda kv: kv.get("READY") == "1", WAIT, "READY=1 after the second reload", n0)
        replace()
        T.check(wait_for(exported, WAIT), "after the next pass every file is in the new directory",
                str(os.listdir(state)))
        # Removed and not made again: made again, 0755.
        replace(make_again=False)
        T.check(wait_for(exported, WAIT), "a removed state directory is made again")
        T.check(os.path.isdir(state) and os.stat(state).st_mode & 0o7777 == 0o755, "made again 0755")
        T.check(deleted_state_fds(p.pid, state) == [], "still no descriptor on a removed directory",
                str(deleted_state_fds(p.pid, state)))
        with open(log) as f:
            text = f.read()
        T.check(text.count("The state directory %s was removed or replaced" % state) >= 3,
                "the log says so each time")
        T.terminate(p, log, WAIT)
    finally:
        kill(p)
        h.close()
        T.write("kinesisd.yaml", CONFIG)


T.run(test_setup, test_read_only, test_full, test_symlink, test_daemon_retries, test_replaced_dir)
