"""--compress: a run written as zstd (events.jsonl.zst, tree.json.zst, and its units'
files) that `zstd -dc` reads, holding what the plain run holds, and that every flowtrace
command reads as it reads a plain run."""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import CLI, PROGRAMS, RUN, clean_env
from procs_util import WRITER, no_core, wait_ready, wrapper_cmd
from test_writer_stress import CALLS, children_of, produced

UNITS = PROGRAMS.parent / "units"
PY = "/usr/bin/python3"


def run_shop(tmp_path, *extra, name):
    out = tmp_path / name
    proc = subprocess.run([str(RUN), "-q", "-o", str(out), *extra, PY,
                           str(PROGRAMS / "shop.py"), "--customer", "ana", "--coffee", "2"],
                          capture_output=True, text=True, env=clean_env(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [run] = [p for p in out.iterdir() if p.is_dir()]
    return out, run


def unzstd(path):
    return subprocess.run(["zstd", "-dc", str(path)], capture_output=True, check=True).stdout


def cli(*args):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True,
                          env=clean_env())


def without_times(tree):
    """A tree's structure and values: what must not depend on how it was written."""
    keep = {"module", "function", "file", "line", "args", "result", "exception"}
    def node(n):
        return {**{k: v for k, v in n.items() if k in keep},
                "children": [node(c) for c in n["children"]]}
    shape = [[node(n) for n in t["calls"]] for t in tree["threads"]]
    return re.sub(r"0x[0-9a-f]+", "0x", json.dumps(shape))  # objects' addresses differ


def test_a_compressed_run_holds_what_a_plain_one_does(tmp_path):
    _, plain = run_shop(tmp_path, name="plain")
    _, packed = run_shop(tmp_path, "--compress", name="packed")
    # The kept source files (issue 18) stay plain: each is read whole, by its hash.
    assert sorted(p.name for p in packed.iterdir()) == ["events.jsonl.zst", "sources",
                                                       "tree.json.zst"]
    tree = json.loads(unzstd(packed / "tree.json.zst"))
    assert without_times(tree) == without_times(json.loads((plain / "tree.json").read_text()))
    lines = [json.loads(l) for l in unzstd(packed / "events.jsonl.zst").splitlines()]
    plain_lines = [json.loads(l) for l in (plain / "events.jsonl").read_text().splitlines()]
    key = lambda e: re.sub(r"0x[0-9a-f]+", "0x", json.dumps(
        (e["event"], e["function"], e.get("args"), e.get("result"))))
    assert [key(e) for e in lines] == [key(e) for e in plain_lines]
    plain_tree = json.loads((plain / "tree.json").read_text())
    assert tree["tracer"]["events"] == plain_tree["tracer"]["events"]
    assert tree["tracer"]["lost"] == 0


@pytest.mark.parametrize("command", [["show"], ["stats"], ["ls"], ["show", "--json"],
                                     ["tail", "-n", "0"]])
def test_every_command_reads_a_compressed_run_as_a_plain_one(tmp_path, command):
    plain_out, _ = run_shop(tmp_path, name="plain")
    packed_out, _ = run_shop(tmp_path, "--compress", name="packed")
    a, b = cli("-d", plain_out, *command), cli("-d", packed_out, *command)
    assert a.returncode == b.returncode == 0, (a.stderr, b.stderr)
    def mask(text):  # ids, times, dates, addresses and column widths differ between runs
        text = re.sub(r"0x[0-9a-f]+", "0x", text)
        return sorted(re.sub(r"\s+", " ", re.sub(r"[0-9][0-9.:/-]*(ns|µs|ms|s)?", "N", line))
                      for line in text.splitlines())
    assert mask(a.stdout) == mask(b.stdout) and a.stdout


def test_html_and_export_read_a_compressed_run(tmp_path):
    out, _ = run_shop(tmp_path, "--compress", name="packed")
    html = cli("-d", out, "html", "-o", tmp_path / "run.html")
    assert html.returncode == 0, html.stderr
    assert "seed_inventory" in (tmp_path / "run.html").read_text()
    chrome = cli("-d", out, "export", "--format", "chrome", "-o", tmp_path / "t.json")
    assert chrome.returncode == 0, chrome.stderr
    assert any(e.get("name", "").endswith("seed_inventory")
               for e in json.loads((tmp_path / "t.json").read_text())["traceEvents"])


def test_units_files_are_compressed_too_and_report_reads_them(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([str(RUN), "-q", "--compress", "--keep", "all", "-o", str(out), PY,
                           "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(UNITS / "pytest_suite.py")],
                          capture_output=True, text=True, env=clean_env(), cwd=UNITS)
    [run] = [p for p in out.iterdir() if p.is_dir()]
    units = [json.loads(l) for l in (run / "units.jsonl").read_text().splitlines()]
    assert units and all(u["tree"].endswith("/tree.json.zst") for u in units), units
    for u in units:
        assert json.loads(unzstd(run / u["tree"]))["unit"] == u["unit"]
    report = cli("-d", out, "report", "--format", "junit", "-o", tmp_path / "r.xml")
    assert report.returncode in (0, 1), report.stderr
    assert "<testcase" in (tmp_path / "r.xml").read_text()


def test_a_compressed_run_is_rebuilt_from_its_compressed_journal(tmp_path):
    # A compressed run's journal is compressed too (raw.ftb.zst: the peak disk of such a
    # run, docs/format.md); a writer that dies still leaves a run flowtrace-run rebuilds.
    n = 300_000
    out = tmp_path / "out"
    proc = subprocess.Popen(wrapper_cmd(out, PY, [CALLS, n, "wait"], "--compress"),
                            cwd=tmp_path, env=clean_env(), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=no_core)
    wait_ready(proc)
    deadline = time.monotonic() + 120
    while not [p for p in out.glob("*/raw.ftb.zst") if p.stat().st_size > 0]:
        assert time.monotonic() < deadline, "no journal written"
        time.sleep(0.01)  # a condition polled, not a duration waited for
    assert not list(out.glob("*/raw.ftb"))
    [writer] = [p for p in children_of(proc.pid)
                if b"flowtrace-writer" in open(f"/proc/{p}/cmdline", "rb").read()]
    os.kill(writer, signal.SIGKILL)
    stdout, err = proc.communicate("go\n", timeout=300)
    assert (proc.returncode, stdout) == (0, "done\n"), err
    assert "flowtrace-writer stopped during the run (signal 9); rebuilt 1 run(s)" in err
    [run] = [p for p in out.iterdir() if p.is_dir()]
    assert sorted(os.listdir(run)) == ["events.jsonl.zst", "sources", "tree.json.zst"]
    tree = json.loads(unzstd(run / "tree.json.zst"))
    assert "rebuilt" in tree["endReason"] and tree["exitCode"] == 0
    tracer = tree["tracer"]
    lines = [json.loads(l) for l in unzstd(run / "events.jsonl.zst").splitlines()]
    assert tracer["events"] + tracer["lost"] == produced(n)
    assert 0 < tracer["events"] == sum(1 for e in lines if "incomplete" not in e)


def test_a_compressed_runs_kept_journal_is_converted_as_a_plain_one_is(tmp_path):
    # flowtrace-writer --convert reads raw.ftb.zst itself (it said "no HELLO" of zstd
    # bytes): the same run again; a journal cut by a writer that died (every write is
    # whole frames, one zstd frame) gives every call up to the cut, the run "killed".
    out, run = run_shop(tmp_path, "--compress", "--keep-raw", name="packed")
    assert sorted(p.name for p in run.iterdir()) == ["events.jsonl.zst", "raw.ftb.zst",
                                                     "sources", "tree.json.zst"]
    conv = tmp_path / "conv"
    made = subprocess.run([str(WRITER), "--dir", str(conv), "--convert",
                           str(run / "raw.ftb.zst")], capture_output=True, text=True,
                          env=clean_env())
    assert made.returncode == 0, made.stderr
    [again] = [p for p in conv.iterdir() if p.is_dir()]
    assert made.stdout == f"{again}\n"
    tree = json.loads((again / "tree.json").read_text())
    assert without_times(tree) == without_times(json.loads(unzstd(run / "tree.json.zst")))
    assert tree["tracer"]["events"] == json.loads(unzstd(run / "tree.json.zst"))["tracer"][
        "events"] > 0

    n = 60_000
    big = tmp_path / "big"
    proc = subprocess.run(wrapper_cmd(big, PY, [CALLS, n], "--compress", "--keep-raw"),
                          cwd=tmp_path, env=clean_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    [run] = [p for p in big.iterdir() if p.is_dir()]
    journal = (run / "raw.ftb.zst").read_bytes()
    cut = tmp_path / "cut.ftb.zst"
    cut.write_bytes(journal[:len(journal) // 2])
    conv = tmp_path / "conv-cut"
    made = subprocess.run([str(WRITER), "--dir", str(conv), "--convert", str(cut)],
                          capture_output=True, text=True, env=clean_env())
    assert (made.returncode, made.stderr) == (0, "")
    [again] = [p for p in conv.iterdir() if p.is_dir()]
    cut_tree = json.loads((again / "tree.json").read_text())
    tracer = cut_tree["tracer"]
    lines = (again / "events.jsonl").read_text().splitlines()
    assert cut_tree["ended"] == "killed" and tracer["lost"] == 0
    assert 0 < tracer["events"] < produced(n)
    assert tracer["events"] == sum(1 for l in lines if "incomplete" not in l)
