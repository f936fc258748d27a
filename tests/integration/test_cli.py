"""The flowtrace command on real runs: ls, show, stats, html, the runs index, and every
reader facing a missing, empty, truncated or foreign file."""
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CLI, PROGRAMS, RUN, clean_env, runs_in, trace

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CAPTURE = FIXTURES / "capture"  # a hand-made run with every capture field (issue 3)
PY = "/usr/bin/python3"


def cli(*args, cwd=None, env=None):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=env or clean_env())


def masked(text):
    """Output with what changes from run to run replaced: times, dates, run ids, pids."""
    text = re.sub(r"\d{8}-\d{6}-\d+(\.\d+)?", "RUN", text)
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "DATE", text)
    text = re.sub(r"\d+(\.\d+)?(ns|µs|ms|s)\b", "T", text)
    text = re.sub(r"\d+\.\d%", "P%", text)
    text = re.sub(r"0x[0-9a-f]+…?", "0x…", text)  # object addresses, whole or cut
    return text


def traced(tmp_path, *args, name="out", cwd=None):
    out = tmp_path / name
    proc = subprocess.run([str(RUN), "-q", "-o", str(out), PY, *map(str, args)],
                          capture_output=True, text=True, env=clean_env(), cwd=cwd or tmp_path)
    return proc, out


def one_error_line(proc, status=1):
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


# ---- ls and the runs index ------------------------------------------------------------

def test_ls_lists_runs_newest_first_from_the_index_and_without_it(tmp_path):
    out = tmp_path / "out"
    for how in ("ok", "exit3", "raise"):
        traced(tmp_path, PROGRAMS / "endings.py", how)
        time.sleep(0.01)
    ls = cli("ls", "-d", out)
    assert ls.returncode == 0 and ls.stderr == ""
    lines = [re.sub(r"\s+", " ", l) for l in masked(ls.stdout).splitlines()]
    script = PROGRAMS / "endings.py"
    assert lines == [
        f"❌ RUN DATE T 3 exception python3 {script} raise",
        f"❌ RUN DATE T 3 exit 3 python3 {script} exit3",
        f"✅ RUN DATE T 3 exit 0 python3 {script} ok",
    ]
    # The index holds the same runs, with their files.
    with sqlite3.connect(out / "index.sqlite") as db:
        rows = db.execute("SELECT id, ended, exit_code, calls, lost, script, tree, python, argv"
                          " FROM runs ORDER BY start_us").fetchall()
    runs = runs_in(out)
    assert [r[0] for r in rows] == [r.tree["run"] for r in runs]
    assert [(r[1], r[2], r[3], r[4], r[5]) for r in rows] == [
        ("exit", 0, 3, 0, "endings.py"), ("exit", 3, 3, 0, "endings.py"),
        ("exception", 1, 3, 0, "endings.py")]
    for (rid, *_, tree, python, argv) in rows:
        assert (out / tree).is_file() and tree == f"{rid}/tree.json"
        assert python == runs[0].tree["python"]
        assert json.loads(argv) == [PY, str(script), json.loads(argv)[-1]]
    # Runs written before the index existed are found by scanning: the same listing.
    (out / "index.sqlite").unlink()
    assert cli("ls", "-d", out).stdout == ls.stdout
    # An empty index (a writer that created it and died) is no index at all.
    (out / "index.sqlite").write_bytes(b"")
    assert cli("ls", "-d", out).stdout == ls.stdout
    assert cli("ls", "-d", out, "-n", "1").stdout == ls.stdout.splitlines(True)[0]


