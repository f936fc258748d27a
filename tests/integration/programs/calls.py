"""Makes argv[1] calls of f() inside main(); with argv[2] == "wait", stops halfway and
waits for a line on stdin (so a test can act while the program runs)."""
import sys


def f(i):
    return i


def main(n, wait):
    for i in range(n // 2):
        f(i)
    if wait:
        print("ready", flush=True)
        sys.stdin.readline()
    for i in range(n // 2, n):
        f(i)


main(int(sys.argv[1]), len(sys.argv) > 2 and sys.argv[2] == "wait")
print("done")
