"""Objects whose __repr__ misbehaves, and a 10 MB string."""
import sys


class Raises:
    def __repr__(self):
        raise ValueError("no repr for you")


class Recurses:
    def __repr__(self):
        return repr(self)


class Fine:
    def __repr__(self):
        return "Fine()"


def show(obj):
    return obj


def size(text):
    return len(text)


def main():
    show(Raises())
    show(Recurses())
    show(Fine())
    size("x" * 10_000_000)
    print("done", file=sys.stderr)


main()
