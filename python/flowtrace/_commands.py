"""The wheel's console scripts, `flowtrace` and `flowtrace-run`: each replaces itself with
the bundled native command (exec), so arguments, exit status, signals and the terminal
are the command's own."""

import os
import sys

from . import _bundle


def _exec(argv0, argv):
    try:
        os.execv(argv[0], [argv0] + argv[1:])
    except OSError as e:
        sys.stderr.write("%s: cannot run %s: %s\n" % (argv0, argv[0], e.strerror))
        sys.exit(2)


def flowtrace():
    """`flowtrace COMMAND ...`: the CLI (ls, show, stats, html, export, report, attach)."""
    _exec("flowtrace", [_bundle.path("flowtrace")] + sys.argv[1:])


def flowtrace_run():
    """`flowtrace-run [options] COMMAND ...`: the wrapper."""
    _exec("flowtrace-run", [_bundle.path("flowtrace-run")] + sys.argv[1:])
