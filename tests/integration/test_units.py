"""Units of work: a pytest item, a unittest method, a WSGI or ASGI request, a --unit call
each get their own tree and row; --keep failed keeps only the failed units' trees."""
import json
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, RUN, clean_env, trace

HERE = Path(__file__).parent / "units"
DEBIAN = "/usr/bin/python3"  # the interpreter Debian's pytest, Flask and FastAPI are for
CLI = BUILD / "flowtrace"


def has(module):
    return subprocess.run([DEBIAN, "-c", "import " + module], capture_output=True).returncode == 0


def units_of(run):
    """By id: ids follow the order units started; rows are listed as the writer ends
    units, and requests close in time may swap there."""
    with open(run.path / "units.jsonl") as f:
        return sorted((json.loads(line) for line in f), key=lambda u: u["unit"])


def events_of(run, unit):
    with open(run.path / unit["events"]) as f:
        return [json.loads(line) for line in f]


def kept(run):
    d = run.path / "units"
    return sorted(int(p.name) for p in d.iterdir()) if d.exists() else []


@pytest.mark.skipif(not has("pytest"), reason="python3-pytest not installed")
def test_pytest_items_are_units_and_only_failed_trees_are_kept(tmp_path):
    (tmp_path / "test_suite.py").write_text((HERE / "pytest_suite.py").read_text())
    proc, runs = trace(DEBIAN, ["-m", "pytest", "-q", "-p", "no:cacheprovider", "test_suite.py"],
                       tmp_path, env=clean_env(CI="true"))
    assert proc.returncode == 1, proc.stderr  # pytest's own status: tests failed
    [run] = runs
    units = units_of(run)
    assert [(u["kind"], u["name"], u["outcome"]) for u in units] == [
        ("pytest", "test_suite.py::test_pass", "passed"),
        ("pytest", "test_suite.py::test_fail", "failed"),
        ("pytest", "test_suite.py::test_error", "error"),
        ("pytest", "test_suite.py::test_skip", "skipped"),
    ]
    # CI is set: --keep failed is the default; only the failed and erroring trees exist.
    assert kept(run) == [2, 3]
    assert [u["tree"] for u in units] == [None, "units/2/tree.json", "units/3/tree.json", None]
    failed = json.loads((run.path / "units/2/tree.json").read_text())
    root = failed["threads"][0]["calls"][0]
    assert root["function"] == "runtestprotocol"
    # Format 2: the calls inside it do not repeat their parent's name (its own caller,
    # pytest's hook, is not traced: nothing to name).
    assert failed["format"] == 4 and "caller" not in root
    assert all("caller" not in c for c in root["children"])
    phases = [c["args"]["when"] for c in root["children"]]
    assert phases == ["setup", "call", "teardown"]
    assert units[1]["exceptionPath"] == "runtestprotocol > call_and_report > test_fail > helper"
    assert units[1]["exception"]["message"] == "too big: 2"
    assert units[2]["exceptionPath"] == "runtestprotocol > call_and_report > broken"
    # The test's calls are in the unit, not in the run's own tree.
    assert "test_fail" not in (run.path / "tree.json").read_text()
    # One line per failed unit, with its tree.
    lines = [l for l in proc.stderr.splitlines() if l.startswith("[FlowTrace] FAILED")
             or l.startswith("[FlowTrace] ERROR")]
    assert lines == [
        "[FlowTrace] FAILED: test_suite.py::test_fail -> %s/units/2/tree.json "
        "(ValueError: too big: 2)" % run.path,
        "[FlowTrace] ERROR: test_suite.py::test_error -> %s/units/3/tree.json "
        "(RuntimeError: fixture broke)" % run.path,
    ]
    # A unit whose tree was not kept says so, and why it may not have been.
    show = subprocess.run([CLI, "show", "-d", tmp_path / "out", "--unit",
                           "test_suite.py::test_pass"], capture_output=True, text=True)
    assert (show.returncode, show.stdout) == (1, "")
    assert show.stderr == (
        "flowtrace show: unit 1 (test_suite.py::test_pass, passed) has no tree: its files "
        "were not kept (--keep failed keeps failed units' only, --sample a share of the "
        "others, an output error none; --keep all keeps every one)\n")
    # Every unit has its index row.
    db = sqlite3.connect(tmp_path / "out" / "index.sqlite")
    rows = db.execute("SELECT unit_id, kind, name, outcome, tree, error FROM units "
                      "ORDER BY unit_id").fetchall()
    assert rows == [
        (1, "pytest", "test_suite.py::test_pass", "passed", None, None),
        (2, "pytest", "test_suite.py::test_fail", "failed", run.path.name + "/units/2/tree.json",
         "ValueError: too big: 2"),
        (3, "pytest", "test_suite.py::test_error", "error", run.path.name + "/units/3/tree.json",
         "RuntimeError: fixture broke"),
        (4, "pytest", "test_suite.py::test_skip", "skipped", None, None),
    ]
    assert db.execute("PRAGMA user_version").fetchone() == (2,)


