"""Two named worker threads and the main thread, each with its own calls."""
import threading


def work(n):
    return step(n) + step(n + 1)


def step(n):
    return n * 2


def worker(n):
    work(n)


def main():
    threads = [threading.Thread(target=worker, args=(i,), name=f"worker-{i}") for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    step(0)


main()
