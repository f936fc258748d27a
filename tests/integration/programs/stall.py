"""Calls f() argv[1] times between two lines read from stdin, so that a test can stop
the writer before the calls and let it go on after them, before the program ends; then
argv[2] times more (0 if not given), as the program ends."""
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


def end(n):
    for i in range(n):
        f(i)


main(int(sys.argv[1]))
end(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
print("done")