@pytest.mark.skipif(not has("pytest"), reason="python3-pytest not installed")
def test_keep_all_keeps_every_tree_and_the_cli_reports(tmp_path):
    (tmp_path / "test_suite.py").write_text((HERE / "pytest_suite.py").read_text())
    proc, [run] = trace(DEBIAN, ["-m", "pytest", "-q", "-p", "no:cacheprovider", "test_suite.py"],
                        tmp_path, wrapper_args=["--keep", "all"], env=clean_env(CI="true"))
    assert proc.returncode == 1
    assert kept(run) == [1, 2, 3, 4]
    out = str(tmp_path / "out")
    ls = subprocess.run([CLI, "ls", "-d", out, "--units", "--color", "never"],
                        capture_output=True, text=True)
    assert ls.returncode == 0
    assert [l.split()[2] for l in ls.stdout.splitlines()] == ["passed", "failed", "error",
                                                              "skipped"]
    show = subprocess.run([CLI, "show", "-d", out, "--failed", "--color", "never"],
                          capture_output=True, text=True)
    assert show.returncode == 0, show.stderr
    assert re.search(r"❌ test_fail .*\n.*❌ helper\(x=2\).*ValueError: too big: 2", show.stdout)
    one = subprocess.run([CLI, "show", "-d", out, "--unit", "test_suite.py::test_pass",
                          "--color", "never"], capture_output=True, text=True)
    assert one.returncode == 0 and "test_pass" in one.stdout and "test_fail" not in one.stdout
    junit = subprocess.run([CLI, "report", "-d", out, "--format", "junit"],
                           capture_output=True, text=True)
    assert junit.returncode == 0
    assert 'tests="4" failures="1" errors="1" skipped="1"' in junit.stdout
    assert ("<failure message=\"ValueError: too big: 2\" type=\"ValueError\">runtestprotocol "
            "&gt; call_and_report &gt; test_fail &gt; helper") in junit.stdout
    md = subprocess.run([CLI, "report", "-d", out, "--format", "markdown"],
                        capture_output=True, text=True)
    assert "2 of 4 units failed" in md.stdout and "| `test_suite.py::test_fail` | failed |" in md.stdout
    html = subprocess.run([CLI, "html", "-d", out, "--unit", "2", "-o", str(tmp_path / "u.html")],
                          capture_output=True, text=True)
    assert html.returncode == 0 and "helper" in (tmp_path / "u.html").read_text()


def test_unittest_methods_are_units(python, tmp_path):
    proc, [run] = trace(python, [HERE / "ut_suite.py"], tmp_path,
                        wrapper_args=["--keep", "failed"])
    assert proc.returncode == 1  # unittest's own status
    assert [(u["kind"], u["name"], u["outcome"]) for u in units_of(run)] == [
        ("unittest", "__main__.Calc.test_bad", "failed"),
        ("unittest", "__main__.Calc.test_err", "error"),
        ("unittest", "__main__.Calc.test_ok", "passed"),
        ("unittest", "__main__.Calc.test_skip", "skipped"),
    ]
    assert kept(run) == [1, 2]


def test_without_ci_every_tree_is_kept_and_a_run_without_units_is_as_before(python, tmp_path):
    env = clean_env()
    env.pop("CI", None)
    proc, [run] = trace(python, [HERE / "ut_suite.py"], tmp_path, env=env)
    assert kept(run) == [1, 2, 3, 4]
    (tmp_path / "plain").mkdir()
    proc, runs = trace(python, ["-c", "def f(): pass\nf()"], tmp_path / "plain",
                       env=clean_env(CI="1"))
    assert proc.returncode == 0
    assert not (runs[0].path / "units.jsonl").exists()
    assert [c["function"] for c in runs[0].thread()["calls"][0]["children"]] == ["f"]


def test_unit_option_makes_each_call_a_unit(python, tmp_path):
    proc, [run] = trace(python, [HERE / "jobs.py"], tmp_path,
                        wrapper_args=["--unit", "__main__:job", "--keep", "failed"])
    assert proc.returncode == 0
    units = units_of(run)
    assert [(u["kind"], u["name"], u["outcome"]) for u in units] == [
        ("function", "__main__:job", "ok"), ("function", "__main__:job", "ok"),
        ("function", "__main__:job", "failed"), ("function", "__main__:job", "ok")]
    assert kept(run) == [3]
    assert units[2]["exception"]["type"] == "KeyError"
    bad = subprocess.run([str(RUN), "--unit", "nocolon", python, "-c", "print('ran')"],
                         capture_output=True, text=True, env=clean_env())
    assert (bad.returncode, bad.stdout) == (0, "ran\n")  # untraced, with one line saying why
    assert bad.stderr == ("flowtrace-run: --unit nocolon: not MODULE:FUNCTION; "
                          "running the command untraced\n")


