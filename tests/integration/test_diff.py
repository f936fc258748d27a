"""flowtrace diff: two executions aligned call by call, on real pairs: a parametrized test
that passes with one input and fails with another (two units of one run), the same test
passing in one run and failing in the next, two runs of a script with other arguments,
and two runs that do the same."""
import json
import re
import subprocess
from pathlib import Path


from conftest import CLI, PROGRAMS, RUN, clean_env

SUITE = Path(__file__).parent / "units" / "calc_suite.py"
# pytest with the suite's directory as rootdir: test names do not depend on where the
# checkout and the temporary directory are.
PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", SUITE.parent, SUITE]
DEBIAN = "/usr/bin/python3"


def traced(tmp_path, args, env=None, out="out"):
    proc = subprocess.run([str(RUN), "-q", "-o", str(tmp_path / out), "--keep", "all", DEBIAN,
                           *map(str, args)], capture_output=True, text=True, cwd=tmp_path,
                          env=clean_env(**(env or {})), timeout=300)
    runs = sorted(p for p in (tmp_path / out).iterdir() if p.is_dir())
    return proc, runs


def diff(*args, check=True):
    proc = subprocess.run([str(CLI), "diff", "--color", "never", *map(str, args)],
                          capture_output=True, text=True, env=clean_env())
    if check:
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return proc


def masked(text):
    text = re.sub(r"\d{8}-\d{6}-\d+(\.\d+)?", "RUN", text)
    return re.sub(r"0x[0-9a-f]+", "0x…", text)


def test_a_test_that_passes_with_one_input_and_fails_with_another(tmp_path):
    _, [run] = traced(tmp_path, PYTEST)
    out = diff("-d", tmp_path / "out", "--unit", "test_report[1,2,3]", "--unit",
               "test_report[4,-5,6]").stdout
    lines = masked(out).splitlines()
    assert lines[0] == "A  run RUN · unit 1 · calc_suite.py::test_report[1,2,3] · passed · 8 calls"
    assert lines[1] == ("B  run RUN · unit 2 · calc_suite.py::test_report[4,-5,6] · failed · "
                        "ValueError: negative value in '4,-5,6' · 7 calls")
    # pytest's own calls agree (its item objects are masked, its runtestprotocol's
    # arguments are the test itself); the test's input is the first difference, and what
    # each run did next follows: A averaged, B raised.
    assert lines[3] == ("3 calls alike, then the first difference, at call 4 of A and 4 of B, "
                        "in runtestprotocol > call_and_report > test_report")
    body = "\n".join(lines[4:])
    assert "\n-     test_report(text='1,2,3') → None\n" in body
    # A call an exception left says the line it left it at.
    assert "\n+     test_report(text='4,-5,6')  ✗ ValueError: negative value in '4,-5,6' (line 26)\n" \
        in body
    assert "      (different arguments, result, exception)\n" in body
    assert "\n-       report(text='1,2,3') → 2.0\n" in body
    assert lines[-1] == "4 calls alike in all; 4 divergences (--all shows every one)."
    everything = diff("-d", tmp_path / "out", "--unit", "1", "--unit", "2", "--all").stdout
    assert "-         average(values=[1, 2, 3]) → 2.0\n" in everything
    assert "+         parse(text='4,-5,6') → [4, -5, 6]\n" in everything
    assert everything.rstrip().endswith("4 calls alike in all; 4 divergences.")


def test_the_same_test_passing_in_one_run_and_failing_in_the_next(tmp_path):
    _, [a] = traced(tmp_path, PYTEST, out="a")
    _, [b] = traced(tmp_path, PYTEST, out="b",
                    env={"CALC_BROKEN": "1"})
    out = masked(diff("--unit", "test_scale", a, b).stdout)
    assert "unit 3 · calc_suite.py::test_scale · passed" in out.splitlines()[0]
    assert ("unit 3 · calc_suite.py::test_scale · failed · ZeroDivisionError: integer division "
            "or modulo by zero") in out.splitlines()[1]
    # parse agrees; scale is where they part: it raised in B.
    assert ("\n        parse(text='2,4') → [2, 4]\n-       scale(values=[2, 4]) → [1, 2]\n"
            "+       scale(values=[2, 4])  ✗ ZeroDivisionError: integer division or modulo by zero"
            " (line 31)\n"
            ) in out
    assert "(different result, exception)" in out


