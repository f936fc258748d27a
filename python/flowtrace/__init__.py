"""FlowTrace: records every call of a Python program (arguments, results, exceptions).

The package carries the native tracer (flowtrace._bin) and its commands, `flowtrace`
and `flowtrace-run` (see the README's "pip / pytest / attach" section), and a region API
for programs that are not started under FlowTrace:

    import flowtrace

    flowtrace.start("checkout")  # a region of this thread, from here ...
    checkout(cart)
    flowtrace.stop()             # ... to here

    with flowtrace.record("checkout"):
        checkout(cart)

    @flowtrace.trace             # each call is a region (sync, async, generator)
    def checkout(cart): ...

A region records what its thread runs inside it, with every call below it (FLOWTRACE_*
filters apply), as a node named after it and a unit of work of kind "region" (its own
tree, a row in units.jsonl). A generator's or coroutine's region covers its steps only,
not what other tasks run while it is suspended. Without FlowTrace's wrapper, the package
loads libflowtrace.so at the first region and records this process in manual mode
(nothing outside regions): one run, in $FLOWTRACE_DIR or ./flowtrace-out, complete when
the process ends. Under flowtrace-run the regions are marked in the whole-process trace
(with --manual, FLOWTRACE_START=manual, only they are recorded). Tracing never costs the
program: if recording cannot start, one line on stderr says why and the code runs
untraced.
"""

import ctypes
import errno
import functools
import inspect
import sys
import threading

from . import _bundle

__version__ = _bundle.version()
__all__ = ["start", "stop", "record", "trace", "__version__"]

_lock = threading.Lock()
_lib = None
_ready = False  # this process is being recorded (by the wrapper, a preload, or us)
_failed = False  # recording could not start: regions do nothing


def _library():
    """libflowtrace.so's entry points: the preloaded library's if there is one (its
    exported symbols are global), else the bundled library, loaded once."""
    global _lib
    if _lib is None:
        try:
            lib = ctypes.PyDLL(None)
            lib.flowtrace_region_begin
        except AttributeError:
            lib = ctypes.PyDLL(_bundle.path("libflowtrace.so"))
        lib.flowtrace_start.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t)
        lib.flowtrace_start.restype = ctypes.c_int
        lib.flowtrace_region_begin.argtypes = (ctypes.c_char_p, ctypes.c_uint64, ctypes.c_int)
        lib.flowtrace_region_begin.restype = ctypes.c_int
        lib.flowtrace_region_end.argtypes = (ctypes.c_int,)
        lib.flowtrace_region_end.restype = ctypes.c_int
        _lib = lib
    return _lib


def _recording():
    """The library, once this process is recorded; None if it cannot be."""
    global _ready, _failed
    if _ready:
        return _lib
    if _failed:
        return None
    with _lock:
        if not _ready and not _failed:
            try:
                lib = _library()
            except OSError as e:
                sys.stderr.write("flowtrace: cannot load the tracer (%s); running untraced\n" % e)
                _failed = True
                return None
            why = ctypes.create_string_buffer(1024)
            rc = lib.flowtrace_start(b"FLOWTRACE_START=manual\n", why, len(why))
            if rc in (0, -errno.EALREADY):
                _ready = True
            else:
                msg = why.value.decode("utf-8", "replace")
                if msg:
                    sys.stderr.write("flowtrace: %s; running untraced\n" % msg)
                _failed = True
    return _lib if _ready else None


def _name(name):
    return (name or "region").encode("utf-8", "replace")[:127]


def start(name=None):
    """Opens a region named `name` on the calling thread (see the module's doc); close it
    with stop(). Returns True if it is recorded."""
    lib = _recording()
    return lib is not None and lib.flowtrace_region_begin(_name(name), 0, 0) == 0


def stop():
    """Closes the calling thread's innermost region."""
    lib = _recording()
    if lib is not None:
        lib.flowtrace_region_end(0)


class record:
    """`with flowtrace.record("checkout"):` records what runs inside, as one region."""

    def __init__(self, name=None):
        self._name = name
        self._open = False

    def __enter__(self):
        self._open = start(self._name)
        return self

    def __exit__(self, *exc):
        if self._open:
            stop()
        return False


class _Span:
    """One region across the steps of a generator or coroutine: started at its first
    step, resumed at the next ones, ended at its last; nothing is recorded in between."""

    def __init__(self, name):
        self.name = _name(name)
        self.started = False
        self.open = False

    def enter(self):
        lib = _recording()
        self.open = lib is not None and lib.flowtrace_region_begin(
            self.name, id(self), int(self.started)) == 0
        self.started = True

    def leave(self, final):
        if self.open:
            self.open = False
            _lib.flowtrace_region_end(0 if final else 1)

    def finish(self):
        """Ends a region whose last step was already left as suspended."""
        if self.started:
            self.enter()
            self.leave(True)


class _Steps:
    """Drives a generator or a coroutine's iterator, each step inside its region."""

    def __init__(self, it, span, last=True):
        self._it = it
        self._span = span
        self._last = last  # the inner iterator's end is the region's end

    def __iter__(self):
        return self

    def __await__(self):
        return self

    def __next__(self):
        return self.send(None)

    def _step(self, fn, *args):
        self._span.enter()
        try:
            value = fn(*args)
        except BaseException:
            self._span.leave(self._last)
            raise
        self._span.leave(False)
        return value

    def send(self, value):
        return self._step(self._it.send, value)

    def throw(self, *args):
        return self._step(self._it.throw, *args)

    def close(self):
        self._span.enter()
        try:
            self._it.close()
        finally:
            self._span.leave(True)


def trace(fn=None, *, name=None):
    """Decorator: each call of the function is a region named after it (or `name`); for a
    generator, a coroutine or an async generator, its steps only. `@flowtrace.trace` or
    `@flowtrace.trace(name="checkout")`."""
    if fn is None:
        return lambda f: trace(f, name=name)
    label = name or getattr(fn, "__qualname__", None)
    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def traced_coroutine(*args, **kwargs):
            return await _Steps(fn(*args, **kwargs).__await__(), _Span(label))
        return traced_coroutine
    if inspect.isasyncgenfunction(fn):
        @functools.wraps(fn)
        async def traced_async_generator(*args, **kwargs):
            agen, span, sent = fn(*args, **kwargs), _Span(label), None
            try:
                while True:
                    try:
                        item = await _Steps(agen.asend(sent).__await__(), span, last=False)
                    except StopAsyncIteration:
                        return
                    sent = yield item
            finally:
                span.finish()
        return traced_async_generator
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def traced_generator(*args, **kwargs):
            return (yield from _Steps(fn(*args, **kwargs), _Span(label)))
        return traced_generator

    @functools.wraps(fn)
    def traced(*args, **kwargs):
        with record(label):
            return fn(*args, **kwargs)
    return traced