def check_requests(run, kind):
    units = units_of(run)
    assert [(u["kind"], u["name"], u["status_code"], u["outcome"]) for u in units] == [
        (kind, "GET /ok", 200, "ok"), (kind, "GET /boom", 500, "failed"),
        (kind, "GET /ok", 200, "ok")]
    assert all(u["remote_addr"] == "127.0.0.1" and u["user_agent"] == "ft-test/1"
               for u in units)
    assert kept(run) == [2]  # the 5xx only
    events = events_of(run, units[1])
    assert events[0]["event"] == "HTTP_REQUEST" and events[-1]["event"] == "HTTP_RESPONSE"
    assert events[0]["path"] == "/boom" and events[-1]["status_code"] == 500
    assert {e["request_id"] for e in events} == {units[1]["request_id"]}
    assert {e["unit"] for e in events} == {2}
    calls = [e["function"] for e in events if e["event"] == "EXCEPTION"]
    assert "load" in calls and "boom" in calls
    return units


@pytest.mark.skipif(not has("flask"), reason="python3-flask not installed")
def test_flask_requests_are_units_and_the_5xx_is_kept(tmp_path):
    proc, [run] = trace(DEBIAN, [HERE / "flask_app.py"], tmp_path, env=clean_env(CI="1"))
    assert proc.returncode == 0, proc.stderr
    assert "/ok 200\n/boom 500\n/ok 200\n" in proc.stdout
    units = check_requests(run, "wsgi")
    assert len({u["request_id"] for u in units}) == 3  # generated, one per request


@pytest.mark.skipif(not has("django"), reason="python3-django not installed")
def test_django_requests_are_units_and_the_5xx_is_kept(tmp_path):
    # Django's WSGIHandler under wsgiref: the same units as Flask's, from another framework.
    proc, [run] = trace(DEBIAN, [HERE / "django_app.py"], tmp_path, env=clean_env(CI="1"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "/ok 200\n/boom 500\n/ok 200\n"
    units = check_requests(run, "wsgi")
    assert len({u["request_id"] for u in units}) == 3


@pytest.mark.skipif(not has("fastapi") or not has("uvicorn"), reason="fastapi/uvicorn missing")
def test_fastapi_requests_are_units_with_their_request_ids(tmp_path):
    proc, [run] = trace(DEBIAN, [HERE / "fastapi_app.py"], tmp_path, env=clean_env(CI="1"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "/ok 200\n/boom 500\n/ok 200\n"
    units = check_requests(run, "asgi")
    assert [u["request_id"] for u in units] == ["req-ok", "req-boom", "req-ok"]  # X-Request-ID


def test_requests_are_numbered_in_the_order_they_ran(python, tmp_path):
    # A request's unit is numbered in the order the requests started, whichever of their
    # threads reaches the writer first.
    proc, [run] = trace(python, [HERE / "request_order.py"], tmp_path,
                        env=clean_env(FLOWTRACE_FLUSH_INTERVAL="0"))
    assert (proc.returncode, proc.stdout) == (0, "served\n"), proc.stderr
    assert sorted((u["unit"], u["name"]) for u in units_of(run)) == [(1, "GET /first"),
                                                                     (2, "GET /second")]


def test_rows_of_one_thread_are_in_the_order_its_units_ran(python, tmp_path):
    # units.jsonl's row order (docs/format.md): a thread's units in the order they ran; a
    # unit's function called inside a unit is part of it, not a unit of its own.
    (tmp_path / "app.py").write_text("def f(n):\n    return f(n - 1) + 1 if n else 0\n\n\n"
                                     "def g():\n    return f(2)\n\n\n"
                                     "print(f(1), g(), f(0))\n")
    proc, [run] = trace(python, ["app.py"], tmp_path,
                        wrapper_args=["--unit", "__main__:f", "--unit", "__main__:g"])
    assert (proc.returncode, proc.stdout) == (0, "1 2 0\n"), proc.stderr
    with open(run.path / "units.jsonl") as f:
        rows = [json.loads(line) for line in f]
    assert [(r["unit"], r["name"], r["calls"]) for r in rows] == [
        (1, "__main__:f", 2), (2, "__main__:g", 4), (3, "__main__:f", 1)]
    assert [r["start"] for r in rows] == sorted(r["start"] for r in rows)
