"""The writer under stress: a slow disk slows the program down and loses nothing; a
writer that dies, a full disk or an unwritable directory leave the program untouched,
say so in one line, and the run counts exactly what it lacks; a hundred processes at
once all get their runs."""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import INTERPRETERS, PROGRAMS, RUN, balanced, clean_env, runs_in, trace
from procs_util import (FAULTFS, flowtrace_lines, lines_valid, no_core, records,
                        untraced, wait_ready, wrapper_cmd)

CALLS = PROGRAMS / "calls.py"


def produced(n):
    """Event records calls.py N produces: a call and a return each for f() x N, main()
    and the module."""
    return 2 * (n + 2)


def faulty(rules):
    # Without the fault library the rules do nothing and a test of them proves nothing.
    assert FAULTFS.exists(), f"{FAULTFS} is missing: make {FAULTFS.relative_to(FAULTFS.parents[2])}"
    return clean_env(LD_PRELOAD=FAULTFS, FT_FAULT=rules)


def check_untouched(python, tmp_path, proc, args):
    plain = untraced(python, args, tmp_path)
    assert (proc.returncode, proc.stdout) == (plain.returncode, plain.stdout)


# One interpreter: what is tested is the writer's reading held back by its disk and the
# library's wait for the socket (inject/ship.c), the same C code under every interpreter
# and engine; the wait itself is tested on each (test_stall.py). 40-54 s per interpreter.
@pytest.mark.parametrize("python", INTERPRETERS[:1])
def test_a_slow_disk_slows_the_program_and_loses_nothing(python, tmp_path):
    n = 150_000
    # Every spool write takes 100 ms: the writer takes at most 2.5 MB/s.
    proc, [run] = trace(python, [CALLS, n], tmp_path, env=faulty("write:raw.ftb:delay:100"))
    check_untouched(python, tmp_path, proc, [CALLS, n])
    assert flowtrace_lines(proc.stderr) == []
    tracer = run.tree["tracer"]
    assert (tracer["events"], tracer["lost"]) == (produced(n), 0)
    assert tracer["blockedMicros"] > 0  # the program waited for the writer
    assert balanced(run.events) == n + 2


def children_of(pid):
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return kids


def test_the_writer_dying_leaves_the_program_untouched_and_the_run_counted(python, tmp_path):
    n = 300_000
    proc = subprocess.Popen(wrapper_cmd(tmp_path / "out", python, [CALLS, n, "wait"]),
                            cwd=tmp_path, env=clean_env(), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=no_core)
    wait_ready(proc)
    [writer] = [p for p in children_of(proc.pid)
                if b"flowtrace-writer" in open(f"/proc/{p}/cmdline", "rb").read()]
    time.sleep(0.7)  # the first half reaches the writer (flush interval 0.5 s)
    os.kill(writer, signal.SIGKILL)
    out, err = proc.communicate("go\n", timeout=300)
    plain = untraced(python, [CALLS, n, "wait"], tmp_path, input="go\n")
    assert (proc.returncode, "ready\n" + out) == (plain.returncode, plain.stdout)
    assert plain.stdout == "ready\ndone\n"
    [line] = flowtrace_lines(err)
    assert "lost the connection to flowtrace-writer" in line
    # The wrapper rebuilt the run from the dead writer's spool and the process's END.
    assert "flowtrace-writer stopped during the run (signal 9); rebuilt 1 run(s)" in err
    [run] = runs_in(tmp_path / "out")
    assert run.tree["ended"] == "exit" and run.tree["exitCode"] == 0
    assert "rebuilt" in run.tree["endReason"]
    tracer = run.tree["tracer"]
    assert tracer["events"] + tracer["lost"] == produced(n)
    assert 0 < tracer["lost"] and 0 < tracer["events"] == records(run)
    balanced(run.events)
    # Nothing of the dead writer's left; the program's source kept, as in any run.
    assert sorted(os.listdir(run.path)) == ["events.jsonl", "sources", "tree.json"]
    assert list(run.tree["sources"]) == [str(CALLS)]


def test_a_full_disk_stops_the_run_and_counts_what_it_lacks(python, tmp_path):
    n = 100_000
    proc, [run] = trace(python, [CALLS, n], tmp_path,
                        env=faulty("write:events.jsonl:enospc:2000000"))
    check_untouched(python, tmp_path, proc, [CALLS, n])
    [line] = flowtrace_lines(proc.stderr)
    assert "stopped recording this run" in line and "No space left on device" in line
    tree = run.tree
    assert tree["outputError"] == "No space left on device"
    assert tree["ended"] == "exit" and tree["exitCode"] == 0
    # Whole lines up to the failure, each a record; everything else is counted as lost.
    assert tree["tracer"]["events"] == records(run) == len(run.events) > 0
    assert tree["tracer"]["events"] + tree["tracer"]["lost"] == produced(n)
    assert all(t["calls"] == [] for t in tree["threads"])


