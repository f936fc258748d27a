"""The core pipeline: a traced program's call tree, JSONL events, threads, exit status."""
import json
import re
import subprocess
import sys

import pytest

from conftest import (CLI, LIB, PROGRAMS, RUN, balanced, clean_env, preload, runs_in,
                      trace)

NESTED_TREE = """\
[MainThread]
  <module> nested.py:1
    <module> __init__.py:1
    <module> pricing.py:1
    main nested.py:32
      Inventory.__init__ nested.py:9
      Inventory.add nested.py:12
      Inventory.add nested.py:12
      checkout nested.py:24
        check_stock pricing.py:5 !KeyError
        load_prices nested.py:20
        Inventory.total nested.py:16
          Inventory.total.<locals>.<genexpr> nested.py:17
            price pricing.py:1
            price pricing.py:1"""


def test_nested_program_gives_its_exact_call_tree(python, tmp_path):
    proc, runs = trace(python, [PROGRAMS / "nested.py", "--flag", "x"], tmp_path,
                       cwd=PROGRAMS)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "total=9.00 --flag x\n"
    [run] = runs
    # The standard library (json) is out of scope; the program's own modules (pkg.pricing)
    # are in, with their imports. The generator expression is one node across its three
    # resumptions, the calls it made inside.
    assert run.outline(skip=()) == NESTED_TREE
    assert run.tree["exitCode"] == 0 and run.tree["ended"] == "exit"
    assert run.tree["tracer"]["lost"] == 0


def test_jsonl_events_follow_the_seed_agent_schema(python, tmp_path):
    proc, [run] = trace(python, [PROGRAMS / "nested.py"], tmp_path, cwd=PROGRAMS)
    assert proc.returncode == 0
    calls = balanced(run.events)
    assert calls == run.tree["tracer"]["calls"]
    enter = next(e for e in run.events if e["function"] == "Inventory.add")
    # Format 4: no line names the run (the directory does), unless copied to --logfile.
    assert set(enter) == {"event", "timestamp", "thread", "module", "function", "file", "line",
                          "pid", "id", "parent", "args", "instance"}
    assert enter["args"] == {"item": "coffee", "count": 2}  # typed values (format 3)
    assert enter["event"] == "ENTER" and enter["thread"] == "MainThread"
    assert enter["module"] == "__main__" and enter["line"] == 12
    assert enter["file"] == str(PROGRAMS / "nested.py")
    assert enter["pid"] == run.tree["pid"] and run.tree["format"] == 4
    # Timestamps are microseconds since the epoch, within the run.
    start = run.tree["start"]
    assert start <= enter["timestamp"] <= start + run.tree["durationMicros"] + 1
    exit_ = next(e for e in run.events if e["event"] == "EXIT" and e["id"] == enter["id"])
    assert exit_["durationMicros"] >= 0 and exit_["durationMillis"] == pytest.approx(
        exit_["durationMicros"] / 1000, abs=0.001)
    failed = next(e for e in run.events if e["function"] == "check_stock" and e["event"] != "ENTER")
    assert failed["event"] == "EXCEPTION"
    assert failed["exception"] == {"type": "KeyError", "module": "builtins", "message": "'tea'"}
    parent = next(e for e in run.events if e["id"] == failed["id"] and e["event"] == "ENTER")
    assert next(e for e in run.events if e["id"] == parent["parent"])["function"] == "checkout"


def test_exit_lines_say_only_what_their_enter_line_does_not(python, tmp_path):
    """Format 4: an EXIT or EXCEPTION line names its call by id, thread, module and
    function; its file, line and caller are on the ENTER line with the same id."""
    proc, [run] = trace(python, [PROGRAMS / "nested.py"], tmp_path, cwd=PROGRAMS)
    assert proc.returncode == 0
    enters = {e["id"]: e for e in run.events if e["event"] == "ENTER"}
    ends = [e for e in run.events if e["event"] != "ENTER"]
    assert len(ends) == len(enters) == balanced(run.events)
    same = ("thread", "module", "function", "pid")
    for end in ends:
        assert {k: end[k] for k in same} == {k: enters[end["id"]][k] for k in same}
    add = next(e for e in ends if e["function"] == "Inventory.add")
    assert set(add) == {"event", "timestamp", "thread", "module", "function", "pid", "id",
                        "durationMicros", "durationMillis", "result"}
    assert add["event"] == "EXIT"
    failed = next(e for e in ends if e["function"] == "check_stock")
    assert set(failed) - {"locals"} == {  # locals: 3.11+
        "event", "timestamp", "thread", "module", "function", "pid", "id", "durationMicros",
        "durationMillis", "exception", "raise", "leftAt"}
    assert enters[failed["id"]]["line"] == 5 and failed["leftAt"] > 5


