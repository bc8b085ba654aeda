"""The helpers every Python test of kinesisd shares (tests/lib is on
PYTHONPATH for every CTest test, set once in tests/CMakeLists.txt):

  environment  the clean environment a daemon or kinesis-call runs in
  ports        the kinesis-mock port, or skip (77) / fail
  mock         direct calls to kinesis-mock, a mock of one's own, kinesis-call
  process      running, stopping and watching child processes
  checks       Failed, check(), a pass/fail suite, the sanitizer-report scan
  state        readers of the daemon's state directory
  proxy        tests/fault/fault_proxy.py in the background

Nothing here talks to anything but 127.0.0.1."""
