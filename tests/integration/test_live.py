"""What happened is on disk while the program still runs: every event a complete line in
events.jsonl, in --logfile and on --stdout, soon after it happened (the writer applies
frames as they arrive and writes its files at every tick), not when the program ends."""
import fcntl
import json
import os
import queue
import subprocess
import threading
import time

from conftest import CLI, PROGRAMS, RUN, clean_env
from procs_util import start_traced, wait_ready

CALLS = PROGRAMS / "calls.py"
PATIENCE = 60  # seconds: on a loaded machine; the writer's tick is 0.25 s


def f_exits(lines):
    """EXIT lines of calls of f among lines of JSONL (only whole lines parse)."""
    found = []
    for line in lines:
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("event") == "EXIT" and e.get("function") == "f":
            found.append(e)
    return found


def poll(read, want):
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        got = read()
        if len(got) >= want:
            return got
        time.sleep(0.05)
    return read()


def test_events_are_whole_lines_in_the_files_while_the_program_runs(python, tmp_path):
    log = tmp_path / "copy.jsonl"
    proc = start_traced(python, [CALLS, 10, "wait"], tmp_path, "--logfile", str(log))
    wait_ready(proc)  # five calls of f done; the program now waits for us
    [run] = poll(lambda: list((tmp_path / "out").glob("*/events.jsonl")), 1)
    events = poll(lambda: f_exits(run.read_text().splitlines()), 5)
    assert [e["result"] for e in events] == [0, 1, 2, 3, 4]
    assert run.read_text().endswith("\n")  # whole lines only
    assert len(poll(lambda: f_exits(log.read_text().splitlines()), 5)) == 5
    assert proc.poll() is None  # all of it while the program still runs
    out, err = proc.communicate("go\n", timeout=120)
    assert proc.returncode == 0 and out == "done\n", err
    assert len(f_exits(run.read_text().splitlines())) == 10


def test_stdout_gets_the_events_while_the_program_runs(python, tmp_path):
    proc = start_traced(python, [CALLS, 10, "wait"], tmp_path, "--stdout")
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()
    got, deadline = [], time.monotonic() + PATIENCE
    while len(f_exits(got)) < 5 and time.monotonic() < deadline:
        try:
            got.append(lines.get(timeout=0.1))
        except queue.Empty:
            pass
    assert "ready\n" in got
    assert [e["result"] for e in f_exits(got)] == [0, 1, 2, 3, 4]
    assert proc.poll() is None
    proc.stdin.write("go\n")
    proc.stdin.close()
    assert proc.wait(timeout=120) == 0


def cli(out, *args):
    return subprocess.run([str(CLI), "-d", str(out), *map(str, args)], capture_output=True,
                          text=True, env=clean_env())


def until(check):
    """check()'s first truthy answer within PATIENCE seconds, else its last one."""
    deadline = time.monotonic() + PATIENCE
    while (got := check()) is None or not got:
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return got


def test_a_run_still_going_is_listed_shown_and_read(python, tmp_path):
    out = tmp_path / "out"
    proc = start_traced(python, [CALLS, 10, "wait"], tmp_path)
    wait_ready(proc)
    # The tree so far: main() and five calls of f, main still running.
    show = until(lambda: (lambda s: s if s.returncode == 0 and "f ×5" in s.stdout else None)(
        cli(out, "show")))
    assert show, cli(out, "show")
    assert "running" in show.stdout.splitlines()[0], show.stdout
    ls = cli(out, "ls")
    assert ls.returncode == 0 and "running" in ls.stdout, ls
    stats = cli(out, "stats")
    assert stats.returncode == 0 and " f" in stats.stdout, stats
    page = cli(out, "html", "-o", tmp_path / "now.html")
    assert page.returncode == 0 and (tmp_path / "now.html").stat().st_size > 0, page.stderr
    assert proc.poll() is None  # all of it while the program still runs
    proc.communicate("go\n", timeout=120)
    assert proc.returncode == 0
    # Finished: the same commands read its tree.json.
    assert "f ×10" in cli(out, "show").stdout


def tail(out, *args):
    return cli(out, "tail", *args)


