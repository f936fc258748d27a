"""Threads that rename themselves (Thread.name = ...) between two calls of one function."""
import threading


def step(n):
    return n * 2


def worker():
    step(1)
    threading.current_thread().name = "worker-renamed"
    step(2)


def main():
    step(0)
    threading.current_thread().name = "main-renamed"
    step(3)
    t = threading.Thread(target=worker, name="worker")
    t.start()
    t.join()


main()
