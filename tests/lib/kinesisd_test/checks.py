"""What every test asserts with: Failed and check(), a suite that runs test
functions and counts passes and failures, and the scan for sanitizer reports
(under the sanitizer build a report fails a test even when the exit code
happens to be the one expected)."""
import traceback

# Lines of an AddressSanitizer, LeakSanitizer or UBSan report.
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                   "runtime error:", "==ERROR", "SUMMARY: ")


class Failed(Exception):
    pass


class Skip(Exception):
    pass


def indent(detail):
    return ("\n    " + str(detail).replace("\n", "\n    ")) if detail else ""


def check(cond, what, detail=""):
    """Raise Failed(what, with detail indented below) unless cond."""
    if not cond:
        raise Failed(what + indent(detail))


def sanitizer_report(text):
    """The start of the first sanitizer report in text, or None."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if any(m in line for m in SANITIZER_MARKS):
            return "\n".join(lines[max(0, i - 3):i + 60])
    return None


def check_no_sanitizer(text, what="kinesisd"):
    report = sanitizer_report(text)
    check(report is None, "%s: sanitizer report" % what, report)


class Suite:
    """Runs test functions: each passes, or fails with Failed (or any other
    exception: a bug in a test is a failure too). exit_code() after them."""

    def __init__(self, name):
        self.name = name
        self.passed = self.failed = 0

    def check(self, cond, what, detail=""):
        check(cond, what, detail)

    def run(self, fn):
        try:
            fn()
            self.passed += 1
            print("PASS %s" % fn.__name__, flush=True)
        except Failed as e:
            self.failed += 1
            print("FAIL %s: %s" % (fn.__name__, e), flush=True)
        except Exception as e:  # noqa: BLE001 - a bug in the test is a failure too
            self.failed += 1
            print("FAIL %s: %s: %s" % (fn.__name__, type(e).__name__, e), flush=True)
            traceback.print_exc()

    def summary(self):
        print("%s: %d passed, %d failed" % (self.name, self.passed, self.failed))
        return 1 if self.failed else 0
