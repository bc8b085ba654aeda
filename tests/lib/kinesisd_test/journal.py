"""The journal's side of kinesisd's logging, without a journal: a datagram
socket bound where sd_journal_sendv() sends (/run/systemd/journal/socket,
over which a directory of the test's is mounted, in a mount namespace of the
test's own: mountns.py), and $JOURNAL_STREAM naming the file the daemon's
stderr goes to, so that log.c picks the journal. Each datagram is one record
in the journal's native protocol: KEY=value lines, or KEY, a newline, a
64-bit little-endian length and the value (one with a newline in it)."""
import os
import socket
import struct
import subprocess
import threading

RUN_DIR = "/run/systemd"


def parse_record(data):
    """One native-protocol datagram -> list of (key, value) in order (a key
    may come more than once: that is what the tests look for)."""
    out = []
    i = 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            out.append((k.decode(), v.decode(errors="replace")))
            i = nl + 1
        else:
            (n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            out.append((line.decode(), data[nl + 9:nl + 9 + n].decode(errors="replace")))
            i = nl + 9 + n + 1
    return out


class JournalCapture:
    """Collect the records sent to the journal socket. Only in a private
    mount namespace (mounts over /run/systemd). usable() says whether it
    could be set up."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "journal-run")
        os.makedirs(os.path.join(self.dir, "journal"), exist_ok=True)
        self.records = []
        self.lock = threading.Lock()
        self.sock = None
        self.mounted = False
        if not os.path.isdir(RUN_DIR):
            return
        if subprocess.run(["mount", "--bind", self.dir, RUN_DIR]).returncode != 0:
            return
        self.mounted = True
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(os.path.join(RUN_DIR, "journal", "socket"))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.settimeout(0.2)
        self.done = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def usable(self):
        return self.sock is not None

    def loop(self):
        while not self.done:
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.records.append(parse_record(data))

    def all(self):
        with self.lock:
            return list(self.records)

    @staticmethod
    def stream_env(stderr_path):
        """$JOURNAL_STREAM for a daemon whose stderr is stderr_path."""
        st = os.stat(stderr_path)
        return "%d:%d" % (st.st_dev, st.st_ino)

    def close(self):
        if self.sock:
            self.done = True
            self.thread.join()
            self.sock.close()
        if self.mounted:
            subprocess.run(["umount", RUN_DIR])
