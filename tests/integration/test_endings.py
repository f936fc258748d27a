"""Every way a traced process can end: valid files with every event up to the end, the
calls left open closed with how the run ended, and the exit status the caller would have
seen without tracing (death by the same signal included)."""
import os
import signal
import subprocess
import time

import pytest

from conftest import PROGRAMS, balanced, clean_env, runs_in
from procs_util import no_core, start_traced, untraced, wait_ready, wrapper_cmd

ENDS = PROGRAMS / "ends.py"
WARMUP = ["warmup", "warmup", "warmup"]


def trace_to_end(python, tmp_path, how):
    proc = subprocess.run(wrapper_cmd(tmp_path / "out", python, [ENDS, how]), cwd=tmp_path,
                          env=clean_env(), capture_output=True, text=True, preexec_fn=no_core,
                          timeout=120)
    [run] = runs_in(tmp_path / "out")
    return proc, run


def calls_of(run):
    """(function, how it ended) per call, in order of entry."""
    ends = {e["id"]: e for e in run.events if e["event"] != "ENTER"}
    return [(e["function"], ends[e["id"]].get("incomplete", ends[e["id"]]["event"]))
            for e in run.events if e["event"] == "ENTER"]


def expect_calls(run, last):
    """The warm-up calls returned; outer and inner ended as `last` says."""
    assert calls_of(run) == [("<module>", last)] + [(w, "EXIT") for w in WARMUP] + \
        [("outer", last), ("inner", last)]


@pytest.mark.parametrize("how,ended,status,last", [
    ("exception", "exception", 1, "EXCEPTION"),
    ("sys_exit", "exit", 4, "EXCEPTION"),  # SystemExit unwinds every frame
    ("os_exit", "os._exit", 5, "os._exit"),
    ("abort", "signal", -signal.SIGABRT, "signal SIGABRT"),
    ("segv", "signal", -signal.SIGSEGV, "signal SIGSEGV"),
    ("exec_echo", "exec", 0, "exec"),
])
def test_a_process_that_ends_by_itself_keeps_its_status_and_its_trace(python, tmp_path, how,
                                                                      ended, status, last):
    plain = untraced(python, [ENDS, how], tmp_path)
    proc, run = trace_to_end(python, tmp_path, how)
    assert plain.returncode == status
    assert (proc.returncode, proc.stdout) == (plain.returncode, plain.stdout)
    if how == "exec_echo":
        assert proc.stdout == "exec'd echo\n"  # the new program ran, untouched
    assert run.tree["ended"] == ended
    # After exec or a signal this Python image never exited: no exit code of its own.
    assert run.tree["exitCode"] == (status if status >= 0 and how != "exec_echo" else None)
    if status < 0:
        assert run.tree["signal"] == -status
    if how == "exception":
        assert run.tree["exception"]["type"] == "ValueError"
    expect_calls(run, last)
    balanced(run.events)
    assert run.tree["tracer"]["lost"] == 0


def signalled(python, tmp_path, how, send):
    """Runs ends.py `how` traced, lets `send(pid, proc)` act once it is ready, and returns
    (the wrapper's status, the run)."""
    proc = start_traced(python, [ENDS, how], tmp_path, "--flush-interval", "0.05",
                        session=True)
    pid = wait_ready(proc)
    send(pid, proc)
    proc.communicate(timeout=120)
    [run] = runs_in(tmp_path / "out")
    return proc.returncode, run


def untraced_signalled(python, tmp_path, how, send):
    proc = subprocess.Popen([python, ENDS, how], cwd=tmp_path, env=clean_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=no_core, start_new_session=True)
    pid = wait_ready(proc)
    send(pid, proc)
    proc.communicate(timeout=120)
    return proc.returncode


# Every signal whose default ends the process and that the interpreter leaves at its
# default (SIGUSR1 ... SIGXCPU were not handled: the run lost what was not yet shipped,
# uncounted, and said "killed").
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2,
                                 signal.SIGALRM, signal.SIGVTALRM, signal.SIGXCPU])
def test_a_termination_signal_ships_the_trace_and_kills_as_before(python, tmp_path, sig):
    def send(pid, proc):
        os.kill(pid, sig)

    how = signal.Signals(sig).name.lower()
    assert untraced_signalled(python, tmp_path, how, send) == -sig
    status, run = signalled(python, tmp_path, how, send)
    assert status == -sig
    assert run.tree["ended"] == "signal" and run.tree["signal"] == sig
    assert run.tree["exitCode"] is None
    expect_calls(run, f"signal {signal.Signals(sig).name}")
    balanced(run.events)
    assert run.tree["tracer"]["lost"] == 0


def test_ctrl_c_on_the_wrapper_ends_the_run_as_keyboard_interrupt(python, tmp_path):
    def ctrl_c(pid, proc):
        os.killpg(proc.pid, signal.SIGINT)  # the whole foreground group, as a terminal does

    assert untraced_signalled(python, tmp_path, "sigint", ctrl_c) == -signal.SIGINT
    status, run = signalled(python, tmp_path, "sigint", ctrl_c)
    assert status == -signal.SIGINT
    assert run.tree["ended"] == "signal" and run.tree["signal"] == signal.SIGINT
    assert run.tree["exception"]["type"] == "KeyboardInterrupt"
    # KeyboardInterrupt unwinds the frames: they end by the exception, not cut off.
    expect_calls(run, "EXCEPTION")
    balanced(run.events)
    assert run.tree["tracer"]["lost"] == 0


def test_sigkill_keeps_everything_flushed_before_it(python, tmp_path):
    def kill9(pid, proc):
        time.sleep(1.0)  # twenty flush intervals: everything before "ready" has left
        os.kill(pid, signal.SIGKILL)

    status, run = signalled(python, tmp_path, "sigkill", kill9)
    assert status == -signal.SIGKILL
    assert run.tree["ended"] == "killed" and run.tree["exitCode"] is None
    expect_calls(run, "killed")
    balanced(run.events)
    assert run.tree["tracer"]["lost"] == 0  # nothing was left unshipped at the kill
