"""Waits for the test to act on it, the way argv[1] says; for the wrapper's tests.

  wait           prints "ready PID", then sleeps in waiting() (default dispositions)
  count SIGNAME  counts SIGNAME with a handler; prints "ready PID"; once one has come,
                 gives a duplicate half a second to arrive, prints "got N" and exits 0
  stdin          prints "ready PID", then echoes one line read from stdin and exits 0
  env NAME...    prints each FLOWTRACE_* NAME's value (or -) on one line, and exits 0
"""
import os
import signal
import sys
import time


def waiting():
    time.sleep(60)


def count(name):
    sig = getattr(signal, name)
    got = []
    signal.signal(sig, lambda *_: got.append(1))
    print("ready", os.getpid(), flush=True)
    for _ in range(600):
        if got:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    print("got", len(got), flush=True)


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
