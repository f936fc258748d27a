#!/usr/bin/env python3
"""make bench: FlowTrace's overhead against an untraced run and an empty profile hook.

For each workload, the variants run alternately, round after round, in one process of
this script, so machine noise hits them alike; each cell is the median over rounds of
(variant / untraced in the same round). Variants:

  floor      an empty C function called for the events FlowTrace takes, installed the
             way FlowTrace installs its own: a profile function up to 3.11, sys.monitoring
             callbacks from 3.12 (bench/floor.c)
  ft-cpu     FlowTrace's traced process: its CPU time (tree.json tracer.cpuMicros)
  ft-null    the same process with a writer that discards everything (--null-sink):
             FlowTrace's in-process cost alone
  ft-e2e     FlowTrace end to end: wall time of flowtrace-run until the writer finished
  no-capture ft-null without arguments and results (--skip-inputs --skip-outputs)
  no-exc     ft-null without exception details (--no-exception-details; on 3.11 these
             cost a trace function armed while an exception unwinds)
  cProfile   python -m cProfile (aggregates only, for scale; sys.monitoring from 3.12)

Then the writer alone: a saved raw stream replayed through flowtrace-writer --convert,
in events per second into events.jsonl + tree.json, and output bytes per event.
One table per interpreter (--python, repeatable: make bench passes Debian's 3.11 and,
when `make pythons` fetched it, 3.13). This is a measurement, not a test: it never fails
on a number.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Trees nest as deep as the traced recursion went; json needs the room.
sys.setrecursionlimit(100_000)
WORKLOADS = ["recursion", "objects", "library", "exceptions"]


def build_floor(build):
    out = build / "bench" / "libfloor.so"
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cc", "-O2", "-fPIC", "-shared", "-o", out, ROOT / "bench" / "floor.c"],
                   check=True)
    return out


def env_without_flowtrace(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWTRACE_") and k != "LD_PRELOAD"}
    env.update(extra)
    return env


def timed(cmd, env):
    """Runs cmd; returns (wall seconds, CPU seconds of it and its children)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(map(str, cmd))} failed ({proc.returncode})")
    return wall, ru.ru_utime + ru.ru_stime


def run_flowtrace(python, script, build, keep_raw=None):
    out = Path(tempfile.mkdtemp(prefix="ft-bench-"))
    cmd = [build / "flowtrace-run", "-q", "-o", out]
    if keep_raw:
        cmd.append("--keep-raw")
    cmd += [python, script]
    wall, _ = timed(cmd, env_without_flowtrace(FLOWTRACE_BUILD=str(build)))
    [run] = [p for p in out.iterdir() if (p / "tree.json").exists()]
    tree = json.loads((run / "tree.json").read_text())
    cpu = tree["tracer"]["cpuMicros"] / 1e6
    if keep_raw:
        shutil.copy(run / "raw.ftb", keep_raw)
    shutil.rmtree(out)
    return wall, cpu, tree["tracer"]


def start_null_writer(build):
    d = Path(tempfile.mkdtemp(prefix="ft-bench-null-"))
    sock = d / "null.sock"
    proc = subprocess.Popen([build / "flowtrace-writer", "--null-sink", "--dir", d / "out",
                             "--socket", sock])
    while not sock.exists():
        time.sleep(0.01)
    return proc, sock, d


