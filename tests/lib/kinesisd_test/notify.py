"""A NOTIFY_SOCKET of our own, as systemd's service manager would offer one:
collects every datagram the daemon sends (READY=1, STATUS=, RELOADING=1,
STOPPING=1, ...) in a thread, and on READY=1 calls on_ready() at once, before
anything else can happen, keeping what it returns in ready_checks."""
import socket
import threading
import time

from kinesisd_test.checks import Failed


class NotifySocket:
    def __init__(self, path, on_ready=None):
        self.path = path
        self.on_ready = on_ready
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.msgs = []          # (monotonic time, dict of the datagram's assignments, raw)
        self.ready_checks = []  # what on_ready() returned, per READY=1
        self.cond = threading.Condition()
        self.done = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.done:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            raw = data.decode(errors="replace")
            kv = dict(line.split("=", 1) for line in raw.split("\n") if "=" in line)
            if kv.get("READY") == "1" and self.on_ready:
                self.ready_checks.append(self.on_ready())
            with self.cond:
                self.msgs.append((time.monotonic(), kv, raw))
                self.cond.notify_all()

    def wait_for(self, pred, timeout, what, start=0):
        """Wait for a datagram at index >= start whose assignments match
        pred; returns its index."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.msgs)):
                    if pred(self.msgs[i][1]):
                        return i
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failed("no %s within %ds; got %s" % (what, timeout, [m[2] for m in self.msgs[start:]]))
                self.cond.wait(left)

    def arrived(self, pred, timeout, start=0):
        """Has a datagram at index >= start matching pred arrived (waiting up
        to timeout s for it: the thread may lag behind a busy machine)?"""
        try:
            self.wait_for(pred, timeout, "", start)
            return True
        except Failed:
            return False

    def close(self):
        self.done = True
        self.thread.join()
        self.sock.close()
