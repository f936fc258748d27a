"""shown(v): the text a recorded value stands for, as every reader shows it.

Format 3 (docs/format.md "Showing a value") writes values as JSON values; tests compare a
run's values through shown(), so one expectation reads a format-2 repr string and a
format-3 value alike:

    from values import shown
    assert shown(node["args"]["n"]) == "5"
    assert {k: shown(v) for k, v in node["args"].items()} == {"name": "'ana'"}

The implementation is the package's (python/flowtrace/values.py), loaded from the
source tree by path so that the package's __init__ (the region API) is not imported.
"""
import importlib.util
from pathlib import Path

_SRC = Path(__file__).resolve().parents[2] / "python" / "flowtrace" / "values.py"
_spec = importlib.util.spec_from_file_location("flowtrace_values", _SRC)
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)

shown = _mod.shown
described = _mod.described


def shown_args(args, format=3):
    """A call's "args" / "argsAfter" / "locals" map, each value shown."""
    return {k: shown(v, format) for k, v in (args or {}).items()}
