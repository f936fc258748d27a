"""The flowtrace command as people use it in a terminal: what a traced program wrote never
drives the terminal, options go before or after the command, every line of a tree says
something, deep recursions print short lines, and written files are the user's alone."""
import os
import re
import stat
import subprocess

from conftest import CLI, PROGRAMS, RUN, clean_env

PY = "/usr/bin/python3"


def cli(*args, cwd=None):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=clean_env())


def traced(tmp_path, *args, wrapper=()):
    out = tmp_path / "out"
    proc = subprocess.run([str(RUN), "-q", "-o", str(out), *wrapper, PY, *map(str, args)],
                          capture_output=True, text=True, env=clean_env(), cwd=tmp_path)
    return proc, out


HOSTILE = ("import sys\n"
           "def greet(name):\n"
           "    return name\n"
           "greet('\\x1b[2J\\x1b]0;pwned\\x07')\n"
           "raise ValueError('ok\\rFAKE \\x1b]52;c;ZXZpbA==\\x07 \\x9b31m')\n")


def test_what_the_program_wrote_is_escaped_on_the_terminal(tmp_path):
    (tmp_path / "hostile.py").write_text(HOSTILE)
    proc, out = traced(tmp_path, "hostile.py", "\x1b[31marg\ron")
    assert proc.returncode == 1
    for args in (["show"], ["ls"], ["stats"], ["show", "--errors"]):
        text = cli(*args, "-d", out).stdout
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]", text), (args, text)
    show = cli("show", "-d", out).stdout
    assert "Uncaught ValueError: ok\\rFAKE \\e]52;c;ZXZpbA==\\x07 \\u009b31m" in show
    # Values are rendered as repr() shows them: already escaped.
    assert "greet(name='\\x1b[2J\\x1b]0;pwned\\x07')" in show
    # argv as a shell would need it typed: $'...' for control characters.
    assert "hostile.py $'\\e[31marg\\ron'" in show.splitlines()[0]


def test_ls_shows_a_c_program_on_one_line(tmp_path):
    proc, out = traced(tmp_path, "-c", "def g():\n    return 1\ng()")
    assert proc.returncode == 0
    ls = cli("ls", "-d", out)
    assert ls.stdout.count("\n") == 1
    assert ls.stdout.rstrip().endswith("python3 -c $'def g():\\n    return 1\\ng()'")


def test_options_come_before_or_after_the_command(tmp_path):
    proc, out = traced(tmp_path, PROGRAMS / "nested.py")
    after = cli("show", "-d", out)
    assert after.returncode == 0 and "Inventory.add" in after.stdout
    for before in (["-d", out], ["--dir", out], [f"--dir={out}"], [f"-d{out}"]):
        proc = cli(*before, "show")
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, after.stdout, ""), before
    assert cli("-d", out, "ls").stdout == cli("ls", "-d", out).stdout
    # The command's own -d wins over one given before it.
    assert cli("-d", tmp_path / "nowhere", "show", "-d", out).stdout == after.stdout
    bad = cli("-d")
    assert (bad.returncode, bad.stderr) == (
        2, "flowtrace: option '-d' needs a value (see 'flowtrace --help')\n")
    assert cli("--bogus", "ls").stderr == "flowtrace: unknown option '--bogus' (see " \
                                          "'flowtrace --help')\n"


def test_min_duration_leaves_out_threads_with_nothing_left(tmp_path):
    (tmp_path / "two.py").write_text(
        "import threading, time\n"
        "def quick():\n    return 1\n"
        "def slow():\n    time.sleep(0.05)\n"
        "t = threading.Thread(target=quick, name='quick-thread')\n"
        "t.start(); t.join()\n"
        "slow()\n")
    proc, out = traced(tmp_path, "two.py")
    assert proc.returncode == 0
    assert "Thread quick-thread" in cli("show", "-d", out).stdout
    show = cli("show", "-d", out, "--min-duration", "20ms").stdout
    assert "quick-thread" not in show and "slow" in show
    assert cli("show", "-d", out, "--min-duration", "10s").stdout.endswith("(no calls match)\n")


