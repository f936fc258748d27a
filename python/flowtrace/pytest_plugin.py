"""pytest plugin (the wheel's pytest11 entry point): `pytest --flowtrace[=failed|all]
[--flowtrace-dir DIR]`.

`pytest --flowtrace ARGS` is `flowtrace-run [--keep K] [-o DIR] pytest ARGS`: the plugin
runs the same command line again under flowtrace-run, before any conftest is imported
and before pytest captures output, so that the whole session (collection, fixtures,
pytest-xdist workers) is traced from its first line and its units, FAILED lines, runs and
reports are exactly those of flowtrace-run. In a process that FlowTrace already traces
(under flowtrace-run, LD_PRELOAD, or the run started here) the plugin does nothing.
Without --flowtrace it does nothing at all.
"""

import os
import sys

import pytest

from . import _bundle

_KEEP = ("failed", "all")


def _keep(value):
    if value not in _KEEP:
        import argparse

        raise argparse.ArgumentTypeError(
            "'%s' is not failed or all (write --flowtrace=failed or --flowtrace=all; a bare "
            "--flowtrace takes the next argument as its value when it is not an option)" % value)
    return value


def pytest_addoption(parser):
    group = parser.getgroup("flowtrace", "FlowTrace: record every call of the test session")
    group.addoption("--flowtrace", nargs="?", const="default", type=_keep, default=None,
                    metavar="failed|all",
                    help="trace the session with FlowTrace (as flowtrace-run pytest ...): keep "
                         "the call trees of failed tests only, or of all tests (default: failed "
                         "when CI is set, else all)")
    group.addoption("--flowtrace-dir", default=None, metavar="DIR",
                    help="FlowTrace output directory (default $FLOWTRACE_DIR, else "
                         "./flowtrace-out)")


def _traced():
    """Whether libflowtrace.so is loaded in this process (preloaded, or started here)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            return any(line.rstrip().endswith("/libflowtrace.so") for line in f)
    except OSError:
        return False


def _command_line(early_config):
    """The interpreter's own command line if pytest was started as a command (`pytest`,
    `python -m pytest`), else None (pytest.main() called by another program)."""
    args = list(early_config.invocation_params.args)
    if list(sys.argv[1:]) != args:
        return None
    orig = list(getattr(sys, "orig_argv", [])) or [sys.executable] + sys.argv
    # Started through a shim or by a relative name: run the same interpreter by its path.
    orig[0] = sys.executable or orig[0]
    return orig


def _rerun_traced(early_config, ns):
    argv = _command_line(early_config)
    if argv is None:
        sys.stderr.write("pytest --flowtrace: pytest.main() inside another program is not "
                         "traced; run that program under flowtrace-run\n")
        return
    run = _bundle.path("flowtrace-run")
    options = []
    if ns.flowtrace in _KEEP:
        options += ["--keep", ns.flowtrace]
    if ns.flowtrace_dir:
        options += ["-o", ns.flowtrace_dir]
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execv(run, ["flowtrace-run"] + options + ["--"] + argv)
    except OSError as e:
        # Tracing never costs the test run: say why, and go on untraced.
        sys.stderr.write("pytest --flowtrace: cannot run %s (%s); the tests run untraced\n"
                         % (run, e.strerror))


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    # The earliest point with options parsed: no conftest imported, no output captured.
    ns = early_config.known_args_namespace
    if getattr(ns, "flowtrace", None) is not None and not _traced():
        _rerun_traced(early_config, ns)
    yield
