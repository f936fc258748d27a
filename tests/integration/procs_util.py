"""Helpers for tests that start, signal and kill traced processes (and their writer)."""
import json
import re
import resource
import signal
import subprocess
import time

from conftest import BUILD, LIB, RUN, clean_env

WRITER = BUILD / "flowtrace-writer"
FAULTFS = BUILD / "tests" / "libfaultfs.so"


def no_core():
    """preexec_fn: crashing on purpose must not leave core files behind; and the child
    starts as a terminal's foreground job does, with default signal dispositions and
    nothing blocked, however the test run was started (a `&` in a script or nohup leave
    SIGINT or SIGHUP ignored, and an ignored signal stays ignored across exec)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def untraced(python, args, cwd, **kw):
    """The same program without FlowTrace: what the caller would have seen."""
    return subprocess.run([python, *map(str, args)], cwd=cwd, env=clean_env(),
                          capture_output=True, text=True, preexec_fn=no_core, timeout=120, **kw)


def wrapper_cmd(out, python, args, *wrapper_args):
    return [str(RUN), "-q", "-o", str(out), *wrapper_args, python, *map(str, args)]


def start_traced(python, args, tmp_path, *wrapper_args, env=None, session=False):
    """Starts `flowtrace-run -o OUT ... python args` with pipes; returns the Popen."""
    return subprocess.Popen(wrapper_cmd(tmp_path / "out", python, args, *wrapper_args),
                            cwd=tmp_path, env=env or clean_env(), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=no_core, start_new_session=session)


def wait_ready(proc):
    """Reads the program's "ready PID" line; returns the pid."""
    line = proc.stdout.readline()
    m = re.match(r"ready(?: (\d+))?$", line.strip())
    assert m, f"expected 'ready', got {line!r}; stderr: {proc.stderr.read()}"
    return int(m.group(1)) if m.group(1) else None


def records(run):
    """Event lines that stand for records (not calls closed by the writer at the end)."""
    return sum(1 for e in run.events if "incomplete" not in e)


def lines_valid(path):
    """Every line of a JSONL file parses; returns them."""
    with open(path) as f:
        return [json.loads(line) for line in f]


def flowtrace_lines(stderr):
    return [l for l in stderr.splitlines() if l.startswith("flowtrace[")]


class Writer:
    """A flowtrace-writer started by the test itself, on its own socket."""

    def __init__(self, tmp_path, *args, env=None):
        self.dir = tmp_path / "out"
        self.socket = tmp_path / "w.sock"
        self.proc = subprocess.Popen([str(WRITER), "--dir", str(self.dir), "--socket",
                                      str(self.socket), *args], env=env or clean_env(),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, start_new_session=True)
        # In a session of its own, as flowtrace-run starts it: a test that stops it
        # (SIGSTOP) must not leave a stopped process in the suite's own group, which the
        # kernel hangs up whole (SIGHUP) when that group becomes orphaned (make test run
        # by a CI runner or under setsid: the suite died by SIGHUP at test_stall).
        for _ in range(500):
            if self.socket.exists():
                break
            assert self.proc.poll() is None, self.proc.stderr.read()
            time.sleep(0.01)

    def env(self, **extra):
        """The environment of a process traced into this writer (bare LD_PRELOAD)."""
        return clean_env(LD_PRELOAD=LIB, FLOWTRACE_SOCKET=self.socket,
                         FLOWTRACE_DIR=self.dir, **extra)

    def stop(self):
        """SIGTERM: finish every run, exit. Returns (status, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=120)
        return self.proc.returncode, err

    def kill(self):
        self.proc.kill()
        self.proc.wait()
