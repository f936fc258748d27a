"""A tracer must never change or take down its host.

Each test runs a program that is sensitive to what a tracer could disturb (its frames,
Python's development mode, __repr__ methods that change what is being rendered) once
untraced and once traced, on every interpreter, and asserts that what the program does
(its output, its exit status) is the same, and that the trace holds what was asked for
(so a test cannot pass by tracing nothing)."""
import subprocess

import pytest

from values import shown_args

from conftest import CLI, LIB, PROGRAMS, balanced, clean_env, trace, version_of

HOST = PROGRAMS / "host"


def untraced(python, program, *args, env=None):
    return subprocess.run([python, str(HOST / program), *args], cwd=HOST, env=env or clean_env(),
                          capture_output=True, text=True, timeout=120)


ENGINES = [pytest.param({}, id="default-engine"),
           pytest.param({"FLOWTRACE_ENGINE": "profile"}, id="profile-engine")]


@pytest.mark.parametrize("engine", ENGINES)
def test_frames_look_the_same_to_the_program_traced_and_untraced(python, tmp_path, engine):
    if engine and version_of(python) < (3, 12):
        pytest.skip("the profile engine is the default before 3.12")
    plain = untraced(python, "frames.py")
    assert plain.returncode == 0, plain.stderr
    assert "the import hook saw: ['NoneType', 'NoneType']" in plain.stdout
    proc, [run] = trace(python, [HOST / "frames.py"], tmp_path, env=clean_env(**engine),
                        cwd=HOST)
    # An import hook written as click's sees the locals CPython passes (None from a
    # function), locals() and f_locals hold what they hold untraced.
    assert proc.stdout == plain.stdout
    assert proc.returncode == 0, proc.stderr
    balanced(run.events)
    details = run.details()
    # The arguments were captured, read in place.
    assert "lazy_json(value=[1, 2]) -> '[1, 2]'" in details
    assert "tracking_import(module='json', locals={" in details
    assert "snapshot(a=1, b=2) -> [['a', 'b'], 3]" in details
    assert "counting(n=2)" in details
    if version_of(python) >= (3, 11):
        assert "Box.peek(extra=2) -> ['extra', 'self'] @obj" in details
    else:  # no co_qualname before 3.11: a method is named as a function
        assert "peek(self=<__main__.Box object at 0x…>, extra=2) -> ['extra', 'self']" in details


# Each way to turn on Python's debug memory allocator: the audit hook's entry, made before
# the interpreter chose it, must be freed by the allocator that made it.
DEV_MODES = [
    pytest.param(["-X", "dev"], {}, id="X-dev"),
    pytest.param([], {"PYTHONDEVMODE": "1"}, id="PYTHONDEVMODE"),
    pytest.param([], {"PYTHONMALLOC": "debug"}, id="PYTHONMALLOC-debug"),
    pytest.param([], {"PYTHONMALLOC": "malloc_debug"}, id="PYTHONMALLOC-malloc_debug"),
]


@pytest.mark.parametrize("flags, env", DEV_MODES)
def test_development_mode_traced_runs_and_exits_as_untraced(python, tmp_path, flags, env):
    plain = subprocess.run([python, *flags, str(HOST / "devmode.py")], env=clean_env(**env),
                           capture_output=True, text=True, timeout=120)
    assert plain.returncode == 0, plain.stderr
    proc, [run] = trace(python, [*flags, HOST / "devmode.py"], tmp_path, env=clean_env(**env))
    assert (proc.returncode, proc.stdout) == (0, plain.stdout), proc.stderr
    assert "Fatal Python error" not in proc.stderr
    balanced(run.events)
    assert run.outline().splitlines()[1:4] == [
        "  main devmode.py:18", "    numbers devmode.py:10", "    fail devmode.py:14 !ValueError"]


