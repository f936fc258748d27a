"""Threads, a generator and a caught exception: run under Python's development mode."""
import sys
import threading


def work(n):
    return sum(range(n))


def numbers(n):
    yield from range(n)


def fail(why):
    raise ValueError(why)


def main():
    t = threading.Thread(target=work, args=(10,))
    t.start()
    t.join()
    print(list(numbers(3)))
    try:
        fail("boom")
    except ValueError as e:
        print("caught", e)
    print("dev mode:", sys.flags.dev_mode)


main()
