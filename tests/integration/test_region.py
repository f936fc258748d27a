"""The region API of the wheel's package: flowtrace.start()/stop(), `with
flowtrace.record(name)`, `@flowtrace.trace` (sync, async, generator), in a program that
was not started under FlowTrace: only what runs inside is recorded, each outermost region
a run. Under flowtrace-run they change nothing."""
import subprocess

import pytest

from conftest import RUN, runs_in, version_of

PROGRAM = """\
import asyncio, threading, flowtrace

def before():
    return 1

def inside(x):
    return x + 1

@flowtrace.trace
def job(n):
    return inside(n)

@flowtrace.trace
def gen(n):
    for i in range(n):
        yield inside(i)

@flowtrace.trace
async def coro(n):
    await asyncio.sleep(0)
    return inside(n)

before()
print(flowtrace.start())
inside(1)
flowtrace.stop()
before()
with flowtrace.record("block"):
    inside(2)
    with flowtrace.record("nested"):
        inside(3)
print(job(4), list(gen(2)), asyncio.run(coro(5)))
before()
"""

EXPECTED = [
    "[MainThread]\n  inside(x=1) -> 2",
    "[MainThread]\n  inside(x=2) -> 3\n  inside(x=3) -> 4",
    "[MainThread]\n  job(n=4) -> 5\n    inside(x=4) -> 5",
    "[MainThread]\n  gen(n=2) -> None resumes=2\n    inside(x=0) -> 1\n    inside(x=1) -> 2",
    "[MainThread]\n  coro(n=5) -> 6 resumes=1\n    inside(x=5) -> 6",
]


def site_packages(installed):
    return str(next(installed.root.glob("lib/python3*/site-packages")))


def test_only_what_runs_inside_regions_is_recorded(installed, python, tmp_path):
    if version_of(python) < (3, 11):
        pytest.skip("the package is tested on 3.11 to 3.14")
    (tmp_path / "app.py").write_text(PROGRAM)
    env = installed.env(PYTHONPATH=site_packages(installed))
    proc = subprocess.run([python, "app.py"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=180)
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr
    assert proc.stdout == "True\n5 [1, 2] 6\n"
    runs = runs_in(tmp_path / "flowtrace-out")
    assert [r.details() for r in runs] == EXPECTED
    assert {r.tree["ended"] for r in runs} == {"detached"}


def test_output_goes_to_flowtrace_dir(installed, tmp_path):
    (tmp_path / "app.py").write_text("import flowtrace\n"
                                     "def f():\n    return 1\n"
                                     "with flowtrace.record('r'):\n    f()\n")
    env = installed.env(FLOWTRACE_DIR=tmp_path / "elsewhere")
    proc = subprocess.run([installed.python, "app.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert not (tmp_path / "flowtrace-out").exists()
    [run] = runs_in(tmp_path / "elsewhere")
    assert run.details() == "[MainThread]\n  f() -> 1"


def test_under_the_wrapper_regions_change_nothing(installed, tmp_path):
    (tmp_path / "app.py").write_text(PROGRAM)
    proc = subprocess.run([str(RUN), "-q", "-o", str(tmp_path / "out"), installed.python,
                           "app.py"], cwd=tmp_path, env=installed.env(), capture_output=True,
                          text=True, timeout=180)
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr
    assert proc.stdout == "True\n5 [1, 2] 6\n"
    [run] = runs_in(tmp_path / "out")
    assert run.tree["ended"] == "exit"
    calls = run.details()
    assert calls.count("before()") == 3 and "inside(x=1)" in calls
