"""Waits for the test to act on it, the way argv[1] says; for the wrapper's tests.

  wait           prints "ready PID", then sleeps in waiting() (default dispositions)
  count SIGNAME  counts deliveries of SIGNAME; prints "ready PID"; once one has come,
                 gives a duplicate half a second to arrive, prints "got N" and exits 0
  stdin          prints "ready PID", then echoes one line read from stdin and exits 0
  env NAME...    prints each FLOWTRACE_* NAME's value (or -) on one line, and exits 0
"""
import os
import select
import signal
import sys
import time


def waiting():
    time.sleep(60)


def count(name):
    """Counts each delivery of the signal: CPython's C handler writes one byte to the
    wakeup fd per delivery, where two Python-level calls could merge into one."""
    sig = getattr(signal, name)
    r, w = os.pipe()
    os.set_blocking(w, False)
    signal.set_wakeup_fd(w)
    signal.signal(sig, lambda *_: None)
    print("ready", os.getpid(), flush=True)
    got = b""
    for _ in range(600):
        if select.select([r], [], [], 0.1)[0]:
            got += os.read(r, 64)
            break
    time.sleep(0.5)
    os.set_blocking(r, False)
    try:
        got += os.read(r, 64)
    except BlockingIOError:
        pass
    print("got", got.count(bytes([sig])), flush=True)


def echo():
    print("ready", os.getpid(), flush=True)
    print("read", sys.stdin.readline().strip(), flush=True)


def main(how, *rest):
    if how == "wait":
        print("ready", os.getpid(), flush=True)
        waiting()
    elif how == "count":
        count(rest[0])
    elif how == "stdin":
        echo()
    elif how == "env":
        print(" ".join(os.environ.get("FLOWTRACE_" + n, "-") for n in rest), flush=True)


main(*sys.argv[1:])