@pytest.mark.parametrize("content,why", [
    (b"these are not the runs you are looking for\n" * 100, "file is not a database"),
    (b"SQLite format 3\x00" + b"\x00" * 50, "is not a FlowTrace runs index"),
])
def test_a_foreign_or_corrupt_index_costs_no_run(tmp_path, content, why):
    # The runs are found by reading their directories, and a line says why (issue 17).
    traced(tmp_path, PROGRAMS / "endings.py", "ok")
    [run] = [p.name for p in (tmp_path / "out").iterdir() if p.is_dir()]
    (tmp_path / "out" / "index.sqlite").write_bytes(content)
    for args in (["ls"], ["show", run], ["show", run[:-2]], ["stats"], ["ls", "--units", run]):
        proc = cli(*args, "-d", tmp_path / "out")
        line = one_error_line(proc, status=0)
        assert line.startswith(f"flowtrace {args[0]}: warning: {tmp_path}/out/index.sqlite")
        assert why in line and line.endswith("; runs found by reading their directories")
    assert run in cli("ls", "-d", tmp_path / "out").stdout
    assert "leaf(how='ok')" in cli("show", "-d", tmp_path / "out", run).stdout


def test_writers_sharing_a_directory_all_record_their_runs(tmp_path):
    """Four wrappers (four writers) and a program that forks: one index, every run."""
    prog = tmp_path / "forks.py"
    prog.write_text("import os\n\ndef child(i):\n    return i\n\n"
                    "for i in range(3):\n    pid = os.fork()\n    if pid == 0:\n"
                    "        child(i)\n        os._exit(0)\n    os.waitpid(pid, 0)\n")
    procs = [subprocess.Popen([str(RUN), "-q", "-o", str(tmp_path / "out"), PY, str(prog)],
                              env=clean_env(), cwd=tmp_path) for _ in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    with sqlite3.connect(tmp_path / "out" / "index.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        rows = db.execute("SELECT id, parent_run, ended, start_us FROM runs").fetchall()
    assert len(rows) == 16
    roots = {r[0]: r[3] for r in rows if r[1] is None}
    assert len(roots) == 4
    assert all(r[1] in roots for r in rows if r[1] is not None)
    assert sorted(r[2] for r in rows) == ["exit"] * 4 + ["os._exit"] * 12
    ls = cli("ls", "-d", tmp_path / "out")
    assert len(ls.stdout.splitlines()) == 16
    # The latest run is the latest root run (one no traced process started), although
    # children started after it.
    latest = max(roots, key=roots.get)
    show = cli("show", "-d", tmp_path / "out", "--depth", "0")
    assert show.stdout.startswith(f"Run {latest} ·"), show.stdout


# ---- run lookup ---------------------------------------------------------------------------

def test_run_is_an_id_a_unique_prefix_or_the_latest(tmp_path):
    out = tmp_path / "out"
    traced(tmp_path, PROGRAMS / "endings.py", "ok")
    time.sleep(1.1)  # ids differ in their seconds: a prefix can tell them apart
    traced(tmp_path, PROGRAMS / "endings.py", "exit3")
    first, second = (r.tree["run"] for r in runs_in(out))
    head = lambda p: p.stdout.splitlines()[0]  # noqa: E731
    assert head(cli("show", "-d", out)).startswith(f"Run {second} ·")
    assert head(cli("show", "-d", out, first)).startswith(f"Run {first} ·")
    assert head(cli("show", "-d", out, first[:15])).startswith(f"Run {first} ·")
    assert head(cli("show", out / first)).startswith(f"Run {first} ·")
    assert head(cli("show", out / first / "tree.json")).startswith(f"Run {first} ·")
    # Through $FLOWTRACE_DIR, and ./flowtrace-out by default.
    env = clean_env(FLOWTRACE_DIR=out)
    assert head(cli("show", env=env)).startswith(f"Run {second} ·")
    shutil.copytree(out, tmp_path / "flowtrace-out")
    assert head(cli("show", cwd=tmp_path)).startswith(f"Run {second} ·")

    prefix = first[:9]  # the date: both runs
    line = one_error_line(cli("show", "-d", out, prefix), status=2)
    assert line == f"flowtrace show: '{prefix}' matches 2 runs; give more of the id in {out}"
    line = one_error_line(cli("stats", "-d", out, "19990101"))
    assert line == f"flowtrace stats: no run '19990101' in {out}"
    line = one_error_line(cli("ls", "-d", tmp_path / "nope"))
    assert line == f"flowtrace ls: cannot open output directory '{tmp_path}/nope': " \
                   "No such file or directory"


# ---- show ---------------------------------------------------------------------------------

SHOP_TREE = """\
Thread MainThread (16 calls)
✅ <module>  shop.py:1  T
└── ✅ main  shop.py:78  T
    ├── ✅ parse_args → <argparse.Namespace object at 0x…>  shop.py:68  T
    ├── ✅ seed_inventory → <__main__.Inventory object at 0x…>  shop.py:61  T
    │   ├── ✅ Inventory.__init__  shop.py:13  T
    │   └── ✅ Inventory.add ×2  shop.py:16  T total
    ├── ✅ PricingService.__init__(tier='gold')  shop.py:30  T
    ├── ✅ OrderService.__init__(inventory=<__main__.Inventory object at 0x…, pricing=<__main__.PricingService object at 0x…)  shop.py:42  T
    └── ✅ OrderService.order(customer='ana', wanted={'coffee': 3, 'cake': 3}, tax=0.21) → 7.26  shop.py:46  T
        ├── ❌ Inventory.take ×2  shop.py:20  T total  1 raised, first ValueError: only 2 cake left
        ├── ✅ OrderService.order.<locals>.<genexpr>  shop.py:54  T  resumed 3×
        └── ✅ PricingService.total(items=[<__main__.Item object at 0x…, tax=0.21) → 7.26  shop.py:36  T
            ├── ✅ PricingService.total.<locals>.<genexpr>  shop.py:37  T  resumed 3×
            └── ✅ PricingService.discount(amount=7.5) → 1.5  shop.py:33  T"""


def test_show_groups_repeated_calls_and_marks_failures(python, tmp_path):
    proc, [run] = trace(python, [PROGRAMS / "shop.py", "--coffee", "3"], tmp_path)
    assert proc.returncode == 0
    show = cli("show", "-d", tmp_path / "out")
    assert show.returncode == 0 and show.stderr == ""
    lines = masked(show.stdout).splitlines()
    assert re.fullmatch(r"Run RUN · python[\d.]* .*shop\.py --coffee 3 · Python 3\.\d+\.\d+ · "
                        r"exit 0 · T · 16 calls", lines[0]), lines[0]
    assert "\n".join(lines[1:]) == SHOP_TREE
    assert "\033[" not in show.stdout  # not a terminal: no colour
    ungrouped = masked(cli("show", "-d", tmp_path / "out", "--no-group").stdout)
    assert "✅ Inventory.add(name='coffee', count=20) → 20  shop.py:16  T\n" in ungrouped
    assert "✅ Inventory.add(name='cake', count=2) → 2  shop.py:16  T\n" in ungrouped
    assert len(ungrouped.splitlines()) == 2 + 16
    coloured = cli("show", "-d", tmp_path / "out", "--color", "always").stdout
    assert "\033[1mOrderService.order\033[0m" in coloured


def fixture_show(*args):
    proc = cli("show", "-d", CAPTURE, "--color", "never", *args)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return proc.stdout.split("\n", 3)[3]  # past the header lines and the thread's


def test_show_prints_args_results_exceptions_and_unfinished_calls():
    assert fixture_show() == """\
❌ <module>  shop.py:1  3.50ms  ValueError: only 2 cake left
├── ❌ main()  shop.py:78  3.40ms  ValueError: only 2 cake left
│   ├── ✅ seed_inventory() → <__main__.Inventory object at 0x7f3a2c1b9d50>  shop.py:61  40.0µs
│   │   └── ✅ Inventory.add ×2  shop.py:16  4.0µs total
│   └── ❌ OrderService.order(customer='ana maria', wanted={'coffee': 3, 'cake': 3})  shop.py:46  3.00ms  ValueError: only 2 cake left
│       ├── ❌ Inventory.take ×2  shop.py:20  7.0µs total  1 raised, first ValueError: only 2 cake left
│       └── ✅ OrderService.order.<locals>.<genexpr>  shop.py:54  5.0µs  resumed 3×
│           └── ✅ describe(note='xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…) → 'ok'  shop.py:70  1.0µs
└── ⏳ log_exit(code=1)  shop.py:90  1.0µs  (unfinished: killed)
"""


def on_a_terminal(*args, **env):
    """Runs the command with its standard output on a pseudo-terminal; returns the text."""
    import os
    import pty
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(CLI), *map(str, args)], stdout=slave, stderr=subprocess.PIPE,
                            env=clean_env(**env))
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the command closed its end
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.wait() == 0 and proc.stderr.read() == b""
    return out.decode().replace("\r\n", "\n")


