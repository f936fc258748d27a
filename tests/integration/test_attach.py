"""flowtrace attach PID: record a running CPython process started without FlowTrace, then
detach and leave it running as before (3.14 through sys.remote_exec, 3.11-3.13 through
gdb). Clear errors for a process that is gone, not CPython, another user's, or not
traceable."""
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import CLI, clean_env, runs_in, version_of

# Loops until told to stop (a file appears), then says how many ticks it made; its output
# and status must be those of an untraced run.
TARGET = """\
import os, sys, time
here = sys.argv[1]
def tick(i):
    return i * 2
def main():
    i = 0
    open(os.path.join(here, "ready"), "w").close()
    while not os.path.exists(os.path.join(here, "stop")):
        tick(i)
        i += 1
        time.sleep(0.005)
    print("done", i > 0)
    sys.stdout.flush()
main()
"""


def start_target(python, d, *, user=None, extra=""):
    d.mkdir(parents=True, exist_ok=True)
    d.chmod(0o777)  # the target may run as another user
    (d / "target.py").write_text(extra + TARGET)
    cmd = [python, str(d / "target.py"), str(d)]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=clean_env(), cwd=d)
    deadline = time.monotonic() + 60
    while not (d / "ready").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the target did not start"
        time.sleep(0.02)
    return proc


def finish_target(proc, d):
    (d / "stop").write_text("")
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def attach(pid, out, *args, user=None, timeout=180):
    cmd = [str(CLI), "attach", "-o", str(out), *args, str(pid)]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=clean_env())


def test_attach_records_a_running_process_and_leaves_it_running(python, tmp_path):
    if version_of(python) < (3, 11):
        pytest.skip("attach supports 3.11 to 3.14")
    proc = start_target(python, tmp_path / "t")
    try:
        r = attach(proc.pid, tmp_path / "out", "--duration", "0.5")
        assert r.returncode == 0, r.stderr
        assert f"[FlowTrace] attached to process {proc.pid} (Python 3." in r.stderr
        assert f"[FlowTrace] detached from process {proc.pid} after" in r.stderr
        assert proc.poll() is None, "the process must still run"
        [run] = runs_in(tmp_path / "out")
        assert run.tree["ended"] == "detached"
        calls = [c for t in run.tree["threads"] for c in t["calls"]]
        assert calls and {c["function"] for c in calls} == {"tick"}
        assert all("incomplete" not in c for c in calls)
        # Attached again later: a second run, as complete as the first.
        r = attach(proc.pid, tmp_path / "out", "--duration", "0.3")
        assert r.returncode == 0, r.stderr
        assert len(runs_in(tmp_path / "out")) == 2
    finally:
        status, out, err = finish_target(proc, tmp_path / "t")
    # What the program printed and how it ended are an untraced run's.
    assert (status, out, err) == (0, "done True\n", "")


def test_attach_sees_every_thread(python, tmp_path):
    if version_of(python) < (3, 11):
        pytest.skip("attach supports 3.11 to 3.14")
    extra = ("import threading\n"
             "def spin():\n"
             "    while True:\n"
             "        side(); time.sleep(0.005)\n"
             "def side():\n"
             "    return 1\n"
             "threading.Thread(target=spin, name='worker', daemon=True).start()\n")
    proc = start_target(python, tmp_path / "t", extra="import time\n" + extra)
    try:
        r = attach(proc.pid, tmp_path / "out", "--duration", "0.5")
        assert r.returncode == 0, r.stderr
    finally:
        status, _, err = finish_target(proc, tmp_path / "t")
    assert (status, err) == (0, "")
    [run] = runs_in(tmp_path / "out")
    names = {t["name"]: {c["function"] for c in t["calls"]} for t in run.tree["threads"]}
    assert names.get("worker") == {"side"}
    assert names.get("MainThread") == {"tick"}


def test_attach_ends_when_the_process_ends_even_if_nobody_reaps_it(python, tmp_path):
    # The target is this test's child, not reaped until the end: once it has exited it
    # is a zombie, whose /proc entry stays. attach used to wait for it for good.
    if version_of(python) < (3, 11):
        pytest.skip("attach supports 3.11 to 3.14")
    proc = start_target(python, tmp_path / "t")
    att = subprocess.Popen([str(CLI), "attach", "-o", str(tmp_path / "out"), str(proc.pid)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=clean_env())
    try:
        line = att.stderr.readline()
        assert f"[FlowTrace] attached to process {proc.pid}" in line, line + att.stderr.read()
        time.sleep(0.3)
        (tmp_path / "t" / "stop").write_text("")
        _, err = att.communicate(timeout=60)
    finally:
        att.kill()
        status, out, perr = finish_target(proc, tmp_path / "t")
    assert att.returncode == 0, err
    assert f"[FlowTrace] detached from process {proc.pid} after" in err
    assert (status, out, perr) == (0, "done True\n", "")
    [run] = runs_in(tmp_path / "out")
    assert run.tree["ended"] == "exit"
    assert {c["function"] for t in run.tree["threads"] for c in t["calls"]} >= {"tick"}


def test_attach_to_a_process_that_is_gone(tmp_path):
    p = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True)
    pid = int(p.stdout)
    r = attach(pid, tmp_path / "out")
    assert r.returncode == 1
    assert r.stderr == f"flowtrace attach: process {pid} does not exist\n"
    assert not (tmp_path / "out").exists()


