"""The house: the repository's top level holds only what the developers' guide lists, and
the README's source tour names every source file, so a newcomer finds each one."""
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# GUIDE.md, "Non-negotiables": the top level, and the tools' own files.
TOP_LEVEL = {"lib", "inject", "tools", "tests", "Makefile", "README.md", "docs", ".ci", "bench",
             "python", "VERSION", ".clang-format", ".clang-tidy", ".gitignore"}
# Sources the tour must name one by one (a directory row does not stand for them).
SOURCES = re.compile(r"^(lib|inject|tools|bench(?!/workloads/)|python/flowtrace)/.*\.(c|h|js|py)$"
                     r"|^tools/flowtrace-run$")


def tracked():
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [p for p in out.splitlines() if (ROOT / p).exists()]


def tour_names():
    """The paths the README's source tour names: `dir/file`, and `file` alone after a
    `dir/...` in the same cell (`tools/cli/cmd_ls.c`, `cmd_show.c`)."""
    text = (ROOT / "README.md").read_text()
    tour = text.split("## Source tour", 1)[1].split("\n## ", 1)[0]
    names = set()
    for row in tour.splitlines():
        if not row.startswith("| `"):
            continue
        cells = row.split(" | ")
        directory = ""
        for item in re.findall(r"`([^`]+)`", cells[0] + " | " + cells[1]):
            if "/" in item:
                directory = item.rsplit("/", 1)[0] + "/"
                names.add(item)
            elif directory:
                names.add(directory + item)
    return names


def test_the_top_level_holds_only_what_the_guide_lists():
    top = {p.split("/", 1)[0] for p in tracked()}
    assert top <= TOP_LEVEL, sorted(top - TOP_LEVEL)


def test_the_source_tour_names_every_source_file():
    names = tour_names()
    missing = []
    for path in tracked():
        if not SOURCES.match(path) or path in names:
            continue
        # A header goes with its .c file: `lib/run.c` stands for `lib/run.h` too.
        if path.endswith(".h") and path[:-2] + ".c" in names:
            continue
        missing.append(path)
    assert missing == [], "README.md's source tour does not name: " + ", ".join(missing)


def test_the_source_tour_names_no_file_that_is_gone():
    files = set(tracked())
    gone = sorted(n for n in tour_names()
                  if not n.endswith("/") and n not in files and SOURCES.match(n))
    assert gone == [], "README.md's source tour names files that do not exist: " + \
        ", ".join(gone)


def c_sources(*dirs):
    return [ROOT / p for p in tracked() if p.split("/", 1)[0] in dirs or
            any(p.startswith(d + "/") for d in dirs) if p.endswith((".c", ".h"))]


def test_names_and_codes_are_written_once():
    # How a run ended: one table (lib/wire.c ft_wire_end_name), for tree.json and the index.
    for name in ("os._exit", "detached", "killed"):
        where = [p.relative_to(ROOT).as_posix() for p in c_sources("lib", "tools/writer")
                 if p.suffix == ".c" and f'"{name}"' in p.read_text()]
        assert where == ["lib/wire.c"], (name, where)
    # Our error codes begin at FT_EBADMAGIC: "is it an errno?" is ft_err_is_errno.
    where = [p.relative_to(ROOT).as_posix() for p in c_sources("lib", "inject", "tools")
             if "-4000" in p.read_text()]
    assert where == ["lib/err.h"], where
    # Exit statuses are named (lib/err.h FT_EXIT_*), not computed.
    assert ") + 1;" not in (ROOT / "tools/writer/main.c").read_text()


def test_make_test_runs_lint():
    # issue 16: `make lint` (clang-format, clang-tidy, cppcheck, the ABI check) is part of
    # `make test`, so CI fails on a finding.
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest: ", 1)[1].split("\n\n", 1)[0]
    steps = re.findall(r"\$\((?:MAKE\) --no-print-directory|SUBMAKE_J\)) ([\w -]+)", recipe)
    assert "lint" in " ".join(steps).split(), steps


def includes_of(path):
    return re.findall(r'^#include "([^"]+)"', path.read_text(), re.M)


def test_three_floors_and_each_program_its_own_part():
    # GUIDE.md: inject/ and tools/ stand on lib/, nothing points up, and a program's part
    # uses no other program's files (issue 12, "the house": the CLI linked the writer's
    # index.o and runs.o). What two programs share lives in lib/.
    wrong = []
    for p in c_sources("lib", "inject", "tools"):
        rel = p.relative_to(ROOT).as_posix()
        part = "lib" if rel.startswith("lib/") else "/".join(rel.split("/")[:2])
        for inc in includes_of(p):
            if "/" not in inc:
                continue  # the part's own header
            if inc.startswith("lib/") or inc.startswith(part + "/"):
                continue
            wrong.append(f"{rel} -> {inc}")
    assert wrong == [], wrong
    makefile = (ROOT / "Makefile").read_text()
    for program, own in (("CLI", "tools/cli/"), ("WRITER", "tools/writer/"),
                         ("RUNNER", "tools/run/"), ("SO", "inject/")):
        rule = re.search(r"^\$\(%s\):([^\n]*)" % program, makefile, re.M).group(1)
        objs = [o for o in re.findall(r"\$\(O\)/([\w/]+)\.o", rule) if not o.startswith(own)]
        assert objs == [] and "$(CLI_WRITER_OBJS)" not in rule, (program, rule)
