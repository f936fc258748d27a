import time


def quick(i):
    return i + 1


def slow():
    time.sleep(0.3)
    return quick(0)


def run(n):
    total = sum(quick(i) for i in range(n))
    return total + slow()