def test_attach_to_a_program_that_is_not_python(tmp_path):
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        r = attach(sleeper.pid, tmp_path / "out")
    finally:
        sleeper.kill()
        sleeper.wait()
    assert r.returncode == 1
    assert r.stderr == (f"flowtrace attach: process {sleeper.pid} (/usr/bin/sleep) is not a "
                        "CPython process\n")


def test_bad_arguments_are_usage_errors(tmp_path):
    r = attach("12x", tmp_path / "out")
    assert (r.returncode, r.stderr) == (2, "flowtrace attach: '12x' is not a process id\n")
    r = attach(os.getpid(), tmp_path / "out", "--duration", "soon")
    assert r.returncode == 2
    assert "--duration 'soon' is not a positive number of seconds" in r.stderr


# ---- Other users (root creates two for the test and removes them after) ----------------

@pytest.fixture(scope="module")
def users():
    """Two users, named for this test process (pytest-xdist workers make their own), as
    {name: uid} in order."""
    if os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("setpriv") is None:
        pytest.skip("needs root, useradd and setpriv to make test users")
    names = (f"fta{os.getpid()}a", f"fta{os.getpid()}b")
    for u in names:
        subprocess.run(["userdel", u], capture_output=True)
        subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", u],
                       check=True, capture_output=True)
    yield {u: pwd.getpwnam(u).pw_uid for u in names}
    for u in names:
        subprocess.run(["userdel", u], capture_output=True)


@pytest.fixture
def shared_dir():
    """A directory both test users can use (pytest's tmp_path is root's alone)."""
    d = Path(tempfile.mkdtemp(prefix="ft-attach-", dir="/tmp"))
    d.chmod(0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


PY = "/usr/bin/python3"


def test_another_users_process_is_refused_with_a_clear_error(users, shared_dir):
    a, b = users
    proc = start_target(PY, shared_dir / "t", user=a)
    try:
        r = attach(proc.pid, shared_dir / "out", "--duration", "0.3", user=b)
        assert proc.poll() is None
    finally:
        status, out, err = finish_target(proc, shared_dir / "t")
    assert r.returncode == 1
    assert r.stderr == (f"flowtrace attach: process {proc.pid} belongs to user {a} "
                        f"(uid {users[a]}), not to you ({b}, uid {users[b]}): attach as that "
                        "user, or as root\n")
    assert (status, out, err) == (0, "done True\n", "")


def test_a_process_that_may_not_be_traced_is_refused_with_a_clear_error(users, shared_dir):
    """Not dumpable (as after a setuid, or by prctl): its own user may not ptrace it."""
    a, _ = users
    nodump = "import ctypes\nctypes.CDLL(None).prctl(4, 0, 0, 0, 0)\n"  # PR_SET_DUMPABLE 0
    proc = start_target(PY, shared_dir / "t", user=a, extra=nodump)
    try:
        r = attach(proc.pid, shared_dir / "out", "--duration", "0.3", user=a)
        assert proc.poll() is None
    finally:
        status, out, err = finish_target(proc, shared_dir / "t")
    assert r.returncode == 1
    assert r.stderr.startswith(f"flowtrace attach: no permission to trace process {proc.pid}")
    assert (status, out, err) == (0, "done True\n", "")


def test_root_attaches_to_another_users_process_and_the_trace_is_theirs(users, shared_dir):
    a, _ = users
    proc = start_target(PY, shared_dir / "t", user=a)
    try:
        r = attach(proc.pid, shared_dir / "out", "--duration", "0.5")
        assert r.returncode == 0, r.stderr
    finally:
        status, out, err = finish_target(proc, shared_dir / "t")
    assert (status, out, err) == (0, "done True\n", "")
    [run] = runs_in(shared_dir / "out")
    assert {c["function"] for t in run.tree["threads"] for c in t["calls"]} == {"tick"}
    assert (run.path / "tree.json").stat().st_uid == users[a]


def writers_for(out):
    """Pids of the flowtrace-writer processes writing into directory out."""
    pids = []
    for d in Path("/proc").iterdir():
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"flowtrace-writer") and str(out).encode() in argv:
            pids.append(int(d.name))
    return pids


def test_a_killed_attach_leaves_no_writer_behind(python, tmp_path):
    # flowtrace attach killed outright (SIGKILL, a CI job's timeout) cannot stop its
    # writer: the writer sees its --parent-fd pipe end and leaves once the target, which
    # it still serves, is gone. It used to run on for good, holding its socket.
    if version_of(python) < (3, 11):
        pytest.skip("attach supports 3.11 to 3.14")
    proc = start_target(python, tmp_path / "t")
    out = tmp_path / "out"
    cmd = [str(CLI), "attach", "-o", str(out), "--duration", "600", str(proc.pid)]
    att = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=clean_env())
    try:
        line = att.stderr.readline()
        assert f"[FlowTrace] attached to process {proc.pid}" in line, line + att.stderr.read()
        [writer] = writers_for(out)
        att.kill()
        att.wait(timeout=60)  # its stderr stays open in the writer, which inherited it
    finally:
        status, out_text, err = finish_target(proc, tmp_path / "t")
    assert (status, out_text, err) == (0, "done True\n", "")
    deadline = time.monotonic() + 60
    while writers_for(out) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert writers_for(out) == [], f"writer {writer} outlived its attach and its target"
    att.stderr.close()
    att.stdout.close()
    [run] = runs_in(out)
    assert {c["function"] for t in run.tree["threads"] for c in t["calls"]} == {"tick"}
