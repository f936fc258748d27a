"""flowtrace-run must not change what runs: its options, the command's exit status, the
signals sent to it or to its process group, `timeout`, a wrapper killed outright, and
temporary directories that are long, missing, relative or read-only.

The wrapper's behaviour does not depend on the interpreter: these tests use Debian's
python3 only (the library's own signal handling is tested on every interpreter in
test_endings.py)."""
import os
import pty
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import PROGRAMS, RUN, balanced, clean_env, runs_in
from procs_util import no_core, wait_ready

PY = "/usr/bin/python3"
WAITS = PROGRAMS / "waits.py"
SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
           signal.SIGUSR2, signal.SIGALRM]


@pytest.fixture
def tmpdir_env():
    """A short, private TMPDIR for one test; afterwards it must hold nothing the wrapper
    made (its socket directory is removed however the wrapper ends)."""
    d = Path(tempfile.mkdtemp(prefix="ftw", dir="/tmp"))
    yield d
    left = sorted(p.name for p in d.iterdir())
    shutil.rmtree(d)
    assert left == [], f"left in TMPDIR: {left}"


def env_for(tmpdir, **extra):
    return clean_env(TMPDIR=tmpdir, **extra)


def wrapper(tmp_path, tmpdir, *args, env=None, **kw):
    """Runs `flowtrace-run -o OUT ARGS...` to the end; returns the CompletedProcess."""
    return subprocess.run([str(RUN), "-o", str(tmp_path / "out"), *map(str, args)],
                          cwd=tmp_path, env=env or env_for(tmpdir), capture_output=True,
                          text=True, preexec_fn=no_core, timeout=120, **kw)


def summary_only(stderr):
    """The wrapper printed its summary and nothing else (no 'Terminated', no false
    'writer stopped')."""
    lines = stderr.splitlines()
    assert lines and all(l.startswith("[FlowTrace] ") for l in lines), stderr
    assert "stopped during the run" not in stderr, stderr


