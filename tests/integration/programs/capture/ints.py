"""Ints of every size the tracer reads in place or not, and values that only look like ints."""
import enum


class Level(enum.IntEnum):
    HIGH = 3


def add(a, b):
    return a + b


def neg(x):
    return -x


def flag(on):
    return not on


class Counter:
    def step(self, by, *, times=1):
        return by * times


def main():
    add(0, -1)
    add(2**30 - 1, 1)            # one 30-bit digit, then two
    add(2**60 - 1, 1)            # two digits, then three
    add(2**62, 2**62 - 1)        # the largest int64
    neg(-2**63)                  # the smallest; its negation does not fit
    add(10**30, 1)
    flag(True)                   # a bool is not written as 1
    neg(Level.HIGH)              # nor is an int subclass
    Counter().step(5, times=-2)


main()
