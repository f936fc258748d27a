"""FlowTrace: records every call of a Python program (arguments, results, exceptions).

The package carries the native tracer (flowtrace._bin) and its commands, `flowtrace`
and `flowtrace-run`; see the README's "pip / pytest / attach" section.
"""

from . import _bundle

__version__ = _bundle.version()