@pytest.mark.parametrize("flags, env", DEV_MODES)
def test_development_mode_with_no_writer_reachable_exits_as_untraced(python, tmp_path, flags,
                                                                     env):
    plain = subprocess.run([python, *flags, str(HOST / "devmode.py")], env=clean_env(**env),
                           capture_output=True, text=True, timeout=120)
    env = clean_env(**env, LD_PRELOAD=LIB, FLOWTRACE_SOCKET=tmp_path / "no-writer.sock")
    proc = subprocess.run([python, *flags, str(HOST / "devmode.py")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stdout) == (0, plain.stdout), proc.stderr
    assert "Fatal Python error" not in proc.stderr
    assert "cannot connect to the writer" in proc.stderr


def test_a_repr_that_changes_what_is_being_rendered_cannot_crash_the_program(python, tmp_path):
    # The debug allocator overwrites freed memory: a use after free crashes for certain.
    env = clean_env(PYTHONMALLOC="debug")
    proc, [run] = trace(python, [HOST / "mutating_repr.py"], tmp_path, wrapper_args=["--repr"],
                        env=env, cwd=HOST)
    assert proc.returncode == 0, proc.stderr
    assert "Error" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert [line.split(":")[0] for line in proc.stdout.splitlines()] == [
        "dict", "dict keys", "list", "growing list", "set", "rebound"]
    balanced(run.events)
    calls = {}
    for e in run.events:
        if e["event"] in ("ENTER", "EXIT"):
            calls.setdefault(e["function"], []).append(e)
    # A container that changed while its items were rendered says so, where it changed.
    [enter, leave] = calls["count_keys"]
    assert shown_args(enter["args"]) == {"d": "{Clears(): 'a key whose repr clears its dict'"
                                              "…[changed while rendered]}"}
    assert shown_args(leave["argsAfter"]) == {"d": "{}"}
    assert shown_args(calls["size"][4]["args"]) == {"container": "[Grows()]"}
    assert shown_args(calls["size"][5]["argsAfter"]) == {
        "container": "[Grows()…[changed while rendered]]"}
    assert "…[changed while rendered]}" in shown_args(calls["size"][6]["args"])["container"]
    assert shown_args(calls["held"][0]["args"]) == {"box": "[Rebinds(), {'k': Rebinds()}]"}


def test_a_profiler_of_the_programs_own_and_flowtrace_both_see_every_call(python, tmp_path):
    # 3.11 has one profile function per thread: cProfile's and sys.setprofile's replaced
    # FlowTrace's, which then recorded nothing more. Now both see every call, and the
    # program's profilers report what they report untraced (the stdlib's profile module
    # failed an assertion on a c_return it never gets untraced).
    plain = untraced(python, "profilers.py")
    assert plain.returncode == 0, plain.stderr
    assert "profile: step" in plain.stdout and "cProfile: leaf" in plain.stdout
    proc, [run] = trace(python, [HOST / "profilers.py"], tmp_path, cwd=HOST)
    assert (proc.returncode, proc.stdout) == (0, plain.stdout), proc.stderr
    assert "cProfile saw step: True" in proc.stdout and "getprofile after: None" in proc.stdout
    assert not [line for line in proc.stderr.splitlines() if line.startswith("flowtrace[")]
    balanced(run.events)
    steps = [line for line in run.details().splitlines() if line.strip().startswith("step(")]
    assert [s.split("->")[0].strip() for s in steps] == [
        "step(name='before')", "step(name='during cProfile')", "step(name='after cProfile')",
        "step(name='during profile')", "step(name='during mine')", "step(name='after mine')"]
    assert sum(" leaf(" in line for line in run.details().splitlines()) == 18


def test_threads_with_profile_functions_of_the_programs_own_are_recorded_too(python, tmp_path):
    plain = untraced(python, "profilers_threads.py")
    assert plain.returncode == 0, plain.stderr
    proc, [run] = trace(python, [HOST / "profilers_threads.py"], tmp_path, cwd=HOST)
    # The program's profile functions got every event they get untraced, in order.
    assert (proc.returncode, proc.stdout) == (0, plain.stdout), proc.stderr
    assert not [line for line in proc.stderr.splitlines() if line.startswith("flowtrace[")]
    balanced(run.events)
    details = run.details().splitlines()
    steps = sorted(line.strip().split(" ->")[0] for line in details
                   if line.strip().startswith("step("))
    assert steps == ["step(name=\"a Thread subclass's run\")",
                     "step(name='a thread started after threading.setprofile(None)')",
                     "step(name='started with a profile function')",
                     "step(name='thread, after')", "step(name='thread, profiled')"]
    # Recorded once (FlowTrace's own thread hook was once taken for the program's and
    # chained: the run() call was recorded twice, once never closed).
    assert sum(line.strip().startswith("Stepper.run") for line in details) == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_threads_started_by_flowtraces_own_hook_are_recorded_once_and_silently(python, tmp_path,
                                                                               engine):
    if engine and version_of(python) < (3, 12):
        pytest.skip("the profile engine is the default before 3.12")
    plain = untraced(python, "threads_plain.py")
    proc, [run] = trace(python, [HOST / "threads_plain.py"], tmp_path, env=clean_env(**engine),
                        cwd=HOST)
    assert (proc.returncode, proc.stdout) == (0, plain.stdout), proc.stderr
    # The profile engine's own threading.setprofile hook is not a profiler of the program's.
    assert not [line for line in proc.stderr.splitlines() if line.startswith("flowtrace[")]
    balanced(run.events)
    details = run.details().splitlines()
    assert sum(line.strip().startswith("Stepper.run") for line in details) == 2
    assert sum(line.strip().startswith("leaf(") for line in details) == 2

def shown(tmp_path):
    """`flowtrace show` of the one run traced into tmp_path/out."""
    proc = subprocess.run([str(CLI), "show", "-d", str(tmp_path / "out")], capture_output=True,
                          text=True, env=clean_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_program_with_its_own_tracer_and_profilers_is_recorded_as_far_as_it_can_be(python,
                                                                                     tmp_path):
    plain = untraced(python, "profilers_traced.py")
    assert plain.returncode == 0, plain.stderr
    proc, [run] = trace(python, [HOST / "profilers_traced.py"], tmp_path, cwd=HOST)
    # The program's tracer and profile functions get what they get untraced.
    assert (proc.returncode, proc.stdout) == (0, plain.stdout), proc.stderr
    steps = sorted(line.strip().split(" ->")[0] for line in run.details().splitlines()
                   if line.strip().startswith("step("))
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("flowtrace[")]
    if version_of(python) >= (3, 12):  # sys.monitoring: no conflict at all
        assert warnings == []
        assert steps == ["step(name='after')", "step(name='cProfile under a tracer')",
                         "step(name='profiled under a tracer')"]
        assert "notices" not in run.tree
        assert "Notice:" not in shown(tmp_path)
        return
    # 3.11: sys.setprofile is seen at once (FlowTrace stands in for it), so the tracer does
    # not matter; cProfile's PyEval_SetProfile can only be seen through FlowTrace's trace
    # function, which the program's tracer holds: FlowTrace says it records no more.
    assert steps == ["step(name='after')", "step(name='profiled under a tracer')"]
    [warning] = warnings
    assert "FlowTrace records no more of that thread's calls" in warning
    # ... in the run too: the line is in tree.json's notices, and the calls the thread had
    # open end "not followed" (not as if the process had exited in them).
    assert run.tree["notices"] == [warning.split(": ", 1)[1]]
    # ... and shown: a line under the run's header of `flowtrace show`.
    lines = shown(tmp_path).splitlines()
    assert lines[0].startswith("Run ") and lines[1] == "Notice: " + run.tree["notices"][0]
    assert {e["incomplete"] for e in run.events if "incomplete" in e} == {"not followed"}