def test_colour_only_on_a_terminal():
    shown = on_a_terminal("show", "-d", CAPTURE)
    assert "\033[1mOrderService.order\033[0m(customer=" in shown
    assert "\033[31mValueError: only 2 cake left\033[0m" in shown
    assert "\033[" in on_a_terminal("ls", "-d", CAPTURE)
    # NO_COLOR, or --color never, turn it off; the text is what a pipe gets.
    plain = cli("show", "-d", CAPTURE).stdout
    assert on_a_terminal("show", "-d", CAPTURE, NO_COLOR="1") == plain
    assert on_a_terminal("show", "-d", CAPTURE, "--color", "never") == plain
    assert "\033[" not in cli("ls", "-d", CAPTURE).stdout


def test_show_filters_errors_match_duration_depth_and_thread():
    assert fixture_show("--errors") == """\
❌ <module>  shop.py:1  3.50ms  ValueError: only 2 cake left
└── ❌ main()  shop.py:78  3.40ms  ValueError: only 2 cake left
    └── ❌ OrderService.order(customer='ana maria', wanted={'coffee': 3, 'cake': 3})  shop.py:46  3.00ms  ValueError: only 2 cake left
        └── ❌ Inventory.take(name='cake', count=3)  shop.py:20  4.0µs  ValueError: only 2 cake left
"""
    # A match keeps the paths to it and everything below it.
    assert fixture_show("--match", "*.<genexpr>") == """\
❌ <module>  shop.py:1  3.50ms  ValueError: only 2 cake left
└── ❌ main()  shop.py:78  3.40ms  ValueError: only 2 cake left
    └── ❌ OrderService.order(customer='ana maria', wanted={'coffee': 3, 'cake': 3})  shop.py:46  3.00ms  ValueError: only 2 cake left
        └── ✅ OrderService.order.<locals>.<genexpr>  shop.py:54  5.0µs  resumed 3×
            └── ✅ describe(note='xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…) → 'ok'  shop.py:70  1.0µs
"""
    assert fixture_show("--match", "__main__.describe") == fixture_show("--match", "describe")
    assert fixture_show("--min-duration", "4us", "--depth", "2") == """\
❌ <module>  shop.py:1  3.50ms  ValueError: only 2 cake left
├── ❌ main()  shop.py:78  3.40ms  ValueError: only 2 cake left
│   ├── ✅ seed_inventory() → <__main__.Inventory object at 0x7f3a2c1b9d50>  shop.py:61  40.0µs
│   └── ❌ OrderService.order(customer='ana maria', wanted={'coffee': 3, 'cake': 3})  shop.py:46  3.00ms  ValueError: only 2 cake left
└── ⏳ log_exit(code=1)  shop.py:90  1.0µs  (unfinished: killed)
"""
    none = cli("show", "-d", CAPTURE, "--match", "nothing*")
    assert none.returncode == 0 and none.stdout.endswith("(no calls match)\n")
    assert cli("show", "-d", CAPTURE, "--thread", "worker-*").stdout.endswith(
        "(no calls match)\n")


