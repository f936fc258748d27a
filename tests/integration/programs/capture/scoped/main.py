"""A program with a package (app), a module whose name starts like it (apple), and the
standard library: for --include, --exclude, --all, --max-depth and --min-duration."""
import textwrap

import apple
from app import core


def main():
    core.run(3)
    apple.pick("red")
    textwrap.dedent("  x\n")


main()