def writers_of(out):
    """pids of flowtrace-writer processes writing into out."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"flowtrace-writer") and str(out).encode() in argv:
            found.append(int(d))
    return found


def wait_gone(out, seconds=60):
    """Waits until no writer serves out; returns whether that happened in time."""
    for _ in range(seconds * 20):
        if not writers_of(out):
            return True
        time.sleep(0.05)
    return False


# ---- Options ---------------------------------------------------------------------------

@pytest.mark.parametrize("option,name,value", [
    ("--drop=true", "DROP", "1"),
    ("--all=yes", "ALL", "1"),
    ("--repr=1", "REPR", "1"),
    ("--drop=false", "DROP", "0"),
    ("--stdout=no", "STDOUT", "0"),
    ("--no-children=on", "CHILDREN", "0"),
    ("--keep=failed", "KEEP", "failed"),
    ("--max-depth=3", "MAX_DEPTH", "3"),
])
def test_an_option_given_as_name_equals_value_is_that_setting(tmp_path, tmpdir_env, option,
                                                              name, value):
    proc = wrapper(tmp_path, tmpdir_env, option, PY, WAITS, "env", name)
    assert (proc.returncode, proc.stdout) == (0, value + "\n"), proc.stderr
    summary_only(proc.stderr)
    assert len(runs_in(tmp_path / "out")) == 1  # and the program was traced


@pytest.mark.parametrize("args,says", [
    (["--drop=maybe"], "--drop=maybe: not 'true' or 'false'"),
    (["--keep"], "--keep needs 'failed' or 'all'"),  # python3 is the command, not the value
    (["--keep", "sometimes"], "--keep sometimes: not 'failed' or 'all'"),
    (["--max-depth", "-1"], "--max-depth -1: not a whole number from 0 to 1000000"),
    (["--max-depth=deep"], "--max-depth=deep: not a whole number from 0 to 1000000"),
    (["--max-depth", "deep"], "--max-depth deep: not a whole number from 0 to 1000000"),
    (["--max-arg-length", "1e3"], "--max-arg-length 1e3: not a whole number from 0 to 1048576"),
    (["--max-arg-length", "2000000"], "--max-arg-length 2000000: not a whole number from 0 to "
                                      "1048576"),
    (["--flush-interval", "1e-9"], "--flush-interval 1e-9: not 0 or a number of seconds from "
                                   "0.001 to 1000000"),
    (["--flush-interval", "soon"], "--flush-interval soon: not 0 or a number of seconds from "
                                   "0.001 to 1000000"),
    (["--min-duration", "nan"], "--min-duration nan: not a number of microseconds from 0 to "
                                "1000000000000"),
    (["--min-duration", "-5"], "--min-duration -5: not a number of microseconds from 0 to "
                               "1000000000000"),
    (["--unit", "nocolon"], "--unit nocolon: not MODULE:FUNCTION"),
])
def test_a_bad_option_value_is_one_line_and_an_untraced_run(tmp_path, tmpdir_env, args, says):
    proc = wrapper(tmp_path, tmpdir_env, *args, PY, WAITS, "env", "KEEP", "DROP")
    assert (proc.returncode, proc.stdout) == (0, "- -\n"), proc.stderr
    assert proc.stderr == f"flowtrace-run: {says}; running the command untraced\n"
    assert not (tmp_path / "out").exists()


def test_an_unknown_option_is_a_usage_error_and_runs_nothing(tmp_path, tmpdir_env):
    proc = wrapper(tmp_path, tmpdir_env, "--frobnicate", PY, "-c", "print('ran')")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines()[0] == "flowtrace-run: unknown option --frobnicate"


def test_version_and_help(tmp_path, tmpdir_env):
    proc = wrapper(tmp_path, tmpdir_env, "--version")
    assert proc.returncode == 0 and proc.stdout.startswith("flowtrace-run ")
    proc = wrapper(tmp_path, tmpdir_env, "--help")
    assert proc.returncode == 0 and "usage: flowtrace-run" in proc.stdout
    for option in ["--drop", "--keep", "--max-depth", "--flush-interval", "--redact"]:
        assert option in proc.stdout


# ---- What the command is and how it ends ------------------------------------------------

@pytest.mark.parametrize("status", [129, 130, 137, 139, 143, 159])
def test_a_command_exiting_129_to_159_is_an_exit_status_not_a_signal(tmp_path, tmpdir_env,
                                                                      status):
    proc = wrapper(tmp_path, tmpdir_env, "sh", "-c", f"exit {status}")
    assert proc.returncode == status
    summary_only(proc.stderr)


def test_a_command_killed_by_a_signal_kills_the_wrapper_with_it(tmp_path, tmpdir_env):
    proc = wrapper(tmp_path, tmpdir_env, "sh", "-c", "kill -USR2 $$")
    assert proc.returncode == -signal.SIGUSR2
    summary_only(proc.stderr)


@pytest.mark.parametrize("command,status,why", [
    ("app.py", 127, "No such file or directory (a script needs its interpreter: "
                    "flowtrace-run python3 app.py)"),
    ("./app.py", 126, "Permission denied (a script needs its interpreter: flowtrace-run "
                      "python3 ./app.py)"),
    ("no-such-command", 127, "No such file or directory"),
])
def test_a_command_that_cannot_run_is_one_line(tmp_path, tmpdir_env, command, status, why):
    (tmp_path / "app.py").write_text("print('hi')\n")
    proc = wrapper(tmp_path, tmpdir_env, command)
    assert proc.returncode == status
    assert proc.stderr == f"flowtrace-run: cannot run '{command}': {why}\n"


def test_fast_commands_never_report_a_writer_that_stopped(tmp_path, tmpdir_env):
    for _ in range(20):
        proc = wrapper(tmp_path, tmpdir_env, "true")
        assert proc.returncode == 0
        summary_only(proc.stderr)
        assert "no Python process was traced" in proc.stderr


# ---- What the summary says ---------------------------------------------------------------

def outside_lines(stderr, out):
    return [l.replace(str(out), "OUT") for l in stderr.splitlines() if "outside any unit" in l]


@pytest.mark.parametrize("source,args,status,says", [
    ("import sys\nsys.exit(3)\n", [], 3, "exit status 3"),
    ("raise SystemExit('no config')\n", [], 1, "exit status 1"),
    ("import os\nos._exit(5)\n", [], 5, "os._exit(5)"),
    ("raise ValueError('x')\n", [], 1, "an uncaught exception"),
    # pytest that never ran a test: a module that does not import, a usage error
    ("import no_such_module\ndef test_x():\n    pass\n", ["-m", "pytest", "-p",
                                                         "no:cacheprovider"], 2,
     "exit status 2"),
    ("def test_x():\n    pass\n", ["-m", "pytest", "-p", "no:cacheprovider",
                                    "--no-such-option"], 4, "exit status 4"),
])
def test_a_root_run_that_failed_with_no_unit_to_explain_it_is_one_failed_line(
        tmp_path, tmpdir_env, source, args, status, says):
    (tmp_path / "test_app.py").write_text(source)
    proc = wrapper(tmp_path, tmpdir_env, PY, *(args or []), "test_app.py")
    assert proc.returncode == status, proc.stderr
    [run] = runs_in(tmp_path / "out")
    assert outside_lines(proc.stderr, tmp_path / "out") == [
        f"[FlowTrace] FAILED outside any unit: {says} -> OUT/{run.path.name} "
        f"(flowtrace report -d OUT for details)"]


def test_a_failed_unit_explains_the_run_s_status_alone(tmp_path, tmpdir_env):
    (tmp_path / "test_app.py").write_text("def test_x():\n    assert 1 == 2\n")
    proc = wrapper(tmp_path, tmpdir_env, PY, "-m", "pytest", "-p", "no:cacheprovider",
                   "test_app.py")
    assert proc.returncode == 1
    assert "[FlowTrace] FAILED: test_app.py::test_x" in proc.stderr
    assert outside_lines(proc.stderr, tmp_path / "out") == []


def test_a_run_that_went_well_has_no_failed_line(tmp_path, tmpdir_env):
    (tmp_path / "app.py").write_text("print('hi')\n")
    proc = wrapper(tmp_path, tmpdir_env, PY, "app.py")
    assert proc.returncode == 0
    assert "FAILED" not in proc.stderr


# ---- Signals ----------------------------------------------------------------------------

def start(tmp_path, tmpdir, *args, session=False, stdin=subprocess.DEVNULL):
    return subprocess.Popen([str(RUN), "-o", str(tmp_path / "out"), PY, WAITS, *args],
                            cwd=tmp_path, env=env_for(tmpdir), stdin=stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=no_core, start_new_session=session)


def finished(tmp_path, proc):
    """The wrapper's output once it ended; its run is whole and its writer gone."""
    out, err = proc.communicate(timeout=120)
    [run] = runs_in(tmp_path / "out")
    balanced(run.events)
    assert writers_of(tmp_path / "out") == []
    return out, err, run


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_signal_to_the_wrapper_reaches_the_program_once(tmp_path, tmpdir_env, sig):
    proc = start(tmp_path, tmpdir_env, "count", sig.name)
    wait_ready(proc)
    proc.send_signal(sig)  # as Popen.terminate() does: the wrapper only
    out, err, run = finished(tmp_path, proc)
    assert (proc.returncode, out) == (0, "got 1\n"), err
    summary_only(err)
    assert run.tree["ended"] == "exit"


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_signal_to_the_wrapper_ends_the_program_as_it_would_end_it(tmp_path, tmpdir_env,
                                                                      sig):
    proc = start(tmp_path, tmpdir_env, "wait")
    wait_ready(proc)
    proc.send_signal(sig)
    out, err, run = finished(tmp_path, proc)
    assert proc.returncode == -sig  # Python dies of each of them (SIGINT via KeyboardInterrupt)
    assert "Terminated" not in err and "stopped during the run" not in err, err
    if sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        assert run.tree["ended"] == "signal"  # the library ships the trace, then dies of it
    else:
        assert run.tree["ended"] in ("signal", "killed")


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_signal_to_the_process_group_reaches_the_program_once(tmp_path, tmpdir_env, sig):
    proc = start(tmp_path, tmpdir_env, "count", sig.name, session=True)
    wait_ready(proc)
    os.killpg(proc.pid, sig)  # a terminal hanging up, a CI runner stopping a job
    out, err, run = finished(tmp_path, proc)
    assert (proc.returncode, out) == (0, "got 1\n"), err
    summary_only(err)
    assert run.tree["ended"] == "exit"


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_signal_to_the_process_group_leaves_a_whole_run(tmp_path, tmpdir_env, sig):
    proc = start(tmp_path, tmpdir_env, "wait", session=True)
    wait_ready(proc)
    os.killpg(proc.pid, sig)
    out, err, run = finished(tmp_path, proc)  # also: the writer did not outlive it
    assert proc.returncode == -sig
    assert "Terminated" not in err and "stopped during the run" not in err, err
    assert (tmp_path / "out" / run.path.name / "tree.json").exists()