def test_show_filters_threads_of_a_threaded_program(tmp_path):
    traced(tmp_path, PROGRAMS / "threads.py")
    show = masked(cli("show", "-d", tmp_path / "out", "--thread", "worker-*").stdout)
    assert show.splitlines()[1:] == [
        "Thread worker-1 (4 calls)", "✅ worker(n=1)  threads.py:13  T",
        "└── ✅ work(n=1) → 6  threads.py:5  T", "    └── ✅ step ×2  threads.py:9  T total",
        "Thread worker-2 (4 calls)", "✅ worker(n=2)  threads.py:13  T",
        "└── ✅ work(n=2) → 10  threads.py:5  T", "    └── ✅ step ×2  threads.py:9  T total"]


# ---- stats --------------------------------------------------------------------------------

def test_stats_counts_calls_errors_total_and_self_time():
    stats = cli("stats", "-d", CAPTURE)
    assert stats.returncode == 0
    assert stats.stdout == """\
Run 20261122-101530-4242 · 11 calls of 9 functions · 4 raised · 3.50ms in calls

    CALLS  RAISED      TOTAL       SELF  SELF%        AVG  FUNCTION
        1       1     3.00ms     2.99ms  85.4%     3.00ms  OrderService.order  shop.py:46
        1       1     3.40ms    360.0µs  10.3%     3.40ms  main  shop.py:78
        1       1     3.50ms     99.0µs   2.8%     3.50ms  <module>  shop.py:1
        1       0     40.0µs     36.0µs   1.0%     40.0µs  seed_inventory  shop.py:61
        2       1      7.0µs      7.0µs   0.2%      3.5µs  Inventory.take  shop.py:20
        2       0      4.0µs      4.0µs   0.1%      2.0µs  Inventory.add  shop.py:16
        1       0      5.0µs      4.0µs   0.1%      5.0µs  OrderService.order.<locals>.<genexpr>  shop.py:54
        1       0      1.0µs      1.0µs   0.0%      1.0µs  describe  shop.py:70
        1       0      1.0µs      1.0µs   0.0%      1.0µs  log_exit  shop.py:90
"""


