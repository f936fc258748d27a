"""Call-heavy and nothing else: recursive fib(23), 92,735 calls of one function with an int
argument and an int result (the figure issue 12's costs were measured on)."""
import sys


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


fib(int(sys.argv[1]) if len(sys.argv) > 1 else 23)
