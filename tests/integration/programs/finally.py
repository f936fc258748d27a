"""Exceptions that leave frames through cleanup code: a finally block, a bare raise in an
except block, a with block. The line each frame is left at is the line the exception
passed there (as its traceback says), on every version."""
import contextlib


def boom():
    raise ValueError("x")


def through_finally():
    try:
        boom()          # left here
    finally:
        a = 1
        b = 2           # not here (3.11 was here before it read the traceback)


def reraised():
    try:
        boom()          # left here
    except ValueError:
        c = 3
        raise           # not here


def with_block():
    with contextlib.nullcontext():
        boom()          # left here


def caller():
    for f in (through_finally, reraised, with_block):
        try:
            f()
        except ValueError:
            pass


caller()
through_finally()       # uncaught: the same from the excepthook's traceback