def test_stats_of_a_real_run_by_name(tmp_path):
    traced(tmp_path, PROGRAMS / "shop.py", "--coffee", "3")
    stats = cli("stats", "-d", tmp_path / "out", "--sort", "name", "--top", "0")
    lines = [l.split() for l in masked(stats.stdout).splitlines()]
    assert " ".join(lines[0]) == "Run RUN · 16 calls of 14 functions · 1 raised · T in calls"
    assert lines[2] == ["CALLS", "RAISED", "TOTAL", "SELF", "SELF%", "AVG", "FUNCTION"]
    assert [(l[0], l[1], l[-2], l[-1]) for l in lines[3:]] == [
        ("1", "0", "<module>", "shop.py:1"), ("1", "0", "Inventory.__init__", "shop.py:13"),
        ("2", "0", "Inventory.add", "shop.py:16"), ("2", "1", "Inventory.take", "shop.py:20"),
        ("1", "0", "OrderService.__init__", "shop.py:42"),
        ("1", "0", "OrderService.order", "shop.py:46"),
        ("1", "0", "OrderService.order.<locals>.<genexpr>", "shop.py:54"),
        ("1", "0", "PricingService.__init__", "shop.py:30"),
        ("1", "0", "PricingService.discount", "shop.py:33"),
        ("1", "0", "PricingService.total", "shop.py:36"),
        ("1", "0", "PricingService.total.<locals>.<genexpr>", "shop.py:37"),
        ("1", "0", "main", "shop.py:78"), ("1", "0", "parse_args", "shop.py:68"),
        ("1", "0", "seed_inventory", "shop.py:61")]
    assert all(l[4].endswith("%") for l in lines[3:])


def test_stats_counts_a_recursive_function_once_per_outermost_call(tmp_path):
    prog = tmp_path / "rec.py"
    prog.write_text("def fact(n):\n    return 1 if n < 2 else n * fact(n - 1)\n\n"
                    "fact(30)\nfact(20)\n")
    traced(tmp_path, prog)
    [run] = runs_in(tmp_path / "out")
    outer = [n["durationMicros"] for n in run.thread()["calls"][0]["children"]]
    stats = cli("stats", "-d", tmp_path / "out", "--sort", "name")
    line = next(l for l in stats.stdout.splitlines() if "fact" in l).split()
    assert line[:2] == ["50", "0"]
    total_us = float(line[2][:-2]) * (1000 if line[2].endswith("ms") else 1)
    assert total_us == pytest.approx(sum(outer), rel=0.01, abs=0.1)


# ---- html -------------------------------------------------------------------------------