def test_two_runs_of_a_script_with_other_arguments(tmp_path):
    subprocess.run([str(RUN), "-q", "-o", str(tmp_path / "a"), DEBIAN, PROGRAMS / "shop.py",
                    "--cake", "1"], env=clean_env(), capture_output=True, check=True)
    subprocess.run([str(RUN), "-q", "-o", str(tmp_path / "b"), DEBIAN, PROGRAMS / "shop.py",
                    "--cake", "3"], env=clean_env(), capture_output=True, check=True)
    [a] = [p for p in (tmp_path / "a").iterdir() if p.is_dir()]
    [b] = [p for p in (tmp_path / "b").iterdir() if p.is_dir()]
    out = masked(diff(a, b).stdout)
    # The order's wanted cakes differ first; then A took the cake, B's take raised (the
    # order went on without it: a call made in one and not the other follows).
    assert "then the first difference" in out and "in <module> > main > OrderService.order\n" in out
    assert "-     OrderService.order(customer='ana', wanted={'coffee': 1, 'cake': 1}, tax=0.21)" in out
    assert "+     OrderService.order(customer='ana', wanted={'coffee': 1, 'cake': 3}, tax=0.21)" in out
    assert "+       Inventory.take(name='cake', count=3)  ✗ ValueError: only 2 cake left (line 22)" \
        in out
    assert "Where they part" in out


def test_two_runs_that_do_the_same_have_no_difference(tmp_path):
    for name in ("a", "b"):
        subprocess.run([str(RUN), "-q", "-o", str(tmp_path / name), DEBIAN, PROGRAMS / "nested.py"],
                       env=clean_env(), capture_output=True, check=True, cwd=PROGRAMS)
    [a] = [p for p in (tmp_path / "a").iterdir() if p.is_dir()]
    [b] = [p for p in (tmp_path / "b").iterdir() if p.is_dir()]
    out = diff(a, b).stdout
    assert re.search(r"\nNo difference: the same \d+ calls, with the same arguments, results and "
                     r"exceptions\.\n$", out), out


def test_html_shows_the_divergence_in_the_viewer_and_bad_usage_is_one_line(tmp_path):
    traced(tmp_path, PYTEST)
    page = tmp_path / "d.html"
    proc = diff("-d", tmp_path / "out", "--unit", "1", "--unit", "2", "--html", page)
    assert proc.stdout.endswith(f"\n{page}\n")
    html = page.read_text()
    data = json.loads(html.split('<script type="application/json" id="ft-data">')[1]
                      .split("</script>")[0])
    d = data["diff"]
    assert d["same"] == 4 and d["divergences"] == 4
    assert "test_report[1,2,3]" in d["a"] and "test_report[4,-5,6]" in d["b"]
    [changed] = [r for r in d["rows"] if r["k"] == "changed"][:1]
    assert changed["a"] == "test_report(text='1,2,3') → None"
    assert changed["what"] == "different arguments, result, exception"
    # The row leads to B's call in the page: test_report, in B's unit.
    s, codes = data["strings"], data["codes"]
    assert s[codes[data["code"][changed["call"]] * 4]] == "test_report"
    assert data["unit"]["name"].endswith("test_report[4,-5,6]")
    # One run and no units: what is A, what is B?
    bad = diff("-d", tmp_path / "out", "only-one", check=False)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == ("flowtrace diff: two runs (RUN_A RUN_B), or two units (--unit A --unit B)"
                          " of one run (see 'flowtrace diff --help')\n")
    missing = diff("-d", tmp_path / "out", "--unit", "nope", "--unit", "1", check=False)
    assert missing.returncode == 1 and "no unit 'nope' in " in missing.stderr
