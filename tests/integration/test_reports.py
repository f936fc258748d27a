"""Reports that never lie, and views of a whole run: a pytest session that fails outside
any test is reported as an error (JUnit, Markdown), pytest-xdist's workers make one report
and one list of units, and show/stats see the units' calls where they ran."""
import re
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, clean_env, trace

HERE = Path(__file__).parent / "units"
DEBIAN = "/usr/bin/python3"  # the interpreter Debian's pytest and pytest-xdist are for
CLI = BUILD / "flowtrace"
PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]


def has(module):
    return subprocess.run([DEBIAN, "-c", "import " + module], capture_output=True).returncode == 0


needs_pytest = pytest.mark.skipif(not has("pytest"), reason="python3-pytest not installed")
needs_xdist = pytest.mark.skipif(not has("xdist"), reason="python3-pytest-xdist not installed")


def cli(*args):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True,
                          env=clean_env())


def reports(out):
    junit, md = cli("report", "-d", out), cli("report", "-d", out, "--format", "markdown")
    assert junit.returncode == 0 and md.returncode == 0, (junit.stderr, md.stderr)
    return junit.stdout, md.stdout


def suite(tmp_path, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)


@needs_pytest
def test_a_module_that_does_not_import_is_an_error_naming_the_module(tmp_path):
    suite(tmp_path, {"test_bad.py": "import nope_not_here\n\ndef test_a():\n    pass\n",
                     "test_good.py": "def test_ok():\n    pass\n"})
    proc, runs = trace(DEBIAN, [*PYTEST, "."], tmp_path)
    assert proc.returncode == 2, proc.stderr  # pytest: interrupted by a collection error
    junit, md = reports(tmp_path / "out")
    assert 'tests="1" failures="0" errors="1"' in junit
    assert '<testcase classname="test_bad" name="import" file="%s"' % (tmp_path / "test_bad.py") \
        in junit
    # On 3.11 the exception of a failed import is not always recorded; its fact is.
    assert re.search(r'<error message="(ModuleNotFoundError: No module named .nope_not_here.|'
                     r'ImportError: the import raised \(details not recorded\))"', junit)
    assert md.startswith("### FlowTrace: ❌ 1 failure outside any unit; 0 of 0 units failed")
    assert "| import of `test_bad` (%s) |" % (tmp_path / "test_bad.py") in md


@needs_pytest
@pytest.mark.parametrize("args,status,what", [
    (["--no-such-option"], 4, "exit status 4: usage error (command line)"),
    (["-p", "conftest_boom", "."], 3, "exit status 3: internal error"),
    (["no_such_dir/"], 4, "exit status 4: usage error (command line)"),
])
def test_pytest_usage_and_internal_errors_are_errors(tmp_path, args, status, what):
    suite(tmp_path, {"conftest_boom.py": "def pytest_collection_modifyitems(items):\n"
                                         "    raise RuntimeError('plugin broke')\n",
                     "test_ok.py": "def test_ok():\n    pass\n"})
    proc, _ = trace(DEBIAN, [*PYTEST, *args], tmp_path, env=clean_env(PYTHONPATH=tmp_path))
    assert proc.returncode == status, proc.stderr
    junit, md = reports(tmp_path / "out")
    assert '<testcase classname="flowtrace" name="-m pytest" time="0">' in junit
    assert 'errors="1"' in junit and "<error message=\"%s\"" % what in junit
    assert md.startswith("### FlowTrace: ❌ 1 failure outside any unit")
    assert "| the program `-m pytest` | **%s**: %s |" % tuple(what.split(": ", 1)) in md


def test_a_script_dying_outside_any_unit_is_an_error(tmp_path):
    suite(tmp_path, {"die.py": "def f():\n    raise KeyError('k')\n\nf()\n"})
    proc, _ = trace(DEBIAN, ["die.py"], tmp_path)
    assert proc.returncode == 1
    junit, md = reports(tmp_path / "out")
    assert '<testcase classname="flowtrace" name="die.py" time="0">' in junit
    assert '<error message="KeyError: &apos;k&apos;"' in junit or \
        "<error message=\"KeyError: 'k'\"" in junit
    assert "| the program `die.py` | **KeyError**: 'k' |" in md


