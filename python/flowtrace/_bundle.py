"""Where the native parts are: libflowtrace.so, flowtrace-writer, flowtrace, flowtrace-run.

Installed from the wheel they sit in this package's _bin directory. In a source checkout
(python/flowtrace, used by the tests) they are the build directory's: $FLOWTRACE_BUILD,
else the checkout's build/.
"""

import os

_HERE = os.path.dirname(os.path.abspath(__file__))


def bin_dir():
    """The directory holding libflowtrace.so and flowtrace-writer."""
    bundled = os.path.join(_HERE, "_bin")
    if os.path.exists(os.path.join(bundled, "libflowtrace.so")):
        return bundled
    build = os.environ.get("FLOWTRACE_BUILD")
    if build:
        return os.path.abspath(build)
    return os.path.join(os.path.dirname(os.path.dirname(_HERE)), "build")


def path(name):
    """The path of one native part (it may not exist: callers report that)."""
    return os.path.join(bin_dir(), name)


def version():
    """The FlowTrace version: one VERSION file, copied into the wheel."""
    for p in (os.path.join(_HERE, "VERSION"), os.path.join(os.path.dirname(os.path.dirname(_HERE)), "VERSION")):
        try:
            with open(p, encoding="ascii") as f:
                return f.read().strip()
        except OSError:
            pass
    return "unknown"