def test_tail_prints_the_last_calls_of_a_run_still_going(python, tmp_path):
    out = tmp_path / "out"
    proc = start_traced(python, [CALLS, 10, "wait"], tmp_path)
    wait_ready(proc)
    every = until(lambda: (lambda t: t if t.stdout.count("<- f = ") == 5 else None)(
        tail(out, "-n", "0")))
    assert every and every.returncode == 0, every
    assert [l.split("<- f = ")[1].split()[0] for l in every.stdout.splitlines()
            if "<- f = " in l] == ["0", "1", "2", "3", "4"]
    assert "-> main(" in every.stdout
    last = tail(out, "-n", "2")
    assert last.stdout.splitlines() == every.stdout.splitlines()[-2:]
    assert proc.poll() is None  # all of it while the program still runs
    proc.communicate("go\n", timeout=120)
    assert proc.returncode == 0


def test_tail_follows_a_run_to_its_end(python, tmp_path):
    out = tmp_path / "out"
    proc = start_traced(python, [CALLS, 10, "wait"], tmp_path)
    wait_ready(proc)
    assert until(lambda: list(out.glob("*/.live")))
    follow = subprocess.Popen([str(CLI), "-d", str(out), "tail", "-f", "-n", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=clean_env())
    proc.communicate("go\n", timeout=120)
    got, err = follow.communicate(timeout=120)  # it stops once the run is complete
    assert follow.returncode == 0, err
    assert got.count("<- f = ") == 10 and "<- main" in got, got


def test_a_run_is_going_from_the_making_of_its_directory(tmp_path):
    """The writer locks a run's directory as it makes it, before .live and events.jsonl are
    in it, and lets go once tree.json is: a reader finding .live alone finds the run going.
    It used to read as not finished there (no lock on an events.jsonl not made yet): the
    window test_tail_follows_a_run_to_its_end fell into under load."""
    out = tmp_path / "out"
    run = out / "20261204-120000-4242"
    run.mkdir(parents=True)
    head = json.dumps({"format": 4, "run": run.name, "parentRun": None, "pid": 4242, "ppid": 1,
                       "argv": ["python3", "app.py"], "cwd": "/", "python": "3.11.2",
                       "start": 1796385600000000})
    (run / ".live").write_text(head[:-1] + '\n0 0 0\n1 4242 "MainThread"\n')
    fd = os.open(run, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as the writer holds it
        show = cli(out, "show")
        assert show.returncode == 0, show.stderr
        assert show.stdout.startswith("Run %s · python3 app.py · Python 3.11.2 · running" %
                                      run.name), show.stdout
        assert tail(out, "-n", "0").returncode == 0
    finally:
        os.close(fd)
    # No writer, no tree and nothing but .live: its writer died before writing a record.
    assert cli(out, "show").returncode != 0
    assert "nothing recorded (writer died)" in cli(out, "ls").stdout


def test_tail_units_prints_each_test_with_its_outcome(tmp_path):
    out = tmp_path / "out"
    units = PROGRAMS.parent / "units"
    subprocess.run([str(RUN), "-q", "--keep", "failed", "-o", str(out), "/usr/bin/python3", "-m",
                    "pytest", "-q", "-p", "no:cacheprovider", str(units / "pytest_suite.py")],
                   capture_output=True, env=clean_env(), cwd=units, timeout=300)
    got = tail(out, "--units", "-n", "0")
    assert got.returncode == 0, got.stderr
    lines = sorted(l.split()[1:3] for l in got.stdout.splitlines())
    assert lines == [["ERROR", "pytest_suite.py::test_error"],
                     ["FAILED", "pytest_suite.py::test_fail"],
                     ["PASSED", "pytest_suite.py::test_pass"],
                     ["SKIPPED", "pytest_suite.py::test_skip"]]
    assert "ValueError: too big: 2  -> units/2/tree.json" in got.stdout


def start_job(tmp_path, after=""):
    """A program whose unit __main__:job fails, then prints 'ready' and waits for a line on
    stdin (then runs `after`), traced by flowtrace-run with all three pipes."""
    (tmp_path / "job.py").write_text(
        "import sys\ndef job(n):\n    raise ValueError('boom %d' % n)\ntry:\n    job(1)\n"
        "except ValueError:\n    pass\nprint('ready', flush=True)\nsys.stdin.readline()\n" +
        after)
    return subprocess.Popen([str(RUN), "-o", str(tmp_path / "out"), "--unit", "__main__:job",
                             "/usr/bin/python3", "job.py"], cwd=tmp_path, env=clean_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_a_finished_unit_has_its_row_and_tree_while_the_program_runs(tmp_path):
    out = tmp_path / "out"
    proc = start_job(tmp_path)
    assert proc.stdout.readline() == "ready\n"
    rows = until(lambda: [json.loads(l) for l in p.read_text().splitlines()]
                 if (p := next(out.glob("*/units.jsonl"), None)) else [])
    assert [(r["name"], r["outcome"]) for r in rows] == [("__main__:job", "failed")], rows
    tree = rows[0]["tree"]
    assert json.loads((next(out.glob("*/units.jsonl")).parent / tree).read_text())["unit"]
    assert proc.poll() is None  # all of it while the program still runs
    proc.communicate("\n", timeout=120)


def test_the_wrapper_prints_a_failed_unit_while_the_program_runs(tmp_path):
    # issue 12: flowtrace-run's FAILED line when the unit ends, not at exit. The program
    # waits for the test, which answers only once it has read the line.
    out = tmp_path / "out"
    proc = start_job(tmp_path, "print('done', flush=True)\nsys.exit(3)\n")
    try:
        lines = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(l) for l in proc.stderr], daemon=True)
        reader.start()
        assert proc.stdout.readline() == "ready\n"
        seen = []
        deadline = time.monotonic() + PATIENCE
        while not any(l.startswith("[FlowTrace] FAILED:") for l in seen):
            try:
                seen.append(lines.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        assert proc.poll() is None  # the program still runs: it waits for us
        [run] = [p for p in out.iterdir() if p.is_dir()]
        assert seen[-1:] == ["[FlowTrace] FAILED: __main__:job -> %s/units/1/tree.json "
                             "(ValueError: boom 1)\n" % run], seen
        proc.stdin.write("\n")
        proc.stdin.close()
        rest = proc.stdout.read()
        proc.wait(timeout=120)
        reader.join(timeout=60)
        while not lines.empty():
            seen.append(lines.get())
        # The program's own output and status are its own; the line is not printed again.
        assert rest == "done\n" and proc.returncode == 3
        flowtrace = [l.split(":")[0].split(" in ")[0] for l in seen if l.startswith("[FlowTrace]")]
        assert flowtrace == ["[FlowTrace] FAILED", "[FlowTrace] Profiling finished"], seen
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def unit_rows(out):
    """(name, outcome) of the units table of out/index.sqlite, [] while it has none."""
    import sqlite3
    try:
        with sqlite3.connect(f"file:{out / 'index.sqlite'}?mode=ro", uri=True) as db:
            return db.execute("SELECT name, outcome FROM units ORDER BY unit_id").fetchall()
    except sqlite3.Error:
        return []


def test_a_finished_unit_has_its_index_row_while_the_suite_runs(tmp_path):
    # issue 12: a unit's row in index.sqlite within a tick of its end, not at the run's.
    # The second test waits for a file this test creates only once it has seen the first
    # test's row in the index.
    out, flag = tmp_path / "out", tmp_path / "seen"
    (tmp_path / "test_wait.py").write_text(
        "import os, time\n"
        "def test_fails():\n    assert 1 == 2\n"
        "def test_waits():\n    deadline = time.monotonic() + 300\n"
        f"    while not os.path.exists({str(flag)!r}) and time.monotonic() < deadline:\n"
        "        time.sleep(0.05)\n")
    proc = subprocess.Popen([str(RUN), "-q", "-o", str(out), "/usr/bin/python3", "-m", "pytest",
                             "-q", "-p", "no:cacheprovider", "test_wait.py"], cwd=tmp_path,
                            env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        rows = until(lambda: unit_rows(out))
        running = proc.poll() is None
    finally:
        flag.touch()
        stdout, stderr = proc.communicate(timeout=300)
    assert rows == [("test_wait.py::test_fails", "failed")], (rows, stderr)
    assert running  # the suite still ran: its second test waited for the row
    assert proc.returncode == 1 and "1 failed, 1 passed" in stdout, stdout + stderr
    # The run's own put at its end adds its row, and the second test's.
    assert unit_rows(out) == [("test_wait.py::test_fails", "failed"),
                              ("test_wait.py::test_waits", "passed")]
    import sqlite3
    with sqlite3.connect(out / "index.sqlite") as db:
        [(run_id, script)] = db.execute("SELECT id, script FROM runs").fetchall()
        assert db.execute("SELECT DISTINCT run_id FROM units").fetchall() == [(run_id,)]
    assert script == "-m pytest"
