"""Counting what replaces a file in a directory (kinesisd renames a temp
file over it), with inotify through the C library: every replacement is
seen, however fast they come, which sampling cannot promise."""
import ctypes
import os
import select
import struct
import threading

IN_MOVED_TO = 0x00000080
IN_CLOEXEC = 0o2000000
_EVENT = struct.Struct("iIII")


class RenameCounter:
    """Counts IN_MOVED_TO events per file name in directory d (which must
    exist) from now on."""

    def __init__(self, d):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if libc.inotify_add_watch(self.fd, os.fsencode(d), IN_MOVED_TO) < 0:
            os.close(self.fd)
            raise OSError(ctypes.get_errno(), "inotify_add_watch %s" % d)
        self.counts = {}
        self.lock = threading.Lock()
        self.done = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.done:
            r, _, _ = select.select([self.fd], [], [], 0.2)
            if not r:
                continue
            buf = os.read(self.fd, 65536)
            i = 0
            while i + _EVENT.size <= len(buf):
                _, mask, _, n = _EVENT.unpack_from(buf, i)
                name = buf[i + _EVENT.size:i + _EVENT.size + n].rstrip(b"\0").decode()
                i += _EVENT.size + n
                if mask & IN_MOVED_TO:
                    with self.lock:
                        self.counts[name] = self.counts.get(name, 0) + 1

    def count(self, name):
        with self.lock:
            return self.counts.get(name, 0)

    def close(self):
        self.done = True
        self.thread.join()
        os.close(self.fd)
