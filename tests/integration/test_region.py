"""Regions the program marks (flowtrace.start/stop, `with flowtrace.record(name)`,
`@flowtrace.trace` on sync, async and generator functions): without a wrapper only they
are recorded; under flowtrace-run they are marked in the whole-process trace; with
--manual only they are recorded. A region records its own thread only, and a generator's
or coroutine's region its steps only."""
import json
import subprocess

import pytest

from values import shown

from conftest import RUN, render_tree, runs_in, version_of

PROGRAM = """\
import asyncio, threading, flowtrace

def before():
    return 1

def inside(x):
    return x + 1

def other():
    return 0

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

async def bystander():
    for _ in range(3):
        other()
        await asyncio.sleep(0)

async def both():
    t = asyncio.ensure_future(bystander())
    r = await coro(5)
    await t
    return r

before()
print(flowtrace.start("first"))
inside(1)
flowtrace.stop()
before()
with flowtrace.record("block"):
    th = threading.Thread(target=other)
    th.start()
    th.join()
    inside(2)
    with flowtrace.record("nested"):
        inside(3)
print(job(4), list(gen(2)), asyncio.run(both()))
before()
"""

# Each region's tree (units/N/tree.json): the thread started inside "block" and the task
# that runs while "coro" awaits are not in them.
REGIONS = {
    "first": "first\n  inside(x=1) -> 2",
    "block": "block\n  inside(x=2) -> 3\n  nested\n    inside(x=3) -> 4",
    "job": "job\n  job(n=4) -> 5\n    inside(x=4) -> 5",
    "gen": "gen resumes=2\n  gen(n=2) resumes=2\n    inside(x=0) -> 1\n    inside(x=1) -> 2",
    "coro": "coro resumes=1\n  coro(n=5) -> 6 resumes=1\n    inside(x=5) -> 6",
}


def line_of(node):
    args = ", ".join(f"{k}={shown(v)}" for k, v in node.get("args", {}).items())
    text = node["function"] if node.get("file") == "<region>" else f"{node['function']}({args})"
    if "result" in node and node.get("file") != "<region>" and node["result"] is not None:
        text += f" -> {shown(node['result'])}"
    if node.get("resumes"):
        text += f" resumes={node['resumes']}"
    return text


def regions(run):
    rows = [json.loads(l) for l in (run.path / "units.jsonl").read_text().splitlines()]
    out = {}
    for r in rows:
        assert r["kind"] == "region" and r["outcome"] == "ok", r
        tree = json.loads((run.path / r["tree"]).read_text())
        out[r["name"]] = render_tree(tree, line_of).split("\n", 1)[1].replace("\n  ", "\n")[2:]
    return out


def site_packages(installed):
    return str(next(installed.root.glob("lib/python3*/site-packages")))


def run_program(installed, python, tmp_path, *wrapper):
    (tmp_path / "app.py").write_text(PROGRAM)
    env = installed.env(PYTHONPATH=site_packages(installed))
    cmd = [*wrapper, python, "app.py"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=180)
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr
    assert proc.stdout == "True\n5 [1, 2] 6\n"
    return proc


def test_without_a_wrapper_only_regions_are_recorded(installed, python, tmp_path):
    if version_of(python) < (3, 11):
        pytest.skip("the package is tested on 3.11 to 3.14")
    run_program(installed, python, tmp_path)
    [run] = runs_in(tmp_path / "flowtrace-out")
    assert run.tree["ended"] == "exit"
    assert regions(run) == REGIONS
    # Nothing outside them: not before(), not the thread, not the other task.
    assert all(not t["calls"] for t in run.tree["threads"])


def test_under_the_wrapper_regions_are_marked_in_the_whole_trace(installed, python, tmp_path):
    if version_of(python) < (3, 11):
        pytest.skip("the package is tested on 3.11 to 3.14")
    run_program(installed, python, tmp_path, str(RUN), "-q", "-o", str(tmp_path / "out"))
    [run] = runs_in(tmp_path / "out")
    assert regions(run) == REGIONS
    rest = run.outline()
    assert "before " in rest and "bystander " in rest and "[Thread-1 (other)]" in rest


def test_manual_records_only_regions(installed, python, tmp_path):
    if version_of(python) < (3, 11):
        pytest.skip("the package is tested on 3.11 to 3.14")
    run_program(installed, python, tmp_path, str(RUN), "-q", "--manual", "-o",
                str(tmp_path / "out"))
    [run] = runs_in(tmp_path / "out")
    assert regions(run) == REGIONS
    assert all(not t["calls"] for t in run.tree["threads"])


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
    assert regions(run) == {"r": "r\n  f() -> 1"}
