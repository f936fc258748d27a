"""Exceptions as a post-mortem reads them: where each was raised (in Python or in C), the
chain of its causes, the line each frame was at when it left, and the frame's locals."""
import contextlib


def parse(text, api_key):
    width = len(text)
    return int(text)


def load(path):
    data = "x" + path
    try:
        return parse(data, "k-123")
    except ValueError as e:
        raise RuntimeError("cannot load " + path) from e


def check(n):
    if n > 2:
        raise KeyError(n)
    return n


def swallow():
    try:
        check(5)
    except KeyError:
        return "swallowed"


@contextlib.contextmanager
def guard(name):
    yield name


def inside():
    with guard("g"):
        check(9)


def main():
    try:
        load("cfg")
    except RuntimeError:
        pass
    swallow()
    try:
        inside()
    except KeyError:
        pass


main()