def test_when_nothing_can_be_written_the_writer_says_what_was_lost(python, tmp_path):
    n = 100_000
    proc, runs = trace(python, [CALLS, n], tmp_path, env=faulty("write:/out/:enospc:3000000"))
    check_untouched(python, tmp_path, proc, [CALLS, n])
    assert runs == []  # no room even for tree.json
    assert len(flowtrace_lines(proc.stderr)) == 1, proc.stderr
    [line] = flowtrace_lines(proc.stderr)
    assert "No space left on device" in line
    m = re.search(r"flowtrace-writer: run (\S+) \(pid \d+\): output stopped \(No space left on "
                  r"device\); (\d+) events written, (\d+) lost", proc.stderr)
    assert m, proc.stderr
    written, lost = int(m.group(2)), int(m.group(3))
    assert written + lost == produced(n)
    run_dir = tmp_path / "out" / m.group(1)
    lines = lines_valid(run_dir / "events.jsonl")  # whole lines only
    assert len(lines) == written
    assert not (run_dir / ".tree.json.tmp").exists()


def test_an_unwritable_output_directory_leaves_the_program_untouched(python, tmp_path):
    n = 50_000
    proc, runs = trace(python, [CALLS, n], tmp_path, env=faulty("mkdir:/out/:eacces"))
    check_untouched(python, tmp_path, proc, [CALLS, n])
    assert runs == []
    [line] = flowtrace_lines(proc.stderr)
    assert "cannot create a run in" in line and "Permission denied" in line
    assert re.search(r"flowtrace-writer: pid \d+: no run written in \S+ \(Permission denied\); "
                     rf"{produced(n)} events lost", proc.stderr), proc.stderr
    # An output directory the wrapper cannot even create: the command runs untraced.
    proc = subprocess.run(wrapper_cmd("/etc/hostname/out", python, [CALLS, 10]), cwd=tmp_path,
                          env=clean_env(), capture_output=True, text=True)
    check_untouched(python, tmp_path, proc, [CALLS, 10])
    assert proc.stderr == ("flowtrace-run: cannot create output directory '/etc/hostname/out': "
                           "Not a directory; running the command untraced\n")


def test_a_hundred_processes_at_once_all_get_their_runs(python, tmp_path):
    proc, runs = trace(python, [PROGRAMS / "many.py", 100, 200], tmp_path, timeout=600)
    assert proc.returncode == 0 and proc.stdout == "children 100 failed 0\n", proc.stderr
    assert len(runs) == 101
    [root] = [r for r in runs if r.tree["parentRun"] is None]
    children = [r for r in runs if r is not root]
    assert {c.tree["parentRun"] for c in children} == {root.tree["run"]}
    for c in children:
        assert c.tree["ended"] == "exit" and c.tree["tracer"]["lost"] == 0
        assert balanced(c.events) == 201  # <module> and 200 step() calls


def test_the_writers_memory_stays_small_with_forty_busy_processes_at_once(tmp_path):
    """Each connection costs the writer a 64 KiB decoder buffer (big frames are applied in
    pieces as they arrive, never held whole) and 32 KiB file buffers, with --compress too
    (one zstd context for all): 40 processes writing at once stay under 32 MiB (about 18;
    with whole 1 MiB frames held per connection 44, with 1 MiB file buffers and a zstd
    context per file 150)."""
    from conftest import BUILD, LIB
    sock, out = tmp_path / "w.sock", tmp_path / "out"
    writer = subprocess.Popen([str(BUILD / "flowtrace-writer"), "--dir", str(out), "--socket",
                               str(sock), "--idle-exit", "600", "--compress"], env=clean_env())
    try:
        deadline = time.monotonic() + 60
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        code = ("import time\ndef leaf(i): return i\nfor i in range(20000): leaf(i)\n"
                "time.sleep(2)\nfor i in range(20000): leaf(i)\n")
        procs = [subprocess.Popen(["/usr/bin/python3", "-c", code], stderr=subprocess.PIPE,
                                  env=clean_env(LD_PRELOAD=str(LIB), FLOWTRACE_SOCKET=str(sock)))
                 for _ in range(40)]
        assert [p.communicate(timeout=600)[1] for p in procs] == [b""] * 40
        deadline = time.monotonic() + 120
        while len(list(out.glob("*/tree.json.zst"))) < 40 and time.monotonic() < deadline:
            time.sleep(0.1)
        with open(f"/proc/{writer.pid}/status") as f:
            peak = int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)) // 1024
    finally:
        writer.terminate()
        writer.wait(timeout=120)
    assert len(list(out.glob("*/tree.json.zst"))) == 40
    assert peak < 32, f"the writer peaked at {peak} MiB"