def embedded_data(html):
    m = re.search(r'<script type="application/json" id="ft-data">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


def arg_lists(data, count="argN", pool="args"):
    """Per call: [(name, value), ...], or None when the call has no such list."""
    out, at, s = [], 0, data["strings"]
    for n in data[count]:
        out.append(None if n < 0 else [(s[data[pool][at + 2 * k]], s[data[pool][at + 2 * k + 1]])
                                       for k in range(n)])
        at += 2 * max(n, 0)
    assert at == len(data[pool])
    return out


def test_html_embeds_the_run_as_columns_that_rebuild_the_tree(tmp_path):
    traced(tmp_path, PROGRAMS / "nested.py", cwd=PROGRAMS)
    [run] = runs_in(tmp_path / "out")
    page = tmp_path / "run.html"
    proc = cli("html", "-d", tmp_path / "out", "-o", page)
    assert proc.returncode == 0 and proc.stdout == f"{page}\n"
    html = page.read_text()
    assert html.startswith("<!doctype html>") and "</html>" in html
    assert "<script src" not in html and "<link" not in html
    data = embedded_data(html)
    strings, codes = data["strings"], data["codes"]
    # Pre-order, sizes and codes rebuild exactly the tree's outline.
    lines, stack = [], []
    start = 0
    for i, (code, size) in enumerate(zip(data["code"], data["size"])):
        while stack and i > stack[-1]:
            stack.pop()
        fn, line = strings[codes[code * 4]], codes[code * 4 + 3]
        file = Path(strings[codes[code * 4 + 2]]).name
        exc = {e: " !" + (strings[t] if t >= 0 else "exception")
               for e, t in zip(data["exc"][0::4], data["exc"][1::4])}.get(i, "")
        lines.append("  " * (len(stack) + 1) + f"{fn} {file}:{line}{exc}")
        stack.append(i + size)
        start += data["start"][i]
        assert data["dur"][i] >= 0
    assert "\n".join(["[MainThread]"] + lines) == run.outline(skip=())
    # [name, tid, first call, calls, lanes]: one lane, nothing ran concurrently.
    assert data["threads"] == [[strings.index("MainThread"), run.thread()["tid"], 0,
                                run.tree["tracer"]["calls"], 1]]
    # The captured arguments and results travel too.
    add = data["code"].index(next(c for c in range(len(codes) // 4)
                                  if strings[codes[c * 4]] == "Inventory.add"))
    assert arg_lists(data)[add] == [("item", "'coffee'"), ("count", "2")]
    assert strings[data["result"][add] - 1] == "2"
    assert data["run"]["id"] == run.tree["run"] and data["run"]["exitCode"] == 0


def test_html_carries_the_capture_fields(tmp_path):
    page = tmp_path / "c.html"
    assert cli("html", "-d", CAPTURE, "-o", page).returncode == 0
    data = embedded_data(page.read_text())
    s = data["strings"]
    args = arg_lists(data)
    assert args[0] is None and args[1] == []  # <module> has none; main() has an empty list
    assert args[3] == [("name", "'coffee'"), ("count", "20")]  # Inventory.add -> 20
    assert s[data["result"][3] - 1] == "20"
    assert s[data["inst"][3] - 1] == "0x7f3a2c1b9d50"
    # Arguments the call changed: only OrderService.order has them.
    after = arg_lists(data, "afterN", "after")
    assert [(i, a) for i, a in enumerate(after) if a is not None] == [
        (5, [("wanted", "{'coffee': 3, 'cake': 0}")])]
    # Every caller is the parent's function, which the page derives: none is written.
    assert data["caller"] == []
    assert data["run"]["exception"] == {"type": "ValueError", "module": "builtins",
                                        "message": "only 2 cake left"}
    assert data["mem"] == [3, 30000000, 3000000, 3750000, 30500000, 3050000, 3812500]
    assert data["gen"] == [8, 3, 4200]
    exc = [data["exc"][i:i + 4] for i in range(0, len(data["exc"]), 4)]
    assert [s[e[1]] + ": " + s[e[2]] for e in exc][0] == "ValueError: only 2 cake left"
    assert [e[0] for e in exc] == [0, 1, 5, 7]
    # A string that would close the script element is escaped.
    assert "</" not in page.read_text().split('id="ft-data">')[1].split("</script>")[0]


# ---- every reader on bad files ------------------------------------------------------------

BAD_TREES = {
    "empty": (b"", "is empty"),
    "truncated": (None, "is truncated"),
    "foreign JSON": (b'{"hello": "world"}', "is not a FlowTrace tree (no \"run\")"),
    "JSON array": (b"[1, 2, 3]", "is not a FlowTrace tree (not a JSON object)"),
    "binary": (b"\x7fELF\x02\x01\x01\x00" * 64, "is not a FlowTrace tree"),
}
COMMANDS = [("show",), ("stats",), ("html", "-o", "x.html"), ("export", "--format", "chrome"),
            ("export", "--format", "otlp")]


@pytest.mark.parametrize("bad", BAD_TREES)
@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: "-".join(c[:3:2]))
def test_every_reader_reports_a_bad_tree_in_one_line(tmp_path, bad, cmd):
    run = tmp_path / "out" / "20261122-101530-4242"
    shutil.copytree(CAPTURE / "20261122-101530-4242", run)
    content, why = BAD_TREES[bad]
    tree = run / "tree.json"
    tree.write_bytes(content if content is not None else tree.read_bytes()[:700])
    proc = cli(cmd[0], "-d", tmp_path / "out", *cmd[1:], run, cwd=tmp_path)
    line = one_error_line(proc)
    assert line.startswith(f"flowtrace {cmd[0]}: {tree} ") and why in line, line
    assert proc.stdout == ""
    assert not (tmp_path / "x.html").exists()


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: "-".join(c[:3:2]))
def test_every_reader_reports_a_missing_or_unfinished_run_in_one_line(tmp_path, cmd):
    run = tmp_path / "out" / "20261122-101530-999999999"  # no such process
    run.mkdir(parents=True)
    (run / "events.jsonl").write_text("")
    proc = cli(cmd[0], "-d", tmp_path / "out", *cmd[1:], cwd=tmp_path)
    assert one_error_line(proc) == (f"flowtrace {cmd[0]}: no complete runs in {tmp_path}/out "
                                    "(run 20261122-101530-999999999 has not finished)")
    proc = cli(cmd[0], "-d", tmp_path / "out", *cmd[1:], "20261122", cwd=tmp_path)
    assert one_error_line(proc) == (
        f"flowtrace {cmd[0]}: run 20261122-101530-999999999 did not finish: {run} has no "
        f"tree.json (if its writer stopped, 'flowtrace-writer --dir {tmp_path}/out --recover' "
        "finishes it)")
    ls = cli("ls", "-d", tmp_path / "out")
    assert ls.returncode == 0 and ls.stdout.startswith("⏳ 20261122-101530-999999999")
    assert "unfinished" in ls.stdout


