"""Child processes under test: run one to its end, stop one (SIGTERM, wait,
then SIGKILL), wait for a condition with a deadline, read /proc figures.

Deadlines here are for a loaded machine: a test waits for a condition, never
for a fixed time, and the deadline only bounds a hang."""
import signal
import subprocess
import time


def text(b):
    """Captured output (bytes, str or None) as str."""
    if b is None:
        return ""
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else b


def run(argv, env, timeout, cwd=None):
    """Run argv to its end; (rc, stdout, stderr, seconds). TimeoutExpired
    propagates (its output converted with text())."""
    t0 = time.monotonic()
    p = subprocess.run(argv, env=env, capture_output=True, text=True, errors="replace",
                       timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd)
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def wait_exit(p, timeout):
    """p's exit status, or None if it is still running after timeout s."""
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def kill(p):
    """SIGKILL p if it still runs, and reap it."""
    if p.poll() is None:
        p.kill()
    p.wait()


def stop(p, timeout=30, sig=signal.SIGTERM):
    """Send sig (SIGTERM) if p still runs and wait up to timeout s for it to
    exit. Returns its exit status, or None when it had to be killed."""
    if p.poll() is None:
        p.send_signal(sig)
    rc = wait_exit(p, timeout)
    if rc is None:
        kill(p)
    return rc


def wait_for(cond, timeout, interval=0.1):
    """Poll cond() until it returns something true (returned) or timeout s
    have passed (None). cond is tried once more at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            return cond() or None
        time.sleep(interval)


def proc_status_kib(pid, field):
    """VmHWM, VmRSS, ... of a live process in KiB, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_cpu_ticks(pid):
    """utime + stime of a live process, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)