def test_a_package_module_is_named_by_its_package(tmp_path):
    for name in ("alpha", "beta"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("X = 1\n")
    (tmp_path / "main.py").write_text("import alpha, beta\n")
    proc, out = traced(tmp_path, "main.py")
    show = cli("show", "-d", out, "--color", "never").stdout
    assert "✅ <module>  alpha/__init__.py:1" in show
    assert "✅ <module>  beta/__init__.py:1" in show
    assert " __init__.py:1" not in show


def test_a_deep_recursion_prints_short_lines(tmp_path):
    # Drawn in full, 5,000 levels of "│   " took 50 MB (5 GB for 50,000 levels).
    (tmp_path / "deep.py").write_text(
        "import sys\nsys.setrecursionlimit(20000)\n"
        "def down(n):\n    return down(n - 1) if n else 0\n"
        "down(5000)\n")
    proc, out = traced(tmp_path, "deep.py")
    assert proc.returncode == 0, proc.stderr
    show = cli("show", "-d", out, "--color", "never")
    assert show.returncode == 0
    lines = show.stdout.splitlines()
    assert len(lines) == 5004  # the header, the thread, <module> and 5,001 calls of down
    assert max(map(len, lines)) < 300 and len(show.stdout) < 2_000_000
    assert "[depth 5001] ✅ down(n=0) → 0" in lines[-1]
    assert cli("show", "-d", out, "--depth", "3").stdout.count("\n") == 6


def test_written_files_are_readable_by_their_owner_only(tmp_path):
    proc, out = traced(tmp_path, PROGRAMS / "nested.py")
    old = os.umask(0)
    try:
        for args, name in ((["html", "-o"], "t.html"), (["export", "--format", "chrome", "-o"],
                           "t.json"), (["report", "-o"], "t.xml")):
            proc = cli(args[0], "-d", out, *args[1:], tmp_path / name)
            assert proc.returncode == 0, proc.stderr
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    finally:
        os.umask(old)


def test_pool_workers_the_pool_stops_are_not_failures(tmp_path):
    (tmp_path / "pool.py").write_text(
        "import multiprocessing, time\n"
        "def square(x):\n    return x * x\n"
        "def nap():\n    time.sleep(30)\n"
        "if __name__ == '__main__':\n"
        "    with multiprocessing.Pool(2) as pool:\n"
        "        print(sum(pool.map(square, range(10))))\n"
        "        pool.apply_async(nap)\n"
        "        time.sleep(0.5)  # a worker naps when the with-block terminates the pool\n")
    proc, out = traced(tmp_path, "pool.py")
    assert (proc.returncode, proc.stdout) == (0, "285\n")
    lines = cli("ls", "-d", out).stdout.splitlines()
    assert 2 <= len(lines) <= 3, lines  # a worker that got no task may have made no run
    # Pool.terminate() ends its workers by SIGTERM: ended as designed, not failed.
    assert all(l.startswith("✅") for l in lines), lines
    assert any(" stopped " in l for l in lines), lines


def test_a_detached_run_is_a_failure_only_when_it_lost_events(tmp_path):
    # flowtrace attach and the region API stop recording before the process ends.
    out = tmp_path / "out"
    for name, lost in (("20261122-101530-1", 0), ("20261122-101531-2", 7)):
        (out / name).mkdir(parents=True)
        (out / name / "tree.json").write_text(
            '{"run": "%s", "pid": 1, "argv": ["python3", "app.py"], "start": 1, '
            '"durationMicros": 5.0, "exitCode": null, "ended": "detached", '
            '"tracer": {"calls": 0, "events": 0, "lost": %d}, "threads": []}' % (name, lost))
    lines = sorted(cli("ls", "-d", out).stdout.splitlines(), key=lambda l: l.split()[1])
    assert lines[0].startswith("✅ 20261122-101530-1") and " detached " in lines[0]
    assert lines[1].startswith("❌ 20261122-101531-2") and lines[1].endswith("(7 events lost)")