def test_a_run_still_going_reads_as_its_tree_so_far(tmp_path):
    traced(tmp_path, PROGRAMS / "endings.py", "ok")  # an earlier run, complete
    out = tmp_path / "out"
    (tmp_path / "wait.py").write_text("import sys\ndef g():\n    return 1\n"
                                      "def f():\n    g()\n    return sys.stdin.read()\nf()\n")
    proc = subprocess.Popen([str(RUN), "-q", "-o", str(out), PY, "wait.py"], cwd=tmp_path,
                            stdin=subprocess.PIPE, env=clean_env())
    try:
        def unfinished():
            return [p.name for p in out.iterdir() if p.is_dir() and not (p / "tree.json").exists()]
        deadline = time.time() + 60
        while not unfinished() and time.time() < deadline:
            time.sleep(0.05)  # the writer makes the run's directory when the process starts
        [live] = unfinished()
        shown = cli("show", "-d", out, live)
        assert shown.returncode == 0 and shown.stderr == "", shown.stderr
        assert f"Run {live} · python3 wait.py · " in shown.stdout
        assert " · running · " in shown.stdout.splitlines()[0]
        deadline = time.time() + 60  # g's end is on disk about a second after it happened
        while "g → 1" not in shown.stdout and time.time() < deadline:
            time.sleep(0.1)
            shown = cli("show", "-d", out, live)
        assert "⏳ f  wait.py:4" in shown.stdout and "(unfinished: running)" in shown.stdout
        assert "✅ g → 1  wait.py:2" in shown.stdout
        latest = cli("show", "-d", out)  # the latest run is the one going
        assert latest.returncode == 0 and f"Run {live} " in latest.stdout, latest.stderr
        listed = cli("ls", "-d", out)
        assert any(l.startswith(f"⏳ {live}") and " running " in l
                   for l in listed.stdout.splitlines()), listed.stdout
    finally:
        proc.communicate(b"", timeout=60)
    done = cli("show", "-d", out, live)
    assert done.returncode == 0 and done.stderr == "" and "└── ✅ f → ''  wait.py:4" in done.stdout


