"""Traces hold the program's data: files are 0600 in 0700 directories, the writer's socket
is in a private directory, and no other user can connect to it or send it events."""
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from conftest import PROGRAMS, clean_env, preload, runs_in, trace
from procs_util import WRITER, Writer

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


# ---- Output directories someone else owns or prepared -----------------------------------
# A second user, made by the test, plants what it can: FlowTrace must use only what the
# user owns, follow no link it did not make, and say in one line what it passed over.

@pytest.fixture
def other_user():
    """(uid, gid) of a system user made for this test, removed afterwards."""
    if os.geteuid() != 0 or not shutil.which("useradd"):
        pytest.skip("needs root and useradd to make a second user")
    name = "ft" + uuid.uuid4().hex[:12]
    for _ in range(50):  # useradd fails while another holds /etc/passwd's lock
        made = subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                               "/usr/sbin/nologin", name], capture_output=True, text=True)
        if made.returncode == 0:
            break
        time.sleep(0.1)
    assert made.returncode == 0, made.stderr
    try:
        entry = pwd.getpwnam(name)
        yield entry.pw_uid, entry.pw_gid
    finally:
        for _ in range(50):
            if subprocess.run(["userdel", name], capture_output=True).returncode in (0, 6):
                break
            time.sleep(0.1)


def planted(path, owner, content=b"", mode=0o666):
    path.write_bytes(content)
    os.chown(path, *owner)
    path.chmod(mode)
    return path


def one_traced_run(tmp_path, *wrapper_args):
    proc, runs = trace("/usr/bin/python3", [PROGRAMS / "nested.py"], tmp_path,
                       wrapper_args=wrapper_args)
    assert proc.returncode == 0 and len(runs) == 1, proc.stderr
    return proc


def test_an_output_directory_of_another_user_is_not_used(tmp_path, other_user):
    out = tmp_path / "out"
    out.mkdir()
    os.chown(out, *other_user)
    out.chmod(0o777)  # even open to everyone: its owner would read what is written there
    proc, runs = trace("/usr/bin/python3", ["-c", "print('ran')"], tmp_path)
    assert (proc.returncode, proc.stdout, runs) == (0, "ran\n", [])
    assert proc.stderr == (f"flowtrace-run: output directory '{out}' belongs to another user "
                           f"(uid {other_user[0]}); running the command untraced\n")
    assert list(out.iterdir()) == []


def test_an_index_planted_by_another_user_is_not_written(tmp_path, other_user):
    out = tmp_path / "out"
    out.mkdir(mode=0o700)
    index = planted(out / "index.sqlite", other_user)
    proc = one_traced_run(tmp_path)
    assert index.read_bytes() == b""  # its owner learns no argv
    assert f"index.sqlite belongs to another user (uid {other_user[0]}); not used" in proc.stderr


@pytest.mark.parametrize("name", ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"])
def test_a_symlinked_index_is_not_followed(tmp_path, name):
    out = tmp_path / "out"
    out.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    (out / name).symlink_to(victim)
    proc = one_traced_run(tmp_path)
    assert not victim.exists()
    assert f"{name} is a symbolic link; not followed" in proc.stderr


def test_a_symlinked_logfile_is_not_followed(tmp_path):
    victim = tmp_path / "victim.jsonl"
    (tmp_path / "log.jsonl").symlink_to(victim)
    proc = one_traced_run(tmp_path, "--logfile", "log.jsonl")
    assert not victim.exists()
    assert "log.jsonl is a symbolic link; not followed" in proc.stderr


def test_a_logfile_of_another_user_is_not_written(tmp_path, other_user):
    log = planted(tmp_path / "log.jsonl", other_user)
    proc = one_traced_run(tmp_path, "--logfile", "log.jsonl")
    assert log.read_bytes() == b""
    assert f"log.jsonl belongs to another user (uid {other_user[0]}); not used" in proc.stderr


def test_a_run_directory_prepared_in_advance_is_not_used(tmp_path):
    # The run's name is known in advance with --run-id: a link planted under it is passed
    # over for a fresh directory.
    proc, [run] = trace("/usr/bin/python3", [PROGRAMS / "nested.py"], tmp_path,
                        wrapper_args=["--keep-raw"])
    raw = run.path / "raw.ftb"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out2"
    out.mkdir(mode=0o700)
    (out / "planted").symlink_to(elsewhere)
    made = subprocess.run([str(WRITER), "--dir", str(out), "--convert", str(raw), "--run-id",
                           "planted"], capture_output=True, text=True, env=clean_env())
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == str(out / "planted.2")
    assert list(elsewhere.iterdir()) == []
