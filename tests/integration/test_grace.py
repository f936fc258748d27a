"""A process told to stop stops within its grace period, with a valid run (issue 17 item
11): a container's SIGTERM after a hot loop. Docker waits 10 s before its SIGKILL (the
least grace anyone gives); formatting used to be paid at exit: a 1.5 s hot loop then
SIGTERM took 21 s to die, killed mid-format. The writer now formats as records arrive."""
import os
import shutil
import signal
import subprocess

import pytest

from conftest import CLI, PROGRAMS, clean_env, runs_in
from procs_util import start_traced, wait_ready

HOT = PROGRAMS / "hot.py"
GRACE = 10  # seconds: docker stop's default, before SIGKILL
HOT_SECONDS = 1.5


def produced(calls):
    """Event records hot.py produces up to its signal: the module's call (it never
    returns), loop()'s call and return, and f()'s."""
    return 2 * calls + 3


# docker stop signals the container's first process: the wrapper when it is the
# ENTRYPOINT (which passes it on, issue 17 item 7); `docker kill -s TERM` or a shell's
# job control, the whole group.
@pytest.mark.parametrize("target", ["wrapper", "group"])
def test_sigterm_after_a_hot_loop_stops_within_the_grace_period_with_a_valid_run(
        python, tmp_path, target):
    proc = start_traced(python, [HOT, HOT_SECONDS], tmp_path, session=True)
    wait_ready(proc)
    line = proc.stdout.readline().split()
    assert line[0] == "looped", line
    calls = int(line[1])
    if target == "wrapper":
        proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=GRACE)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"still running {GRACE} s after SIGTERM: a container would SIGKILL it")
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM
    [run] = runs_in(tmp_path / "out")
    assert run.header["ended"] == "signal" and run.header["signal"] == signal.SIGTERM
    # Every event is in the files or counted lost (hundreds of MB: counted, not parsed).
    tracer = run.header["tracer"]
    assert tracer["events"] + tracer["lost"] == produced(calls)
    with open(run.path / "events.jsonl", "rb") as f:
        lines = [line for line in f if b'"incomplete"' not in line]
    assert tracer["events"] == len(lines)
    # The whole run reads as a user would read it.
    stats = subprocess.run([str(CLI), "-d", str(tmp_path / "out"), "stats"],
                           env=clean_env(), capture_output=True, text=True, timeout=120)
    assert stats.returncode == 0, stats.stderr
    shutil.rmtree(tmp_path / "out")  # a few hundred MB
