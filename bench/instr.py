#!/usr/bin/env python3
"""make bench-instr: FlowTrace's cost in instructions (callgrind), deterministic under load.

Wall and CPU times on a shared two-core machine vary by tens of percent; instruction
counts do not. For each workload this runs, under valgrind's callgrind:

  start-up   the interpreter running an empty script, untraced: subtracted from every
             figure below, so that ratios compare the work, not Python's start
  floor      the workload with an empty hook (bench/floor.c), installed as FlowTrace
             installs its own: the cost of being called at all
  cProfile   python -m cProfile (aggregates only), for scale
  FlowTrace  the workload through build/flowtrace-run, every process counted
             (--trace-children): the traced process, flowtrace-writer, and the wrapper
             with its helper commands (sleep excepted: waiting is not work)

and prints, as ratios to the floor measured in the same run: the traced process, the
end to end total (process + writer + wrapper), and the writer's instructions per event
(its whole process: start, index and tree included), with the bytes the run left per
call. Options (FlowTrace's own, e.g. --compress) go to flowtrace-run after --ft.
This is a measurement, not a test: it never fails on a number.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WL = ROOT / "bench" / "workloads"
# name -> (arguments after the interpreter, working directory, exit statuses accepted)
WORKLOADS = {
    "fib": ([str(WL / "fib.py"), "23"], None, (0,)),
    "library": ([str(WL / "library.py"), "300"], None, (0,)),
    "pytest": (["-m", "pytest", "-q", "-p", "no:cacheprovider", "."], WL / "suite", (0, 1)),
}


def env_clean(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FLOWTRACE_") and k not in ("LD_PRELOAD", "CI")}
    # One hash seed for every run: with a random one the interpreter's own dicts and sets
    # take other paths, and the floor moved by up to 3% (177.5-184 M on fib) between runs.
    env.setdefault("PYTHONHASHSEED", "0")
    env.update(extra)
    return env


def callgrind(cmd, outdir, env, cwd=None, ok=(0,), children=False):
    """Runs cmd under callgrind; returns [(command line, instructions)] per process."""
    outdir.mkdir(parents=True, exist_ok=True)
    vg = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={outdir}/cg.%p",
          "--dump-instr=no", "--compress-strings=no"]
    if children:
        vg += ["--trace-children=yes", "--trace-children-skip=*/sleep"]
    proc = subprocess.run(vg + [str(c) for c in cmd], env=env, cwd=cwd,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode not in ok:
        sys.exit(f"bench-instr: {' '.join(map(str, cmd))} exited {proc.returncode}:\n"
                 f"{proc.stderr[-2000:]}")
    found = []
    for f in sorted(outdir.glob("cg.*")):
        cmdline, total = "", 0
        with open(f) as fh:
            for line in fh:
                if line.startswith("cmd:"):
                    cmdline = line[4:].strip()
                elif line.startswith("totals:"):
                    total += int(line.split()[1])
        found.append((cmdline, total))
    return found


def run_size(out):
    """Bytes of every run file left under out (indexes excepted), and tracer counts."""
    size, tracer = 0, {"events": 0, "calls": 0}
    for run in (p for p in out.iterdir() if p.is_dir()):
        for f in run.rglob("*"):
            if f.is_file():
                size += f.stat().st_size
        for name in ("tree.json", "tree.json.zst"):
            if (run / name).exists():
                tracer = tree_tracer(run / name, tracer)
    return size, tracer


def tree_tracer(path, acc):
    data = path.read_bytes()
    if path.suffix == ".zst":
        data = subprocess.run(["zstd", "-dc"], input=data, capture_output=True,
                              check=True).stdout
    # The tracer object sits in the head or the tail: read it without loading the tree.
    text = data.decode()
    i = text.rfind('"tracer":{')
    t = json.loads(text[i + 9:text.index("}", i) + 1])
    return {"events": acc["events"] + t["events"], "calls": acc["calls"] + t["calls"]}


def measure(python, name, build, floor, tmp, ft_args):
    args, cwd, ok = WORKLOADS[name]
    total = lambda rows: sum(n for _, n in rows)
    start = total(callgrind([python, WL / "empty.py"], tmp / "start", env_clean()))
    flo = total(callgrind([python] + args, tmp / "floor", env_clean(LD_PRELOAD=str(floor)),
                          cwd, ok))
    cpr = total(callgrind([python, "-m", "cProfile", "-o", os.devnull] + args, tmp / "cprof",
                          env_clean(), cwd, ok)) if name != "pytest" else None
    out = tmp / "out"
    rows = callgrind([build / "flowtrace-run", "-q", "-o", out] + ft_args +
                     [python] + args, tmp / "ft", env_clean(FLOWTRACE_BUILD=str(build)),
                     cwd, ok, children=True)
    writer = sum(n for c, n in rows if "flowtrace-writer" in c)
    procs = sum(n for c, n in rows if c and Path(c.split()[0]).name.startswith("python"))
    wrapper = total(rows) - writer - procs
    size, tracer = run_size(out)
    work = flo - start
    return {
        "floor": flo - start, "process": (procs - start) / work,
        "e2e": (total(rows) - start) / work, "writer_ev": writer / max(tracer["events"], 1),
        "writer": writer / work, "wrapper": wrapper / work,
        "cprofile": (cpr - start) / work if cpr else None,
        "events": tracer["events"], "calls": tracer["calls"],
        "bytes_call": size / max(tracer["calls"], 1),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--python", default="/usr/bin/python3.11")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--ft", nargs=argparse.REMAINDER, default=[],
                    help="flowtrace-run options for the traced runs (e.g. --ft --compress)")
    a = ap.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("bench-instr: valgrind is not installed (make deps)")
    build = Path(a.build).resolve()  # the pytest workload runs in a directory of its own
    floor = build / "bench" / "libfloor.so"
    floor.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cc", "-O2", "-fPIC", "-shared", "-o", floor, ROOT / "bench" / "floor.c"],
                   check=True)
    (WL / "empty.py").exists() or sys.exit("bench-instr: bench/workloads/empty.py is missing")
    version = subprocess.run([a.python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    extra = f", flowtrace-run {' '.join(a.ft)}" if a.ft else ""
    print(f"\nFlowTrace instructions (callgrind), Python {version} ({a.python}){extra}: "
          f"ratios to the empty-hook floor, Python's start-up subtracted\n")
    print("| workload | events | floor (instr.) | traced process | writer / event "
          "| writer | wrapper | end to end | cProfile | bytes / call |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in a.workloads.split(","):
        with tempfile.TemporaryDirectory(prefix=f"ft-instr-{name}-") as tmp:
            m = measure(a.python, name, build, floor, Path(tmp), a.ft)
        cp = f"{m['cprofile']:.2f}x" if m["cprofile"] else "-"
        print(f"| {name} | {m['events']:,} | {m['floor'] / 1e6:,.1f} M | {m['process']:.3f}x "
              f"| {m['writer_ev']:,.1f} | {m['writer']:.3f}x | {m['wrapper']:.3f}x "
              f"| {m['e2e']:.3f}x | {cp} | {m['bytes_call']:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
