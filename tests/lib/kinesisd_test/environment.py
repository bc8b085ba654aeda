"""The environment kinesisd and kinesis-call run in under test: built from
nothing, so that nothing of the caller's reaches them. Fake static keys (or
none), no shared config or credentials file, no instance metadata, no proxy
variable, HOME where the test says (inside its work directory)."""
import os
import tempfile

# AWS's documentation example keys: never valid anywhere.
FAKE_ACCESS_KEY = "AKIDEXAMPLE"
FAKE_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
FAKE_KEYS = {"AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY}

# Passed on when set: the sanitizer build's runtime options.
_KEPT = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")


def clean_env(home, keys=None, shared_files=None, extra=None):
    """A fresh environment: PATH, HOME=home, LANG, instance metadata off.

    keys: a dict of AWS_* key variables to add (e.g. FAKE_KEYS), or None.
    shared_files: a path both AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE
      point at (an empty file, or /dev/null where the reader accepts it), or
      None to leave them unset (then HOME/.aws is where they are looked for).
    extra: variables to set; a value of None removes the variable."""
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "LANG": "C.UTF-8",
         "AWS_EC2_METADATA_DISABLED": "true"}
    for k in _KEPT:
        if k in os.environ:
            e[k] = os.environ[k]
    if shared_files:
        e["AWS_CONFIG_FILE"] = e["AWS_SHARED_CREDENTIALS_FILE"] = shared_files
    e.update(keys or {})
    for k, v in (extra or {}).items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    return e


class Scratch:
    """A temporary directory, removed with this object, with HOME inside it."""

    def __init__(self, prefix):
        self.tmp = tempfile.TemporaryDirectory(prefix=prefix)
        self.home = self.path("home")
        os.makedirs(self.home)

    def path(self, *names):
        return os.path.join(self.tmp.name, *names)

    def write(self, name, text, mode=0o644):
        """Write a file below the directory; returns its path."""
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p
