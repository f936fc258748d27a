"""Call-heavy: deep recursion, almost nothing but calls and returns."""


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def ackermann_like(depth):
    return 0 if depth == 0 else 1 + ackermann_like(depth - 1)


def main():
    fib(29)
    for _ in range(500):
        ackermann_like(900)


main()
