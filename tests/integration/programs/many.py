"""Starts argv[1] Python children at once, each making argv[2] calls, and waits for all."""
import subprocess
import sys

CHILD = """
import sys
def step(i):
    return i
for i in range(int(sys.argv[1])):
    step(i)
"""


def spawn(n, calls):
    return [subprocess.Popen([sys.executable, "-c", CHILD, str(calls)]) for _ in range(n)]


def main(n, calls):
    procs = spawn(n, calls)
    codes = [p.wait() for p in procs]
    print("children", len(codes), "failed", sum(c != 0 for c in codes))


main(int(sys.argv[1]), int(sys.argv[2]))
