"""The wheel (make wheel): installed offline into a venv, its commands work from any
directory, with the native parts it carries."""
import json
import subprocess
import zipfile
from pathlib import Path

from conftest import runs_in, the_wheel

PROGRAM = """\
import sys
def double(x):
    return x * 2
print(double(int(sys.argv[1])))
"""


def test_the_wheel_carries_the_native_parts_and_the_package():
    whl = the_wheel()
    assert whl.name.endswith("-py3-none-linux_x86_64.whl"), whl.name
    names = set(zipfile.ZipFile(whl).namelist())
    for part in ("libflowtrace.so", "flowtrace-writer", "flowtrace", "flowtrace-run"):
        assert f"flowtrace/_bin/{part}" in names
    assert "flowtrace/__init__.py" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(whl).read(entry_points).decode()
    assert "flowtrace = flowtrace._commands:flowtrace" in text
    assert "flowtrace-run = flowtrace._commands:flowtrace_run" in text


def test_installed_commands_trace_from_any_directory(installed, tmp_path):
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    (elsewhere / "app.py").write_text(PROGRAM)
    env = installed.env()
    proc = subprocess.run(["flowtrace-run", "python3", "app.py", "21"], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "42\n"
    assert "[FlowTrace] Profiling finished in" in proc.stderr
    [run] = runs_in(elsewhere / "flowtrace-out")
    assert run.details() == "[MainThread]\n  double(x=21) -> 42"
    # The bundled library and writer did it, not a build directory.
    bundle = Path(installed.root).glob("lib/python3*/site-packages/flowtrace/_bin")
    assert next(bundle).is_dir()
    show = subprocess.run(["flowtrace", "show"], cwd=elsewhere, env=env, capture_output=True,
                          text=True, timeout=60)
    assert show.returncode == 0, show.stderr
    assert "double(x=21) → 42" in show.stdout


def test_installed_library_preloaded_starts_its_own_writer(installed, tmp_path):
    """A bare LD_PRELOAD of the installed library finds the writer beside it."""
    (tmp_path / "app.py").write_text(PROGRAM)
    lib = subprocess.run([installed.python, "-c", "import flowtrace._bundle as b; "
                          "print(b.path('libflowtrace.so'))"], env=installed.env(),
                         capture_output=True, text=True, check=True).stdout.strip()
    assert "/site-packages/flowtrace/_bin/" in lib
    proc = subprocess.run(["python3", "app.py", "5"], cwd=tmp_path, capture_output=True, text=True,
                          env=installed.env(LD_PRELOAD=lib, FLOWTRACE_DIR=tmp_path / "out"),
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "10\n"
    [run] = runs_in(tmp_path / "out")
    assert run.details() == "[MainThread]\n  double(x=5) -> 10"
    assert json.loads((run.path / "tree.json").read_text())["exitCode"] == 0


def test_every_command_answers_version(installed, tmp_path):
    """One version, defined once (VERSION), in every command and in the package."""
    from conftest import ROOT

    version = (ROOT / "VERSION").read_text().strip()
    assert the_wheel().name.startswith(f"flowtrace-{version}-")
    env = installed.env()
    bundle = next(Path(installed.root).glob("lib/python3*/site-packages/flowtrace/_bin"))
    for cmd in (["flowtrace"], ["flowtrace-run"], [str(bundle / "flowtrace-writer")]):
        proc = subprocess.run([*cmd, "--version"], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=60)
        assert (proc.returncode, proc.stdout, proc.stderr) == (
            0, f"{Path(cmd[0]).name} {version}\n", ""), cmd
    proc = subprocess.run([installed.python, "-c", "import flowtrace; print(flowtrace.__version__)"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.stdout == f"{version}\n"
