"""Calls f() argv[1] times between two lines read from stdin, so that a test can stop
the writer before the calls and let it go on after them, before the program ends."""
import sys


def f(i):
    return i


def main(n):
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(n):
        f(i)
    print("called", flush=True)
    sys.stdin.readline()


main(int(sys.argv[1]))
print("done")
