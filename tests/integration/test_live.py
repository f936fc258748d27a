"""What happened is on disk while the program still runs: every event a complete line in
events.jsonl, in --logfile and on --stdout, soon after it happened (the writer applies
frames as they arrive and writes its files at every tick), not when the program ends."""
import json
import queue
import threading
import time

from conftest import PROGRAMS
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
    assert [e["result"] for e in events] == ["0", "1", "2", "3", "4"]
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
    assert [e["result"] for e in f_exits(got)] == ["0", "1", "2", "3", "4"]
    assert proc.poll() is None
    proc.stdin.write("go\n")
    proc.stdin.close()
    assert proc.wait(timeout=120) == 0
