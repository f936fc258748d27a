"""Outside CPython the preloaded library does nothing: same bytes, same status, no files."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import LIB, clean_env, runs_in

COMMANDS = [
    ["/bin/true"],
    ["/bin/false"],
    ["sh", "-c", "echo out; echo err >&2; exit 3"],
    ["sh", "-c", "sh -c 'cat /etc/hostname' | wc -c"],
]


def run(cmd, cwd, preload):
    env = clean_env(FLOWTRACE_DEBUG=1, FLOWTRACE_DIR=cwd / "out")
    if preload:
        env["LD_PRELOAD"] = str(LIB)
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c)[:30])
def test_non_python_processes_are_untouched(cmd, tmp_path):
    assert run(cmd, tmp_path, True) == run(cmd, tmp_path, False)
    # No output directory, no socket, nothing started.
    assert sorted(os.listdir(tmp_path)) == []


@pytest.mark.skipif(not (Path.home() / ".pyenv/shims/python3").exists(), reason="no pyenv")
def test_the_pyenv_shim_chain_is_untouched_and_only_python_is_traced(tmp_path):
    shim = str(Path.home() / ".pyenv/shims/python3")
    cmd = [shim, "-c", "import sys; print('hi'); sys.exit(4)"]
    traced = run(cmd, tmp_path, True)
    plain = run(cmd, tmp_path, False)
    assert traced[0] == plain[0] == 4
    assert traced[1] == plain[1] == b"hi\n"
    # FLOWTRACE_DEBUG=1 was set: only the Python process (never bash, pyenv or its helpers)
    # may say anything, and every line it says is the library's.
    extra = [l for l in traced[2].decode().splitlines() if l not in plain[2].decode().splitlines()]
    assert extra and all(l.startswith("flowtrace[") for l in extra)
    pids = {l.split("]")[0] for l in extra}
    assert len(pids) == 1, extra
    [run_] = runs_in(tmp_path / "out")
    assert run_.tree["exitCode"] == 4


def test_disabled_by_environment_is_silent(tmp_path):
    env = clean_env(FLOWTRACE_DISABLE=1, LD_PRELOAD=LIB, FLOWTRACE_DIR=tmp_path / "out")
    p = subprocess.run(["/usr/bin/python3", "-c", "print(1)"], env=env, capture_output=True,
                       text=True)
    assert (p.returncode, p.stdout, p.stderr) == (0, "1\n", "")
    assert not (tmp_path / "out").exists()


def test_a_bad_setting_is_one_clear_line_and_the_program_runs(tmp_path):
    env = clean_env(FLOWTRACE_FLUSH_INTERVAL="soon", LD_PRELOAD=LIB,
                    FLOWTRACE_DIR=tmp_path / "out")
    p = subprocess.run(["/usr/bin/python3", "-c", "print(1)"], env=env, capture_output=True,
                       text=True)
    assert (p.returncode, p.stdout) == (0, "1\n")
    assert p.stderr.count("\n") == 1
    assert "FLOWTRACE_FLUSH_INTERVAL='soon' is not 0 or a number of seconds" in p.stderr


def test_wrapper_rejects_bad_flags_and_unwritable_dirs(tmp_path):
    from conftest import RUN
    p = subprocess.run([RUN, "--bogus", "python3"], capture_output=True, text=True)
    assert p.returncode == 2 and "unknown option --bogus" in p.stderr
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    p = subprocess.run([RUN, "-o", ro / "sub", "/usr/bin/python3", "-c", "pass"],
                       capture_output=True, text=True)
    if os.geteuid() != 0:  # root may write anywhere
        assert p.returncode == 2 and "cannot create output directory" in p.stderr