def test_a_run_of_which_nothing_could_be_written_is_not_left_unfinished(python, tmp_path):
    n = 1_000
    proc, runs = trace(python, [CALLS, n], tmp_path, env=faulty("write:/out/:enospc:0"))
    check_untouched(python, tmp_path, proc, [CALLS, n])
    assert runs == []
    m = re.search(r"flowtrace-writer: pid \d+: no run written in \S+ \(No space left on "
                  r"device\); (\d+) events lost", proc.stderr)
    assert m and int(m.group(1)) == produced(n), proc.stderr
    # No directory is left to be listed as a run that never finishes.
    assert [p.name for p in (tmp_path / "out").iterdir() if p.is_dir()] == []
    from conftest import CLI
    ls = subprocess.run([str(CLI), "ls", "-d", str(tmp_path / "out")], capture_output=True,
                        text=True, env=clean_env())
    assert "unfinished" not in ls.stdout, ls.stdout


def test_a_run_none_of_which_reached_the_disk_is_not_said_untraced(tmp_path):
    """A full disk from the start: the failed test's FAILED line names the run's directory
    (its tree could not be written), which stays with what units.jsonl got; the closing
    line says no run was written (it said "no Python process was traced"), with units or
    without."""
    (tmp_path / "test_s.py").write_text("def test_ok():\n    assert 1\n\n\n"
                                        "def test_bad():\n    assert 0, 'boom'\n")
    out = tmp_path / "out"
    proc, runs = trace("/usr/bin/python3", ["-m", "pytest", "-q", "-p", "no:cacheprovider",
                                            "test_s.py"],
                       tmp_path, env=faulty(f"write:{out}/:enospc:0"))
    assert proc.returncode == 1 and "1 failed, 1 passed" in proc.stdout, proc.stderr
    assert runs == []
    [failed] = [l for l in proc.stderr.splitlines() if l.startswith("[FlowTrace] FAILED")]
    [run] = [p for p in out.iterdir() if p.is_dir()]
    assert failed.startswith(f"[FlowTrace] FAILED: test_s.py::test_bad -> {run} ("), failed
    assert os.listdir(run) == ["units.jsonl"]
    assert re.search(r"^\[FlowTrace\] Profiling finished in [0-9.]+s: no run written in "
                     + re.escape(str(out)) + r" \(see above\)$", proc.stderr, re.M), proc.stderr
    assert "no Python process was traced" not in proc.stderr
    # Without units too: the writer lists the run it could not write.
    out = tmp_path / "plain"
    proc = subprocess.run([str(RUN), "-o", str(out), "/usr/bin/python3", str(CALLS), "10"],
                          cwd=tmp_path, env=faulty(f"write:{out}/:enospc:0"),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.endswith(f"s: no run written in {out} (see above)\n"), proc.stderr
    # Every one of its events is lost, and said so: calls.py 10 makes 24 (module, main and
    # f x 10, each a call and a return). It said "0 events lost": the lines were still in
    # memory when events.jsonl's last write failed, and counted as written.
    assert proc.stderr.splitlines()[-2].endswith(
        f": no run written in {out} (No space left on device); 24 events lost"), proc.stderr


def test_every_unit_gets_its_row_after_the_disk_fills(tmp_path):
    """A --keep all pytest run whose events.jsonl files fill the disk early (pytest's own
    start-up writes more than that): the calls stop being written, but every test still
    gets its row in units.jsonl and the index with its own outcome, the wrapper's FAILED
    lines name the failed ones, and the run counts exactly what its events.jsonl lacks.
    (Before: frames stopped being applied, so the test running became "error" and every
    later one had no row.)"""
    from conftest import CLI
    units = PROGRAMS.parent / "units"
    # -s: the library's line must not land in pytest's capture of a test's stderr.
    proc, [run] = trace("/usr/bin/python3", ["-m", "pytest", "-q", "-s", "-p",
                                             "no:cacheprovider", units / "long_suite.py"],
                        tmp_path, cwd=units, env=faulty("write:events.jsonl:enospc:200000"),
                        wrapper_args=["--keep", "all"])
    assert proc.returncode == 1, proc.stderr
    assert "3 failed, 147 passed" in proc.stdout
    [line] = flowtrace_lines(proc.stderr)
    assert "No space left on device" in line and "units of work are still listed" in line
    assert run.tree["outputError"] == "No space left on device"
    want = [(f"long_suite.py::test_n[{i}]", "failed" if i % 50 == 7 else "passed")
            for i in range(150)]
    rows = lines_valid(run.path / "units.jsonl")
    assert [(r["name"], r["outcome"]) for r in rows] == want
    # A unit's files are kept only whole: those that ended before the disk filled.
    kept = [r["tree"] is not None for r in rows]
    assert kept == sorted(kept, reverse=True) and sum(kept) < 10, kept
    assert sorted(os.listdir(run.path / "units")) == [str(r["unit"]) for r in rows if
                                                      r["tree"] is not None]
    assert [l.split("FAILED: ")[1].split(" ->")[0] for l in proc.stderr.splitlines()
            if "FAILED: " in l] == [n for n, o in want if o == "failed"]
    ls = subprocess.run([str(CLI), "ls", "--units", "-d", str(tmp_path / "out"), "--color",
                         "never"], capture_output=True, text=True, env=clean_env())
    assert ls.returncode == 0 and ls.stdout.count("long_suite.py::test_n[") == 150, ls
    # Whole lines up to the failure, each a record; everything else is counted as lost.
    tracer = run.tree["tracer"]
    assert tracer["events"] == records(run) == len(run.events)
    assert tracer["lost"] > 0


def test_a_writer_killed_before_writing_anything_leaves_a_run_said_empty(python, tmp_path):
    """The writer dies (SIGKILL, at a chosen point: as it opens events.jsonl) after making
    the run's directory and its .live, before writing a record. The readers said the run
    was unfinished forever, and --recover had nothing to rebuild it from: they now say it
    recorded nothing because its writer died, and --recover ends it as an empty run."""
    from conftest import CLI
    from procs_util import WRITER, Writer
    w = Writer(tmp_path, env=faulty("open:events.jsonl:kill"))
    proc = subprocess.run([python, str(CALLS), "10"], cwd=tmp_path, env=w.env(),
                          capture_output=True, text=True, timeout=120)
    check_untouched(python, tmp_path, proc, [CALLS, 10])
    assert w.proc.wait(timeout=60) == -signal.SIGKILL
    [run] = [p for p in w.dir.iterdir() if p.is_dir()]
    assert os.listdir(run) == [".live"]
    out = str(w.dir)

    def cli(*args):
        return subprocess.run([str(CLI), *args], capture_output=True, text=True,
                              env=clean_env(), timeout=60)
    ls = cli("ls", "-d", out)
    assert ls.returncode == 0 and ls.stdout.startswith(f"❌ {run.name} "), ls.stdout
    assert "nothing recorded (writer died)" in ls.stdout and "unfinished" not in ls.stdout
    for cmd in ("show", "stats"):
        named = cli(cmd, "-d", out, run.name)
        assert named.returncode == 1 and named.stderr == (
            f"flowtrace {cmd}: run {run.name} recorded nothing: flowtrace-writer died after "
            f"making {run} and before writing any of it ('flowtrace-writer --dir {out} "
            "--recover' ends it as an empty run)\n")
        latest = cli(cmd, "-d", out)
        assert latest.stderr == (f"flowtrace {cmd}: no complete runs in {out} (run {run.name} "
                                 "recorded nothing: its writer died)\n")
    rec = subprocess.run([str(WRITER), "--dir", out, "--recover"], capture_output=True,
                         text=True, env=clean_env(), timeout=60)
    assert (rec.returncode, rec.stdout, rec.stderr) == (0, f"{run}\t0\t0\n", "")
    assert sorted(os.listdir(run)) == ["events.jsonl", "tree.json"]
    [done] = runs_in(w.dir)
    tree = done.tree
    assert (tree["ended"], tree["exitCode"], tree["threads"]) == ("detached", None, [])
    assert tree["argv"][1:] == [str(CALLS), "10"] and tree["pid"] > 0
    assert tree["tracer"] == {"events": 0, "lost": 0, "calls": 0}
    assert done.events == []
    [notice] = tree["notices"]
    assert notice.startswith("nothing recorded: flowtrace-writer died")
    shown = cli("show", "-d", out)
    assert shown.returncode == 0 and f"Notice: {notice}" in shown.stdout, shown.stderr
    assert " · detached · " in shown.stdout
    assert cli("stats", "-d", out).returncode == 0
