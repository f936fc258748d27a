"""A hot loop of argv[1] seconds (f() called as often as it can be), then a wait for the
test's signal. Prints "ready PID", then "looped N" with N the calls of f."""
import os
import sys
import time


def f(i):
    return i + 1


def loop(seconds):
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        for i in range(1000):
            f(i)
        n += 1000
    return n


print("ready", os.getpid(), flush=True)
n = loop(float(sys.argv[1]))
print("looped", n, flush=True)
while True:  # short sleeps: a signal is handled at once (see ends.py)
    time.sleep(0.05)
