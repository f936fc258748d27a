"""Child processes: each Python process is its own run, linked to the run that started it,
in the same output directory, through the same writer; nothing is written twice; other
programs are untouched; --no-children traces only the first process."""
import os
import subprocess

import pytest

from conftest import PROGRAMS, RUN, balanced, clean_env, runs_in, trace
from procs_util import untraced

PROCS = PROGRAMS / "procs.py"


def traced_procs(python, tmp_path, how, *wrapper_args):
    proc, runs = trace(python, [PROCS, how], tmp_path, wrapper_args=wrapper_args)
    plain = untraced(python, [PROCS, how], tmp_path)
    assert (proc.returncode, proc.stdout) == (plain.returncode, plain.stdout), proc.stderr
    assert proc.returncode == 0
    for run in runs:
        balanced(run.events)
        assert run.tree["tracer"]["lost"] == 0
    return runs


def functions(run):
    return [e["function"] for e in run.events if e["event"] == "ENTER"]


def by_id(runs):
    return {r.tree["run"]: r for r in runs}


def the_root(runs):
    [root] = [r for r in runs if r.tree["parentRun"] is None]
    return root


def test_os_fork_child_is_its_own_run_with_nothing_of_the_parent(python, tmp_path):
    runs = traced_procs(python, tmp_path, "fork")
    assert len(runs) == 2
    parent, child = runs
    assert child.tree["parentRun"] == parent.tree["run"]
    assert child.tree["ppid"] == parent.tree["pid"]
    assert child.tree["ended"] == "os._exit" and child.tree["exitCode"] == 0
    # The child's run starts at the fork: the parent's calls are the parent's only.
    assert functions(child) == ["in_child"]
    assert functions(parent) == ["<module>", "main", "before_fork", "after"]
    assert child.path.parent == parent.path.parent


@pytest.mark.parametrize("method,count", [("mp-fork", 2), ("mp-spawn", 3),
                                          ("mp-forkserver", 4)])
def test_multiprocessing_children_are_runs_linked_to_their_starter(python, tmp_path, method,
                                                                   count):
    runs = traced_procs(python, tmp_path, method)
    root = the_root(runs)
    ids = by_id(runs)
    assert len(runs) == count
    workers = [r for r in runs if "work" in functions(r)]
    [worker] = workers
    assert functions(worker)[-2:] == ["work", "in_child"]
    assert "in_child" not in functions(root)
    if method == "mp-forkserver":
        # Forked by the fork server, which the program started.
        server = ids[worker.tree["parentRun"]]
        assert server.tree["parentRun"] == root.tree["run"]
        assert any("forkserver" in a for a in server.tree["argv"])
    else:
        assert worker.tree["parentRun"] == root.tree["run"]
    # Every other run (the resource tracker, the fork server) belongs to the program too.
    assert all(r.tree["parentRun"] in ids for r in runs if r is not root)


def test_process_pool_workers_are_runs_of_the_program(python, tmp_path):
    runs = traced_procs(python, tmp_path, "pool")
    root = the_root(runs)
    workers = [r for r in runs if r is not root]
    assert len(workers) == 2
    assert all(w.tree["parentRun"] == root.tree["run"] for w in workers)
    # Six tasks, each a work() -> in_child() call, spread over the workers.
    assert sum(functions(w).count("work") for w in workers) == 6
    assert sum(functions(w).count("in_child") for w in workers) == 6


@pytest.mark.parametrize("how", ["subprocess", "shell"])
def test_a_python_started_by_the_program_is_linked_even_through_a_shell(python, tmp_path, how):
    runs = traced_procs(python, tmp_path, how)
    assert len(runs) == 2  # the shell itself is not Python: untouched, no run
    root, child = runs
    assert child.tree["parentRun"] == root.tree["run"]
    assert functions(child) == ["<module>", "in_child"]
    assert child.tree["argv"][1] == "-c"


def test_exec_of_python_continues_as_a_new_run_of_the_same_process(python, tmp_path):
    runs = traced_procs(python, tmp_path, "exec")
    assert len(runs) == 2
    before, after = runs
    assert before.tree["ended"] == "exec"
    assert after.tree["pid"] == before.tree["pid"]
    assert after.tree["parentRun"] == before.tree["run"]
    assert after.tree["run"] != before.tree["run"]
    assert functions(after) == ["<module>", "in_child"]


@pytest.mark.parametrize("how,children", [("fork", 1), ("mp-spawn", 2), ("subprocess", 1),
                                          ("shell", 1), ("exec", 1), ("pool", 2)])