@pytest.mark.parametrize("args,line", [
    (["show", "--bogus"], "flowtrace show: unknown option '--bogus' (see 'flowtrace show --help')"),
    (["stats", "-x"], "flowtrace stats: unknown option '-x' (see 'flowtrace stats --help')"),
    (["show", "--depth"], "flowtrace show: option '--depth' needs a value "
                          "(see 'flowtrace show --help')"),
    (["show", "--depth", "x"], "flowtrace show: --depth 'x' is not a number of levels"),
    (["show", "--min-duration", "5 parsecs"],
     "flowtrace show: --min-duration '5 parsecs' is not a duration (e.g. 500us, 2ms)"),
    (["stats", "--sort", "speed"],
     "flowtrace stats: --sort 'speed' must be self, total, calls, errors or name"),
    (["export"], "flowtrace export: --format must be chrome, otlp or pytraceflow "
                 "(see 'flowtrace export --help')"),
    (["ls", "a", "b"], "flowtrace ls: unexpected argument 'a' (see 'flowtrace ls --help')"),
    (["frobnicate"], "flowtrace: unknown command 'frobnicate' (see 'flowtrace --help')"),
])
def test_bad_usage_is_one_line_and_status_2(args, line):
    assert one_error_line(cli(*args), status=2) == line


@pytest.mark.parametrize("cmd", ["ls", "show", "stats", "html", "export"])
def test_each_command_has_help(cmd):
    proc = cli(cmd, "--help")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith(f"usage: flowtrace {cmd} ")
    assert cmd in cli("--help").stdout


def test_an_output_file_that_cannot_be_written_is_one_line(tmp_path):
    proc = cli("html", "-d", CAPTURE, "-o", tmp_path / "no" / "such" / "dir.html")
    assert one_error_line(proc) == (f"flowtrace html: cannot create '{tmp_path}/no/such/dir.html'"
                                    ": No such file or directory")
    proc = cli("export", "-d", CAPTURE, "--format", "chrome", "-o", "/dev/full")
    line = one_error_line(proc)
    assert line.startswith("flowtrace export: cannot ") and "No space left on device" in line


def test_a_run_directory_given_as_dir_is_that_run(tmp_path):
    # flowtrace-run prints "-> OUT/RUN"; `flowtrace html -d OUT/RUN` said "no complete runs".
    proc, out = traced(tmp_path, PROGRAMS / "endings.py", "ok")
    traced(tmp_path, PROGRAMS / "endings.py", "exit3")  # a newer run beside it
    first = sorted(p for p in out.iterdir() if p.is_dir())[0]
    for args in (["html", "-o", tmp_path / "page.html"], ["show"], ["stats"],
                 ["export", "--format", "chrome", "-o", tmp_path / "t.json"]):
        for d in (first, str(first) + "/"):
            r = cli(args[0], "-d", d, *args[1:])
            assert r.returncode == 0, (args, r.stderr)
    assert first.name in cli("show", "-d", first).stdout
    # Relative, as typed in the output directory.
    r = cli("show", "-d", first.name, cwd=out)
    assert r.returncode == 0 and first.name in r.stdout, r.stderr
