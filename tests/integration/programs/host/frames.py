"""Code that looks at frames: what it prints must not change when it is traced.

The import hook is written as click's test suite writes it (tests/test_imports.py): the
second parameter, called `locals`, really receives the globals, and the third, called
`globals`, receives the locals, which CPython passes as None from a function's frame
unless something has materialised that frame's f_locals."""
import builtins
import inspect
import json  # noqa: F401  (imported here, so the hook sees only lazy imports)
import sys

import lazypkg

real_import = builtins.__import__
hook_saw = []


def tracking_import(module, locals=None, globals=None, fromlist=None, level=0):
    rv = real_import(module, locals, globals, fromlist, level)
    if globals and globals["__name__"].startswith("lazypkg"):
        hook_saw.append(module)
    hook_saw.append(type(globals).__name__)
    return rv


def snapshot(a, b=2):
    snap = locals()
    c = a + b
    return sorted(snap), c


def own_frame(x, y):
    z = x * y
    return sorted(sys._getframe().f_locals), z


def helper():
    return sorted(inspect.currentframe().f_back.f_locals)


def caller_locals(token, other=None):
    found = helper()
    return found


def counting(n):
    for i in range(n):
        yield sorted(sys._getframe().f_locals)


class Box:
    def __init__(self, value):
        self.value = value

    def peek(self, extra):
        return sorted(inspect.currentframe().f_locals)


def main():
    builtins.__import__ = tracking_import
    try:
        print("lazy:", lazypkg.lazy_json([1, 2]), lazypkg.lazy_join("a", "b"))
    finally:
        builtins.__import__ = real_import
    print("the import hook saw:", hook_saw)
    print("locals():", snapshot(1))
    print("sys._getframe().f_locals:", own_frame(3, 4))
    print("the caller's f_locals:", caller_locals("t"))
    print("a generator's f_locals:", list(counting(2)))
    print("a method's f_locals:", Box(1).peek(2))


main()
