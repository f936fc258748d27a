"""Traces hold the program's data: files are 0600 in 0700 directories, the writer's socket
is in a private directory, and no other user can connect to it or send it events."""
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import PROGRAMS, clean_env, preload, runs_in, trace
from procs_util import Writer

NOBODY = 65534


def modes(root):
    """{relative path: permission bits} of everything under root, root included."""
    found = {".": stat.S_IMODE(os.lstat(root).st_mode)}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            found[os.path.relpath(p, root)] = stat.S_IMODE(os.lstat(p).st_mode)
    return found


def assert_private(root):
    for path, mode in modes(root).items():
        is_dir = os.path.isdir(os.path.join(root, path))
        assert mode == (0o700 if is_dir else 0o600), (path, oct(mode))


def owner_only(path):
    """A socket is usable by whoever may write it: the owner only here."""
    return stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0


def test_runs_are_files_0600_in_directories_0700(tmp_path):
    old = os.umask(0o022)  # a usual umask: what FlowTrace creates must be private anyway
    try:
        check_modes(tmp_path)
    finally:
        os.umask(old)


def check_modes(tmp_path):
    proc, runs = trace("/usr/bin/python3", [PROGRAMS / "procs.py", "fork"], tmp_path,
                       wrapper_args=["--keep-raw"])
    assert proc.returncode == 0 and len(runs) == 2
    assert_private(tmp_path / "out")
    # Bare LD_PRELOAD: the library creates the directory and starts the writer (its log).
    bare = tmp_path / "bare"
    bare.mkdir()
    proc = preload("/usr/bin/python3", [PROGRAMS / "nested.py"], bare)
    assert proc.returncode == 0
    assert (bare / "out" / "writer.log").exists()
    assert_private(bare / "out")


def test_the_wrappers_socket_is_in_a_private_directory(tmp_path):
    script = tmp_path / "where.py"
    script.write_text("import os, stat\n"
                      "s = os.environ['FLOWTRACE_SOCKET']\n"
                      "print(oct(stat.S_IMODE(os.stat(os.path.dirname(s)).st_mode)),"
                      " oct(stat.S_IMODE(os.stat(s).st_mode) & 0o077), os.stat(s).st_uid == os.getuid())\n")
    proc, _ = trace("/usr/bin/python3", [script], tmp_path)
    assert proc.stdout == "0o700 0o0 True\n"


def test_the_shared_writers_socket_directory_must_be_private(tmp_path):
    tmpdir = Path(tempfile.mkdtemp(prefix="ft", dir="/tmp"))  # short: sockets paths are
    shared = tmpdir / f"flowtrace-{os.getuid()}"
    shared.mkdir()
    shared.chmod(0o777)  # someone made it world-writable: it cannot be trusted
    env = clean_env(TMPDIR=tmpdir)
    proc = preload("/usr/bin/python3", ["-c", "print('ran')"], tmp_path, env=env)
    assert (proc.returncode, proc.stdout) == (0, "ran\n")
    assert proc.stderr.count("\n") == 1
    assert "is not a private directory owned by this user; the program runs untraced" in \
        proc.stderr
    assert not (tmp_path / "out").exists()
    shutil.rmtree(tmpdir)


def as_nobody():
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_another_user_can_neither_reach_nor_use_the_socket(tmp_path):
    w = Writer(tmp_path)
    connect = ("import socket, sys\n"
               "s = socket.socket(socket.AF_UNIX)\n"
               "try:\n    s.connect(sys.argv[1])\nexcept OSError as e:\n"
               "    print(type(e).__name__); sys.exit()\n"
               "try:\n    s.sendall(sys.stdin.buffer.read()); print('got', s.recv(100))\n"
               "except OSError:\n    print('closed')\n")
    # The socket is the writer's user's only (0600); its directory is ours to open up.
    assert owner_only(w.socket)
    # Every directory from pytest's base temporary directory ("pytest-of-USER", 0700)
    # down, wherever TMPDIR put it.
    opened = [p for p in [tmp_path, *tmp_path.parents]
              if any(q.name.startswith("pytest-of-") for q in [p, *p.parents])]
    saved = {p: p.stat().st_mode for p in opened}
    try:
        for p in opened:
            p.chmod(saved[p] | 0o055)
        refused = nobody_connects(w, connect)
    finally:
        for p, mode in saved.items():
            p.chmod(mode)
    status, err = w.stop()
    assert f"user {NOBODY} is not user {os.geteuid()}" in err
    assert refused == (b"PermissionError\n", b"got b''\n") or \
        refused == (b"PermissionError\n", b"closed\n")  # hung up on, nothing said
    assert not w.dir.exists() or runs_in(w.dir) == []


def nobody_connects(w, connect):
    denied = subprocess.run(["/usr/bin/python3", "-c", connect, w.socket], input=b"",
                            capture_output=True, preexec_fn=as_nobody, timeout=60)
    # Even with the socket opened to everyone, the writer refuses another user's events.
    os.chmod(w.socket, 0o666)
    hello = bytes.fromhex("46544631") + b"\x01\x00\x00\x00" + b"\x00" * 8  # HELLO, empty
    refused = subprocess.run(["/usr/bin/python3", "-c", connect, w.socket], input=hello,
                             capture_output=True, preexec_fn=as_nobody, timeout=60)
    return denied.stdout, refused.stdout
