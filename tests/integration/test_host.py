"""A tracer must never change or take down its host.

Each test runs a program that is sensitive to what a tracer could disturb (its frames,
Python's development mode, __repr__ methods that change what is being rendered) once
untraced and once traced, on every interpreter, and asserts that what the program does
(its output, its exit status) is the same, and that the trace holds what was asked for
(so a test cannot pass by tracing nothing)."""
import re
import subprocess
import time
from pathlib import Path

import pytest

from values import shown_args

from conftest import (BUILD, CLI, LIB, PROGRAMS, RUN, balanced, clean_env, runs_in, trace,
                      version_of)
from procs_util import Writer

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


# ---- A libpython loaded with dlopen by a C program (not linked into the executable) ----

DLHOST = BUILD / "tests" / "dlhost"
DLHOST_PROGRAM = """\
import sys
import threading


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def work(out, i):
    out[i] = fib(12 + i)


out = [0] * 4
threads = [threading.Thread(target=work, args=(out, i)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("python", sys.version_info[:2], out)
"""


def _shared_libpythons():
    """pyenv's shared libpythons: the one of the interpreter the tests run as pyenv's
    (its shim, 3.11.7 here), then those of 3.12 and later (whose thread state is a
    thread-local, the case 1bd6d3e guards), each asked for by its own sysconfig."""
    pyenv = Path.home() / ".pyenv"
    pythons = [pyenv / "shims" / "python3"]
    pythons += sorted(pyenv.glob("versions/3.1[2-9]*/bin/python3"))
    found = {}
    for py in pythons:
        try:
            out = subprocess.run([str(py), "-c", "import sysconfig as s; print(s.get_config_var("
                                  "'LIBDIR'), s.get_config_var('LDLIBRARY'), "
                                  "s.get_config_var('Py_ENABLE_SHARED'))"],
                                 capture_output=True, text=True, timeout=60, env=clean_env())
        except OSError:
            continue
        parts = out.stdout.split()
        if out.returncode == 0 and len(parts) == 3 and parts[2] == "1":
            lib = Path(parts[0]) / parts[1]
            if lib.exists() and lib.name not in found:
                found[lib.name] = lib
    return list(found.values())


LIBPYTHONS = _shared_libpythons()


def run_dlhost(lib, tmp_path, env, *wrapper):
    (tmp_path / "prog.py").write_text(DLHOST_PROGRAM)
    return subprocess.run([*wrapper, str(DLHOST), str(lib), "prog.py", "3"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("lib", LIBPYTHONS or [None],
                         ids=[p.name for p in LIBPYTHONS] or ["no-shared-libpython"])
def test_a_c_program_that_dlopens_libpython_runs_as_untraced(tmp_path, lib):
    """The library's constructor runs before the host loads libpython: it finds no CPython
    and stays inert (no thread, no connection, no line of its own), and the interpreter
    loaded later runs as it would untraced, threads included. flowtrace-run says in its
    one closing line that no Python process was traced."""
    if lib is None:
        pytest.skip("NO SHARED LIBPYTHON: pyenv has no interpreter built with "
                    "--enable-shared; the dlopen'ed libpython guard is NOT tested")
    plain = run_dlhost(lib, tmp_path, clean_env())
    assert plain.returncode == 3, plain.stderr
    assert plain.stdout.endswith("[144, 233, 377, 610]\nhost: done\n"), plain.stdout
    # Bare LD_PRELOAD, a writer listening: the same bytes, the same status, no run.
    w = Writer(tmp_path)
    try:
        pre = run_dlhost(lib, tmp_path, w.env())
    finally:
        status, werr = w.stop()
    assert (pre.returncode, pre.stdout, pre.stderr) == (3, plain.stdout, plain.stderr)
    assert (status, werr) == (0, "")
    assert not w.dir.exists() or [p for p in w.dir.iterdir() if p.is_dir()] == []
    # Under flowtrace-run: the same, and one line that says nothing was traced.
    out = tmp_path / "out"
    wrapped = run_dlhost(lib, tmp_path, clean_env(), str(RUN), "-o", str(out))
    assert (wrapped.returncode, wrapped.stdout) == (3, plain.stdout)
    assert re.fullmatch(r"\[FlowTrace\] Profiling finished in [0-9.]+s: no Python process "
                        r"was traced\n", wrapped.stderr), wrapped.stderr


@pytest.mark.parametrize("lib", LIBPYTHONS or [None],
                         ids=[p.name for p in LIBPYTHONS] or ["no-shared-libpython"])
def test_attach_to_a_c_program_that_dlopened_libpython_traces_every_thread(tmp_path, lib):
    """flowtrace attach loads the library into a host whose libpython came with dlopen
    after the program started. With no static TLS to spare (glibc's
    rtld.optional_static_tls=0), libpython's thread-locals are a block allocated apart for
    each thread, not at a fixed offset from the thread pointer: the library must not take
    the attaching thread's offset for every thread's (1bd6d3e; before it, 3.12 and later
    died by SIGSEGV as soon as another thread ran). The host's output and status are those
    of an untraced run, and every thread's calls are recorded."""
    if lib is None:
        pytest.skip("NO SHARED LIBPYTHON: pyenv has no interpreter built with "
                    "--enable-shared; attach to a dlopen'ed libpython is NOT tested")
    d = tmp_path / "host"
    d.mkdir()
    (d / "prog.py").write_text(ATTACHED_PROGRAM)
    env = clean_env(DLHOST_GLOBAL="1", GLIBC_TUNABLES="glibc.rtld.optional_static_tls=0")
    host = subprocess.Popen([str(DLHOST), str(lib), "prog.py", "3"], cwd=d, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (d / "ready").exists():
            assert host.poll() is None, host.communicate()
            assert time.monotonic() < deadline, "the host did not start"
            time.sleep(0.02)
        r = subprocess.run([str(CLI), "attach", "-o", str(tmp_path / "out"), "--duration", "0.5",
                            str(host.pid)], capture_output=True, text=True, timeout=120,
                           env=clean_env())
    finally:
        (d / "stop").write_text("")
        out, err = host.communicate(timeout=60)
    assert (host.returncode, out, err) == (3, "done 3\nhost: done\n", "")
    assert r.returncode == 0, r.stderr
    [run] = runs_in(tmp_path / "out")
    assert run.tree["ended"] == "detached" and run.tree["tracer"]["lost"] == 0
    ticks = {t["name"]: sum(1 for c in t["calls"] if c["function"] == "tick")
             for t in run.tree["threads"]}
    assert sorted(ticks) == ["MainThread", "Thread-1 (loop)", "Thread-2 (loop)"], ticks
    assert all(n > 0 for n in ticks.values()), ticks


ATTACHED_PROGRAM = """\
import os
import threading
import time


def tick(i):
    return i * 2


def loop():
    i = 0
    while not os.path.exists("stop"):
        tick(i)
        i += 1
        time.sleep(0.005)


threads = [threading.Thread(target=loop) for _ in range(2)]
for t in threads:
    t.start()
open("ready", "w").close()
loop()
for t in threads:
    t.join()
print("done", threading.active_count() + len(threads))
"""
