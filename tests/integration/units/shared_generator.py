"""Threads drain one lock-wrapped generator that iterates an inner one, for several
rounds: each round's generators may reuse the last round's frame addresses in another
thread (reliability's repro of issue 17's shared-generator tree.json)."""
import sys
import threading
import time

sys.setswitchinterval(1e-6)


class synchronized:
    def __init__(self, it):
        self._it = iter(it)
        self._lock = threading.Lock()

    def __iter__(self):
        return self

    def __next__(self):
        with self._lock:
            return next(self._it)


def inner(n):
    for i in range(n):
        yield i


def outer(n):
    for x in inner(n):
        time.sleep(0)
        yield x


N, T, R = map(int, sys.argv[1:4])
total = 0
for _ in range(R):
    it = synchronized(outer(N))
    out = []

    def consume():
        for x in it:
            out.append(x)
    ts = [threading.Thread(target=consume) for _ in range(T)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    total += len(out)
print(total)
