"""FlowTrace: records every call of a Python program (arguments, results, exceptions).

The package carries the native tracer (flowtrace._bin) and its commands, `flowtrace`
and `flowtrace-run` (see the README's "pip / pytest / attach" section), and a region API
for programs that are not started under FlowTrace:

    import flowtrace

    flowtrace.start()            # record every thread from here ...
    checkout(cart)
    flowtrace.stop()             # ... to here: one run, written when stop() returns

    with flowtrace.record("checkout"):
        checkout(cart)

    @flowtrace.trace             # each call is recorded (sync, async, generator)
    def checkout(cart): ...

The package loads libflowtrace.so itself, which starts a writer; runs go to
$FLOWTRACE_DIR, else ./flowtrace-out, and FLOWTRACE_* settings apply as under
flowtrace-run. Regions nest: the outermost one is the run. In a process FlowTrace traces
already (flowtrace-run, LD_PRELOAD) everything is recorded anyway and these calls change
nothing. Tracing never costs the program: if recording cannot start, the library says why
in one line on stderr and the code runs untraced.
"""

import contextlib
import ctypes
import errno
import functools
import inspect
import threading

from . import _bundle

__version__ = _bundle.version()
__all__ = ["start", "stop", "record", "trace", "__version__"]

_lock = threading.RLock()
_lib = None
_depth = 0           # regions open
_started = False     # the outermost start() started recording (stop() ends it)
_recording = False   # the process is recorded (by us, or by the wrapper or a preload)


def _library():
    """libflowtrace.so's entry points: the preloaded library's if there is one (its
    exported symbols are global), else the bundled library, loaded once."""
    global _lib
    if _lib is None:
        try:
            lib = ctypes.PyDLL(None)
            lib.flowtrace_start
        except AttributeError:
            lib = ctypes.PyDLL(_bundle.path("libflowtrace.so"))
        lib.flowtrace_start.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t)
        lib.flowtrace_start.restype = ctypes.c_int
        lib.flowtrace_stop.argtypes = ()
        lib.flowtrace_stop.restype = ctypes.c_int
        _lib = lib
    return _lib


def start(name=None):
    """Starts recording every thread of this process, if nothing records it yet. Returns
    True if this process is being recorded (by this call, an enclosing region, or
    FlowTrace's wrapper). `name` names the region (kept for the trace's region marks)."""
    global _depth, _started, _recording
    with _lock:
        _depth += 1
        if _depth > 1:
            return _recording
        try:
            lib = _library()
        except OSError as e:
            import sys

            sys.stderr.write("flowtrace: cannot load the tracer (%s); running untraced\n" % e)
            return False
        why = ctypes.create_string_buffer(1024)
        rc = lib.flowtrace_start(None, why, len(why))
        _started = rc == 0
        # -EALREADY: flowtrace-run or a preload records the whole process already.
        _recording = _started or rc == -errno.EALREADY
        return _recording


def stop():
    """Ends the outermost region: stops recording, ships every record and waits until
    the run is written (it is in $FLOWTRACE_DIR when this returns). The program runs on
    untraced. Inner regions' stop() only closes them."""
    global _depth, _started, _recording
    with _lock:
        if _depth == 0:
            return
        _depth -= 1
        if _depth == 0:
            _recording = False
            if _started:
                _started = False
                _lib.flowtrace_stop()


@contextlib.contextmanager
def record(name=None):
    """`with flowtrace.record("checkout"):` records what runs inside (start/stop)."""
    start(name)
    try:
        yield
    finally:
        stop()


def trace(fn=None, *, name=None):
    """Decorator: each call of the function (a coroutine's or a generator's whole life)
    is recorded, with every call below it. `@flowtrace.trace` or
    `@flowtrace.trace(name="checkout")`."""
    if fn is None:
        return lambda f: trace(f, name=name)
    label = name or getattr(fn, "__qualname__", None)
    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def traced_coroutine(*args, **kwargs):
            with record(label):
                return await fn(*args, **kwargs)
        return traced_coroutine
    if inspect.isasyncgenfunction(fn):
        @functools.wraps(fn)
        async def traced_async_generator(*args, **kwargs):
            with record(label):
                async for item in fn(*args, **kwargs):
                    yield item
        return traced_async_generator
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def traced_generator(*args, **kwargs):
            with record(label):
                return (yield from fn(*args, **kwargs))
        return traced_generator

    @functools.wraps(fn)
    def traced(*args, **kwargs):
        with record(label):
            return fn(*args, **kwargs)
    return traced