def test_a_signal_to_a_group_the_wrapper_shares_with_its_caller(tmp_path, tmpdir_env):
    # The wrapper started by a shell that is the group's leader (as in `make`, `sh -c`):
    # the group's SIGTERM reaches the program once, and the wrapper exits as it did.
    script = f"'{RUN}' -o '{tmp_path / 'out'}' {PY} '{WAITS}' count SIGTERM; echo status $?"
    proc = subprocess.Popen(["sh", "-c", script], cwd=tmp_path, env=env_for(tmpdir_env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=no_core)
    wait_ready(proc)
    os.killpg(proc.pid, signal.SIGTERM)  # sh dies of it; the wrapper must not
    out, err, run = finished(tmp_path, proc)
    assert out == "got 1\n"
    assert run.tree["ended"] == "exit"


def test_timeout_stops_the_program_in_time_and_reports_124(tmp_path, tmpdir_env):
    proc = subprocess.run(["timeout", "-k", "60", "2", str(RUN), "-o", str(tmp_path / "out"),
                           PY, WAITS, "wait"], cwd=tmp_path, env=env_for(tmpdir_env),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 124, proc.stderr  # not 137: nothing needed SIGKILL
    [run] = runs_in(tmp_path / "out")
    assert run.tree["ended"] == "signal" and run.tree["signal"] == signal.SIGTERM
    assert wait_gone(tmp_path / "out")


def test_a_killed_wrapper_leaves_no_writer_behind(tmp_path, tmpdir_env):
    proc = start(tmp_path, tmpdir_env, "stdin", session=True, stdin=subprocess.PIPE)
    pid = wait_ready(proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    os.kill(pid, 0)  # the program runs on, untouched, as under a killed `timeout`
    proc.stdin.write("bye\n")
    proc.stdin.close()
    assert proc.stdout.read() == "read bye\n"
    # Its writer finishes its run and leaves once nothing is connected.
    assert wait_gone(tmp_path / "out")
    [run] = runs_in(tmp_path / "out")
    assert run.tree["ended"] == "exit"
    balanced(run.events)


# ---- Where the socket goes ----------------------------------------------------------------

def traced_socket(tmp_path, env, cwd=None):
    proc = subprocess.run([str(RUN), "-o", str(tmp_path / "out"), PY, WAITS, "env", "SOCKET"],
                          cwd=cwd or tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    summary_only(proc.stderr)
    assert len(runs_in(tmp_path / "out")) == 1
    return proc.stdout.strip()


def test_a_long_tmpdir_is_passed_over(tmp_path, tmpdir_env):
    long = tmpdir_env / ("d" * 150)
    long.mkdir()
    socket = traced_socket(tmp_path, env_for(long))
    assert socket.startswith("/") and len(socket) < 108
    long.rmdir()


def test_a_missing_tmpdir_is_passed_over(tmp_path, tmpdir_env):
    assert traced_socket(tmp_path, env_for(tmpdir_env / "missing")).startswith("/")


def test_a_relative_tmpdir_is_made_absolute(tmp_path, tmpdir_env):
    cwd = tmpdir_env / "c"  # short enough for a socket path under it
    (cwd / "rel").mkdir(parents=True)
    socket = traced_socket(tmp_path, env_for("rel"), cwd=cwd)
    assert socket.startswith(str(cwd / "rel") + "/")
    assert list((cwd / "rel").iterdir()) == []
    shutil.rmtree(cwd)


def test_no_mktemp_needed(tmp_path, tmpdir_env):
    traced_socket(tmp_path, env_for(tmpdir_env, PATH="/nonexistent"))


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                    reason="needs root and unshare for a private read-only /tmp")
def test_a_read_only_tmp_is_passed_over(tmp_path):
    out = Path(tempfile.mkdtemp(prefix="ftw", dir="/var/tmp"))
    try:
        script = ("mount --bind /tmp /tmp && mount -o remount,ro,bind /tmp && "
                  f"exec '{RUN}' -o '{out}/out' {PY} '{WAITS}' env SOCKET")
        env = clean_env()
        env.pop("TMPDIR", None)
        proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                               script], env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        summary_only(proc.stderr)
        assert proc.stdout.startswith("/") and not proc.stdout.startswith("/tmp/")
        assert len(runs_in(out / "out")) == 1
    finally:
        shutil.rmtree(out)


# ---- A terminal: an interactive shell's job ------------------------------------------------

class Terminal:
    """An interactive bash on a pseudo-terminal, as a person would have it."""

    def __init__(self, cwd, tmpdir):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            # A terminal's shell starts with the default dispositions, whatever the suite
            # was started with (a shell's background ignores SIGINT, and bash keeps that).
            for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT):
                signal.signal(sig, signal.SIG_DFL)
            os.chdir(cwd)
            env = env_for(tmpdir, PS1="$ ")
            os.execve("/bin/bash", ["bash", "--norc", "--noprofile", "-i"], env)
        self.seen = ""

    def type(self, text):
        os.write(self.fd, text.encode())

    def expect(self, what, seconds=60):
        """Reads until `what` has been printed (it must be, in time); returns what was
        printed up to it, and forgets that."""
        deadline = time.monotonic() + seconds
        while what not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"no {what!r} in {self.seen!r}"
            if select.select([self.fd], [], [], left)[0]:
                try:
                    self.seen += os.read(self.fd, 4096).decode(errors="replace")
                except OSError:
                    break
        end = self.seen.index(what) + len(what)
        done, self.seen = self.seen[:end], self.seen[end:]
        return done

    def expect_first(self, *whats, seconds=60):
        """Reads until one of whats has been printed; returns the first printed."""
        deadline = time.monotonic() + seconds
        while not any(w in self.seen for w in whats):
            left = deadline - time.monotonic()
            assert left > 0, f"none of {whats!r} in {self.seen!r}"
            if select.select([self.fd], [], [], left)[0]:
                self.seen += os.read(self.fd, 4096).decode(errors="replace")
        first = min((w for w in whats if w in self.seen), key=self.seen.index)
        self.expect(first)
        return first

    def close(self):
        # A second exit leaves even with a stopped job (a failed test's), which bash
        # then hangs up; the shell is killed if it is still there after that.
        try:
            self.type("exit\nexit\n")
        except OSError:
            pass  # the shell is gone already
        for _ in range(100):
            if os.waitpid(self.pid, os.WNOHANG) != (0, 0):
                break
            time.sleep(0.1)
        else:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


@pytest.fixture
def terminal(tmp_path, tmpdir_env):
    t = Terminal(tmp_path, tmpdir_env)
    yield t
    t.close()


def test_ctrl_c_in_a_terminal_reaches_the_program_once(tmp_path, terminal):
    terminal.type(f"{RUN} -o out {PY} {WAITS} count SIGINT\n")
    terminal.expect("ready")
    terminal.type("\x03")  # the terminal sends SIGINT to its foreground group
    assert "got 1" in terminal.expect("Profiling finished")  # not again from the wrapper
    terminal.type("echo status=$?\n")
    terminal.expect("status=0")
    terminal.type(f"{RUN} -o out {PY} {WAITS} wait\n")
    terminal.expect("ready")
    terminal.type("\x03")
    terminal.expect("Profiling finished")
    terminal.type("echo status=$?\n")
    terminal.expect("status=130")  # bash's way of saying: ended by SIGINT
    runs = runs_in(tmp_path / "out")
    assert runs[-1].tree["ended"] == "signal" and runs[-1].tree["signal"] == signal.SIGINT


def test_ctrl_z_and_fg_in_a_terminal_stop_and_continue_the_job(tmp_path, terminal):
    (tmp_path / "q.py").write_text("input('go? ')\nprint('went on')\n")
    terminal.type(f"{RUN} -o out {PY} q.py\n")
    terminal.expect("go? ")
    terminal.type("\x1a")  # SIGTSTP to the foreground group: the job stops, whole
    terminal.expect("Stopped")
    # Type only once bash, back in charge of the terminal, shows its prompt: what is typed
    # before its line editor is ready can be lost (under load 'fg' arrived as 'g').
    terminal.expect("$ ")  # (after bash's bracketed-paste switch, not at a line start)
    # The job continues in the foreground and reads the terminal; bash names it. Under load
    # bash can still lose the first key typed after a job stopped: then 'fg' again.
    for _ in range(3):
        terminal.type("fg\n")
        if terminal.expect_first("q.py", "command not found") == "q.py":
            break
        terminal.expect("$ ")
    terminal.type("yes\n")
    assert "went on" in terminal.expect("Profiling finished")
    terminal.type("echo status=$?\n")
    terminal.expect("status=0")
    [run] = runs_in(tmp_path / "out")
    assert run.tree["ended"] == "exit"