def test_each_thread_has_its_calls_under_its_name(python, tmp_path):
    proc, [run] = trace(python, [PROGRAMS / "threads.py"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    names = sorted(t["name"] for t in run.tree["threads"])
    assert names == ["MainThread", "worker-1", "worker-2"]
    for w in ("worker-1", "worker-2"):
        assert [n["function"] for n in run.thread(w)["calls"]] == ["worker"]
        [work] = run.thread(w)["calls"][0]["children"]
        assert [c["function"] for c in work["children"]] == ["step", "step"]
    assert {e["thread"] for e in run.events} == {"MainThread", "worker-1", "worker-2"}
    balanced(run.events)


def test_a_renamed_thread_is_named_anew_from_then_on(python, tmp_path):
    proc, [run] = trace(python, [PROGRAMS / "renamed.py"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    steps = [(e["event"], e["args"]["n"] if "args" in e else None, e["thread"])
             for e in run.events if e["function"] == "step"]
    enters = {e["id"]: e["args"]["n"] for e in run.events
              if e["event"] == "ENTER" and e["function"] == "step"}
    named = {(e["event"], enters[e["id"]]): e["thread"] for e in run.events
             if e["function"] == "step"}
    assert named == {("ENTER", 0): "MainThread", ("EXIT", 0): "MainThread",
                     ("ENTER", 3): "main-renamed", ("EXIT", 3): "main-renamed",
                     ("ENTER", 1): "worker", ("EXIT", 1): "worker",
                     ("ENTER", 2): "worker-renamed", ("EXIT", 2): "worker-renamed"}, steps
    # The tree has one entry per thread, under the name it had last.
    assert sorted(t["name"] for t in run.tree["threads"]) == ["main-renamed", "worker-renamed"]
    [worker] = run.thread("worker-renamed")["calls"]
    assert [(c["function"], c["args"]) for c in worker["children"]] == \
        [("step", {"n": 1}), ("step", {"n": 2})]
    balanced(run.events)


@pytest.mark.parametrize("how,status,ended", [("ok", 0, "exit"), ("exit3", 3, "exit"),
                                              ("raise", 1, "exception")])
def test_exit_status_and_output_are_kept(python, tmp_path, how, status, ended):
    plain = subprocess.run([python, PROGRAMS / "endings.py", how], capture_output=True,
                           text=True, env=clean_env(), cwd=tmp_path)
    traced = preload(python, [PROGRAMS / "endings.py", how], tmp_path)
    assert plain.returncode == status
    assert (traced.returncode, traced.stdout, traced.stderr) == \
        (plain.returncode, plain.stdout, plain.stderr)
    [run] = runs_in(tmp_path / "out")
    assert run.tree["exitCode"] == status and run.tree["ended"] == ended
    balanced(run.events)
    if how == "raise":
        assert run.tree["exception"] == {"type": "RuntimeError", "module": "builtins",
                                         "message": "boom"}
        assert run.outline() == ("[MainThread]\n  middle endings.py:13 !RuntimeError\n"
                                 "    leaf endings.py:5 !RuntimeError")


def test_wrapper_keeps_status_and_passes_arguments_untouched(python, tmp_path):
    proc, [run] = trace(python, [PROGRAMS / "endings.py", "exit3"], tmp_path)
    assert proc.returncode == 3
    assert re.search(r"\[FlowTrace\] Profiling finished in \d+\.\d{3}s \(script=endings\.py\) "
                     r"-> .*/out/" + re.escape(run.tree["run"]), proc.stderr)
    script = tmp_path / "args.py"
    script.write_text("import sys\nprint(sys.argv[1:])\n")
    proc, _ = trace(python, [script, "--flag", "x", "-o", "y", "--", "z z"], tmp_path)
    assert proc.stdout == "['--flag', 'x', '-o', 'y', '--', 'z z']\n"


def test_a_million_calls_give_a_million_enter_lines_each_closed(python, tmp_path):
    proc, [run] = trace(python, [PROGRAMS / "million.py"], tmp_path, timeout=600,
                        wrapper_args=["--log-flushes"])
    assert proc.returncode == 0, proc.stderr
    opened, closed = set(), set()
    last = {}
    with open(run.path / "events.jsonl", "rb") as f:
        for line in f:
            ident = int(line[line.index(b'"id":') + 5:].split(b",", 1)[0].rstrip(b"}\n"))
            if line.startswith(b'{"event":"ENTER"'):
                opened.add(ident)
            else:
                assert ident not in closed
                closed.add(ident)
            if b'"function":"leaf"' in line:
                last[line[:16]] = line
    assert len(opened) == 1_000_000
    # The leaves' ints travel as 8 bytes each way and read as JSON numbers.
    enter, exit_ = json.loads(last[b'{"event":"ENTER"']), json.loads(last[b'{"event":"EXIT",'])
    assert (enter["args"], exit_["result"]) == ({"i": 999997}, 999997)
    # A thread this busy ships ever bigger buffers: 64 KiB at first, 1 MiB at most.
    sizes = [int(m) for m in re.findall(r"flush #\d+: (\d+) bytes", proc.stderr)]
    assert 512 * 1024 < max(sizes) <= 1024 * 1024, sorted(set(sizes))[-5:]
    assert min(sizes[:2]) <= 64 * 1024
    assert opened == closed
    assert run.header["tracer"]["calls"] == 1_000_000
    assert run.header["tracer"]["events"] == 2_000_000
    assert run.header["tracer"]["lost"] == 0


BIG_ARGS = """\
def f(s, i):
    return len(s) + i
def g(i):
    return i
for i in range(40):
    f("x" * (100_000 + 7919 * i), i)
    for j in range(3000):
        g(j)
"""


def test_arguments_longer_than_the_writers_buffer_arrive_whole(python, tmp_path):
    # Records of 100-410 KB among small ones, in frames of up to 1 MiB: the writer takes a
    # frame in pieces as its bytes arrive, and a record cut at a piece's end goes back to
    # the decoder until it is whole (lib/wire.h, open pieces).
    (tmp_path / "big.py").write_text(BIG_ARGS)
    proc, [run] = trace(python, [tmp_path / "big.py"], tmp_path,
                        wrapper_args=["--max-arg-length", "0"])
    assert proc.returncode == 0, proc.stderr
    tracer = run.header["tracer"]
    assert (tracer["calls"], tracer["events"], tracer["lost"]) == (120_041, 240_082, 0)
    args = [e["args"] for e in run.events if e["event"] == "ENTER" and e["function"] == "f"]
    assert [(len(a["s"]), a["i"]) for a in args] == [(100_000 + 7919 * i, i) for i in range(40)]
    assert all(set(a["s"]) == {"x"} for a in args)
    assert balanced(run.events) == 120_041


def test_bare_preload_without_wrapper_is_traced_and_written(python, tmp_path):
    proc = preload(python, [PROGRAMS / "nested.py"], tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    [run] = runs_in(tmp_path / "out")
    assert "Inventory.add" in run.outline()
    balanced(run.events)


def test_programs_from_c_and_stdin_are_the_programs_own_code(python, tmp_path):
    proc, [run] = trace(python, ["-c", "def g():\n    return 1\ng()"], tmp_path)
    assert proc.returncode == 0
    assert run.outline(skip=()) == "[MainThread]\n  <module> <string>:1\n    g <string>:1"
    (tmp_path / "stdin").mkdir()
    proc, [run] = trace(python, ["-"], tmp_path / "stdin", input="def f():\n    pass\nf()\n")
    assert run.outline(skip=()) == "[MainThread]\n  <module> <stdin>:1\n    f <stdin>:1"


def test_a_ci_pytest_run_is_traced_without_code_changes(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_calc.py").write_text(
        "def add(a, b):\n    return a + b\n\n"
        "def test_add():\n    assert add(1, 2) == 3\n\n"
        "def test_fails():\n    assert add(1, 1) == 3\n")
    proc, runs = trace("/usr/bin/python3", ["-m", "pytest", "-q", "-p", "no:cacheprovider", suite],
                       tmp_path, wrapper_args=["--keep", "all", "--"])
    assert proc.returncode == 1, proc.stdout + proc.stderr  # pytest's own status
    assert "1 failed, 1 passed" in proc.stdout
    [run] = runs
    # Each test is a unit of work: its calls are in its own events (every unit kept), under pytest's runtestprotocol and the phases, not in the run's events.
    events = []
    for unit in sorted((run.path / "units").iterdir(), key=lambda p: int(p.name)):
        with open(unit / "events.jsonl") as f:
            events += [json.loads(line) for line in f]
    names = {e["function"] for e in events}
    assert {"test_add", "test_fails", "add"} <= names
    assert {e["module"] for e in events if e["module"].startswith("_pytest")} == {"_pytest.runner"}
    assert not any(e["module"].startswith("_pytest") for e in run.events)
    balanced(run.events)
    balanced(events)


def test_show_prints_the_tree(tmp_path):
    proc, [run] = trace("/usr/bin/python3", [PROGRAMS / "nested.py"], tmp_path, cwd=PROGRAMS)
    show = subprocess.run([CLI, "show", "-d", tmp_path / "out", "--depth", "2"],
                          capture_output=True, text=True)
    assert show.returncode == 0, show.stderr
    lines = [re.sub(r"0x[0-9a-f]+…?", "0x…", re.sub(r"\s+\d+(\.\d+)?(ns|µs|ms|s)( total)?$", "", l))
             for l in show.stdout.splitlines()]
    assert lines[1:] == [
        "Thread MainThread (14 calls)",
        "✅ <module>  nested.py:1",
        "├── ✅ <module>  pkg/__init__.py:1",
        "├── ✅ <module>  pricing.py:1",
        "└── ✅ main  nested.py:32",
        "    ├── ✅ Inventory.__init__  nested.py:9",
        "    ├── ✅ Inventory.add ×2  nested.py:12",
        "    └── ✅ checkout(inv=<__main__.Inventory object at 0x…) → 9.0  nested.py:24",
    ]
    missing = subprocess.run([CLI, "show", "-d", tmp_path / "nope"], capture_output=True, text=True)
    assert missing.returncode == 1
    assert missing.stderr.startswith("flowtrace show: cannot open output directory")
