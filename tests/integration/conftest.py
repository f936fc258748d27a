"""Shared fixtures: interpreters to test, running programs traced, reading their runs.

Every test that traces a program runs once per interpreter found on the machine:
Debian's /usr/bin/python3.11 (libpython linked statically into the executable) and
pyenv's python3 (shared libpython, reached through pyenv's bash shim). An interpreter
that is absent is skipped; the suite fails if none is present.
"""
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from values import shown

# A CI machine sets CI=true, and under it FlowTrace keeps only failed units' trees
# (--keep failed). Each test gets the defaults a user has outside CI; the tests of that
# behaviour set CI themselves (clean_env(CI=...)).
os.environ.pop("CI", None)

# Trees nest as deep as the traced recursion went; json needs the room.
sys.setrecursionlimit(100_000)

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("FLOWTRACE_BUILD", ROOT / "build"))
LIB = BUILD / "libflowtrace.so"
RUN = BUILD / "flowtrace-run"
CLI = BUILD / "flowtrace"
PROGRAMS = Path(__file__).resolve().parent / "programs"


def _interpreters():
    found = []
    debian = Path("/usr/bin/python3.11")
    if debian.exists():
        found.append(pytest.param(str(debian), id="debian-3.11"))
    shim = Path.home() / ".pyenv" / "shims" / "python3"
    if shim.exists():
        found.append(pytest.param(str(shim), id="pyenv-shim"))
    # Debian's python3.13 and python3.14, unpacked by `make pythons`.
    for p in sorted(BUILD.glob("pythons/*/python")):
        found.append(pytest.param(str(p), id="debian-" + p.parent.name))
    extra = os.environ.get("FLOWTRACE_TEST_PYTHONS", "")
    for p in filter(None, extra.split(":")):
        found.append(pytest.param(p, id=Path(p).name))
    return found


INTERPRETERS = _interpreters()


def pytest_collection_modifyitems(config, items):
    if not INTERPRETERS:
        raise pytest.UsageError("no Python interpreter to test was found")


@pytest.fixture(params=INTERPRETERS)
def python(request):
    return request.param


_VERSIONS = {}


def version_of(python):
    """(major, minor) of an interpreter, for what legitimately differs between versions."""
    if python not in _VERSIONS:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, check=True, env=clean_env())
        _VERSIONS[python] = tuple(int(x) for x in out.stdout.split())
    return _VERSIONS[python]


