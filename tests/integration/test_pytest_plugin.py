"""The pytest plugin (the wheel's pytest11 entry point): `pytest --flowtrace[=failed|all]
[--flowtrace-dir DIR]` gives what `flowtrace-run pytest` gives: the same units, FAILED
lines, exit status and reports, pytest-xdist workers included."""
import json
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

SUITE = {
    "test_shop.py": """\
from shop import total

def test_total():
    assert total([1, 2]) == 3

def test_total_wrong():
    assert total([2, 2]) == 5

def test_skipped():
    import pytest
    pytest.skip("not today")
""",
    "shop.py": """\
def price(x):
    return x * 1

def total(items):
    return sum(price(i) for i in items)
""",
}

PYTEST = ["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"]


@pytest.fixture
def suite(tmp_path):
    d = tmp_path / "suite"
    d.mkdir()
    for name, text in SUITE.items():
        (d / name).write_text(text)
    return d


def normalise(text, *dirs):
    for d in dirs:
        text = text.replace(str(d), "OUT")
    text = re.sub(r"\d{8}-\d{6}-\d+", "RUN", text)
    text = re.sub(r"\d+\.\d+s\b", "T", text)
    text = re.sub(r'(time|timestamp)="[^"]*"', r'\1="T"', text)
    return text


def flowtrace_lines(stderr, out):
    return sorted(normalise(l, out) for l in stderr.splitlines() if l.startswith("[FlowTrace]"))


def unit_rows(out):
    rows = []
    for f in out.glob("*/units.jsonl"):
        for line in f.read_text().splitlines():
            r = json.loads(line)
            rows.append((r["kind"], r["name"], r["outcome"], r.get("exceptionPath"),
                         r.get("calls"), r.get("tree")))
    return sorted(rows, key=repr)


def run_both(installed, suite, plugin_args, wrapper_args, pytest_args=()):
    out1, out2 = suite.parent / "plugin-out", suite.parent / "wrapper-out"
    env = installed.env()
    plugin = subprocess.run([*PYTEST, *pytest_args, *plugin_args, f"--flowtrace-dir={out1}"],
                            cwd=suite, env=env, capture_output=True, text=True, timeout=300)
    wrapper = subprocess.run(["flowtrace-run", *wrapper_args, "-o", str(out2), *PYTEST,
                              *pytest_args], cwd=suite, env=env, capture_output=True, text=True,
                             timeout=300)
    return (plugin, out1), (wrapper, out2)


def report(installed, out, fmt):
    proc = subprocess.run(["flowtrace", "report", "--format", fmt, "-d", str(out)],
                          env=installed.env(), capture_output=True, text=True, timeout=60)
    return proc.returncode, normalise(proc.stdout, out)


def unordered(report):
    """A report with its test cases in no particular order: pytest-xdist workers run the
    tests in whatever order they are scheduled, and the merged report follows them."""
    code, text = report
    if text.startswith("<?xml"):
        root = ET.fromstring(text)
        suites = [sorted(s.attrib.items()) for s in root.iter("testsuite")]
        cases = sorted(repr((sorted(c.attrib.items()),
                             [(e.tag, sorted(e.attrib.items()), e.text) for e in c]))
                       for c in root.iter("testcase"))
        return code, suites, cases
    return code, sorted(text.splitlines())


@pytest.mark.parametrize("keep", ["all", "failed"])
def test_plugin_gives_what_the_wrapper_gives(installed, suite, keep):
    (plugin, out1), (wrapper, out2) = run_both(installed, suite, [f"--flowtrace={keep}"],
                                               ["--keep", keep])
    assert plugin.returncode == wrapper.returncode == 1, plugin.stderr
    assert "1 failed, 1 passed, 1 skipped" in plugin.stdout
    lines = flowtrace_lines(plugin.stderr, out1)
    assert lines == flowtrace_lines(wrapper.stderr, out2)
    assert lines == [
        "[FlowTrace] FAILED: test_shop.py::test_total_wrong -> OUT/RUN/units/2/tree.json "
        "(AssertionError: assert 4 == 5\\n +  where 4 = total([2, 2]))",
        "[FlowTrace] Profiling finished in T (script=-m pytest) -> OUT/RUN",
    ]
    rows = unit_rows(out1)
    assert rows == unit_rows(out2)
    assert [(r[1], r[2], r[5] is not None) for r in rows] == [
        ("test_shop.py::test_skipped", "skipped", keep == "all"),
        ("test_shop.py::test_total", "passed", keep == "all"),
        ("test_shop.py::test_total_wrong", "failed", True),
    ]
    for fmt in ("junit", "markdown"):
        assert report(installed, out1, fmt) == report(installed, out2, fmt)


def test_plugin_with_xdist_workers_gives_what_the_wrapper_gives(installed, suite):
    (plugin, out1), (wrapper, out2) = run_both(installed, suite, ["--flowtrace=all"],
                                               ["--keep", "all"], ["-p", "xdist", "-n", "2"])
    assert plugin.returncode == wrapper.returncode == 1, plugin.stderr
    assert flowtrace_lines(plugin.stderr, out1) == flowtrace_lines(wrapper.stderr, out2)
    rows = unit_rows(out1)
    assert rows == unit_rows(out2)
    assert sorted(r[1] for r in rows) == ["test_shop.py::test_skipped", "test_shop.py::test_total",
                                          "test_shop.py::test_total_wrong"]
    for fmt in ("junit", "markdown"):
        assert unordered(report(installed, out1, fmt)) == unordered(report(installed, out2, fmt))


def test_without_the_option_the_plugin_does_nothing(installed, suite):
    proc = subprocess.run(PYTEST, cwd=suite, env=installed.env(), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1
    assert "[FlowTrace]" not in proc.stderr
    assert not (suite / "flowtrace-out").exists()


def test_plugin_under_the_wrapper_traces_once(installed, suite):
    out = suite.parent / "out"
    proc = subprocess.run(["flowtrace-run", "-o", str(out), *PYTEST, "--flowtrace=all"],
                          cwd=suite, env=installed.env(), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1
    assert len(list(out.glob("*/tree.json"))) == 1
    assert proc.stderr.count("Profiling finished") == 1


def test_a_bad_value_is_a_usage_error(installed, suite):
    proc = subprocess.run([*PYTEST, "--flowtrace", "test_shop.py"], cwd=suite,
                          env=installed.env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 4  # pytest's usage error
    assert "argument --flowtrace: 'test_shop.py' is not failed or all" in proc.stderr
    assert not (suite / "flowtrace-out").exists()
