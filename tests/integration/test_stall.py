"""A writer that stops reading (stalled, SIGSTOPped): the program never waits longer than
FLOWTRACE_WAIT_TIMEOUT, never at all in --drop mode, and the run says exactly how many
events it lacks, counted by the process and written by the writer once it reads again."""
import signal
import subprocess
import time

from conftest import PROGRAMS, balanced, runs_in
from procs_util import Writer, flowtrace_lines, no_core, records, wait_ready

STALL = PROGRAMS / "stall.py"


def produced(n, m=0):
    """Event records stall.py N [M] produces: f() x (N + M), main(), end() and the module,
    each a call and a return."""
    return 2 * (n + m + 3)


def run_with_stalled_writer(python, tmp_path, n, **env):
    """Starts stall.py under a writer of the test's own, stops the writer for the calls
    and lets it go on before the program ends. Returns (returncode, stdout, stderr, run)."""
    w = Writer(tmp_path)
    proc = subprocess.Popen([python, str(STALL), str(n)], cwd=tmp_path, env=w.env(**env),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=no_core)
    wait_ready(proc)
    w.proc.send_signal(signal.SIGSTOP)
    try:
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == "called\n"
    finally:
        w.proc.send_signal(signal.SIGCONT)
    out, err = proc.communicate("end\n", timeout=120)
    w.proc.terminate()
    w.proc.wait(timeout=60)
    [run] = runs_in(w.dir)
    return proc.returncode, "ready\ncalled\n" + out, err, run


def test_a_stalled_writer_detaches_tracing_and_the_run_counts_exactly_what_it_lacks(python,
                                                                                    tmp_path):
    n = 400_000  # megabytes of records: more than the socket holds while nobody reads
    status, out, err, run = run_with_stalled_writer(python, tmp_path, n,
                                                    FLOWTRACE_WAIT_TIMEOUT="1")
    assert (status, out) == (0, "ready\ncalled\ndone\n")
    [line] = flowtrace_lines(err)
    assert "took no events for 1 s (FLOWTRACE_WAIT_TIMEOUT)" in line
    tree = run.tree
    assert tree["ended"] == "exit" and tree["exitCode"] == 0
    tracer = tree["tracer"]
    # Every event is in the files or counted lost: none is missing without a count.
    assert tracer["lost"] > 0
    assert tracer["events"] + tracer["lost"] == produced(n)
    assert tracer["events"] == records(run)
    balanced(run.events)


def test_in_drop_mode_the_program_never_waits_for_a_stalled_writer(python, tmp_path):
    n = 400_000
    # A wait would last a minute: the test would time out.
    status, out, err, run = run_with_stalled_writer(python, tmp_path, n, FLOWTRACE_DROP="1",
                                                    FLOWTRACE_WAIT_TIMEOUT="60")
    assert (status, out) == (0, "ready\ncalled\ndone\n")
    assert flowtrace_lines(err) == []  # drop mode drops and goes on, silently
    tracer = run.tree["tracer"]
    assert tracer["blockedMicros"] == 0  # never waited
    assert tracer["lost"] > 0
    assert tracer["events"] + tracer["lost"] == produced(n)
    # Each event counted as written is a line (a return whose call a hole closed is lost).
    assert tracer["events"] == records(run)
    # Where records were dropped the writer closes the open calls: "events lost".
    assert {e.get("incomplete") for e in run.events} <= {None, "events lost"}
    balanced(run.events)


def test_a_writer_stalled_as_the_program_ends_still_gets_its_end_and_counts(python, tmp_path):
    """The writer stops once the calls are made and reads again only after the program
    has ended: the program's last records (its END too) cannot go in the stream, a frame
    cut in the middle. The run still ends as the program did and says what it lacks."""
    n = m = 400_000  # megabytes of records as the program ends: more than the socket holds
    w = Writer(tmp_path)
    proc = subprocess.Popen([python, str(STALL), str(n), str(m)], cwd=tmp_path,
                            env=w.env(FLOWTRACE_WAIT_TIMEOUT="1"), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=no_core)
    wait_ready(proc)
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == "called\n"
    w.proc.send_signal(signal.SIGSTOP)
    try:
        out, err = proc.communicate("end\n", timeout=120)
    finally:
        w.proc.send_signal(signal.SIGCONT)
    assert (proc.returncode, out) == (0, "done\n")
    [line] = flowtrace_lines(err)
    assert "took no events for 1 s (FLOWTRACE_WAIT_TIMEOUT)" in line
    deadline = time.monotonic() + 120
    while not runs_in(w.dir) and time.monotonic() < deadline:
        time.sleep(0.1)  # the writer reads the 25 MB left in the socket, then the end
    status, werr = w.stop()
    [run] = runs_in(w.dir)
    tree = run.tree
    assert tree["ended"] == "exit" and tree["exitCode"] == 0
    assert any("FLOWTRACE_WAIT_TIMEOUT" in note for note in tree.get("notices", []))
    tracer = tree["tracer"]
    assert tracer["lost"] > 0
    assert tracer["events"] + tracer["lost"] == produced(n, m)
    assert tracer["events"] == records(run)
    assert {e.get("incomplete") for e in run.events} <= {None, "events lost"}
    balanced(run.events)
    assert not (run.path / "end.ftb").exists()
    assert "truncated" not in werr and status == 0
