"""A unit whose threads make more calls than the writer holds in memory for a hand-off
(its part is then a file beside the run's while the work runs): job() passes, failing()
raises after the same work."""
import sys
import threading

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000


def leaf(i):
    return i + 1


def work(n):
    s = 0
    for i in range(n):
        s += leaf(i)
    return s


def run_threads():
    ts = [threading.Thread(target=work, args=(N,), name="worker_%d" % k) for k in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def job():
    run_threads()


def failing():
    run_threads()
    raise ValueError("after the threads")


job()
try:
    failing()
except ValueError:
    pass
print("done")
