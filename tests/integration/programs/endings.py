"""Ends in the way argv[1] says: exit3, raise, ok."""
import sys


def leaf(how):
    if how == "exit3":
        sys.exit(3)
    if how == "raise":
        raise RuntimeError("boom")
    return how


def middle(how):
    return leaf(how)


print(middle(sys.argv[1]))
