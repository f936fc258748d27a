"""Generators: consumed in a for loop, driven by send(), closed early, thrown into."""


def square(n):
    return n * n


def squares(n):
    for i in range(n):
        yield square(i)


def echo():
    got = yield "ready"
    while got is not None:
        got = yield got.upper()


def guarded():
    try:
        yield 1
    finally:
        square(9)


def main():
    total = 0
    for v in squares(3):
        total += v
    e = echo()
    next(e)
    e.send("a")
    e.close()
    g = guarded()
    next(g)
    g.close()
    any(v > 0 for v in [0, 1, 2])
    t = echo()
    next(t)
    try:
        t.throw(KeyError("x"))
    except KeyError:
        pass
    return total


main()