def bench_workload(python, name, build, floor, null_sock, rounds):
    script = ROOT / "bench" / "workloads" / f"{name}.py"
    lib = build / "libflowtrace.so"
    ratios = {k: [] for k in ("floor", "ft-cpu", "ft-null", "ft-e2e", "cProfile", "ft/floor",
                              "null/floor", "e2e/floor", "nocap/floor", "noexc/floor")}
    base = []
    tracer = None
    for _ in range(rounds):
        u_wall, u_cpu = timed([python, script], env_without_flowtrace())
        f_wall, f_cpu = timed([python, script], env_without_flowtrace(LD_PRELOAD=str(floor)))
        t_wall, t_cpu, tracer = run_flowtrace(python, script, build)
        null_env = dict(LD_PRELOAD=str(lib), FLOWTRACE_SOCKET=str(null_sock))
        n_wall, n_cpu = timed([python, script], env_without_flowtrace(**null_env))
        _, nocap_cpu = timed([python, script], env_without_flowtrace(
            FLOWTRACE_SKIP_INPUTS="1", FLOWTRACE_SKIP_OUTPUTS="1", **null_env))
        _, noexc_cpu = timed([python, script], env_without_flowtrace(
            FLOWTRACE_EXCEPTIONS="0", **null_env))
        c_wall, c_cpu = timed([python, "-m", "cProfile", "-o", os.devnull, script],
                              env_without_flowtrace())
        base.append(u_cpu)
        ratios["floor"].append(f_cpu / u_cpu)
        ratios["ft-cpu"].append(t_cpu / u_cpu)
        ratios["ft-null"].append(n_cpu / u_cpu)
        ratios["null/floor"].append(n_cpu / f_cpu)
        ratios["ft-e2e"].append(t_wall / u_wall)
        ratios["cProfile"].append(c_cpu / u_cpu)
        ratios["ft/floor"].append(t_cpu / f_cpu)
        ratios["e2e/floor"].append(t_wall / f_wall)
        ratios["nocap/floor"].append(nocap_cpu / f_cpu)
        ratios["noexc/floor"].append(noexc_cpu / f_cpu)
    med = {k: statistics.median(v) for k, v in ratios.items()}
    return statistics.median(base), med, tracer


def bench_writer(python, build, rounds):
    """Writer throughput on the recursion workload's raw stream."""
    tmp = Path(tempfile.mkdtemp(prefix="ft-bench-writer-"))
    raw = tmp / "raw.ftb"
    _, _, tracer = run_flowtrace(python, ROOT / "bench" / "workloads" / "recursion.py", build,
                                 keep_raw=raw)
    times, sizes = [], []
    for i in range(rounds):
        out = tmp / f"out{i}"
        # Each conversion writes ~1.5 GB: start each with the previous ones on disk, so that
        # the kernel's write-back of earlier rounds (or workloads) does not throttle it.
        os.sync()
        t0 = time.perf_counter()
        subprocess.run([build / "flowtrace-writer", "--dir", out, "--convert", raw, "--run-id", "r"],
                       check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
        sizes.append(sum(f.stat().st_size for f in (out / "r").iterdir()))
        shutil.rmtree(out)
    shutil.rmtree(tmp)
    events = tracer["events"]
    return events, statistics.median(times), statistics.median(sizes)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--python", action="append",
                    help="interpreter to measure (repeatable; default /usr/bin/python3.11)")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 5)))
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    args = ap.parse_args()
    build = Path(args.build)
    floor = build_floor(build)
    pythons = args.python or ["/usr/bin/python3.11"]
    writer, null_sock, null_dir = start_null_writer(build)
    try:
        for py in pythons:
            bench_python(py, args, build, floor, null_sock)
    finally:
        writer.terminate()
        writer.wait()
        shutil.rmtree(null_dir, ignore_errors=True)
    py = pythons[0]
    events, secs, size = bench_writer(py, build, max(3, args.rounds // 2))
    print(f"\nWriter (--convert of the recursion run's raw stream, {py}): {events:,} events in "
          f"{secs:.3f}s = {events / secs / 1e6:.2f} M events/s into events.jsonl + tree.json; "
          f"{size / events:.0f} output bytes per event")


def bench_python(py, args, build, floor, null_sock):
    version = subprocess.run([py, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    print(f"\nFlowTrace bench: Python {version} ({py}), {args.rounds} alternating rounds, "
          f"medians of ratios to the untraced run in the same round\n")
    print("| workload | untraced CPU | floor | FlowTrace CPU | FlowTrace CPU, null writer "
          "| FlowTrace e2e | cProfile | CPU / floor | null / floor | e2e / floor "
          "| null, no capture / floor | null, no exc. details / floor | calls traced |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.workloads.split(","):
        base, med, tracer = bench_workload(py, name, build, floor, null_sock, args.rounds)
        print(f"| {name} | {base:.3f}s | {med['floor']:.2f}x | {med['ft-cpu']:.2f}x "
              f"| {med['ft-null']:.2f}x | {med['ft-e2e']:.2f}x | {med['cProfile']:.2f}x "
              f"| {med['ft/floor']:.2f} | {med['null/floor']:.2f} | {med['e2e/floor']:.2f} "
              f"| {med['nocap/floor']:.2f} | {med['noexc/floor']:.2f} "
              f"| {tracer['calls']:,} |", flush=True)


if __name__ == "__main__":
    main()