def test_a_run_that_went_well_has_nothing_outside_its_units(tmp_path):
    # An import that failed and was handled is not an error of the run.
    suite(tmp_path, {"opt.py": "import nope_not_here\n",
                     "ok.py": "try:\n    import opt\nexcept ImportError:\n    pass\n"})
    proc, _ = trace(DEBIAN, ["ok.py"], tmp_path)
    assert proc.returncode == 0
    junit, md = reports(tmp_path / "out")
    assert 'tests="0" failures="0" errors="0"' in junit
    assert md.startswith("### FlowTrace: ✅ 0 of 0 units failed")


@needs_pytest
@needs_xdist
def test_xdist_workers_make_one_report_and_one_list_of_units(tmp_path):
    (tmp_path / "test_suite.py").write_text((HERE / "pytest_suite.py").read_text())
    proc, runs = trace(DEBIAN, [*PYTEST, "-n", "2", "test_suite.py"], tmp_path,
                       wrapper_args=["--keep", "all"])
    assert proc.returncode == 1, proc.stderr
    assert len(runs) == 3  # the session and its two workers
    out = tmp_path / "out"
    ls = cli("ls", "-d", out, "--units", "--color", "never")
    assert ls.returncode == 0, ls.stderr
    names = sorted((l.split()[7], l.split()[3]) for l in ls.stdout.splitlines())
    assert names == [("test_suite.py::test_error", "error"), ("test_suite.py::test_fail", "failed"),
                     ("test_suite.py::test_pass", "passed"), ("test_suite.py::test_skip", "skipped")]
    junit, md = reports(out)
    assert 'tests="4" failures="1" errors="1" skipped="1"' in junit
    assert md.startswith("### FlowTrace: ❌ 2 of 4 units failed")
    # A unit of a worker, by its name, from the session's run.
    show = cli("show", "-d", out, "--unit", "test_suite.py::test_fail", "--color", "never")
    assert show.returncode == 0, show.stderr
    assert "❌ helper(x=2)" in show.stdout
    # Ids count from 1 in each worker: an id several workers have is not guessed.
    two = cli("show", "-d", out, "--unit", "1")
    assert two.returncode == 2 and "give its name, or the run it is in" in two.stderr


@needs_pytest
def test_show_and_stats_cover_the_whole_run_and_one_unit(tmp_path):
    (tmp_path / "test_suite.py").write_text((HERE / "pytest_suite.py").read_text())
    proc, [run] = trace(DEBIAN, [*PYTEST, "test_suite.py"], tmp_path,
                        wrapper_args=["--keep", "all"])
    out = tmp_path / "out"
    show = cli("show", "-d", out, "--color", "never")
    assert show.returncode == 0, show.stderr
    head = show.stdout.splitlines()[0]
    assert head.endswith("calls · 4 units: 1 failed, 1 error, 1 passed, 1 skipped")
    # The tests' calls, where they ran: not only the imports and the collection.
    assert "❌ test_fail  test_suite.py:14" in show.stdout and "✅ test_pass" in show.stdout
    calls = int(re.search(r"· (\d+) calls", head).group(1))
    stats = cli("stats", "-d", out, "--top", "0")
    assert stats.returncode == 0
    assert re.search(r"with its 4 units · %d calls of \d+ functions · 3 raised" % calls,
                     stats.stdout)
    # The functions of several units are one function (not one line per unit).
    assert len(re.findall(r"  helper  test_suite.py:4$", stats.stdout, re.M)) == 1
    assert re.search(r"^\s+2\s+1 .*  helper  test_suite.py:4$", stats.stdout, re.M)
    one = cli("stats", "-d", out, "--failed")
    assert one.returncode == 0
    assert one.stdout.startswith("Unit 2 test_suite.py::test_fail (failed) of run ")
    assert "test_pass" not in one.stdout and re.search(r"^\s+1\s+1 .*  helper ", one.stdout, re.M)
    by_name = cli("stats", "-d", out, "--unit", "test_suite.py::test_pass")
    assert "test_pass  test_suite.py:10" in by_name.stdout and "helper" in by_name.stdout
