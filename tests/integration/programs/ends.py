"""Ends the way argv[1] says, inside two nested calls (outer -> inner).

Before that it makes three complete calls of `warmup`, so every run has calls that
finished and calls still open at the end. For the signal cases it prints "ready PID"
and waits inside inner() for the test to act.
"""
import ctypes
import os
import signal
import sys
import time


def warmup(i):
    return i * 2


def inner(how):
    if how == "exception":
        raise ValueError("bad input")
    if how == "sys_exit":
        sys.exit(4)
    if how == "os_exit":
        os._exit(5)
    if how == "abort":
        os.abort()
    if how == "segv":
        ctypes.string_at(0)
    if how == "exec_echo":
        os.execv("/bin/echo", ["echo", "exec'd echo"])
    if how.startswith("sig"):  # sigterm, sigint, sigkill, sighup, sigusr1, ...
        print("ready", os.getpid(), flush=True)
        # Short sleeps: a signal that arrives between the print and a sleep's system call
        # is handled by Python at the next one (one long sleep would outlast the test).
        for _ in range(1200):
            time.sleep(0.05)
    return how


def outer(how):
    return inner(how)


for i in range(3):
    warmup(i)
print(outer(sys.argv[1]), flush=True)