def test_no_children_traces_only_the_first_process(python, tmp_path, how, children):
    (tmp_path / "all").mkdir()
    assert len(traced_procs(python, tmp_path / "all", how)) == 1 + children
    runs = traced_procs(python, tmp_path, how, "--no-children")
    [run] = runs
    assert run.tree["parentRun"] is None
    assert functions(run)[:3] == ["<module>", "main", "before_fork"]
    assert "in_child" not in functions(run)


def test_the_environment_children_see_is_not_changed(python, tmp_path):
    for n, args in enumerate(((), ("--no-children",))):
        (tmp_path / str(n)).mkdir()
        runs = traced_procs(python, tmp_path / str(n), "env", *args)
        assert len(runs) == (1 if args else 2)
    # traced_procs compared the output ("same env True") with the untraced program's.


def test_non_python_children_are_untouched(python, tmp_path):
    script = tmp_path / "shells.py"
    script.write_text("import subprocess\n"
                      "r = subprocess.run(['sh', '-c', 'echo out; echo err >&2; exit 3'],"
                      " capture_output=True)\n"
                      "print(r.returncode, r.stdout, r.stderr)\n")
    proc, runs = trace(python, [script], tmp_path)
    assert proc.stdout == "3 b'out\\n' b'err\\n'\n"
    assert len(runs) == 1


def test_a_python_started_after_the_program_ended_is_traced(python, tmp_path):
    # The child's python starts only after the program has exited (procs.py "late"): the
    # writer keeps listening while a process the program started is alive.
    proc, runs = trace(python, [PROCS, "late"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "cannot connect" not in proc.stderr and "untraced" not in proc.stderr, proc.stderr
    assert "child 42" in proc.stdout
    assert len(runs) == 2, proc.stderr
    [late] = [r for r in runs if functions(r) == ["<module>", "in_child"]]
    assert late.tree["ended"] == "exit" and late.tree["tracer"]["lost"] == 0
    for run in runs:
        balanced(run.events)


@pytest.mark.parametrize("how", ["left-running", "daemon"])
def test_a_process_left_running_is_not_waited_for_and_is_said(python, tmp_path, how):
    # The program leaves a shell running (in its session, or a daemon in a session of its
    # own) that ends only when we close its stdin: the wrapper ends while it runs (after
    # at most 5 s in the program's session, at once for a daemon), and says so.
    read, write = os.pipe()
    try:
        proc = subprocess.run([str(RUN), "-o", str(tmp_path / "out"), python, str(PROCS),
                               how], stdin=read, cwd=tmp_path, env=clean_env(),
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "done\n"
        assert ("[FlowTrace] 1 process started by the program still running after it ended: "
                "left running; a Python process started from now on is not traced\n"
                in proc.stderr), proc.stderr
        [run] = runs_in(tmp_path / "out")
        assert functions(run)[:3] == ["<module>", "main", "before_fork"]
    finally:
        os.close(write)
        os.close(read)


def test_with_no_children_the_programs_end_is_the_end(python, tmp_path):
    # --no-children: any process started from the program's end on would be refused by
    # the writer, so the wrapper neither waits for the program's processes left running
    # nor speaks of them (it waited its 5 s, then said the line) ...
    read, write = os.pipe()
    try:
        proc = subprocess.run([str(RUN), "-o", str(tmp_path / "out"), "--no-children", python,
                               str(PROCS), "left-running"], stdin=read, cwd=tmp_path,
                              env=clean_env(), capture_output=True, text=True, timeout=120)
        assert (proc.returncode, proc.stdout) == (0, "done\n"), proc.stderr
        assert "still running" not in proc.stderr, proc.stderr
        [run] = runs_in(tmp_path / "out")
    finally:
        os.close(write)
        os.close(read)
    # ... and a Python such a process starts once the writer is gone runs untraced without
    # a word, as the writer's refusal was (it said "cannot connect").
    (tmp_path / "late").mkdir()
    proc, runs = trace(python, [PROCS, "late-after-writer"], tmp_path / "late",
                       wrapper_args=["--no-children"])
    assert (proc.returncode, proc.stdout) == (0, "done\nchild 42\n"), proc.stderr
    assert "cannot connect" not in proc.stderr and "still running" not in proc.stderr, \
        proc.stderr
    [run] = runs
    assert functions(run)[:3] == ["<module>", "main", "before_fork"]
