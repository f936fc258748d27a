"""Plain functions of ints called in threads, after the library's first checks: their
records come from the fast path, which reads each thread's state in place."""
import threading


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def worker(n):
    fib(n)


def main():
    fib(8)  # the first 64 events are checked the slow way
    threads = [threading.Thread(target=worker, args=(n,), name=f"worker-{n}") for n in (3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


main()