def clean_env(**extra):
    """The environment a user would have, without any FlowTrace setting of ours, but with
    FLOWTRACE_BUILD naming the build under test (for the tools that look for it)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FLOWTRACE_") and k != "LD_PRELOAD" and not k.startswith("PYTEST")}
    env["FLOWTRACE_BUILD"] = str(BUILD)
    env.update({k: str(v) for k, v in extra.items()})
    return env


_THREADS = re.compile(rb',\s*"threads":')


class Run:
    """One traced process: its tree.json and events.jsonl, each parsed when first used
    (a million-call run's files take tens of seconds to parse; header reads only the
    run's own fields, which come before its threads)."""

    def __init__(self, path):
        self.path = Path(path)

    @functools.cached_property
    def tree(self):
        return json.loads((self.path / "tree.json").read_text())

    @functools.cached_property
    def events(self):
        with open(self.path / "events.jsonl") as f:
            return [json.loads(line) for line in f]

    @functools.cached_property
    def header(self):
        """tree.json's fields without "threads" (which the writer writes last; spaces may
        stand before it, docs/format.md: missing them parsed a whole million-call tree)."""
        with open(self.path / "tree.json", "rb") as f:
            head = f.read(1 << 16)
        cut = _THREADS.search(head)
        if cut is None:
            return {k: v for k, v in self.tree.items() if k != "threads"}
        return json.loads(head[:cut.start()] + b"}")

    def thread(self, name="MainThread"):
        for t in self.tree["threads"]:
            if t["name"] == name:
                return t
        raise KeyError(name)

    def outline(self, *, skip=("<module>",)):
        """Indented text of the call tree: function, file:line, and status."""
        return outline(self.tree, skip=skip)

    def details(self, *, skip=("<module>",)):
        return details(self.tree, skip=skip)


def runs_in(out):
    out = Path(out)
    runs = [Run(p) for p in out.iterdir() if (p / "tree.json").exists()]
    return sorted(runs, key=lambda r: r.header["start"])


def render_tree(tree, line_of, *, skip=()):
    """Indented text of the call tree, a line per call from line_of(node); calls named in
    skip at a thread's top level are left out (their children take their place)."""
    lines = []

    def walk(node, depth):
        if node["function"] in skip and depth == 1:
            for c in node["children"]:
                walk(c, depth)
            return
        lines.append("  " * depth + line_of(node))
        for c in node["children"]:
            walk(c, depth + 1)

    for t in tree["threads"]:
        lines.append(f"[{t['name']}]")
        for n in t["calls"]:
            walk(n, 1)
    return "\n".join(lines)


def outline(tree, *, skip=()):
    """function file:line, then !ExceptionType or ?incomplete-reason."""
    def line_of(node):
        status = ""
        if "exception" in node:
            status = " !" + (node["exception"].get("type") or "exception")
        if "incomplete" in node:
            status = " ?" + node["incomplete"]
        return f"{node['function']} {Path(node['file']).name}:{node['line']}{status}"

    return render_tree(tree, line_of, skip=skip)


ADDRESS = re.compile(r"0x[0-9a-f]+")


def details(tree, *, skip=("<module>",)):
    """The call tree with what each call took and gave, one line per call:

        name(param=value, ...) -> result | !Type(module): message | closed
            [@objN] [resumes=N] [after(param=value)]

    Values are shown as the repr they stand for (values.shown); addresses inside them
    become 0x…; instance identities become @obj1, @obj2, ... in
    order of appearance, so that calls on the same object can be told apart."""
    objects = {}

    def line_of(node):
        args = ", ".join(f"{k}={shown(v)}" for k, v in node.get("args", {}).items())
        line = f"{node['function']}({args})"
        if node.get("closed"):
            line += " closed"
        elif "exception" in node:
            e = node["exception"]
            line += f" !{e['type']}({e['module']}): {e['message']}"
        elif "result" in node:
            line += f" -> {shown(node['result'])}"
        if "instance" in node:
            line += " @obj%d" % objects.setdefault(node["instance"], len(objects) + 1)
        if node.get("resumes"):
            line += f" resumes={node['resumes']}"
        if "argsAfter" in node:
            line += " after(" + ", ".join(f"{k}={shown(v)}" for k, v in node["argsAfter"].items()) + ")"
        return ADDRESS.sub("0x…", line)

    return render_tree(tree, line_of, skip=skip)


def trace(python, args, tmp_path, *, wrapper_args=(), env=None, input=None, cwd=None,
          timeout=120):
    """Runs `flowtrace-run -o OUT [wrapper_args] python args...`; returns (proc, runs)."""
    out = tmp_path / "out"
    cmd = [str(RUN), "-o", str(out), *wrapper_args, python, *map(str, args)]
    proc = subprocess.run(cmd, cwd=cwd or tmp_path, env=env or clean_env(), input=input,
                          capture_output=True, text=True, timeout=timeout)
    runs = runs_in(out) if out.exists() else []
    return proc, runs


def preload(python, args, tmp_path, *, env=None, input=None, timeout=120):
    """Runs the program under a bare LD_PRELOAD (no wrapper)."""
    env = dict(env or clean_env())
    env["LD_PRELOAD"] = str(LIB)
    env["FLOWTRACE_DIR"] = str(tmp_path / "out")
    return subprocess.run([python, *map(str, args)], cwd=tmp_path, env=env, input=input,
                          capture_output=True, text=True, timeout=timeout)


def balanced(events):
    """Every ENTER is closed by exactly one EXIT or EXCEPTION with the same id."""
    opened, closed = {}, {}
    for e in events:
        if e["event"] == "ENTER":
            assert e["id"] not in opened, f"id {e['id']} entered twice"
            opened[e["id"]] = e
        elif e["event"] in ("EXIT", "EXCEPTION"):
            assert e["id"] in opened, f"id {e['id']} closed but never entered"
            assert e["id"] not in closed, f"id {e['id']} closed twice"
            closed[e["id"]] = e
    assert opened.keys() == closed.keys()
    return len(opened)


# ---- The wheel (make wheel), installed as a user would: offline, into a fresh venv ----

DIST = BUILD / "dist"


class Installed:
    """The flowtrace wheel installed into a venv of /usr/bin/python3 (pip install
    --no-index). env() is a user's environment with the venv's bin first on PATH and no
    FLOWTRACE_BUILD: the commands must find their own parts."""

    def __init__(self, root):
        self.root = Path(root)
        self.bin = self.root / "bin"
        self.python = str(self.bin / "python3")

    def env(self, **extra):
        env = clean_env(**extra)
        if "FLOWTRACE_BUILD" not in extra:
            del env["FLOWTRACE_BUILD"]
        env["PATH"] = f"{self.bin}:{env.get('PATH', '/usr/bin:/bin')}"
        return env


def the_wheel():
    wheels = sorted(DIST.glob("flowtrace-*.whl"))
    assert len(wheels) == 1, f"expected one wheel in {DIST} (run 'make wheel'): {wheels}"
    return wheels[0]


@pytest.fixture(scope="session")
def installed(tmp_path_factory):
    """One venv per test run with the wheel installed offline. The venv is made without
    pip (ensurepip costs ~10 s here) and Debian's pip installs into it: the same pip, the
    same wheel, the same files as `venv/bin/pip install --no-index`. It sees Debian's
    packages (pytest, pytest-xdist), as a venv of a Debian user who has no PyPI would."""
    root = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", "--system-site-packages", str(root)], check=True)
    subprocess.run(["/usr/bin/python3", "-m", "pip", "--python", str(root / "bin" / "python3"),
                    "install", "--quiet", "--no-index", "--no-cache-dir", str(the_wheel())],
                   check=True, env=clean_env())
    return Installed(root)
