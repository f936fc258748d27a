"""Plain functions of ints, the calls the library writes on its fast path (record_fast.h),
next to the shapes that look like them and are not."""


def nothing():
    pass


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def eight(a, b, c, d, e, f, g, h):
    return a + b + c + d + e + f + g + h


def nine(a, b, c, d, e, f, g, h, i):
    return a + b + c + d + e + f + g + h + i


def keywords(a, *, b=2):
    return a * b


def rebinds(n):
    n = [n]            # the parameter holds a list at the return: "after" shows it
    n.append(0)
    return len(n)


def renames(n):
    n = str(n)         # rebound to a value that is not an int (nor mutable): no "after"
    return len(n)


def measures(s):
    return len(s)      # a str parameter, an int result


def deletes(n):
    del n
    return 1


def captured(n):
    return (lambda: n)()   # n lives in a cell


def counts(items, n):
    items.append(n)
    return n


def warm_up():
    # The library checks its reading of frames on the first 64 events (the slow way):
    # the calls below come after that.
    fib(8)


def main():
    warm_up()
    nothing()
    fib(3)
    eight(1, 2, 3, 4, 5, 6, 7, -8)
    nine(1, 2, 3, 4, 5, 6, 7, 8, 9)
    keywords(3)
    keywords(3, b=-1)
    rebinds(5)
    renames(12)
    measures("abc")
    deletes(4)
    captured(6)
    counts([], 2)
    keywords(2**40)    # two 30-bit digits
    fib(-2**61)        # three: rendered by the general path


main()
